import { describe, expect, it } from 'vitest';
import {
  NPU_SMI_TIMEOUT_MS,
  isA2ChipName,
  isLegacy910,
  isLegacy910Npu,
  nonA2Reason,
  npuSmiErrorText,
  npuSmiInfo,
  npuSmiMapping,
  npuSmiSpodInfo,
  parseNpuSmiInfo,
  parseNpuSmiKeyValues,
  parseNpuSmiMapping,
} from '../../../src/ascend/npu-smi.js';
import { fixture, must } from './helpers.js';

// ---- Builders for the layouts no fixture ships (§4.2), padded to the real cell widths ----

function border(widths: number[], ch: '-' | '='): string {
  return `+${widths.map((w) => ch.repeat(w)).join('+')}+`;
}
function row(cells: string[], widths: number[]): string {
  return `|${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('|')}|`;
}
function full(text: string, width: number): string {
  return `|${text.padEnd(width - 2)}|`;
}
function frac(used: number, total: number): string {
  // Values are right-padded in a 5-wide field: 4 digits keep a space before `/`, 5 digits do not.
  return `${String(used).padEnd(5)}/ ${total}`;
}

interface Npu {
  id: number;
  name: string;
  power: string;
  temp: number;
  bus: string;
  aicore: number;
  hbm: [number, number];
}

/** A2 (98 wide) or 26.0.rc1 (116 wide) summary table. */
function table(version: string, npus: Npu[], procs: Map<number, Array<[number, string, number, string?]>>, wide: boolean): string {
  const main = wide ? [27, 15, 70] : [27, 15, 52];
  const procW = wide ? [27, 15, 20, 23, 25] : [27, 15, 26, 25];
  const total = main.reduce((a, b) => a + b, 0) + main.length + 1;
  const [pw, tw] = wide ? [21, 24] : [12, 18];
  const out = [
    `+${'-'.repeat(total - 2)}+`,
    full(` npu-smi ${version}`.padEnd(wide ? 45 : 34) + `Version: ${version}`, total),
    border(main, '-'),
    row([' NPU   Name', ' Health', ` ${'Power(W)'.padEnd(pw)}${'Temp(C)'.padEnd(tw)}Hugepages-Usage(page)`], main),
    row([' Chip', ' Bus-Id', ` ${'AICore(%)'.padEnd(pw)}${'Memory-Usage(MB)'.padEnd(tw)}HBM-Usage(MB)`], main),
    border(main, '='),
  ];
  for (const n of npus) {
    out.push(row([` ${String(n.id).padEnd(6)}${n.name}`, ' OK', ` ${n.power.padEnd(pw)}${String(n.temp).padEnd(tw)}${frac(0, 0)}`], main));
    out.push(row([' 0', ` ${n.bus}`, ` ${String(n.aicore).padEnd(pw)}${frac(0, 0).padEnd(tw)}${frac(n.hbm[0], n.hbm[1])}`], main));
    out.push(border(main, '='));
  }
  out.push(border(main, '-'));
  const head = [' NPU     Chip', ' Process id', ' Process name', ' Process memory(MB)'];
  if (wide) head.push(' Process id in container');
  out.push(row(head, procW), border(main, '='));
  for (const n of npus) {
    const list = procs.get(n.id) ?? [];
    if (list.length === 0) out.push(full(` No running processes found in NPU ${n.id}`, total));
    for (const [pid, name, mem, inContainer] of list) {
      const cells = [` ${String(n.id).padEnd(8)}0`, ` ${pid}`, ` ${name}`, ` ${mem}`];
      if (wide) cells.push(` ${inContainer ?? 'NA'}`);
      out.push(row(cells, procW));
    }
    out.push(border(main, '='));
  }
  return `${out.join('\n')}\n`;
}

const BUSY_910B4: Npu[] = [
  { id: 0, name: '910B4', power: '268.4', temp: 52, bus: '0000:C1:00.0', aicore: 82, hbm: [22283, 32768] },
  { id: 1, name: '910B4', power: '255.0', temp: 50, bus: '0000:C2:00.0', aicore: 68, hbm: [30760, 32768] },
  { id: 2, name: '910B4', power: '98.1', temp: 40, bus: '0000:81:00.0', aicore: 0, hbm: [2871, 32768] },
  { id: 3, name: '910B4', power: '263.9', temp: 53, bus: '0000:82:00.0', aicore: 75, hbm: [22281, 32768] },
];
const BUSY_PROCS = new Map<number, Array<[number, string, number, string?]>>([
  [0, [[1712733, 'mindieservice_d', 19401]]],
  [1, [[1712734, 'mindieservice_d', 27878]]],
  [3, [[1712736, '', 19399]]],
]);

describe('parseNpuSmiInfo: constructed layouts', () => {
  it('builds tables of the documented widths (guards the builders themselves)', () => {
    const a2 = table('25.2.0', BUSY_910B4, BUSY_PROCS, false).split('\n');
    const wide = table('26.0.rc1', BUSY_910B4, BUSY_PROCS, true).split('\n');
    expect(new Set(a2.filter((l) => l !== '').map((l) => l.length))).toEqual(new Set([98]));
    expect(new Set(wide.filter((l) => l !== '').map((l) => l.length))).toEqual(new Set([116]));
    expect(a2).toContain('| 0                         | 0000:C1:00.0  | 82          0    / 0          22283/ 32768         |');
  });

  it('busy 910B4 host: 5-digit HBM, high AICore, mixed busy and idle NPUs', () => {
    const info = must(parseNpuSmiInfo(table('25.2.0', BUSY_910B4, BUSY_PROCS, false)));
    expect(info).toMatchObject({ layout: 'a2', version: '25.2.0', unparsed: [], idleNpus: [2] });
    expect(info.npus.map((n) => n.chips[0]?.hbm)).toEqual([
      { used: 22283, total: 32768 },
      { used: 30760, total: 32768 },
      { used: 2871, total: 32768 },
      { used: 22281, total: 32768 },
    ]);
    expect(info.npus.map((n) => n.chips[0]?.aicore)).toEqual([82, 68, 0, 75]);
    expect(info.npus[0]?.powerW).toBe(268.4);
    expect(info.processes).toEqual([
      { npu: 0, chip: 0, pid: 1712733, name: 'mindieservice_d', memoryMb: 19401 },
      { npu: 1, chip: 0, pid: 1712734, name: 'mindieservice_d', memoryMb: 27878 },
      { npu: 3, chip: 0, pid: 1712736, name: '', memoryMb: 19399 },
    ]);
    expect(isLegacy910(info)).toBe(false);
  });

  it('26.0.rc1 wide layout with `Process id in container`', () => {
    const procs = new Map<number, Array<[number, string, number, string?]>>([
      [0, [[485946, 'pytest', 5175, 'NA']]],
      [1, [[1732754, 'python', 150, '88'], [1732755, 'python', 151, '89']]],
    ]);
    const info = must(parseNpuSmiInfo(table('26.0.rc1', BUSY_910B4, procs, true)));
    expect(info).toMatchObject({ layout: 'wide-26', version: '26.0.rc1', unparsed: [], idleNpus: [2, 3] });
    expect(info.npus.map((n) => n.chips[0]?.hbm.used)).toEqual([22283, 30760, 2871, 22281]);
    expect(info.npus[1]?.tempC).toBe(50);
    expect(info.processes).toEqual([
      { npu: 0, chip: 0, pid: 485946, name: 'pytest', memoryMb: 5175 },
      { npu: 1, chip: 0, pid: 1732754, name: 'python', memoryMb: 150, containerPid: 88 },
      { npu: 1, chip: 0, pid: 1732755, name: 'python', memoryMb: 151, containerPid: 89 },
    ]);
  });

  it('26.0.rc1 wide layout as published (one idle 910B4)', () => {
    const text = [
      '+--------------------------------------------------------------------------------------------------------------------+',
      '| npu-smi 26.0.rc1                            Version: 26.0.rc1                                                    |',
      '+---------------------------+---------------+----------------------------------------------------------------------+',
      '| NPU   Name                | Health        | Power(W)             Temp(C)                 Hugepages-Usage(page)   |',
      '| Chip                      | Bus-Id        | AICore(%)            Memory-Usage(MB)        HBM-Usage(MB)           |',
      '+===========================+===============+======================================================================+',
      '| 0     910B4               | OK            | 82.6                 32                      0    / 0                |',
      '| 0                         | 0000:C1:00.0  | 0                    0    / 0                2871 / 32768            |',
      '+===========================+===============+======================================================================+',
      '+---------------------------+---------------+----------------------------------------------------------------------+',
      '| NPU     Chip              | Process id    | Process name       | Process memory(MB)    | Process id in container |',
      '+===========================+===============+======================================================================+',
      '| No running processes found in NPU 0                                                                              |',
    ].join('\n');
    const info = must(parseNpuSmiInfo(text));
    expect(info).toMatchObject({ layout: 'wide-26', processes: [], idleNpus: [0], unparsed: [] });
    expect(info.npus[0]).toMatchObject({ name: '910B4', powerW: 82.6, tempC: 32 });
  });

  it('A3: two dies per card, Phy-ID column, second die power `-`', () => {
    const text = [
      '+---------------------------+---------------+----------------------------------------------------+',
      '| npu-smi 25.2.0                   Version: 25.2.0                                               |',
      '+---------------------------+---------------+----------------------------------------------------+',
      '| NPU   Name                | Health        | Power(W)    Temp(C)           Hugepages-Usage(page)|',
      '| Chip  Phy-ID              | Bus-Id        | AICore(%)   Memory-Usage(MB)  HBM-Usage(MB)        |',
      '+===========================+===============+====================================================+',
      '| 0     Ascend910           | OK            | 157.3       32                0    / 0             |',
      '| 0     0                   | 0000:9D:00.0  | 0           0    / 0          3130 / 65536         |',
      '+---------------------------+---------------+----------------------------------------------------+',
      '| 0     Ascend910           | OK            | -           33                0    / 0             |',
      '| 1     1                   | 0000:9F:00.0  | 0           0        / 0      3129 / 65536         |',
      '+===========================+===============+====================================================+',
      '| 1     Ascend910           | OK            | 160.0       34                0    / 0             |',
      '| 0     2                   | 0000:99:00.0  | 0           0    / 0          3130 / 65536         |',
      '+---------------------------+---------------+----------------------------------------------------+',
      '| 1     Ascend910           | OK            | -           34                0    / 0             |',
      '| 1     3                   | 0000:9B:00.0  | 0           0    / 0          3130 / 65536         |',
      '+===========================+===============+====================================================+',
    ].join('\n');
    const info = must(parseNpuSmiInfo(text));
    expect(info.layout).toBe('a3');
    expect(info.npus.map((n) => n.id)).toEqual([0, 1]);
    expect(info.npus[0]?.powerW).toBe(157.3);
    expect(info.npus[0]?.chips.map((c) => [c.chip, c.phyId])).toEqual([
      [0, 0],
      [1, 1],
    ]);
    expect(info.npus[1]?.chips.map((c) => c.phyId)).toEqual([2, 3]);
    expect(info.unparsed).toEqual([]);
  });

  it('power `NA`, unknown rows and garbage', () => {
    const base = fixture('npu_smi_info_910b3_8card_noprocs_25.2.0_vllm-ascend-3114.txt');
    const na = base.replace('| 99.3        41 ', '| NA          41 ');
    expect(must(parseNpuSmiInfo(na)).npus[0]?.powerW).toBeNull();
    const odd = base.replace('| No running processes found in NPU 3 ', '| something else entirely           ');
    expect(must(parseNpuSmiInfo(odd)).unparsed).toHaveLength(1);
    expect(parseNpuSmiInfo('').ok).toBe(false);
    expect(parseNpuSmiInfo('bash: npu-smi: command not found\n').ok).toBe(false);
  });

  it('the 910A `Process memory(B)` column is reported in MB', () => {
    const base = fixture('npu_smi_info_910a_4card_health_warning_23.0.rc1_openyuanrong-mock.txt');
    const withProc = base.replace(
      '| No running processes found in NPU 0                                                       |',
      '| 0       0            | 1234          | python                   | 2097152                 |',
    );
    expect(must(parseNpuSmiInfo(withProc)).processes).toEqual([{ npu: 0, chip: 0, pid: 1234, name: 'python', memoryMb: 2 }]);
  });
});

describe('isLegacy910', () => {
  const chip = (memTotal: number, hbmTotal: number) => ({
    chip: 0,
    busId: '0000:C1:00.0',
    aicore: 0,
    memory: { used: 0, total: memTotal },
    hbm: { used: 0, total: hbmTotal },
  });
  const npu = (name: string, memTotal: number, hbmTotal: number) => ({
    id: 0,
    name,
    health: 'OK',
    powerW: 60,
    hugepages: { used: 0, total: 0 },
    chips: [chip(memTotal, hbmTotal)],
  });

  it('needs the plain name, ~15 GB DDR and 32 GB HBM together', () => {
    expect(isLegacy910Npu(npu('910B', 15038, 32768))).toBe(true);
    expect(isLegacy910Npu(npu('910B3', 15038, 32768))).toBe(false);
    expect(isLegacy910Npu(npu('910B', 0, 32768))).toBe(false);
    expect(isLegacy910Npu(npu('910B', 15038, 65536))).toBe(false);
  });
});

describe('nonA2Reason (ascendctl targets A2 only, §4.2 and §6)', () => {
  const table = 'npu_smi_info_910a_4card_health_warning_23.0.rc1_openyuanrong-mock.txt';

  it('passes every A2 table fixture and fails the 910A and legacy "910B" ones', () => {
    const expected: Record<string, string | undefined> = {
      'npu_smi_info_910b3_8card_noprocs_25.2.0_vllm-ascend-3114.txt': undefined,
      'npu_smi_info_910b3_8card_withprocs_25.3.rc1_vllm-ascend-3998.txt': undefined,
      'npu_smi_info_910b3_8card_24.1.rc1.b030_ms-swift_noproctable.txt': undefined,
      'npu_smi_info_910b1_2visible_procname_24.1.0.3_vllm-ascend-issue.txt': undefined,
      'npu_smi_info_910b1_8card_elided_23.0.rc2_arthurchiao.txt': undefined,
      'npu_smi_info_LEGACY910_named910B_8card_24.1.0_longllovers.txt':
        'these NPUs are the older Ascend 910 (shown as "910B" with 32 GB HBM), not 910B (A2)',
      [table]: 'these NPUs are the older Ascend 910 (shown as "910A"), not 910B (A2)',
    };
    for (const [file, reason] of Object.entries(expected)) expect(nonA2Reason(must(parseNpuSmiInfo(fixture(file)))), file).toBe(reason);
  });

  it('a healthy 910A is still not A2: the verdict does not hang on Health', () => {
    const info = must(parseNpuSmiInfo(fixture(table).replace(/Warning/g, 'OK     ')));
    expect(info.npus.every((n) => n.health === 'OK')).toBe(true);
    expect(nonA2Reason(info)).toMatch(/"910A"/);
  });

  it('names: every 910B variant is A2; 910, 910A, 910ProA, 310P3 are not', () => {
    for (const n of ['910B', '910B1', '910B2', '910B2C', '910B3', '910B4', '910b3']) expect(isA2ChipName(n), n).toBe(true);
    for (const n of ['910', '910A', '910ProA', '910ProB', '310P3', 'Ascend910']) expect(isA2ChipName(n), n).toBe(false);
  });

  it('a chip named with digits only ("910") is read as a name, not mistaken for an A3 Chip/Phy-ID row', () => {
    const info = must(parseNpuSmiInfo(fixture(table).replace(/910A {3}/g, '910    ')));
    expect(info.npus.map((n) => n.name)).toEqual(['910', '910', '910', '910']);
    expect(info.npus.every((n) => n.chips.length === 1)).toBe(true);
    expect(info.layout).toBe('narrow-910a');
    expect(nonA2Reason(info)).toBe('these NPUs are the older Ascend 910 (shown as "910"), not 910B (A2)');
    expect(nonA2Reason(must(parseNpuSmiInfo(fixture(table).replace(/910A {3}/g, '310P3  '))))).toBe('these NPUs are "310P3", not 910B (A2)');
  });
});

describe('errors and argv', () => {
  it('detects the dcmi failure on stderr', () => {
    expect(npuSmiErrorText('', 'dcmi module initialize failed. ret is -8005\n')).toBe('dcmi module initialize failed. ret is -8005');
    expect(npuSmiErrorText('Error parameter of -i\n')).toBe('Error parameter of -i');
    expect(npuSmiErrorText(fixture('npu_smi_info_910b3_8card_noprocs_25.2.0_vllm-ascend-3114.txt'), '')).toBeUndefined();
  });

  it('builds argv', () => {
    expect(NPU_SMI_TIMEOUT_MS).toBe(30_000);
    expect(npuSmiInfo('npu-smi')).toEqual(['npu-smi', 'info']);
    expect(npuSmiInfo('/usr/local/sbin/npu-smi')).toEqual(['/usr/local/sbin/npu-smi', 'info']);
    expect(npuSmiMapping('npu-smi')).toEqual(['npu-smi', 'info', '-m']);
    expect(npuSmiSpodInfo('npu-smi', 0, 1)).toEqual(['npu-smi', 'info', '-t', 'spod-info', '-i', '0', '-c', '1']);
    expect(() => npuSmiSpodInfo('npu-smi', -1, 0)).toThrow(RangeError);
    expect(() => npuSmiSpodInfo('npu-smi', 0, 0.5)).toThrow(RangeError);
  });
});

describe('key/value forms', () => {
  it('no indent, spaces and TAB all parse; values keep their colons', () => {
    const kv = parseNpuSmiKeyValues('NPU ID : 1\n        PCIe Bus Info : 0000:61:00.0\n\tChip Count\t: 2\n');
    expect(kv.entries).toEqual([
      { key: 'NPU ID', value: '1' },
      { key: 'PCIe Bus Info', value: '0000:61:00.0' },
      { key: 'Chip Count', value: '2' },
    ]);
    expect(kv.groups).toHaveLength(1);
  });

  it('-m skips Mcu rows', () => {
    const text = '\tNPU ID   Chip ID   Chip Logic ID   Chip Name\n\t0   0   0   Ascend 910B3\n\t0   1   -   Mcu\n';
    expect(must(parseNpuSmiMapping(text))).toEqual([{ npuId: 0, chipId: 0, chipLogicId: 0, chipName: 'Ascend 910B3' }]);
  });
});
