/**
 * Durations as users write them in YAML and flags: `10s`, `500ms`, `2m`, `1h`, `1m30s`, `1.5s`, or a bare
 * number of seconds (`10`, as YAML gives it). The result is always milliseconds.
 */
import { InputError } from '../errors.js';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

const PART_SOURCE = String.raw`(\d+(?:\.\d+)?|\.\d+)(ms|s|m|h|d)`;
const BARE = /^(\d+(?:\.\d+)?|\.\d+)$/;

export const DURATION_EXPECTED = 'a duration such as 500ms, 10s, 2m, 1h (or a number of seconds)';

/** Milliseconds, or undefined when the text is not a duration. Negative values are never durations. */
export function tryParseDuration(input: string | number): number | undefined {
  if (typeof input === 'number') {
    return Number.isFinite(input) && input >= 0 ? Math.round(input * 1000) : undefined;
  }
  const text = input.trim();
  if (text === '') return undefined;
  if (BARE.test(text)) return Math.round(Number(text) * 1000);
  // A sticky regex carries lastIndex: one per call, never shared.
  const part = new RegExp(PART_SOURCE, 'y');
  let total = 0;
  let pos = 0;
  while (pos < text.length) {
    part.lastIndex = pos;
    const m = part.exec(text);
    if (!m || m[1] === undefined || m[2] === undefined) return undefined;
    const unit = UNIT_MS[m[2]];
    if (unit === undefined) return undefined;
    total += Number(m[1]) * unit;
    pos = part.lastIndex;
  }
  return Math.round(total);
}

/**
 * Milliseconds; an InputError (exit 2) naming `what` (a flag or YAML key) when the text is not a
 * duration, so `--since 5x` and `ssh.connectTimeout: soon` fail the same way.
 */
export function parseDuration(input: string | number, what = 'duration'): number {
  const ms = tryParseDuration(input);
  if (ms === undefined) {
    throw new InputError(`${what}: expected ${DURATION_EXPECTED}, got ${JSON.stringify(input)}`, {
      hint: `write it like 10s or 2m`,
    });
  }
  return ms;
}
