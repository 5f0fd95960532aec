/**
 * Turns the chunks of one output stream into complete lines. Chunks arrive wherever SSH packets end,
 * so a line (or a multi-byte UTF-8 character) may be split between two of them: the unfinished tail is
 * held until its newline arrives or the stream ends. Framing works on bytes, not text: the byte 0x0A
 * never occurs inside a multi-byte UTF-8 sequence, so a line decoded whole is never corrupted.
 */

/** A line longer than this without a newline is emitted anyway, so one runaway line cannot exhaust memory. */
export const MAX_LINE_BYTES = 1024 * 1024;

const NL = 0x0a;
const CR = 0x0d;

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
   * The complete lines this chunk finishes (without their line endings). The chunk is decoded once, up to
   * its last newline, and split there: one string per chunk rather than a Buffer view and a string per
   * line (the lines are slices of it).
   */
  push(chunk: Buffer): string[] {
    const lastNl = chunk.lastIndexOf(NL);
    let lines: string[];
    if (lastNl === -1) {
      lines = [];
    } else {
      let text: string;
      if (this.#pendingBytes > 0) {
        this.#pending.push(chunk.subarray(0, lastNl));
        text = Buffer.concat(this.#pending).toString('utf8');
        this.#pending = [];
        this.#pendingBytes = 0;
      } else {
        text = chunk.toString('utf8', 0, lastNl);
      }
      lines = text.split('\n');
      for (let i = 0; i < lines.length; i++) {
        const line = lines[i]!;
        if (line.charCodeAt(line.length - 1) === CR) lines[i] = line.slice(0, -1);
      }
    }
    const start = lastNl + 1;
    if (start < chunk.length) {
      // Copy: the caller may reuse the chunk's memory once we return.
      const rest = Buffer.from(chunk.subarray(start));
      this.#pending.push(rest);
      this.#pendingBytes += rest.length;
      if (this.#pendingBytes >= this.#maxLineBytes) {
        lines.push(decodeLine(Buffer.concat(this.#pending)));
        this.#pending = [];
        this.#pendingBytes = 0;
      }
    }
    return lines;
  }

  /** The stream ended: a last line without a newline is still a line. */
  end(): string[] {
    if (this.#pendingBytes === 0) return [];
    const last = decodeLine(Buffer.concat(this.#pending));
    this.discard();
    return [last];
  }

  /** Forget a partial line (the stream broke: it will be sent again on resume). */
  discard(): void {
    this.#pending = [];
    this.#pendingBytes = 0;
  }
}

/** Containers run with a TTY end their lines with CRLF; the CR is part of the ending, not of the line. */
function decodeLine(bytes: Buffer): string {
  const end = bytes.length > 0 && bytes[bytes.length - 1] === CR ? bytes.length - 1 : bytes.length;
  return bytes.toString('utf8', 0, end);
}
