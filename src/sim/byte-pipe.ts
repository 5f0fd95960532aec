/**
 * Plumbing of the simulator's fronts: a reader over a Node stream that does not destroy the stream
 * when the consumer stops early (an SSH channel must survive a program that ignores its standard
 * input), a writer that waits for 'drain', one that waits as a program writing into a full pipe waits,
 * and listening on loopback.
 */
import { on } from 'node:events';
import type { AddressInfo, Server } from 'node:net';
import type { Readable, Writable } from 'node:stream';

/**
 * Chunks of a Node Readable as they come, read at once (a program that ignores its input holds nothing
 * up); the Readable is never destroyed when nobody reads, and an error on it ends the input like EOF.
 * Like a shell's standard input, it is shared: a program that stops reading early (`for await … break`)
 * leaves the rest to the next program of the command line.
 */
export function readableToPipe(stream: Readable): AsyncIterable<Buffer> {
  // A late error, after every reader has gone, must not be thrown for want of a listener.
  stream.on('error', () => undefined);
  const events = on(stream, 'data', { close: ['end', 'close'] });
  const done = { done: true, value: undefined } as const;
  const next = async (): Promise<IteratorResult<Buffer>> => {
    try {
      const r = await events.next();
      if (r.done) return done;
      const chunk = (r.value as [Buffer | string])[0];
      return { done: false, value: typeof chunk === 'string' ? Buffer.from(chunk) : chunk };
    } catch {
      return done; // the channel broke: the program sees the end of its input
    }
  };
  // return() (a reader stopping early) leaves the shared iterator open for the next reader.
  return { [Symbol.asyncIterator]: () => ({ next, return: async () => done }) };
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

/**
 * Write to a stream, resolving once the stream has passed the chunk on (its write callback), not once it
 * is merely queued; at once when the channel is closed, or when it closes meanwhile (`closed` aborts:
 * an ssh2 channel's stderr never says it closed). For an ssh2 channel that is when the bytes fit in the
 * window the client granted.
 */
function writeSent(stream: Writable, chunk: Buffer, closed: AbortSignal): Promise<void> {
  if (closed.aborted || stream.destroyed || !stream.writable) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      stream.off('close', done);
      closed.removeEventListener('abort', done);
      resolve();
    };
    stream.once('close', done);
    closed.addEventListener('abort', done, { once: true });
    stream.write(chunk, done);
  });
}

/** The writes of one channel's streams (stdout, stderr), handed to the channel one at a time, in order. */
export interface SendQueue {
  /** Settles once the last write handed over has been sent. */
  last: Promise<void>;
}

/**
 * A writer that sends what a command line's programs write in one turn of the event loop as one write,
 * as sshd sends what it finds in a node's pipe: preflight's batch frames (three `printf`s around each
 * call) then cost one SSH packet, not four. A write returns at once while less than `high` bytes wait;
 * beyond that it waits until what is held can be handed to the channel, which is once the channel has
 * sent the write before.
 *
 * That is a real node's flow control. There a program writes into a pipe of 64 KiB that sshd reads only
 * while the client's SSH window is open, so a program whose client stopped reading (`logs` pausing a node
 * whose lines come later) blocks after a pipe's worth. An ssh2 channel instead queues up to 2 MiB beyond
 * the window before its write() says to wait: every paused node would make the one simulator process
 * produce 2 MiB nobody reads yet, at the expense of the nodes being read, as no rack does (at 64 paused
 * nodes, 2.7 s of the benchmark's read went to filling those queues). So at most `high` bytes wait here,
 * one write waits for the channel and one is in it: about what a pipe and sshd's buffer hold.
 *
 * And as on a node, the program goes on writing while the channel sends: it waits for the write before
 * the one it fills, not for its own. Waiting for its own (as this writer once did) made a node's program
 * and its sending take turns, so a single stream ran at about half the simulator's speed; `logs`, which
 * drains one node at a time when their logs do not interleave, left both the simulator and itself idle
 * half of a read at 64 nodes (issue #12).
 *
 * A channel's stdout and stderr share `queue`, so that the channel never holds a write of each: ssh2's
 * server, given more window, resumes a waiting stdout write before a waiting stderr one, and tries stderr
 * again only on the next grant. With stdout always waiting, stderr would never go, and a program ending
 * with the window open would leave its stderr (and its exit status) unsent for good.
 */
export function coalescingWriter(stream: Writable, closed: AbortSignal, high = 64 * 1024, queue: SendQueue = { last: Promise.resolve() }): {
  write(chunk: string | Buffer): Promise<void>;
  flush(): Promise<void>;
} {
  let pending: Buffer[] = [];
  let bytes = 0;
  let flushing: Promise<void> | undefined;
  /** Queue what is held as one write, after the channel's last one; settles once that last one is sent. */
  const handOver = (): Promise<void> => {
    const before = queue.last;
    if (pending.length === 0) return before;
    const data = pending.length === 1 ? pending[0]! : Buffer.concat(pending);
    pending = [];
    bytes = 0;
    queue.last = before.then(() => writeSent(stream, data, closed));
    return before;
  };
  return {
    write(chunk) {
      const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      if (b.length === 0) return Promise.resolve();
      pending.push(b);
      bytes += b.length;
      flushing ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
        flushing = undefined;
        return handOver();
      });
      return bytes < high ? Promise.resolve() : flushing;
    },
    async flush() {
      await flushing;
      handOver();
      await queue.last;
    },
  };
}

/** Listen on a loopback address, 127.0.0.1 unless given (port 0 = any); resolves with the port. */
export function listenLocal(server: Server, port: number, host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}
