/**
 * Contract between the parts of the simulated Ascend node (src/sim). The simulator depends on nothing in
 * the real code paths (docs/architecture.md, The simulator): it encodes the reference docs independently,
 * so that its validation is an independent check of what ascendctl renders.
 */
export type { LatencyProfile, SimFault, SimNetHealth, SimNpuHealth } from './cluster-spec.js';

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

/** Node's fs semantics (errors with a `code`: ENOENT, EISDIR, …); `stat` is lstat, undefined when absent. */
export interface SimFs {
  readFile(path: string): Promise<Buffer>;
  writeFile(path: string, data: string | Buffer, mode?: number): Promise<void>;
  stat(path: string): Promise<SimStat | undefined>;
  mkdir(path: string, opts?: { recursive?: boolean; mode?: number }): Promise<void>;
  readdir(path: string): Promise<string[]>;
  rename(from: string, to: string): Promise<void>;
  rm(path: string, opts?: { recursive?: boolean; force?: boolean }): Promise<void>;
  chmod(path: string, mode: number): Promise<void>;
  symlink(target: string, path: string): Promise<void>;
  /** Set the owner of `path` itself, not following a link. */
  chown(path: string, uid: number): Promise<void>;
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

/** What a node sees of its cluster (cluster.ts), generic in the node class so ascend-node.ts need not import it. */
export interface SimClusterOf<N> {
  readonly shared: Map<string, unknown>;
  readonly stopSignal: AbortSignal;
  notifyChange(node: N): void;
  find(nameOrHost: string): N | undefined;
  /** The node whose address is `address`, if any (the firewall's view of who is connecting). */
  byAddress(address: string): N | undefined;
  deviceIpOwners(ip: string): { node: N; npu: number }[];
}

/** One simulated program (hccn_tool, npu-smi, docker, cat, …). Resolves with the exit status. */
export type SimProgram = (argv: string[], io: SimIo) => Promise<number>;

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
