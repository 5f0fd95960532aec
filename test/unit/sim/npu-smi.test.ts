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

  it('old-driver changes the title, -v, the board software version and version.info', async () => {
    cluster = await startCluster([{ faults: [{ kind: 'old-driver', version: '24.1.rc2' }] }]);
    const n = cluster.node('node1');
    expect((await tool(n, 'npu-smi', ['info'])).stdout.split('\n')[1]).toMatch(/^\|\s*npu-smi\s+24\.1\.rc2\s+Version:\s+24\.1\.rc2\s*\|$/);
    expect((await tool(n, 'npu-smi', ['-v'])).stdout).toBe('npu-smi version: 24.1.rc2\n');
    expect((await tool(n, 'npu-smi', ['info', '-t', 'board', '-i', '0'])).stdout).toMatch(/^\tSoftware Version {15}: 24\.1\.rc2$/m);
    expect((await sh(n, 'cat /usr/local/Ascend/driver/version.info')).stdout).toMatch(/^Version=24\.1\.rc2$[\s\S]*^package_version=24\.1\.rc2$/m);
  });
});

describe('npu-smi key/value forms', () => {
  it('board info has the fixture keys in the real TAB + 31-column layout', async () => {
    cluster = await startCluster(1);
    const out = (await tool(cluster.node('node1'), 'npu-smi', ['info', '-t', 'board', '-i', '0'])).stdout;
    const keys = (s: string): string[] => s.split('\n').filter(Boolean).map((l) => /^\s*(.+?)\s*:/.exec(l)?.[1] ?? '');
    expect(keys(out)).toEqual(keys(fixture('npu_smi_info_t_board_i0_910b_0xD802_telegraf-fixture.txt')));
    expect(out).toContain('\tPCI Device ID                  : 0xD802\n');
    const chip = (await tool(cluster.node('node1'), 'npu-smi', ['info', '-t', 'board', '-i', '0', '-c', '0'])).stdout;
    expect(chip).toContain('\tChip Type                      : Ascend\n\tChip Name                      : 910B3\n');
  });

  it('health follows npu-health faults; invalid ids print the fixture error', async () => {
    cluster = await startCluster([{ faults: [{ kind: 'npu-health', npu: 1, value: 'Warning' }] }]);
    const n = cluster.node('node1');
    expect((await tool(n, 'npu-smi', ['info', '-t', 'health', '-i', '0'])).stdout).toBe(fixture('npu_smi_info_t_health_ok_910a_fixture.txt'));
    expect((await tool(n, 'npu-smi', ['info', '-t', 'health', '-i', '1', '-c', '0'])).stdout).toMatch(/^\tHealth Status {18}: Warning$/m);
    const bad = await tool(n, 'npu-smi', ['info', '-t', 'board', '-i', '9']);
    expect(bad.code).not.toBe(0);
    expect(bad.stdout).toBe(fixture('npu_smi_info_invalid_card_id_fixture.txt'));
    const list = (await tool(n, 'npu-smi', ['info', '-l'])).stdout;
    expect(list.split('\n')[0]).toBe('\tTotal Count                    : 8');
  });

  it('is found through PATH at /usr/local/sbin', async () => {
    cluster = await startCluster(1);
    expect(cluster.node('node1').programPath('npu-smi')).toBe('/usr/local/sbin/npu-smi');
    const r = await sh(cluster.node('node1'), 'npu-smi -v');
    expect(r.stdout).toBe('npu-smi version: 25.2.0\n');
  });
});
