/**
 * The commands a simulated node's shell provides itself: the coreutils and shell builtins that
 * ascendctl, its transport (upload = mkdir + install + mv) and the guides' one-liners use.
 */
import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import type { Shell } from './shell.js';
import { lines, readAll } from './byte-pipe.js';
import { errorCode } from './fs-error.js';
import { delay } from './latency.js';
import { NETWORK_BUILTINS } from './shell-network.js';
import type { SimIo, SimStat } from './types.js';
import { findCmd } from './shell-find.js';

export type Builtin = (sh: Shell, args: string[], io: SimIo) => Promise<number>;

/** Thrown by `exit`: unwinds to the enclosing shell. */
export class ShellExit {
  constructor(readonly code: number) {}
}

/** Builtins of the shell itself; the others behave like /usr/bin programs (`command -v` prints a path). */
export const SHELL_BUILTINS = new Set([
  'true', 'false', ':', 'echo', 'printf', 'test', '[', 'cd', 'pwd', 'export', 'unset', 'exit', 'command',
  'kill', 'set', 'exec', 'sh', 'bash', 'type',
]);

const err = async (io: SimIo, text: string): Promise<void> => io.stderr(`${text}\n`);

function reason(e: unknown): string {
  switch (errorCode(e)) {
    case 'ENOENT': return 'No such file or directory';
    case 'EISDIR': return 'Is a directory';
    case 'EACCES': return 'Permission denied';
    case 'EEXIST': return 'File exists';
    case 'ENOTDIR': return 'Not a directory';
    case 'ENOTEMPTY': return 'Directory not empty';
    default: return e instanceof Error ? e.message : String(e);
  }
}

/** Split `-abc` style flags off the front; stops at `--` or the first operand. */
function flags(args: string[], withValue: string[] = []): { set: Set<string>; values: Map<string, string>; rest: string[] } {
  const set = new Set<string>();
  const values = new Map<string, string>();
  let i = 0;
  for (; i < args.length; i++) {
    const a = args[i] ?? '';
    if (a === '--') { i++; break; }
    if (!a.startsWith('-') || a === '-') break;
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      if (eq > 0) values.set(a.slice(2, eq), a.slice(eq + 1));
      else if (withValue.includes(a.slice(2))) values.set(a.slice(2), args[++i] ?? '');
      else set.add(a.slice(2));
      continue;
    }
    for (let j = 1; j < a.length; j++) {
      const f = a[j] ?? '';
      if (withValue.includes(f)) {
        values.set(f, a.slice(j + 1) || (args[++i] ?? ''));
        break;
      }
      set.add(f);
    }
  }
  return { set, values, rest: args.slice(i) };
}

function parseMode(text: string, current = 0): number | undefined {
  if (/^[0-7]{1,4}$/.test(text)) return parseInt(text, 8);
  let mode = current;
  for (const clause of text.split(',')) {
    const m = /^([ugoa]*)([-+=])([rwxX]*)$/.exec(clause);
    if (!m) return undefined;
    const who = m[1] || 'a';
    let bits = 0;
    for (const p of m[3] ?? '') bits |= p === 'r' ? 4 : p === 'w' ? 2 : 1;
    let mask = 0;
    if (who.includes('u') || who.includes('a')) mask |= bits << 6;
    if (who.includes('g') || who.includes('a')) mask |= bits << 3;
    if (who.includes('o') || who.includes('a')) mask |= bits;
    if (m[2] === '+') mode |= mask;
    else if (m[2] === '-') mode &= ~mask;
    else {
      let clear = 0;
      if (who.includes('u') || who.includes('a')) clear |= 0o700;
      if (who.includes('g') || who.includes('a')) clear |= 0o070;
      if (who.includes('o') || who.includes('a')) clear |= 0o007;
      mode = (mode & ~clear) | mask;
    }
  }
  return mode;
}

/** Seconds as coreutils accepts them (`15`, `0.5`, `2s`, `1m`, `1h`, `1d`) → ms. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d+(?:\.\d*)?|\.\d+)([smhd]?)$/.exec(text);
  if (!m) return undefined;
  const mult = { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[m[2] ?? ''] ?? 1;
  return Number(m[1]) * mult * 1000;
}

function escapes(s: string, octalNeedsZero: boolean): { text: string; stop: boolean } {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c !== '\\' || i + 1 >= s.length) { out += c; continue; }
    const n = s[++i] ?? '';
    const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', a: '\x07', b: '\b', f: '\f', v: '\v', e: '\x1b', '\\': '\\' };
    if (n in simple) out += simple[n];
    else if (n === 'c') return { text: out, stop: true };
    else if (n === 'x') {
      const m = /^[0-9a-fA-F]{1,2}/.exec(s.slice(i + 1));
      if (m) { out += String.fromCharCode(parseInt(m[0], 16)); i += m[0].length; } else out += '\\x';
    } else if (/[0-7]/.test(n) && (!octalNeedsZero || n === '0')) {
      const start = octalNeedsZero ? i + 1 : i;
      const m = /^[0-7]{0,3}/.exec(s.slice(start));
      const digits = m?.[0] ?? '';
      out += String.fromCharCode(parseInt(digits || '0', 8) & 0xff);
      i = start + digits.length - 1;
    } else out += `\\${n}`;
  }
  return { text: out, stop: false };
}

function printfFormat(format: string, args: string[]): string {
  let out = '';
  let k = 0;
  do {
    const startK = k;
    for (let i = 0; i < format.length; i++) {
      const c = format[i];
      if (c === '\\') {
        const m = /^\\(?:[0-7]{1,3}|x[0-9a-fA-F]{1,2}|.)/s.exec(format.slice(i));
        const token = m?.[0] ?? '\\';
        out += escapes(token.startsWith('\\0') || /^\\[1-7]/.test(token) ? `\\0${token.slice(1).replace(/^0/, '')}` : token, true).text;
        i += token.length - 1;
        continue;
      }
      if (c !== '%') { out += c; continue; }
      const m = /^%([-+ 0#]*)(\d*)(?:\.(\d+))?([sdibxXoc%])/.exec(format.slice(i));
      if (!m) { out += c; continue; }
      i += m[0].length - 1;
      const [, fl = '', width = '', prec, conv] = m;
      if (conv === '%') { out += '%'; continue; }
      const arg = args[k++] ?? '';
      let s: string;
      if (conv === 's') s = prec !== undefined ? arg.slice(0, Number(prec)) : arg;
      else if (conv === 'b') s = escapes(arg, true).text;
      else if (conv === 'c') s = arg.slice(0, 1);
      else {
        const n = arg === '' ? 0 : Number.parseInt(arg, arg.startsWith('0x') ? 16 : 10) || 0;
        s = conv === 'x' ? n.toString(16) : conv === 'X' ? n.toString(16).toUpperCase() : conv === 'o' ? n.toString(8) : String(n);
      }
      const w = Number(width || '0');
      if (s.length < w) s = fl.includes('-') ? s.padEnd(w) : fl.includes('0') && conv !== 's' ? s.padStart(w, '0') : s.padStart(w);
      out += s;
    }
    if (k === startK) break;
  } while (k < args.length);
  return out;
}

function fileType(st: SimStat): string {
  if (st.isSymlink) return 'symbolic link';
  if (st.isDirectory) return 'directory';
  return st.size === 0 ? 'regular empty file' : 'regular file';
}

function modeString(st: SimStat): string {
  const t = st.isDirectory ? 'd' : st.isSymlink ? 'l' : '-';
  let s = '';
  for (let shift = 6; shift >= 0; shift -= 3) {
    const b = (st.mode >> shift) & 7;
    s += (b & 4 ? 'r' : '-') + (b & 2 ? 'w' : '-') + (b & 1 ? 'x' : '-');
  }
  return t + s;
}

function strftime(d: Date, fmt: string): string {
  const two = (n: number): string => String(n).padStart(2, '0');
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const ms = d.getTime();
  return fmt.replace(/%([sNYmdHMSFTzZabeyj%])/g, (_, c: string) => {
    switch (c) {
      case 's': return String(Math.floor(ms / 1000));
      // Millisecond clock, nanosecond field: the sub-millisecond digits are filled deterministically.
      case 'N': return `${String(((ms % 1000) + 1000) % 1000).padStart(3, '0')}000000`;
      case 'Y': return String(d.getUTCFullYear());
      case 'y': return two(d.getUTCFullYear() % 100);
      case 'm': return two(d.getUTCMonth() + 1);
      case 'd': return two(d.getUTCDate());
      case 'e': return String(d.getUTCDate()).padStart(2, ' ');
      case 'H': return two(d.getUTCHours());
      case 'M': return two(d.getUTCMinutes());
      case 'S': return two(d.getUTCSeconds());
      case 'F': return `${d.getUTCFullYear()}-${two(d.getUTCMonth() + 1)}-${two(d.getUTCDate())}`;
      case 'T': return `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}`;
      case 'z': return '+0000';
      case 'Z': return 'UTC';
      case 'a': return days[d.getUTCDay()] ?? '';
      case 'b': return months[d.getUTCMonth()] ?? '';
      case 'j': return String(Math.floor((ms - Date.UTC(d.getUTCFullYear(), 0, 1)) / 86_400_000) + 1).padStart(3, '0');
      default: return '%';
    }
  });
}

/** A grep pattern as a JS RegExp: BRE (default), ERE (-E) or fixed (-F). */
function grepRegex(pattern: string, mode: 'bre' | 'ere' | 'fixed', ignoreCase: boolean, word: boolean, line: boolean): RegExp {
  let src: string;
  if (mode === 'fixed') src = pattern.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  else if (mode === 'ere') src = pattern;
  else {
    // BRE: `\( \) \{ \} \| \+ \?` are operators, the bare characters are literals.
    src = '';
    for (let i = 0; i < pattern.length; i++) {
      const c = pattern[i] ?? '';
      if (c === '\\' && i + 1 < pattern.length) {
        const n = pattern[++i] ?? '';
        src += '(){}|+?'.includes(n) ? n : `\\${n}`;
      } else src += '(){}|+?'.includes(c) ? `\\${c}` : c;
    }
  }
  if (word) src = `\\b(?:${src})\\b`;
  if (line) src = `^(?:${src})$`;
  return new RegExp(src, ignoreCase ? 'i' : '');
}

async function inputs(sh: Shell, files: string[], io: SimIo, cmd: string): Promise<{ name: string; data: AsyncIterable<Buffer> | null }[] | number> {
  if (files.length === 0) return [{ name: '-', data: io.stdin }];
  const out: { name: string; data: AsyncIterable<Buffer> | null }[] = [];
  for (const f of files) {
    if (f === '-') { out.push({ name: '-', data: io.stdin }); continue; }
    try {
      const buf = await sh.node.fs.readFile(sh.resolvePath(f));
      out.push({ name: f, data: (async function* () { yield buf; })() });
    } catch (e) {
      await err(io, `${cmd}: ${f}: ${reason(e)}`);
      return 2;
    }
  }
  return out;
}

function evalTest(sh: Shell, a: string[]): Promise<boolean> {
  const fs = sh.node.fs;
  const unary = async (op: string, v: string): Promise<boolean> => {
    if (op === '-n') return v !== '';
    if (op === '-z') return v === '';
    const st = await fs.stat(sh.resolvePath(v || '.'));
    switch (op) {
      case '-e': case '-a': return st !== undefined;
      case '-f': return st?.isFile === true;
      case '-d': return st?.isDirectory === true;
      case '-L': case '-h': return st?.isSymlink === true;
      case '-s': return (st?.size ?? 0) > 0;
      // uid 0 reads and writes everything; execute needs some x bit.
      case '-r': case '-w': return st !== undefined;
      case '-x': return st !== undefined && (st.isDirectory || (st.mode & 0o111) !== 0);
      default: throw new Error(`${op}: unexpected operator`);
    }
  };
  const binary = (l: string, op: string, r: string): boolean | undefined => {
    switch (op) {
      case '=': case '==': return l === r;
      case '!=': return l !== r;
      case '-eq': return Number(l) === Number(r);
      case '-ne': return Number(l) !== Number(r);
      case '-lt': return Number(l) < Number(r);
      case '-le': return Number(l) <= Number(r);
      case '-gt': return Number(l) > Number(r);
      case '-ge': return Number(l) >= Number(r);
      default: return undefined;
    }
  };
  const one = async (x: string[]): Promise<boolean> => {
    if (x.length === 0) return false;
    if (x[0] === '!') return !(await one(x.slice(1)));
    if (x.length === 1) return (x[0] ?? '') !== '';
    if (x.length === 2) return unary(x[0] ?? '', x[1] ?? '');
    if (x.length === 3) {
      const r = binary(x[0] ?? '', x[1] ?? '', x[2] ?? '');
      if (r !== undefined) return r;
    }
    const ai = x.indexOf('-o');
    if (ai > 0) return (await one(x.slice(0, ai))) || one(x.slice(ai + 1));
    const an = x.indexOf('-a');
    if (an > 0) return (await one(x.slice(0, an))) && one(x.slice(an + 1));
    throw new Error(`${x[1] ?? ''}: unexpected operator`);
  };
  return one(a);
}

async function runTest(sh: Shell, args: string[], io: SimIo, bracket: boolean): Promise<number> {
  let a = args;
  if (bracket) {
    if (a[a.length - 1] !== ']') { await err(io, 'sh: 1: [: missing ]'); return 2; }
    a = a.slice(0, -1);
  }
  try {
    return (await evalTest(sh, a)) ? 0 : 1;
  } catch (e) {
    await err(io, `sh: 1: ${bracket ? '[' : 'test'}: ${(e as Error).message}`);
    return 2;
  }
}

async function subShell(sh: Shell, args: string[], io: SimIo): Promise<number> {
  const f = flags(args, ['c', 'o']);
  const child = sh.child();
  if (f.set.has('e')) child.errexit = true;
  if (f.values.has('c')) {
    const script = f.values.get('c') ?? '';
    child.positional = f.rest.slice(1);
    return child.run(script, io);
  }
  if (f.rest.length > 0) {
    const path = sh.resolvePath(f.rest[0] ?? '');
    try {
      const script = (await sh.node.fs.readFile(path)).toString('utf8');
      child.positional = f.rest.slice(1);
      return await child.run(script, io);
    } catch (e) {
      await err(io, `sh: 0: cannot open ${f.rest[0]}: ${reason(e)}`);
      return 2;
    }
  }
  return child.run((await readAll(io.stdin)).toString('utf8'), { ...io, stdin: null });
}

async function timeoutCmd(sh: Shell, args: string[], io: SimIo): Promise<number> {
  const f = flags(args, ['k', 's', 'kill-after', 'signal']);
  const [dur, ...cmd] = f.rest;
  const ms = parseDuration(dur ?? '');
  if (ms === undefined || cmd.length === 0) {
    await err(io, `timeout: invalid time interval '${dur ?? ''}'\nTry 'timeout --help' for more information.`);
    return 125;
  }
  const killAfter = parseDuration(f.values.get('k') ?? f.values.get('kill-after') ?? '') ?? undefined;
  const inner = new AbortController();
  let expired = false;
  const timer = ms > 0 ? setTimeout(() => { expired = true; inner.abort(); }, ms) : undefined;
  const run = sh.exec(cmd, { ...io, signal: AbortSignal.any([io.signal, inner.signal]) });
  try {
    if (killAfter === undefined) {
      const status = await run;
      return expired ? 124 : status;
    }
    // After expiry the program gets `killAfter` to finish before SIGKILL (status 137).
    const status = await Promise.race([
      run,
      new Promise<number>((resolve) => {
        const check = (): void => {
          void delay(killAfter).then(() => resolve(-1));
        };
        if (inner.signal.aborted) check();
        else inner.signal.addEventListener('abort', check, { once: true });
      }),
    ]);
    if (status === -1) return 137;
    return expired ? 124 : status;
  } finally {
    if (timer) clearTimeout(timer);
  }
}

export const BUILTINS: Record<string, Builtin> = {
  true: async () => 0,
  ':': async () => 0,
  false: async () => 1,

  echo: async (_sh, args, io) => {
    let a = args;
    let newline = true;
    let interpret = false;
    while (a[0] && /^-[neE]+$/.test(a[0])) {
      if (a[0].includes('n')) newline = false;
      if (a[0].includes('e')) interpret = true;
      a = a.slice(1);
    }
    let text = a.join(' ');
    if (interpret) {
      const r = escapes(text, true);
      text = r.text;
      if (r.stop) newline = false;
    }
    await io.stdout(newline ? `${text}\n` : text);
    return 0;
  },

  printf: async (_sh, args, io) => {
    const [format, ...rest] = args;
    if (format === undefined) { await err(io, 'printf: usage: printf format [arguments]'); return 2; }
    await io.stdout(printfFormat(format, rest));
    return 0;
  },

  test: (sh, args, io) => runTest(sh, args, io, false),
  '[': (sh, args, io) => runTest(sh, args, io, true),

  cd: async (sh, args, io) => {
    const target = sh.resolvePath(args[0] ?? sh.vars.get('HOME') ?? '/root');
    const st = await sh.node.fs.stat(target);
    if (!st?.isDirectory) { await err(io, `sh: 1: cd: can't cd to ${args[0] ?? ''}`); return 2; }
    sh.cwd = target;
    sh.vars.set('PWD', target);
    return 0;
  },
  pwd: async (sh, _args, io) => { await io.stdout(`${sh.cwd}\n`); return 0; },
  export: async (sh, args) => {
    for (const a of args) {
      const eq = a.indexOf('=');
      if (eq > 0) sh.vars.set(a.slice(0, eq), a.slice(eq + 1));
    }
    return 0;
  },
  unset: async (sh, args) => { for (const a of args) sh.vars.delete(a); return 0; },
  exit: async (sh, args) => { throw new ShellExit(args[0] === undefined ? sh.status : Number(args[0]) & 0xff); },
  set: async (sh, args) => {
    for (const a of args) {
      if (/^-[a-z]*e/.test(a)) sh.errexit = true;
      if (/^\+[a-z]*e/.test(a)) sh.errexit = false;
    }
    return 0;
  },
  exec: async (sh, args, io) => (args.length === 0 ? 0 : sh.exec(args, io)),

  command: async (sh, args, io) => {
    const f = flags(args);
    if (!f.set.has('v') && !f.set.has('V')) return f.rest.length === 0 ? 0 : sh.exec(f.rest, io);
    let status = 0;
    for (const name of f.rest) {
      const found = SHELL_BUILTINS.has(name) ? name : BUILTINS[name] ? `/usr/bin/${name}` : sh.lookup(name) !== undefined
        ? sh.node.programPath(sh.lookup(name) ?? name)
        : name.includes('/') && sh.node.programAt(sh.resolvePath(name)) ? sh.resolvePath(name) : undefined;
      if (found === undefined) status = 1;
      else await io.stdout(`${found}\n`);
    }
    return status;
  },
  which: async (sh, args, io) => {
    let status = 0;
    for (const name of args) {
      const program = sh.lookup(name);
      if (program) await io.stdout(`${sh.node.programPath(program)}\n`);
      else if (BUILTINS[name] && !SHELL_BUILTINS.has(name)) await io.stdout(`/usr/bin/${name}\n`);
      else status = 1;
    }
    return status;
  },
  type: async (sh, args, io) => {
    let status = 0;
    for (const name of args) {
      if (SHELL_BUILTINS.has(name)) await io.stdout(`${name} is a shell builtin\n`);
      else if (BUILTINS[name]) await io.stdout(`${name} is /usr/bin/${name}\n`);
      else if (sh.lookup(name)) await io.stdout(`${name} is ${sh.node.programPath(sh.lookup(name) ?? name)}\n`);
      else { await io.stdout(`${name}: not found\n`); status = 127; }
    }
    return status;
  },

  sh: subShell,
  bash: subShell,
  timeout: timeoutCmd,

  // The simulated login user is root: sudo (-n, -k, -S, -p PROMPT, -u root) just runs the command.
  sudo: async (sh, args, io) => {
    let i = 0;
    for (; i < args.length; i++) {
      const a = args[i] ?? '';
      if (a === '--') { i++; break; }
      if (a === '-p' || a === '-u') { i++; continue; }
      if (!/^-[nkSHE]+$/.test(a)) break;
    }
    if (i >= args.length) { await err(io, 'usage: sudo [-knS] [-p prompt] [-u user] [--] command'); return 1; }
    const rest = args.slice(i);
    const user = io.env['USER'] ?? 'root';
    for (const f of sh.node.faultsOf('sudo-denied')) {
      if (f.command === undefined) { await err(io, 'sudo: a password is required'); return 1; }
      // Through ascendctl's `timeout -k 5 N cmd …` too: sudo sees timeout, the rule is about the tool.
      const tool = (rest[0] === 'timeout' && rest[1] === '-k' ? rest[4] : rest[0]) ?? '';
      if (tool.split('/').pop() === f.command) {
        await err(io, `Sorry, user ${user} is not allowed to execute '${rest.join(' ')}' as root on ${sh.node.name}.`);
        return 1;
      }
    }
    return sh.exec(rest, io);
  },

  env: async (sh, args, io) => {
    let i = 0;
    const extra: Record<string, string> = {};
    for (; i < args.length && /^[A-Za-z_][A-Za-z0-9_]*=/.test(args[i] ?? ''); i++) {
      const a = args[i] ?? '';
      extra[a.slice(0, a.indexOf('='))] = a.slice(a.indexOf('=') + 1);
    }
    if (i < args.length) {
      const child = sh.child();
      for (const [k, v] of Object.entries(extra)) child.vars.set(k, v);
      return child.exec(args.slice(i), io);
    }
    const all = { ...sh.env(), ...extra };
    await io.stdout(Object.entries(all).map(([k, v]) => `${k}=${v}\n`).join(''));
    return 0;
  },

  cat: async (sh, args, io) => {
    const f = flags(args);
    let status = 0;
    for (const name of f.rest.length === 0 ? ['-'] : f.rest) {
      if (name === '-') {
        if (io.stdin) for await (const c of io.stdin) await io.stdout(c);
        continue;
      }
      try {
        await io.stdout(await sh.node.fs.readFile(sh.resolvePath(name)));
      } catch (e) {
        await err(io, `cat: ${name}: ${reason(e)}`);
        status = 1;
      }
    }
    return status;
  },

  date: async (sh, args, io) => {
    let fmt = '%a %b %e %H:%M:%S %Z %Y';
    let when = sh.node.now();
    for (let i = 0; i < args.length; i++) {
      const a = args[i] ?? '';
      if (a.startsWith('+')) fmt = a.slice(1);
      else if (a === '-u' || a === '--utc') continue;
      else if (a === '-d' || a.startsWith('--date=')) {
        const v = a === '-d' ? (args[++i] ?? '') : a.slice(7);
        const t = v.startsWith('@') ? Number(v.slice(1)) * 1000 : Date.parse(v);
        if (!Number.isFinite(t)) { await err(io, `date: invalid date '${v}'`); return 1; }
        when = new Date(t);
      } else { await err(io, `date: invalid date '${a}'`); return 1; }
    }
    await io.stdout(`${strftime(when, fmt)}\n`);
    return 0;
  },

  mkdir: async (sh, args, io) => {
    const f = flags(args, ['m']);
    const mode = f.values.has('m') ? parseMode(f.values.get('m') ?? '', 0o755) : undefined;
    if (f.values.has('m') && mode === undefined) { await err(io, `mkdir: invalid mode '${f.values.get('m')}'`); return 1; }
    let status = 0;
    for (const d of f.rest) {
      const path = sh.resolvePath(d);
      try {
        const existed = await sh.node.fs.stat(path);
        await sh.node.fs.mkdir(path, { recursive: f.set.has('p'), ...(mode !== undefined ? { mode } : {}) });
        if (mode !== undefined && !existed) await sh.node.fs.chmod(path, mode);
      } catch (e) {
        await err(io, `mkdir: cannot create directory '${d}': ${reason(e)}`);
        status = 1;
      }
    }
    return status;
  },

  install: async (sh, args, io) => {
    const f = flags(args, ['m', 'o', 'g', 't']);
    const mode = parseMode(f.values.get('m') ?? '755', 0o755);
    if (mode === undefined) { await err(io, `install: invalid mode '${f.values.get('m')}'`); return 1; }
    const fs = sh.node.fs;
    if (f.set.has('d')) {
      for (const d of f.rest) {
        await fs.mkdir(sh.resolvePath(d), { recursive: true });
        await fs.chmod(sh.resolvePath(d), mode);
      }
      return 0;
    }
    const dirTarget = f.values.get('t');
    const sources = dirTarget === undefined ? f.rest.slice(0, -1) : f.rest;
    const dest = dirTarget ?? f.rest[f.rest.length - 1];
    if (sources.length === 0 || dest === undefined) { await err(io, 'install: missing destination file operand'); return 1; }
    for (const src of sources) {
      let data: Buffer;
      try {
        data = src === '/dev/stdin' || src === '-' ? await readAll(io.stdin) : src === '/dev/null' ? Buffer.alloc(0) : await fs.readFile(sh.resolvePath(src));
      } catch (e) {
        await err(io, `install: cannot stat '${src}': ${reason(e)}`);
        return 1;
      }
      let target = sh.resolvePath(dest);
      if ((await fs.stat(target))?.isDirectory) target = posix.join(target, posix.basename(src));
      else if (sources.length > 1) { await err(io, `install: target '${dest}' is not a directory`); return 1; }
      try {
        if (f.set.has('D')) await fs.mkdir(posix.dirname(target), { recursive: true });
        await fs.rm(target, { force: true });
        await fs.writeFile(target, data, mode);
        await fs.chmod(target, mode);
      } catch (e) {
        await err(io, `install: cannot create regular file '${dest}': ${reason(e)}`);
        return 1;
      }
    }
    return 0;
  },

  mv: async (sh, args, io) => {
    const f = flags(args);
    if (f.rest.length < 2) { await err(io, `mv: missing destination file operand after '${f.rest[0] ?? ''}'`); return 1; }
    const fs = sh.node.fs;
    const dest = f.rest[f.rest.length - 1] ?? '';
    let status = 0;
    for (const src of f.rest.slice(0, -1)) {
      const from = sh.resolvePath(src);
      if (!(await fs.stat(from))) { await err(io, `mv: cannot stat '${src}': No such file or directory`); status = 1; continue; }
      let to = sh.resolvePath(dest);
      if ((await fs.stat(to))?.isDirectory) to = posix.join(to, posix.basename(from));
      try {
        await fs.rename(from, to);
      } catch (e) {
        await err(io, `mv: cannot move '${src}' to '${dest}': ${reason(e)}`);
        status = 1;
      }
    }
    return status;
  },

  cp: async (sh, args, io) => {
    const f = flags(args);
    const fs = sh.node.fs;
    const [src, dest] = f.rest;
    if (src === undefined || dest === undefined) { await err(io, 'cp: missing file operand'); return 1; }
    try {
      let to = sh.resolvePath(dest);
      if ((await fs.stat(to))?.isDirectory) to = posix.join(to, posix.basename(src));
      const st = await fs.stat(sh.resolvePath(src));
      await fs.writeFile(to, await fs.readFile(sh.resolvePath(src)), st?.mode);
      return 0;
    } catch (e) {
      await err(io, `cp: cannot stat '${src}': ${reason(e)}`);
      return 1;
    }
  },

  rm: async (sh, args, io) => {
    const f = flags(args);
    const recursive = f.set.has('r') || f.set.has('R') || f.set.has('recursive');
    const force = f.set.has('f') || f.set.has('force');
    let status = 0;
    for (const p of f.rest) {
      const path = sh.resolvePath(p);
      const st = await sh.node.fs.stat(path);
      if (!st) {
        if (!force) { await err(io, `rm: cannot remove '${p}': No such file or directory`); status = 1; }
        continue;
      }
      if (st.isDirectory && !recursive) { await err(io, `rm: cannot remove '${p}': Is a directory`); status = 1; continue; }
      await sh.node.fs.rm(path, { recursive, force });
    }
    return status;
  },

  touch: async (sh, args, io) => {
    for (const p of flags(args).rest) {
      const path = sh.resolvePath(p);
      try {
        if (!(await sh.node.fs.stat(path))) await sh.node.fs.writeFile(path, '');
        else await sh.node.fs.appendFile(path, '');
      } catch (e) {
        await err(io, `touch: cannot touch '${p}': ${reason(e)}`);
        return 1;
      }
    }
    return 0;
  },

  chmod: async (sh, args, io) => {
    // `-R`/`-v` are options; `-x`, `+x`, `640` are modes.
    const rest = args.filter((a) => !/^-[Rvcf]+$/.test(a));
    const [modeText = '', ...files] = rest;
    let status = 0;
    for (const p of files) {
      const path = sh.resolvePath(p);
      const st = await sh.node.fs.stat(path);
      if (!st) { await err(io, `chmod: cannot access '${p}': No such file or directory`); status = 1; continue; }
      const mode = parseMode(modeText, st.mode);
      if (mode === undefined) { await err(io, `chmod: invalid mode: '${modeText}'`); return 1; }
      await sh.node.fs.chmod(path, mode);
    }
    return status;
  },

  ls: async (sh, args, io) => {
    const f = flags(args);
    const long = f.set.has('l');
    const all = f.set.has('a') || f.set.has('A');
    const fs = sh.node.fs;
    const show = async (name: string, path: string): Promise<string> => {
      if (!long) return name;
      const st = await fs.stat(path);
      if (!st) return name;
      const d = new Date(st.mtimeMs);
      return `${modeString(st)} 1 root root ${String(st.size).padStart(5)} ${strftime(d, '%b %e %H:%M')} ${name}`;
    };
    let status = 0;
    const targets = f.rest.length === 0 ? ['.'] : f.rest;
    for (const t of targets) {
      const path = sh.resolvePath(t);
      const st = await fs.stat(path);
      if (!st) { await err(io, `ls: cannot access '${t}': No such file or directory`); status = 2; continue; }
      if (!st.isDirectory || f.set.has('d')) { await io.stdout(`${await show(t, path)}\n`); continue; }
      if (targets.length > 1) await io.stdout(`${t}:\n`);
      const names = (await fs.readdir(path)).filter((n) => all || !n.startsWith('.'));
      const out: string[] = [];
      for (const n of names) out.push(await show(n, posix.join(path, n)));
      if (out.length > 0) await io.stdout(`${out.join('\n')}\n`);
    }
    return status;
  },

  stat: async (sh, args, io) => {
    const f = flags(args, ['c', 'format', 'printf']);
    const fmt = f.values.get('c') ?? f.values.get('format') ?? f.values.get('printf');
    let status = 0;
    for (const p of f.rest) {
      const st = await sh.node.fs.stat(sh.resolvePath(p));
      if (!st) { await err(io, `stat: cannot statx '${p}': No such file or directory`); status = 1; continue; }
      if (fmt === undefined) {
        await io.stdout(`  File: ${p}\n  Size: ${st.size}\t${fileType(st)}\nAccess: (0${st.mode.toString(8)}/${modeString(st)})  Uid: (    ${st.uid}/    root)\n`);
        continue;
      }
      const text = fmt.replace(/%([aAuUgGsFnYy%])/g, (_, c: string) => {
        switch (c) {
          case 'a': return st.mode.toString(8);
          case 'A': return modeString(st);
          case 'u': return String(st.uid);
          // A simulated node's passwd knows root only; GNU stat prints UNKNOWN for an unnamed uid.
          case 'U': return st.uid === 0 ? 'root' : 'UNKNOWN';
          case 'g': return '0';
          case 'G': return 'root';
          case 's': return String(st.size);
          case 'F': return fileType(st);
          case 'n': return p;
          case 'Y': return String(Math.floor(st.mtimeMs / 1000));
          case 'y': return new Date(st.mtimeMs).toISOString();
          default: return '%';
        }
      });
      await io.stdout(f.values.has('printf') ? escapes(text, true).text : `${text}\n`);
    }
    return status;
  },

  sha256sum: async (sh, args, io) => {
    const f = flags(args);
    // Like coreutils: a file that cannot be read is reported and skipped, the others are still hashed.
    let status = 0;
    for (const file of f.rest.length === 0 ? ['-'] : f.rest) {
      const ins = await inputs(sh, [file], io, 'sha256sum');
      if (typeof ins === 'number') { status = 1; continue; }
      for (const { name, data } of ins) {
        const h = createHash('sha256');
        if (data) for await (const c of data) h.update(c);
        await io.stdout(`${h.digest('hex')}  ${name}\n`);
      }
    }
    return status;
  },

  find: findCmd,

  ss: async (sh, args, io) => {
    const f = flags(args);
    const listening = f.set.has('l') || f.set.has('listening');
    const rows = listening ? sh.node.listeningSockets() : [];
    const out: string[] = [];
    if (!f.set.has('H') && !f.set.has('no-header')) out.push('State  Recv-Q Send-Q Local Address:Port Peer Address:Port Process');
    for (const l of rows) {
      const local = `${l.address.includes(':') ? `[${l.address}]` : l.address}:${l.port}`;
      out.push(`LISTEN 0      4096   ${local.padStart(18)} ${'0.0.0.0:*'.padStart(17)}`);
    }
    if (out.length > 0) await io.stdout(`${out.join('\n')}\n`);
    return 0;
  },

  hostname: async (sh, args, io) => {
    await io.stdout(`${args.includes('-I') || args.includes('-i') ? sh.node.host : sh.node.name}\n`);
    return 0;
  },
  uname: async (sh, args, io) => {
    const f = flags(args);
    const parts: Record<string, string> = {
      s: 'Linux', n: sh.node.name, r: '5.10.0-182.0.0.95.oe2203sp3.aarch64',
      v: '#1 SMP Wed Mar 27 20:35:04 CST 2024', m: 'aarch64', p: 'aarch64', i: 'aarch64', o: 'GNU/Linux',
    };
    const order = f.set.has('a') ? ['s', 'n', 'r', 'v', 'm', 'p', 'i', 'o'] : [...f.set].filter((k) => k in parts);
    await io.stdout(`${(order.length ? order : ['s']).map((k) => parts[k]).join(' ')}\n`);
    return 0;
  },
  id: async (_sh, args, io) => {
    await io.stdout(args.includes('-u') ? '0\n' : args.includes('-un') || args.includes('-nu') ? 'root\n' : 'uid=0(root) gid=0(root) groups=0(root)\n');
    return 0;
  },
  whoami: async (_sh, _args, io) => { await io.stdout('root\n'); return 0; },
  basename: async (_sh, args, io) => { await io.stdout(`${posix.basename(args[0] ?? '', args[1])}\n`); return 0; },
  dirname: async (_sh, args, io) => { await io.stdout(`${posix.dirname(args[0] ?? '.')}\n`); return 0; },
  mktemp: async (sh, args, io) => {
    const f = flags(args, ['p']);
    const dir = f.values.get('p') ?? '/tmp';
    const name = posix.join(dir, `tmp.${Math.random().toString(36).slice(2, 12).padEnd(10, 'x')}`);
    if (f.set.has('d')) await sh.node.fs.mkdir(name, { mode: 0o700 });
    else await sh.node.fs.writeFile(name, '', 0o600);
    await io.stdout(`${name}\n`);
    return 0;
  },

  sleep: async (_sh, args, io) => {
    const ms = args.reduce((sum, a) => sum + (parseDuration(a) ?? Number.NaN), 0);
    if (!Number.isFinite(ms)) { await err(io, `sleep: invalid time interval '${args.join(' ')}'`); return 1; }
    return (await delay(ms, io.signal)) ? 0 : 143;
  },

  kill: async (_sh, args, io) => {
    // The simulated node has no process table that ascendctl could signal.
    const pids = args.filter((a) => !a.startsWith('-'));
    if (pids.length === 0) { await err(io, 'kill: usage: kill [-s sigspec | -n signum | -sigspec] pid'); return 2; }
    for (let k = 0; k < pids.length; k++) await err(io, 'sh: 1: kill: No such process');
    return 1;
  },

  grep: async (sh, args, io) => {
    const f = flags(args, ['e', 'm']);
    const patterns = f.values.has('e') ? [f.values.get('e') ?? ''] : [];
    const rest = [...f.rest];
    if (patterns.length === 0) {
      const p = rest.shift();
      if (p === undefined) { await err(io, 'Usage: grep [OPTION]... PATTERNS [FILE]...'); return 2; }
      patterns.push(p);
    }
    const mode = f.set.has('F') ? 'fixed' : f.set.has('E') ? 'ere' : 'bre';
    let re: RegExp[];
    try {
      re = patterns.flatMap((p) => p.split('\n')).map((p) => grepRegex(p, mode, f.set.has('i'), f.set.has('w'), f.set.has('x')));
    } catch {
      await err(io, 'grep: Invalid regular expression');
      return 2;
    }
    const ins = await inputs(sh, rest, io, 'grep');
    if (typeof ins === 'number') return 2;
    const invert = f.set.has('v');
    const max = f.values.has('m') ? Number(f.values.get('m')) : Infinity;
    let matched = 0;
    for (const { name, data } of ins) {
      let count = 0;
      let n = 0;
      for await (const line of lines(data)) {
        n++;
        if (re.some((r) => r.test(line)) === invert) continue;
        count++;
        matched++;
        if (f.set.has('q')) return 0;
        if (!f.set.has('c')) {
          const prefix = (ins.length > 1 ? `${name}:` : '') + (f.set.has('n') ? `${n}:` : '');
          await io.stdout(`${prefix}${line}\n`);
        }
        if (count >= max) break;
      }
      if (f.set.has('c')) await io.stdout(`${ins.length > 1 ? `${name}:` : ''}${count}\n`);
    }
    return matched > 0 ? 0 : 1;
  },

  head: async (sh, args, io) => {
    const norm = args.map((a) => (/^-\d+$/.test(a) ? `-n${a.slice(1)}` : a));
    const f = flags(norm, ['n', 'c']);
    const ins = await inputs(sh, f.rest, io, 'head');
    if (typeof ins === 'number') return 1;
    for (const { data } of ins) {
      if (f.values.has('c')) {
        const want = Number(f.values.get('c'));
        let got = 0;
        if (data) for await (const c of data) {
          const take = c.subarray(0, want - got);
          got += take.length;
          await io.stdout(take);
          if (got >= want) break;
        }
        continue;
      }
      const want = Number(f.values.get('n') ?? '10');
      let n = 0;
      if (want <= 0) continue;
      for await (const line of lines(data)) {
        await io.stdout(`${line}\n`);
        if (++n >= want) break;
      }
    }
    return 0;
  },

  tail: async (sh, args, io) => {
    const norm = args.map((a) => (/^-\d+$/.test(a) ? `-n${a.slice(1)}` : a));
    const f = flags(norm, ['n']);
    const ins = await inputs(sh, f.rest, io, 'tail');
    if (typeof ins === 'number') return 1;
    const spec = f.values.get('n') ?? '10';
    for (const { data } of ins) {
      const all: string[] = [];
      for await (const line of lines(data)) all.push(line);
      const out = spec.startsWith('+') ? all.slice(Math.max(0, Number(spec.slice(1)) - 1)) : all.slice(Math.max(0, all.length - Number(spec)));
      if (out.length > 0) await io.stdout(`${out.join('\n')}\n`);
    }
    return 0;
  },

  wc: async (sh, args, io) => {
    const f = flags(args);
    const ins = await inputs(sh, f.rest, io, 'wc');
    if (typeof ins === 'number') return 1;
    const which = ['l', 'w', 'c'].filter((k) => f.set.has(k));
    const cols = which.length ? which : ['l', 'w', 'c'];
    for (const { name, data } of ins) {
      const buf = await readAll(data);
      const text = buf.toString('utf8');
      const counts: Record<string, number> = {
        l: (text.match(/\n/g) ?? []).length,
        w: text.split(/\s+/).filter(Boolean).length,
        c: buf.length,
      };
      const nums = cols.map((k) => String(counts[k]));
      const line = ins.length === 1 && name === '-' ? (cols.length === 1 ? nums[0] : nums.map((n) => n.padStart(7)).join(' ')) : `${nums.join(' ')} ${name}`;
      await io.stdout(`${line}\n`);
    }
    return 0;
  },
  // ip, python3 (the reach probe): shell-network.ts
  ...NETWORK_BUILTINS,
};
