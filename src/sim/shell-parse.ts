/**
 * Parser for the command strings an SSH client sends, the subset a POSIX shell needs for them:
 * quoting (exactly inverting POSIX single-quote quoting, `'it'\''s'`), `;` `&&` `||` `|`, newlines,
 * redirections, `for NAME in …; do …; done`, `VAR=value` prefixes, `$VAR`/`${VAR}`/`$?` expansion.
 */

export type WordPart =
  | { t: 'lit'; s: string; quoted: boolean }
  | { t: 'var'; name: string; quoted: boolean };

export interface Word {
  parts: WordPart[];
}

export interface Redir {
  fd: number;
  op: '<' | '>' | '>>' | '>&' | '<&';
  target: Word;
}

export interface SimpleCommand {
  k: 'simple';
  assigns: { name: string; value: Word }[];
  words: Word[];
  redirs: Redir[];
}

export interface ForCommand {
  k: 'for';
  name: string;
  items: Word[];
  body: List;
  redirs: Redir[];
}

export type Command = SimpleCommand | ForCommand;

export interface Pipeline {
  bang: boolean;
  cmds: Command[];
}

export interface AndOr {
  first: Pipeline;
  rest: { op: '&&' | '||'; pipeline: Pipeline }[];
}

export interface List {
  items: AndOr[];
}

type Token =
  | { k: 'word'; word: Word; raw: string }
  | { k: 'op'; op: ';' | '&&' | '||' | '|' | '\n' | '&' }
  | { k: 'redir'; fd: number; op: Redir['op'] };

export class ShellSyntaxError extends Error {
  override name = 'ShellSyntaxError';
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  let parts: WordPart[] | null = null;
  let raw = '';
  const lit = (s: string, quoted: boolean): void => {
    parts ??= [];
    const last = parts[parts.length - 1];
    if (last && last.t === 'lit' && last.quoted === quoted) last.s += s;
    else parts.push({ t: 'lit', s, quoted });
  };
  const endWord = (): void => {
    if (parts) tokens.push({ k: 'word', word: { parts }, raw });
    parts = null;
    raw = '';
  };
  const readVar = (quoted: boolean): void => {
    // at src[i] === '$'
    const next = src[i + 1] ?? '';
    if (next === '{') {
      const close = src.indexOf('}', i + 2);
      if (close < 0) throw new ShellSyntaxError('Syntax error: bad substitution');
      const name = src.slice(i + 2, close);
      if (!NAME.test(name) && !/^(\d+|[?#@$*])$/.test(name)) throw new ShellSyntaxError(`${src.slice(i, close + 1)}: Bad substitution`);
      parts ??= [];
      parts.push({ t: 'var', name, quoted });
      raw += src.slice(i, close + 1);
      i = close + 1;
      return;
    }
    if (next === '(') throw new ShellSyntaxError('Syntax error: command substitution is not supported by the simulator');
    if (/[?#@$*0-9]/.test(next)) {
      parts ??= [];
      parts.push({ t: 'var', name: next, quoted });
      raw += src.slice(i, i + 2);
      i += 2;
      return;
    }
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i + 1));
    if (!m) {
      lit('$', quoted);
      raw += '$';
      i += 1;
      return;
    }
    parts ??= [];
    parts.push({ t: 'var', name: m[0], quoted });
    raw += `$${m[0]}`;
    i += 1 + m[0].length;
  };

  while (i < src.length) {
    const c = src[i] ?? '';
    if (c === ' ' || c === '\t') {
      endWord();
      i++;
    } else if (c === '\n') {
      endWord();
      tokens.push({ k: 'op', op: '\n' });
      i++;
    } else if (c === '#' && parts === null) {
      while (i < src.length && src[i] !== '\n') i++;
    } else if (c === ';' || c === '&' || c === '|') {
      endWord();
      const two = src.slice(i, i + 2);
      if (two === '&&' || two === '||') {
        tokens.push({ k: 'op', op: two });
        i += 2;
      } else {
        if (two === ';;') throw new ShellSyntaxError('Syntax error: ";;" unexpected');
        tokens.push({ k: 'op', op: c });
        i += 1;
      }
    } else if (c === '<' || c === '>') {
      // A word made only of unquoted digits right before the operator is its fd (`2>`).
      let fd = c === '<' ? 0 : 1;
      const p = parts as WordPart[] | null;
      if (p && p.length === 1 && p[0]?.t === 'lit' && !p[0].quoted && /^\d$/.test(p[0].s)) {
        fd = Number(p[0].s);
        parts = null;
        raw = '';
      } else endWord();
      let op: Redir['op'];
      if (c === '>' && src[i + 1] === '>') { op = '>>'; i += 2; }
      else if (src[i + 1] === '&') { op = c === '>' ? '>&' : '<&'; i += 2; }
      else { op = c; i += 1; }
      tokens.push({ k: 'redir', fd, op });
    } else if (c === "'") {
      const close = src.indexOf("'", i + 1);
      if (close < 0) throw new ShellSyntaxError('Syntax error: Unterminated quoted string');
      lit(src.slice(i + 1, close), true);
      raw += src.slice(i, close + 1);
      i = close + 1;
    } else if (c === '"') {
      raw += '"';
      i++;
      parts ??= [];
      let closed = false;
      while (i < src.length) {
        const d = src[i] ?? '';
        if (d === '"') { closed = true; raw += '"'; i++; break; }
        if (d === '\\' && i + 1 < src.length) {
          const e = src[i + 1] ?? '';
          if ('$`"\\'.includes(e)) { lit(e, true); raw += d + e; i += 2; continue; }
          if (e === '\n') { raw += d + e; i += 2; continue; }
          lit('\\', true); raw += d; i++; continue;
        }
        if (d === '$') { readVar(true); continue; }
        if (d === '`') throw new ShellSyntaxError('Syntax error: command substitution is not supported by the simulator');
        lit(d, true); raw += d; i++;
      }
      if (!closed) throw new ShellSyntaxError('Syntax error: Unterminated quoted string');
    } else if (c === '\\') {
      const e = src[i + 1];
      if (e === undefined) { lit('\\', true); i++; continue; }
      if (e === '\n') { i += 2; continue; }
      lit(e, true);
      raw += c + e;
      i += 2;
    } else if (c === '$') {
      readVar(false);
    } else if (c === '`') {
      throw new ShellSyntaxError('Syntax error: command substitution is not supported by the simulator');
    } else if (c === '(' || c === ')') {
      throw new ShellSyntaxError(`Syntax error: "${c}" unexpected`);
    } else {
      lit(c, false);
      raw += c;
      i++;
    }
  }
  endWord();
  return tokens;
}

/** The plain text of a word made only of unquoted literals (keywords, assignments), else undefined. */
function plain(word: Word): string | undefined {
  if (word.parts.length === 1 && word.parts[0]?.t === 'lit' && !word.parts[0].quoted) return word.parts[0].s;
  return undefined;
}

export function parse(src: string): List {
  const tokens = tokenize(src);
  let pos = 0;
  const peek = (): Token | undefined => tokens[pos];
  const isKeyword = (tok: Token | undefined, kw: string): boolean => tok?.k === 'word' && plain(tok.word) === kw;
  const skipNewlines = (): void => {
    while (peek()?.k === 'op' && (peek() as { op: string }).op === '\n') pos++;
  };
  const skipSeparators = (): void => {
    while (peek()?.k === 'op' && [';', '\n'].includes((peek() as { op: string }).op)) pos++;
  };

  function parseList(terminators: string[]): List {
    const items: AndOr[] = [];
    for (;;) {
      skipSeparators();
      const tok = peek();
      if (!tok) break;
      if (terminators.some((t) => isKeyword(tok, t))) break;
      items.push(parseAndOr());
      const sep = peek();
      if (!sep) break;
      if (sep.k === 'op' && (sep.op === ';' || sep.op === '\n' || sep.op === '&')) { pos++; continue; }
      if (terminators.some((t) => isKeyword(sep, t))) break;
      throw new ShellSyntaxError(`Syntax error: ${describe(sep)} unexpected`);
    }
    return { items };
  }

  function parseAndOr(): AndOr {
    const first = parsePipeline();
    const rest: AndOr['rest'] = [];
    for (;;) {
      const tok = peek();
      if (tok?.k === 'op' && (tok.op === '&&' || tok.op === '||')) {
        pos++;
        skipNewlines();
        rest.push({ op: tok.op, pipeline: parsePipeline() });
      } else break;
    }
    return { first, rest };
  }

  function parsePipeline(): Pipeline {
    let bang = false;
    if (isKeyword(peek(), '!')) { bang = true; pos++; }
    const cmds = [parseCommand()];
    while (peek()?.k === 'op' && (peek() as { op: string }).op === '|') {
      pos++;
      skipNewlines();
      cmds.push(parseCommand());
    }
    return { bang, cmds };
  }

  function parseRedirTarget(fd: number, op: Redir['op']): Redir {
    const t = peek();
    if (t?.k !== 'word') throw new ShellSyntaxError('Syntax error: redirection unexpected');
    pos++;
    return { fd, op, target: t.word };
  }

  function parseCommand(): Command {
    if (isKeyword(peek(), 'for')) return parseFor();
    const cmd: SimpleCommand = { k: 'simple', assigns: [], words: [], redirs: [] };
    for (;;) {
      const tok = peek();
      if (!tok || tok.k === 'op') break;
      pos++;
      if (tok.k === 'redir') { cmd.redirs.push(parseRedirTarget(tok.fd, tok.op)); continue; }
      const first = tok.word.parts[0];
      const eq = first?.t === 'lit' && !first.quoted ? first.s.indexOf('=') : -1;
      if (cmd.words.length === 0 && first?.t === 'lit' && eq > 0 && NAME.test(first.s.slice(0, eq))) {
        const value: Word = { parts: [{ ...first, s: first.s.slice(eq + 1) }, ...tok.word.parts.slice(1)] };
        cmd.assigns.push({ name: first.s.slice(0, eq), value });
        continue;
      }
      cmd.words.push(tok.word);
    }
    if (cmd.words.length === 0 && cmd.assigns.length === 0 && cmd.redirs.length === 0) {
      const tok = peek();
      throw new ShellSyntaxError(`Syntax error: ${tok ? describe(tok) : 'end of file'} unexpected`);
    }
    return cmd;
  }

  function parseFor(): ForCommand {
    pos++; // for
    const nameTok = peek();
    const name = nameTok?.k === 'word' ? plain(nameTok.word) : undefined;
    if (!name || !NAME.test(name)) throw new ShellSyntaxError('Syntax error: Bad for loop variable');
    pos++;
    const items: Word[] = [];
    skipNewlines();
    if (isKeyword(peek(), 'in')) {
      pos++;
      while (peek()?.k === 'word' && !isKeyword(peek(), 'do')) items.push((tokens[pos++] as { word: Word }).word);
    }
    skipSeparators();
    if (!isKeyword(peek(), 'do')) throw new ShellSyntaxError(`Syntax error: ${describe(peek())} unexpected (expecting "do")`);
    pos++;
    const body = parseList(['done']);
    if (!isKeyword(peek(), 'done')) throw new ShellSyntaxError('Syntax error: end of file unexpected (expecting "done")');
    pos++;
    const redirs: Redir[] = [];
    while (peek()?.k === 'redir') {
      const r = tokens[pos++] as { fd: number; op: Redir['op'] };
      redirs.push(parseRedirTarget(r.fd, r.op));
    }
    return { k: 'for', name, items, body, redirs };
  }

  const list = parseList([]);
  if (pos < tokens.length) throw new ShellSyntaxError(`Syntax error: ${describe(peek())} unexpected`);
  return list;
}

function describe(tok: Token | undefined): string {
  if (!tok) return 'end of file';
  if (tok.k === 'op') return tok.op === '\n' ? 'newline' : `"${tok.op}"`;
  if (tok.k === 'redir') return 'redirection';
  return `"${tok.raw}"`;
}

/** Bash brace expansion for one unquoted word: `{0..7}`, `{a,b}`, with prefix and suffix. */
export function braceExpand(s: string): string[] {
  const m = /^(.*?)\{(-?\d+)\.\.(-?\d+)\}(.*)$/s.exec(s);
  if (m) {
    const [, pre = '', a = '0', b = '0', post = ''] = m;
    const from = Number(a);
    const to = Number(b);
    const step = from <= to ? 1 : -1;
    const out: string[] = [];
    for (let v = from; step > 0 ? v <= to : v >= to; v += step) out.push(...braceExpand(`${pre}${v}${post}`));
    return out;
  }
  const c = /^(.*?)\{([^{}]*,[^{}]*)\}(.*)$/s.exec(s);
  if (c) {
    const [, pre = '', body = '', post = ''] = c;
    return body.split(',').flatMap((alt) => braceExpand(`${pre}${alt}${post}`));
  }
  return [s];
}
