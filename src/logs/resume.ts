/**
 * No loss, no repeats across a dropped connection. docker's `--since T` is inclusive (it skips only
 * lines strictly before T), so a follow resumed from the last timestamp seen sends the lines of that
 * instant again. docker replays a container's log in the order it was written, one stream (stdout,
 * stderr) at a time in file order, so the repeats are exactly the first K lines of each stream at
 * that instant, K being how many we delivered there. Counting them, not remembering their texts,
 * keeps the tracker O(1) in memory: a container that prints a whole file at once (`cat`, a burst
 * within one clock tick) stamps every line with the same instant, and a set of texts would hold the
 * entire log.
 */
import type { TimedLine } from './docker-logs.js';

export type LogStream = 'stdout' | 'stderr';

interface PerStream {
  stdout: number;
  stderr: number;
}

export class ResumeTracker {
  #lastNs: bigint | undefined;
  #lastTime: string | undefined;
  /** Lines delivered at #lastNs, per stream. */
  #atLast: PerStream = { stdout: 0, stderr: 0 };
  /** The instant the current attempt resumed from, while it repeats lines we already showed. */
  #resumeNs: bigint | undefined;
  /** During a resumed attempt: how many lines of each stream at #resumeNs are still to be skipped. */
  #skip: PerStream = { stdout: 0, stderr: 0 };

  /** The timestamp to resume from (`--since`), or undefined when no timestamped line was seen yet. */
  get since(): string | undefined {
    return this.#lastTime;
  }

  /** A new attempt starts from `since`: the lines it repeats are to be dropped. */
  beginResume(): void {
    this.#resumeNs = this.#lastNs;
    this.#skip = { ...this.#atLast };
  }

  /** True when the line is new and must be shown; records it. */
  accept(line: TimedLine, stream: LogStream = 'stdout'): boolean {
    if (line.ns === undefined) return true;
    if (this.#resumeNs !== undefined) {
      // Per stream, not one flag for the node: the streams' lines interleave differently on each
      // attempt, so a newer stdout line may come before stderr's repeats of the resume instant.
      if (line.ns < this.#resumeNs) return false;
      if (line.ns === this.#resumeNs && this.#skip[stream] > 0) {
        this.#skip[stream]--;
        return false;
      }
    }
    this.#record(line, stream);
    return true;
  }

  #record(line: TimedLine, stream: LogStream): void {
    if (line.ns === undefined) return;
    if (this.#lastNs === undefined || line.ns > this.#lastNs) {
      this.#lastNs = line.ns;
      this.#lastTime = line.time;
      this.#atLast = { stdout: 0, stderr: 0 };
      this.#atLast[stream] = 1;
    } else if (line.ns === this.#lastNs) {
      this.#atLast[stream]++;
    }
  }
}
