/**
 * deploy: validate → preflight gate → device IPs → render → (dry run stops here) → lock → image on
 * every node → upload → start master, then every worker at once (inside the HCCL connect window) →
 * wait until the master answers a real one-token request → record. Every step that changes a node
 * pushes its undo; on any failure or Ctrl-C the undos run in reverse (workers stop before the master).
 */
import { createReadStream } from 'node:fs';
import { posix } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { assertModelDivisibility, type LoadedDeployment } from '../config/deployment.js';
import type { Inventory, ResolvedNode } from '../config/inventory.js';
import { ClusterError, InterruptedError, InputError } from '../errors.js';
import { foldNodeSet, foldNodeSetParts } from '../config/nodeset.js';
import { renderDeployment, type RenderedDeployment } from '../mindie/render.js';
import { containerName, remoteDir } from '../mindie/paths.js';
import type { SshPool } from '../remote/ssh-pool.js';
import { sshCommand } from '../remote/endpoint.js';
import { RemoteError, type Transport } from '../remote/transport.js';
import { runPreflight, deploymentPorts, type PreflightResult } from '../preflight/run.js';
import { readAllDeviceIps } from './device-ips.js';
import { containerState, containerTail, docker, PODMAN_SHM_REFUSAL, pullProgress, runArgvFor, stopAndRemove, type ContainerState } from './docker.js';
import { runCommandFor, runtimeOf } from './run-command.js';
import { nodeAddresses, toRenderInput } from './plan.js';
import { probeDelayMs, probeOnce, routeProbe, type ProbeTarget, type RoutedProbe } from './readiness.js';
import { checkImageArchive } from './image-archive.js';
import type { DeploymentRecord } from './record.js';
import { explainFailure } from './explain.js';

export interface DeployReporter {
  step(title: string): void;
  detail(text: string): void;
  node(node: string, text: string): void;
  warn(text: string): void;
  /** Long wait: a live status line on a terminal. */
  waiting(text: string): void;
  preflight(result: PreflightResult): void;
}

export interface DeployOptions {
  loaded: LoadedDeployment;
  inventory: Inventory;
  pool: SshPool;
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
  now?: () => number;
}

export type DeployResult =
  | { status: 'dry-run'; rendered: RenderedDeployment; plan: string[] }
  | { status: 'unchanged'; record: DeploymentRecord }
  | { status: 'ready'; record: DeploymentRecord; rendered: RenderedDeployment; seconds: number; readyOverheadMs: number };

interface Undo {
  what: string;
  node?: string;
  /** Neighbouring entries of one group run at once (the workers); groups run in reverse order. */
  group?: string;
  run(): Promise<void>;
}

const LOCK = 'deploy.lock';

export async function deploy(opts: DeployOptions): Promise<DeployResult> {
  try {
    return await deployOnce(opts);
  } catch (err) {
    // Ctrl-C surfaces from wherever it landed as whatever that step made of it (a lost connection, a
    // preflight full of "not checked"): it is an interruption all the same (exit 130).
    if (opts.signal.aborted && !(err instanceof InterruptedError)) {
      throw new InterruptedError('deploy interrupted before it changed anything on the nodes');
    }
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
  const workers = nodes.slice(1);
  const name = containerName(dep.name);
  const dir = remoteDir(dep.name);
  const rt = (n: ResolvedNode) => n.tools.containerRuntime;
  const tr = async (n: ResolvedNode): Promise<Transport> => {
    const t = pool.transport(n);
    await t.connect();
    return t;
  };
  const addresses = await nodeAddresses(nodes);
  const checkAbort = () => {
    // Inside the apply phase the handler below rewords this after undoing what was started.
    if (signal.aborted) throw new InterruptedError('deploy interrupted before it changed anything on the nodes');
  };

  if (opts.dryRun) {
    rep.step(`reading the NPU addresses (hccn_tool -ip -g) on ${nodes.length} nodes`);
    const ips = await readAllDeviceIps(nodes, pool, inventory.npusPerNode, signal);
    checkAbort();
    const rendered = renderDeployment(toRenderInput(dep, inventory, addresses, ips));
    return { status: 'dry-run', rendered, plan: planText(rendered, nodes) };
  }

  // The lock comes first: what is running, the preflight's view of the ports and the unchanged/replace
  // decision are only true while no other deploy of this name can change them.
  let masterT: Transport;
  try {
    masterT = await tr(master);
  } catch (err) {
    if (err instanceof RemoteError) throw new ClusterError(`${master.name} (master): ${err.message}`, { hint: err.hint ?? 'check ssh to the node: ascendctl preflight', code: 'unreachable', node: master.name });
    throw err;
  }
  // The model's own dimensions must divide by the parallel sizes (heads by TP, experts by EP): an
  // input error, found from the master's copy of the weights' config.json before anything changes.
  await checkModelFits(masterT);
  checkAbort();
  rep.step(`locking ${dep.name} on ${master.name}`);
  const createdDir = await acquireLock(masterT);

  const undo: Undo[] = [];
  // The device IPs the rank table was rendered from: a daemon that refuses one is compared against them.
  let renderedIps: Record<string, string[]> = {};
  // Set once a step may have changed a node (image, containers, files): decides how an interruption reads.
  let changed = false;
  // Set once the files may be on the nodes: only then does an interruption leave them there.
  let uploading = false;
  try {
    checkAbort();
    // What is running now decides between "unchanged", "replace" and "fresh", and which ports are ours.
    const existing = await existingContainers();

    let deviceIps: Record<string, string[]> = {};
    if (!opts.skipPreflight) {
      rep.step(`preflight on ${nodes.length} nodes`);
      const ownPorts: Record<string, number[]> = {};
      for (const [node, st] of existing) if (st?.running) ownPorts[node] = deploymentPorts(dep);
      const pf = await runPreflight({ inventory, deployment: dep, pool, ownPorts, signal });
      checkAbort(); // an interrupted preflight reports every unfinished check as failed: not a verdict
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
        deviceIps[f.node] = Array.from({ length: inventory.npusPerNode }, (_, npu) => {
          const ip = f.npus[npu]?.ip;
          return ip?.kind === 'ok' && ip.value ? ip.value.address : '';
        });
      }
    } else {
      rep.step(`reading the NPU addresses (hccn_tool -ip -g) on ${nodes.length} nodes`);
      deviceIps = await readAllDeviceIps(nodes, pool, inventory.npusPerNode, signal);
    }
    checkAbort();

    const rendered = renderDeployment(toRenderInput(dep, inventory, addresses, deviceIps));
    renderedIps = deviceIps;
    const remoteRecord = await readRemoteRecord(masterT);
    const allRunning = nodes.every((n) => existing.get(n.name)?.running);
    if (remoteRecord && remoteRecord.digest === rendered.digest && allRunning) {
      return { status: 'unchanged', record: remoteRecord };
    }

    changed = true;
    rep.step(opts.imageArchive ? `loading ${dep.image} from ${opts.imageArchive}` : `image ${dep.image} on every node`);
    await Promise.all(nodes.map((n) => ensureImage(n)));
    checkAbort();

    if (nodes.some((n) => existing.get(n.name))) {
      rep.step(remoteRecord && remoteRecord.digest !== rendered.digest
        ? 'the deployment changed: stopping the running one (workers first)'
        : 'removing the previous containers (workers first)');
      await stopContainers();
    }

    rep.step(`uploading ${rendered.nodes[0]?.files.length ?? 0} files to every node (${dir}, mode 640)`);
    uploading = true;
    await Promise.all(rendered.nodes.map(async (rn) => {
      const n = nodes.find((x) => x.name === rn.node.name)!;
      const t = await tr(n);
      for (const file of rn.files) await t.upload(file.path, file.content, { mode: file.mode, signal });
    }));
    checkAbort();

    rep.step(`starting ${master.name} (master), then ${workers.length} worker${workers.length === 1 ? '' : 's'}`);
    const startTimes = new Map<string, number>();
    await startOn(master, startTimes, rendered);
    await settleAll(workers.map((w) => startOn(w, startTimes, rendered)));
    const times = [...startTimes.values()];
    const skew = (Math.max(...times) - Math.min(...times)) / 1000;
    rep.detail(`all ${nodes.length} daemons started within ${skew.toFixed(1)} s`);
    if (skew > 60) rep.warn(`start skew ${skew.toFixed(0)} s: HCCL needs every rank within HCCL_CONNECT_TIMEOUT`);

    rep.step(`waiting for ${dep.model.name} to answer (loading weights takes minutes for a 671B model; deadline ${Math.round(opts.timeoutMs / 60000)} min)`);
    const target: ProbeTarget = dep.backend === 'mindie'
      ? { endpoint: `http://${fmtHost(addresses.get(master.name)!)}:${dep.ports.http}`,
          managementEndpoint: `http://${fmtHost(addresses.get(master.name)!)}:${dep.ports.management}`, model: dep.model.name }
      : { endpoint: `http://${fmtHost(addresses.get(master.name)!)}:${dep.vllm?.port ?? dep.ports.http}`, model: dep.model.name };
    // Behind a jump host the master's HTTP ports are reached as `ssh -L` would: over its SSH connection.
    const routed = await routeProbe(pool.transport(master), target);
    const { route } = routed;
    if (route.via) rep.detail(`HTTP to ${master.name} goes ${route.via}`);
    const record: DeploymentRecord = {
      name: dep.name,
      deploymentFile: loaded.absolutePath,
      inventoryFile: inventory.absolutePath,
      backend: dep.backend,
      endpoint: target.endpoint,
      ...(target.managementEndpoint ? { managementEndpoint: target.managementEndpoint } : {}),
      model: dep.model.name,
      ...(route.via ? { tunnel: true } : {}),
      nodes: nodes.map((n) => ({ name: n.name, address: addresses.get(n.name)!, role: n.index === 0 ? 'master' as const : 'worker' as const })),
      container: name,
      digest: rendered.digest,
      deployedAt: new Date(now()).toISOString(),
    };
    await opts.onStarted?.(record);
    let readyOverheadMs: number;
    try {
      readyOverheadMs = await waitReady(routed);
    } finally {
      await route.close();
    }

    await masterT.upload(`${dir}/record.json`, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o640 });
    return { status: 'ready', record, rendered, seconds: (now() - started) / 1000, readyOverheadMs };
  } catch (err) {
    const interrupted = signal.aborted;
    if (undo.length > 0 && !opts.keepOnFailure) {
      rep.step(`stopping what this deploy started (${foldNodeSetParts(undo.map((u) => u.node).filter((x): x is string => Boolean(x))).join(', ')})`);
      for (const batch of undoBatches(undo)) {
        await Promise.all(batch.map(async (u) => {
          try {
            await u.run();
          } catch (e) {
            rep.warn(`could not undo "${u.what}" on ${u.node ?? '?'}: ${(e as Error).message}`);
          }
        }));
      }
    } else if (undo.length > 0) {
      rep.warn(`--keep-on-failure: containers left running on ${foldNodeSetParts(undo.map((u) => u.node).filter((x): x is string => Boolean(x))).join(', ')}; ascendctl stop ${dep.name} removes them`);
    }
    if (interrupted) {
      const again = `run ascendctl deploy ${loaded.file} again when ready`;
      throw new InterruptedError(!changed
        ? 'deploy interrupted before it changed anything on the nodes'
        : `deploy interrupted${undo.length ? '; stopped what it had started' : ''}`,
      !changed ? again
        : opts.keepOnFailure && undo.length ? `${again}; ascendctl stop ${dep.name} removes what --keep-on-failure left running`
        : uploading ? `${again}; the uploaded files stay in ${dir} on the nodes (ascendctl stop ${dep.name} removes them)`
        : again);
    }
    throw err;
  } finally {
    // A first deploy that stopped before changing anything leaves no trace: the directory it created
    // holds nothing but the lock. Otherwise the rendered files stay for debugging and only the lock goes.
    const release = createdDir && !changed ? dir : `${dir}/${LOCK}`;
    await masterT.exec(['rm', '-rf', release], { timeoutMs: 10_000 }).catch(() => undefined);
  }

  // ---- steps ----------------------------------------------------------------------------------------

  async function existingContainers(): Promise<Map<string, ContainerState | undefined>> {
    const out = new Map<string, ContainerState | undefined>();
    await Promise.all(nodes.map(async (n) => {
      try {
        const st = await containerState(await tr(n), rt(n), name);
        out.set(n.name, st && !('error' in st) ? st : undefined);
      } catch (err) {
        if (!(err instanceof RemoteError)) throw err;
        out.set(n.name, undefined); // the preflight gate reports the unreachable node
        if (opts.skipPreflight) throw new ClusterError(`${n.name}: ${err.message}`, { hint: err.hint ?? 'check ssh to the node', code: 'unreachable', node: n.name });
      }
    }));
    return out;
  }

  async function checkModelFits(t: Transport): Promise<void> {
    const r = await t.exec(['cat', `${dep.model.path.replace(/\/+$/, '')}/config.json`], { timeoutMs: 10_000, signal });
    if (r.code !== 0) return; // preflight's model check reports a missing path on every node
    let json: unknown;
    try {
      json = JSON.parse(r.stdout);
    } catch {
      return;
    }
    assertModelDivisibility(loaded, json);
  }

  async function readRemoteRecord(t: Transport): Promise<DeploymentRecord | undefined> {
    const r = await t.exec(['cat', `${dir}/record.json`], { timeoutMs: 10_000 });
    if (r.code !== 0) return undefined;
    try {
      return JSON.parse(r.stdout) as DeploymentRecord;
    } catch {
      return undefined;
    }
  }

  /** Takes the lock; true when this created the deployment's directory (a first deploy). */
  async function acquireLock(t: Transport): Promise<boolean> {
    await t.exec(['mkdir', '-p', posix.dirname(dir)], { timeoutMs: 10_000 });
    const created = (await t.exec(['mkdir', '-m', '750', dir], { timeoutMs: 10_000 })).code === 0;
    const r = await t.exec(['mkdir', '-m', '750', `${dir}/${LOCK}`], { timeoutMs: 10_000 });
    if (r.code !== 0) {
      const held = await t.exec(['test', '-d', `${dir}/${LOCK}`], { timeoutMs: 10_000 });
      if (held.code !== 0) {
        throw new ClusterError(`${master.name}: cannot create ${dir}/${LOCK}: ${firstLine(r.stderr || r.stdout)}`, {
          hint: `ascendctl keeps each deployment's files under ${posix.dirname(dir)}/ on every node: make it writable for the SSH user`,
        });
      }
      const owner = await t.exec(['cat', `${dir}/${LOCK}/owner`], { timeoutMs: 10_000 });
      const who = owner.code === 0 ? owner.stdout.trim() : 'unknown';
      throw new ClusterError(`another deploy of ${dep.name} holds the lock on ${master.name} (${who})`, {
        hint: `wait for it to finish; if it died, remove the lock: ${sshCommand(master)} rm -rf ${dir}/${LOCK}`,
      });
    }
    const me = `${process.env.USER ?? 'someone'}@${(await import('node:os')).hostname()} pid ${process.pid} since ${new Date(now()).toISOString()}`;
    await t.upload(`${dir}/${LOCK}/owner`, `${me}\n`, { mode: 0o640 });
    return created;
  }

  async function ensureImage(n: ResolvedNode): Promise<void> {
    const t = await tr(n);
    const present = await t.exec(docker.imagePresent(rt(n), dep.image), { timeoutMs: 30_000, signal });
    if (present.code === 0) {
      rep.node(n.name, 'image present');
      return;
    }
    if (opts.imageArchive) {
      rep.node(n.name, `loading ${opts.imageArchive}`);
      const r = await t.exec(docker.load(rt(n)), { stdin: createReadStream(opts.imageArchive), timeoutMs: 60 * 60_000, signal });
      if (r.code !== 0) throw new ClusterError(`${n.name}: ${rt(n)} load failed: ${firstLine(r.stderr || r.stdout)}`, { hint: 'check the tarball (docker save output) and the disk space on the node' });
      const again = await t.exec(docker.imagePresent(rt(n), dep.image), { timeoutMs: 30_000, signal });
      if (again.code !== 0) {
        throw new ClusterError(`${n.name}: the archive did not contain ${dep.image} (${firstLine(r.stdout)})`, { hint: 'use the tarball of exactly the image named in the deployment file' });
      }
      rep.node(n.name, 'image loaded');
      return;
    }
    rep.node(n.name, `pulling ${dep.image}`);
    let last = 0;
    let buffered = '';
    const r = await t.stream(docker.pull(rt(n), dep.image), {
      onStdout(chunk) {
        buffered += chunk.toString('utf8');
        const lines = buffered.split(/\r?\n|\r/);
        buffered = lines.pop() ?? '';
        for (const l of lines) {
          const p = pullProgress(l);
          if (p && now() - last > 500) {
            last = now();
            rep.node(n.name, p);
          }
        }
      },
    }, { timeoutMs: 4 * 60 * 60_000, signal });
    if (r.code !== 0) {
      throw new ClusterError(`${n.name}: pulling ${dep.image} failed: ${firstLine(r.stderr || r.stdout)}`, {
        hint: 'check the registry is reachable from the node (docker login?), or copy the image with --image-archive FILE',
      });
    }
    rep.node(n.name, 'image pulled');
  }

  async function stopContainers(): Promise<void> {
    const stopOne = async (n: ResolvedNode) => stopAndRemove(await tr(n), rt(n), name);
    await Promise.all(workers.map(stopOne));
    await stopOne(master);
  }

  async function startOn(n: ResolvedNode, startTimes: Map<string, number>, rendered: RenderedDeployment): Promise<void> {
    const t = await tr(n);
    const rn = rendered.nodes.find((x) => x.node.name === n.name)!;
    await t.exec(docker.remove(rt(n), name), { timeoutMs: 30_000 }); // a stopped leftover of the same name
    // The undo goes on the stack before the container exists: a failure or Ctrl-C while `run` is in
    // flight may still leave a container behind, and stop/rm of an absent one is harmless.
    // Workers stop before the master: undo runs in reverse, and the master was started first.
    undo.push({
      what: `${rt(n)} stop ${name}`,
      node: n.name,
      group: n.index === 0 ? 'master' : 'workers',
      run: () => stopAndRemove(t, rt(n), name),
    });
    const argv = runArgvFor(rt(n), rn.containerArgv);
    // No abort signal here: an interrupted `run` leaves it unknown whether the container started; it
    // is short, and the abort is honoured right after it returns.
    let r = await t.exec(argv, { timeoutMs: 120_000 });
    // A `docker` that is podman underneath (podman-docker) refuses the shm size as podman does.
    if (r.code !== 0 && PODMAN_SHM_REFUSAL.test(r.stderr)) r = await t.exec(runArgvFor(rt(n), rn.containerArgv, true), { timeoutMs: 120_000 });
    if (r.code !== 0) {
      throw new ClusterError(`${n.name}: starting the container failed: ${firstLine(r.stderr || r.stdout)}`, {
        hint: 'run the command shown by ascendctl deploy --dry-run on the node to see the full error',
      });
    }
    startTimes.set(n.name, now());
    rep.node(n.name, `started (${n.index === 0 ? 'master' : 'worker'})`);
  }

  /**
   * Two loops race: a cheap HTTP probe of the master every probeDelayMs() (what proves readiness, so the
   * ready line follows the first answer closely), and a container watch over SSH every few seconds
   * (any daemon that exits sinks the HCCL group: stop waiting and show why).
   */
  async function waitReady({ target, explain, route }: RoutedProbe): Promise<number> {
    const deadline = now() + opts.timeoutMs;
    const maxWatch = opts.pollMs ?? 2_000;
    const stopWatch = new AbortController();
    const watch = (async (): Promise<never> => {
      // Back off from a quick first look: a daemon that dies at once (bad file, port taken) is
      // reported within a second, a 671B load is watched every 2 s.
      let every = Math.min(250, maxWatch);
      for (;;) {
        await sleep(every, undefined, { signal: stopWatch.signal });
        const states = await Promise.all(nodes.map(async (n) => [n, await containerState(await tr(n), rt(n), name)] as const));
        if (stopWatch.signal.aborted) throw stopWatch.signal.reason;
        const dead = firstToDie(states.filter(([, st]) => !st || 'error' in st || !st.running));
        if (dead) {
          const [n, st] = dead;
          const tail = await containerTail(await tr(n), rt(n), name, 30);
          const why = !st ? 'its container is gone' : 'error' in st ? st.error : `its daemon exited with status ${st.exitCode}`;
          throw await failure(n, `${why} while the model was starting`, tail);
        }
        every = Math.min(every * 2, maxWatch);
      }
    })();
    const probe = (async (): Promise<number> => {
      for (;;) {
        checkAbort();
        if (stopWatch.signal.aborted) return 0; // the watch already failed the deploy
        const p = await probeOnce(target, signal);
        if (p.ready) return 0;
        if (p.fatal) {
          throw new ClusterError(`${master.name}: the endpoint answers but refuses the model: ${p.detail}`, {
            hint: `clients must send model "${dep.model.name}" (model.name); check mindieConfig does not override modelName`,
          });
        }
        const left = Math.max(0, Math.round((deadline - now()) / 1000));
        rep.waiting(`${p.stage === 'connect' ? 'loading (HTTP not up yet)' : p.stage === 'health' ? 'HTTP up, waiting for /health' : 'health ok, first request not answered yet'} · ${left} s left`);
        if (now() > deadline) {
          const tail = await containerTail(masterT, rt(master), name, 30);
          throw await failure(master, `did not answer a one-token request within ${Math.round(opts.timeoutMs / 1000)} s (${explain(p.detail)})`, tail);
        }
        await sleep(probeDelayMs(route.via !== undefined), undefined, { signal }).catch(() => undefined);
      }
    })();
    try {
      return await Promise.race([probe, watch]);
    } finally {
      stopWatch.abort(new Error('ready'));
      watch.catch(() => undefined);
      probe.catch(() => undefined);
    }
  }

  async function failure(n: ResolvedNode, what: string, tail: string[]): Promise<ClusterError> {
    const known = explainFailure(tail);
    const lines = tail.length ? `\nlast lines of ${n.name}:\n${tail.map((l) => `  ${l}`).join('\n')}` : '';
    // A rank that timed out waiting names its peers by address; name them as the inventory does, so
    // that the user reads the right node's log first.
    const waitedFor = nodes.filter((x) => x !== n && tail.some((l) => HCCL_WAIT.test(l) && mentionsAddress(l, addresses.get(x.name) ?? x.hostname)));
    const peers = waitedFor.map((x) => `${x.name} (${addresses.get(x.name) ?? x.hostname})`).join(', ');
    const who = peers ? `; ${waitedFor.length === 1 ? 'it waited for' : 'they waited for'} ${peers}` : '';
    const first = waitedFor[0];
    // The cleanup that follows removes the containers and their logs: show the peer's lines now.
    let peerLines = '';
    if (first) {
      const peerTail = await containerTail(await tr(first), rt(first), name, 15).catch(() => [] as string[]);
      if (peerTail.length) peerLines = `\nlast lines of ${first.name} (which ${n.name} waited for):\n${peerTail.map((l) => `  ${l}`).join('\n')}`;
    }
    const npus = known?.kind === 'device-ip-invalid' ? await deviceIpDrift(n, tail) : '';
    const kept = opts.keepOnFailure === true;
    const readFirst = first
      ? kept
        ? `read ${first.name}'s log first: ascendctl logs ${dep.name} --node ${first.name}; then `
        : `${first.name} is the one to look at first (its last lines are above); then `
      : '';
    const more = kept
      ? `read the whole log: ascendctl logs ${dep.name} --node ${n.name} (and the other nodes': one rank failing takes the group down)`
      : `the containers are removed on failure: to read every node's whole log, deploy again with --keep-on-failure, then ascendctl logs ${dep.name}`;
    return new ClusterError(`${n.name}: ${what}${known ? ` — ${known.cause}` : ''}${npus}${who}${lines}${peerLines}`, {
      hint: `${readFirst}${known?.fix ?? more}`,
      node: n.name,
    });
  }

  /**
   * Which NPU's address the daemon refused: addresses its log quotes, mapped through the rank table,
   * and the node's live addresses (`hccn_tool -i N -ip -g`) against the ones rendered. Empty when
   * neither says.
   */
  async function deviceIpDrift(n: ResolvedNode, tail: readonly string[]): Promise<string> {
    const found: string[] = [];
    const where = new Map<string, string>();
    for (const [node, ips] of Object.entries(renderedIps)) ips.forEach((ip, npu) => where.set(ip, `${node} NPU ${npu}`));
    for (const l of tail) {
      for (const m of l.matchAll(/\b(\d{1,3}(?:\.\d{1,3}){3})\b/g)) {
        const at = where.get(m[1]!);
        if (at && !found.some((f) => f.startsWith(at))) found.push(`${at}: ${m[1]} in the rank table`);
      }
    }
    const live = await readAllDeviceIps([n], pool, inventory.npusPerNode).catch(() => undefined);
    const now = live?.[n.name];
    const was = renderedIps[n.name];
    if (now && was) {
      was.forEach((ip, npu) => {
        if (now[npu] !== ip) found.push(`${n.name} NPU ${npu}: the rank table has ${ip}, hccn_tool -i ${npu} -ip -g now says ${now[npu] ?? 'nothing'}`);
      });
    }
    return found.length ? ` (${[...new Set(found)].join('; ')})` : '';
  }
}

const HCCL_WAIT = /EI0006|Get_Socket_Timeout|did not connect|did not join/i;

function mentionsAddress(line: string, address: string): boolean {
  return new RegExp(`(^|[^\\d.])${address.replace(/[.]/g, '\\.')}($|[^\\d])`).test(line);
}

/** The node whose daemon stopped first: the others usually died of it (one rank takes HCCL down). */
function firstToDie<T>(dead: (readonly [T, ContainerState | undefined | { error: string }])[]): (readonly [T, ContainerState | undefined | { error: string }]) | undefined {
  const when = (st: ContainerState | undefined | { error: string }): number => {
    if (!st || 'error' in st || !st.finishedAt) return -Infinity;
    const t = Date.parse(st.finishedAt);
    return Number.isNaN(t) || t <= 0 ? -Infinity : t;
  };
  return dead.reduce<(typeof dead)[number] | undefined>((best, d) => (best === undefined || when(d[1]) < when(best[1]) ? d : best), undefined);
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

/** The undo stack in reverse, neighbouring entries of one group together (workers stop at once). */
function undoBatches(undo: readonly Undo[]): Undo[][] {
  const batches: Undo[][] = [];
  for (const u of [...undo].reverse()) {
    const last = batches.at(-1);
    if (last && u.group !== undefined && last[0]?.group === u.group) last.push(u);
    else batches.push([u]);
  }
  return batches;
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

function firstLine(text: string): string {
  return text.split('\n').map((l) => l.trim()).find((l) => l !== '') ?? 'no output';
}

function fmtHost(address: string): string {
  return address.includes(':') ? `[${address}]` : address;
}
