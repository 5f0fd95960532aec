/** A passphrase-protected identity file with no agent: asked for once per file, for every node. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SshEndpoint } from '../../../src/remote/endpoint.js';
import { SshPool } from '../../../src/remote/ssh-pool.js';
import { RemoteError } from '../../../src/remote/transport.js';
import { makeKeyPair, TestSshServer } from './ssh-test-server.js';

const hostKey = makeKeyPair();
const userKey = makeKeyPair({ passphrase: 'open sesame' });
let dir: string;
let keyFile: string;
let server: TestSshServer;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ascendctl-passphrase-'));
  keyFile = join(dir, 'id_encrypted');
  await writeFile(keyFile, userKey.private, { mode: 0o600 });
  server = await TestSshServer.start({ hostKey, authorizedKeys: [userKey], cwd: dir, instant: () => ({ stdout: 'ok\n', code: 0 }) });
});
afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

function endpoint(name: string): SshEndpoint {
  return {
    name, host: '127.0.0.1', hostname: '127.0.0.1', port: server.port, user: 'root', identityFiles: [keyFile], useAgent: false,
    knownHostsFile: join(dir, 'none'), strictHostKeyChecking: 'no', connectTimeoutMs: 5000,
  };
}

describe('passphrase-protected identity file', () => {
  it('asks once for the file and logs in to every node with it', async () => {
    const asked: string[] = [];
    const pool = new SshPool({ env: {}, askPassphrase: async (file) => { asked.push(file); return 'open sesame'; } });
    try {
      const results = await Promise.all(['node1', 'node2', 'node3'].map((n) => pool.transport(endpoint(n)).exec(['true'])));
      expect(results.map((r) => r.stdout)).toEqual(['ok\n', 'ok\n', 'ok\n']);
      expect(asked).toEqual([keyFile]);
    } finally {
      await pool.closeAll();
    }
  });

  it('a wrong passphrase is a config error naming the file, not an authentication failure', async () => {
    const pool = new SshPool({ env: {}, askPassphrase: async () => 'wrong' });
    try {
      const err = await pool.transport(endpoint('node1')).exec(['true']).then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(RemoteError);
      expect((err as RemoteError).kind).toBe('config');
      expect((err as RemoteError).message).toMatch(new RegExp(`passphrase given for identity file ${keyFile}.* does not decrypt it`));
    } finally {
      await pool.closeAll();
    }
  });
});
