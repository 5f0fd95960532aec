/**
 * A command's options as it reads them (src/command-specs.ts): the values commander parsed — or an
 * in-process caller's, such as the demo's steps and the tests — with the spec's defaults applied and
 * `int`/`duration` values converted. Values are checked in the spec's order: the first bad one exits 2,
 * naming the flag.
 */
import type { CommandDef, FlagDef, OptionsOf } from '../command-specs.js';
import { parseDuration } from '../config/duration.js';
import { InputError } from '../errors.js';
import { intFlag } from './load.js';

export function readOptions<C extends CommandDef>(def: C, given: Record<string, unknown>): OptionsOf<C> {
  const out: Record<string, unknown> = {};
  for (const [key, flag] of Object.entries(def.options)) out[key] = optionValue(flag, given[key] ?? flag.default);
  return out as OptionsOf<C>;
}

function optionValue(flag: FlagDef, value: unknown): unknown {
  if (value === undefined) return undefined;
  const name = flagName(flag);
  if (flag.kind === 'int') return intFlag(value, name, flag.min);
  if (flag.kind === 'duration') return parseDuration(String(value), name);
  if (flag.repeatable) return Array.isArray(value) ? value.map(String) : [String(value)];
  if (flag.choices) {
    const text = String(value);
    if (!flag.choices.includes(text)) {
      throw new InputError(`${name} ${text}: expected one of ${flag.choices.join(', ')}`, { hint: `write it like ${name} ${flag.choices[0] ?? ''}` });
    }
    return text;
  }
  return /[<[]/.test(flag.flags) ? String(value) : Boolean(value);
}

/** `--call-timeout` of `--call-timeout <duration>`, `--follow` of `-f, --follow`. */
function flagName(flag: FlagDef): string {
  return flag.flags.split(/[ ,]+/).find((w) => w.startsWith('--')) ?? flag.flags;
}
