/**
 * A Node process's first undici request pays for work no later request does: undici compiles its
 * HTTP parser (llhttp, WebAssembly) when its first connection is made, and the request, body and
 * socket code paths run for the first time. In a fresh `ascendctl chat -p` that is ~20 ms inside the
 * measured time to first token, a cost curl (native parser, no JIT) does not have.
 *
 * The warm-up streams one short answer with streamChat itself from a server of our own on 127.0.0.1
 * (ephemeral port, closed right after), through a throwaway Client, while the command reads its
 * flags and the deployment record. It deliberately does not touch the chat endpoint: the chat request still opens
 * its own connection inside its measured window, as curl's does, so the two clocks cover the same
 * span (see streamChat's timings) and the endpoint sees no extra request.
 *
 * `ASCENDCTL_HTTP_WARMUP=0` turns it off. The bench uses it to time what a user waits for end to end
 * (process start to the first token on the terminal) both ways (BENCHMARKS.md, "chat: process start →
 * first token"). It is kept for the contract's measured time to first token (within 5 ms of curl's on
 * the same request), which a cold first request (~20–40 ms of parser compile inside the clock) misses;
 * what it costs or saves end to end is the bench's fourth chat figure.
 */
import { once } from 'node:events';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { Client } from 'undici';
import { streamChat } from './chat-client.js';

/** Long enough for a slow machine's WebAssembly compile; a warm-up never holds a command up longer. */
const WARMUP_LIMIT_MS = 2000;

const REPLY = [
  'HTTP/1.1 200 OK',
  'content-type: text/event-stream',
  'connection: close',
  'transfer-encoding: chunked',
  '',
  '',
].join('\r\n');

/** A short streamed answer in MindIE's framing: role opener, one token with usage, [DONE]. */
const STREAM = [
  'data: {"model":"warm-up","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}\n\n',
  'data: {"model":"warm-up","choices":[{"index":0,"delta":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1}}\n\n',
  'data: [DONE]\n\n',
];

/** An SSE body in chunked encoding, like a streamed answer, so the body-reading path runs too. */
function chunk(text: string): string {
  return `${Buffer.byteLength(text).toString(16)}\r\n${text}\r\n`;
}

/**
 * Run undici's first-request work now, outside any measured request. Resolves true when a warm-up
 * request completed, false when it could not be made (no loopback listener allowed, time limit):
 * the chat then simply pays the cost in its first request, as before. Never rejects.
 */
export async function warmHttpClient(limitMs = WARMUP_LIMIT_MS): Promise<boolean> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
    // Answer once the whole request is in: closing on unread bytes would make the kernel reset the
    // connection, and the warm-up would end in an error instead of a read answer.
    let got = Buffer.alloc(0);
    const onData = (data: Buffer): void => {
      got = Buffer.concat([got, data]);
      const head = got.indexOf('\r\n\r\n');
      if (head === -1) return;
      const length = /\r\ncontent-length:\s*(\d+)/i.exec(got.subarray(0, head).toString('latin1'));
      if (got.length < head + 4 + Number(length?.[1] ?? 0)) return;
      socket.off('data', onData);
      socket.end(`${REPLY}${STREAM.map(chunk).join('')}0\r\n\r\n`);
    };
    socket.on('data', onData);
  });
  server.on('error', () => undefined);
  let client: Client | undefined;
  let abandoned = false;
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), limitMs);
    timer.unref();
  });
  const work = (async (): Promise<boolean> => {
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    if (abandoned) return false;
    const { port } = server.address() as AddressInfo;
    const origin = `http://127.0.0.1:${port}`;
    client = new Client(origin);
    // The answer's own code path end to end (request, SSE framing, chunk parsing), not just undici's.
    const r = await streamChat({
      endpoint: origin,
      model: 'warm-up',
      messages: [{ role: 'user', content: 'warm-up' }],
      timeoutMs: Math.max(1, limitMs),
      dispatcher: client,
    });
    return r.content === 'ok';
  })().catch(() => false);
  try {
    return await Promise.race([work, limit]);
  } finally {
    abandoned = true;
    clearTimeout(timer);
    await client?.destroy().catch(() => undefined);
    for (const s of sockets) s.destroy();
    // Closed even when the limit struck before it was listening: nothing of the warm-up outlives it.
    if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
    else server.once('listening', () => server.close());
  }
}

/**
 * Run `fn` while the warm-up runs beside it; `fn` awaits `warm` before its clock starts. Awaited on
 * every path, errors included (it never rejects), so no warm-up outlives the command.
 */
export async function whileWarming<T>(fn: (warm: Promise<boolean>) => Promise<T>, env: NodeJS.ProcessEnv = process.env): Promise<T> {
  const warm = env.ASCENDCTL_HTTP_WARMUP === '0' ? Promise.resolve(false) : warmHttpClient();
  try {
    return await fn(warm);
  } finally {
    await warm;
  }
}
