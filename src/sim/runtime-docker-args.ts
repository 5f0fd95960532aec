/**
 * docker CLI flag grammar (pflag): `--flag value`, `--flag=value`, `-f value`, `-fvalue`, grouped short
 * booleans (`-dit`), repeated flags, and the first non-flag word ending the options (the image for `run`).
 */

export interface FlagSpec {
  /** Flags that take a value, long names without dashes and short letters. */
  value: Record<string, string>;
  /** Boolean flags; maps aliases to a canonical name. */
  bool: Record<string, string>;
}

export interface ParsedFlags {
  values: Map<string, string[]>;
  bools: Set<string>;
  rest: string[];
}

export class FlagError extends Error {}

export function parseFlags(argv: readonly string[], spec: FlagSpec, stopAtFirstArg: boolean): ParsedFlags {
  const values = new Map<string, string[]>();
  const bools = new Set<string>();
  const rest: string[] = [];
  const add = (name: string, v: string): void => {
    const list = values.get(name) ?? [];
    list.push(v);
    values.set(name, list);
  };
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      i++;
      break;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const key = eq >= 0 ? a.slice(2, eq) : a.slice(2);
      const canonVal = spec.value[key];
      const canonBool = spec.bool[key];
      if (canonVal !== undefined) {
        if (eq >= 0) add(canonVal, a.slice(eq + 1));
        else {
          const v = argv[++i];
          if (v === undefined) throw new FlagError(`flag needs an argument: --${key}`);
          add(canonVal, v);
        }
      } else if (canonBool !== undefined) {
        const v = eq >= 0 ? a.slice(eq + 1) : 'true';
        if (v !== 'false') bools.add(canonBool);
        else bools.delete(canonBool);
      } else {
        throw new FlagError(`unknown flag: --${key}`);
      }
      continue;
    }
    if (a.startsWith('-') && a.length > 1) {
      for (let j = 1; j < a.length; j++) {
        const letter = a[j]!;
        const canonVal = spec.value[letter];
        const canonBool = spec.bool[letter];
        if (canonVal !== undefined) {
          let v = a.slice(j + 1);
          if (v.startsWith('=')) v = v.slice(1);
          if (v === '') {
            const next = argv[++i];
            if (next === undefined) throw new FlagError(`flag needs an argument: '${letter}' in -${letter}`);
            v = next;
          }
          add(canonVal, v);
          break;
        }
        if (canonBool !== undefined) {
          bools.add(canonBool);
          continue;
        }
        throw new FlagError(`unknown shorthand flag: '${letter}' in ${a}`);
      }
      continue;
    }
    if (stopAtFirstArg) break;
    rest.push(a);
  }
  rest.push(...argv.slice(i));
  return { values, bools, rest };
}

export function lastValue(p: ParsedFlags, name: string): string | undefined {
  const list = p.values.get(name);
  return list?.[list.length - 1];
}

export function allValues(p: ParsedFlags, name: string): string[] {
  return p.values.get(name) ?? [];
}

const RUN_VALUE_FLAGS = [
  'name', 'label', 'network', 'ipc', 'user', 'device', 'volume', 'mount', 'env', 'env-file', 'shm-size',
  'restart', 'entrypoint', 'workdir', 'hostname', 'pid', 'cap-add', 'cap-drop', 'security-opt', 'ulimit',
  'publish', 'memory', 'cpus', 'runtime', 'log-driver', 'log-opt', 'add-host', 'dns', 'tmpfs', 'stop-timeout',
  'stop-signal', 'cgroupns', 'uts', 'gpus', 'platform', 'pull', 'label-file', 'group-add', 'memory-swap',
  'cpuset-cpus', 'oom-score-adj', 'device-cgroup-rule', 'sysctl', 'expose', 'health-cmd', 'health-interval',
  'health-timeout', 'health-retries', 'health-start-period', 'volumes-from', 'network-alias', 'ip', 'mac-address',
  'userns', 'cidfile', 'attach',
];

/** `docker run` / `docker create` flags (the subset ascendctl and people use on Ascend hosts). */
export const RUN_FLAGS: FlagSpec = {
  value: {
    ...Object.fromEntries(RUN_VALUE_FLAGS.map((f) => [f, f])),
    net: 'network', l: 'label', u: 'user', v: 'volume', e: 'env', w: 'workdir', h: 'hostname',
    p: 'publish', m: 'memory', a: 'attach',
  },
  bool: {
    detach: 'detach', d: 'detach', rm: 'rm', privileged: 'privileged', interactive: 'interactive', i: 'interactive',
    tty: 'tty', t: 'tty', init: 'init', 'read-only': 'read-only', 'publish-all': 'publish-all', P: 'publish-all',
    'no-healthcheck': 'no-healthcheck', 'oom-kill-disable': 'oom-kill-disable', quiet: 'quiet', q: 'quiet',
  },
};

export interface Mount {
  source: string;
  target: string;
  readOnly: boolean;
}

/** `-v SRC:DST[:ro]` or `--mount type=bind,source=…,target=…,readonly`. Named volumes are refused. */
export function parseVolume(spec: string): Mount {
  const parts = spec.split(':');
  const [source, target, opts] = parts;
  if (source === undefined || target === undefined || parts.length > 3 || !source.startsWith('/')) {
    throw new FlagError(`invalid volume specification: '${spec}'`);
  }
  if (!target.startsWith('/')) {
    throw new FlagError(`invalid volume specification: '${spec}': invalid mount config for type "bind": invalid mount path: '${target}' mount path must be absolute`);
  }
  const flags = (opts ?? '').split(',');
  return { source, target, readOnly: flags.includes('ro') };
}

export function parseMountFlag(spec: string): Mount {
  const kv = new Map<string, string>();
  for (const field of spec.split(',')) {
    const eq = field.indexOf('=');
    if (eq < 0) kv.set(field, 'true');
    else kv.set(field.slice(0, eq), field.slice(eq + 1));
  }
  const type = kv.get('type') ?? 'volume';
  const source = kv.get('source') ?? kv.get('src');
  const target = kv.get('target') ?? kv.get('destination') ?? kv.get('dst');
  if (type !== 'bind' || source === undefined || target === undefined) {
    throw new FlagError(`invalid argument "${spec}" for "--mount" flag: only bind mounts with source and target are simulated`);
  }
  const ro = kv.get('readonly') ?? kv.get('ro');
  return { source, target, readOnly: ro !== undefined && ro !== 'false' && ro !== '0' };
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

/** Go duration (`1h30m`, `10m`, `90s`, `500ms`) in milliseconds, or undefined. */
export function parseGoDuration(text: string): number | undefined {
  if (!/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(text)) return undefined;
  const unit: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  for (const m of text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) {
    total += Number(m[1]) * unit[m[2]!]!;
  }
  return total;
}

/** `docker logs --since/--until`: a duration relative to now, an RFC 3339 time, or unix seconds. */
export function parseSince(text: string, now: number): number | undefined {
  const dur = parseGoDuration(text);
  if (dur !== undefined) return now - dur;
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  if (/^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(text)) {
    const t = Date.parse(text);
    return Number.isNaN(t) ? undefined : t;
  }
  return undefined;
}
