/**
 * preflight = collect → judge (→ fix → re-check TLS → judge). Returns data; the command prints it.
 */
import type { Inventory, ResolvedNode } from '../config/inventory.js';
import type { Deployment } from '../config/deployment.js';
import type { Transport, TransportPool } from '../remote/transport.js';
import { compareDriverVersions, imageCannVersion, minDriverForCann } from '../ascend/version-info.js';
import { collect, fixTls, recheckTls, sideReadCalls, type PreflightNode, type ProgressEvent } from './collect.js';
import type { NodeFacts, JudgeContext } from './facts.js';
import type { Finding } from './finding.js';
import { judge } from './judge.js';
import { addressReadCalls, collectNetwork, hcclPorts, type NetworkOptions } from './network.js';
import { knownNodeAddress, nodeAddress } from '../deploy/plan.js';
import { ReadAhead } from './read-ahead.js';
import type { Outcome } from './facts.js';
import type { PingPlanMode } from './ping-plan.js';
import { vllmPorts } from '../mindie/render-input.js';

export interface PreflightOptions {
  inventory: Inventory;
  deployment?: Deployment;
  pool: TransportPool;
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

/**
 * Preflight's view of the nodes. With `readAhead`, a node's transport is wrapped once, on its first
 * connection, in a ReadAhead of those calls (read-ahead.ts); every caller of transport() gets that one.
 */
export function preflightNodes(
  nodes: readonly ResolvedNode[], pool: TransportPool, readAhead?: (n: ResolvedNode, t: Transport) => ReadAhead,
): PreflightNode[] {
  return nodes.map((n) => {
    let wrapped: ReadAhead | undefined;
    return {
      name: n.name,
      address: n.hostname,
      tools: n.tools,
      transport: async () => {
        const t = pool.transport(n);
        await t.connect();
        return readAhead ? (wrapped ??= readAhead(n, t)) : t;
      },
    };
  });
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
  const readingAhead: ReadAhead[] = [];
  const nodes = preflightNodes(inventory.nodes, opts.pool, (n, t) => {
    const address = knownNodeAddress(n);
    const calls = [...sideReadCalls(n), ...(address === undefined ? [] : addressReadCalls(address))];
    // `--call-timeout` bounds the reads made ahead as it bounds the same reads made alone.
    const bounded = calls.map((c) => ({ ...c, timeoutMs: opts.callTimeoutMs ?? c.timeoutMs }));
    const ahead = new ReadAhead(t, bounded, opts.signal);
    readingAhead.push(ahead);
    return ahead;
  });
  const base = {
    npusPerNode: inventory.npusPerNode,
    // Every node's own devices are checked, whatever npusPerNode says (contract: all 16 on an A3);
    // a count that disagrees with the inventory's is the `hardware` check's to report.
    detectDevices: true,
    pingMode: opts.pingMode ?? 'auto',
    ...(opts.callTimeoutMs !== undefined ? { callTimeoutMs: opts.callTimeoutMs } : {}),
    ...(opts.busyBudgetMs !== undefined ? { busyBudgetMs: opts.busyBudgetMs } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    ...(deployment ? { deployment: { image: deployment.image, modelPath: deployment.model.path } } : {}),
  };
  // The reach probe listens only after a node's ports were listed, so its own listeners are not in that list.
  const portsRead = new Map(nodes.map((n) => [n.name, deferred()]));
  const collecting = collect({ ...base, nodes, onListenersRead: (n) => portsRead.get(n)?.resolve() })
    .finally(() => { for (const d of portsRead.values()) d.resolve(); });
  const network = (async () => collectNetwork({ ...await networkOptions(opts, nodes),
    portsRead: (n: string) => portsRead.get(n)?.promise ?? Promise.resolve() }))();
  const [facts, net] = await Promise.all([collecting, network]);
  for (const a of readingAhead) a.forget();
  for (const f of facts) {
    const extra = net.get(f.node);
    if (extra?.address) f.address = extra.address;
    if (extra?.reach) f.reach = extra.reach;
  }
  const ctx: JudgeContext = {
    npusPerNode: inventory.npusPerNodeGiven ? inventory.npusPerNode : detectedDevices(facts, inventory.npusPerNode),
    gateway: inventory.checks.gateway,
    minDriver: requiredDriver(inventory, deployment),
    compareVersions: compareDriverVersions,
    clockToleranceMs: 2_000,
  };
  if (inventory.npusPerNodeGiven) ctx.npusPerNodeGiven = true;
  else if (deployment) {
    const p = deployment.parallel;
    ctx.devicesNeeded = { count: inventory.npusPerNode,
      why: `the deployment (dataParallelSize ${p.dataParallelSize} × tensorParallelSize ${p.tensorParallelSize} over ${inventory.allNodes.length} node${inventory.allNodes.length === 1 ? '' : 's'})` };
  }
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
      hcclPorts: hcclPorts(deployment.env),
      master: inventory.master.name,
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
    // A switch that cannot be read back (no certificate) is known to be 0 when the set said it succeeded.
    for (const r of results.filter((x) => x.outcome.kind === 'ok')) {
      const tls = facts.find((f) => f.node === r.node)?.npus[r.npu]?.tls;
      if (tls?.kind === 'ok' && tls.value.switch === undefined) tls.value.setByFix = true;
    }
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

/** What `address` and `reach` need: every node's rendered address and, with a deployment, the star's ports. */
async function networkOptions(opts: PreflightOptions, nodes: PreflightNode[]): Promise<NetworkOptions> {
  const { inventory, deployment } = opts;
  const rendered = new Map<string, Outcome<string>>();
  await Promise.all(inventory.nodes.map(async (n) => {
    try {
      rendered.set(n.name, { kind: 'ok', value: await nodeAddress(n) });
    } catch (err) {
      const e = err as Error & { hint?: string };
      rendered.set(n.name, { kind: 'error', message: e.message, ...(e.hint ? { hint: e.hint } : {}) });
    }
  }));
  const out: NetworkOptions = { nodes, rendered, ...(opts.signal ? { signal: opts.signal } : {}) };
  if (!deployment) return out;
  const names = nodes.map((n) => n.name);
  const master = names.includes(inventory.master.name) ? inventory.master.name : names[0]!;
  const reach: NonNullable<NetworkOptions['reach']> = {
    master,
    // vllm-ascend: the headless nodes connect to the API node's --data-parallel-rpc-port (§12.2).
    inferPort: deployment.backend === 'vllm-ascend' ? vllmPorts(deployment).rpc : deployment.ports.multiNodesInfer,
    hcclPorts: hcclPorts(deployment.env),
  };
  const running = Object.keys(opts.ownPorts ?? {}).filter((n) => names.includes(n));
  if (names.length === 1) {
    reach.notProbed = inventory.allNodes.length > 1
      ? { status: 'warn', why: 'not checked: no other node selected (--node)' }
      : { status: 'pass', why: 'single node: no peer to reach' };
  } else if (!names.includes(inventory.master.name)) {
    // Workers talk to the master only (reach row): without it, no path of the deployment can be tested.
    reach.notProbed = { status: 'warn', why: `not checked: the master (${inventory.master.name}) is not selected (--node), and workers only talk to it` };
  } else if (running.length > 0) {
    // Its daemons hold the ports a probe would listen on; their formed HCCL group crossed these paths.
    reach.notProbed = running.length === names.length
      ? { status: 'pass', why: `not probed: ${deployment.name} is running on every node and holds these ports (its HCCL group formed over them)` }
      : { status: 'warn', why: `not probed: ${deployment.name} is running on ${running.join(', ')} and holds the ports a probe needs` };
  }
  out.reach = reach;
  return out;
}

export function deploymentPorts(d: Deployment): number[] {
  if (d.backend === 'vllm-ascend') return [vllmPorts(d).api, vllmPorts(d).rpc];
  return [...new Set([d.ports.http, d.ports.management, d.ports.metrics, d.ports.multiNodesInfer])];
}

/**
 * HCCL devices per node when the inventory leaves npusPerNode out: the count most nodes showed (16 on A3
 * racks), else the default. A node of another kind is the `hardware` check's to report.
 */
export function detectedDevices(facts: readonly NodeFacts[], fallback: number): number {
  const counts = new Map<number, number>();
  for (const f of facts) {
    if (f.ssh.kind !== 'ok' || f.npuSmi?.kind !== 'ok') continue;
    const n = f.devices ?? fallback;
    counts.set(n, (counts.get(n) ?? 0) + 1);
  }
  let best = fallback;
  let bestCount = 0;
  for (const [n, c] of counts) if (c > bestCount || (c === bestCount && n === fallback)) { best = n; bestCount = c; }
  return best;
}

function deferred(): { promise: Promise<void>; resolve(): void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => { resolve = r; });
  return { promise, resolve };
}
