/**
 * A truthful status: every node's container state, NPU memory in use (npu-smi info), and the master's
 * health proven the way deploy proves readiness (/health, then a one-token request).
 */
import type { Deployment } from '../config/deployment.js';
import type { Inventory, ResolvedNode } from '../config/inventory.js';
import { npuSmiInfo, parseNpuSmiInfo } from '../ascend/npu-smi.js';
import { containerName, remoteDir } from '../mindie/paths.js';
import type { TransportPool } from '../remote/transport.js';
import { RemoteError } from '../remote/transport.js';
import { containerState, stopAndRemove } from '../runtime/containers.js';
import { nodeAddress, probeTarget } from './plan.js';
import { probeOnce, routeProbe } from './readiness.js';
import type { DeploymentRecord } from './record.js';

export interface NodeStatus {
  node: string;
  address: string;
  role: 'master' | 'worker';
  /** running | exited | created | absent | unreachable | error */
  container: string;
  exitCode?: number;
  startedAt?: string;
  error?: string;
  npus?: { npu: number; hbmUsedMb: number; hbmTotalMb: number }[];
}

export interface StatusResult {
  name: string;
  endpoint: string;
  model: string;
  healthy: boolean;
  health: string;
  nodes: NodeStatus[];
}

export async function deploymentStatus(
  dep: Deployment, inventory: Inventory, pool: TransportPool, record: DeploymentRecord | undefined, signal?: AbortSignal,
): Promise<StatusResult> {
  const name = containerName(dep.name);
  const nodes = await Promise.all(inventory.nodes.map((n) => nodeStatus(n)));
  const master = inventory.allNodes[0]!;
  const masterAddress = await nodeAddress(master);
  // Where deploy recorded the master's endpoints, else where deploy would put them.
  const fresh = probeTarget(dep, masterAddress);
  const endpoint = record?.endpoint ?? fresh.endpoint;
  const managementEndpoint = dep.backend === 'mindie' ? record?.managementEndpoint ?? fresh.managementEndpoint : undefined;
  const allRunning = nodes.every((n) => n.container === 'running');
  let healthy = false;
  let health: string;
  if (!nodes.some((n) => n.container === 'running')) {
    health = 'not running';
  } else {
    // Behind a jump host, the master's HTTP ports are reached over its SSH connection.
    const { target, route, explain } = await routeProbe(pool.transport(master), {
      endpoint, ...(managementEndpoint ? { managementEndpoint } : {}), model: dep.model.name,
    });
    try {
      const probe = await probeOnce(target, signal);
      healthy = probe.ready && allRunning;
      // A node that could not be reached is unknown, not stopped: say which it is.
      const unreachable = nodes.filter((n) => n.container === 'unreachable').map((n) => n.node);
      const notRunning = nodes.filter((n) => n.container !== 'running' && n.container !== 'unreachable').map((n) => n.node);
      const degraded = [
        ...(notRunning.length ? [`not running on ${notRunning.join(', ')}: the group is degraded`] : []),
        ...(unreachable.length ? [`${unreachable.join(', ')} could not be reached, so its container is unknown`] : []),
      ].join('; ');
      health = probe.ready
        ? allRunning ? 'answering (one-token request ok)' : `answering, but ${degraded}`
        : `not answering (${probe.stage}: ${explain(probe.detail)})`;
      if (route.via) health += ` — ${route.via}`;
    } finally {
      await route.close();
    }
  }
  return { name: dep.name, endpoint: `${endpoint}/v1`, model: dep.model.name, healthy, health, nodes };

  async function nodeStatus(n: ResolvedNode): Promise<NodeStatus> {
    const base: NodeStatus = { node: n.name, address: n.hostname, role: n.index === 0 ? 'master' : 'worker', container: 'absent' };
    try {
      const t = pool.transport(n);
      await t.connect();
      const [st, smi] = await Promise.all([
        containerState(t, n.tools.containerRuntime, name, signal),
        t.exec(npuSmiInfo(n.tools.npuSmi), { timeoutMs: 30_000, ...(signal ? { signal } : {}) }),
      ]);
      if (st && 'error' in st) {
        base.container = 'error';
        base.error = st.error;
      } else if (st) {
        base.container = st.status;
        base.exitCode = st.exitCode;
        if (st.startedAt) base.startedAt = st.startedAt;
      }
      if (smi.code === 0) {
        const p = parseNpuSmiInfo(smi.stdout);
        if (p.ok) {
          // A3: one entry per die, keyed by its device (physical) id as printed (Phy-ID; docs/atlas-a3.md §0).
          base.npus = p.value.layout === 'a3'
            ? p.value.npus.flatMap((d) => d.chips.filter((c) => c.phyId !== undefined)
              .map((c) => ({ npu: c.phyId!, hbmUsedMb: c.hbm.used, hbmTotalMb: c.hbm.total })))
            : p.value.npus.map((d) => ({ npu: d.id, hbmUsedMb: d.chips[0]?.hbm.used ?? 0, hbmTotalMb: d.chips[0]?.hbm.total ?? 0 }));
        }
      }
    } catch (err) {
      if (!(err instanceof RemoteError)) throw err;
      base.container = 'unreachable';
      base.error = err.message;
    }
    return base;
  }
}

/** Stop and remove the deployment's containers: workers first (in parallel), master last. Idempotent. */
export async function stopDeployment(
  dep: Deployment, inventory: Inventory, pool: TransportPool, onNode: (node: string, text: string) => void,
): Promise<{ failed: string[] }> {
  const name = containerName(dep.name);
  const failed: string[] = [];
  const stopOne = async (n: ResolvedNode) => {
    try {
      const t = pool.transport(n);
      await t.connect();
      const rt = n.tools.containerRuntime;
      const st = await containerState(t, rt, name);
      if (st === undefined) {
        onNode(n.name, 'no container (already stopped)');
      } else {
        await stopAndRemove(t, rt, name);
        onNode(n.name, 'stopped and removed');
      }
      // The rendered files go too: a stopped deployment leaves nothing behind on the node.
      await t.exec(['rm', '-rf', remoteDir(dep.name)], { timeoutMs: 30_000 });
    } catch (err) {
      failed.push(n.name);
      onNode(n.name, `FAILED: ${(err as Error).message}`);
    }
  };
  const [master, ...workers] = inventory.nodes[0]?.index === 0 ? inventory.nodes : [undefined, ...inventory.nodes];
  await Promise.all(workers.map((w) => stopOne(w!)));
  if (master) await stopOne(master);
  return { failed };
}
