/**
 * Everything a command needs from the outside world, built once per run (docs/architecture.md, Principles 5): no module-level
 * state, no singletons. Tests build their own.
 */
import { setMaxListeners } from 'node:events';
import os from 'node:os';
import { Output } from './ui/output.js';

export interface Context {
  cwd: string;
  env: NodeJS.ProcessEnv;
  home: string;
  out: Output;
  verbose: boolean;
  /** Aborted on the first Ctrl-C: long operations stop, clean up what they started, exit 130. */
  signal: AbortSignal;
  now(): number;
  /** Standard input (chat reads a prompt from it when it is not a TTY). */
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  /** --ask-become-pass: the login user's sudo password, asked once when a node needs it. */
  becomePassword?: () => Promise<string>;
  /** On a terminal: asks for the passphrase of an encrypted identity file no ssh-agent holds. */
  askPassphrase?: (file: string) => Promise<string>;
}

export interface ContextOptions {
  json?: boolean;
  verbose?: boolean;
  signal: AbortSignal;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  stdout?: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr?: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stdin?: NodeJS.ReadableStream & { isTTY?: boolean };
}

export function createContext(opts: ContextOptions): Context {
  const env = opts.env ?? process.env;
  // Every remote call of a fan-out listens for Ctrl-C on this one signal.
  setMaxListeners(0, opts.signal);
  const outOpts: ConstructorParameters<typeof Output>[0] = { env, json: opts.json ?? false, verbose: opts.verbose ?? false };
  if (opts.stdout) outOpts.stdout = opts.stdout;
  if (opts.stderr) outOpts.stderr = opts.stderr;
  return {
    cwd: opts.cwd ?? process.cwd(),
    env,
    home: env.HOME ?? os.homedir(),
    out: new Output(outOpts),
    verbose: opts.verbose ?? false,
    signal: opts.signal,
    now: Date.now,
    stdin: opts.stdin ?? process.stdin,
  };
}
