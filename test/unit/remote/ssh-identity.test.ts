/**
 * Identity files become ssh2 authentication attempts (src/remote/ssh-identity.ts). A key read once is
 * kept for the run's other connections, but a file replaced on disk is read again.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ParsedKey } from 'ssh2';
import { loadAuthMethods } from '../../../src/remote/ssh-identity.js';
import { makeKeyPair } from './ssh-test-server.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ascendctl-id-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const publicOf = async (file: string): Promise<Buffer> => {
  const plan = await loadAuthMethods({ user: 'root', identityFiles: [file], useAgent: false }, 'node1', 'node1', {});
  const m = plan.methods[0] as { type: string; key: ParsedKey };
  expect(m.type).toBe('publickey');
  return m.key.getPublicSSH();
};

describe('loadAuthMethods', () => {
  it('uses the key the file holds now: a replaced file is read again, an unchanged one gives the same key', async () => {
    const file = join(dir, 'id_ed25519');
    const a = makeKeyPair();
    const b = makeKeyPair();
    await writeFile(file, a.private, { mode: 0o600 });
    expect((await publicOf(file)).equals(a.blob)).toBe(true);
    expect((await publicOf(file)).equals(a.blob)).toBe(true);
    await writeFile(file, b.private, { mode: 0o600 });
    expect((await publicOf(file)).equals(b.blob)).toBe(true);
  });

  it('still says a missing file is missing after it was read once', async () => {
    const file = join(dir, 'id_ed25519');
    await writeFile(file, makeKeyPair().private, { mode: 0o600 });
    await publicOf(file);
    await rm(file);
    await expect(publicOf(file)).rejects.toThrow(/does not exist/);
  });
});
