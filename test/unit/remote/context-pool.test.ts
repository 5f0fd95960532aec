/**
 * The run's one connection pool lives in the context (context.ts): made on first use, shared by every
 * command of the run — the demo hands its steps copies of its context — and closed once at the end.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContext, type Context } from '../../../src/context.js';
import type { SshEndpoint } from '../../../src/remote/endpoint.js';
import { makeKeyPair, TestSshServer } from './ssh-test-server.js';

const hostKey = makeKeyPair();
const userKey = makeKeyPair({ passphrase: 'open sesame' });
let dir: string;
let keyFile: string;
let server: TestSshServer;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ascendctl-context-pool-'));
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

function context(): Context {
  const ctx = createContext({ signal: new AbortController().signal, env: {} });
  // Set after createContext, as cli.ts does once the flags are parsed: the pool must still see it.
  ctx.askPassphrase = async () => 'open sesame';
  return ctx;
}

describe('the context\'s connection pool', () => {
  it('is one pool for the run: the same node reuses one connection, from the context or a copy of it', async () => {
    const ctx = context();
    const before = server.connections;
    try {
      const pool = await ctx.pool({ maxConnecting: 4 });
      const step: Context = { ...ctx, cwd: dir };
      expect(await step.pool()).toBe(pool);
      expect(pool.transport(endpoint('node1'))).toBe((await step.pool()).transport(endpoint('node1')));
      expect((await pool.transport(endpoint('node1')).exec(['true'])).stdout).toBe('ok\n');
      expect((await (await step.pool()).transport(endpoint('node1')).exec(['true'])).stdout).toBe('ok\n');
      expect(server.connections - before).toBe(1);
    } finally {
      await ctx.closePool();
    }
  });

  it('closePool closes its connections; the next pool() is a new pool that connects again', async () => {
    const ctx = context();
    const before = server.connections;
    try {
      const first = await ctx.pool();
      await first.transport(endpoint('node2')).connect();
      await ctx.closePool();
      const again = await ctx.pool();
      expect(again).not.toBe(first);
      expect((await again.transport(endpoint('node2')).exec(['true'])).stdout).toBe('ok\n');
      expect(server.connections - before).toBe(2);
    } finally {
      await ctx.closePool();
    }
  });

  it('a pool of the caller\'s making (a test\'s fakes) is opened with the settings and closed once', async () => {
    const made: unknown[] = [];
    let closed = 0;
    const ctx = createContext({
      signal: new AbortController().signal, env: {},
      openPool: (settings) => {
        made.push(settings);
        return { transport: () => { throw new Error('no nodes in this test'); }, closeAll: async () => { closed++; } };
      },
    });
    const pool = await ctx.pool({ maxConnecting: 3 });
    expect(await ctx.pool()).toBe(pool);
    expect(made).toEqual([{ maxConnecting: 3 }]);
    await ctx.closePool();
    await ctx.closePool();
    expect(closed).toBe(1);
  });

  it('closePool without a pool does nothing and creates none', async () => {
    const ctx = context();
    await ctx.closePool();
    const pool = await ctx.pool();
    await ctx.closePool();
    expect(await ctx.pool()).not.toBe(pool);
    await ctx.closePool();
  });
});
