/**
 * The `docker logs` side of `ascendctl logs`: the timestamp docker puts before each line with `-t`,
 * and `--since` as the user writes it (the argv is src/runtime/runtime.ts's). ascendctl always asks for
 * `-t`, whether or not the user shows timestamps, because the timestamp is what a resumed follow starts
 * from after a dropped connection.
 */
import { isAscii } from 'node:buffer';
import { InputError } from '../errors.js';
import { tryParseDuration, DURATION_EXPECTED } from '../config/duration.js';
import { suspectLines } from '../mindie/known-failures.js';

const RFC3339 = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

/**
 * `--since` as docker understands it: a duration is sent as a relative Go duration (`600s`), so it is
 * measured against the node's own clock rather than ours; an RFC 3339 time is sent unchanged.
 */
export function sinceArg(input: string): string {
  const text = input.trim();
  const ms = tryParseDuration(text);
  if (ms !== undefined) return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
  if (RFC3339.test(text) && realDate(text) && parseTimestamp(text) !== undefined) return text;
  throw new InputError(`--since ${input}: expected ${DURATION_EXPECTED}, or an RFC 3339 time such as 2026-01-02T15:04:05Z`, {
    hint: 'write it like --since 10m or --since 2026-01-02T15:04:05Z',
  });
}

/** A date and time that exist (Date.parse takes 2026-02-30 as 2 March): month, day of month, clock, offset. */
function realDate(text: string): boolean {
  const [y, mo, d, h, mi, s] = text.slice(0, 19).split(/[-T:]/).map(Number) as [number, number, number, number, number, number];
  const offset = /([+-])(\d{2}):(\d{2})$/.exec(text);
  const days = new Date(Date.UTC(y, mo, 0)).getUTCDate();
  return mo >= 1 && mo <= 12 && d >= 1 && d <= days && h <= 23 && mi <= 59 && s <= 59
    && (!offset || (Number(offset[2]) <= 23 && Number(offset[3]) <= 59));
}

/** Nanoseconds since the epoch of an RFC 3339 time, or undefined. Comparable across offsets. */
export function parseTimestamp(text: string): bigint | undefined {
  const m = RFC3339.exec(text);
  if (!m || m[1] === undefined || m[3] === undefined) return undefined;
  const wholeMs = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(wholeMs)) return undefined;
  const frac = (m[2] ?? '.').slice(1).padEnd(9, '0');
  return BigInt(wholeMs) * 1_000_000n + BigInt(frac);
}

export interface TimedLine {
  /** docker's timestamp as it printed it (RFC 3339, nanoseconds); undefined when the line had none. */
  time: string | undefined;
  /** Comparable form of `time`. */
  ns: bigint | undefined;
  /** The daemon's line, unchanged. */
  text: string;
}

/**
 * A line as readLines returns it: a place in its batch, which all of the batch's lines share as one
 * binary string (one character per byte, latin1), so offsets are byte offsets and nothing is decoded per
 * line on the way to the terminal. The merge compares `sec` then `nano` (two small integers, no BigInt);
 * the printer writes `raw` back out as latin1, which gives back the node's bytes unchanged; only the
 * lines the known-failure screen marked `suspect` are classified. `time`, `text` and `ns` are made on
 * first use, for `--json`, `--grep`, `-t` and the follow path's resume.
 */
export class StampedLine implements TimedLine {
  /** The batch's bytes as a binary string. */
  readonly batch: string;
  /** Where the line starts in the batch, where its timestamp ends, where the daemon's line starts and ends. */
  readonly start: number;
  readonly stampEnd: number;
  readonly textStart: number;
  readonly end: number;
  /** Whole seconds since the epoch of `time` (NaN when the line has none). */
  readonly sec: number;
  /** Nanoseconds within that second, 0 … 999,999,999. */
  readonly nano: number;
  /** The known-failure screen matched this line (or a span starting on it): classify it. */
  readonly suspect: boolean;
  /** The batch is all ASCII: its binary string is its text. */
  readonly ascii: boolean;
  #text: string | undefined;
  #ns: bigint | undefined;

  constructor(batch: string, ascii: boolean, start: number, stampEnd: number, textStart: number, end: number, sec: number, nano: number, suspect: boolean) {
    this.batch = batch;
    this.ascii = ascii;
    this.start = start;
    this.stampEnd = stampEnd;
    this.textStart = textStart;
    this.end = end;
    this.sec = sec;
    this.nano = nano;
    this.suspect = suspect;
  }

  get stamped(): boolean {
    return this.sec === this.sec;
  }

  /** The daemon's line as bytes in a binary string: written as latin1, it is the line as the node sent it. */
  get raw(): string {
    return this.batch.slice(this.textStart, this.end);
  }

  get text(): string {
    return (this.#text ??= this.ascii ? this.raw : Buffer.from(this.raw, 'latin1').toString('utf8'));
  }

  get time(): string | undefined {
    // The grammar readStamp accepts is ASCII.
    return this.stamped ? this.batch.slice(this.start, this.stampEnd) : undefined;
  }

  get ns(): bigint | undefined {
    if (!this.stamped) return undefined;
    return (this.#ns ??= BigInt(this.sec) * 1_000_000_000n + BigInt(this.nano));
  }
}

const CR = 13;

/**
 * The lines of `input` (complete lines joined by newlines, as LineFramer.push hands them over), each
 * split into its timestamp and the daemon's line (`2026-01-02T03:04:05.123456789Z text`); a carriage
 * return before a newline is part of the line ending. The batch becomes one binary string (a copy of
 * its bytes, where decoding UTF-8 would cost ten times as much), read in place: the stamps, and the
 * known-failure screen in one scan of the batch (suspectLines), which marks the few lines worth
 * classifying.
 */
export function readLines(input: Buffer | string): StampedLine[] {
  const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  const batch = bytes.toString('latin1');
  const ascii = isAscii(bytes);
  const suspects = suspectLines(batch);
  let nextSuspect = suspects.length > 0 ? suspects[0]! : -1;
  let s = 0;
  const lines: StampedLine[] = [];
  let start = 0;
  for (let k = 0; ; k++) {
    const nl = batch.indexOf('\n', start);
    let end = nl === -1 ? batch.length : nl;
    if (end > start && batch.charCodeAt(end - 1) === CR) end--;
    const suspect = k === nextSuspect;
    if (suspect) nextSuspect = ++s < suspects.length ? suspects[s]! : -1;
    const stampEnd = readStamp(batch, start, end);
    lines.push(stampEnd === -1
      ? new StampedLine(batch, ascii, start, start, start, end, Number.NaN, 0, suspect)
      : new StampedLine(batch, ascii, start, stampEnd, stampEnd === end ? end : stampEnd + 1, end, stampSec, stampNano, suspect));
    if (nl === -1) return lines;
    start = nl + 1;
  }
}

// readStamp's answer (module state instead of an object per line: it runs for every line read).
let stampSec = 0;
let stampNano = 0;
/** The last `YYYY-MM-DDTHH:MM:SS` + zone seen and its epoch seconds: consecutive lines share the second. */
let cachedWhole = '';
let cachedZone = '';
let cachedSec = 0;

const ZERO = 48;
const isDigit = (c: number): boolean => c >= ZERO && c <= ZERO + 9;

/**
 * The same grammar as RFC3339 above at the start of the line `text[start, end)`, followed by a space or
 * the end of the line, read without a regular expression or a BigInt: whole seconds (Date.parse, once
 * per distinct second and zone; a line that starts with the last second seen skips even the check of
 * its digits) and the fraction padded to nine digits. Sets stampSec/stampNano and returns where the
 * timestamp ends, or -1 when the line has none.
 */
function readStamp(text: string, start: number, end: number): number {
  if (end - start < 20) return -1;
  const sameSecond = cachedWhole !== '' && text.startsWith(cachedWhole, start);
  // YYYY-MM-DDTHH:MM:SS
  for (let k = 0; k < 19 && !sameSecond; k++) {
    const c = text.charCodeAt(start + k);
    const ok = k === 4 || k === 7 ? c === 45 : k === 10 ? c === 84 : k === 13 || k === 16 ? c === 58 : isDigit(c);
    if (!ok) return -1;
  }
  let i = start + 19;
  let nano = 0;
  if (text.charCodeAt(i) === 46) {
    i++;
    const from = i;
    const last = Math.min(end, from + 9);
    let c = text.charCodeAt(i);
    while (i < last && isDigit(c)) {
      nano = nano * 10 + (c - ZERO);
      c = text.charCodeAt(++i);
    }
    const digits = i - from;
    if (digits === 0) return -1;
    for (let d = digits; d < 9; d++) nano *= 10;
  }
  // Z or ±HH:MM, then a space or the end of the line
  const sign = i < end ? text.charCodeAt(i) : -1;
  let stampEnd: number;
  if (sign === 90) {
    stampEnd = i + 1;
  } else if (sign === 43 || sign === 45) {
    stampEnd = i + 6;
    if (stampEnd > end || !isDigit(text.charCodeAt(i + 1)) || !isDigit(text.charCodeAt(i + 2)) ||
      text.charCodeAt(i + 3) !== 58 || !isDigit(text.charCodeAt(i + 4)) || !isDigit(text.charCodeAt(i + 5))) return -1;
  } else {
    return -1;
  }
  if (stampEnd < end && text.charCodeAt(stampEnd) !== 32) return -1;
  if (!sameSecond || cachedZone.length !== stampEnd - i || !text.startsWith(cachedZone, i)) {
    const whole = text.slice(start, start + 19);
    const zone = text.slice(i, stampEnd);
    const ms = Date.parse(`${whole}${zone}`);
    if (Number.isNaN(ms)) return -1;
    cachedWhole = whole;
    cachedZone = zone;
    cachedSec = ms / 1000;
  }
  stampSec = cachedSec;
  stampNano = nano;
  return stampEnd;
}
