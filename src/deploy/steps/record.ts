/**
 * record: what the deployment is, written next to its files on the master (`<dir>/record.json`) once
 * it answers; the next deploy compares its digest to decide "unchanged". The same record is handed to
 * the caller before the wait (DeployOptions.onStarted), so that status, logs and stop find a deployment
 * that then fails. Nothing to undo: the record describes what is running.
 *
 * The deployment already serves when this runs (the ready line is out), so a record that cannot be
 * written is a warning, not a failure that would stop a serving model: without it the next deploy
 * cannot tell "unchanged" and restarts the containers, nothing worse.
 */
import type { LoadedDeployment } from '../../config/deployment.js';
import type { Inventory } from '../../config/inventory.js';
import type { RenderedDeployment } from '../../mindie/render.js';
import { InterruptedError } from '../../errors.js';
import type { Transport } from '../../remote/transport.js';
import type { ProbeTarget } from '../readiness.js';
import type { DeploymentRecord } from '../record.js';
import type { DeployEnv } from './env.js';
import type { Step } from './runner.js';

export interface RecordFacts {
  loaded: LoadedDeployment;
  inventory: Inventory;
  target: ProbeTarget;
  /** The route's `via`: set when HTTP to the master is tunnelled over SSH. */
  via: string | undefined;
  addresses: Map<string, string>;
  rendered: RenderedDeployment;
}

export function deploymentRecord(env: Pick<DeployEnv, 'dep' | 'nodes' | 'container' | 'now'>, f: RecordFacts): DeploymentRecord {
  const { dep, nodes } = env;
  return {
    name: dep.name,
    deploymentFile: f.loaded.absolutePath,
    inventoryFile: f.inventory.absolutePath,
    backend: dep.backend,
    endpoint: f.target.endpoint,
    ...(f.target.managementEndpoint ? { managementEndpoint: f.target.managementEndpoint } : {}),
    model: dep.model.name,
    ...(f.via ? { tunnel: true } : {}),
    nodes: nodes.map((n) => ({ name: n.name, address: f.addresses.get(n.name)!, role: n.index === 0 ? 'master' as const : 'worker' as const })),
    container: env.container,
    digest: f.rendered.digest,
    deployedAt: new Date(env.now()).toISOString(),
  };
}

export interface RecordInput {
  master: Transport;
  record: DeploymentRecord;
}

export function recordStep(env: Pick<DeployEnv, 'dir' | 'rep'>): Step<RecordInput, DeploymentRecord> {
  return {
    name: 'record',
    async run({ master, record }) {
      const file = `${env.dir}/record.json`;
      try {
        await master.upload(file, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o640 });
      } catch (err) {
        if (err instanceof InterruptedError) throw err;
        env.rep.warn(`could not write ${file} on the master (${err instanceof Error ? err.message : String(err)}): the deployment serves, but the next deploy of it will restart the containers even if nothing changed`);
      }
      return record;
    },
  };
}

/** The record a previous deploy left on the master; undefined when there is none or it is unreadable. */
export async function readRemoteRecord(t: Transport, dir: string): Promise<DeploymentRecord | undefined> {
  const r = await t.exec(['cat', `${dir}/record.json`], { timeoutMs: 10_000 });
  if (r.code !== 0) return undefined;
  try {
    return JSON.parse(r.stdout) as DeploymentRecord;
  } catch {
    return undefined;
  }
}
