/**
 * Image archives for the tests of `docker load` and `--image-archive`: made by the system's `tar`
 * (ustar, as `docker save` writes them), so the readers are checked against a real archive.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** A tar archive holding `files`, in that order. */
export function tarOf(files: { name: string; data: string | Buffer }[]): Buffer {
  const dir = mkdtempSync(join(tmpdir(), 'ascendctl-tar-'));
  try {
    for (const f of files) {
      mkdirSync(dirname(join(dir, f.name)), { recursive: true });
      writeFileSync(join(dir, f.name), f.data);
    }
    return execFileSync('tar', ['--format=ustar', '-cf', '-', '-C', dir, ...files.map((f) => f.name)]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
