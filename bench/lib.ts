/**
 * Shared pieces of `npm run bench`: statistics and formatting (pure, unit-tested), a private copy of the
 * build, the simulator in its own process, child-process timing, and writing the results.
 *
 * Every figure is the median of several runs, and every baseline is measured in the same run on the
 * same machine, so a ratio compares like with like even when the machine is slower than usual.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { r1DeploymentYaml, r1ModelFiles, r1Parallel, simInventoryYaml } from '../src/demo/cluster.js';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Same image and model path as `ascendctl demo`, so the simulated image is present on every node. */
export const BENCH_IMAGE = 'swr.cn-south-1.myhuaweicloud.com/ascendhub/mindie:2.1.RC1-800I-A2-py311-openeuler24.03-lts';
export const BENCH_MODEL_PATH = '/data/models/DeepSeek-R1';
export const DEPLOYMENT_NAME = 'deepseek-r1';
export const SSH_PORT = 2222;

// ---------------------------------------------------------------------------------------------------
// Statistics and formatting

export function median(samples: readonly number[]): number {
  if (samples.length === 0) throw new RangeError('median of no samples');
  const s = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export type Unit = 'ms' | 'lines/s' | 'MiB' | 'KiB';

/** One measured figure: every sample kept, the median is what is compared. */
export interface Figure {
  label: string;
  unit: Unit;
  samples: number[];
  median: number;
}

export function figure(label: string, unit: Unit, samples: readonly number[]): Figure {
  return { label, unit, samples: [...samples], median: median(samples) };
}

/**
 * What a row must satisfy. Ratios are figure ÷ baseline (`max-ratio`, or `min-ratio` for a rate that
 * must keep up) or baseline ÷ figure (`min-speedup`); `max-diff` is figure − baseline; `max-value` is the
 * figure alone.
 */
export type Target =
  | { kind: 'max-ratio'; limit: number }
  | { kind: 'min-speedup'; limit: number }
  | { kind: 'min-ratio'; limit: number }
  | { kind: 'max-diff'; limit: number }
  | { kind: 'max-value'; limit: number };

export type Verdict = 'pass' | 'fail' | 'info' | 'error';

export interface ResultRow {
  benchmark: string;
  figure?: Figure;
  baseline?: Figure;
  target?: Target;
  verdict: Verdict;
  /** What the comparison came to, in words ("1.04×", "6.3× faster", "+0.8 ms"). */
  comparison?: string;
  note?: string;
}

export function formatValue(value: number, unit: Unit): string {
  if (unit === 'ms') {
    if (Math.abs(value) >= 10_000) return `${(value / 1000).toFixed(1)} s`;
    if (Math.abs(value) >= 1000) return `${(value / 1000).toFixed(2)} s`;
    if (Math.abs(value) >= 100) return `${value.toFixed(0)} ms`;
    return `${value.toFixed(1)} ms`;
  }
  if (unit === 'lines/s') return `${Math.round(value).toLocaleString('en-US')} lines/s`;
  if (unit === 'KiB') return `${Math.round(value).toLocaleString('en-US')} KiB`;
  return `${value.toFixed(1)} MiB`;
}

export function formatRatio(ratio: number): string {
  if (!Number.isFinite(ratio)) return '–';
  return `${ratio >= 10 ? ratio.toFixed(1) : ratio.toFixed(2)}×`;
}

export function formatDiff(ms: number): string {
  return `${ms >= 0 ? '+' : '−'}${Math.abs(ms).toFixed(1)} ms`;
}

export function describeTarget(t: Target, unit: Unit): string {
  switch (t.kind) {
    case 'max-ratio': return `≤ ${t.limit}× baseline`;
    case 'min-speedup': return `≥ ${t.limit}× faster than baseline`;
    case 'min-ratio': return `≥ ${t.limit}× baseline`;
    case 'max-diff': return `≤ baseline + ${formatValue(t.limit, unit)}`;
    case 'max-value': return `< ${formatValue(t.limit, unit)}`;
  }
}

/** Judge one figure against its target and baseline; a row without a target is information only. */
export function judge(benchmark: string, fig: Figure, baseline: Figure | undefined, target: Target | undefined, note?: string): ResultRow {
  const row: ResultRow = { benchmark, figure: fig, verdict: 'info', ...(baseline ? { baseline } : {}), ...(target ? { target } : {}), ...(note ? { note } : {}) };
  const v = fig.median;
  const b = baseline?.median;
  if (b !== undefined) {
    if (target?.kind === 'max-diff') row.comparison = fig.unit === 'ms' ? formatDiff(v - b) : `${v >= b ? '+' : '−'}${formatValue(Math.abs(v - b), fig.unit)}`;
    else if (target?.kind === 'min-speedup') row.comparison = `${formatRatio(b / v)} faster`;
    else row.comparison = formatRatio(v / b);
  }
  if (!target) return row;
  if (target.kind !== 'max-value' && b === undefined) throw new Error(`${benchmark}: target ${target.kind} needs a baseline`);
  let ok: boolean;
  switch (target.kind) {
    case 'max-ratio': ok = v / b! <= target.limit; break;
    case 'min-speedup': ok = b! / v >= target.limit; break;
    case 'min-ratio': ok = v / b! >= target.limit; break;
    case 'max-diff': ok = v - b! <= target.limit; break;
    case 'max-value': ok = v < target.limit; break;
  }
  row.verdict = ok ? 'pass' : 'fail';
  return row;
}

function escapeCell(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

export function markdownTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const width = headers.length;
  const line = (cells: readonly string[]): string => {
    if (cells.length !== width) throw new RangeError(`a row has ${cells.length} cells, the table ${width} columns`);
    return `| ${cells.map(escapeCell).join(' | ')} |`;
  };
  return [line(headers), `|${headers.map(() => '---').join('|')}|`, ...rows.map(line)].join('\n');
}

export const RESULT_HEADERS = ['benchmark', 'ascendctl (median)', 'baseline (median)', 'comparison', 'target', 'result'] as const;

export function resultCells(r: ResultRow): string[] {
  const fig = r.figure ? `${r.figure.label}: ${formatValue(r.figure.median, r.figure.unit)}` : '–';
  const base = r.baseline ? `${r.baseline.label}: ${formatValue(r.baseline.median, r.baseline.unit)}` : '–';
  const target = r.target && r.figure ? describeTarget(r.target, r.figure.unit) : '–';
  const verdict = r.verdict === 'pass' ? 'PASS' : r.verdict === 'fail' ? 'FAIL' : r.verdict === 'error' ? `ERROR: ${r.note ?? ''}` : 'info';
  return [r.benchmark, fig, base, r.comparison ?? '–', target, verdict];
}

/** A plain-text table for the terminal: columns padded to their widest cell. */
export function textTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

// ---------------------------------------------------------------------------------------------------
// Run settings

export interface BenchSettings {
  quick: boolean;
  /** Runs per figure for a benchmark whose full setting is `full`. */
  runs(full: number): number;
  build: Build;
  /** Where scratch directories go (removed at the end). */
  scratch: string;
  log(line: string): void;
}

export function makeRuns(quick: boolean): (full: number) => number {
  return (full) => (quick ? 1 : full);
}

/** Run `fn` `n` times one after another (never in parallel: runs would compete for the 2 cores). */
export async function repeat<T>(n: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < n; i++) out.push(await fn(i));
  return out;
}

export function nowMs(): number {
  return performance.now();
}

// ---------------------------------------------------------------------------------------------------
// A private copy of the build: other work in the checkout may rebuild dist/ (tsup cleans it) while the
// benchmarks run, so the CLI and the simulator are run from a snapshot taken right after `npm run build`.

export interface Build {
  root: string;
  bin: string;
  sim: string;
}

export async function snapshotBuild(into: string): Promise<Build> {
  const root = path.join(into, 'build');
  await mkdir(root, { recursive: true });
  await cp(path.join(REPO_ROOT, 'dist'), path.join(root, 'dist'), { recursive: true });
  await cp(path.join(REPO_ROOT, 'bin'), path.join(root, 'bin'), { recursive: true });
  await cp(path.join(REPO_ROOT, 'package.json'), path.join(root, 'package.json'));
  return { root, bin: path.join(root, 'bin', 'ascendctl'), sim: path.join(root, 'dist', 'sim.js') };
}

// ---------------------------------------------------------------------------------------------------
// The simulator in its own process

export interface SimNodeInfo {
  name: string;
  host: string;
  deviceIps: string[];
}

export interface SimProcess {
  dir: string;
  pid: number;
  nodes: SimNodeInfo[];
  inventoryPath: string;
  deploymentPath: string;
  identityPath: string;
  knownHostsPath: string;
  controlUrl: string;
  /** OpenSSH client options reaching every node as root with the generated key. */
  sshArgs: string[];
  stop(): Promise<void>;
}

export interface SimProcessOptions {
  nodes: number;
  /** Second octet of 127.x.0.n: each benchmark its own, so a leftover listener never collides. */
  subnet: number;
  profile?: 'hardware' | 'fast';
  /** Images present on every node besides the MindIE one. */
  extraImages?: string[];
  dir: string;
  build: Build;
}

interface ReadyLine {
  ready: boolean;
  controlUrl: string;
  nodes: { name: string; host: string; knownHostsLine: string }[];
  clientKey: { private: string; public: string };
}

const SIM_START_TIMEOUT_MS = 60_000;

/** Nodes per third octet of the loopback addresses: 127.s.0.1–250, then 127.s.1.1–250, … (256 nodes fit). */
const HOSTS_PER_OCTET = 250;

/** The n-th node's (0-based) loopback address on subnet `s`: 127.s.0.(n+1) up to 250 nodes, as before. */
export function simHost(subnet: number, index: number): string {
  return `127.${subnet}.${Math.floor(index / HOSTS_PER_OCTET)}.${(index % HOSTS_PER_OCTET) + 1}`;
}

/** The simulator's own device IPs (192.168.(100+npu).(11+index)) run out of last octets past this many nodes. */
const DEVICE_IP_NODES = 240;

/**
 * Device IPs of a node past the 240th: the same 192.168.(100+npu).x plan shifted by 8 in the third octet per
 * 240 nodes, so that every address stays valid and unique (the bench's 256-node cluster).
 */
export function benchDeviceIp(index: number, npu: number): string {
  const block = Math.floor(index / DEVICE_IP_NODES);
  return `192.168.${100 + npu + 8 * block}.${11 + (index % DEVICE_IP_NODES)}`;
}

export async function startSimProcess(opts: SimProcessOptions): Promise<SimProcess> {
  await mkdir(opts.dir, { recursive: true });
  const names = Array.from({ length: opts.nodes }, (_, i) => `node${i + 1}`);
  const spec = {
    profile: opts.profile ?? 'hardware',
    nodes: names.map((name, i) => ({
      name,
      host: simHost(opts.subnet, i),
      sshPort: SSH_PORT,
      images: [BENCH_IMAGE, ...(opts.extraImages ?? [])],
      models: { [BENCH_MODEL_PATH]: r1ModelFiles() },
      ...(i >= DEVICE_IP_NODES ? { deviceIps: Array.from({ length: 8 }, (_, npu) => benchDeviceIp(i, npu)) } : {}),
    })),
  };
  const specPath = path.join(opts.dir, 'sim-spec.json');
  await writeFile(specPath, JSON.stringify(spec, null, 2));

  const child = spawn(process.execPath, [opts.build.sim, 'serve', '--spec', specPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  const stderr: string[] = [];
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { if (stderr.join('').length < 20_000) stderr.push(d); });
  let ready: ReadyLine;
  try {
    ready = await readReadyLine(child, () => stderr.join(''));
  } catch (err) {
    await stopChild(child);
    throw err;
  }
  // The simulator's later stdout is not read; drain it so it never blocks on a full pipe.
  child.stdout!.resume();

  const identityPath = path.join(opts.dir, 'id_ed25519');
  await writeFile(identityPath, ready.clientKey.private, { mode: 0o600 });
  const knownHostsPath = path.join(opts.dir, 'known_hosts');
  await writeFile(knownHostsPath, `${ready.nodes.map((n) => n.knownHostsLine).join('\n')}\n`, { mode: 0o600 });

  const state = await (await fetch(`${ready.controlUrl}/state`)).json() as { nodes: { name: string; deviceIps: string[] }[] };
  const ipsOf = new Map(state.nodes.map((n) => [n.name, n.deviceIps]));

  const inventoryPath = path.join(opts.dir, 'inventory.yaml');
  await writeFile(inventoryPath, simInventoryYaml({ port: SSH_PORT, identityFile: identityPath, knownHostsFile: knownHostsPath, nodes: ready.nodes }));
  const deploymentPath = path.join(opts.dir, `${DEPLOYMENT_NAME}.yaml`);
  await writeFile(deploymentPath, r1DeploymentYaml({ name: DEPLOYMENT_NAME, image: BENCH_IMAGE, modelPath: BENCH_MODEL_PATH, parallel: r1Parallel(opts.nodes) }));

  return {
    dir: opts.dir,
    pid: child.pid!,
    nodes: ready.nodes.map((n) => ({ name: n.name, host: n.host, deviceIps: ipsOf.get(n.name) ?? [] })),
    inventoryPath,
    deploymentPath,
    identityPath,
    knownHostsPath,
    controlUrl: ready.controlUrl,
    sshArgs: [
      '-p', String(SSH_PORT), '-i', identityPath, '-l', 'root',
      '-o', `UserKnownHostsFile=${knownHostsPath}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes',
      '-o', 'IdentitiesOnly=yes', '-o', 'LogLevel=ERROR', '-F', '/dev/null',
    ],
    stop: () => stopChild(child),
  };
}

function readReadyLine(child: ChildProcess, stderr: () => string): Promise<ReadyLine> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const timer = setTimeout(() => fail(new Error(`the simulator did not start within ${SIM_START_TIMEOUT_MS / 1000} s\n${stderr()}`)), SIM_START_TIMEOUT_MS);
    const onExit = (code: number | null): void => fail(new Error(`the simulator exited (${code}) before it was ready:\n${stderr()}`));
    function fail(err: Error): void {
      clearTimeout(timer);
      child.off('exit', onExit);
      lines.close();
      reject(err);
    }
    child.once('exit', onExit);
    lines.once('line', (line) => {
      clearTimeout(timer);
      child.off('exit', onExit);
      lines.close();
      try {
        const parsed = JSON.parse(line) as ReadyLine;
        if (!parsed.ready || !parsed.clientKey) throw new Error('no ready flag or client key');
        resolve(parsed);
      } catch (err) {
        reject(new Error(`the simulator's first line is not its ready line (${(err as Error).message}): ${line.slice(0, 200)}`));
      }
    });
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

// ---------------------------------------------------------------------------------------------------
// Running and timing child processes

export interface Timed<T> {
  ms: number;
  result: T;
}

/** Wall time of `node bin/ascendctl …` from spawn to exit, with its output. */
export async function timeCli(build: Build, args: string[], opts: { cwd: string; reject?: boolean } ): Promise<Timed<{ exitCode: number; stdout: string; stderr: string }>> {
  const t0 = nowMs();
  const r = await execa(process.execPath, [build.bin, ...args], { cwd: opts.cwd, reject: false, env: { NO_COLOR: '1' }, timeout: 600_000 });
  const ms = nowMs() - t0;
  const result = { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
  if (opts.reject !== false && result.exitCode !== 0) {
    throw new Error(`ascendctl ${args.join(' ')} exited ${result.exitCode}:\n${tail(result.stderr || result.stdout)}`);
  }
  return { ms, result };
}

export interface Resources {
  /** Wall time from spawn to exit, as the bench process sees it. */
  ms: number;
  /** Peak RSS of the process (GNU time %M), MiB. */
  peakMiB: number;
  /** CPU time of the process itself, user + system (GNU time %U + %S), ms. */
  cpuMs: number;
  exitCode: number;
  stdout: string;
  stderr: string;
}

/**
 * `node bin/ascendctl …` under GNU time: wall time, peak RSS and CPU seconds of that process alone (the
 * CLI execs nothing else; the simulator is another process and not counted).
 */
export async function timeCliResources(build: Build, args: string[], opts: { cwd: string; scratch: string }): Promise<Resources> {
  const usage = path.join(opts.scratch, `time-${process.pid}-${Math.round(nowMs())}.txt`);
  const cli = [process.execPath, build.bin, ...args].map(shq).join(' ');
  const r = await timeShell(`/usr/bin/time -f '%M %U %S' -o ${shq(usage)} ${cli}`, { cwd: opts.cwd, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', NO_COLOR: '1' } });
  const text = await readFile(usage, 'utf8').catch(() => '');
  await rm(usage, { force: true });
  const m = /(\d+) ([\d.]+) ([\d.]+)\s*$/.exec(text);
  if (!m) throw new Error(`GNU time wrote no usage line for ascendctl ${args.join(' ')} (exit ${r.result.exitCode}): ${text.slice(0, 300)}\n${tail(r.result.stderr)}`);
  return {
    ms: r.ms, peakMiB: Number(m[1]) / 1024, cpuMs: (Number(m[2]) + Number(m[3])) * 1000,
    exitCode: r.result.exitCode, stdout: r.result.stdout, stderr: r.result.stderr,
  };
}

export interface WatchedRun {
  pid: number;
  /** Exit code (−1 when killed by a signal), every stdout line, the stderr text. */
  done: Promise<{ exitCode: number; stdout: string[]; stderr: string }>;
}

/** `node bin/ascendctl …` with each stdout line handed to `onLine` as it arrives (with performance.now()). */
export function watchCli(build: Build, args: string[], opts: { cwd: string; onLine?: (line: string, at: number) => void; prefix?: string[]; keepLines?: boolean }): WatchedRun {
  const argv = [...(opts.prefix ?? []), process.execPath, build.bin, ...args];
  const child = spawn(argv[0]!, argv.slice(1), { cwd: opts.cwd, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  const stdout: string[] = [];
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { if (stderr.length < 100_000) stderr += d; });
  const lines = createInterface({ input: child.stdout! });
  lines.on('line', (line) => {
    opts.onLine?.(line, nowMs());
    if (opts.keepLines !== false) stdout.push(line);
  });
  const done = new Promise<{ exitCode: number; stdout: string[]; stderr: string }>((resolve, reject) => {
    child.once('error', reject);
    // 'close' waits for the streams, so every line has been seen.
    child.once('close', (code) => resolve({ exitCode: code ?? -1, stdout, stderr }));
  });
  return { pid: child.pid!, done };
}

export function tail(text: string, lines = 20): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/**
 * Run a shell command line (bash) and time it from spawn to exit.
 *
 * `--norc`: a `bash -c` whose standard input is a socket (execa's pipes are socket pairs) and which
 * inherits SHLVL 0 or none takes itself for a command run by rshd/sshd and reads ~/.bashrc first.
 * `npm run bench` starts with SHLVL=0, so on a machine whose ~/.bashrc runs `pyenv init` every such
 * shell took about 180 ms more, and the 64 shells of the 64-node floor, started at once, queued on
 * pyenv's rehash lock: the floor measured 15–25 s instead of 7 s. A baseline must not depend on the
 * user's shell start-up files.
 */
export async function timeShell(script: string, opts: { env?: Record<string, string>; cwd?: string } = {}): Promise<Timed<{ exitCode: number; stdout: string; stderr: string }>> {
  const t0 = nowMs();
  const r = await execa('bash', ['--norc', '-c', script], { reject: false, env: opts.env ?? {}, ...(opts.cwd ? { cwd: opts.cwd } : {}), timeout: 600_000, maxBuffer: 512 * 1024 * 1024 });
  return { ms: nowMs() - t0, result: { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) } };
}

/** Quote one word for bash. */
export function shq(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

// ---------------------------------------------------------------------------------------------------
// Machine and results

export interface MachineInfo {
  cpu: string;
  cores: number;
  memoryGiB: number;
  node: string;
  os: string;
  loadAverage: number[];
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

export interface BenchReport {
  date: string;
  quick: boolean;
  machine: MachineInfo;
  loadAverageAtEnd: number[];
  durationS: number;
  runs: Record<string, string>;
  rows: ResultRow[];
  method: Record<string, string>;
}

export function renderMarkdown(report: BenchReport): string {
  const m = report.machine;
  const counts = { pass: 0, fail: 0, error: 0 };
  for (const r of report.rows) if (r.verdict in counts) counts[r.verdict as keyof typeof counts]++;
  const out: string[] = [
    '# Benchmarks',
    '',
    '<!-- Written by `npm run bench` (bench/run.ts); edit the benchmarks, not this file. -->',
    '',
    `Measured ${report.date}${report.quick ? ' — **BENCH_QUICK=1 smoke run: one run per figure, not a measurement**' : ''}, in ${report.durationS.toFixed(0)} s.`,
    '',
    `Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB memory, Node.js ${m.node}, ${m.os}. ` +
      `Load average at start ${m.loadAverage.join(' / ')}, at end ${report.loadAverageAtEnd.join(' / ')} (other work on the machine shows here).`,
    '',
    `Targets (cli-contract.md, "Performance targets"): ${counts.pass} passed, ${counts.fail} missed${counts.error ? `, ${counts.error} could not be measured` : ''}.`,
    '',
    markdownTable([...RESULT_HEADERS], report.rows.map(resultCells)),
    '',
    '## Runs',
    '',
    ...Object.entries(report.runs).map(([k, v]) => `- **${k}**: ${v}`),
    '',
    '## Method',
    '',
    ...Object.entries(report.method).flatMap(([k, v]) => [`### ${k}`, '', v, '']),
    '## Samples',
    '',
    'Every run of every figure, in ms (lines/s and MiB where marked), in the order they ran:',
    '',
    ...report.rows.flatMap((r) => [r.figure, r.baseline].filter((f): f is Figure => f !== undefined)
      .map((f) => `- ${r.benchmark} — ${f.label} (${f.unit}): ${f.samples.map((s) => (f.unit === 'ms' ? s.toFixed(1) : s.toFixed(0))).join(', ')}`)),
    '',
  ];
  const notes = report.rows.filter((r) => r.note && r.verdict !== 'error');
  if (notes.length > 0) {
    out.push('## Notes', '', ...notes.map((r) => `- ${r.benchmark}: ${r.note}`), '');
  }
  return out.join('\n');
}

export async function writeReport(report: BenchReport, outDir: string, markdownPath: string): Promise<void> {
  await mkdir(outDir, { recursive: true });
  await writeFile(path.join(outDir, 'latest.json'), `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(markdownPath, renderMarkdown(report));
}

export async function makeScratch(): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), 'ascendctl-bench-'));
}

export async function removeScratch(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}
