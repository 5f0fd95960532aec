/**
 * `BENCH_QUICK=1` smoke run of the cheapest benchmark through the real runner, written to a temporary
 * BENCH_OUT: the harness builds its report end to end. Needs the built CLI (dist/, `npm run build`).
 * Asserts the report's shape, never a timing.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, type BenchReport } from '../../../bench/lib.js';

describe('npm run bench (BENCH_QUICK=1, start-up only)', () => {
  let out: string;
  let run: { exitCode?: number; stdout: string; stderr: string };

  beforeAll(async () => {
    if (!existsSync(path.join(REPO_ROOT, 'dist', 'cli.js'))) throw new Error('dist/cli.js is missing: run npm run build first');
    out = await mkdtemp(path.join(os.tmpdir(), 'bench-smoke-'));
    const r = await execa(process.execPath, ['--import', 'tsx', 'bench/run.ts', 'startup'], {
      cwd: REPO_ROOT, reject: false, env: { BENCH_QUICK: '1', BENCH_OUT: out },
    });
    run = { exitCode: r.exitCode, stdout: String(r.stdout), stderr: String(r.stderr) };
  }, 120_000);

  afterAll(async () => {
    if (out) await rm(out, { recursive: true, force: true });
  });

  it('exits 0 and prints the table', () => {
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/start-up: --version\s+ascendctl --version: [\d.]+ ms\s+node -e 0: [\d.]+ ms\s+[\d.]+×\s+≤ 1\.5× baseline\s+(PASS|FAIL)/);
  });

  it('writes latest.json with one sample per figure and the machine', async () => {
    const report = JSON.parse(await readFile(path.join(out, 'latest.json'), 'utf8')) as BenchReport;
    expect(report.quick).toBe(true);
    expect(report.machine.cores).toBe(os.cpus().length);
    expect(report.rows.map((r) => r.benchmark)).toEqual(['start-up: --version', 'start-up: --help']);
    for (const r of report.rows) {
      expect(r.figure?.samples).toHaveLength(1);
      expect(r.baseline?.samples).toHaveLength(1);
    }
    expect(['pass', 'fail']).toContain(report.rows[0]!.verdict);
  });

  it('writes BENCHMARKS.md with the method and the quick-run warning', async () => {
    const md = await readFile(path.join(out, 'BENCHMARKS.md'), 'utf8');
    expect(md).toContain('BENCH_QUICK=1 smoke run');
    expect(md).toContain('### Start-up');
    expect(md).toMatch(/\| start-up: --version \| ascendctl --version: [\d.]+ ms \| node -e 0: [\d.]+ ms \|/);
  });

  it('refuses an unknown benchmark name with exit 2', async () => {
    const r = await execa(process.execPath, ['--import', 'tsx', 'bench/run.ts', 'nosuch'], { cwd: REPO_ROOT, reject: false });
    expect(r.exitCode).toBe(2);
    expect(String(r.stderr)).toContain('unknown benchmark nosuch');
  });
});
