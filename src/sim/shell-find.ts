/**
 * `find` for a simulated node, in the shape ascendctl's weights and shm checks send (preflight/weights.ts,
 * preflight/shm.ts): `find START… [-maxdepth N] [-name P | ( -name P -o -name P … )] [-print | -exec CMD… {} +]`.
 * As GNU findutils (-P): entries are not followed, a start point with a trailing `/` descends into a
 * symlinked directory (the kernel resolves it). Any other expression is refused with GNU's message.
 */
import { posix } from 'node:path';
import { fail, Refusal, resolvePath, unmodelled, type ArgvContext } from './shell-builtins.js';
import type { SimIo } from './types.js';

/** fnmatch(3) for the patterns sent (`*`, `?`); a bracket expression or an escape is not modelled. */
function globRegExp(pattern: string): RegExp {
  if (/[[\\]/.test(pattern)) throw unmodelled('find', '-name patterns of * and ?');
  return new RegExp(`^${pattern.replace(/[.+^${}()|/]/g, '\\$&').replaceAll('*', '.*').replaceAll('?', '.')}$`, 's');
}

/** The parsed expression: `exec` is the command of `-exec CMD… {} +`, none for `-print`. */
type Expression = { maxDepth: number; names?: RegExp[]; exec?: string[] };

function parseExpression(args: string[]): Expression {
  const expr: Expression = { maxDepth: Infinity };
  let i = 0;
  const unknown = (): Refusal => {
    const word = args[i];
    if (word === undefined) return new Refusal('find: expected an expression');
    const why = word.startsWith('-') ? 'unknown predicate' : 'paths must precede expression:';
    return new Refusal(`find: ${why} \`${word}'`);
  };
  const operand = (of: string): string => {
    if (args[++i] === undefined) throw new Refusal(`find: missing argument to \`${of}'`);
    return args[i++]!;
  };
  const name = (): RegExp => {
    if (args[i] !== '-name') throw unknown();
    return globRegExp(operand('-name'));
  };
  if (args[i] === '-maxdepth') {
    const v = operand('-maxdepth');
    const why = `Expected a positive decimal integer argument to -maxdepth, but got \`${v}'`;
    if (!/^\d+$/.test(v)) throw new Refusal(`find: ${why}`);
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
    const why = "invalid expression; I was expecting to find a ')' somewhere but did not see one.";
    if (args[i++] !== ')') throw new Refusal(`find: ${why}`);
  }
  if (args[i] === '-print') i++;
  else if (args[i] === '-exec') {
    const end = args.indexOf('+', i + 1);
    if (end < i + 3 || args[end - 1] !== '{}') throw new Refusal("find: missing argument to `-exec'");
    expr.exec = args.slice(i + 1, end - 1);
    i = end + 1;
  }
  if (i < args.length) throw unknown();
  return expr;
}

export async function find(sh: ArgvContext, args: string[], io: SimIo): Promise<number> {
  const first = args.findIndex((a) => a.startsWith('-') || a === '(');
  const starts = first < 0 ? args : args.slice(0, first);
  const expr = parseExpression(first < 0 ? [] : args.slice(first));
  const fs = sh.node.fs;
  const found: string[] = [];
  let status = 0;

  const visit = async (path: string, isDirectory: boolean, depth: number): Promise<void> => {
    const base = posix.basename(path.replace(/(.)\/+$/, '$1'));
    if (expr.names?.some((re) => re.test(base)) ?? true) {
      if (expr.exec) found.push(path);
      else await io.stdout(`${path}\n`);
    }
    if (!isDirectory || depth >= expr.maxDepth) return;
    const names = await fs.readdir(resolvePath(path)).catch(() => undefined);
    if (!names) status = await fail(io, `find: '${path}': Permission denied`);
    for (const name of names ?? []) {
      const child = path.endsWith('/') ? `${path}${name}` : `${path}/${name}`;
      const st = await fs.stat(resolvePath(child));
      if (st) await visit(child, st.isDirectory, depth + 1);
    }
  };

  for (const start of starts.length > 0 ? starts : ['.']) {
    const path = resolvePath(start);
    const st = await fs.stat(path);
    // A trailing slash resolves a link: it is a directory when it can be listed.
    const linkedDir = st?.isSymlink && start.endsWith('/') && (await fs.readdir(path).then(() => true, () => false));
    if (st) await visit(start, st.isDirectory || linkedDir === true, 0);
    else status = await fail(io, `find: '${start}': No such file or directory`);
  }
  if (expr.exec && found.length > 0 && (await sh.exec([...expr.exec, ...found], io)) !== 0) status = 1;
  return status;
}
