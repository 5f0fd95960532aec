/**
 * The simulated `npu-smi` (ascend-tools.md §4): `info` in the A2 98-column layout with the process
 * table, `info -t board|health -i N [-c C]`, `info -l`, `-v`. Health comes from npu-health faults;
 * processes and HBM use come from the container runtime through SimNode's hooks.
 */
import { FIRMWARE_VERSION, type SimNode } from './ascend-node.js';
import { delay, latencyMs } from './latency.js';
import type { SimIo, SimProgram } from './types.js';

const BORDER = `+${'-'.repeat(96)}+`;
const CELLS = `+${'-'.repeat(27)}+${'-'.repeat(15)}+${'-'.repeat(52)}+`;
const DOUBLE = `+${'='.repeat(27)}+${'='.repeat(15)}+${'='.repeat(52)}+`;
const USAGE = 'Usage: npu-smi info <watch|proc|-h|-m|-l|-t type> [Options...]';

/** Bus ids of an 8-NPU Atlas 800T A2, in NPU order (vllm-ascend#3114). */
const BUS = ['C1', 'C2', '81', '82', '01', '02', '41', '42'];
const POWER = [99.3, 101.8, 91.0, 99.4, 94.8, 100.8, 99.8, 92.0];
const TEMP = [41, 38, 37, 39, 44, 42, 43, 45];

const HEALTH_ERRORS: Record<string, { code: string; info: string }> = {
  Warning: { code: '80E18005', info: 'node type=SOC, sensor type=Temperature, event state=temperature over minor threshold' },
  Alarm: { code: '80CB8009', info: 'node type=HBM, sensor type=Memory, event state=multi-bit ECC error' },
  Critical: { code: '80E38000', info: 'node type=AICORE, sensor type=General Software, event state=device heartbeat lost' },
  UNKNOWN: { code: 'NA', info: 'NA' },
};

export function createNpuSmi(node: SimNode): SimProgram {
  return async (argv, io) => {
    const [first, ...rest] = argv;
    if (first === '-v' && rest.length === 0) {
      if (!(await delay(latencyMs(node.profile, 'npusmi.version'), io.signal))) return 143;
      await io.stdout(`npu-smi version: ${node.driverVersion()}\n`);
      return 0;
    }
    if (first !== 'info') {
      await io.stdout(`${USAGE}\n`);
      return 1;
    }
    if (rest.length === 0) {
      if (!(await delay(latencyMs(node.profile, 'npusmi.info'), io.signal))) return 143;
      await io.stdout(infoTable(node));
      return 0;
    }
    const opts = parseOpts(rest);
    if (!opts) return usageError(io, '');
    if (opts.l) {
      if (!(await delay(latencyMs(node.profile, 'npusmi.list'), io.signal))) return 143;
      await io.stdout(listText(node));
      return 0;
    }
    const a3 = isA3(node);
    if (opts.m && a3) {
      if (!(await delay(latencyMs(node.profile, 'npusmi.list'), io.signal))) return 143;
      await io.stdout(a3MappingText(node));
      return 0;
    }
    if (opts.t === undefined) return usageError(io, '');
    const card = opts.i === undefined ? -1 : Number(opts.i);
    const cards = a3 ? a3Cards(node) : node.npuCount;
    if (!/^\d+$/.test(opts.i ?? '') || card >= cards) return usageError(io, 'Invalid card id.\nError parameter of -i\n');
    const chips = a3 ? ['0', '1'] : ['0'];
    if (opts.c !== undefined && !chips.includes(opts.c)) return usageError(io, 'Invalid chip id.\nError parameter of -c\n');
    const chip = Number(opts.c ?? '0');
    if (opts.t === 'board') {
      if (!(await delay(latencyMs(node.profile, 'npusmi.board'), io.signal))) return 143;
      if (a3) await io.stdout(opts.c === undefined ? a3BoardText(node, card) : a3ChipText(node, card, chip));
      else await io.stdout(opts.c === undefined ? boardText(node, card) : chipText(node, card));
      return 0;
    }
    if (opts.t === 'health') {
      if (!(await delay(latencyMs(node.profile, 'npusmi.health'), io.signal))) return 143;
      await io.stdout(healthText(node, a3 ? (card * 2 + chip) % node.npuCount : card));
      return 0;
    }
    if (opts.t === 'spod-info' && a3) {
      if (opts.c === undefined) return usageError(io, 'Invalid chip id.\nError parameter of -c\n');
      if (!(await delay(latencyMs(node.profile, 'npusmi.board'), io.signal))) return 143;
      await io.stdout(spodInfoText(node, card, chip));
      return 0;
    }
    return usageError(io, 'Invalid type.\nError parameter of -t\n');
  };
}

async function usageError(io: SimIo, text: string): Promise<number> {
  await io.stdout(`${text}${USAGE}\n`);
  return 1;
}

function parseOpts(args: string[]): { t?: string; i?: string; c?: string; l?: boolean; m?: boolean } | undefined {
  const out: { t?: string; i?: string; c?: string; l?: boolean; m?: boolean } = {};
  for (let k = 0; k < args.length; k++) {
    const a = args[k];
    if (a === '-l') out.l = true;
    else if (a === '-m') out.m = true;
    else if (a === '-t' || a === '-i' || a === '-c') {
      const v = args[++k];
      if (v === undefined) return undefined;
      out[a.slice(1) as 't' | 'i' | 'c'] = v;
    } else return undefined;
  }
  return out;
}

/** `used / total` as npu-smi pads it: a 5-digit value loses the space before `/` (§4.2). */
function ratio(used: number, total: number): string {
  return `${String(used).padEnd(5)}/ ${total}`;
}

function row(a: string, b: string, c: string): string {
  return `|${` ${a}`.padEnd(27)}|${` ${b}`.padEnd(15)}|${` ${c}`.padEnd(52)}|`;
}

/** The banner and column headers; the second header row starts `Chip` (A2) or `Chip  Phy-ID` (A3). */
function tableHead(node: SimNode, chipColumn: string): string[] {
  const v = node.driverVersion();
  return [
    BORDER,
    `|${` npu-smi ${v}`.padEnd(34)}${`Version: ${v}`.padEnd(62)}|`,
    CELLS,
    '| NPU   Name                | Health        | Power(W)    Temp(C)           Hugepages-Usage(page)|',
    `| ${chipColumn.padEnd(26)}| Bus-Id        | AICore(%)   Memory-Usage(MB)  HBM-Usage(MB)        |`,
    DOUBLE,
  ];
}

export function infoTable(node: SimNode): string {
  if (isA3(node)) return a3InfoTable(node);
  const lines = tableHead(node, 'Chip');
  for (let npu = 0; npu < node.npuCount; npu++) {
    const busy = node.npuProcesses(npu).length > 0;
    const power = (POWER[npu % POWER.length] ?? 95) + (busy ? 60 : 0);
    const temp = (TEMP[npu % TEMP.length] ?? 40) + (busy ? 8 : 0);
    lines.push(
      row(`${String(npu).padEnd(6)}${node.npuName}`, node.npuHealth(npu), `${power.toFixed(1).padEnd(12)}${String(temp).padEnd(18)}${ratio(0, 0)}`),
      row('0', busId(npu), `${'0'.padEnd(12)}${ratio(0, 0).padEnd(18)}${ratio(node.hbmUsedMb(npu), node.hbmTotalMb())}`),
      DOUBLE,
    );
  }
  lines.push(CELLS, '| NPU     Chip              | Process id    | Process name             | Process memory(MB)      |', DOUBLE);
  for (let npu = 0; npu < node.npuCount; npu++) {
    const procs = node.npuProcesses(npu);
    if (procs.length === 0) lines.push(`| ${`No running processes found in NPU ${npu}`.padEnd(95)}|`);
    for (const p of procs) {
      lines.push(`|${` ${String(npu).padEnd(8)}0`.padEnd(27)}|${` ${p.pid}`.padEnd(15)}|${` ${p.name.slice(0, 15)}`.padEnd(26)}|${` ${p.memoryMb}`.padEnd(25)}|`);
    }
    lines.push(DOUBLE);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * The A3 layout (ascend-tools.md §4.2, §6; the VA-3002 capture): a row pair per die, `Chip  Phy-ID`, the
 * second die's Power `-`; each die has its own Health and HBM; the process table is keyed by NPU and chip.
 * Device (physical id) = 2 × NPU + chip.
 */
function a3InfoTable(node: SimNode): string {
  const lines = tableHead(node, 'Chip  Phy-ID');
  // An a3-server fault set on a running A2-sized node prints the full A3 layout over the node's 8 devices.
  const cards = a3Cards(node);
  const st = (phy: number) => phy % node.npuCount;
  for (let card = 0; card < cards; card++) {
    for (let die = 0; die < 2; die++) {
      const phy = card * 2 + die;
      const busy = node.npuProcesses(st(phy)).length > 0;
      const power = die === 0 ? (150 + card + (busy ? 60 : 0)).toFixed(1) : '-';
      lines.push(
        row(`${String(card).padEnd(6)}${node.a3 ? node.npuName : 'Ascend910'}`, node.npuHealth(st(phy)), `${power.padEnd(12)}${String(32 + die + (busy ? 8 : 0)).padEnd(18)}${ratio(0, 0)}`),
        row(`${String(die).padEnd(6)}${phy}`, a3BusId(phy), `${'0'.padEnd(12)}${ratio(0, 0).padEnd(18)}${ratio(node.hbmUsedMb(st(phy)), node.hbmTotalMb())}`),
        die === 0 ? BORDER : DOUBLE,
      );
    }
  }
  lines.push(CELLS, '| NPU     Chip              | Process id    | Process name             | Process memory(MB)      |', DOUBLE);
  for (let card = 0; card < cards; card++) {
    const rows: string[] = [];
    for (let die = 0; die < 2; die++) {
      if (!node.a3) continue;
      for (const p of node.npuProcesses(card * 2 + die)) {
        rows.push(`|${` ${String(card).padEnd(8)}${die}`.padEnd(27)}|${` ${p.pid}`.padEnd(15)}|${` ${p.name.slice(0, 15)}`.padEnd(26)}|${` ${p.memoryMb}`.padEnd(25)}|`);
      }
    }
    lines.push(...(rows.length > 0 ? rows : [`| ${`No running processes found in NPU ${card}`.padEnd(95)}|`]), DOUBLE);
  }
  return `${lines.join('\n')}\n`;
}

/** An A3 node, or an A2-sized node given the a3-server fault while running (it then prints the A3 layout). */
function isA3(node: SimNode): boolean {
  return node.a3 || node.faultsOf('a3-server').length > 0;
}

/** NPUs (cards) of an A3 node: two dies each (8 for the a3-server fault on an A2-sized node). */
function a3Cards(node: SimNode): number {
  return node.a3 ? Math.ceil(node.npuCount / 2) : 8;
}

/** Bus ids of the VA-3002 capture's order (NPU 0: 9D/9F, NPU 1: 99/9B, …), continued downwards. */
function a3BusId(phy: number): string {
  const card = Math.floor(phy / 2);
  const bus = 0x9d - card * 4 + (phy % 2) * 2;
  return `0000:${(bus & 0xff).toString(16).toUpperCase().padStart(2, '0')}:00.0`;
}

/** `npu-smi info -m` (§6; the RECONSTRUCTED A3 fixture): NPU ID, Chip ID, Logic ID, Phy-ID, name, with an Mcu row per NPU. */
function a3MappingText(node: SimNode): string {
  const cell = (x: string | number) => String(x).padEnd(31);
  const out = [`\t${cell('NPU ID')}${cell('Chip ID')}${cell('Chip Logic ID')}${cell('Chip Phy-ID')}${'Chip Name'.padEnd(30)}`];
  for (let card = 0; card < a3Cards(node); card++) {
    for (let die = 0; die < 2; die++) out.push(`\t${cell(card)}${cell(die)}${cell(card * 2 + die)}${cell(card * 2 + die)}${node.npuName}`);
    out.push(`\t${cell(card)}${cell(2)}${cell('-')}${cell('-')}${'Mcu'.padEnd(30)}`);
  }
  return `${out.join('\n')}\n`;
}

/**
 * `npu-smi info -t spod-info -i N -c C` on a standalone A3: no super-pod server id configured (Server
 * Index 1023 = 0x3FF, HCOMM's INVALID_SUPERPOD_SERVERID; atlas-a3.md §a.4, §h item 1).
 */
function spodInfoText(node: SimNode, card: number, chip: number): string {
  const serverIndex = node.faultsOf('a3-super-pod').length > 0 ? node.index : 1023;
  const phy = card * 2 + chip;
  const sdid = ((serverIndex & 0x3ff) << 22) | (phy << 16);
  return kv([['SDID', sdid >>> 0], ['Super Pod Size', serverIndex === 1023 ? 0 : 384], ['Super Pod ID', serverIndex === 1023 ? 0 : 1], ['Server Index', serverIndex]]);
}

function busId(npu: number): string {
  const bus = BUS[npu] ?? (0x10 + npu).toString(16).toUpperCase();
  return `0000:${bus}:00.0`;
}

/** `key : value` lines: a TAB, the key padded to 31 characters (§4.3). */
function kv(pairs: [string, string | number][]): string {
  return pairs.map(([k, v]) => `\t${k.padEnd(31)}: ${v}`).join('\n') + '\n';
}

function boardText(node: SimNode, npu: number): string {
  return kv([
    ['NPU ID', npu], ['Product Name', 'IT21HMDC_Bin5'], ['Model', 'NA'], ['Manufacturer', 'Huawei'],
    ['Serial Number', `1025C90${String(48791 + node.index * 16 + npu).padStart(5, '0')}`],
    ['Software Version', node.driverVersion()], ['Firmware Version', FIRMWARE_VERSION], ['Compatibility', 'OK'],
    ['Board ID', '0x60'], ['PCB ID', 'A'], ['BOM ID', '1'], ['PCIe Bus Info', busId(npu)], ['Slot ID', npu],
    ['Class ID', 'NA'], ['PCI Vendor ID', '0x19E5'], ['PCI Device ID', '0xD802'], ['Subsystem Vendor ID', '0x19E5'],
    ['Subsystem Device ID', '0x3003'], ['Chip Count', 1],
  ]);
}

function chipText(node: SimNode, npu: number): string {
  return kv([
    ['NPU ID', npu], ['Chip ID', 0], ['Chip Type', 'Ascend'], ['Chip Name', node.npuName], ['Chip Version', 'V1'],
    ['Board ID', '0x60'], ['PCB ID', 'A'], ['BOM ID', '1'], ['PCIe Bus Info', busId(npu)],
    ['Firmware Version', FIRMWARE_VERSION],
  ]);
}

function healthText(node: SimNode, npu: number): string {
  const h = node.npuHealth(npu);
  const err = h === 'OK' ? { code: 'NA', info: 'NA' } : (HEALTH_ERRORS[h] ?? { code: 'NA', info: 'NA' });
  return kv([['Health Status', h], ['Error Code', err.code], ['Error Information', err.info]]);
}

function listText(node: SimNode): string {
  const a3 = isA3(node);
  const cards = a3 ? a3Cards(node) : node.npuCount;
  const groups = [kv([['Total Count', cards]])];
  for (let npu = 0; npu < cards; npu++) groups.push(kv([['NPU ID', npu], ['Chip Count', a3 ? 2 : 1]]));
  return groups.join('\n');
}

/** `-t board -i N` on an A3 (the RECONSTRUCTED fixture's fields: Board ID 0xb3, Main Board ID 0x14, 0xD803). */
function a3BoardText(node: SimNode, card: number): string {
  return kv([
    ['NPU ID', card], ['Product Name', 'Atlas 800I A3'], ['Model', 'NA'], ['Manufacturer', 'Huawei'],
    ['Serial Number', `2102315${String(70000 + node.index * 16 + card).padStart(5, '0')}`],
    ['Software Version', node.driverVersion()], ['Firmware Version', FIRMWARE_VERSION], ['Compatibility', 'OK'],
    ['Board ID', '0xb3'], ['Main Board ID', '0x14'], ['PCB ID', 'A'], ['BOM ID', '1'], ['PCIe Bus Info', a3BusId(card * 2)],
    ['Slot ID', card], ['Class ID', 'NA'], ['PCI Vendor ID', '0x19E5'], ['PCI Device ID', '0xD803'],
    ['Subsystem Vendor ID', '0x19E5'], ['Subsystem Device ID', '0x3005'], ['Chip Count', 2],
  ]);
}

/** `-t board -i N -c C` on an A3: NPU Name and the die's Chip ID (§4.3). */
function a3ChipText(node: SimNode, card: number, chip: number): string {
  return kv([
    ['NPU ID', card], ['NPU Name', '9392'], ['Chip ID', chip], ['Chip Name', node.npuName], ['Chip Version', 'V1'],
    ['Board ID', '0xb3'], ['PCB ID', 'NA'], ['BOM ID', '1'], ['Chip Position ID', chip],
    ['PCIe Bus Info', a3BusId(card * 2 + chip)], ['Firmware Version', FIRMWARE_VERSION],
  ]);
}
