/**
 * Merged-logs throughput and memory: 16 and 64 simulated nodes whose deployment container holds a full log,
 * read once with `ascendctl logs` (lines/s and the CLI's peak RSS) beside one `ssh … docker logs -t …` per
 * node concatenated by the shell, both read by the same `wc -l`. The simulator has no log-rate knob, so each
 * node's container is a plain `cat` of a log file uploaded first: `docker run IMAGE cat FILE` logs every
 * line of FILE (container-runtime.ts), and the container keeps its log after it exits, as docker's
 * json-file log does.
 *
 * Targets (issue #12): the merge at ≥ 0.95× the shell's rate; peak RSS ≤ 96 MiB at 16 and at 64 nodes,
 * plain and with --tail, --grep and --json; the full read's peak within 16 MiB of the peak at a tenth of
 * the lines per node (--tail), i.e. memory that does not grow with the log.
 */
import { readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { LOG_CAPACITY } from '../src/sim/runtime-container.js';
import { fileURLToPath } from 'node:url';
import {
  BENCH_IMAGE, DEPLOYMENT_NAME, SSH_PORT, figure, judge, median, nowMs, shq, startSimProcess, timeShell,
  type BenchSettings, type ResultRow, type SimProcess,
} from './lib.js';

/** The second baseline's client: the same streams through ssh2 in one Node.js process, copied to stdout. */
const SSH2_FLOOR = fileURLToPath(new URL('./ssh2-floor.mjs', import.meta.url));

/** Every line the simulated container keeps (older lines are rotated away beyond this). */
export const LINES_PER_NODE = LOG_CAPACITY;
/** BENCH_QUICK: a smoke run, with fewer lines per node. */
const QUICK_LINES_PER_NODE = 2_000;
const CONTAINER = `ascendctl-${DEPLOYMENT_NAME}`;
/** Peak RSS allowed at any size and with any flags. */
const MAX_RSS_MIB = 96;
/** How far the full read's peak may be above the peak at a tenth of the lines. */
const MAX_GROWTH_MIB = 16;
/** The merge's rate against the shell's. */
const MIN_RATE_RATIO = 0.95;
const GREP = 'decode 3[0-9] reqs';

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

/** What prepareNodes runs on each node: plain argv lists, as a simulated node runs argv, not a shell (src/sim/shell.ts). */
export const NODE_SETUP = {
  /** With the log file on standard input. */
  upload: 'mkdir -p /data/bench; install -m 644 /dev/stdin /data/bench/app.log',
  run: `docker rm -f ${CONTAINER}; docker run -d --name ${CONTAINER} -v /data/bench:/data/bench ${BENCH_IMAGE} cat /data/bench/app.log`,
  logs: `docker logs ${CONTAINER}`,
};

function sshBase(sim: SimProcess): string {
  return `ssh ${sim.sshArgs.map(shq).join(' ')}`;
}

async function prepareNodes(s: BenchSettings, sim: SimProcess, lines: number): Promise<void> {
  const file = path.join(sim.dir, 'app.log');
  await writeFile(file, logText(lines));
  // At most 16 uploads at once: 64 ssh clients starting together only compete for the 2 cores.
  for (let i = 0; i < sim.nodes.length; i += 16) {
    await Promise.all(sim.nodes.slice(i, i + 16).map(async (n) => {
      const up = await timeShell(`${sshBase(sim)} ${n.host} ${shq(NODE_SETUP.upload)} < ${shq(file)}`);
      if (up.result.exitCode !== 0) throw new Error(`uploading the log to ${n.name} failed: ${up.result.stderr}`);
      const run = await timeShell(`${sshBase(sim)} ${n.host} ${shq(NODE_SETUP.run)}`);
      if (run.result.exitCode !== 0) throw new Error(`starting the log container on ${n.name} failed: ${run.result.stderr}`);
    }));
  }
  // The containers exit once cat is done; wait until every log is complete.
  for (const n of sim.nodes) {
    for (let attempt = 0; ; attempt++) {
      const c = await timeShell(`${sshBase(sim)} ${n.host} ${shq(NODE_SETUP.logs)} | wc -l`);
      if (Number(c.result.stdout.trim()) === lines) break;
      if (attempt >= 50) throw new Error(`${n.name}'s container logged ${c.result.stdout.trim()} of ${lines} lines`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  s.log(`  ${sim.nodes.length} nodes hold ${lines} log lines each`);
}

interface Read {
  ms: number;
  lines: number;
  rssMiB: number;
  /** CPU time (user + sys) of the reader: ascendctl, or the baseline's clients. */
  cpuMs: number;
  /** CPU time the simulated nodes (the one `sim.js serve` process) spent meanwhile. */
  simCpuMs: number;
}

/** Linux's USER_HZ: /proc/PID/stat counts CPU time in hundredths of a second. */
const TICK_MS = 10;

/** CPU time (user + sys) of process `pid` so far, from /proc/PID/stat (fields 14 and 15). */
function processCpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
}

/**
 * `script` under GNU time: what it printed, and the figures of a Read but its line count (wall time, peak RSS
 * and CPU of its processes, the simulator's CPU meanwhile; NaN when the script failed).
 */
async function timedRead(sim: SimProcess, script: string, usageFile: string, opts: Parameters<typeof timeShell>[1] = {}) {
  const sim0 = processCpuMs(sim.pid);
  const r = await timeShell(`set -o pipefail; /usr/bin/time -f '%M %U %S' -o ${shq(usageFile)} ${script}`, opts);
  const simCpuMs = processCpuMs(sim.pid) - sim0;
  const [kib = Number.NaN, user = Number.NaN, sys = Number.NaN] = r.result.exitCode === 0
    ? (await readFile(usageFile, 'utf8')).trim().split('\n').at(-1)!.split(' ').map(Number) : [];
  const usage: Omit<Read, 'lines'> = { ms: r.ms, rssMiB: kib / 1024, cpuMs: (user + sys) * 1000, simCpuMs };
  return { result: r.result, usage };
}

/**
 * `ascendctl logs` under GNU time (peak RSS of node itself: it execs nothing else), its stdout counted by
 * `wc -l` exactly as the baseline's is. `expected` is the exact line count the read must print.
 */
async function ascendctlLogs(s: BenchSettings, sim: SimProcess, tag: string, flags: string[], expected: number | undefined): Promise<Read> {
  const errFile = path.join(sim.dir, `err-${tag}.txt`);
  const cli = [process.execPath, s.build.bin, 'logs', sim.deploymentPath, ...flags].map(shq).join(' ');
  const r = await timedRead(sim, `${cli} 2>${shq(errFile)} | wc -l`, path.join(sim.dir, `usage-${tag}.txt`), {
    cwd: sim.dir, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', NO_COLOR: '1', HOME: process.env.HOME ?? sim.dir },
  });
  if (r.result.exitCode !== 0) {
    // Node's warnings come first on stderr; the CLI's own error is what the report row should show.
    const stderr = await readFile(errFile, 'utf8').catch(() => '');
    const said = stderr.split('\n').filter((l) => l.trim() !== '' && !/Warning|--trace-warnings/.test(l)).join(' ');
    throw new Error(`ascendctl logs ${flags.join(' ')} exited ${r.result.exitCode}: ${said.slice(0, 1000)}`);
  }
  const lines = Number(r.result.stdout.trim());
  if (expected !== undefined && lines !== expected) throw new Error(`ascendctl logs ${flags.join(' ')} printed ${lines} lines, expected ${expected}`);
  return { ...r.usage, lines };
}

/**
 * The shell's `{ for … & done; wait; } | wc -l` under GNU time. The `wait` is inside the pipeline's subshell so
 * that it reaps every ssh client and their CPU is counted (a client left to exit after its subshell is not).
 */
async function sshLogs(sim: SimProcess, expected: number): Promise<Read> {
  const hosts = sim.nodes.map((n) => n.host).join(' ');
  const script = `{ for h in ${hosts}; do ${sshBase(sim)} $h ${shq(`docker logs -t ${CONTAINER}`)} & done; wait; } | wc -l`;
  const r = await timedRead(sim, `bash --norc -c ${shq(script)}`, path.join(sim.dir, 'usage-ssh.txt'), { env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
  const lines = Number(r.result.stdout.trim());
  if (r.result.exitCode !== 0 || lines !== expected) {
    throw new Error(`the ssh baseline read ${r.result.stdout.trim()} lines (exit ${r.result.exitCode}): ${r.result.stderr.slice(0, 500)}`);
  }
  return { ...r.usage, lines };
}

/** The same streams read by bench/ssh2-floor.mjs: ssh2 in one Node.js process, bytes copied to stdout unread. */
async function ssh2Floor(sim: SimProcess, expected: number): Promise<Read> {
  const args = [process.execPath, SSH2_FLOOR, String(SSH_PORT), sim.identityPath, sim.knownHostsPath, CONTAINER, ...sim.nodes.map((n) => n.host)];
  const r = await timedRead(sim, `${args.map(shq).join(' ')} | wc -l`, path.join(sim.dir, 'usage-floor.txt'), { env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
  const lines = Number(r.result.stdout.trim());
  if (r.result.exitCode !== 0 || lines !== expected) {
    throw new Error(`the ssh2 floor read ${r.result.stdout.trim()} lines (exit ${r.result.exitCode}): ${r.result.stderr.slice(0, 500)}`);
  }
  return { ...r.usage, lines };
}

/** Runs per size: [merged read and both baselines, --tail, --grep, --json]. */
export const LOGS_RUNS: Record<number, [number, number, number, number]> = { 16: [5, 3, 3, 3], 64: [3, 2, 1, 1] };

async function benchSize(s: BenchSettings, nodes: number, subnet: number): Promise<ResultRow[]> {
  const perNode = s.quick ? QUICK_LINES_PER_NODE : LINES_PER_NODE;
  const small = perNode / 10;
  const total = perNode * nodes;
  const runs = LOGS_RUNS[nodes]!;
  const [nMain, nTail, nGrep, nJson] = [s.runs(runs[0]), s.runs(runs[1]), s.runs(runs[2]), s.runs(runs[3])];
  const sim = await startSimProcess({ nodes, subnet, dir: path.join(s.scratch, `logs-${nodes}`), build: s.build });
  try {
    await prepareNodes(s, sim, perNode);
    if (nodes > 60) {
      // MindIE's multi-node rank table holds at most 60 servers; logs only needs the deployment's name.
      const yaml = await readFile(sim.deploymentPath, 'utf8');
      await writeFile(sim.deploymentPath, yaml.replace('backend: mindie', 'backend: vllm-ascend'));
    }
    const ours: Read[] = [];
    const theirs: Read[] = [];
    const floor: Read[] = [];
    const tails: Read[] = [];
    for (let i = 0; i < nMain; i++) {
      ours.push(await ascendctlLogs(s, sim, `all-${i}`, [], total));
      theirs.push(await sshLogs(sim, total));
      floor.push(await ssh2Floor(sim, total));
      const [o, t, f] = [ours.at(-1)!, theirs.at(-1)!, floor.at(-1)!];
      s.log(`  ${nodes} nodes, run ${i + 1}: ascendctl ${o.ms.toFixed(0)} ms (${o.rssMiB.toFixed(0)} MiB peak, CPU ${o.cpuMs.toFixed(0)} ms, nodes ${o.simCpuMs.toFixed(0)} ms), ` +
        `ssh ${t.ms.toFixed(0)} ms (CPU ${t.cpuMs.toFixed(0)}, nodes ${t.simCpuMs.toFixed(0)}), ssh2 floor ${f.ms.toFixed(0)} ms (CPU ${f.cpuMs.toFixed(0)}, nodes ${f.simCpuMs.toFixed(0)})`);
      if (i < nTail) tails.push(await ascendctlLogs(s, sim, `tail-${i}`, ['--tail', String(small)], small * nodes));
    }
    const grep: Read[] = [];
    for (let i = 0; i < nGrep; i++) grep.push(await ascendctlLogs(s, sim, `grep-${i}`, ['--grep', GREP], undefined));
    const json: Read[] = [];
    for (let i = 0; i < nJson; i++) json.push(await ascendctlLogs(s, sim, `json-${i}`, ['--json'], total));
    s.log(`  ${nodes} nodes: --tail ${small} ${tails.map((r) => `${r.rssMiB.toFixed(0)}`).join(', ')} MiB; --grep ${grep.map((r) => `${r.rssMiB.toFixed(0)}`).join(', ')} MiB; --json ${json.map((r) => `${r.rssMiB.toFixed(0)}`).join(', ')} MiB`);
    const rss = (rows: Read[]): number[] => rows.map((r) => r.rssMiB);
    const rate = (rows: { ms: number; lines: number }[]): number[] => rows.map((r) => (r.lines / r.ms) * 1000);
    const cpu = (rows: Read[]): number[] => rows.map((r) => r.cpuMs);
    const simCpu = (rows: Read[]): number[] => rows.map((r) => r.simCpuMs);
    const secs = (ms: number[]): string => `${(median(ms) / 1000).toFixed(2)} s`;
    const cap = { kind: 'max-value', limit: MAX_RSS_MIB } as const;
    return [
      judge(`logs ${nodes} nodes: merged lines/s`,
        figure('ascendctl logs', 'lines/s', rate(ours)),
        figure('ssh … docker logs -t per node, concatenated by the shell', 'lines/s', rate(theirs)),
        { kind: 'min-ratio', limit: MIN_RATE_RATIO },
        `${total.toLocaleString('en-US')} lines (${nodes} × ${perNode.toLocaleString('en-US')}) per run, both counted by wc -l. The baseline's lines are not prefixed, not parsed, not merged and may interleave mid-line.`),
      judge(`logs ${nodes} nodes: merged lines/s against ssh2 alone`,
        figure('ascendctl logs', 'lines/s', rate(ours)),
        figure('the same streams through ssh2 in one Node.js process, copied to stdout unread (bench/ssh2-floor.mjs)', 'lines/s', rate(floor)),
        undefined,
        'no target: it tells how much of the gap to the first baseline is the merge and how much is SSH in one JavaScript thread on cores it shares with the simulated nodes'),
      judge(`logs ${nodes} nodes: CPU time per read`,
        figure('ascendctl logs, user + sys', 'ms', cpu(ours)),
        figure('the ssh clients and wc of the first baseline, user + sys', 'ms', cpu(theirs)),
        undefined,
        `no target: where the rate goes. The simulated nodes (one process) used ${secs(simCpu(ours))} while ascendctl read, ${secs(simCpu(theirs))} while the ssh clients did, ${secs(simCpu(floor))} while the ssh2 floor did (its own CPU: ${secs(cpu(floor))}); the machine has ${os.cpus().length} cores`),
      judge(`logs ${nodes} nodes: peak RSS`, figure('ascendctl logs peak RSS', 'MiB', rss(ours)), undefined, cap,
        `while printing ${total.toLocaleString('en-US')} lines of ≈ 130 bytes (≈ ${Math.round((total * 130) / 1024 / 1024)} MiB of log text)`),
      judge(`logs ${nodes} nodes: peak RSS, ${perNode.toLocaleString('en-US')} vs ${small.toLocaleString('en-US')} lines per node`,
        figure('ascendctl logs peak RSS', 'MiB', rss(ours)),
        figure(`ascendctl logs --tail ${small} peak RSS`, 'MiB', rss(tails)),
        { kind: 'max-diff', limit: MAX_GROWTH_MIB },
        'memory that does not grow with the log: ten times the lines, about the same peak'),
      judge(`logs ${nodes} nodes: peak RSS at --tail ${small}`, figure(`ascendctl logs --tail ${small} peak RSS`, 'MiB', rss(tails)), undefined, cap),
      judge(`logs ${nodes} nodes: peak RSS with --grep`, figure(`ascendctl logs --grep '${GREP}' peak RSS`, 'MiB', rss(grep)), undefined, cap,
        `${grep[0]?.lines.toLocaleString('en-US') ?? '?'} of ${total.toLocaleString('en-US')} lines match; ${Math.round(grep.reduce((a, r) => a + (total / r.ms) * 1000, 0) / grep.length).toLocaleString('en-US')} lines/s read`),
      judge(`logs ${nodes} nodes: peak RSS with --json`, figure('ascendctl logs --json peak RSS', 'MiB', rss(json)), undefined, cap,
        `${Math.round(rate(json).reduce((a, b) => a + b, 0) / json.length).toLocaleString('en-US')} lines/s`),
    ];
  } finally {
    await sim.stop();
  }
}

export async function benchLogs(s: BenchSettings): Promise<ResultRow[]> {
  return [...(await benchSize(s, 16, 236)), ...(await benchSize(s, 64, 237))];
}

export const LOGS_METHOD = [
  `16 and 64 nodes; on each, a log file of ${LINES_PER_NODE.toLocaleString('en-US')} MindIE-like lines (≈ 130 bytes) is uploaded and`,
  `\`docker run -d --name ${CONTAINER} -v /data/bench:/data/bench <image> cat /data/bench/app.log\` started, so that`,
  'the deployment\'s container holds a full log (the simulated runtime keeps the last 20,000 lines per container, as',
  'a rotated json-file log would). The simulator has no knob for a log rate, and nothing was added to src/ for one.',
  'A node\'s program stops once about 128–192 KiB wait unsent in a channel whose window the client has not opened, as',
  'docker logs stops on a full pipe to sshd (src/sim/byte-pipe.ts): a node the merge pauses costs the simulator nothing.',
  'Until then it goes on writing while the channel sends, as a program writes into a pipe while sshd reads from it.',
  '',
  '`node bin/ascendctl logs deepseek-r1.yaml` (no `--tail`: the whole log) runs under GNU `time -f %M` for its peak',
  'RSS, its stdout piped into `wc -l`; the count must be exact. Lines/s = lines ÷ wall time from spawn to exit.',
  'Baseline, same run, interleaved: `{ for h in …; do ssh … $h docker logs -t <container> & done; wait; } | wc -l` — `-t`',
  'because ascendctl always asks docker for timestamps, so both move the same bytes over SSH and into the same reader.',
  'Second baseline, same run, interleaved: `node bench/ssh2-floor.mjs … | wc -l`, one Node.js process that opens the',
  'same channels with ssh2 (the library ascendctl uses, its default window) and copies their bytes to stdout unread:',
  'what any one-process Node.js client could reach here, where the simulated nodes share the two cores with the reader.',
  'Every read also runs under GNU `time -f \'%M %U %S\'` (the baseline\'s whole `bash --norc -c …`, so every ssh client it',
  'waits for is counted) and the simulator process\'s CPU is read from /proc/PID/stat before and after: where the time goes.',
  'Every shell the bench starts is `bash --norc`, so no ~/.bashrc is timed on either side (bench/lib.ts, timeShell).',
  '',
  `Peak RSS is also taken for \`--tail 2000\` (a tenth of the lines per node: a peak that follows the volume is not`,
  `bounded), \`--grep '${GREP}'\` and \`--json\`. Runs per size: ${Object.entries(LOGS_RUNS).map(([n, r]) => `${n} nodes ${r[0]} merged + ${r[0]} baseline, ${r[1]} --tail, ${r[2]} --grep, ${r[3]} --json`).join('; ')}.`,
  `BENCH_QUICK=1 reads ${QUICK_LINES_PER_NODE.toLocaleString('en-US')} lines per node, once each.`,
].join('\n');
