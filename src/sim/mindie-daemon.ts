/**
 * The simulated `mindieservice_daemon` (MindIE Service 2.1), encoded from mindie-multinode.md: the loader's
 * file checks (§2.1, §5), the config rules (§2.2–2.3, §10), rank-table rules (§3), HCCL join within
 * HCCL_CONNECT_TIMEOUT (§7, failure table §13), listeners and HTTP API (§8–9), shutdown on SIGTERM.
 * One method of MindieDaemon per step, in the order the real daemon takes them.
 *
 * Time: HCCL_CONNECT_TIMEOUT counts simulated seconds (runtime-host.ts: fast 1 s = 10 ms, hardware 1 s = 1 s);
 * weight loading takes ≈ 100 ms (fast) / ≈ 4 s (hardware); a token ≈ 1 ms (fast) / ≈ 35 ms after a
 * ≈ 250 ms prefill (hardware).
 */
import { firewallVerdict, hcclPortRange } from './firewall.js';
import type { Container } from './runtime-container.js';
import type { ScriptResult } from './runtime-launch-script.js';
import { delay as pause, untilAborted as aborted } from './latency.js';
import { isIpv4, servingTimings } from './runtime-host.js';
import { Gate, answerChat, jsonObject, openListeners, parseJsonBody, pathOf, portHeld, send } from './runtime-http.js';
import type { Handler } from './runtime-http.js';
import { FOREVER_MS, Rendezvous, recordAnswer, recordListening, sharedGroup } from './serving-record.js';
import { generate } from './openai-stream.js';

const INSTALL = '/usr/local/Ascend/mindie/latest/mindie-service';
const MAX_CONFIG_BYTES = 10 * 1024 * 1024;
/** HBM of one 910B (64 GB), and what the driver keeps of it on an idle card (npu-smi's idle level). */
const HBM_MB = 65536;
const IDLE_RESERVED_MB = 3378;
/** MindIE's shared-memory segments (§7 step 2): `*llm_backend_*`, `llm_tokenizer_shared_memory_*`. */
const SHM_NAME = /llm_backend_|^llm_tokenizer_shared_memory_/;
const CONFIG_FAILED = 'Failed to init config manager, please check config.json';
const BACKEND_FAILED = '[MIE04E02011C] Failed to init infer backend manager';
const KILLING = 'Daemon is killing, please wait about 15 seconds...';

/** The sections of config.json the daemon reads, by the name its parse error gives a missing one. */
const SECTIONS = [
  'ServerConfig', 'BackendConfig', 'BackendConfig.ModelDeployConfig',
  'BackendConfig.ModelDeployConfig.ModelConfig[0]', 'BackendConfig.ScheduleConfig',
];

/** The settings the daemon takes from config.json (any section), with their defaults. */
const DEFAULTS = {
  ipAddress: '127.0.0.1', port: 1025, managementPort: 1026, metricsPort: 1027, maxLinkNum: 1000,
  multiNodesInferEnabled: false, multiNodesInferPort: 1120, modelName: '', modelWeightPath: '',
  maxSeqLen: 2560, maxInputTokenLen: 2048, maxIterTimes: 512,
};

/** The effective settings the daemon logs at start, by section. */
const ECHO = {
  ServerConfig: 'ipAddress managementIpAddress port managementPort metricsPort maxLinkNum httpsEnabled',
  BackendConfig: 'multiNodesInferEnabled multiNodesInferPort interNodeTLSEnabled npuDeviceIds',
  ModelConfig: 'modelName modelWeightPath worldSize dp tp moe_tp moe_ep',
  ScheduleConfig: 'maxSeqLen maxInputTokenLen maxIterTimes maxBatchSize',
};

/** TLS switches whose certificates the image does not carry (§2.3, failure #6): switch, default, cert, dir. */
const TLS_SWITCHES = [
  ['httpsEnabled', true, 'tlsCert', 'certs'],
  ['interNodeTLSEnabled', true, 'interNodeTlsCert', 'grpc/certs'],
  ['interCommTLSEnabled', false, 'interCommTlsCert', 'interComm/certs'],
] as const;

type Json = Record<string, unknown>;
/** config.json's sections merged into one record, the defaults and MIES_* environment applied. */
type Settings = Json & typeof DEFAULTS & { managementIpAddress: string; enableReasoning: boolean };

interface RankServer {
  serverId: string;
  containerIp: string;
  devices: { deviceId: number; deviceIp: string; rankId: number }[];
}

/** Raised inside the start sequence: the lines to log, then the daemon exits with `code`. */
class StartFailure extends Error {
  constructor(readonly lines: string[], readonly code = 1, readonly endpointFailure = true) {
    super(lines.join('\n'));
  }
}

/** A failure of the inference backend's start: its lines, then the backend manager's own. */
function backendFailure(...lines: string[]): StartFailure {
  return new StartFailure([...lines, BACKEND_FAILED]);
}

/** Thrown when SIGTERM or SIGKILL arrives during the start sequence. */
const STOPPED = new Error('stopped');

function listenFailure(ip: string, port: number): StartFailure {
  return new StartFailure([
    `[MIE04E02041C] Failed to listen ${ip}:${port}, please check if business ip and port are legal`,
    'Failed to start http wrapper',
  ]);
}

/** The cross-node HCCL rendezvous: one group per master address + infer port. */
interface Member {
  ip: string;
  tls: number[];
  loaded: boolean;
}

class HcclGroup extends Rendezvous {
  readonly members = new Map<string, Member>();
  failure: { kind: 'timeout' | 'tls' | 'peer-exit'; detail: string } | undefined;
  established = false;
}

export async function runMindieDaemon(ctx: Container, script: ScriptResult): Promise<number> {
  // The set_env scripts (§4.1): without them the dynamic loader fails before the daemon runs.
  const daemonPath = script.command?.[0] ?? `${INSTALL}/bin/mindieservice_daemon`;
  const sourced = (...suffixes: string[]): boolean => script.sourced.some((s) => suffixes.some((x) => s.endsWith(x)));
  if (script.nounset && script.sourced.length > 0) {
    return ctx.fail(`${script.sourced[0]}: line 8: ASCEND_HOME_PATH: unbound variable`, 1);
  }
  const libs: [boolean, string][] = [
    [sourced('/ascend-toolkit/set_env.sh', '/cann/set_env.sh'), 'libascendcl.so'],
    [sourced('/nnal/atb/set_env.sh'), 'libatb.so'],
    [sourced('/mindie/set_env.sh', '/mindie-service/set_env.sh'), 'libmindie_llm_manager.so'],
  ];
  const missing = libs.find(([found]) => !found)?.[1];
  if (missing === undefined) return new MindieDaemon(ctx, script.env).run();
  return ctx.fail(`${daemonPath}: error while loading shared libraries: ${missing}: cannot open shared object file: `
    + 'No such file or directory', 127);
}

class MindieDaemon {
  private readonly second: number;
  private readonly npus: number[] = [];
  private closeListeners: (() => Promise<void>) | undefined;
  private group: HcclGroup | undefined;
  private self: Member | undefined;
  private readonly state = { healthy: true, abnormal: '' };

  constructor(
    private readonly ctx: Container,
    private readonly env: Record<string, string | undefined>,
  ) {
    this.second = servingTimings(ctx.host.profile).secondMs;
    ctx.kill.addEventListener('abort', () => void this.cleanup(), { once: true });
  }

  private get toStdout(): boolean {
    return this.env.MINDIE_LOG_TO_STDOUT === '1' || this.env.MINDIE_LOG_TO_STDOUT?.toLowerCase() === 'true';
  }

  /** MindIE's log line, `[2026-11-28 07:30:00.123+08:00] [pid] [INFO] [llm] message` (UTC+8, China time). */
  private log(level: 'INFO' | 'WARN' | 'ERROR', message: string, component = 'llm'): void {
    const time = new Date(Date.now() + 8 * 3600_000).toISOString().replace('T', ' ').replace('Z', '+08:00');
    if (this.toStdout) this.ctx.out(`[${time}] [${this.ctx.pid}] [${level}] [${component}] ${message}`);
  }

  async run(): Promise<number> {
    try {
      const s = await this.readConfig();
      this.checkConfig(s);
      await this.checkSharedMemory();
      const reasoningModel = await this.checkWeights(s);
      const ranks = s.multiNodesInferEnabled ? await this.readRankTable(s) : undefined;
      if (!ranks) this.npus.push(...this.singleNodeNpus(s));
      this.setNpuProcesses(0);
      const isMaster = ranks === undefined || ranks.selfIndex === 0;
      if (ranks) {
        const master = ranks.servers[0]!.containerIp;
        this.log('INFO', isMaster ? 'Current node is master node' : `Current node is slave node, master is ${master}`);
        await this.joinHccl(s, ranks.servers, ranks.worldSize, isMaster);
      }
      await this.loadWeights(s);
      if (ranks) await this.waitGroupLoaded(isMaster);
      if (isMaster) await this.openEndpoint(s, reasoningModel);
      else this.log('INFO', 'Slave node: skip tokenizer pool and http wrapper initialization', 'server');
      this.ctx.out('Daemon start success!');
      this.log('INFO', 'Daemon start success!', 'server');
      return await this.serve(ranks?.servers);
    } catch (e) {
      if (e === STOPPED) return this.ctx.term.aborted ? await this.exit(0, 15, true) : 137;
      if (!(e instanceof StartFailure)) throw e;
      return await this.fail(e);
    }
  }

  /** The loader's file checks (§2.1): exists, not a symlink, regular, ≤ 10 MB, owner uid 0, mode ≤ maxMode. */
  private async checkedRead(path: string, label: string, maxMode: number): Promise<Buffer> {
    const st = await this.ctx.stat(path);
    const fail = (why: string): StartFailure => new StartFailure([`Check path: ${label} failed, by:${why}`]);
    if (!st) throw fail(`path does not exist: ${path}`);
    if (st.isSymlink) throw fail(`path is a soft link, which is not allowed: ${path}`);
    if (!st.isFile) throw fail(`path is not a regular file: ${path}`);
    if (st.size > MAX_CONFIG_BYTES) throw fail(`file size ${st.size} exceeds the limit ${MAX_CONFIG_BYTES}`);
    this.checkOwnerMode(st, label, maxMode);
    return this.ctx.readFile(path);
  }

  /** Owner uid 0 and no permission bit outside maxMode, unless MINDIE_CHECK_INPUTFILES_PERMISSION=0 (§2.1). */
  private checkOwnerMode(st: { uid: number; mode: number }, label: string, maxMode: number): void {
    if (this.env.MINDIE_CHECK_INPUTFILES_PERMISSION === '0') return;
    const fail = (why: string): StartFailure => new StartFailure([`Check path: ${label} failed, by:${why}`]);
    if (st.uid !== 0) throw fail(`owner id diff: current process user id is 0, file owner id is ${st.uid}`);
    const [mode, max] = [(st.mode & 0o777).toString(8), maxMode.toString(8)];
    if ((st.mode & ~maxMode & 0o777) !== 0) {
      throw fail(`Check permission failed: current permission is ${mode}, but required no greater than ${max}`);
    }
  }

  /** config.json (§2.1–2.2): read, parsed, its effective settings logged as the daemon prints them. */
  private async readConfig(): Promise<Settings> {
    const env = this.env;
    const configPath = env.MIES_CONFIG_JSON_PATH ?? `${env.MIES_INSTALL_PATH ?? INSTALL}/conf/config.json`;
    const text = await this.checkedRead(configPath, 'config.json', 0o640);
    let cfg: Json | undefined;
    let why = 'top level is not an object';
    try {
      cfg = jsonObject(JSON.parse(text.toString('utf8')));
    } catch (e) {
      why = e instanceof Error ? e.message : String(e);
    }
    if (!cfg) throw new StartFailure([`Failed to parse config.json: ${why}`, CONFIG_FAILED]);
    const backend = jsonObject(cfg.BackendConfig);
    const deploy = jsonObject(backend?.ModelDeployConfig);
    const model = Array.isArray(deploy?.ModelConfig) ? jsonObject(deploy.ModelConfig[0]) : undefined;
    const sections = [jsonObject(cfg.ServerConfig), backend, deploy, model, jsonObject(backend?.ScheduleConfig)];
    const absent = sections.findIndex((x) => x === undefined);
    if (absent >= 0) why = `${SECTIONS[absent]} is missing or invalid`;
    if (absent >= 0) throw new StartFailure([`Failed to parse config.json: ${why}`, CONFIG_FAILED]);
    const s = Object.assign({}, ...sections) as Settings;
    for (const [key, dflt] of Object.entries(DEFAULTS)) {
      const v = s[key];
      if (typeof v !== typeof dflt || (typeof v === 'number' && !Number.isFinite(v))) s[key] = dflt;
    }
    const fileIp = s.ipAddress;
    s.ipAddress = env.MIES_CONTAINER_IP ?? fileIp;
    const mgmtIp = typeof s.managementIpAddress === 'string' ? s.managementIpAddress : fileIp;
    s.managementIpAddress = env.MIES_CONTAINER_MANAGEMENT_IP ?? mgmtIp;
    s.enableReasoning = jsonObject(jsonObject(model!.models)?.deepseekv2)?.enable_reasoning === true;
    this.log('INFO', `Config path: ${configPath}`, 'server');
    for (const [section, keys] of Object.entries(ECHO)) {
      const fields = keys.split(' ').map((k) => `${k}=${Array.isArray(s[k]) ? JSON.stringify(s[k]) : String(s[k])}`);
      this.log('INFO', `${section}: ${fields.join(', ')}`, 'server');
    }
    return s;
  }

  /** The rules on config.json that need nothing started: TLS switches (§2.3, #6), own address (#9). */
  private checkConfig(s: Settings): void {
    const on = ([key, dflt]: (typeof TLS_SWITCHES)[number]): boolean =>
      (s[key] === undefined ? dflt : s[key] !== false);
    const tlsErrors = TLS_SWITCHES.filter(on).map(([key, , cert, dir]) =>
      `Failed to check ${cert}: ${INSTALL}/security/${dir}/server.pem does not exist (${key} is true)`);
    if (tlsErrors.length > 0) throw new StartFailure([...tlsErrors, CONFIG_FAILED]);
    if (s.ipAddress !== this.ctx.host.host) throw listenFailure(s.ipAddress, s.port);
  }

  /** Shared memory of an earlier daemon (§7 step 2, failure #11): with --ipc=host the host's /dev/shm is ours. */
  private async checkSharedMemory(): Promise<void> {
    if (this.ctx.spec.ipc !== 'host') return;
    const names = await this.ctx.host.fs.readdir('/dev/shm').catch(() => [] as string[]);
    const leftover = names.find((n) => SHM_NAME.test(n));
    if (leftover === undefined) return;
    const why = 'File exists (shared memory of a previous daemon is still in use)';
    throw new StartFailure([`Failed to create shared memory /dev/shm/${leftover}: ${why}`]);
  }

  /**
   * modelName and modelWeightPath (§2.2): the weights directory and every file read at start (config.json,
   * generation_config.json, tokenizer*.json) owned by root with a mode no wider than 750 (§5, §13 rows 5, 15).
   * Resolves whether the weights are a reasoning model (model_type deepseek_v3).
   */
  private async checkWeights(s: Settings): Promise<boolean> {
    if (!/^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,254}[A-Za-z0-9])?$/.test(s.modelName)) {
      const rule = "letters, digits, '-', '.', '_' only, not starting or ending with '-', '.', '_'";
      throw new StartFailure([`modelName [${s.modelName}] is invalid: ${rule}`]);
    }
    const path = s.modelWeightPath;
    const dir = path.replace(/\/$/, '');
    const st = this.ctx.host.faults.some((f) => f.kind === 'model-missing') ? undefined : await this.ctx.stat(path);
    const invalid = (why: string): StartFailure => new StartFailure([
      `Check path: modelWeightPath failed, by:${why}: ${path}`,
      `Model weight path ${path} is invalid, please check modelWeightPath in config.json`,
    ]);
    if (st?.isSymlink) throw invalid('path is a soft link, which is not allowed');
    if (path === '' || !st?.isDirectory) throw invalid('path does not exist');
    this.checkOwnerMode(st, path, 0o750);
    const cfgText = await this.checkedRead(`${dir}/config.json`, `${path}/config.json`, 0o750);
    const names = await this.ctx.readdir(path).catch(() => [] as string[]);
    for (const name of names.filter((n) => n === 'generation_config.json' || /^tokenizer.*\.json$/.test(n)).sort()) {
      await this.checkedRead(`${dir}/${name}`, `${dir}/${name}`, 0o750);
    }
    try {
      return jsonObject(JSON.parse(cfgText.toString('utf8')))?.model_type === 'deepseek_v3';
    } catch {
      throw new StartFailure([`Failed to parse ${path}/config.json`]);
    }
  }

  private singleNodeNpus(s: Settings): number[] {
    const ids = s.npuDeviceIds;
    const listed = Array.isArray(ids) && Array.isArray(ids[0]) ? (ids[0] as unknown[]) : [0, 1, 2, 3];
    return listed.filter((n): n is number => typeof n === 'number' && n >= 0 && n < this.ctx.host.npuCount);
  }

  /** The backend's process on each NPU (npu-smi's process table), holding `memoryMb`. */
  private setNpuProcesses(memoryMb: number): void {
    for (const [i, n] of this.npus.entries()) {
      this.ctx.host.setNpuProcesses(n, [{ pid: this.ctx.pid + 10 + i, name: 'mindie_llm_back', memoryMb }]);
    }
  }

  /**
   * The rank table (§3) and this node's part of it: its devices' IPs must be the NPUs' real addresses
   * (failure #3), the container must see them and the driver tree (failures #20, #21), and the parallel
   * sizes must fit the world size (§10). Claims this node's NPUs.
   */
  private async readRankTable(s: Settings): Promise<{ servers: RankServer[]; selfIndex: number; worldSize: number }> {
    const ctx = this.ctx;
    const rtPath = this.env.RANK_TABLE_FILE ?? this.env.RANKTABLEFILE;
    if (rtPath === undefined) {
      const why = 'Multi nodes infer is enabled but env RANK_TABLE_FILE is not set';
      throw new StartFailure([why, 'Failed to init infer backend manager']);
    }
    this.log('INFO', 'Start to parse ranktable file');
    const servers = parseRankTable(await this.checkedRead(rtPath, 'ranktable.json', 0o640));
    const selfIndex = servers.findIndex((r) => r.containerIp === s.ipAddress);
    const mine = servers[selfIndex];
    if (!mine) {
      const why = `no server has container_ip ${s.ipAddress} (MIES_CONTAINER_IP)`;
      throw backendFailure(`Failed to find the current node in ranktable file: ${why}`);
    }
    const real = [...ctx.host.deviceIps()];
    for (const f of ctx.host.faults) if (f.kind === 'device-ip-drift') real[f.npu] = f.actual;
    const invisible = (id: number): StartFailure =>
      new StartFailure([`EE1001 Set visible device failed, invalid device=${id}`]);
    for (const d of mine.devices) {
      if (d.deviceId >= ctx.host.npuCount) throw invisible(d.deviceId);
      if (real[d.deviceId] === d.deviceIp) continue;
      const actual = real[d.deviceId] ?? '(none)';
      const why = `device_ip ${d.deviceIp} of device_id ${d.deviceId} on server ${mine.serverId} `
        + `does not match the NPU's address ${actual}`;
      throw backendFailure(why, 'Parameter device_ip is invalid in ranktable file');
    }
    const davinci = ctx.spec.devices.filter((d) => /^\/dev\/davinci\d+/.test(d)).length;
    const visible = ctx.spec.privileged ? ctx.host.npuCount : davinci;
    const maxDev = Math.max(...mine.devices.map((d) => d.deviceId));
    if (visible <= maxDev) throw invisible(maxDev);
    if (ctx.hostPath('/usr/local/Ascend/driver/tools/hccn_tool') === undefined) {
      const why = 'Get device ip failed: /usr/local/Ascend/driver/tools/hccn_tool: No such file or directory';
      throw backendFailure(why);
    }
    this.log('INFO', 'Finished parsing ranktable file.');
    const worldSize = servers.reduce((n, r) => n + r.devices.length, 0);
    checkParallel(s, worldSize, mine.devices.length);
    this.npus.push(...mine.devices.map((d) => d.deviceId));
    this.log('INFO', 'Update worldSize and npuDeviceIds of backend config successfully for Multi Nodes Inference: '
      + `worldSize=${worldSize}, npuDeviceIds=${JSON.stringify([this.npus])}`);
    return { servers, selfIndex, worldSize };
  }

  /**
   * HCCL join (§7 step 5): every node binds its HCCL port range (failure #24); the workers reach the
   * master's multiNodesInferPort and HCCL ports, the master theirs. A firewall on any of them keeps that
   * worker out and the master times out after HCCL_CONNECT_TIMEOUT (failures #1, #2, #7); TLS switches
   * that differ between ranks fail the group (EI0014).
   */
  private async joinHccl(s: Settings, servers: RankServer[], worldSize: number, isMaster: boolean): Promise<void> {
    const host = this.ctx.host;
    const masterIp = servers[0]!.containerIp;
    const key = `mindie-hccl:${masterIp}:${s.multiNodesInferPort}`;
    const g = (this.group = sharedGroup(host.shared, key, () => new HcclGroup(),
      (old) => old.members.size === 0 && (old.failure !== undefined || old.established)));
    const connectS = Math.min(Math.max(Number(this.env.HCCL_CONNECT_TIMEOUT ?? '120') || 120, 1), 7200);
    const size = `${servers.length} servers, world size ${worldSize}`;
    this.log('INFO', `HCCL init: rank table has ${size}, HCCL_CONNECT_TIMEOUT=${connectS}s`);
    const hccl = hcclPortRange(this.env);
    const taken = hccl.find((p) => portHeld(host, s.ipAddress, p));
    if (taken !== undefined) {
      const why = `[HCCL] socket bind ${s.ipAddress}:${taken} failed: Address already in use`;
      throw backendFailure(`${why} (HCCL_IF_BASE_PORT=${hccl[0]})`, '[HCCL] HcclCommInitRootInfo failed, ret[7]');
    }
    // The first master port this worker cannot reach, or that the master cannot reach back on.
    const master = host.cluster.byAddress(masterIp);
    const blocked = isMaster || !master ? undefined
      : [s.multiNodesInferPort, ...hccl].filter((p) => firewallVerdict(master, host, p)).map((p) => `${masterIp}:${p}`)[0]
        ?? hccl.filter((p) => firewallVerdict(host, master, p)).map((p) => `${host.host}:${p} (from ${masterIp})`)[0];
    if (blocked) this.log('WARN', `[HCCL] connect to ${blocked} timed out, retrying`);
    if (blocked || host.faults.some((f) => f.kind === 'worker-never-joins')) {
      this.log('INFO', 'Waiting for HCCL communicator initialization...');
      await aborted(this.ctx.stopped);
      throw STOPPED;
    }
    this.self = { ip: s.ipAddress, tls: host.tlsSwitches(), loaded: false };
    g.members.set(s.ipAddress, this.self);
    g.notify();
    const timeout = (who: string): StartFailure => backendFailure(
      `[HCCL] EI0006: Getting socket times out. Reason: ${who}`,
      `[HCCL] topo exchange server get socket timeout! timeout[${connectS} s] Get_Socket_Timeout`,
      '[HCCL] HcclCommInitRootInfo failed, ret[9]',
    );
    const tlsFailure = backendFailure('[HCCL] EI0014: Some ranks tlsStatus are inconsistent',
      '[HCCL] HcclCommInitRootInfo failed, ret[4]');
    const windowMs = connectS * this.second;
    if (isMaster) {
      const ok = await g.waitFor(() => servers.every((r) => g.members.has(r.containerIp)), windowMs, this.ctx.stopped);
      if (this.ctx.stopped.aborted) throw STOPPED;
      const absent = servers.map((r) => r.containerIp).filter((ip) => !g.members.has(ip));
      const tls = [...g.members.values()].flatMap((m) => m.tls);
      if (!ok) g.failure = { kind: 'timeout', detail: absent.join(',') };
      else if (tls.some((t) => t !== tls[0])) g.failure = { kind: 'tls', detail: '' };
      g.established = g.failure === undefined;
      g.notify();
      if (!ok) throw timeout(`ranks of server(s) ${absent.join(', ')} did not connect within ${connectS} s`);
      if (g.failure) throw tlsFailure;
    } else {
      const ok = await g.waitFor(() => g.established || g.failure !== undefined, windowMs, this.ctx.stopped);
      if (this.ctx.stopped.aborted) throw STOPPED;
      if (g.failure?.kind === 'tls') throw tlsFailure;
      const why = `the root rank on ${masterIp} did not complete the exchange within ${connectS} s`;
      if (!ok || g.failure) throw timeout(why);
    }
    this.log('INFO', `HCCL communicator initialized: ${servers.length} servers, ${worldSize} ranks`);
  }

  /**
   * Weights in four steps. NPU_MEMORY_FRACTION of the card is what the backend takes; memory another process
   * holds beyond what the fraction leaves runs it out of memory while loading (failures #10, #11).
   */
  private async loadWeights(s: Settings): Promise<void> {
    const host = this.ctx.host;
    const asked = Number(this.env.NPU_MEMORY_FRACTION ?? '0.8');
    const fraction = Math.min(asked, 0.98);
    const gib = (mb: number): string => (mb / 1024).toFixed(2);
    for (let i = 1; i <= 4; i++) {
      if (!(await pause(servingTimings(host.profile).weightLoadMs / 4, this.ctx.stopped))) throw STOPPED;
      for (const n of i === 2 ? this.npus : []) {
        const held = host.heldHbmMb(n);
        const total = host.hbmTotalMb();
        if (held <= (1 - Math.min(asked, 1)) * total) continue;
        throw new StartFailure([
          `Loading model weights from ${s.modelWeightPath} failed on device ${n}`,
          `RuntimeError: NPU out of memory. Tried to allocate ${gib(Math.round(total * fraction * 0.2))} GiB `
            + `(NPU ${n}; ${gib(total)} GiB total capacity; ${gib(total - held - IDLE_RESERVED_MB)} GiB free)`,
        ]);
      }
      this.log('INFO', `Loading model weights from ${s.modelWeightPath}: ${i * 25}%`);
      for (const n of this.npus) host.setHbmUsed(n, Math.round(HBM_MB * fraction * (i / 4) * 0.6));
    }
    for (const n of this.npus) host.setHbmUsed(n, Math.round(HBM_MB * fraction));
    this.setNpuProcesses(Math.round(HBM_MB * fraction) - 3000);
    this.log('INFO', 'Model weights loaded, KV cache allocated');
  }

  /** The master waits for every rank's weights; a rank that exits meanwhile fails the start. */
  private async waitGroupLoaded(isMaster: boolean): Promise<void> {
    const g = this.group!;
    this.self!.loaded = true;
    g.notify();
    const loaded = (): boolean => [...g.members.values()].every((m) => m.loaded) || g.failure !== undefined;
    if (isMaster) await g.waitFor(loaded, 3600 * this.second, this.ctx.stopped);
    // The master hears of a rank's exit a heartbeat later (so the rank that failed is the first to exit).
    if (g.failure?.kind === 'peer-exit') await pause(this.second, this.ctx.kill);
    if (g.failure?.kind === 'peer-exit') {
      throw backendFailure(`[HCCL] rank of server ${g.failure.detail} exited during initialization`);
    }
  }

  /** Business, management and metrics listeners (§8), on the master only in multi-node mode. */
  private async openEndpoint(s: Settings, reasoningModel: boolean): Promise<void> {
    this.log('INFO', 'Start to init endpoint', 'server');
    const api = mindieApi(this.ctx, s, reasoningModel, this.state);
    const opened = await openListeners(this.ctx.host, `mindieservice_daemon (${this.ctx.spec.name})`, [
      { ip: s.ipAddress, port: s.port, handler: api.business },
      { ip: s.managementIpAddress, port: s.managementPort, handler: api.management },
      { ip: s.managementIpAddress, port: s.metricsPort, handler: api.metrics },
    ]);
    if (typeof opened !== 'function') {
      const { reason, ip, port } = opened;
      if (reason !== 'occupied') throw listenFailure(ip, port);
      const occupied = 'Management or Business or Metrics Http server listen port is occupied';
      throw new StartFailure([occupied, `Socket bind failed: ${ip}:${port}`, 'Failed to start http wrapper']);
    }
    this.closeListeners = opened;
    const mgmt = `management ${s.managementIpAddress}:${s.managementPort}, metrics ${s.metricsPort}`;
    this.log('INFO', `Http server listening on ${s.ipAddress}:${s.port} (${mgmt})`, 'server');
    recordListening(this.ctx.host.shared, this.ctx.host.name);
  }

  /**
   * Serve until SIGTERM, or until a peer of the HCCL group exits: then the communicator is broken, requests
   * fail, and MindIE takes the whole daemon down (a child exited non-zero).
   */
  private async serve(servers: RankServer[] | undefined): Promise<number> {
    const [g, stopped] = [this.group, this.ctx.stopped];
    if (!g || !servers) await aborted(stopped);
    else await g.waitFor(() => g.failure !== undefined || g.members.size < servers.length, FOREVER_MS, stopped);
    if (stopped.aborted || !g || !servers) return this.ctx.kill.aborted ? 137 : await this.exit(0, 15, true);
    this.state.healthy = false;
    const gone = servers.map((r) => r.containerIp).filter((ip) => !g.members.has(ip));
    this.state.abnormal = g.failure?.detail ?? gone.join(',');
    this.log('ERROR', `[HCCL] EI0006: the connection to server ${this.state.abnormal} was closed (remote rank exited); `
      + 'HCCL communicator is broken');
    this.log('ERROR', 'Inference backend is abnormal: a slave/master node exited');
    await pause(2 * this.second, this.ctx.kill);
    return this.exit(1, 0);
  }

  /** A start failure: its lines on the log (and stderr when the log is not on stdout), then exit. */
  private async fail(e: StartFailure): Promise<number> {
    for (const line of e.lines) this.log('ERROR', line);
    if (!this.toStdout) for (const line of e.lines) this.ctx.err(line);
    if (e.endpointFailure) {
      this.ctx.out('Failed to init endpoint! Please check the service log or console output.');
      this.log('ERROR', '[start endpoint] [fail]', 'audit');
      this.log('ERROR', '[start mindie server] [fail]', 'audit');
    }
    if (e.code !== 134) return this.exit(e.code, 2);
    await this.cleanup();
    return e.code;
  }

  /**
   * The daemon's last line (on SIGTERM, logged too), then it releases everything and takes `seconds`
   * (simulated) to exit: about 15 after SIGTERM.
   */
  private async exit(code: number, seconds: number, logged = false): Promise<number> {
    this.ctx.out(KILLING);
    if (logged) this.log('INFO', KILLING, 'server');
    await this.cleanup();
    await pause(seconds * this.second, this.ctx.kill);
    return code;
  }

  /** Close the listeners, free the NPUs, leave the HCCL group (a peer-exit for an established one). */
  private async cleanup(): Promise<void> {
    await this.closeListeners?.();
    for (const n of this.npus) {
      this.ctx.host.setNpuProcesses(n, []);
      this.ctx.host.setHbmUsed(n, undefined);
    }
    const g = this.group;
    if (g && this.self && g.members.get(this.self.ip) === this.self) {
      g.members.delete(this.self.ip);
      if (g.established && !g.failure) g.failure = { kind: 'peer-exit', detail: this.self.ip };
      g.notify();
    }
  }
}

/** Rank table rules of §3 (parser: ranktable_config.cpp). */
function parseRankTable(text: Buffer): RankServer[] {
  const bad = (key: string, extra?: string): StartFailure =>
    backendFailure(...(extra ? [extra] : []), `Parameter ${key} is invalid in ranktable file`);
  const intString = (v: unknown): boolean => typeof v === 'string' && /^\d+$/.test(v);
  const rt = parseJsonBody(text);
  if (!rt) throw backendFailure('Failed to parse ranktable file: invalid JSON');
  const version = JSON.stringify(rt.version);
  if (rt.version !== '1.0') throw bad('version', `ranktable version ${version} is not supported, expected "1.0"`);
  const list = rt.server_list;
  if (!Array.isArray(list)) throw bad('server_list');
  if (!intString(rt.server_count)) throw bad('server_count', 'server_count must be a string holding an integer');
  const count = Number(rt.server_count);
  if (count !== list.length || count < 2 || count > 60) {
    throw bad('server_count', `server_count ${count} does not match server_list length ${list.length} (2–60)`);
  }
  const servers = list.map((raw): RankServer => {
    const s = jsonObject(raw);
    if (!s) throw bad('server_list');
    for (const key of ['server_id', 'container_ip']) if (typeof s[key] !== 'string' || !isIpv4(s[key])) throw bad(key);
    if (!Array.isArray(s.device) || s.device.length < 1 || s.device.length > 32) throw bad('device');
    const devices = s.device.map((raw: unknown) => {
      const d = jsonObject(raw);
      if (!d) throw bad('device');
      for (const key of ['device_id', 'rank_id']) {
        if (!intString(d[key])) throw bad(key, `${key} must be a string holding an integer`);
      }
      if (typeof d.device_ip !== 'string') throw bad('device_ip', 'device_ip must be a string');
      if (!isIpv4(d.device_ip)) throw bad('device_ip', `Input device_ip [${d.device_ip}] is invalid`);
      if (Number(d.device_id) > 63) throw bad('device_id');
      if (Number(d.rank_id) > 511) throw bad('rank_id');
      return { deviceId: Number(d.device_id), deviceIp: d.device_ip, rankId: Number(d.rank_id) };
    });
    return { serverId: s.server_id as string, containerIp: s.container_ip as string, devices };
  });
  if (servers.some((s) => s.devices.length !== servers[0]!.devices.length)) {
    throw bad('device', 'every server must list the same number of devices');
  }
  const ranks = servers.flatMap((s) => s.devices.map((d) => d.rankId));
  if (!ranks.every((r, i) => r === i)) {
    throw bad('rank_id', `rank_id must be contiguous from 0 in server_list order, got ${ranks.join(',')}`);
  }
  if (new Set(servers.map((s) => s.containerIp)).size !== servers.length) {
    throw bad('container_ip', 'container_ip must be unique');
  }
  return servers;
}

/** §10: parallel sizes against the world size W and NPUs per node L. 2.2 behaviour for a missing dp. */
function checkParallel(model: Json, w: number, l: number): void {
  if (model.dp === undefined || model.dp === null) {
    throw new StartFailure([
      '[executor.cpp:646] Invalid DP number per node: 0',
      "terminate called after throwing an instance of 'std::out_of_range'",
      '  what():  vector::_M_range_check',
      'Aborted (core dumped)',
    ], 134, false);
  }
  const size = (k: string): number | undefined => {
    const v = model[k];
    return typeof v === 'number' && v !== -1 ? v : undefined;
  };
  const err = (msg: string): StartFailure => backendFailure(`Check parallel config failed: ${msg}`);
  for (const k of ['dp', 'tp', 'sp', 'cp', 'moe_tp', 'moe_ep', 'pp']) {
    const v = size(k);
    const pow2 = v !== undefined && Number.isInteger(v) && v > 0 && (v & (v - 1)) === 0;
    if (v !== undefined && !pow2) throw err(`${k} ${v} is not a power of 2`);
  }
  const local = (what: string, v: number): void => {
    if (!(v <= l || v === w)) throw err(`${what}(${v}) must be <= npus per node (${l}) or equal to worldSize(${w})`);
  };
  const d = size('dp') ?? 1;
  const tp = size('tp') ?? w;
  if (d * tp !== w) throw err(`dp(${d}) * tp(${tp}) != worldSize(${w})`);
  local('tp', tp);
  const ep = size('moe_ep');
  const mtp = size('moe_tp') ?? (ep !== undefined && ep > 1 ? w / ep : w);
  if (ep !== undefined && ep > 1) {
    if (ep * mtp !== w) throw err(`moe_ep(${ep}) * moe_tp(${mtp}) != worldSize(${w})`);
  } else if (mtp !== w) throw err(`moe_tp(${mtp}) must equal worldSize(${w}) without expert parallel`);
  local('moe_tp', mtp);
  const sp = size('sp');
  if (sp !== undefined && sp > 1 && sp !== tp) throw err(`sp(${sp}) must equal tp(${tp})`);
}

/** The HTTP API (§8–9): business (models, chat), management (/health) and metrics ports. */
function mindieApi(ctx: Container, s: Settings, reasoningModel: boolean, state: MindieDaemon['state']) {
  const gate = new Gate(s.maxLinkNum, s.maxLinkNum * 2);
  const started = Math.floor(Date.now() / 1000);
  const timings = servingTimings(ctx.host.profile);
  const server = { model: s.modelName, framing: 'mindie' as const, timings, kill: ctx.kill };
  let seq = 0;
  let served = 0;
  const invalid = (res: Parameters<Handler>[2], error: string): void =>
    send(res, 400, { error, error_type: 'Input Validation Error' });

  const business: Handler = async (req, body, res) => {
    const path = pathOf(req);
    if (req.method === 'GET' && path === '/v1/models') {
      // The multi-node trap of §8: the master answers 404 here (GPUStack issue 2898).
      if (s.multiNodesInferEnabled) return send(res, 404, { error: 'Not Found' });
      const card = { id: s.modelName, object: 'model', created: started, owned_by: 'MindIE Server' };
      return send(res, 200, { object: 'list', data: [{ ...card, root: s.modelWeightPath }] });
    }
    if (req.method !== 'POST' || path !== '/v1/chat/completions') return;
    const q = parseJsonBody(body);
    if (!q) return invalid(res, 'Request body is not a valid json');
    if (q.model !== s.modelName) {
      const which = `the served model is \`${s.modelName}\``;
      return invalid(res, `Model not found: the model \`${String(q.model)}\` does not exist, ${which}`);
    }
    if (!Array.isArray(q.messages) || q.messages.length === 0) {
      return invalid(res, 'messages must be a non-empty array');
    }
    const maxTokens = q.max_tokens ?? q.max_completion_tokens;
    if (maxTokens !== undefined && (typeof maxTokens !== 'number' || !Number.isInteger(maxTokens) || maxTokens < 1)) {
      return invalid(res, 'max_tokens must be a positive integer');
    }
    if (!state.healthy) {
      const error = `Inference failed: the service is abnormal (node ${state.abnormal} exited)`;
      return send(res, 500, { error, error_type: 'Internal Error' });
    }
    const admitted = await gate.run(async () => {
      const opts = { maxTokens, serverCap: s.maxIterTimes, reasoning: reasoningModel };
      const gen = generate(q.messages, { ...opts, splitReasoning: reasoningModel && s.enableReasoning });
      served++;
      if (await answerChat(res, q, gen, { ...server, id: `endpoint_common_${++seq}` })) {
        recordAnswer(ctx.host.shared, ctx.host.name);
      }
    });
    if (!admitted) {
      const error = 'The service is busy: too many requests (maxLinkNum and queue are full)';
      send(res, 503, { error, error_type: 'Service Unavailable' });
    }
  };

  const management: Handler = (req, _body, res) => {
    if (pathOf(req) !== '/health' || (req.method !== 'GET' && req.method !== 'POST')) return;
    if (state.healthy) send(res, 200, '');
    else send(res, 500, { message: `abnormal node: ${state.abnormal}` });
  };

  const metrics: Handler = (req, _body, res) => {
    if (pathOf(req) !== '/metrics' || req.method !== 'GET') return;
    if (ctx.env.MIES_SERVICE_MONITOR_MODE !== '1') {
      return send(res, 503, 'metrics are disabled: set MIES_SERVICE_MONITOR_MODE=1\n');
    }
    const series = [
      ['request_received_total', 'Count of received requests.', 'counter', served],
      ['num_requests_running', 'Number of requests currently running.', 'gauge', gate.active],
    ] as const;
    const lines = series.flatMap(([name, help, type, value]) =>
      [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, `${name}{model_name="${s.modelName}"} ${value}`]);
    send(res, 200, `${lines.join('\n')}\n`, 'text/plain; version=0.0.4');
  };

  return { business, management, metrics };
}
