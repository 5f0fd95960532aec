/**
 * Test helpers: a simulated cluster with the container runtime, a `docker` caller, and deployment files
 * written the way the reference (mindie-multinode.md) says ascendctl renders them — by hand, so these
 * tests do not depend on src/mindie.
 */
import { SimCluster } from '../../../src/sim/cluster.js';
import type { SimNode } from '../../../src/sim/ascend-node.js';
import { MemFs } from '../../../src/sim/mem-fs.js';
import { createContainerRuntimeExtension, runtimeOf, type ContainerRuntime } from '../../../src/sim/container-runtime.js';
import type { SimFault } from '../../../src/sim/types.js';

export const IMAGE = 'swr.cn-south-1.myhuaweicloud.com/ascendhub/mindie:2.1.RC1-800I-A2-py311-openeuler24.03-lts';
export const VLLM_IMAGE = 'quay.io/ascend/vllm-ascend:v0.13.0';
export const MODEL = '/data/models/DeepSeek-R1';
export const DEP = 'deepseek-r1';
export const DIR = `/var/lib/ascendctl/${DEP}`;

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

export async function startCluster(
  subnet: number,
  nodes = 2,
  faults: Record<string, SimFault[]> = {},
  extra: { images?: string[]; stdin?: undefined } = {},
): Promise<SimCluster> {
  const cluster = new SimCluster(
    {
      profile: 'fast',
      nodes: Array.from({ length: nodes }, (_, i) => ({
        name: `node${i + 1}`,
        host: `127.0.${subnet}.${i + 1}`,
        faults: faults[`node${i + 1}`] ?? [],
        ...(extra.images ? { images: extra.images } : {}),
        models: {
          [MODEL]: {
            'config.json': JSON.stringify({ model_type: 'deepseek_v3', num_attention_heads: 128, quantize: 'w8a8_dynamic' }),
            'model.safetensors.index.json': '{"weight_map":{}}',
          },
        },
      })),
    },
    { extensions: [createContainerRuntimeExtension()], fs: () => new MemFs() },
  );
  await cluster.start();
  return cluster;
}

export function runtime(cluster: SimCluster, node: string): ContainerRuntime {
  const r = runtimeOf(cluster, node);
  if (!r) throw new Error(`no runtime on ${node}`);
  return r;
}

export async function docker(node: SimNode, argv: string[], opts: { stdin?: Buffer; signal?: AbortSignal } = {}): Promise<Result> {
  let stdout = '';
  let stderr = '';
  const stdin = opts.stdin
    ? (async function* () {
        yield opts.stdin!;
      })()
    : null;
  const code = await node.run('docker', argv, {
    stdin,
    stdout: async (c) => void (stdout += c.toString()),
    stderr: async (c) => void (stderr += c.toString()),
    signal: opts.signal ?? new AbortController().signal,
    env: {},
  });
  return { code, stdout, stderr };
}

export interface DeployOptions {
  /** Mutate the config.json of a node (by name) before it is written. */
  config?: (cfg: Record<string, any>, node: SimNode) => void;
  rankTable?: (rt: Record<string, any>) => void;
  env?: (env: Record<string, string>, node: SimNode) => void;
  launch?: (script: string) => string;
  configMode?: number;
}

export function rankTableFor(cluster: SimCluster): Record<string, any> {
  return {
    version: '1.0',
    server_count: String(cluster.nodes.length),
    server_list: cluster.nodes.map((n, k) => ({
      server_id: n.host,
      container_ip: n.host,
      device: n.deviceIps().map((ip, d) => ({ device_id: String(d), device_ip: ip, rank_id: String(k * 8 + d) })),
    })),
    status: 'completed',
  };
}

export function configFor(node: SimNode, worldSize: number): Record<string, any> {
  return {
    Version: '1.0.0',
    ServerConfig: {
      ipAddress: node.host, managementIpAddress: node.host, port: 1025, managementPort: 1026, metricsPort: 1027,
      allowAllZeroIpListening: false, maxLinkNum: 300, httpsEnabled: false, fullTextEnabled: false,
      interCommTLSEnabled: false, interCommPort: 1121, openAiSupport: 'vllm', tokenTimeout: 3600, e2eTimeout: 65535,
    },
    BackendConfig: {
      backendName: 'mindieservice_llm_engine', modelInstanceNumber: 1, npuDeviceIds: [[0, 1, 2, 3, 4, 5, 6, 7]],
      tokenizerProcessNumber: 8, multiNodesInferEnabled: true, multiNodesInferPort: 1120, interNodeTLSEnabled: false,
      ModelDeployConfig: {
        maxSeqLen: 10000, maxInputTokenLen: 2048, truncation: false,
        ModelConfig: [{
          modelInstanceType: 'Standard', modelName: 'deepseek-r1', modelWeightPath: MODEL, worldSize: 8, cpuMemSize: 0,
          npuMemSize: -1, backendType: 'atb', trustRemoteCode: false, dp: worldSize / 8, tp: 8, moe_tp: worldSize / 4 > 8 ? 1 : 4, moe_ep: worldSize / 4 > 8 ? worldSize : 4,
          models: { deepseekv2: { enable_reasoning: true } },
        }],
      },
      ScheduleConfig: { maxPrefillBatchSize: 8, maxPrefillTokens: 2048, maxBatchSize: 8, maxIterTimes: 1024 },
    },
  };
}

export const LAUNCH = `#!/bin/bash
# no set -u: the set_env scripts expand unset variables
unset http_proxy https_proxy ASCEND_LAUNCH_BLOCKING
if [ -f /usr/local/Ascend/ascend-toolkit/set_env.sh ]; then
  . /usr/local/Ascend/ascend-toolkit/set_env.sh
elif [ -f /usr/local/Ascend/cann/set_env.sh ]; then
  . /usr/local/Ascend/cann/set_env.sh
fi
[ -f /usr/local/Ascend/nnal/atb/set_env.sh ] && . /usr/local/Ascend/nnal/atb/set_env.sh
[ -f /usr/local/Ascend/atb-models/set_env.sh ] && . /usr/local/Ascend/atb-models/set_env.sh
[ -f /usr/local/Ascend/mindie/set_env.sh ] && . /usr/local/Ascend/mindie/set_env.sh
export MINDIE_LOG_TO_STDOUT=1
rm -f /dev/shm/*llm_backend_* /dev/shm/llm_tokenizer_shared_memory_* 2>/dev/null
mkdir -p /tmp/ascendctl-${DEP} && cd /tmp
DAEMON=/usr/local/Ascend/mindie/latest/mindie-service/bin/mindieservice_daemon
if [ -x "$DAEMON" ]; then
  exec "$DAEMON"
else
  exec /usr/local/Ascend/mindie/latest/mindie-llm/bin/mindie_llm_server
fi
`;

export async function writeDeployment(cluster: SimCluster, opts: DeployOptions = {}): Promise<void> {
  const rt = rankTableFor(cluster);
  opts.rankTable?.(rt);
  const world = cluster.nodes.length * 8;
  for (const node of cluster.nodes) {
    const cfg = configFor(node, world);
    opts.config?.(cfg, node);
    const env: Record<string, string> = {
      MIES_CONTAINER_IP: node.host,
      RANK_TABLE_FILE: `${DIR}/ranktable.json`,
      RANKTABLEFILE: `${DIR}/ranktable.json`,
      MIES_CONFIG_JSON_PATH: `${DIR}/config.json`,
      WORLD_SIZE: String(world),
      HCCL_CONNECT_TIMEOUT: '7200',
      MASTER_IP: cluster.nodes[0]!.host,
      NPU_MEMORY_FRACTION: '0.95',
      MIES_SERVICE_MONITOR_MODE: '1',
      MINDIE_LOG_TO_STDOUT: '1',
    };
    opts.env?.(env, node);
    await node.fs.mkdir(DIR, { recursive: true, mode: 0o750 });
    await node.fs.writeFile(`${DIR}/ranktable.json`, `${JSON.stringify(rt, null, 2)}\n`, 0o640);
    await node.fs.writeFile(`${DIR}/config.json`, `${JSON.stringify(cfg, null, 2)}\n`, opts.configMode ?? 0o640);
    await node.fs.writeFile(`${DIR}/env`, Object.entries(env).map(([k, v]) => `${k}=${v}\n`).join(''), 0o640);
    await node.fs.writeFile(`${DIR}/launch.sh`, opts.launch ? opts.launch(LAUNCH) : LAUNCH, 0o640);
  }
}

export function runArgv(node: SimNode, image = IMAGE): string[] {
  return [
    'run', '-d', '--name', `ascendctl-${DEP}`, '--label', `ascendctl.deployment=${DEP}`, '--label', `ascendctl.node=${node.name}`,
    '--net=host', '--ipc=host', '--privileged', '-u', 'root', '--shm-size=10g',
    ...Array.from({ length: 8 }, (_, i) => `--device=/dev/davinci${i}`),
    '--device=/dev/davinci_manager', '--device=/dev/hisi_hdc', '--device=/dev/devmm_svm',
    '-v', '/usr/local/Ascend/driver:/usr/local/Ascend/driver:ro', '-v', '/usr/local/Ascend/firmware:/usr/local/Ascend/firmware:ro',
    '-v', '/usr/local/sbin:/usr/local/sbin:ro', '-v', '/etc/hccn.conf:/etc/hccn.conf:ro', '-v', `${MODEL}:${MODEL}:ro`,
    '-v', `${DIR}:${DIR}:ro`, '--env-file', `${DIR}/env`, image, 'bash', `${DIR}/launch.sh`,
  ];
}

/** Start master then workers, as ascendctl does. */
export async function startAll(cluster: SimCluster): Promise<void> {
  for (const node of cluster.nodes) {
    const r = await docker(node, runArgv(node));
    if (r.code !== 0) throw new Error(`docker run on ${node.name}: ${r.stderr}`);
  }
}

export async function logsOf(node: SimNode, name = `ascendctl-${DEP}`): Promise<string> {
  const r = await docker(node, ['logs', name]);
  return r.stdout + r.stderr;
}

/** Poll until `pred` holds (no timing assertion: the vitest timeout bounds it). */
export async function until<T>(fn: () => Promise<T | undefined> | T | undefined, what: string, limitMs = 20_000): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() - start > limitMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export async function waitLog(node: SimNode, pattern: RegExp, name = `ascendctl-${DEP}`): Promise<string> {
  return until(async () => {
    const text = await logsOf(node, name);
    return pattern.test(text) ? text : undefined;
  }, `${pattern} in ${node.name}'s log`);
}

/** Wait for the container to exit; returns its exit code and log. */
export async function waitExit(cluster: SimCluster, node: SimNode, name = `ascendctl-${DEP}`): Promise<{ code: number; log: string }> {
  const c = runtime(cluster, node.name).containers.find((x) => x.name === name);
  if (!c) throw new Error(`no container ${name} on ${node.name}`);
  const code = await c.done;
  return { code, log: await logsOf(node, name) };
}

export async function stopCluster(cluster: SimCluster): Promise<void> {
  cluster.stop();
  await Promise.all(cluster.nodes.map((n) => runtime(cluster, n.name).shutdown()));
}
