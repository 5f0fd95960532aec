import { PassThrough } from 'node:stream';
import { createContext, type Context } from '../../../src/context.js';

export interface Captured {
  ctx: Context;
  stdin: PassThrough & { isTTY: boolean };
  out(): string;
  err(): string;
  abort: AbortController;
}

/** A Context whose stdout/stderr are collected and whose stdin is a stream the test writes to. */
export function captureContext(opts: { json?: boolean; tty?: boolean; env?: NodeJS.ProcessEnv; cwd?: string } = {}): Captured {
  const stdout = Object.assign(new PassThrough(), { isTTY: opts.tty ?? false });
  const stderr = Object.assign(new PassThrough(), { isTTY: false });
  const stdin = Object.assign(new PassThrough(), { isTTY: opts.tty ?? false });
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => (out += c.toString()));
  stderr.on('data', (c: Buffer) => (err += c.toString()));
  const abort = new AbortController();
  const ctx = createContext({
    signal: abort.signal,
    json: opts.json ?? false,
    // No chat history file in the user's home from a test; the history test names its own.
    env: opts.env ?? { NO_COLOR: '1', LANG: 'C.UTF-8', ASCENDCTL_CHAT_HISTORY: 'off' },
    stdout,
    stderr,
    stdin,
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
  });
  return { ctx, stdin, out: () => out, err: () => err, abort };
}

export async function until(check: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
