/**
 * Golden files of an Atlas 800 A3 deployment (issue #10): 2 servers × 16 dies, MindIE and vLLM-Ascend.
 * The rank table is v1.0 with 16 devices per server and is checked against MindIE's own A3 example
 * (fixtures/a3/ranktable_v1.0_A3_2x16_mindie-llm-doc.json, MindIE-LLM rank_table_file_configuration.md).
 * Regenerate with `UPDATE_GOLDEN=1 npx vitest run test/unit/mindie/golden-a3.test.ts` and review the diff.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { renderDeployment } from '../../../src/mindie/render.js';
import type { RenderInput } from '../../../src/mindie/render-input.js';
import { baseDeployment, makeNodes } from './inputs.js';

const GOLDEN_ROOT = fileURLToPath(new URL('../../golden/', import.meta.url));
const FIXTURES = fileURLToPath(new URL('../../../fixtures/a3/', import.meta.url));
const UPDATE = process.env.UPDATE_GOLDEN === '1';
const A3_IMAGE = 'swr.cn-south-1.myhuaweicloud.com/ascendhub/mindie:2.1.RC1-800I-A3-py311-openeuler24.03-lts';

/** Two planes as on the MindCluster A3 sample: die 0 → 10.20.2.x, die 1 → 10.20.3.x (x = 11 + NPU, +10 per server). */
function a3DeviceIps(count: number): Record<string, string[]> {
  return Object.fromEntries(makeNodes(count).map((n, k) => [n.name,
    Array.from({ length: 16 }, (_, d) => `10.20.${2 + (d % 2)}.${11 + 10 * k + Math.floor(d / 2)}`)]));
}

/** MindIE, 2 × A3: dp 4 × tp 8 = 32 dies, moe_ep 32 (MindIE-LLM's 2-node A3 DeepSeek example, docs/atlas-a3.md §e). */
export function a3MindieInput(): RenderInput {
  return {
    deployment: baseDeployment({
      image: A3_IMAGE,
      parallel: { dataParallelSize: 4, tensorParallelSize: 8, moeTensorParallelSize: 1, moeExpertParallelSize: 32 },
    }),
    nodes: makeNodes(2), npusPerNode: 16, deviceIps: a3DeviceIps(2),
  };
}

/** vLLM-Ascend, 2 × A3: tp 16 inside each server, data parallel across them (dp 2, 1 per node; docs/atlas-a3.md §f). */
function a3VllmInput(): RenderInput {
  return {
    deployment: baseDeployment({
      backend: 'vllm-ascend',
      image: 'quay.io/ascend/vllm-ascend:v0.13.0-a3',
      parallel: { dataParallelSize: 2, tensorParallelSize: 16, moeTensorParallelSize: 1, moeExpertParallelSize: 32 },
      npuMemoryFraction: 0.92,
      vllm: { extraArgs: ['--quantization', 'ascend'] },
    }),
    nodes: makeNodes(2), npusPerNode: 16, deviceIps: {},
  };
}

function renderCase(input: RenderInput): Map<string, string> {
  const out = renderDeployment(input);
  const files = new Map<string, string>();
  if (out.rankTable !== null) files.set('ranktable.json', out.rankTable);
  for (const n of out.nodes) {
    for (const f of n.files) {
      const base = f.path.slice(f.path.lastIndexOf('/') + 1);
      if (base === 'ranktable.json') continue;
      files.set(base === 'env' ? `${n.node.name}.env` : `${n.node.name}.${base}`, f.content);
    }
    files.set(`${n.node.name}.docker-run.txt`, n.containerCommand);
  }
  return files;
}

const CASES: [string, () => RenderInput][] = [['a3-2-node', a3MindieInput], ['vllm-a3-2-node', a3VllmInput]];

describe.each(CASES)('golden %s', (name, make) => {
  const dir = `${GOLDEN_ROOT}${name}/`;
  const files = renderCase(make());
  if (UPDATE) {
    mkdirSync(dir, { recursive: true });
    for (const [file, content] of files) writeFileSync(`${dir}${file}`, content);
  }
  it('has exactly the expected set of golden files', () => {
    expect(existsSync(dir), `${dir} missing: run with UPDATE_GOLDEN=1`).toBe(true);
    expect(readdirSync(dir).sort()).toEqual([...files.keys()].sort());
  });
  it.each([...files.keys()])('%s matches', (file) => {
    expect(files.get(file)).toBe(readFileSync(`${dir}${file}`, 'utf8'));
  });
});

describe('A3 files against MindIE\'s documented A3 layout', () => {
  const files = renderCase(a3MindieInput());
  const table = JSON.parse(files.get('ranktable.json')!);
  const doc = JSON.parse(readFileSync(`${FIXTURES}ranktable_v1.0_A3_2x16_mindie-llm-doc.json`, 'utf8'));

  it('the rank table has the shape of MindIE\'s 2 × 16 A3 example: v1.0, same keys, 16 devices per server, ranks 0–31', () => {
    const shape = (t: any) => ({
      top: Object.keys(t).sort(), version: t.version, status: t.status, server_count: t.server_count,
      server: t.server_list.map((s: any) => ({
        keys: Object.keys(s).sort(), sameIp: s.server_id === s.container_ip,
        deviceKeys: [...new Set(s.device.map((d: any) => Object.keys(d).sort().join(',')))],
        ids: s.device.map((d: any) => d.device_id), ranks: s.device.map((d: any) => d.rank_id),
      })),
    });
    expect(shape(table)).toEqual(shape(doc));
    expect(table.version).toBe('1.0');
    expect(JSON.stringify(table)).not.toMatch(/super_pod|super_device_id/);
    expect(table.server_list[1].device[7]).toEqual({ device_id: '7', device_ip: '10.20.3.24', rank_id: '23' });
  });

  it('config.json: npuDeviceIds 0–15 and worldSize 16 on every node, multi-node on', () => {
    for (const node of ['node1', 'node2']) {
      const cfg = JSON.parse(files.get(`${node}.config.json`)!);
      expect(cfg.BackendConfig.npuDeviceIds).toEqual([Array.from({ length: 16 }, (_, i) => i)]);
      expect(cfg.BackendConfig.multiNodesInferEnabled).toBe(true);
      expect(cfg.BackendConfig.ModelDeployConfig.ModelConfig[0].worldSize).toBe(16);
    }
  });

  it('docker run maps every /dev/davinci0–15 (default rwm), env has AIV and no A2-only HCCL switch', () => {
    const run = files.get('node2.docker-run.txt')!;
    const devices = [...run.matchAll(/--device=\/dev\/davinci(\d+)\b(\S*)/g)].map((m) => [Number(m[1]), m[2]]);
    expect(devices).toEqual(Array.from({ length: 16 }, (_, i) => [i, '']));
    const env = files.get('node2.env')!;
    expect(env).toMatch(/^HCCL_OP_EXPANSION_MODE=AIV$/m);
    expect(env).toMatch(/^WORLD_SIZE=32$/m);
    expect(env).not.toMatch(/HCCL_INTRA_PCIE_ENABLE|HCCL_INTRA_ROCE_ENABLE/);
  });

  it('vLLM on A3: tensor parallel 16 inside a server, one DP rank per server, no A2-only HCCL switch', () => {
    const v = renderCase(a3VllmInput());
    expect(v.has('ranktable.json')).toBe(false);
    const launch = v.get('node2.launch.sh')!;
    expect(launch).toMatch(/--tensor-parallel-size 16\b/);
    expect(launch).toMatch(/--data-parallel-size 2\b/);
    expect(launch).toMatch(/--data-parallel-size-local 1\b/);
    expect(launch).toMatch(/--headless/);
    expect(v.get('node1.env')!).not.toMatch(/HCCL_INTRA_PCIE_ENABLE|HCCL_INTRA_ROCE_ENABLE/);
    expect(v.get('node1.docker-run.txt')!).toMatch(/--device=\/dev\/davinci15 /);
  });
});
