/**
 * What the MindIE / vLLM renderers need, decoupled from the YAML schemas: the lead maps the validated
 * inventory + deployment + collected device IPs onto this shape, so the renderers stay pure and the
 * config layer can change without touching them.
 */
export type Backend = 'mindie' | 'vllm-ascend';

export interface RenderNode {
  name: string;
  /** Address used for server_id / container_ip / ipAddress / MIES_CONTAINER_IP: must be an IP literal. */
  host: string;
  /** Position in the cluster; 0 = master (rank 0). */
  index: number;
}

export interface ParallelSizes {
  dataParallelSize: number;
  tensorParallelSize: number;
  moeTensorParallelSize: number;
  moeExpertParallelSize: number;
}

export interface Ports {
  http: number;
  management: number;
  metrics: number;
  multiNodesInfer: number;
}

export interface Limits {
  maxSeqLen?: number;
  maxInputTokenLen?: number;
  maxPrefillTokens?: number;
  maxIterTimes?: number;
  maxBatchSize?: number;
  maxPrefillBatchSize?: number;
}

export interface VllmOptions {
  extraArgs?: string[];
  /** DP ranks per node; default dataParallelSize / nodes. */
  dataParallelSizeLocal?: number;
  /** API port on the head node; default ports.http. */
  port?: number;
  /** --data-parallel-rpc-port; default ports.multiNodesInfer. */
  rpcPort?: number;
}

export interface RenderDeployment {
  name: string;
  backend: Backend;
  image: string;
  model: { path: string; name: string };
  parallel: ParallelSizes;
  npuMemoryFraction: number;
  ports: Ports;
  env: Record<string, string>;
  mindieConfig: Record<string, unknown>;
  limits?: Limits;
  vllm?: VllmOptions;
}

/**
 * What one of a server's HCCL devices is called in messages: an NPU on an A2 (8 per server), a device
 * (die, 2 per NPU) on an A3 (16 per server), whose numbers are not NPU numbers (atlas-a3.md §0).
 */
export function deviceWord(devicesPerNode: number): 'NPU' | 'device' {
  return devicesPerNode > 8 ? 'device' : 'NPU';
}

/**
 * The two ports vllm-ascend serves on its head node (mindie-multinode.md §12.2): the API (`--port`:
 * `vllm.port`, else ports.http) and the one the headless nodes dial (`--data-parallel-rpc-port`:
 * `vllm.rpcPort`, else ports.multiNodesInfer). Launcher, validation, preflight and status read them here.
 */
export function vllmPorts(d: Pick<RenderDeployment, 'ports' | 'vllm'>): { api: number; rpc: number } {
  return { api: d.vllm?.port ?? d.ports.http, rpc: d.vllm?.rpcPort ?? d.ports.multiNodesInfer };
}

export interface RenderInput {
  deployment: RenderDeployment;
  /** Master first. */
  nodes: RenderNode[];
  npusPerNode: number;
  /** Node name (or host) → device IPs, index = device_id. */
  deviceIps: Record<string, string[]>;
}
