/**
 * preflight = collect → judge (→ fix → re-check TLS → judge). Returns data; the command prints it.
 */
import type { Inventory, ResolvedNode } from '../config/inventory.js';
import type { Deployment } from '../config/deployment.js';
import type { SshPool } from '../remote/ssh-pool.js';
import { compareDriverVersions, imageCannVersion, minDriverForCann } from '../ascend/version-info.js';
import { collect, fixTls, recheckTls, type PreflightNode, type ProgressEvent } from './collect.js';
import type { NodeFacts, JudgeContext } from './facts.js';
import type { Finding } from './finding.js';
import { judge } from './judge.js';
import type { PingPlanMode } from './ping-plan.js';

export interface PreflightOptions {
  inventory: Inventory;
  deployment?: Deployment;
  pool: SshPool;
  fix?: boolean;
  pingMode?: PingPlanMode;
  callTimeoutMs?: number;
  busyBudgetMs?: number;
  /** Ports of this deployment's own running containers, per node: not conflicts (redeploy). */
  ownPorts?: Record<string, number[]>;
  signal?: AbortSignal;
  onProgress?: (e: ProgressEvent) => void;
}

export interface PreflightResult {
  ok: boolean;
  findings: Finding[];
  facts: NodeFacts[];
  nodes: { name: string; address: string }[];
  fixed: { node: string; npu: number; ok: boolean; message?: string }[];
}

export function preflightNodes(nodes: readonly ResolvedNode[], pool: SshPool): PreflightNode[] {
  return nodes.map((n) => ({
    name: n.name,
    address: n.hostname,
    tools: n.tools,
    transport: async () => {
      const t = pool.transport(n);
      await t.connect();
      return t;
    },
  }));
}

/** The driver the deployment's image needs (contract: CANN 8.2.RC1 ⇒ 25.2), else checks.minDriver. */
export function requiredDriver(inventory: Inventory, deployment?: Deployment): JudgeContext['minDriver'] {
  if (deployment) {
    const cann = imageCannVersion(deployment.image);
    const min = cann ? minDriverForCann(cann) : undefined;
    if (cann && min) return { version: min, reason: `CANN ${cann} in ${deployment.image}` };
  }
  return { version: inventory.checks.minDriver, reason: 'checks.minDriver' };
}

export async function runPreflight(opts: PreflightOptions): Promise<PreflightResult> {
  const { inventory, deployment } = opts;
  const nodes = preflightNodes(inventory.nodes, opts.pool);
  const base = {
    npusPerNode: inventory.npusPerNode,
    pingMode: opts.pingMode ?? 'auto',
    ...(opts.callTimeoutMs !== undefined ? { callTimeoutMs: opts.callTimeoutMs } : {}),
    ...(opts.busyBudgetMs !== undefined ? { busyBudgetMs: opts.busyBudgetMs } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    ...(deployment ? { deployment: { image: deployment.image, modelPath: deployment.model.path } } : {}),
  };
  const facts = await collect({ ...base, nodes });
  const ctx: JudgeContext = {
    npusPerNode: inventory.npusPerNode,
    gateway: inventory.checks.gateway,
    minDriver: requiredDriver(inventory, deployment),
    compareVersions: compareDriverVersions,
    clockToleranceMs: 2_000,
  };
  const selected = new Set(inventory.nodes.map((n) => n.name));
  const unselected = inventory.allNodes.map((n) => n.name).filter((n) => !selected.has(n));
  if (unselected.length > 0) ctx.unselectedNodes = unselected;
  if (deployment) {
    ctx.deployment = {
      image: deployment.image,
      modelPath: deployment.model.path,
      ports: deploymentPorts(deployment),
      npuMemoryFraction: deployment.npuMemoryFraction,
      backend: deployment.backend,
      ...(opts.ownPorts ? { ownPorts: opts.ownPorts } : {}),
    };
  }
  let findings = judge(facts, ctx);
  const fixed: PreflightResult['fixed'] = [];
  if (opts.fix && findings.some((f) => f.check === 'tls' && f.status !== 'pass')) {
    const results = await fixTls(nodes, facts, base);
    for (const r of results) {
      const entry: PreflightResult['fixed'][number] = { node: r.node, npu: r.npu, ok: r.outcome.kind === 'ok' };
      if (r.outcome.kind === 'error') entry.message = r.outcome.message;
      else if (r.outcome.kind !== 'ok') entry.message = r.outcome.kind;
      fixed.push(entry);
    }
    await recheckTls(nodes, facts, { ...base, nodes });
    findings = judge(facts, ctx);
  }
  return {
    ok: !findings.some((f) => f.status === 'fail'),
    findings,
    facts,
    nodes: nodes.map((n) => ({ name: n.name, address: n.address })),
    fixed,
  };
}

export function deploymentPorts(d: Deployment): number[] {
  if (d.backend === 'vllm-ascend') return [d.vllm?.port ?? 8000];
  return [...new Set([d.ports.http, d.ports.management, d.ports.metrics, d.ports.multiNodesInfer])];
}
