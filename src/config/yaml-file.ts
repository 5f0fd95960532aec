/**
 * YAML files with positions. Every later error (schema, cross-field rule, missing identity file) must name
 * the file, the YAML path (`nodes[1].ssh.port`) and line:column, so the parsed Document and its
 * LineCounter stay with the data for the life of the command.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type Node } from 'yaml';
import type * as z from 'zod';
import { InputError } from '../errors.js';
import { nearestKey } from './suggest.js';

export type YamlPath = ReadonlyArray<string | number>;

export interface Location {
  line: number;
  col: number;
}

/** One thing wrong with a file. `at: 'key'` points at the key itself (unknown keys), else at the value. */
export interface Problem {
  path: YamlPath;
  message: string;
  at?: 'key' | 'value';
  /** A position already known (YAML syntax errors); otherwise found from `path`. */
  location?: Location;
  /** Where the value this one clashes with was first written: printed as "(first at line N)". */
  firstPath?: YamlPath;
}

export interface YamlFile {
  /** The path as the user wrote it: what messages show. */
  file: string;
  absolutePath: string;
  doc: Document.Parsed;
  lineCounter: LineCounter;
  /** The plain data (YAML 1.2 core schema: `yes` is a string). */
  data: unknown;
  /** Line and column of the node at `yamlPath`, or of its nearest ancestor that exists. */
  locate(yamlPath: YamlPath, at?: 'key' | 'value'): Location;
}

export interface LoadYamlOptions {
  /** Base for a relative `file`; default process.cwd(). */
  cwd?: string;
  /** What the file is, for messages: "inventory", "deployment file". */
  what?: string;
  /** The next step when the file is missing. */
  missingHint?: string;
}

/** `nodes[1].ssh.port`; keys that are not plain identifiers are quoted: `env["A B"]`. */
export function formatYamlPath(p: YamlPath): string {
  let out = '';
  for (const seg of p) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

function errnoCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
}

/** Read and parse a YAML file; missing, unreadable, empty or malformed → one located InputError. */
export async function loadYamlFile(file: string, opts: LoadYamlOptions = {}): Promise<YamlFile> {
  const what = opts.what ?? 'file';
  const absolutePath = path.resolve(opts.cwd ?? process.cwd(), file);
  let text: string;
  try {
    const st = await stat(absolutePath);
    if (st.isDirectory()) {
      throw new InputError(`${file}: the ${what} is a directory, expected a YAML file`, {
        hint: `pass the path of the YAML file itself`,
        file,
      });
    }
    text = await readFile(absolutePath, 'utf8');
  } catch (err) {
    if (err instanceof InputError) throw err;
    const code = errnoCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new InputError(`${file}: the ${what} does not exist (looked for ${absolutePath})`, {
        hint: opts.missingHint ?? `check the path and run the command again`,
        file,
      });
    }
    throw new InputError(`${file}: cannot read the ${what}: ${code ?? String(err)}`, {
      hint: code === 'EACCES' ? `make ${absolutePath} readable by this user` : `check the file and run the command again`,
      file,
    });
  }
  if (text.includes('\u0000')) {
    throw new InputError(`${file}: the ${what} is not a text file (it holds NUL bytes), expected YAML`, {
      hint: `pass the YAML file itself, not an archive or binary`,
      file,
    });
  }
  return parseYamlText(text, file, { absolutePath, what });
}

/** Parse YAML text that came from `file`. Exported for tests and for callers that already hold the text. */
export function parseYamlText(text: string, file: string, opts: { absolutePath?: string; what?: string } = {}): YamlFile {
  const what = opts.what ?? 'file';
  const lineCounter = new LineCounter();
  // YAML 1.2 core schema (the default): `yes`/`no`/`on` stay strings. uniqueKeys rejects duplicate keys.
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true, schema: 'core' });
  const locate = (yamlPath: YamlPath, at: 'key' | 'value' = 'value'): Location => locateIn(doc, lineCounter, yamlPath, at);
  const yamlFile: YamlFile = {
    file,
    absolutePath: opts.absolutePath ?? path.resolve(file),
    doc,
    lineCounter,
    data: undefined,
    locate,
  };
  if (doc.errors.length > 0) {
    const problems: Problem[] = doc.errors.map((e) => {
      const pos = e.linePos?.[0] ?? lineCounter.linePos(e.pos[0]);
      return { path: [], message: syntaxMessage(e.code, e.message, text, lineCounter, e.pos[0]), location: pos };
    });
    throw problemsError(yamlFile, problems, {
      summary: `is not valid YAML`,
      hint: `fix the YAML syntax at the line shown and run the command again`,
    });
  }
  if (doc.contents === null || (isScalar(doc.contents) && (doc.contents.value === null || doc.contents.value === ''))) {
    throw new InputError(`${file}:1:1: the ${what} is empty`, {
      hint: `write the ${what} (see templates/ for a commented example) and run the command again`,
      file,
      line: 1,
    });
  }
  try {
    yamlFile.data = doc.toJS({ maxAliasCount: 1000 });
  } catch (err) {
    // Alias bombs and unresolvable aliases surface only when the data is built: located at the first
    // alias that resolves to nothing, else (a bomb) at the first alias.
    let first: number | undefined;
    let unresolved: number | undefined;
    visit(doc, {
      Alias(_, node) {
        first ??= node.range?.[0];
        if (node.resolve(doc) !== undefined) return undefined;
        unresolved = node.range?.[0];
        return visit.BREAK;
      },
    });
    const at = unresolved ?? first;
    const pos = at === undefined ? { line: 1, col: 1 } : lineCounter.linePos(at);
    throw new InputError(`${file}:${pos.line}:${pos.col}: cannot read the ${what}: ${err instanceof Error ? err.message : String(err)}`, {
      hint: `write the values out instead of using YAML aliases (*name) and run the command again`,
      file,
      line: pos.line,
    });
  }
  return yamlFile;
}

function syntaxMessage(code: string, raw: string, text: string, lc: LineCounter, offset: number): string {
  // prettyErrors appends " at line L, column C:" and a source excerpt; the location is printed separately.
  const first = raw.split('\n')[0] ?? raw;
  const base = first.replace(/ at line \d+, column \d+:?$/, '');
  if (code !== 'DUPLICATE_KEY') return `YAML syntax: ${base}`;
  const dup = findDuplicateKey(text, offset, lc);
  return dup ? `duplicate key "${dup.key}" (first at line ${dup.first.line})` : `duplicate key (${base})`;
}

/** The duplicate key at `offset` and where it first appeared; parsed again without the uniqueness check. */
function findDuplicateKey(text: string, offset: number, lc: LineCounter): { key: string; first: Location } | undefined {
  const loose = parseDocument(text, { uniqueKeys: false });
  let found: { key: string; first: Location } | undefined;
  visit(loose, {
    Map(_, map) {
      const seen = new Map<string, number>();
      for (const item of map.items) {
        if (!isScalar(item.key) || !item.key.range) continue;
        const k = String(item.key.value);
        const firstAt = seen.get(k);
        if (firstAt !== undefined && item.key.range[0] <= offset && offset <= item.key.range[1]) {
          found = { key: k, first: lc.linePos(firstAt) };
          return visit.BREAK;
        }
        if (firstAt === undefined) seen.set(k, item.key.range[0]);
      }
      return undefined;
    },
  });
  return found;
}

function locateIn(doc: Document.Parsed, lc: LineCounter, yamlPath: YamlPath, at: 'key' | 'value'): Location {
  let node: unknown = doc.contents;
  let best: Node | null = doc.contents;
  // The key whose value is `node`: a key missing from a mapping is reported at its parent's key
  // (`parallel:`), not at the mapping's first entry, which is some other key's line.
  let parentKey: Node | null = null;
  for (let i = 0; i < yamlPath.length; i++) {
    const seg = yamlPath[i];
    const last = i === yamlPath.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
      if (!pair) {
        if (parentKey?.range) best = parentKey;
        break;
      }
      parentKey = isScalar(pair.key) ? pair.key : null;
      if (last && at === 'key' && isScalar(pair.key)) {
        best = pair.key;
        break;
      }
      node = pair.value;
      // `key:` with no value has a null value node without a range: point at the key then.
      if (node && typeof node === 'object' && 'range' in node && Array.isArray(node.range)) best = node as Node;
      else if (isScalar(pair.key)) best = pair.key;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item: unknown = node.items[seg];
      if (!item) break;
      node = item;
      parentKey = null;
      if (typeof item === 'object' && item !== null && 'range' in item) best = item as Node;
    } else {
      break;
    }
  }
  const offset = best?.range?.[0] ?? 0;
  return lc.linePos(offset);
}

export interface ProblemsErrorOptions {
  /** After the file name: "is invalid", "is not valid YAML". */
  summary?: string;
  hint?: string;
  /** Paths into data that was rewritten (expanded node ranges) → paths into the file as written. */
  mapPath?: (p: YamlPath) => YamlPath;
}

/** One line per problem: `inventory.yaml:12:5 nodes[1].ssh.port: expected …`. */
export function formatProblem(file: YamlFile, p: Problem): string {
  const loc = p.location ?? file.locate(p.path, p.at);
  const where = p.path.length > 0 ? ` ${formatYamlPath(p.path)}:` : ':';
  const first = p.firstPath ? ` (first at line ${file.locate(p.firstPath).line}, ${formatYamlPath(p.firstPath)})` : '';
  return `${file.file}:${loc.line}:${loc.col}${where} ${p.message}${first}`;
}

/** Every problem of a file in one InputError (exit 2), each located, ending with the next step. */
export function problemsError(file: YamlFile, problems: readonly Problem[], opts: ProblemsErrorOptions = {}): InputError {
  const map = opts.mapPath;
  const mapped = map ? problems.map((p) => ({ ...p, path: map(p.path), ...(p.firstPath ? { firstPath: map(p.firstPath) } : {}) })) : problems;
  const sorted = [...mapped]
    .map((p) => ({ p, loc: p.location ?? file.locate(p.path, p.at) }))
    .sort((a, b) => a.loc.line - b.loc.line || a.loc.col - b.loc.col);
  const lines = [...new Set(sorted.map(({ p, loc }) => formatProblem(file, { ...p, location: loc })))];
  const count = lines.length === 1 ? '1 problem' : `${lines.length} problems`;
  const hint = opts.hint ?? `fix ${lines.length === 1 ? 'it' : 'them'} in ${file.file} and run the command again`;
  const message = `${file.file} ${opts.summary ?? 'is invalid'} (${count}):\n${lines.map((l) => `  ${l}`).join('\n')}`;
  const first = sorted[0];
  return new InputError(message, { hint, file: file.file, ...(first ? { line: first.loc.line } : {}) });
}

// ---- zod issues → problems ------------------------------------------------------------------------------

function describeInput(input: unknown): string {
  if (input === undefined) return 'nothing';
  if (input === null) return 'an empty value';
  if (typeof input === 'string') return `"${input}"`;
  if (typeof input === 'number' || typeof input === 'boolean') return `${typeof input} ${String(input)}`;
  if (Array.isArray(input)) return 'a list';
  if (typeof input === 'object') return 'a mapping';
  return typeof input;
}

const TYPE_WORDS: Record<string, string> = {
  object: 'a mapping (key: value)',
  array: 'a list',
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
  record: 'a mapping (key: value)',
};

const UNION_SENTINEL = '\u0000union';

/**
 * The per-parse zod error map: says what was expected and what was found, in YAML words. Messages set on
 * a schema (`{ error: '…' }`) take precedence over this, so rules keep their own wording.
 */
export const yamlErrorMap: z.core.$ZodErrorMap = (iss) => {
  const got = describeInput(iss.input);
  switch (iss.code) {
    case 'invalid_type': {
      // z.int() reports a string as "expected number": say integer, which is what it will want next.
      const def = (iss.inst as { _zod?: { def?: { format?: string } } } | undefined)?._zod?.def;
      const expected = def?.format !== undefined && /int/.test(def.format) ? 'int' : iss.expected;
      if (iss.input === undefined) return `required, expected ${TYPE_WORDS[expected] ?? expected}`;
      return `expected ${TYPE_WORDS[expected] ?? expected}, got ${got}`;
    }
    case 'invalid_value':
      return `expected ${iss.values.length === 1 ? JSON.stringify(iss.values[0]) : `one of ${iss.values.map((v) => String(v)).join(', ')}`}, got ${got}`;
    case 'too_small': {
      const min = String(iss.minimum);
      if (iss.origin === 'array') return `expected at least ${min} item${min === '1' ? '' : 's'}`;
      if (iss.origin === 'string') return iss.minimum === 1 ? `expected a non-empty string` : `expected at least ${min} characters`;
      return `expected ${iss.inclusive ? 'at least' : 'more than'} ${min}, got ${got}`;
    }
    case 'too_big': {
      const max = String(iss.maximum);
      if (iss.origin === 'array') return `expected at most ${max} items`;
      if (iss.origin === 'string') return `expected at most ${max} characters`;
      return `expected ${iss.inclusive ? 'at most' : 'less than'} ${max}, got ${got}`;
    }
    case 'invalid_format':
      return `expected ${iss.format === 'regex' ? `text matching ${String(iss.pattern)}` : iss.format}, got ${got}`;
    case 'not_multiple_of':
      return `expected a multiple of ${String(iss.divisor)}, got ${got}`;
    case 'invalid_union':
      // Resolved from the branches in zodIssuesToProblems, which knows the whole issue.
      return UNION_SENTINEL;
    default:
      return undefined;
  }
};

/** Zod's schema tree, walked to list the keys an object accepts (for "unknown key" messages). */
function allowedKeysAt(schema: z.core.$ZodType, p: YamlPath): string[] | undefined {
  let cur: z.core.$ZodType | undefined = schema;
  let i = 0;
  for (let guard = 0; cur && guard < 200; guard++) {
    const def = cur._zod.def as unknown as Record<string, unknown> & { type: string };
    switch (def.type) {
      case 'optional':
      case 'nullable':
      case 'default':
      case 'prefault':
      case 'nonoptional':
      case 'readonly':
      case 'catch':
        cur = def.innerType as z.core.$ZodType;
        continue;
      case 'pipe':
        cur = def.in as z.core.$ZodType;
        continue;
      case 'object': {
        const shape = def.shape as Record<string, z.core.$ZodType>;
        if (i === p.length) return Object.keys(shape);
        cur = shape[String(p[i++])];
        continue;
      }
      case 'array':
        if (i === p.length) return undefined;
        i++;
        cur = def.element as z.core.$ZodType;
        continue;
      case 'record':
        if (i === p.length) return undefined;
        i++;
        cur = def.valueType as z.core.$ZodType;
        continue;
      default:
        return undefined;
    }
  }
  return undefined;
}

export function zodIssuesToProblems(issues: readonly z.core.$ZodIssue[], schema?: z.core.$ZodType): Problem[] {
  const out: Problem[] = [];
  for (const iss of issues) {
    const p = iss.path.filter((s): s is string | number => typeof s !== 'symbol');
    if (iss.code === 'unrecognized_keys') {
      const allowed = schema ? allowedKeysAt(schema, p) : undefined;
      for (const key of iss.keys) {
        const near = allowed ? nearestKey(key, allowed) : undefined;
        const tail = (allowed ? `; expected one of: ${allowed.join(', ')}` : '') + (near !== undefined ? `; did you mean "${near}"?` : '');
        out.push({ path: [...p, key], at: 'key', message: `unknown key "${key}"${tail}` });
      }
    } else if (iss.code === 'invalid_key') {
      // A mapping key that its schema refused (record keys): the key's own messages, pointing at the key.
      const inner = iss.issues.map((i) => i.message).filter((m) => m !== '');
      out.push({ path: p, at: 'key', message: inner.length > 0 ? inner.join('; ') : iss.message });
    } else if (iss.code === 'invalid_union' && iss.message === UNION_SENTINEL) {
      out.push(...unionProblems(iss, p, schema));
    } else {
      const problem: Problem = { path: p, message: iss.message };
      const firstPath = iss.code === 'custom' ? (iss.params as { firstPath?: unknown } | undefined)?.firstPath : undefined;
      if (Array.isArray(firstPath)) problem.firstPath = [...prefixOf(p, firstPath.length), ...(firstPath as Array<string | number>)];
      out.push(problem);
    }
  }
  return out;
}

/** A refinement's `firstPath` is relative to the schema that raised it, as its own path was. */
function prefixOf(p: YamlPath, relativeLength: number): YamlPath {
  return p.slice(0, Math.max(0, p.length - relativeLength));
}

function unionProblems(iss: z.core.$ZodIssueInvalidUnion, p: YamlPath, schema?: z.core.$ZodType): Problem[] {
  const branches = iss.errors.map((errs) => errs.map((e) => ({ ...e, path: [...iss.path, ...e.path] })));
  const typeOnly = branches.every((b) => b.length === 1 && b[0]?.code === 'invalid_type' && b[0].path.length === iss.path.length);
  if (branches.length === 0 || typeOnly) {
    const expected = [...new Set(branches.map((b) => (b[0] as z.core.$ZodIssueInvalidType | undefined)?.expected ?? 'value'))];
    const words = expected.map((e) => TYPE_WORDS[e] ?? e).join(' or ');
    return [{ path: p, message: `expected ${words || 'a different value'}, got ${describeInput(iss.input)}` }];
  }
  // The branch that got furthest into the value (deepest path) is the one the user meant.
  const best = branches.sort((a, b) => depth(b) - depth(a))[0] ?? [];
  return zodIssuesToProblems(best as z.core.$ZodIssue[], schema);
}

function depth(issues: ReadonlyArray<{ path: readonly PropertyKey[] }>): number {
  return Math.max(0, ...issues.map((i) => i.path.length));
}

/** Validate `file.data` against `schema`; every problem, located, in one InputError. */
export function parseWithSchema<S extends z.core.$ZodType>(
  file: YamlFile,
  schema: S,
  opts: ProblemsErrorOptions = {},
): z.core.output<S> {
  const res = (schema as unknown as z.ZodType).safeParse(file.data, { error: yamlErrorMap, reportInput: true });
  if (res.success) return res.data as z.core.output<S>;
  throw problemsError(file, zodIssuesToProblems(res.error.issues, schema), opts);
}
