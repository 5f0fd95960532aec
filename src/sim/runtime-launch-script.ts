/**
 * A small bash interpreter for container launch scripts: enough to follow what a launcher does before it
 * hands over to the server (which set_env scripts it sources, what it exports/unsets, where it `cd`s, what
 * it execs). Statements: assignments, `export`, `unset`, `.`/`source`, `cd`, `exec`, `echo`, `&&`, `||`,
 * `;`, `if/elif/else/fi` with `[ … ]`/`test`/`command -v` conditions. Other commands succeed silently.
 */

export interface ScriptFs {
  exists(path: string, kind: 'file' | 'dir' | 'any' | 'exec'): Promise<boolean>;
  /**
   * What a command substitution `$(…)` prints inside the container (after variables are expanded), or
   * '' when the simulated container cannot run it — as a failing command would.
   */
  substitute?(command: string): string;
}

export interface ScriptResult {
  env: Record<string, string>;
  /** Scripts actually sourced, in order. */
  sourced: string[];
  cwd: string;
  /** The command the script runs last as the server (exec or a foreground server command). */
  command: string[] | undefined;
  /** What the script itself printed (echo) and errors bash would report. */
  output: { stream: 'stdout' | 'stderr'; text: string }[];
  /** Set when `set -u` is on: the set_env scripts then abort on unset variables. */
  nounset: boolean;
  /** Set when the script ran `exit N` before handing over to a server. */
  exitCode?: number;
}

/** Names that end interpretation: the server takes over the process. */
const SERVER_COMMANDS = /(^|\/)(mindieservice_daemon|mindie_llm_server|vllm)$/;

interface Word {
  text: string;
  quoted: boolean;
}

/** Split a script into tokens: words (with quotes removed and variables expanded later) and operators. */
function lex(src: string, subs: string[]): (Word | { op: string })[] {
  const out: (Word | { op: string })[] = [];
  let i = 0;
  let cur = '';
  let inWord = false;
  let quoted = false;
  const flush = (): void => {
    if (inWord) out.push({ text: cur, quoted });
    cur = '';
    inWord = false;
    quoted = false;
  };
  while (i < src.length) {
    const c = src[i]!;
    if (c === '\\' && src[i + 1] === '\n') {
      i += 2;
      continue;
    }
    if (c === '#' && !inWord) {
      while (i < src.length && src[i] !== '\n') i++;
      continue;
    }
    if (c === '\n' || c === ';') {
      flush();
      out.push({ op: ';' });
      i++;
      continue;
    }
    if (c === '&' && src[i + 1] === '&') {
      flush();
      out.push({ op: '&&' });
      i += 2;
      continue;
    }
    if (c === '|' && src[i + 1] === '|') {
      flush();
      out.push({ op: '||' });
      i += 2;
      continue;
    }
    if (c === ' ' || c === '\t') {
      flush();
      i++;
      continue;
    }
    if (c === '>' || c === '<') {
      // Redirections: drop the operator and its target.
      flush();
      i++;
      if (src[i] === '&' || src[i] === '>') i++;
      while (src[i] === ' ') i++;
      while (i < src.length && !/[\s;&|]/.test(src[i]!)) i++;
      continue;
    }
    if (/\d/.test(c) && !inWord && (src[i + 1] === '>' || src[i + 1] === '<')) {
      i++;
      continue;
    }
    inWord = true;
    if (c === "'") {
      const end = src.indexOf("'", i + 1);
      cur += `\u0001${src.slice(i + 1, end < 0 ? src.length : end)}\u0002`;
      quoted = true;
      i = end < 0 ? src.length : end + 1;
      continue;
    }
    if (c === '"') {
      let j = i + 1;
      let s = '';
      while (j < src.length && src[j] !== '"') {
        if (src[j] === '\\' && /["\\$`]/.test(src[j + 1] ?? '')) {
          s += src[j + 1] === '$' ? '\u0003' : src[j + 1];
          j += 2;
        } else s += src[j++];
      }
      cur += s;
      quoted = true;
      i = j + 1;
      continue;
    }
    if (c === '$' && src[i + 1] === '(') {
      let depth = 0;
      let j = i + 1;
      for (; j < src.length; j++) {
        if (src[j] === '(') depth++;
        else if (src[j] === ')' && --depth === 0) break;
      }
      subs.push(src.slice(i + 2, j));
      cur += `\u0004${subs.length - 1}\u0004`;
      i = j + 1;
      continue;
    }
    if (c === '\\') {
      cur += src[i + 1] ?? '';
      i += 2;
      continue;
    }
    cur += c;
    i++;
  }
  flush();
  return out;
}

function expand(word: string, vars: Record<string, string>, subst: (index: number) => string = () => ''): string {
  // Single-quoted parts (\u0001…\u0002) are literal; \u0003 is an escaped `$`; \u0004N\u0004 the N-th
  // command substitution, whose output `subst` gives.
  let out = '';
  const parts = word.split(/(\u0001[^\u0002]*\u0002)/);
  for (const part of parts) {
    if (part.startsWith('\u0001')) {
      out += part.slice(1, -1);
      continue;
    }
    out += part
      .replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(:?[-=+])?([^}]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (_m, a: string | undefined, op: string | undefined, def: string, b: string | undefined) => {
        const name = a ?? b ?? '';
        const v = vars[name];
        if (op === undefined) return v ?? '';
        const unset = op.startsWith(':') ? v === undefined || v === '' : v === undefined;
        if (op.endsWith('+')) return unset ? '' : def;
        return unset ? def : v!;
      })
      .replace(/\u0003/g, '$')
      .replace(/\u0004(\d+)\u0004/g, (_m, n: string) => subst(Number(n)));
  }
  return out;
}

type Token = Word | { op: string };

function isOp(t: Token | undefined, op?: string): t is { op: string } {
  return t !== undefined && 'op' in t && (op === undefined || t.op === op);
}

export async function interpretLaunchScript(
  script: string,
  initialEnv: Record<string, string>,
  fs: ScriptFs,
  initialCwd = '/',
): Promise<ScriptResult> {
  const env = { ...initialEnv };
  const shellVars: Record<string, string> = {};
  const result: ScriptResult = { env, sourced: [], cwd: initialCwd, command: undefined, output: [], nounset: false };
  const made = new Set<string>();
  const subs: string[] = [];
  const tokens = lex(script, subs);
  let pos = 0;
  const vars = (): Record<string, string> => ({ ...env, ...shellVars });
  const resolve = (p: string): string => (p.startsWith('/') ? p : `${result.cwd.replace(/\/$/, '')}/${p}`);

  const readWords = (): string[] => {
    const words: string[] = [];
    while (pos < tokens.length && !isOp(tokens[pos])) {
      const t = tokens[pos++] as Word;
      words.push(expand(t.text, vars(), (n) => fs.substitute?.(expand(subs[n] ?? '', vars())) ?? ''));
    }
    return words;
  };

  const test = async (args: string[]): Promise<boolean> => {
    const a = args[args.length - 1] === ']' ? args.slice(0, -1) : args;
    if (a[0] === '!') return !(await test(a.slice(1)));
    const [flag, val] = a;
    if (a.length === 2 && val !== undefined) {
      if (flag === '-f') return fs.exists(resolve(val), 'file');
      if (flag === '-d') return fs.exists(resolve(val), 'dir');
      if (flag === '-e' || flag === '-r' || flag === '-s') return fs.exists(resolve(val), 'any');
      if (flag === '-x') return fs.exists(resolve(val), 'exec');
      if (flag === '-n') return val !== '';
      if (flag === '-z') return val === '';
    }
    if (a.length === 3 && (a[1] === '=' || a[1] === '==')) return a[0] === a[2];
    if (a.length === 3 && a[1] === '!=') return a[0] !== a[2];
    if (a.length === 1) return a[0] !== '';
    return false;
  };

  /** Run one simple command; returns its status, or 'exec' when the server takes over. */
  const simple = async (words: string[]): Promise<number | 'exec'> => {
    let w = words;
    while (w.length > 0 && /^[A-Za-z_][A-Za-z0-9_]*=/.test(w[0]!)) {
      const eq = w[0]!.indexOf('=');
      const name = w[0]!.slice(0, eq);
      if (name in env) env[name] = w[0]!.slice(eq + 1);
      else shellVars[name] = w[0]!.slice(eq + 1);
      w = w.slice(1);
    }
    const [cmd, ...args] = w;
    if (cmd === undefined) return 0;
    switch (cmd) {
      case 'export':
        for (const a of args) {
          if (a.startsWith('-')) continue;
          const eq = a.indexOf('=');
          if (eq >= 0) {
            env[a.slice(0, eq)] = a.slice(eq + 1);
            delete shellVars[a.slice(0, eq)];
          } else if (shellVars[a] !== undefined) env[a] = shellVars[a]!;
        }
        return 0;
      case 'unset':
        for (const a of args) {
          if (a.startsWith('-')) continue;
          delete env[a];
          delete shellVars[a];
        }
        return 0;
      case '.':
      case 'source': {
        const p = args[0];
        if (p === undefined) return 2;
        const path = resolve(p);
        if (!(await fs.exists(path, 'file'))) {
          result.output.push({ stream: 'stderr', text: `launch.sh: line ?: ${p}: No such file or directory` });
          return 1;
        }
        result.sourced.push(path);
        return 0;
      }
      case 'mkdir':
        // The container's writable layer: remember what the script created so a later `cd` finds it.
        for (const a of args) if (!a.startsWith('-')) made.add(resolve(a));
        return 0;
      case 'exit':
        result.exitCode = Number(args[0] ?? 0) || 0;
        return 'exec';
      case 'cd': {
        const p = resolve(args[0] ?? env.HOME ?? '/root');
        if (!made.has(p) && !(await fs.exists(p, 'dir'))) {
          result.output.push({ stream: 'stderr', text: `launch.sh: line ?: cd: ${args[0] ?? ''}: No such file or directory` });
          return 1;
        }
        result.cwd = p;
        return 0;
      }
      case 'set':
        for (const a of args) {
          if (/^-[a-z]*u/.test(a)) result.nounset = true;
          if (/^\+[a-z]*u/.test(a)) result.nounset = false;
          if (a === 'nounset') result.nounset = args.includes('-o');
        }
        return 0;
      case 'echo':
        result.output.push({ stream: 'stdout', text: args.filter((a) => a !== '-e' && a !== '-n').join(' ') });
        return 0;
      case 'true':
      case ':':
        return 0;
      case 'false':
        return 1;
      case '[':
      case 'test':
        return (await test(args)) ? 0 : 1;
      case '[[':
        return (await test(args.filter((x) => x !== ']]'))) ? 0 : 1;
      case 'command':
        if (args[0] === '-v' && args[1] !== undefined) {
          const name = args[1];
          if (name.includes('/')) return (await fs.exists(name, 'exec')) ? 0 : 1;
          for (const dir of (env.PATH ?? '/usr/local/bin:/usr/bin:/bin').split(':')) {
            if (await fs.exists(`${dir}/${name}`, 'exec')) return 0;
          }
          return 1;
        }
        return simple(args);
      case 'exec':
        if (args.length === 0) return 0;
        result.command = [args[0]!.includes('/') ? resolve(args[0]!) : args[0]!, ...args.slice(1)];
        return 'exec';
      default:
        if (SERVER_COMMANDS.test(cmd)) {
          result.command = [cmd.includes('/') ? resolve(cmd) : cmd, ...args];
          return 'exec';
        }
        return 0;
    }
  };

  /** A list: pipelines joined by && / || up to `;` or a keyword. */
  const list = async (): Promise<number | 'exec'> => {
    let status: number | 'exec' = 0;
    let skip = false;
    for (;;) {
      const words = readWords();
      if (!skip) {
        status = words[0] === 'if' ? await ifBlock(words.slice(1)) : await simple(words);
        if (status === 'exec') return status;
      }
      const t = tokens[pos];
      if (isOp(t, '&&')) {
        pos++;
        skip = skip || status !== 0;
      } else if (isOp(t, '||')) {
        pos++;
        skip = !skip && status === 0;
        if (skip) status = 0;
      } else {
        return status;
      }
    }
  };

  const peekWord = (): string | undefined => {
    const t = tokens[pos];
    return t !== undefined && !isOp(t) ? t.text : undefined;
  };

  /** `if` handling: `words` is the first command of the condition (already read). */
  const ifBlock = async (firstCond: string[]): Promise<number | 'exec'> => {
    let taken = false;
    let condWords: string[] | undefined = firstCond;
    let status: number | 'exec' = 0;
    for (;;) {
      // condition: first command already read as condWords (for `if`), then until `then`
      let condStatus: number | 'exec' = 0;
      if (condWords !== undefined) {
        condStatus = await simple(condWords);
      }
      while (isOp(tokens[pos], ';')) pos++;
      while (peekWord() !== 'then' && pos < tokens.length) {
        condStatus = await list();
        while (isOp(tokens[pos], ';')) pos++;
      }
      pos++; // then
      const run = !taken && condStatus === 0;
      if (run) taken = true;
      // body until elif/else/fi
      for (;;) {
        while (isOp(tokens[pos], ';')) pos++;
        const w = peekWord();
        if (w === 'elif' || w === 'else' || w === 'fi' || pos >= tokens.length) break;
        if (run) {
          status = await list();
          if (status === 'exec') return status;
        } else skipCommand();
      }
      const kw = peekWord();
      pos++;
      if (kw === 'fi' || kw === undefined) return status;
      if (kw === 'else') {
        for (;;) {
          while (isOp(tokens[pos], ';')) pos++;
          const w = peekWord();
          if (w === 'fi' || pos >= tokens.length) break;
          if (!taken) {
            status = await list();
            if (status === 'exec') return status;
          } else skipCommand();
        }
        pos++;
        return status;
      }
      // elif: read its first condition command
      if (taken) {
        while (pos < tokens.length && peekWord() !== 'then') pos++;
        condWords = ['false'];
      } else condWords = readWords();
    }
  };

  const skipCommand = (): void => {
    let depth = 0;
    while (pos < tokens.length) {
      const t = tokens[pos]!;
      if (!isOp(t)) {
        if (t.text === 'if') depth++;
        if (t.text === 'fi') {
          if (depth === 0) return;
          depth--;
        }
        if (depth === 0 && (t.text === 'elif' || t.text === 'else') && !t.quoted) return;
      } else if (t.op === ';' && depth === 0) {
        pos++;
        return;
      }
      pos++;
    }
  };

  while (pos < tokens.length) {
    if (isOp(tokens[pos])) {
      pos++;
      continue;
    }
    const status = await list();
    if (status === 'exec') break;
  }
  return result;
}
