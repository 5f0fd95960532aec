/**
 * `bench`: M streaming chat requests, N in flight at once. Latencies are reported as nearest-rank
 * percentiles (the smallest value with at least p % of the samples at or below it — always one of the
 * measured values, never interpolated). Inter-token latency is the gap between successive chunks that
 * carry text, pooled over all requests; output tokens per second is over the wall time of the run.
 */
import { performance } from 'node:perf_hooks';
import type { Dispatcher } from 'undici';
import { InterruptedError } from '../errors.js';
import { streamChat } from './chat-client.js';

export interface Percentiles {
  p50: number | null;
  p90: number | null;
  p99: number | null;
}

/** Nearest-rank percentile of unsorted samples; null when there are none. */
export function percentile(samples: readonly number[], p: number): number | null {
  if (samples.length === 0) return null;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1] ?? null;
}

export function percentiles(samples: readonly number[]): Percentiles {
  const r = (v: number | null) => (v === null ? null : Math.round(v * 10) / 10);
  return { p50: r(percentile(samples, 50)), p90: r(percentile(samples, 90)), p99: r(percentile(samples, 99)) };
}

export interface BenchOptions {
  endpoint: string;
  model: string;
  prompt: string;
  maxTokens: number;
  concurrency: number;
  requests: number;
  timeoutMs: number;
  signal: AbortSignal;
  /** Called after each request, in completion order. */
  onProgress?: ((done: number, total: number, errors: number) => void) | undefined;
  dispatcher?: Dispatcher | undefined;
}

export interface BenchResult {
  requests: number;
  concurrency: number;
  errors: number;
  /** The first failure's message (and next step), when any request failed. */
  firstError: { message: string; hint: string | undefined } | undefined;
  ttftMs: Percentiles;
  itlMs: Percentiles;
  outputTokensPerS: number;
  outputTokens: number;
  wallMs: number;
}

export async function runBench(opts: BenchOptions): Promise<BenchResult> {
  const ttfts: number[] = [];
  const gaps: number[] = [];
  let outputTokens = 0;
  let errors = 0;
  let done = 0;
  let next = 0;
  let firstError: BenchResult['firstError'];

  const started = performance.now();
  const worker = async (): Promise<void> => {
    while (next < opts.requests && !opts.signal.aborted) {
      next++;
      try {
        const r = await streamChat({
          endpoint: opts.endpoint,
          model: opts.model,
          messages: [{ role: 'user', content: opts.prompt }],
          maxTokens: opts.maxTokens,
          timeoutMs: opts.timeoutMs,
          signal: opts.signal,
          dispatcher: opts.dispatcher,
        });
        ttfts.push(r.timings.ttftMs);
        for (let i = 1; i < r.tokenTimesMs.length; i++) gaps.push((r.tokenTimesMs[i] ?? 0) - (r.tokenTimesMs[i - 1] ?? 0));
        outputTokens += r.usage.completion_tokens;
      } catch (err) {
        if (opts.signal.aborted) return;
        errors++;
        const e = err as { message?: unknown; hint?: unknown };
        firstError ??= { message: typeof e.message === 'string' ? e.message : String(err), hint: typeof e.hint === 'string' ? e.hint : undefined };
      }
      done++;
      opts.onProgress?.(done, opts.requests, errors);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.concurrency, opts.requests)) }, worker));
  if (opts.signal.aborted) throw new InterruptedError('the benchmark was interrupted');
  const wallMs = performance.now() - started;
  return {
    requests: opts.requests,
    // What was really in flight at most: 8 workers for 2 requests are 2.
    concurrency: Math.max(1, Math.min(opts.concurrency, opts.requests)),
    errors,
    firstError,
    ttftMs: percentiles(ttfts),
    itlMs: percentiles(gaps),
    outputTokensPerS: wallMs > 0 ? Math.round((outputTokens * 1000 * 10) / wallMs) / 10 : 0,
    outputTokens,
    wallMs,
  };
}

/** The contract's `bench --json` document. */
export function benchDocument(r: BenchResult): Record<string, unknown> {
  return {
    requests: r.requests,
    concurrency: r.concurrency,
    errors: r.errors,
    ttft_ms: r.ttftMs,
    itl_ms: r.itlMs,
    output_tokens_per_s: r.outputTokensPerS,
  };
}
