/**
 * Contract between the parts of the simulated Ascend node (src/sim). The simulator depends on nothing
 * in the real code paths (architecture.md): it encodes the reference docs independently, so that its
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
