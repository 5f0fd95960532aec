/**
 * The only I/O of preflight: run the checks' commands over one connection per node and turn the raw
 * output into facts. hccn_tool serves one caller per node (ascend-tools.md §1.2), so each node has one
 * serial queue for the Ascend tools; nodes run in parallel, and file reads that do not touch the
 * device channel run beside the queue on the same connection.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ExecResult, Transport } from '../remote/transport.js';
import { RemoteError } from '../remote/transport.js';
import {
  HCCN_TIMEOUT_MS, classifyHccnResult, hccnGet, hccnPing, hccnTlsDisable, parseGateway, parseIp, parseLink,
  parseLldp, parseNetHealth, parseNetdetect, parsePing, parseTls, pingLoss,
  type HccnGetCommand, type HccnOutcome,
} from '../ascend/hccn-tool.js';
import type { ParseResult } from '../ascend/parse-result.js';
import { firstLine } from '../ascend/parse-result.js';
import {
  type NpuSmiInfo, NPU_SMI_TIMEOUT_MS, parseNpuSmiInfo, npuSmiErrorText, nonA2Reason, parseNpuSmiMapping, npuSmiInfo, npuSmiMapping,
  npuSmiSpodInfo,
} from '../ascend/npu-smi.js';
import { HCCN_CONF_PATH, parseHccnConf } from '../ascend/hccn-conf.js';
import {
  ASCEND_INSTALL_INFO_PATH, DEFAULT_INSTALL_PATH, FILE_READ_TIMEOUT_MS as READ_TIMEOUT_MS, driverVersionFrom, driverVersionInfoPath,
  installPathFrom, parseKeyValueFile,
} from '../ascend/version-info.js';
import type {
  HccnConfFacts, Listener, ModelFacts, NodeFacts, NpuFacts, NpuSmiFacts, Outcome, PingFacts, PingResult,
} from './facts.js';
import { isRingPlan, pingPeers, ringSuccessors, type PingPlanMode } from './ping-plan.js';
import { linkFlapsFromOutput, opticsError, opticsFromOutput, unsupportedCommand } from './optics.js';
import { serverOf } from './hardware.js';
import { collectWeights } from './weights.js';
import { collectShm } from './shm.js';
import { parseRuntimeVersion, runtimeFor } from '../runtime/runtime.js';
import { callKey, runBatch, type BatchCall } from './batch.js';
import { a3NpuSmiFacts, devicesToCheck, parseSpodInfo } from './a3.js';
import type { PreflightNode } from './node.js';
import { timedOut } from './outcome.js';

export type { PreflightNode } from './node.js';

export interface CollectOptions {
  nodes: PreflightNode[];
  npusPerNode: number;
  /**
   * Each node reads `npu-smi info` first and checks the devices it has (16 on an Atlas 800 A3, 8 on an
   * A2, else npusPerNode) — facts.devices says how many. preflight always sets it.
   */
  detectDevices?: boolean;
  pingMode: PingPlanMode;
  deployment?: { image: string; modelPath: string };
  /** Overrides every per-call bound (default: the per-command values of ascend-tools.md §1.3). */
  callTimeoutMs?: number;
  /** How long one call may keep answering "busy" before it is reported (§1.2: e.g. 30 s). */
  busyBudgetMs?: number;
  now?: () => number;
  signal?: AbortSignal;
  onProgress?: (event: ProgressEvent) => void;
  /** Called once a node's `ss -Htln` is done: the reach probe's own listeners must not be in it. */
  onListenersRead?: (node: string) => void;
}

export interface ProgressEvent {
  node: string;
  /** What runs now, in words ("hccn_tool -link -g NPU 3"), or 'done' / 'unreachable'. */
  step: string;
  done: number;
  total: number;
}

const RUNTIME_TIMEOUT_MS = 15_000;
const DEFAULT_BUSY_BUDGET_MS = 30_000;
/**
 * A failed `-netdetect -g` means "no address set" (§2.5), unless its text names another cause (§2.2).
 * "Unsupported" counts only when the tool says so: exit 13 with an unknown text is also how an
 * unset value could read.
 */
function netdetectNotSet(c: Extract<HccnOutcome, { kind: 'error' }>): boolean {
  if (c.reason === 'permission' || c.reason === 'invalid-device' || c.reason === 'not-exist') return false;
  return !(c.reason === 'unsupported' && /not supported on this product/i.test(c.message));
}

/**
 * Per NPU, in this order; `ip` runs first for every NPU so that peers can start pinging early.
 * `optical` and `link_stat` (checks optics, link-flaps) are two more device round trips per NPU on the
 * serial queue: about 90 ms per NPU with the simulator's hardware latencies (src/sim/latency.ts).
 */
const NPU_CHECKS: HccnGetCommand[] = ['link', 'net_health', 'lldp', 'netdetect', 'gateway', 'tls', 'optical', 'link_stat'];

export async function collect(opts: CollectOptions): Promise<NodeFacts[]> {
  const names = opts.nodes.map((n) => n.name);
  const ring = isRingPlan(names.length, opts.pingMode);
  const plan = pingPeers(names, opts.pingMode);
  const ipsReady = new Map<string, Deferred<(string | undefined)[]>>();
  for (const n of opts.nodes) ipsReady.set(n.name, deferred());
  return Promise.all(opts.nodes.map((n) =>
    collectNode(n, opts, ring ? { ring: ringSuccessors(names, n.name) } : { peers: plan.get(n.name) ?? [] }, ipsReady)));
}

/** Whom a node pings: every listed peer, or in the ring the first successor that has an address. */
type PingTargets = { peers: string[] } | { ring: string[] };

async function collectNode(
  node: PreflightNode, opts: CollectOptions, targets: PingTargets, ipsReady: Map<string, Deferred<(string | undefined)[]>>,
): Promise<NodeFacts> {
  const now = opts.now ?? Date.now;
  const facts: NodeFacts = { node: node.name, host: node.address, ssh: { kind: 'ok', value: true }, npus: {}, pings: [], notes: [] };
  const myIps = ipsReady.get(node.name)!;
  let npus = opts.npusPerNode;
  let total = 1 + npus * (1 + NPU_CHECKS.length) + 1 + ('ring' in targets ? 1 : targets.peers.length) * npus;
  let done = 0;
  const progress = (step: string) => opts.onProgress?.({ node: node.name, step, done, total });

  let t: Transport;
  let caller: HccnCaller;
  let early: Promise<void>;
  const ipCalls = (from: number, to: number): BatchCall[] =>
    Array.from({ length: Math.max(0, to - from) }, (_, i) => caller.getCall(from + i, 'ip'));
  try {
    progress('connecting');
    t = await node.transport();
    caller = new HccnCaller(t, node, opts, facts);
    // The first device calls go out beside the clock read, not after it (at 64 nodes every exec's
    // round trips count): `npu-smi info` when the device count comes from the node, and the device
    // addresses of as many devices as the inventory expects (more are asked for once it is known).
    early = caller.prefetch([...(opts.detectDevices ? [caller.npuSmiCall()] : []), ...ipCalls(0, npus)]);
    early.catch(() => undefined); // awaited below; a failed session is the clock read's to report
    // The clock read doubles as the proof that the session works.
    // The node's time is compared with the answer's arrival, not the round trip's midpoint: the login
    // shell starts before `date` runs (seconds, with a slow ~/.bashrc), and only the answer's way back
    // (milliseconds) follows it.
    const r = await t.exec(['date', '+%s.%N'], { timeoutMs: opts.callTimeoutMs ?? READ_TIMEOUT_MS, signal: opts.signal });
    const arrived = now();
    const remote = Number(r.stdout.trim());
    facts.clockOffsetMs = r.code === 0 && Number.isFinite(remote)
      ? { kind: 'ok', value: remote * 1000 - arrived }
      : failed(r, 'date +%s.%N');
  } catch (err) {
    facts.ssh = remoteFailure(err);
    myIps.resolve([]);
    progress('unreachable');
    return facts;
  }
  done++;

  try {
    const sideReads = readFiles(t, node, opts, facts);
    sideReads.catch(() => undefined); // awaited below; this only keeps an early rejection from going unhandled

    await early;
    if (opts.detectDevices) {
      // The device count comes from the node (an A3 has 16): read before the per-device calls.
      progress('npu-smi info');
      facts.npuSmi = await caller.npuSmi();
      npus = devicesToCheck(facts.npuSmi, opts.npusPerNode);
      facts.devices = npus;
      if (npus !== opts.npusPerNode) {
        total = 1 + npus * (1 + NPU_CHECKS.length) + 1 + ('ring' in targets ? 1 : targets.peers.length) * npus;
      }
    }
    // Device addresses first: other nodes' pings wait for them.
    const ips: (string | undefined)[] = [];
    await caller.prefetch(ipCalls(opts.npusPerNode, npus), { keep: true });
    for (let npu = 0; npu < npus; npu++) {
      progress(`hccn_tool -ip -g NPU ${npu}`);
      const o = await caller.get(npu, 'ip', (out) => parseIp(out), (c) =>
        c.kind === 'error' && c.reason === 'no-ip' ? { kind: 'ok', value: null } : undefined);
      const value = o.kind === 'ok' ? (o.value ? { address: o.value.address, netmask: o.value.netmask } : null) : undefined;
      npuFacts(facts, npu).ip = value === undefined ? (o as Outcome<never>) : { kind: 'ok', value };
      ips.push(value?.address);
      done++;
    }
    myIps.resolve(ips);

    await caller.prefetch([
      ...(facts.npuSmi === undefined ? [caller.npuSmiCall()] : []),
      ...Array.from({ length: npus }, (_, npu) => NPU_CHECKS.map((cmd) => caller.getCall(npu, cmd))).flat(),
    ]);
    if (facts.npuSmi === undefined) {
      progress('npu-smi info');
      facts.npuSmi = await caller.npuSmi();
    }
    if (facts.npuSmi.kind === 'ok' && facts.npuSmi.value.server?.kind === 'A3') facts.spod = await caller.spodInfo();
    for (let npu = 0; npu < npus; npu++) {
      const nf = npuFacts(facts, npu);
      for (const cmd of NPU_CHECKS) {
        progress(`hccn_tool -${cmd} -g NPU ${npu}`);
        await caller.npuCheck(nf, npu, cmd);
        done++;
      }
    }

    const ping = async (peer: string, npu: number, address: string) => {
      progress(`ping ${peer} NPU ${npu}`);
      facts.pings.push({ npu, peer, peerNpu: npu, address, outcome: await caller.ping(npu, address) });
      done++;
    };
    /** One batch of pings, then each taken in order. */
    const pingAll = async (chosen: readonly { peer: string; npu: number; address: string }[]) => {
      await caller.prefetch(chosen.map((c) => caller.pingCall(c.npu, c.address)));
      for (const c of chosen) await ping(c.peer, c.npu, c.address);
    };
    if ('ring' in targets) {
      // The ring peer may be down, or have no address on a plane: the next node stands in for it on
      // that plane, so this node's ports are still exercised (the peer's ssh/ip finding says why).
      const chosen: { peer: string; npu: number; address: string }[] = [];
      for (let npu = 0; npu < npus; npu++) {
        for (const peer of targets.ring) {
          const address = (await ipsReady.get(peer)!.promise)[npu];
          if (address === undefined) continue;
          chosen.push({ peer, npu, address });
          break;
        }
      }
      await pingAll(chosen);
    } else {
      for (const peer of targets.peers) {
        const peerIps = await ipsReady.get(peer)!.promise;
        // A plane the peer has no address on is skipped: the peer's ip finding (or ssh) already says why.
        await pingAll(peerIps.flatMap((address, npu) => (address === undefined || npu >= npus ? [] : [{ peer, npu, address }])));
      }
    }
    await sideReads;
  } catch (err) {
    if (!(err instanceof RemoteError)) throw err;
    // The connection dropped mid-way: everything not yet known is "skipped", and said once.
    if (err.kind === 'auth') {
      // sudo (ssh.become) refused a call the login could make: the node's ssh finding says so.
      facts.ssh = remoteFailure(err);
      markSkipped(facts, npus, `sudo refused on ${node.name}`);
    } else {
      facts.notes.push(`connection lost: ${err.message}`);
      markSkipped(facts, npus, `connection to ${node.name} lost`);
    }
  } finally {
    myIps.resolve([]);
  }
  progress('done');
  return facts;
}

/** Runs Ascend tool calls one at a time on one node, retrying "busy" within a budget. */
class HccnCaller {
  private hung = false;
  /** A call already spent the whole busy budget: the rest of the node's calls get one try each. */
  private busyExhausted = false;
  /** Results of calls made ahead in one batch (batch.ts), by argv, each taken once by call(). */
  private readonly prefetched = new Map<string, ExecResult>();

  constructor(
    private readonly t: Transport,
    private readonly node: PreflightNode,
    private readonly opts: CollectOptions,
    private readonly facts: NodeFacts,
  ) {}

  private timeout(defaultMs: number): number {
    return this.opts.callTimeoutMs ?? defaultMs;
  }

  /** One call with busy retries: backoff from 0.2 s doubling to 2 s, with jitter, within the budget. */
  async call(argv: readonly string[], timeoutMs: number): Promise<{ r: ExecResult; c: HccnOutcome } | Outcome<never>> {
    const budget = this.opts.busyBudgetMs ?? DEFAULT_BUSY_BUDGET_MS;
    const start = Date.now();
    let delay = 200;
    for (;;) {
      const ahead = this.takePrefetched(argv);
      const r = ahead ?? await this.t.exec(argv, { timeoutMs, signal: this.opts.signal });
      if (r.code === 127) {
        return { kind: 'error', message: `${argv[0]} not found on ${this.node.name}`, reason: 'not-found', exitCode: 127,
          hint: `install the Ascend driver, or set tools.hccnTool / tools.npuSmi in the inventory to where it lives on ${this.node.name}` };
      }
      const c = classifyHccnResult(r);
      // Busy or hung: something else holds the device channel, so the batch's later answers may be
      // "busy" too: from here they are made one by one again, with the retries.
      if (ahead && (c.kind === 'busy' || c.kind === 'timeout')) this.prefetched.clear();
      if (c.kind === 'timeout') {
        if (!this.hung) {
          this.hung = true;
          this.facts.notes.push(`${argv.slice(1).join(' ')} hung (no answer in ${Math.round(timeoutMs / 1000)} s); until that process ends, hccn_tool on ${this.node.name} may answer "busy"`);
        }
        return { kind: 'timeout', seconds: Math.round(timeoutMs / 1000) };
      }
      if (c.kind !== 'busy') return { r, c };
      const waited = Date.now() - start;
      if (this.busyExhausted || waited + delay > budget) {
        if (!this.busyExhausted) {
          this.busyExhausted = true;
          this.facts.notes.push(`hccn_tool stayed busy for ${Math.round(waited / 1000)} s; the node's remaining calls were tried once each (something else is using hccn_tool: ps -ef | grep hccn_tool)`);
        }
        return { kind: 'busy', seconds: Math.round(waited / 1000) };
      }
      await this.backoff(delay / 2 + Math.random() * delay / 2, argv);
      delay = Math.min(delay * 2, 2_000);
    }
  }

  /**
   * Ctrl-C while waiting between busy retries ends the call as an aborted exec does (RemoteError
   * 'aborted'), so that the node's facts are marked skipped and the command reports an interruption,
   * not the timer's bare AbortError as an unexpected failure.
   */
  private async backoff(ms: number, argv: readonly string[]): Promise<void> {
    try {
      await sleep(ms, undefined, { signal: this.opts.signal });
    } catch (err) {
      if (!this.opts.signal?.aborted) throw err;
      throw new RemoteError('aborted', this.node.name, `\`${argv[0] ?? ''}\` on ${this.node.name} was cancelled while "busy" was being retried`,
        undefined, err);
    }
  }

  /**
   * Make `calls` now as one remote command (batch.ts), in order; call() then takes each one's result
   * instead of making it again. A call the batch brought no result for is made on its own as before.
   * Busy retries and timeouts are call()'s, unchanged.
   */
  async prefetch(calls: readonly BatchCall[], opts: { keep?: boolean } = {}): Promise<void> {
    // A new phase drops what the last one made and did not use, unless told to add to it.
    if (!opts.keep) this.prefetched.clear();
    if (calls.length < 2 || this.busyExhausted || this.hung) return;
    const results = await runBatch(this.t, calls, this.opts.signal);
    results.forEach((r, i) => {
      if (r) this.prefetched.set(callKey(calls[i]!.argv), r);
    });
  }

  private takePrefetched(argv: readonly string[]): ExecResult | undefined {
    const key = callKey(argv);
    const r = this.prefetched.get(key);
    if (r) this.prefetched.delete(key);
    return r;
  }

  getCall(npu: number, cmd: HccnGetCommand): BatchCall {
    return { argv: hccnGet(this.node.tools.hccnTool, npu, cmd), timeoutMs: this.timeout(HCCN_TIMEOUT_MS[cmd]) };
  }

  pingCall(npu: number, address: string): BatchCall {
    return { argv: hccnPing(this.node.tools.hccnTool, npu, address), timeoutMs: this.timeout(HCCN_TIMEOUT_MS.ping) };
  }

  npuSmiCall(): BatchCall {
    return { argv: npuSmiInfo(this.node.tools.npuSmi), timeoutMs: this.timeout(NPU_SMI_TIMEOUT_MS) };
  }

  /** A get: classify, then parse; `onError` may turn a known error into a value (no IP → null). */
  async get<T>(
    npu: number, cmd: HccnGetCommand, parse: (stdout: string, stderr: string) => ParseResult<T>,
    onError?: (c: Extract<HccnOutcome, { kind: 'error' }>) => Outcome<T> | undefined,
  ): Promise<Outcome<T>> {
    const { argv, timeoutMs } = this.getCall(npu, cmd);
    const res = await this.call(argv, timeoutMs);
    if (!('r' in res)) return res;
    const { r, c } = res;
    if (c.kind === 'error') {
      const mapped = onError?.(c);
      if (mapped) return mapped;
      const out: Outcome<T> = { kind: 'error', message: c.message, exitCode: c.code };
      if (c.reason) out.reason = c.reason;
      return out;
    }
    const p = parse(c.kind === 'ok' ? c.stdout : r.stdout, r.stderr);
    return p.ok ? { kind: 'ok', value: p.value } : { kind: 'unexpected', firstLine: firstLine(r.stdout) ?? p.error };
  }

  async npuCheck(nf: NpuFacts, npu: number, cmd: HccnGetCommand): Promise<void> {
    switch (cmd) {
      case 'link':
        nf.link = await this.get(npu, 'link', parseLink);
        return;
      case 'net_health':
        nf.netHealth = mapOk(await this.get(npu, 'net_health', parseNetHealth), (v) => v.raw);
        return;
      case 'lldp':
        nf.lldp = mapOk(await this.get(npu, 'lldp', parseLldp), (v) => {
          const out: { ifname?: string; systemName?: string } = {};
          if (v.ifname) out.ifname = v.ifname;
          if (v.systemName) out.systemName = v.systemName;
          return out;
        });
        return;
      case 'netdetect':
        // "Not set" is any non-zero exit or empty output (§2.5; the exact message is not captured, so
        // an unknown text with exit 13 is classified as no-ip). Only errors that name another cause
        // (no permission, no such device, command unsupported) are reported as themselves.
        nf.netdetect = mapOk(await this.get(npu, 'netdetect', parseNetdetect, (c) =>
          netdetectNotSet(c) ? { kind: 'ok', value: { address: null } } : undefined), (v) => v.address);
        return;
      case 'gateway':
        nf.gateway = mapOk(await this.get(npu, 'gateway', parseGateway, (c) =>
          c.reason === 'no-gateway' ? { kind: 'ok', value: null } : undefined), (v) => v?.gateway ?? null);
        return;
      case 'tls':
        nf.tls = mapOk(await this.get(npu, 'tls', parseTls, (c) =>
          c.reason === 'no-cert' ? { kind: 'ok', value: null } : undefined), (v) => (v ? { switch: v.switch } : {}));
        return;
      case 'optical':
        nf.optics = await this.get(npu, 'optical', opticsFromOutput, opticsError);
        return;
      case 'link_stat': {
        // The node's clock when the records are read: the 24 h window is measured on it, never on ours.
        const clock = this.facts.clockOffsetMs;
        const nodeClockMs = clock?.kind === 'ok' ? (this.opts.now ?? Date.now)() + clock.value : undefined;
        nf.linkFlaps = await this.get(npu, 'link_stat', (out) => linkFlapsFromOutput(out, nodeClockMs), unsupportedCommand);
        return;
      }
      default:
        return;
    }
  }

  async npuSmi(): Promise<Outcome<NpuSmiFacts>> {
    const { argv, timeoutMs } = this.npuSmiCall();
    const res = await this.call(argv, timeoutMs);
    if (!('r' in res)) return res;
    const { r } = res;
    const err = npuSmiErrorText(r.stdout, r.stderr);
    if (r.code !== 0 || err) {
      return { kind: 'error', message: err ?? firstLine(r.stderr) ?? firstLine(r.stdout) ?? `exit status ${r.code}`, exitCode: r.code,
        hint: 'the driver may not be loaded (dcmi errors) or the NPU is wedged: check dmesg and npu-smi info on the node' };
    }
    const p = parseNpuSmiInfo(r.stdout);
    if (!p.ok) return { kind: 'unexpected', firstLine: firstLine(r.stdout) ?? p.error };
    const info = p.value;
    if (info.layout === 'a3') return { kind: 'ok', value: await this.a3Facts(info) };
    const facts: NpuSmiFacts = {
      devices: info.npus.map((d) => {
        const hbm = d.chips[0]?.hbm;
        const dev: NpuSmiFacts['devices'][number] = { id: d.id, name: d.name, health: d.health };
        if (hbm) { dev.hbmUsedMb = hbm.used; dev.hbmTotalMb = hbm.total; }
        return dev;
      }),
    };
    facts.server = serverOf(info);
    facts.processes = info.processes === null ? null
      : info.processes.map((p) => ({ npu: p.npu, pid: p.pid, name: p.name, memoryMb: p.memoryMb }));
    const reason = nonA2Reason(info);
    if (reason) facts.unsupported = reason;
    return { kind: 'ok', value: facts };
  }

  /** An A3 table: per-die facts, with the die ↔ device mapping of `npu-smi info -m` when it answers (a3.ts). */
  private async a3Facts(info: NpuSmiInfo): Promise<NpuSmiFacts> {
    const res = await this.call(npuSmiMapping(this.node.tools.npuSmi), this.timeout(NPU_SMI_TIMEOUT_MS));
    const m = 'r' in res && res.r.code === 0 ? parseNpuSmiMapping(res.r.stdout) : undefined;
    const facts = a3NpuSmiFacts(info, m?.ok ? m.value : undefined);
    facts.server = serverOf(info);
    return facts;
  }

  /** `npu-smi info -t spod-info -i 0 -c 0` on an A3: is a super-pod server id configured (a3.ts)? */
  async spodInfo(): Promise<NonNullable<NodeFacts['spod']>> {
    const argv = npuSmiSpodInfo(this.node.tools.npuSmi, 0, 0);
    const res = await this.call(argv, this.timeout(NPU_SMI_TIMEOUT_MS));
    if (!('r' in res)) return res;
    const { r } = res;
    const err = npuSmiErrorText(r.stdout, r.stderr);
    if (r.code !== 0 || err) return { kind: 'error', message: err ?? firstLine(r.stderr) ?? firstLine(r.stdout) ?? `exit status ${r.code}`, exitCode: r.code };
    const v = parseSpodInfo(r.stdout);
    return v ? { kind: 'ok', value: v } : { kind: 'unexpected', firstLine: firstLine(r.stdout) ?? '' };
  }

  async ping(npu: number, address: string): Promise<Outcome<PingFacts>> {
    const { argv, timeoutMs } = this.pingCall(npu, address);
    const res = await this.call(argv, timeoutMs);
    if (!('r' in res)) return res;
    const { r, c } = res;
    // A ping with loss exits 1 but still prints its probes and summary (§2.10): judge from stdout.
    const p = parsePing(r.stdout);
    if (!p.ok) {
      if (c.kind === 'error') return { kind: 'error', message: c.message, exitCode: c.code, ...(c.reason ? { reason: c.reason } : {}) };
      return { kind: 'unexpected', firstLine: firstLine(r.stdout) ?? p.error };
    }
    const v = pingLoss(p.value, r.code);
    const value: PingFacts = { loss: v.loss, lostSeqs: v.lostSeqs };
    if (v.transmitted !== undefined && v.received !== undefined) {
      value.summary = {
        transmitted: v.transmitted, received: v.received,
        lossPct: v.lossPercent ?? ((v.transmitted - v.received) / Math.max(1, v.transmitted)) * 100,
      };
    } else {
      // No summary line: the verdict comes from the exit status, and how much was lost is unknown (§2.10).
      value.exitCode = r.code;
      value.answered = p.value.probes.filter((x) => !x.lost).length;
      const other = p.value.unparsed[0];
      if (other !== undefined) value.detail = other;
    }
    return { kind: 'ok', value };
  }

  async tlsDisable(npu: number): Promise<Outcome<true>> {
    const res = await this.call(hccnTlsDisable(this.node.tools.hccnTool, npu), this.timeout(HCCN_TIMEOUT_MS.tls_set));
    if (!('r' in res)) return res;
    const { c } = res;
    if (c.kind === 'error') return { kind: 'error', message: c.message, exitCode: c.code, ...(c.reason ? { reason: c.reason } : {}) };
    return { kind: 'ok', value: true };
  }
}

/**
 * The reads of readFiles that every preflight makes whatever the node answers, spelled as readFiles
 * execs them: read-ahead.ts fetches them as one batch (the driver's version.info at its default place).
 */
export function sideReadCalls(node: Pick<PreflightNode, 'tools'>): BatchCall[] {
  return [
    { argv: ['cat', ASCEND_INSTALL_INFO_PATH], timeoutMs: READ_TIMEOUT_MS },
    { argv: ['cat', driverVersionInfoPath(DEFAULT_INSTALL_PATH)], timeoutMs: READ_TIMEOUT_MS },
    { argv: ['cat', HCCN_CONF_PATH], timeoutMs: READ_TIMEOUT_MS },
    { argv: runtimeFor(node.tools.containerRuntime).version(), timeoutMs: RUNTIME_TIMEOUT_MS },
  ];
}

/** Reads that do not use the device channel: driver version, hccn.conf, runtime, image, weights, ports. */
async function readFiles(t: Transport, node: PreflightNode, opts: CollectOptions, facts: NodeFacts): Promise<void> {
  const tasks: Promise<void>[] = [];
  // `--call-timeout` bounds these reads as it bounds hccn_tool's calls.
  const bound = (ms: number): number => opts.callTimeoutMs ?? ms;
  tasks.push((async () => {
    const info = await t.exec(['cat', ASCEND_INSTALL_INFO_PATH], { timeoutMs: bound(READ_TIMEOUT_MS), signal: opts.signal });
    // A node too slow to print a small file is not guessed around: its driver is not known.
    if (info.timedOut) {
      facts.driver = timedOut(info, `cat ${ASCEND_INSTALL_INFO_PATH} did not answer: check the node's load and disks (uptime, dmesg)`);
      return;
    }
    const base = info.code === 0 ? installPathFrom(parseKeyValueFile(info.stdout)) : DEFAULT_INSTALL_PATH;
    const file = driverVersionInfoPath(base);
    facts.driverFile = file;
    const v = await t.exec(['cat', file], { timeoutMs: bound(READ_TIMEOUT_MS), signal: opts.signal });
    if (v.timedOut || v.code !== 0) {
      facts.driver = v.timedOut
        ? timedOut(v, `cat ${file} did not answer: check the node's load and disks (uptime, dmesg)`)
        : { kind: 'error', message: `cannot read ${file}: ${firstLine(v.stderr) ?? `exit ${v.code}`}`,
          hint: 'is the Ascend driver installed? (the Driver_Install_Path_Param of /etc/ascend_install.info names its directory)' };
      return;
    }
    const version = driverVersionFrom(parseKeyValueFile(v.stdout));
    facts.driver = version ? { kind: 'ok', value: version } : { kind: 'unexpected', firstLine: firstLine(v.stdout) ?? '' };
  })());
  tasks.push((async () => {
    facts.hccnConf = await readHccnConf(t, opts.signal, bound(READ_TIMEOUT_MS));
  })());
  const rt = node.tools.containerRuntime;
  const runtime = runtimeFor(rt);
  tasks.push((async () => {
    const r = await t.exec(runtime.version(), { timeoutMs: bound(RUNTIME_TIMEOUT_MS), signal: opts.signal });
    // podman without a service has no `.Server` to format: its plain `version` says who answered.
    const plain = r.code === 0 ? undefined : await t.exec(runtime.versionText(), { timeoutMs: bound(RUNTIME_TIMEOUT_MS), signal: opts.signal });
    const answered = plain?.code === 0 ? parseRuntimeVersion(plain.stdout) : undefined;
    if (r.code === 0 && r.stdout.trim() !== '') facts.runtime = { kind: 'ok', value: `${rt} ${r.stdout.trim()}` };
    else if (answered) facts.runtime = { kind: 'ok', value: `${answered.product} ${answered.version}` };
    else if (r.timedOut) {
      facts.runtime = timedOut(r, `${rt} is hung on ${node.name}: restart it (systemctl restart ${rt}) and check that ${rt} ps answers`);
    } else {
      facts.runtime = {
        kind: 'error', message: firstLine(r.stderr) ?? firstLine(r.stdout) ?? `exit status ${r.code}`, exitCode: r.code,
        hint: r.code === 127
          ? `${rt} is not installed on ${node.name}: install it, or set tools.containerRuntime in the inventory`
          : `start the container runtime on ${node.name} (systemctl start ${rt}) and check that ${rt} ps works`,
      };
    }
    if (!opts.deployment || facts.runtime.kind !== 'ok') return;
    const img = await t.exec(runtime.imageId(opts.deployment.image),
      { timeoutMs: bound(RUNTIME_TIMEOUT_MS), signal: opts.signal });
    if (img.code === 0) facts.image = { kind: 'ok', value: true };
    else if (/no such (image|object)|image not known/i.test(img.stderr + img.stdout)) facts.image = { kind: 'ok', value: false };
    else facts.image = failed(img, `${rt} image inspect`);
  })());
  if (opts.deployment) {
    const dir = opts.deployment.modelPath.replace(/\/+$/, '');
    tasks.push((async () => {
      // generation_config.json is hashed for the `weights` check (identical on every node, §13 row 23).
      const files = ['config.json', 'model.safetensors.index.json', 'generation_config.json'];
      const r = await t.exec(['sha256sum', ...files.map((f) => `${dir}/${f}`)], { timeoutMs: bound(60_000), signal: opts.signal });
      const hashes: ModelFacts['hashes'] = {};
      for (const line of r.stdout.split('\n')) {
        const m = /^([0-9a-f]{64})\s+\*?(.+)$/.exec(line.trim());
        if (m) hashes[m[2]!.slice(dir.length + 1)] = m[1]!;
      }
      facts.model = r.timedOut
        ? timedOut(r, `reading ${dir} is that slow on ${node.name}: check the filesystem holding the weights (df, dmesg)`)
        : hashes['config.json'] ? { kind: 'ok', value: { hashes } } : { kind: 'ok', value: null };
      // After the hashes, on the same channel slot: the connection's channels stay as many as before
      // (an aborted run must not find every permit taken).
      facts.weights = await collectWeights(t, dir, opts.signal, opts.callTimeoutMs);
      facts.shm = await collectShm(t, opts.signal, opts.callTimeoutMs);
    })());
    tasks.push((async () => {
      const r = await t.exec(['ss', '-Htln'], { timeoutMs: bound(READ_TIMEOUT_MS), signal: opts.signal });
      if (r.timedOut) facts.listeners = timedOut(r, `ss did not answer on ${node.name}: check the node's load (uptime)`);
      else if (r.code !== 0) {
        facts.listeners = { kind: 'error', message: firstLine(r.stderr) ?? `exit status ${r.code}`, exitCode: r.code,
          hint: 'install iproute2 (ss) on the node so that ports can be checked' };
      } else facts.listeners = { kind: 'ok', value: parseSs(r.stdout) };
    })().finally(() => opts.onListenersRead?.(node.name)));
  }
  await Promise.all(tasks);
}

/** `ss -Htln` lines: `LISTEN 0 4096 127.0.1.1:1025 0.0.0.0:*` (local address is the 4th field). */
export function parseSs(text: string): Listener[] {
  const out: Listener[] = [];
  for (const line of text.split('\n')) {
    const fields = line.trim().split(/\s+/);
    const local = fields[3];
    if (!local) continue;
    const m = /^(.*):(\d+)$/.exec(local);
    if (!m) continue;
    let address = m[1]!.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
    if (address === '*') address = '0.0.0.0';
    out.push({ address, port: Number(m[2]) });
  }
  return out;
}

/** Set every TLS switch that is not 0 to 0 (`--fix`), serially per node; returns what was changed. */
export async function fixTls(
  nodes: PreflightNode[], facts: readonly NodeFacts[], opts: Omit<CollectOptions, 'nodes' | 'pingMode' | 'npusPerNode'>,
): Promise<{ node: string; npu: number; outcome: Outcome<true> }[]> {
  const results: { node: string; npu: number; outcome: Outcome<true> }[] = [];
  await Promise.all(facts.map(async (f) => {
    const node = nodes.find((n) => n.name === f.node);
    if (!node || f.ssh.kind !== 'ok') return;
    const targets = Object.entries(f.npus)
      .filter(([, d]) => d.tls?.kind === 'ok' && d.tls.value.switch !== 0)
      .map(([npu]) => Number(npu));
    if (targets.length === 0) return;
    const t = await node.transport();
    const caller = new HccnCaller(t, node, { ...opts, nodes, pingMode: 'auto', npusPerNode: 0 }, f);
    for (const npu of targets) results.push({ node: f.node, npu, outcome: await caller.tlsDisable(npu) });
  }));
  return results;
}

/** Re-read TLS switches and /etc/hccn.conf after --fix. */
export async function recheckTls(nodes: PreflightNode[], facts: NodeFacts[], opts: CollectOptions): Promise<void> {
  await Promise.all(facts.map(async (f) => {
    const node = nodes.find((n) => n.name === f.node);
    if (!node || f.ssh.kind !== 'ok') return;
    const t = await node.transport();
    const caller = new HccnCaller(t, node, opts, f);
    for (let npu = 0; npu < (f.devices ?? opts.npusPerNode); npu++) await caller.npuCheck(npuFacts(f, npu), npu, 'tls');
    f.hccnConf = await readHccnConf(t, opts.signal);
  }));
}

/** /etc/hccn.conf as device → key → value; null when the file does not exist. */
async function readHccnConf(t: Transport, signal: AbortSignal | undefined, timeoutMs = READ_TIMEOUT_MS): Promise<Outcome<HccnConfFacts | null>> {
  const r = await t.exec(['cat', HCCN_CONF_PATH], { timeoutMs, ...(signal ? { signal } : {}) });
  if (r.code !== 0) return /No such file/i.test(r.stderr) ? { kind: 'ok', value: null } : failed(r, `cat ${HCCN_CONF_PATH}`);
  const devices: HccnConfFacts['devices'] = {};
  for (const [dev, entries] of Object.entries(parseHccnConf(r.stdout).devices)) devices[Number(dev)] = { ...entries } as Record<string, string>;
  return { kind: 'ok', value: { devices } };
}

function npuFacts(f: NodeFacts, npu: number): NpuFacts {
  return (f.npus[npu] ??= {});
}

function mapOk<T, U>(o: Outcome<T>, fn: (v: T) => U): Outcome<U> {
  return o.kind === 'ok' ? { kind: 'ok', value: fn(o.value) } : o;
}

function failed(r: ExecResult, what: string): Outcome<never> {
  if (r.timedOut) return timedOut(r);
  return { kind: 'error', message: `${what}: ${firstLine(r.stderr) ?? firstLine(r.stdout) ?? `exit status ${r.code}`}`, exitCode: r.code };
}

function remoteFailure(err: unknown): Outcome<never> {
  if (err instanceof RemoteError) {
    const o: Outcome<never> = { kind: 'error', message: err.message, reason: err.kind };
    if (err.hint) o.hint = err.hint;
    return o;
  }
  throw err;
}

function markSkipped(f: NodeFacts, npus: number, why: string): void {
  const skip = { kind: 'skipped', why } as const;
  f.npuSmi ??= skip;
  f.driver ??= skip;
  f.hccnConf ??= skip;
  f.runtime ??= skip;
  f.weights ??= skip;
  f.shm ??= skip;
  for (let npu = 0; npu < npus; npu++) {
    const nf = npuFacts(f, npu);
    nf.ip ??= skip; nf.link ??= skip; nf.netHealth ??= skip; nf.lldp ??= skip;
    nf.netdetect ??= skip; nf.gateway ??= skip; nf.tls ??= skip;
    nf.optics ??= skip; nf.linkFlaps ??= skip;
  }
}

interface Deferred<T> { promise: Promise<T>; resolve(v: T): void }
function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let settled = false;
  const promise = new Promise<T>((r) => { resolve = r; });
  return { promise, resolve: (v) => { if (!settled) { settled = true; resolve(v); } } };
}

/**
 * Every NPU's RoCE address of one node, read live (`hccn_tool -i N -ip -g`, serially, busy retried):
 * the rank table's device_ip. A missing or unreadable address is an error naming the NPU — never a
 * placeholder (MindIE rejects `-.-.-.-`, mindie-multinode.md §13 #3).
 */
export async function readDeviceIps(
  node: PreflightNode, npus: number, opts: Pick<CollectOptions, 'callTimeoutMs' | 'busyBudgetMs' | 'signal'> = {},
): Promise<{ ips: string[] } | { npu: number; problem: string }> {
  const t = await node.transport();
  const facts: NodeFacts = { node: node.name, host: node.address, ssh: { kind: 'ok', value: true }, npus: {}, pings: [], notes: [] };
  const caller = new HccnCaller(t, node, { ...opts, nodes: [], npusPerNode: npus, pingMode: 'auto' }, facts);
  const ips: string[] = [];
  for (let npu = 0; npu < npus; npu++) {
    const o = await caller.get(npu, 'ip', (out) => parseIp(out), (c) =>
      c.kind === 'error' && c.reason === 'no-ip' ? { kind: 'ok', value: null } : undefined);
    if (o.kind === 'ok' && o.value) ips.push(o.value.address);
    else if (o.kind === 'ok') return { npu, problem: 'no IP address configured (hccn_tool -ip -g)' };
    else {
      const why = o.kind === 'error' ? o.message : o.kind === 'unexpected' ? `unexpected output "${o.firstLine}"` : o.kind;
      return { npu, problem: `hccn_tool -ip -g: ${why}` };
    }
  }
  return { ips };
}
