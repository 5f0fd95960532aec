/**
 * The pieces issue #12 made faster, held to what they did before: timestamps read without BigInt or a
 * regular expression give the same instants as parseTimestamp; the printer gathers batches into one
 * write per turn instead of one per batch, in order, and never past stdout's high-water mark.
 */
import { PassThrough, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createContext } from '../../../src/context.js';
import { parseTimestamp, readLines } from '../../../src/logs/docker-logs.js';
import { LineFramer } from '../../../src/logs/line-framer.js';
import { LogPrinter } from '../../../src/logs/log-printer.js';
import { splitTimestamp } from './stamped.js';

/** A framer's output as separate lines, as the follower reads them (readLines). */
const push = (f: LineFramer, chunk: Buffer): string[] => lines(f.push(chunk));
const end = (f: LineFramer): string[] => lines(f.end());
function lines(bytes: Buffer | undefined): string[] {
  return bytes === undefined ? [] : readLines(bytes).map((l) => l.text);
}

describe('readLines on one line', () => {
  const stamps = [
    '2026-01-02T03:04:05Z', '2026-01-02T03:04:05.1Z', '2026-01-02T03:04:05.123456789Z', '2026-01-02T03:04:05.000000001Z',
    '2026-01-02T04:04:05.5+01:00', '2026-01-02T02:04:05.25-01:00', '2026-12-31T23:59:59.999999999Z', '1999-02-28T00:00:00.010Z',
  ];
  const notStamps = [
    '2026-01-02T03:04:05', '2026-01-02T03:04:05.Z', '2026-01-02T03:04:05.1234567890Z', '2026-01-02 03:04:05Z', '2026-13-02T03:04:05Z',
    '2026-01-02T03:04:05+0100', '2026-01-02T03:04:05ZZ', 'x026-01-02T03:04:05Z', '2026-01-02T03:04:05.12a4Z', '[2026-01-02T03:04:05Z]',
  ];

  it('reads every timestamp as the same instant as parseTimestamp, also when consecutive lines change zone', () => {
    for (const stamp of [...stamps, ...stamps.reverse()]) {
      const l = splitTimestamp(`${stamp} text`);
      expect(l.time).toBe(stamp);
      expect(l.text).toBe('text');
      expect(l.ns).toBe(parseTimestamp(stamp));
      expect(BigInt(l.sec) * 1_000_000_000n + BigInt(l.nano)).toBe(parseTimestamp(stamp));
    }
  });

  it('leaves what is not a timestamp in the line, as the regular expression did', () => {
    for (const head of notStamps) {
      expect(parseTimestamp(head)).toBeUndefined();
      const l = splitTimestamp(`${head} text`);
      expect(l.time).toBeUndefined();
      expect(l.ns).toBeUndefined();
      expect(l.text).toBe(`${head} text`);
    }
  });
});

describe('LineFramer on whole chunks', () => {
  it('a chunk of many lines, CRLF endings and a multi-byte character split across chunks', () => {
    const f = new LineFramer();
    const text = Buffer.from('a\r\nbé\nc\r\nd€', 'utf8');
    const cut = text.length - 2; // inside €
    expect(push(f, text.subarray(0, cut))).toEqual(['a', 'bé', 'c']);
    expect(push(f, Buffer.concat([text.subarray(cut), Buffer.from('\n\n')]))).toEqual(['d€', '']);
    expect(end(f)).toEqual([]);
  });
});

function countingStdout(highWaterMark: number) {
  const writes: string[] = [];
  const stream = Object.assign(
    new Writable({
      highWaterMark,
      write(chunk: Buffer, _enc, cb) {
        writes.push(chunk.toString());
        cb();
      },
    }),
    { isTTY: false },
  );
  return { writes, stream };
}

describe('LogPrinter writes', () => {
  it('batches printed in one turn go out as one write, in order', async () => {
    const { writes, stream } = countingStdout(16 * 1024);
    const ctx = createContext({ signal: new AbortController().signal, env: { NO_COLOR: '1', LANG: 'C.UTF-8' }, stdout: stream, stderr: new PassThrough() });
    const printer = new LogPrinter({ out: ctx.out, nodes: ['n1', 'n2'], showTimestamps: false, json: false });
    for (let i = 0; i < 100; i++) printer.print(i % 2 === 0 ? 'n1' : 'n2', [splitTimestamp(`2026-01-02T03:04:05.${String(i).padStart(9, '0')}Z line ${i}`)]);
    await Promise.resolve();
    expect(writes).toHaveLength(1);
    expect(writes[0]!.trimEnd().split('\n')).toEqual(Array.from({ length: 100 }, (_, i) => `${i % 2 === 0 ? 'n1' : 'n2'} │ line ${i}`));
  });

  it('writes as soon as the text held reaches the room left below the high-water mark', async () => {
    const { writes, stream } = countingStdout(1024);
    const ctx = createContext({ signal: new AbortController().signal, env: { NO_COLOR: '1', LANG: 'C.UTF-8' }, stdout: stream, stderr: new PassThrough() });
    const printer = new LogPrinter({ out: ctx.out, nodes: ['n'], showTimestamps: false, json: true });
    const line = splitTimestamp(`2026-01-02T03:04:05Z ${'x'.repeat(90)}`);
    for (let i = 0; i < 100; i++) await printer.print('n', [line]);
    await Promise.resolve();
    const all = writes.join('').trimEnd().split('\n');
    expect(all).toHaveLength(100);
    expect(JSON.parse(all[0]!)).toEqual({ node: 'n', time: '2026-01-02T03:04:05Z', line: 'x'.repeat(90) });
    expect(writes.length).toBeGreaterThan(1);
    for (const w of writes) expect(w.length).toBeLessThan(1024 + all[0]!.length + 2);
  });
});
