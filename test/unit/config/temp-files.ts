/** Temporary directories for config tests: a fake $HOME and the files it holds; never the real ~. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach } from 'vitest';
import { isUserError, type UserError } from '../../../src/errors.js';

export interface TempDir {
  dir: string;
  /** Write `rel` (parents created) and return its absolute path. */
  write(rel: string, text?: string): string;
  path(rel: string): string;
}

export function useTempDirs(): () => TempDir {
  const made: string[] = [];
  afterEach(() => {
    for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  return () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ascendctl-config-'));
    made.push(dir);
    return {
      dir,
      write(rel, text = '') {
        const p = path.join(dir, rel);
        mkdirSync(path.dirname(p), { recursive: true });
        writeFileSync(p, text);
        return p;
      },
      path: (rel) => path.join(dir, rel),
    };
  };
}

/** The UserError a promise or function rejects with; fails the test when it does not. */
export async function userErrorOf(fn: () => unknown): Promise<UserError> {
  try {
    await fn();
  } catch (err) {
    if (isUserError(err)) return err;
    throw err;
  }
  throw new Error('expected a UserError, but nothing was thrown');
}
