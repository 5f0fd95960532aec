/**
 * OpenAI-compatible chat answers of the simulated servers: deterministic fake generations and the two
 * streaming framings ascendctl must accept (mindie-multinode.md §9 and §12.3).
 *
 * MindIE (openAiSupport "vllm"): first chunk `delta:{role:"assistant",content:""}`; every later chunk repeats
 * `role`; `usage` rides on the last content chunk (the one with `finish_reason`); no usage-only chunk;
 * `stream_options` is ignored. vLLM: `role` only in the first chunk; usage only with
 * `stream_options.include_usage`, in a separate final chunk with empty `choices`.
 */
import { fnv1a } from './runtime-host.js';

type Json = Record<string, unknown>;

export interface GenToken {
  kind: 'reasoning' | 'content';
  text: string;
}

export interface Generation {
  tokens: GenToken[];
  promptTokens: number;
  finishReason: 'stop' | 'length';
}

export interface ChunkContext {
  id: string;
  created: number;
  model: string;
}

export type Framing = 'mindie' | 'vllm';

const WORDS = ('the cluster answers with eight NPUs per node and a rank table that lists every device model weights '
  + 'load across servers so tokens stream back quickly while experts route each request through tensor parallel '
  + 'groups on Ascend links').split(' ');

const THINK_WORDS = ('Okay, let me think about this. The user asks about the question; first I should consider '
  + 'what they mean, then answer briefly. Hmm, right.').split(' ');

/** Flatten chat messages into the text the model sees. */
function chatPrompt(messages: unknown): string {
  if (!Array.isArray(messages)) return '';
  return messages
    .map((m) => {
      const { role, content } = m as { role?: unknown; content?: unknown };
      const text = (p: unknown): string => (typeof p === 'string' ? p : text((p as { text?: unknown }).text ?? ''));
      return `${String(role ?? 'user')}: ${Array.isArray(content) ? content.map(text).join('') : text(content ?? '')}`;
    })
    .join('\n');
}

/**
 * A deterministic answer to chat `messages`. Output length is min(serverCap, maxTokens) when maxTokens is given
 * (finish_reason "length"), else a natural length derived from the prompt (finish_reason "stop"). `serverCap`
 * is MindIE's maxIterTimes or vLLM's max-model-len. A reasoning model thinks first: as `reasoning` tokens when
 * `splitReasoning`, else as `<think>…</think>` inside the content.
 */
export function generate(
  messages: unknown,
  opts: { maxTokens: number | undefined; serverCap: number; reasoning: boolean; splitReasoning: boolean },
): Generation {
  const prompt = chatPrompt(messages);
  const h = fnv1a(prompt);
  const natural = 24 + (h % 40);
  const limit = Math.min(opts.maxTokens ?? natural, opts.serverCap);
  const finishReason = opts.maxTokens !== undefined || natural > opts.serverCap ? 'length' : 'stop';
  const tokens: GenToken[] = [];
  const thinkCount = opts.reasoning ? Math.max(1, Math.floor(limit / 2)) : 0;
  let seed = h;
  const next = (): number => (seed = fnv1a(String(seed), seed));
  for (let i = 0; i < limit; i++) {
    if (i < thinkCount) {
      const word = THINK_WORDS[next() % THINK_WORDS.length]!;
      if (opts.splitReasoning) tokens.push({ kind: 'reasoning', text: i === 0 ? word : ` ${word}` });
      else {
        const text = i === 0 ? `<think>\n${word}` : i === thinkCount - 1 ? ` ${word}\n</think>\n\n` : ` ${word}`;
        tokens.push({ kind: 'content', text });
      }
    } else {
      const word = WORDS[next() % WORDS.length]!;
      const first = i === thinkCount;
      const text = first ? word.charAt(0).toUpperCase() + word.slice(1) : i === limit - 1 ? ` ${word}.` : ` ${word}`;
      tokens.push({ kind: 'content', text });
    }
  }
  // About 4 characters a token, as a BPE tokenizer lands for English, plus the chat template's.
  return { tokens, promptTokens: Math.max(1, Math.ceil(prompt.length / 4)) + 4, finishReason };
}

function usageOf(gen: Generation): Json {
  const n = gen.tokens.length;
  const reasoning = gen.tokens.filter((t) => t.kind === 'reasoning').length;
  const usage: Json = { prompt_tokens: gen.promptTokens, completion_tokens: n, total_tokens: gen.promptTokens + n };
  if (reasoning > 0) usage.completion_tokens_details = { reasoning_tokens: reasoning };
  return usage;
}

function delta(tok: GenToken, withRole: boolean): Json {
  const field = tok.kind === 'reasoning' ? 'reasoning_content' : 'content';
  return { ...(withRole ? { role: 'assistant' } : {}), [field]: tok.text };
}

/** The chunks of one streamed answer in MindIE's or vLLM's framing (event payloads, without `[DONE]`). */
export function chatChunks(ctx: ChunkContext, gen: Generation, framing: Framing, includeUsage: boolean): Json[] {
  const chunk = (d: Json, finish: string | null, more: Json = {}): Json => ({
    id: ctx.id,
    object: 'chat.completion.chunk',
    created: ctx.created,
    model: ctx.model,
    choices: [{ index: 0, delta: d, logprobs: null, finish_reason: finish, ...more }],
  });
  const opener = chunk({ role: 'assistant', content: '' }, null);
  if (framing === 'mindie') {
    // No token at all still ends with one (empty) chunk carrying finish_reason and usage.
    const tokens: GenToken[] = gen.tokens.length > 0 ? gen.tokens : [{ kind: 'content', text: '' }];
    const last = tokens.length - 1;
    const final = (t: GenToken): Json => ({ ...chunk(delta(t, true), gen.finishReason), usage: usageOf(gen) });
    return [opener, ...tokens.map((t, i) => (i < last ? chunk(delta(t, true), null) : final(t)))];
  }
  const chunks = [opener, ...gen.tokens.map((t) => chunk(delta(t, false), null))];
  chunks.push(chunk({ content: '' }, gen.finishReason, { stop_reason: null }));
  if (includeUsage) chunks.push({ ...chunk({}, null), choices: [], usage: usageOf(gen) });
  return chunks;
}

export function chatCompletionBody(ctx: ChunkContext, gen: Generation): Json {
  const join = (kind: GenToken['kind']): string => gen.tokens.map((t) => (t.kind === kind ? t.text : '')).join('');
  const message: Json = { role: 'assistant', content: join('content'), tool_calls: [] };
  if (gen.tokens.some((t) => t.kind === 'reasoning')) message.reasoning_content = join('reasoning');
  return {
    id: ctx.id,
    object: 'chat.completion',
    created: ctx.created,
    model: ctx.model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: gen.finishReason }],
    usage: usageOf(gen),
  };
}
