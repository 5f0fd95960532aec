/**
 * Deploy on 16 simulated nodes (hardware profile, image present): the whole `ascendctl deploy` wall time,
 * and the overhead from "the master's endpoint first answers" (recorded by the simulated daemon) to
 * "ascendctl says ready". The bench process polls the master itself (a one-token request every 20 ms, at
 * most one in flight) while the deploy runs, so that the first answer comes as early as it can, and
 * watches the deploy's stdout for its ready line. Then `status` on a 64-node deployment (fast profile).
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  BENCH_MODEL_PATH, DEPLOYMENT_NAME, figure, judge, median, nowMs, repeat, startSimProcess, timeCli, type BenchSettings, type ResultRow, type SimProcess, watchCli,
} from './lib.js';

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
  /** ascendctl's ready line (bench clock) − the simulated daemon's first answer (its record), both Date.now(). */
  overheadMs: number;
  /** The same against the bench's own poller's first answer (performance.now() of this process). */
  pollerOverheadMs: number;
}

interface ServingRecord { listeningAt: number; firstAnswerAt?: number }

/** The simulated master daemon's record of when it began to listen and first answered (GET /state). */
async function servingRecordOf(sim: SimProcess, node: string): Promise<ServingRecord | undefined> {
  const state = await (await fetch(`${sim.controlUrl}/state`)).json() as { nodes: { name: string; serving?: ServingRecord }[] };
  return state.nodes.find((n) => n.name === node)?.serving;
}

async function deployOnce(s: BenchSettings, sim: SimProcess, args: string[] = []): Promise<DeployRun> {
  const endpoint = `http://${sim.nodes[0]!.host}:1025`;
  const poller = pollEndpoint(endpoint, DEPLOYMENT_NAME);
  const t0 = nowMs();
  let readyAt: number | undefined;
  let readyWall: number | undefined;
  const run = watchCli(s.build, ['deploy', sim.deploymentPath, ...args], {
    cwd: sim.dir,
    onLine: (line, at) => {
      if (readyAt === undefined && READY_LINE.test(line)) {
        readyWall = Date.now();
        readyAt = at;
      }
    },
  });
  try {
    const r = await run.done;
    const wallMs = nowMs() - t0;
    if (r.exitCode !== 0 || readyAt === undefined || readyWall === undefined) {
      throw new Error(`deploy exited ${r.exitCode}${readyAt === undefined ? ' without its ready line' : ''}:\n${r.stdout.slice(-20).join('\n')}\n${r.stderr.slice(-2000)}`);
    }
    const answered = await Promise.race([poller.answeredAt, new Promise<undefined>((r2) => setTimeout(() => r2(undefined), 10_000))]);
    if (answered === undefined) throw new Error('deploy said ready, but the master never answered the bench\'s one-token request');
    const rec = await servingRecordOf(sim, sim.nodes[0]!.name);
    if (rec?.firstAnswerAt === undefined) throw new Error(`deploy said ready, but the simulated master recorded no answer (${JSON.stringify(rec)})`);
    return { wallMs, overheadMs: readyWall - rec.firstAnswerAt, pollerOverheadMs: readyAt - answered };
  } finally {
    poller.stop();
    await timeCli(s.build, ['stop', sim.deploymentPath], { cwd: sim.dir });
  }
}

export const DEPLOY_RUNS = 3;
export const STATUS_RUNS = 5;
const DEPLOY_NODES = 16;
const STATUS_NODES = 64;

export async function benchDeploy(s: BenchSettings): Promise<ResultRow[]> {
  const rows: ResultRow[] = [];
  const sim = await startSimProcess({ nodes: DEPLOY_NODES, subnet: 234, dir: path.join(s.scratch, `deploy-${DEPLOY_NODES}`), build: s.build });
  try {
    const runs: DeployRun[] = [];
    for (let i = 0; i < s.runs(DEPLOY_RUNS); i++) {
      runs.push(await deployOnce(s, sim));
      const r = runs.at(-1)!;
      s.log(`  deploy ${DEPLOY_NODES} nodes run ${i + 1}: ${r.wallMs.toFixed(0)} ms, first answer → ready line ${r.overheadMs.toFixed(0)} ms (bench poller's answer → ready line ${r.pollerOverheadMs.toFixed(0)} ms)`);
    }
    rows.push(
      judge(`deploy ${DEPLOY_NODES} nodes: wall time`, figure('deploy (preflight gate included)', 'ms', runs.map((r) => r.wallMs)), undefined, undefined),
      judge(`deploy ${DEPLOY_NODES} nodes: endpoint's first answer → ascendctl ready`, figure('ready line − first answer', 'ms', runs.map((r) => r.overheadMs)), undefined,
        { kind: 'max-value', limit: 50 },
        `against the bench's own poller's answer (its clock alone): median ${median(runs.map((r) => r.pollerOverheadMs)).toFixed(1)} ms`),
    );
  } finally {
    await sim.stop();
  }

  const big = await startSimProcess({
    nodes: STATUS_NODES, subnet: 235, profile: 'fast', extraImages: [VLLM_IMAGE], dir: path.join(s.scratch, `status-${STATUS_NODES}`), build: s.build,
  });
  try {
    // MindIE's multi-node mode holds at most 60 servers (docs/mindie-multinode.md §1): 64 nodes serve
    // through vllm-ascend.
    big.deploymentPath = path.join(big.dir, 'r1-vllm.yaml');
    await writeFile(big.deploymentPath, vllmDeploymentYaml(STATUS_NODES));
    await timeCli(s.build, ['deploy', '--skip-preflight', big.deploymentPath], { cwd: big.dir });
    try {
      const times = await repeat(s.runs(STATUS_RUNS), async (i) => {
        const r = await timeCli(s.build, ['status', big.deploymentPath, '--json'], { cwd: big.dir, reject: false });
        // Every node's container must be reported running and the master healthy: a status that
        // answered quickly because it saw nothing would not count.
        let running = 0;
        let healthy = false;
        try {
          const st = JSON.parse(r.result.stdout) as { healthy?: boolean; nodes?: { container?: string }[] };
          running = (st.nodes ?? []).filter((n) => n.container === 'running').length;
          healthy = st.healthy === true;
        } catch {
          // not JSON: reported below
        }
        if (r.result.exitCode !== 0 || running < STATUS_NODES || !healthy) {
          throw new Error(`status on a serving ${STATUS_NODES}-node deployment exited ${r.result.exitCode} with ${running} nodes running:\n${r.result.stdout.slice(0, 2000)}\n${r.result.stderr.slice(0, 2000)}`);
        }
        s.log(`  status ${STATUS_NODES} nodes run ${i + 1}: ${r.ms.toFixed(0)} ms`);
        return r.ms;
      });
      rows.push(judge(`status ${STATUS_NODES} nodes (fast profile)`, figure('ascendctl status --json', 'ms', times), undefined, { kind: 'max-value', limit: 2000 }));
    } finally {
      await timeCli(s.build, ['stop', big.deploymentPath], { cwd: big.dir, reject: false });
    }
  } finally {
    await big.stop();
  }
  return rows;
}

export const VLLM_IMAGE = 'quay.io/ascend/vllm-ascend:v0.13.0';

/** R1 on vllm-ascend as its tutorial runs it, two DP ranks per node (TP 4), across `nodes` nodes. */
export function vllmDeploymentYaml(nodes: number): string {
  return [
    `name: ${DEPLOYMENT_NAME}`,
    'inventory: inventory.yaml',
    'backend: vllm-ascend',
    `image: ${VLLM_IMAGE}`,
    'model:',
    `  path: ${BENCH_MODEL_PATH}`,
    `  name: ${DEPLOYMENT_NAME}`,
    'parallel:',
    `  dataParallelSize: ${nodes * 2}`,
    '  tensorParallelSize: 4',
    // R1's 256 routed experts cap expert parallelism at 256: the rest of the NPUs split each expert.
    `  moeTensorParallelSize: ${(nodes * 8) / Math.min(256, nodes * 8)}`,
    `  moeExpertParallelSize: ${Math.min(256, nodes * 8)}`,
    'ports:',
    '  http: 8000',
    '  management: 8000',
    '  metrics: 8000',
    '  multiNodesInfer: 13389',
    'vllm:',
    '  dataParallelSizeLocal: 2',
    '',
  ].join('\n');
}

export const DEPLOY_METHOD = [
  '`node bin/ascendctl deploy deepseek-r1.yaml` (16 nodes, dp 16 × tp 8, the image already on every node, hardware',
  'profile: weights load in ≈ 4 s, a token ≈ 35 ms after a ≈ 250 ms prefill), preflight gate included, timed from',
  'spawn to exit; then `ascendctl stop` (not timed) before the next run.',
  '',
  '**Endpoint\'s first answer → ready line**: while the deploy runs, the bench process sends a one-token, non-streaming',
  'chat request to the master\'s HTTP port every 20 ms (one in flight at most; before the daemon listens each one is',
  'refused at once), so the endpoint answers as early as it can. The simulated MindIE daemon records on the wall',
  'clock when it first answers an inference request with content (whoever asked: the bench or ascendctl), shown by',
  'the simulator\'s control API (`GET /state`, `serving.firstAnswerAt`). The figure is the wall-clock time the bench',
  'reads ascendctl\'s ready line ("… is serving after …") on its stdout minus that first answer. The note gives the',
  'same span against the bench poller\'s own answer on the bench\'s clock alone. A negative value would mean',
  'ascendctl\'s own probe was answered first.',
  '',
  '**status** (64 nodes, `fast` profile): `ascendctl deploy --skip-preflight` of R1 on vllm-ascend (MindIE\'s multi-node',
  'mode holds at most 60 servers; DP 128, 2 per node, TP 4, MoE TP 2 × EP 256) on a second simulated cluster (not timed), then',
  '`node bin/ascendctl status r1-vllm.yaml --json`, timed from spawn to exit (Node start-up included); each run',
  'must exit 0 and report all 64 containers running and the master healthy; then `ascendctl stop`.',
].join('\n');
