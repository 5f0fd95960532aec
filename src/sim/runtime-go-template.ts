/**
 * The part of Go's text/template that people pass to `docker --format`: `{{.A.B}}`, `{{json .}}`,
 * `{{json .A}}`, `{{index .Config.Labels "k"}}`, `{{.Label "k"}}` (ps), a leading `table ` and `\t`.
 */

export class TemplateError extends Error {}

type Value = unknown;

function lookup(root: Value, path: string): Value {
  if (path === '.') return root;
  let cur: Value = root;
  for (const key of path.slice(1).split('.')) {
    if (cur === null || typeof cur !== 'object') {
      throw new TemplateError(`template: :1: can't evaluate field ${key} in type ${typeof cur}`);
    }
    const obj = cur as Record<string, unknown>;
    if (!(key in obj)) throw new TemplateError(`template: :1:2: executing "" at <${path}>: can't evaluate field ${key}`);
    cur = obj[key];
  }
  return cur;
}

function tokenize(expr: string): string[] {
  const out: string[] = [];
  for (const m of expr.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)) {
    out.push(m[1] !== undefined ? JSON.stringify(JSON.parse(`"${m[1]}"`)) : m[2]!);
  }
  return out;
}

function arg(token: string, root: Value): Value {
  if (token.startsWith('"')) return JSON.parse(token) as string;
  if (token.startsWith('.')) return lookup(root, token);
  if (/^-?\d+$/.test(token)) return Number(token);
  throw new TemplateError(`template: :1: function "${token}" not defined`);
}

/** Go's default formatting of a value (`%v`). */
export function goString(v: Value): string {
  if (v === null || v === undefined) return '<no value>';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `[${v.map(goString).join(' ')}]`;
  if (typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b));
    return `map[${entries.map(([k, x]) => `${k}:${goString(x)}`).join(' ')}]`;
  }
  return String(v);
}

function evaluate(expr: string, root: Value): string {
  const tokens = tokenize(expr.trim());
  const head = tokens[0];
  if (head === undefined) throw new TemplateError('template: :1: missing value for command');
  if (head === 'json') {
    return JSON.stringify(tokens[1] === undefined ? root : arg(tokens[1], root)) ?? 'null';
  }
  if (head === 'index') {
    let cur = arg(tokens[1] ?? '.', root);
    for (const t of tokens.slice(2)) {
      const k = arg(t, root);
      cur = cur !== null && typeof cur === 'object' ? (cur as Record<string, unknown>)[String(k)] : undefined;
    }
    return cur === undefined ? '<no value>' : goString(cur);
  }
  if (head === 'upper' || head === 'lower') {
    const s = goString(arg(tokens[1] ?? '.', root));
    return head === 'upper' ? s.toUpperCase() : s.toLowerCase();
  }
  if (head.startsWith('.') && tokens.length === 2 && head.endsWith('.Label')) {
    const labels = lookup(root, head.slice(0, -'.Label'.length) || '.') as { LabelMap?: Record<string, string> };
    return labels.LabelMap?.[String(arg(tokens[1]!, root))] ?? '';
  }
  if (tokens.length === 1) return goString(arg(head, root));
  throw new TemplateError(`template: :1: unsupported expression {{${expr}}}`);
}

export interface CompiledTemplate {
  table: boolean;
  /** Column headers for a `table` format (the field names upper-cased as docker prints them). */
  header: string;
  render(value: Value): string;
}

export function compileTemplate(format: string, headers: Record<string, string> = {}): CompiledTemplate {
  let body = format.replace(/\\t/g, '\t').replace(/\\n/g, '\n');
  const table = body.startsWith('table ');
  if (table) body = body.slice('table '.length);
  const render = (value: Value): string =>
    body.replace(/\{\{-?\s*(.*?)\s*-?\}\}/g, (_all, expr: string) => evaluate(expr, value));
  const header = body.replace(/\{\{-?\s*(.*?)\s*-?\}\}/g, (_all, expr: string) => {
    const field = expr.trim().replace(/^\./, '');
    return headers[field] ?? field.toUpperCase();
  });
  return { table, header, render };
}

/** Lay out rows the way docker's tabwriter does: columns padded to width + 3 spaces. */
export function tabulate(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows
    .map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd((widths[i] ?? 0) + 3))).join('').trimEnd())
    .map((l) => `${l}\n`)
    .join('');
}
