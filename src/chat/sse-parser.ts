/**
 * Server-sent events, parsed as bytes arrive (the WHATWG event-stream rules that OpenAI-compatible
 * servers use): lines end in LF, CRLF or CR; `data:` lines of one event join with LF; a blank line ends
 * the event; `:` lines are comments (keep-alives). Only `data` matters to a chat completion stream.
 */
import { StringDecoder } from 'node:string_decoder';

export class SseParser {
  readonly #decoder = new StringDecoder('utf8');
  #buffer = '';
  #data: string[] = [];
  /** A CR ended the previous chunk: an LF starting the next one belongs to it. */
  #pendingCr = false;

  /** The `data` of every event this chunk completes. */
  push(chunk: Buffer | string): string[] {
    let text = typeof chunk === 'string' ? chunk : this.#decoder.write(chunk);
    if (this.#pendingCr && text.startsWith('\n')) text = text.slice(1);
    this.#pendingCr = false;
    this.#buffer += text;
    const events: string[] = [];
    let start = 0;
    for (;;) {
      const lf = this.#buffer.indexOf('\n', start);
      const cr = this.#buffer.indexOf('\r', start);
      let end: number;
      let next: number;
      if (cr !== -1 && (lf === -1 || cr < lf)) {
        end = cr;
        if (cr + 1 === this.#buffer.length) {
          this.#pendingCr = true;
          next = cr + 1;
        } else {
          next = this.#buffer[cr + 1] === '\n' ? cr + 2 : cr + 1;
        }
      } else if (lf !== -1) {
        end = lf;
        next = lf + 1;
      } else {
        break;
      }
      this.#line(this.#buffer.slice(start, end), events);
      start = next;
    }
    this.#buffer = this.#buffer.slice(start);
    return events;
  }

  /** End of the body: an event not closed by a blank line is still dispatched (servers that omit it). */
  end(): string[] {
    const events: string[] = [];
    const rest = this.#buffer + this.#decoder.end();
    this.#buffer = '';
    if (rest !== '') this.#line(rest, events);
    if (this.#data.length > 0) {
      events.push(this.#data.join('\n'));
      this.#data = [];
    }
    return events;
  }

  #line(line: string, events: string[]): void {
    if (line === '') {
      if (this.#data.length > 0) events.push(this.#data.join('\n'));
      this.#data = [];
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    if (field !== 'data') return;
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    this.#data.push(value);
  }
}
