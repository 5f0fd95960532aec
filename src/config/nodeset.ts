/**
 * Folded node sets, as ClusterShell and pdsh write them: `node[01-64]`, `gpu[1-3,7]`, `10.0.0.[1-64]`,
 * and comma lists of such patterns (`node[01-03],login1`). No npm package for this is well kept, so this
 * small module parses and folds; what it supports:
 *
 * - inside brackets, a comma list of numbers and inclusive ranges `a-b` (a ≤ b); no steps (`1-9/2`);
 * - zero padding as ClusterShell keeps it: a bound written with a leading zero pads every number to its
 *   width (`[08-10]` → 08 09 10), otherwise numbers are plain (`[8-10]` → 8 9 10);
 * - several bracket groups in one pattern (`r[1-2]n[01-02]` → r1n01 r1n02 r2n01 r2n02: the first group
 *   varies slowest), expanded in the order written, never sorted (the inventory's order is its rank order);
 * - folding only over the last run of digits of a name (`r1n[01-04]`), which is what lists of servers vary.
 */

/** A pattern that does not parse; `offset` is the position in the pattern where it went wrong. */
export class NodeSetError extends Error {
  readonly pattern: string;
  readonly offset: number;
  constructor(pattern: string, offset: number, message: string) {
    super(message);
    this.name = 'NodeSetError';
    this.pattern = pattern;
    this.offset = offset;
  }
}

/** A bound on one pattern's expansion, so that `node[1-99999999]` is refused instead of filling memory. */
export const MAX_NODESET_SIZE = 100_000;

/** The pattern has a bracket group (is a range, not a single name). */
export function isNodeRange(text: string): boolean {
  return text.includes('[') || text.includes(']');
}

function parseGroup(pattern: string, start: number, body: string): string[] {
  if (body.trim() === '') throw new NodeSetError(pattern, start, `empty range "[]" in ${pattern}; expected numbers like [1-4] or [01,03]`);
  const out: string[] = [];
  let offset = start + 1;
  for (const item of body.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(item);
    if (!m) {
      const what = item === '' ? 'an empty item' : `"${item}"`;
      throw new NodeSetError(pattern, offset, `${what} in [${body}] of ${pattern}; expected a number or a range a-b (e.g. [01-64] or [1-3,7])`);
    }
    const lo = m[1]!;
    const hi = m[2];
    const from = Number(lo);
    const to = hi === undefined ? from : Number(hi);
    if (to < from) throw new NodeSetError(pattern, offset, `range ${item} in ${pattern} runs backwards; expected the smaller number first (${hi}-${lo})`);
    if (to - from + 1 > MAX_NODESET_SIZE) throw new NodeSetError(pattern, offset, `range ${item} in ${pattern} has ${to - from + 1} numbers; at most ${MAX_NODESET_SIZE} are allowed`);
    const width = lo.length > 1 && lo.startsWith('0') ? lo.length : 0;
    for (let v = from; v <= to; v++) out.push(width ? String(v).padStart(width, '0') : String(v));
    offset += item.length + 1;
  }
  return out;
}

/**
 * Every name of one pattern (no top-level commas: `gpu[1-3,7]`, `r[1-2]n[1-8]`), in the order written.
 * A pattern without brackets is itself.
 */
export function expandPattern(pattern: string): string[] {
  // Literal pieces and groups, in order: 'r', ['1','2'], 'n', ['01','02'].
  const parts: Array<string | string[]> = [];
  let i = 0;
  let literal = '';
  while (i < pattern.length) {
    const ch = pattern[i]!;
    if (ch === ']') throw new NodeSetError(pattern, i, `"]" without a "[" in ${pattern}`);
    if (ch === ',') throw new NodeSetError(pattern, i, `"," outside brackets in ${pattern}; one pattern names one range (write gpu[1-3,7], not gpu1,gpu2)`);
    if (ch !== '[') {
      literal += ch;
      i++;
      continue;
    }
    const close = pattern.indexOf(']', i + 1);
    const nested = pattern.indexOf('[', i + 1);
    if (close < 0) throw new NodeSetError(pattern, i, `"[" without a closing "]" in ${pattern}`);
    if (nested >= 0 && nested < close) throw new NodeSetError(pattern, nested, `nested "[" in ${pattern}; brackets do not nest`);
    if (literal !== '') parts.push(literal);
    literal = '';
    parts.push(parseGroup(pattern, i, pattern.slice(i + 1, close)));
    i = close + 1;
  }
  if (literal !== '') parts.push(literal);

  let names = [''];
  for (const part of parts) {
    if (typeof part === 'string') {
      names = names.map((n) => n + part);
      continue;
    }
    if (names.length * part.length > MAX_NODESET_SIZE) {
      throw new NodeSetError(pattern, 0, `${pattern} expands to more than ${MAX_NODESET_SIZE} names`);
    }
    names = names.flatMap((n) => part.map((v) => n + v));
  }
  if (names.length === 1 && names[0] === '') throw new NodeSetError(pattern, 0, 'an empty name');
  return names;
}

/** Split a node set at the commas outside brackets: `node[1-3,7],gpu2` → `node[1-3,7]`, `gpu2`. */
export function splitNodeSet(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of text) {
    if (ch === '[') depth++;
    else if (ch === ']') depth = Math.max(0, depth - 1);
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else {
      cur += ch;
    }
  }
  out.push(cur);
  return out;
}

/**
 * A node set as `--node` takes it: comma-separated patterns, each expanded in order; a name already
 * listed is not repeated. Empty items (`a,,b`, a trailing comma) are errors.
 */
export function expandNodeSet(text: string): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  let offset = 0;
  for (const raw of splitNodeSet(text)) {
    // `node[1-2], gpu1` (as reports print lists) reads the same as without the space.
    const item = raw.trim();
    if (item === '') throw new NodeSetError(text, offset, `an empty name in "${text}"; expected names or ranges separated by single commas`);
    let names: string[];
    try {
      names = expandPattern(item);
    } catch (err) {
      if (err instanceof NodeSetError) throw new NodeSetError(text, offset + (raw.length - raw.trimStart().length) + err.offset, err.message);
      throw err;
    }
    for (const n of names) {
      if (!seen.has(n)) {
        seen.add(n);
        out.push(n);
      }
    }
    offset += raw.length + 1;
  }
  return out;
}

interface Numbered {
  digits: string;
  value: number;
}

/** The width a run of numbers starting with `digits` is written at (0: unpadded). */
function padWidth(digits: string): number {
  return digits.length > 1 && digits.startsWith('0') ? digits.length : 0;
}

function foldNumbers(nums: Numbered[]): string {
  // Sorted by value; equal values written differently (7 and 07) stay apart and both are kept.
  const sorted = [...nums].sort((a, b) => a.value - b.value || a.digits.length - b.digits.length);
  const parts: string[] = [];
  let i = 0;
  while (i < sorted.length) {
    const first = sorted[i]!;
    const width = padWidth(first.digits);
    const written = (v: number) => (width ? String(v).padStart(width, '0') : String(v));
    let last = first;
    let j = i + 1;
    // A number joins the run only when the run's own padding writes it exactly as it was written.
    while (j < sorted.length && sorted[j]!.value === last.value + 1 && sorted[j]!.digits === written(sorted[j]!.value)) {
      last = sorted[j]!;
      j++;
    }
    parts.push(last === first ? first.digits : `${first.digits}-${last.digits}`);
    i = j;
  }
  return parts.join(',');
}

/**
 * Fold names into the shortest usual form: `node01 node02 node03 node07` → `node[01-03,07]`. Names are
 * grouped by what surrounds their last run of digits (groups in order of first appearance, numbers
 * sorted within a group); a name that appears twice is folded once; a group of one is written plainly.
 * `expandNodeSet(foldNodeSet(names))` gives back every name.
 */
export function foldNodeSet(names: readonly string[]): string {
  return foldNodeSetParts(names).join(',');
}

/** foldNodeSet's patterns one by one (to join with ", " in prose). */
export function foldNodeSetParts(names: readonly string[]): string[] {
  const groups = new Map<string, { prefix: string; suffix: string; nums: Numbered[]; seen: Set<string> }>();
  const order: Array<string> = [];
  for (const name of names) {
    const m = /^(.*?)(\d+)(\D*)$/.exec(name);
    if (!m) {
      const key = `n\u0000${name}`;
      if (!groups.has(key)) {
        groups.set(key, { prefix: name, suffix: '', nums: [], seen: new Set() });
        order.push(key);
      }
      continue;
    }
    const [, prefix = '', digits = '', suffix = ''] = m;
    const key = `d\u0000${prefix}\u0000${suffix}`;
    let g = groups.get(key);
    if (!g) {
      g = { prefix, suffix, nums: [], seen: new Set() };
      groups.set(key, g);
      order.push(key);
    }
    if (g.seen.has(digits)) continue;
    g.seen.add(digits);
    g.nums.push({ digits, value: Number(digits) });
  }
  return order
    .map((key) => {
      const g = groups.get(key)!;
      if (g.nums.length === 0) return g.prefix;
      if (g.nums.length === 1) return `${g.prefix}${g.nums[0]!.digits}${g.suffix}`;
      return `${g.prefix}[${foldNumbers(g.nums)}]${g.suffix}`;
    });
}
