/**
 * Merges the nodes' log streams by timestamp, the way an operator reads a cross-node event (the master
 * waiting for a worker's HCCL join). Each node's `docker logs -t` stream is already in time order, so a
 * k-way merge needs only each node's next line: a line is passed on once every node still in the merge
 * has a line waiting, and it is the earliest of them. Ties go to the node listed first.
 *
 * Memory stays bounded: a node's batch is held until all of its lines are passed on, and push() returns
 * a promise that settles only then. The follower hands that promise to the SSH channel, which pauses, so
 * a node far ahead of the others is paused at the node rather than buffered here: at most one batch per
 * output stream of each node is ever held. What a paused node can still send is its SSH channel window,
 * which the follower keeps small (logWindowBytes, channel-window.ts): ssh2's own 2 MiB window and 2 MiB
 * queue per channel, not the merge, were most of the memory at 16–64 nodes (issue #12, BENCHMARKS.md).
 *
 * Cost per line is what bounds the rate (issue #12: every line of every node passes through here on one
 * core). So: nodes waiting with a line sit in a binary heap keyed by their head line's (seconds,
 * nanoseconds) — two small integers read once per line by readLines (docker-logs.ts), no BigInt and no regular
 * expression — with the node's position breaking ties; the earliest node's lines are then taken for as
 * long as they come before the runner-up's head line, one comparison a line, and handed on as one run
 * (a slice of the batch), so the heap is touched once per run rather than once per line, and the printer
 * writes a run at a time.
 *
 * Two costs outside this class decided the rate and the peak (issue #12, profiled at 16 and 64 nodes
 * with --cpu-prof, strace -c and --trace-gc): (1) every push() makes its stream wait, and a node that
 * sends a line per SSH packet (a daemon logging as it goes; the simulator does) then cost a pause, a
 * resume, an event-loop turn and a stdout write per line — 322,565 writes for 320,000 lines. The SSH
 * stream now hands over everything that arrived during a wait as one chunk (ssh-pool.ts, the stream's
 * pump), so a batch is what a node sent meanwhile, up to its window. (2) The peak RSS was mostly
 * garbage: V8 grew the young generation to 2 × 16 MiB and let promoted, already printed batches pile
 * up in the old one; heap-tuning.ts keeps both small for this command.
 *
 * Where a read's time goes now (16 and 64 nodes × 20,000 lines, BENCHMARKS.md, with a trace of when each
 * node's bytes arrived): about 0.25–0.3 s from process start to the first connection (loading, the
 * inventory) and 0.15 s more to the first line; the rest is one JavaScript thread decrypting SSH and, per
 * line, screening it for known failures (one folded alternation over each batch, known-failures.ts),
 * reading its stamp, merging and printing. Lines are never decoded on that path (readLines keeps a batch
 * as a binary string, the printer writes its bytes back), which took a 16-node read from 1.8 to 1.25 s
 * of CPU. The benchmark's nodes log in turn, not interleaved, so the merge drains one node at a time:
 * that node's window decides the rate (logWindowBytes), and a paused node must cost its sender nothing.
 * The simulator once let every paused channel queue 2 MiB, which kept its one process busy for 0.7 s
 * (16 nodes) and 2.7 s (64 nodes) while the node being drained trickled in; it now blocks after a pipe's
 * worth, as a node does (src/sim/byte-pipe.ts). At 64 nodes both ascendctl and the simulator were then
 * idle about half of a read: the simulator's writer made a node's program wait until its own last write
 * was sent, so the one node being drained produced and sent by turns; it now writes on while the channel
 * sends, as into a pipe, and the same read went from 4.8–5.0 s to 4.1–4.3 s against 3.7–4.0 s for OpenSSH.
 * That made the OpenSSH clients faster at 16 nodes too (1.2 → 0.83 s), where a read of ascendctl (1.3 s)
 * is now a third start-up before the first line and then its own CPU (1.1 s in all).
 * Reading ahead of the printing, granting window before handling a chunk, and the simulator yielding
 * more often had been tried first and did not shorten it; a larger window did, at a peak over 96 MiB.
 * Only the drained node needs it: the merge says when whole batches of one node went out by themselves
 * (onDrained), and that node alone gets a wide window (lead-window.ts), within a spare budget; a stream
 * hands over at most 64 KiB at a time however wide its window (ssh-pool.ts), so a batch's garbage stays
 * young. In the benchmark that took 64 nodes from 0.88× to 0.99–1.02× of OpenSSH's rate and 16 nodes
 * from 0.63× to 0.73–0.77×, every peak at 75–89 MiB. Those runs timed a ~/.bashrc (180 ms) on both
 * sides, which bench/lib.ts's shells no longer read; the two full runs without it (19bdb59, 1e38a30)
 * gave 1.27× and 1.02× at 64 nodes, 0.66× and 0.58× at 16, peaks 72–87 MiB. At 16 nodes a read is
 * about 0.35 s before its first line (0.25 s of start-up to the first connection, 0.1 s of handshakes),
 * a quarter of it, and then one thread against sixteen OpenSSH processes, on two cores the simulated
 * nodes share.
 * The bench's second baseline is ssh2 alone in one Node.js process copying the same bytes to stdout
 * unread: on two cores shared with the simulated nodes it reaches about 0.8–1.0× the rate of the OpenSSH
 * clients (0.91× and 0.84× at 16 nodes in those runs).
 *
 * A line without a timestamp takes its node's previous one, so it cannot stall the merge or jump ahead.
 * A node leaves the merge when its stream ends (read, failed or unreachable): from then on it holds
 * nobody back. The merge does not listen on the abort signal itself: every stream ends on abort and its
 * node leaves, and each step looks at the signal.
 */
import { StampedLine, type TimedLine } from './docker-logs.js';

export type LineSink = (node: string, lines: TimedLine[]) => void | Promise<void>;

export interface TimeMergeOptions {
  /**
   * A second whole batch of `node` in a row was passed on in one run, nothing of another node between
   * them, and the node has nothing more waiting: every other node waits on it alone (lead-window.ts
   * widens its window). One such batch is no sign: with nodes that send a line or two per batch, each
   * batch of the earliest node goes whole.
   */
  onDrained?: (node: string) => void;
}

interface Batch {
  lines: readonly TimedLine[];
  next: number;
  release: () => void;
  fail: (err: unknown) => void;
}

interface Lane {
  node: string;
  /** Position in the list of nodes: a tie goes to the lower. */
  order: number;
  queue: Batch[];
  /** The timestamp of the node's last line passed on (seconds, nanoseconds); stands in for a line that has none. */
  lastSec: number;
  lastNano: number;
  /** The key of the line at the head of the queue, while the lane is in the heap. */
  sec: number;
  nano: number;
  inHeap: boolean;
  left: boolean;
  retired: boolean;
}

export class TimeMerge {
  readonly #lanes = new Map<string, Lane>();
  /** Lanes with a line waiting, a min-heap by (sec, nano, order). */
  readonly #heap: Lane[] = [];
  /** Lanes still in the merge (not left, or left with lines waiting). */
  #active: number;
  readonly #emit: LineSink;
  readonly #signal: AbortSignal;
  readonly #onDrained: ((node: string) => void) | undefined;
  /** The lane whose last batch went whole with nothing of another lane since (see onDrained). */
  #drainedLast: Lane | undefined;
  #pumping = false;
  #error: { cause: unknown } | undefined;
  readonly #finished: Promise<void>;
  #finish!: (err?: { cause: unknown }) => void;

  constructor(nodes: readonly string[], emit: LineSink, signal: AbortSignal, opts: TimeMergeOptions = {}) {
    this.#emit = emit;
    this.#signal = signal;
    this.#onDrained = opts.onDrained;
    nodes.forEach((node, order) => {
      this.#lanes.set(node, { node, order, queue: [], lastSec: -Infinity, lastNano: 0, sec: 0, nano: 0, inHeap: false, left: false, retired: false });
    });
    this.#active = this.#lanes.size;
    this.#finished = new Promise<void>((resolve, reject) => {
      this.#finish = (err) => (err ? reject(err.cause) : resolve());
    });
    // Nobody need wait for the end of the merge; whoever does still sees a failure.
    this.#finished.catch(() => undefined);
    if (this.#active === 0) this.#finish();
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
      if (!lane.inHeap) {
        this.#keyHead(lane);
        this.#heapPush(lane);
      }
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
          this.#heap.length = 0;
          for (const lane of this.#lanes.values()) {
            lane.inHeap = false;
            this.#drop(lane);
          }
          for (const lane of this.#lanes.values()) this.#retireIfDone(lane);
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

  /**
   * The lines that can be passed on now, in time order, grouped into runs of one node. The earliest
   * node's lines are taken for as long as they come before the next node's head line (one comparison a
   * line; the heap is touched once per run, not per line).
   */
  #take(): { runs: { node: string; lines: TimedLine[] }[]; passed: Batch[] } {
    const runs: { node: string; lines: TimedLine[] }[] = [];
    const passed: Batch[] = [];
    const heap = this.#heap;
    // A node still sending but with nothing waiting may yet send the earliest line: wait for it.
    while (heap.length > 0 && heap.length === this.#active) {
      const lane = heap[0]!;
      const rival = heap.length === 1 ? undefined : heap.length === 2 || before(heap[1]!, heap[2]!) ? heap[1]! : heap[2]!;
      const batch = lane.queue[0]!;
      const from = batch.next;
      let sec = lane.sec;
      let nano = lane.nano;
      // The head line always goes; the ones after it while they still come first.
      for (;;) {
        lane.lastSec = sec;
        lane.lastNano = nano;
        batch.next++;
        if (batch.next === batch.lines.length) break;
        const line = batch.lines[batch.next]!;
        if (lineKey(line)) {
          sec = keySec;
          nano = keyNano;
        }
        if (rival !== undefined && !(sec < rival.sec || (sec === rival.sec && (nano < rival.nano || (nano === rival.nano && lane.order < rival.order))))) break;
      }
      const run = from === 0 && batch.next === batch.lines.length ? batch.lines.slice() : batch.lines.slice(from, batch.next);
      const last = runs[runs.length - 1];
      if (last?.node === lane.node) for (const line of run) last.lines.push(line);
      else runs.push({ node: lane.node, lines: run });
      if (batch.next === batch.lines.length) {
        lane.queue.shift();
        passed.push(batch);
      }
      if (lane.queue.length === 0) {
        this.#heapPopTop();
        lane.inHeap = false;
        this.#retireIfDone(lane);
      } else {
        this.#keyHead(lane);
        this.#siftDown(0);
      }
      // A batch that went whole, none of it held back by another node, and nothing else waiting from its
      // node: the merge now waits on this one.
      if (from === 0 && lane.queue.length === 0 && !lane.left) {
        if (this.#drainedLast === lane) this.#onDrained?.(lane.node);
        this.#drainedLast = lane;
      } else {
        this.#drainedLast = undefined;
      }
    }
    return { runs, passed };
  }

  /** Sets lane.sec/nano from the line at the head of its queue (its node's last one when it has none). */
  #keyHead(lane: Lane): void {
    const batch = lane.queue[0]!;
    if (lineKey(batch.lines[batch.next]!)) {
      lane.sec = keySec;
      lane.nano = keyNano;
    } else {
      lane.sec = lane.lastSec;
      lane.nano = lane.lastNano;
    }
  }

  /** A node that left and has nothing waiting no longer holds the others back. */
  #retireIfDone(lane: Lane): void {
    if (!lane.left || lane.queue.length > 0 || lane.retired) return;
    lane.retired = true;
    this.#active--;
    if (this.#active === 0) this.#finish();
  }

  #drop(lane: Lane): void {
    for (const batch of lane.queue.splice(0)) batch.release();
  }

  #fail(err: unknown): void {
    this.#error = { cause: err };
    for (const lane of this.#lanes.values()) for (const batch of lane.queue.splice(0)) batch.fail(err);
    this.#heap.length = 0;
    this.#finish(this.#error);
  }

  #heapPush(lane: Lane): void {
    const heap = this.#heap;
    lane.inHeap = true;
    let i = heap.push(lane) - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(lane, heap[parent]!)) break;
      heap[i] = heap[parent]!;
      i = parent;
    }
    heap[i] = lane;
  }

  #heapPopTop(): void {
    const heap = this.#heap;
    const last = heap.pop()!;
    if (heap.length === 0) return;
    heap[0] = last;
    this.#siftDown(0);
  }

  #siftDown(at: number): void {
    const heap = this.#heap;
    const lane = heap[at]!;
    let i = at;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= heap.length) break;
      const r = l + 1;
      const child = r < heap.length && before(heap[r]!, heap[l]!) ? r : l;
      if (!before(heap[child]!, lane)) break;
      heap[i] = heap[child]!;
      i = child;
    }
    heap[i] = lane;
  }
}

function before(a: Lane, b: Lane): boolean {
  return a.sec < b.sec || (a.sec === b.sec && (a.nano < b.nano || (a.nano === b.nano && a.order < b.order)));
}

// lineKey's answer (module state: it runs for every line merged).
let keySec = 0;
let keyNano = 0;

/** The line's timestamp as (seconds, nanoseconds) in keySec/keyNano; false when it has none. */
function lineKey(line: TimedLine): boolean {
  if (line instanceof StampedLine) {
    if (!line.stamped) return false;
    keySec = line.sec;
    keyNano = line.nano;
    return true;
  }
  const ns = line.ns;
  if (ns === undefined) return false;
  keySec = Number(ns / 1_000_000_000n);
  keyNano = Number(ns % 1_000_000_000n);
  return true;
}
