/**
 * The simulated `npu-smi` (ascend-tools.md §4, §6), in the forms ascendctl sends (src/ascend/npu-smi.ts):
 * `info` in the 98-column A2 or A3 layout with the process table, `info -m` and
 * `info -t spod-info -i N -c C` (A3), and `-v`. Any other form gets the tool's usage error. Health
 * comes from npu-health faults; processes and HBM use come from the container runtime through
 * SimNode's hooks.
 */
import type { SimNode } from './ascend-node.js';
import { delay, latencyMs, type LatencyKey } from './latency.js';
import type { SimProgram } from './types.js';

const BORDER = `+${'-'.repeat(96)}+`;
const CELLS = `+${'-'.repeat(27)}+${'-'.repeat(15)}+${'-'.repeat(52)}+`;
const DOUBLE = `+${'='.repeat(27)}+${'='.repeat(15)}+${'='.repeat(52)}+`;
const USAGE = 'Usage: npu-smi info <watch|proc|-h|-m|-l|-t type> [Options...]';
const BAD_CARD = 'Invalid card id.\nError parameter of -i\n';
const BAD_CHIP = 'Invalid chip id.\nError parameter of -c\n';

/** Bus ids of an 8-NPU Atlas 800T A2, in NPU order (vllm-ascend#3114). */
const BUS = ['C1', 'C2', '81', '82', '01', '02', '41', '42'];
const POWER = [99.3, 101.8, 91.0, 99.4, 94.8, 100.8, 99.8, 92.0];
const TEMP = [41, 38, 37, 39, 44, 42, 43, 45];

export function createNpuSmi(node: SimNode): SimProgram {
  return async (argv, io) => {
    /** Print `text` after the call's latency; exit 143 when the caller went away first. */
    const answer = async (key: LatencyKey, text: string): Promise<number> => {
      if (!(await delay(latencyMs(node.profile, key), io.signal))) return 143;
      await io.stdout(text);
      return 0;
    };
    const usageError = async (text: string): Promise<number> => {
      await io.stdout(`${text}${USAGE}\n`);
      return 1;
    };
    const [first, ...rest] = argv;
    if (first === '-v' && rest.length === 0) return answer('npusmi.version', `npu-smi version: ${node.driverVersion()}\n`);
    if (first !== 'info') return usageError('');
    if (rest.length === 0) return answer('npusmi.info', infoTable(node));
    const opts = parseOpts(rest);
    if (!opts) return usageError('');
    const a3 = isA3(node);
    if (opts.m && a3) return answer('npusmi.list', a3MappingText(node));
    if (opts.t === undefined) return usageError('');
    // The real tool checks the card, then the chip (an A2 card has chip 0 only), then the type.
    const card = Number(opts.i);
    if (!/^\d+$/.test(opts.i ?? '') || card >= cardCount(node)) return usageError(BAD_CARD);
    if (opts.c !== undefined && !(a3 ? ['0', '1'] : ['0']).includes(opts.c)) return usageError(BAD_CHIP);
    if (opts.t !== 'spod-info' || !a3) return usageError('Invalid type.\nError parameter of -t\n');
    if (opts.c === undefined) return usageError(BAD_CHIP);
    return answer('npusmi.spod', spodInfoText(node, card, Number(opts.c)));
  };
}

function parseOpts(args: string[]): { t?: string; i?: string; c?: string; m?: boolean } | undefined {
  const out: { t?: string; i?: string; c?: string; m?: boolean } = {};
  for (let k = 0; k < args.length; k++) {
    const a = args[k];
    if (a === '-m') out.m = true;
    else if (a === '-t' || a === '-i' || a === '-c') {
      const v = args[++k];
      if (v === undefined) return undefined;
      out[a.slice(1) as 't' | 'i' | 'c'] = v;
    } else return undefined;
  }
  return out;
}

/** An A3 node, or an A2-sized node given the a3-server fault while running (it then prints the A3 layout). */
function isA3(node: SimNode): boolean {
  return node.a3 || node.faultsOf('a3-server').length > 0;
}

/** NPUs (cards): one die each on an A2; two on an A3 (8 for the a3-server fault on an A2-sized node). */
function cardCount(node: SimNode): number {
  if (!isA3(node)) return node.npuCount;
  return node.a3 ? Math.ceil(node.npuCount / 2) : 8;
}

/** `used / total` as npu-smi pads it: a 5-digit value loses the space before `/` (§4.2). */
function ratio(used: number, total: number): string {
  return `${String(used).padEnd(5)}/ ${total}`;
}

/** A table row: each cell ` text`, padded to its width (the device rows: 27, 15, 52), between bars. */
function row(texts: (string | number)[], widths = [27, 15, 52]): string {
  return `|${texts.map((text, k) => ` ${text}`.padEnd(widths[k] ?? 0)).join('|')}|`;
}

/**
 * `npu-smi info`. A2: a row pair per NPU. A3 (§4.2, §6; the VA-3002 capture): a row pair per die,
 * `Chip  Phy-ID`, the second die's Power `-`, each die its own Health and HBM; device (physical id) =
 * 2 × NPU + chip. The process table is keyed by NPU and chip in both.
 */
function infoTable(node: SimNode): string {
  const a3 = isA3(node);
  const dies = a3 ? 2 : 1;
  const v = node.driverVersion();
  const chipHead = (a3 ? 'Chip  Phy-ID' : 'Chip').padEnd(26);
  const lines = [
    BORDER,
    `|${` npu-smi ${v}`.padEnd(34)}${`Version: ${v}`.padEnd(62)}|`,
    CELLS,
    '| NPU   Name                | Health        | Power(W)    Temp(C)           Hugepages-Usage(page)|',
    `| ${chipHead}| Bus-Id        | AICore(%)   Memory-Usage(MB)  HBM-Usage(MB)        |`,
    DOUBLE,
  ];
  // An a3-server fault set on a running A2-sized node prints the full A3 layout over the node's 8 devices.
  const device = (phy: number): number => phy % node.npuCount;
  for (let card = 0; card < cardCount(node); card++) {
    for (let die = 0; die < dies; die++) {
      const phy = card * dies + die;
      const busy = node.npuProcesses(device(phy)).length > 0;
      const power = a3 ? (die === 0 ? (150 + card + (busy ? 60 : 0)).toFixed(1) : '-')
        : ((POWER[card % POWER.length] ?? 95) + (busy ? 60 : 0)).toFixed(1);
      const temp = (a3 ? 32 + die : (TEMP[card % TEMP.length] ?? 40)) + (busy ? 8 : 0);
      const name = a3 && !node.a3 ? 'Ascend910' : node.npuName;
      const hbm = ratio(node.hbmUsedMb(device(phy)), node.hbmTotalMb());
      const chip = a3 ? `${String(die).padEnd(6)}${phy}` : '0';
      const sensors = `${power.padEnd(12)}${String(temp).padEnd(18)}0    / 0`;
      lines.push(
        row([`${String(card).padEnd(6)}${name}`, node.npuHealth(device(phy)), sensors]),
        row([chip, busId(phy, a3), `${'0'.padEnd(12)}${'0    / 0'.padEnd(18)}${hbm}`]),
        die === dies - 1 ? DOUBLE : BORDER,
      );
    }
  }
  lines.push(CELLS, '| NPU     Chip              | Process id    | Process name             | Process memory(MB)      |', DOUBLE);
  for (let card = 0; card < cardCount(node); card++) {
    const rows: string[] = [];
    for (let die = 0; die < dies && (!a3 || node.a3); die++) {
      for (const p of node.npuProcesses(card * dies + die)) {
        rows.push(row([`${String(card).padEnd(8)}${die}`, p.pid, p.name.slice(0, 15), p.memoryMb], [27, 15, 26, 25]));
      }
    }
    lines.push(...(rows.length > 0 ? rows : [row([`No running processes found in NPU ${card}`], [96])]), DOUBLE);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * PCIe bus id of a device. A2: the 8-NPU order above. A3: the VA-3002 capture's order (NPU 0: 9D/9F,
 * NPU 1: 99/9B, …), continued downwards.
 */
function busId(phy: number, a3: boolean): string {
  if (!a3) return `0000:${BUS[phy] ?? (0x10 + phy).toString(16).toUpperCase()}:00.0`;
  const bus = 0x9d - Math.floor(phy / 2) * 4 + (phy % 2) * 2;
  return `0000:${(bus & 0xff).toString(16).toUpperCase().padStart(2, '0')}:00.0`;
}

/** `key : value` lines: a TAB, the key padded to 31 characters (§4.3). */
function kv(pairs: [string, string | number][]): string {
  return pairs.map(([k, v]) => `\t${k.padEnd(31)}: ${v}`).join('\n') + '\n';
}

/** `npu-smi info -m` (§6; the RECONSTRUCTED A3 fixture): NPU ID, Chip ID, Logic ID, Phy-ID, name, with an Mcu row per NPU. */
function a3MappingText(node: SimNode): string {
  const cell = (x: string | number) => String(x).padEnd(31);
  const out = [`\t${cell('NPU ID')}${cell('Chip ID')}${cell('Chip Logic ID')}${cell('Chip Phy-ID')}${'Chip Name'.padEnd(30)}`];
  for (let card = 0; card < cardCount(node); card++) {
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
  const sdid = ((serverIndex & 0x3ff) << 22) | ((card * 2 + chip) << 16);
  const none = serverIndex === 1023;
  return kv([
    ['SDID', sdid >>> 0], ['Super Pod Size', none ? 0 : 384], ['Super Pod ID', none ? 0 : 1],
    ['Server Index', serverIndex],
  ]);
}
