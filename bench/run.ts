/**
 * `npm run bench`: build (the npm script), snapshot the build, run every benchmark, print the table and
 * (re)write BENCHMARKS.md and bench/results/latest.json.
 *
 *   node --import tsx bench/run.ts [preflight|deploy|logs|chat|startup|bundle ...]
 *
 * BENCH_QUICK=1: one run per figure (a smoke run, not a measurement). BENCH_OUT=DIR: write
 * BENCHMARKS.md and latest.json into DIR instead. Naming benchmarks runs only those; the files are then
 * written only with BENCH_OUT, so that a partial run never replaces the full report.
 * Exit status: 0 when every benchmark ran (missed targets are recorded, not fatal), 1 when one failed.
 */
import path from 'node:path';
import { benchChat, CHAT_METHOD, CHAT_RUNS } from './chat.js';
import { benchDeploy, DEPLOY_METHOD, DEPLOY_RUNS, STATUS_RUNS } from './deploy.js';
import {
  machineInfo, makeRuns, makeScratch, nowMs, removeScratch, REPO_ROOT, RESULT_HEADERS, resultCells, snapshotBuild, textTable,
  writeReport, type BenchReport, type BenchSettings, type ResultRow,
} from './lib.js';
import { benchLogs, LOGS_METHOD, LOGS_RUNS } from './logs.js';
import { benchPreflight, PREFLIGHT_METHOD, PREFLIGHT_RUNS } from './preflight.js';
import { benchBundle, benchStartup, BUNDLE_METHOD, STARTUP_METHOD, STARTUP_RUNS } from './startup.js';

interface Benchmark {
  title: string;
  run(s: BenchSettings): Promise<ResultRow[]>;
  method: string;
  runs: (quick: boolean) => string;
}

const one = (quick: boolean, full: string): string => (quick ? '1 run per figure (BENCH_QUICK=1)' : full);

const BENCHMARKS: Record<string, Benchmark> = {
  preflight: {
    title: 'Preflight wall time (4, 16, 64, 256 nodes)', run: benchPreflight, method: PREFLIGHT_METHOD,
    runs: (q) => one(q, `${PREFLIGHT_RUNS.preflight} runs of preflight at 4, 16 and 64 nodes (after one warm-up at 4 nodes), ${PREFLIGHT_RUNS.floor} of the floor interleaved with the 4-node runs and ${PREFLIGHT_RUNS.floor} with the 64-node runs (after one warm-up floor), ${PREFLIGHT_RUNS.checklist} of the pdsh checklist (≈ 40 s each), ${PREFLIGHT_RUNS.big} at 256 nodes each followed by one floor`),
  },
  deploy: {
    title: 'Deploy (16 nodes) and status (64 nodes)', run: benchDeploy, method: DEPLOY_METHOD,
    runs: (q) => one(q, `${DEPLOY_RUNS} deploy + stop cycles at 16 nodes; ${STATUS_RUNS} status runs at 64 nodes`),
  },
  logs: {
    title: 'Logs throughput and memory (16, 64 nodes)', run: benchLogs, method: LOGS_METHOD,
    runs: (q) => one(q, Object.entries(LOGS_RUNS).map(([n, r]) => `${n} nodes: ${r[0]} runs of the merged read and of the baseline, interleaved; ${r[1]} of --tail, ${r[2]} of --grep, ${r[3]} of --json`).join('; ')),
  },
  chat: {
    title: 'Chat time to first token (2 nodes)', run: benchChat, method: CHAT_METHOD,
    runs: (q) => one(q, `${CHAT_RUNS} requests of each, interleaved`),
  },
  startup: {
    title: 'Start-up', run: benchStartup, method: STARTUP_METHOD,
    runs: (q) => one(q, `${STARTUP_RUNS} runs of each, interleaved`),
  },
  bundle: {
    title: 'Bundle size', run: benchBundle, method: BUNDLE_METHOD,
    runs: () => 'one reading of the files',
  },
};

async function main(argv: string[]): Promise<number> {
  const unknown = argv.filter((a) => !(a in BENCHMARKS));
  if (unknown.length > 0) {
    process.stderr.write(`bench: unknown benchmark ${unknown.join(', ')}; choose from ${Object.keys(BENCHMARKS).join(', ')}\n`);
    return 2;
  }
  const selected = argv.length > 0 ? argv : Object.keys(BENCHMARKS);
  const quick = process.env.BENCH_QUICK === '1';
  const outDir = process.env.BENCH_OUT ? path.resolve(process.env.BENCH_OUT) : undefined;
  const machine = machineInfo();
  const started = nowMs();
  const date = new Date().toISOString();
  const scratch = await makeScratch();
  const log = (line: string): void => { process.stderr.write(`${line}\n`); };
  const rows: ResultRow[] = [];
  try {
    const build = await snapshotBuild(scratch);
    const settings: BenchSettings = { quick, runs: makeRuns(quick), build, scratch, log };
    for (const name of selected) {
      const b = BENCHMARKS[name]!;
      log(`▶ ${b.title}`);
      const t0 = nowMs();
      try {
        rows.push(...(await b.run(settings)));
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        log(`  ✗ ${name} failed: ${message}`);
        rows.push({ benchmark: b.title, verdict: 'error', note: message.split('\n')[0] ?? message });
      }
      log(`  (${((nowMs() - t0) / 1000).toFixed(0)} s)`);
    }
  } finally {
    await removeScratch(scratch);
  }

  const report: BenchReport = {
    date,
    quick,
    machine,
    loadAverageAtEnd: machineInfo().loadAverage,
    durationS: (nowMs() - started) / 1000,
    runs: Object.fromEntries(selected.map((n) => [BENCHMARKS[n]!.title, BENCHMARKS[n]!.runs(quick)])),
    method: Object.fromEntries(selected.map((n) => [BENCHMARKS[n]!.title, BENCHMARKS[n]!.method])),
    rows,
  };
  process.stdout.write(`\n${textTable([...RESULT_HEADERS], rows.map(resultCells))}\n`);
  const full = selected.length === Object.keys(BENCHMARKS).length;
  if (outDir) await writeReport(report, outDir, path.join(outDir, 'BENCHMARKS.md'));
  else if (full) await writeReport(report, path.join(REPO_ROOT, 'bench', 'results'), path.join(REPO_ROOT, 'BENCHMARKS.md'));
  else process.stderr.write('(a partial run: BENCHMARKS.md and bench/results/latest.json left as they were; set BENCH_OUT to write them elsewhere)\n');
  return rows.some((r) => r.verdict === 'error') ? 1 : 0;
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exitCode = 1;
});
