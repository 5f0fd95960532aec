/**
 * `logs -f` in time order: every line is held for a short, bounded window after it arrives, and the
 * lines held are passed on in timestamp order. Nodes' lines arrive in bursts and with SSH latency, so a
 * node's 10:00:01 line can reach us after another node's 10:00:03; holding each line for `holdMs`
 * (default 300 ms) lets the earlier one overtake it, so cause and effect across nodes (one rank's
 * EI0006, another rank's real error) read in order.
 *
 * The rule: once the earliest-arrived held line has waited `holdMs`, every held line whose timestamp is
 * not later than the latest timestamp among the lines that have waited that long is passed on, earliest
 * first. So no line waits longer than `holdMs` (plus the time to write the lines before it), and a node
 * that goes quiet holds nobody back: waiting is by arrival, not by what other nodes might still send. A
 * line that arrives more than `holdMs` late (its timestamp is earlier than lines already printed) is
 * passed on at once, out of order, rather than dropped. Ties keep arrival order.
 *
 * Memory is bounded: push() returns a promise while more than `maxHeld` lines are held or being written,
 * and the follower hands it to the SSH channel, which pauses the node (as TimeMerge does without -f).
 */
import type { TimedLine } from './docker-logs.js';
import type { LineSink } from './time-merge.js';

export const DEFAULT_HOLD_MS = 300;
const DEFAULT_MAX_HELD = 20_000;

interface Held {
  node: string;
  /** A line, or something to say about the node (stopped, reconnecting) in its place in time. */
  line: TimedLine | (() => void);
  ns: bigint;
  seq: number;
  arrivedMs: number;
  passed: boolean;
}

export interface TimeWindowOptions {
  holdMs?: number;
  /** Lines held before push() makes the caller wait. */
  maxHeld?: number;
  now?: () => number;
}

export class TimeWindow {
  readonly #emit: LineSink;
  readonly #signal: AbortSignal;
  readonly #holdMs: number;
  readonly #maxHeld: number;
  readonly #now: () => number;
  /** Min-heap by (ns, seq). */
  readonly #heap: Held[] = [];
  /** Held lines in arrival order (a line already passed on is skipped when it reaches the front). */
  #arrivals: Held[] = [];
  #arrivalsHead = 0;
  #held = 0;
  #seq = 0;
  /** The latest timestamp passed on: a line not later than it is due at once. */
  #watermark = -1n;
  readonly #lastNs = new Map<string, bigint>();
  #timer: NodeJS.Timeout | undefined;
  #writing: Promise<void> | undefined;
  #waiters: (() => void)[] = [];
  #error: { cause: unknown } | undefined;

  constructor(emit: LineSink, signal: AbortSignal, opts: TimeWindowOptions = {}) {
    this.#emit = emit;
    this.#signal = signal;
    this.#holdMs = opts.holdMs ?? DEFAULT_HOLD_MS;
    this.#maxHeld = opts.maxHeld ?? DEFAULT_MAX_HELD;
    this.#now = opts.now ?? Date.now;
  }

  /** A batch of one node's lines; returns a promise when the caller should wait before reading more. */
  push(node: string, lines: readonly TimedLine[]): void | Promise<void> {
    if (this.#error) return Promise.reject(this.#error.cause);
    if (this.#signal.aborted) return this.#drop();
    if (lines.length === 0) return;
    const arrivedMs = this.#now();
    let last = this.#lastNs.get(node) ?? -1n;
    for (const line of lines) {
      // A line without a timestamp keeps its place after its node's previous line.
      const ns = line.ns ?? last;
      last = ns;
      const h: Held = { node, line, ns, seq: this.#seq++, arrivedMs, passed: false };
      heapPush(this.#heap, h);
      this.#arrivals.push(h);
      this.#held++;
    }
    this.#lastNs.set(node, last);
    this.#schedule();
    if (this.#held <= this.#maxHeld) return;
    return new Promise<void>((resolve) => this.#waiters.push(resolve));
  }

  /**
   * Something to say about a node (its container stopped, its connection dropped): said after the
   * node's lines that came before it, and held like a line of the node's last timestamp.
   */
  say(node: string, fn: () => void): void {
    if (this.#signal.aborted) return fn();
    const ns = this.#lastNs.get(node) ?? -1n;
    const h: Held = { node, line: fn, ns, seq: this.#seq++, arrivedMs: this.#now(), passed: false };
    heapPush(this.#heap, h);
    this.#arrivals.push(h);
    this.#held++;
    this.#schedule();
  }

  /** The streams ended: nothing more will come, and no timer is left behind. */
  close(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Pass on everything held now (the streams ended, or an event is about to be said); settles once written. */
  async flush(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    while (this.#writing) await this.#writing.catch(() => undefined);
    if (this.#signal.aborted) return;
    await this.#start(Number.POSITIVE_INFINITY);
  }

  /** One write at a time: the timer and flush() both go through here. */
  #start(nowMs: number): Promise<void> {
    const writing = this.#write(nowMs).finally(() => {
      this.#writing = undefined;
      this.#schedule();
    });
    this.#writing = writing;
    writing.catch(() => undefined);
    return writing;
  }

  #schedule(): void {
    // No listener on the signal (a rack's worth of streams already listen on it): an abort is seen here,
    // at the next push or timer, and lets every waiting caller go.
    if (this.#signal.aborted) return this.#drop();
    if (this.#timer || this.#writing) return;
    const first = this.#firstArrival();
    if (!first) return;
    const due = first.arrivedMs + this.#holdMs - this.#now();
    const late = first.ns <= this.#watermark;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#start(this.#now());
    }, late ? 0 : Math.max(0, due));
  }

  #firstArrival(): Held | undefined {
    while (this.#arrivalsHead < this.#arrivals.length) {
      const h = this.#arrivals[this.#arrivalsHead]!;
      if (!h.passed) {
        if (this.#arrivalsHead > 4096 && this.#arrivalsHead * 2 > this.#arrivals.length) {
          this.#arrivals = this.#arrivals.slice(this.#arrivalsHead);
          this.#arrivalsHead = 0;
        }
        return this.#arrivals[this.#arrivalsHead];
      }
      this.#arrivalsHead++;
    }
    if (this.#arrivalsHead > 0) {
      this.#arrivals = [];
      this.#arrivalsHead = 0;
    }
    return undefined;
  }

  /** Pass on what is due at `nowMs` (everything for Infinity), in time order, in runs of one node. */
  async #write(nowMs: number): Promise<void> {
    let limit = this.#watermark;
    for (;;) {
      const h = this.#firstArrival();
      if (!h || h.arrivedMs + this.#holdMs > nowMs) break;
      if (h.ns > limit) limit = h.ns;
      h.passed = true;
      this.#arrivalsHead++;
    }
    const runs: ({ node: string; lines: TimedLine[] } | (() => void))[] = [];
    while (this.#heap.length > 0 && this.#heap[0]!.ns <= limit) {
      const h = heapPop(this.#heap)!;
      h.passed = true;
      this.#held--;
      if (h.ns > this.#watermark) this.#watermark = h.ns;
      const run = runs[runs.length - 1];
      if (typeof h.line === 'function') runs.push(h.line);
      else if (run !== undefined && typeof run !== 'function' && run.node === h.node) run.lines.push(h.line);
      else runs.push({ node: h.node, lines: [h.line] });
    }
    try {
      for (const run of runs) {
        if (this.#signal.aborted) return;
        if (typeof run === 'function') {
          run();
          continue;
        }
        const wait = this.#emit(run.node, run.lines);
        if (wait) await wait;
      }
    } catch (err) {
      this.#error = { cause: err };
      this.#drop();
      throw err;
    }
    if (this.#held <= this.#maxHeld) this.#wake();
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }

  #drop(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#heap.length = 0;
    this.#arrivals = [];
    this.#arrivalsHead = 0;
    this.#held = 0;
    this.#wake();
  }
}

function before(a: Held, b: Held): boolean {
  return a.ns < b.ns || (a.ns === b.ns && a.seq < b.seq);
}

function heapPush(heap: Held[], h: Held): void {
  heap.push(h);
  let i = heap.length - 1;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (!before(heap[i]!, heap[parent]!)) break;
    [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
    i = parent;
  }
}

function heapPop(heap: Held[]): Held | undefined {
  const top = heap[0];
  const last = heap.pop();
  if (heap.length === 0 || last === undefined) return top;
  heap[0] = last;
  let i = 0;
  for (;;) {
    const l = 2 * i + 1;
    const r = l + 1;
    let m = i;
    if (l < heap.length && before(heap[l]!, heap[m]!)) m = l;
    if (r < heap.length && before(heap[r]!, heap[m]!)) m = r;
    if (m === i) return top;
    [heap[i], heap[m]] = [heap[m]!, heap[i]!];
    i = m;
  }
}
