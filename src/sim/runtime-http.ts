/**
 * HTTP listeners of the simulated servers. They bind the node's own loopback address (127.x.y.z) for real,
 * so ascendctl's HTTP client talks to them exactly as it would to a node; the node's listener table
 * (`ss -Htln`) shows them while they are open.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { ContainerHost } from './runtime-host.js';
import { isLoopback, pause } from './runtime-host.js';
import { SSE_DONE, sseEvent } from './openai-stream.js';

export type Handler = (req: IncomingMessage, body: Buffer, res: ServerResponse) => Promise<void> | void;

export class ListenError extends Error {
  constructor(
    readonly reason: 'occupied' | 'not-local',
    readonly ip: string,
    readonly port: number,
  ) {
    super(`${reason} ${ip}:${port}`);
  }
}

export interface OpenListeners {
  close(): Promise<void>;
}

const MAX_BODY = 40 * 1024 * 1024;

/** Open one listener per distinct (ip, port); equal ports share one, as MindIE merges its listeners. */
export async function openListeners(
  host: ContainerHost,
  owner: string,
  specs: { ip: string; port: number; handler: Handler }[],
): Promise<OpenListeners> {
  const groups = new Map<string, { ip: string; port: number; handlers: Handler[] }>();
  for (const s of specs) {
    const key = `${s.ip}:${s.port}`;
    const g = groups.get(key) ?? { ip: s.ip, port: s.port, handlers: [] };
    g.handlers.push(s.handler);
    groups.set(key, g);
  }
  const opened: { ip: string; port: number; server: Server }[] = [];
  const closeAll = async (): Promise<void> => {
    await Promise.all(
      opened.map(
        (o) =>
          new Promise<void>((resolve) => {
            host.removeListener(o.ip, o.port);
            o.server.close(() => resolve());
            o.server.closeAllConnections();
          }),
      ),
    );
    opened.length = 0;
  };
  for (const g of groups.values()) {
    // Never bind outside 127.0.0.0/8: a non-local address is what a wrong ipAddress looks like here.
    if (g.ip !== host.host || !isLoopback(g.ip)) {
      await closeAll();
      throw new ListenError('not-local', g.ip, g.port);
    }
    if (host.portHeld(g.ip, g.port)) {
      await closeAll();
      throw new ListenError('occupied', g.ip, g.port);
    }
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size <= MAX_BODY) chunks.push(c);
      });
      req.on('end', () => {
        void (async () => {
          for (const h of g.handlers) {
            await h(req, Buffer.concat(chunks), res);
            if (res.headersSent || res.writableEnded) return;
          }
          sendJson(res, 404, { error: 'Not Found' });
        })().catch((e: unknown) => {
          if (!res.headersSent) sendJson(res, 500, { error: e instanceof Error ? e.message : String(e) });
          else res.destroy();
        });
      });
    });
    server.keepAliveTimeout = 5000;
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(g.port, g.ip, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (e) {
      await closeAll();
      const code = (e as { code?: string }).code;
      throw new ListenError(code === 'EADDRINUSE' ? 'occupied' : 'not-local', g.ip, g.port);
    }
    host.addListener(g.ip, g.port, owner);
    opened.push({ ip: g.ip, port: g.port, server });
  }
  return { close: closeAll };
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

export function sendText(res: ServerResponse, status: number, text: string, type = 'text/plain'): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

export function parseJsonBody(body: Buffer): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(body.toString('utf8'));
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
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
 * Write SSE chunks: the first after `firstDelayMs` (prefill), then one every `tokenMs`. The first chunk of
 * a MindIE/vLLM stream is the empty role delta, sent before prefill as the real servers do.
 */
export async function streamSse(
  res: ServerResponse,
  chunks: Record<string, unknown>[],
  firstDelayMs: number,
  tokenMs: number,
  signal: AbortSignal,
): Promise<void> {
  res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache', Connection: 'keep-alive' });
  for (let i = 0; i < chunks.length; i++) {
    if (i === 1 && !(await pause(firstDelayMs, signal))) break;
    if (i > 1 && !(await pause(tokenMs, signal))) break;
    res.write(sseEvent(chunks[i]));
  }
  if (signal.aborted) {
    res.destroy();
    return;
  }
  res.end(SSE_DONE);
}

/** Concurrency gate: `limit` running, up to `queue` waiting, the rest refused. */
export class Gate {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly limit: number,
    private readonly queue: number,
  ) {}

  get active(): number {
    return this.running;
  }

  /** Resolves with a release function, or undefined when the queue is full. */
  async enter(): Promise<(() => void) | undefined> {
    if (this.running >= this.limit) {
      if (this.waiting.length >= this.queue) return undefined;
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else this.running++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    };
  }
}
