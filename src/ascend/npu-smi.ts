/**
 * npu-smi: argv builders and parsers for `npu-smi info` and its key/value forms (ascend-tools.md §4, §6).
 * Pure. The summary table is parsed by splitting rows on `|` and whitespace, never by column offsets:
 * widths differ between 910A (93), A2 (98) and driver 26.0.rc1 (116), and 5-digit values eat the
 * padding before `/` (`59499/ 65536`).
 */
import { isBlank, lines, parsed, unexpected, type ParseResult } from './parse-result.js';

/** §1.3: `npu-smi info`, `-t ...`, `-v` go through DCMI to every device and can stall. */
export const NPU_SMI_TIMEOUT_MS = 30_000;

function idArg(n: number, what: string): string {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`npu-smi ${what} must be a non-negative integer, got ${String(n)}`);
  return String(n);
}

export function npuSmiInfo(tool: string): string[] {
  return [tool, 'info'];
}

/** `npu-smi info -m`: the NPU/chip ↔ logic id (A3: and physical id) mapping (§4.3, §6). */
export function npuSmiMapping(tool: string): string[] {
  return [tool, 'info', '-m'];
}

/** `npu-smi info -t spod-info -i N -c C` (A3): the super-pod ids of the server (§6). */
export function npuSmiSpodInfo(tool: string, npu: number, chip: number): string[] {
  return [tool, 'info', '-t', 'spod-info', '-i', idArg(npu, 'card id'), '-c', idArg(chip, 'chip id')];
}

// ---------------------------------------------------------------------------------------------------
// Errors (§4.1)

const ERROR_LINE = /Invalid card id\.|Error parameter of -i|dcmi module initialize failed/i;

/**
 * The first error line npu-smi printed, on either stream, or undefined. These texts mean failure
 * whatever the exit status (the stream and exit status are not established).
 */
export function npuSmiErrorText(stdout: string, stderr = ''): string | undefined {
  for (const l of [...lines(stderr), ...lines(stdout)]) {
    if (ERROR_LINE.test(l)) return l.trim();
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------
// `npu-smi info` (§4.2)

export interface UsedTotal {
  used: number;
  total: number;
}

export interface NpuSmiChip {
  chip: number;
  /** A3 only: the die's physical id, which is what `hccn_tool -i` takes there (§6). */
  phyId?: number;
  /** The Health of the row 1 printed just above this chip row: on A3 each die has its own. */
  health?: string;
  busId: string;
  aicore: number;
  /** Separate DDR; `0 / 0` on 910B. */
  memory: UsedTotal;
  hbm: UsedTotal;
}

export interface NpuSmiNpu {
  id: number;
  name: string;
  /** `OK`, `Warning`, `Alarm`, `Critical`, `UNKNOWN` per the npu-smi docs; kept as printed. */
  health: string;
  /** null when printed as `-` or `NA` (A3 second die). */
  powerW: number | null;
  tempC?: number;
  hugepages: UsedTotal;
  chips: NpuSmiChip[];
}

export interface NpuSmiProcess {
  npu: number;
  chip: number;
  pid: number;
  /** May be empty (another PID namespace) or truncated to 15 characters. */
  name: string;
  memoryMb: number;
  /** 26.0.rc1 wide layout only; absent when the cell reads `NA`. */
  containerPid?: number;
}

export type NpuSmiLayout = 'a2' | 'narrow-910a' | 'wide-26' | 'a3';

export interface NpuSmiInfo {
  /** Driver (HDK) package version from the title row. */
  version?: string;
  npus: NpuSmiNpu[];
  /** null when the capture has no process table (some captures stop after the chip table). */
  processes: NpuSmiProcess[] | null;
  /** NPUs listed as `No running processes found in NPU n`. */
  idleNpus: number[];
  layout: NpuSmiLayout;
  /** A `...` line replaced rows (published captures only). */
  elided: boolean;
  /** `|` rows that matched no known row shape; empty on every known capture. */
  unparsed: string[];
}

const TITLE = /^\|\s*npu-smi\s+(\S+)\s+Version:\s+(\S+)\s*\|$/;
const BUS_ID = /^[0-9A-Fa-fx]{4}:[0-9A-Fa-fx]{2}:[0-9A-Fa-fx]{2}\.[0-9x]$/;
const FRACTION = /^(\d+)\/(\d+)$/;

function cellsOf(line: string): string[] {
  const inner = line.replace(/^\|/, '').replace(/\|$/, '');
  return inner.split('|').map((c) => c.trim());
}

/** Glue `59499/ 65536`, `3378 / 65536` and `0        / 0` into `a/b` tokens, then split. */
function tokensOf(cell: string): string[] {
  return cell
    .replace(/\s*\/\s*/g, '/')
    .split(/\s+/)
    .filter((t) => t !== '');
}

function fraction(token: string | undefined): UsedTotal | undefined {
  const m = FRACTION.exec(token ?? '');
  return m ? { used: Number(m[1]), total: Number(m[2]) } : undefined;
}

function numberOrNull(token: string | undefined): number | null {
  if (token === undefined || !/^-?\d+(?:\.\d+)?$/.test(token)) return null;
  return Number(token);
}

export function parseNpuSmiInfo(text: string): ParseResult<NpuSmiInfo> {
  const err = npuSmiErrorText(text);
  if (err !== undefined) return { ok: false, error: err };
  if (isBlank(text)) return unexpected(text);

  const info: NpuSmiInfo = { npus: [], processes: null, idleNpus: [], layout: 'a2', elided: false, unparsed: [] };
  let inProcesses = false;
  let current: NpuSmiNpu | undefined;
  let firstCellWidth: number | undefined;
  let width = 0;
  let a3 = false;
  let wide = false;
  let narrow = false;
  let memoryInBytes = false;
  /** The Health cell of the last row 1: an A3 prints one per die (§6), given to the chip row below it. */
  let rowHealth: string | undefined;

  for (const line of lines(text)) {
    const t = line.trim();
    if (t === '') continue;
    if (/^\.{3,}$/.test(t)) {
      info.elided = true;
      continue;
    }
    if (t.startsWith('+')) {
      width = Math.max(width, t.length);
      const segs = t.split('+');
      if (firstCellWidth === undefined && segs.length >= 4) firstCellWidth = segs[1]?.length;
      continue;
    }
    if (!t.startsWith('|')) {
      info.unparsed.push(t);
      continue;
    }
    const title = TITLE.exec(t);
    if (title) {
      info.version = title[2];
      continue;
    }
    const idle = /^\|\s*No running processes found in NPU (\d+)\s*\|?$/.exec(t);
    if (idle) {
      info.processes ??= [];
      info.idleNpus.push(Number(idle[1]));
      continue;
    }
    const cells = cellsOf(t);
    const c0 = cells[0] ?? '';
    if (/^NPU\s+Chip$/.test(c0) && cells.some((c) => /^Process id$/.test(c))) {
      inProcesses = true;
      info.processes ??= [];
      if (cells.length >= 5 || cells.some((c) => /Process id in container/.test(c))) wide = true;
      if (cells.some((c) => /Process memory\(B\)/.test(c))) memoryInBytes = true;
      continue;
    }
    if (/^NPU\s+Name$/.test(c0)) continue;
    if (/^Chip(\s+Phy-ID)?$/.test(c0) && cells[1] === 'Bus-Id') {
      if (/Phy-ID/.test(c0)) a3 = true;
      continue;
    }

    if (inProcesses) {
      const proc = processRow(cells, memoryInBytes);
      if (proc) info.processes?.push(proc);
      else info.unparsed.push(t);
      continue;
    }

    // Row 1 and an A3 row 2 (`Chip Phy-ID`) both read `<digits> <token>`: a Bus-Id in the second cell
    // is what makes a row 2, so a name of digits only (plain `910`) still reads as a name.
    const row1 = /^(\d+)\s+(\S+)$/.exec(c0);
    const t2 = tokensOf(cells[2] ?? '');
    if (row1 && !BUS_ID.test(cells[1] ?? '') && cells.length >= 3 && t2.length === 3 && fraction(t2[2])) {
      const id = Number(row1[1]);
      const existing = info.npus.find((n) => n.id === id);
      rowHealth = cells[1] ?? '';
      if (existing) {
        // A3 prints a row 1 per die; the second die repeats the card with Power `-` (§6).
        current = existing;
        continue;
      }
      const npu: NpuSmiNpu = {
        id,
        name: row1[2] ?? '',
        health: cells[1] ?? '',
        powerW: numberOrNull(t2[0]),
        hugepages: fraction(t2[2]) ?? { used: 0, total: 0 },
        chips: [],
      };
      const temp = numberOrNull(t2[1]);
      if (temp !== null) npu.tempC = temp;
      info.npus.push(npu);
      current = npu;
      continue;
    }
    const row2 = /^(\d+)(?:\s+(\d+))?$/.exec(c0);
    const memory = fraction(t2[1]);
    const hbm = fraction(t2[2]);
    if (row2 && current && BUS_ID.test(cells[1] ?? '') && t2.length === 3 && memory && hbm && /^\d+$/.test(t2[0] ?? '')) {
      const chip: NpuSmiChip = { chip: Number(row2[1]), busId: cells[1] ?? '', aicore: Number(t2[0]), memory, hbm };
      if (rowHealth !== undefined && row2[2] !== undefined) chip.health = rowHealth;
      if (row2[2] !== undefined) {
        chip.phyId = Number(row2[2]);
        a3 = true;
      }
      current.chips.push(chip);
      continue;
    }
    info.unparsed.push(t);
  }

  if (info.npus.length === 0 && info.version === undefined) return unexpected(text);
  if (info.npus.some((n) => n.chips.length > 1)) a3 = true;
  if (width >= 110) wide = true;
  if (firstCellWidth !== undefined && firstCellWidth < 27) narrow = true;
  if (memoryInBytes) narrow = true;
  info.layout = a3 ? 'a3' : wide ? 'wide-26' : narrow ? 'narrow-910a' : 'a2';
  return parsed(info);
}

function processRow(cells: string[], memoryInBytes: boolean): NpuSmiProcess | undefined {
  if (cells.length < 4) return undefined;
  const id = /^(\d+)\s+(\d+)$/.exec(cells[0] ?? '');
  const pid = cells[1] ?? '';
  const mem = cells[3] ?? '';
  if (!id || !/^\d+$/.test(pid) || !/^\d+$/.test(mem)) return undefined;
  // The 910A table labels the column `Process memory(B)`; report MB like every other layout.
  const memoryMb = memoryInBytes ? Number(mem) / (1024 * 1024) : Number(mem);
  const proc: NpuSmiProcess = { npu: Number(id[1]), chip: Number(id[2]), pid: Number(pid), name: cells[2] ?? '', memoryMb };
  const inContainer = cells[4];
  if (inContainer !== undefined && /^\d+$/.test(inContainer)) proc.containerPid = Number(inContainer);
  return proc;
}

/**
 * The §4.2 trap: the old Ascend 910 (ProB, PCI id 0xD801) can be named plain `910B`. It has a separate
 * ~15 GB DDR (Memory-Usage) and 32 GB HBM, where an A2 910B shows `0 / 0` DDR.
 */
export function isLegacy910Npu(npu: NpuSmiNpu): boolean {
  if (npu.name.toUpperCase() !== '910B') return false;
  return npu.chips.some(
    (c) => c.memory.total >= 12_000 && c.memory.total <= 20_000 && c.hbm.total >= 30_000 && c.hbm.total <= 34_000,
  );
}

export function isLegacy910(info: NpuSmiInfo): boolean {
  return info.npus.some(isLegacy910Npu);
}

/** A2 chips are all named 910B… (910B, 910B1–910B4, 910B2C; §4.2). */
export function isA2ChipName(name: string): boolean {
  return /^910B/i.test(name.trim());
}

/**
 * Why an A2-layout table is not an Atlas A2 host (ascendctl targets A2 only, §4.2 and §6), or
 * undefined when every NPU is a 910B: the first NPU with another chip name (910A, 910, 910ProA, 310P3…),
 * else the old 910 that labels itself `910B`. A3 is told apart by its layout, before this.
 */
export function nonA2Reason(info: NpuSmiInfo): string | undefined {
  const other = info.npus.find((n) => !isA2ChipName(n.name));
  if (other) {
    return /^910/i.test(other.name)
      ? `these NPUs are the older Ascend 910 (shown as "${other.name}"), not 910B (A2)`
      : `these NPUs are "${other.name}", not 910B (A2)`;
  }
  if (isLegacy910(info)) return 'these NPUs are the older Ascend 910 (shown as "910B" with 32 GB HBM), not 910B (A2)';
  return undefined;
}

// ---------------------------------------------------------------------------------------------------
// Key/value forms (§4.3)

export interface KeyValue {
  key: string;
  value: string;
}

export interface NpuSmiKeyValues {
  /** Every entry in order; continuation lines are joined to their key's value with `\n`. */
  entries: KeyValue[];
  /** Entries grouped by blank lines (`-l`, `-t usages`); first occurrence of a key wins in a group. */
  groups: Array<Record<string, string>>;
}

/**
 * `key : value` lines with TAB, spaces or no indent. A line whose key part is empty continues the
 * previous entry, even across the blank lines `-t health` puts between them.
 */
export function parseNpuSmiKeyValues(text: string): NpuSmiKeyValues {
  const entries: KeyValue[] = [];
  const groupsOfEntries: KeyValue[][] = [];
  let breakPending = true;
  for (const line of lines(text)) {
    if (line.trim() === '') {
      breakPending = true;
      continue;
    }
    const cont = /^\s*:\s*(.*)$/.exec(line);
    const last = entries[entries.length - 1];
    if (cont) {
      if (last) last.value = last.value === '' ? (cont[1] ?? '') : `${last.value}\n${cont[1] ?? ''}`;
      continue;
    }
    const m = /^\s*(.+?)\s*:\s*(.*)$/.exec(line);
    if (!m) continue;
    const kv: KeyValue = { key: m[1] ?? '', value: m[2] ?? '' };
    entries.push(kv);
    if (breakPending || groupsOfEntries.length === 0) groupsOfEntries.push([]);
    breakPending = false;
    groupsOfEntries[groupsOfEntries.length - 1]?.push(kv);
  }
  const groups = groupsOfEntries.map((g) => {
    const rec: Record<string, string> = {};
    for (const kv of g) if (!(kv.key in rec)) rec[kv.key] = kv.value;
    return rec;
  });
  return { entries, groups };
}

export interface NpuSmiMappingRow {
  npuId: number;
  chipId: number;
  chipLogicId: number;
  /** A3 only: the die's physical id (`Chip Phy-ID`), the device id hccn_tool and the rank table use (§6). */
  chipPhyId?: number;
  chipName: string;
}

/** `npu-smi info -m`; board MCU rows (`-` logic id, name `Mcu`) are skipped. */
export function parseNpuSmiMapping(text: string): ParseResult<NpuSmiMappingRow[]> {
  const rows: NpuSmiMappingRow[] = [];
  let header = false;
  /** A3 prints a `Chip Phy-ID` column before the name (§6); its MCU rows read `-` and are not devices. */
  let phyColumn = false;
  for (const line of lines(text)) {
    if (/NPU ID\s+Chip ID/.test(line)) {
      header = true;
      phyColumn = /Chip Phy-ID/.test(line);
      continue;
    }
    if (phyColumn) {
      const a3 = /^\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(.*?)\s*$/.exec(line);
      if (!a3) continue;
      rows.push({ npuId: Number(a3[1]), chipId: Number(a3[2]), chipLogicId: Number(a3[3]), chipPhyId: Number(a3[4]), chipName: a3[5] ?? '' });
      continue;
    }
    const m = /^\s*(\S+)\s+(\S+)\s+(\S+)\s+(.*?)\s*$/.exec(line);
    if (!m || ![m[1], m[2], m[3]].every((v) => /^\d+$/.test(v ?? ''))) continue;
    rows.push({ npuId: Number(m[1]), chipId: Number(m[2]), chipLogicId: Number(m[3]), chipName: m[4] ?? '' });
  }
  if (!header && rows.length === 0) return unexpected(text);
  return parsed(rows);
}
