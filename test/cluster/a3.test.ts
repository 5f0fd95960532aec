/**
 * Atlas 800 A3 end to end (issue #10): the built CLI against real OpenSSH nodes whose npu-smi and
 * hccn_tool are the simulator's A3 shims (16 dies per server). Preflight on all 16 devices, a die-level
 * fault on the right device, then deploy (rank table v1.0 × 16), a chat, and stop.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_IMAGE_A3, r1ModelFiles } from '../../src/demo/cluster.js';
import type { SimNodeSpec } from '../../src/sim/cluster-spec.js';
import { runCli } from '../support/run-cli.js';
import { canRunSshdCluster, startSshdCluster, type SshdCluster } from '../support/sshd-cluster.js';

interface Finding { node: string; npu?: number; check: string; status: 'pass' | 'warn' | 'fail'; message: string; hint?: string }
const MODEL_PATH = '/opt/models/DeepSeek-R1';

describe.skipIf(!canRunSshdCluster())('Atlas 800 A3 against real OpenSSH nodes', () => {
  let cluster: SshdCluster | undefined;
  const c = (): SshdCluster => cluster!;

  beforeAll(async () => {
    const specs = ['node1', 'node2'].map((name): SimNodeSpec => ({
      name, host: '', server: 'A3', images: [DEMO_IMAGE_A3], models: { [MODEL_PATH]: r1ModelFiles() } }));
    cluster = await startSshdCluster({ nodes: specs, npus: 16, profile: 'fast' });
  }, 180_000);
  afterAll(async () => {
    await cluster?.stop();
  }, 60_000);

  it('preflight checks 16 devices per node and names a faulty die by NPU, chip and device', async () => {
    await c().setFaults('node2', [{ kind: 'link-down', npu: 9 }]);
    const r = await runCli(['preflight', '--json', '-i', c().inventoryPath], { timeoutMs: 150_000 });
    await c().setFaults('node2', []);
    const rep = r.json as { ok: boolean; findings: Finding[] } | undefined;
    expect(rep, `${r.stdout}\n${r.stderr}`).toBeDefined();
    expect(r.exitCode).toBe(1);
    for (const node of ['node1', 'node2']) {
      expect(rep!.findings.filter((f) => f.node === node && f.check === 'link').map((f) => f.npu)).toEqual(Array.from({ length: 16 }, (_, i) => i));
    }
    const bad = rep!.findings.filter((f) => f.status === 'fail' && f.check === 'link');
    expect(bad.map((f) => [f.node, f.npu, f.message])).toEqual([['node2', 9, 'NPU 4 chip 1 (device 9): link status: DOWN']]);
  }, 200_000);

  it('deploys MindIE with rank table v1.0 × 16 and answers a chat', async () => {
    const dep = join(c().dir, 'deepseek-r1.yaml');
    writeFileSync(dep, [
      'name: deepseek-r1', 'inventory: inventory.yaml', 'backend: mindie', `image: ${DEMO_IMAGE_A3}`,
      'model:', `  path: ${MODEL_PATH}`, '  name: deepseek-r1',
      'parallel:', '  dataParallelSize: 2', '  tensorParallelSize: 16', '  moeTensorParallelSize: 1', '  moeExpertParallelSize: 32',
      'npuMemoryFraction: 0.95', '',
    ].join('\n'));
    const up = await runCli(['deploy', dep, '--timeout', '90s'], { cwd: c().dir, timeoutMs: 300_000 });
    expect(up.exitCode, `${up.stdout}\n${up.stderr}`).toBe(0);
    const table = await c().ssh('node2', 'cat /var/lib/ascendctl/deepseek-r1/ranktable.json');
    const t = JSON.parse(table.stdout);
    expect(t.version).toBe('1.0');
    expect(t.server_list.map((s: { device: unknown[] }) => s.device.length)).toEqual([16, 16]);
    const chat = await runCli(['chat', '-p', 'Say hello'], { cwd: c().dir, timeoutMs: 120_000 });
    expect(chat.exitCode, chat.stderr).toBe(0);
    expect(chat.stdout.trim().length).toBeGreaterThan(0);
    const stop = await runCli(['stop'], { cwd: c().dir, timeoutMs: 120_000 });
    expect(stop.exitCode, stop.stderr).toBe(0);
  }, 400_000);
});
