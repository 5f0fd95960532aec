/**
 * `ascendctl chat`: with -p (or a prompt piped on stdin) one answer, streamed, then exit 0; with a
 * terminal on stdin an interactive session. The answer goes to stdout; reasoning and the timing line
 * go to stderr in the one-shot mode, so `chat -p … > answer.txt` keeps the answer alone.
 */
import type { Context } from '../context.js';
import type { ExitCode } from '../errors.js';
import { InputError } from '../errors.js';
import { streamChat, type ChatMessage, type ChatResult } from '../chat/chat-client.js';
import { deltaPrinter, runRepl, timingLine } from '../chat/chat-repl.js';
import { shownEndpoint, withChatTarget, type ChatTarget } from '../chat/chat-target.js';
import { whileWarming } from '../chat/http-warmup.js';
import * as specs from '../command-specs.js';
import { readOptions } from './options.js';

export default async function chat(ctx: Context, args: string[], opts: Record<string, unknown>): Promise<ExitCode> {
  // Started before anything else so that undici's one-time set-up overlaps reading the flags, the
  // record and the prompt, and is over before the answer's clock starts (http-warmup.ts says why and
  // what it leaves inside that clock). Awaited on every path, errors included: it never rejects.
  return await whileWarming((warm) => chatWarming(ctx, args, opts, warm));
}

async function chatWarming(ctx: Context, args: string[], given: Record<string, unknown>, warm: Promise<boolean>): Promise<ExitCode> {
  const opts = readOptions(specs.chat, given);
  const { maxTokens, timeout: timeoutMs, system } = opts;
  if (timeoutMs <= 0) throw new InputError(`--timeout ${String(given.timeout)}: expected a duration above zero`, { hint: 'write it like --timeout 2m' });
  return await withChatTarget(ctx, args[0], { endpoint: opts.endpoint, model: opts.model }, 'chat', (opened) =>
    chatWith(ctx, opened.target, { system, maxTokens, timeoutMs, prompt: opts.prompt, shownAs: shownEndpoint(opened) }, warm));
}

async function chatWith(
  ctx: Context,
  target: ChatTarget,
  o: { system: string | undefined; maxTokens: number | undefined; timeoutMs: number; prompt: string | undefined; shownAs: string | undefined },
  warm: Promise<boolean>,
): Promise<ExitCode> {
  const { system, maxTokens, timeoutMs } = o;

  let prompt = o.prompt;
  if (prompt === undefined && !ctx.stdin.isTTY) {
    prompt = (await readAll(ctx.stdin)).replace(/\r?\n$/, '');
    if (prompt.trim() === '') {
      throw new InputError('no prompt: standard input was empty', { hint: 'pass one with -p "…", pipe one in, or run ascendctl chat in a terminal' });
    }
  }
  if (prompt === undefined) {
    if (ctx.out.json) throw new InputError('--json needs a prompt (-p or standard input)', { hint: 'ascendctl chat -p "hello" --json' });
    await warm;
    return runRepl(ctx, { ...target, shownAs: o.shownAs, system, maxTokens, timeoutMs });
  }

  const messages: ChatMessage[] = [...(system !== undefined ? [{ role: 'system' as const, content: system }] : []), { role: 'user', content: prompt }];
  const printer = ctx.out.json ? undefined : deltaPrinter(ctx, 'stderr');
  let result: ChatResult;
  await warm;
  try {
    result = await streamChat({
      ...target,
      messages,
      maxTokens,
      timeoutMs,
      signal: ctx.signal,
      onDelta: printer ? (d) => printer.onDelta(d) : undefined,
    });
  } finally {
    printer?.finish();
  }
  if (ctx.out.json) {
    ctx.out.document(chatDocument(result));
  } else {
    ctx.out.note(ctx.out.errColor.dim(timingLine(result, ctx.out.symbols().dot)));
  }
  return 0;
}

/** The contract's `chat --json` document. */
export function chatDocument(r: ChatResult): Record<string, unknown> {
  return {
    model: r.model,
    content: r.content,
    ...(r.reasoning !== undefined ? { reasoning_content: r.reasoning } : {}),
    usage: { prompt_tokens: r.usage.prompt_tokens, completion_tokens: r.usage.completion_tokens },
    timings: { ttft_ms: r.timings.ttftMs, total_ms: r.timings.totalMs, tokens_per_s: r.timings.tokensPerS },
  };
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(typeof c === 'string' ? Buffer.from(c) : c);
  return Buffer.concat(chunks).toString('utf8');
}
