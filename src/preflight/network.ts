/**
 * Collection for the `address` and `reach` checks. Both ride on each node's existing connection and
 * run beside the other checks, never through the serial hccn_tool queue.
 *
 * `address`: `ip -o addr show` and `ip route get <rendered>` on the node. The rendered address is its
 * own when `ip` lists it, or when the kernel routes it `local` (every 127.x address on lo, an address
 * bound by a routing rule).
 *
 * `reach` (mindie-multinode.md §13 rows 1, 7 and 24): a star around the master, so the cost is linear
 * in N. The master listens on `multiNodesInfer` and the HCCL range, every worker on the HCCL range;
 * every worker connects to the master's ports and the master to every worker's, each from the node's
 * own (rendered) address. This proves both directions of every master↔worker path, the paths the
 * rank-table exchange (root rank = master) and the RPC to `multiNodesInfer` use; it does not test
 * worker↔worker paths (an ACL between two workers), which HCCL's later collectives may use.
 */
import { PassThrough } from 'node:stream';
import type { ExecResult, Transport } from '../remote/transport.js';
import { RemoteError } from '../remote/transport.js';
import type { PreflightNode } from './node.js';
import type { BatchCall } from './batch.js';
import type { AddressFacts, Outcome, ReachFacts } from './facts.js';
import { CONNECT_WAIT_S, LISTEN_LIFE_S, connectArgv, listenArgv, parseProbeLine, parseProbeOutput } from './reach-probe.js';

export const HCCL_DEFAULT_BASE_PORT = 60000;
export const HCCL_PORT_COUNT = 16;
const READ_TIMEOUT_MS = 5_000;
/** Targets per connect call: each is one socket, and a node's default limit is 1024 descriptors. */
const TARGETS_PER_CALL = 256;

/** HCCL_IF_BASE_PORT from the deployment's env (default 60000) and the 16 ports from it. */
export function hcclPorts(env: Record<string, string> | undefined): number[] {
  const raw = env?.HCCL_IF_BASE_PORT;
  const n = raw === undefined ? NaN : Number(raw);
  const base = Number.isInteger(n) && n >= 1 && n + HCCL_PORT_COUNT - 1 <= 65535 ? n : HCCL_DEFAULT_BASE_PORT;
  return Array.from({ length: HCCL_PORT_COUNT }, (_, i) => base + i);
}

export interface ReachPlan {
  /** node → ports it listens on. */
  listen: Map<string, number[]>;
  /** node → the peers and ports it connects to. */
  connect: Map<string, { to: string; ports: number[] }[]>;
}

/** The star: workers → master (infer port + HCCL range), master → every worker (HCCL range). */
export function reachPlan(names: readonly string[], master: string, inferPort: number, hccl: readonly number[]): ReachPlan {
  const listen = new Map<string, number[]>();
  const connect = new Map<string, { to: string; ports: number[] }[]>();
  const workers = names.filter((n) => n !== master);
  if (!names.includes(master) || workers.length === 0) return { listen, connect };
  listen.set(master, [inferPort, ...hccl.filter((p) => p !== inferPort)]);
  connect.set(master, workers.map((w) => ({ to: w, ports: [...hccl] })));
  for (const w of workers) {
    listen.set(w, [...hccl]);
    connect.set(w, [{ to: master, ports: listen.get(master)! }]);
  }
  return { listen, connect };
}

export interface NetworkOptions {
  nodes: PreflightNode[];
  /** node → the address ascendctl renders for it, or why it has none (an unresolvable name). */
  rendered: Map<string, Outcome<string>>;
  /** With a deployment: the reach plan's inputs. */
  reach?: { master: string; inferPort: number; hcclPorts: number[]; notProbed?: ReachFacts['notProbed'] };
  signal?: AbortSignal;
  /** Resolves once the node's own port list (`ss -Htln` of the ports check) was read. */
  portsRead?: (node: string) => Promise<void>;
}

export interface NetworkFacts {
  address?: Outcome<AddressFacts>;
  reach?: Outcome<ReachFacts>;
}

/** `ip -o addr show` lines: `2: eth0    inet 10.0.0.1/24 brd … scope global eth0\ …` → the addresses. */
export function parseIpAddr(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^\d+:\s+\S+\s+inet6?\s+([0-9a-fA-F.:]+)(?:\/\d+)?\s/.exec(line.trim() + ' ');
    if (m) out.push(m[1]!);
  }
  return out;
}

/** `ip route get ADDR` starts with `local ADDR dev lo …` when the kernel owns the address. */
export function routeIsLocal(text: string): boolean {
  return text.split('\n').some((l) => /^local\s/.test(l.trim()));
}

export async function collectNetwork(opts: NetworkOptions): Promise<Map<string, NetworkFacts>> {
  const out = new Map<string, NetworkFacts>(opts.nodes.map((n) => [n.name, {}]));
  const transports = new Map<string, Transport>();
  await Promise.all(opts.nodes.map(async (n) => {
    try {
      transports.set(n.name, await n.transport());
    } catch (err) {
      if (!(err instanceof RemoteError)) throw err; // the ssh finding says why
    }
  }));
  const tasks: Promise<void>[] = [];
  for (const n of opts.nodes) {
    const t = transports.get(n.name);
    if (t) tasks.push(collectAddress(t, opts.rendered.get(n.name), opts.signal).then((a) => { out.get(n.name)!.address = a; }));
  }
  if (opts.reach) tasks.push(collectReach(opts, opts.reach, transports, out));
  await Promise.all(tasks);
  return out;
}

/** The `address` check's reads of a node whose rendered address is `address` (also read ahead, read-ahead.ts). */
export function addressReadCalls(address: string): [addrShow: BatchCall, routeGet: BatchCall] {
  return [
    { argv: ['ip', '-o', 'addr', 'show'], timeoutMs: READ_TIMEOUT_MS },
    { argv: ['ip', 'route', 'get', address], timeoutMs: READ_TIMEOUT_MS },
  ];
}

async function collectAddress(t: Transport, rendered: Outcome<string> | undefined, signal: AbortSignal | undefined): Promise<Outcome<AddressFacts>> {
  if (!rendered) return { kind: 'skipped', why: 'no address rendered' };
  if (rendered.kind !== 'ok') return rendered;
  const address = rendered.value;
  const opts = { timeoutMs: READ_TIMEOUT_MS, ...(signal ? { signal } : {}) };
  try {
    const [addrShow, routeGet] = addressReadCalls(address);
    const [addr, route] = await Promise.all([t.exec(addrShow.argv, opts), t.exec(routeGet.argv, opts)]);
    if (addr.code === 127) {
      return { kind: 'error', message: 'ip is not installed', reason: 'not-found', exitCode: 127,
        hint: `install iproute2 on ${t.target.name}, or check by hand that ${address} is one of its addresses (ip -o addr)` };
    }
    if (addr.code !== 0) return failedCall(addr, 'ip -o addr show');
    return { kind: 'ok', value: { rendered: address, listed: parseIpAddr(addr.stdout), routeLocal: route.code === 0 && routeIsLocal(route.stdout) } };
  } catch (err) {
    if (err instanceof RemoteError) return { kind: 'skipped', why: err.message };
    throw err;
  }
}

function failedCall(r: ExecResult, what: string): Outcome<never> {
  if (r.timedOut) return { kind: 'timeout', seconds: Math.round(r.durationMs / 1000) };
  const first = (r.stderr.trim() || r.stdout.trim()).split('\n')[0];
  return { kind: 'error', message: `${what}: ${first || `exit status ${r.code}`}`, exitCode: r.code };
}

interface Listening {
  /** Ports that could not be bound, with the errno name. */
  failed: Map<number, string>;
  ready: boolean;
  missingTool?: string;
  problem?: string;
}

async function collectReach(
  opts: NetworkOptions, reach: NonNullable<NetworkOptions['reach']>, transports: Map<string, Transport>, out: Map<string, NetworkFacts>,
): Promise<void> {
  const names = opts.nodes.map((n) => n.name);
  const facts = new Map<string, ReachFacts>(names.map((n) => [n, { probes: [], untested: [] }]));
  const set = () => {
    for (const [n, f] of facts) if (transports.has(n)) out.get(n)!.reach = { kind: 'ok', value: f };
  };
  if (reach.notProbed) {
    for (const f of facts.values()) f.notProbed = reach.notProbed;
    set();
    return;
  }
  const plan = reachPlan(names, reach.master, reach.inferPort, reach.hcclPorts);
  if (plan.listen.size === 0) {
    set();
    return;
  }
  const addressOf = (n: string): string | undefined => {
    const r = opts.rendered.get(n);
    return r?.kind === 'ok' ? r.value : undefined;
  };

  // 0. The ports check lists each node's listeners first: the probe's own must not show up there.
  if (opts.portsRead) await Promise.all([...plan.listen.keys()].map((n) => opts.portsRead!(n)));
  // 1. Listeners on every planned node; wait until each is ready or gave up.
  const inputs: PassThrough[] = [];
  const running: Promise<unknown>[] = [];
  const listening = new Map<string, Listening>();
  await Promise.all([...plan.listen].map(async ([node, ports]) => {
    const t = transports.get(node);
    const address = addressOf(node);
    if (!t || !address) return;
    const state: Listening = { failed: new Map(), ready: false };
    listening.set(node, state);
    const stdin = new PassThrough();
    inputs.push(stdin);
    let buffered = '';
    let markReady!: () => void;
    const ready = new Promise<void>((resolve) => { markReady = resolve; });
    const exec = t.stream(listenArgv(address, ports), {
      onStdout: (chunk) => {
        buffered += chunk.toString('utf8');
        const lines = buffered.split('\n');
        buffered = lines.pop() ?? '';
        for (const l of lines) {
          const p = parseProbeLine(l);
          if (p?.kind === 'bind-failed') state.failed.set(p.port, p.errno);
          if (p?.kind === 'ready') { state.ready = true; markReady(); }
        }
      },
    // The probe binds ports from 1024 up (the deployment's rules) and needs no root: with ssh.become it
    // runs as the login user, so sudoers need not allow python3.
    }, { stdin, asLoginUser: true, timeoutMs: (LISTEN_LIFE_S + 5) * 1000, ...(opts.signal ? { signal: opts.signal } : {}) }).then((r) => {
      if (!state.ready) {
        if (r.code === 127) state.missingTool = 'no python3';
        else state.problem = `the listener did not start (${(r.stderr.trim().split('\n').pop() || `exit status ${r.code}`)})`;
      }
    }, (err: unknown) => {
      if (!(err instanceof RemoteError)) throw err;
      state.problem = err.message;
    }).finally(markReady);
    running.push(exec);
    await ready;
  }));

  try {
    if (opts.signal?.aborted) return;
    // 2. Connections, every node at once; one call per node (chunked) covering all its targets.
    await Promise.all([...plan.connect].map(async ([node, targets]) => {
      const f = facts.get(node)!;
      const t = transports.get(node);
      const source = addressOf(node);
      const me = listening.get(node);
      if (!t) return;
      if (!source) { f.untested.push(`${node} has no address to test from (see address)`); return; }
      if (me?.missingTool) { f.missingTool = me.missingTool; return; }
      const todo: { to: string; address: string; port: number }[] = [];
      for (const { to, ports } of targets) {
        const peer = listening.get(to);
        const address = addressOf(to);
        if (!peer || !address) { f.untested.push(`${to}: unreachable over SSH, or no address`); continue; }
        if (peer.missingTool) { f.untested.push(`${to}: cannot listen there, ${peer.missingTool}`); continue; }
        if (!peer.ready) { f.untested.push(`${to}: ${peer.problem ?? 'no listener'}`); continue; }
        const busy = ports.filter((p) => peer.failed.has(p));
        if (busy.length > 0) f.untested.push(`${to}:${portList(busy)} ${bindWords(peer.failed.get(busy[0]!)!, address)}`);
        for (const port of ports) if (!peer.failed.has(port)) todo.push({ to, address, port });
      }
      for (let i = 0; i < todo.length; i += TARGETS_PER_CALL) {
        const chunk = todo.slice(i, i + TARGETS_PER_CALL);
        let r: ExecResult;
        try {
          r = await t.exec(connectArgv(source, chunk), { asLoginUser: true, timeoutMs: (CONNECT_WAIT_S + 10) * 1000, ...(opts.signal ? { signal: opts.signal } : {}) });
        } catch (err) {
          if (!(err instanceof RemoteError)) throw err;
          f.untested.push(`connections from ${node}: ${err.message}`);
          return;
        }
        if (r.code === 127) { f.missingTool = 'no python3'; return; }
        const lines = parseProbeOutput(r.stdout);
        const src = lines.find((l) => l.kind === 'source-failed');
        if (src && src.kind === 'source-failed') {
          f.untested.push(`connections from ${node}: ${src.errno === 'EADDRNOTAVAIL' ? `${source} is not an address of ${node} (see address)` : `binding ${source} failed with ${src.errno}`}`);
          return;
        }
        for (const want of chunk) {
          const got = lines.find((l) => l.kind === 'result' && l.address === want.address && l.port === want.port);
          f.probes.push({ to: want.to, address: want.address, port: want.port,
            outcome: got?.kind === 'result' ? got.outcome : r.timedOut ? 'timeout' : 'no-answer' });
        }
      }
    }));
    for (const [node, st] of listening) if (st.missingTool) facts.get(node)!.missingTool = st.missingTool;
  } finally {
    // 3. Close every listener (EOF on its standard input) and wait until each has exited.
    for (const s of inputs) s.end();
    await Promise.allSettled(running);
  }
  set();
}

function bindWords(errno: string, address: string): string {
  if (errno === 'EADDRINUSE') return 'in use there (see ports)';
  if (errno === 'EADDRNOTAVAIL') return `not listenable: ${address} is not an address of that node (see address)`;
  return `not listenable: bind failed with ${errno}`;
}

/** `60000-60015`, `1120, 60000-60015`: consecutive ports as ranges. */
export function portList(ports: readonly number[]): string {
  const sorted = [...new Set(ports)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    parts.push(j > i ? `${sorted[i]}-${sorted[j]}` : String(sorted[i]));
    i = j + 1;
  }
  return parts.join(', ');
}
