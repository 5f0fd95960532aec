/**
 * A simulated node's standard input behaves like a shell's: one stream shared by the programs of a
 * command line, so a program that stops reading early leaves the rest to the next one, and a broken
 * channel is the end of the input, not an error thrown at whoever reads (or nobody). Its output blocks
 * like a program's writing into a full pipe once the client stops reading.
 */
import { PassThrough, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { coalescingWriter, readAll, readableToPipe } from '../../../src/sim/byte-pipe.js';

describe('readableToPipe', () => {
  it('a reader that stops early leaves the rest of the input to the next reader', async () => {
    const stream = new PassThrough();
    const stdin = readableToPipe(stream);
    for (const c of ['a', 'b', 'c', 'd']) stream.write(c);
    stream.end();
    const first: string[] = [];
    for await (const chunk of stdin) {
      first.push(chunk.toString());
      break;
    }
    expect(first).toEqual(['a']);
    expect((await readAll(stdin)).toString()).toBe('bcd');
    expect((await readAll(stdin)).toString()).toBe('');
  });

  it('an error on the stream ends the input, also when it comes after every reader left', async () => {
    const stream = new PassThrough();
    const stdin = readableToPipe(stream);
    stream.write('x');
    await new Promise((r) => setImmediate(r));
    stream.destroy(new Error('channel broke'));
    expect((await readAll(stdin)).toString()).toBe('x');
    expect(() => stream.emit('error', new Error('late'))).not.toThrow();
  });
});

/** A channel whose client granted no window: it queues every write (up to 2 MiB, as ssh2's does) and sends none. */
function closedWindowChannel(): { stream: Writable; sent: () => void; queued: () => number } {
  const held: (() => void)[] = [];
  const stream = new Writable({
    highWaterMark: 2 * 1024 * 1024,
    write(_chunk, _enc, cb) {
      held.push(cb);
    },
  });
  return {
    stream,
    sent: () => held.shift()?.(),
    queued: () => stream.writableLength,
  };
}

describe('coalescingWriter', () => {
  it('a program writing to a client that stopped reading blocks after about a pipe of output, as on a real node', async () => {
    const ch = closedWindowChannel();
    const out = coalescingWriter(ch.stream, new AbortController().signal, 64 * 1024);
    const line = Buffer.alloc(1024, 'x');
    let accepted = 0;
    const producer = (async () => {
      for (let i = 0; i < 1024; i++) {
        await out.write(line);
        accepted += line.length;
      }
    })();
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    // ssh2 would take 2 MiB before its write() says to wait; a pipe and sshd hold about 128 KiB.
    expect(accepted).toBeGreaterThanOrEqual(32 * 1024);
    expect(accepted).toBeLessThanOrEqual(192 * 1024);
    expect(ch.queued()).toBeLessThanOrEqual(128 * 1024);
    const before = accepted;
    // The client opens its window: the program goes on.
    ch.sent();
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    expect(accepted).toBeGreaterThan(before);
    while (accepted < 1024 * 1024) {
      ch.sent();
      await new Promise((r) => setImmediate(r));
    }
    await producer;
  });

  it('the program goes on writing while the channel sends its last write, and waits only when the next is full', async () => {
    const ch = closedWindowChannel();
    const out = coalescingWriter(ch.stream, new AbortController().signal, 1024);
    // Full at once: handed to the channel, which has sent nothing yet; the program need not wait for that.
    await out.write(Buffer.alloc(4096, 'a'));
    expect(ch.queued()).toBe(4096);
    await out.write(Buffer.alloc(512, 'b'));
    // The next write is full while the one before is still unsent: now the program waits, as at a full pipe.
    let settled = false;
    const waiting = out.write(Buffer.alloc(512, 'c')).then(() => (settled = true));
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    expect(settled).toBe(false);
    expect(ch.queued()).toBe(4096);
    ch.sent();
    await waiting;
    expect(ch.queued()).toBe(1024);
  });

  it('stdout and stderr of one channel hand it one write at a time, in order, so neither starves the other', async () => {
    const outCh = closedWindowChannel();
    const errCh = closedWindowChannel();
    const sends = { last: Promise.resolve() };
    const out = coalescingWriter(outCh.stream, new AbortController().signal, 1024, sends);
    const err = coalescingWriter(errCh.stream, new AbortController().signal, 1024, sends);
    void out.write(Buffer.alloc(2048, 'o'));
    void err.write('marker on stderr');
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    expect([outCh.queued(), errCh.queued()]).toEqual([2048, 0]);
    outCh.sent();
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    expect(errCh.queued()).toBe('marker on stderr'.length);
    const done = Promise.all([out.flush(), err.flush()]);
    errCh.sent();
    await done;
  });

  it('a channel that closes while a write waits lets the program go on', async () => {
    const ch = closedWindowChannel();
    const out = coalescingWriter(ch.stream, new AbortController().signal, 1024);
    await out.write(Buffer.alloc(4096, 'x'));
    const waiting = out.write(Buffer.alloc(4096, 'y'));
    await new Promise((r) => setImmediate(r));
    ch.stream.destroy();
    await expect(waiting).resolves.toBeUndefined();
  });

  it('a channel whose stream never says it closed (ssh2 stderr) lets the program go on once the channel closes', async () => {
    const ch = closedWindowChannel();
    const closed = new AbortController();
    const out = coalescingWriter(ch.stream, closed.signal, 1024);
    await out.write(Buffer.alloc(4096, 'z'));
    const waiting = out.write(Buffer.alloc(4096, 'z'));
    let settled = false;
    void waiting.then(() => (settled = true));
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    expect(settled).toBe(false);
    closed.abort();
    await expect(waiting).resolves.toBeUndefined();
    // Nothing is written once the channel closed.
    const queued = ch.queued();
    await out.write(Buffer.alloc(4096, 'z'));
    await out.flush();
    expect(ch.queued()).toBe(queued);
  });
});
