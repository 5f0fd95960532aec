/**
 * deploy: validate (exit 2 before any node is contacted) → (--dry-run: read the device IPs, render,
 * stop) → the master's model dimensions → then the named steps of src/deploy/steps/, run by one
 * StepRunner: lock → gate (preflight, or the device IPs alone) → render → (unchanged: done) → image →
 * (stop previous) → upload → start master → start workers → readiness → record. Every step that changes
 * a node registers its undo; on any failure or Ctrl-C the runner unwinds them in reverse (workers stop
 * before the master), and the lock is released either way.
 */
import type { LoadedDeployment } from '../config/deployment.js';
import type { Inventory, ResolvedNode } from '../config/inventory.js';
import { ClusterError, InterruptedError, InputError } from '../errors.js';
import { foldNodeSetParts } from '../config/nodeset.js';
import { renderDeployment, type RenderedDeployment } from '../mindie/render.js';
import { containerName, remoteDir } from '../mindie/paths.js';
import type { TransportPool } from '../remote/transport.js';
import { RemoteError, type Transport } from '../remote/transport.js';
import { runPreflight } from '../preflight/run.js';
import { readAllDeviceIps } from './device-ips.js';
import { runCommandFor, runtimeOf } from './run-command.js';
import { nodeAddresses, probeTarget, toRenderInput } from './plan.js';
import { checkImageArchive } from './image-archive.js';
import type { DeploymentRecord } from './record.js';
import type { DeployEnv, DeployReporter } from './steps/env.js';
import { StepRunner } from './steps/runner.js';
import { lockStep, releaseLock, type LockHeld } from './steps/lock.js';
import { checkModelFits, gateStep } from './steps/gate.js';
import { imageStep } from './steps/image.js';
import { stopPreviousStep, uploadStep } from './steps/upload.js';
import { startMasterStep, startWorkersStep } from './steps/start.js';
import { readinessStep } from './steps/ready.js';
import { deploymentRecord, recordStep } from './steps/record.js';

export type { DeployReporter } from './steps/env.js';

export interface DeployOptions {
  loaded: LoadedDeployment;
  inventory: Inventory;
  pool: TransportPool;
  reporter: DeployReporter;
  signal: AbortSignal;
  dryRun?: boolean;
  skipPreflight?: boolean;
  keepOnFailure?: boolean;
  imageArchive?: string;
  /** Readiness deadline (weights of a 671B model take minutes to load). */
  timeoutMs: number;
  /** Poll interval while waiting; default 2 s. */
  pollMs?: number;
  /**
   * Called once the containers run, before the wait for readiness: from then on the deployment is
   * "started from here" (contract) and status, logs and stop must find it by name, even if it fails.
   */
  onStarted?: (record: DeploymentRecord) => Promise<void>;
  /**
   * Called the moment the endpoint has answered, before the record is written on the master: the
   * ready line is printed here, within a probe interval of the endpoint's first answer.
   */
  onReady?: (record: DeploymentRecord, seconds: number) => void;
  now?: () => number;
}

export type DeployResult =
  | { status: 'dry-run'; rendered: RenderedDeployment; plan: string[] }
  | { status: 'unchanged'; record: DeploymentRecord }
  | { status: 'ready'; record: DeploymentRecord; rendered: RenderedDeployment; seconds: number; readyOverheadMs: number };

const UNCHANGED = 'deploy interrupted before it changed anything on the nodes';

/** The next step after any interruption. */
const againHint = (opts: DeployOptions): string => `run ascendctl deploy ${opts.loaded.file} again when ready`;

export async function deploy(opts: DeployOptions): Promise<DeployResult> {
  try {
    return await deployOnce(opts);
  } catch (err) {
    // Ctrl-C surfaces from wherever it landed as whatever that step made of it (a lost connection, a
    // preflight full of "not checked"): it is an interruption all the same (exit 130).
    const again = againHint(opts);
    if (opts.signal.aborted && !(err instanceof InterruptedError)) {
      throw new InterruptedError(UNCHANGED, again);
    }
    // Every interruption ends with the next step, wherever it was raised (the gate, a dry run).
    if (err instanceof InterruptedError && err.hint === undefined) throw new InterruptedError(err.message, again);
    throw err;
  }
}

async function deployOnce(opts: DeployOptions): Promise<DeployResult> {
  const { loaded, inventory, pool, reporter: rep, signal } = opts;
  const dep = loaded.deployment;
  const now = opts.now ?? Date.now;
  const started = now();
  if (inventory.nodes.length !== inventory.allNodes.length) {
    throw new InputError('deploy acts on every node of the inventory; --node is not allowed here');
  }
  // Checked here, before any node is contacted: a wrong or broken archive is bad input (exit 2).
  if (opts.imageArchive) await checkImageArchive(opts.imageArchive, dep.image);
  const nodes = inventory.allNodes;
  const master = nodes[0]!;
  const env: DeployEnv = {
    dep, nodes, master, workers: nodes.slice(1), container: containerName(dep.name), dir: remoteDir(dep.name), rep, signal, now,
    transport: async (n: ResolvedNode): Promise<Transport> => {
      const t = pool.transport(n);
      await t.connect();
      return t;
    },
  };
  const addresses = await nodeAddresses(nodes);

  if (opts.dryRun) {
    rep.step(`reading the NPU addresses (hccn_tool -ip -g) on ${nodes.length} nodes`);
    const ips = await readAllDeviceIps(nodes, pool, inventory.npusPerNode, signal);
    if (signal.aborted) throw new InterruptedError(UNCHANGED);
    const rendered = renderDeployment(toRenderInput(dep, inventory, addresses, ips));
    return { status: 'dry-run', rendered, plan: planText(rendered, nodes) };
  }

  let masterT: Transport;
  try {
    masterT = await env.transport(master);
  } catch (err) {
    if (err instanceof RemoteError) throw new ClusterError(`${master.name} (master): ${err.message}`, { hint: err.hint ?? 'check ssh to the node: ascendctl preflight', code: 'unreachable', node: master.name });
    throw err;
  }
  // An input error found from the master's copy of the weights, before anything changes.
  await checkModelFits(masterT, loaded, signal);
  // Inside the apply phase, interrupted() rewords this after undoing what was started.
  const runner = new StepRunner(signal, () => new InterruptedError(UNCHANGED));
  // The lock comes first: the gate's view is only true while no other deploy of this name can change it.
  const lock: LockHeld = await runner.run(lockStep(env), { master: masterT });
  const run: Applying = { opts, env, runner, masterT, addresses, started, changed: false, uploading: false };
  try {
    return await applySteps(run);
  } catch (err) {
    throw await unwind(run, err);
  } finally {
    await releaseLock(masterT, env.dir, lock, run.changed);
  }
}

/** One deploy under its lock: what the steps share, and how far they got. */
interface Applying {
  opts: DeployOptions;
  env: DeployEnv;
  runner: StepRunner;
  masterT: Transport;
  addresses: Map<string, string>;
  started: number;
  /** Set once a step may have changed a node (image, containers, files): decides how an interruption reads. */
  changed: boolean;
  /** Set once the files may be on the nodes: only then does an interruption leave them there. */
  uploading: boolean;
}

/** gate → (unchanged: done) → image → stop previous → upload → start master → start workers → readiness → record. */
async function applySteps(run: Applying): Promise<DeployResult> {
  const { opts, env, runner, masterT, addresses } = run;
  const { loaded, inventory, pool, signal } = opts;
  const { dep, nodes, master } = env;
  const gate = await runner.run(gateStep(env, {
    skipPreflight: Boolean(opts.skipPreflight),
    npusPerNode: inventory.npusPerNode,
    preflight: (ownPorts) => runPreflight({ inventory, deployment: dep, pool, ownPorts, signal }),
    readDeviceIps: () => readAllDeviceIps(nodes, pool, inventory.npusPerNode, signal),
  }), { master: masterT });

  const rendered = renderDeployment(toRenderInput(dep, inventory, addresses, gate.deviceIps));
  const { remoteRecord, existing } = gate;
  if (remoteRecord && remoteRecord.digest === rendered.digest && nodes.every((n) => existing.get(n.name)?.running)) {
    return { status: 'unchanged', record: remoteRecord };
  }

  run.changed = true;
  await runner.run(imageStep(env), opts.imageArchive ? { imageArchive: opts.imageArchive } : {});
  if (nodes.some((n) => existing.get(n.name))) {
    await runner.run(stopPreviousStep(env), { changed: Boolean(remoteRecord && remoteRecord.digest !== rendered.digest) });
  }
  run.uploading = true;
  await runner.run(uploadStep(env), { rendered });
  const m = await runner.run(startMasterStep(env), { rendered });
  await runner.run(startWorkersStep(env), { rendered, master: m });

  const target = probeTarget(dep, addresses.get(master.name)!);
  let record: DeploymentRecord | undefined;
  const ready = await runner.run(readinessStep(env, {
    timeoutMs: opts.timeoutMs,
    ...(opts.pollMs !== undefined ? { pollMs: opts.pollMs } : {}),
    keepOnFailure: opts.keepOnFailure === true,
    liveDeviceIps: async (n) => (await readAllDeviceIps([n], pool, inventory.npusPerNode))[n.name],
  }), {
    target,
    tunnel: pool.transport(master),
    addresses,
    renderedIps: gate.deviceIps,
    onRouted: async (via) => {
      record = deploymentRecord(env, { loaded, inventory, target, via, addresses, rendered });
      await opts.onStarted?.(record);
    },
  });
  if (!record) throw new Error('readiness returned before the route was open');
  const seconds = (env.now() - run.started) / 1000;
  opts.onReady?.(record, seconds);
  await runner.run(recordStep(env), { master: masterT, record });
  return { status: 'ready', record, rendered, seconds, readyOverheadMs: ready.readyOverheadMs };
}

/**
 * After a failure or Ctrl-C: stop what this deploy started (unless --keep-on-failure), and the error
 * to throw: the step's own, or for an interruption one that says what was left behind.
 */
async function unwind(run: Applying, err: unknown): Promise<unknown> {
  const { opts, env, runner } = run;
  const { rep, dep } = env;
  const interrupted = env.signal.aborted;
  const startedOn = foldNodeSetParts(runner.undoNodes).join(', ');
  const undone = runner.undos.length > 0;
  // By its file: a deploy that stopped before readiness left no record here, so its name alone is unknown.
  const stop = `ascendctl stop ${opts.loaded.file}`;
  if (undone && !opts.keepOnFailure) {
    rep.step(`stopping what this deploy started (${startedOn})`);
    await runner.unwind((u, e) => rep.warn(`could not undo "${u.what}" on ${u.node ?? '?'}: ${e.message}`));
  } else if (undone) {
    rep.warn(`--keep-on-failure: containers left running on ${startedOn}; ${stop} removes them`);
  }
  if (!interrupted) return err;
  const again = againHint(opts);
  if (!run.changed) return new InterruptedError(UNCHANGED, again);
  const left = opts.keepOnFailure && undone;
  return new InterruptedError(`deploy interrupted${left ? `; --keep-on-failure left containers running on ${startedOn}` : undone ? '; stopped what it had started' : ''}`,
    left ? `${again}; ${stop} removes what --keep-on-failure left running`
    : run.uploading ? `${again}; the uploaded files stay in ${env.dir} on the nodes (${stop} removes them)`
    : again);
}

function planText(r: RenderedDeployment, nodes: readonly ResolvedNode[]): string[] {
  const lines: string[] = [];
  for (const n of r.nodes) {
    lines.push(`${n.node.name} (${n.node.host}, ${n.node.index === 0 ? 'master' : 'worker'}):`);
    for (const f of n.files) lines.push(`  write ${f.path} (mode ${f.mode.toString(8)})`);
    // What runApply will run: the node's runtime word and its adaptations (podman), not the rendered `docker`.
    lines.push(`  run   ${runCommandFor(runtimeOf(nodes, n.node.name), n.containerArgv).text}`);
  }
  return lines;
}
