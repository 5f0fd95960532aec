/**
 * chat's time to first token carries no one-time HTTP-client work: undici's parser is compiled by the
 * warm-up, before the chat request connects, and the request still makes its own connection (its
 * measured span covers the connect, as curl's does). This file must be the first user of undici in its
 * process, so that the compile it watches for really happens here.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import chat from '../../../src/commands/chat.js';
import { warmHttpClient } from '../../../src/chat/http-warmup.js';
import { captureContext, until } from './helpers.js';
import { startServer, type TestServer } from './openai-server.js';

const servers: TestServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** Records, in order, every WebAssembly compile and every outgoing TCP connect (by port). */
/** The global WebAssembly object (the compiler's lib here has no DOM/WebAssembly types). */
const wasm = (globalThis as unknown as { WebAssembly: { Module: new (bytes: unknown) => object } }).WebAssembly;

function watch(): { events: string[]; restore(): void } {
  const events: string[] = [];
  const OriginalModule = wasm.Module;
  const originalConnect = net.connect;
  const counting = new Proxy(OriginalModule, {
    construct(target, args: [unknown]) {
      events.push('compile');
      return Reflect.construct(target, args) as object;
    },
  });
  Object.defineProperty(wasm, 'Module', { value: counting, configurable: true, writable: true });
  (net as { connect: unknown }).connect = (...args: unknown[]) => {
    const first = args[0] as { port?: unknown } | number;
    events.push(`connect:${String(typeof first === 'object' ? first.port : first)}`);
    return (originalConnect as (...a: unknown[]) => net.Socket)(...args);
  };
  return {
    events,
    restore() {
      Object.defineProperty(wasm, 'Module', { value: OriginalModule, configurable: true, writable: true });
      (net as { connect: unknown }).connect = originalConnect;
    },
  };
}

describe('chat -p warms the HTTP client first', () => {
  it('compiles the parser before connecting to the endpoint, and the endpoint sees only the chat request', async () => {
    const s = await startServer({ framing: 'mindie', model: 'm', content: ['4'] });
    servers.push(s);
    const port = new URL(s.url).port;
    const w = watch();
    let code: number;
    const c = captureContext({ json: true });
    try {
      code = await chat(c.ctx, [], { prompt: '2+2?', endpoint: s.url, model: 'm', timeout: '1m', json: true });
    } finally {
      w.restore();
    }
    expect(code).toBe(0);
    expect(JSON.parse(c.out())).toMatchObject({ content: '4' });
    const compiled = w.events.indexOf('compile');
    const toEndpoint = w.events.indexOf(`connect:${port}`);
    expect(compiled).toBeGreaterThanOrEqual(0);
    expect(toEndpoint).toBeGreaterThan(compiled);
    // nothing compiled once the chat request was under way
    expect(w.events.slice(toEndpoint)).not.toContain('compile');
    // the warm-up talked to its own loopback listener only: one connection, one request at the endpoint
    expect(w.events.filter((e) => e.startsWith('connect:') && e !== `connect:${port}`)).toHaveLength(1);
    expect(s.connections()).toBe(1);
    expect(s.requests).toHaveLength(1);
  });

  it('a warm-up that cannot finish in time gives up without failing, and leaves nothing listening', async () => {
    const listeners = (): number => process.getActiveResourcesInfo().filter((r) => r === 'TCPServerWrap').length;
    const before = listeners();
    expect(await warmHttpClient(0)).toBe(false);
    // its listener closes as soon as it has opened
    await until(() => listeners() === before, 'the abandoned warm-up closing its listener');
    expect(await warmHttpClient()).toBe(true);
    expect(listeners()).toBe(before);
  });
});
