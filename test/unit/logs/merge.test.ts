/**
 * `logs` merges the nodes' logs by timestamp (finding F13): history (everything without -f, what
 * --tail/--since select with -f) comes out in time order across nodes, ties in inventory order,
 * whatever order the nodes' chunks arrive in; a slow node pauses the others rather than letting
 * their lines pile up; a node that cannot be read holds nobody back.
 */
import { rm } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { logsVia } from '../../../src/commands/logs.js';
import type { TimedLine } from '../../../src/logs/docker-logs.js';
import { followLogs } from '../../../src/logs/log-follower.js';
import { TimeMerge } from '../../../src/logs/time-merge.js';
import type { ExecOptions, ExecResult, StreamHandlers, Transport } from '../../../src/remote/transport.js';
import { captureLogsContext, deployedDir } from './deployed-dir.js';
import { FakeDockerTransport, type FakeDockerOptions, type FakeLine } from './fake-docker-transport.js';
import { splitTimestamp } from './stamped.js';

const NODES = ['node1', 'node2', 'worker-03', 'node4'] as const;

/** docker's -t stamp of `ms` milliseconds (and `ns` more nanoseconds) after a base instant. */
function stamp(ms: number, ns = 0): string {
  const base = new Date(Date.UTC(2026, 0, 2, 3, 4, 5) + ms).toISOString().slice(0, 19);
  return `${base}.${String((ms % 1000) * 1_000_000 + ns).padStart(9, '0')}Z`;
}

/** Node k's i-th line at 4i+k ms: the logs overlap all along, as a master's and its workers' do. */
function interleaved(n: number): Record<string, FakeLine[]> {
  return Object.fromEntries(
    NODES.map((node, k) => [node, Array.from({ length: n }, (_, i) => ({ time: stamp(4 * i + k), text: `[INFO] ${node} step ${i}` }))]),
  );
}

/** Every line of every node, in time order, as `node text`. */
function byTime(script: Record<string, FakeLine[]>): string[] {
  return Object.entries(script)
    .flatMap(([node, lines]) => lines.map((l) => ({ node, ...l })))
    .sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0))
    .map((l) => `${l.node} ${l.text}`);
}

/** Chunk sizes that make the nodes' lines arrive in an order quite unlike the time order. */
const CHUNKS: Record<string, number> = { node1: 5, node2: 61, 'worker-03': 400, node4: 23 };

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

function deployed(): Promise<string> {
  return deployedDir(NODES.map((name, i) => ({ name, host: `127.240.0.${i + 1}` })), dirs);
}

async function run(
  opts: Record<string, unknown>,
  transportFor: (node: string) => Transport,
  abortOn?: RegExp,
): Promise<{ code: number; out: string; err: string }> {
  const c = captureLogsContext(await deployed(), Boolean(opts.json), abortOn);
  const code = await logsVia(c.ctx, [], opts, (n) => transportFor(n.name));
  return { code, out: c.out(), err: c.err() };
}

function fakes(script: Record<string, FakeLine[]>, extra: Record<string, Partial<FakeDockerOptions>> = {}): (node: string) => FakeDockerTransport {
  const made = new Map<string, FakeDockerTransport>();
  return (node) => {
    let t = made.get(node);
    if (!t) {
      t = new FakeDockerTransport(node, { lines: script[node] ?? [], chunkBytes: CHUNKS[node], ...extra[node] });
      made.set(node, t);
    }
    return t;
  };
}

/** `node │ text` → `node text`, so plain output compares with byTime(). */
function plain(out: string): string[] {
  return out.trim().split('\n').map((l) => l.replace(/^(\S+)\s+│ /, '$1 '));
}

describe('ascendctl logs merges the nodes by time', () => {
  it('plain: 4 nodes whose logs overlap come out in timestamp order, prefixes unchanged', async () => {
    const script = interleaved(20);
    const r = await run({}, fakes(script));
    expect(r.code).toBe(0);
    expect(plain(r.out)).toEqual(byTime(script));
    expect(r.out.split('\n').slice(0, 4)).toEqual([
      'node1     │ [INFO] node1 step 0',
      'node2     │ [INFO] node2 step 0',
      'worker-03 │ [INFO] worker-03 step 0',
      'node4     │ [INFO] node4 step 0',
    ]);
  });

  it('--json: the objects in timestamp order, still {node, time, line}', async () => {
    const script = interleaved(20);
    const r = await run({ json: true }, fakes(script));
    expect(r.code).toBe(0);
    const rows = r.out.trim().split('\n').map((l) => JSON.parse(l) as { node: string; time: string; line: string });
    expect(rows.map((o) => `${o.node} ${o.line}`)).toEqual(byTime(script));
    expect(rows.map((o) => o.time)).toEqual([...rows.map((o) => o.time)].sort());
    expect(Object.keys(rows[0]!)).toEqual(['node', 'time', 'line']);
  });

  it('--tail 3: per node, then merged; a line at .671 comes before one at .672 whichever node sent it first', async () => {
    const script = {
      node1: [stamp(600, 5), stamp(650), stamp(672)].map((time, i) => ({ time, text: `n1 ${i}` })),
      node2: [stamp(100), stamp(200), stamp(600), stamp(660), stamp(671)].map((time, i) => ({ time, text: `n2 ${i}` })),
      'worker-03': [stamp(610), stamp(673), stamp(674)].map((time, i) => ({ time, text: `w3 ${i}` })),
      node4: [],
    };
    const r = await run({ tail: '3', timestamps: true }, fakes(script));
    expect(r.code).toBe(0);
    expect(r.out.trim().split('\n')).toEqual([
      `node2     │ ${stamp(600)} n2 2`,
      `node1     │ ${stamp(600, 5)} n1 0`,
      `worker-03 │ ${stamp(610)} w3 0`,
      `node1     │ ${stamp(650)} n1 1`,
      `node2     │ ${stamp(660)} n2 3`,
      `node2     │ ${stamp(671)} n2 4`,
      `node1     │ ${stamp(672)} n1 2`,
      `worker-03 │ ${stamp(673)} w3 1`,
      `worker-03 │ ${stamp(674)} w3 2`,
    ]);
  });

  it('lines of one instant on several nodes keep the inventory order of the nodes', async () => {
    const at = stamp(5);
    const script = Object.fromEntries(
      NODES.map((n) => [n, [{ time: stamp(1), text: `${n} a` }, { time: at, text: `${n} b` }, { time: at, text: `${n} c` }]]),
    );
    // the last node's lines arrive first
    const r = await run({}, fakes(script, { 'worker-03': { chunkBytes: 1000 }, node1: { chunkBytes: 3 } }));
    expect(plain(r.out)).toEqual([
      'node1 node1 a', 'node2 node2 a', 'worker-03 worker-03 a', 'node4 node4 a',
      'node1 node1 b', 'node1 node1 c', 'node2 node2 b', 'node2 node2 c', 'worker-03 worker-03 b', 'worker-03 worker-03 c', 'node4 node4 b', 'node4 node4 c',
    ]);
  });

  it('an unreachable node and one without the container are reported; the others are still merged by time, exit 1', async () => {
    const script = interleaved(15);
    const r = await run({}, fakes(script, {
      node2: { failAfterBytes: [0], failKind: 'connect' },
      'worker-03': { logsExit: { code: 1, stderr: 'Error response from daemon: No such container: ascendctl-r1\n' } },
    }));
    expect(r.code).toBe(1);
    expect(plain(r.out)).toEqual(byTime({ node1: script.node1!, node4: script.node4! }));
    expect(r.err).toMatch(/node2: cannot read the logs/);
    expect(r.err).toMatch(/worker-03: cannot read the logs of ascendctl-r1: .*No such container/);
  });

  it('a node whose connection drops midway: what it sent is merged in its place, the others go on', async () => {
    const script = interleaved(15);
    const r = await run({}, fakes(script, { node2: { failAfterBytes: [150] } }));
    expect(r.code).toBe(1);
    const got = plain(r.out);
    const sentByNode2 = got.filter((l) => l.startsWith('node2 ')).length;
    expect(sentByNode2).toBeGreaterThan(0);
    expect(sentByNode2).toBeLessThan(15);
    const node2Kept = script.node2!.slice(0, sentByNode2);
    expect(got).toEqual(byTime({ ...script, node2: node2Kept }));
  });

  it('-f: lines are passed on as they arrive, one `docker logs -f` per node (no separate history read)', async () => {
    const script = interleaved(12);
    const make = fakes(script);
    const r = await run({ follow: true, tail: '10' }, make, /(container stopped[^]*){4}/);
    expect(r.code).toBe(130);
    for (const n of NODES) {
      const calls = make(n).calls.filter((c) => c[1] === 'logs');
      expect(calls[0]).toEqual(['docker', 'logs', '-f', '-t', '--tail', '10', 'ascendctl-r1']);
    }
    // every line of the selection, once (their order across nodes is arrival order)
    expect(plain(r.out).sort()).toEqual(byTime(Object.fromEntries(NODES.map((n) => [n, script[n]!.slice(2)]))).sort());
  });
});

/** Wraps a transport and counts the bytes it has handed to the follower so far. */
class Counting implements Transport {
  readonly target;
  handed = 0;
  constructor(readonly inner: Transport) {
    this.target = inner.target;
  }
  exec(argv: readonly string[], opts?: ExecOptions): Promise<ExecResult> {
    return this.inner.exec(argv, opts);
  }
  stream(argv: readonly string[], handlers: StreamHandlers, opts?: ExecOptions): Promise<ExecResult> {
    return this.inner.stream(argv, {
      onStdout: (c) => {
        this.handed += c.length;
        return handlers.onStdout(c);
      },
      onStderr: (c) => {
        this.handed += c.length;
        return handlers.onStderr?.(c);
      },
    }, opts);
  }
  upload(): Promise<void> {
    throw new Error('not used');
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

/** A node that sends its first line, then nothing until `go` settles, then its second line. */
function stalling(name: string, first: FakeLine, second: FakeLine, go: Promise<void>): Transport {
  return {
    target: { name, host: `${name}.test` },
    exec: () => Promise.reject(new Error('not used')),
    async stream(_argv, handlers) {
      await handlers.onStdout(Buffer.from(`${first.time} ${first.text}\n`));
      await go;
      await handlers.onStdout(Buffer.from(`${second.time} ${second.text}\n`));
      return { stdout: '', stderr: '', code: 0, timedOut: false, durationMs: 1 };
    },
    upload: () => Promise.reject(new Error('not used')),
    close: () => Promise.resolve(),
  };
}

describe('merge memory', () => {
  it('a slow node pauses a fast one: its lines do not pile up while the merge waits, and none is lost', async () => {
    // the fast node's 5000 lines all fall between the slow node's two lines
    const fastLines = Array.from({ length: 5000 }, (_, i) => ({ time: stamp(10, i + 1), text: `[INFO] fast ${i} ${'x'.repeat(60)}` }));
    const chunkBytes = 512;
    const fast = new Counting(new FakeDockerTransport('fast', { lines: fastLines, chunkBytes }));
    let go!: () => void;
    const slow = stalling('slow', { time: stamp(1), text: 'slow first' }, { time: stamp(20), text: 'slow second' }, new Promise<void>((r) => (go = r)));
    const got: string[] = [];
    const done = followLogs({
      nodes: [{ name: 'slow', runtime: 'docker' }, { name: 'fast', runtime: 'docker' }],
      container: 'c',
      transportFor: (n) => (n === 'fast' ? fast : slow),
      follow: false,
      signal: new AbortController().signal,
      onLines: (node, lines) => {
        for (const l of lines) got.push(`${node} ${l.text}`);
      },
      onEvent: () => undefined,
    });
    // Let everything run that can: the slow node is stalled, the fast one must be paused.
    for (let i = 0; i < 200; i++) await new Promise((r) => setImmediate(r));
    expect(got).toEqual(['slow slow first']);
    // One batch (what one chunk completes) is held; a bounded merge never reads the fast node further.
    expect(fast.handed).toBeLessThanOrEqual(2 * chunkBytes);
    go();
    const result = await done;
    expect(result.failed).toEqual([]);
    expect(got).toEqual(['slow slow first', ...fastLines.map((l) => `fast ${l.text}`), 'slow slow second']);
  });
});

describe('TimeMerge', () => {
  const line = (time: string | undefined, text: string): TimedLine => splitTimestamp(time === undefined ? text : `${time} ${text}`);

  it('a line without a timestamp takes its node\'s previous one: it neither stalls the merge nor jumps ahead', async () => {
    const out: string[] = [];
    const m = new TimeMerge(['a', 'b'], (node, lines) => {
      for (const l of lines) out.push(`${node} ${l.text}`);
    }, new AbortController().signal);
    const a = m.push('a', [line(stamp(1), 'a1'), line(stamp(5), 'a5'), line(undefined, 'a-unstamped'), line(stamp(9), 'a9')]);
    const b = m.push('b', [line(undefined, 'b-first-unstamped'), line(stamp(3), 'b3'), line(stamp(6), 'b6'), line(undefined, 'b-unstamped'), line(stamp(8), 'b8')]);
    m.leave('a');
    m.leave('b');
    await Promise.all([a, b, m.finished]);
    // the very first line of b has no timestamp before it: it counts as earliest
    expect(out).toEqual(['b b-first-unstamped', 'a a1', 'b b3', 'a a5', 'a a-unstamped', 'b b6', 'b b-unstamped', 'b b8', 'a a9']);
  });

  it('holds a batch until the other nodes can be compared with it, and lets a node that left stop holding them', async () => {
    const out: string[] = [];
    const m = new TimeMerge(['a', 'b', 'c'], (node, lines) => {
      for (const l of lines) out.push(`${node} ${l.text}`);
    }, new AbortController().signal);
    let released = false;
    const a = m.push('a', [line(stamp(2), 'a2')]).then(() => (released = true));
    await new Promise((r) => setImmediate(r));
    expect(out).toEqual([]);
    expect(released).toBe(false);
    m.leave('c'); // unreachable: sent nothing
    void m.push('b', [line(stamp(1), 'b1'), line(stamp(4), 'b4')]);
    await new Promise((r) => setImmediate(r));
    expect(out).toEqual(['b b1', 'a a2']);
    await a;
    m.leave('a');
    m.leave('b');
    await m.finished;
    expect(out).toEqual(['b b1', 'a a2', 'b b4']);
  });

  it('says which node it drains alone: whole batches in a row passed on while every other node waits behind it', async () => {
    const drained: string[] = [];
    const m = new TimeMerge(['a', 'b', 'c'], () => undefined, new AbortController().signal, { onDrained: (node) => drained.push(node) });
    // a's lines all come before b's and c's: a is drained batch by batch, the others wait.
    void m.push('b', [line(stamp(100), 'b100'), line(stamp(300), 'b300')]);
    void m.push('c', [line(stamp(200), 'c200')]);
    await m.push('a', [line(stamp(1), 'a1'), line(stamp(2), 'a2')]);
    // One batch that went whole is no sign yet.
    expect(drained).toEqual([]);
    await m.push('a', [line(stamp(3), 'a3')]);
    expect(drained).toEqual(['a']);
    await m.push('a', [line(stamp(4), 'a4')]);
    expect(drained).toEqual(['a', 'a']);
    // Interleaved: a's next batch and b's are each cut by the other's lines; nobody is drained alone.
    drained.length = 0;
    const a = m.push('a', [line(stamp(50), 'a50'), line(stamp(150), 'a150')]);
    await new Promise((r) => setImmediate(r));
    expect(drained).toEqual([]);
    m.leave('b');
    m.leave('c');
    await a;
    m.leave('a');
    await m.finished;
  });

  it('nodes whose one-line batches take turns are not drained alone, though each batch goes whole', async () => {
    const drained: string[] = [];
    const m = new TimeMerge(['a', 'b'], () => undefined, new AbortController().signal, { onDrained: (node) => drained.push(node) });
    const pending: Promise<void>[] = [];
    for (let i = 0; i < 10; i++) {
      pending.push(m.push('a', [line(stamp(2 * i), `a${i}`)]), m.push('b', [line(stamp(2 * i + 1), `b${i}`)]));
      await new Promise((r) => setImmediate(r));
    }
    m.leave('a');
    m.leave('b');
    await Promise.all([...pending, m.finished]);
    expect(drained).toEqual([]);
  });

  it('passes on a failure of the output to every waiting node', async () => {
    const m = new TimeMerge(['a', 'b'], () => {
      throw new Error('stdout is gone');
    }, new AbortController().signal);
    const a = m.push('a', [line(stamp(1), 'a1')]);
    const b = m.push('b', [line(stamp(2), 'b2')]);
    await expect(a).rejects.toThrow('stdout is gone');
    await expect(b).rejects.toThrow('stdout is gone');
    await expect(m.finished).rejects.toThrow('stdout is gone');
  });
});
