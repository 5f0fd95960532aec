/**
 * `ascendctl bench`: N concurrent streaming requests, M in all, against the deployed endpoint. Prints
 * a table (or the contract's JSON document); exit 1 when every request failed.
 */
import type { Context } from '../context.js';
import type { ExitCode } from '../errors.js';
import { ClusterError } from '../errors.js';
import { benchDocument, runBench, type BenchResult, type Percentiles } from '../chat/bench.js';
import { withChatTarget, type ChatTarget } from '../chat/chat-target.js';
import { whileWarming } from '../chat/http-warmup.js';
import * as specs from '../command-specs.js';
import { readOptions } from './options.js';

const DEFAULT_PROMPT = 'Explain in a few sentences how tensor parallelism splits a transformer layer across devices.';
/** Per request: the longest wait for the next token before it counts as an error. */
const REQUEST_TIMEOUT_MS = 10 * 60_000;

export default async function bench(ctx: Context, args: string[], opts: Record<string, unknown>): Promise<ExitCode> {
  // As in chat: undici's one-time start-up (parser compile, first code paths) must not land in the
  // first requests' time to first token and skew p90/p99 of a short run.
  return await whileWarming((warm) => benchWarming(ctx, args, opts, warm));
}

async function benchWarming(ctx: Context, args: string[], given: Record<string, unknown>, warm: Promise<boolean>): Promise<ExitCode> {
  const opts = readOptions(specs.bench, given);
  const { concurrency, requests, maxTokens } = opts;
  const prompt = opts.prompt ?? DEFAULT_PROMPT;
  const flags = { endpoint: opts.endpoint, model: opts.model };
  return await withChatTarget(ctx, args[0], flags, 'bench', async (opened) => {
    await warm;
    return await benchWith(ctx, opened.target, { prompt, maxTokens, concurrency, requests });
  });
}

async function benchWith(
  ctx: Context,
  target: ChatTarget,
  o: { prompt: string; maxTokens: number; concurrency: number; requests: number },
): Promise<ExitCode> {
  const { prompt, maxTokens, concurrency, requests } = o;

  const progress = ctx.out.stderrInteractive && !ctx.out.json;
  const result = await runBench({
    ...target,
    prompt,
    maxTokens,
    concurrency,
    requests,
    timeoutMs: REQUEST_TIMEOUT_MS,
    signal: ctx.signal,
    onProgress: progress ? (done, total, errors) => ctx.out.err.write(`\r${done}/${total} requests${errors ? `, ${errors} failed` : ''}`) : undefined,
  });
  if (progress) ctx.out.err.write('\n');

  if (ctx.out.json) ctx.out.document(benchDocument(result));
  else ctx.out.line(renderBench(result, target.model, ctx));

  if (result.firstError) {
    const first = `${result.errors} of ${result.requests} requests failed; the first: ${result.firstError.message}`;
    if (result.errors === result.requests) throw new ClusterError(first, { hint: result.firstError.hint ?? 'ascendctl status' });
    ctx.out.warn(first);
  }
  return 0;
}

function renderBench(r: BenchResult, model: string, ctx: Context): string {
  const c = ctx.out.color;
  const ms = (v: number | null) => (v === null ? '–' : `${v.toFixed(1)} ms`);
  const row = (label: string, p: Percentiles) => [label, ms(p.p50), ms(p.p90), ms(p.p99)];
  const rows = [['', 'p50', 'p90', 'p99'], row('time to first token', r.ttftMs), row('inter-token latency', r.itlMs)];
  const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((x) => (x[i] ?? '').length)));
  const lines = rows.map((x, i) => {
    const text = x.map((cell, j) => (j === 0 ? cell.padEnd(widths[j] ?? 0) : cell.padStart(widths[j] ?? 0))).join('   ');
    return i === 0 ? c.dim(text) : text;
  });
  return [
    c.bold(`${model}: ${r.requests} requests, ${r.concurrency} at a time, ${r.errors} failed`),
    ...lines,
    `output: ${r.outputTokensPerS.toFixed(1)} tokens/s (${r.outputTokens} tokens in ${(r.wallMs / 1000).toFixed(1)} s)`,
    c.dim('percentiles are nearest-rank: each is one of the measured values'),
  ].join('\n');
}
