/**
 * preflight v2 `reach`, `address` and the HCCL part of `ports` against in-process simulated clusters
 * (real SSH protocol; the simulator's python3 runs the probe on real loopback sockets and applies
 * its firewall faults). Also: the simulated MindIE daemon fails the way the real one would when
 * preflight is skipped, and deploy's gate stops with nothing started and no probe listener left.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemoCluster, type DemoCluster } from '../../src/demo/cluster.js';
import { runtimeOf } from '../../src/sim/container-runtime.js';
import type { SimFault } from '../../src/sim/types.js';
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
    expect(find(r.json, 'node1', 'reach')).toMatchObject([{ status: 'warn', message: expect.stringMatching(/not tested: node2 \(cannot listen there: no python3\)/) }]);
  });

  it('is not run without a deployment', async () => {
    await setFaults({});
    const r = await run([]);
    expect(r.json.findings.filter((f: any) => f.check === 'reach')).toEqual([]);
  });
});
