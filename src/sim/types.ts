/**
 * Contract between the parts of the simulated Ascend node (src/sim). The simulator depends on nothing
 * in the real code paths (docs/architecture.md, The simulator): it encodes the reference docs independently, so that its
 * validation is an independent check of what ascendctl renders.
 */

/** A file system as a simulated node sees it: in memory (demo, benchmarks) or a real directory tree. */
export interface SimStat {
  isFile: boolean;
  isDirectory: boolean;
  isSymlink: boolean;
  /** Permission bits only (e.g. 0o640). */
  mode: number;
  uid: number;
  size: number;
  mtimeMs: number;
}

export interface SimFs {
  readFile(path: string): Promise<Buffer>; // rejects with an Error whose `code` is 'ENOENT' / 'EISDIR' / 'EACCES'
  writeFile(path: string, data: string | Buffer, mode?: number): Promise<void>; // creates or truncates
  appendFile(path: string, data: string | Buffer): Promise<void>;
  stat(path: string): Promise<SimStat | undefined>; // lstat semantics; undefined when absent
  mkdir(path: string, opts?: { recursive?: boolean; mode?: number }): Promise<void>; // EEXIST when !recursive and present
  readdir(path: string): Promise<string[]>;
  rename(from: string, to: string): Promise<void>;
  rm(path: string, opts?: { recursive?: boolean; force?: boolean }): Promise<void>;
  chmod(path: string, mode: number): Promise<void>;
  /** Create a symbolic link at `path` (weights-symlink fault: a model-cache layout). */
  symlink?(target: string, path: string): Promise<void>;
  /** Set the owner of `path` itself, not following a link (weights-owner fault). */
  chown?(path: string, uid: number): Promise<void>;
}

/** Where the output of one simulated command goes. Writes resolve when the consumer took the data. */
export interface SimIo {
  /** Standard input, or null when closed at once. */
  stdin: AsyncIterable<Buffer> | null;
  stdout(chunk: string | Buffer): Promise<void>;
  stderr(chunk: string | Buffer): Promise<void>;
  /** Aborted when the caller went away (SSH channel closed, remote `timeout` fired). */
  signal: AbortSignal;
  env: Record<string, string>;
}

/** hccn_tool's single-caller device channel on one node (ascend-tools.md §1.2). */
export interface HccnChannel {
  /** Calls holding the device channel now. */
  inFlight: number;
  /** Epoch ms until which an abandoned (hung) request still holds the channel. */
  heldUntil: number;
}

/**
 * What a node sees of its cluster (SimCluster, cluster.ts), generic in the node class so that the
 * node's module does not import the cluster's.
 */
export interface SimClusterOf<N> {
  readonly shared: Map<string, unknown>;
  readonly stopSignal: AbortSignal;
  notifyChange(node: N): void;
  find(nameOrHost: string): N | undefined;
  deviceIpOwners(ip: string): { node: N; npu: number }[];
}

/** One simulated program (hccn_tool, npu-smi, docker, cat, …). Resolves with the exit status. */
export type SimProgram = (argv: string[], io: SimIo) => Promise<number>;

/** Latency profile: 'fast' for tests, 'hardware' close to a real Atlas 800T A2 for benchmarks. */
export type LatencyProfile = 'fast' | 'hardware';

/** The ten `net_health` values (ascend-tools.md §2.4). */
export type SimNetHealth =
  | 'Success' | 'Socket fail' | 'Receive timeout' | 'Unreachable' | 'Time exceeded'
  | 'Fault' | 'Init' | 'Thread error' | 'Detect ip set' | 'Unknown';

export type SimNpuHealth = 'OK' | 'Warning' | 'Alarm' | 'Critical' | 'UNKNOWN';

/**
 * Faults a simulated node can carry. `npu` is the physical id (0–7). Preflight faults come first; the
 * container/MindIE ones after. Every kind here must be reported by ascendctl (a test per kind).
 */
export type SimFault =
  | { kind: 'link-down'; npu: number }
  | { kind: 'net-health'; npu: number; value: SimNetHealth }
  | { kind: 'tls-on'; npu: number }
  | { kind: 'no-ip'; npu: number }
  /** This NPU reports the same IP as `node`'s NPU `otherNpu` (default: same npu number). */
  | { kind: 'duplicate-ip'; npu: number; node: string; otherNpu?: number }
  | { kind: 'no-gateway'; npu: number }
  | { kind: 'netdetect-unset'; npu: number }
  | { kind: 'lldp-empty'; npu: number }
  /** No optical module in the NPU's port: `-optical -g` prints `Optical module is not present.` (stdout, exit 20). */
  | { kind: 'optics-absent'; npu: number }
  /** The module sees no light (Rx LOS and LOL on every lane, Rx power ~0) while the link may still read UP. */
  | { kind: 'optics-los'; npu: number }
  /** Rx power of `lane` (default every lane) below the module's low threshold, flags clear. */
  | { kind: 'optics-rx-low'; npu: number; lane?: number }
  /** `-optical -g` is not supported on this product/driver (exit 13, stdout). */
  | { kind: 'optics-unsupported'; npu?: number }
  /**
   * The node is an Atlas 800 A3 (dual-die) server: `npu-smi info` lists 8 NPUs × 2 dies in the A3 layout
   * (`Chip  Phy-ID`, Phy-ID 0–15, name `Ascend910`), as an odd node in an A2 rack would.
   */
  | { kind: 'a3-server' }
  /**
   * An A3 node whose dies report a configured super-pod server id (`npu-smi info -t spod-info`: Server
   * Index ≠ 1023), as a server in an Atlas 900 SuperPoD would; a standalone A3 reports 1023 (atlas-a3.md §a.4).
   */
  | { kind: 'a3-super-pod' }
  /** `count` link-down/up pairs in `-link_stat -g`, the latest `hoursAgo` (default 1) hours ago, 10 min apart. */
  | { kind: 'link-flaps'; npu: number; count: number; hoursAgo?: number }
  /** Pings from this NPU to `peer` (a node name; default every peer) lose `lost` of 3 probes (default 3). */
  | { kind: 'ping-loss'; npu: number; peer?: string; lost?: 1 | 2 | 3 }
  /** hccn_tool calls matching `command` (e.g. 'lldp'; default any) on `npu` (default any) never return. */
  | { kind: 'hang'; command?: string; npu?: number }
  /** Another caller holds the device channel this fraction of the time (0–1) — "busy" answers (exit 11). */
  | { kind: 'busy-storm'; share: number }
  | { kind: 'old-driver'; version: string }
  | { kind: 'npu-health'; npu: number; value: Exclude<SimNpuHealth, 'OK'> }
  | { kind: 'node-down' }
  /** `/etc/hccn.conf` says a different address for this NPU than the tool (stale file). */
  | { kind: 'hccn-conf-stale'; npu: number }
  | { kind: 'hccn-conf-missing' }
  | { kind: 'clock-skew'; seconds: number }
  | { kind: 'runtime-down' }
  // --- container runtime / MindIE daemon (deploy) ---
  | { kind: 'image-absent' }
  | { kind: 'pull-fails'; message?: string }
  | { kind: 'port-taken'; port: number }
  | { kind: 'model-missing' }
  /** The daemon on this node starts but never joins HCCL (master then times out with EI0006). */
  | { kind: 'worker-never-joins' }
  /** After ascendctl read it, the NPU's real address changes: the daemon rejects the rank table's device_ip. */
  | { kind: 'device-ip-drift'; npu: number; actual: string }
  // --- weights, NPU memory and shared memory (preflight v2: weights, hbm, shm) ---
  /** A file of every model directory (`.` = the directory itself) has this mode (e.g. 0o644). */
  | { kind: 'weights-mode'; file: string; mode: number }
  /** A file of every model directory is a symlink to a copy in a model-cache blob directory. */
  | { kind: 'weights-symlink'; file: string }
  /** A file of every model directory (`.` = the directory) belongs to this uid, e.g. the user who downloaded it. */
  | { kind: 'weights-owner'; file: string; uid: number }
  /**
   * `mb` of HBM on this NPU are held by another process, listed by npu-smi as `pid`/`name` (name ''
   * = another PID namespace); without `pid` nothing is listed, only the memory is used.
   */
  | { kind: 'hbm-held'; npu: number; mb: number; pid?: number; name?: string }
  /** A dead daemon's shared-memory file in /dev/shm (default llm_tokenizer_shared_memory_0). */
  | { kind: 'shm-leftover'; file?: string }
  /**
   * The node's firewall drops (`reject`: answers with a reset) incoming TCP to `port`, or to the range
   * `ports` [first, last], or (neither) to every port but SSH; from the node `from` only when given.
   */
  | { kind: 'firewall'; port?: number; ports?: [number, number]; from?: string; action?: 'drop' | 'reject' }
  /** python3 is not installed on the node (`python3: not found`). */
  | { kind: 'no-python3' }
  /**
   * sudo refuses the login user (inventory ssh.become: sudo): for `command` only (a program name, e.g.
   * 'npu-smi'), or, without one, for everything — as for a user with no sudo rights, `sudo -n` then
   * asks for a password it is not given.
   */
  | { kind: 'sudo-denied'; command?: string };

/** One row of the `npu-smi info` process table (set by the container runtime through SimNode). */
export interface SimNpuProcess {
  pid: number;
  /** Shown truncated to 15 characters, as the real tool does; '' for processes of another PID namespace. */
  name: string;
  memoryMb: number;
}

/** A TCP listener on a simulated node, as `ss -Htln` shows it. */
export interface SimListener {
  address: string;
  port: number;
  /** Who holds it (for diagnostics): 'sshd', 'fault', a container name. */
  owner?: string;
}
