/**
 * What the simulated docker/podman CLI reads from its argv: each subcommand's flags (exactly the spellings
 * ascendctl, the tests and the bench send — `--flag value`, `--flag=value`, `-f value`; any other flag is
 * refused with pflag's `unknown flag` text), `-v`, `--env-file`, `logs --since`, and the Go templates passed
 * to `--format` (`{{.A.B}}` of a scalar and `{{json .A}}`; any other action is refused as a template error).
 */

/** A subcommand's flags: spelling → [canonical name, takes a value]. */
export type FlagSpec = Record<string, [name: string, takesValue: boolean]>;

export interface ParsedFlags {
  /** Every value given per canonical name, in order (`'true'` for a boolean). */
  values: Map<string, string[]>;
  rest: string[];
}

export class FlagError extends Error {}

export class TemplateError extends Error {}

/** Parse `argv` against `spec`; with `stopAtFirstArg` the first non-flag word ends the options (`run IMAGE …`). */
export function parseFlags(argv: readonly string[], spec: FlagSpec, stopAtFirstArg = false): ParsedFlags {
  const values = new Map<string, string[]>();
  const rest: string[] = [];
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('-') || a === '-') {
      if (stopAtFirstArg) break;
      rest.push(a);
      continue;
    }
    const eq = a.startsWith('--') ? a.indexOf('=') : -1;
    const key = eq >= 0 ? a.slice(0, eq) : a;
    const flag = spec[key];
    if (!flag) {
      throw new FlagError(key.startsWith('--') ? `unknown flag: ${key}` : `unknown shorthand flag: '${a[1]}' in ${a}`);
    }
    const [name, takesValue] = flag;
    const value = eq >= 0 ? a.slice(eq + 1) : takesValue ? argv[++i] : 'true';
    if (value === undefined) throw new FlagError(`flag needs an argument: ${key}`);
    values.set(name, [...(values.get(name) ?? []), value]);
  }
  return { values, rest: [...rest, ...argv.slice(i)] };
}

export function lastValue(p: ParsedFlags, name: string): string | undefined {
  return p.values.get(name)?.at(-1);
}

export function allValues(p: ParsedFlags, name: string): string[] {
  return p.values.get(name) ?? [];
}

export function hasFlag(p: ParsedFlags, name: string): boolean {
  const v = lastValue(p, name);
  return v !== undefined && v !== 'false';
}

/** `--format`: `-f` and `--format`, the one flag of `version`, `inspect` and `image inspect`. */
export const FORMAT_FLAGS: FlagSpec = { '--format': ['format', true], '-f': ['format', true] };

/** `docker run`: the flags of the rendered run (src/mindie's `renderContainerRun`), `-e` and `--net host`. */
export const RUN_FLAGS: FlagSpec = {
  '-d': ['detach', false], '--name': ['name', true], '--label': ['label', true], '--net': ['network', true],
  '--ipc': ['ipc', true], '--privileged': ['privileged', false], '-u': ['user', true], '--shm-size': ['shm-size', true],
  '--device': ['device', true], '-v': ['volume', true], '--env-file': ['env-file', true], '-e': ['env', true],
};

export interface Mount {
  source: string;
  target: string;
  readOnly: boolean;
}

/** `-v SRC:DST[:ro]`: bind mounts only (named volumes are refused). */
export function parseVolume(spec: string): Mount {
  const parts = spec.split(':');
  const [source, target, opts] = parts;
  if (source === undefined || target === undefined || parts.length > 3 || !source.startsWith('/')) {
    throw new FlagError(`invalid volume specification: '${spec}'`);
  }
  if (!target.startsWith('/')) {
    throw new FlagError(`invalid volume specification: '${spec}': invalid mount config for type "bind": invalid mount path: '${target}' mount path must be absolute`);
  }
  return { source, target, readOnly: (opts ?? '').split(',').includes('ro') };
}

/** `--env-file` lines: KEY=VALUE taken literally (no quotes, no expansion), `#` comments, bare KEY from the caller's env. */
export function parseEnvFile(text: string, callerEnv: Record<string, string>): [string, string][] {
  const out: [string, string][] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '').replace(/^\s+/, '');
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq < 0) {
      const v = callerEnv[line.trimEnd()];
      if (v !== undefined) out.push([line.trimEnd(), v]);
      continue;
    }
    const key = line.slice(0, eq);
    if (/\s/.test(key)) throw new FlagError(`variable '${key}' contains whitespaces`);
    out.push([key, line.slice(eq + 1)]);
  }
  return out;
}

/** `logs --since`: a Go duration relative to now (`600s`, `1500ms`, `10m`, `1h`), unix seconds or RFC 3339. */
export function parseSince(text: string, now: number): number | undefined {
  const unit: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const duration = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text);
  if (duration) return now - Number(duration[1]) * unit[duration[2]!]!;
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  if (!/^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(text)) return undefined;
  const t = Date.parse(text);
  return Number.isNaN(t) ? undefined : t;
}

function lookup(root: unknown, path: string): unknown {
  let cur = root;
  for (const key of path.split('.').filter((k) => k !== '')) {
    if (cur === null || typeof cur !== 'object' || !(key in cur)) {
      throw new TemplateError(`template: :1:2: executing "" at <${path}>: can't evaluate field ${key}`);
    }
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

/** Render a `--format` template against one object; `\t` and `\n` written literally become tab and newline. */
export function renderTemplate(format: string, root: unknown): string {
  const body = format.replace(/\\t/g, '\t').replace(/\\n/g, '\n');
  return body.replace(/\{\{-?\s*(.*?)\s*-?\}\}/g, (_all, action: string) => {
    const m = /^(json\s+)?(\.[\w.]*)$/.exec(action);
    const fn = action.split(/\s+/)[0];
    if (!m) throw new TemplateError(`template parsing error: template: :1: function "${fn}" not defined`);
    const v = lookup(root, m[2]!);
    if (m[1]) return JSON.stringify(v) ?? 'null';
    if (v === null || v === undefined) return '<no value>';
    // Go's `%v` of a scalar; maps and slices (`map[…]`, `[…]`) are not among the templates the simulator follows.
    if (typeof v === 'object') throw new TemplateError(`template: :1: {{${action}}} prints a map or slice`);
    return String(v);
  });
}
