/**
 * The v2 checks optics, link-flaps and hardware on an in-process simulated cluster (real SSH protocol,
 * fast profile): every simulator fault kind they add is reported with node, NPU and check id, and the
 * healthy cluster passes all three.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemoCluster, type DemoCluster } from '../../src/demo/cluster.js';
import type { SimFault } from '../../src/sim/types.js';
import { runInProcess } from '../support/in-process.js';

const preflight = () => import('../../src/commands/preflight.js');
let cluster: DemoCluster;

beforeAll(async () => {
  cluster = await startDemoCluster({ nodes: 3, subnet: 120 });
});
afterAll(async () => {
  await cluster?.stop();
});

interface F { node: string; npu?: number; check: string; status: 'pass' | 'warn' | 'fail'; message: string; hint?: string }

async function run(faults: Record<string, SimFault[]>, extra: Record<string, unknown> = {}) {
  for (const n of cluster.nodes) await cluster.sim.setFaults(n.name, faults[n.name] ?? []);
  const r = await runInProcess(preflight, [], { json: true, inventory: cluster.inventoryPath, ping: 'auto', ...extra },
    { cwd: cluster.dir, home: cluster.dir });
  return { ...r, findings: (r.json?.findings ?? []) as F[] };
}

const notPass = (fs: F[]) => fs.filter((f) => f.status !== 'pass');
const of = (fs: F[], check: string) => fs.filter((f) => f.check === check);

describe('preflight v2: optics, link-flaps, hardware', () => {
  it('a healthy cluster passes all three, on every NPU and node', async () => {
    const r = await run({});
    expect(r.exitCode, JSON.stringify(notPass(r.findings))).toBe(0);
    expect(notPass(r.findings)).toEqual([]);
    expect(of(r.findings, 'optics')).toHaveLength(24);
    expect(of(r.findings, 'link-flaps')).toHaveLength(24);
    for (const f of [...of(r.findings, 'optics'), ...of(r.findings, 'link-flaps')]) expect(f.npu).toBeTypeOf('number');
    expect(of(r.findings, 'optics')[0]!.message).toMatch(/^module present, no LOS\/LOL, Rx .* mW, Tx 1\.40 mW within the module's thresholds$/);
    expect(of(r.findings, 'link-flaps')[0]!.message).toBe('no link-down event in the last 24 h');
    expect(of(r.findings, 'hardware').map((f) => [f.node, f.npu, f.message])).toEqual(
      ['node1', 'node2', 'node3'].map((n) => [n, undefined, 'Atlas 800 A2 (8 × 910B3), like every other node']));
  });

  const cases: [string, Record<string, SimFault[]>, Omit<Partial<F>, 'message'> & { message: RegExp }][] = [
    ['optics-absent', { node2: [{ kind: 'optics-absent', npu: 2 }] },
      { node: 'node2', npu: 2, check: 'optics', status: 'fail', message: /^optical module not present$/ }],
    ['optics-los (the link still reads UP)', { node1: [{ kind: 'optics-los', npu: 5 }] },
      { node: 'node1', npu: 5, check: 'optics', status: 'fail', message: /loss of signal \(Rx LOS\) on lanes 0-3; loss of lock \(Rx LOL\)/ }],
    ['optics-rx-low on one lane', { node3: [{ kind: 'optics-rx-low', npu: 0, lane: 1 }] },
      { node: 'node3', npu: 0, check: 'optics', status: 'fail', message: /^Rx power lane 1 0\.0512 mW \(-12\.9 dBm\) below the module's low threshold 0\.1445 mW/ }],
    ['link-flaps: a dozen in the last hour', { node1: [{ kind: 'link-flaps', npu: 4, count: 12, hoursAgo: 0.5 }] },
      { node: 'node1', npu: 4, check: 'link-flaps', status: 'fail', message: /^12 link-down events in the last 24 h \(latest .*, 30 min ago\)$/ }],
    ['link-flaps: three is a failure', { node2: [{ kind: 'link-flaps', npu: 7, count: 3, hoursAgo: 20 }] },
      { node: 'node2', npu: 7, check: 'link-flaps', status: 'fail', message: /^3 link-down events/ }],
    ['a3-server in an A2 rack', { node3: [{ kind: 'a3-server' }] },
      { node: 'node3', check: 'hardware', status: 'fail', message: /^Atlas 800 A3 \(8 NPUs × 2 dies = 16 devices, Ascend910\), but node1, node2 are Atlas 800 A2 \(8 × 910B3\)/ }],
  ];
  for (const [name, faults, expected] of cases) {
    it(`reports ${name}`, async () => {
      const r = await run(faults);
      expect(r.exitCode).toBe(1);
      expect(r.json.ok).toBe(false);
      const hit = r.findings.find((f) => f.check === expected.check && f.node === expected.node && f.npu === expected.npu);
      expect(hit, JSON.stringify(notPass(r.findings))).toBeDefined();
      expect(hit!.status).toBe(expected.status);
      expect(hit!.message).toMatch(expected.message);
      expect(hit!.hint, 'a failure says what to do next').toBeTruthy();
      // only the faulty port (or node) is reported by this check
      expect(notPass(of(r.findings, expected.check!))).toHaveLength(1);
    });
  }

  it('an A3 node is read die by die by npu-smi (A3 is supported), and hardware names it as the odd kind', async () => {
    const r = await run({ node2: [{ kind: 'a3-server' }] });
    const smi = r.findings.filter((f) => f.node === 'node2' && f.check === 'npu-smi');
    // the inventory says npusPerNode: 8, but on an A3 every per-device check runs on its 16 devices
    // (cli-contract.md), and hardware says the node is the odd kind
    expect(smi.map((f) => [f.npu, f.status])).toEqual(Array.from({ length: 16 }, (_, i) => [i, 'pass']));
    expect(r.findings.filter((f) => f.node === 'node2' && f.check === 'link').map((f) => f.npu)).toEqual(Array.from({ length: 16 }, (_, i) => i));
    expect(smi[3]!.message).toBe('NPU 1 chip 1 (device 3): Ascend910 Health OK');
    const hw = r.findings.find((f) => f.node === 'node2' && f.check === 'hardware')!;
    expect(hw.hint).toMatch(/use servers of one kind/);
    expect(of(r.findings, 'hardware').filter((f) => f.status === 'pass').map((f) => f.node)).toEqual(['node1', 'node3']);
  });

  it('an A3 in a rack whose inventory says npusPerNode: 8: a fault on device 12 is still found', async () => {
    const r = await run({ node2: [{ kind: 'a3-server' }, { kind: 'link-down', npu: 12 }] });
    expect(notPass(r.findings).filter((f) => f.check === 'link')).toEqual([
      expect.objectContaining({ node: 'node2', npu: 12, status: 'fail', message: 'NPU 6 chip 0 (device 12): link status: DOWN' })]);
  });

  it('a single link drop in the last 24 h is a warning, not a failure', async () => {
    const r = await run({ node3: [{ kind: 'link-flaps', npu: 1, count: 1, hoursAgo: 5 }] });
    expect(r.exitCode).toBe(0);
    expect(notPass(r.findings)).toEqual([expect.objectContaining({
      node: 'node3', npu: 1, check: 'link-flaps', status: 'warn', message: expect.stringMatching(/^1 link-down event in the last 24 h \(latest .*, 5\.0 h ago\)$/) })]);
    expect(notPass(r.findings)[0]!.hint).toMatch(/hccn_tool -i 1 -optical -g/);
  });

  it('link drops older than 24 h pass', async () => {
    const r = await run({ node1: [{ kind: 'link-flaps', npu: 0, count: 5, hoursAgo: 30 }] });
    expect(r.exitCode).toBe(0);
    expect(r.findings.find((f) => f.node === 'node1' && f.npu === 0 && f.check === 'link-flaps')).toMatchObject({
      status: 'pass', message: 'no link-down event in the last 24 h (5 older)' });
  });

  it('the 24 h window is measured on the node\'s clock, not this machine\'s', async () => {
    // node2's clock is 30 h behind: its drops of 2 h ago (its time) are 32 h ago by this machine's clock
    const r = await run({ node2: [{ kind: 'clock-skew', seconds: -30 * 3600 }, { kind: 'link-flaps', npu: 6, count: 4, hoursAgo: 2 }] });
    expect(r.findings.find((f) => f.node === 'node2' && f.npu === 6 && f.check === 'link-flaps')).toMatchObject({
      status: 'fail', message: expect.stringMatching(/^4 link-down events in the last 24 h \(latest .*, 2\.0 h ago\)$/) });
  });

  it('-optical -g unsupported on the product is a warning saying so, never a pass or a link verdict', async () => {
    const r = await run({ node2: [{ kind: 'optics-unsupported' }] });
    expect(r.exitCode).toBe(0);
    const optics = of(r.findings, 'optics').filter((f) => f.node === 'node2');
    expect(optics).toHaveLength(8);
    for (const f of optics) {
      expect(f.status).toBe('warn');
      expect(f.message).toBe('not checked: hccn_tool -optical -g is not supported on this product/driver ("The command is not supported on this product.")');
      expect(f.hint).toBeTruthy();
    }
    expect(notPass(r.findings).filter((f) => f.check !== 'optics')).toEqual([]);
  });

  it('a link that is down also shows why at the module: no light (Rx LOS)', async () => {
    const r = await run({ node1: [{ kind: 'link-down', npu: 3 }] });
    expect(r.findings.find((f) => f.node === 'node1' && f.npu === 3 && f.check === 'optics')).toMatchObject({
      status: 'fail', message: expect.stringMatching(/Rx LOS/) });
  });

  describe('npusPerNode given in the inventory', () => {
    async function withInventory(edit: (text: string) => string) {
      const text = await readFile(cluster.inventoryPath, 'utf8');
      const file = path.join(cluster.dir, `inventory-${Math.random().toString(36).slice(2)}.yaml`);
      await writeFile(file, edit(text));
      return run({}, { inventory: file });
    }

    it('fails hardware on every node when it disagrees with the servers', async () => {
      const r = await withInventory((t) => t.replace('npusPerNode: 8', 'npusPerNode: 16'));
      expect(r.exitCode).toBe(1);
      const hw = of(r.findings, 'hardware');
      expect(hw.map((f) => [f.node, f.status])).toEqual([['node1', 'fail'], ['node2', 'fail'], ['node3', 'fail']]);
      expect(hw[0]!.message).toBe('npusPerNode: 16 in the inventory, but the node has 8 devices: Atlas 800 A2 (8 × 910B3)');
      expect(hw[0]!.hint).toMatch(/set npusPerNode: 8 in the inventory/);
    });

    it('is not compared when the inventory leaves it out', async () => {
      const r = await withInventory((t) => t.replace(/^npusPerNode: 8\n/m, ''));
      expect(r.exitCode, JSON.stringify(notPass(r.findings))).toBe(0);
      expect(of(r.findings, 'hardware').every((f) => f.status === 'pass')).toBe(true);
    });
  });
});
