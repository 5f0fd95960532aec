/**
 * `find` for a simulated node, the subset GNU findutils behaves like for the calls people and
 * ascendctl make: starting points (a trailing `/` descends into a symlinked directory, as the kernel
 * resolves it), `-H`/`-L`/`-P`, `-maxdepth`/`-mindepth`, `-name`/`-iname`/`-path`/`-type`, `(` `)` `!`
 * `-not` `-a` `-o`, and the actions `-print`, `-exec … ;` and `-exec … {} +`. Anything else is refused
 * with GNU's message, never silently ignored.
 */
import { posix } from 'node:path';
import type { ArgvContext } from './argv-context.js';
import type { SimIo, SimStat } from './types.js';

type Node =
  | { op: 'and' | 'or'; l: Node; r: Node }
  | { op: 'not'; e: Node }
  | { op: 'name'; pattern: RegExp; whole: boolean }
  | { op: 'type'; type: string }
  | { op: 'true' }
  | { op: 'print' }
  | { op: 'exec'; argv: string[]; batch: boolean };

class FindError extends Error {}

/** fnmatch(3) without flags: `*`, `?`, `[...]`, `\x`. */
export function globRegExp(pattern: string, ignoreCase = false): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '\\' && i + 1 < pattern.length) re += escape(pattern[++i]!);
    else if (c === '[') {
      const close = pattern.indexOf(']', i + 2);
      if (close < 0) { re += '\\['; continue; }
      let body = pattern.slice(i + 1, close);
      if (body.startsWith('!')) body = `^${body.slice(1)}`;
      re += `[${body.replace(/\\/g, '\\\\')}]`;
      i = close;
    } else re += escape(c);
  }
  return new RegExp(`^${re}$`, ignoreCase ? 'is' : 's');
}

function escape(c: string): string {
  return /[.*+?^${}()|[\]\\/]/.test(c) ? `\\${c}` : c;
}

interface Parsed {
  expr: Node;
  maxDepth: number;
  minDepth: number;
  hasAction: boolean;
}

function parseExpression(args: string[]): Parsed {
  let i = 0;
  let maxDepth = Infinity;
  let minDepth = 0;
  let hasAction = false;
  const peek = (): string | undefined => args[i];
  /** The operand after a primary (i already points past the primary itself). */
  const need = (what: string): string => {
    const v = args[i];
    if (v === undefined) throw new FindError(`find: missing argument to \`${what}'`);
    i++;
    return v;
  };
  const primary = (): Node => {
    const a = peek();
    if (a === undefined) throw new FindError('find: expected an expression');
    if (a === '(') {
      i++;
      const e = orExpr();
      if (peek() !== ')') throw new FindError("find: invalid expression; I was expecting to find a ')' somewhere but did not see one.");
      i++;
      return e;
    }
    if (a === '!' || a === '-not') {
      i++;
      return { op: 'not', e: primary() };
    }
    i++;
    switch (a) {
      case '-maxdepth': case '-mindepth': {
        const v = need(a);
        if (!/^\d+$/.test(v)) throw new FindError(`find: Expected a positive decimal integer argument to ${a}, but got \`${v}'`);
        if (a === '-maxdepth') maxDepth = Number(v);
        else minDepth = Number(v);
        return { op: 'true' };
      }
      case '-name': case '-iname': {
        const v = need(a);
        return { op: 'name', pattern: globRegExp(v, a === '-iname'), whole: false };
      }
      case '-path': case '-wholename': {
        const v = need(a);
        return { op: 'name', pattern: globRegExp(v), whole: true };
      }
      case '-type': {
        const v = need(a);
        if (!/^[fdl]$/.test(v)) throw new FindError(`find: Unknown argument to -type: ${v}`);
        return { op: 'type', type: v };
      }
      case '-print':
        hasAction = true;
        return { op: 'print' };
      case '-exec': {
        const argv: string[] = [];
        for (;;) {
          const w = args[i];
          if (w === undefined) throw new FindError('find: missing argument to `-exec\'');
          i++;
          if (w === ';') break;
          if (w === '+' && argv.at(-1) === '{}') {
            hasAction = true;
            return { op: 'exec', argv: argv.slice(0, -1), batch: true };
          }
          argv.push(w);
        }
        if (argv.length === 0) throw new FindError('find: missing argument to `-exec\'');
        hasAction = true;
        return { op: 'exec', argv, batch: false };
      }
      default:
        if (a.startsWith('-')) throw new FindError(`find: unknown predicate \`${a}'`);
        throw new FindError(`find: paths must precede expression: \`${a}'`);
    }
  };
  const andExpr = (): Node => {
    let l = primary();
    for (;;) {
      const a = peek();
      if (a === undefined || a === ')' || a === '-o' || a === '-or') return l;
      if (a === '-a' || a === '-and') i++;
      l = { op: 'and', l, r: primary() };
    }
  };
  const orExpr = (): Node => {
    let l = andExpr();
    while (peek() === '-o' || peek() === '-or') {
      i++;
      l = { op: 'or', l, r: andExpr() };
    }
    return l;
  };
  const expr = args.length === 0 ? { op: 'true' as const } : orExpr();
  if (i < args.length) throw new FindError(`find: unexpected \`${args[i]}'`);
  return { expr, maxDepth, minDepth, hasAction };
}

export async function findCmd(sh: ArgvContext, args: string[], io: SimIo): Promise<number> {
  let follow: 'P' | 'H' | 'L' = 'P';
  let k = 0;
  for (; k < args.length && /^-[HLP]$/.test(args[k]!); k++) follow = args[k]!.slice(1) as 'P' | 'H' | 'L';
  const starts: string[] = [];
  for (; k < args.length; k++) {
    const a = args[k]!;
    if (a.startsWith('-') || a === '(' || a === '!' || a === ')') break;
    starts.push(a);
  }
  let parsed: Parsed;
  try {
    parsed = parseExpression(args.slice(k));
  } catch (e) {
    if (!(e instanceof FindError)) throw e;
    await io.stderr(`${e.message}\n`);
    return 1;
  }
  if (starts.length === 0) starts.push('.');
  const fs = sh.node.fs;
  let status = 0;
  const batches = new Map<Node, string[]>();

  /** lstat, or stat when links are followed here; a trailing slash always resolves the link. */
  const statOf = async (path: string, followLink: boolean): Promise<SimStat | undefined> => {
    const st = await fs.stat(path);
    if (!st?.isSymlink || !followLink) return st;
    try {
      await fs.readdir(path);
      return { ...st, isSymlink: false, isDirectory: true, isFile: false };
    } catch {
      try {
        const data = await fs.readFile(path);
        return { ...st, isSymlink: false, isFile: true, size: data.length };
      } catch {
        return st; // a dangling link stays a link
      }
    }
  };

  const evaluate = async (e: Node, path: string, st: SimStat): Promise<boolean> => {
    switch (e.op) {
      case 'and': return (await evaluate(e.l, path, st)) && evaluate(e.r, path, st);
      case 'or': return (await evaluate(e.l, path, st)) || evaluate(e.r, path, st);
      case 'not': return !(await evaluate(e.e, path, st));
      case 'true': return true;
      case 'name': return e.pattern.test(e.whole ? path : posix.basename(path.replace(/(.)\/+$/, '$1')));
      case 'type': return e.type === (st.isSymlink ? 'l' : st.isDirectory ? 'd' : 'f');
      case 'print':
        await io.stdout(`${path}\n`);
        return true;
      case 'exec': {
        if (e.batch) {
          const list = batches.get(e) ?? [];
          list.push(path);
          batches.set(e, list);
          return true;
        }
        const code = await sh.exec(e.argv.map((w) => w.replaceAll('{}', path)), io);
        return code === 0;
      }
    }
  };

  const visit = async (path: string, st: SimStat, depth: number): Promise<void> => {
    if (depth >= parsed.minDepth) {
      const matched = await evaluate(parsed.expr, path, st);
      if (matched && !parsed.hasAction) await io.stdout(`${path}\n`);
    }
    if (!st.isDirectory || depth >= parsed.maxDepth) return;
    let names: string[];
    try {
      names = await fs.readdir(sh.resolvePath(path));
    } catch {
      await io.stderr(`find: '${path}': Permission denied\n`);
      status = 1;
      return;
    }
    for (const name of names) {
      const child = path.endsWith('/') ? `${path}${name}` : `${path}/${name}`;
      const cst = await statOf(sh.resolvePath(child), follow === 'L');
      if (cst) await visit(child, cst, depth + 1);
    }
  };

  for (const start of starts) {
    const st = await statOf(sh.resolvePath(start), follow !== 'P' || /\/$/.test(start));
    if (!st) {
      await io.stderr(`find: '${start}': No such file or directory\n`);
      status = 1;
      continue;
    }
    await visit(start, st, 0);
  }
  for (const [e, paths] of batches) {
    if (e.op !== 'exec' || paths.length === 0) continue;
    const code = await sh.exec([...e.argv, ...paths], io);
    if (code !== 0) status = 1;
  }
  return status;
}
