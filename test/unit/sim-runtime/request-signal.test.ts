import { getEventListeners } from 'node:events';
import { createServer } from 'node:http';
import { describe, expect, it } from 'vitest';
import { requestSignal } from '../../../src/sim/runtime-http.js';

describe('requestSignal', () => {
  it('takes its listener off the daemon-wide signal when the request ends', async () => {
    const daemon = new AbortController();
    const server = createServer((_req, res) => {
      requestSignal(res, daemon.signal);
      res.end('ok');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as { port: number }).port;
    for (let i = 0; i < 20; i++) await (await fetch(`http://127.0.0.1:${port}/`)).text();
    await new Promise((r) => setTimeout(r, 50));
    expect(getEventListeners(daemon.signal, 'abort')).toHaveLength(0);
    await new Promise<void>((r) => server.close(() => r()));
  });
});
