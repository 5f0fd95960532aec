/**
 * Start-up: `node bin/ascendctl --version` and `--help` beside `node -e 0`, each timed from spawn to exit
 * (no hyperfine on this machine: N interleaved runs timed with performance.now()).
 */
import { spawn } from 'node:child_process';
import { readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { figure, judge, nowMs, type BenchSettings, type ResultRow } from './lib.js';

/** Spawn → exit of one process, output discarded; rejects on a non-zero exit. */
export async function timeSpawn(argv: readonly string[], cwd: string): Promise<number> {
  const t0 = nowMs();
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd, stdio: 'ignore' });
    child.once('error', reject);
    child.once('exit', (c) => resolve(c));
  });
  const ms = nowMs() - t0;
  if (code !== 0) throw new Error(`${argv.join(' ')} exited ${code}`);
  return ms;
}

export const STARTUP_RUNS = 20;

/**
 * The bundle as measured before issue 11's redesign (commit 679cacc, `npm run build`): every
 * dist/*.js without source maps, and the chunks built from src/sim alone (there: dist/sim.js and the
 * container runtime's chunk). Kept as the fixed "before" figure.
 */
const BUNDLE_BEFORE = { allKiB: 4_057_006 / 1024, simKiB: 298_247 / 1024 };

/**
 * Size of the built JavaScript (source maps left out), and of the simulator the demo loads: the chunks
 * whose own sources (node_modules aside), by their source maps, all lie in src/sim. dist/sim.js is the
 * test rig's entry (test/harness/serve.ts), not the simulator, and is counted only in the whole.
 */
async function bundleSizes(root: string): Promise<{ allKiB: number; simKiB: number }> {
  const dist = path.join(root, 'dist');
  let all = 0;
  let sim = 0;
  for (const name of await readdir(dist)) {
    if (!name.endsWith('.js')) continue;
    const size = (await stat(path.join(dist, name))).size;
    all += size;
    const map = await readFile(path.join(dist, `${name}.map`), 'utf8').catch(() => undefined);
    const own = map === undefined ? [] : (JSON.parse(map) as { sources: string[] }).sources.filter((s) => !s.includes('node_modules'));
    if (own.length > 0 && own.every((s) => s.includes('src/sim/'))) sim += size;
  }
  return { allKiB: all / 1024, simKiB: sim / 1024 };
}

export async function benchStartup(s: BenchSettings): Promise<ResultRow[]> {
  const variants = {
    node: [process.execPath, '-e', '0'],
    version: [process.execPath, s.build.bin, '--version'],
    help: [process.execPath, s.build.bin, '--help'],
  } as const;
  const samples: Record<keyof typeof variants, number[]> = { node: [], version: [], help: [] };
  const order = Object.keys(variants) as (keyof typeof variants)[];
  // Warm-up: the first start of each reads its files from disk.
  if (!s.quick) for (const k of order) await timeSpawn(variants[k], s.build.root);
  for (let i = 0; i < s.runs(STARTUP_RUNS); i++) {
    // Interleaved, and the order rotated each round, so no variant always runs right after another.
    for (let j = 0; j < order.length; j++) {
      const k = order[(i + j) % order.length]!;
      samples[k].push(await timeSpawn(variants[k], s.build.root));
    }
  }
  const node = figure('node -e 0', 'ms', samples.node);
  s.log(`  start-up medians: node -e 0 ${node.median.toFixed(1)} ms, --version ${figure('', 'ms', samples.version).median.toFixed(1)} ms, --help ${figure('', 'ms', samples.help).median.toFixed(1)} ms`);
  return [
    judge('start-up: --version', figure('ascendctl --version', 'ms', samples.version), node, { kind: 'max-ratio', limit: 1.5 }),
    judge('start-up: --help', figure('ascendctl --help', 'ms', samples.help), node, undefined),
  ];
}

export const STARTUP_METHOD = [
  `\`node bin/ascendctl --version\`, \`node bin/ascendctl --help\` and \`node -e 0\`, ${STARTUP_RUNS} runs each after one`,
  'warm-up run each, interleaved with the order rotated every round; each timed from spawn to exit with',
  'performance.now() in the bench process, output discarded. hyperfine is not installed here.',

].join('\n');

/** The built bundle's size beside the figure before the redesign (no target: a record, not a race). */
export async function benchBundle(s: BenchSettings): Promise<ResultRow[]> {
  const size = await bundleSizes(s.build.root);
  s.log(`  bundle: ${size.allKiB.toFixed(0)} KiB of JavaScript (${BUNDLE_BEFORE.allKiB.toFixed(0)} KiB before the redesign), simulator ${size.simKiB.toFixed(0)} KiB (${BUNDLE_BEFORE.simKiB.toFixed(0)} KiB before)`);
  return [
    judge('bundle: dist/*.js (no source maps)', figure('now', 'KiB', [size.allKiB]), figure('before the redesign (679cacc)', 'KiB', [BUNDLE_BEFORE.allKiB]), undefined),
    judge('bundle: the simulator\'s chunks (built from src/sim alone)', figure('now', 'KiB', [size.simKiB]), figure('before the redesign (679cacc)', 'KiB', [BUNDLE_BEFORE.simKiB]), undefined),
  ];
}

export const BUNDLE_METHOD = [
  'The sizes of the measured build\'s dist/*.js summed (source maps left out), and of the chunks whose own',
  'sources (by their source maps, node_modules aside) all lie in src/sim — the simulator the demo loads —,',
  'beside the same figures taken before issue 11\'s redesign (commit 679cacc, `npm run build`).',
].join('\n');
