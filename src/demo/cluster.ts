/**
 * A built-in simulated cluster for `ascendctl demo`, the benchmarks and in-process tests: the
 * simulator's in-process SSH servers on loopback (no root, no hardware), plus the files a user would
 * have — client key, known_hosts, inventory.yaml, a deployment file.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { RunningSimCluster } from '../sim/main.js';
import type { LatencyProfile, SimFault } from '../sim/types.js';

export const DEMO_IMAGE = 'swr.cn-south-1.myhuaweicloud.com/ascendhub/mindie:2.1.RC1-800I-A2-py311-openeuler24.03-lts';
export const DEMO_MODEL_PATH = '/data/models/DeepSeek-R1';
/** The MindIE image of an Atlas 800I A3 (docs/atlas-a3.md §e: `mindie:2.1.RC1…-800I-A3-…`; CANN 8.2.RC1 like the A2 one). */
export const DEMO_IMAGE_A3 = 'swr.cn-south-1.myhuaweicloud.com/ascendhub/mindie:2.1.RC1-800I-A3-py311-openeuler24.03-lts';

/** The weights' config.json facts the CLI checks (mindie-multinode.md §1): R1's real values. */
export const R1_MODEL_CONFIG = {
  architectures: ['DeepseekV3ForCausalLM'],
  model_type: 'deepseek_v3',
  num_attention_heads: 128,
  n_routed_experts: 256,
  moe_intermediate_size: 2048,
  vocab_size: 129280,
  quantize: 'w8a8_dynamic',
};

/** R1's generation_config.json (sampling defaults; identical on every node, mindie-multinode.md §13 row 23). */
export const R1_GENERATION_CONFIG = { _from_model_config: true, bos_token_id: 0, eos_token_id: 1, do_sample: true, temperature: 0.6, top_p: 0.95 };

/**
 * A model directory's files as a simulated node holds them: config.json, the weights' index, and the
 * other files MindIE opens at start (generation_config.json, tokenizer*.json; small stand-ins).
 */
export function r1ModelFiles(): Record<string, string> {
  const index = { metadata: { total_size: 688586727753 }, weight_map: { 'model.embed_tokens.weight': 'model-00001-of-000163.safetensors' } };
  return {
    'config.json': `${JSON.stringify(R1_MODEL_CONFIG, null, 2)}\n`,
    'model.safetensors.index.json': JSON.stringify(index),
    'generation_config.json': `${JSON.stringify(R1_GENERATION_CONFIG, null, 2)}\n`,
    'tokenizer.json': JSON.stringify({ version: '1.0', model: { type: 'BPE' } }),
    'tokenizer_config.json': JSON.stringify({ tokenizer_class: 'LlamaTokenizerFast', model_max_length: 131072 }),
  };
}

export interface ParallelSizes {
  dataParallelSize: number;
  tensorParallelSize: number;
  moeTensorParallelSize: number;
  moeExpertParallelSize: number;
}

/** The BF16 R1 layout for N nodes of 8 NPUs (GPUStack's 4-node tutorial): dp N, tp 8, moe_tp 1, moe_ep 8N. */
export function r1Parallel(nodes: number): ParallelSizes {
  return { dataParallelSize: nodes, tensorParallelSize: 8, moeTensorParallelSize: 1, moeExpertParallelSize: nodes * 8 };
}

/** A MindIE deployment file for the simulated R1 (inventory.yaml beside it). */
export function r1DeploymentYaml(opts: { name?: string; image?: string; modelPath?: string; parallel: ParallelSizes }): string {
  const name = opts.name ?? 'deepseek-r1';
  const p = opts.parallel;
  return [
    `name: ${name}`,
    'inventory: inventory.yaml',
    'backend: mindie',
    `image: ${opts.image ?? DEMO_IMAGE}`,
    'model:',
    `  path: ${opts.modelPath ?? DEMO_MODEL_PATH}`,
    `  name: ${name}`,
    'parallel:',
    `  dataParallelSize: ${p.dataParallelSize}`,
    `  tensorParallelSize: ${p.tensorParallelSize}`,
    `  moeTensorParallelSize: ${p.moeTensorParallelSize}`,
    `  moeExpertParallelSize: ${p.moeExpertParallelSize}`,
    'npuMemoryFraction: 0.95',
    'ports:',
    '  http: 1025',
    '  management: 1026',
    '  metrics: 1027',
    '  multiNodesInfer: 1120',
    '',
  ].join('\n');
}

/** The inventory of a simulated cluster: key, known_hosts and strict host-key checking, as a user writes it. */
export function simInventoryYaml(opts: {
  port: number; identityFile: string; knownHostsFile: string; nodes: readonly { name: string; host: string }[];
  /** HCCL devices per node (default 8: Atlas 800T A2; 16 on an A3); null leaves npusPerNode out (preflight detects it). */
  npusPerNode?: number | null;
}): string {
  const devices = opts.npusPerNode === undefined ? 8 : opts.npusPerNode;
  return [
    devices === 16 ? '# A simulated Atlas 800 A3 cluster on loopback (8 NPUs × 2 dies = 16 devices per server).' : '# A simulated Atlas 800T A2 cluster on loopback.',
    'ssh:',
    '  user: root',
    `  port: ${opts.port}`,
    `  identityFile: ${opts.identityFile}`,
    `  knownHostsFile: ${opts.knownHostsFile}`,
    '  strictHostKeyChecking: "yes"',
    ...(devices === null ? [] : [`npusPerNode: ${devices}`]),
    'nodes:',
    ...opts.nodes.map((n) => `  - name: ${n.name}\n    host: ${n.host}`),
    '',
  ].join('\n');
}

export interface DemoCluster {
  dir: string;
  inventoryPath: string;
  deploymentPath: string;
  sim: RunningSimCluster;
  nodes: { name: string; host: string }[];
  stop(): Promise<void>;
}

export interface DemoClusterOptions {
  nodes: number;
  profile?: LatencyProfile;
  /** Second octet of 127.x.0.n so parallel runs do not collide. */
  subnet?: number;
  sshPort?: number;
  imagePresent?: boolean;
  faults?: Record<string, SimFault[]>;
  dir?: string;
  /** Parallel sizes of the generated deployment; default dp = nodes, tp = 8, moe_tp 1, moe_ep = world. */
  parallel?: ParallelSizes;
  /** Login-shell noise every node prints before each command (stdout and stderr). */
  banner?: { stdout?: string; stderr?: string };
  /** Server kind of every node (default A2); `servers` sets it per node (a mixed rack). */
  server?: 'A2' | 'A3';
  servers?: Record<string, 'A2' | 'A3'>;
  /** npusPerNode in the generated inventory: default 8, or 16 when every node is an A3; null leaves it out. */
  npusPerNode?: number | null;
}

/** The R1 W8A8 layout on N Atlas 800 A3 servers (16 dies each): dp N, tp 16, moe_tp 1, moe_ep 16N. */
export function r1ParallelA3(nodes: number): ParallelSizes {
  return { dataParallelSize: nodes, tensorParallelSize: 16, moeTensorParallelSize: 1, moeExpertParallelSize: nodes * 16 };
}

export async function startDemoCluster(opts: DemoClusterOptions): Promise<DemoCluster> {
  const { startSimCluster } = await import('../sim/main.js');
  const dir = opts.dir ?? (await mkdtemp(path.join(os.tmpdir(), 'ascendctl-demo-')));
  const subnet = opts.subnet ?? 10 + Math.floor(Math.random() * 200);
  const sshPort = opts.sshPort ?? 2222;
  const names = Array.from({ length: opts.nodes }, (_, i) => `node${i + 1}`);
  const allA3 = names.every((n) => (opts.servers?.[n] ?? opts.server) === 'A3');
  const image = allA3 ? DEMO_IMAGE_A3 : DEMO_IMAGE;
  const sim = await startSimCluster({
    spec: {
      profile: opts.profile ?? 'fast',
      nodes: names.map((name, i) => ({
        name,
        host: `127.${subnet}.0.${i + 1}`,
        sshPort,
        ...((opts.servers?.[name] ?? opts.server) === 'A3' ? { server: 'A3' as const } : {}),
        faults: opts.faults?.[name] ?? [],
        images: opts.imagePresent === false ? [] : [image],
        models: { [DEMO_MODEL_PATH]: r1ModelFiles() },
        ...(opts.banner ? { banner: opts.banner } : {}),
      })),
    },
  });
  const key = sim.clientKey!;
  const identity = path.join(dir, 'id_ed25519');
  await writeFile(identity, key.private, { mode: 0o600 });
  const knownHosts = path.join(dir, 'known_hosts');
  await writeFile(knownHosts, `${sim.nodes.map((n) => n.knownHostsLine).join('\n')}\n`, { mode: 0o600 });
  const inventoryPath = path.join(dir, 'inventory.yaml');
  const npusPerNode = opts.npusPerNode === undefined ? (allA3 ? 16 : 8) : opts.npusPerNode;
  await writeFile(inventoryPath, simInventoryYaml({ port: sshPort, identityFile: identity, knownHostsFile: knownHosts, nodes: sim.nodes, npusPerNode }));
  const deploymentPath = path.join(dir, 'deepseek-r1.yaml');
  await writeFile(deploymentPath, r1DeploymentYaml({ image, parallel: opts.parallel ?? (allA3 ? r1ParallelA3(opts.nodes) : r1Parallel(opts.nodes)) }));
  return {
    dir,
    inventoryPath,
    deploymentPath,
    sim,
    nodes: sim.nodes.map((n) => ({ name: n.name, host: n.host })),
    async stop() {
      await sim.stop();
      if (!opts.dir) await rm(dir, { recursive: true, force: true });
    },
  };
}
