import type { RenderDeployment, RenderInput, RenderNode } from '../../../src/mindie/render-input.js';

/** Device IPs laid out like a real rack: 192.168.<100+node>.<11+npu>. */
export function deviceIpsFor(nodes: readonly RenderNode[], npus = 8): Record<string, string[]> {
  return Object.fromEntries(nodes.map((n, k) => [n.name, Array.from({ length: npus }, (_, d) => `192.168.${100 + k}.${11 + d}`)]));
}

export function makeNodes(count: number): RenderNode[] {
  return Array.from({ length: count }, (_, i) => ({ name: `node${i + 1}`, host: `10.0.0.${i + 1}`, index: i }));
}

export function baseDeployment(overrides: Partial<RenderDeployment> = {}): RenderDeployment {
  return {
    name: 'deepseek-r1',
    backend: 'mindie',
    image: 'swr.cn-south-1.myhuaweicloud.com/ascendhub/mindie:2.1.RC1-800I-A2-py311-openeuler24.03-lts',
    model: { path: '/data/models/DeepSeek-R1', name: 'deepseek-r1' },
    parallel: { dataParallelSize: 2, tensorParallelSize: 8, moeTensorParallelSize: 4, moeExpertParallelSize: 4 },
    npuMemoryFraction: 0.95,
    ports: { http: 1025, management: 1026, metrics: 1027, multiNodesInfer: 1120 },
    env: {},
    mindieConfig: {},
    ...overrides,
  };
}

/** 2 nodes, dp 2 / tp 8 / moe_tp 4 / moe_ep 4 (the A2 dual-machine layout). */
export function twoNodeInput(overrides: Partial<RenderDeployment> = {}): RenderInput {
  const nodes = makeNodes(2);
  return { deployment: baseDeployment(overrides), nodes, npusPerNode: 8, deviceIps: deviceIpsFor(nodes) };
}

/** 4 nodes, dp 4 / tp 8 / moe_tp 1 / moe_ep 32 (GPUStack's BF16 layout). */
export function fourNodeInput(overrides: Partial<RenderDeployment> = {}): RenderInput {
  const nodes = makeNodes(4);
  return {
    deployment: baseDeployment({
      parallel: { dataParallelSize: 4, tensorParallelSize: 8, moeTensorParallelSize: 1, moeExpertParallelSize: 32 },
      ...overrides,
    }),
    nodes,
    npusPerNode: 8,
    deviceIps: deviceIpsFor(nodes),
  };
}
