/**
 * Before anything changes: the model's dimensions against the parallel sizes (checkModelFits, before
 * the lock), then, under the lock, the gate: what is running now (it decides between "unchanged",
 * "replace" and "fresh", and which ports are ours), the preflight (or, with --skip-preflight, only the
 * NPU addresses the rank table needs) and the record of what runs. Nothing to undo: it only reads.
 */
import { assertModelDivisibility, type LoadedDeployment } from '../../config/deployment.js';
import { foldNodeSet } from '../../config/nodeset.js';
import { ClusterError, InterruptedError } from '../../errors.js';
import { deploymentPorts, type PreflightResult } from '../../preflight/run.js';
import { RemoteError, type Transport } from '../../remote/transport.js';
import { containerState } from '../../runtime/containers.js';
import type { ContainerState } from '../../runtime/runtime.js';
import type { DeploymentRecord } from '../record.js';
import { rt, type DeployEnv } from './env.js';
import { readRemoteRecord } from './record.js';
import type { Step } from './runner.js';

/**
 * The model's own dimensions must divide by the parallel sizes (heads by TP, experts by EP): an input
 * error (exit 2), found from the master's copy of the weights' config.json. A config.json that cannot
 * be read is left to preflight's model check, which reports it on every node.
 */
export async function checkModelFits(t: Transport, loaded: LoadedDeployment, signal: AbortSignal): Promise<void> {
  const r = await t.exec(['cat', `${loaded.deployment.model.path.replace(/\/+$/, '')}/config.json`], { timeoutMs: 10_000, signal });
  if (r.code !== 0) return;
  let json: unknown;
  try {
    json = JSON.parse(r.stdout);
  } catch {
    return;
  }
  assertModelDivisibility(loaded, json);
}

export interface GateOptions {
  skipPreflight: boolean;
  npusPerNode: number;
  /** The preflight of every node, this deployment's own running ports not counted as taken. */
  preflight(ownPorts: Record<string, number[]>): Promise<PreflightResult>;
  /** Every node's NPU addresses (hccn_tool), for --skip-preflight. */
  readDeviceIps(): Promise<Record<string, string[]>>;
}

export interface GateInput {
  master: Transport;
}

export interface Gate {
  /** Each node's container of this name (undefined: none, or the node did not answer). */
  existing: Map<string, ContainerState | undefined>;
  /** Each node's NPU addresses by NPU ('' where the preflight read none). */
  deviceIps: Record<string, string[]>;
  /** What the master's record.json says is deployed. */
  remoteRecord: DeploymentRecord | undefined;
}

export function gateStep(env: Pick<DeployEnv, 'dep' | 'nodes' | 'container' | 'dir' | 'rep' | 'transport'>, opts: GateOptions): Step<GateInput, Gate> {
  const { dep, nodes, rep } = env;

  async function existingContainers(): Promise<Map<string, ContainerState | undefined>> {
    const out = new Map<string, ContainerState | undefined>();
    await Promise.all(nodes.map(async (n) => {
      try {
        const st = await containerState(await env.transport(n), rt(n), env.container);
        out.set(n.name, st && !('error' in st) ? st : undefined);
      } catch (err) {
        if (!(err instanceof RemoteError)) throw err;
        out.set(n.name, undefined); // the preflight gate reports the unreachable node
        if (opts.skipPreflight) throw new ClusterError(`${n.name}: ${err.message}`, { hint: err.hint ?? 'check ssh to the node', code: 'unreachable', node: n.name });
      }
    }));
    return out;
  }

  return {
    name: 'gate',
    async run({ master }, { signal }) {
      const interrupted = () => new InterruptedError('deploy interrupted before it changed anything on the nodes');
      const existing = await existingContainers();
      let deviceIps: Record<string, string[]> = {};
      if (!opts.skipPreflight) {
        rep.step(`preflight on ${nodes.length} nodes`);
        const ownPorts: Record<string, number[]> = {};
        for (const [node, st] of existing) if (st?.running) ownPorts[node] = deploymentPorts(dep);
        const pf = await opts.preflight(ownPorts);
        if (signal.aborted) throw interrupted(); // an interrupted preflight reports every unfinished check as failed: not a verdict
        rep.preflight(pf);
        if (!pf.ok) {
          // For --json: unreachable nodes alone are said as such, naming them (`node[2-3]`).
          const failed = pf.findings.filter((f) => f.status === 'fail');
          const unreachable = failed.every((f) => f.check === 'ssh');
          throw new ClusterError('preflight failed: nothing was changed on the nodes', {
            hint: 'fix the failures above (ascendctl preflight --fix repairs TLS switches), or deploy with --skip-preflight at your own risk',
            code: unreachable ? 'unreachable' : 'preflight-failed',
            node: foldNodeSet(failed.map((f) => f.node)),
          });
        }
        for (const f of pf.facts) {
          deviceIps[f.node] = Array.from({ length: opts.npusPerNode }, (_, npu) => {
            const ip = f.npus[npu]?.ip;
            return ip?.kind === 'ok' && ip.value ? ip.value.address : '';
          });
        }
      } else {
        rep.step(`reading the NPU addresses (hccn_tool -ip -g) on ${nodes.length} nodes`);
        deviceIps = await opts.readDeviceIps();
      }
      if (signal.aborted) throw interrupted();
      return { existing, deviceIps, remoteRecord: await readRemoteRecord(master, env.dir) };
    },
  };
}
