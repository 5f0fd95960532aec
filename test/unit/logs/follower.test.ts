import { PassThrough, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createContext } from '../../../src/context.js';
import type { TimedLine } from '../../../src/logs/docker-logs.js';
import { followLogs, type FollowLogsOptions, type LogEvent } from '../../../src/logs/log-follower.js';
import { LogPrinter } from '../../../src/logs/log-printer.js';
import { FakeDockerTransport, makeLines } from './fake-docker-transport.js';

function collect(transports: Record<string, FakeDockerTransport>, extra: Partial<FollowLogsOptions> = {}) {
  const lines: { node: string; line: TimedLine }[] = [];
  const events: LogEvent[] = [];
  const opts: FollowLogsOptions = {
    nodes: Object.keys(transports).map((name) => ({ name, runtime: 'docker' })),
    container: 'ascendctl-r1',
    transportFor: (n) => transports[n]!,
    follow: true,
    endWhenStopped: true,
    signal: new AbortController().signal,
    onLines: (node, batch) => {
      for (const line of batch) lines.push({ node, line });
    },
    onEvent: (e) => events.push(e),
    retryInitialMs: 1,
    retryMaxMs: 4,
    ...extra,
  };
  return { opts, lines, events };
}

describe('followLogs', () => {
  it('resumes after dropped connections with no loss and no repeats, then reports the stopped container', async () => {
    // Three lines per instant, so every drop lands inside an instant that docker sends again.
    const script = makeLines('node2', 60, 3);
    const node2 = new FakeDockerTransport('node2', { lines: script, chunkBytes: 11, failAfterBytes: [500, 1300, 0], containerExit: 137 });
    const node1 = new FakeDockerTransport('node1', { lines: makeLines('node1', 10), containerExit: 0 });
    const { opts, lines, events } = collect({ node1, node2 });
    const result = await followLogs(opts);

    expect(result).toEqual({ failed: [], interrupted: false });
    expect(lines.filter((l) => l.node === 'node2').map((l) => l.line.text)).toEqual(script.map((l) => l.text));
    expect(lines.filter((l) => l.node === 'node1')).toHaveLength(10);
    // said once per outage, not once per retry
    const n2 = events.filter((e) => e.node === 'node2').map((e) => e.type);
    expect(n2).toEqual(['disconnected', 'reconnected', 'disconnected', 'reconnected', 'stopped']);
    expect(events).toContainEqual({ type: 'stopped', node: 'node2', exitCode: 137 });
    expect(events).toContainEqual({ type: 'stopped', node: 'node1', exitCode: 0 });

    const logCalls = node2.calls.filter((c) => c[1] === 'logs');
    expect(logCalls).toHaveLength(4);
    expect(logCalls[0]).toEqual(['docker', 'logs', '-f', '-t', 'ascendctl-r1']);
    // resumed from the last timestamp it printed
    const printedBeforeDrop = logCalls[1]![logCalls[1]!.indexOf('--since') + 1];
    expect(printedBeforeDrop).toMatch(/^2026-01-02T03:04:05\.\d{9}Z$/);
    expect(node2.calls.some((c) => c[1] === 'inspect')).toBe(true);
    // a second failure in a row makes it start afresh
    expect(node2.closes).toBeGreaterThanOrEqual(1);
  });

  it('does not pass --tail again when resuming (it would cut lines), and keeps the first --since until a line arrives', async () => {
    const script = makeLines('n', 30);
    const t = new FakeDockerTransport('n', { lines: script, failAfterBytes: [3, 900] });
    const { opts, lines } = collect({ n: t }, { tail: 20, since: '600s' });
    await followLogs(opts);
    const calls = t.calls.filter((c) => c[1] === 'logs');
    expect(calls[0]).toEqual(['docker', 'logs', '-f', '-t', '--since', '600s', '--tail', '20', 'ascendctl-r1']);
    // nothing was printed before the first drop: the same request again
    expect(calls[1]).toEqual(calls[0]);
    expect(calls[2]).not.toContain('--tail');
    expect(lines.map((l) => l.line.text)).toEqual(script.slice(10).map((l) => l.text));
  });

  it('without -f: a node whose logs cannot be read is reported by name; the others still print', async () => {
    const ok = new FakeDockerTransport('node1', { lines: makeLines('node1', 5) });
    const gone = new FakeDockerTransport('node2', {
      lines: [],
      logsExit: { code: 1, stderr: 'Error response from daemon: No such container: ascendctl-r1\n' },
    });
    const down = new FakeDockerTransport('node3', { lines: makeLines('node3', 5), failAfterBytes: [0], failKind: 'connect' });
    const { opts, lines, events } = collect({ node1: ok, node2: gone, node3: down }, { follow: false });
    const result = await followLogs(opts);
    expect(result.failed.sort()).toEqual(['node2', 'node3']);
    expect(lines.filter((l) => l.node === 'node1')).toHaveLength(5);
    const failed = events.filter((e) => e.type === 'failed');
    expect(failed.find((e) => e.node === 'node2')).toMatchObject({ message: expect.stringMatching(/node2: .*No such container/) as unknown });
    expect(failed.find((e) => e.node === 'node3')).toMatchObject({ message: expect.stringMatching(/^node3: cannot read the logs/) as unknown });
    // no follow: no reconnect attempts
    expect(down.calls).toHaveLength(1);
  });

  it('gives up on a node that rejects authentication instead of retrying forever', async () => {
    const t = new FakeDockerTransport('n', { lines: makeLines('n', 5), failAfterBytes: [0], failKind: 'auth' });
    const { opts, events } = collect({ n: t });
    const result = await followLogs(opts);
    expect(result.failed).toEqual(['n']);
    expect(events.map((e) => e.type)).toEqual(['failed']);
  });

  it('stops on Ctrl-C while following', async () => {
    const hold = new AbortController();
    const ctl = new AbortController();
    const t = new FakeDockerTransport('n', { lines: makeLines('n', 3), holdOpen: hold.signal });
    const { opts, lines } = collect({ n: t }, {
      signal: ctl.signal,
      onLines: (node, batch) => {
        for (const line of batch) lines.push({ node, line });
        if (lines.length === 3) setImmediate(() => ctl.abort());
      },
    });
    const result = await followLogs(opts);
    expect(result.interrupted).toBe(true);
    expect(lines).toHaveLength(3);
  });

  it('applies backpressure: a slow stdout never lets buffered output grow past a bound, and loses nothing', async () => {
    let written = '';
    let peakBuffered = 0;
    const highWaterMark = 256;
    const slow = new Writable({
      highWaterMark,
      write(chunk: Buffer, _enc, cb) {
        written += chunk.toString();
        setTimeout(cb, 1);
      },
    });
    const stdout = Object.assign(slow, { isTTY: false });
    const stderr = new PassThrough();
    const ctx = createContext({ signal: new AbortController().signal, env: { NO_COLOR: '1', LANG: 'C.UTF-8' }, stdout, stderr });
    const printer = new LogPrinter({ out: ctx.out, nodes: ['node1', 'node2'], showTimestamps: false, json: false });
    const transports = {
      node1: new FakeDockerTransport('node1', { lines: makeLines('node1', 400), chunkBytes: 64 }),
      node2: new FakeDockerTransport('node2', { lines: makeLines('node2', 400), chunkBytes: 64 }),
    };
    const { opts } = collect(transports, {
      onLines: (node, batch) => {
        const r = printer.print(node, batch);
        peakBuffered = Math.max(peakBuffered, slow.writableLength);
        return r;
      },
    });
    await followLogs(opts);
    await new Promise<void>((resolve) => slow.end(resolve));
    // At most one refused batch per node beyond the high-water mark: each batch is one 64-byte chunk's lines.
    expect(peakBuffered).toBeLessThan(highWaterMark + 2 * 200);
    const got = written.trim().split('\n');
    expect(got).toHaveLength(800);
    // each node's lines in order, whole, never interleaved inside a line
    for (const node of ['node1', 'node2']) {
      const mine = got.filter((l) => l.startsWith(`${node} │ `)).map((l) => l.slice(`${node} │ `.length));
      expect(mine).toEqual(makeLines(node, 400).map((l) => l.text));
    }
  });
});

describe('followLogs keeps following a stopped container until Ctrl-C', () => {
  it('reports the stop, notices the container running again, follows the new one, ends on abort', async () => {
    const first = makeLines('n', 3);
    // the new container's lines come later than the old one's last line
    const second = makeLines('m', 2).map((l, i) => ({ ...l, time: `2026-01-02T03:05:0${i}.000000000Z` }));
    const calls: string[][] = [];
    let inspections = 0;
    const ac = new AbortController();
    const t = {
      target: { name: 'n', host: 'n' },
      async exec(argv: readonly string[]) {
        calls.push([...argv]);
        if (argv.includes('{{.State.ExitCode}}')) return { stdout: '137\n', stderr: '', code: 0, timedOut: false, durationMs: 1 };
        // not running on the first look, running (redeployed) on the second
        inspections++;
        return { stdout: inspections >= 2 ? 'true\n' : 'false\n', stderr: '', code: 0, timedOut: false, durationMs: 1 };
      },
      async stream(argv: readonly string[], handlers: { onStdout(c: Buffer): void | Promise<void> }) {
        calls.push([...argv]);
        const isFirst = calls.filter((c) => c[1] === 'logs').length === 1;
        for (const l of isFirst ? first : second) await handlers.onStdout(Buffer.from(`${l.time} ${l.text}\n`));
        if (isFirst) return { stdout: '', stderr: '', code: 0, timedOut: false, durationMs: 1 };
        if (!ac.signal.aborted) await new Promise<void>((r) => ac.signal.addEventListener('abort', () => r(), { once: true }));
        return { stdout: '', stderr: '', code: null, timedOut: false, durationMs: 1 };
      },
      async upload() {},
      async close() {},
    };
    const lines: string[] = [];
    const events: string[] = [];
    const result = await followLogs({
      nodes: [{ name: 'n', runtime: 'docker' }],
      container: 'ascendctl-r1',
      transportFor: () => t,
      follow: true,
      signal: ac.signal,
      restartPollMs: 1,
      onLines: (_n, batch) => {
        for (const l of batch) lines.push(l.text);
        if (lines.length === first.length + second.length) ac.abort();
      },
      onEvent: (e) => events.push(e.type),
    });
    expect(result).toEqual({ failed: [], interrupted: true });
    expect(events).toEqual(['stopped', 'restarted']);
    expect(lines).toEqual([...first, ...second].map((l) => l.text));
    const logCalls = calls.filter((c) => c[1] === 'logs');
    expect(logCalls).toHaveLength(2);
    expect(logCalls[1]).toContain('--since'); // resumed after the last line it printed
  });
});
