/**
 * Command options read through their specs (src/command-specs.ts, src/commands/options.ts): the spec's
 * default when a flag is absent, numbers for int and duration flags, lists for repeatable ones, and
 * an exit-2 error naming the flag for a bad value — the first bad one in the help's order.
 */
import { describe, expect, it } from 'vitest';
import * as specs from '../../../src/command-specs.js';
import { readOptions } from '../../../src/commands/options.js';
import { InputError } from '../../../src/errors.js';

function inputError(work: () => unknown): InputError {
  try {
    work();
  } catch (err) {
    if (err instanceof InputError) return err;
    throw err;
  }
  throw new Error('expected an InputError');
}

describe('readOptions', () => {
  it('applies the spec\'s defaults when nothing is given', () => {
    expect(readOptions(specs.deploy, {})).toEqual({
      inventory: undefined, dryRun: undefined, skipPreflight: undefined, keepOnFailure: undefined, imageArchive: undefined,
      timeout: 60 * 60_000, json: undefined, parallel: 32,
    });
    const pf = readOptions(specs.preflight, {});
    expect([pf.ping, pf.busyTimeout, pf.callTimeout, pf.parallel]).toEqual(['auto', 30_000, undefined, 32]);
    const b = readOptions(specs.bench, {});
    expect([b.concurrency, b.requests, b.maxTokens]).toEqual([4, 16, 128]);
    expect(readOptions(specs.chat, {}).timeout).toBe(10 * 60_000);
    expect(readOptions(specs.logs, {}).order).toBe('time');
    expect(readOptions(specs.demo, {}).nodes).toBe(2);
  });

  it('converts what commander hands over: ints, durations, repeated flags, switches', () => {
    const o = readOptions(specs.preflight, { parallel: '8', callTimeout: '1m30s', busyTimeout: '5s', node: ['node1', 'node[2-3]'], fix: true, ping: 'full', inventory: 'inv.yaml' });
    expect(o).toEqual({ inventory: 'inv.yaml', fix: true, json: undefined, node: ['node1', 'node[2-3]'], ping: 'full', callTimeout: 90_000, busyTimeout: 5_000, parallel: 8 });
    expect(readOptions(specs.logs, { node: 'node2', tail: '0' })).toMatchObject({ node: ['node2'], tail: '0' });
  });

  it('a bad value exits 2 naming the flag; the first bad flag in the help\'s order is the one reported', () => {
    const e = inputError(() => readOptions(specs.bench, { requests: 'many', concurrency: '0' }));
    expect(e.exitCode).toBe(2);
    expect(e.message).toBe('--concurrency 0: expected a whole number ≥ 1');
    expect(inputError(() => readOptions(specs.demo, { nodes: '1' })).message).toBe('--nodes 1: expected a whole number ≥ 2');
    expect(inputError(() => readOptions(specs.deploy, { timeout: 'soon' })).message).toMatch(/^--timeout: expected a duration .*, got "soon"$/);
    expect(inputError(() => readOptions(specs.preflight, { ping: 'half' })).message).toBe('--ping half: expected one of auto, full');
  });
});

describe('command specs', () => {
  it('completion reads the same commands and flags the parser is built from', () => {
    const spec = specs.commandSpecs();
    expect(spec.map((s) => s.name)).toEqual(['preflight', 'deploy', 'render', 'status', 'logs', 'chat', 'bench', 'stop', 'demo', 'completion']);
    const logs = spec.find((s) => s.name === 'logs')!;
    expect(logs.options.find((o) => o.flags.includes('--follow'))).toEqual({
      flags: ['-f', '--follow'], description: 'follow until Ctrl-C; survives dropped SSH connections', takesValue: false, valueName: '', choices: undefined,
    });
    expect(logs.options.find((o) => o.flags.includes('--order'))).toMatchObject({ takesValue: true, valueName: 'order', choices: ['time', 'arrival'] });
    expect(spec.find((s) => s.name === 'completion')!.argument).toEqual({ name: 'shell', choices: ['bash', 'zsh'] });
  });
});
