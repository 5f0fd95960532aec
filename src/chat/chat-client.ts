/**
 * An OpenAI-compatible streaming chat client on undici, for MindIE and vLLM alike
 * (mindie-multinode.md §9, §12.3). MindIE repeats `role` in every chunk and puts `usage` on the last
 * content chunk; vLLM sends `usage` only when asked (`stream_options.include_usage`, which MindIE
 * ignores) in a final chunk with no choices. Time to first token is the first chunk that carries text
 * or reasoning, not the role-only opener. Every failure becomes a ClusterError with a next step.
 */
import { performance } from 'node:perf_hooks';
import { request, type Dispatcher } from 'undici';
import { ClusterError, InputError, InterruptedError } from '../errors.js';
import { SseParser } from './sse-parser.js';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface ChatDelta {
  content: string;
  reasoning: string;
}

export interface ChatRequest {
  /** Base URL, e.g. http://10.0.0.1:1025 (a trailing /v1 is accepted). */
  endpoint: string;
  model: string;
  messages: readonly ChatMessage[];
  maxTokens?: number | undefined;
  /** Give up when no data arrives for this long (and before the first byte). */
  timeoutMs: number;
  /** Aborting cancels the request (InterruptedError). */
  signal?: AbortSignal | undefined;
  onDelta?: ((delta: ChatDelta) => void) | undefined;
  dispatcher?: Dispatcher | undefined;
}

export interface ChatTimings {
  /**
   * From just before the request is handed to undici to the first chunk with text or reasoning. The
   * span includes opening the connection to the endpoint (the request never reuses a connection made
   * for it in advance), sending the request, the server's prefill and the first token's transfer: the
   * span curl's trace measures from its first line. Process start-up, module loading and the one-time
   * HTTP-client set-up (warmHttpClient, when the caller ran it) are before it.
   */
  ttftMs: number;
  totalMs: number;
  /** Completion tokens over the generation time (total − TTFT). */
  tokensPerS: number;
}

export interface ChatResult {
  model: string;
  content: string;
  /** Present when the server sent reasoning_content. */
  reasoning: string | undefined;
  usage: { prompt_tokens: number | null; completion_tokens: number };
  /** False when the server sent no usage and completion_tokens counts the chunks instead. */
  usageReported: boolean;
  finishReason: string | undefined;
  timings: ChatTimings;
  /** When each chunk with text or reasoning arrived, in ms from the request's start. */
  tokenTimesMs: number[];
}

/** `http://host:port[/v1]` → the chat completions URL; exit 2 for something that is not an http URL. */
export function chatCompletionsUrl(endpoint: string): string {
  return `${apiBase(endpoint)}/chat/completions`;
}

function apiBase(endpoint: string): string {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new InputError(`--endpoint ${endpoint}: not a URL`, { hint: 'write it like http://10.0.0.1:1025' });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InputError(`--endpoint ${endpoint}: expected an http:// or https:// URL`, { hint: 'write it like http://10.0.0.1:1025' });
  }
  const path = url.pathname.replace(/\/+$/, '');
  return `${url.origin}${path.endsWith('/v1') ? path : `${path}/v1`}`;
}

/** Where the user-visible endpoint lives (for messages). */
function shown(endpoint: string): string {
  return endpoint.replace(/\/+$/, '');
}

interface StreamChunk {
  model?: unknown;
  choices?: { delta?: { content?: unknown; reasoning_content?: unknown }; message?: { content?: unknown; reasoning_content?: unknown }; finish_reason?: unknown }[];
  usage?: { prompt_tokens?: unknown; completion_tokens?: unknown } | null;
  error?: unknown;
}

export async function streamChat(req: ChatRequest): Promise<ChatResult> {
  const url = chatCompletionsUrl(req.endpoint);
  const body = JSON.stringify({
    model: req.model,
    messages: req.messages,
    stream: true,
    stream_options: { include_usage: true },
    ...(req.maxTokens !== undefined ? { max_tokens: req.maxTokens } : {}),
  });

  const timeout = new AbortController();
  const signal = req.signal ? AbortSignal.any([req.signal, timeout.signal]) : timeout.signal;
  let timer: NodeJS.Timeout | undefined;
  const arm = (): void => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => timeout.abort(new Error('timeout')), req.timeoutMs);
  };

  const started = performance.now();
  const answer = new AnswerAccumulator(req, started);
  const fail = (err: unknown, phase: 'connect' | 'body'): never => {
    if (req.signal?.aborted) throw new InterruptedError('the answer was cancelled');
    if (timeout.signal.aborted) {
      throw new ClusterError(`no token from ${shown(req.endpoint)} within ${formatMs(req.timeoutMs)}${answer.tokens > 0 ? ` (after ${answer.tokens} tokens)` : ''}`, {
        hint: 'the daemon may be stuck or overloaded: ascendctl status, ascendctl logs --tail 100; or allow longer with --timeout',
      });
    }
    if (err instanceof ClusterError) throw err;
    if (phase === 'body') throw midway(answer.tokens, err);
    throw new ClusterError(`the endpoint ${shown(req.endpoint)} is down (${networkReason(err)})`, {
      hint: 'ascendctl status shows whether the deployment is running',
      cause: err,
    });
  };

  arm();
  let res: Dispatcher.ResponseData;
  try {
    res = await request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body,
      signal,
      // Our own idle timer (arm) bounds the wait, with a message that says what happened.
      headersTimeout: 0,
      bodyTimeout: 0,
      ...(req.dispatcher ? { dispatcher: req.dispatcher } : {}),
    });
  } catch (err) {
    clearTimeout(timer);
    return fail(err, 'connect');
  }

  try {
    if (res.statusCode >= 300) {
      arm();
      const text = await res.body.text().catch(() => '');
      throw await httpError(req, res.statusCode, text);
    }

    const sse = new SseParser();
    arm();
    try {
      for await (const chunk of res.body) {
        arm();
        for (const data of sse.push(chunk as Buffer)) answer.take(data);
      }
      for (const data of sse.end()) answer.take(data);
    } catch (err) {
      return fail(err, 'body');
    }
    clearTimeout(timer);
    if (req.signal?.aborted) throw new InterruptedError('the answer was cancelled');
    if (!answer.done && answer.finishReason === undefined) throw midway(answer.tokens);
    return answer.result(performance.now() - started);
  } finally {
    clearTimeout(timer);
    // A body we stopped reading (error, cancel) must not keep the connection.
    if (!res.body.readableEnded && !res.body.destroyed) res.body.destroy();
  }
}

/**
 * The answer as its stream's events arrive: text and reasoning, usage, finish reason, and when each
 * token came (ms since the request started). `take` gets one SSE event's data.
 */
class AnswerAccumulator {
  model: string;
  content = '';
  reasoning: string | undefined;
  promptTokens: number | null = null;
  completionTokens: number | undefined;
  finishReason: string | undefined;
  done = false;
  ttft: number | undefined;
  readonly tokenTimes: number[] = [];
  tokens = 0;

  constructor(private readonly req: ChatRequest, private readonly started: number) {
    this.model = req.model;
  }

  take(data: string): void {
    if (data.trim() === '[DONE]') {
      this.done = true;
      return;
    }
    let chunk: StreamChunk;
    try {
      chunk = JSON.parse(data) as StreamChunk;
    } catch {
      return; // not JSON: a server's banner or keep-alive text, not part of the answer
    }
    if (chunk.error !== undefined) {
      throw new ClusterError(`${shown(this.req.endpoint)} stopped the answer with an error: ${errorText(chunk.error)}`, {
        hint: 'ascendctl logs --tail 100 shows what the daemon says',
      });
    }
    if (typeof chunk.model === 'string' && chunk.model !== '') this.model = chunk.model;
    if (chunk.usage && typeof chunk.usage === 'object') {
      if (typeof chunk.usage.prompt_tokens === 'number') this.promptTokens = chunk.usage.prompt_tokens;
      if (typeof chunk.usage.completion_tokens === 'number') this.completionTokens = chunk.usage.completion_tokens;
    }
    const choice = chunk.choices?.[0];
    if (!choice) return;
    const part = choice.delta ?? choice.message ?? {};
    const content = typeof part.content === 'string' ? part.content : '';
    const reasoning = typeof part.reasoning_content === 'string' ? part.reasoning_content : '';
    if (typeof choice.finish_reason === 'string' && choice.finish_reason !== '') this.finishReason = choice.finish_reason;
    if (typeof part.reasoning_content === 'string') this.reasoning ??= '';
    if (content === '' && reasoning === '') return; // the role-only opener, or an empty delta
    const now = performance.now() - this.started;
    this.ttft ??= now;
    this.tokenTimes.push(now);
    this.tokens++;
    this.content += content;
    if (reasoning !== '') this.reasoning = (this.reasoning ?? '') + reasoning;
    this.req.onDelta?.({ content, reasoning });
  }

  /** The finished answer, `totalMs` after the request started. */
  result(totalMs: number): ChatResult {
    const ttftMs = this.ttft ?? totalMs;
    const completion = this.completionTokens ?? this.tokens;
    return {
      model: this.model,
      content: this.content,
      reasoning: this.reasoning,
      usage: { prompt_tokens: this.promptTokens, completion_tokens: completion },
      usageReported: this.completionTokens !== undefined,
      finishReason: this.finishReason,
      timings: { ttftMs: round1(ttftMs), totalMs: round1(totalMs), tokensPerS: round1(tokensPerSecond(completion, ttftMs, totalMs)) },
      tokenTimesMs: this.tokenTimes,
    };
  }
}

/** Completion tokens over the time spent generating them; the whole time when there is no gap. */
export function tokensPerSecond(completionTokens: number, ttftMs: number, totalMs: number): number {
  const generating = totalMs - ttftMs;
  const ms = generating > 0 ? generating : totalMs;
  return ms > 0 ? (completionTokens * 1000) / ms : 0;
}

function midway(tokens: number, cause?: unknown): ClusterError {
  return new ClusterError(`the stream stopped mid-way after ${tokens} token${tokens === 1 ? '' : 's'}${cause ? ` (${networkReason(cause)})` : ''}`, {
    hint: 'the daemon may have crashed or restarted: ascendctl status, ascendctl logs --tail 100',
    ...(cause === undefined ? {} : { cause }),
  });
}

async function httpError(req: ChatRequest, status: number, body: string): Promise<ClusterError> {
  const message = bodyMessage(body);
  if ((status === 404 || status === 400) && /model.{0,80}(not found|does not exist|not exist)|not found.{0,20}model/i.test(body)) {
    const served = await servedModels(req).catch(() => [] as string[]);
    const other = served.find((m) => m !== req.model);
    return new ClusterError(
      other !== undefined
        ? `${shown(req.endpoint)} does not serve the model "${req.model}": the model name is ${other}`
        : `${shown(req.endpoint)} does not serve the model "${req.model}" (HTTP ${status}: ${message})`,
      {
        hint: other !== undefined
          ? `use --model ${other}, or check model.name in the deployment file`
          : 'pass the served name with --model NAME, or check model.name in the deployment file',
      },
    );
  }
  return new ClusterError(`${shown(req.endpoint)} answered HTTP ${status}${message ? `: ${message}` : ''}`, {
    hint: status >= 500 ? 'ascendctl logs --tail 100 shows what the daemon says' : 'check the request options (--max-tokens, --model) against the deployment',
  });
}

/** The message of an OpenAI/vLLM/MindIE error body, or its first line of text. */
function bodyMessage(body: string): string {
  try {
    const parsed = JSON.parse(body) as unknown;
    return errorText(parsed);
  } catch {
    return body.trim().split('\n')[0]?.slice(0, 300) ?? '';
  }
}

function errorText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object') {
    const v = value as { error?: unknown; message?: unknown; detail?: unknown };
    if (typeof v.message === 'string') return v.message;
    if (v.error !== undefined) return errorText(v.error);
    if (typeof v.detail === 'string') return v.detail;
  }
  return JSON.stringify(value);
}

/** GET /v1/models answered with something other than 200 (a multi-node MindIE master answers 404). */
export class ModelListRefused extends Error {
  constructor(readonly status: number) {
    super(`GET /v1/models answered HTTP ${status}`);
  }
}

/** The model ids GET /v1/models lists; ModelListRefused when it does not answer 200. */
export async function servedModels(req: Pick<ChatRequest, 'endpoint' | 'dispatcher'>): Promise<string[]> {
  const res = await request(`${apiBase(req.endpoint)}/models`, {
    method: 'GET',
    signal: AbortSignal.timeout(5000),
    ...(req.dispatcher ? { dispatcher: req.dispatcher } : {}),
  });
  if (res.statusCode !== 200) {
    await res.body.dump();
    throw new ModelListRefused(res.statusCode);
  }
  const parsed = (await res.body.json()) as { data?: { id?: unknown }[] };
  return (parsed.data ?? []).map((m) => m.id).filter((id): id is string => typeof id === 'string');
}

function networkReason(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown; cause?: { code?: unknown; message?: unknown } };
  const code = typeof e?.code === 'string' && !e.code.startsWith('UND_ERR') ? e.code : typeof e?.cause?.code === 'string' ? e.cause.code : e?.code;
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ECONNRESET':
      return 'connection reset';
    case 'ETIMEDOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
      return 'connection timed out';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'no route to host';
    case 'ENOTFOUND':
      return 'unknown host';
    case 'UND_ERR_SOCKET':
      return 'the server closed the connection';
    default:
      return typeof e?.message === 'string' ? e.message : String(err);
  }
}

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}

export function formatMs(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${Math.round(ms / 100) / 10} s`;
  return `${Math.round(ms / 6000) / 10} min`;
}
