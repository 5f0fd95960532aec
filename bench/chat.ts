/**
 * Chat time to first token against a simulated deployed MindIE (2 nodes, hardware profile):
 * `ascendctl chat -p … --json` reports `timings.ttft_ms`; the reference is `curl -sN` on the same
 * streaming request. curl's `%{time_starttransfer}` is the first byte of the response — the SSE
 * headers and the role-only opener, sent before prefill — so it is not a TTFT. Instead curl runs with
 * `--trace-ascii - --trace-time`, and its TTFT is read from its own trace: from its first trace line
 * (before it connects, as ascendctl's clock starts before it connects) to the received data that
 * first carries a non-empty `content` or `reasoning_content` delta.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  DEPLOYMENT_NAME, figure, formatDiff, judge, median, nowMs, REPO_ROOT, shq, startSimProcess, timeCli, timeShell, type BenchSettings, type ResultRow, type SimProcess,
} from './lib.js';

const PROMPT = 'What is 2 + 2? Answer in one word.';
const MAX_TOKENS = 8;

function secondsOfDay(stamp: string): number {
  const m = /^(\d{2}):(\d{2}):(\d{2})\.(\d{6})$/.exec(stamp);
  if (!m) throw new Error(`not a curl --trace-time stamp: ${stamp}`);
  return Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]) + Number(m[4]) / 1e6;
}

/** A non-empty `content` or `reasoning_content` string in streamed chunk text (`"content":""` is the opener). */
const TOKEN = /"(?:reasoning_)?content":"(?!")/;

/**
 * TTFT (ms) from `curl --trace-ascii - --trace-time` output: from the first trace line (before curl
 * connects) to the `<= Recv data` block after which the received bytes first hold a token. A block's
 * dump wraps every 64 bytes and at CRLF (`0000: d5` is a chunk size), so the dump lines are joined
 * without separators, and the test runs on everything received so far: a token split across two
 * blocks counts when its second half arrives.
 */
export function curlTraceTtftMs(trace: string): number {
  const header = /^(\d{2}:\d{2}:\d{2}\.\d{6}) (==|=>|<=) (.*)$/;
  let start: number | undefined;
  let recvAt: number | undefined;
  let received = '';
  const flush = (): number | undefined => (recvAt !== undefined && TOKEN.test(received) ? (recvAt - start!) * 1000 : undefined);
  for (const line of trace.split('\n')) {
    const h = header.exec(line);
    if (h) {
      const found = flush();
      if (found !== undefined) return found;
      let t = secondsOfDay(h[1]!);
      if (start !== undefined && t < start) t += 86_400; // the trace crossed midnight
      start ??= t;
      recvAt = h[2] === '<=' && h[3]!.startsWith('Recv data') ? t : undefined;
      continue;
    }
    const dump = /^[0-9a-f]{4}: (.*)$/.exec(line);
    if (dump && recvAt !== undefined) received += dump[1];
  }
  const found = flush();
  if (found !== undefined) return found;
  throw new Error('the curl trace has no received data carrying a token');
}

async function chatTtft(s: BenchSettings, sim: SimProcess): Promise<number> {
  const r = await timeCli(s.build, ['chat', '-p', PROMPT, '--json', '--max-tokens', String(MAX_TOKENS)], { cwd: sim.dir });
  const doc = JSON.parse(r.result.stdout) as { timings?: { ttft_ms?: number } };
  const ttft = doc.timings?.ttft_ms;
  if (typeof ttft !== 'number') throw new Error(`ascendctl chat --json has no timings.ttft_ms: ${r.result.stdout.slice(0, 500)}`);
  return ttft;
}

async function curlTtft(sim: SimProcess): Promise<number> {
  const body = requestBody();
  const url = `http://${sim.nodes[0]!.host}:1025/v1/chat/completions`;
  const r = await timeShell(`curl -sN --trace-ascii - --trace-time -o /dev/null -H 'content-type: application/json' -H 'accept: text/event-stream' --data-binary ${shq(body)} ${url}`,
    { env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
  if (r.result.exitCode !== 0) throw new Error(`curl exited ${r.result.exitCode}: ${r.result.stderr.slice(0, 500)}`);
  return curlTraceTtftMs(r.result.stdout);
}

/**
 * The same span in a fresh Node process with undici (ascendctl's HTTP client) and nothing else: from just
 * before `request()` to the first chunk holding a token. What this adds over curl is Node's and undici's
 * cold first request (the HTTP parser is compiled on first use), not ascendctl's code.
 */
export function undiciProbeScript(url: string, body: string): string {
  const undici = pathToFileURL(path.join(REPO_ROOT, 'node_modules', 'undici', 'index.js')).href;
  return `import { request } from ${JSON.stringify(undici)};
const t0 = performance.now();
const res = await request(${JSON.stringify(url)}, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'text/event-stream' }, body: ${JSON.stringify(body)} });
let seen = '';
for await (const chunk of res.body) {
  seen += chunk.toString('utf8');
  if (${TOKEN.toString()}.test(seen)) { process.stdout.write(String(performance.now() - t0)); break; }
}
res.body.destroy();`;
}

async function undiciTtft(sim: SimProcess): Promise<number> {
  const url = `http://${sim.nodes[0]!.host}:1025/v1/chat/completions`;
  const r = await timeShell(`exec ${shq(process.execPath)} --input-type=module -e ${shq(undiciProbeScript(url, requestBody()))}`);
  const ms = Number(r.result.stdout.trim());
  if (r.result.exitCode !== 0 || !Number.isFinite(ms) || r.result.stdout.trim() === '') throw new Error(`the undici probe failed (exit ${r.result.exitCode}): ${r.result.stderr.slice(0, 500)}`);
  return ms;
}

/**
 * What a user waits for: from spawning `node bin/ascendctl chat -p …` to the first byte of the answer
 * on the terminal (reasoning goes to stderr in the one-shot mode, the answer to stdout; chat prints
 * nothing else before the first delta), with the HTTP warm-up on or off (ASCENDCTL_HTTP_WARMUP=0).
 */
async function spawnToFirstToken(s: BenchSettings, sim: SimProcess, warmUp: boolean): Promise<number> {
  const t0 = nowMs();
  const env = { ...process.env, NO_COLOR: '1', ...(warmUp ? {} : { ASCENDCTL_HTTP_WARMUP: '0' }) };
  const child = spawn(process.execPath, [s.build.bin, 'chat', '-p', PROMPT, '--max-tokens', String(MAX_TOKENS)], { cwd: sim.dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let first: number | undefined;
  let stderr = '';
  const seen = (): void => { first ??= nowMs() - t0; };
  child.stdout!.on('data', seen);
  child.stderr!.on('data', (d: Buffer) => { seen(); if (stderr.length < 10_000) stderr += d.toString('utf8'); });
  const code = await new Promise<number | null>((resolve, reject) => { child.once('error', reject); child.once('exit', (c) => resolve(c)); });
  if (code !== 0 || first === undefined) throw new Error(`ascendctl chat exited ${code}: ${stderr.slice(0, 500)}`);
  return first;
}

function requestBody(): string {
  return JSON.stringify({
    model: DEPLOYMENT_NAME, messages: [{ role: 'user', content: PROMPT }], stream: true,
    stream_options: { include_usage: true }, max_tokens: MAX_TOKENS,
  });
}

export const CHAT_RUNS = 10;

export async function benchChat(s: BenchSettings): Promise<ResultRow[]> {
  const sim = await startSimProcess({ nodes: 2, subnet: 235, dir: path.join(s.scratch, 'chat-2'), build: s.build });
  try {
    await timeCli(s.build, ['deploy', sim.deploymentPath, '--skip-preflight'], { cwd: sim.dir });
    try {
      const ours: number[] = [];
      const theirs: number[] = [];
      const cold: number[] = [];
      const endToEnd = { warm: [] as number[], cold: [] as number[] };
      for (let i = 0; i < s.runs(CHAT_RUNS); i++) {
        ours.push(await chatTtft(s, sim));
        theirs.push(await curlTtft(sim));
        cold.push(await undiciTtft(sim));
        // Alternated which goes first, so neither always runs right after the other.
        for (const warmUp of i % 2 === 0 ? [true, false] : [false, true]) endToEnd[warmUp ? 'warm' : 'cold'].push(await spawnToFirstToken(s, sim, warmUp));
        s.log(`  chat run ${i + 1}: ascendctl ttft ${ours.at(-1)!.toFixed(1)} ms, curl ${theirs.at(-1)!.toFixed(1)} ms, fresh node + undici ${cold.at(-1)!.toFixed(1)} ms; spawn → first token ${endToEnd.warm.at(-1)!.toFixed(1)} ms with the warm-up, ${endToEnd.cold.at(-1)!.toFixed(1)} ms without`);
      }
      const curl = figure('curl -sN, same request', 'ms', theirs);
      const withoutWarmUp = figure('ascendctl chat -p, ASCENDCTL_HTTP_WARMUP=0', 'ms', endToEnd.cold);
      return [
        judge('chat TTFT (2 nodes)', figure('ascendctl chat timings.ttft_ms', 'ms', ours), curl, { kind: 'max-diff', limit: 5 }),
        {
          ...judge('chat TTFT: bare Node + undici, fresh process', figure('undici request() in a fresh node', 'ms', cold), curl, undefined,
            'no target: the same span with nothing of ascendctl, to tell apart what a cold Node process and its first undici request cost from what ascendctl adds'),
          comparison: formatDiff(median(cold) - curl.median),
        },
        {
          ...judge('chat: process start → first token, HTTP warm-up on vs off', figure('ascendctl chat -p (warm-up on, the default)', 'ms', endToEnd.warm), withoutWarmUp, undefined,
            'no target: what src/chat/http-warmup.ts costs or saves a user end to end. It stays for the contract\'s time to first token (within 5 ms of curl), which the fresh-process row above misses without it; issue 11 would drop it if it cost end to end, and the contract wins over an issue'),
          comparison: formatDiff(median(endToEnd.warm) - withoutWarmUp.median),
        },
      ];
    } finally {
      await timeCli(s.build, ['stop', sim.deploymentPath], { cwd: sim.dir, reject: false });
    }
  } finally {
    await sim.stop();
  }
}

export const CHAT_METHOD = [
  'A 2-node deployment (hardware profile: prefill ≈ 250 ms, then a token ≈ 35 ms) is started with',
  '`ascendctl deploy --skip-preflight` (not timed). Then, interleaved, `node bin/ascendctl chat -p "…" --json',
  `--max-tokens ${MAX_TOKENS}\` (its own \`timings.ttft_ms\`: from just before it connects to the first content or`,
  'reasoning delta) and `curl -sN` with the same body (model, one user message, `stream: true`,',
  '`stream_options.include_usage`, `max_tokens`). curl\'s `%{time_starttransfer}` would stop at the response',
  'headers, which the server sends before prefill, so curl runs with `--trace-ascii - --trace-time` and its TTFT is',
  'read from its trace: first trace line (before connecting) to the first received data carrying a non-empty',
  '`content`/`reasoning_content` delta. Both are each program\'s own clock over the same span; process start-up is',
  'outside both. The target is ascendctl ≤ curl + 5 ms (medians).',
  '',
  'A third figure, without a target, runs the same request from a fresh `node` process with undici alone (timed',
  'from just before `request()` to the first chunk holding a token): the cost of a cold Node process\'s first',
  'undici request, which ascendctl\'s own TTFT also carries.',
  '',
  'A fourth figure is what a user waits for: from spawning `node bin/ascendctl chat -p "…"` to the first byte of the',
  'answer (or its reasoning) on the terminal, with the HTTP warm-up (src/chat/http-warmup.ts) on and off',
  '(`ASCENDCTL_HTTP_WARMUP=0`), alternated within each round.',
].join('\n');
