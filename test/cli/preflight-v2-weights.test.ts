/**
 * preflight v2 `weights`, `hbm`, `shm` against an in-process simulated cluster (real SSH protocol, fast
 * profile): each fault is reported with node, NPU and check id and a next step; `deploy
 * --skip-preflight` fails the way MindIE does (the simulated daemon is as strict); deploy with its gate
 * stops in the gate with nothing started.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemoCluster, DEMO_MODEL_PATH, type DemoCluster } from '../../src/demo/cluster.js';
import { runtimeOf } from '../../src/sim/container-runtime.js';
import type { SimFault } from '../../src/sim/types.js';
import { runInProcess, type InProcessResult } from '../support/in-process.js';

const preflight = () => import('../../src/commands/preflight.js');
const deploy = () => import('../../src/commands/deploy.js');
const CONTAINER = 'ascendctl-deepseek-r1';
let cluster: DemoCluster;

beforeAll(async () => {
  cluster = await startDemoCluster({ nodes: 2, subnet: 100 });
});
afterAll(async () => {
  await cluster?.stop();
});

async function setFaults(faults: Record<string, SimFault[]>): Promise<void> {
  for (const n of cluster.nodes) await cluster.sim.setFaults(n.name, faults[n.name] ?? []);
}

async function check(
  faults: Record<string, SimFault[]>, args: string[] = [cluster.deploymentPath], extra: Record<string, unknown> = {},
): Promise<InProcessResult> {
  await setFaults(faults);
  return runInProcess(preflight, args, { json: true, inventory: cluster.inventoryPath, parallel: '32', ...extra }, { cwd: cluster.dir, home: cluster.dir });
}

function runDeploy(opts: Record<string, unknown> = {}): Promise<InProcessResult> {
  return runInProcess(deploy, [cluster.deploymentPath], { parallel: '32', timeout: '60s', ...opts }, { cwd: cluster.dir, home: cluster.dir });
}

function containers(node: string) {
  return runtimeOf(cluster.sim.cluster, node)!.containers.filter((c) => c.name === CONTAINER);
}

function problems(json: any): any[] {
  return json.findings.filter((f: any) => f.status !== 'pass');
}

const CFG = `${DEMO_MODEL_PATH}/config.json`;

describe('preflight DEPLOYMENT.yaml: weights, hbm, shm', () => {
  it('reads that never answer (a stuck disk: find, sha256sum, ss) fail their checks as timed out, not as absent', async () => {
    const hang = (program: string): SimFault => ({ kind: 'program-hang', program });
    const r = await check({ node2: ['find', 'sha256sum', 'ss'].map(hang) }, [cluster.deploymentPath], { callTimeout: '1s' });
    expect(r.exitCode).toBe(1);
    const bad = problems(r.json);
    for (const check of ['model', 'weights', 'shm', 'ports']) {
      const mine = bad.filter((f: any) => f.node === 'node2' && f.check === check);
      expect(mine, `${check}: ${JSON.stringify(bad)}`).toEqual([expect.objectContaining({ status: 'fail', message: expect.stringMatching(/timed out after 1 s/) })]);
      expect(mine[0].hint).toBeTruthy();
    }
    expect(bad.filter((f: any) => f.node === 'node1')).toEqual([]);
  });

  it('the default simulated cluster passes all three (model files 640 root-owned, nothing held, no shm files)', async () => {
    const r = await check({});
    expect(r.exitCode, JSON.stringify(problems(r.json))).toBe(0);
    expect(problems(r.json)).toEqual([]);
    for (const node of ['node1', 'node2']) {
      const w = r.json.findings.filter((f: any) => f.node === node && f.check === 'weights');
      expect(w).toHaveLength(1);
      expect(w[0].message).toMatch(/config\.json, generation_config\.json, tokenizer_config\.json, tokenizer\.json: real files, mode ≤ 750, owned by root/);
      expect(r.json.findings.filter((f: any) => f.node === node && f.check === 'shm' && f.status === 'pass')).toHaveLength(1);
      const hbm = r.json.findings.filter((f: any) => f.node === node && f.check === 'hbm');
      expect(hbm.map((f: any) => [f.npu, f.status])).toEqual([0, 1, 2, 3, 4, 5, 6, 7].map((n) => [n, 'pass']));
    }
  });

  it('without a deployment file none of the three runs', async () => {
    const r = await check({ node2: [{ kind: 'weights-mode', file: 'config.json', mode: 0o644 }, { kind: 'shm-leftover' }] }, []);
    expect(r.exitCode).toBe(0);
    expect(r.json.findings.filter((f: any) => ['weights', 'hbm', 'shm'].includes(f.check))).toEqual([]);
  });

  const cases: [string, Record<string, SimFault[]>, { node: string; check: string; npu?: number; message: RegExp; hint: RegExp }][] = [
    ['config.json with mode 644', { node2: [{ kind: 'weights-mode', file: 'config.json', mode: 0o644 }] },
      { node: 'node2', check: 'weights', message: /config\.json: mode 644, wider than 750 — MindIE refuses it at start/,
        hint: new RegExp(`^ssh node2: chmod 640 ${CFG}$`) }],
    ['the weights directory with mode 755', { node1: [{ kind: 'weights-mode', file: '.', mode: 0o755 }] },
      { node: 'node1', check: 'weights', message: /DeepSeek-R1: mode 755, wider than 750/, hint: new RegExp(`^ssh node1: chmod 750 ${DEMO_MODEL_PATH}$`) }],
    ['tokenizer.json as a symlink (a model-cache layout)', { node2: [{ kind: 'weights-symlink', file: 'tokenizer.json' }] },
      { node: 'node2', check: 'weights', message: /tokenizer\.json is a symbolic link/,
        hint: /^replace it by a copy of its target: ssh node2: cp --remove-destination "\$\(readlink -f \/data\/models\/DeepSeek-R1\/tokenizer\.json\)" \/data\/models\/DeepSeek-R1\/tokenizer\.json/ }],
    ['generation_config.json owned by the user who downloaded it', { node2: [{ kind: 'weights-owner', file: 'generation_config.json', uid: 1000 }] },
      { node: 'node2', check: 'weights', message: /generation_config\.json: owned by uid 1000, not by root \(uid 0\).*owner id diff: current process user id is 0, file owner id is 1000/,
        hint: /^ssh node2: chown root:root \/data\/models\/DeepSeek-R1\/generation_config\.json$/ }],
    ['20 GB of HBM held by a leftover process', { node2: [{ kind: 'hbm-held', npu: 3, mb: 20480, pid: 4242, name: 'python3' }] },
      { node: 'node2', check: 'hbm', npu: 3, message: /PID 4242 \(python3, 20480 MB\) is on NPU 3 \(HBM 23858 \/ 65536 MB in use\)/,
        hint: /kill 4242 on node2 .*ps -p 4242 -o pid,user,cmd/ }],
    ['HBM held with no process listed', { node1: [{ kind: 'hbm-held', npu: 5, mb: 8192 }] },
      { node: 'node1', check: 'hbm', npu: 5, message: /8192 MB above the idle level of 3378 MB, but npuMemoryFraction 0\.95 leaves only 3276\.8 MB/,
        hint: /npu-smi info and docker ps on node1/ }],
    ['a leftover tokenizer shared-memory file', { node2: [{ kind: 'shm-leftover' }] },
      { node: 'node2', check: 'shm', message: /llm_tokenizer_shared_memory_0/, hint: /ssh node2: rm -f \/dev\/shm\/llm_tokenizer_shared_memory_0$/ }],
    ['a leftover backend shared-memory file', { node1: [{ kind: 'shm-leftover', file: 'mindie_llm_backend_0_1234' }] },
      { node: 'node1', check: 'shm', message: /mindie_llm_backend_0_1234/, hint: /rm -f \/dev\/shm\/mindie_llm_backend_0_1234$/ }],
  ];
  for (const [label, faults, want] of cases) {
    it(`reports ${label}`, async () => {
      const r = await check(faults);
      expect(r.exitCode).toBe(1);
      expect(r.json.ok).toBe(false);
      const bad = problems(r.json);
      expect(bad, JSON.stringify(bad)).toHaveLength(1);
      expect(bad[0]).toMatchObject({ node: want.node, check: want.check, status: 'fail' });
      if (want.npu !== undefined) expect(bad[0].npu).toBe(want.npu);
      else expect(bad[0].npu).toBeUndefined();
      expect(bad[0].message).toMatch(want.message);
      expect(bad[0].hint).toMatch(want.hint);
    });
  }

  it('the human report shows the failure with its command', async () => {
    await setFaults({ node2: [{ kind: 'weights-mode', file: 'config.json', mode: 0o644 }] });
    const r = await runInProcess(preflight, [cluster.deploymentPath], { parallel: '32' }, { cwd: cluster.dir, home: cluster.dir });
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toMatch(/weights\s+\/data\/models\/DeepSeek-R1\/config\.json: mode 644/);
    expect(r.stdout).toMatch(/→ ssh node2: chmod 640 \/data\/models\/DeepSeek-R1\/config\.json/);
  });
});

describe('deploy: the gate stops these faults; without it the daemon fails as MindIE does', () => {
  const faults: [string, Record<string, SimFault[]>, RegExp, RegExp, string][] = [
    ['weights-mode', { node2: [{ kind: 'weights-mode', file: 'config.json', mode: 0o644 }] }, /^node2: /,
      /— config\.json, the rank table or the weights have the wrong owner or mode, or are symlinks/, 'Check path: /data/models/DeepSeek-R1/config.json failed, by:Check permission failed: current permission is 644'],
    ['weights-symlink', { node2: [{ kind: 'weights-symlink', file: 'tokenizer.json' }] }, /^node2: /,
      /— config\.json, the rank table or the weights have the wrong owner or mode, or are symlinks/, 'tokenizer.json failed, by:path is a soft link'],
    ['weights-owner', { node2: [{ kind: 'weights-owner', file: 'config.json', uid: 1000 }] }, /^node2: /,
      /— config\.json, the rank table or the weights have the wrong owner or mode, or are symlinks/, 'owner id diff: current process user id is 0, file owner id is 1000'],
    ['hbm-held', { node2: [{ kind: 'hbm-held', npu: 3, mb: 20480, pid: 4242, name: 'python3' }] }, /^node2: /,
      /— the NPU memory does not hold the weights and the KV cache \(or another process holds part of it\) on NPU 3/, 'NPU out of memory'],
    ['shm-leftover', { node2: [{ kind: 'shm-leftover' }] }, /^node2: /,
      /— an earlier daemon's shared-memory files are still in \/dev\/shm/, 'Failed to create shared memory /dev/shm/llm_tokenizer_shared_memory_0: File exists'],
  ];
  for (const [kind, fault, node, cause, logText] of faults) {
    it(`${kind}: --skip-preflight fails in the daemon (exit 1, node and cause named); nothing left running`, async () => {
      await setFaults(fault);
      const r = await runDeploy({ skipPreflight: true });
      expect(r.exitCode, `${r.error}\n${r.stderr}`).toBe(1);
      expect(r.error).toMatch(node);
      expect(r.error).toMatch(/its daemon exited with status \d+ while the model was starting/);
      expect(r.error).toMatch(cause);
      expect(r.error).toContain(logText);
      expect(r.hint ?? '').not.toBe('');
      for (const n of cluster.nodes) expect(containers(n.name).filter((c) => c.running), n.name).toEqual([]);
    });

    it(`${kind}: the preflight gate stops deploy with nothing started`, async () => {
      await setFaults(fault);
      const before = Object.fromEntries(cluster.nodes.map((n) => [n.name, containers(n.name).length]));
      const r = await runDeploy();
      expect(r.exitCode).toBe(1);
      expect(r.error).toMatch(/preflight failed: nothing was changed/);
      expect(r.stdout + r.stderr).toMatch(/node2/);
      for (const n of cluster.nodes) {
        expect(containers(n.name), n.name).toHaveLength(before[n.name]!);
        expect(containers(n.name).filter((c) => c.running), n.name).toEqual([]);
      }
    });
  }

  it('a healthy cluster still deploys through the gate', async () => {
    await setFaults({});
    const r = await runDeploy();
    expect(r.exitCode, `${r.error}\n${r.stderr}`).toBe(0);
    const stop = await runInProcess(() => import('../../src/commands/stop.js'), [], {}, { cwd: cluster.dir, home: cluster.dir });
    expect(stop.exitCode).toBe(0);
  });
});
