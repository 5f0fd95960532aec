import { describe, expect, it } from 'vitest';
import {
  assertModelDivisibility,
  checkDeploymentAgainstInventory,
  checkModelDivisibility,
  deploymentFromYaml,
  deploymentProblems,
  loadDeployment,
  type LoadedDeployment,
} from '../../../src/config/deployment.js';
import { parseYamlText } from '../../../src/config/yaml-file.js';
import { InputError } from '../../../src/errors.js';
import { useTempDirs, userErrorOf } from './temp-files.js';
import { deploymentPorts } from '../../../src/preflight/run.js';

const tmp = useTempDirs();

const BASE = {
  name: 'deepseek-r1',
  image: 'swr.example/mindie:2.1.RC1-800I-A2-py311-openeuler24.03-lts',
  model: { path: '/data/models/DeepSeek-R1', name: 'deepseek-r1' },
  parallel: { dataParallelSize: 4, tensorParallelSize: 8, moeTensorParallelSize: 1, moeExpertParallelSize: 32 },
};

type Obj = Record<string, unknown>;

function merge(base: Obj, patch: Obj): Obj {
  const out: Obj = { ...base };
  for (const [k, v] of Object.entries(patch)) {
    const b = out[k];
    if (v === undefined) delete out[k];
    else if (v && typeof v === 'object' && !Array.isArray(v) && b && typeof b === 'object' && !Array.isArray(b)) out[k] = merge(b as Obj, v as Obj);
    else out[k] = v;
  }
  return out;
}

/** A deployment file from BASE plus a patch (undefined deletes), parsed as `dep.yaml`. JSON is YAML. */
function dep(patch: Obj = {}): LoadedDeployment {
  return deploymentFromYaml(parseYamlText(JSON.stringify(merge(BASE, patch), null, 2), 'dep.yaml'));
}

async function invalid(patch: Obj): Promise<string> {
  const err = await userErrorOf(() => dep(patch));
  expect(err).toBeInstanceOf(InputError);
  expect(err.exitCode).toBe(2);
  return err.message;
}

const FOUR_NODES = { nodes: 4, npusPerNode: 8 };
const TWO_NODES = { nodes: 2, npusPerNode: 8 };

describe('deployment schema', () => {
  it('fills the defaults', () => {
    const d = dep().deployment;
    expect(d.backend).toBe('mindie');
    expect(d.npuMemoryFraction).toBe(0.95);
    expect(d.ports).toEqual({ http: 1025, management: 1026, metrics: 1027, multiNodesInfer: 1120 });
    expect(d.env).toEqual({});
    expect(d.mindieConfig).toEqual({});
    expect(d.limits).toBeUndefined();
    expect(d.vllm).toBeUndefined();
  });

  it('loads from disk and remembers the directory for inventory:', async () => {
    const t = tmp();
    t.write('d/r1.yaml', 'name: r1\ninventory: ../inv.yaml\nimage: img:1\nmodel: { path: /m, name: r1 }\nparallel: { dataParallelSize: 2, tensorParallelSize: 8, moeTensorParallelSize: 1, moeExpertParallelSize: 16 }\n');
    const loaded = await loadDeployment('d/r1.yaml', { cwd: t.dir, env: {}, home: t.dir });
    expect(loaded.file).toBe('d/r1.yaml');
    expect(loaded.dir).toBe(t.path('d'));
    expect(loaded.deployment.inventory).toBe('../inv.yaml');
    expect(loaded.locate(['parallel', 'tensorParallelSize'])).toEqual({ line: 5, col: 54 });
  });

  it('a missing deployment file is an InputError', async () => {
    const t = tmp();
    const err = await userErrorOf(() => loadDeployment('nope.yaml', { cwd: t.dir, env: {}, home: t.dir }));
    expect(err.exitCode).toBe(2);
    expect(err.message).toContain('nope.yaml: the deployment file does not exist');
  });

  it('name: plain names pass, others fail', async () => {
    expect(dep({ name: 'r1_prod-2' }).deployment.name).toBe('r1_prod-2');
    expect(dep({ name: '_x' }).deployment.name).toBe('_x');
    expect(await invalid({ name: 'r1.prod' })).toMatch(/dep\.yaml:2:11 name: expected a plain name \(letters, digits, - and _/);
    expect(await invalid({ name: '../etc' })).toContain('name: expected a plain name');
    expect(await invalid({ name: '-x' })).toContain('name: expected a plain name');
  });

  it('backend: mindie or vllm-ascend', async () => {
    expect(dep({ backend: 'vllm-ascend' }).deployment.backend).toBe('vllm-ascend');
    expect(await invalid({ backend: 'vllm' })).toContain('backend: expected one of mindie, vllm-ascend, got "vllm"');
  });

  it('model.path must be absolute', async () => {
    expect(await invalid({ model: { path: 'models/r1' } })).toContain('model.path: expected an absolute path (the same on every node), got "models/r1"');
  });

  it('model.name follows MindIE rules', async () => {
    for (const ok of ['DeepSeek-R1', 'r1.v2_x', 'a', 'x'.repeat(256)]) expect(dep({ model: { name: ok } }).deployment.model.name).toBe(ok);
    for (const bad of ['-r1', 'r1.', '_r1', 'r1 x', 'r1/x', '']) expect(await invalid({ model: { name: bad } })).toContain('model.name: expected');
    expect(await invalid({ model: { name: 'x'.repeat(257) } })).toContain('model.name: expected at most 256 characters');
  });

  it('parallel sizes are powers of 2', async () => {
    const msg = await invalid({ parallel: { dataParallelSize: 3, moeExpertParallelSize: 0 } });
    expect(msg).toContain('parallel.dataParallelSize: expected a power of 2 (1, 2, 4, 8, …), got 3');
    expect(msg).toContain('parallel.moeExpertParallelSize: expected a power of 2 (1, 2, 4, 8, …), got 0');
    expect(await invalid({ parallel: { tensorParallelSize: '8' } })).toContain('parallel.tensorParallelSize: expected a power of 2 (1, 2, 4, 8, …), got "8"');
    expect(await invalid({ parallel: { tensorParallelSize: undefined } })).toContain('parallel.tensorParallelSize: required, expected an integer');
  });

  it('npuMemoryFraction is in (0, 1]', async () => {
    expect(dep({ npuMemoryFraction: 1 }).deployment.npuMemoryFraction).toBe(1);
    expect(dep({ npuMemoryFraction: 0.5 }).deployment.npuMemoryFraction).toBe(0.5);
    expect(await invalid({ npuMemoryFraction: 0 })).toContain('npuMemoryFraction: expected a fraction in (0, 1], got 0');
    expect(await invalid({ npuMemoryFraction: 1.5 })).toContain('npuMemoryFraction: expected a fraction in (0, 1], got 1.5');
  });

  it('ports are 1024-65535', async () => {
    expect(dep({ ports: { http: 1024, management: 65535 } }).deployment.ports.management).toBe(65535);
    expect(await invalid({ ports: { http: 80 } })).toContain('ports.http: expected a port number 1024-65535, got 80');
    expect(await invalid({ ports: { metrics: 70000 } })).toContain('ports.metrics: expected a port number 1024-65535, got 70000');
  });

  it('http, management and metrics may coincide; multiNodesInfer differs from all three', async () => {
    expect(dep({ ports: { http: 8000, management: 8000, metrics: 8000 } }).deployment.ports).toEqual({ http: 8000, management: 8000, metrics: 8000, multiNodesInfer: 1120 });
    const msg = await invalid({ ports: { multiNodesInfer: 1026 } });
    expect(msg).toMatch(/ports\.multiNodesInfer: 1026 is also ports\.management; multiNodesInfer must differ from http, management and metrics \(first at line \d+, ports\.management\)/);
  });

  it('env: numbers and booleans become strings; names are environment names', async () => {
    expect(dep({ env: { HCCL_CONNECT_TIMEOUT: 1200, ATB_FLAG: true, NAME: 'x' } }).deployment.env).toEqual({ HCCL_CONNECT_TIMEOUT: '1200', ATB_FLAG: 'true', NAME: 'x' });
    expect(await invalid({ env: { 'BAD-NAME': 'x' } })).toMatch(/dep\.yaml:\d+:5 env\.BAD-NAME: expected an environment variable name \(\[A-Za-z_\]\[A-Za-z0-9_\]\*\), got "BAD-NAME"/);
    expect(await invalid({ env: { A: null } })).toContain('env.A: expected a string, number or boolean, got an empty value');
    expect(await invalid({ env: { A: [1] } })).toContain('env.A: expected a string, number or boolean, got a list');
  });

  it('mindieConfig is any mapping', async () => {
    expect(dep({ mindieConfig: { BackendConfig: { ScheduleConfig: { maxBatchSize: 8 } } } }).deployment.mindieConfig).toEqual({ BackendConfig: { ScheduleConfig: { maxBatchSize: 8 } } });
    expect(await invalid({ mindieConfig: 'x' })).toContain('mindieConfig: expected a mapping (key: value), got "x"');
  });

  it('limits: optional positive integers', async () => {
    expect(dep({ limits: { maxSeqLen: 8192, maxPrefillBatchSize: 4 } }).deployment.limits).toEqual({ maxSeqLen: 8192, maxPrefillBatchSize: 4 });
    expect(await invalid({ limits: { maxSeqLen: 0 } })).toContain('limits.maxSeqLen: expected a positive integer, got 0');
    expect(await invalid({ limits: { maxSeqlen: 1 } })).toContain('limits.maxSeqlen: unknown key "maxSeqlen"; expected one of: maxSeqLen');
  });

  it('unknown keys at the top and nested', async () => {
    const msg = await invalid({ imag: 'x', model: { weights: '/w' } });
    expect(msg).toMatch(/dep\.yaml:\d+:3 imag: unknown key "imag"; expected one of: name, inventory, backend, image/);
    expect(msg).toMatch(/dep\.yaml:\d+:5 model\.weights: unknown key "weights"; expected one of: path, name/);
  });

  it('vllm: only with backend vllm-ascend', async () => {
    const v = dep({ backend: 'vllm-ascend', vllm: { extraArgs: ['--trust-remote-code'], dataParallelSizeLocal: 2, rpcPort: 13389 } }).deployment.vllm;
    expect(v).toEqual({ extraArgs: ['--trust-remote-code'], dataParallelSizeLocal: 2, rpcPort: 13389 });
    expect(await invalid({ vllm: { extraArgs: [] } })).toContain('vllm: vllm: applies only to backend: vllm-ascend (backend is mindie)');
    expect(await invalid({ backend: 'vllm-ascend', vllm: { rpcPort: 1025 } })).toContain('vllm.rpcPort: 1025 is also the HTTP port');
    // The API port set onto the RPC port's default (ports.multiNodesInfer, 1120): both listen on the head node.
    expect(await invalid({ backend: 'vllm-ascend', vllm: { port: 1120 } })).toContain('vllm.port: 1120 is also the data-parallel RPC port');
    expect(dep({ backend: 'vllm-ascend', vllm: { port: 1120, rpcPort: 1121 } }).deployment.vllm).toMatchObject({ port: 1120, rpcPort: 1121 });
  });

  it('vllm: preflight checks the ports the launcher uses (API and RPC), not a default of its own', () => {
    expect(deploymentPorts(dep({ backend: 'vllm-ascend' }).deployment)).toEqual([1025, 1120]);
    expect(deploymentPorts(dep({ backend: 'vllm-ascend', vllm: { port: 8000, rpcPort: 13389 } }).deployment)).toEqual([8000, 13389]);
  });
});

describe('env.HCCL_IF_BASE_PORT', () => {
  it('a whole number whose 16 ports stay clear of the deployment\'s own', async () => {
    expect(dep({ env: { HCCL_IF_BASE_PORT: 61000 } }).deployment.env.HCCL_IF_BASE_PORT).toBe('61000');
    expect(await invalid({ env: { HCCL_IF_BASE_PORT: 'abc' } })).toContain('env.HCCL_IF_BASE_PORT: "abc" is not a base port for HCCL\'s 16 ports; expected a whole number from 1024 to 65520');
    expect(await invalid({ env: { HCCL_IF_BASE_PORT: 65530 } })).toContain('expected a whole number from 1024 to 65520');
    expect(await invalid({ env: { HCCL_IF_BASE_PORT: 1024 } })).toContain("HCCL's ports 1024–1039 include ports.http (1025), ports.management (1026), ports.metrics (1027)");
    expect(await invalid({ backend: 'vllm-ascend', env: { HCCL_IF_BASE_PORT: 1110 } })).toContain('include vllm RPC (1120)');
  });
});

describe('checkDeploymentAgainstInventory', () => {
  it('passes the R1 BF16 layout on 4 nodes', () => {
    expect(() => checkDeploymentAgainstInventory(dep(), FOUR_NODES)).not.toThrow();
  });

  it('env.ASCEND_RT_VISIBLE_DEVICES, when set, names exactly the devices the rank table names', async () => {
    expect(() => checkDeploymentAgainstInventory(dep({ env: { ASCEND_RT_VISIBLE_DEVICES: '7,6,5,4,3,2,1,0' } }), FOUR_NODES)).not.toThrow();
    const err = await userErrorOf(() => checkDeploymentAgainstInventory(dep({ env: { ASCEND_RT_VISIBLE_DEVICES: '0,1,2,3' } }), FOUR_NODES));
    expect(err.exitCode).toBe(2);
    expect(err.message).toContain('env.ASCEND_RT_VISIBLE_DEVICES: "0,1,2,3" does not list the 8 devices the rank table names on every node; expected 0,1,2,3,4,5,6,7, or leave it out');
    expect(err.hint).toMatch(/remove ASCEND_RT_VISIBLE_DEVICES/);
  });

  it('dp × tp must equal the world size, with the contract wording', async () => {
    const d = dep({ parallel: { dataParallelSize: 4, tensorParallelSize: 16, moeExpertParallelSize: 16 } });
    const err = await userErrorOf(() => checkDeploymentAgainstInventory(d, TWO_NODES));
    expect(err).toBeInstanceOf(InputError);
    expect(err.exitCode).toBe(2);
    const line = d.locate(['parallel', 'tensorParallelSize']);
    expect(err.message).toContain(
      `dep.yaml:${line.line}:${line.col} parallel.tensorParallelSize: 16 × dataParallelSize 4 = 64 NPUs, but the inventory has 2 nodes × 8 = 16 NPUs`,
    );
    expect(err.message).toMatch(/^dep\.yaml does not fit the inventory/);
    expect(err.hint).toMatch(/products are 16/);
  });

  it('moe_tp × moe_ep must equal the world size', () => {
    const problems = deploymentProblems(dep({ parallel: { moeExpertParallelSize: 16 } }).deployment, FOUR_NODES);
    expect(problems).toEqual([
      {
        path: ['parallel', 'moeExpertParallelSize'],
        message: '16 × moeTensorParallelSize 1 = 16 NPUs, but the inventory has 4 nodes × 8 = 32 NPUs; expected moeTensorParallelSize × moeExpertParallelSize = 32',
      },
    ]);
  });

  it('tp ≤ NPUs per node or = world size (MindIE)', () => {
    // 2 nodes, W 16: dp 1 / tp 16 (= W) is the Huawei Cloud layout
    expect(deploymentProblems(dep({ parallel: { dataParallelSize: 1, tensorParallelSize: 16, moeTensorParallelSize: 1, moeExpertParallelSize: 16 } }).deployment, TWO_NODES)).toEqual([]);
    // 4 nodes, W 32: tp 16 spans half the nodes
    const p = deploymentProblems(dep({ parallel: { dataParallelSize: 2, tensorParallelSize: 16 } }).deployment, FOUR_NODES);
    expect(p.map((x) => x.message)).toEqual(['16 spans part of the nodes; expected at most 8 (NPUs per node) or exactly 32 (all NPUs)']);
  });

  it('moe_tp ≤ NPUs per node or = world size', () => {
    const p = deploymentProblems(dep({ parallel: { moeTensorParallelSize: 16, moeExpertParallelSize: 2 } }).deployment, FOUR_NODES);
    expect(p.map((x) => x.path.join('.'))).toEqual(['parallel.moeTensorParallelSize']);
  });

  it('lists every violation in one error', async () => {
    const d = dep({ parallel: { dataParallelSize: 1, tensorParallelSize: 2, moeTensorParallelSize: 1, moeExpertParallelSize: 2 } });
    const err = await userErrorOf(() => checkDeploymentAgainstInventory(d, FOUR_NODES));
    expect(err.message).toMatch(/\(2 problems\)/);
  });

  it('uses the whole inventory, not the --node selection', () => {
    const node = { name: 'n' } as never;
    const inv = { allNodes: [node, node, node, node], nodes: [node], npusPerNode: 8 } as never;
    expect(deploymentProblems(dep().deployment, inv)).toEqual([]);
  });

  describe('vllm-ascend', () => {
    const V = { backend: 'vllm-ascend', parallel: { dataParallelSize: 4, tensorParallelSize: 4, moeTensorParallelSize: 1, moeExpertParallelSize: 16 } };

    it('passes DP 4 (2 per node) × TP 4 on 2 nodes', () => {
      expect(deploymentProblems(dep(V).deployment, TWO_NODES)).toEqual([]);
      expect(deploymentProblems(dep({ ...V, vllm: { dataParallelSizeLocal: 2 } }).deployment, TWO_NODES)).toEqual([]);
    });

    it('dataParallelSizeLocal × nodes must equal dataParallelSize', () => {
      const p = deploymentProblems(dep({ ...V, vllm: { dataParallelSizeLocal: 1 } }).deployment, TWO_NODES);
      expect(p).toEqual([{ path: ['vllm', 'dataParallelSizeLocal'], message: '1 per node × 2 nodes = 2, but parallel.dataParallelSize is 4; expected 2 per node' }]);
    });

    it('dataParallelSize must split evenly over the nodes', () => {
      const d = dep({ backend: 'vllm-ascend', parallel: { dataParallelSize: 2, tensorParallelSize: 8, moeTensorParallelSize: 1, moeExpertParallelSize: 32 } });
      // Only reachable with a node count that is not a power of 2 (with the other rules met, dp is a multiple of the nodes).
      const p = deploymentProblems(d.deployment, { nodes: 3, npusPerNode: 8 });
      expect(p.find((x) => x.path.join('.') === 'parallel.dataParallelSize')?.message).toBe('2 data-parallel ranks do not split evenly over 3 nodes; expected a multiple of 3');
    });

    it('TP stays inside one node', () => {
      const d = dep({ backend: 'vllm-ascend', parallel: { dataParallelSize: 1, tensorParallelSize: 16, moeTensorParallelSize: 1, moeExpertParallelSize: 16 } });
      const p = deploymentProblems(d.deployment, TWO_NODES);
      expect(p.map((x) => x.path.join('.'))).toEqual(['parallel.tensorParallelSize', 'parallel.dataParallelSize']);
    });
  });
});

describe('checkModelDivisibility', () => {
  const R1 = { num_attention_heads: 128, n_routed_experts: 256, moe_intermediate_size: 2048, vocab_size: 129280 };

  it('passes the R1 layouts of the reference', () => {
    expect(checkModelDivisibility(dep().deployment, R1)).toEqual([]);
    expect(checkModelDivisibility(dep({ parallel: { dataParallelSize: 1, tensorParallelSize: 16, moeTensorParallelSize: 1, moeExpertParallelSize: 16 } }).deployment, R1)).toEqual([]);
  });

  it('reports each field the parallel size does not divide', () => {
    const model = { num_attention_heads: 12, n_routed_experts: 24, moe_intermediate_size: 3, vocab_size: 100 };
    const d = dep({ parallel: { tensorParallelSize: 8, moeTensorParallelSize: 2, moeExpertParallelSize: 16 } }).deployment;
    expect(checkModelDivisibility(d, model)).toEqual([
      { path: ['parallel', 'tensorParallelSize'], field: 'num_attention_heads', message: "8 does not divide the model's num_attention_heads 12; expected a divisor of 12" },
      { path: ['parallel', 'moeExpertParallelSize'], field: 'n_routed_experts', message: "16 does not divide the model's n_routed_experts 24; expected a divisor of 24" },
      { path: ['parallel', 'moeTensorParallelSize'], field: 'moe_intermediate_size', message: "2 does not divide the model's moe_intermediate_size 3; expected a divisor of 3" },
      { path: ['parallel', 'tensorParallelSize'], field: 'vocab_size', message: "8 does not divide the model's vocab_size 100; expected a divisor of 100" },
    ]);
  });

  it('skips fields a model does not have', () => {
    expect(checkModelDivisibility(dep().deployment, { num_attention_heads: 64 })).toEqual([]);
    expect(checkModelDivisibility(dep().deployment, null)).toEqual([]);
  });

  it('assertModelDivisibility throws a located InputError', async () => {
    const d = dep();
    const err = await userErrorOf(() => assertModelDivisibility(d, { ...R1, vocab_size: 129281 }));
    expect(err.exitCode).toBe(2);
    expect(err.message).toMatch(/dep\.yaml:\d+:\d+ parallel\.tensorParallelSize: 8 does not divide the model's vocab_size 129281/);
  });
});
