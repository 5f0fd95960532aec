/**
 * Turns the chunks of one output stream into complete lines. Chunks arrive wherever SSH packets end,
 * so a line (or a multi-byte UTF-8 character) may be split between two of them: the unfinished tail is
 * held until its newline arrives or the stream ends. Framing works on bytes, not text: the byte 0x0A
 * never occurs inside a multi-byte UTF-8 sequence, so a line is always whole, whether it is printed as
 * the bytes it came as or decoded (docker-logs.ts).
 */

/** A line longer than this without a newline is emitted anyway, so one runaway line cannot exhaust memory. */
export const MAX_LINE_BYTES = 1024 * 1024;

const NL = 0x0a;
const NEWLINE = Buffer.from([NL]);

export class LineFramer {
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  readonly #maxLineBytes: number;

  constructor(maxLineBytes = MAX_LINE_BYTES) {
    this.#maxLineBytes = maxLineBytes;
  }

  /** Bytes held for a line whose newline has not arrived yet. */
  get pendingBytes(): number {
    return this.#pendingBytes;
  }

  /**
   * The complete lines this chunk finishes, as bytes of their own (a copy: the caller may reuse the
   * chunk's memory once we return, and the lines outlive it), up to the chunk's last newline, still
   * joined by their line endings (readLines in docker-logs.ts splits them and drops a carriage return
   * before a newline); undefined when the chunk finishes no line. A line held past the maximum length is
   * finished here as if its newline had come.
   */
  push(chunk: Buffer): Buffer | undefined {
    const lastNl = chunk.lastIndexOf(NL);
    let lines: Buffer | undefined;
    if (lastNl !== -1) {
      if (this.#pendingBytes > 0) {
        this.#pending.push(chunk.subarray(0, lastNl));
        lines = Buffer.concat(this.#pending);
        this.#pending = [];
        this.#pendingBytes = 0;
      } else {
        lines = Buffer.from(chunk.subarray(0, lastNl));
      }
    }
    const start = lastNl + 1;
    if (start < chunk.length) {
      const rest = Buffer.from(chunk.subarray(start));
      this.#pending.push(rest);
      this.#pendingBytes += rest.length;
      if (this.#pendingBytes >= this.#maxLineBytes) {
        const runaway = this.end()!;
        lines = lines === undefined ? runaway : Buffer.concat([lines, NEWLINE, runaway]);
      }
    }
    return lines;
  }

  /** The stream ended: a last line without a newline is still a line (undefined when none is held). */
  end(): Buffer | undefined {
    if (this.#pendingBytes === 0) return undefined;
    const last = Buffer.concat(this.#pending);
    this.discard();
    return last;
  }

  /** Forget a partial line (the stream broke: it will be sent again on resume). */
  discard(): void {
    this.#pending = [];
    this.#pendingBytes = 0;
  }
}
