/**
 * Atlas 800 A3 (issue #10) in preflight, in-process on simulated A3 nodes (16 dies each): every per-device
 * check on all 16 devices with `npu` the physical device id and the die named in the message, the ping
 * plan over 16 planes, die-level faults on the right device, npusPerNode detected when the inventory
 * leaves it out, and a mixed A2/A3 rack refused by `hardware`.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemoCluster, type DemoCluster } from '../../src/demo/cluster.js';
import type { SimFault } from '../../src/sim/types.js';
import { runInProcess } from '../support/in-process.js';

const preflight = () => import('../../src/commands/preflight.js');

interface F { node: string; npu?: number; check: string; status: 'pass' | 'warn' | 'fail'; message: string; hint?: string }
const notPass = (fs: F[]) => fs.filter((f) => f.status !== 'pass');
const of = (fs: F[], check: string) => fs.filter((f) => f.check === check);

async function run(cluster: DemoCluster, faults: Record<string, SimFault[]>, extra: Record<string, unknown> = {}, args: string[] = []) {
  for (const n of cluster.nodes) await cluster.sim.setFaults(n.name, faults[n.name] ?? []);
  const r = await runInProcess(preflight, args, { inventory: cluster.inventoryPath, ping: 'auto', ...extra },
    { cwd: cluster.dir, home: cluster.dir });
  return { ...r, findings: (r.json?.findings ?? []) as F[] };
}

describe('preflight on a 2-server A3 cluster', () => {
  let cluster: DemoCluster;
  beforeAll(async () => {
    // npusPerNode left out of the inventory: preflight reads 16 devices from each node.
    cluster = await startDemoCluster({ nodes: 2, subnet: 150, server: 'A3', npusPerNode: null });
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('passes, checking all 16 devices of each node and pinging on 16 planes', async () => {
    const r = await run(cluster, {}, { json: true });
    expect(r.exitCode, JSON.stringify(notPass(r.findings))).toBe(0);
    expect(notPass(r.findings)).toEqual([]);
    for (const check of ['npu-smi', 'link', 'net_health', 'lldp', 'netdetect', 'gateway', 'tls', 'ip', 'ping', 'optics', 'link-flaps']) {
      for (const node of ['node1', 'node2']) {
        expect(of(r.findings, check).filter((f) => f.node === node).map((f) => f.npu), `${check} on ${node}`)
          .toEqual(Array.from({ length: 16 }, (_, i) => i));
      }
    }
    const link7 = r.findings.find((f) => f.node === 'node2' && f.check === 'link' && f.npu === 7)!;
    expect(link7.message).toBe('NPU 3 chip 1 (device 7): link status: UP');
    const ping15 = r.findings.find((f) => f.node === 'node1' && f.check === 'ping' && f.npu === 15)!;
    expect(ping15.message).toBe('NPU 7 chip 1 (device 15): reached node2 with no loss');
    expect(of(r.findings, 'hardware').map((f) => f.message)).toEqual([
      'Atlas 800 A3 (8 NPUs × 2 dies = 16 devices, Ascend910), like every other node',
      'Atlas 800 A3 (8 NPUs × 2 dies = 16 devices, Ascend910), like every other node',
    ]);
    expect(of(r.findings, 'hccn.conf').map((f) => [f.node, f.status])).toEqual([['node1', 'pass'], ['node2', 'pass']]);
  });

  const dieFaults: [string, Record<string, SimFault[]>, { node: string; npu: number; check: string; status: F['status']; message: RegExp }][] = [
    ['a link down on the second die of NPU 3', { node2: [{ kind: 'link-down', npu: 7 }] },
      { node: 'node2', npu: 7, check: 'link', status: 'fail', message: /^NPU 3 chip 1 \(device 7\): link status: DOWN$/ }],
    ['TLS on a die', { node1: [{ kind: 'tls-on', npu: 12 }] },
      { node: 'node1', npu: 12, check: 'tls', status: 'fail', message: /^NPU 6 chip 0 \(device 12\): TLS switch 1/ }],
    ['an unhealthy second die (its own Health in the two-row table)', { node1: [{ kind: 'npu-health', npu: 9, value: 'Alarm' }] },
      { node: 'node1', npu: 9, check: 'npu-smi', status: 'fail', message: /^NPU 4 chip 1 \(device 9\): Ascend910 Health Alarm$/ }],
    ['a stale hccn.conf line of device 13', { node2: [{ kind: 'hccn-conf-stale', npu: 13 }] },
      { node: 'node2', npu: 13, check: 'hccn.conf', status: 'fail', message: /address_13=.* but hccn_tool reports/ }],
    ['ping loss on die plane 11', { node1: [{ kind: 'ping-loss', npu: 11 }] },
      { node: 'node1', npu: 11, check: 'ping', status: 'fail', message: /^NPU 5 chip 1 \(device 11\): node2 device 11/ }],
    ['optics absent on device 14', { node2: [{ kind: 'optics-absent', npu: 14 }] },
      { node: 'node2', npu: 14, check: 'optics', status: 'fail', message: /^NPU 7 chip 0 \(device 14\): optical module not present$/ }],
  ];
  for (const [name, faults, expected] of dieFaults) {
    it(`reports ${name} on the right device`, async () => {
      const r = await run(cluster, faults, { json: true });
      expect(r.exitCode).toBe(1);
      // Only that device fails this check (a lost ping fails on both ends of the plane).
      const all = notPass(of(r.findings, expected.check));
      expect([...new Set(all.map((f) => f.npu))], JSON.stringify(all)).toEqual([expected.npu]);
      const bad = all.filter((f) => f.node === expected.node);
      expect(bad.map((f) => [f.node, f.npu, f.status]), JSON.stringify(bad)).toEqual([[expected.node, expected.npu, expected.status]]);
      expect(bad[0]!.message).toMatch(expected.message);
      expect(bad[0]!.hint).toBeTruthy();
    });
  }

  it('the health hint names the die as npu-smi takes it (-i NPU -c chip)', async () => {
    const r = await run(cluster, { node1: [{ kind: 'npu-health', npu: 9, value: 'Critical' }] }, { json: true });
    expect(r.findings.find((f) => f.check === 'npu-smi' && f.npu === 9)!.hint).toMatch(/npu-smi info -t health -i 4 -c 1 on node1/);
  });

  it('HBM held on one die is reported on that die (the process table is keyed by NPU and chip)', async () => {
    const r = await run(cluster, { node2: [{ kind: 'hbm-held', npu: 5, mb: 30000, pid: 4242, name: 'python3' }] },
      { json: true }, [cluster.deploymentPath]);
    const bad = notPass(of(r.findings, 'hbm'));
    expect(bad.map((f) => [f.node, f.npu, f.status])).toEqual([['node2', 5, 'fail']]);
    expect(bad[0]!.message).toMatch(/^NPU 2 chip 1 \(device 5\): PID 4242 \(python3, 30000 MB\) is on device 5/);
  });

  it('the human report names the die and groups dies failing alike', async () => {
    const r = await run(cluster, { node2: [{ kind: 'link-down', npu: 7 }, { kind: 'tls-on', npu: 2 }, { kind: 'tls-on', npu: 3 }] });
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toMatch(/✘ link\s+NPU 3 chip 1 \(device 7\)  link status: DOWN/);
    expect(r.stdout).toMatch(/✘ tls\s+device 2,3  TLS switch 1/);
    expect(r.stdout).toMatch(/device 7 /);
  });

  it('hints name the device as the message does, never "NPU <device id>" (another card on an A3)', async () => {
    const r = await run(cluster, { node2: [{ kind: 'optics-absent', npu: 11 }, { kind: 'link-flaps', npu: 3, count: 3 }, { kind: 'ping-loss', npu: 9 }] }, { json: true });
    const bad = notPass(r.findings);
    const at = (check: string, npu: number) => bad.find((f) => f.node === 'node2' && f.check === check && f.npu === npu)!;
    expect(at('optics', 11).message).toMatch(/^NPU 5 chip 1 \(device 11\): /);
    expect(at('optics', 11).hint).toMatch(/into device 11's port on node2; hccn_tool -i 11 -optical -g/);
    expect(at('link-flaps', 3).hint).toMatch(/the link of device 3 keeps going down/);
    expect(at('ping', 9).hint).toMatch(/switch port of device 9 on both ends; re-test with hccn_tool -i 9 -ping/);
    for (const f of bad) expect(f.hint ?? '', `${f.check} ${f.npu}`).not.toMatch(new RegExp(`NPU ${f.npu}\\b(?! chip)`));
  });

  it('a node reporting a configured super-pod server id is told that v1.0 is kept', async () => {
    const r = await run(cluster, { node2: [{ kind: 'a3-super-pod' }] }, { json: true });
    expect(r.exitCode).toBe(0);
    const w = notPass(r.findings);
    expect(w.map((f) => [f.node, f.check, f.status])).toEqual([['node2', 'hardware', 'warn']]);
    expect(w[0]!.message).toMatch(/super-pod server index 1 in super pod 1: .* renders rank table v1\.0 .* never v1\.2/);
    expect(w[0]!.hint).toMatch(/docs\/atlas-a3\.md/);
  });

  it('npusPerNode: 8 written in the inventory of an A3 rack fails hardware with what to set', async () => {
    const text = await readFile(cluster.inventoryPath, 'utf8');
    const path = `${cluster.dir}/inventory-8.yaml`;
    await writeFile(path, text.replace('nodes:', 'npusPerNode: 8\nnodes:'));
    const r = await run(cluster, {}, { json: true, inventory: path });
    expect(r.exitCode).toBe(1);
    const hw = of(r.findings, 'hardware');
    expect(hw.map((f) => f.status)).toEqual(['fail', 'fail']);
    expect(hw[0]!.message).toMatch(/^npusPerNode: 8 in the inventory, but the node has 16 devices/);
    expect(hw[0]!.hint).toMatch(/set npusPerNode: 16/);
  });
});

describe('a mixed A2/A3 rack', () => {
  let cluster: DemoCluster;
  beforeAll(async () => {
    cluster = await startDemoCluster({ nodes: 3, subnet: 151, servers: { node2: 'A3' }, npusPerNode: null });
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('is refused by hardware on the odd node, which is still checked on its own 16 devices', async () => {
    const r = await run(cluster, {}, { json: true });
    expect(r.exitCode).toBe(1);
    const hw = of(r.findings, 'hardware');
    expect(hw.map((f) => [f.node, f.status])).toEqual([['node1', 'pass'], ['node2', 'fail'], ['node3', 'pass']]);
    expect(hw[1]!.message).toMatch(/^Atlas 800 A3 \(8 NPUs × 2 dies = 16 devices, Ascend910\), but node1, node3 are Atlas 800 A2 \(8 × 910B3\)/);
    expect(hw[1]!.hint).toMatch(/use servers of one kind/);
    expect(of(r.findings, 'link').filter((f) => f.node === 'node2')).toHaveLength(16);
    expect(of(r.findings, 'link').filter((f) => f.node === 'node1')).toHaveLength(8);
    expect(of(r.findings, 'link').find((f) => f.node === 'node1')!.message).toBe('link status: UP');
  });
});
