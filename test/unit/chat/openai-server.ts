/**
 * A local OpenAI-compatible server on 127.0.0.1 that streams the way MindIE does (role repeated in every
 * chunk, usage on the last content chunk, `data: [DONE]`) or the way vLLM does (role once, usage only
 * with stream_options.include_usage, in a final chunk with empty choices), plus the failures the client
 * must explain: unknown model, HTTP 500, a stream cut mid-way, a server that never answers.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach } from 'vitest';

export interface ServerBehaviour {
  framing: 'mindie' | 'vllm';
  model: string;
  reasoning?: string[];
  content: string[];
  promptTokens?: number;
  /** End the response after this many content chunks, without finish_reason or [DONE]. */
  cutAfter?: number;
  /** How the cut happens: the connection is destroyed (a crash), or the response ends cleanly. */
  cutMode?: 'destroy' | 'end';
  /** A vLLM that does not honour stream_options.include_usage. */
  ignoreStreamOptions?: boolean;
  /** Never send anything after the headers (or, with 'headers', not even them). */
  hang?: 'headers' | 'body';
  status500?: string;
  /** Every n-th chat request (1-based) answers HTTP 500 "busy". */
  failEvery?: number;
  delayMs?: number;
  /** SSE lines end in CRLF. */
  crlf?: boolean;
}

export interface TestServer {
  url: string;
  requests: Record<string, unknown>[];
  behaviour: ServerBehaviour;
  /** TCP connections accepted so far. */
  connections(): number;
  close(): Promise<void>;
}

export async function startServer(behaviour: ServerBehaviour): Promise<TestServer> {
  const requests: Record<string, unknown>[] = [];
  const sockets = new Set<import('node:net').Socket>();
  const state = { behaviour };
  const server = http.createServer((req, res) => {
    void handle(req, res);
  });
  let connections = 0;
  server.on('connection', (s) => {
    connections++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const b = state.behaviour;
    if (req.method === 'GET' && req.url === '/v1/models') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ object: 'list', data: [{ id: b.model, object: 'model' }] }));
      return;
    }
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
    requests.push(body);
    if (req.url !== '/v1/chat/completions') {
      res.writeHead(404).end('not found');
      return;
    }
    if (b.hang === 'headers') return;
    if (body.model !== b.model) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(
        b.framing === 'mindie'
          ? JSON.stringify({ error: 'Model not found', error_type: 'Not Found' })
          : JSON.stringify({ object: 'error', message: `The model \`${String(body.model)}\` does not exist.`, type: 'NotFoundError', code: 404 }),
      );
      return;
    }
    const busy = b.failEvery !== undefined && requests.length % b.failEvery === 0 ? 'busy' : undefined;
    if (b.status500 ?? busy) {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: b.status500 ?? busy, type: 'InternalError' } }));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.flushHeaders();
    if (b.hang === 'body') return;
    const eol = b.crlf ? '\r\n' : '\n';
    const send = async (data: unknown): Promise<void> => {
      res.write(`data: ${typeof data === 'string' ? data : JSON.stringify(data)}${eol}${eol}`);
      if (b.delayMs) await new Promise((r) => setTimeout(r, b.delayMs));
    };
    const base = { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: b.model };
    const role = b.framing === 'mindie';
    const deltas = [...(b.reasoning ?? []).map((r) => ({ reasoning_content: r })), ...b.content.map((c) => ({ content: c }))];
    const usage = { prompt_tokens: b.promptTokens ?? 12, completion_tokens: deltas.length, total_tokens: (b.promptTokens ?? 12) + deltas.length };
    await send({ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] });
    for (let i = 0; i < deltas.length; i++) {
      if (b.cutAfter !== undefined && i === b.cutAfter) {
        if (b.cutMode === 'end') {
          res.end();
        } else {
          // Let what was written reach the client first, as it would before a crash.
          await new Promise((r) => setTimeout(r, 30));
          res.destroy();
        }
        return;
      }
      const last = i === deltas.length - 1;
      const delta = role ? { role: 'assistant', ...deltas[i] } : deltas[i];
      await send({
        ...base,
        choices: [{ index: 0, delta, finish_reason: last ? 'stop' : null }],
        ...(last && b.framing === 'mindie' ? { usage } : {}),
      });
    }
    const opts = body.stream_options as { include_usage?: boolean } | undefined;
    if (b.framing === 'vllm' && opts?.include_usage && !b.ignoreStreamOptions) await send({ ...base, choices: [], usage });
    await send('[DONE]');
    res.end();
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    connections: () => connections,
    get behaviour() {
      return state.behaviour;
    },
    set behaviour(b: ServerBehaviour) {
      state.behaviour = b;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A loopback port that nothing listens on. */
export async function closedPort(): Promise<string> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

/** A `startServer` for one test file: every server it started is closed after each test. */
export function useTestServers(): (behaviour: ServerBehaviour) => Promise<TestServer> {
  const servers: TestServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });
  return async (behaviour) => {
    const s = await startServer(behaviour);
    servers.push(s);
    return s;
  };
}
