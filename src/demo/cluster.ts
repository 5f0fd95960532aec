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

/** The weights' config.json facts the CLI checks (mindie-multinode.md §1): R1's real values. */
const MODEL_CONFIG = {
  architectures: ['DeepseekV3ForCausalLM'],
  model_type: 'deepseek_v3',
  num_attention_heads: 128,
  n_routed_experts: 256,
  moe_intermediate_size: 2048,
  vocab_size: 129280,
  quantize: 'w8a8_dynamic',
};

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
  parallel?: { dataParallelSize: number; tensorParallelSize: number; moeTensorParallelSize: number; moeExpertParallelSize: number };
}

export async function startDemoCluster(opts: DemoClusterOptions): Promise<DemoCluster> {
  const { startSimCluster } = await import('../sim/main.js');
  const dir = opts.dir ?? (await mkdtemp(path.join(os.tmpdir(), 'ascendctl-demo-')));
  const subnet = opts.subnet ?? 10 + Math.floor(Math.random() * 200);
  const sshPort = opts.sshPort ?? 2222;
  const names = Array.from({ length: opts.nodes }, (_, i) => `node${i + 1}`);
  const indexJson = JSON.stringify({ metadata: { total_size: 688586727753 }, weight_map: { 'model.embed_tokens.weight': 'model-00001-of-000163.safetensors' } });
  const sim = await startSimCluster({
    spec: {
      profile: opts.profile ?? 'fast',
      nodes: names.map((name, i) => ({
        name,
        host: `127.${subnet}.0.${i + 1}`,
        sshPort,
        faults: opts.faults?.[name] ?? [],
        images: opts.imagePresent === false ? [] : [DEMO_IMAGE],
        models: { [DEMO_MODEL_PATH]: { 'config.json': `${JSON.stringify(MODEL_CONFIG, null, 2)}\n`, 'model.safetensors.index.json': indexJson } },
      })),
    },
  });
  const key = sim.clientKey!;
  const identity = path.join(dir, 'id_ed25519');
  await writeFile(identity, key.private, { mode: 0o600 });
  const knownHosts = path.join(dir, 'known_hosts');
  await writeFile(knownHosts, `${sim.nodes.map((n) => n.knownHostsLine).join('\n')}\n`, { mode: 0o600 });
  const inventoryPath = path.join(dir, 'inventory.yaml');
  await writeFile(inventoryPath, [
    '# A simulated Atlas 800T A2 cluster on loopback (ascendctl demo).',
    'ssh:',
    '  user: root',
    `  port: ${sshPort}`,
    `  identityFile: ${identity}`,
    `  knownHostsFile: ${knownHosts}`,
    '  strictHostKeyChecking: "yes"',
    'npusPerNode: 8',
    'nodes:',
    ...sim.nodes.map((n) => `  - name: ${n.name}\n    host: ${n.host}`),
    '',
  ].join('\n'));
  const world = opts.nodes * 8;
  const parallel = opts.parallel ?? { dataParallelSize: opts.nodes, tensorParallelSize: 8, moeTensorParallelSize: 1, moeExpertParallelSize: world };
  const deploymentPath = path.join(dir, 'deepseek-r1.yaml');
  await writeFile(deploymentPath, [
    'name: deepseek-r1',
    'inventory: inventory.yaml',
    'backend: mindie',
    `image: ${DEMO_IMAGE}`,
    'model:',
    `  path: ${DEMO_MODEL_PATH}`,
    '  name: deepseek-r1',
    'parallel:',
    `  dataParallelSize: ${parallel.dataParallelSize}`,
    `  tensorParallelSize: ${parallel.tensorParallelSize}`,
    `  moeTensorParallelSize: ${parallel.moeTensorParallelSize}`,
    `  moeExpertParallelSize: ${parallel.moeExpertParallelSize}`,
    'npuMemoryFraction: 0.95',
    'ports:',
    '  http: 1025',
    '  management: 1026',
    '  metrics: 1027',
    '  multiNodesInfer: 1120',
    '',
  ].join('\n'));
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
