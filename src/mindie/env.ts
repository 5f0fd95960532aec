import { createHash } from 'node:crypto';
import { checkRenderInput } from './input-check.js';
import { resolveLimits } from './limits.js';
import { remotePaths } from './paths.js';
import { RenderError } from './render-error.js';
import type { RenderInput, RenderNode } from './render-input.js';

/** HCCL devices per server of an Atlas 800 A3 (8 NPUs × 2 dies): 16 devices per node means A3 (docs/atlas-a3.md §0). */
const A3_DEVICES_PER_NODE = 16;

export type EnvPair = readonly [key: string, value: string];

const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Variables that tell a node who it is and where the shared files are; a user value would make the
 * node disagree with the rank table or read a file ascendctl did not upload.
 */
/** HCCL_CONNECT_TIMEOUT as rendered per backend, in seconds (a deployment's env: may set another). */
export const HCCL_CONNECT_TIMEOUT_S = { mindie: '7200', 'vllm-ascend': '1800' } as const;

const MINDIE_IDENTITY: ReadonlySet<string> = new Set([
  'MIES_CONTAINER_IP',
  'MIES_CONTAINER_MANAGEMENT_IP',
  'HOST_IP',
  'MASTER_IP',
  'RANK_TABLE_FILE',
  'RANKTABLEFILE',
  'MIES_CONFIG_JSON_PATH',
  'WORLD_SIZE',
]);
const VLLM_IDENTITY: ReadonlySet<string> = new Set(['HCCL_IF_IP']);

/** §4.4: ascendctl logs reads the daemon through `docker logs`. */
const FIXED_LOGGING: Readonly<Record<string, string>> = { MINDIE_LOG_TO_STDOUT: '1' };
const DEFAULT_LOGGING: readonly EnvPair[] = [
  ['MINDIE_LOG_TO_STDOUT', '1'],
  ['MINDIE_LOG_TO_FILE', '1'],
  ['MINDIE_LOG_LEVEL', 'INFO'],
];

/** Variables that differ per node by design and so are left out of the cross-node HCCL comparison. */
const PER_NODE_HCCL: ReadonlySet<string> = new Set(['HCCL_IF_IP', 'HCCL_SOCKET_IFNAME']);

function checkPair(key: string, value: string, where: string): void {
  if (!ENV_KEY.test(key)) {
    throw new RenderError(`${where}: "${key}" is not a valid environment variable name`, { path: where, hint: 'use letters, digits and _, not starting with a digit' });
  }
  if (typeof value !== 'string') {
    throw new RenderError(`${where}.${key} is not a string`, { path: `${where}.${key}`, hint: 'quote the value in YAML' });
  }
  if (/[\r\n\0]/.test(value)) {
    throw new RenderError(`${where}.${key} contains a line break or NUL; docker --env-file cannot carry it`, {
      path: `${where}.${key}`,
      hint: 'put the value on one line',
    });
  }
}

function fraction(input: RenderInput): string {
  const f = input.deployment.npuMemoryFraction;
  if (!(typeof f === 'number' && f > 0 && f <= 1)) {
    throw new RenderError(`npuMemoryFraction is ${String(f)}; expected a number in (0, 1]`, { path: 'npuMemoryFraction', hint: 'use 0.92–0.97 (0.95 is typical)' });
  }
  return String(f);
}

function mindieEnv(input: RenderInput, node: RenderNode): EnvPair[] {
  const { deployment: d, nodes, npusPerNode } = input;
  const paths = remotePaths(d.name);
  const master = nodes[0] as RenderNode; // checkRenderInput guarantees one
  // A Map keeps a key's first position when a later set (the user's env) replaces its value.
  const env = new Map<string, string>();
  // §4.2 — who this node is.
  env.set('MIES_CONTAINER_IP', node.host);
  env.set('HOST_IP', node.host);
  env.set('MASTER_IP', master.host);
  // One server has no rank table (single-node configuration): nothing to point at.
  if (nodes.length > 1) {
    env.set('RANK_TABLE_FILE', paths.rankTable);
    // 1.0-era name, still read by some releases (§4.5): export both.
    env.set('RANKTABLEFILE', paths.rankTable);
  }
  env.set('MIES_CONFIG_JSON_PATH', paths.config);
  env.set('WORLD_SIZE', String(nodes.length * npusPerNode));
  // §4.2 — HCCL / ATB, identical on every node.
  env.set('HCCL_CONNECT_TIMEOUT', HCCL_CONNECT_TIMEOUT_S.mindie);
  env.set('HCCL_EXEC_TIMEOUT', '0');
  env.set('HCCL_OP_EXPANSION_MODE', 'AIV');
  env.set('HCCL_DETERMINISTIC', 'false');
  env.set('ATB_LLM_HCCL_ENABLE', '1');
  env.set('ATB_LLM_COMM_BACKEND', 'hccl');
  env.set('NPU_MEMORY_FRACTION', fraction(input));
  // Weight loading of a 671B model drops from hours to minutes with one OpenMP thread (§4.2).
  env.set('OMP_NUM_THREADS', '1');
  env.set('PYTORCH_NPU_ALLOC_CONF', 'expandable_segments:True');
  // §4.3 — the recommendations every source agrees on. Left out on purpose: HCCL_BUFFSIZE / HCCL_ALGO /
  // INF_NAN_MODE_ENABLE (sources disagree) and a jemalloc LD_PRELOAD (its path varies by image).
  env.set('ATB_WORKSPACE_MEM_ALLOC_ALG_TYPE', '3');
  env.set('ATB_WORKSPACE_MEM_ALLOC_GLOBAL', '1');
  env.set('ATB_OPERATION_EXECUTE_ASYNC', '1');
  env.set('TASK_QUEUE_ENABLE', '1');
  env.set('ATB_LAYER_INTERNAL_TENSOR_REUSE', '1');
  env.set('ATB_LLM_ENABLE_AUTO_TRANSPOSE', '0');
  env.set('ATB_CONVERT_NCHW_TO_ND', '1');
  env.set('HCCL_RDMA_PCIE_DIRECT_POST_NOSTRICT', 'TRUE');
  env.set('CPU_AFFINITY_CONF', '1');
  // Enables /metrics on the metrics port.
  env.set('MIES_SERVICE_MONITOR_MODE', '1');
  // GPUStack turns async scheduling off for small batches, where it costs more than it gains.
  if (resolveLimits(d.limits).maxBatchSize > 50) env.set('MINDIE_ASYNC_SCHEDULING_ENABLE', '1');

  const logging = new Map<string, string>();
  for (const [k, v] of DEFAULT_LOGGING) logging.set(k, v);
  for (const [key, value] of Object.entries(d.env)) {
    checkPair(key, value, 'env');
    if (MINDIE_IDENTITY.has(key)) {
      throw new RenderError(`env.${key} cannot be set: ascendctl derives it from the inventory and the rank table, per node`, {
        path: `env.${key}`,
        node: node.name,
        hint: `remove ${key} from env in the deployment file`,
      });
    }
    if (key.startsWith('MINDIE_LOG_')) {
      const fixed = FIXED_LOGGING[key];
      if (fixed !== undefined && value !== fixed) {
        throw new RenderError(`env.${key} must stay ${fixed}: ascendctl logs reads the daemon's output through the container's stdout`, {
          path: `env.${key}`,
          hint: `remove ${key} from env`,
        });
      }
      logging.set(key, value);
      continue;
    }
    env.set(key, value);
  }
  // §4.1, §4.4: logging variables go last (GPUStack found earlier ones broke the ATB set-up).
  return [...[...env], ...[...logging]];
}

function vllmEnv(input: RenderInput, node: RenderNode): EnvPair[] {
  const { deployment: d } = input;
  const env = new Map<string, string>();
  env.set('HCCL_IF_IP', node.host);
  env.set('OMP_PROC_BIND', 'false');
  env.set('OMP_NUM_THREADS', '1');
  env.set('HCCL_BUFFSIZE', '200');
  env.set('HCCL_OP_EXPANSION_MODE', 'AIV');
  // §12.2: 120 s is too low for multi-node bring-up; 4-node CI uses 1200.
  env.set('HCCL_CONNECT_TIMEOUT', HCCL_CONNECT_TIMEOUT_S['vllm-ascend']);
  // A2 only: on an Atlas A3 (16 dies per server) HCCL_INTRA_PCIE_ENABLE is "不支持" and
  // HCCL_INTRA_ROCE_ENABLE acts only under LLM-DataDist (docs/atlas-a3.md §e, §f): left out there.
  if (input.npusPerNode !== A3_DEVICES_PER_NODE) {
    env.set('HCCL_INTRA_PCIE_ENABLE', '1');
    env.set('HCCL_INTRA_ROCE_ENABLE', '0');
  }
  env.set('PYTORCH_NPU_ALLOC_CONF', 'expandable_segments:True');
  env.set('TASK_QUEUE_ENABLE', '1');
  // Graph compilation on the first step outlasts vLLM's default timeouts (§13 #27).
  env.set('VLLM_ENGINE_READY_TIMEOUT_S', '3600');
  env.set('VLLM_RPC_TIMEOUT', '3600000');
  env.set('VLLM_EXECUTE_MODEL_TIMEOUT_SECONDS', '3600');
  for (const [key, value] of Object.entries(d.env)) {
    checkPair(key, value, 'env');
    if (VLLM_IDENTITY.has(key)) {
      throw new RenderError(`env.${key} cannot be set: it is each node's own address`, { path: `env.${key}`, node: node.name, hint: `remove ${key} from env in the deployment file` });
    }
    env.set(key, value);
  }
  return [...env];
}

/**
 * The environment of one node's container, in order, for docker's `--env-file`: identity, HCCL/ATB,
 * recommendations, the user's env (which may override everything but the identity), logging last.
 */
export function renderEnv(input: RenderInput, node: RenderNode): EnvPair[] {
  checkRenderInput(input);
  return input.deployment.backend === 'vllm-ascend' ? vllmEnv(input, node) : mindieEnv(input, node);
}

/** `KEY=VALUE` lines: docker takes the value literally (no quotes, no expansion), one line each. */
export function renderEnvFile(pairs: readonly EnvPair[]): string {
  const seen = new Set<string>();
  const lines = pairs.map(([key, value]) => {
    checkPair(key, value, 'env');
    if (seen.has(key)) throw new RenderError(`env file would set ${key} twice`, { path: `env.${key}`, hint: 'set each variable once' });
    seen.add(key);
    return `${key}=${value}`;
  });
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

/** HCCL variables that must match on every node (per-node addresses excluded), sorted and hashed. */
export function hcclEnv(pairs: readonly EnvPair[]): EnvPair[] {
  return pairs.filter(([k]) => (k.startsWith('HCCL_') || k.startsWith('LCCL_')) && !PER_NODE_HCCL.has(k)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

export function hcclEnvDigest(pairs: readonly EnvPair[]): string {
  const hash = createHash('sha256');
  for (const [k, v] of hcclEnv(pairs)) hash.update(`${k}=${v}\0`);
  return hash.digest('hex');
}
