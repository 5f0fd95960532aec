/**
 * `ascendctl demo --a3`: the whole flow (preflight, faults on second dies named by device, --fix,
 * deploy, status, chat, bench, logs, stop) on simulated Atlas 800 A3 servers, every step with the exit
 * status it expects.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { runInProcess } from '../support/in-process.js';

it('demo --a3 runs end to end on 16-die servers', async () => {
  const home = await mkdtemp(path.join(os.tmpdir(), 'ascendctl-demo-a3-'));
  const r = await runInProcess(() => import('../../src/commands/demo.js'), [], { a3: true, nodes: '2', subnet: 157 }, { cwd: home, home })
    .finally(() => rm(home, { recursive: true, force: true }));
  expect(r.exitCode, r.stdout.slice(-3000)).toBe(0);
  expect(r.stdout).toMatch(/2 × Atlas 800 A3 \(8 NPUs × 2 dies = 16 devices each\)/);
  expect(r.stdout).not.toMatch(/expected [01]\)/);
  // the broken die is named by NPU, chip and device
  expect(r.stdout).toMatch(/✘ link\s+NPU 3 chip 1 \(device 7\)  link status: DOWN/);
  expect(r.stdout).toMatch(/device 13 /);
}, 120_000);
