/**
 * The result type every parser in src/ascend/ returns. Tool output is untrusted text: a parser never
 * throws on it, it says what it did not understand so that the caller can report "unexpected output"
 * with the offending line (ascend-tools.md §2.2, parse order step 4).
 */
export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: string };

export function parsed<T>(value: T): ParseResult<T> {
  return { ok: true, value };
}

export function unexpected<T = never>(text: string, what = 'unexpected output'): ParseResult<T> {
  const first = firstLine(text);
  return { ok: false, error: first === undefined ? 'empty output' : `${what}: "${first}"` };
}

/**
 * Lines without their terminators or trailing whitespace; CRLF tolerated. trimEnd() strips the same
 * characters as /\s+$/ without the regex's backtracking over every run of spaces inside a line (npu-smi's
 * padded tables: it showed in the profile of `status` at 64 nodes).
 */
export function lines(text: string): string[] {
  return text.split(/\r?\n/).map((l) => l.trimEnd());
}

/** First line with visible content, trimmed; undefined for empty or blank text. */
export function firstLine(text: string): string | undefined {
  for (const l of lines(text)) {
    const t = l.trim();
    if (t !== '') return t;
  }
  return undefined;
}

export function isBlank(text: string): boolean {
  return firstLine(text) === undefined;
}
