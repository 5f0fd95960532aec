/**
 * The coreutils of a simulated node's program table, each in exactly the forms something sends to a node
 * (docs/architecture.md): the output frame's `printf`, the wrappers `timeout -k 5 N`, `sudo -n --` /
 * `sudo -S -p '' -k --` and `sh -c LINE`, the reads (`cat`, `date +%s.%N`, `stat -c FMT`, `sha256sum`,
 * `ss -Htln`, `test -d`), the upload (`mkdir -p -m MODE`, `install -m MODE /dev/stdin`, `mv -f`, `rm -rf`),
 * and `echo`, `hostname`, `sleep` of the tests. An option outside these is refused with the real tool's
 * message and status (`cat: invalid option -- 'x'`), never ignored.
 */
import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import type { SimNode } from './ascend-node.js';
import { readAll } from './byte-pipe.js';
import { errorCode } from './fs-error.js';
import { delay } from './latency.js';
import type { SimIo, SimStat } from './types.js';

/** What a command of the table gets besides its arguments (Shell in shell.ts implements it). */
export interface ArgvContext {
  readonly node: SimNode;
  /** An absolute path for `p`, relative ones against the login directory. */
  resolvePath(p: string): string;
  /** Run another argv through the table (`timeout`, `sudo`, `find -exec`). */
  exec(argv: string[], io: SimIo): Promise<number>;
  /** Run a command line of simple commands (`sh -c`), as the login shell does. */
  run(line: string, io: SimIo): Promise<number>;
}

export type Builtin = (sh: ArgvContext, args: string[], io: SimIo) => Promise<number>;

/** Write one line to standard error and return `status`. */
export async function fail(io: SimIo, text: string, status = 1): Promise<number> {
  await io.stderr(`${text}\n`);
  return status;
}

function reason(e: unknown): string {
  switch (errorCode(e)) {
    case 'ENOENT': return 'No such file or directory';
    case 'EISDIR': return 'Is a directory';
    case 'EACCES': return 'Permission denied';
    case 'EEXIST': return 'File exists';
    case 'ENOTDIR': return 'Not a directory';
    default: return e instanceof Error ? e.message : String(e);
  }
}

interface Options {
  opts: Map<string, string>;
  rest: string[];
}

/**
 * getopt(3) over `spec` (`"pm:"`: `-p`, and `-m` with a value), options before the operands; any other
 * option is refused as coreutils refuses it (status `status`), and undefined returned.
 */
async function getopt(name: string, args: string[], spec: string, io: SimIo, status = 1): Promise<Options | undefined> {
  const opts = new Map<string, string>();
  let i = 0;
  for (; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') { i++; break; }
    if (!a.startsWith('-') || a === '-') break;
    const tryHelp = `\nTry '${name} --help' for more information.`;
    if (a.startsWith('--')) return void (await fail(io, `${name}: unrecognized option '${a}'${tryHelp}`, status));
    for (let j = 1; j < a.length; j++) {
      const c = a[j]!;
      const at = c === ':' ? -1 : spec.indexOf(c);
      if (at < 0) return void (await fail(io, `${name}: invalid option -- '${c}'${tryHelp}`, status));
      if (spec[at + 1] !== ':') { opts.set(c, ''); continue; }
      const value = a.slice(j + 1) || args[++i];
      if (value === undefined) return void (await fail(io, `${name}: option requires an argument -- '${c}'${tryHelp}`, status));
      opts.set(c, value);
      break;
    }
  }
  return { opts, rest: args.slice(i) };
}

/** An octal mode (`750`): what ascendctl's `mkdir -m` and `install -m` pass. */
function parseMode(text: string): number | undefined {
  return /^[0-7]{1,4}$/.test(text) ? parseInt(text, 8) : undefined;
}

/** Seconds as coreutils reads them (`15`, `0.5`, `2s`, `1m`, `1h`, `1d`) → ms. */
function parseDuration(text: string): number | undefined {
  const m = /^(\d+(?:\.\d*)?|\.\d+)([smhd]?)$/.exec(text);
  return m ? Number(m[1]) * { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[m[2]!]! * 1000 : undefined;
}

/** dash's printf for `%s`, `%d`, `%%` and `\n`, `\t`, `\\`; the format repeats while arguments remain. */
async function printf(_sh: ArgvContext, args: string[], io: SimIo): Promise<number> {
  const [format, ...rest] = args;
  if (format === undefined) return fail(io, 'sh: 1: printf: usage: printf format [arg ...]', 2);
  const bad = /%([^sd%]|$)/.exec(format.replaceAll('%%', ''));
  if (bad) return fail(io, `sh: 1: printf: ${bad[0]}: invalid directive`, 2);
  const ESC: Record<string, string> = { n: '\n', t: '\t', '\\': '\\' };
  let out = '';
  let k = 0;
  do {
    const startK = k;
    out += format.replace(/\\([nt\\])|%([sd%])/g, (_, esc: string | undefined, conv: string | undefined) => {
      if (esc !== undefined) return ESC[esc]!;
      if (conv === '%') return '%';
      const arg = rest[k++] ?? '';
      return conv === 'd' ? String(Number.parseInt(arg, 10) || 0) : arg;
    });
    if (k === startK) break;
  } while (k < rest.length);
  await io.stdout(out);
  return 0;
}

/** dash's `test`: `-e`/`-f`/`-d` FILE, `S1 = S2`, `S1 != S2`, each optionally negated with `!`. */
async function test(sh: ArgvContext, args: string[], io: SimIo): Promise<number> {
  const negate = args[0] === '!';
  const [a = '', b, c] = negate ? args.slice(1) : args;
  let result: boolean;
  if (b === undefined) result = a !== '';
  else if (c === undefined && /^-[efd]$/.test(a)) {
    const st = await sh.node.fs.stat(sh.resolvePath(b));
    result = st !== undefined && (a === '-e' || (a === '-d' ? st.isDirectory : st.isFile));
  } else if (c !== undefined && (b === '=' || b === '!=') && args.length === (negate ? 4 : 3)) result = (a === c) === (b === '=');
  else return fail(io, `sh: 1: test: ${c === undefined ? a : b}: unexpected operator`, 2);
  return result !== negate ? 0 : 1;
}

/** `timeout [-k KILL] N argv`: 124 when N expired, 137 when the program outlived KILL after that. */
async function timeout(sh: ArgvContext, args: string[], io: SimIo): Promise<number> {
  const o = await getopt('timeout', args, 'k:', io, 125);
  if (!o) return 125;
  const [dur = '', ...cmd] = o.rest;
  const ms = parseDuration(dur);
  const killAfter = o.opts.has('k') ? parseDuration(o.opts.get('k')!) : undefined;
  if (ms === undefined || (o.opts.has('k') && killAfter === undefined)) {
    const bad = ms === undefined ? dur : o.opts.get('k');
    return fail(io, `timeout: invalid time interval '${bad}'\nTry 'timeout --help' for more information.`, 125);
  }
  if (cmd.length === 0) return fail(io, "timeout: missing operand\nTry 'timeout --help' for more information.", 125);
  const inner = new AbortController();
  let expired = false;
  const timer = ms > 0 ? setTimeout(() => { expired = true; inner.abort(); }, ms) : undefined;
  const run = sh.exec(cmd, { ...io, signal: AbortSignal.any([io.signal, inner.signal]) });
  // After expiry the program gets `killAfter` to finish before SIGKILL (status 137).
  const killed = new Promise<number>((resolve) => {
    if (killAfter === undefined) return;
    inner.signal.addEventListener('abort', () => void delay(killAfter).then(() => resolve(137)), { once: true });
  });
  try {
    const status = await Promise.race([run, killed]);
    return status !== 137 && expired ? 124 : status;
  } finally {
    if (timer) clearTimeout(timer);
  }
}

/**
 * The simulated login user may become root: `sudo -n -- argv` and `sudo -S -p '' -k -- argv` run argv,
 * unless a `sudo-denied` fault makes sudo refuse (everything, or one tool) as the real one does.
 */
async function sudo(sh: ArgvContext, args: string[], io: SimIo): Promise<number> {
  const usage = 'usage: sudo [-knS] [-p prompt] [--] command';
  let i = 0;
  for (; i < args.length && args[i]!.startsWith('-'); i++) {
    const a = args[i]!;
    if (a === '--') { i++; break; }
    if (a === '-p') i++;
    else if (!/^-[nkS]+$/.test(a)) return fail(io, `sudo: invalid option -- '${a.replace(/^-[nkS]*/, '')[0]}'\n${usage}`);
  }
  const rest = args.slice(i);
  if (rest.length === 0) return fail(io, usage);
  for (const f of sh.node.faultsOf('sudo-denied')) {
    if (f.command === undefined) return fail(io, 'sudo: a password is required');
    // Through ascendctl's `timeout -k 5 N cmd …` too: sudo sees timeout, the rule is about the tool.
    const tool = (rest[0] === 'timeout' && rest[1] === '-k' ? rest[4] : rest[0]) ?? '';
    if (tool.split('/').pop() === f.command) {
      const user = io.env['USER'] ?? 'root';
      return fail(io, `Sorry, user ${user} is not allowed to execute '${rest.join(' ')}' as root on ${sh.node.name}.`);
    }
  }
  return sh.exec(rest, io);
}

function fileType(st: SimStat): string {
  if (st.isSymlink) return 'symbolic link';
  if (st.isDirectory) return 'directory';
  return st.size === 0 ? 'regular empty file' : 'regular file';
}

/** `stat -c FORMAT FILE…` with lstat semantics, the directives %a %u %U %s %F %n. */
async function stat(sh: ArgvContext, args: string[], io: SimIo): Promise<number> {
  const o = await getopt('stat', args, 'c:', io);
  if (!o) return 1;
  const fmt = o.opts.get('c');
  if (fmt === undefined) return fail(io, 'stat: the simulated node prints -c FORMAT only');
  const bad = /%([^auUsFn%]|$)/.exec(fmt.replaceAll('%%', ''));
  if (bad) return fail(io, `stat: ${bad[0]}: directive not simulated (%a %u %U %s %F %n)`);
  if (o.rest.length === 0) return fail(io, "stat: missing operand\nTry 'stat --help' for more information.");
  let status = 0;
  for (const p of o.rest) {
    const st = await sh.node.fs.stat(sh.resolvePath(p));
    if (!st) {
      status = await fail(io, `stat: cannot statx '${p}': No such file or directory`);
      continue;
    }
    // A simulated node's passwd knows root only; GNU stat prints UNKNOWN for an unnamed uid.
    const fields: Record<string, string> = {
      a: st.mode.toString(8), u: String(st.uid), U: st.uid === 0 ? 'root' : 'UNKNOWN',
      s: String(st.size), F: fileType(st), n: p, '%': '%',
    };
    await io.stdout(`${fmt.replace(/%(.)/g, (_, c: string) => fields[c]!)}\n`);
  }
  return status;
}

/** `install -m MODE SOURCE DEST`: the upload writes /dev/stdin to a temporary name. */
async function install(sh: ArgvContext, args: string[], io: SimIo): Promise<number> {
  const o = await getopt('install', args, 'm:', io);
  if (!o) return 1;
  const mode = parseMode(o.opts.get('m') ?? '755');
  if (mode === undefined) return fail(io, `install: invalid mode '${o.opts.get('m')}'`);
  const [src, dest, extra] = o.rest;
  if (dest === undefined || extra !== undefined) {
    const what = dest === undefined ? `missing destination file operand after '${src ?? ''}'` : `extra operand '${extra}'`;
    return fail(io, `install: ${what}\nTry 'install --help' for more information.`);
  }
  const fs = sh.node.fs;
  let data: Buffer;
  try {
    data = src === '/dev/stdin' ? await readAll(io.stdin) : await fs.readFile(sh.resolvePath(src!));
  } catch (e) {
    return fail(io, `install: cannot stat '${src}': ${reason(e)}`);
  }
  let target = sh.resolvePath(dest);
  if ((await fs.stat(target))?.isDirectory) target = posix.join(target, posix.basename(src!));
  try {
    await fs.rm(target, { force: true });
    await fs.writeFile(target, data, mode);
    await fs.chmod(target, mode);
  } catch (e) {
    return fail(io, `install: cannot create regular file '${dest}': ${reason(e)}`);
  }
  return 0;
}

export const BUILTINS: Record<string, Builtin> = {
  true: async () => 0,
  false: async () => 1,

  echo: async (_sh, args, io) => {
    const newline = args[0] !== '-n';
    const text = (newline ? args : args.slice(1)).join(' ');
    await io.stdout(newline ? `${text}\n` : text);
    return 0;
  },

  printf,
  test,
  timeout,
  sudo,

  /** `sh -c LINE`: the line runs as the login shell's does (shell.ts), nothing more. */
  sh: async (sh, args, io) => {
    const [flag, line] = args;
    if (flag !== '-c') return fail(io, `sh: 0: cannot open ${args.at(-1) ?? ''}: No such file`, 2);
    return line === undefined ? fail(io, 'sh: 0: -c requires an argument', 2) : sh.run(line, io);
  },

  cat: async (sh, args, io) => {
    const o = await getopt('cat', args, '', io);
    if (!o) return 1;
    if (o.rest.length === 0 && io.stdin) for await (const c of io.stdin) await io.stdout(c);
    let status = 0;
    for (const name of o.rest) {
      try {
        await io.stdout(await sh.node.fs.readFile(sh.resolvePath(name)));
      } catch (e) {
        status = await fail(io, `cat: ${name}: ${reason(e)}`);
      }
    }
    return status;
  },

  /** `date +FORMAT` with %s and %N: preflight's clock read (`date +%s.%N`), on the node's own clock. */
  date: async (sh, args, io) => {
    const o = await getopt('date', args, '', io);
    if (!o) return 1;
    const [format, extra] = o.rest;
    if (format === undefined || !format.startsWith('+') || extra !== undefined) {
      return fail(io, format === undefined ? 'date: the simulated node prints date +FORMAT only' : `date: invalid date '${format}'`);
    }
    const bad = /%([^sN%]|$)/.exec(format.replaceAll('%%', ''));
    if (bad) return fail(io, `date: ${bad[0]}: conversion not simulated (%s %N)`);
    const ms = sh.node.now().getTime();
    // Millisecond clock, nanosecond field: the sub-millisecond digits are zeros.
    const fields: Record<string, string> = { s: String(Math.floor(ms / 1000)), N: `${String(ms % 1000).padStart(3, '0')}000000`, '%': '%' };
    await io.stdout(`${format.slice(1).replace(/%(.)/g, (_, c: string) => fields[c]!)}\n`);
    return 0;
  },

  mkdir: async (sh, args, io) => {
    const o = await getopt('mkdir', args, 'pm:', io);
    if (!o) return 1;
    const mode = o.opts.has('m') ? parseMode(o.opts.get('m')!) : undefined;
    if (o.opts.has('m') && mode === undefined) return fail(io, `mkdir: invalid mode '${o.opts.get('m')}'`);
    if (o.rest.length === 0) return fail(io, "mkdir: missing operand\nTry 'mkdir --help' for more information.");
    let status = 0;
    for (const d of o.rest) {
      const path = sh.resolvePath(d);
      try {
        const existed = await sh.node.fs.stat(path);
        await sh.node.fs.mkdir(path, { recursive: o.opts.has('p'), ...(mode !== undefined ? { mode } : {}) });
        if (mode !== undefined && !existed) await sh.node.fs.chmod(path, mode);
      } catch (e) {
        status = await fail(io, `mkdir: cannot create directory '${d}': ${reason(e)}`);
      }
    }
    return status;
  },

  install,

  mv: async (sh, args, io) => {
    const o = await getopt('mv', args, 'f', io);
    if (!o) return 1;
    const [src = '', dest, extra] = o.rest;
    if (dest === undefined) return fail(io, `mv: missing destination file operand after '${src}'`);
    if (extra !== undefined) return fail(io, `mv: target '${o.rest.at(-1)}': the simulated node moves one file`);
    const fs = sh.node.fs;
    const from = sh.resolvePath(src);
    if (!(await fs.stat(from))) return fail(io, `mv: cannot stat '${src}': No such file or directory`);
    let to = sh.resolvePath(dest);
    if ((await fs.stat(to))?.isDirectory) to = posix.join(to, posix.basename(from));
    try {
      await fs.rename(from, to);
    } catch (e) {
      return fail(io, `mv: cannot move '${src}' to '${dest}': ${reason(e)}`);
    }
    return 0;
  },

  rm: async (sh, args, io) => {
    const o = await getopt('rm', args, 'rf', io);
    if (!o) return 1;
    const recursive = o.opts.has('r');
    const force = o.opts.has('f');
    let status = 0;
    for (const p of o.rest) {
      const st = await sh.node.fs.stat(sh.resolvePath(p));
      if (st?.isDirectory && !recursive) status = await fail(io, `rm: cannot remove '${p}': Is a directory`);
      else if (st) await sh.node.fs.rm(sh.resolvePath(p), { recursive, force });
      else if (!force) status = await fail(io, `rm: cannot remove '${p}': No such file or directory`);
    }
    return status;
  },

  stat,

  // Like coreutils: a file that cannot be read is reported and skipped, the others are still hashed.
  sha256sum: async (sh, args, io) => {
    const o = await getopt('sha256sum', args, '', io);
    if (!o) return 1;
    let status = 0;
    for (const file of o.rest) {
      try {
        const data = await sh.node.fs.readFile(sh.resolvePath(file));
        await io.stdout(`${createHash('sha256').update(data).digest('hex')}  ${file}\n`);
      } catch (e) {
        status = await fail(io, `sha256sum: ${file}: ${reason(e)}`);
      }
    }
    return status;
  },

  /** `ss -Htln`: the node's listening TCP sockets (sshd, port-taken faults, servers started on it). */
  ss: async (sh, args, io) => {
    const o = await getopt('ss', args, 'Htln', io, 255);
    if (!o) return 255;
    if (!o.opts.has('l') || o.rest.length > 0) return fail(io, 'ss: the simulated node lists listening sockets only (-l)', 255);
    const out = o.opts.has('H') ? [] : ['State  Recv-Q Send-Q Local Address:Port Peer Address:Port Process'];
    for (const l of sh.node.listeningSockets()) {
      const local = `${l.address.includes(':') ? `[${l.address}]` : l.address}:${l.port}`;
      out.push(`LISTEN 0      4096   ${local.padStart(18)} ${'0.0.0.0:*'.padStart(17)}`);
    }
    if (out.length > 0) await io.stdout(`${out.join('\n')}\n`);
    return 0;
  },

  hostname: async (sh, args, io) => {
    if (args.length > 0) return fail(io, `hostname: invalid option -- '${args[0]!.replace(/^-/, '')[0] ?? ''}'`, 255);
    await io.stdout(`${sh.node.name}\n`);
    return 0;
  },

  sleep: async (_sh, args, io) => {
    const o = await getopt('sleep', args, '', io);
    if (!o) return 1;
    const ms = o.rest.length === 0 ? undefined : parseDuration(o.rest[0]!);
    if (ms === undefined || o.rest.length > 1) {
      const what = o.rest.length === 0 ? 'missing operand' : `invalid time interval '${o.rest.join(' ')}'`;
      return fail(io, `sleep: ${what}\nTry 'sleep --help' for more information.`);
    }
    return (await delay(ms, io.signal)) ? 0 : 143;
  },
};
