import { describe, expect, it } from 'vitest';
import { chatCompletionsUrl, streamChat, tokensPerSecond } from '../../../src/chat/chat-client.js';
import { SseParser } from '../../../src/chat/sse-parser.js';
import { ClusterError, InputError, InterruptedError } from '../../../src/errors.js';
import { closedPort, useTestServers } from './openai-server.js';

const server = useTestServers();

const msgs = [{ role: 'user' as const, content: 'hi' }];

describe('SseParser', () => {
  it('parses events split anywhere, with LF, CRLF, CR, comments and multi-line data', () => {
    const stream = ': keep-alive\r\ndata: {"a":1}\r\n\r\ndata: line1\ndata: line2\n\ndata: ü✓\r\rdata: [DONE]\n\n';
    const bytes = Buffer.from(stream);
    for (let cut = 1; cut < bytes.length; cut++) {
      const p = new SseParser();
      const events = [...p.push(bytes.subarray(0, cut)), ...p.push(bytes.subarray(cut)), ...p.end()];
      expect(events).toEqual(['{"a":1}', 'line1\nline2', 'ü✓', '[DONE]']);
    }
  });

  it('dispatches a last event that has no closing blank line', () => {
    const p = new SseParser();
    expect([...p.push('data: x'), ...p.end()]).toEqual(['x']);
  });
});

describe('streamChat', () => {
  it('MindIE framing: ignores the repeated role, streams content and reasoning, takes usage from the last content chunk', async () => {
    const s = await server({ framing: 'mindie', model: 'deepseek-r1', reasoning: ['Let me ', 'think.'], content: ['Hello', ', ', 'world'], promptTokens: 7, delayMs: 5 });
    const deltas: string[] = [];
    const r = await streamChat({ endpoint: s.url, model: 'deepseek-r1', messages: msgs, timeoutMs: 5000, onDelta: (d) => deltas.push(d.reasoning || d.content) });
    expect(r.content).toBe('Hello, world');
    expect(r.reasoning).toBe('Let me think.');
    expect(deltas).toEqual(['Let me ', 'think.', 'Hello', ', ', 'world']);
    expect(r.usage).toEqual({ prompt_tokens: 7, completion_tokens: 5 });
    expect(r.usageReported).toBe(true);
    expect(r.finishReason).toBe('stop');
    expect(r.tokenTimesMs).toHaveLength(5);
    expect(r.timings.ttftMs).toBeGreaterThan(0);
    expect(r.timings.totalMs).toBeGreaterThanOrEqual(r.timings.ttftMs);
    expect(r.timings.tokensPerS).toBeGreaterThan(0);
    // the request asks for streaming and (for vLLM) usage
    expect(s.requests[0]).toMatchObject({ model: 'deepseek-r1', stream: true, stream_options: { include_usage: true }, messages: msgs });
  });

  it('vLLM framing: role once, usage in a final chunk with empty choices; CRLF lines', async () => {
    const s = await server({ framing: 'vllm', model: 'm', content: ['a', 'b', 'c', 'd'], promptTokens: 3, crlf: true });
    const r = await streamChat({ endpoint: `${s.url}/v1/`, model: 'm', messages: msgs, timeoutMs: 5000, maxTokens: 4 });
    expect(r.content).toBe('abcd');
    expect(r.reasoning).toBeUndefined();
    expect(r.usage).toEqual({ prompt_tokens: 3, completion_tokens: 4 });
    expect(s.requests[0]?.max_tokens).toBe(4);
  });

  it('counts content chunks when the server sends no usage', async () => {
    const s = await server({ framing: 'vllm', model: 'm', content: ['x', 'y', 'z'], ignoreStreamOptions: true });
    const r = await streamChat({ endpoint: s.url, model: 'm', messages: msgs, timeoutMs: 5000 });
    expect(r.usage).toEqual({ prompt_tokens: null, completion_tokens: 3 });
    expect(r.usageReported).toBe(false);
  });

  it('model not found (MindIE 404 "Model not found") → ClusterError naming the served model', async () => {
    const s = await server({ framing: 'mindie', model: 'deepseek-r1', content: ['x'] });
    const err = await streamChat({ endpoint: s.url, model: 'DeepSeek-R1', messages: msgs, timeoutMs: 5000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClusterError);
    expect((err as ClusterError).exitCode).toBe(1);
    expect((err as ClusterError).message).toMatch(/the model name is deepseek-r1/);
    expect((err as ClusterError).hint).toMatch(/--model deepseek-r1/);
  });

  it('model not found (vLLM "does not exist") is recognised too', async () => {
    const s = await server({ framing: 'vllm', model: 'served', content: ['x'] });
    const err = (await streamChat({ endpoint: s.url, model: 'other', messages: msgs, timeoutMs: 5000 }).catch((e: unknown) => e)) as ClusterError;
    expect(err).toBeInstanceOf(ClusterError);
    expect(err.hint).toMatch(/--model served/);
  });

  it('other HTTP errors carry the body\'s message', async () => {
    const s = await server({ framing: 'mindie', model: 'm', content: ['x'], status500: 'engine is overloaded' });
    const err = (await streamChat({ endpoint: s.url, model: 'm', messages: msgs, timeoutMs: 5000 }).catch((e: unknown) => e)) as ClusterError;
    expect(err).toBeInstanceOf(ClusterError);
    expect(err.message).toMatch(/HTTP 500: engine is overloaded/);
  });

  it('server down → "the endpoint … is down" with ascendctl status as the next step', async () => {
    const url = await closedPort();
    const err = (await streamChat({ endpoint: url, model: 'm', messages: msgs, timeoutMs: 5000 }).catch((e: unknown) => e)) as ClusterError;
    expect(err).toBeInstanceOf(ClusterError);
    expect(err.message).toBe(`the endpoint ${url} is down (connection refused)`);
    expect(err.hint).toMatch(/ascendctl status/);
  });

  it.each(['destroy', 'end'] as const)('a stream cut mid-way (%s) → "the stream stopped mid-way after N tokens"', async (cutMode) => {
    const s = await server({ framing: 'mindie', model: 'm', content: ['a', 'b', 'c', 'd', 'e'], cutAfter: 3, cutMode });
    const err = (await streamChat({ endpoint: s.url, model: 'm', messages: msgs, timeoutMs: 5000 }).catch((e: unknown) => e)) as ClusterError;
    expect(err).toBeInstanceOf(ClusterError);
    expect(err.exitCode).toBe(1);
    expect(err.message).toMatch(/^the stream stopped mid-way after 3 tokens/);
  });

  it('no token within the timeout → ClusterError (before headers and while streaming)', async () => {
    for (const hang of ['headers', 'body'] as const) {
      const s = await server({ framing: 'mindie', model: 'm', content: ['a'], hang });
      const err = (await streamChat({ endpoint: s.url, model: 'm', messages: msgs, timeoutMs: 150 }).catch((e: unknown) => e)) as ClusterError;
      expect(err).toBeInstanceOf(ClusterError);
      expect(err.message).toMatch(/^no token from http:\/\/127\.0\.0\.1:\d+ within 150 ms/);
    }
  });

  it('the caller\'s abort cancels the request', async () => {
    const s = await server({ framing: 'mindie', model: 'm', content: ['a'], hang: 'body' });
    const ctl = new AbortController();
    setTimeout(() => ctl.abort(), 50);
    await expect(streamChat({ endpoint: s.url, model: 'm', messages: msgs, timeoutMs: 5000, signal: ctl.signal })).rejects.toBeInstanceOf(InterruptedError);
  });

  it('builds the URL from a base with or without /v1 and refuses a non-http endpoint', () => {
    expect(chatCompletionsUrl('http://10.0.0.1:1025')).toBe('http://10.0.0.1:1025/v1/chat/completions');
    expect(chatCompletionsUrl('http://10.0.0.1:1025/v1/')).toBe('http://10.0.0.1:1025/v1/chat/completions');
    expect(() => chatCompletionsUrl('10.0.0.1:1025')).toThrow(InputError);
    expect(() => chatCompletionsUrl('not a url')).toThrow(InputError);
  });

  it('tokens per second is completion tokens over the generation time', () => {
    expect(tokensPerSecond(101, 100, 1100)).toBe(101);
    expect(tokensPerSecond(1, 50, 50)).toBe(20);
    expect(tokensPerSecond(0, 0, 0)).toBe(0);
  });
});
