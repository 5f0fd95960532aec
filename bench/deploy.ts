/**
 * Deploy on 4 simulated nodes (hardware profile, image present): the whole `ascendctl deploy` wall time,
 * and the overhead from "the master's endpoint answers" to "ascendctl says ready". The bench process
 * polls the master itself (a one-token request every 20 ms, at most one in flight) while the deploy
 * runs, and watches the deploy's stdout for its ready line.
 */
import path from 'node:path';
import { DEPLOYMENT_NAME, figure, judge, nowMs, startSimProcess, timeCli, type BenchSettings, type ResultRow, type SimProcess, watchCli } from './lib.js';

const POLL_MS = 20;
const READY_LINE = /is serving after/;

export interface EndpointPoller {
  /** performance.now() when the first one-token request was answered with content, once it was. */
  readonly answeredAt: Promise<number>;
  stop(): void;
}

/** Send one-token chat requests to `endpoint` every `everyMs` (one at a time) until one is answered. */
export function pollEndpoint(endpoint: string, model: string, everyMs = POLL_MS): EndpointPoller {
  const stopCtl = new AbortController();
  const body = JSON.stringify({ model, messages: [{ role: 'user', content: 'ping' }], max_tokens: 1, stream: false });
  const answeredAt = (async () => {
    while (!stopCtl.signal.aborted) {
      const next = nowMs() + everyMs;
      try {
        const res = await fetch(`${endpoint}/v1/chat/completions`, {
          method: 'POST', headers: { 'content-type': 'application/json' }, body,
          signal: AbortSignal.any([stopCtl.signal, AbortSignal.timeout(30_000)]),
        });
        const json = await res.json().catch(() => undefined) as { choices?: { message?: { content?: string; reasoning_content?: string } }[] } | undefined;
        const at = nowMs();
        const msg = json?.choices?.[0]?.message;
        if (res.ok && (msg?.content || msg?.reasoning_content)) return at;
      } catch {
        // not listening yet (connection refused) or still loading: poll again
      }
      const wait = next - nowMs();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    throw new Error('the poller was stopped before the endpoint answered');
  })();
  answeredAt.catch(() => undefined);
  return { answeredAt, stop: () => stopCtl.abort() };
}

interface DeployRun {
  wallMs: number;
  overheadMs: number;
}

async function deployOnce(s: BenchSettings, sim: SimProcess): Promise<DeployRun> {
  const endpoint = `http://${sim.nodes[0]!.host}:1025`;
  const poller = pollEndpoint(endpoint, DEPLOYMENT_NAME);
  const t0 = nowMs();
  let readyAt: number | undefined;
  const run = watchCli(s.build, ['deploy', sim.deploymentPath], {
    cwd: sim.dir,
    onLine: (line, at) => { if (readyAt === undefined && READY_LINE.test(line)) readyAt = at; },
  });
  try {
    const r = await run.done;
    const wallMs = nowMs() - t0;
    if (r.exitCode !== 0 || readyAt === undefined) {
      throw new Error(`deploy exited ${r.exitCode}${readyAt === undefined ? ' without its ready line' : ''}:\n${r.stdout.slice(-20).join('\n')}\n${r.stderr.slice(-2000)}`);
    }
    const answered = await Promise.race([poller.answeredAt, new Promise<undefined>((r2) => setTimeout(() => r2(undefined), 10_000))]);
    if (answered === undefined) throw new Error('deploy said ready, but the master never answered the bench\'s one-token request');
    return { wallMs, overheadMs: readyAt - answered };
  } finally {
    poller.stop();
    await timeCli(s.build, ['stop', sim.deploymentPath], { cwd: sim.dir });
  }
}

export const DEPLOY_RUNS = 3;

export async function benchDeploy(s: BenchSettings): Promise<ResultRow[]> {
  const sim = await startSimProcess({ nodes: 4, subnet: 234, dir: path.join(s.scratch, 'deploy-4'), build: s.build });
  try {
    const runs: DeployRun[] = [];
    for (let i = 0; i < s.runs(DEPLOY_RUNS); i++) {
      runs.push(await deployOnce(s, sim));
      s.log(`  deploy 4 nodes run ${i + 1}: ${runs.at(-1)!.wallMs.toFixed(0)} ms, ready-line overhead ${runs.at(-1)!.overheadMs.toFixed(0)} ms`);
    }
    return [
      judge('deploy 4 nodes: wall time', figure('deploy (preflight gate included)', 'ms', runs.map((r) => r.wallMs)), undefined, undefined),
      judge('deploy: endpoint answers → ascendctl ready', figure('ready-line overhead', 'ms', runs.map((r) => r.overheadMs)), undefined, { kind: 'max-value', limit: 1000 }),
    ];
  } finally {
    await sim.stop();
  }
}

export const DEPLOY_METHOD = [
  '`node bin/ascendctl deploy deepseek-r1.yaml` (4 nodes, dp 4 × tp 8, the image already on every node, hardware',
  'profile: weights load in ≈ 4 s, a token ≈ 35 ms after a ≈ 250 ms prefill), preflight gate included, timed from',
  'spawn to exit; then `ascendctl stop` (not timed) before the next run.',
  '',
  '**Overhead**: while the deploy runs, the bench process sends a one-token, non-streaming chat request to the',
  'master\'s HTTP port every 20 ms (one in flight at most; before the daemon listens each one is refused at once).',
  'The endpoint is taken as ready when the first such request is *answered* with content. The overhead is the time',
  'ascendctl\'s ready line ("… is serving after …") appears on its stdout minus that answer time — both read by the',
  'bench process\'s own clock, which is neither the CLI\'s nor the simulator\'s. A negative value would mean ascendctl',
  'answered first (its own probe was sent before ours).',
].join('\n');
