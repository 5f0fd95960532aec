/**
 * How merged log lines reach the terminal (logs output in cli-contract.md): the node's name padded to
 * the longest name, ` │ ` (` | ` without UTF-8), then the daemon's line unchanged; `-t` puts docker's
 * timestamp after the separator; `--json` prints `{"node","time","line"}` per line. Lines of a known
 * failure are highlighted and explained once per node and kind, on stderr so that stdout stays the log.
 *
 * Memory stays bounded when stdout is slower than the nodes: when a write is refused, print() returns a
 * promise that settles on 'drain', and the follower hands it back to the SSH channel, which pauses.
 *
 * Writes are gathered: the merge hands over short runs of one node (often a single line when the nodes'
 * lines interleave), and a write per run was a system call per line. Batches are joined into one string
 * and written once it reaches the room left below stdout's high-water mark, or at the end of the current
 * turn of the event loop (a microtask), whichever comes first. So output is never held past the turn that
 * produced it (-f shows each line at once), and stdout's buffer plus the text held here stays within the
 * high-water mark and one batch, as when every batch was its own write.
 *
 * The output is gathered as a binary string (a character per byte) and written as latin1, which is the
 * bytes: a line readLines read is printed from its batch's bytes without being decoded (StampedLine.raw),
 * and the prefix and anything made of text (a highlighted line, `--json`) are converted once to the
 * UTF-8 they are written as. This is issue #12's: with the ` │ ` in every prefix the joined text was a
 * two-byte string, and flattening and encoding it was a sixth of a read's CPU; decoding every line was
 * another tenth. A daemon's bytes that are not UTF-8 go through to a plain read unchanged, as with
 * `docker logs` itself; `--json` decodes a line to quote it, so there they become U+FFFD.
 */
import type { Writable } from 'node:stream';
import type { ChalkInstance } from 'chalk';
import { InputError } from '../errors.js';
import type { Output } from '../ui/output.js';
import { StampedLine, type TimedLine } from './docker-logs.js';
import { classifyLogLine, type FailureKind } from '../mindie/known-failures.js';

export interface LogPrinterOptions {
  out: Output;
  /** Every node that may print: the prefix is padded to the longest of these names. */
  nodes: readonly string[];
  showTimestamps: boolean;
  json: boolean;
  grep?: RegExp | undefined;
}

type Paint = (text: string) => string;

/** Text gathered before a write when stdout does not say its high-water mark (Node's default for streams). */
const DEFAULT_ROOM = 16 * 1024;

/** Colours that stay readable on dark and light terminals; red is kept for failures. */
const PALETTE = ['cyan', 'magenta', 'green', 'yellow', 'blue', 'cyanBright', 'magentaBright', 'greenBright', 'blueBright', 'yellowBright'] as const;

/** FNV-1a: the same node gets the same colour in every run and on every machine. */
export function nodeColorIndex(name: string, paletteSize = PALETTE.length): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % paletteSize;
}

export function nodeColor(chalk: ChalkInstance, name: string): Paint {
  const key = PALETTE[nodeColorIndex(name)] ?? 'cyan';
  return (text) => chalk[key](text);
}

/** `--grep` as a regular expression; exit 2 naming the flag when it does not compile. */
export function compileGrep(pattern: string | undefined): RegExp | undefined {
  if (pattern === undefined) return undefined;
  try {
    return new RegExp(pattern);
  } catch (err) {
    throw new InputError(`--grep ${pattern}: not a valid regular expression (${(err as Error).message})`, {
      hint: 'use JavaScript regular-expression syntax, e.g. --grep "ERROR|WARN"; quote it for the shell',
    });
  }
}

/** One human line (without colour): `node1 │ text`, or `node1 │ <time> text` with timestamps. */
export function formatLogLine(node: string, width: number, bar: string, line: TimedLine, showTimestamps: boolean): string {
  const stamp = showTimestamps && line.time !== undefined ? `${line.time} ` : '';
  return `${node.padEnd(width)} ${bar} ${stamp}${line.text}`;
}

export function formatJsonLine(node: string, line: TimedLine): string {
  return jsonLine(JSON.stringify(node), line);
}

/**
 * `JSON.stringify({ node, time, line })` with the node's name (and, when given, the line) already quoted:
 * the same text, built faster.
 */
function jsonLine(quotedNode: string, line: TimedLine, quotedText = JSON.stringify(line.text)): string {
  return `{"node":${quotedNode},"time":${line.time === undefined ? 'null' : JSON.stringify(line.time)},"line":${quotedText}}`;
}

/**
 * UTF-8 text as a binary string (a character per byte), the form the printer gathers its output in:
 * written as latin1, it comes out as that UTF-8.
 */
const binary = (text: string): string => Buffer.from(text, 'utf8').toString('latin1');

/** The daemon's line as a binary string: a line readLines read already is one. */
function rawText(line: TimedLine): string {
  return line instanceof StampedLine ? line.raw : binary(line.text);
}

/**
 * jsonLine as a binary string, quotedNode being one. An ASCII line's binary string is its text; any
 * other line is decoded to be quoted (bytes that are not UTF-8 become U+FFFD, so the output stays JSON).
 */
function jsonRaw(quotedNode: string, line: TimedLine): string {
  const quoted = JSON.stringify(line.text);
  return jsonLine(quotedNode, line, line instanceof StampedLine && line.ascii ? quoted : binary(quoted));
}

export class LogPrinter {
  readonly #out: Output;
  readonly #width: number;
  readonly #bar: string;
  readonly #arrow: string;
  readonly #showTimestamps: boolean;
  readonly #json: boolean;
  readonly #grep: RegExp | undefined;
  readonly #paint = new Map<string, Paint>();
  /** Per node: the painted `name │ ` of a human line, or the quoted name of a JSON line. */
  readonly #prefix = new Map<string, string>();
  readonly #hinted = new Set<string>();
  #drain: Promise<void> | undefined;
  /** Output printed but not yet written (see the module comment), as a binary string. */
  #pending = '';
  #flushQueued = false;
  #broken = false;
  readonly #brokenCtl = new AbortController();

  constructor(opts: LogPrinterOptions) {
    this.#out = opts.out;
    this.#width = Math.max(0, ...opts.nodes.map((n) => n.length));
    this.#bar = opts.out.symbols().bar;
    this.#arrow = opts.out.unicode ? '↳' : '->';
    this.#showTimestamps = opts.showTimestamps;
    this.#json = opts.json;
    this.#grep = opts.grep;
    for (const n of opts.nodes) this.#paint.set(n, nodeColor(opts.out.color, n));
    // A reader that went away (`| head`) ends the run instead of leaving us waiting for 'drain'.
    opts.out.out.on('error', () => this.#breakOff());
  }

  /** Aborted when stdout can no longer be written (the reader closed the pipe). */
  get closedSignal(): AbortSignal {
    return this.#brokenCtl.signal;
  }

  /**
   * Print one batch of a node's lines as one write, so lines of different nodes never interleave.
   * Returns a promise when stdout is full: the caller waits for it before reading more.
   */
  print(node: string, lines: readonly TimedLine[]): void | Promise<void> {
    if (this.#broken) return;
    const prefix = this.#prefixOf(node);
    let text = '';
    for (const line of lines) {
      if (this.#grep && !this.#grep.test(line.text)) continue;
      const read = line instanceof StampedLine ? line : undefined;
      // readLines screened the batch: a line it did not mark matches no rule.
      const failure = read !== undefined && !read.suspect ? undefined : classifyLogLine(line.text);
      if (this.#json) {
        text += `${jsonRaw(prefix, line)}\n`;
      } else if (failure?.severity === 'error' || (this.#showTimestamps && line.time !== undefined)) {
        text += `${this.#human(prefix, line, failure?.severity === 'error')}\n`;
      } else {
        text += `${prefix}${rawText(line)}\n`;
      }
      if (failure) {
        const key = `${node}\0${failure.kind satisfies FailureKind}`;
        if (!this.#hinted.has(key)) {
          this.#hinted.add(key);
          this.#out.note(this.#out.errColor.dim(`${node.padEnd(this.#width)} ${this.#bar} ${this.#arrow} hint: ${failure.cause} — ${failure.hint}`));
        }
      }
    }
    if (text === '') return this.#drain;
    this.#pending += text;
    // stdout is full: the text waits here with the caller, and goes out on 'drain'.
    if (this.#drain) return this.#drain;
    const stream = this.#out.out as Partial<Pick<Writable, 'writableHighWaterMark' | 'writableLength'>>;
    const room = (stream.writableHighWaterMark ?? DEFAULT_ROOM) - (stream.writableLength ?? 0);
    if (this.#pending.length >= room) return this.#flush();
    if (!this.#flushQueued) {
      this.#flushQueued = true;
      queueMicrotask(() => {
        this.#flushQueued = false;
        if (!this.#drain) void this.#flush();
      });
    }
  }

  /** Write what is held; a promise when stdout refused it (settles on 'drain'). */
  #flush(): void | Promise<void> {
    if (this.#broken) {
      this.#pending = '';
      return;
    }
    if (this.#pending === '') return;
    const text = this.#pending;
    this.#pending = '';
    if (this.#out.write(text, 'latin1')) return;
    return this.#waitDrain();
  }

  #prefixOf(node: string): string {
    let prefix = this.#prefix.get(node);
    if (prefix === undefined) {
      if (this.#json) {
        prefix = binary(JSON.stringify(node));
      } else {
        const paint = this.#paint.get(node) ?? ((t: string) => t);
        prefix = binary(`${paint(node.padEnd(this.#width))} ${paint(this.#bar)} `);
      }
      this.#prefix.set(node, prefix);
    }
    return prefix;
  }

  /** A message about a node (reconnecting, container stopped), dim on stderr. */
  note(node: string, text: string): void {
    this.#out.note(this.#out.errColor.dim(`${node}: ${text}`));
  }

  /** A human line with its timestamp or highlighted, as a binary string (prefix is #prefixOf's). */
  #human(prefix: string, line: TimedLine, highlight: boolean): string {
    const chalk = this.#out.color;
    const stamp = this.#showTimestamps && line.time !== undefined ? `${chalk.dim(line.time)} ` : '';
    const raw = rawText(line);
    return `${prefix}${stamp}${highlight ? chalk.red(raw) : raw}`;
  }

  #waitDrain(): Promise<void> {
    this.#drain ??= new Promise<void>((resolve) => {
      const stream = this.#out.out;
      const broken = this.#brokenCtl.signal;
      // Every wait removes all three of its listeners when it ends, whichever fired: a long run drains
      // stdout thousands of times, and a listener left behind per drain is a leak (and, past ten, a
      // MaxListenersExceededWarning on this signal).
      const done = (): void => {
        stream.off('drain', done);
        stream.off('close', onClose);
        broken.removeEventListener('abort', done);
        this.#drain = undefined;
        // What was printed meanwhile goes out now; if stdout refuses it, the next print waits again.
        void this.#flush();
        resolve();
      };
      const onClose = (): void => {
        this.#breakOff();
        done();
      };
      stream.on('drain', done);
      stream.on('close', onClose);
      broken.addEventListener('abort', done, { once: true });
    });
    return this.#drain;
  }

  #breakOff(): void {
    if (this.#broken) return;
    this.#broken = true;
    this.#brokenCtl.abort(new Error('standard output was closed'));
  }
}
