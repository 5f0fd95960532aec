/**
 * The run's one connection pool lives in the context (context.ts): made on first use, shared by every
 * command of the run — the demo hands its steps copies of its context — and closed once at the end.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContext, type Context } from '../../../src/context.js';
import { PASSPHRASE, startEncryptedKeyServer, type EncryptedKeyServer } from './encrypted-key-server.js';

let fx: EncryptedKeyServer;

beforeAll(async () => {
  fx = await startEncryptedKeyServer('ascendctl-context-pool-');
});
afterAll(() => fx.close());

function context(): Context {
  const ctx = createContext({ signal: new AbortController().signal, env: {} });
  // Set after createContext, as cli.ts does once the flags are parsed: the pool must still see it.
  ctx.askPassphrase = async () => PASSPHRASE;
  return ctx;
}

describe('the context\'s connection pool', () => {
  it('is one pool for the run: the same node reuses one connection, from the context or a copy of it', async () => {
    const ctx = context();
    const before = fx.server.connections;
    try {
      const pool = await ctx.pool({ maxConnecting: 4 });
      const step: Context = { ...ctx, cwd: fx.dir };
      expect(await step.pool()).toBe(pool);
      expect(pool.transport(fx.endpoint('node1'))).toBe((await step.pool()).transport(fx.endpoint('node1')));
      expect((await pool.transport(fx.endpoint('node1')).exec(['true'])).stdout).toBe('ok\n');
      expect((await (await step.pool()).transport(fx.endpoint('node1')).exec(['true'])).stdout).toBe('ok\n');
      expect(fx.server.connections - before).toBe(1);
    } finally {
      await ctx.closePool();
    }
  });

  it('closePool closes its connections; the next pool() is a new pool that connects again', async () => {
    const ctx = context();
    const before = fx.server.connections;
    try {
      const first = await ctx.pool();
      await first.transport(fx.endpoint('node2')).connect();
      await ctx.closePool();
      const again = await ctx.pool();
      expect(again).not.toBe(first);
      expect((await again.transport(fx.endpoint('node2')).exec(['true'])).stdout).toBe('ok\n');
      expect(fx.server.connections - before).toBe(2);
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
