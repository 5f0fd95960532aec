import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import type { ParseResult } from '../../../src/ascend/parse-result.js';

export const FIXTURE_DIR = fileURLToPath(new URL('../../../fixtures/ascend/', import.meta.url));

export function fixture(name: string): string {
  return readFileSync(`${FIXTURE_DIR}${name}`, 'utf8');
}

/** The value of a successful parse; fails the test with the parser's message otherwise. */
export function must<T>(r: ParseResult<T>): T {
  if (!r.ok) expect.fail(`parse failed: ${r.error}`);
  return r.value;
}
