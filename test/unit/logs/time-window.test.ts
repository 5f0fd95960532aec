import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { TimedLine } from '../../../src/logs/docker-logs.js';
import { parseTimestamp } from '../../../src/logs/docker-logs.js';
import { followLogs } from '../../../src/logs/log-follower.js';
import { TimeWindow } from '../../../src/logs/time-window.js';
import { FakeDockerTransport, type FakeLine } from './fake-docker-transport.js';

function line(sec: number, text: string): TimedLine {
  const time = `2026-01-02T10:00:${String(sec).padStart(2, '0')}.000000000Z`;
  return { time, ns: parseTimestamp(time), text };
}

function sink() {
  const out: string[] = [];
  return { out, emit: (node: string, lines: TimedLine[]) => { for (const l of lines) out.push(`${node}:${l.text}`); } };
}

describe('TimeWindow (logs -f in time order)', () => {
  beforeEach(() => { vi.useFakeTimers(); });
  afterEach(() => { vi.useRealTimers(); });

  it('lets an earlier line that arrives later overtake, within the hold window', async () => {
    const s = sink();
    const w = new TimeWindow(s.emit, new AbortController().signal, { holdMs: 300, now: () => Date.now() });
    w.push('node2', [line(3, 'worker EI0006')]);
    await vi.advanceTimersByTimeAsync(100);
    w.push('node7', [line(1, 'real cause')]);
    expect(s.out).toEqual([]);
    await vi.advanceTimersByTimeAsync(250);
    expect(s.out).toEqual(['node7:real cause', 'node2:worker EI0006']);
  });

  it('holds no line longer than the window: a quiet node holds nobody back', async () => {
    const s = sink();
    const w = new TimeWindow(s.emit, new AbortController().signal, { holdMs: 300, now: () => Date.now() });
    w.push('node1', [line(5, 'a'), line(6, 'b')]);
    await vi.advanceTimersByTimeAsync(299);
    expect(s.out).toEqual([]);
    await vi.advanceTimersByTimeAsync(2);
    expect(s.out).toEqual(['node1:a', 'node1:b']);
  });

  it('a line later than the window is printed at once, not dropped or held', async () => {
    const s = sink();
    const w = new TimeWindow(s.emit, new AbortController().signal, { holdMs: 300, now: () => Date.now() });
    w.push('node1', [line(9, 'printed first')]);
    await vi.advanceTimersByTimeAsync(400);
    w.push('node2', [line(2, 'very late')]);
    await vi.advanceTimersByTimeAsync(1);
    expect(s.out).toEqual(['node1:printed first', 'node2:very late']);
  });

  it('passes on only the held lines not later than the due ones; later ones wait their own turn', async () => {
    const s = sink();
    const w = new TimeWindow(s.emit, new AbortController().signal, { holdMs: 300, now: () => Date.now() });
    w.push('node1', [line(4, 'x4')]);
    await vi.advanceTimersByTimeAsync(200);
    w.push('node2', [line(3, 'y3'), line(8, 'y8')]);
    await vi.advanceTimersByTimeAsync(101);
    expect(s.out).toEqual(['node2:y3', 'node1:x4']);
    await vi.advanceTimersByTimeAsync(200);
    expect(s.out).toEqual(['node2:y3', 'node1:x4', 'node2:y8']);
  });

  it('a line without a timestamp stays after its node\'s previous line; ties keep arrival order', async () => {
    const s = sink();
    const w = new TimeWindow(s.emit, new AbortController().signal, { holdMs: 50, now: () => Date.now() });
    w.push('a', [line(1, 'a1'), { time: undefined, ns: undefined, text: 'a-cont' }]);
    w.push('b', [line(1, 'b1')]);
    await vi.advanceTimersByTimeAsync(60);
    expect(s.out).toEqual(['a:a1', 'a:a-cont', 'b:b1']);
  });

  it('makes the caller wait once more than maxHeld lines are held, and lets it go when they are written', async () => {
    const s = sink();
    const w = new TimeWindow(s.emit, new AbortController().signal, { holdMs: 100, maxHeld: 3, now: () => Date.now() });
    expect(w.push('a', [line(1, '1'), line(2, '2')])).toBeUndefined();
    const wait = w.push('a', [line(3, '3'), line(4, '4')]);
    expect(wait).toBeInstanceOf(Promise);
    let released = false;
    void (wait as Promise<void>).then(() => { released = true; });
    await vi.advanceTimersByTimeAsync(50);
    expect(released).toBe(false);
    await vi.advanceTimersByTimeAsync(60);
    expect(released).toBe(true);
    expect(s.out).toEqual(['a:1', 'a:2', 'a:3', 'a:4']);
  });

  it('flush passes on everything held at once; abort drops it', async () => {
    const s = sink();
    const w = new TimeWindow(s.emit, new AbortController().signal, { holdMs: 10_000, now: () => Date.now() });
    w.push('b', [line(2, 'b2')]);
    w.push('a', [line(1, 'a1')]);
    await w.flush();
    expect(s.out).toEqual(['a:a1', 'b:b2']);

    const ac = new AbortController();
    const s2 = sink();
    const w2 = new TimeWindow(s2.emit, ac.signal, { holdMs: 100, now: () => Date.now() });
    w2.push('a', [line(1, 'never')]);
    ac.abort();
    await vi.advanceTimersByTimeAsync(200);
    expect(s2.out).toEqual([]);
  });
});

/** Two nodes whose lines reach us in the wrong order: node2's (later) stream is fast, node1's slow. */
function interleaved(): { node1: FakeLine[]; node2: FakeLine[] } {
  const t = (ms: number) => new Date(Date.UTC(2026, 0, 2, 10, 0, 0, ms)).toISOString().replace('Z', '000000Z');
  const node1: FakeLine[] = [];
  const node2: FakeLine[] = [];
  for (let i = 0; i < 40; i++) {
    node1.push({ time: t(i * 10), text: `n1 ${i}` });
    node2.push({ time: t(i * 10 + 5), text: `n2 ${i}` });
  }
  return { node1, node2 };
}

describe('followLogs -f order', () => {
  it('time order (default): lines of nodes with different rates come out sorted by timestamp, none lost or repeated, across a dropped connection', async () => {
    const { node1, node2 } = interleaved();
    // node1 drops its connection twice and is resumed from its last timestamp.
    const t1 = new FakeDockerTransport('node1', { lines: node1, chunkBytes: 7, failAfterBytes: [300, 700], containerExit: 0 });
    const t2 = new FakeDockerTransport('node2', { lines: node2, chunkBytes: 4000, containerExit: 0 });
    const got: { node: string; line: TimedLine }[] = [];
    const result = await followLogs({
      nodes: [{ name: 'node1', runtime: 'docker' }, { name: 'node2', runtime: 'docker' }],
      container: 'c', transportFor: (n) => (n === 'node1' ? t1 : t2), follow: true, endWhenStopped: true,
      signal: new AbortController().signal, holdMs: 200, retryInitialMs: 1, retryMaxMs: 2,
      onLines: (node, lines) => { for (const l of lines) got.push({ node, line: l }); },
      onEvent: () => undefined,
    });
    expect(result.failed).toEqual([]);
    const texts = got.map((g) => g.line.text);
    const expected = [...node1, ...node2].sort((a, b) => a.time.localeCompare(b.time)).map((l) => l.text);
    expect(texts).toEqual(expected);
  });

  it('arrival order keeps today\'s behaviour: a fast node\'s lines are not held for a slow one', async () => {
    const { node1, node2 } = interleaved();
    const t1 = new FakeDockerTransport('node1', { lines: node1, chunkBytes: 7, containerExit: 0 });
    const t2 = new FakeDockerTransport('node2', { lines: node2, chunkBytes: 4000, containerExit: 0 });
    const got: string[] = [];
    await followLogs({
      nodes: [{ name: 'node1', runtime: 'docker' }, { name: 'node2', runtime: 'docker' }],
      container: 'c', transportFor: (n) => (n === 'node1' ? t1 : t2), follow: true, endWhenStopped: true,
      signal: new AbortController().signal, order: 'arrival',
      onLines: (_node, lines) => { for (const l of lines) got.push(l.text); },
      onEvent: () => undefined,
    });
    const sorted = [...node1, ...node2].sort((a, b) => a.time.localeCompare(b.time)).map((l) => l.text);
    expect(got).toHaveLength(80);
    expect(got).not.toEqual(sorted);
  });
});
