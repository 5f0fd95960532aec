/**
 * preflight v2 `weights`, `hbm`, `shm` end to end: the built CLI against real OpenSSH nodes. The faults
 * are real on the nodes — a real chmod, symlink and chown in the node's tree (read by the machine's
 * real find and stat), a file in the node's own /dev/shm, and npu-smi (the simulator's) listing the
 * process that holds HBM.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimNodeSpec } from '../../src/sim/cluster-spec.js';
import { runCli } from '../support/run-cli.js';
import { canRunSshdCluster, startSshdCluster, type SshdCluster } from '../support/sshd-cluster.js';
import { r1DeploymentYaml, r1ModelFiles, r1Parallel } from '../../src/demo/cluster.js';

const IMAGE = 'swr.cn-south-1.myhuaweicloud.com/ascendhub/mindie:2.1.RC1-800I-A2-py311-openeuler24.03-lts';
const MODEL_PATH = '/opt/models/DeepSeek-R1';

interface Finding { node: string; npu?: number; check: string; status: string; message: string; hint?: string }

describe.skipIf(!canRunSshdCluster())('preflight weights/hbm/shm against real OpenSSH nodes', () => {
  let cluster: SshdCluster | undefined;
  let deploymentPath = '';

  beforeAll(async () => {
    const nodes: SimNodeSpec[] = ['node1', 'node2'].map((name) => ({ name, host: '', images: [IMAGE], models: { [MODEL_PATH]: r1ModelFiles() } }));
    cluster = await startSshdCluster({ nodes, profile: 'fast' });
    deploymentPath = join(cluster.dir, 'deepseek-r1.yaml');
    writeFileSync(deploymentPath, r1DeploymentYaml({ image: IMAGE, modelPath: MODEL_PATH, parallel: r1Parallel(2) }));
  }, 180_000);

  afterAll(async () => {
    await cluster?.stop();
  }, 60_000);

  const c = (): SshdCluster => cluster!;

  async function preflight(): Promise<{ exitCode: number | null; findings: Finding[]; stderr: string }> {
    const r = await runCli(['preflight', deploymentPath, '--json'], { timeoutMs: 150_000 });
    expect(r.json, `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`).toBeDefined();
    return { exitCode: r.exitCode, findings: (r.json as { findings: Finding[] }).findings, stderr: r.stderr };
  }

  it('a healthy cluster passes weights, hbm and shm on every node', async () => {
    const r = await preflight();
    const bad = r.findings.filter((f) => f.status !== 'pass');
    expect(r.exitCode, JSON.stringify(bad)).toBe(0);
    for (const node of ['node1', 'node2']) {
      expect(r.findings.filter((f) => f.node === node && f.check === 'weights').map((f) => f.status), node).toEqual(['pass']);
      expect(r.findings.filter((f) => f.node === node && f.check === 'shm').map((f) => f.status), node).toEqual(['pass']);
      expect(r.findings.filter((f) => f.node === node && f.check === 'hbm' && f.status === 'pass'), node).toHaveLength(8);
    }
  }, 180_000);

  it('real mode, symlink and owner faults, held HBM and leftover shared memory are each reported with node, NPU and command', async () => {
    await c().setFaults('node2', [
      { kind: 'weights-mode', file: 'config.json', mode: 0o644 },
      { kind: 'weights-symlink', file: 'tokenizer.json' },
      { kind: 'weights-owner', file: 'generation_config.json', uid: 1000 },
      { kind: 'shm-leftover' },
    ]);
    await c().setFaults('node1', [{ kind: 'hbm-held', npu: 3, mb: 20480, pid: 4242, name: 'python3' }]);
    // The faults are real on the node: its own stat sees them.
    const seen = await c().ssh('node2', `stat -c '%a %u %F' ${MODEL_PATH}/config.json ${MODEL_PATH}/generation_config.json ${MODEL_PATH}/tokenizer.json; ls /dev/shm`);
    expect(seen.stdout).toMatch(/^644 0 regular file\n640 1000 regular file\n777 0 symbolic link\nllm_tokenizer_shared_memory_0\n$/);
    const none = await c().ssh('node1', 'ls -A /dev/shm');
    expect(none.stdout, "node1's /dev/shm is its own").toBe('');

    const r = await preflight();
    expect(r.exitCode).toBe(1);
    const bad = r.findings.filter((f) => f.status !== 'pass');
    const line = (f: Finding) => `${f.node}${f.npu === undefined ? '' : ` NPU ${f.npu}`} ${f.check} ${f.status}`;
    expect(bad.map(line).sort()).toEqual([
      'node1 NPU 3 hbm fail', 'node2 shm fail', 'node2 weights fail', 'node2 weights fail', 'node2 weights fail',
    ]);
    const weights = bad.filter((f) => f.check === 'weights');
    expect(weights.find((f) => f.message.includes('config.json: mode 644'))?.hint).toBe(`ssh node2: chmod 640 ${MODEL_PATH}/config.json`);
    expect(weights.find((f) => f.message.includes('tokenizer.json is a symbolic link'))?.hint).toMatch(/cp --remove-destination "\$\(readlink -f \/opt\/models\/DeepSeek-R1\/tokenizer\.json\)"/);
    expect(weights.find((f) => f.message.includes('generation_config.json: owned by'))?.message).toMatch(/\(uid 1000\), not by root \(uid 0\)/);
    expect(bad.find((f) => f.check === 'hbm')?.message).toMatch(/^PID 4242 \(python3, 20480 MB\) is on NPU 3/);
    expect(bad.find((f) => f.check === 'shm')?.hint).toMatch(/ssh node2: rm -f \/dev\/shm\/llm_tokenizer_shared_memory_0$/);

    // Cleared faults leave real, root-owned 640 files again and an empty /dev/shm.
    await c().setFaults('node1', []);
    await c().setFaults('node2', []);
    const again = await preflight();
    expect(again.exitCode, JSON.stringify(again.findings.filter((f) => f.status !== 'pass'))).toBe(0);
  }, 240_000);
});
