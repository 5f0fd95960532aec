/**
 * No loss, no repeats across a dropped connection. docker's `--since T` is inclusive (it skips only
 * lines strictly before T), so a follow resumed from the last timestamp seen sends the lines of that
 * instant again. We remember which lines we printed at the latest timestamp (as a multiset: the same
 * text may legitimately occur twice in one instant) and drop exactly those on the way back.
 */
import type { TimedLine } from './docker-logs.js';

export class ResumeTracker {
  #lastNs: bigint | undefined;
  #lastTime: string | undefined;
  /** Texts delivered at #lastNs, with counts. */
  #atLast = new Map<string, number>();
  /** During a resumed attempt: what of #atLast is still to be skipped. */
  #skip = new Map<string, number>();
  #resuming = false;

  /** The timestamp to resume from (`--since`), or undefined when no timestamped line was seen yet. */
  get since(): string | undefined {
    return this.#lastTime;
  }

  /** A new attempt starts from `since`: the lines it repeats are to be dropped. */
  beginResume(): void {
    this.#resuming = this.#lastNs !== undefined;
    this.#skip = new Map(this.#atLast);
  }

  /** True when the line is new and must be shown; records it. */
  accept(line: TimedLine): boolean {
    if (line.ns === undefined) return true;
    if (this.#resuming && this.#lastNs !== undefined) {
      if (line.ns < this.#lastNs) return false;
      if (line.ns === this.#lastNs) {
        const left = this.#skip.get(line.text) ?? 0;
        if (left > 0) {
          this.#skip.set(line.text, left - 1);
          return false;
        }
      } else {
        // Past the instant we stopped at: everything from here on is new.
        this.#resuming = false;
      }
    }
    this.#record(line);
    return true;
  }

  #record(line: TimedLine): void {
    if (line.ns === undefined) return;
    if (this.#lastNs === undefined || line.ns > this.#lastNs) {
      this.#lastNs = line.ns;
      this.#lastTime = line.time;
      this.#atLast = new Map([[line.text, 1]]);
    } else if (line.ns === this.#lastNs) {
      this.#atLast.set(line.text, (this.#atLast.get(line.text) ?? 0) + 1);
    }
  }
}
