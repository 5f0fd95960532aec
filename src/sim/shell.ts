/**
 * The login shell of a simulated node, reduced to what ascendctl sends (docs/architecture.md): simple
 * commands separated by `;` or newlines, each an argv worded as src/remote/quote.ts words it, with `"$?"`
 * (the last status) and `>&2` — the frame `printf '%s\n' M; printf '%s\n' M >&2; <argv>`. Each argv runs
 * through one table: the commands of shell-builtins.ts, shell-find.ts and shell-network.ts, then the
 * node's registered programs (hccn_tool, npu-smi, docker, …) by path or through PATH. No interpreter:
 * only the bench's `for i in …; do …; done` is unrolled. An unknown program fails as dash reports it
 * (`sh: 1: X: not found`, 127), any other shell syntax as `sh: 1: Syntax error: …` (2).
 */
import { posix } from 'node:path';
import type { SimNode } from './ascend-node.js';
import { BUILTINS, Refusal, resolvePath, type ArgvContext, type Builtin } from './shell-builtins.js';
import { find } from './shell-find.js';
import { ip, python3 } from './shell-network.js';
import { untilAborted } from './latency.js';
import type { SimIo } from './types.js';

const TABLE: Record<string, Builtin> = { ...BUILTINS, find, ip, python3 };
const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/** Where the table's coreutils are found by absolute path (`/usr/bin/cat`). */
const BIN_DIRS = ['/bin', '/usr/bin', '/sbin', '/usr/sbin'];

const syntaxError = (what: string): Refusal => new Refusal(`sh: 1: Syntax error: ${what}`, 2);

/** A refusal (a syntax error, a coreutil's unknown option) printed on stderr; its status. Rethrows the rest. */
async function report(err: unknown, io: SimIo): Promise<number> {
  if (!(err instanceof Refusal)) throw err;
  await io.stderr(`${err.message}\n`);
  return err.status;
}

/** One simple command: its words, and whether its standard output is sent to standard error (`>&2`). */
type SimpleCommand = { argv: string[]; toStderr: boolean };

/** `"$?"` (preflight/batch.ts), the one expansion: held in the word as this mark until the command runs. */
const LAST_STATUS = '\u0000$?';

/**
 * One token of a line: blanks, a separator, a single-quoted string (and whether it closes), `"$?"`, a
 * backslash-escaped character, `>&2`, a run of what quote.ts leaves bare (SAFE, or non-ASCII), anything else.
 */
const TOKEN = /([ \t]+)|([;\n])|'([^']*)(')?|("\$\?")|\\([^])|(>&2)(?![^\s;])|([\w@%+=:,./\-\u0080-\uffff]+)|([^])/gy;

/** Split a command line into simple commands; throws a syntax error for anything else. */
function splitCommandLine(line: string): SimpleCommand[] {
  const commands: SimpleCommand[] = [];
  let cmd: SimpleCommand = { argv: [], toStderr: false };
  let word: string | undefined;
  const endCommand = (sep: string): void => {
    if (cmd.argv.length > 0) commands.push(cmd);
    else if (sep === ';' || cmd.toStderr) throw syntaxError(`"${sep}" unexpected`);
    cmd = { argv: [], toStderr: false };
  };
  for (const [, blank, sep, quoted, closed, status, escaped, toStderr, bare, other] of line.matchAll(TOKEN)) {
    if (blank !== undefined || sep !== undefined) {
      if (word !== undefined) cmd.argv.push(word);
      word = undefined;
      if (sep !== undefined) endCommand(sep === '\n' ? 'newline' : sep);
    } else if (quoted !== undefined && closed === undefined) throw syntaxError('Unterminated quoted string');
    else if (toStderr !== undefined && word === undefined) cmd.toStderr = true;
    else if (other !== undefined || toStderr !== undefined) {
      throw syntaxError(`"${other ?? '>'}" unexpected (the simulated node runs quoted argv only)`);
    } else if (word === undefined && cmd.argv.length === 0 && /^[A-Za-z_]\w*=/.test(bare ?? '')) {
      throw syntaxError('variable assignments are not run by the simulated node');
    } else if (escaped !== '\n') word = (word ?? '') + (quoted ?? (status && LAST_STATUS) ?? escaped ?? bare);
  }
  if (word !== undefined) cmd.argv.push(word);
  endCommand('end of file');
  return commands;
}

/**
 * `for NAME in WORDS; do BODY; done` (nestable), unrolled before splitting: bench/preflight.ts's manual
 * checklist loops over the NPUs so. `$NAME`/`${NAME}` take each word; any other `$` stays a syntax error.
 */
function unrollLoops(line: string): string {
  const m = /(^|[;\n]\s*)for ([A-Za-z_][A-Za-z0-9_]*) in ([^;\n'"]*)[;\n]\s*do\s/.exec(line);
  if (!m) return line;
  const [all, lead = '', name = '', list = ''] = m;
  const keyword = /(^|[\s;])(do|done)(?=[\s;]|$)/g;
  keyword.lastIndex = m.index + all.length;
  let depth = 1;
  let k: RegExpExecArray | null;
  while (depth > 0 && (k = keyword.exec(line))) depth += k[2] === 'do' ? 1 : -1;
  if (depth > 0) throw syntaxError('end of file unexpected (expecting "done")');
  const end = keyword.lastIndex - 'done'.length;
  const body = line.slice(m.index + all.length, end).replace(/[\s;]+$/, '');
  const ref = new RegExp(`\\$(?:\\{${name}\\}|${name}(?![A-Za-z0-9_]))`, 'g');
  const words = list.trim().split(/\s+/).filter(Boolean);
  const unrolled = words.map((word) => unrollLoops(body.replace(ref, word))).join('; ');
  return `${line.slice(0, m.index + lead.length)}${unrolled}${unrollLoops(line.slice(keyword.lastIndex))}`;
}

/** Runs argv on one node through the program table. */
class Shell implements ArgvContext {
  constructor(readonly node: SimNode) {}

  /** Run the command line as the node's login shell would (see the module comment). */
  async run(line: string, io: SimIo): Promise<number> {
    let status = 0;
    try {
      for (const { argv, toStderr } of splitCommandLine(unrollLoops(line))) {
        if (io.signal.aborted) return 143;
        // `exit [N]` ends the list (the special builtin, as in `sh -c 'echo out; exit 3'`).
        if (argv[0] === 'exit') return argv[1] === undefined ? status : Number(argv[1]) & 0xff;
        const words = argv.map((w) => w.replaceAll(LAST_STATUS, String(status)));
        status = await this.exec(words, toStderr ? { ...io, stdout: io.stderr } : io);
      }
    } catch (err) {
      return report(err, io);
    }
    return status;
  }

  /** Run one argv: a command of the table, or a registered program by absolute path or through PATH. */
  async exec(argv: string[], io: SimIo): Promise<number> {
    const [name = '', ...args] = argv;
    const env = { PATH: DEFAULT_PATH, HOME: '/root', USER: 'root', LOGNAME: 'root', HOSTNAME: this.node.name };
    const childIo: SimIo = { ...io, env: { ...env, ...io.env } };
    const path = name.includes('/') ? resolvePath(name) : undefined;
    // A bare name is the table's before PATH's (and then no PATH walk, the commonest case); by path, the
    // node's program before the table's coreutil.
    const own = path === undefined ? TABLE[name] : undefined;
    const program = own ? undefined : path === undefined
      ? DEFAULT_PATH.split(':').map((dir) => this.node.programAt(posix.join(dir, name))).find(Boolean)
      : this.node.programAt(path);
    const builtin = own ?? (path !== undefined && !program && BIN_DIRS.includes(posix.dirname(path))
      ? TABLE[posix.basename(path)] : undefined);
    // A stuck coreutil (program-hang) answers nothing until its caller gives up; node programs: SimNode.run.
    if (builtin && this.node.faultsOf('program-hang').some((f) => f.program === posix.basename(name))) {
      return untilAborted(io.signal).then(() => 143);
    }
    if (builtin) return builtin(this, args, childIo).catch((err: unknown) => report(err, io));
    if (program) return this.node.run(program, args, childIo);
    await io.stderr(`sh: 1: ${name}: not found\n`);
    return 127;
  }
}

/** Run a command line on a node as its login shell would. Resolves with the exit status. */
export async function runShell(node: SimNode, command: string, io: SimIo): Promise<number> {
  return new Shell(node).run(command, io);
}
