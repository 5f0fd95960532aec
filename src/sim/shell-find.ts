/**
 * `find` for a simulated node, in the one shape ascendctl's weights and shm checks send (preflight/weights.ts,
 * preflight/shm.ts): `find START… [-maxdepth N] [-name P | ( -name P -o -name P … )] [-print | -exec CMD… {} +]`.
 * As GNU findutils (-P): entries are not followed, a start point with a trailing `/` descends into a
 * symlinked directory (the kernel resolves it). Any other expression is refused with GNU's message.
 */
import { posix } from 'node:path';
import { fail, type ArgvContext } from './shell-builtins.js';
import type { SimIo } from './types.js';

/** fnmatch(3) without flags: `*`, `?`, `[...]`, `\x`. */
function globRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    const close = c === '[' ? pattern.indexOf(']', i + 2) : -1;
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '\\' && i + 1 < pattern.length) re += escape(pattern[++i]!);
    else if (close > 0) {
      re += `[${pattern.slice(i + 1, close).replace(/^!/, '^').replace(/\\/g, '\\\\')}]`;
      i = close;
    } else re += escape(c);
  }
  return new RegExp(`^${re}$`, 's');
}

function escape(c: string): string {
  return /[.*+?^${}()|[\]\\/]/.test(c) ? `\\${c}` : c;
}

class FindError extends Error {}

interface Expression {
  maxDepth: number;
  names: RegExp[] | undefined;
  /** The command of `-exec CMD… {} +`; undefined for `-print`. */
  exec: string[] | undefined;
}

function parseExpression(args: string[]): Expression {
  let i = 0;
  const expr: Expression = { maxDepth: Infinity, names: undefined, exec: undefined };
  const operand = (what: string): string => {
    if (args[i] === undefined) throw new FindError(`find: missing argument to \`${what}'`);
    return args[i++]!;
  };
  const name = (): RegExp => {
    if (args[i] !== '-name') throw new FindError(unknown(args[i]));
    i++;
    return globRegExp(operand('-name'));
  };
  if (args[i] === '-maxdepth') {
    i++;
    const v = operand('-maxdepth');
    if (!/^\d+$/.test(v)) throw new FindError(`find: Expected a positive decimal integer argument to -maxdepth, but got \`${v}'`);
    expr.maxDepth = Number(v);
  }
  if (args[i] === '-name') expr.names = [name()];
  else if (args[i] === '(') {
    i++;
    expr.names = [name()];
    while (args[i] === '-o') {
      i++;
      expr.names.push(name());
    }
    if (args[i++] !== ')') throw new FindError("find: invalid expression; I was expecting to find a ')' somewhere but did not see one.");
  }
  if (args[i] === '-print') i++;
  else if (args[i] === '-exec') {
    const end = args.indexOf('+', i + 1);
    if (end < 0 || args[end - 1] !== '{}' || end - 1 === i + 1) throw new FindError("find: missing argument to `-exec'");
    expr.exec = args.slice(i + 1, end - 1);
    i = end + 1;
  }
  if (i < args.length) throw new FindError(unknown(args[i]));
  return expr;
}

function unknown(word: string | undefined): string {
  if (word === undefined) return 'find: expected an expression';
  return word.startsWith('-') ? `find: unknown predicate \`${word}'` : `find: paths must precede expression: \`${word}'`;
}

export async function find(sh: ArgvContext, args: string[], io: SimIo): Promise<number> {
  const first = args.findIndex((a) => a.startsWith('-') || a === '(');
  const starts = first < 0 ? args : args.slice(0, first);
  let expr: Expression;
  try {
    expr = parseExpression(first < 0 ? [] : args.slice(first));
  } catch (e) {
    if (!(e instanceof FindError)) throw e;
    return fail(io, e.message);
  }
  const fs = sh.node.fs;
  const found: string[] = [];
  let status = 0;

  const visit = async (path: string, isDirectory: boolean, depth: number): Promise<void> => {
    const base = posix.basename(path.replace(/(.)\/+$/, '$1'));
    if (!expr.names || expr.names.some((re) => re.test(base))) {
      if (expr.exec) found.push(path);
      else await io.stdout(`${path}\n`);
    }
    if (!isDirectory || depth >= expr.maxDepth) return;
    let names: string[];
    try {
      names = await fs.readdir(sh.resolvePath(path));
    } catch {
      status = await fail(io, `find: '${path}': Permission denied`);
      return;
    }
    for (const name of names) {
      const child = path.endsWith('/') ? `${path}${name}` : `${path}/${name}`;
      const st = await fs.stat(sh.resolvePath(child));
      if (st) await visit(child, st.isDirectory, depth + 1);
    }
  };

  for (const start of starts.length > 0 ? starts : ['.']) {
    const path = sh.resolvePath(start);
    const st = await fs.stat(path);
    if (!st) {
      status = await fail(io, `find: '${start}': No such file or directory`);
      continue;
    }
    // A trailing slash resolves a link: it is a directory when it can be listed.
    const linkedDir = st.isSymlink && start.endsWith('/') && (await fs.readdir(path).then(() => true, () => false));
    await visit(start, st.isDirectory || linkedDir, 0);
  }
  if (expr.exec && found.length > 0 && (await sh.exec([...expr.exec, ...found], io)) !== 0) status = 1;
  return status;
}
