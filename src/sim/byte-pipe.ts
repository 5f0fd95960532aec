/**
 * Plumbing of the simulator's fronts: a reader over a Node stream that does not destroy the stream
 * when the consumer stops early (an SSH channel must survive a program that ignores its standard
 * input), a writer that waits for 'drain', and listening on 127.0.0.1.
 */
import type { AddressInfo, Server } from 'node:net';
import type { Readable, Writable } from 'node:stream';

class BytePipe implements AsyncIterable<Buffer> {
  private chunks: Buffer[] = [];
  private ended = false;
  private wake: (() => void) | undefined;

  /** Queue data for the reader. */
  async write(chunk: string | Buffer): Promise<void> {
    if (this.ended) return;
    this.chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
    this.signal();
  }

  end(): void {
    this.ended = true;
    this.signal();
  }

  private signal(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Buffer> {
    for (;;) {
      const next = this.chunks.shift();
      if (next) {
        yield next;
        continue;
      }
      if (this.ended) return;
      await new Promise<void>((resolve) => { this.wake = resolve; });
    }
  }
}

/** Pipe a Node Readable into a BytePipe; the Readable is paused, never destroyed, when nobody reads. */
export function readableToPipe(stream: Readable): AsyncIterable<Buffer> {
  const pipe = new BytePipe();
  stream.on('data', (chunk: Buffer | string) => { void pipe.write(typeof chunk === 'string' ? Buffer.from(chunk) : chunk); });
  stream.on('end', () => pipe.end());
  stream.on('close', () => pipe.end());
  stream.on('error', () => pipe.end());
  return pipe;
}

/** One-shot iterable over a buffer (standard input handed over whole). */
export function bufferIterable(buf: Buffer): AsyncIterable<Buffer> {
  return {
    async *[Symbol.asyncIterator]() {
      if (buf.length > 0) yield buf;
    },
  };
}

export async function readAll(input: AsyncIterable<Buffer> | null): Promise<Buffer> {
  if (!input) return Buffer.alloc(0);
  const parts: Buffer[] = [];
  for await (const c of input) parts.push(c);
  return Buffer.concat(parts);
}

/** Write to a stream, resolving once it took the chunk (at once, or after 'drain'); nothing when closed. */
export function writeDrained(stream: Writable, chunk: string | Buffer, isClosed: () => boolean): Promise<void> {
  if (isClosed() || stream.destroyed || !stream.writable) return Promise.resolve();
  if (stream.write(chunk)) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      stream.off('drain', done);
      stream.off('close', done);
      resolve();
    };
    stream.once('drain', done);
    stream.once('close', done);
  });
}

/** Listen on 127.0.0.1 (port 0 = any); resolves with the port. */
export function listenLocal(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}
