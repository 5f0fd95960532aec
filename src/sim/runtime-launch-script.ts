/**
 * How a simulated container follows its launch script (`bash /var/lib/ascendctl/<dep>/launch.sh`): not a
 * bash interpreter but a line-oriented recogniser of the steps a launcher takes before it hands over to
 * the server (docs/mindie-multinode.md §4.1, §7, §12.2):
 *   - `unset`/`export` of variables and plain `NAME=value` assignments;
 *   - `. set_env.sh` (alone, after `[ -f … ] &&`, or in an `if/elif/else/fi` chain choosing the one that
 *     exists), and `set -u`, under which the set_env scripts abort;
 *   - `mkdir -p DIR && cd DIR || exit N`, `rm -f /dev/shm/…` (left to the daemon's own shared-memory check),
 *     `echo` (to the container log), `exit N`;
 *   - finding the server or the NIC: `[ -x/-f/-d/-z/-n … ]`, and a whole line `NAME=$(…)` of
 *     `command -v NAME` or of the NIC lookup (`ip -o -4 addr show | awk …` or python3's psutil), which
 *     prints `lo` for the node's address (a simulated node's address sits on the loopback interface, and
 *     `--net=host` shows the container the node's interfaces);
 *   - `exec` (or a bare call) of mindieservice_daemon, mindie_llm_server or `vllm serve`.
 * Words are expanded as bash does for these shapes ('…', "…", $NAME, ${NAME}, ${NAME:-default}). Every line,
 * taken or not, must have one of these shapes; any other command stops the launch with bash's
 * `command not found` (127) and any other syntax (loops, pipes, redirections) with exit 2, both in the
 * container log, so a launcher the simulator cannot follow fails loudly instead of half-running.
 */

export interface ScriptFs {
  exists(path: string, kind: 'file' | 'dir' | 'exec'): Promise<boolean>;
  /** The node's own address: the one `ip -o -4 addr show` lists on `lo`. */
  readonly nodeIp?: string;
}

export interface ScriptResult {
  env: Record<string, string>;
  /** Scripts actually sourced, in order. */
  sourced: string[];
  cwd: string;
  /** The command the script runs last as the server (exec or a foreground server command). */
  command: string[] | undefined;
  /** What the script itself printed (echo) and the errors bash would report. */
  output: { stream: 'stdout' | 'stderr'; text: string }[];
  /** Set when `set -u` is on: the set_env scripts then abort on unset variables. */
  nounset: boolean;
  /** Set when the script ended (`exit N`, or a line it cannot follow) before handing over to a server. */
  exitCode?: number;
}

const SERVER = /(^|\/)(mindieservice_daemon|mindie_llm_server|vllm)$/;
/** Redirections the launchers use: an echo to stderr, a probe's errors discarded. */
const REDIRECT = /^(1?>&2|2>\/dev\/null)$/;
/** One word: quoted parts, `${…}`, and unquoted characters up to a blank. */
const WORD = /(?:'[^']*'|"(?:\\.|[^"\\])*"|\$\{[^}]*\}|\\.|[^\s'"\\])+/g;

class Refusal extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
  }
}

/** A simple command's status, or 'end' when the script hands over (exec) or exits. */
type Status = number | 'end';
type Step = (s: LaunchScript, args: string[], raw: string[]) => Status | void | Promise<Status | void>;

/** The launcher steps by command name (their expanded arguments; `raw` keeps the redirections); no status is 0. */
const STEPS = new Map<string, Step>([
  ['export', (s, args) => {
    for (const a of args) {
      const eq = a.indexOf('=');
      const name = eq >= 0 ? a.slice(0, eq) : a;
      const v = eq >= 0 ? a.slice(eq + 1) : s.vars[a];
      if (v !== undefined) s.env[name] = v;
      delete s.vars[name];
    }
  }],
  ['unset', (s, args) => {
    for (const a of args) {
      delete s.env[a];
      delete s.vars[a];
    }
  }],
  ['.', async (s, [file = '']) => {
    if (!(await s.fs.exists(s.resolve(file), 'file'))) return s.fail(`${file}: No such file or directory`);
    s.result.sourced.push(s.resolve(file));
  }],
  ['set', (s, args) => {
    for (const a of args) if (/^[-+]\w*u/.test(a) || a === 'nounset') s.result.nounset = !a.startsWith('+');
  }],
  ['mkdir', (s, args) => {
    for (const a of args) if (!a.startsWith('-')) s.made.add(s.resolve(a));
  }],
  ['cd', async (s, args) => {
    const dir = s.resolve(args[0] ?? s.env.HOME ?? '/root');
    if (!s.made.has(dir) && !(await s.fs.exists(dir, 'dir'))) {
      return s.fail(`cd: ${args[0] ?? ''}: No such file or directory`);
    }
    s.result.cwd = dir;
  }],
  ['echo', (s, args, raw) => {
    s.result.output.push({ stream: raw.some((w) => w.endsWith('>&2')) ? 'stderr' : 'stdout', text: args.join(' ') });
  }],
  ['exit', (s, args) => {
    s.result.exitCode = Number(args[0] ?? 0) || 0;
    return 'end';
  }],
  ['[', async (s, args) => ((await s.test(args.slice(0, -1))) ? 0 : 1)],
  ['rm', () => {}],
  ['exec', (s, args) => s.handOver(args)],
]);

/**
 * A line's simple commands (words with quotes kept), each with the `&&`/`||` joining it to the one
 * before. Other syntax, and commands other than the launcher steps, are refused as bash would fail them.
 */
function commands(line: string): { join: string | undefined; words: string[] }[] {
  const list: { join: string | undefined; words: string[] }[] = [{ join: undefined, words: [] }];
  for (const word of line.match(WORD) ?? []) {
    const bare = word.replace(/'[^']*'|"(?:\\.|[^"\\])*"|\$\{[^}]*\}|\\./g, '');
    if (word === '&&' || word === '||') list.push({ join: word, words: [] });
    else if (REDIRECT.test(word) || !/[;|&<>(){}`]/.test(bare)) list.at(-1)!.words.push(word);
    else throw new Refusal(2, `syntax error near \`${word}' (not a launcher step the simulator follows)`);
  }
  for (const c of list) {
    const name = c.words[0] ?? '';
    if (STEPS.has(name) || /^[A-Za-z_]\w*=/.test(name) || SERVER.test(name)) continue;
    if (/^(for|while|until|case|function|do|done|then|esac)$/.test(name)) {
      throw new Refusal(2, `syntax error near unexpected token \`${name}'`);
    }
    throw new Refusal(127, `${name}: command not found`);
  }
  return list;
}

/** One run of a launch script: its shell variables, the directories it made, and what it did so far. */
class LaunchScript {
  readonly vars: Record<string, string> = {};
  readonly made = new Set<string>();
  readonly result: ScriptResult;
  private lineNo = 0;

  constructor(readonly env: Record<string, string>, readonly fs: ScriptFs) {
    this.result = { env, sourced: [], cwd: '/', command: undefined, output: [], nounset: false };
  }

  fail(text: string): number {
    this.result.output.push({ stream: 'stderr', text: `launch.sh: line ${this.lineNo}: ${text}` });
    return 1;
  }

  resolve(p: string): string {
    return p.startsWith('/') ? p : `${this.result.cwd.replace(/\/$/, '')}/${p}`;
  }

  private value(name: string): string | undefined {
    return this.vars[name] ?? this.env[name];
  }

  private assign(name: string, v: string): void {
    if (name in this.env) this.env[name] = v;
    else this.vars[name] = v;
  }

  /** `$NAME`, `${NAME}` and `${NAME:-default}`. */
  private expandVars(text: string): string {
    return text.replace(/\$\{(\w+)(:-([^}]*))?\}|\$(\w+)/g, (_m, braced, withDefault, dflt: string, plain) => {
      const v = this.value((braced ?? plain) as string);
      return withDefault !== undefined && (v === undefined || v === '') ? this.expandVars(dflt) : v ?? '';
    });
  }

  /** Quote removal and parameter expansion, as bash does them for these words. */
  private expand(word: string): string {
    return word.replace(/'([^']*)'|"((?:\\.|[^"\\])*)"|((?:\$\{[^}]*\}|\\.|[^'"\\])+)/g, (_m, single, double, bare) => {
      if (single !== undefined) return single as string;
      if (double !== undefined) return this.expandVars(double as string).replace(/\\(["\\$`])/g, '$1');
      return this.expandVars(bare as string).replace(/\\(.)/g, '$1');
    });
  }

  private async onPath(name: string): Promise<string | undefined> {
    for (const dir of (this.value('PATH') ?? '/usr/local/bin:/usr/bin:/bin').split(':')) {
      if (await this.fs.exists(`${dir}/${name}`, 'exec')) return `${dir}/${name}`;
    }
    return undefined;
  }

  /**
   * `$(…)`: the probes a launcher makes. Asked for the NIC carrying an address (`ip -o -4 addr show | awk …`
   * or python3's psutil), the node answers `lo` for its own address; a program the image lacks prints
   * nothing but its error; any other command is refused.
   */
  private async substitute(text: string): Promise<string> {
    const command = this.expandVars(text);
    if (/^ip -o -4 addr show\b|^python3 -c .*net_if_addrs/.test(command)) {
      return [...command.matchAll(/\b\d+\.\d+\.\d+\.\d+\b/g)].at(-1)?.[0] === this.fs.nodeIp ? 'lo' : '';
    }
    const probe = /^command -v (\S+)/.exec(command)?.[1];
    if (probe?.includes('/')) return (await this.fs.exists(probe, 'exec')) ? probe : '';
    if (probe !== undefined) return (await this.onPath(probe)) ?? '';
    const program = command.split(/\s+/)[0] ?? '';
    if (await this.onPath(program)) throw new Refusal(127, `$(${program} …): not a probe the simulator follows`);
    if (!/\b2>\/dev\/null\b/.test(command)) this.fail(`${program}: command not found`);
    return '';
  }

  async test(a: string[]): Promise<boolean> {
    if (a[0] === '!') return !(await this.test(a.slice(1)));
    const [flag, arg] = a;
    if (a.length === 2 && arg !== undefined) {
      const kind = ({ '-f': 'file', '-d': 'dir', '-x': 'exec' } as const)[flag as '-f'];
      if (kind) return this.fs.exists(this.resolve(arg), kind);
      if (flag === '-z' || flag === '-n') return (arg === '') === (flag === '-z');
    }
    if (a.length === 1) return a[0] !== '';
    throw new Refusal(2, `[: ${a.join(' ')}: a test the simulator does not follow`);
  }

  /** `exec SERVER …` or a bare server command: the script ends by handing over to it. */
  handOver(argv: string[]): Status {
    if (argv[0] === undefined || !SERVER.test(argv[0])) {
      throw new Refusal(127, `${argv[0] ?? 'exec'}: not a server the simulated image runs`);
    }
    this.result.command = [argv[0].includes('/') ? this.resolve(argv[0]) : argv[0], ...argv.slice(1)];
    return 'end';
  }

  /** One simple command: an assignment, a step of the table, or a server. */
  private async run(raw: string[]): Promise<Status> {
    const words = raw.filter((w) => !REDIRECT.test(w)).map((w) => this.expand(w));
    const [cmd, ...args] = words;
    if (cmd === undefined) return 0;
    const assignment = /^([A-Za-z_]\w*)=(.*)$/s.exec(cmd);
    if (assignment && args.length === 0) {
      this.assign(assignment[1]!, assignment[2]!);
      return 0;
    }
    const step = STEPS.get(cmd);
    return step ? ((await step(this, args, raw)) ?? 0) : this.handOver(words);
  }

  /** A line's commands joined by && / ||, as bash runs them. */
  private async list(line: string): Promise<Status> {
    let status = 0;
    for (const c of commands(line)) {
      if ((c.join === '&&' && status !== 0) || (c.join === '||' && status === 0)) continue;
      const s = await this.run(c.words);
      if (s === 'end') return s;
      status = s;
    }
    return status;
  }

  /** Every line, with its `\`-continuations joined; each `if` opens a frame (is its branch on, was one taken). */
  async follow(script: string): Promise<ScriptResult> {
    const frames: { on: boolean; taken: boolean; parent: boolean }[] = [];
    const active = (): boolean => frames.at(-1)?.on ?? true;
    try {
      let ended = false;
      for (const raw of script.replace(/\\\n/g, ' ').split('\n')) {
        this.lineNo++;
        const line = raw.trim();
        if (line === '' || line.startsWith('#')) continue;
        const branch = /^(if|elif) (.*); then$/.exec(line);
        const word = branch?.[1] ?? line;
        const probe = /^([A-Za-z_]\w*)=\$\((.*)\)$/.exec(line);
        if (probe) {
          if (active()) this.assign(probe[1]!, await this.substitute(probe[2]!));
        } else if (branch) {
          commands(branch[2]!);
          if (word === 'if') frames.push({ on: false, taken: false, parent: active() });
          const frame = frames.at(-1);
          if (!frame) throw new Refusal(2, "syntax error near unexpected token `elif'");
          frame.on = false;
          if (frame.parent && !frame.taken) {
            const s = await this.list(branch[2]!);
            if ((ended = s === 'end')) break;
            frame.on = frame.taken = s === 0;
          }
        } else if (word === 'else' || word === 'fi') {
          const frame = word === 'fi' ? frames.pop() : frames.at(-1);
          if (!frame) throw new Refusal(2, `syntax error near unexpected token \`${word}'`);
          frame.on = frame.parent && !frame.taken;
        } else {
          commands(line);
          if (active() && (ended = (await this.list(line)) === 'end')) break;
        }
      }
      if (!ended && frames.length > 0) throw new Refusal(2, 'syntax error: unexpected end of file');
    } catch (e) {
      if (!(e instanceof Refusal)) throw e;
      this.fail(e.message);
      this.result.exitCode = e.code;
    }
    return this.result;
  }
}

/** Follow `script` from `/` and a copy of `initialEnv`: what it sourced and set, and the server it hands over to. */
export function followLaunchScript(
  script: string, initialEnv: Record<string, string>, fs: ScriptFs,
): Promise<ScriptResult> {
  return new LaunchScript({ ...initialEnv }, fs).follow(script);
}
