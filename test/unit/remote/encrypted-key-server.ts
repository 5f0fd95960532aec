/**
 * A test SSH server that accepts one passphrase-protected key (PASSPHRASE), the key written to a
 * temporary directory, and the endpoint of a node on that server: for tests of the passphrase prompt
 * and of the run's pool.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SshEndpoint } from '../../../src/remote/endpoint.js';
import { makeKeyPair, TestSshServer } from './ssh-test-server.js';

export const PASSPHRASE = 'open sesame';

export interface EncryptedKeyServer {
  dir: string;
  keyFile: string;
  server: TestSshServer;
  endpoint(name: string): SshEndpoint;
  close(): Promise<void>;
}

export async function startEncryptedKeyServer(prefix: string): Promise<EncryptedKeyServer> {
  const hostKey = makeKeyPair();
  const userKey = makeKeyPair({ passphrase: PASSPHRASE });
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const keyFile = join(dir, 'id_encrypted');
  await writeFile(keyFile, userKey.private, { mode: 0o600 });
  const server = await TestSshServer.start({ hostKey, authorizedKeys: [userKey], cwd: dir, instant: () => ({ stdout: 'ok\n', code: 0 }) });
  return {
    dir, keyFile, server,
    endpoint: (name) => ({
      name, host: '127.0.0.1', hostname: '127.0.0.1', port: server.port, user: 'root', identityFiles: [keyFile], useAgent: false,
      knownHostsFile: join(dir, 'none'), strictHostKeyChecking: 'no', connectTimeoutMs: 5000,
    }),
    close: async () => {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
