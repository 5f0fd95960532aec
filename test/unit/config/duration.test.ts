import { describe, expect, it } from 'vitest';
import { parseDuration, tryParseDuration } from '../../../src/config/duration.js';
import { InputError } from '../../../src/errors.js';

describe('tryParseDuration', () => {
  it.each([
    ['10s', 10_000],
    ['500ms', 500],
    ['2m', 120_000],
    ['1h', 3_600_000],
    ['1d', 86_400_000],
    ['1m30s', 90_000],
    ['1.5s', 1500],
    ['10', 10_000],
    [' 3s ', 3000],
    ['0s', 0],
  ] as const)('%s → %d ms', (text, ms) => {
    expect(tryParseDuration(text)).toBe(ms);
  });

  it('reads a YAML number as seconds', () => {
    expect(tryParseDuration(10)).toBe(10_000);
    expect(tryParseDuration(0.25)).toBe(250);
  });

  it.each(['', 'soon', '10x', 's', '5 s', '-1s', '1s2', 'ms10', '1e3'])('rejects %j', (text) => {
    expect(tryParseDuration(text)).toBeUndefined();
  });

  it('rejects negative and non-finite numbers', () => {
    expect(tryParseDuration(-1)).toBeUndefined();
    expect(tryParseDuration(Number.NaN)).toBeUndefined();
    expect(tryParseDuration(Number.POSITIVE_INFINITY)).toBeUndefined();
  });
});

describe('parseDuration', () => {
  it('returns milliseconds', () => {
    expect(parseDuration('2m', '--since')).toBe(120_000);
  });

  it('throws an InputError (exit 2) naming the flag', () => {
    let caught: unknown;
    try {
      parseDuration('yesterday', '--since');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(InputError);
    const err = caught as InputError;
    expect(err.exitCode).toBe(2);
    expect(err.message).toBe('--since: expected a duration such as 500ms, 10s, 2m, 1h (or a number of seconds), got "yesterday"');
    expect(err.hint).toBeTruthy();
  });
});
