/**
 * readiness: wait until the master answers a real one-token request (src/deploy/readiness.ts proves
 * it), while watching every node's container: any daemon that exits sinks the HCCL group, so the wait
 * stops at once and says which node died first, its last lines, the peer it waited for and, for a
 * refused device IP, which NPU's address drifted. Nothing to undo: the containers are start's.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ResolvedNode } from '../../config/inventory.js';
import { ClusterError, InterruptedError } from '../../errors.js';
import type { TcpOpener } from '../../remote/http-tunnel.js';
import { containerState, containerTail } from '../../runtime/containers.js';
import type { ContainerState } from '../../runtime/runtime.js';
import { explainFailure } from '../explain.js';
import { probeDelayMs, probeOnce, routeProbe, type ProbeTarget, type RoutedProbe } from '../readiness.js';
import { rt, type DeployEnv } from './env.js';
import type { Step } from './runner.js';
import { deviceWord } from '../../mindie/render-input.js';
import { HCCL_CONNECT_TIMEOUT_S } from '../../mindie/env.js';

const HCCL_WAIT = /EI0006|Get_Socket_Timeout|did not connect|did not join/i;

export interface ReadinessOptions {
  /** Readiness deadline (weights of a 671B model take minutes to load). */
  timeoutMs: number;
  /** Longest interval of the container watch; default 2 s. */
  pollMs?: number;
  /** Containers stay on failure: the hint says how to read their logs. */
  keepOnFailure: boolean;
  /** A node's NPU addresses as they are now (hccn_tool), undefined when they cannot be read. */
  liveDeviceIps(n: ResolvedNode): Promise<string[] | undefined>;
}

export interface ReadinessInput {
  /** The master's endpoints as seen from the nodes' network. */
  target: ProbeTarget;
  /** The master's SSH connection: HTTP goes through it when the master sits behind a jump host. */
  tunnel: TcpOpener;
  /** Every node's address (plan.ts), to name the peer a rank waited for. */
  addresses: Map<string, string>;
  /** The device IPs the rank table was rendered from: a daemon that refuses one is compared against them. */
  renderedIps: Record<string, string[]>;
  /** Called with the route (`via` set when tunnelled) once it is open, before the wait. */
  onRouted(via: string | undefined): Promise<void>;
}

export interface Ready {
  /** DeployResult's readyOverheadMs: always 0 (the probe's answer is the ready signal itself). */
  readyOverheadMs: number;
}

type ReadyEnv = Pick<DeployEnv, 'dep' | 'nodes' | 'master' | 'container' | 'rep' | 'now' | 'transport'>;

export function readinessStep(env: ReadyEnv, opts: ReadinessOptions): Step<ReadinessInput, Ready> {
  return {
    name: 'readiness',
    async run(input, { signal }) {
      const { dep, master, rep } = env;
      rep.step(`waiting for ${dep.model.name} to answer (loading weights takes minutes for a 671B model; deadline ${Math.round(opts.timeoutMs / 60000)} min)`);
      // Behind a jump host the master's HTTP ports are reached as `ssh -L` would: over its SSH connection.
      const routed = await routeProbe(input.tunnel, input.target);
      const { route } = routed;
      if (route.via) rep.detail(`HTTP to ${master.name} goes ${route.via}`);
      try {
        await input.onRouted(route.via);
        return { readyOverheadMs: await waitReady(env, opts, input, routed, signal) };
      } finally {
        await route.close();
      }
    },
  };
}

/**
 * Two loops race: a cheap HTTP probe of the master every probeDelayMs() (what proves readiness, so the
 * ready line follows the first answer closely), and a container watch over SSH every few seconds
 * (any daemon that exits sinks the HCCL group: stop waiting and show why).
 */
async function waitReady(env: ReadyEnv, opts: ReadinessOptions, input: ReadinessInput, { target, explain, route }: RoutedProbe, signal: AbortSignal): Promise<number> {
  const { nodes, master, container: name, now, rep, dep } = env;
  const deadline = now() + opts.timeoutMs;
  const maxWatch = opts.pollMs ?? 2_000;
  const stopWatch = new AbortController();
  const watch = (async (): Promise<never> => {
    // Back off from a quick first look: a daemon that dies at once (bad file, port taken) is
    // reported within a second, a 671B load is watched every 2 s.
    let every = Math.min(250, maxWatch);
    for (;;) {
      await sleep(every, undefined, { signal: stopWatch.signal });
      const states = await Promise.all(nodes.map(async (n) => [n, await containerState(await env.transport(n), rt(n), name)] as const));
      if (stopWatch.signal.aborted) throw stopWatch.signal.reason;
      const dead = firstToDie(states.filter(([, st]) => !st || 'error' in st || !st.running));
      if (dead) {
        const [n, st] = dead;
        const tail = await containerTail(await env.transport(n), rt(n), name, 30);
        const why = !st ? 'its container is gone' : 'error' in st ? st.error : `its daemon exited with status ${st.exitCode}`;
        throw await failure(env, opts, input, n, `${why} while the model was starting`, tail);
      }
      every = Math.min(every * 2, maxWatch);
    }
  })();
  const probe = (async (): Promise<number> => {
    for (;;) {
      if (signal.aborted) throw new InterruptedError('deploy interrupted');
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
        const tail = await containerTail(await env.transport(master), rt(master), name, 30);
        // Every daemon still runs, yet the master never answered: one that never joined HCCL holds the
        // whole group back (failure table row 1), so the others' last lines count as much as the master's.
        const others = await Promise.all(nodes.filter((x) => x !== master).map(async (x) =>
          [x.name, await containerTail(await env.transport(x), rt(x), name, 5).catch(() => [] as string[])] as const));
        throw await failure(env, opts, input, master, `did not answer a one-token request within ${Math.round(opts.timeoutMs / 1000)} s (${explain(p.detail)})`, tail, others);
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

async function failure(
  env: ReadyEnv, opts: ReadinessOptions, input: ReadinessInput, n: ResolvedNode, what: string, tail: string[],
  others: readonly (readonly [string, readonly string[]])[] = [],
): Promise<ClusterError> {
  const { nodes, dep, container: name } = env;
  const { addresses } = input;
  const known = explainFailure(tail);
  const lines = lastLines(n.name, tail);
  // A rank that timed out waiting names its peers by address; name them as the inventory does, so
  // that the user reads the right node's log first.
  const waitedFor = nodes.filter((x) => x !== n && tail.some((l) => HCCL_WAIT.test(l) && mentionsAddress(l, addresses.get(x.name) ?? x.hostname)));
  const peers = waitedFor.map((x) => `${x.name} (${addresses.get(x.name) ?? x.hostname})`).join(', ');
  const who = peers ? `; ${waitedFor.length === 1 ? 'it waited for' : 'they waited for'} ${peers}` : '';
  const first = waitedFor[0];
  // The cleanup that follows removes the containers and their logs: show the peer's lines now.
  let peerLines = '';
  if (first) {
    const peerTail = await containerTail(await env.transport(first), rt(first), name, 15).catch(() => [] as string[]);
    peerLines = lastLines(`${first.name} (which ${n.name} waited for)`, peerTail);
  }
  const npus = known?.kind === 'device-ip-invalid' ? await deviceIpDrift(opts, input, n, tail)
    : known?.kind === 'out-of-memory' ? oomDevice(tail, Object.values(input.renderedIps)[0]?.length ?? 8) : '';
  const kept = opts.keepOnFailure;
  const readFirst = first
    ? kept
      ? `read ${first.name}'s log first: ascendctl logs ${dep.name} --node ${first.name}; then `
      : `${first.name} is the one to look at first (its last lines are above); then `
    : '';
  const more = kept
    ? `read the whole log: ascendctl logs ${dep.name} --node ${n.name} (and the other nodes': one rank failing takes the group down)`
    : `the containers are removed on failure: to read every node's whole log, deploy again with --keep-on-failure, then ascendctl logs ${dep.name}`;
  const otherLines = others.map(([node, t]) => lastLines(node, t)).join('');
  const stuck = !known && !first && others.length > 0
    ? `every daemon still runs: a node that never joined HCCL holds the whole group back (HCCL_CONNECT_TIMEOUT is ${hcclConnectTimeout(dep)} s), so read the workers' lines above as well as ${n.name}'s; `
    : '';
  return new ClusterError(`${n.name}: ${what}${known ? ` — ${known.cause}` : ''}${npus}${who}${lines}${peerLines}${otherLines}`, {
    hint: `${readFirst}${stuck}${known?.fix ?? more}`,
    node: n.name,
  });
}

/** A node's last log lines as the error shows them, under `who`; nothing when there are none. */
function lastLines(who: string, tail: readonly string[]): string {
  return tail.length ? `\nlast lines of ${who}:\n${tail.map((l) => `  ${l}`).join('\n')}` : '';
}

/** HCCL_CONNECT_TIMEOUT as the daemons get it: the deployment's env:, else what ascendctl renders. */
function hcclConnectTimeout(dep: ReadyEnv['dep']): string {
  return dep.env.HCCL_CONNECT_TIMEOUT ?? HCCL_CONNECT_TIMEOUT_S[dep.backend];
}

/**
 * The device a load ran out of memory on, as the backend's error names it (`… (NPU 5; 64.00 GiB total
 * capacity …)`, `… failed on device 5`): ` on NPU 5`, or `` when the lines do not say.
 */
function oomDevice(tail: readonly string[], devicesPerNode: number): string {
  for (const l of tail) {
    const m = /\(NPU (\d+);|failed on device (\d+)\b/.exec(l);
    if (m) return ` on ${deviceWord(devicesPerNode)} ${m[1] ?? m[2]}`;
  }
  return '';
}

/**
 * Which NPU's address the daemon refused: addresses its log quotes, mapped through the rank table,
 * and the node's live addresses (`hccn_tool -i N -ip -g`) against the ones rendered. Empty when
 * neither says.
 */
async function deviceIpDrift(opts: ReadinessOptions, input: ReadinessInput, n: ResolvedNode, tail: readonly string[]): Promise<string> {
  const renderedIps = input.renderedIps;
  const found: string[] = [];
  const where = new Map<string, string>();
  for (const [node, ips] of Object.entries(renderedIps)) ips.forEach((ip, npu) => where.set(ip, `${node} ${deviceWord(ips.length)} ${npu}`));
  for (const l of tail) {
    for (const m of l.matchAll(/\b(\d{1,3}(?:\.\d{1,3}){3})\b/g)) {
      const at = where.get(m[1]!);
      if (at && !found.some((f) => f.startsWith(at))) found.push(`${at}: ${m[1]} in the rank table`);
    }
  }
  const now = await opts.liveDeviceIps(n).catch(() => undefined);
  const was = renderedIps[n.name];
  if (now && was) {
    was.forEach((ip, npu) => {
      if (now[npu] !== ip) found.push(`${n.name} ${deviceWord(was.length)} ${npu}: the rank table has ${ip}, hccn_tool -i ${npu} -ip -g now says ${now[npu] ?? 'nothing'}`);
    });
  }
  return found.length ? ` (${[...new Set(found)].join('; ')})` : '';
}

function mentionsAddress(line: string, address: string): boolean {
  return new RegExp(`(^|[^\\d.])${address.replace(/[.]/g, '\\.')}($|[^\\d])`).test(line);
}

type Observed = ContainerState | undefined | { error: string };

/** The node whose daemon stopped first: the others usually died of it (one rank takes HCCL down). */
function firstToDie<T>(dead: (readonly [T, Observed])[]): (readonly [T, Observed]) | undefined {
  const when = (st: Observed): number => {
    if (!st || 'error' in st || !st.finishedAt) return -Infinity;
    const t = Date.parse(st.finishedAt);
    return Number.isNaN(t) || t <= 0 ? -Infinity : t;
  };
  return dead.reduce<(typeof dead)[number] | undefined>((best, d) => (best === undefined || when(d[1]) < when(best[1]) ? d : best), undefined);
}
