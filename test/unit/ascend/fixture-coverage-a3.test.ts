/**
 * Every file in fixtures/a3/ (Atlas 800 A3 captures and docs, see fixtures/a3/INDEX.md) runs through the
 * parser that owns it, with the key facts it must yield; a walk of the directory fails when a fixture
 * has no entry here (or an entry lost its file). RECONSTRUCTED files are parsed as tolerantly as real ones.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseHccnConf } from '../../../src/ascend/hccn-conf.js';
import { parseNpuSmiInfo, parseNpuSmiKeyValues, parseNpuSmiMapping } from '../../../src/ascend/npu-smi.js';
import { validateRankTable } from '../../../src/mindie/rank-table.js';
import { a3NpuSmiFacts, parseSpodInfo } from '../../../src/preflight/a3.js';
import { serverOf } from '../../../src/preflight/hardware.js';
import { keyValues, must } from './helpers.js';

const DIR = fileURLToPath(new URL('../../../fixtures/a3/', import.meta.url));
const read = (f: string) => readFileSync(`${DIR}${f}`, 'utf8');

const COVERAGE: Record<string, (text: string) => void> = {
  'npu_smi_info_A3_16die_withprocs_25.2.0_vllm-ascend-3002.txt': (t) => {
    const info = must(parseNpuSmiInfo(t));
    expect(info.layout).toBe('a3');
    expect(info.unparsed).toEqual([]);
    expect(serverOf(info)).toEqual({ kind: 'A3', npus: 8, devices: 16, chip: 'Ascend910' });
    const facts = a3NpuSmiFacts(info);
    expect(facts.dies!.map((d) => d.device)).toEqual(Array.from({ length: 16 }, (_, i) => i));
    expect(facts.dies![7]).toEqual({ device: 7, npu: 3, chip: 1 });
    // each die has its own Health and HBM (the second die's row pair, Power `-`)
    expect(facts.devices[1]).toEqual({ id: 1, name: 'Ascend910', health: 'OK', hbmUsedMb: 61625, hbmTotalMb: 65536 });
    // the process table is keyed by NPU and chip: NPU 0 chip 1 is device 1
    expect(facts.processes!.filter((p) => p.npu === 1)).toEqual([{ npu: 1, pid: 929405, name: '', memoryMb: 58780 }]);
    expect(facts.processes!.filter((p) => p.npu === 2)).toEqual([{ npu: 2, pid: 929673, name: '', memoryMb: 58540 }]);
  },
  'npu_smi_info_l_A3_RECONSTRUCTED.txt': (t) => {
    const kv = parseNpuSmiKeyValues(t);
    expect(kv.groups[0]).toEqual({ 'Total Count': '8' });
    expect(kv.groups.slice(1).map((g) => g['Chip Count'])).toEqual(Array.from({ length: 8 }, () => '2'));
  },
  'npu_smi_info_m_A3_RECONSTRUCTED.txt': (t) => {
    const rows = must(parseNpuSmiMapping(t));
    // 16 dies; the MCU rows (Chip ID 2, `-`) are not devices
    expect(rows).toHaveLength(16);
    expect(rows[15]).toEqual({ npuId: 7, chipId: 1, chipLogicId: 15, chipPhyId: 15, chipName: 'Ascend910' });
    expect(rows.every((r) => r.chipPhyId === 2 * r.npuId + r.chipId)).toBe(true);
  },
  'npu_smi_info_t_spod-info_i0_c0_A3_RECONSTRUCTED.txt': (t) =>
    expect(parseSpodInfo(t)).toEqual({ sdid: 113246208, superPodId: 1, serverIndex: 27 }),
  'npu_smi_info_t_spod-info_i0_c1_A3_RECONSTRUCTED.txt': (t) => {
    const s = parseSpodInfo(t)!;
    expect(s.serverIndex).toBe(27);
    expect(s.sdid).not.toBe(113246208);
  },
  // The doc author removed the TAB and padding: still read.
  'npu_smi_info_t_spod-info_i0_c0_A3_shmem-doc.txt': (t) =>
    expect(parseSpodInfo(t)).toEqual({ sdid: 16777216, superPodId: 0, serverIndex: 4 }),
  'npu_smi_info_t_board_i0_A3_RECONSTRUCTED.txt': (t) => {
    const b = keyValues(t);
    expect(b['PCI Device ID']).toBe('0xD803');
    expect(b['Chip Count']).toBe('2');
  },
  'hccn_conf_A3_16die_openyuanrong-mock.txt': (t) => {
    const conf = parseHccnConf(t);
    expect(Object.keys(conf.devices).map(Number).sort((a, b) => a - b)).toEqual(Array.from({ length: 16 }, (_, i) => i));
    expect(conf.devices[15]?.address).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
  },
  'ranktable_v1.0_A3_2x16_mindie-llm-doc.json': (t) => {
    const table = validateRankTable(JSON.parse(t), { npusPerNode: 16 });
    expect(table.version).toBe('1.0');
    expect(table.server_list.map((s) => s.device.length)).toEqual([16, 16]);
  },
};

describe('fixtures/a3 coverage', () => {
  const files = readdirSync(DIR).filter((f) => f !== 'INDEX.md');

  it('has a parser test for every fixture file, and every entry names an existing file', () => {
    expect(files.filter((f) => !(f in COVERAGE))).toEqual([]);
    expect(Object.keys(COVERAGE).filter((f) => !files.includes(f))).toEqual([]);
  });

  it.each(Object.keys(COVERAGE))('%s', (file) => {
    COVERAGE[file]!(read(file));
  });
});
