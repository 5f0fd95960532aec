/**
 * preflight v2 `reach`, `address` and the HCCL part of `ports` against in-process simulated clusters
 * (real SSH protocol; the simulator's python3 runs the probe on real loopback sockets and applies
 * its firewall faults). Also: the simulated MindIE daemon fails the way the real one would when
 * preflight is skipped, and deploy's gate stops with nothing started and no probe listener left.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startDemoCluster, type DemoCluster } from '../../src/demo/cluster.js';
import { runtimeOf } from '../../src/sim/container-runtime.js';
import type { SimFault, SimIo } from '../../src/sim/types.js';
import { runInProcess } from '../support/in-process.js';

const preflight = () => import('../../src/commands/preflight.js');
const deploy = () => import('../../src/commands/deploy.js');
const HCCL = Array.from({ length: 16 }, (_, i) => 60000 + i);

let cluster: DemoCluster;

beforeAll(async () => {
  cluster = await startDemoCluster({ nodes: 4, subnet: 110 });
});
afterAll(async () => {
  await cluster?.stop();
});

async function setFaults(faults: Record<string, SimFault[]>): Promise<void> {
  for (const n of cluster.nodes) await cluster.sim.setFaults(n.name, faults[n.name] ?? []);
}

function run(args: string[], opts: Record<string, unknown> = {}, signal?: AbortSignal) {
  return runInProcess(preflight, args, { json: true, ping: 'auto', parallel: '32', ...opts },
    { cwd: cluster.dir, home: cluster.dir, ...(signal ? { signal } : {}) });
}

const find = (json: any, node: string, check: string) => json.findings.filter((f: any) => f.node === node && f.check === check);

/** Every listener a probe could have left: python3's on any node (ss -Htln through the sim). */
function probeListeners(): string[] {
  return cluster.sim.cluster.nodes.flatMap((n) => [...n.listeners.values()].filter((l) => l.owner === 'python3').map((l) => `${n.name} ${l.address}:${l.port}`));
}

describe('reach', () => {
  it('passes on a healthy cluster: every worker reaches the master and back, nothing left listening', async () => {
    await setFaults({});
    const r = await run([cluster.deploymentPath]);
    expect(r.exitCode, `${r.error} ${JSON.stringify(r.json?.findings.filter((f: any) => f.status !== "pass"))}`).toBe(0);
    expect(find(r.json, 'node1', 'reach')).toMatchObject([{ status: 'pass', message: expect.stringMatching(/node2:60000-60015, node3:60000-60015, node4:60000-60015/) }]);
    expect(find(r.json, 'node2', 'reach')).toMatchObject([{ status: 'pass', message: expect.stringMatching(/node1:1120, 60000-60015/) }]);
    expect(probeListeners()).toEqual([]);
  });

  it('--node without the master: no worker stands in for it; reach warns that it was not checked', async () => {
    await setFaults({ node2: [{ kind: 'firewall', port: 1120, from: 'node3' }] });
    const r = await run([cluster.deploymentPath], { node: ['node[2-3]'] });
    expect(r.exitCode, JSON.stringify(r.json?.findings.filter((f: any) => f.status === 'fail'))).toBe(0);
    for (const node of ['node2', 'node3']) {
      expect(find(r.json, node, 'reach')).toMatchObject([{ status: 'warn', message: 'not checked: the master (node1) is not selected (--node), and workers only talk to it' }]);
    }
  });

  it('fails when the master drops multiNodesInfer from a worker, naming both ends, with a firewall hint', async () => {
    await setFaults({ node1: [{ kind: 'firewall', port: 1120, from: 'node2' }] });
    const r = await run([cluster.deploymentPath]);
    expect(r.exitCode).toBe(1);
    const [f] = find(r.json, 'node2', 'reach');
    expect(f).toMatchObject({ status: 'fail', message: expect.stringMatching(/^node2 → node1:1120 blocked \(timed out/) });
    expect(f.hint).toMatch(/firewall-cmd --permanent --add-port=1120\/tcp && firewall-cmd --reload/);
    expect(f.hint).toMatch(/60000-60015/);
    expect(find(r.json, 'node3', 'reach')).toMatchObject([{ status: 'pass' }]);
    expect(probeListeners()).toEqual([]);
  });

  it('tells a refused connection (reset) from a dropped one, and checks master → worker HCCL ports', async () => {
    await setFaults({ node3: [{ kind: 'firewall', ports: [60000, 60015], action: 'reject' }] });
    const r = await run([cluster.deploymentPath]);
    expect(r.exitCode).toBe(1);
    expect(find(r.json, 'node1', 'reach')).toMatchObject([{ status: 'fail', message: expect.stringMatching(/node1 → node3:60000-60015 blocked \(refused/) }]);
    expect(find(r.json, 'node2', 'reach')).toMatchObject([{ status: 'pass' }]);
  });

  it('warns, never passes, when a node has no python3', async () => {
    await setFaults({ node2: [{ kind: 'no-python3' }] });
    const r = await run([cluster.deploymentPath]);
    expect(r.exitCode).toBe(0);
    expect(find(r.json, 'node2', 'reach')).toMatchObject([{ status: 'warn', message: 'cannot test reachability on node2: no python3' }]);
    expect(find(r.json, 'node1', 'reach')).toMatchObject([{ status: 'warn', message: expect.stringMatching(/not tested: node2: cannot listen there, no python3/) }]);
  });

  it('is not run without a deployment', async () => {
    await setFaults({});
    const r = await run([]);
    expect(r.json.findings.filter((f: any) => f.check === 'reach')).toEqual([]);
  });
});

/** A deployment file beside the cluster's, with extra lines (env:) and another inventory when given. */
async function variant(name: string, extra: string[], inventory?: string): Promise<string> {
  let text = await readFile(cluster.deploymentPath, 'utf8');
  if (inventory) text = text.replace(/^inventory: .*$/m, `inventory: ${inventory}`);
  const file = path.join(cluster.dir, name);
  await writeFile(file, `${text}${extra.join('\n')}\n`);
  return file;
}

/** The cluster's inventory with `address:` set on one node. */
async function inventoryWithAddress(name: string, node: string, address: string): Promise<string> {
  const host = cluster.nodes.find((n) => n.name === node)!.host;
  const text = (await readFile(cluster.inventoryPath, 'utf8')).replace(`host: ${host}\n`, `host: ${host}\n    address: ${address}\n`);
  expect(text).toContain(`address: ${address}`);
  const file = path.join(cluster.dir, name);
  await writeFile(file, text);
  return file;
}

/** Docker `run` calls made on any node while `fn` runs. */
async function dockerRuns<T>(fn: () => Promise<T>): Promise<{ result: T; runs: string[] }> {
  const runs: string[] = [];
  const restores = cluster.sim.cluster.nodes.map((node) => {
    const original = node.programs.get('docker')!;
    node.programs.set('docker', (argv: string[], io: SimIo) => {
      if (argv[0] === 'run' || (argv[0] === 'container' && argv[1] === 'run')) runs.push(node.name);
      return original(argv, io);
    });
    return () => node.programs.set('docker', original);
  });
  try {
    return { result: await fn(), runs };
  } finally {
    restores.forEach((r) => r());
  }
}

function runningContainers(): string[] {
  return cluster.nodes.flatMap((n) => (runtimeOf(cluster.sim.cluster, n.name)?.containers ?? []).filter((c) => c.running).map((c) => `${n.name} ${c.name}`));
}

const deployRun = (args: string[], opts: Record<string, unknown> = {}) =>
  runInProcess(deploy, args, { parallel: '32', timeout: '60s', ...opts }, { cwd: cluster.dir, home: cluster.dir });

describe('reach: deploy', () => {
  it('with --skip-preflight a blocked multiNodesInfer port keeps the worker out: the master times out (EI0006)', async () => {
    await setFaults({ node1: [{ kind: 'firewall', port: 1120, from: 'node3' }] });
    // A short HCCL window (1.2 s in the fast profile) instead of the rendered 7200 s.
    const file = await variant('short-hccl.yaml', ['env:', '  HCCL_CONNECT_TIMEOUT: "120"']);
    const r = await deployRun([file], { skipPreflight: true });
    expect(r.exitCode, `${r.error}\n${r.stderr}`).toBe(1);
    expect(r.error).toContain('EI0006');
    expect(r.error).toMatch(/node3/);
    expect(runningContainers()).toEqual([]);
  });

  it('with its gate, deploy stops in preflight: nothing started, no probe listener left on any node', async () => {
    await setFaults({ node2: [{ kind: 'firewall', ports: [60000, 60015] }] });
    const { result: r, runs } = await dockerRuns(() => deployRun([cluster.deploymentPath]));
    expect(r.exitCode, `${r.error}\n${r.stderr}`).toBe(1);
    expect(r.error).toMatch(/preflight failed: nothing was changed/);
    expect(r.stdout + r.stderr).toMatch(/reach\s+node1 → node2:60000-60015 blocked/);
    expect(runs).toEqual([]);
    expect(runningContainers()).toEqual([]);
    expect(probeListeners()).toEqual([]);
  });

  it('Ctrl-C while the probe listens: exit 130 and no listener is left', async () => {
    await setFaults({});
    const ac = new AbortController();
    const node = cluster.sim.cluster.node('node3');
    const original = node.addListener.bind(node);
    let seen = false;
    node.addListener = (l) => {
      const remove = original(l);
      if (l.owner === 'python3' && !seen) { seen = true; ac.abort(); }
      return remove;
    };
    let r;
    try {
      r = await run([cluster.deploymentPath], {}, ac.signal);
    } finally {
      node.addListener = original;
    }
    expect(seen).toBe(true);
    expect(r.exitCode).toBe(130);
    // the nodes notice the closed channels on their own: wait for that, then nothing may be left
    await vi.waitFor(() => expect(probeListeners()).toEqual([]), { timeout: 5_000 });
  });
});

describe('ports: HCCL range', () => {
  it('fails on a worker whose HCCL port is taken (and reach says it could not test that port)', async () => {
    await setFaults({ node3: [{ kind: 'port-taken', port: 60003 }] });
    const r = await run([cluster.deploymentPath]);
    expect(r.exitCode).toBe(1);
    const [p] = find(r.json, 'node3', 'ports');
    expect(p).toMatchObject({ status: 'fail', message: expect.stringMatching(/port 60003 already in use on 127\.110\.0\.3 \(HCCL's range 60000-60015/) });
    expect(p.hint).toMatch(/HCCL_IF_BASE_PORT/);
    expect(find(r.json, 'node1', 'reach')).toMatchObject([{ status: 'warn', message: expect.stringMatching(/node3:60003 in use there \(see ports\)/) }]);
  });

  it('follows HCCL_IF_BASE_PORT from the deployment\'s env', async () => {
    await setFaults({ node3: [{ kind: 'port-taken', port: 60003 }] });
    const file = await variant('base-port.yaml', ['env:', '  HCCL_IF_BASE_PORT: "61000"']);
    const r = await run([file]);
    expect(r.exitCode, JSON.stringify(r.json?.findings.filter((f: any) => f.status !== 'pass'))).toBe(0);
    expect(find(r.json, 'node3', 'ports')).toMatchObject([{ status: 'pass', message: 'ports 61000-61015 are free' }]);
    expect(find(r.json, 'node2', 'reach')).toMatchObject([{ status: 'pass', message: expect.stringMatching(/node1:1120, 61000-61015/) }]);
  });

  it('does not fail a worker for an HTTP port only the master opens', async () => {
    await setFaults({ node2: [{ kind: 'port-taken', port: 1025 }], node1: [{ kind: 'port-taken', port: 1026 }] });
    const r = await run([cluster.deploymentPath]);
    expect(find(r.json, 'node2', 'ports')).toMatchObject([{ status: 'pass' }]);
    expect(find(r.json, 'node1', 'ports')).toMatchObject([{ status: 'fail', message: expect.stringMatching(/^port 1026 already in use/) }]);
  });

  it('with --skip-preflight a taken HCCL port stops that node\'s daemon', async () => {
    await setFaults({ node2: [{ kind: 'port-taken', port: 60000 }] });
    const file = await variant('short-hccl.yaml', ['env:', '  HCCL_CONNECT_TIMEOUT: "120"']);
    const r = await deployRun([file], { skipPreflight: true });
    expect(r.exitCode, `${r.error}\n${r.stderr}`).toBe(1);
    expect(r.error).toMatch(/node2/);
    expect(r.error).toMatch(/Address already in use/);
    expect(runningContainers()).toEqual([]);
  });
});

describe('address', () => {
  it('passes on every preflight when the rendered address is the node\'s own', async () => {
    await setFaults({});
    const r = await run([]);
    for (const n of cluster.nodes) {
      expect(find(r.json, n.name, 'address')).toMatchObject([{ status: 'pass', message: `${n.host} is an address of ${n.name} (ip addr)` }]);
    }
  });

  it('fails with the node\'s addresses and the address: hint when the inventory renders another one', async () => {
    await setFaults({});
    const inv = await inventoryWithAddress('inventory-nat.yaml', 'node2', '127.110.0.77');
    const r = await run([], { inventory: inv });
    expect(r.exitCode).toBe(1);
    const [a] = find(r.json, 'node2', 'address');
    expect(a).toMatchObject({ status: 'fail', message: '127.110.0.77 (MIES_CONTAINER_IP, ipAddress, server_id) is not an address of node2; its addresses: 127.110.0.2' });
    expect(a.hint).toMatch(/set address: .* for node2 in the inventory/);
    expect(find(r.json, 'node1', 'address')).toMatchObject([{ status: 'pass' }]);
  });

  it('passes when address: names the node\'s own address', async () => {
    const inv = await inventoryWithAddress('inventory-own.yaml', 'node2', '127.110.0.2');
    const r = await run([], { inventory: inv });
    expect(find(r.json, 'node2', 'address')).toMatchObject([{ status: 'pass' }]);
  });

  it('with --skip-preflight a foreign address fails the daemon with MindIE\'s "Failed to listen"', async () => {
    await setFaults({});
    await inventoryWithAddress('inventory-nat.yaml', 'node2', '127.110.0.77');
    const file = await variant('nat.yaml', ['env:', '  HCCL_CONNECT_TIMEOUT: "120"'], 'inventory-nat.yaml');
    const r = await deployRun([file], { skipPreflight: true });
    expect(r.exitCode, `${r.error}\n${r.stderr}`).toBe(1);
    expect(r.error).toMatch(/node2/);
    expect(r.error).toContain('Failed to listen 127.110.0.77:1025');
    expect(runningContainers()).toEqual([]);
  });

  it('preflight of that deployment reports address and cannot probe from the foreign address', async () => {
    await inventoryWithAddress('inventory-nat.yaml', 'node2', '127.110.0.77');
    const file = await variant('nat.yaml', [], 'inventory-nat.yaml');
    const r = await run([file]);
    expect(r.exitCode).toBe(1);
    expect(find(r.json, 'node2', 'address')).toMatchObject([{ status: 'fail' }]);
    expect(find(r.json, 'node2', 'reach')).toMatchObject([{ status: 'warn', message: expect.stringMatching(/not an address of/) }]);
    expect(probeListeners()).toEqual([]);
  });
});

describe('reach: other shapes', () => {
  it('warns (not checked) when --node leaves a single node', async () => {
    await setFaults({});
    const r = await run([cluster.deploymentPath], { node: ['node2'] });
    expect(find(r.json, 'node2', 'reach')).toMatchObject([{ status: 'warn', message: 'not checked: no other node selected (--node)' }]);
    expect(probeListeners()).toEqual([]);
  });

  it('vllm-ascend: the headless nodes must reach the head\'s --data-parallel-rpc-port and the HCCL ports', async () => {
    const file = path.join(cluster.dir, 'r1-vllm.yaml');
    await writeFile(file, [
      'name: r1-vllm', 'inventory: inventory.yaml', 'backend: vllm-ascend', 'image: quay.io/ascend/vllm-ascend:v0.13.0',
      'model:', '  path: /data/models/DeepSeek-R1', '  name: deepseek-r1',
      'parallel:', '  dataParallelSize: 8', '  tensorParallelSize: 4', '  moeTensorParallelSize: 1', '  moeExpertParallelSize: 32',
      'ports:', '  http: 8000', '  management: 8000', '  metrics: 8000', '  multiNodesInfer: 13389',
      'vllm:', '  dataParallelSizeLocal: 2', '',
    ].join('\n'));
    await setFaults({});
    let r = await run([file]);
    expect(find(r.json, 'node4', 'reach')).toMatchObject([{ status: 'pass', message: 'reached node1:13389, 60000-60015 over TCP' }]);
    await setFaults({ node1: [{ kind: 'firewall', port: 13389 }] });
    r = await run([file]);
    expect(find(r.json, 'node4', 'reach')).toMatchObject([{ status: 'fail', message: expect.stringMatching(/^node4 → node1:13389 blocked/) }]);
    // Without the gate the headless nodes never join, so the head never answers: deploy gives up, nothing left running.
    const d = await deployRun([file], { skipPreflight: true, timeout: '3s' });
    expect(d.exitCode, `${d.error}\n${d.stderr}`).toBe(1);
    expect(d.error).toMatch(/^node1: did not answer/);
    expect(runningContainers()).toEqual([]);
  });
});
