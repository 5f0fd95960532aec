/**
 * A3 pieces of preflight and of the deployment rules (issue #10), pure: die labels on A3 findings only,
 * the super-pod notice, `hardware` holding nodes to the devices a deployment needs, the detected
 * device count, and the deployment rules for A3 and for one server.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseNpuSmiInfo } from '../../../src/ascend/npu-smi.js';
import { compareDriverVersions } from '../../../src/ascend/version-info.js';
import { deploymentProblems, devicesPerNodeFor, type Deployment } from '../../../src/config/deployment.js';
import type { Inventory } from '../../../src/config/inventory.js';
import { a3NpuSmiFacts, devicesToCheck, judgeSuperPod, labelDieFindings } from '../../../src/preflight/a3.js';
import type { JudgeContext, NodeFacts } from '../../../src/preflight/facts.js';
import type { Finding } from '../../../src/preflight/finding.js';
import { judgeHardware, serverOf } from '../../../src/preflight/hardware.js';
import { detectedDevices } from '../../../src/preflight/run.js';

const fx = (dir: string, f: string) => readFileSync(fileURLToPath(new URL(`../../../fixtures/${dir}/${f}`, import.meta.url)), 'utf8');
const parse = (t: string) => { const p = parseNpuSmiInfo(t); if (!p.ok) throw new Error(p.error); return p.value; };
const A3 = parse(fx('a3', 'npu_smi_info_A3_16die_withprocs_25.2.0_vllm-ascend-3002.txt'));
const A2 = parse(fx('ascend', 'npu_smi_info_910b3_8card_noprocs_25.2.0_vllm-ascend-3114.txt'));
const CTX: JudgeContext = { npusPerNode: 8, gateway: 'optional', minDriver: { version: '25.2', reason: 'x' }, compareVersions: compareDriverVersions, clockToleranceMs: 2000 };

function a3Node(name: string, extra: Partial<NodeFacts> = {}): NodeFacts {
  const value = a3NpuSmiFacts(A3);
  value.server = serverOf(A3);
  return { node: name, host: name, ssh: { kind: 'ok', value: true }, npus: {}, pings: [], notes: [], npuSmi: { kind: 'ok', value }, devices: 16, ...extra };
}
function a2Node(name: string): NodeFacts {
  return { node: name, host: name, ssh: { kind: 'ok', value: true }, npus: {}, pings: [], notes: [],
    npuSmi: { kind: 'ok', value: { devices: [], server: serverOf(A2) } }, devices: 8 };
}

describe('die labels', () => {
  it('name NPU, chip and device on an A3 node, and leave A2 findings and node-level findings as they are', () => {
    const findings: Finding[] = [
      { node: 'a3', npu: 7, check: 'link', status: 'fail', message: 'link status: DOWN' },
      { node: 'a3', check: 'clock', status: 'pass', message: 'clock offset 0.00 s' },
      { node: 'a2', npu: 7, check: 'link', status: 'fail', message: 'link status: DOWN' },
    ];
    expect(labelDieFindings(findings, [a3Node('a3'), a2Node('a2')]).map((f) => f.message)).toEqual([
      'NPU 3 chip 1 (device 7): link status: DOWN', 'clock offset 0.00 s', 'link status: DOWN']);
  });
});

describe('devices per node', () => {
  it('16 on A3, 8 on A2, the fallback without a table', () => {
    expect(devicesToCheck(a3Node('x').npuSmi, 8)).toBe(16);
    expect(devicesToCheck(a2Node('x').npuSmi, 16)).toBe(8);
    expect(devicesToCheck({ kind: 'timeout', seconds: 30 }, 8)).toBe(8);
  });
  it('the count most nodes showed', () => {
    expect(detectedDevices([a3Node('a'), a3Node('b'), a2Node('c')], 8)).toBe(16);
    expect(detectedDevices([a2Node('a'), a3Node('b')], 8)).toBe(8);
  });
});

describe('super-pod notice', () => {
  it('says nothing for a standalone A3 (Server Index 1023) and warns, keeping v1.0, for a configured one', () => {
    const out: Finding[] = [];
    judgeSuperPod(out, a3Node('n1', { spod: { kind: 'ok', value: { sdid: 0, superPodId: 0, serverIndex: 1023 } } }));
    expect(out).toEqual([]);
    judgeSuperPod(out, a3Node('n2', { spod: { kind: 'ok', value: { sdid: 113246208, superPodId: 1, serverIndex: 27 } } }));
    expect(out).toEqual([expect.objectContaining({ node: 'n2', check: 'hardware', status: 'warn',
      message: expect.stringMatching(/super-pod server index 27 in super pod 1: .*rank table v1\.0 .*never v1\.2/) })]);
  });
});

describe('hardware against what the deployment needs (npusPerNode left out)', () => {
  const need = { ...CTX, npusPerNode: 16, devicesNeeded: { count: 16, why: 'the deployment (dataParallelSize 2 × tensorParallelSize 16 over 2 nodes)' } };
  it('passes A3 nodes', () => {
    const out: Finding[] = [];
    judgeHardware(out, [a3Node('n1'), a3Node('n2')], need);
    expect(out.map((f) => f.status)).toEqual(['pass', 'pass']);
  });
  it('fails A2 nodes with what to change', () => {
    const out: Finding[] = [];
    judgeHardware(out, [a2Node('n1'), a2Node('n2')], need);
    expect(out.map((f) => f.status)).toEqual(['fail', 'fail']);
    expect(out[0]!.message).toBe('the deployment (dataParallelSize 2 × tensorParallelSize 16 over 2 nodes) needs 16 devices per node, but the node has 8: Atlas 800 A2 (8 × 910B3)');
    expect(out[0]!.hint).toMatch(/parallel sizes for 8 devices per node/);
  });
});

describe('deployment rules', () => {
  const dep = (backend: 'mindie' | 'vllm-ascend', dp: number, tp: number, ep: number) => ({
    name: 'r1', backend, image: 'mindie:2.1.RC1-800I-A3', model: { path: '/m', name: 'r1' },
    parallel: { dataParallelSize: dp, tensorParallelSize: tp, moeTensorParallelSize: 1, moeExpertParallelSize: ep },
    env: {}, mindieConfig: {}, npuMemoryFraction: 0.95, ports: { http: 1025, management: 1026, metrics: 1027, multiNodesInfer: 1120 },
  }) as unknown as Deployment;
  const inv = (nodes: number, given?: number) => ({
    allNodes: Array.from({ length: nodes }, (_, i) => ({ name: `n${i}` })), npusPerNode: given ?? 8, ...(given ? { npusPerNodeGiven: true } : {}),
  }) as unknown as Inventory;

  it('npusPerNode left out: 16 when the deployment fills A3 dies, else the default; given: as written', () => {
    expect(devicesPerNodeFor(dep('mindie', 2, 16, 32), inv(2))).toBe(16);
    expect(devicesPerNodeFor(dep('mindie', 2, 8, 16), inv(2))).toBe(8);
    expect(devicesPerNodeFor(dep('mindie', 2, 16, 32), inv(2, 8))).toBe(8);
  });
  it('one mindie server is fine (single-node configuration)', () => {
    expect(deploymentProblems(dep('mindie', 1, 8, 8), { nodes: 1, npusPerNode: 8 })).toEqual([]);
    expect(deploymentProblems(dep('mindie', 2, 8, 16), { nodes: 1, npusPerNode: 16 })).toEqual([]);
  });
  it('mindie on A3: 4 servers pass, 8 are refused at backend with the source', () => {
    expect(deploymentProblems(dep('mindie', 4, 16, 64), { nodes: 4, npusPerNode: 16 })).toEqual([]);
    const p = deploymentProblems(dep('mindie', 8, 16, 128), { nodes: 8, npusPerNode: 16 });
    expect(p.map((x) => x.path)).toEqual([['backend']]);
    expect(p[0]!.message).toMatch(/at most 4 Atlas 800 A3 servers .*mindie_instg_0027/);
    // the limit is A3's: 8 A2 servers stay allowed
    expect(deploymentProblems(dep('mindie', 8, 8, 64), { nodes: 8, npusPerNode: 8 })).toEqual([]);
  });
});
