/**
 * What collection learned about each node: plain data, no I/O. The judge turns these into findings;
 * keeping them apart lets every check be tested from a hand-built fact set.
 */

/** The outcome of one remote call, after busy retries. */
export type Outcome<T> =
  | { kind: 'ok'; value: T }
  /** The call did not answer within its bound (ascend-tools.md §1.3). */
  | { kind: 'timeout'; seconds: number; hint?: string }
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
  /** The server kind derived from the table's layout (check `hardware`). */
  server?: ServerFacts;
  /** The process table; null when npu-smi printed none (some versions stop after the chip table). */
  processes?: NpuSmiProcessFact[] | null;
  /** A3 only: each die's NPU, chip and device (physical) id, as the node printed them (a3.ts). */
  dies?: { device: number; npu: number; chip: number }[];
}

export interface TlsFacts {
  /** 0 or 1; undefined when the device has no certificate at all (exit 14, switch unknown). */
  switch?: number;
  /** The switch could not be read, but this run's `--fix` set it to 0 and the tool said it did. */
  setByFix?: boolean;
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
  /** `hccn_tool -i N -optical -g` (check `optics`). */
  optics?: Outcome<OpticsFacts>;
  /** `hccn_tool -i N -link_stat -g` (check `link-flaps`). */
  linkFlaps?: Outcome<LinkFlapFacts>;
}

/** The optical module of one NPU port, as `-optical -g` reports it (ascend-tools.md §2.11). */
export interface OpticsFacts {
  /** false: `Optical module is not present.` (exit 20) or `present : not present`; null: not said. */
  present: boolean | null;
  /** Per lane in mW; null where the tool printed `NA` or something unreadable. */
  txPowerMw: (number | null)[];
  rxPowerMw: (number | null)[];
  /** The module's own alarm thresholds (mW), when printed. */
  thresholds: { txHighMw?: number; txLowMw?: number; rxHighMw?: number; rxLowMw?: number };
  /** LOS / LOL lane bitmasks (0 = none). */
  flags: { txLos?: number; rxLos?: number; txLol?: number; rxLol?: number };
}

/** The link change records of one NPU port, as `-link_stat -g` reports them (§2.11). */
export interface LinkFlapFacts {
  /** The tool's `current time` line: the node's clock, in the same zone as the records. */
  currentTime?: string;
  linkUpCount?: number;
  events: { time: string; state: 'UP' | 'DOWN' }[];
  /** The node's clock (epoch ms, from `date`) when the records were read: the reference without `current time`. */
  nodeClockMs?: number;
}

/** What kind of server a node is, from `npu-smi info` (check `hardware`). */
export interface ServerFacts {
  /** 'A2': one die per NPU (910B); 'A3': two dies per NPU; 'other': neither (910A, the old 910, …). */
  kind: 'A2' | 'A3' | 'other';
  /** NPUs (cards) listed. */
  npus: number;
  /** HCCL devices: NPUs on A2, dies on A3. */
  devices: number;
  /** The chip name(s) as listed, e.g. `910B3`. */
  chip: string;
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

/** One `stat -c '%f|%a|%u|%U|%n'` line: what MindIE's file checks look at (mindie-multinode.md §2.1, §5). */
export interface WeightsEntry {
  /** The path as printed (the weights directory, or a file in it). */
  path: string;
  /** From `%f`'s file-type bits, in `%F`'s words: regular file, directory, symbolic link, … */
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

export interface AddressFacts {
  /** What ascendctl renders as MIES_CONTAINER_IP / ipAddress / server_id for the node. */
  rendered: string;
  /** The node's addresses as `ip -o addr show` lists them (no prefix length). */
  listed: string[];
  /** `ip route get <rendered>` on the node says `local` (e.g. any 127.x address on lo). */
  routeLocal: boolean;
}

/** One TCP connection attempt from this node: `ok`, `timeout`, or the errno name (ECONNREFUSED, …). */
export interface ReachProbe {
  to: string;
  address: string;
  port: number;
  outcome: string;
}

export interface ReachFacts {
  probes: ReachProbe[];
  /** What could not be tested, in words ("node1:60003: the port is in use there"). */
  untested: string[];
  /** Set when this node lacks what the probe needs ("no python3"). */
  missingTool?: string;
  /** The plan was not run at all, e.g. the deployment is already running on these ports. */
  notProbed?: { status: 'pass' | 'warn'; why: string };
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
  /** The address rendered for the node against the node's own (network.ts). */
  address?: Outcome<AddressFacts>;
  /** TCP probes from this node to its peers (network.ts); absent when none were planned. */
  reach?: Outcome<ReachFacts>;
  npus: Record<number, NpuFacts>;
  /** Devices checked on this node when it differs from the inventory's npusPerNode (16 on an A3, a3.ts). */
  devices?: number;
  /** A3 only: `npu-smi info -t spod-info -i 0 -c 0` (a3.ts: the super-pod notice). */
  spod?: Outcome<{ sdid?: number; superPodId?: number; serverIndex?: number }>;
  pings: PingResult[];
  /** Said once per node (e.g. "hccn_tool stayed busy after a hung call"): shown with its failures. */
  notes: string[];
}

/** What the judge needs besides the facts. */
export interface JudgeContext {
  npusPerNode: number;
  /** The inventory gives npusPerNode explicitly (not the default): `hardware` then checks it. */
  npusPerNodeGiven?: boolean;
  /** npusPerNode left out, but the deployment needs this many devices per node (A3: 16): `hardware` checks it. */
  devicesNeeded?: { count: number; why: string };
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
    /**
     * HCCL's port range (HCCL_IF_BASE_PORT, 16 ports), checked on every node; when set, `ports` is
     * checked on the master only (contract: the HTTP ports and multiNodesInfer matter there only).
     */
    hcclPorts?: number[];
    master?: string;
    /** The serving backend; `weights` enforces MindIE's file rules for `mindie` (the default) only. */
    backend?: 'mindie' | 'vllm-ascend';
  };
  /** Clock tolerance in ms (contract: 2 s). */
  clockToleranceMs: number;
  /** Inventory nodes left out by `--node`: a lone selected node has nobody to ping, which is not a pass. */
  unselectedNodes?: readonly string[];
}
