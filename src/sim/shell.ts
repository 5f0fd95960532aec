/**
 * The login shell of a simulated node: runs the command string an SSH client sends over the node's
 * SimFs and program table, the way sshd hands it to `sh -c`. Messages follow dash (`sh: 1: X: not
 * found`, exit 127); bash's `{0..7}` brace expansion is supported because guides use it.
 */
import { posix } from 'node:path';
import type { SimNode } from './ascend-node.js';
import { BytePipe, bufferIterable } from './byte-pipe.js';
import { BUILTINS, SHELL_BUILTINS, ShellExit } from './shell-builtins.js';
import {
  braceExpand, parse, ShellSyntaxError, type AndOr, type Command, type List, type Pipeline, type Redir, type Word,
} from './shell-parse.js';
import type { SimIo } from './types.js';

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export { ShellExit };

export class Shell {
  readonly vars: Map<string, string>;
  cwd: string;
  status = 0;
  errexit = false;
  positional: string[] = [];

  constructor(readonly node: SimNode, env: Record<string, string> = {}, cwd = '/root') {
    this.cwd = cwd;
    this.vars = new Map(Object.entries({
      PATH: DEFAULT_PATH, HOME: '/root', USER: 'root', LOGNAME: 'root', SHELL: '/bin/bash',
      HOSTNAME: node.name, PWD: cwd, ...env,
    }));
  }

  /** A child shell (`sh -c`): same node, copied variables and directory. */
  child(): Shell {
    return new Shell(this.node, Object.fromEntries(this.vars), this.cwd);
  }

  resolvePath(p: string): string {
    return posix.resolve(this.cwd, p);
  }

  env(): Record<string, string> {
    return Object.fromEntries(this.vars);
  }

  async run(script: string, io: SimIo): Promise<number> {
    let list: List;
    try {
      list = parse(script);
    } catch (err) {
      if (err instanceof ShellSyntaxError) {
        await io.stderr(`sh: 1: ${err.message}\n`);
        return 2;
      }
      throw err;
    }
    try {
      return await this.runList(list, io);
    } catch (err) {
      if (err instanceof ShellExit) return err.code;
      throw err;
    }
  }

  async runList(list: List, io: SimIo): Promise<number> {
    for (const item of list.items) {
      if (io.signal.aborted) return (this.status = 143);
      const status = await this.runAndOr(item, io);
      this.status = status;
      if (this.errexit && status !== 0 && item.rest.length === 0 && !item.first.bang) throw new ShellExit(status);
    }
    return this.status;
  }

  private async runAndOr(item: AndOr, io: SimIo): Promise<number> {
    let status = await this.runPipeline(item.first, io);
    for (const { op, pipeline } of item.rest) {
      this.status = status;
      if ((op === '&&' && status === 0) || (op === '||' && status !== 0)) status = await this.runPipeline(pipeline, io);
    }
    return status;
  }

  private async runPipeline(p: Pipeline, io: SimIo): Promise<number> {
    let status: number;
    if (p.cmds.length === 1) {
      status = await this.runCommand(p.cmds[0] as Command, io);
    } else {
      const runs: Promise<number>[] = [];
      let input = io.stdin;
      for (let i = 0; i < p.cmds.length; i++) {
        const cmd = p.cmds[i] as Command;
        const last = i === p.cmds.length - 1;
        const pipe = last ? undefined : new BytePipe();
        const stage = new AbortController();
        const signal = AbortSignal.any([io.signal, stage.signal]);
        // A stage whose reader finished gets SIGPIPE, like `docker logs -f | head -n 1`.
        pipe?.onReaderClosed(() => stage.abort());
        const upstream = i > 0 && input instanceof BytePipe ? input : undefined;
        const stageIo: SimIo = { ...io, signal, stdin: input, stdout: pipe ? (c) => pipe.write(c) : io.stdout };
        runs.push(this.child().runCommand(cmd, stageIo).finally(() => {
          pipe?.end();
          upstream?.close();
        }));
        input = pipe ?? null;
      }
      const results = await Promise.all(runs);
      status = results[results.length - 1] ?? 0;
    }
    return p.bang ? (status === 0 ? 1 : 0) : status;
  }

  async runCommand(cmd: Command, io: SimIo): Promise<number> {
    let rio: SimIo;
    try {
      rio = await this.applyRedirs(cmd.redirs, io);
    } catch (err) {
      await io.stderr(`sh: 1: ${(err as Error).message}\n`);
      return 2;
    }
    if (cmd.k === 'for') {
      const items = this.expandWords(cmd.items);
      let status = 0;
      for (const item of items) {
        if (rio.signal.aborted) return 143;
        this.vars.set(cmd.name, item);
        status = await this.runList(cmd.body, rio);
      }
      return status;
    }
    const argv = this.expandWords(cmd.words);
    const assigns = cmd.assigns.map((a) => [a.name, this.expandWord(a.value, false).join(' ')] as const);
    if (argv.length === 0) {
      for (const [k, v] of assigns) this.vars.set(k, v);
      return 0;
    }
    if (assigns.length === 0) return this.exec(argv, rio);
    // `VAR=value cmd`: the assignment lives only for that command.
    const saved = new Map(this.vars);
    for (const [k, v] of assigns) this.vars.set(k, v);
    try {
      return await this.exec(argv, rio);
    } finally {
      this.vars.clear();
      for (const [k, v] of saved) this.vars.set(k, v);
    }
  }

  /** Run one argv: a builtin, or a program found by absolute path or through PATH. */
  async exec(argv: string[], io: SimIo): Promise<number> {
    const [name = '', ...args] = argv;
    const childIo: SimIo = { ...io, env: { ...io.env, ...this.env() } };
    const builtin = BUILTINS[name];
    if (builtin) return builtin(this, args, childIo);
    if (name.includes('/')) {
      const path = this.resolvePath(name);
      const program = this.node.programAt(path);
      if (program) return this.node.run(program, args, childIo);
      const base = posix.basename(path);
      if (BUILTINS[base] && !SHELL_BUILTINS.has(base) && ['/bin', '/usr/bin', '/sbin', '/usr/sbin'].includes(posix.dirname(path))) {
        return (BUILTINS[base] as NonNullable<(typeof BUILTINS)[string]>)(this, args, childIo);
      }
      const st = await this.node.fs.stat(path);
      if (st && !st.isDirectory) {
        await io.stderr(`sh: 1: ${name}: Permission denied\n`);
        return 126;
      }
      await io.stderr(`sh: 1: ${name}: not found\n`);
      return 127;
    }
    const program = this.lookup(name);
    if (program) return this.node.run(program, args, childIo);
    await io.stderr(`sh: 1: ${name}: not found\n`);
    return 127;
  }

  /** The registered program `name` resolves to through PATH, if any. */
  lookup(name: string): string | undefined {
    for (const dir of (this.vars.get('PATH') ?? DEFAULT_PATH).split(':')) {
      if (!dir) continue;
      const program = this.node.programAt(posix.join(dir, name));
      if (program) return program;
    }
    return undefined;
  }

  private async applyRedirs(redirs: Redir[], io: SimIo): Promise<SimIo> {
    let stdin = io.stdin;
    const fds: Record<number, (c: string | Buffer) => Promise<void>> = { 1: io.stdout, 2: io.stderr };
    const discard = async (): Promise<void> => {};
    for (const r of redirs) {
      const target = this.expandWord(r.target, false).join(' ');
      if (r.op === '<') {
        if (target === '/dev/null') stdin = null;
        else if (target === '/dev/stdin') continue;
        else {
          const path = this.resolvePath(target);
          const st = await this.node.fs.stat(path);
          if (!st) throw new Error(`cannot open ${target}: No such file`);
          stdin = bufferIterable(await this.node.fs.readFile(path));
        }
      } else if (r.op === '>&') {
        if (target === '-') { fds[r.fd] = discard; continue; }
        const from = fds[Number(target)];
        if (!/^\d+$/.test(target) || !from) throw new Error(`${target}: Bad file descriptor`);
        fds[r.fd] = from;
      } else if (r.op === '<&') {
        continue;
      } else {
        if (target === '/dev/null') fds[r.fd] = discard;
        else if (target === '/dev/stdout') fds[r.fd] = fds[1] ?? discard;
        else if (target === '/dev/stderr') fds[r.fd] = fds[2] ?? discard;
        else {
          const path = this.resolvePath(target);
          const st = await this.node.fs.stat(path);
          if (st?.isDirectory) throw new Error(`cannot create ${target}: Is a directory`);
          if (r.op === '>' || !st) {
            try {
              await this.node.fs.writeFile(path, '');
            } catch {
              throw new Error(`cannot create ${target}: Directory nonexistent`);
            }
          }
          const fs = this.node.fs;
          fds[r.fd] = (c) => fs.appendFile(path, c);
        }
      }
    }
    return { ...io, stdin, stdout: fds[1] ?? discard, stderr: fds[2] ?? discard };
  }

  expandWords(words: Word[]): string[] {
    return words.flatMap((w) => this.expandWord(w, true));
  }

  /** Expand one word: brace expansion (unquoted literal words), variables, field splitting. */
  expandWord(word: Word, split: boolean): string[] {
    const only = word.parts[0];
    if (word.parts.length === 1 && only?.t === 'lit' && !only.quoted) return split ? braceExpand(only.s) : [only.s];
    const fields: string[] = [];
    let cur = '';
    let has = false;
    for (const part of word.parts) {
      if (part.t === 'lit') {
        cur += part.s;
        has = true;
        continue;
      }
      const value = this.variable(part.name);
      if (part.quoted || !split) {
        cur += value;
        has = true;
        continue;
      }
      const pieces = value.split(/[ \t\n]+/);
      for (let i = 0; i < pieces.length; i++) {
        const piece = pieces[i] ?? '';
        if (i > 0) {
          if (has) fields.push(cur);
          cur = '';
          has = false;
        }
        if (piece !== '') {
          cur += piece;
          has = true;
        }
      }
    }
    if (has) fields.push(cur);
    return fields;
  }

  private variable(name: string): string {
    if (name === '?') return String(this.status);
    if (name === '$') return String(4242 + this.node.index);
    if (name === '#') return String(this.positional.length);
    if (name === '@' || name === '*') return this.positional.join(' ');
    if (/^\d+$/.test(name)) return name === '0' ? 'sh' : (this.positional[Number(name) - 1] ?? '');
    return this.vars.get(name) ?? '';
  }
}

/** Run a command string on a node as its login shell would. Resolves with the exit status. */
export async function runShell(node: SimNode, command: string, io: SimIo): Promise<number> {
  return new Shell(node, io.env).run(command, io);
}
