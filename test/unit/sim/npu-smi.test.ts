import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import type { SimCluster } from '../../../src/sim/cluster.js';
import { sh, startCluster, tool } from './run-helper.js';

const FIX = new URL('../../../fixtures/ascend/', import.meta.url);
const fixture = (name: string): string => readFileSync(new URL(name, FIX), 'utf8');
const IDLE = fixture('npu_smi_info_910b3_8card_noprocs_25.2.0_vllm-ascend-3114.txt');

// Regexes of ascend-tools.md §4.2.
const ROW1 = /^\|\s*(\d+)\s+(\S+)\s*\|\s*(\S+)\s*\|\s*(\S+)\s+(\S+)\s+(\d+)\s*\/\s*(\d+)\s*\|$/;
const ROW2 = /^\|\s*(\d+)(?:\s+(\d+))?\s*\|\s*([0-9A-Fa-fx]{4}:[0-9A-Fa-fx]{2}:[0-9A-Fa-fx]{2}\.[0-9x])\s*\|\s*(\d+)\s+(\d+)\s*\/\s*(\d+)\s+(\d+)\s*\/\s*(\d+)\s*\|$/;
const PROC = /^\|\s*(\d+)\s+(\d+)\s*\|\s*(\d+)\s*\|\s*(.*?)\s*\|\s*(\d+)\s*\|/;

let cluster: SimCluster | undefined;
afterEach(() => cluster?.stop());

describe('npu-smi info', () => {
  it('reproduces the idle 8 × 910B3 capture of driver 25.2.0 byte for byte', async () => {
    cluster = await startCluster(1);
    const out = (await tool(cluster.node('node1'), 'npu-smi', ['info'])).stdout;
    expect(out).toBe(IDLE);
    for (const line of out.split('\n').filter(Boolean)) expect(line).toHaveLength(98);
  });

  it('shows processes, HBM use and health from the hooks and faults', async () => {
    cluster = await startCluster([{ faults: [{ kind: 'npu-health', npu: 6, value: 'Alarm' }] }]);
    const n = cluster.node('node1');
    n.setNpuProcesses(2, [{ pid: 2698909, name: 'mindieservice_daemon', memoryMb: 600 }, { pid: 2701550, name: '', memoryMb: 538 }]);
    n.setHbmUsed(2, 61234);
    const lines = (await tool(n, 'npu-smi', ['info'])).stdout.split('\n');
    for (const line of lines.filter(Boolean)) expect(line).toHaveLength(98);
    const rows1 = lines.filter((l) => ROW1.test(l)).map((l) => ROW1.exec(l) ?? []);
    expect(rows1.map((m) => m[3])).toEqual(['OK', 'OK', 'OK', 'OK', 'OK', 'OK', 'Alarm', 'OK']);
    const rows2 = lines.filter((l) => ROW2.test(l)).map((l) => ROW2.exec(l) ?? []);
    expect(rows2).toHaveLength(8);
    expect(rows2[2]?.[7]).toBe('61234');
    expect(lines).toContain('| 0                         | 0000:81:00.0  | 0           0    / 0          61234/ 65536         |');
    const procs = lines.filter((l) => PROC.test(l)).map((l) => PROC.exec(l) ?? []);
    expect(procs.map((m) => [m[1], m[3], m[4], m[5]])).toEqual([['2', '2698909', 'mindieservice_d', '600'], ['2', '2701550', '', '538']]);
    expect(lines.filter((l) => l.startsWith('| No running processes found in NPU'))).toHaveLength(7);
    // The 25.3.rc1 capture with processes has the same process-row layout.
    const fixtureRow = fixture('npu_smi_info_910b3_8card_withprocs_25.3.rc1_vllm-ascend-3998.txt').split('\n').find((l) => PROC.test(l));
    expect(fixtureRow).toBe('| 0       0                 | 2698909       |                          | 600                     |');
    expect(lines.find((l) => l.includes('2701550'))).toBe('| 2       0                 | 2701550       |                          | 538                     |');
  });

  it('old-driver changes the title, -v and version.info', async () => {
    cluster = await startCluster([{ faults: [{ kind: 'old-driver', version: '24.1.rc2' }] }]);
    const n = cluster.node('node1');
    expect((await tool(n, 'npu-smi', ['info'])).stdout.split('\n')[1]).toMatch(/^\|\s*npu-smi\s+24\.1\.rc2\s+Version:\s+24\.1\.rc2\s*\|$/);
    expect((await tool(n, 'npu-smi', ['-v'])).stdout).toBe('npu-smi version: 24.1.rc2\n');
    expect((await sh(n, 'cat /usr/local/Ascend/driver/version.info')).stdout).toMatch(/^Version=24\.1\.rc2$[\s\S]*^package_version=24\.1\.rc2$/m);
  });
});

describe('npu-smi key/value forms', () => {
  it('spod-info answers on an A3 in the real TAB + 31-column layout; invalid ids print the fixture error', async () => {
    cluster = await startCluster([{ faults: [{ kind: 'a3-server' }] }]);
    const n = cluster.node('node1');
    const spod = (await tool(n, 'npu-smi', ['info', '-t', 'spod-info', '-i', '0', '-c', '1'])).stdout;
    expect(spod).toContain('\tServer Index                   : 1023\n');
    const bad = await tool(n, 'npu-smi', ['info', '-t', 'spod-info', '-i', '9', '-c', '0']);
    expect(bad.code).not.toBe(0);
    expect(bad.stdout).toBe(fixture('npu_smi_info_invalid_card_id_fixture.txt'));
  });

  it('refuses the forms ascendctl does not send with the tool\'s usage error', async () => {
    cluster = await startCluster(1);
    const n = cluster.node('node1');
    for (const args of [['info', '-l'], ['info', '-t', 'board', '-i', '0'], ['info', '-t', 'health', '-i', '0'], ['info', '-t', 'spod-info', '-i', '0', '-c', '0']]) {
      const r = await tool(n, 'npu-smi', args);
      expect({ args, code: r.code }).toEqual({ args, code: 1 });
      expect(r.stdout).toMatch(/Usage: npu-smi info/);
    }
  });

  it('checks the card, then the chip, then the type, as the real tool does', async () => {
    cluster = await startCluster(1);
    const n = cluster.node('node1');
    const first = async (args: string[]): Promise<string> => (await tool(n, 'npu-smi', ['info', ...args])).stdout.split('\n')[0]!;
    expect(await first(['-t', 'spod-info', '-i', '99', '-c', '0'])).toBe('Invalid card id.');
    expect(await first(['-t', 'foo', '-i', '99'])).toBe('Invalid card id.');
    expect(await first(['-t', 'spod-info', '-i', '0', '-c', '1'])).toBe('Invalid chip id.');
    expect(await first(['-t', 'spod-info', '-i', '0', '-c', '0'])).toBe('Invalid type.');
  });

  it('is found through PATH at /usr/local/sbin', async () => {
    cluster = await startCluster(1);
    expect(cluster.node('node1').programPath('npu-smi')).toBe('/usr/local/sbin/npu-smi');
    const r = await sh(cluster.node('node1'), 'npu-smi -v');
    expect(r.stdout).toBe('npu-smi version: 25.2.0\n');
  });
});
