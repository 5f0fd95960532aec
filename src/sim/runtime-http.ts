/**
 * HTTP listeners of the simulated servers, and what MindIE and vLLM share in serving a chat request. The
 * listeners bind the node's own loopback address (127.x.y.z) for real, so ascendctl's HTTP client talks to
 * them exactly as it would to a node; the node's listener table (`ss -Htln`) shows them while they are open.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { SimNode } from './ascend-node.js';
import { isLoopback, type ServingTimings } from './runtime-host.js';
import { delay as pause } from './latency.js';
import { chatChunks, chatCompletionBody } from './openai-stream.js';
import type { Framing, Generation } from './openai-stream.js';

export type Handler = (req: IncomingMessage, body: Buffer, res: ServerResponse) => Promise<void> | void;

/** Why a listener could not be opened, and which. */
export interface ListenFailure {
  reason: 'occupied' | 'not-local';
  ip: string;
  port: number;
}

const MAX_BODY = 40 * 1024 * 1024;

/** Whether something on the node (`ss -Htln`: sshd, a fault, a server) already listens on ip:port. */
export function portHeld(node: SimNode, ip: string, port: number): boolean {
  return node.listeningSockets().some((l) => l.port === port && (l.address === ip || l.address === '0.0.0.0'));
}

/**
 * Open one listener per distinct (ip, port); equal ports share one, as MindIE merges its listeners, and a
 * request goes to each handler in turn until one answers (else 404). Resolves with the function that closes
 * them all (as often as called), or with the first that failed. Never binds outside 127.0.0.0/8: a non-local
 * address is what a wrong ipAddress looks like here.
 */
export async function openListeners(
  host: SimNode,
  owner: string,
  specs: { ip: string; port: number; handler: Handler }[],
): Promise<(() => Promise<void>) | ListenFailure> {
  const groups = new Map<string, { ip: string; port: number; handlers: Handler[] }>();
  for (const { ip, port, handler } of specs) {
    const g = groups.get(`${ip}:${port}`) ?? { ip, port, handlers: [] };
    groups.set(`${ip}:${port}`, { ...g, handlers: [...g.handlers, handler] });
  }
  for (const g of groups.values()) {
    if (g.ip !== host.host || !isLoopback(g.ip)) return { reason: 'not-local', ip: g.ip, port: g.port };
    if (portHeld(host, g.ip, g.port)) return { reason: 'occupied', ip: g.ip, port: g.port };
  }
  const opened: { server: Server; unlist: () => void }[] = [];
  const closeAll = async (): Promise<void> => {
    const closing = opened.splice(0).map(({ server, unlist }) => {
      unlist();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      return closed;
    });
    await Promise.all(closing);
  };
  for (const { ip, port, handlers } of groups.values()) {
    const server = createServer((req, res) => {
      void (async () => {
        const chunks: Buffer[] = [];
        let size = 0;
        for await (const c of req as AsyncIterable<Buffer>) {
          size += c.length;
          if (size <= MAX_BODY) chunks.push(c);
        }
        for (const h of handlers) {
          await h(req, Buffer.concat(chunks), res);
          if (res.headersSent || res.writableEnded) return;
        }
        send(res, 404, { error: 'Not Found' });
      })().catch((e: unknown) => {
        if (!res.headersSent) send(res, 500, { error: e instanceof Error ? e.message : String(e) });
        else res.destroy();
      });
    });
    server.keepAliveTimeout = 5000;
    try {
      await new Promise((resolve, reject) => server.once('error', reject).listen(port, ip, () => resolve(undefined)));
    } catch (e) {
      await closeAll();
      return { reason: (e as { code?: string }).code === 'EADDRINUSE' ? 'occupied' : 'not-local', ip, port };
    }
    opened.push({ server, unlist: host.addListener({ address: ip, port, owner }) });
  }
  return closeAll;
}

/** The path of a request, without its query. */
export function pathOf(req: IncomingMessage): string {
  return (req.url ?? '/').split('?')[0]!;
}

/** Answer with a JSON body, or with text (`type`) when `body` is a string. */
export function send(res: ServerResponse, status: number, body: unknown, type = 'text/plain'): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const contentType = typeof body === 'string' ? type : 'application/json';
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

/** `v` when it is a JSON object (not null, not an array). */
export function jsonObject(v: unknown): Record<string, unknown> | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

/** The JSON object in a request body or a file, or undefined when it holds none. */
export function parseJsonBody(body: Buffer): Record<string, unknown> | undefined {
  try {
    return jsonObject(JSON.parse(body.toString('utf8')));
  } catch {
    return undefined;
  }
}

/** A signal aborted when the client goes away or `also` aborts. */
export function requestSignal(res: ServerResponse, also: AbortSignal): AbortSignal {
  const ctl = new AbortController();
  const abort = (): void => ctl.abort();
  // `also` lives as long as the daemon: take this request's listener off it when the request ends,
  // or every request served leaves one behind.
  res.on('close', () => {
    also.removeEventListener('abort', abort);
    if (!res.writableFinished) abort();
  });
  also.addEventListener('abort', abort, { once: true });
  return ctl.signal;
}

/**
 * Deliver one generation as `server` does (its answer id and model, framing, latencies, the signal that kills
 * it): with `stream: true` as SSE chunks, the first (the empty role delta) at once as the real servers send it,
 * the next after prefill, then one every token; otherwise as one JSON body after the same time. Resolves
 * whether the client got it all (not when it went away or the server was killed).
 */
export async function answerChat(
  res: ServerResponse, request: Record<string, unknown>, gen: Generation,
  server: { id: string; model: string; framing: Framing; timings: ServingTimings; kill: AbortSignal },
): Promise<boolean> {
  const { framing, timings } = server;
  const chunkCtx = { id: server.id, created: Math.floor(Date.now() / 1000), model: server.model };
  const signal = requestSignal(res, server.kill);
  if (request.stream !== true) {
    if (!(await pause(timings.prefillMs + timings.tokenMs * gen.tokens.length, signal))) res.destroy();
    else send(res, 200, chatCompletionBody(chunkCtx, gen));
    return !signal.aborted;
  }
  const includeUsage = (request.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true;
  const chunks = chatChunks(chunkCtx, gen, framing, includeUsage);
  res.writeHead(200, {
    'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache', Connection: 'keep-alive',
  });
  for (const [i, chunk] of chunks.entries()) {
    if (i > 0 && !(await pause(i === 1 ? timings.prefillMs : timings.tokenMs, signal))) break;
    res.write(`data: ${JSON.stringify(chunk)}\n\n`);
  }
  if (signal.aborted) res.destroy();
  else res.end('data: [DONE]\n\n');
  return !signal.aborted;
}

/** Concurrency gate: `limit` running, up to `queue` waiting, the rest refused. */
export class Gate {
  active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit: number, private readonly queue: number) {}

  /** Run `work` once admitted; resolves false, without running it, when the queue is full. */
  async run(work: () => Promise<void>): Promise<boolean> {
    if (this.active < this.limit) this.active++;
    else if (this.waiting.length >= this.queue) return false;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      await work();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
    return true;
  }
}
