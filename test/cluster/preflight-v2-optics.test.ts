/**
 * optics, link-flaps and hardware end to end: the built CLI against real OpenSSH nodes whose
 * hccn_tool and npu-smi are the simulator's shims at their real paths (fast profile), while `date`
 * is the machine's own. Faults on distinct node/NPU pairs, one preflight run judges them all.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimFault } from '../../src/sim/types.js';
import { runCli } from '../support/run-cli.js';
import { canRunSshdCluster, startSshdCluster, type SshdCluster } from '../support/sshd-cluster.js';

interface Finding { node: string; npu?: number; check: string; status: 'pass' | 'warn' | 'fail'; message: string; hint?: string }

describe.skipIf(!canRunSshdCluster())('preflight v2 optics checks against real OpenSSH nodes', () => {
  let cluster: SshdCluster | undefined;
  const c = (): SshdCluster => cluster!;

  beforeAll(async () => {
    cluster = await startSshdCluster({ nodes: 2, profile: 'fast' });
  }, 180_000);
  afterAll(async () => {
    await cluster?.stop();
  }, 60_000);

  it('reports optics and link-flaps faults per NPU and an odd server kind per node', async () => {
    const faults: Record<string, SimFault[]> = {
      node1: [
        { kind: 'optics-los', npu: 1 },
        { kind: 'link-flaps', npu: 3, count: 12, hoursAgo: 0.5 },
        { kind: 'optics-rx-low', npu: 7, lane: 2 },
      ],
      node2: [
        { kind: 'optics-absent', npu: 6 },
        { kind: 'link-flaps', npu: 0, count: 1, hoursAgo: 3 },
        { kind: 'a3-server' },
      ],
    };
    for (const [node, list] of Object.entries(faults)) await c().setFaults(node, list);
    const r = await runCli(['preflight', '--json', '-i', c().inventoryPath], { timeoutMs: 150_000 });
    const rep = r.json as { ok: boolean; findings: Finding[] } | undefined;
    expect(rep, `stdout was not one JSON document:\n${r.stdout}\n${r.stderr}`).toBeDefined();
    expect(r.exitCode, r.stderr).toBe(1);
    expect(rep!.ok).toBe(false);
    const find = (node: string, check: string, npu?: number) => rep!.findings.find((x) => x.node === node && x.check === check && x.npu === npu);

    expect(find('node1', 'optics', 1)).toMatchObject({ status: 'fail', message: expect.stringMatching(/Rx LOS/) });
    expect(find('node1', 'link', 1)).toMatchObject({ status: 'pass' }); // UP at the moment of the check
    expect(find('node1', 'link-flaps', 3)).toMatchObject({ status: 'fail', message: expect.stringMatching(/^12 link-down events in the last 24 h \(latest .*, 30 min ago\)$/) });
    expect(find('node1', 'optics', 7)).toMatchObject({ status: 'fail', message: expect.stringMatching(/^Rx power lane 2 0\.0512 mW/) });
    // node2 is an A3: its per-device messages name the die (NPU, chip, device id; issue #10)
    expect(find('node2', 'optics', 6)).toMatchObject({ status: 'fail', message: 'NPU 3 chip 0 (device 6): optical module not present' });
    expect(find('node2', 'link-flaps', 0)).toMatchObject({ status: 'warn', message: expect.stringMatching(/^NPU 0 chip 0 \(device 0\): 1 link-down event in the last 24 h/) });
    expect(find('node2', 'hardware')).toMatchObject({ status: 'fail', message: expect.stringMatching(/^Atlas 800 A3 .* but node1 is Atlas 800 A2 \(8 × 910B3\)/) });
    expect(find('node1', 'hardware')).toMatchObject({ status: 'pass' });
    for (const x of rep!.findings.filter((f) => f.status === 'fail')) expect(x.hint, `${x.node} ${x.check}`).toBeTruthy();

    // The ports without a fault pass: one optics and one link-flaps finding per device (8 on the A2, all
    // 16 on the A3 whatever npusPerNode says, cli-contract.md), the rest all pass.
    for (const [node, devices] of [['node1', 8], ['node2', 16]] as const) {
      for (const check of ['optics', 'link-flaps']) {
        expect(rep!.findings.filter((x) => x.node === node && x.check === check).map((x) => x.npu), `${node} ${check}`).toEqual(Array.from({ length: devices }, (_, i) => i));
      }
    }
    const bad = rep!.findings.filter((x) => (x.check === 'optics' || x.check === 'link-flaps') && x.status !== 'pass').map((x) => `${x.node}/${x.npu}/${x.check}`);
    expect(bad.sort()).toEqual(['node1/1/optics', 'node1/3/link-flaps', 'node1/7/optics', 'node2/0/link-flaps', 'node2/6/optics']);
  }, 180_000);
});
