/**
 * Everything a command needs from the outside world, built once per run (docs/architecture.md, Principles 5): no module-level
 * state, no singletons. Tests build their own.
 */
import { setMaxListeners } from 'node:events';
import os from 'node:os';
import type { ConnectionPool, TransportPool } from './remote/transport.js';
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
  /**
   * The run's connections, one per node, made on first use: the pool is created by the first call
   * (whose `maxConnecting`, from --parallel, it keeps) and shared by every command of the run (the demo
   * runs several). The SSH code is loaded only then, so commands that reach no node never load it.
   */
  pool(opts?: PoolSettings): Promise<TransportPool>;
  /** Close the run's connections: once, when the run ends (cli.ts). A later pool() opens new ones. */
  closePool(): Promise<void>;
}

export interface PoolSettings {
  /** Connection set-ups in flight at once (--parallel); the pool's own default when absent. */
  maxConnecting?: number;
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
  /** Makes the run's pool instead of the SSH one (a test's fake transports); called once per pool. */
  openPool?: (settings: PoolSettings) => ConnectionPool | Promise<ConnectionPool>;
}

export function createContext(opts: ContextOptions): Context {
  const env = opts.env ?? process.env;
  // Every remote call of a fan-out listens for Ctrl-C on this one signal.
  setMaxListeners(0, opts.signal);
  const outOpts: ConstructorParameters<typeof Output>[0] = { env, json: opts.json ?? false, verbose: opts.verbose ?? false };
  if (opts.stdout) outOpts.stdout = opts.stdout;
  if (opts.stderr) outOpts.stderr = opts.stderr;
  let pool: Promise<ConnectionPool> | undefined;
  const ctx: Context = {
    cwd: opts.cwd ?? process.cwd(),
    env,
    home: env.HOME ?? os.homedir(),
    out: new Output(outOpts),
    verbose: opts.verbose ?? false,
    signal: opts.signal,
    now: Date.now,
    stdin: opts.stdin ?? process.stdin,
    pool: (settings = {}) => (pool ??= opts.openPool
      ? Promise.resolve(opts.openPool(settings))
      : import('./remote/ssh-pool.js').then(({ SshPool }) => new SshPool({
        ...(settings.maxConnecting !== undefined ? { maxConnecting: settings.maxConnecting } : {}),
        env,
        // Read now, not at createContext: cli.ts sets them on the context once the flags are parsed.
        becomePassword: ctx.becomePassword,
        askPassphrase: ctx.askPassphrase,
      }))),
    closePool: async () => {
      const open = pool;
      pool = undefined;
      if (open) await (await open).closeAll();
    },
  };
  return ctx;
}
