/** A passphrase-protected identity file with no agent: asked for once per file, for every node. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SshPool } from '../../../src/remote/ssh-pool.js';
import { RemoteError } from '../../../src/remote/transport.js';
import { PASSPHRASE, startEncryptedKeyServer, type EncryptedKeyServer } from './encrypted-key-server.js';

let fx: EncryptedKeyServer;

beforeAll(async () => {
  fx = await startEncryptedKeyServer('ascendctl-passphrase-');
});
afterAll(() => fx.close());

describe('passphrase-protected identity file', () => {
  it('asks once for the file and logs in to every node with it', async () => {
    const asked: string[] = [];
    const pool = new SshPool({ env: {}, askPassphrase: async (file) => { asked.push(file); return PASSPHRASE; } });
    try {
      const results = await Promise.all(['node1', 'node2', 'node3'].map((n) => pool.transport(fx.endpoint(n)).exec(['true'])));
      expect(results.map((r) => r.stdout)).toEqual(['ok\n', 'ok\n', 'ok\n']);
      expect(asked).toEqual([fx.keyFile]);
    } finally {
      await pool.closeAll();
    }
  });

  it('a wrong passphrase is a config error naming the file, not an authentication failure', async () => {
    const pool = new SshPool({ env: {}, askPassphrase: async () => 'wrong' });
    try {
      const err = await pool.transport(fx.endpoint('node1')).exec(['true']).then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(RemoteError);
      expect((err as RemoteError).kind).toBe('config');
      expect((err as RemoteError).message).toMatch(new RegExp(`passphrase given for identity file ${fx.keyFile}.* does not decrypt it`));
    } finally {
      await pool.closeAll();
    }
  });
});
