/**
 * The simulated MindIE daemon records when it began to listen and first answered (the bench's reference
 * for "the endpoint's first answer → ascendctl's ready line"), and a new start begins a new record.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemoCluster, type DemoCluster } from '../../../src/demo/cluster.js';
import { servingRecord } from '../../../src/sim/serving-record.js';
import { runInProcess } from '../../support/in-process.js';
import { commands } from '../../support/commands.js';

describe('serving record of the simulated daemon', () => {
  let cluster: DemoCluster;
  beforeAll(async () => {
    cluster = await startDemoCluster({ nodes: 2, subnet: 159 });
  }, 60_000);
  afterAll(async () => cluster?.stop());

  const run = (cmd: 'deploy' | 'stop', args: string[], opts: Record<string, unknown> = {}) =>
    runInProcess(commands[cmd], args, opts, { cwd: cluster.dir, home: cluster.dir });
  const record = () => servingRecord(cluster.sim.cluster.node('node1').shared, 'node1');

  it('is absent before a daemon listens, then holds the listen time and the first answer, no earlier than it', async () => {
    expect(record()).toBeUndefined();
    const before = Date.now();
    const r = await run('deploy', ['deepseek-r1.yaml'], { parallel: '32', timeout: '60s', skipPreflight: true });
    expect(r.exitCode, r.stderr).toBe(0);
    const rec = record()!;
    expect(rec.listeningAt).toBeGreaterThanOrEqual(before);
    // deploy's own one-token probe is the first request answered.
    expect(rec.firstAnswerAt).toBeGreaterThanOrEqual(rec.listeningAt);
    expect(rec.firstAnswerAt).toBeLessThanOrEqual(Date.now());
  }, 120_000);

  it('starts over when the daemon starts again', async () => {
    const first = record()!;
    expect((await run('stop', ['deepseek-r1.yaml'])).exitCode).toBe(0);
    const r = await run('deploy', ['deepseek-r1.yaml'], { parallel: '32', timeout: '60s', skipPreflight: true });
    expect(r.exitCode, r.stderr).toBe(0);
    const again = record()!;
    expect(again.listeningAt).toBeGreaterThan(first.firstAnswerAt!);
    expect(again.firstAnswerAt).toBeGreaterThanOrEqual(again.listeningAt);
  }, 120_000);
});
