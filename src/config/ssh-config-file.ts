/**
 * The user's ~/.ssh/config, applied as OpenSSH applies it (first value wins; Host patterns; Match host/user;
 * IdentityFile accumulates). The ssh-config package does the matching; this file adds what OpenSSH does
 * around it: Include, `%` tokens, `~`, and the value types.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import SSHConfig from 'ssh-config';
import { InputError } from '../errors.js';

export interface SshConfigFile {
  /** Absolute path of the file read; undefined when the user has none. */
  path: string | undefined;
  /** Settings for `host` as written (an alias or an address), keys lower-cased. */
  lookup(host: string, user?: string): SshConfigEntry;
}

/** The directives ascendctl uses, already typed; absent when the config does not set them. */
export interface SshConfigEntry {
  hostname?: string;
  user?: string;
  port?: number;
  identityFiles?: string[];
  knownHostsFile?: string;
  strictHostKeyChecking?: 'yes' | 'accept-new' | 'no';
  /** `[user@]host[:port]`, possibly a comma-separated chain; `none` is dropped. */
  proxyJump?: string;
  connectTimeoutMs?: number;
  /** From IdentityAgent: a socket path, `none` → null (agent disabled). */
  identityAgent?: string | null;
}

export interface LoadSshConfigOptions {
  home: string;
  env: NodeJS.ProcessEnv;
  localUser: string;
  /** Default `<home>/.ssh/config`. */
  file?: string;
}

const MAX_INCLUDE_DEPTH = 16;

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

export function expandTilde(p: string, home: string): string {
  if (p === '~') return home;
  if (p.startsWith('~/')) return path.join(home, p.slice(2));
  return p;
}

interface TokenValues {
  h: string; // remote hostname
  n: string; // host as given
  p: string; // port
  r: string; // remote user
  u: string; // local user
  d: string; // local home
}

/** OpenSSH `%` tokens (ssh_config(5) TOKENS) that are meaningful before a connection exists. */
export function expandTokens(value: string, t: Partial<TokenValues>): string {
  return value.replace(/%([%hnprud])/g, (whole, k: string) => {
    if (k === '%') return '%';
    const v = t[k as keyof TokenValues];
    return v === undefined ? whole : v;
  });
}

/** Include directives spliced in place, as OpenSSH reads them: relative paths are under ~/.ssh. */
function readWithIncludes(file: string, home: string, depth: number): string {
  if (depth > MAX_INCLUDE_DEPTH) {
    throw new InputError(`${file}: Include nests deeper than ${MAX_INCLUDE_DEPTH} levels`, {
      hint: 'remove the Include loop from your ssh config',
    });
  }
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*include(?:\s+|\s*=\s*)(.+?)\s*$/i.exec(line);
    if (!m || m[1] === undefined) {
      out.push(line);
      continue;
    }
    for (const word of m[1].split(/\s+/)) {
      const unquoted = word.replace(/^"(.*)"$/, '$1');
      const expanded = expandTilde(unquoted, home);
      const abs = path.isAbsolute(expanded) ? expanded : path.join(home, '.ssh', expanded);
      for (const f of globOne(abs)) out.push(readWithIncludes(f, home, depth + 1));
    }
  }
  return out.join('\n');
}

/** `*` and `?` in the last path segment only, which covers `Include config.d/*`. */
function globOne(pattern: string): string[] {
  const dir = path.dirname(pattern);
  const base = path.basename(pattern);
  if (!/[*?]/.test(base)) return isFile(pattern) ? [pattern] : [];
  const re = new RegExp(`^${base.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter((n) => re.test(n))
    .sort()
    .map((n) => path.join(dir, n))
    .filter(isFile);
}

function first(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function strictValue(v: string): 'yes' | 'accept-new' | 'no' | undefined {
  switch (v.toLowerCase()) {
    case 'yes':
    case 'ask': // nobody can answer a prompt here: as strict as `yes`
      return 'yes';
    case 'accept-new':
      return 'accept-new';
    case 'no':
    case 'off':
      return 'no';
    default:
      return undefined;
  }
}

export function loadSshConfig(opts: LoadSshConfigOptions): SshConfigFile {
  const file = opts.file ?? path.join(opts.home, '.ssh', 'config');
  if (!isFile(file)) return { path: undefined, lookup: () => ({}) };
  let parsed: SSHConfig;
  try {
    parsed = SSHConfig.parse(readWithIncludes(file, opts.home, 0));
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw new InputError(`${file}: cannot parse: ${err instanceof Error ? err.message : String(err)}`, {
      hint: `fix ${file} (ssh -G <host> shows what OpenSSH makes of it)`,
    });
  }
  const bad = (host: string, directive: string, value: string, expected: string): InputError =>
    new InputError(`${file}: ${directive} ${value} (for host ${host}): expected ${expected}`, {
      hint: `fix ${directive} in ${file}`,
    });

  return {
    path: file,
    lookup(host: string, user?: string): SshConfigEntry {
      // Match exec would run programs while reading a config file: treated as not matching.
      const raw = parsed.compute(user === undefined ? { Host: host } : { Host: host, User: user }, {
        ignoreCase: true,
        matchExec: false,
      });
      const entry: SshConfigEntry = {};
      const hostnameRaw = first(raw['hostname']);
      const tokensBase = { n: host, u: opts.localUser, d: opts.home };
      if (hostnameRaw !== undefined) entry.hostname = expandTokens(hostnameRaw, { ...tokensBase, h: host });
      const userRaw = first(raw['user']);
      if (userRaw !== undefined) entry.user = expandTokens(userRaw, tokensBase);
      const portRaw = first(raw['port']);
      if (portRaw !== undefined) {
        const port = Number(portRaw);
        if (!Number.isInteger(port) || port < 1 || port > 65535) throw bad(host, 'Port', portRaw, 'a port number 1-65535');
        entry.port = port;
      }
      const t: Partial<TokenValues> = {
        ...tokensBase,
        h: entry.hostname ?? host,
        r: entry.user ?? user ?? opts.localUser,
        p: String(entry.port ?? 22),
      };
      const expandPath = (p: string): string => expandTilde(expandTokens(p.replace(/^"(.*)"$/, '$1'), t), opts.home);
      const ids = raw['identityfile'];
      if (ids !== undefined) {
        const list = (Array.isArray(ids) ? ids : [ids]).filter((i) => i.toLowerCase() !== 'none');
        entry.identityFiles = list.map(expandPath);
      }
      const khf = first(raw['userknownhostsfile']);
      if (khf !== undefined) entry.knownHostsFile = expandPath(khf);
      const strictRaw = first(raw['stricthostkeychecking']);
      if (strictRaw !== undefined) {
        const s = strictValue(strictRaw);
        if (s === undefined) throw bad(host, 'StrictHostKeyChecking', strictRaw, 'yes, accept-new, no or ask');
        entry.strictHostKeyChecking = s;
      }
      const pj = first(raw['proxyjump']);
      if (pj !== undefined && pj.toLowerCase() !== 'none') entry.proxyJump = pj;
      const ct = first(raw['connecttimeout']);
      if (ct !== undefined) {
        const secs = Number(ct);
        if (!Number.isFinite(secs) || secs <= 0) throw bad(host, 'ConnectTimeout', ct, 'a number of seconds');
        entry.connectTimeoutMs = Math.round(secs * 1000);
      }
      const agent = first(raw['identityagent']);
      if (agent !== undefined) {
        if (agent.toLowerCase() === 'none') entry.identityAgent = null;
        else if (agent === 'SSH_AUTH_SOCK') entry.identityAgent = opts.env['SSH_AUTH_SOCK'] ?? null;
        else if (agent.startsWith('$')) entry.identityAgent = opts.env[agent.slice(1)] ?? null;
        else entry.identityAgent = expandPath(agent);
      }
      return entry;
    },
  };
}
