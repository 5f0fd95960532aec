/**
 * Merged-logs throughput: 16 simulated nodes whose deployment container holds a full log, read once with
 * `ascendctl logs` (lines/s and the CLI's peak RSS) beside one `ssh … docker logs -t …` per node merged
 * by the shell. The simulator has no log-rate knob, so each node's container is a plain `cat` of a log
 * file uploaded first: `docker run IMAGE cat FILE` logs every line of FILE (container-runtime.ts), and
 * the container keeps its log after it exits, as docker's json-file log does.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { LOG_CAPACITY } from '../src/sim/runtime-container.js';
import {
  BENCH_IMAGE, DEPLOYMENT_NAME, figure, judge, nowMs, repeat, shq, startSimProcess, timeShell, watchCli,
  type BenchSettings, type ResultRow, type SimProcess,
} from './lib.js';

const NODES = 16;
/** Every line the simulated container keeps (older lines are rotated away beyond this). */
export const LINES_PER_NODE = LOG_CAPACITY;
const CONTAINER = `ascendctl-${DEPLOYMENT_NAME}`;

/** A MindIE-like log of `n` lines (≈ 130 bytes each), every line distinct. */
export function logText(n: number, pid = 41_203): string {
  const out: string[] = [];
  const start = Date.UTC(2026, 10, 28, 7, 30, 0);
  for (let i = 0; i < n; i++) {
    const d = new Date(start + i * 7);
    const ts = `${d.toISOString().slice(0, 10)} ${d.toISOString().slice(11, 23)}+08:00`;
    out.push(`[${ts}] [${pid}] [INFO] [llm] batch ${i}: prefill 1 req, decode ${32 + (i % 32)} reqs, ${1024 + (i % 977)} tokens, kv cache ${(i % 1000) / 10}% used`);
  }
  return `${out.join('\n')}\n`;
}

function sshBase(sim: SimProcess): string {
  return `ssh ${sim.sshArgs.map(shq).join(' ')}`;
}

async function prepareNodes(s: BenchSettings, sim: SimProcess): Promise<void> {
  const file = path.join(sim.dir, 'app.log');
  await writeFile(file, logText(LINES_PER_NODE));
  await Promise.all(sim.nodes.map(async (n) => {
    const up = await timeShell(`${sshBase(sim)} ${n.host} 'mkdir -p /data/bench && cat > /data/bench/app.log' < ${shq(file)}`);
    if (up.result.exitCode !== 0) throw new Error(`uploading the log to ${n.name} failed: ${up.result.stderr}`);
    const run = await timeShell(`${sshBase(sim)} ${n.host} ${shq(`docker rm -f ${CONTAINER} >/dev/null 2>&1; docker run -d --name ${CONTAINER} -v /data/bench:/data/bench ${BENCH_IMAGE} cat /data/bench/app.log`)}`);
    if (run.result.exitCode !== 0) throw new Error(`starting the log container on ${n.name} failed: ${run.result.stderr}`);
  }));
  // The containers exit once cat is done; wait until every log is complete.
  for (const n of sim.nodes) {
    for (let attempt = 0; ; attempt++) {
      const c = await timeShell(`${sshBase(sim)} ${n.host} ${shq(`docker logs ${CONTAINER} | wc -l`)}`);
      if (Number(c.result.stdout.trim()) === LINES_PER_NODE) break;
      if (attempt >= 50) throw new Error(`${n.name}'s container logged ${c.result.stdout.trim()} of ${LINES_PER_NODE} lines`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  s.log(`  ${sim.nodes.length} nodes hold ${LINES_PER_NODE} log lines each`);
}

async function ascendctlLogs(s: BenchSettings, sim: SimProcess, i: number, tail?: number): Promise<{ ms: number; lines: number; rssMiB: number }> {
  const rssFile = path.join(sim.dir, `rss-${i}-${tail ?? 'all'}.txt`);
  let lines = 0;
  const t0 = nowMs();
  // GNU time reports the peak RSS (kB) of the process it runs: node itself, since it execs nothing else.
  const run = watchCli(s.build, ['logs', sim.deploymentPath, ...(tail === undefined ? [] : ['--tail', String(tail)])], {
    cwd: sim.dir, keepLines: false, prefix: ['/usr/bin/time', '-f', '%M', '-o', rssFile],
    onLine: (line) => { if (line.includes(' | ') || line.includes(' │ ')) lines++; },
  });
  const r = await run.done;
  const ms = nowMs() - t0;
  if (r.exitCode !== 0) {
    // Node's warnings come first on stderr; the CLI's own error is what the report row should show.
    const said = r.stderr.split('\n').filter((l) => l.trim() !== '' && !/Warning|--trace-warnings/.test(l)).join(' ');
    throw new Error(`ascendctl logs exited ${r.exitCode}: ${said.slice(0, 1000)}`);
  }
  const expected = (tail ?? LINES_PER_NODE) * sim.nodes.length;
  if (lines !== expected) throw new Error(`ascendctl logs printed ${lines} node lines, expected ${expected}`);
  const kb = Number((await readFile(rssFile, 'utf8')).trim().split('\n').at(-1));
  return { ms, lines, rssMiB: kb / 1024 };
}

async function sshLogs(sim: SimProcess): Promise<{ ms: number; lines: number }> {
  const hosts = sim.nodes.map((n) => n.host).join(' ');
  const script = `for h in ${hosts}; do ${sshBase(sim)} $h ${shq(`docker logs -t ${CONTAINER}`)} & done | wc -l; wait`;
  const r = await timeShell(script, { env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
  const lines = Number(r.result.stdout.trim());
  if (r.result.exitCode !== 0 || lines !== LINES_PER_NODE * sim.nodes.length) {
    throw new Error(`the ssh baseline read ${r.result.stdout.trim()} lines (exit ${r.result.exitCode}): ${r.result.stderr.slice(0, 500)}`);
  }
  return { ms: r.ms, lines };
}

export const LOGS_RUNS = 5;

export async function benchLogs(s: BenchSettings): Promise<ResultRow[]> {
  const sim = await startSimProcess({ nodes: NODES, subnet: 236, dir: path.join(s.scratch, 'logs-16'), build: s.build });
  try {
    await prepareNodes(s, sim);
    const ours: { ms: number; lines: number; rssMiB: number }[] = [];
    const theirs: { ms: number; lines: number }[] = [];
    for (let i = 0; i < s.runs(LOGS_RUNS); i++) {
      ours.push(await ascendctlLogs(s, sim, i));
      theirs.push(await sshLogs(sim));
      s.log(`  logs run ${i + 1}: ascendctl ${ours.at(-1)!.ms.toFixed(0)} ms (${ours.at(-1)!.rssMiB.toFixed(0)} MiB peak), ssh ${theirs.at(-1)!.ms.toFixed(0)} ms`);
    }
    // The same read at a quarter of the volume: a peak RSS that follows the volume is not bounded.
    const quarter = LINES_PER_NODE / 4;
    const small = await repeat(s.runs(3), (i) => ascendctlLogs(s, sim, i, quarter));
    s.log(`  logs --tail ${quarter}: ${small.map((r) => `${r.rssMiB.toFixed(0)} MiB`).join(', ')} peak`);
    const total = LINES_PER_NODE * NODES;
    return [
      judge('logs 16 nodes: merged lines/s',
        figure('ascendctl logs', 'lines/s', ours.map((r) => (r.lines / r.ms) * 1000)),
        figure('ssh … docker logs per node, merged by the shell', 'lines/s', theirs.map((r) => (r.lines / r.ms) * 1000)),
        undefined,
        `${total.toLocaleString('en-US')} lines (${NODES} × ${LINES_PER_NODE}) per run; the contract sets no number, only "keeps up with bounded memory". The ssh baseline's lines are not prefixed, not parsed and may interleave mid-line.`),
      judge('logs 16 nodes: peak RSS of ascendctl', figure('ascendctl logs peak RSS', 'MiB', ours.map((r) => r.rssMiB)), undefined, undefined,
        `while printing ${total.toLocaleString('en-US')} lines of ≈ 130 bytes (≈ ${Math.round((total * 130) / 1024 / 1024)} MiB of log text)`),
      judge(`logs 16 nodes: peak RSS at --tail ${quarter}`, figure(`ascendctl logs --tail ${quarter} peak RSS`, 'MiB', small.map((r) => r.rssMiB)), undefined, undefined,
        `a quarter of the lines: if memory is bounded, this is close to the full read's peak; if it follows the volume, it is about a quarter of the way from Node's base RSS`),
    ];
  } finally {
    await sim.stop();
  }
}

export const LOGS_METHOD = [
  `16 nodes; on each, a log file of ${LINES_PER_NODE.toLocaleString('en-US')} MindIE-like lines (≈ 130 bytes) is uploaded and`,
  `\`docker run -d --name ${CONTAINER} -v /data/bench:/data/bench <image> cat /data/bench/app.log\` started, so that`,
  'the deployment\'s container holds a full log (the simulated runtime keeps the last 20,000 lines per container, as',
  'a rotated json-file log would). The simulator has no knob for a log rate, and nothing was added to src/ for one.',
  '',
  '`node bin/ascendctl logs deepseek-r1.yaml` (no `--tail`: ascendctl takes a number there, and without it reads the',
  'whole log, which is `--tail all`) runs under GNU `time -f %M` for its peak RSS; its stdout is read line by line by',
  'the bench process and every node-prefixed line counted (the count must be exact). Lines/s = lines ÷ wall time from',
  'spawn to exit. Baseline, same run, interleaved: `for h in …; do ssh … $h docker logs -t <container> & done | wc -l;',
  'wait` — `-t` because ascendctl always asks docker for timestamps, so both move the same bytes over SSH.',
  '',
  'Peak RSS is also taken for `ascendctl logs --tail 5000` (a quarter of the lines, 3 runs): memory that stays bounded',
  'shows about the same peak at both volumes.',
].join('\n');
