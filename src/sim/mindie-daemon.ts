/**
 * The simulated `mindieservice_daemon` (MindIE Service 2.1), encoded from mindie-multinode.md: the loader's
 * file checks (§2.1, §5), the config rules (§2.2–2.3, §10), rank-table rules (§3), HCCL join within
 * HCCL_CONNECT_TIMEOUT (§7, failure table §13), listeners and HTTP API (§8–9), shutdown on SIGTERM.
 *
 * Time: HCCL_CONNECT_TIMEOUT counts simulated seconds (runtime-host.ts: fast 1 s = 10 ms, hardware 1 s = 1 s);
 * weight loading takes ≈ 100 ms (fast) / ≈ 4 s (hardware); a token ≈ 1 ms (fast) / ≈ 35 ms after a
 * ≈ 250 ms prefill (hardware).
 */
import { firewallVerdict, hcclPortRange, networkOf } from './firewall.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ContainerContext } from './runtime-container.js';
import type { ScriptResult } from './runtime-launch-script.js';
import { aborted, fnv1a, isIpv4, pause, servingTimings, simSecondMs } from './runtime-host.js';
import { Gate, ListenError, openListeners, parseJsonBody, requestSignal, sendJson, sendText, streamSse, type OpenListeners } from './runtime-http.js';
import { recordAnswer, recordListening } from './serving-record.js';
import { chatCompletionBody, chatPrompt, completionBody, completionChunks, generate, mindieChatChunks, type ChunkContext } from './openai-stream.js';

const INSTALL = '/usr/local/Ascend/mindie/latest/mindie-service';
const MAX_CONFIG_BYTES = 10 * 1024 * 1024;
/** HBM of one 910B (64 GB). */
const HBM_MB = 65536;

type Json = Record<string, unknown>;

/** Raised inside the start sequence: the lines to log, then the daemon exits with `code`. */
class StartFailure extends Error {
  constructor(
    readonly lines: string[],
    readonly code = 1,
    readonly endpointFailure = true,
  ) {
    super(lines.join('\n'));
  }
}

function obj(v: unknown): Json | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : undefined;
}

/** MindIE's log line: `[2026-11-28 07:30:00.123+08:00] [pid] [INFO] [llm] message` (times in UTC+8, China time). */
export function mindieLogLine(time: number, pid: number, level: string, component: string, message: string): string {
  const d = new Date(time + 8 * 3600_000);
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  const ts = `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}.${p(d.getUTCMilliseconds(), 3)}+08:00`;
  return `[${ts}] [${pid}] [${level}] [${component}] ${message}`;
}

// ---------------------------------------------------------------------------------------------------------
// Cross-node HCCL rendezvous (the cluster's `shared` map): one group per master address + infer port.

interface Member {
  ip: string;
  node: string;
  tls: number[];
  loaded: boolean;
}

export class HcclGroup {
  readonly members = new Map<string, Member>();
  failure: { kind: 'timeout' | 'tls' | 'peer-exit'; detail: string } | undefined;
  established = false;
  private readonly listeners = new Set<() => void>();

  notify(): void {
    for (const l of [...this.listeners]) l();
  }

  /** Resolves when `cond()` holds, `signal` aborts, or `ms` pass; returns whether cond() held. */
  async waitFor(cond: () => boolean, ms: number, signal: AbortSignal): Promise<boolean> {
    if (cond()) return true;
    return new Promise((resolve) => {
      const done = (v: boolean): void => {
        clearTimeout(timer);
        this.listeners.delete(check);
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      };
      const check = (): void => {
        if (cond()) done(true);
      };
      const onAbort = (): void => done(cond());
      const timer = setTimeout(() => done(cond()), Math.max(0, ms));
      this.listeners.add(check);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}

/** The first master port this worker cannot reach, or that the master cannot reach back on (`ip:port`). */
function blockedToMaster(shared: Map<string, unknown>, selfIp: string, masterIp: string, inferPort: number, hccl: number[]): string | undefined {
  const network = networkOf(shared);
  const me = network?.byAddress(selfIp);
  const master = network?.byAddress(masterIp);
  if (!me || !master) return undefined;
  for (const port of [inferPort, ...hccl]) if (firewallVerdict(master, me, port)) return `${masterIp}:${port}`;
  for (const port of hccl) if (firewallVerdict(me, master, port)) return `${selfIp}:${port} (from ${masterIp})`;
  return undefined;
}

export function hcclGroup(shared: Map<string, unknown>, masterIp: string, port: number): HcclGroup {
  const key = `mindie-hccl:${masterIp}:${port}`;
  let g = shared.get(key) as HcclGroup | undefined;
  // A group whose members all left belongs to an earlier run: start afresh.
  if (!g || (g.members.size === 0 && (g.failure !== undefined || g.established))) {
    g = new HcclGroup();
    shared.set(key, g);
  }
  return g;
}

// ---------------------------------------------------------------------------------------------------------

interface RankServer {
  serverId: string;
  containerIp: string;
  devices: { deviceId: number; deviceIp: string; rankId: number }[];
}

interface Effective {
  ip: string;
  mgmtIp: string;
  port: number;
  mgmtPort: number;
  metricsPort: number;
  inferPort: number;
  maxLinkNum: number;
  modelName: string;
  weightPath: string;
  maxIterTimes: number;
  maxSeqLen: number;
  maxInputTokenLen: number;
  multiNode: boolean;
  enableReasoning: boolean;
  fullText: boolean;
}

function num(v: unknown, dflt: number): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : dflt;
}

function isPow2(n: number): boolean {
  return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
}

export async function runMindieDaemon(ctx: ContainerContext, script: ScriptResult): Promise<number> {
  const env = script.env;
  const timings = servingTimings(ctx.host.profile);
  const second = simSecondMs(ctx.host.profile);
  const toStdout = env.MINDIE_LOG_TO_STDOUT === '1' || env.MINDIE_LOG_TO_STDOUT?.toLowerCase() === 'true';
  const log = (level: 'INFO' | 'WARN' | 'ERROR', message: string, component = 'llm'): void => {
    if (toStdout) ctx.out(mindieLogLine(Date.now(), ctx.pid, level, component, message));
  };
  /** Lines the daemon prints on its console whatever the log settings are. */
  const consoleLine = (text: string): void => ctx.out(text);

  const stop = new AbortController();
  const anySignal = AbortSignal.any([ctx.term, ctx.kill, stop.signal]);
  let listeners: OpenListeners | undefined;
  let group: HcclGroup | undefined;
  let self: Member | undefined;
  const npus: number[] = [];

  const releaseNpus = (): void => {
    for (const n of npus) {
      ctx.host.setNpuProcesses(n, []);
      ctx.host.setHbmUsed(n, undefined);
    }
  };
  const cleanup = async (): Promise<void> => {
    await listeners?.close();
    listeners = undefined;
    releaseNpus();
    if (group && self && group.members.get(self.ip) === self) {
      group.members.delete(self.ip);
      if (group.established && !group.failure) group.failure = { kind: 'peer-exit', detail: self.ip };
      group.notify();
    }
  };
  ctx.kill.addEventListener('abort', () => void cleanup(), { once: true });

  const shutdown = async (code: number): Promise<number> => {
    consoleLine('Daemon is killing, please wait about 15 seconds...');
    log('INFO', 'Daemon is killing, please wait about 15 seconds...', 'server');
    await cleanup();
    await pause(15 * second, ctx.kill);
    return code;
  };

  try {
    // ---- set_env scripts (§4.1) -------------------------------------------------------------------------
    const daemonPath = script.command?.[0] ?? `${INSTALL}/bin/mindieservice_daemon`;
    const sourced = (suffix: string): boolean => script.sourced.some((s) => s.endsWith(suffix));
    if (script.nounset && script.sourced.length > 0) {
      ctx.err(`${script.sourced[0]}: line 8: ASCEND_HOME_PATH: unbound variable`);
      return 1;
    }
    if (!sourced('/ascend-toolkit/set_env.sh') && !sourced('/cann/set_env.sh')) {
      ctx.err(`${daemonPath}: error while loading shared libraries: libascendcl.so: cannot open shared object file: No such file or directory`);
      return 127;
    }
    if (!sourced('/nnal/atb/set_env.sh')) {
      ctx.err(`${daemonPath}: error while loading shared libraries: libatb.so: cannot open shared object file: No such file or directory`);
      return 127;
    }
    if (!sourced('/mindie/set_env.sh') && !sourced('/mindie-service/set_env.sh')) {
      ctx.err(`${daemonPath}: error while loading shared libraries: libmindie_llm_manager.so: cannot open shared object file: No such file or directory`);
      return 127;
    }

    // ---- config.json (§2.1) -------------------------------------------------------------------------------
    const checkPerm = env.MINDIE_CHECK_INPUTFILES_PERMISSION !== '0';
    const configPath = env.MIES_CONFIG_JSON_PATH ?? `${env.MIES_INSTALL_PATH ?? INSTALL}/conf/config.json`;
    const cfgText = await checkedRead(ctx, configPath, 'config.json', 0o640, checkPerm);
    let cfg: Json;
    try {
      const parsed = obj(JSON.parse(cfgText.toString('utf8')));
      if (!parsed) throw new Error('top level is not an object');
      cfg = parsed;
    } catch (e) {
      throw new StartFailure([`Failed to parse config.json: ${e instanceof Error ? e.message : String(e)}`, 'Failed to init config manager, please check config.json']);
    }
    const server = obj(cfg.ServerConfig);
    const backend = obj(cfg.BackendConfig);
    const deploy = obj(backend?.ModelDeployConfig);
    const modelCfgs = deploy?.ModelConfig;
    const model = Array.isArray(modelCfgs) ? obj(modelCfgs[0]) : undefined;
    const schedule = obj(backend?.ScheduleConfig);
    if (!server || !backend || !deploy || !model || !schedule) {
      const missing = !server ? 'ServerConfig' : !backend ? 'BackendConfig' : !deploy ? 'BackendConfig.ModelDeployConfig' : !model ? 'BackendConfig.ModelDeployConfig.ModelConfig[0]' : 'BackendConfig.ScheduleConfig';
      throw new StartFailure([`Failed to parse config.json: ${missing} is missing or invalid`, 'Failed to init config manager, please check config.json']);
    }

    const multiNode = backend.multiNodesInferEnabled === true;
    const fileIp = typeof server.ipAddress === 'string' ? server.ipAddress : '127.0.0.1';
    const eff: Effective = {
      ip: env.MIES_CONTAINER_IP ?? fileIp,
      mgmtIp: env.MIES_CONTAINER_MANAGEMENT_IP ?? (typeof server.managementIpAddress === 'string' ? server.managementIpAddress : fileIp),
      port: num(server.port, 1025),
      mgmtPort: num(server.managementPort, 1026),
      metricsPort: num(server.metricsPort, 1027),
      inferPort: num(backend.multiNodesInferPort, 1120),
      maxLinkNum: num(server.maxLinkNum, 1000),
      modelName: typeof model.modelName === 'string' ? model.modelName : '',
      weightPath: typeof model.modelWeightPath === 'string' ? model.modelWeightPath : '',
      maxIterTimes: num(schedule.maxIterTimes, 512),
      maxSeqLen: num(deploy.maxSeqLen, 2560),
      maxInputTokenLen: num(deploy.maxInputTokenLen, 2048),
      multiNode,
      enableReasoning: obj(obj(model.models)?.deepseekv2)?.enable_reasoning === true,
      fullText: server.fullTextEnabled === true,
    };

    // Effective parameters first, as the daemon prints them.
    log('INFO', `Config path: ${configPath}`, 'server');
    log('INFO', `ServerConfig: ipAddress=${eff.ip}, managementIpAddress=${eff.mgmtIp}, port=${eff.port}, managementPort=${eff.mgmtPort}, metricsPort=${eff.metricsPort}, maxLinkNum=${eff.maxLinkNum}, httpsEnabled=${String(server.httpsEnabled)}`, 'server');
    log('INFO', `BackendConfig: multiNodesInferEnabled=${String(multiNode)}, multiNodesInferPort=${eff.inferPort}, interNodeTLSEnabled=${String(backend.interNodeTLSEnabled)}, npuDeviceIds=${JSON.stringify(backend.npuDeviceIds)}`, 'server');
    log('INFO', `ModelConfig: modelName=${eff.modelName}, modelWeightPath=${eff.weightPath}, worldSize=${String(model.worldSize)}, dp=${String(model.dp)}, tp=${String(model.tp)}, moe_tp=${String(model.moe_tp)}, moe_ep=${String(model.moe_ep)}`, 'server');
    log('INFO', `ScheduleConfig: maxSeqLen=${eff.maxSeqLen}, maxInputTokenLen=${eff.maxInputTokenLen}, maxIterTimes=${eff.maxIterTimes}, maxBatchSize=${String(schedule.maxBatchSize)}`, 'server');

    // ---- TLS switches: certificates are not installed in the image (§2.3, failure #6) -----------------
    const tlsErrors: string[] = [];
    if (server.httpsEnabled !== false) tlsErrors.push(`Failed to check tlsCert: ${INSTALL}/security/certs/server.pem does not exist (httpsEnabled is true)`);
    if (backend.interNodeTLSEnabled !== false) tlsErrors.push(`Failed to check interNodeTlsCert: ${INSTALL}/security/grpc/certs/server.pem does not exist (interNodeTLSEnabled is true)`);
    if (server.interCommTLSEnabled !== false && server.interCommTLSEnabled !== undefined) {
      tlsErrors.push(`Failed to check interCommTlsCert: ${INSTALL}/security/interComm/certs/server.pem does not exist (interCommTLSEnabled is true)`);
    }
    if (tlsErrors.length > 0) throw new StartFailure([...tlsErrors, 'Failed to init config manager, please check config.json']);

    // ---- own address (failure #9) -----------------------------------------------------------------------
    if (eff.ip !== ctx.host.host) {
      throw new StartFailure([
        `[MIE04E02041C] Failed to listen ${eff.ip}:${eff.port}, please check if business ip and port are legal`,
        'Failed to start http wrapper',
      ]);
    }

    // ---- shared memory of an earlier daemon (§7 step 2, failure #11) -----------------------------------
    // With --ipc=host the host's /dev/shm is the daemon's: an earlier daemon's segments are still there.
    if (ctx.spec.ipc === 'host') {
      const leftover = (await ctx.host.fs.readdir('/dev/shm').catch(() => [] as string[])).filter((n) => SHM_NAME.test(n));
      if (leftover.length > 0) {
        throw new StartFailure([`Failed to create shared memory /dev/shm/${leftover[0]}: File exists (shared memory of a previous daemon is still in use)`]);
      }
    }

    // ---- model weights (§2.2 modelWeightPath) --------------------------------------------------------------
    if (eff.modelName === '' || !/^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,254}[A-Za-z0-9])?$/.test(eff.modelName)) {
      throw new StartFailure([`modelName [${eff.modelName}] is invalid: letters, digits, '-', '.', '_' only, not starting or ending with '-', '.', '_'`]);
    }
    const modelMissing = ctx.host.faults().some((f) => f.kind === 'model-missing');
    const weightDir = modelMissing ? undefined : await ctx.stat(eff.weightPath);
    if (weightDir?.isSymlink) {
      throw new StartFailure([`Check path: modelWeightPath failed, by:path is a soft link, which is not allowed: ${eff.weightPath}`, `Model weight path ${eff.weightPath} is invalid, please check modelWeightPath in config.json`]);
    }
    if (eff.weightPath === '' || !weightDir || !weightDir.isDirectory) {
      throw new StartFailure([`Check path: modelWeightPath failed, by:path does not exist: ${eff.weightPath}`, `Model weight path ${eff.weightPath} is invalid, please check modelWeightPath in config.json`]);
    }
    // The weights directory and every file read at start: owner and mode no wider than 750 (§5, §13 rows 5, 15).
    if (checkPerm) checkOwnerMode(weightDir, eff.weightPath, 0o750);
    const weightCfgText = await checkedRead(ctx, `${eff.weightPath.replace(/\/$/, '')}/config.json`, `${eff.weightPath}/config.json`, 0o750, checkPerm);
    for (const name of await startFiles(ctx, eff.weightPath)) {
      const path = `${eff.weightPath.replace(/\/$/, '')}/${name}`;
      await checkedRead(ctx, path, path, 0o750, checkPerm);
    }
    const weightCfg = (() => {
      try {
        return obj(JSON.parse(weightCfgText.toString('utf8'))) ?? {};
      } catch {
        throw new StartFailure([`Failed to parse ${eff.weightPath}/config.json`]);
      }
    })();
    const reasoningModel = weightCfg.model_type === 'deepseek_v3';

    // ---- single node ------------------------------------------------------------------------------------
    let rankServers: RankServer[] = [];
    let selfIndex = 0;
    let worldSize = num(model.worldSize, 8);
    if (multiNode) {
      const rtPath = env.RANK_TABLE_FILE ?? env.RANKTABLEFILE;
      if (rtPath === undefined) {
        throw new StartFailure(['Multi nodes infer is enabled but env RANK_TABLE_FILE is not set', 'Failed to init infer backend manager']);
      }
      log('INFO', 'Start to parse ranktable file');
      const rtText = await checkedRead(ctx, rtPath, 'ranktable.json', 0o640, checkPerm);
      rankServers = parseRankTable(rtText);
      selfIndex = rankServers.findIndex((s) => s.containerIp === eff.ip);
      if (selfIndex < 0) {
        throw new StartFailure([`Failed to find the current node in ranktable file: no server has container_ip ${eff.ip} (MIES_CONTAINER_IP)`, '[MIE04E02011C] Failed to init infer backend manager']);
      }
      const mine = rankServers[selfIndex]!;
      // device_ip must be this NPU's real address (failure #3).
      const real = deviceIps(ctx);
      for (const d of mine.devices) {
        if (d.deviceId >= ctx.host.npuCount) {
          throw new StartFailure([`EE1001 Set visible device failed, invalid device=${d.deviceId}`]);
        }
        if (real[d.deviceId] !== d.deviceIp) {
          throw new StartFailure([
            `device_ip ${d.deviceIp} of device_id ${d.deviceId} on server ${mine.serverId} does not match the NPU's address ${real[d.deviceId] ?? '(none)'}`,
            'Parameter device_ip is invalid in ranktable file',
            '[MIE04E02011C] Failed to init infer backend manager',
          ]);
        }
      }
      // The container must see every NPU it is given, and the driver tree (failures #20, #21).
      const visible = ctx.spec.privileged ? ctx.host.npuCount : ctx.spec.devices.filter((d) => /^\/dev\/davinci\d+/.test(d)).length;
      const maxDev = Math.max(...mine.devices.map((d) => d.deviceId));
      if (visible <= maxDev) throw new StartFailure([`EE1001 Set visible device failed, invalid device=${maxDev}`]);
      if (ctx.hostPath('/usr/local/Ascend/driver/tools/hccn_tool') === undefined) {
        throw new StartFailure(['Get device ip failed: /usr/local/Ascend/driver/tools/hccn_tool: No such file or directory', '[MIE04E02011C] Failed to init infer backend manager']);
      }
      log('INFO', 'Finished parsing ranktable file.');
      worldSize = rankServers.reduce((n, s) => n + s.devices.length, 0);
      checkParallel(model, worldSize, mine.devices.length);
      log('INFO', `Update worldSize and npuDeviceIds of backend config successfully for Multi Nodes Inference: worldSize=${worldSize}, npuDeviceIds=${JSON.stringify([mine.devices.map((d) => d.deviceId)])}`);
      npus.push(...mine.devices.map((d) => d.deviceId));
    } else {
      const ids = Array.isArray(backend.npuDeviceIds) && Array.isArray(backend.npuDeviceIds[0]) ? (backend.npuDeviceIds[0] as unknown[]).filter((x): x is number => typeof x === 'number') : [0, 1, 2, 3];
      npus.push(...ids.filter((n) => n >= 0 && n < ctx.host.npuCount));
    }

    const isMaster = selfIndex === 0;
    if (multiNode) log('INFO', isMaster ? 'Current node is master node' : `Current node is slave node, master is ${rankServers[0]!.containerIp}`);

    // ---- HCCL join (§7 step 5, failure #1/#2) --------------------------------------------------------------
    const fraction = Number(env.NPU_MEMORY_FRACTION ?? '0.8');
    const procName = 'mindie_llm_back';
    for (const [i, n] of npus.entries()) ctx.host.setNpuProcesses(n, [{ pid: ctx.pid + 10 + i, name: procName, memoryMb: 0 }]);

    if (multiNode) {
      const masterIp = rankServers[0]!.containerIp;
      group = hcclGroup(ctx.host.shared, masterIp, eff.inferPort);
      const g = group;
      const connectS = Math.min(Math.max(Number(env.HCCL_CONNECT_TIMEOUT ?? '120') || 120, 1), 7200);
      const windowMs = connectS * second;
      log('INFO', `HCCL init: rank table has ${rankServers.length} servers, world size ${worldSize}, HCCL_CONNECT_TIMEOUT=${connectS}s`);
      // HCCL binds its port range on every node (failure #24); the workers reach the master's
      // multiNodesInferPort and HCCL ports, the master theirs: a firewall on any of them keeps that
      // worker out of the group, and the master times out (failures #1, #7).
      const hccl = hcclPortRange(env);
      const taken = hccl.find((p) => ctx.host.portHeld(eff.ip, p));
      if (taken !== undefined) {
        throw new StartFailure([
          `[HCCL] socket bind ${eff.ip}:${taken} failed: Address already in use (HCCL_IF_BASE_PORT=${hccl[0]})`,
          '[HCCL] HcclCommInitRootInfo failed, ret[7]',
          '[MIE04E02011C] Failed to init infer backend manager',
        ]);
      }
      const blocked = isMaster ? undefined : blockedToMaster(ctx.host.shared, ctx.host.host, masterIp, eff.inferPort, hccl);
      if (blocked) log('WARN', `[HCCL] connect to ${blocked} timed out, retrying`);
      if (blocked || ctx.host.faults().some((f) => f.kind === 'worker-never-joins')) {
        log('INFO', 'Waiting for HCCL communicator initialization...');
        await aborted(anySignal);
        return ctx.term.aborted ? await shutdown(0) : 137;
      }
      self = { ip: eff.ip, node: ctx.host.name, tls: ctx.host.tlsSwitches(), loaded: false };
      g.members.set(self.ip, self);
      g.notify();
      const others = rankServers.map((s) => s.containerIp);
      const allJoined = (): boolean => others.every((ip) => g.members.has(ip));
      const timeoutLines = (who: string): string[] => [
        `[HCCL] EI0006: Getting socket times out. Reason: ${who}`,
        `[HCCL] topo exchange server get socket timeout! timeout[${connectS} s] Get_Socket_Timeout`,
        '[HCCL] HcclCommInitRootInfo failed, ret[9]',
        '[MIE04E02011C] Failed to init infer backend manager',
      ];
      if (isMaster) {
        const ok = await g.waitFor(allJoined, windowMs, anySignal);
        if (anySignal.aborted) return ctx.term.aborted ? await shutdown(0) : 137;
        if (!ok) {
          const missing = others.filter((ip) => !g.members.has(ip));
          g.failure = { kind: 'timeout', detail: missing.join(',') };
          g.notify();
          throw new StartFailure(timeoutLines(`ranks of server(s) ${missing.join(', ')} did not connect within ${connectS} s`));
        }
        const tls = [...g.members.values()].map((m) => m.tls);
        const flat = tls.flat();
        if (flat.some((t) => t !== flat[0])) {
          g.failure = { kind: 'tls', detail: '' };
          g.notify();
          throw new StartFailure(['[HCCL] EI0014: Some ranks tlsStatus are inconsistent', '[HCCL] HcclCommInitRootInfo failed, ret[4]', '[MIE04E02011C] Failed to init infer backend manager']);
        }
        g.established = true;
        g.notify();
      } else {
        const ok = await g.waitFor(() => g.established || g.failure !== undefined, windowMs, anySignal);
        if (anySignal.aborted) return ctx.term.aborted ? await shutdown(0) : 137;
        if (g.failure?.kind === 'tls') {
          throw new StartFailure(['[HCCL] EI0014: Some ranks tlsStatus are inconsistent', '[HCCL] HcclCommInitRootInfo failed, ret[4]', '[MIE04E02011C] Failed to init infer backend manager']);
        }
        if (!ok || g.failure !== undefined) {
          throw new StartFailure(timeoutLines(`the root rank on ${masterIp} did not complete the exchange within ${connectS} s`));
        }
      }
      log('INFO', `HCCL communicator initialized: ${rankServers.length} servers, ${worldSize} ranks`);
    }

    // ---- weights -------------------------------------------------------------------------------------
    const steps = 4;
    for (let i = 1; i <= steps; i++) {
      if (!(await pause(timings.weightLoadMs / steps, anySignal))) break;
      const pct = Math.round((i / steps) * 100);
      // NPU_MEMORY_FRACTION of the card is what the backend takes; memory another process holds beyond
      // what the fraction leaves runs it out of memory while loading (failure #10/#11).
      if (i === 2) {
        for (const n of npus) {
          const held = ctx.host.heldHbmMb?.(n) ?? 0;
          const total = ctx.host.hbmTotalMb?.() ?? HBM_MB;
          if (held > (1 - Math.min(fraction, 1)) * total) {
            const want = Math.round(total * Math.min(fraction, 0.98) * 0.2);
            throw new StartFailure([
              `Loading model weights from ${eff.weightPath} failed on device ${n}`,
              `RuntimeError: NPU out of memory. Tried to allocate ${(want / 1024).toFixed(2)} GiB (NPU ${n}; ${(total / 1024).toFixed(2)} GiB total capacity; ${((total - held - IDLE_RESERVED_MB) / 1024).toFixed(2)} GiB free)`,
            ]);
          }
        }
      }
      log('INFO', `Loading model weights from ${eff.weightPath}: ${pct}%`);
      for (const n of npus) ctx.host.setHbmUsed(n, Math.round(HBM_MB * Math.min(fraction, 0.98) * (i / steps) * 0.6));
    }
    if (anySignal.aborted) return ctx.term.aborted ? await shutdown(0) : 137;
    for (const n of npus) {
      ctx.host.setHbmUsed(n, Math.round(HBM_MB * Math.min(fraction, 0.98)));
      ctx.host.setNpuProcesses(n, [{ pid: ctx.pid + 10 + npus.indexOf(n), name: procName, memoryMb: Math.round(HBM_MB * Math.min(fraction, 0.98)) - 3000 }]);
    }
    log('INFO', 'Model weights loaded, KV cache allocated');

    const state = { healthy: true, abnormal: '' };
    if (group && self) {
      const g = group;
      self.loaded = true;
      g.notify();
      if (isMaster) {
        await g.waitFor(() => [...g.members.values()].every((m) => m.loaded) || g.failure !== undefined, 3600 * second, anySignal);
      }
      // The master hears of a rank's exit a heartbeat later (so the rank that failed is the first to exit).
      if (g.failure?.kind === 'peer-exit') await pause(second, ctx.kill);
      if (g.failure?.kind === 'peer-exit') throw new StartFailure([`[HCCL] rank of server ${g.failure.detail} exited during initialization`, '[MIE04E02011C] Failed to init infer backend manager']);
    }

    // ---- endpoint (master only in multi-node) ------------------------------------------------------------
    if (isMaster) {
      log('INFO', 'Start to init endpoint', 'server');
      const api = new MindieApi(ctx, eff, reasoningModel, state, () => stop.abort(), timings);
      try {
        listeners = await openListeners(ctx.host, `mindieservice_daemon (${ctx.spec.name})`, [
          { ip: eff.ip, port: eff.port, handler: (q, b, r) => api.business(q, b, r) },
          { ip: eff.mgmtIp, port: eff.mgmtPort, handler: (q, b, r) => api.management(q, b, r) },
          { ip: eff.mgmtIp, port: eff.metricsPort, handler: (q, b, r) => api.metrics(q, b, r) },
        ]);
      } catch (e) {
        if (e instanceof ListenError && e.reason === 'occupied') {
          throw new StartFailure(['Management or Business or Metrics Http server listen port is occupied', `Socket bind failed: ${e.ip}:${e.port}`, 'Failed to start http wrapper']);
        }
        if (e instanceof ListenError) {
          throw new StartFailure([`[MIE04E02041C] Failed to listen ${e.ip}:${e.port}, please check if business ip and port are legal`, 'Failed to start http wrapper']);
        }
        throw e;
      }
      log('INFO', `Http server listening on ${eff.ip}:${eff.port} (management ${eff.mgmtIp}:${eff.mgmtPort}, metrics ${eff.metricsPort})`, 'server');
      recordListening(ctx.host.shared, ctx.host.name);
    } else {
      log('INFO', 'Slave node: skip tokenizer pool and http wrapper initialization', 'server');
    }
    consoleLine('Daemon start success!');
    log('INFO', 'Daemon start success!', 'server');

    // ---- serve until stopped or a peer dies ---------------------------------------------------------------
    if (group && self) {
      const g = group;
      const peerGone = (): boolean => g.failure !== undefined || [...g.members.keys()].length < rankServers.length;
      await g.waitFor(peerGone, 2 ** 31 - 1, anySignal);
      if (!anySignal.aborted) {
        const gone = g.failure?.detail ?? rankServers.map((s) => s.containerIp).filter((ip) => !g.members.has(ip)).join(',');
        state.healthy = false;
        state.abnormal = gone;
        log('ERROR', `[HCCL] EI0006: the connection to server ${gone} was closed (remote rank exited); HCCL communicator is broken`);
        log('ERROR', 'Inference backend is abnormal: a slave/master node exited');
        // MindIE takes the whole daemon down when a child exits non-zero; requests fail meanwhile.
        await pause(2 * second, ctx.kill);
        consoleLine('Daemon is killing, please wait about 15 seconds...');
        await cleanup();
        return 1;
      }
    } else {
      await aborted(anySignal);
    }
    if (ctx.kill.aborted) return 137;
    return await shutdown(0);
  } catch (e) {
    if (!(e instanceof StartFailure)) throw e;
    for (const line of e.lines) log('ERROR', line);
    if (!toStdout) for (const line of e.lines) ctx.err(line);
    if (e.endpointFailure) {
      consoleLine('Failed to init endpoint! Please check the service log or console output.');
      log('ERROR', '[start endpoint] [fail]', 'audit');
      log('ERROR', '[start mindie server] [fail]', 'audit');
    }
    if (e.code === 134) {
      await cleanup();
      return 134;
    }
    consoleLine('Daemon is killing, please wait about 15 seconds...');
    await cleanup();
    await pause(2 * second, ctx.kill);
    return e.code;
  }
}

function deviceIps(ctx: ContainerContext): (string | undefined)[] {
  const ips = [...ctx.host.deviceIps()];
  for (const f of ctx.host.faults()) if (f.kind === 'device-ip-drift') ips[f.npu] = f.actual;
  return ips;
}

/** MindIE's shared-memory segments (§7 step 2): `*llm_backend_*`, `llm_tokenizer_shared_memory_*`. */
const SHM_NAME = /llm_backend_|^llm_tokenizer_shared_memory_/;
/** HBM the driver keeps on an idle 910B (npu-smi's idle level): not available to the daemon. */
const IDLE_RESERVED_MB = 3378;

/** The files MindIE opens from the weights directory at start besides config.json. */
async function startFiles(ctx: ContainerContext, dir: string): Promise<string[]> {
  const names = await ctx.readdir(dir).catch(() => [] as string[]);
  return names.filter((n) => n === 'generation_config.json' || /^tokenizer.*\.json$/.test(n)).sort();
}

/** Owner uid 0 and no permission bit outside maxMode, with the loader's messages (§2.1). */
function checkOwnerMode(st: { uid: number; mode: number }, label: string, maxMode: number): void {
  const fail = (why: string): StartFailure => new StartFailure([`Check path: ${label} failed, by:${why}`]);
  if (st.uid !== 0) throw fail(`owner id diff: current process user id is 0, file owner id is ${st.uid}`);
  if ((st.mode & ~maxMode & 0o777) !== 0) {
    throw fail(`Check permission failed: current permission is ${(st.mode & 0o777).toString(8)}, but required no greater than ${maxMode.toString(8)}`);
  }
}

/** The loader's file checks (§2.1): exists, not a symlink, regular, ≤ 10 MB, owner uid 0, mode ≤ maxMode. */
async function checkedRead(ctx: ContainerContext, path: string, label: string, maxMode: number, checkPerm: boolean): Promise<Buffer> {
  const st = await ctx.stat(path);
  const fail = (why: string): StartFailure => new StartFailure([`Check path: ${label} failed, by:${why}`]);
  if (!st) throw fail(`path does not exist: ${path}`);
  if (st.isSymlink) throw fail(`path is a soft link, which is not allowed: ${path}`);
  if (!st.isFile) throw fail(`path is not a regular file: ${path}`);
  if (st.size > MAX_CONFIG_BYTES) throw fail(`file size ${st.size} exceeds the limit ${MAX_CONFIG_BYTES}`);
  if (checkPerm) checkOwnerMode(st, label, maxMode);
  return ctx.readFile(path);
}

/** Rank table rules of §3 (parser: ranktable_config.cpp). */
export function parseRankTable(text: Buffer | string): RankServer[] {
  const bad = (key: string, extra?: string): StartFailure =>
    new StartFailure([...(extra ? [extra] : []), `Parameter ${key} is invalid in ranktable file`, '[MIE04E02011C] Failed to init infer backend manager']);
  let rt: Json | undefined;
  try {
    rt = obj(JSON.parse(text.toString()));
  } catch {
    rt = undefined;
  }
  if (!rt) throw new StartFailure(['Failed to parse ranktable file: invalid JSON', '[MIE04E02011C] Failed to init infer backend manager']);
  if (rt.version !== '1.0') throw bad('version', `ranktable version ${JSON.stringify(rt.version)} is not supported, expected "1.0"`);
  const list = rt.server_list;
  if (!Array.isArray(list)) throw bad('server_list');
  if (typeof rt.server_count !== 'string' || !/^\d+$/.test(rt.server_count)) throw bad('server_count', 'server_count must be a string holding an integer');
  const count = Number(rt.server_count);
  if (count !== list.length || count < 2 || count > 60) throw bad('server_count', `server_count ${count} does not match server_list length ${list.length} (2–60)`);
  const servers: RankServer[] = [];
  for (const raw of list) {
    const s = obj(raw);
    if (!s) throw bad('server_list');
    for (const key of ['server_id', 'container_ip'] as const) {
      if (typeof s[key] !== 'string' || !isIpv4(s[key] as string)) throw bad(key);
    }
    const devs = s.device;
    if (!Array.isArray(devs) || devs.length < 1 || devs.length > 32) throw bad('device');
    const devices: RankServer['devices'] = [];
    for (const rd of devs) {
      const d = obj(rd);
      if (!d) throw bad('device');
      for (const key of ['device_id', 'rank_id'] as const) {
        if (typeof d[key] !== 'string' || !/^\d+$/.test(d[key] as string)) throw bad(key, `${key} must be a string holding an integer`);
      }
      if (typeof d.device_ip !== 'string') throw bad('device_ip', 'device_ip must be a string');
      if (!isIpv4(d.device_ip)) throw bad('device_ip', `Input device_ip [${d.device_ip}] is invalid`);
      const deviceId = Number(d.device_id);
      const rankId = Number(d.rank_id);
      if (deviceId > 63) throw bad('device_id');
      if (rankId > 511) throw bad('rank_id');
      devices.push({ deviceId, deviceIp: d.device_ip, rankId });
    }
    servers.push({ serverId: s.server_id as string, containerIp: s.container_ip as string, devices });
  }
  const per = servers[0]!.devices.length;
  if (servers.some((s) => s.devices.length !== per)) throw bad('device', 'every server must list the same number of devices');
  const ranks = servers.flatMap((s) => s.devices.map((d) => d.rankId));
  if (!ranks.every((r, i) => r === i)) throw bad('rank_id', `rank_id must be contiguous from 0 in server_list order, got ${ranks.join(',')}`);
  const ips = servers.map((s) => s.containerIp);
  if (new Set(ips).size !== ips.length) throw bad('container_ip', 'container_ip must be unique');
  return servers;
}

/** §10: parallel sizes against the world size W and NPUs per node L. 2.2 behaviour for a missing dp. */
function checkParallel(model: Json, w: number, l: number): void {
  const dp = model.dp;
  if (dp === undefined || dp === null) {
    throw new StartFailure(
      ['[executor.cpp:646] Invalid DP number per node: 0', "terminate called after throwing an instance of 'std::out_of_range'", '  what():  vector::_M_range_check', 'Aborted (core dumped)'],
      134,
      false,
    );
  }
  const size = (k: string): number | undefined => (typeof model[k] === 'number' && (model[k] as number) !== -1 ? (model[k] as number) : undefined);
  const err = (msg: string): StartFailure => new StartFailure([`Check parallel config failed: ${msg}`, '[MIE04E02011C] Failed to init infer backend manager']);
  for (const k of ['dp', 'tp', 'sp', 'cp', 'moe_tp', 'moe_ep', 'pp']) {
    const v = size(k);
    if (v !== undefined && !isPow2(v)) throw err(`${k} ${v} is not a power of 2`);
  }
  const d = size('dp') ?? 1;
  const tp = size('tp') ?? w;
  if (d * tp !== w) throw err(`dp(${d}) * tp(${tp}) != worldSize(${w})`);
  if (!(tp <= l || tp === w)) throw err(`tp(${tp}) must be <= npus per node (${l}) or equal to worldSize(${w})`);
  const ep = size('moe_ep');
  const mtp = size('moe_tp') ?? (ep !== undefined && ep > 1 ? w / ep : w);
  if (ep !== undefined && ep > 1) {
    if (ep * mtp !== w) throw err(`moe_ep(${ep}) * moe_tp(${mtp}) != worldSize(${w})`);
  } else if (mtp !== w) throw err(`moe_tp(${mtp}) must equal worldSize(${w}) without expert parallel`);
  if (!(mtp <= l || mtp === w)) throw err(`moe_tp(${mtp}) must be <= npus per node (${l}) or equal to worldSize(${w})`);
  const sp = size('sp');
  if (sp !== undefined && sp > 1 && sp !== tp) throw err(`sp(${sp}) must equal tp(${tp})`);
}

// ---------------------------------------------------------------------------------------------------------

class MindieApi {
  private readonly gate: Gate;
  private seq = 0;
  private readonly started = Date.now();
  private served = 0;

  constructor(
    private readonly ctx: ContainerContext,
    private readonly eff: Effective,
    private readonly reasoningModel: boolean,
    private readonly state: { healthy: boolean; abnormal: string },
    private readonly requestStop: () => void,
    private readonly timings: ReturnType<typeof servingTimings>,
  ) {
    this.gate = new Gate(eff.maxLinkNum, eff.maxLinkNum * 2);
  }

  private path(req: IncomingMessage): string {
    return (req.url ?? '/').split('?')[0]!;
  }

  async business(req: IncomingMessage, body: Buffer, res: ServerResponse): Promise<void> {
    const path = this.path(req);
    if (req.method === 'GET' && (path === '/v1/models' || path.startsWith('/v1/models/'))) {
      // The multi-node trap of §8: the master answers 404 here (GPUStack issue 2898).
      if (this.eff.multiNode) {
        sendJson(res, 404, { error: 'Not Found' });
        return;
      }
      const card = { id: this.eff.modelName, object: 'model', created: Math.floor(this.started / 1000), owned_by: 'MindIE Server', root: this.eff.weightPath };
      if (path === '/v1/models') sendJson(res, 200, { object: 'list', data: [card] });
      else if (decodeURIComponent(path.slice('/v1/models/'.length)) === this.eff.modelName) sendJson(res, 200, card);
      else sendJson(res, 404, { error: 'Model not found', error_type: 'Not Found' });
      return;
    }
    if (req.method === 'POST' && (path === '/v1/chat/completions' || path === '/v1/completions')) {
      await this.infer(path === '/v1/chat/completions', body, res);
    }
  }

  private async infer(chat: boolean, body: Buffer, res: ServerResponse): Promise<void> {
    const req = parseJsonBody(body);
    if (!req) {
      sendJson(res, 400, { error: 'Request body is not a valid json', error_type: 'Input Validation Error' });
      return;
    }
    if (req.model !== this.eff.modelName) {
      sendJson(res, 400, { error: `Model not found: the model \`${String(req.model)}\` does not exist, the served model is \`${this.eff.modelName}\``, error_type: 'Input Validation Error' });
      return;
    }
    const prompt = chat ? chatPrompt(req.messages) : typeof req.prompt === 'string' ? req.prompt : '';
    if (chat && (!Array.isArray(req.messages) || req.messages.length === 0)) {
      sendJson(res, 400, { error: 'messages must be a non-empty array', error_type: 'Input Validation Error' });
      return;
    }
    const maxTokensRaw = req.max_tokens ?? req.max_completion_tokens;
    if (maxTokensRaw !== undefined && (typeof maxTokensRaw !== 'number' || !Number.isInteger(maxTokensRaw) || maxTokensRaw < 1)) {
      sendJson(res, 400, { error: 'max_tokens must be a positive integer', error_type: 'Input Validation Error' });
      return;
    }
    if (!this.state.healthy) {
      sendJson(res, 500, { error: `Inference failed: the service is abnormal (node ${this.state.abnormal} exited)`, error_type: 'Internal Error' });
      return;
    }
    const release = await this.gate.enter();
    if (!release) {
      sendJson(res, 503, { error: 'The service is busy: too many requests (maxLinkNum and queue are full)', error_type: 'Service Unavailable' });
      return;
    }
    try {
      const gen = generate(prompt, {
        maxTokens: maxTokensRaw as number | undefined,
        serverCap: this.eff.maxIterTimes,
        reasoning: this.reasoningModel,
        splitReasoning: this.reasoningModel && this.eff.enableReasoning,
      });
      const cctx: ChunkContext = { id: `endpoint_common_${++this.seq}`, created: Math.floor(Date.now() / 1000), model: this.eff.modelName };
      this.served++;
      const signal = requestSignal(res, this.ctx.kill);
      if (req.stream === true) {
        const chunks = chat ? mindieChatChunks(cctx, gen) : [{}, ...completionChunks(cctx, gen, true)];
        if (!chat) chunks.shift();
        await streamSse(res, chunks, this.timings.prefillMs, this.timings.tokenMs, signal);
        if (!signal.aborted) recordAnswer(this.ctx.host.shared, this.ctx.host.name);
      } else {
        await pause(this.timings.prefillMs + this.timings.tokenMs * gen.tokens.length, signal);
        if (signal.aborted) {
          res.destroy();
          return;
        }
        sendJson(res, 200, chat ? chatCompletionBody(cctx, gen) : completionBody(cctx, gen));
        recordAnswer(this.ctx.host.shared, this.ctx.host.name);
      }
    } finally {
      release();
    }
  }

  management(req: IncomingMessage, _body: Buffer, res: ServerResponse): void {
    const path = this.path(req);
    const timed = /^\/health\/timed-(\d+)$/.exec(path);
    if (req.method !== 'GET' && req.method !== 'POST') return;
    if (path === '/health') {
      if (this.state.healthy) sendText(res, 200, '');
      else sendJson(res, 500, { message: `abnormal node: ${this.state.abnormal}` });
    } else if (timed) {
      if (this.state.healthy) sendJson(res, 200, { status: 'healthy' });
      else sendJson(res, 500, { status: 'unhealthy', message: `abnormal node: ${this.state.abnormal}` });
    } else if (path === '/v2/health/live') {
      sendText(res, 200, '');
    } else if (path === '/v2/health/ready' || path === `/v2/models/${this.eff.modelName}/ready`) {
      if (!this.state.healthy) sendText(res, 500, '');
      else sendText(res, this.gate.active >= this.eff.maxLinkNum ? 503 : 200, '');
    } else if (path === '/info') {
      if (!this.state.healthy) {
        sendJson(res, 500, { message: `abnormal node: ${this.state.abnormal}` });
        return;
      }
      sendJson(res, 200, {
        model_id: this.eff.modelName,
        model_dtype: 'w8a8',
        model_device_type: 'npu',
        max_concurrent_requests: this.eff.maxLinkNum,
        max_input_length: Math.min(this.eff.maxInputTokenLen, this.eff.maxSeqLen - 1),
        max_total_tokens: this.eff.maxSeqLen,
        max_new_tokens: this.eff.maxIterTimes,
        router: 'mindie-service',
        version: '2.1.RC1',
        docker_label: null,
      });
    } else if (path === '/v1/status') {
      sendJson(res, 200, { service: { status: this.state.healthy ? 'normal' : 'abnormal', activeRequests: this.gate.active, servedRequests: this.served } });
    } else if (path === '/v1/config') {
      sendJson(res, 200, { modelName: this.eff.modelName, maxSeqLen: this.eff.maxSeqLen, maxIterTimes: this.eff.maxIterTimes, maxLinkNum: this.eff.maxLinkNum });
    } else if (path === '/stopService') {
      sendJson(res, 200, { message: 'The service is stopping' });
      this.requestStop();
    } else if (path === '/metrics-json') {
      sendJson(res, 200, { requests_total: this.served, requests_running: this.gate.active });
    }
  }

  metrics(req: IncomingMessage, _body: Buffer, res: ServerResponse): void {
    if (this.path(req) !== '/metrics' || req.method !== 'GET') return;
    if (this.ctx.env.MIES_SERVICE_MONITOR_MODE !== '1') {
      sendText(res, 503, 'metrics are disabled: set MIES_SERVICE_MONITOR_MODE=1\n');
      return;
    }
    sendText(
      res,
      200,
      [
        '# HELP request_received_total Count of received requests.',
        '# TYPE request_received_total counter',
        `request_received_total{model_name="${this.eff.modelName}"} ${this.served}`,
        '# HELP num_requests_running Number of requests currently running.',
        '# TYPE num_requests_running gauge',
        `num_requests_running{model_name="${this.eff.modelName}"} ${this.gate.active}`,
        '',
      ].join('\n'),
      'text/plain; version=0.0.4',
    );
  }
}

/** Identity of a launch for logs and ids (stable per container). */
export function daemonPid(containerId: string): number {
  return 1000 + (fnv1a(containerId) % 60000);
}
