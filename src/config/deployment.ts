/**
 * The deployment file (cli-contract.md "Deployment file" and its rules; mindie-multinode.md §10, §12).
 * Rules that need only the file are in the schema; rules that need the world size (nodes × NPUs) are in
 * checkDeploymentAgainstInventory. Both report every violation at once, located, before any node is contacted.
 */
import path from 'node:path';
import * as z from 'zod';
import type { Inventory } from './inventory.js';
import { vllmPorts } from '../mindie/render-input.js';
import { loadYamlFile, parseWithSchema, problemsError, type Location, type Problem, type YamlFile, type YamlPath } from './yaml-file.js';

export const BACKENDS = ['mindie', 'vllm-ascend'] as const;
export type Backend = (typeof BACKENDS)[number];

export const DEFAULT_PORTS = { http: 1025, management: 1026, metrics: 1027, multiNodesInfer: 1120 } as const;

// Letters, digits, - and _ (the contract); not a leading '-', which the command line would read as an option.
const DEPLOYMENT_NAME = /^[A-Za-z0-9_][A-Za-z0-9_-]*$/;
// MindIE's rule for modelName: letters, digits, - . _, neither first nor last one of - . _.
const MODEL_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n >= 1 && (n & (n - 1)) === 0;
}

const parallelSize = (flag: string) =>
  z
    .int({ error: (iss) => (iss.input === undefined ? undefined : `expected a power of 2 (1, 2, 4, 8, …), got ${JSON.stringify(iss.input)}`) })
    .refine(isPowerOfTwo, { error: (iss) => `expected a power of 2 (1, 2, 4, 8, …), got ${String(iss.input)}` })
    .describe(`The backend's ${flag}; a power of 2.`);

const port = (what: string, dflt: number) =>
  z
    .int({ error: (iss) => (iss.input === undefined ? undefined : `expected a port number 1024-65535, got ${JSON.stringify(iss.input)}`) })
    .min(1024, { error: (iss) => `expected a port number 1024-65535, got ${String(iss.input)}` })
    .max(65535, { error: (iss) => `expected a port number 1024-65535, got ${String(iss.input)}` })
    .default(dflt)
    .describe(`${what}; default ${dflt}.`);

const positiveInt = (what: string) =>
  z
    .int({ error: (iss) => (iss.input === undefined ? undefined : `expected a positive integer, got ${JSON.stringify(iss.input)}`) })
    .min(1, { error: (iss) => `expected a positive integer, got ${String(iss.input)}` })
    .optional()
    .describe(what);

const portsSchema = z
  .strictObject({
    http: port('OpenAI-compatible HTTP API on the master', DEFAULT_PORTS.http),
    management: port('MindIE management (health) port', DEFAULT_PORTS.management),
    metrics: port('MindIE metrics port', DEFAULT_PORTS.metrics),
    multiNodesInfer: port('MindIE inter-node port (multiNodesInferPort); differs from the other three', DEFAULT_PORTS.multiNodesInfer),
  })
  .prefault({})
  .superRefine((p, ctx) => {
    for (const other of ['http', 'management', 'metrics'] as const) {
      if (p.multiNodesInfer === p[other]) {
        ctx.addIssue({
          code: 'custom',
          path: ['multiNodesInfer'],
          input: p.multiNodesInfer,
          message: `${p.multiNodesInfer} is also ports.${other}; multiNodesInfer must differ from http, management and metrics`,
          params: { firstPath: [other] },
        });
      }
    }
  });

const envValue = z
  .union([z.string(), z.number(), z.boolean()], { error: (iss) => `expected a string, number or boolean, got ${iss.input === null ? 'an empty value' : Array.isArray(iss.input) ? 'a list' : typeof iss.input}` })
  .transform((v) => String(v));

export const deploymentSchema = z
  .strictObject({
    name: z
      .string()
      .max(63, { error: 'expected at most 63 characters' })
      .regex(DEPLOYMENT_NAME, { error: (iss) => `expected a plain name (letters, digits, - and _, not starting with -), got ${JSON.stringify(iss.input)}` })
      .describe('Deployment name: container names and /var/lib/ascendctl/<name>/ on every node.'),
    inventory: z.string().min(1).optional().describe('Inventory file, relative to this file.'),
    backend: z.enum(BACKENDS).default('mindie'),
    image: z
      .string()
      .min(1)
      .regex(/^[^\s]+$/, { error: 'expected an image reference without spaces' })
      .describe('Container image, present or pullable on every node.'),
    model: z.strictObject({
      path: z
        .string()
        .refine((p) => p.startsWith('/'), { error: (iss) => `expected an absolute path (the same on every node), got ${JSON.stringify(iss.input)}` })
        .describe('Weights directory: the same absolute path on every node.'),
      name: z
        .string()
        .max(256, { error: 'expected at most 256 characters' })
        .regex(MODEL_NAME, {
          error: (iss) => `expected letters, digits, - . _ (not first or last), got ${JSON.stringify(iss.input)}`,
        })
        .describe('The name clients send as "model".'),
    }),
    parallel: z.strictObject({
      dataParallelSize: parallelSize('dp'),
      tensorParallelSize: parallelSize('tp'),
      moeTensorParallelSize: parallelSize('moe_tp'),
      moeExpertParallelSize: parallelSize('moe_ep'),
    }),
    npuMemoryFraction: z
      .number()
      .gt(0, { error: (iss) => `expected a fraction in (0, 1], got ${String(iss.input)}` })
      .lte(1, { error: (iss) => `expected a fraction in (0, 1], got ${String(iss.input)}` })
      .default(0.95)
      .describe('Share of each NPU memory the backend may use, in (0, 1].'),
    ports: portsSchema,
    env: z
      .record(z.string().regex(ENV_NAME, { error: (iss) => `expected an environment variable name ([A-Za-z_][A-Za-z0-9_]*), got ${JSON.stringify(iss.input)}` }), envValue)
      .default({})
      .describe("Extra environment for every node's daemon."),
    mindieConfig: z.record(z.string(), z.unknown()).default({}).describe('Deep-merged into the rendered config.json, last.'),
    limits: z
      .strictObject({
        maxSeqLen: positiveInt('maxSeqLen'),
        maxInputTokenLen: positiveInt('maxInputTokenLen'),
        maxPrefillTokens: positiveInt('maxPrefillTokens'),
        maxIterTimes: positiveInt('maxIterTimes'),
        maxBatchSize: positiveInt('maxBatchSize'),
        maxPrefillBatchSize: positiveInt('maxPrefillBatchSize'),
      })
      .optional()
      .describe('Sequence and batch limits written into the backend configuration.'),
    vllm: z
      .strictObject({
        extraArgs: z.array(z.string()).default([]).describe('Extra `vllm serve` arguments, appended on every node.'),
        dataParallelSizeLocal: positiveInt('DP ranks per node; default dataParallelSize / nodes.'),
        port: z.int().min(1024).max(65535).optional().describe('HTTP port of vllm serve; default ports.http.'),
        rpcPort: z.int().min(1024).max(65535).optional().describe('--data-parallel-rpc-port.'),
      })
      .optional()
      .describe('Settings of the vllm-ascend backend.'),
  })
  .superRefine((d, ctx) => {
    if (d.vllm !== undefined && d.backend !== 'vllm-ascend') {
      ctx.addIssue({ code: 'custom', path: ['vllm'], input: d.vllm, message: `vllm: applies only to backend: vllm-ascend (backend is ${d.backend}); remove it or change backend` });
    }
    hcclBasePortIssue(d, ctx);
    const { api, rpc } = vllmPorts(d);
    // Both listen on the head node: one port cannot be both (ports.http = multiNodesInfer is refused above).
    if (d.backend === 'vllm-ascend' && api === rpc && (d.vllm?.port !== undefined || d.vllm?.rpcPort !== undefined)) {
      const key = d.vllm?.rpcPort !== undefined ? 'rpcPort' : 'port';
      const other = key === 'rpcPort' ? 'the HTTP port (vllm.port, else ports.http)' : 'the data-parallel RPC port (vllm.rpcPort, else ports.multiNodesInfer)';
      ctx.addIssue({ code: 'custom', path: ['vllm', key], input: api, message: `${api} is also ${other}; expected a different port` });
    }
  })
  .describe('ascendctl deployment: what to serve and how it is split over the inventory.');

export type Deployment = z.output<typeof deploymentSchema>;

/**
 * env.HCCL_IF_BASE_PORT moves HCCL's 16 listening ports (failure table row 24): a whole number whose
 * range stays within 1024–65535 and takes none of the deployment's own ports, which MindIE or vLLM
 * must bind on the same node (a port in use aborts the daemon's start).
 */
function hcclBasePortIssue(d: Deployment, ctx: z.RefinementCtx): void {
  const raw = d.env.HCCL_IF_BASE_PORT;
  if (raw === undefined) return;
  const base = Number(raw);
  const path = ['env', 'HCCL_IF_BASE_PORT'];
  if (!/^\d+$/.test(raw.trim()) || base < 1024 || base + 15 > 65535) {
    ctx.addIssue({ code: 'custom', path, input: raw, message: `"${raw}" is not a base port for HCCL's 16 ports; expected a whole number from 1024 to 65520` });
    return;
  }
  const own = d.backend === 'vllm-ascend'
    ? [['vllm API', vllmPorts(d).api], ['vllm RPC', vllmPorts(d).rpc]] as const
    : (['http', 'management', 'metrics', 'multiNodesInfer'] as const).map((k) => [`ports.${k}`, d.ports[k]] as const);
  const taken = own.filter(([, p]) => p >= base && p <= base + 15);
  if (taken.length > 0) {
    ctx.addIssue({ code: 'custom', path, input: raw, message: `HCCL's ports ${base}–${base + 15} include ${taken.map(([k, p]) => `${k} (${p})`).join(', ')}; expected a range of 16 ports clear of the deployment's own` });
  }
}
export type ParallelSizes = Deployment['parallel'];

export interface LoadedDeployment {
  deployment: Deployment;
  /** The path as given (what messages show). */
  file: string;
  absolutePath: string;
  /** Directory of the file: `inventory:` is relative to it. */
  dir: string;
  locate(yamlPath: YamlPath, at?: 'key' | 'value'): Location;
  yaml: YamlFile;
}

export interface LoadDeploymentOptions {
  env: NodeJS.ProcessEnv;
  home: string;
  cwd?: string;
}

/** Parse and validate a deployment file; every problem → one located InputError (exit 2). */
export async function loadDeployment(file: string, opts: LoadDeploymentOptions): Promise<LoadedDeployment> {
  const yaml = await loadYamlFile(file, {
    what: 'deployment file',
    ...(opts.cwd === undefined ? {} : { cwd: opts.cwd }),
    missingHint: 'pass the path of a deployment file (see templates/deepseek-r1.example.yaml), or a name that deploy recorded',
  });
  return deploymentFromYaml(yaml);
}

export function deploymentFromYaml(yaml: YamlFile): LoadedDeployment {
  const deployment = parseWithSchema(yaml, deploymentSchema);
  return {
    deployment,
    file: yaml.file,
    absolutePath: yaml.absolutePath,
    dir: path.dirname(yaml.absolutePath),
    locate: yaml.locate,
    yaml,
  };
}

/** World size and NPUs per node of an inventory: what the parallel sizes must fill exactly. */
export interface Topology {
  nodes: number;
  npusPerNode: number;
}

const MINDIE_MAX_SERVERS = 60;

function topologyOf(inv: Inventory | Topology): Topology {
  return 'allNodes' in inv ? { nodes: inv.allNodes.length, npusPerNode: inv.npusPerNode } : inv;
}

/** HCCL devices per server of an Atlas 800 A3 (8 NPUs × 2 dies; docs/atlas-a3.md §0). */
const A3_DEVICES_PER_NODE = 16;
/** MindIE's documented multi-node limit, on A3 (docs/atlas-a3.md §e). */
const A3_MINDIE_MAX_SERVERS = 4;

/**
 * HCCL devices per node for a deployment when the inventory leaves npusPerNode out: 16 (Atlas 800 A3)
 * when the parallel sizes fill the nodes' A3 dies and not the default's, else the default (A2: 8).
 * Preflight's `hardware` check then holds the nodes to it (JudgeContext.devicesNeeded).
 */
export function devicesPerNodeFor(dep: Deployment, inventory: Inventory): number {
  if (inventory.npusPerNodeGiven) return inventory.npusPerNode;
  const nodes = inventory.allNodes.length;
  const world = dep.parallel.dataParallelSize * dep.parallel.tensorParallelSize;
  return world === nodes * A3_DEVICES_PER_NODE && world !== nodes * inventory.npusPerNode ? A3_DEVICES_PER_NODE : inventory.npusPerNode;
}

/** Every rule that needs the inventory, as located problems (empty when the deployment fits). */
export function deploymentProblems(dep: Deployment, inventory: Inventory | Topology): Problem[] {
  const { nodes, npusPerNode: L } = topologyOf(inventory);
  const W = nodes * L;
  const { dataParallelSize: dp, tensorParallelSize: tp, moeTensorParallelSize: moeTp, moeExpertParallelSize: moeEp } = dep.parallel;
  const have = `the inventory has ${nodes} node${nodes === 1 ? '' : 's'} × ${L} = ${W} NPUs`;
  const problems: Problem[] = [];
  const P = (key: string): YamlPath => ['parallel', key];

  if (dp * tp !== W) {
    problems.push({ path: P('tensorParallelSize'), message: `${tp} × dataParallelSize ${dp} = ${dp * tp} NPUs, but ${have}; expected dataParallelSize × tensorParallelSize = ${W}` });
  }
  if (moeTp * moeEp !== W) {
    problems.push({ path: P('moeExpertParallelSize'), message: `${moeEp} × moeTensorParallelSize ${moeTp} = ${moeTp * moeEp} NPUs, but ${have}; expected moeTensorParallelSize × moeExpertParallelSize = ${W}` });
  }
  if (dep.backend === 'mindie') {
    // The rank table of MindIE's multi-node mode holds 2–60 servers (mindie-multinode.md §3); one server
    // runs MindIE's single-node configuration instead (no rank table; issue #10).
    if (nodes > MINDIE_MAX_SERVERS) {
      problems.push({
        path: ['backend'],
        message: `mindie is deployed in multi-node mode, which holds at most ${MINDIE_MAX_SERVERS} servers (one server runs single-node), but the inventory has ${nodes} nodes; expected at most ${MINDIE_MAX_SERVERS} nodes`,
      });
    }
    // MindIE's multi-node guide: "A maximum of four nodes and 32 cards" — on A3 a card is an NPU of 2 dies,
    // so 4 servers × 16 dies (docs/atlas-a3.md §e, from hiascend MindIE 2.3.0 mindie_instg_0027).
    if (L === A3_DEVICES_PER_NODE && nodes > A3_MINDIE_MAX_SERVERS) {
      problems.push({
        path: ['backend'],
        message: `mindie runs at most ${A3_MINDIE_MAX_SERVERS} Atlas 800 A3 servers in one multi-node deployment ("A maximum of four nodes and 32 cards are supported for multi-node inference", MindIE 2.3.0 installation guide, mindie_instg_0027; docs/atlas-a3.md §e), but the inventory has ${nodes}; expected at most ${A3_MINDIE_MAX_SERVERS} nodes (or backend: vllm-ascend)`,
      });
    }
    if (tp > L && tp !== W) {
      problems.push({ path: P('tensorParallelSize'), message: `${tp} spans part of the nodes; expected at most ${L} (NPUs per node) or exactly ${W} (all NPUs)` });
    }
    if (moeTp > L && moeTp !== W) {
      problems.push({ path: P('moeTensorParallelSize'), message: `${moeTp} spans part of the nodes; expected at most ${L} (NPUs per node) or exactly ${W} (all NPUs)` });
    }
  } else {
    // vllm-ascend runs data parallel across nodes with TP inside one node (mindie-multinode.md §12.2).
    if (tp > L) {
      problems.push({ path: P('tensorParallelSize'), message: `${tp} is more than the ${L} NPUs of one node; vllm-ascend keeps tensor parallelism inside a node (expected at most ${L})` });
    }
    const local = dep.vllm?.dataParallelSizeLocal;
    if (local !== undefined) {
      if (local * nodes !== dp) {
        problems.push({ path: ['vllm', 'dataParallelSizeLocal'], message: `${local} per node × ${nodes} nodes = ${local * nodes}, but parallel.dataParallelSize is ${dp}; expected ${dp % nodes === 0 ? `${dp / nodes} per node` : `dataParallelSize to be a multiple of ${nodes}`}` });
      }
    } else if (dp % nodes !== 0) {
      problems.push({ path: P('dataParallelSize'), message: `${dp} data-parallel ranks do not split evenly over ${nodes} nodes; expected a multiple of ${nodes}` });
    }
  }
  // The rank table names every device of a node (0 … L−1): a device list must name exactly those
  // (mindie-multinode.md §4.3; otherwise EE1001, failure table row 20).
  const visible = dep.env.ASCEND_RT_VISIBLE_DEVICES;
  if (visible !== undefined) {
    const ids = visible.split(',').map((x) => x.trim());
    const all = Array.from({ length: L }, (_, i) => String(i));
    const same = ids.length === L && all.every((id) => ids.includes(id));
    if (!same) {
      problems.push({ path: ['env', 'ASCEND_RT_VISIBLE_DEVICES'], message: `"${visible}" does not list the ${L} devices the rank table names on every node; expected ${all.join(',')}, or leave it out` });
    }
  }
  return problems;
}

/** Throws one located InputError listing every violation of the deployment against the inventory. */
export function checkDeploymentAgainstInventory(dep: LoadedDeployment, inventory: Inventory | Topology): void {
  const problems = deploymentProblems(dep.deployment, inventory);
  if (problems.length === 0) return;
  const { nodes, npusPerNode } = topologyOf(inventory);
  const W = nodes * npusPerNode;
  const tooFew = problems.some((p) => p.path.length === 1 && p.path[0] === 'backend');
  throw problemsError(dep.yaml, problems, {
    summary: `does not fit the inventory`,
    hint: problems.every((p) => p.path[0] === 'env')
      ? `remove ASCEND_RT_VISIBLE_DEVICES from env in ${dep.file} (the rank table decides the devices)`
      : tooFew && problems.length === 1
      ? `use fewer nodes for mindie (see the message), or backend: vllm-ascend`
      : `${tooFew ? 'use fewer nodes for mindie (see the message), and ' : ''}set parallel sizes whose products are ${W} (e.g. dataParallelSize ${Math.max(1, W / Math.min(npusPerNode, W))}, tensorParallelSize ${Math.min(npusPerNode, W)}, moeTensorParallelSize 1, moeExpertParallelSize ${W}) in ${dep.file}, or change the inventory`,
  });
}

/** The weights' config.json fields that parallel sizes must divide (mindie-multinode.md §10). */
export interface ModelDivisibilityProblem {
  /** The deployment key whose value does not divide the model field. */
  path: YamlPath;
  field: string;
  message: string;
}

function numberField(cfg: unknown, key: string): number | undefined {
  if (typeof cfg !== 'object' || cfg === null) return undefined;
  const v = (cfg as Record<string, unknown>)[key];
  return typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : undefined;
}

/**
 * heads % tp, n_routed_experts % moe_ep, moe_intermediate_size % moe_tp, vocab_size % tp. Fields the model
 * does not have (a dense model has no experts) are skipped.
 */
export function checkModelDivisibility(dep: Deployment, modelConfigJson: unknown): ModelDivisibilityProblem[] {
  const { tensorParallelSize: tp, moeTensorParallelSize: moeTp, moeExpertParallelSize: moeEp } = dep.parallel;
  const rules: Array<{ field: string; key: keyof ParallelSizes; size: number }> = [
    { field: 'num_attention_heads', key: 'tensorParallelSize', size: tp },
    { field: 'n_routed_experts', key: 'moeExpertParallelSize', size: moeEp },
    { field: 'moe_intermediate_size', key: 'moeTensorParallelSize', size: moeTp },
    { field: 'vocab_size', key: 'tensorParallelSize', size: tp },
  ];
  const out: ModelDivisibilityProblem[] = [];
  for (const r of rules) {
    const v = numberField(modelConfigJson, r.field);
    if (v === undefined || v % r.size === 0) continue;
    out.push({
      path: ['parallel', r.key],
      field: r.field,
      message: `${r.size} does not divide the model's ${r.field} ${v}; expected a divisor of ${v}`,
    });
  }
  return out;
}

/** checkModelDivisibility as one located InputError, for callers that read config.json locally. */
export function assertModelDivisibility(dep: LoadedDeployment, modelConfigJson: unknown): void {
  const problems = checkModelDivisibility(dep.deployment, modelConfigJson);
  if (problems.length === 0) return;
  throw problemsError(dep.yaml, problems, {
    summary: `does not fit the model in ${dep.deployment.model.path}`,
    hint: `choose parallel sizes that divide the model's dimensions in ${dep.file}`,
  });
}

