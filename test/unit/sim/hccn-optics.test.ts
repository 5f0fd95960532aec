/**
 * The simulator's `-optical -g`, `-link_stat -g` and A3 `npu-smi info` answers: the captured layouts
 * (same keys in the same order as the fixture, the same record line shape), and what each new fault
 * kind changes in them. The spec schema accepts the new kinds.
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import type { SimCluster } from '../../../src/sim/cluster.js';
import { parseFaults } from '../../../src/sim/cluster-spec.js';
import type { SimFault } from '../../../src/sim/types.js';
import { hccn, startCluster, tool } from './run-helper.js';

const FIX = new URL('../../../fixtures/ascend/', import.meta.url);
const fixture = (name: string): string => readFileSync(new URL(name, FIX), 'utf8');
const keys = (text: string) => text.split('\n').map((l) => /^([^:]+?)\s*:/.exec(l)?.[1]).filter((k) => k !== undefined);
const field = (text: string, key: string) => new RegExp(`^${key}\\s*: (.*)$`, 'm').exec(text)?.[1];

let cluster: SimCluster | undefined;
afterEach(() => cluster?.stop());

async function node(faults: SimFault[]) {
  cluster = await startCluster([{ faults }]);
  return cluster.node('node1')!;
}

describe('simulated -optical -g', () => {
  it('prints the fixture\'s keys in the fixture\'s order (without the SNR lines), healthy', async () => {
    const out = (await hccn(await node([]), '-i', '2', '-optical', '-g')).stdout;
    const want = keys(fixture('hccn_optical_g_910a_fixture.txt')).filter((k) => !/SNR|org unique/.test(k!));
    expect(keys(out)).toEqual(want);
    expect(out.split('\n')[0]).toBe('optical info:');
    expect(field(out, 'present')).toBe('present');
    expect(field(out, 'Rx Los Flag')).toBe('0x0');
    expect(field(out, 'RxPower Low Thres')).toBe('0.1445 mW');
  });

  it('optics-absent: `Optical module is not present.` on stdout, exit 20', async () => {
    expect(await hccn(await node([{ kind: 'optics-absent', npu: 1 }]), '-i', '1', '-optical', '-g'))
      .toEqual({ code: 20, stdout: 'Optical module is not present.\n', stderr: '' });
  });

  it('optics-los: every lane dark with LOS and LOL, while -link -g still says UP', async () => {
    const n = await node([{ kind: 'optics-los', npu: 0 }]);
    const out = (await hccn(n, '-i', '0', '-optical', '-g')).stdout;
    expect([field(out, 'Rx Los Flag'), field(out, 'Rx LoL Flag'), field(out, 'Rx Power3')]).toEqual(['0xff', '0xff', '0.0000 mW']);
    expect((await hccn(n, '-i', '0', '-link', '-g')).stdout).toBe('link status: UP\n');
    expect(field((await hccn(n, '-i', '1', '-optical', '-g')).stdout, 'Rx Los Flag')).toBe('0x0');
  });

  it('optics-rx-low on one lane; optics-unsupported answers exit 13 on stdout', async () => {
    const out = (await hccn(await node([{ kind: 'optics-rx-low', npu: 4, lane: 3 }]), '-i', '4', '-optical', '-g')).stdout;
    expect([field(out, 'Rx Power2'), field(out, 'Rx Power3'), field(out, 'Rx Los Flag')]).toEqual(['0.9940 mW', '0.0512 mW', '0x0']);
    await cluster?.stop();
    expect(await hccn(await node([{ kind: 'optics-unsupported' }]), '-i', '0', '-optical', '-g'))
      .toEqual({ code: 13, stdout: 'The command is not supported on this product.\n', stderr: '' });
  });
});

describe('simulated -link_stat -g', () => {
  const RECORD = /^\[device \d+\] {4}\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4} {4}LINK (UP|DOWN)$/;

  it('link-flaps: count drops newest first, each back up a minute later, in the fixture\'s record shape', async () => {
    const n = await node([{ kind: 'link-flaps', npu: 5, count: 3, hoursAgo: 2 }]);
    const out = (await hccn(n, '-i', '5', '-link_stat', '-g')).stdout.trimEnd().split('\n');
    expect(out[1]).toBe('[device 5]link up count       : 4');
    const records = out.slice(3);
    expect(records.every((l) => RECORD.test(l))).toBe(true);
    expect(records.map((l) => RECORD.exec(l)![1])).toEqual(['UP', 'DOWN', 'UP', 'DOWN', 'UP', 'DOWN', 'UP']);
    expect(fixture('hccn_link_stat_g_mindcluster_doc.txt').trimEnd().split('\n').slice(3).every((l) => RECORD.test(l))).toBe(true);
    // the other NPUs only have the boot-time link up
    expect((await hccn(n, '-i', '4', '-link_stat', '-g')).stdout.trimEnd().split('\n').slice(3)).toHaveLength(1);
  });
});

describe('simulated A3 server', () => {
  it('a3-server: npu-smi info lists 8 NPUs × 2 dies with Phy-ID 0–15, the second die\'s Power `-`', async () => {
    const out = (await tool(await node([{ kind: 'a3-server' }]), 'npu-smi', ['info'])).stdout;
    expect(out).toMatch(/^\| Chip  Phy-ID {14}\| Bus-Id/m);
    const dies = [...out.matchAll(/^\| (\d)\s+(\d+)\s+\| 0000:/gm)].map((m) => Number(m[2]));
    expect(dies).toEqual(Array.from({ length: 16 }, (_, i) => i));
    expect(out.match(/^\| \d\s+Ascend910\s+\| OK\s+\| -\s/gm)).toHaveLength(8);
  });

  it('the spec schema accepts every new fault kind', () => {
    const faults = [
      { kind: 'optics-absent', npu: 1 }, { kind: 'optics-los', npu: 2 }, { kind: 'optics-rx-low', npu: 3, lane: 1 },
      { kind: 'optics-unsupported' }, { kind: 'link-flaps', npu: 0, count: 12, hoursAgo: 0.5 }, { kind: 'a3-server' },
    ];
    expect(parseFaults(faults)).toEqual(faults);
    expect(() => parseFaults([{ kind: 'link-flaps', npu: 0 }])).toThrow();
  });
});
