import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { percentile, percentiles } from '../../../src/chat/bench.js';
import bench from '../../../src/commands/bench.js';
import chat from '../../../src/commands/chat.js';
import { writeRecord } from '../../../src/deploy/record.js';
import { ClusterError, InputError } from '../../../src/errors.js';
import { captureContext } from './helpers.js';
import { closedPort, useTestServers } from './openai-server.js';

const server = useTestServers();
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

describe('chat -p', () => {
  it('--json prints exactly the contract document', async () => {
    const s = await server({ framing: 'mindie', model: 'deepseek-r1', reasoning: ['hmm'], content: ['4'], promptTokens: 9 });
    const c = captureContext({ json: true });
    const code = await chat(c.ctx, [], { prompt: '2+2?', endpoint: s.url, model: 'deepseek-r1', timeout: '10m', json: true });
    expect(code).toBe(0);
    const doc = JSON.parse(c.out()) as Record<string, unknown>;
    expect(Object.keys(doc)).toEqual(['model', 'content', 'reasoning_content', 'usage', 'timings']);
    expect(doc).toMatchObject({ model: 'deepseek-r1', content: '4', reasoning_content: 'hmm', usage: { prompt_tokens: 9, completion_tokens: 2 } });
    const timings = doc.timings as Record<string, unknown>;
    expect(Object.keys(timings)).toEqual(['ttft_ms', 'total_ms', 'tokens_per_s']);
    for (const v of Object.values(timings)) expect(typeof v).toBe('number');
  });

  it('--json leaves reasoning_content out when the server sent none, and sends --system first', async () => {
    const s = await server({ framing: 'vllm', model: 'm', content: ['ok'] });
    const c = captureContext({ json: true });
    await chat(c.ctx, [], { prompt: 'q', endpoint: s.url, model: 'm', system: 'be brief', maxTokens: '5', timeout: '1m', json: true });
    const doc = JSON.parse(c.out()) as Record<string, unknown>;
    expect('reasoning_content' in doc).toBe(false);
    expect(s.requests[0]).toMatchObject({ messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'q' }], max_tokens: 5 });
  });

  it('streams the answer to stdout, reasoning and the timing line to stderr', async () => {
    const s = await server({ framing: 'mindie', model: 'm', reasoning: ['thinking'], content: ['Hello', ' there'] });
    const c = captureContext();
    expect(await chat(c.ctx, [], { prompt: 'hi', endpoint: s.url, model: 'm', timeout: '1m' })).toBe(0);
    expect(c.out()).toBe('Hello there\n');
    expect(c.err()).toContain('thinking');
    expect(c.err()).toMatch(/TTFT \d+ ms · [\d.]+ tok\/s · 3 tokens/);
  });

  it('takes the prompt from standard input when it is not a terminal', async () => {
    const s = await server({ framing: 'mindie', model: 'm', content: ['yes'] });
    const c = captureContext({ json: true });
    c.stdin.end('from a pipe\n');
    await chat(c.ctx, [], { endpoint: s.url, model: 'm', timeout: '1m', json: true });
    expect(s.requests[0]?.messages).toEqual([{ role: 'user', content: 'from a pipe' }]);
  });

  it('an empty standard input is an input error (exit 2)', async () => {
    const c = captureContext();
    c.stdin.end('');
    await expect(chat(c.ctx, [], { endpoint: 'http://127.0.0.1:9', model: 'm', timeout: '1m' })).rejects.toMatchObject({ exitCode: 2 });
  });

  it('model not found, server down, stream cut and timeout all exit 1', async () => {
    const wrong = await server({ framing: 'mindie', model: 'deepseek-r1', content: ['x'] });
    const cut = await server({ framing: 'mindie', model: 'm', content: ['a', 'b', 'c'], cutAfter: 1 });
    const hang = await server({ framing: 'mindie', model: 'm', content: ['a'], hang: 'body' });
    const down = await closedPort();
    const cases: [string, string, string, RegExp][] = [
      [wrong.url, 'r1', '1m', /the model name is deepseek-r1/],
      [down, 'm', '1m', /is down \(connection refused\)/],
      [cut.url, 'm', '1m', /stopped mid-way after 1 token/],
      [hang.url, 'm', '200ms', /no token from .* within 200 ms/],
    ];
    for (const [endpoint, model, timeout, message] of cases) {
      const c = captureContext({ json: true });
      const err = (await chat(c.ctx, [], { prompt: 'x', endpoint, model, timeout, json: true }).catch((e: unknown) => e)) as ClusterError;
      expect(err).toBeInstanceOf(ClusterError);
      expect(err.exitCode).toBe(1);
      expect(err.message).toMatch(message);
      expect(c.out()).toBe('');
    }
  });

  it('uses the recorded deployment\'s endpoint and model when no flag is given', async () => {
    const s = await server({ framing: 'mindie', model: 'recorded-model', content: ['hi'] });
    const cwd = await mkdtemp(path.join(tmpdir(), 'ascendctl-chat-'));
    dirs.push(cwd);
    await writeRecord(cwd, {
      name: 'r1', deploymentFile: path.join(cwd, 'r1.yaml'), inventoryFile: path.join(cwd, 'inventory.yaml'), backend: 'mindie',
      endpoint: s.url, model: 'recorded-model', nodes: [], container: 'ascendctl-r1', digest: 'x', deployedAt: new Date(0).toISOString(),
    });
    for (const args of [[], ['r1']]) {
      const c = captureContext({ json: true, cwd });
      await chat(c.ctx, args, { prompt: 'x', timeout: '1m', json: true });
      expect(JSON.parse(c.out())).toMatchObject({ model: 'recorded-model', content: 'hi' });
    }
    // --endpoint alone, no record anywhere: the model comes from the endpoint's list
    const elsewhere = await mkdtemp(path.join(tmpdir(), 'ascendctl-chat-'));
    dirs.push(elsewhere);
    const c = captureContext({ json: true, cwd: elsewhere });
    await chat(c.ctx, [], { prompt: 'x', endpoint: s.url, timeout: '1m', json: true });
    expect(s.requests.at(-1)?.model).toBe('recorded-model');
    // nothing to go on: exit 2 with what to pass
    const none = captureContext({ cwd: elsewhere });
    const err = (await chat(none.ctx, [], { prompt: 'x', timeout: '1m' }).catch((e: unknown) => e)) as InputError;
    expect(err).toBeInstanceOf(InputError);
    expect(err.hint).toMatch(/--endpoint/);
  });
});

describe('bench', () => {
  it('nearest-rank percentiles on a known set', () => {
    const samples = [15, 20, 35, 40, 50];
    expect(percentile(samples, 5)).toBe(15);
    expect(percentile(samples, 30)).toBe(20);
    expect(percentile(samples, 40)).toBe(20);
    expect(percentile(samples, 50)).toBe(35);
    expect(percentile(samples, 100)).toBe(50);
    const hundred = Array.from({ length: 100 }, (_, i) => 100 - i); // 100..1, unsorted
    expect(percentiles(hundred)).toEqual({ p50: 50, p90: 90, p99: 99 });
    expect(percentiles([])).toEqual({ p50: null, p90: null, p99: null });
    expect(percentiles([7])).toEqual({ p50: 7, p90: 7, p99: 7 });
  });

  it('--json prints exactly the contract document', async () => {
    const s = await server({ framing: 'mindie', model: 'm', content: ['a', 'b', 'c', 'd'], delayMs: 2 });
    const c = captureContext({ json: true });
    const code = await bench(c.ctx, [], { endpoint: s.url, model: 'm', concurrency: '3', requests: '7', maxTokens: '4', json: true });
    expect(code).toBe(0);
    const doc = JSON.parse(c.out()) as Record<string, unknown>;
    expect(Object.keys(doc)).toEqual(['requests', 'concurrency', 'errors', 'ttft_ms', 'itl_ms', 'output_tokens_per_s']);
    expect(doc).toMatchObject({ requests: 7, concurrency: 3, errors: 0 });
    expect(Object.keys(doc.ttft_ms as object)).toEqual(['p50', 'p90', 'p99']);
    expect((doc.itl_ms as { p50: number }).p50).toBeGreaterThanOrEqual(0);
    expect(doc.output_tokens_per_s).toBeGreaterThan(0);
    expect(s.requests).toHaveLength(7);
    expect(s.requests[0]).toMatchObject({ max_tokens: 4, stream: true });
  });

  it('prints a table naming nearest-rank, and exits 1 with the first error when every request fails', async () => {
    const s = await server({ framing: 'mindie', model: 'm', content: ['a', 'b'] });
    const ok = captureContext();
    await bench(ok.ctx, [], { endpoint: s.url, model: 'm', concurrency: '2', requests: '2', maxTokens: '2' });
    expect(ok.out()).toMatch(/time to first token/);
    expect(ok.out()).toMatch(/inter-token latency/);
    expect(ok.out()).toMatch(/nearest-rank/);

    const down = await closedPort();
    const c = captureContext({ json: true });
    const err = (await bench(c.ctx, [], { endpoint: down, model: 'm', concurrency: '2', requests: '3', json: true }).catch((e: unknown) => e)) as ClusterError;
    expect(err).toBeInstanceOf(ClusterError);
    expect(err.exitCode).toBe(1);
    expect(err.message).toMatch(/3 of 3 requests failed; the first: the endpoint .* is down/);
    expect(JSON.parse(c.out())).toMatchObject({ requests: 3, errors: 3 });
  });

  it('some failures: exit 0, counted, first error shown', async () => {
    const s = await server({ framing: 'mindie', model: 'm', content: ['a', 'b'], failEvery: 3 });
    const c = captureContext({ json: true });
    const code = await bench(c.ctx, [], { endpoint: s.url, model: 'm', concurrency: '2', requests: '9', json: true });
    expect(code).toBe(0);
    expect(JSON.parse(c.out())).toMatchObject({ requests: 9, errors: 3 });
    expect(c.err()).toMatch(/3 of 9 requests failed; the first: .*HTTP 500: busy/);
  });

  it('reports the concurrency really reached: 8 at a time for 2 requests is 2', async () => {
    const s = await server({ framing: 'mindie', model: 'm', content: ['a'] });
    const c = captureContext({ json: true });
    expect(await bench(c.ctx, [], { endpoint: s.url, model: 'm', concurrency: '8', requests: '2', json: true })).toBe(0);
    expect(JSON.parse(c.out())).toMatchObject({ requests: 2, concurrency: 2, errors: 0 });
  });
});
