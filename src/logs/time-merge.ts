/**
 * Merges the nodes' log streams by timestamp, the way an operator reads a cross-node event (the master
 * waiting for a worker's HCCL join). Each node's `docker logs -t` stream is already in time order, so a
 * k-way merge needs only each node's next line: a line is passed on once every node still in the merge
 * has a line waiting, and it is the earliest of them. Ties go to the node listed first.
 *
 * Memory stays bounded: a node's batch is held until all of its lines are passed on, and push() returns
 * a promise that settles only then. The follower hands that promise to the SSH channel, which pauses, so
 * a node far ahead of the others is paused at the node rather than buffered here: at most one batch per
 * output stream of each node is ever held.
 *
 * A line without a timestamp takes its node's previous one, so it cannot stall the merge or jump ahead.
 * A node leaves the merge when its stream ends (read, failed or unreachable): from then on it holds
 * nobody back. The merge does not listen on the abort signal itself: every stream ends on abort and its
 * node leaves, and each step looks at the signal.
 */
import type { TimedLine } from './docker-logs.js';

export type LineSink = (node: string, lines: TimedLine[]) => void | Promise<void>;

interface Batch {
  lines: readonly TimedLine[];
  next: number;
  release: () => void;
  fail: (err: unknown) => void;
}

interface Lane {
  node: string;
  queue: Batch[];
  /** The timestamp of the node's last line passed on; stands in for a line that has none. */
  lastNs: bigint;
  left: boolean;
}

export class TimeMerge {
  /** Nodes still in the merge, in the order given: a tie goes to the earlier one. */
  #active: Lane[];
  readonly #lanes = new Map<string, Lane>();
  readonly #emit: LineSink;
  readonly #signal: AbortSignal;
  #pumping = false;
  #error: { cause: unknown } | undefined;
  readonly #finished: Promise<void>;
  #finish!: (err?: { cause: unknown }) => void;

  constructor(nodes: readonly string[], emit: LineSink, signal: AbortSignal) {
    this.#emit = emit;
    this.#signal = signal;
    this.#active = nodes.map((node) => ({ node, queue: [], lastNs: -1n, left: false }));
    for (const lane of this.#active) this.#lanes.set(lane.node, lane);
    this.#finished = new Promise<void>((resolve, reject) => {
      this.#finish = (err) => (err ? reject(err.cause) : resolve());
    });
    // Nobody need wait for the end of the merge; whoever does still sees a failure.
    this.#finished.catch(() => undefined);
    if (this.#active.length === 0) this.#finish();
  }

  /** Settles once every node has left and all their lines were passed on; rejects if passing on failed. */
  get finished(): Promise<void> {
    return this.#finished;
  }

  /** A batch of one node's lines; settles when all of them were passed on (the caller waits to read more). */
  push(node: string, lines: readonly TimedLine[]): Promise<void> {
    if (this.#error) return Promise.reject(this.#error.cause);
    const lane = this.#lane(node);
    if (lane.left) throw new Error(`logs: ${node} sent lines after leaving the merge`);
    if (lines.length === 0 || this.#signal.aborted) return Promise.resolve();
    return new Promise<void>((release, fail) => {
      lane.queue.push({ lines, next: 0, release, fail });
      void this.#pump();
    });
  }

  /** The node sends no more lines; the ones it already sent are still merged. Idempotent. */
  leave(node: string): void {
    const lane = this.#lane(node);
    if (lane.left) return;
    lane.left = true;
    if (this.#signal.aborted) this.#drop(lane);
    this.#retireIfDone(lane);
    void this.#pump();
  }

  #lane(node: string): Lane {
    const lane = this.#lanes.get(node);
    if (!lane) throw new Error(`logs: ${node} is not one of the merged nodes`);
    return lane;
  }

  async #pump(): Promise<void> {
    if (this.#pumping || this.#error) return;
    this.#pumping = true;
    try {
      for (;;) {
        if (this.#signal.aborted) {
          // Let every paused stream go, so it sees the abort and ends.
          for (const lane of this.#active) this.#drop(lane);
          for (const lane of [...this.#active]) this.#retireIfDone(lane);
          return;
        }
        const { runs, passed } = this.#take();
        if (runs.length === 0) return;
        try {
          for (const run of runs) {
            const wait = this.#emit(run.node, run.lines);
            if (wait) await wait;
          }
        } catch (err) {
          for (const batch of passed) batch.fail(err);
          this.#fail(err);
          return;
        }
        // Released only once written: a node is paused for as long as its lines wait for stdout.
        for (const batch of passed) batch.release();
      }
    } finally {
      this.#pumping = false;
    }
  }

  /** The lines that can be passed on now, in time order, grouped into runs of one node. */
  #take(): { runs: { node: string; lines: TimedLine[] }[]; passed: Batch[] } {
    const runs: { node: string; lines: TimedLine[] }[] = [];
    const passed: Batch[] = [];
    for (;;) {
      let best: Lane | undefined;
      let bestNs = 0n;
      for (const lane of this.#active) {
        const head = lane.queue[0];
        // A node still sending but with nothing waiting may yet send the earliest line: wait for it.
        if (head === undefined) return { runs, passed };
        const ns = head.lines[head.next]?.ns ?? lane.lastNs;
        if (best === undefined || ns < bestNs) {
          best = lane;
          bestNs = ns;
        }
      }
      if (best === undefined) return { runs, passed };
      const batch = best.queue[0]!;
      const line = batch.lines[batch.next]!;
      best.lastNs = bestNs;
      batch.next++;
      if (batch.next === batch.lines.length) {
        best.queue.shift();
        passed.push(batch);
        this.#retireIfDone(best);
      }
      const last = runs[runs.length - 1];
      if (last?.node === best.node) last.lines.push(line);
      else runs.push({ node: best.node, lines: [line] });
    }
  }

  /** A node that left and has nothing waiting no longer holds the others back. */
  #retireIfDone(lane: Lane): void {
    if (!lane.left || lane.queue.length > 0) return;
    const at = this.#active.indexOf(lane);
    if (at === -1) return;
    this.#active.splice(at, 1);
    if (this.#active.length === 0) this.#finish();
  }

  #drop(lane: Lane): void {
    for (const batch of lane.queue.splice(0)) batch.release();
  }

  #fail(err: unknown): void {
    this.#error = { cause: err };
    for (const lane of this.#active) for (const batch of lane.queue.splice(0)) batch.fail(err);
    this.#finish(this.#error);
  }
}
