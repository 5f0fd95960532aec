/**
 * What collection learned about each node: plain data, no I/O. The judge turns these into findings;
 * keeping them apart lets every check be tested from a hand-built fact set.
 */

/** The outcome of one remote call, after busy retries. */
export type Outcome<T> =
  | { kind: 'ok'; value: T }
  /** The call did not answer within its bound (ascend-tools.md §1.3). */
  | { kind: 'timeout'; seconds: number }
  /** hccn_tool stayed busy for the whole retry budget (§1.2). */
  | { kind: 'busy'; seconds: number }
  /** The tool answered with an error (non-zero exit, error text). `reason` classifies known ones. */
  | { kind: 'error'; message: string; reason?: string; exitCode?: number | null; hint?: string }
  /** Exit 0 but the output did not have the documented shape. */
  | { kind: 'unexpected'; firstLine: string }
  /** Not attempted: the node became unreachable, or an earlier failure made it pointless. */
  | { kind: 'skipped'; why: string };

export interface NpuSmiDevice {
  id: number;
  name: string;
  health: string;
  hbmUsedMb?: number;
  hbmTotalMb?: number;
}

/** A row of `npu-smi info`'s process table (ascend-tools.md §4.2): the `hbm` check names it. */
export interface NpuSmiProcessFact {
  npu: number;
  pid: number;
  /** Empty for a process of another PID namespace (a container); may be cut to 15 characters. */
  name: string;
  memoryMb: number;
}

export interface NpuSmiFacts {
  devices: NpuSmiDevice[];
  /** Set when the host is not an A2 (A3 dual-die, a non-910B chip such as 910A, the old 910 named "910B"): ascendctl targets A2. */
  unsupported?: string;
  /** The process table; null when npu-smi printed none (some versions stop after the chip table). */
  processes?: NpuSmiProcessFact[] | null;
}

export interface TlsFacts {
  /** 0 or 1; undefined when the device has no certificate at all (exit 14, switch unknown). */
  switch?: number;
}

export interface PingFacts {
  /** Any probe lost: from the summary line when printed, else from the exit status (§2.10). */
  loss: boolean;
  /**
   * The summary line's counts. Absent when the tool printed none (e.g. `Destination Host Unreachable`
   * and exit 1): the size of the loss is then unknown and must not be made up.
   */
  summary?: { transmitted: number; received: number; lossPct: number };
  lostSeqs: number[];
  /** Without a summary: what was seen instead — the exit status, answered probes, the first other line. */
  exitCode?: number | null;
  answered?: number;
  detail?: string;
}

export interface NpuFacts {
  ip?: Outcome<{ address: string; netmask: string } | null>;
  link?: Outcome<'UP' | 'DOWN'>;
  netHealth?: Outcome<string>;
  netdetect?: Outcome<string | null>;
  gateway?: Outcome<string | null>;
  tls?: Outcome<TlsFacts>;
  lldp?: Outcome<{ ifname?: string; systemName?: string }>;
}

export interface PingResult {
  npu: number;
  peer: string;
  peerNpu: number;
  address: string;
  outcome: Outcome<PingFacts>;
}

export interface HccnConfFacts {
  /** device id → key → value, as written in /etc/hccn.conf. */
  devices: Record<number, Record<string, string>>;
}

export interface ModelFacts {
  /** File name → sha256 of the weights' config.json / model.safetensors.index.json. */
  hashes: Record<string, string>;
}

/** One `stat -c '%F|%a|%u|%U|%n'` line: what MindIE's file checks look at (mindie-multinode.md §2.1, §5). */
export interface WeightsEntry {
  /** The path as printed (the weights directory, or a file in it). */
  path: string;
  /** `%F`: regular file, regular empty file, directory, symbolic link, … */
  type: string;
  /** Permission bits (`%a`, octal). */
  mode: number;
  uid: number;
  /** `%U`: the owner's name, or UNKNOWN. */
  user: string;
}

export interface WeightsFacts {
  /** The weights directory itself, when it was listed (absent when it holds none of the files). */
  dir?: WeightsEntry;
  /** config.json, generation_config.json, tokenizer*.json as found in the directory. */
  files: WeightsEntry[];
}

export interface Listener {
  address: string;
  port: number;
}

export interface NodeFacts {
  node: string;
  host: string;
  /** ok when connected and authenticated. */
  ssh: Outcome<true>;
  clockOffsetMs?: Outcome<number>;
  driver?: Outcome<string>;
  /** The version.info the driver version was read from (named when the version cannot be read). */
  driverFile?: string;
  npuSmi?: Outcome<NpuSmiFacts>;
  hccnConf?: Outcome<HccnConfFacts | null>;
  runtime?: Outcome<string>;
  image?: Outcome<boolean>;
  model?: Outcome<ModelFacts | null>;
  listeners?: Outcome<Listener[]>;
  /** With a deployment: the weights directory and the files MindIE opens at start (weights.ts). */
  weights?: Outcome<WeightsFacts>;
  /** With a deployment: leftover MindIE shared-memory files in /dev/shm, as full paths (shm.ts). */
  shm?: Outcome<string[]>;
  npus: Record<number, NpuFacts>;
  pings: PingResult[];
  /** Said once per node (e.g. "hccn_tool stayed busy after a hung call"): shown with its failures. */
  notes: string[];
}

/** What the judge needs besides the facts. */
export interface JudgeContext {
  npusPerNode: number;
  gateway: 'optional' | 'required';
  /** Minimum driver version and where the requirement comes from ("CANN 8.2.RC1 in <image>"). */
  minDriver: { version: string; reason: string };
  compareVersions(a: string, b: string): number;
  deployment?: {
    image: string;
    modelPath: string;
    ports: number[];
    /** Ports held by this deployment's own running containers: not a conflict. */
    ownPorts?: Record<string, number[]>;
    /** Share of each NPU's memory the backend may use (`hbm`); default 0.95 when absent. */
    npuMemoryFraction?: number;
    /** The serving backend; `weights` enforces MindIE's file rules for `mindie` (the default) only. */
    backend?: 'mindie' | 'vllm-ascend';
  };
  /** Clock tolerance in ms (contract: 2 s). */
  clockToleranceMs: number;
  /** Inventory nodes left out by `--node`: a lone selected node has nobody to ping, which is not a pass. */
  unselectedNodes?: readonly string[];
}
