/**
 * One `docker logs [-f] -t` stream per node, merged into one. Each node's output is framed into whole
 * lines per stream (stdout and stderr separately: docker sends the container's stderr on its own), and
 * a batch of lines is handed on as one unit, so lines never split or interleave.
 *
 * Without `follow`, the log as it stands (all of it, or what `--tail`/`--since` select) is merged by
 * timestamp (TimeMerge). With `follow`, waiting for a quiet node's next line would hold every other
 * node's back indefinitely, so each line is held for a short bounded window instead and the lines held
 * are passed on in timestamp order (TimeWindow); `order: 'arrival'` passes them on as they arrive.
 *
 * With `follow`, a node whose SSH connection drops is said to be reconnecting (once per outage), asked
 * again with backoff, and resumed from the last timestamp it delivered; ResumeTracker drops the lines
 * docker sends twice. A node whose container stops is reported with its exit status while the others
 * keep going, and watched until a container of that name runs again (a redeploy replaces it): `-f`
 * follows until Ctrl-C. Without `follow`, a node that cannot be read is reported and the others still
 * print.
 */
import type { ChannelWindow } from '../remote/channel-window.js';
import type { Transport } from '../remote/transport.js';
import { RemoteError } from '../remote/transport.js';
import { readLines, type TimedLine } from './docker-logs.js';
import { runtimeFor } from '../runtime/runtime.js';
import { LeadWindows } from './lead-window.js';
import { LineFramer } from './line-framer.js';
import { ResumeTracker } from './resume.js';
import { TimeMerge } from './time-merge.js';
import { TimeWindow } from './time-window.js';

export interface LogSource {
  name: string;
  /** Container runtime command on that node (tools.containerRuntime). */
  runtime: string;
}

export type LogEvent =
  | { type: 'disconnected'; node: string; message: string }
  | { type: 'reconnected'; node: string }
  | { type: 'stopped'; node: string; exitCode: number | undefined }
  | { type: 'restarted'; node: string }
  | { type: 'failed'; node: string; message: string; hint: string };

export interface FollowLogsOptions {
  nodes: readonly LogSource[];
  container: string;
  /** The node's transport; asked again after a failure, so a pool may hand out a fresh one. */
  transportFor(node: string): Transport;
  follow: boolean;
  /** With `follow`: 'time' (default) holds each line up to `holdMs` to pass lines on in time order. */
  order?: 'time' | 'arrival';
  /** With `follow` in time order: how long a line is held at most (default DEFAULT_HOLD_MS). */
  holdMs?: number;
  /** docker `--since` value (see sinceArg). */
  since?: string | undefined;
  tail?: number | undefined;
  signal: AbortSignal;
  /**
   * A batch of new lines of one node; return a promise to stop reading until it settles. Without
   * `follow`, lines arrive in timestamp order across nodes, a batch being a run of one node's lines.
   */
  onLines(node: string, lines: TimedLine[]): void | Promise<void>;
  onEvent(event: LogEvent): void;
  /** Stop following a node once its container stops (default: wait for it to run again). */
  endWhenStopped?: boolean;
  /** How often a stopped container is looked at again; default 2 s. */
  restartPollMs?: number;
  /** Reconnect backoff: first wait, doubled per failure up to the maximum. */
  retryInitialMs?: number;
  retryMaxMs?: number;
}

export interface FollowLogsResult {
  /** Nodes whose logs could not be read (or whose follow could not be kept up). */
  failed: string[];
  interrupted: boolean;
}

/**
 * The SSH window of each node's log stream: what a node may send before it waits for us.
 *
 * The merge reads one node at a time whenever the nodes' logs do not interleave (each node's lines come
 * before the next node's), and then the whole rate is that one stream's: its window must be deep enough
 * that the node never waits for a grant while we are busy printing. A node the merge is waiting past is
 * paused, and what it may still send is its window plus half of it queued in the channel
 * (channel-window.ts), so every node's window is also memory held: ssh2's own 2 MiB + 2 MiB per channel
 * would be over 100 MiB at 64 nodes.
 *
 * So the nodes share LOG_WINDOW_BUDGET: 256 KiB each up to 16 nodes, 64 KiB at 64, never under 48 KiB
 * (a few MB/s per node even at a 10 ms round trip, far more than a daemon logs). Measured on the logs
 * benchmark (16 × 20,000 lines, five reads each, medians): a 48 KiB window read in 1.91 s with a peak of
 * 74 MiB, 256 KiB in 1.55 s with 88 MiB, 512 KiB in 1.72 s with 98 MiB; at 64 nodes 128 KiB already
 * reached the 96 MiB ceiling (BENCHMARKS.md). The one node the merge drains alone gets LEAD_WINDOW
 * instead, within LEAD_SPARE (lead-window.ts). However wide the window, a batch is at most what a stream
 * hands over after a wait (ssh-pool.ts, GATHER_BYTES).
 */
export const LOG_WINDOW_BUDGET = 4 * 1024 * 1024;
const MIN_LOG_WINDOW = 48 * 1024;
const MAX_LOG_WINDOW = 256 * 1024;
/** The window of the one node the merge drains alone (lead-window.ts), and what widening may hold. */
export const LEAD_WINDOW = 512 * 1024;
const LEAD_SPARE = 2 * 1024 * 1024;

/** Each node's window when `nodes` stream at once (see LOG_WINDOW_BUDGET). */
export function logWindowBytes(nodes: number): number {
  return Math.min(MAX_LOG_WINDOW, Math.max(MIN_LOG_WINDOW, Math.floor(LOG_WINDOW_BUDGET / Math.max(1, nodes))));
}

/** Errors that another attempt cannot fix: say so and stop following that node. */
const PERMANENT = new Set(['auth', 'host-key', 'config']);

/** docker's own messages ("No such container") kept per attempt, for the failure message. */
const DOCKER_MESSAGES_KEPT = 20;

export async function followLogs(opts: FollowLogsOptions): Promise<FollowLogsResult> {
  const names = opts.nodes.map((n) => n.name);
  const windowBytes = logWindowBytes(opts.nodes.length);
  // Without -f the log as it stands is merged by time, and the node the merge drains alone gets a wide
  // window (lead-window.ts); with -f each line is held a bounded while to be passed on in time order (or
  // passed on as it arrives with order: 'arrival'), and a node logs far slower than it could be read.
  const leads = opts.follow ? undefined : new LeadWindows(names, { normal: windowBytes, wide: LEAD_WINDOW, spare: LEAD_SPARE });
  const merge = leads && new TimeMerge(names, opts.onLines, opts.signal, { onDrained: (node) => leads.draining(node) });
  const window = opts.follow && opts.order !== 'arrival'
    ? new TimeWindow(opts.onLines, opts.signal, opts.holdMs === undefined ? {} : { holdMs: opts.holdMs })
    : undefined;
  const sink: Sink = merge ?? window ?? { push: opts.onLines };
  // What is said about a node (stopped, reconnecting) takes its place in time after the node's lines.
  const nodeOpts: FollowLogsOptions = window ? { ...opts, onEvent: (e) => window.say(e.node, () => opts.onEvent(e)) } : opts;
  const outcomes = await Promise.all(
    opts.nodes.map(async (n) => {
      try {
        return await followNode(nodeOpts, n, sink, leads?.window(n.name) ?? windowBytes);
      } finally {
        merge?.leave(n.name);
      }
    }),
  );
  await window?.flush();
  window?.close();
  return {
    failed: opts.nodes.filter((_, i) => outcomes[i] === 'failed').map((n) => n.name),
    interrupted: opts.signal.aborted,
  };
}

type Outcome = 'done' | 'failed' | 'interrupted';

/** Where a node's fresh lines go: the time merge, the time window, or straight to onLines. */
interface Sink {
  push(node: string, lines: TimedLine[]): void | Promise<void>;
}

async function followNode(opts: FollowLogsOptions, source: LogSource, sink: Sink, window: number | ChannelWindow): Promise<Outcome> {
  const { signal } = opts;
  const node = source.name;
  const tracker = new ResumeTracker();
  const initialMs = opts.retryInitialMs ?? 500;
  const maxMs = opts.retryMaxMs ?? 15_000;
  let failures = 0;
  let outage = false;

  while (!signal.aborted) {
    const resumeFrom = tracker.since;
    if (resumeFrom !== undefined) tracker.beginResume();
    const argv = runtimeFor(source.runtime).logs({
      container: opts.container,
      follow: opts.follow,
      since: resumeFrom ?? opts.since,
      // Resuming: --since alone says where to start; a tail would cut lines never shown.
      tail: resumeFrom === undefined ? opts.tail : undefined,
    });
    const out = new LineFramer();
    const err = new LineFramer();
    const dockerMessages: string[] = [];
    const arrived = (): void => {
      if (outage) {
        outage = false;
        failures = 0;
        opts.onEvent({ type: 'reconnected', node });
      }
    };
    const deliver = (bytes: Buffer | undefined, fromStderr: boolean): void | Promise<void> => {
      if (bytes === undefined) return;
      const fresh: TimedLine[] = [];
      for (const line of readLines(bytes)) {
        if (fromStderr && !line.stamped) {
          // With -t every container line is stamped: an unstamped stderr line is docker speaking.
          dockerMessages.push(line.text);
          if (dockerMessages.length > DOCKER_MESSAGES_KEPT) dockerMessages.shift();
          continue;
        }
        // Without follow nothing is resumed, so nothing need be remembered per line.
        if (!opts.follow || tracker.accept(line, fromStderr ? 'stderr' : 'stdout')) fresh.push(line);
      }
      if (fresh.length === 0) return;
      return sink.push(node, fresh);
    };

    let transport: Transport;
    try {
      transport = opts.transportFor(node);
      const result = await transport.stream(
        argv,
        {
          onStdout: (chunk) => {
            arrived();
            return deliver(out.push(chunk), false);
          },
          onStderr: (chunk) => {
            arrived();
            return deliver(err.push(chunk), true);
          },
        },
        { signal, window },
      );
      await deliver(out.end(), false);
      await deliver(err.end(), true);
      if (signal.aborted) return 'interrupted';
      if (result.code === 0) {
        arrived();
        if (!opts.follow) return 'done';
        opts.onEvent({ type: 'stopped', node, exitCode: await containerExitCode(transport, source, opts.container, signal) });
        if (opts.endWhenStopped) return 'done';
        if (!(await waitForRestart(opts, source, signal))) return 'interrupted';
        opts.onEvent({ type: 'restarted', node });
        continue;
      }
      if (result.code === null && opts.follow) {
        // The channel closed without an exit status: the connection went, not docker.
        throw new RemoteError('channel', node, `the SSH channel to ${node} closed without an exit status`);
      }
      arrived();
      const said = dockerMessages.join(' ').trim() || `${source.runtime} logs exited with status ${String(result.code)}`;
      opts.onEvent({
        type: 'failed',
        node,
        message: `${node}: cannot read the logs of ${opts.container}: ${said}`,
        hint: /no such container/i.test(said)
          ? `the deployment is not running on ${node}: ascendctl status shows each node's container`
          : `check that ${source.runtime} works on ${node}: ascendctl preflight`,
      });
      return 'failed';
    } catch (e) {
      if (signal.aborted) return 'interrupted';
      if (!(e instanceof RemoteError)) throw e;
      out.discard();
      err.discard();
      if (!opts.follow || PERMANENT.has(e.kind)) {
        opts.onEvent({
          type: 'failed',
          node,
          message: `${node}: cannot read the logs: ${e.message}`,
          hint: e.hint ?? `check that ${node} is reachable: ascendctl preflight --node ${node}`,
        });
        return 'failed';
      }
      if (!outage) {
        outage = true;
        opts.onEvent({ type: 'disconnected', node, message: e.message });
      }
      const waitMs = Math.min(maxMs, initialMs * 2 ** Math.min(failures, 16));
      failures++;
      if (!(await sleep(waitMs, signal))) return 'interrupted';
      if (failures >= 2) {
        // The pool re-makes a dead connection on the next call; if that did not help, start afresh.
        await opts.transportFor(node).close().catch(() => undefined);
      }
    }
  }
  return 'interrupted';
}

async function containerExitCode(transport: Transport, source: LogSource, container: string, signal: AbortSignal): Promise<number | undefined> {
  try {
    const r = await transport.exec(runtimeFor(source.runtime).exitCode(container), { timeoutMs: 15_000, signal });
    const n = Number.parseInt(r.stdout.trim(), 10);
    return r.code === 0 && Number.isInteger(n) ? n : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Wait until a container of that name runs again (started after it stopped); false on Ctrl-C. A node
 * that cannot be asked meanwhile is simply asked again: the next `docker logs` reports real trouble.
 */
async function waitForRestart(opts: FollowLogsOptions, source: LogSource, signal: AbortSignal): Promise<boolean> {
  const every = opts.restartPollMs ?? 2_000;
  for (;;) {
    if (!(await sleep(every, signal))) return false;
    try {
      const r = await opts.transportFor(source.name).exec(runtimeFor(source.runtime).running(opts.container), { timeoutMs: 15_000, signal });
      if (r.code === 0 && r.stdout.trim() === 'true') return true;
    } catch (e) {
      if (signal.aborted) return false;
      if (!(e instanceof RemoteError)) throw e;
    }
  }
}

/** Resolves true after ms, false at once when the signal aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
