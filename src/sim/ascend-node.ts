/**
 * One simulated Atlas 800T A2: per-NPU state derived from the spec and its faults, the node's files
 * (hccn.conf, version.info, ascend_install.info, models) and its program table (hccn_tool and npu-smi,
 * registered by the cluster, and whatever extensions register, e.g. the container runtime's `docker`).
 */
import { posix } from 'node:path';
import type { SimNodeSpec } from './cluster-spec.js';
import { applyWeightsFaults, resetModelDir, syncShmFiles } from './weights-faults.js';
import { linkedAbort, untilAborted } from './latency.js';
import type {
  LatencyProfile, SimClusterOf, SimFault, SimFs, SimIo, SimListener, SimNetHealth, SimNpuHealth, SimNpuProcess,
  SimProgram,
} from './types.js';

/** Where each known program is installed; other registered programs go to /usr/local/bin. */
export const PROGRAM_PATHS: Readonly<Record<string, string>> = {
  hccn_tool: '/usr/local/Ascend/driver/tools/hccn_tool',
  'npu-smi': '/usr/local/sbin/npu-smi',
  docker: '/usr/bin/docker',
};

export const DOCKER_DOWN_MESSAGE =
  'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?';

/** npu-smi's idle HBM use on a 910B3 (vllm-ascend#3114 capture). */
const IDLE_HBM_MB = 3378;
const FIRMWARE_VERSION = '7.7.0.1.231';
export const NETMASK = '255.255.255.0';

export class SimNode {
  readonly name: string;
  readonly host: string;
  readonly sshPort: number;
  /** Program table: name → program. Extensions add to it (the container runtime registers `docker`). */
  readonly programs = new Map<string, SimProgram>();
  /** Listening sockets opened by simulated services, keyed `address:port` (shown by `ss -Htln`). */
  readonly listeners = new Map<string, SimListener>();
  /** hccn_tool's one-caller device channel (ascend-tools.md §1.2): calls in it; until when a hung one holds it. */
  readonly hccnChannel = { inFlight: 0, heldUntil: 0 };
  readonly bootedAt = new Date(Date.now() - 3 * 86_400_000);
  /** Whether generated files land in the node's fs with placeholder executables at the program paths. */
  installProgramFiles = true;

  /** The node's faults; replaced as a whole by setFaults. */
  faults: SimFault[];
  /** TLS switches set by `-tls -s` since the faults were last set (tls-on faults give the others). */
  private readonly tlsSet = new Map<number, number>();
  private readonly processes = new Map<number, SimNpuProcess[]>();
  private readonly hbmUsed = new Map<number, number | undefined>();
  /** /dev/shm files the shm-leftover faults created (removed when the fault goes). */
  private shmFiles = new Set<string>();

  constructor(
    readonly index: number,
    readonly spec: SimNodeSpec,
    readonly profile: LatencyProfile,
    readonly fs: SimFs,
    readonly cluster: SimClusterOf<SimNode>,
  ) {
    this.name = spec.name;
    this.host = spec.host;
    this.sshPort = spec.sshPort ?? 2222;
    this.faults = [...(spec.faults ?? [])];
  }

  /** An Atlas 800 A3: 2 dies per NPU, device (physical id) = 2 × NPU + chip (ascend-tools.md §6). */
  get a3(): boolean {
    // From the faults as they are now: an a3-server fault set on a running cluster changes every tool.
    return this.spec.server === 'A3' || this.faults.some((f) => f.kind === 'a3-server');
  }

  /** Devices: NPUs on an A2, dies on an A3 (physical ids 0..npuCount-1). */
  get npuCount(): number {
    return this.spec.npus ?? (this.a3 ? 16 : 8);
  }

  /** An A3 is the VA-3002 capture: 8 × `Ascend910`, 2 dies each. */
  get npuName(): string {
    return this.spec.npuName ?? (this.a3 ? 'Ascend910' : '910B3');
  }

  /** Per-cluster map for cross-node rendezvous (e.g. MindIE ranks registering with the master). */
  get shared(): Map<string, unknown> {
    return this.cluster.shared;
  }

  get down(): boolean {
    return this.faults.some((f) => f.kind === 'node-down');
  }

  /** Replace the node's faults: TLS switches are reset from them and the node's files rewritten. */
  async setFaults(faults: SimFault[]): Promise<void> {
    this.faults = [...faults];
    this.tlsSet.clear();
    await this.writeFiles();
    this.cluster.notifyChange(this);
  }

  faultsOf<K extends SimFault['kind']>(kind: K): Extract<SimFault, { kind: K }>[] {
    return this.faults.filter((f): f is Extract<SimFault, { kind: K }> => f.kind === kind);
  }

  /** The first `kind` fault on `npu`; one that names no NPU applies to all. */
  npuFault<K extends SimFault['kind']>(kind: K, npu: number): Extract<SimFault, { kind: K }> | undefined {
    return this.faultsOf(kind).find((f) => ((f as { npu?: number }).npu ?? npu) === npu);
  }

  driverVersion(): string {
    return this.faultsOf('old-driver')[0]?.version ?? this.spec.driverVersion ?? '25.2.0';
  }

  /** The configured address without faults; a device (RoCE) address is only ever printed, never contacted. */
  baseIp(npu: number): string {
    return this.spec.deviceIps?.[npu] ?? `192.168.${100 + npu}.${11 + this.index}`;
  }

  /** The address `hccn_tool -ip -g` reports (before any device-ip-drift). */
  reportedIp(npu: number): string | undefined {
    if (this.npuFault('no-ip', npu)) return undefined;
    const dup = this.npuFault('duplicate-ip', npu);
    const other = dup && this.cluster.find(dup.node);
    return other ? other.baseIp(dup?.otherNpu ?? npu) : this.baseIp(npu);
  }

  /** The NPUs' real addresses now (device-ip-drift applied): what HCCL binds to. */
  deviceIps(): (string | undefined)[] {
    return Array.from({ length: this.npuCount }, (_, npu) => {
      const drift = this.npuFault('device-ip-drift', npu);
      return drift ? drift.actual : this.reportedIp(npu);
    });
  }

  gateway(npu: number): string | undefined {
    return this.npuFault('no-gateway', npu) ? undefined : `192.168.${100 + npu}.1`;
  }

  netdetect(npu: number): string | undefined {
    return this.npuFault('netdetect-unset', npu) ? undefined : `192.168.${100 + npu}.1`;
  }

  link(npu: number): 'UP' | 'DOWN' {
    return this.npuFault('link-down', npu) ? 'DOWN' : 'UP';
  }

  /** A net-health fault wins; without a detect address the state machine stays in Init (§2.4). */
  netHealth(npu: number): SimNetHealth {
    return this.npuFault('net-health', npu)?.value ?? (this.netdetect(npu) === undefined ? 'Init' : 'Success');
  }

  npuHealth(npu: number): SimNpuHealth {
    return this.npuFault('npu-health', npu)?.value ?? 'OK';
  }

  tlsSwitches(): number[] {
    const fromFaults = (npu: number): number => (this.npuFault('tls-on', npu) ? 1 : 0);
    return Array.from({ length: this.npuCount }, (_, npu) => this.tlsSet.get(npu) ?? fromFaults(npu));
  }

  /** What `hccn_tool -tls -s enable N` does: the device switch and `tls_enable_N` in /etc/hccn.conf. */
  async setTlsSwitch(npu: number, value: 0 | 1): Promise<void> {
    this.tlsSet.set(npu, value);
    const path = '/etc/hccn.conf';
    const conf = (await this.fs.stat(path))?.isFile ? (await this.fs.readFile(path)).toString('utf8') : '';
    const lines = conf.split('\n').filter((l) => l !== '');
    const at = lines.findIndex((l) => l.startsWith(`tls_enable_${npu}=`));
    lines.splice(at >= 0 ? at : lines.length, 1, `tls_enable_${npu}=${value}`);
    await this.fs.writeFile(path, `${lines.join('\n')}\n`, 0o644);
  }

  /** The rows `npu-smi info` lists: holders of memory (hbm-held faults with a pid), then the containers'. */
  npuProcesses(npu: number): SimNpuProcess[] {
    const held = this.faultsOf('hbm-held').filter((f) => f.npu === npu && f.pid !== undefined)
      .map((f) => ({ pid: f.pid!, name: f.name ?? 'python3', memoryMb: f.mb }));
    return [...held, ...(this.processes.get(npu) ?? [])];
  }

  /** HBM held on this NPU by processes other than the node's containers (hbm-held faults). */
  heldHbmMb(npu: number): number {
    return this.faultsOf('hbm-held').filter((f) => f.npu === npu).reduce((sum, f) => sum + f.mb, 0);
  }

  /** Hook for the container runtime: the rows `npu-smi info` lists for this NPU. */
  setNpuProcesses(npu: number, procs: SimNpuProcess[]): void {
    this.processes.set(this.checkNpu(npu), [...procs]);
  }

  /** Hook for the container runtime: HBM in use on this NPU (undefined = idle level). */
  setHbmUsed(npu: number, mb: number | undefined): void {
    this.hbmUsed.set(this.checkNpu(npu), mb);
  }

  private checkNpu(npu: number): number {
    if (npu < 0 || npu >= this.npuCount) throw new RangeError(`${this.name}: no NPU ${npu}`);
    return npu;
  }

  hbmUsedMb(npu: number): number {
    const set = this.hbmUsed.get(npu);
    if (set !== undefined) return Math.round(set) + this.heldHbmMb(npu);
    return IDLE_HBM_MB + this.heldHbmMb(npu) + (this.processes.get(npu) ?? []).reduce((sum, p) => sum + p.memoryMb, 0);
  }

  hbmTotalMb(): number {
    return /910B4/.test(this.npuName) ? 32768 : 65536;
  }

  /** Offset of this node's clock from the real one (clock-skew fault). */
  clockOffsetMs(): number {
    return this.faultsOf('clock-skew').reduce((sum, f) => sum + f.seconds * 1000, 0);
  }

  now(): Date {
    return new Date(Date.now() + this.clockOffsetMs());
  }

  addListener(listener: SimListener): () => void {
    const key = `${listener.address}:${listener.port}`;
    this.listeners.set(key, listener);
    return () => {
      if (this.listeners.get(key) === listener) this.listeners.delete(key);
    };
  }

  /** Everything `ss -Htln` shows: sshd, simulated services, ports held by port-taken faults. */
  listeningSockets(): SimListener[] {
    const taken = this.faultsOf('port-taken').map((f) => ({ address: '0.0.0.0', port: f.port, owner: 'fault' }));
    return [{ address: '0.0.0.0', port: 22, owner: 'sshd' }, ...this.listeners.values(), ...taken];
  }

  programPath(name: string): string {
    return PROGRAM_PATHS[name] ?? `/usr/local/bin/${name}`;
  }

  /** The program name at an absolute path, if one is installed there. */
  programAt(path: string): string | undefined {
    const p = posix.normalize(path);
    for (const name of this.programs.keys()) if (this.programPath(name) === p) return name;
    return undefined;
  }

  /** Run a registered program with the node's faults applied at the program boundary. */
  async run(name: string, argv: string[], io: SimIo): Promise<number> {
    if (name === 'docker' && this.faultsOf('runtime-down').length > 0) {
      await io.stderr(`${DOCKER_DOWN_MESSAGE}\n`);
      return 1;
    }
    const program = this.programs.get(name);
    if (!program) {
      await io.stderr(`sh: 1: ${name}: not found\n`);
      return 127;
    }
    // Stopped by its caller or by the cluster.
    const link = linkedAbort([io.signal, this.cluster.stopSignal]);
    try {
      // A stuck program (program-hang: a hung docker daemon) answers nothing until its caller gives up.
      if (this.faultsOf('program-hang').some((f) => f.program === name)) return await untilAborted(link.controller.signal).then(() => 143);
      return await program(argv, { ...io, signal: link.controller.signal });
    } finally {
      link.release();
    }
  }

  /** Write (or rewrite) the node's generated files. */
  async writeFiles(): Promise<void> {
    const fs = this.fs;
    for (const dir of ['/etc', '/tmp', '/root', '/var/lib/ascendctl', '/usr/local/Ascend/driver/tools',
      '/usr/local/Ascend/firmware', '/usr/local/sbin', '/usr/local/bin', '/usr/bin', '/bin', '/dev/shm']) {
      await fs.mkdir(dir, { recursive: true });
    }
    if (this.faultsOf('hccn-conf-missing').length > 0) await fs.rm('/etc/hccn.conf', { force: true });
    else await fs.writeFile('/etc/hccn.conf', this.hccnConf(), 0o644);
    await fs.writeFile('/etc/ascend_install.info', ASCEND_INSTALL_INFO, 0o644);
    await fs.writeFile('/usr/local/Ascend/driver/version.info', this.driverVersionInfo(), 0o644);
    await fs.writeFile('/usr/local/Ascend/firmware/version.info', this.firmwareVersionInfo(), 0o644);
    await fs.writeFile('/etc/hostname', `${this.name}\n`, 0o644);
    await this.writeModels(fs);
    this.shmFiles = await syncShmFiles(fs, this.faults, this.shmFiles);
    if (this.installProgramFiles) {
      for (const name of this.programs.keys()) {
        const path = this.programPath(name);
        await fs.mkdir(posix.dirname(path), { recursive: true });
        await fs.writeFile(path, `#!/bin/sh\n# simulated ${name} of ${this.name}\n`, 0o755);
      }
    }
  }

  private async writeModels(fs: SimFs): Promise<void> {
    const missing = this.faultsOf('model-missing').length > 0;
    for (const [dir, files] of Object.entries(this.spec.models ?? {})) {
      if (missing) {
        await fs.rm(dir, { recursive: true, force: true });
        continue;
      }
      await fs.mkdir(dir, { recursive: true, mode: 0o750 });
      for (const [file, content] of Object.entries(files)) {
        const path = posix.join(dir, file);
        await fs.mkdir(posix.dirname(path), { recursive: true, mode: 0o750 });
        // Rewritten afresh: a link, mode or owner an earlier fault list left must not survive it.
        await fs.rm(path, { force: true });
        await fs.writeFile(path, content, 0o640);
      }
      await resetModelDir(fs, dir);
      await applyWeightsFaults(fs, dir, this.faults);
    }
  }

  /** /etc/hccn.conf as the hccn_tool set commands leave it (§3), faults applied. */
  hccnConf(): string {
    const tls = this.tlsSwitches();
    const lines: string[] = [];
    for (let npu = 0; npu < this.npuCount; npu++) {
      const ip = this.reportedIp(npu);
      if (ip !== undefined) {
        const stale = this.npuFault('hccn-conf-stale', npu);
        lines.push(`address_${npu}=${stale ? staleAddress(ip) : ip}`, `netmask_${npu}=${NETMASK}`);
      }
      const detect = this.netdetect(npu);
      if (detect) lines.push(`netdetect_${npu}=${detect}`);
      const gw = this.gateway(npu);
      if (gw) lines.push(`gateway_${npu}=${gw}`);
      lines.push(`send_arp_status_${npu}=1`, `tls_enable_${npu}=${tls[npu]}`);
    }
    return `${lines.join('\n')}\n`;
  }

  private driverVersionInfo(): string {
    const v = this.driverVersion();
    return [
      `Version=${v}`, 'ascendhal_version=7.35.23', 'aicpu_version=1.0', 'tdt_version=1.0', 'log_version=1.0',
      'prof_version=2.0', 'dvppkernels_version=1.1', 'tsfw_version=1.0', 'Innerversion=V100R001C23SPC001B231',
      'compatible_version=[V100R001C17],[V100R001C18],[V100R001C19],[V100R001C20],[V100R001C21],[V100R001C23]',
      'compatible_version_fw=[7.0.0,7.8.99]', `package_version=${v}`, '',
    ].join('\n');
  }

  private firmwareVersionInfo(): string {
    return [
      `Version=${FIRMWARE_VERSION}`, 'firmware_version=1.0', `package_version=${this.driverVersion()}`,
      'compatible_version_drv=[23.0.0,23.0.0.],[24.0,24.0.],[24.1,24.1.],[25.0,25.0.],[25.2,25.2.]', '',
    ].join('\n');
  }
}

const ASCEND_INSTALL_INFO = [
  'UserName=HwHiAiUser', 'UserGroup=HwHiAiUser', 'Driver_Install_Type=full',
  'Driver_Install_Path_Param=/usr/local/Ascend', 'Driver_Install_For_All=yes', 'Driver_Install_Mode=normal',
  'Firmware_Install_Type=full', 'Firmware_Install_Path_Param=/usr/local/Ascend', '',
].join('\n');

/** A plausible old address: same subnet, another host part (vllm-ascend#16847's stale hccn.conf). */
function staleAddress(ip: string): string {
  const parts = ip.split('.');
  parts[3] = String(((Number(parts[3] ?? '0') + 100) % 250) + 2);
  return parts.join('.');
}
