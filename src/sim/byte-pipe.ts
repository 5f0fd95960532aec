/**
 * In-process byte streams for the simulator: a pipe between two simulated commands, and a reader
 * over a Node stream that does not destroy the stream when the consumer stops early (an SSH channel
 * must survive a program that ignores its standard input).
 */
import type { Readable } from 'node:stream';

export class BytePipe implements AsyncIterable<Buffer> {
  private chunks: Buffer[] = [];
  private ended = false;
  private closed = false;
  private wake: (() => void) | undefined;
  private readonly closeListeners: (() => void)[] = [];

  /** Queue data for the reader; dropped once the reader went away (SIGPIPE). */
  async write(chunk: string | Buffer): Promise<void> {
    if (this.closed || this.ended) return;
    this.chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
    this.signal();
  }

  end(): void {
    this.ended = true;
    this.signal();
  }

  /** The reader is done: later writes are dropped and the writer is told (onReaderClosed). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.chunks = [];
    this.signal();
    for (const l of this.closeListeners) l();
  }

  onReaderClosed(listener: () => void): void {
    this.closeListeners.push(listener);
  }

  get readerClosed(): boolean {
    return this.closed;
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
      if (this.ended || this.closed) return;
      await new Promise<void>((resolve) => { this.wake = resolve; });
    }
  }
}

/** Pipe a Node Readable into a BytePipe; the Readable is paused, never destroyed, when nobody reads. */
export function readableToPipe(stream: Readable): BytePipe {
  const pipe = new BytePipe();
  stream.on('data', (chunk: Buffer | string) => { void pipe.write(typeof chunk === 'string' ? Buffer.from(chunk) : chunk); });
  stream.on('end', () => pipe.end());
  stream.on('close', () => pipe.end());
  stream.on('error', () => pipe.end());
  return pipe;
}

/** One-shot iterable over a buffer (a file redirected to standard input). */
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

/** Split an input stream into lines (without the newline); the last line may lack one. */
export async function* lines(input: AsyncIterable<Buffer> | null): AsyncGenerator<string> {
  if (!input) return;
  let rest = '';
  for await (const chunk of input) {
    rest += chunk.toString('utf8');
    let nl = rest.indexOf('\n');
    while (nl >= 0) {
      yield rest.slice(0, nl);
      rest = rest.slice(nl + 1);
      nl = rest.indexOf('\n');
    }
  }
  if (rest !== '') yield rest;
}
