/**
 * The login shell of a simulated node, reduced to what an SSH client of ascendctl's kind sends: a list
 * of simple commands, each an argv written as src/remote/quote.ts writes words (bare safe words,
 * POSIX single quotes, `'\''`, and `"$?"` for the last status), separated by `;` or newlines, a command
 * optionally sending its output to stderr with `>&2` — the frame `printf '%s\n' M; printf '%s\n' M >&2;
 * <argv>` (docs/architecture.md).
 * Each argv runs through one table, program name → handler: the coreutils of shell-builtins.ts
 * (`timeout` and `sudo` are wrappers that run the rest of their argv through the same table, `sh -c`
 * runs its string as another such line), `find` (shell-find.ts), `ip` and `python3` (shell-network.ts),
 * and the node's registered programs (hccn_tool, npu-smi, docker, …) by path or through PATH. There is no
 * interpreter (only the operator's `for i in 0 1 …; do …; done` is unrolled, see unrollLoops): no
 * variables, pipes, `&&`, globs or redirections to files. A program the table does not
 * know fails as dash reports it (`sh: 1: X: not found`, 127); a command line beyond these words fails
 * loudly as a syntax error (`sh: 1: Syntax error: …`, 2), so a test can never pass on shell the real
 * node would read differently.
 */
import { posix } from 'node:path';
import type { SimNode } from './ascend-node.js';
import { BUILTINS, type ArgvContext, type Builtin } from './shell-builtins.js';
import { find } from './shell-find.js';
import { NETWORK_BUILTINS } from './shell-network.js';
import type { SimIo } from './types.js';

/** The program table's own commands: coreutils, `find`, and `ip`/`python3` (shell-network.ts). */
const TABLE: Record<string, Builtin> = { ...BUILTINS, find, ...NETWORK_BUILTINS };

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/** Where the coreutils of the table live on a node, for a call by absolute path (`/usr/bin/cat`). */
const BIN_DIRS = ['/bin', '/usr/bin', '/sbin', '/usr/sbin'];

export class ShellSyntaxError extends Error {
  override name = 'ShellSyntaxError';
}

/** One simple command: its words, and whether its standard output is sent to standard error (`>&2`). */
export interface SimpleCommand {
  argv: string[];
  toStderr: boolean;
}

/**
 * `"$?"`, the one expansion taken: the last command's exit status, as preflight's batches report each
 * call's (src/preflight/batch.ts). Held in the word as this mark until the command runs.
 */
const LAST_STATUS = '\u0000$?';

/** Characters a word may hold unquoted: exactly quote.ts's SAFE set. */
const SAFE = /[A-Za-z0-9_@%+=:,./-]/;

/** Split a command line into simple commands; throws ShellSyntaxError for anything else. */
export function splitCommandLine(line: string): SimpleCommand[] {
  const commands: SimpleCommand[] = [];
  let cmd: SimpleCommand = { argv: [], toStderr: false };
  let word: string | undefined;
  const endWord = (): void => {
    if (word !== undefined) cmd.argv.push(word);
    word = undefined;
  };
  const endCommand = (sep: string): void => {
    endWord();
    if (cmd.argv.length > 0) commands.push(cmd);
    else if (sep === ';' || cmd.toStderr) throw new ShellSyntaxError(`Syntax error: "${sep}" unexpected`);
    cmd = { argv: [], toStderr: false };
  };
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === ' ' || c === '\t') endWord();
    else if (c === ';' || c === '\n') endCommand(c === '\n' ? 'newline' : c);
    else if (c === "'") {
      const close = line.indexOf("'", i + 1);
      if (close < 0) throw new ShellSyntaxError('Syntax error: Unterminated quoted string');
      word = (word ?? '') + line.slice(i + 1, close);
      i = close;
    } else if (c === '"' && line.startsWith('"$?"', i)) {
      word = (word ?? '') + LAST_STATUS;
      i += 3;
    } else if (c === '\\' && i + 1 < line.length) {
      if (line[i + 1] !== '\n') word = (word ?? '') + line[i + 1];
      i++;
    } else if (c === '>' && word === undefined && line.startsWith('>&2', i) && /^[\s;]?$/.test(line[i + 3] ?? '')) {
      cmd.toStderr = true;
      i += 2;
    } else if (SAFE.test(c) || c.charCodeAt(0) > 0x7f) {
      if (word === undefined && c !== '=' && cmd.argv.length === 0 && /^[A-Za-z_][A-Za-z0-9_]*=/.test(line.slice(i))) {
        throw new ShellSyntaxError('Syntax error: variable assignments are not run by the simulated node');
      }
      word = (word ?? '') + c;
    } else {
      throw new ShellSyntaxError(`Syntax error: "${c}" unexpected (the simulated node runs quoted argv only)`);
    }
  }
  endCommand('end of file');
  return commands;
}

/**
 * `for NAME in WORDS; do BODY; done` (nestable), unrolled into simple commands before splitting: the
 * manual checklist an operator types through pdsh loops over the NPUs that way (bench/preflight.ts, the
 * baseline preflight is measured against). In BODY `$NAME` and `${NAME}` take each word in turn; no other
 * expansion exists, so anything else with `$` still fails as a syntax error.
 */
export function unrollLoops(line: string): string {
  const m = /(^|[;\n]\s*)for ([A-Za-z_][A-Za-z0-9_]*) in ([^;\n'"]*)[;\n]\s*do\s/.exec(line);
  if (!m) return line;
  const [all, lead = '', name = '', list = ''] = m;
  const bodyStart = m.index + all.length;
  const keyword = /(^|[\s;])(do|done)(?=[\s;]|$)/g;
  keyword.lastIndex = bodyStart;
  let depth = 1;
  let end = -1;
  for (let k = keyword.exec(line); k; k = keyword.exec(line)) {
    depth += k[2] === 'do' ? 1 : -1;
    if (depth === 0) {
      end = k.index + k[1]!.length;
      break;
    }
  }
  if (end < 0) throw new ShellSyntaxError('Syntax error: end of file unexpected (expecting "done")');
  const body = line.slice(bodyStart, end).replace(/[\s;]+$/, '');
  const ref = new RegExp(`\\$(?:\\{${name}\\}|${name}(?![A-Za-z0-9_]))`, 'g');
  const unrolled = list.trim().split(/\s+/).filter(Boolean).map((word) => unrollLoops(body.replace(ref, word))).join('; ');
  return `${line.slice(0, m.index + lead.length)}${unrolled}${unrollLoops(line.slice(end + 'done'.length))}`;
}

/** Runs argv on one node: the program table, and the working directory relative paths resolve against. */
export class Shell implements ArgvContext {
  readonly cwd = '/root';

  constructor(readonly node: SimNode) {}

  resolvePath(p: string): string {
    return posix.resolve(this.cwd, p);
  }

  /** Run the command line as the node's login shell would (see the module comment). */
  async run(line: string, io: SimIo): Promise<number> {
    let commands: SimpleCommand[];
    try {
      commands = splitCommandLine(unrollLoops(line));
    } catch (err) {
      if (!(err instanceof ShellSyntaxError)) throw err;
      await io.stderr(`sh: 1: ${err.message}\n`);
      return 2;
    }
    let status = 0;
    for (const { argv, toStderr } of commands) {
      if (io.signal.aborted) return 143;
      // `exit [N]` ends the list (the special builtin, as in `sh -c 'echo out; exit 3'`).
      if (argv[0] === 'exit') return argv[1] === undefined ? status : Number(argv[1]) & 0xff;
      const words = argv.map((w) => (w.includes(LAST_STATUS) ? w.replaceAll(LAST_STATUS, String(status)) : w));
      status = await this.exec(words, toStderr ? { ...io, stdout: io.stderr } : io);
    }
    return status;
  }

  /** Run one argv: a command of the table, or a registered program by absolute path or through PATH. */
  async exec(argv: string[], io: SimIo): Promise<number> {
    const [name = '', ...args] = argv;
    const childIo: SimIo = {
      ...io, env: { PATH: DEFAULT_PATH, HOME: '/root', USER: 'root', LOGNAME: 'root', HOSTNAME: this.node.name, ...io.env },
    };
    if (!name.includes('/')) {
      const builtin = TABLE[name];
      if (builtin) return builtin(this, args, childIo);
      const program = DEFAULT_PATH.split(':').map((dir) => this.node.programAt(posix.join(dir, name))).find(Boolean);
      if (program) return this.node.run(program, args, childIo);
    } else {
      const path = this.resolvePath(name);
      const program = this.node.programAt(path);
      if (program) return this.node.run(program, args, childIo);
      const builtin = BIN_DIRS.includes(posix.dirname(path)) ? TABLE[posix.basename(path)] : undefined;
      if (builtin) return builtin(this, args, childIo);
      if ((await this.node.fs.stat(path))?.isDirectory === false) {
        await io.stderr(`sh: 1: ${name}: Permission denied\n`);
        return 126;
      }
    }
    await io.stderr(`sh: 1: ${name}: not found\n`);
    return 127;
  }
}

/** Run a command line on a node as its login shell would. Resolves with the exit status. */
export async function runShell(node: SimNode, command: string, io: SimIo): Promise<number> {
  return new Shell(node).run(command, io);
}
