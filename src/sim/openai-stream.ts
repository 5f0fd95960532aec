/**
 * OpenAI-compatible answers of the simulated servers: deterministic fake generations and the two
 * streaming framings ascendctl must accept (mindie-multinode.md §9 and §12.3).
 *
 * MindIE (openAiSupport "vllm"): first chunk `delta:{role:"assistant",content:""}`; every later chunk repeats
 * `role`; `usage` rides on the last content chunk (the one with `finish_reason`); no usage-only chunk;
 * `stream_options` is ignored. vLLM: `role` only in the first chunk; usage only with
 * `stream_options.include_usage`, in a separate final chunk with empty `choices`.
 */
import { fnv1a } from './runtime-host.js';

export interface GenToken {
  kind: 'reasoning' | 'content';
  text: string;
}

export interface Generation {
  tokens: GenToken[];
  promptTokens: number;
  finishReason: 'stop' | 'length';
}

const WORDS = [
  'the', 'cluster', 'answers', 'with', 'eight', 'NPUs', 'per', 'node', 'and', 'a', 'rank', 'table', 'that', 'lists',
  'every', 'device', 'model', 'weights', 'load', 'across', 'servers', 'so', 'tokens', 'stream', 'back', 'quickly',
  'while', 'experts', 'route', 'each', 'request', 'through', 'tensor', 'parallel', 'groups', 'on', 'Ascend', 'links',
];

const THINK_WORDS = [
  'Okay,', 'let', 'me', 'think', 'about', 'this.', 'The', 'user', 'asks', 'about', 'the', 'question;', 'first', 'I',
  'should', 'consider', 'what', 'they', 'mean,', 'then', 'answer', 'briefly.', 'Hmm,', 'right.',
];

/** Rough token count the way a BPE tokenizer would land for English: about 4 characters per token. */
export function countTokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}

/** Flatten chat messages into the text the model sees. */
export function chatPrompt(messages: unknown): string {
  if (!Array.isArray(messages)) return '';
  return messages
    .map((m) => {
      const msg = m as { role?: unknown; content?: unknown };
      const content = Array.isArray(msg.content)
        ? msg.content.map((p) => (typeof (p as { text?: unknown }).text === 'string' ? (p as { text: string }).text : '')).join('')
        : typeof msg.content === 'string' ? msg.content : '';
      return `${String(msg.role ?? 'user')}: ${content}`;
    })
    .join('\n');
}

export interface GenerateOptions {
  /** Request's max_tokens (or max_completion_tokens); undefined = the model's natural length. */
  maxTokens: number | undefined;
  /** Server cap (MindIE maxIterTimes, vLLM max-model-len minus prompt). */
  serverCap: number;
  /** Reasoning model: think text first. */
  reasoning: boolean;
  /** Split think text into `reasoning` tokens (else it is `<think>…</think>` inside content). */
  splitReasoning: boolean;
}

/**
 * A deterministic answer for `prompt`. Output length is min(serverCap, max_tokens) when max_tokens is given
 * (finish_reason "length"), else a natural length derived from the prompt (finish_reason "stop").
 */
export function generate(prompt: string, opts: GenerateOptions): Generation {
  const h = fnv1a(prompt);
  const natural = 24 + (h % 40);
  const limit = opts.maxTokens !== undefined ? Math.min(opts.maxTokens, opts.serverCap) : Math.min(natural, opts.serverCap);
  const finishReason: Generation['finishReason'] = opts.maxTokens !== undefined || natural > opts.serverCap ? 'length' : 'stop';
  const tokens: GenToken[] = [];
  const thinkCount = opts.reasoning ? Math.max(1, Math.floor(limit / 2)) : 0;
  let seed = h;
  const next = (): number => {
    seed = fnv1a(String(seed), seed);
    return seed;
  };
  for (let i = 0; i < limit; i++) {
    if (i < thinkCount) {
      const word = THINK_WORDS[next() % THINK_WORDS.length]!;
      if (opts.splitReasoning) tokens.push({ kind: 'reasoning', text: i === 0 ? word : ` ${word}` });
      else tokens.push({ kind: 'content', text: i === 0 ? `<think>\n${word}` : i === thinkCount - 1 ? ` ${word}\n</think>\n\n` : ` ${word}` });
    } else {
      const word = WORDS[next() % WORDS.length]!;
      const first = i === thinkCount;
      tokens.push({ kind: 'content', text: first ? word.charAt(0).toUpperCase() + word.slice(1) : i === limit - 1 ? ` ${word}.` : ` ${word}` });
    }
  }
  return { tokens, promptTokens: countTokens(prompt) + 4, finishReason };
}

export function sseEvent(data: unknown): string {
  return `data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`;
}

export const SSE_DONE = 'data: [DONE]\n\n';

export interface ChunkContext {
  id: string;
  created: number;
  model: string;
}

export function usageOf(gen: Generation, upTo = gen.tokens.length): Record<string, unknown> {
  const reasoning = gen.tokens.slice(0, upTo).filter((t) => t.kind === 'reasoning').length;
  const usage: Record<string, unknown> = {
    prompt_tokens: gen.promptTokens,
    completion_tokens: upTo,
    total_tokens: gen.promptTokens + upTo,
  };
  if (reasoning > 0) usage.completion_tokens_details = { reasoning_tokens: reasoning };
  return usage;
}

function delta(tok: GenToken, withRole: boolean): Record<string, unknown> {
  const d: Record<string, unknown> = withRole ? { role: 'assistant' } : {};
  if (tok.kind === 'reasoning') d.reasoning_content = tok.text;
  else d.content = tok.text;
  return d;
}

/** MindIE's chunks for one generation (event payloads, without the `[DONE]` terminator). */
export function mindieChatChunks(ctx: ChunkContext, gen: Generation): Record<string, unknown>[] {
  const base = { id: ctx.id, object: 'chat.completion.chunk', created: ctx.created, model: ctx.model };
  const chunks: Record<string, unknown>[] = [
    { ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }] },
  ];
  gen.tokens.forEach((tok, i) => {
    const last = i === gen.tokens.length - 1;
    const chunk: Record<string, unknown> = {
      ...base,
      choices: [{ index: 0, delta: delta(tok, true), logprobs: null, finish_reason: last ? gen.finishReason : null }],
    };
    if (last) chunk.usage = usageOf(gen);
    chunks.push(chunk);
  });
  if (gen.tokens.length === 0) {
    chunks.push({ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: gen.finishReason }], usage: usageOf(gen) });
  }
  return chunks;
}

/** vLLM's chunks: role once, a final chunk with finish_reason, usage apart and only when asked. */
export function vllmChatChunks(ctx: ChunkContext, gen: Generation, includeUsage: boolean): Record<string, unknown>[] {
  const base = { id: ctx.id, object: 'chat.completion.chunk', created: ctx.created, model: ctx.model };
  const chunks: Record<string, unknown>[] = [
    { ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }] },
  ];
  for (const tok of gen.tokens) {
    chunks.push({ ...base, choices: [{ index: 0, delta: delta(tok, false), logprobs: null, finish_reason: null }] });
  }
  chunks.push({ ...base, choices: [{ index: 0, delta: { content: '' }, logprobs: null, finish_reason: gen.finishReason, stop_reason: null }] });
  if (includeUsage) chunks.push({ ...base, choices: [], usage: usageOf(gen) });
  return chunks;
}

export function chatCompletionBody(ctx: ChunkContext, gen: Generation): Record<string, unknown> {
  const content = gen.tokens.filter((t) => t.kind === 'content').map((t) => t.text).join('');
  const reasoning = gen.tokens.filter((t) => t.kind === 'reasoning').map((t) => t.text).join('');
  const message: Record<string, unknown> = { role: 'assistant', content, tool_calls: [] };
  if (reasoning !== '') message.reasoning_content = reasoning;
  return {
    id: ctx.id,
    object: 'chat.completion',
    created: ctx.created,
    model: ctx.model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: gen.finishReason }],
    usage: usageOf(gen),
  };
}

export function completionBody(ctx: ChunkContext, gen: Generation): Record<string, unknown> {
  return {
    id: ctx.id,
    object: 'text_completion',
    created: ctx.created,
    model: ctx.model,
    choices: [{ index: 0, text: gen.tokens.map((t) => t.text).join(''), logprobs: null, finish_reason: gen.finishReason }],
    usage: usageOf(gen),
  };
}

export function completionChunks(ctx: ChunkContext, gen: Generation, usageOnLast: boolean): Record<string, unknown>[] {
  const base = { id: ctx.id, object: 'text_completion', created: ctx.created, model: ctx.model };
  return gen.tokens.map((tok, i) => {
    const last = i === gen.tokens.length - 1;
    const chunk: Record<string, unknown> = { ...base, choices: [{ index: 0, text: tok.text, logprobs: null, finish_reason: last ? gen.finishReason : null }] };
    if (last && usageOnLast) chunk.usage = usageOf(gen);
    return chunk;
  });
}
