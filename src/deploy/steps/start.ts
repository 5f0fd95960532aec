/**
 * start master, then start workers: the master first, then every worker at once, inside HCCL's
 * connect window (HCCL_CONNECT_TIMEOUT). Each node's undo (stop and remove its container) is registered
 * before its `run`, so a failure or Ctrl-C while `run` is in flight still stops what it may have
 * started; the workers' undos form one group, which the runner stops at once and before the master's.
 */
import type { ResolvedNode } from '../../config/inventory.js';
import { ClusterError } from '../../errors.js';
import type { RenderedDeployment } from '../../mindie/render.js';
import { stopAndRemove } from '../../runtime/containers.js';
import { ContainerRuntime, PODMAN_SHM_REFUSAL, runtimeFor } from '../../runtime/runtime.js';
import { firstLine, rt, type DeployEnv } from './env.js';
import type { Step, StepScope } from './runner.js';

type StartEnv = Pick<DeployEnv, 'master' | 'workers' | 'nodes' | 'container' | 'rep' | 'now' | 'transport'>;

export interface StartInput {
  rendered: RenderedDeployment;
}

export interface Started {
  /** When each node's `run` returned (env.now()), by node name. */
  startedAt: Map<string, number>;
}

export function startMasterStep(env: StartEnv): Step<StartInput, Started> {
  return {
    name: 'start master',
    async run({ rendered }, scope) {
      const { master, workers } = env;
      env.rep.step(`starting ${master.name} (master), then ${workers.length} worker${workers.length === 1 ? '' : 's'}`);
      return { startedAt: new Map([[master.name, await startOn(env, master, rendered, scope)]]) };
    },
  };
}

export interface StartWorkersInput extends StartInput {
  /** The master's start (start master's output): the skew is measured from it. */
  master: Started;
}

export function startWorkersStep(env: StartEnv): Step<StartWorkersInput, Started> {
  return {
    name: 'start workers',
    async run({ rendered, master }, scope) {
      const startedAt = new Map(master.startedAt);
      await settleAll(env.workers.map(async (w) => {
        startedAt.set(w.name, await startOn(env, w, rendered, scope));
      }));
      const times = [...startedAt.values()];
      const skew = (Math.max(...times) - Math.min(...times)) / 1000;
      env.rep.detail(`all ${env.nodes.length} daemons started within ${skew.toFixed(1)} s`);
      if (skew > 60) env.rep.warn(`start skew ${skew.toFixed(0)} s: HCCL needs every rank within HCCL_CONNECT_TIMEOUT`);
      return { startedAt };
    },
  };
}

/** Starts the node's container; returns when `run` returned. */
async function startOn(env: StartEnv, n: ResolvedNode, rendered: RenderedDeployment, scope: StepScope): Promise<number> {
  const name = env.container;
  const t = await env.transport(n);
  const rn = rendered.nodes.find((x) => x.node.name === n.name)!;
  await t.exec(runtimeFor(rt(n)).remove(name), { timeoutMs: 30_000 }); // a stopped leftover of the same name
  // Stop/rm of an absent container is harmless: the undo goes on before the container exists.
  scope.undo({
    what: `${rt(n)} stop ${name}`,
    node: n.name,
    group: n.index === 0 ? 'master' : 'workers',
    run: () => stopAndRemove(t, rt(n), name),
  });
  const argv = runtimeFor(rt(n)).run(rn.containerArgv);
  // No abort signal here: an interrupted `run` leaves it unknown whether the container started; it
  // is short, and the abort is honoured right after it returns.
  let r = await t.exec(argv, { timeoutMs: 120_000 });
  // A `docker` that is podman underneath (podman-docker) refuses the shm size as podman does.
  if (r.code !== 0 && PODMAN_SHM_REFUSAL.test(r.stderr)) r = await t.exec(new ContainerRuntime(rt(n), 'podman').run(rn.containerArgv), { timeoutMs: 120_000 });
  if (r.code !== 0) {
    throw new ClusterError(`${n.name}: starting the container failed: ${firstLine(r.stderr || r.stdout)}`, {
      hint: 'run the command shown by ascendctl deploy --dry-run on the node to see the full error',
    });
  }
  const at = env.now();
  env.rep.node(n.name, `started (${n.index === 0 ? 'master' : 'worker'})`);
  return at;
}

/**
 * Promise.all that waits for every promise before rejecting with the first failure: an undo must not
 * start while another node's step is still in flight, or it could miss what that step creates.
 */
async function settleAll(promises: Promise<void>[]): Promise<void> {
  const results = await Promise.allSettled(promises);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}
