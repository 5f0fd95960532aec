/**
 * Ctrl-C (cli.ts interruptHandler): the first stops the command so it can clean up what it started
 * (cli-contract.md: 130 after cleaning up); a second must not cut that short; a third quits at once and
 * says what may be left and how to remove it.
 */
import { describe, expect, it } from 'vitest';
import { interruptHandler } from '../../../src/cli.js';

describe('Ctrl-C', () => {
  it('first aborts, second only explains, third exits 130 naming ascendctl stop', () => {
    const abort = new AbortController();
    const said: string[] = [];
    const exits: number[] = [];
    const press = interruptHandler(abort, (t) => said.push(t), (c) => exits.push(c));
    press();
    expect(abort.signal.aborted).toBe(true);
    expect([said, exits]).toEqual([[], []]);
    press();
    expect(exits).toEqual([]);
    expect(said.join('')).toMatch(/still cleaning up .* press Ctrl-C again to quit at once/);
    press();
    expect(exits).toEqual([130]);
    expect(said[1]).toMatch(/quit without cleaning up: .*ascendctl stop <deployment>/);
  });
});
