/**
 * Run a command module in-process (style.md ring 2): a Context with captured stdout/stderr, so tests
 * see exactly what a user would, without spawning a process per case.
 */
import { PassThrough } from 'node:stream';
import { createContext, type Context } from '../../src/context.js';
import type { ExitCode } from '../../src/errors.js';
import { isUserError } from '../../src/errors.js';

type CommandModule = { default: (ctx: Context, args: string[], opts: Record<string, unknown>) => Promise<ExitCode> };

export interface InProcessResult {
  exitCode: ExitCode;
  stdout: string;
  stderr: string;
  /** The thrown UserError's message (what cli.ts would print), when one was thrown. */
  error?: string;
  hint?: string;
  json?: any;
}

export async function runInProcess(
  load: () => Promise<CommandModule>, args: string[], opts: Record<string, unknown>,
  env: { cwd: string; home: string; signal?: AbortSignal },
): Promise<InProcessResult> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => { out += c.toString('utf8'); });
  stderr.on('data', (c: Buffer) => { err += c.toString('utf8'); });
  const ctx = createContext({
    signal: env.signal ?? new AbortController().signal,
    cwd: env.cwd,
    env: { ...process.env, HOME: env.home, NO_COLOR: '1' },
    json: Boolean(opts.json),
    stdout: stdout as unknown as NodeJS.WritableStream,
    stderr: stderr as unknown as NodeJS.WritableStream,
  });
  ctx.home = env.home;
  const mod = await load();
  let exitCode: ExitCode;
  const result: InProcessResult = { exitCode: 0, stdout: '', stderr: '' };
  try {
    exitCode = await mod.default(ctx, args, opts);
  } catch (e) {
    if (!isUserError(e)) throw e;
    exitCode = e.exitCode;
    result.error = e.message;
    if (e.hint) result.hint = e.hint;
  } finally {
    // What cli.ts does at the end of a run: the context's connections close once.
    await ctx.closePool();
  }
  await new Promise((r) => setImmediate(r));
  result.exitCode = exitCode;
  result.stdout = out;
  result.stderr = err;
  if (opts.json && out.trim().startsWith('{')) result.json = JSON.parse(out);
  return result;
}
