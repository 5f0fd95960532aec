/**
 * A Transport that serves `docker logs [-f] -t [--since T] [--tail N] NAME` and `docker inspect` from a
 * scripted container log, the way docker does: `--since` inclusive, `--tail` per container, every line
 * stamped. Output is cut into chunks at awkward places (mid-line, mid-character), and the handler's
 * promise is awaited before the next chunk, as the SSH channel pauses. Scripted faults make a call fail
 * after some bytes, like a dropped connection.
 */
import { RemoteError, type ExecOptions, type ExecResult, type NodeTarget, type StreamHandlers, type Transport } from '../../../src/remote/transport.js';
import { parseTimestamp } from '../../../src/logs/docker-logs.js';

export interface FakeLine {
  time: string;
  text: string;
  stream?: 'stdout' | 'stderr';
}

export interface FakeDockerOptions {
  lines: FakeLine[];
  /** Bytes per chunk handed to the handler. */
  chunkBytes?: number;
  /** Per call of stream(): fail with a RemoteError after this many bytes (undefined = no fault). */
  failAfterBytes?: (number | undefined)[];
  /** Kind of the RemoteError of a fault. */
  failKind?: RemoteError['kind'];
  /** Exit status of docker logs (e.g. 1 with "No such container" on stderr). */
  logsExit?: { code: number; stderr: string };
  /** What `docker inspect` reports as the container's exit status. */
  containerExit?: number;
  /** When set, a follow does not end after the last line but waits for this signal (or the caller's). */
  holdOpen?: AbortSignal;
}

export class FakeDockerTransport implements Transport {
  readonly target: NodeTarget;
  readonly calls: string[][] = [];
  /** The SSH window each stream() call asked for, in bytes when it started. */
  readonly windows: (number | undefined)[] = [];
  /** The window of the last stream() call, as given (a ChannelWindow can be resized while it runs). */
  window: ExecOptions['window'];
  closes = 0;
  #streamCalls = 0;

  constructor(
    name: string,
    readonly opts: FakeDockerOptions,
  ) {
    this.target = { name, host: `${name}.test` };
  }

  async exec(argv: readonly string[]): Promise<ExecResult> {
    this.calls.push([...argv]);
    if (argv[1] === 'inspect') {
      return { stdout: `${this.opts.containerExit ?? 0}\n`, stderr: '', code: 0, timedOut: false, durationMs: 1 };
    }
    return { stdout: '', stderr: 'unknown command', code: 127, timedOut: false, durationMs: 1 };
  }

  async stream(argv: readonly string[], handlers: StreamHandlers, opts: ExecOptions = {}): Promise<ExecResult> {
    this.calls.push([...argv]);
    this.windows.push(typeof opts.window === 'object' ? opts.window.bytes : opts.window);
    this.window = opts.window;
    const call = this.#streamCalls++;
    if (argv[1] !== 'logs' || !argv.includes('-t')) throw new Error(`unexpected command ${argv.join(' ')}`);
    if (this.opts.logsExit) {
      await handlers.onStderr?.(Buffer.from(this.opts.logsExit.stderr));
      return { stdout: '', stderr: '', code: this.opts.logsExit.code, timedOut: false, durationMs: 1 };
    }
    const sinceIdx = argv.indexOf('--since');
    const tailIdx = argv.indexOf('--tail');
    const since = sinceIdx === -1 ? undefined : parseTimestamp(argv[sinceIdx + 1] ?? '');
    let lines = this.opts.lines.filter((l) => since === undefined || (parseTimestamp(l.time) ?? 0n) >= since);
    if (tailIdx !== -1) lines = lines.slice(Math.max(0, lines.length - Number(argv[tailIdx + 1])));
    const failAt = this.opts.failAfterBytes?.[call];
    const size = this.opts.chunkBytes ?? 7;
    let sent = 0;
    for (const line of lines) {
      const bytes = Buffer.from(`${line.time} ${line.text}\n`);
      for (let i = 0; i < bytes.length; i += size) {
        if (opts.signal?.aborted) throw new RemoteError('aborted', this.target.name, 'cancelled');
        const piece = bytes.subarray(i, Math.min(bytes.length, i + size));
        if (failAt !== undefined && sent + piece.length > failAt) {
          const head = piece.subarray(0, failAt - sent);
          if (head.length > 0) await this.#hand(handlers, line.stream, head);
          throw new RemoteError(this.opts.failKind ?? 'channel', this.target.name, `the SSH connection to ${this.target.name} dropped`);
        }
        await this.#hand(handlers, line.stream, piece);
        sent += piece.length;
      }
    }
    if (argv.includes('-f') && this.opts.holdOpen) {
      const hold = this.opts.holdOpen;
      await new Promise<void>((resolve) => {
        if (hold.aborted || opts.signal?.aborted) return resolve();
        hold.addEventListener('abort', () => resolve(), { once: true });
        opts.signal?.addEventListener('abort', () => resolve(), { once: true });
      });
      if (opts.signal?.aborted) throw new RemoteError('aborted', this.target.name, 'cancelled');
    }
    return { stdout: '', stderr: '', code: 0, timedOut: false, durationMs: 1 };
  }

  async #hand(handlers: StreamHandlers, stream: FakeLine['stream'], piece: Buffer): Promise<void> {
    // A fresh copy each time: the framer must not rely on the caller keeping the buffer.
    const copy = Buffer.from(piece);
    if (stream === 'stderr' && handlers.onStderr) await handlers.onStderr(copy);
    else await handlers.onStdout(copy);
  }

  async upload(): Promise<void> {
    throw new Error('not used');
  }

  async close(): Promise<void> {
    this.closes++;
  }
}

/** `n` lines one millisecond apart from a base time, optionally several per instant. */
export function makeLines(node: string, n: number, perInstant = 1): FakeLine[] {
  const out: FakeLine[] = [];
  for (let i = 0; i < n; i++) {
    const ms = Math.floor(i / perInstant);
    const t = new Date(Date.UTC(2026, 0, 2, 3, 4, 5, ms)).toISOString().replace(/\.(\d{3})Z$/, '.$1000000Z');
    out.push({ time: t, text: `[INFO] ${node} line ${i} ünïcødé ✓` });
  }
  return out;
}
