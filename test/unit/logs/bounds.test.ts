/**
 * What `logs` holds on to: nothing per line (memory bounded however much a node prints), and no
 * listener per stream, reconnect or stdout drain.
 */
import { getEventListeners } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, describe, expect, it } from 'vitest';
import { logsVia } from '../../../src/commands/logs.js';
import { createContext } from '../../../src/context.js';
import { writeRecord } from '../../../src/deploy/record.js';
import { followLogs, LEAD_WINDOW, LOG_WINDOW_BUDGET, logWindowBytes } from '../../../src/logs/log-follower.js';
import { LogPrinter } from '../../../src/logs/log-printer.js';
import { ResumeTracker } from '../../../src/logs/resume.js';
import type { ExecOptions, ExecResult, StreamHandlers, Transport } from '../../../src/remote/transport.js';
import { FakeDockerTransport, makeLines, type FakeLine } from './fake-docker-transport.js';
import { splitTimestamp } from './stamped.js';

/** `logs` without -f over these nodes' fake transports, every batch handed to onLines. */
async function readWhole(transports: readonly FakeDockerTransport[], onLines: (node: string) => void): Promise<void> {
  await followLogs({
    nodes: transports.map((t) => ({ name: t.target.name, runtime: 'docker' })),
    container: 'c',
    transportFor: (node) => transports.find((t) => t.target.name === node)!,
    follow: false,
    signal: new AbortController().signal,
    onLines,
    onEvent: () => undefined,
  });
}

/** A full collection on demand, so the heap measured is what is still reachable. */
function collector(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

const INSTANT = '2026-01-02T03:04:05.000000000Z';

/** `n` distinct lines all stamped with one instant: what `cat big.log` in a container produces. */
function burst(n: number): FakeLine[] {
  return Array.from({ length: n }, (_, i) => ({ time: INSTANT, text: `[INFO] batch ${i}: prefill 1 req, decode ${32 + (i % 32)} reqs, kv cache ${i % 100}% used` }));
}

describe('logs memory', () => {
  it('holds nothing per line: 200k lines of one instant leave the heap where 20k left it', async () => {
    const gc = collector();
    const total = 200_000;
    const early = 20_000;
    const t = new FakeDockerTransport('node1', { lines: burst(total), chunkBytes: 4096 });
    let seen = 0;
    let heapEarly = 0;
    let heapLate = 0;
    const sample = (): number => {
      gc();
      return process.memoryUsage().heapUsed;
    };
    await followLogs({
      nodes: [{ name: 'node1', runtime: 'docker' }],
      container: 'c',
      transportFor: () => t,
      follow: false,
      signal: new AbortController().signal,
      onLines: (_node, lines) => {
        const before = seen;
        seen += lines.length;
        if (before < early && seen >= early) heapEarly = sample();
        if (seen === total) heapLate = sample();
      },
      onEvent: () => undefined,
    });
    expect(seen).toBe(total);
    // Keeping each line's text (≈ 90 characters) for de-duplication would add well over 15 MB here.
    expect(heapLate - heapEarly).toBeLessThan(5 * 1024 * 1024);
  });
});

describe('ResumeTracker across streams and bursts', () => {
  const at = (text: string) => splitTimestamp(`${INSTANT} ${text}`);
  const later = (text: string) => splitTimestamp(`2026-01-02T03:04:06.000000000Z ${text}`);

  it('skips each stream\'s repeats even when the resumed attempt interleaves the streams differently', () => {
    const t = new ResumeTracker();
    expect(t.accept(at('o1'), 'stdout')).toBe(true);
    expect(t.accept(at('e1'), 'stderr')).toBe(true);
    expect(t.accept(at('o2'), 'stdout')).toBe(true);
    t.beginResume();
    // stdout's repeats, then a newer stdout line, and only then stderr's repeat and its new line
    expect(t.accept(at('o1'), 'stdout')).toBe(false);
    expect(t.accept(at('o2'), 'stdout')).toBe(false);
    expect(t.accept(later('o3'), 'stdout')).toBe(true);
    expect(t.accept(at('e1'), 'stderr')).toBe(false);
    expect(t.accept(at('e2'), 'stderr')).toBe(true);
  });

  it('counts what a resumed attempt added to the instant, for the resume after it', () => {
    const t = new ResumeTracker();
    for (let i = 0; i < 3; i++) expect(t.accept(at(`l${i}`))).toBe(true);
    t.beginResume();
    for (let i = 0; i < 3; i++) expect(t.accept(at(`l${i}`))).toBe(false);
    for (let i = 3; i < 5; i++) expect(t.accept(at(`l${i}`))).toBe(true);
    t.beginResume();
    for (let i = 0; i < 5; i++) expect(t.accept(at(`l${i}`))).toBe(false);
    expect(t.accept(at('l5'))).toBe(true);
  });

  it('a follow of a 50k-line burst dropped twice mid-instant prints every line exactly once', async () => {
    const script = burst(50_000);
    const t = new FakeDockerTransport('n', { lines: script, chunkBytes: 997, failAfterBytes: [1_000_003, 2_500_001] });
    const got: string[] = [];
    await followLogs({
      nodes: [{ name: 'n', runtime: 'docker' }],
      container: 'c',
      transportFor: () => t,
      follow: true,
      endWhenStopped: true,
      signal: new AbortController().signal,
      onLines: (_node, lines) => {
        for (const l of lines) got.push(l.text);
      },
      onEvent: () => undefined,
      retryInitialMs: 1,
      retryMaxMs: 2,
    });
    expect(t.calls.filter((c) => c[1] === 'logs')).toHaveLength(3);
    expect(got).toEqual(script.map((l) => l.text));
  });
});

/** A transport that, like the SSH pool, listens on the caller's signal while a stream runs. */
class ListeningTransport implements Transport {
  readonly target;
  constructor(readonly inner: FakeDockerTransport) {
    this.target = inner.target;
  }
  exec(argv: readonly string[]): Promise<ExecResult> {
    return this.inner.exec(argv);
  }
  async stream(argv: readonly string[], handlers: StreamHandlers, opts: ExecOptions = {}): Promise<ExecResult> {
    const onAbort = (): void => undefined;
    opts.signal?.addEventListener('abort', onAbort);
    try {
      return await this.inner.stream(argv, handlers, opts);
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
    }
  }
  upload(): Promise<void> {
    return this.inner.upload();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

describe('logs listeners', () => {
  it('N reconnects leave the abort listener count of the signal where it started', async () => {
    // Arrival order hands lines on inside the stream, so `peak` sees exactly the stream's own listener;
    // the time-ordered default hands them on from its timer (inside a stream or between two) and adds no
    // listener of its own: never more than the one stream's.
    expect(await reconnectListeners('arrival')).toBe(1);
    expect(await reconnectListeners('time')).toBeLessThanOrEqual(1);
  });

  /** Follows a node through 25 dropped connections; returns the most abort listeners seen at once. */
  async function reconnectListeners(order: 'arrival' | 'time'): Promise<number> {
    const signal = new AbortController().signal;
    const faults = Array.from({ length: 25 }, () => 500);
    const t = new FakeDockerTransport('n', { lines: makeLines('n', 300), chunkBytes: 50, failAfterBytes: faults });
    const listening = new ListeningTransport(t);
    let peak = 0;
    const result = await followLogs({
      nodes: [{ name: 'n', runtime: 'docker' }],
      container: 'c',
      transportFor: () => listening,
      follow: true,
      endWhenStopped: true,
      signal,
      onLines: () => {
        peak = Math.max(peak, getEventListeners(signal, 'abort').length);
      },
      onEvent: () => undefined,
      retryInitialMs: 1,
      retryMaxMs: 1,
      order,
      holdMs: 5,
    });
    expect(result.failed).toEqual([]);
    expect(t.calls.filter((c) => c[1] === 'logs')).toHaveLength(26);
    expect(getEventListeners(signal, 'abort')).toHaveLength(0);
    return peak;
  }

  it('the printer lets go of its listener after every stdout drain', async () => {
    let drains = 0;
    const slow = Object.assign(
      new Writable({
        highWaterMark: 64,
        write(_chunk: Buffer, _enc, cb) {
          setImmediate(cb);
        },
      }),
      { isTTY: false },
    );
    slow.on('drain', () => drains++);
    const ctx = createContext({ signal: new AbortController().signal, env: { NO_COLOR: '1', LANG: 'C.UTF-8' }, stdout: slow, stderr: new PassThrough() });
    const printer = new LogPrinter({ out: ctx.out, nodes: ['n'], showTimestamps: false, json: false });
    let peak = 0;
    for (const line of makeLines('n', 100)) {
      await printer.print('n', [splitTimestamp(`${line.time} ${line.text}`)]);
      peak = Math.max(peak, getEventListeners(printer.closedSignal, 'abort').length, slow.listenerCount('drain'));
    }
    expect(drains).toBeGreaterThanOrEqual(20);
    expect(peak).toBeLessThanOrEqual(1);
    expect(getEventListeners(printer.closedSignal, 'abort')).toHaveLength(0);
  });
});

describe('ascendctl logs on a rack', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
  });

  it('16 nodes reconnecting through a slow stdout: no MaxListenersExceededWarning, every line printed', async () => {
    const cwd = await mkdtemp(path.join(tmpdir(), 'ascendctl-logs-bounds-'));
    dirs.push(cwd);
    const names = Array.from({ length: 16 }, (_, i) => `node${i + 1}`);
    await writeFile(path.join(cwd, 'inventory.yaml'), [
      'ssh:', '  user: root', '  strictHostKeyChecking: "no"', 'nodes:',
      ...names.flatMap((n, i) => [`  - name: ${n}`, `    host: 127.0.0.${i + 1}`]), '',
    ].join('\n'));
    await writeFile(path.join(cwd, 'r1.yaml'), [
      'name: r1', 'inventory: inventory.yaml', 'backend: mindie', 'image: registry.test/mindie:2.1.RC1-800I-A2-py311-openeuler24.03-lts',
      'model:', '  path: /data/models/DeepSeek-R1', '  name: m',
      'parallel:', '  dataParallelSize: 16', '  tensorParallelSize: 8', '  moeTensorParallelSize: 1', '  moeExpertParallelSize: 128', '',
    ].join('\n'));
    await writeRecord(cwd, {
      name: 'r1', deploymentFile: path.join(cwd, 'r1.yaml'), inventoryFile: path.join(cwd, 'inventory.yaml'), backend: 'mindie',
      endpoint: 'http://127.0.0.1:1025', model: 'm', nodes: [], container: 'ascendctl-r1', digest: 'x', deployedAt: new Date(0).toISOString(),
    });
    let printed = 0;
    const stdout = Object.assign(
      new Writable({
        highWaterMark: 128,
        write(chunk: Buffer, _enc, cb) {
          printed += chunk.toString().split('\n').length - 1;
          setImmediate(cb);
        },
      }),
      { isTTY: false },
    );
    // -f follows until Ctrl-C: stop it once every node reported its container stopped.
    const ac = new AbortController();
    const stderr = new PassThrough();
    let stoppedNotes = 0;
    stderr.on('data', (c: Buffer) => {
      stoppedNotes += (c.toString().match(/container stopped/g) ?? []).length;
      if (stoppedNotes >= names.length) ac.abort();
    });
    const ctx = createContext({ signal: ac.signal, env: { NO_COLOR: '1', LANG: 'C.UTF-8', HOME: cwd }, cwd, stdout, stderr });
    const transports = new Map(names.map((n) => [n, new ListeningTransport(new FakeDockerTransport(n, { lines: makeLines(n, 40), chunkBytes: 32, failAfterBytes: [300, 900] }))]));
    const warnings: Error[] = [];
    const onWarning = (w: Error): void => {
      warnings.push(w);
    };
    process.on('warning', onWarning);
    try {
      const code = await logsVia(ctx, [], { follow: true }, (n) => transports.get(n.name)!);
      await new Promise((r) => setImmediate(r));
      expect(code).toBe(130);
    } finally {
      process.off('warning', onWarning);
    }
    expect(printed).toBe(16 * 40);
    expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
  });

  it('the node the merge drains alone has the wide window, one node at a time; nodes whose logs interleave keep the ordinary one', async () => {
    const read = async (script: (node: string, k: number) => FakeLine[]): Promise<{ wideWhilePrinting: Set<string>; mostWide: number }> => {
      const transports = Array.from({ length: 4 }, (_, k) => new FakeDockerTransport(`n${k}`, { lines: script(`n${k}`, k), chunkBytes: 256 }));
      const wideWhilePrinting = new Set<string>();
      let mostWide = 0;
      const widths = (): number[] => transports.map((t) => (typeof t.window === 'object' ? t.window.bytes : 0));
      await readWhole(transports, (node) => {
        const now = widths();
        mostWide = Math.max(mostWide, now.filter((w) => w === LEAD_WINDOW).length);
        if (now[Number(node.slice(1))] === LEAD_WINDOW) wideWhilePrinting.add(node);
      });
      return { wideWhilePrinting, mostWide };
    };
    // In turn: n0's whole log, then n1's, … (each node started after the one before).
    const inTurn = await read((node, k) => makeLines(node, 300).map((l) => ({ ...l, time: l.time.replace(/^2026-01-02T03/, `2026-01-02T0${3 + k}`) })));
    expect([...inTurn.wideWhilePrinting].sort()).toEqual(['n0', 'n1', 'n2', 'n3']);
    expect(inTurn.mostWide).toBe(1);
    // Interleaved: every node logs the same instants.
    const interleaved = await read((node) => makeLines(node, 300));
    expect(interleaved.mostWide).toBe(0);
  });

  it('the nodes share one SSH window budget: a deep window for few nodes, within the budget for many, never a trickle', async () => {
    for (const n of [1, 4, 16, 64, 256]) {
      const transports = Array.from({ length: n }, (_, i) => new FakeDockerTransport(`n${i}`, { lines: makeLines(`n${i}`, 2), chunkBytes: 64 }));
      await readWhole(transports, () => undefined);
      const windows = transports.flatMap((t) => t.windows);
      expect(windows).toHaveLength(n);
      expect(new Set(windows)).toEqual(new Set([logWindowBytes(n)]));
    }
    expect(logWindowBytes(16)).toBe(256 * 1024);
    expect(logWindowBytes(64)).toBe(64 * 1024);
    // What paused nodes may still send stays within the budget, up to where the 48 KiB floor takes over.
    for (const n of [1, 16, 64, 85]) expect(n * logWindowBytes(n)).toBeLessThanOrEqual(LOG_WINDOW_BUDGET);
    expect(logWindowBytes(1000)).toBe(48 * 1024);
  });
});
