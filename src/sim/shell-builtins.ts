/**
 * The coreutils of a simulated node's program table, in the forms sent to a node: the frame's `printf`,
 * the wrappers `timeout -k 5 N`, `sudo -n --` / `sudo -S -p '' -k --`, `sh -c LINE`, the reads (`cat`,
 * `date +%s.%N`, `stat -c FMT`, `sha256sum`, `ss -Htln`, `test -d`), the upload (`mkdir -p -m MODE`,
 * `install -m MODE /dev/stdin`, `mv -f`, `rm -rf`), and the tests' `echo`, `hostname`, `sleep`. Another
 * option is refused with the real tool's message and status (`cat: invalid option -- 'x'`).
 */
import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import type { SimNode } from './ascend-node.js';
import { readAll } from './byte-pipe.js';
import { errorCode } from './fs-error.js';
import { delay, linkedAbort } from './latency.js';
import type { SimIo } from './types.js';

/** What a command of the table gets besides its arguments (Shell in shell.ts implements it). */
export interface ArgvContext {
  readonly node: SimNode;
  /** Run another argv through the table (`timeout`, `sudo`, `find -exec`), or a command line (`sh -c`). */
  exec(argv: string[], io: SimIo): Promise<number>;
  run(line: string, io: SimIo): Promise<number>;
}

export type Builtin = (sh: ArgvContext, args: string[], io: SimIo) => Promise<number>;

/** An absolute path for `p`, a relative one against the login directory. */
export const resolvePath = (p: string): string => posix.resolve('/root', p);

/** A command's refusal to run: the table prints the message on standard error and exits with `status`. */
export class Refusal extends Error {
  constructor(message: string, readonly status = 1) {
    super(message);
  }
}

/** Report an error that does not stop the command (one file of several); resolves with 1. */
export async function fail(io: SimIo, text: string): Promise<number> {
  await io.stderr(`${text}\n`);
  return 1;
}

/** A usage error as coreutils reports it: `tool: text`, then where to read the usage. */
const usage = (tool: string, text: string, status = 1): Refusal =>
  new Refusal(`${tool}: ${text}\nTry '${tool} --help' for more information.`, status);

/** A form the real tool accepts but nothing sends, so the simulated node does not model it: refused loudly. */
export const unmodelled = (tool: string, form: string, status = 1): Refusal =>
  new Refusal(`${tool}: the simulated node runs ${form} only`, status);

const REASONS: Record<string, string> = {
  ENOENT: 'No such file or directory', EISDIR: 'Is a directory', EACCES: 'Permission denied',
  EEXIST: 'File exists', ENOTDIR: 'Not a directory',
};
const reason = (e: unknown): string => REASONS[errorCode(e) ?? ''] ?? (e instanceof Error ? e.message : String(e));

/** getopt(3) over `spec` (`"pm:"`: `-p`, `-m` with a value) before the operands; others refused as coreutils does. */
function getopt(tool: string, args: string[], spec: string, status = 1): { opts: Map<string, string>; rest: string[] } {
  const opts = new Map<string, string>();
  let i = 0;
  for (; i < args.length && /^-./.test(args[i]!); i++) {
    const a = args[i]!;
    if (a === '--') return { opts, rest: args.slice(i + 1) };
    if (a.startsWith('--')) throw usage(tool, `unrecognized option '${a}'`, status);
    for (const c of a.slice(1)) {
      if (c === ':' || !spec.includes(c)) throw usage(tool, `invalid option -- '${c}'`, status);
      const value = spec.includes(`${c}:`) ? args[++i] : '';
      if (value === undefined) throw usage(tool, `option requires an argument -- '${c}'`, status);
      opts.set(c, value);
    }
  }
  return { opts, rest: args.slice(i) };
}

/** Each file read in turn; one that cannot be read is reported (`tool: FILE: reason`), the others still done. */
type EachFile = (data: Buffer, file: string) => Promise<void>;
async function eachFile(sh: ArgvContext, io: SimIo, tool: string, files: string[], each: EachFile): Promise<number> {
  let status = 0;
  for (const file of files) {
    await sh.node.fs.readFile(resolvePath(file)).then((data) => each(data, file), async (e: unknown) => {
      status = await fail(io, `${tool}: ${file}: ${reason(e)}`);
    });
  }
  return status;
}

/** FORMAT with each `%c` taken from `fields`; a directive not among them is refused. */
function expand(tool: string, format: string, fields: Record<string, string>): string {
  return format.replace(/%(.?)/gs, (directive, c: string) => {
    const value = { ...fields, '%': '%' }[c];
    if (value === undefined) throw unmodelled(tool, `%${Object.keys(fields).join(' %')} (not ${directive})`);
    return value;
  });
}

/** An octal mode (`750`): what ascendctl's `mkdir -m` and `install -m` pass. */
const parseMode = (text: string): number | undefined => (/^[0-7]{1,4}$/.test(text) ? parseInt(text, 8) : undefined);

/** Seconds as coreutils reads them (`15`, `0.5`, `2s`, `1m`, `1h`, `1d`) → ms. */
function parseDuration(text: string): number | undefined {
  const m = /^(\d+(?:\.\d*)?|\.\d+)([smhd]?)$/.exec(text);
  return m ? Number(m[1]) * { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[m[2]!]! * 1000 : undefined;
}

/** dash's printf for `%s`, `%d`, `%%` and `\n`, `\t`, `\\`; the format repeats while arguments remain. */
async function printf(_sh: ArgvContext, [format, ...args]: string[], io: SimIo): Promise<number> {
  if (format === undefined) throw new Refusal('sh: 1: printf: usage: printf format [arg ...]', 2);
  const ESC: Record<string, string> = { n: '\n', t: '\t', '\\': '\\' };
  let out = '';
  let k = 0;
  let before: number;
  do {
    before = k;
    out += format.replace(/\\([nt\\])|%(.?)/gs, (directive, esc: string | undefined, conv: string) => {
      if (esc !== undefined || conv === '%') return ESC[esc ?? ''] ?? '%';
      if (conv !== 's' && conv !== 'd') throw new Refusal(`sh: 1: printf: ${directive}: invalid directive`, 2);
      const arg = args[k++] ?? '';
      return conv === 'd' ? String(Number.parseInt(arg, 10) || 0) : arg;
    });
  } while (k > before && k < args.length);
  await io.stdout(out);
  return 0;
}

/** dash's `test`: `-e`/`-f`/`-d` FILE, `S1 = S2`, `S1 != S2`, each optionally negated with `!`. */
async function test(sh: ArgvContext, args: string[]): Promise<number> {
  const negate = args[0] === '!';
  const [a = '', b, c, extra] = negate ? args.slice(1) : args;
  let result = a !== '';
  if (c === undefined && b !== undefined && /^-[efd]$/.test(a)) {
    const st = await sh.node.fs.stat(resolvePath(b));
    result = st !== undefined && (a === '-e' || (a === '-d' ? st.isDirectory : st.isFile));
  } else if (c !== undefined && extra === undefined && (b === '=' || b === '!=')) result = (a === c) === (b === '=');
  else if (b !== undefined) throw new Refusal(`sh: 1: test: ${c === undefined ? a : b}: unexpected operator`, 2);
  return result !== negate ? 0 : 1;
}

/** `timeout [-k KILL] N argv`: 124 when N expired, 137 when the program outlived KILL after that. */
async function timeout(sh: ArgvContext, args: string[], io: SimIo): Promise<number> {
  const { opts, rest: [dur = '', ...cmd] } = getopt('timeout', args, 'k:', 125);
  const ms = parseDuration(dur);
  const killAfter = opts.has('k') ? parseDuration(opts.get('k')!) : undefined;
  if (ms === undefined || (opts.has('k') && killAfter === undefined)) {
    throw usage('timeout', `invalid time interval '${ms === undefined ? dur : opts.get('k')}'`, 125);
  }
  if (cmd.length === 0) throw usage('timeout', 'missing operand', 125);
  // The program stops when the bound expires or its caller goes away.
  const link = linkedAbort([io.signal]);
  const stop = link.controller;
  let expired = false;
  // After expiry the program gets `killAfter` to finish before SIGKILL (status 137).
  let kill: ((status: number) => void) | undefined;
  const killed = new Promise<number>((resolve) => { kill = resolve; });
  const timer = ms > 0 ? setTimeout(() => {
    expired = true;
    stop.abort();
    if (killAfter !== undefined) void delay(killAfter).then(() => kill!(137));
  }, ms) : undefined;
  try {
    const status = await Promise.race([sh.exec(cmd, { ...io, signal: stop.signal }), killed]);
    return status !== 137 && expired ? 124 : status;
  } finally {
    clearTimeout(timer);
    link.release();
  }
}

/** `sudo -n -- argv` and `sudo -S -p '' -k -- argv` run argv as root, unless a `sudo-denied` fault refuses it. */
async function sudo(sh: ArgvContext, args: string[], io: SimIo): Promise<number> {
  const sudoUsage = 'usage: sudo [-knS] [-p prompt] [--] command';
  let i = 0;
  for (; i < args.length && args[i]!.startsWith('-') && args[i - 1] !== '--'; i++) {
    const bad = /^-(?!-$)[nkS]*([^nkS])/.exec(args[i]!);
    if (args[i] === '-p') i++;
    else if (bad) throw new Refusal(`sudo: invalid option -- '${bad[1]}'\n${sudoUsage}`);
  }
  const rest = args.slice(i);
  if (rest.length === 0) throw new Refusal(sudoUsage);
  for (const f of sh.node.faultsOf('sudo-denied')) {
    if (f.command === undefined) throw new Refusal('sudo: a password is required');
    // Through ascendctl's `timeout -k 5 N cmd …` too: sudo sees timeout, the rule is about the tool.
    const tool = (rest[0] === 'timeout' && rest[1] === '-k' ? rest[4] : rest[0]) ?? '';
    if (tool.split('/').pop() === f.command) {
      const what = `execute '${rest.join(' ')}' as root on ${sh.node.name}`;
      throw new Refusal(`Sorry, user ${io.env['USER'] ?? 'root'} is not allowed to ${what}.`);
    }
  }
  return sh.exec(rest, io);
}

/** `stat -c FORMAT FILE…` with lstat semantics. A simulated node's passwd knows root only (%U UNKNOWN). */
async function stat(sh: ArgvContext, args: string[], io: SimIo): Promise<number> {
  const { opts, rest } = getopt('stat', args, 'c:');
  const format = opts.get('c');
  if (format === undefined || rest.length === 0) throw unmodelled('stat', 'stat -c FORMAT FILE…');
  let status = 0;
  for (const p of rest) {
    const st = await sh.node.fs.stat(resolvePath(p));
    if (!st) status = await fail(io, `stat: cannot statx '${p}': No such file or directory`);
    else {
      const user = st.uid === 0 ? 'root' : 'UNKNOWN';
      const file = st.size > 0 ? 'regular file' : 'regular empty file';
      const type = st.isSymlink ? 'symbolic link' : st.isDirectory ? 'directory' : file;
      const kind = st.isSymlink ? 0o120000 : st.isDirectory ? 0o040000 : 0o100000;
      const fields = { a: st.mode.toString(8), f: (kind | (st.mode & 0o7777)).toString(16), u: String(st.uid), U: user, s: String(st.size), F: type, n: p };
      await io.stdout(`${expand('stat', format, fields)}\n`);
    }
  }
  return status;
}

/** `install -m MODE /dev/stdin DEST`: the upload's write to a temporary name. */
async function install(sh: ArgvContext, args: string[], io: SimIo): Promise<number> {
  const { opts, rest: [src, dest, ...extra] } = getopt('install', args, 'm:');
  const mode = parseMode(opts.get('m') ?? '755');
  if (mode === undefined) throw new Refusal(`install: invalid mode '${opts.get('m')}'`);
  if (src !== '/dev/stdin' || dest === undefined || extra.length > 0) {
    throw unmodelled('install', 'install -m MODE /dev/stdin DEST');
  }
  const target = resolvePath(dest);
  try {
    const data = await readAll(io.stdin);
    await sh.node.fs.rm(target, { force: true });
    await sh.node.fs.writeFile(target, data, mode);
    await sh.node.fs.chmod(target, mode);
  } catch (e) {
    throw new Refusal(`install: cannot create regular file '${dest}': ${reason(e)}`);
  }
  return 0;
}

export const BUILTINS: Record<string, Builtin> = {
  true: async () => 0,
  false: async () => 1,

  echo: async (_sh, args, io) => {
    const newline = args[0] !== '-n';
    await io.stdout(`${(newline ? args : args.slice(1)).join(' ')}${newline ? '\n' : ''}`);
    return 0;
  },

  printf,
  test,
  timeout,
  sudo,

  /** `sh -c LINE`: the line runs as the login shell's does (shell.ts), nothing more. */
  sh: async (sh, [flag, line, ...rest], io) => {
    if (flag === undefined) throw unmodelled('sh', 'sh -c LINE', 2);
    if (flag !== '-c') throw new Refusal(`sh: 0: cannot open ${rest.at(-1) ?? line ?? flag}: No such file`, 2);
    if (line === undefined) throw new Refusal('sh: 0: -c requires an argument', 2);
    return sh.run(line, io);
  },

  cat: async (sh, args, io) => {
    const { rest } = getopt('cat', args, '');
    if (rest.length === 0 && io.stdin) for await (const c of io.stdin) await io.stdout(c);
    return eachFile(sh, io, 'cat', rest, (data) => io.stdout(data));
  },

  /** `date +FORMAT` with %s and %N: preflight's clock read (`date +%s.%N`), on the node's own clock. */
  date: async (sh, args, io) => {
    const { rest: [format, ...extra] } = getopt('date', args, '');
    if (!format?.startsWith('+') || extra.length > 0) throw unmodelled('date', 'date +FORMAT');
    const ms = sh.node.now().getTime();
    // Millisecond clock, nanosecond field: the sub-millisecond digits are zeros.
    const fields = { s: String(Math.floor(ms / 1000)), N: `${String(ms % 1000).padStart(3, '0')}000000` };
    await io.stdout(`${expand('date', format.slice(1), fields)}\n`);
    return 0;
  },

  mkdir: async (sh, args, io) => {
    const { opts, rest } = getopt('mkdir', args, 'pm:');
    const mode = opts.has('m') ? parseMode(opts.get('m')!) : undefined;
    if (opts.has('m') && mode === undefined) throw new Refusal(`mkdir: invalid mode '${opts.get('m')}'`);
    if (rest.length === 0) throw usage('mkdir', 'missing operand');
    let status = 0;
    for (const d of rest) {
      const path = resolvePath(d);
      try {
        const existed = await sh.node.fs.stat(path);
        await sh.node.fs.mkdir(path, { recursive: opts.has('p'), ...(mode !== undefined ? { mode } : {}) });
        if (mode !== undefined && !existed) await sh.node.fs.chmod(path, mode);
      } catch (e) {
        status = await fail(io, `mkdir: cannot create directory '${d}': ${reason(e)}`);
      }
    }
    return status;
  },

  install,

  mv: async (sh, args) => {
    const { rest: [src = '', dest, ...extra] } = getopt('mv', args, 'f');
    if (dest === undefined || extra.length > 0) throw unmodelled('mv', 'mv -f SOURCE DEST');
    const from = resolvePath(src);
    if (!(await sh.node.fs.stat(from))) throw new Refusal(`mv: cannot stat '${src}': No such file or directory`);
    const to = resolvePath(dest);
    const into = (await sh.node.fs.stat(to))?.isDirectory ? posix.join(to, posix.basename(from)) : to;
    await sh.node.fs.rename(from, into).catch((e: unknown) => {
      throw new Refusal(`mv: cannot move '${src}' to '${dest}': ${reason(e)}`);
    });
    return 0;
  },

  rm: async (sh, args, io) => {
    const { opts, rest } = getopt('rm', args, 'rf');
    let status = 0;
    for (const p of rest) {
      const st = await sh.node.fs.stat(resolvePath(p));
      if (st?.isDirectory && !opts.has('r')) status = await fail(io, `rm: cannot remove '${p}': Is a directory`);
      else if (st) await sh.node.fs.rm(resolvePath(p), { recursive: opts.has('r'), force: opts.has('f') });
      else if (!opts.has('f')) status = await fail(io, `rm: cannot remove '${p}': No such file or directory`);
    }
    return status;
  },

  stat,

  sha256sum: async (sh, args, io) => eachFile(sh, io, 'sha256sum', getopt('sha256sum', args, '').rest, (data, file) => {
    return io.stdout(`${createHash('sha256').update(data).digest('hex')}  ${file}\n`);
  }),

  /** `ss -Htln`: the node's listening TCP sockets (sshd, port-taken faults, servers started on it). */
  ss: async (sh, args, io) => {
    const { opts, rest } = getopt('ss', args, 'Htln', 255);
    if (!opts.has('l') || !opts.has('H') || rest.length > 0) throw unmodelled('ss', 'ss -Hl (no header)', 255);
    const rows = sh.node.listeningSockets().map((l) => {
      const local = `${l.address.includes(':') ? `[${l.address}]` : l.address}:${l.port}`;
      return `LISTEN 0      4096   ${local.padStart(18)} ${'0.0.0.0:*'.padStart(17)}\n`;
    });
    if (rows.length > 0) await io.stdout(rows.join(''));
    return 0;
  },

  hostname: async (sh, args, io) => {
    if (args.length > 0) throw unmodelled('hostname', 'hostname without arguments', 255);
    await io.stdout(`${sh.node.name}\n`);
    return 0;
  },

  sleep: async (_sh, args, io) => {
    const { rest } = getopt('sleep', args, '');
    const ms = rest.length === 1 ? parseDuration(rest[0]!) : undefined;
    if (ms === undefined) {
      throw usage('sleep', rest.length === 0 ? 'missing operand' : `invalid time interval '${rest.join(' ')}'`);
    }
    return (await delay(ms, io.signal)) ? 0 : 143;
  },
};
