/**
 * What a simulated cluster looks like: nodes, their NPUs, driver, images, models and faults. Read from
 * JSON by `sim.js serve --spec FILE` (zod-checked) or built in code by the demo, tests and benchmarks;
 * the types are inferred from the schemas, so the two cannot drift apart.
 */
import * as z from 'zod';

const netHealth = z.enum([
  'Success', 'Socket fail', 'Receive timeout', 'Unreachable', 'Time exceeded',
  'Fault', 'Init', 'Thread error', 'Detect ip set', 'Unknown',
]);
const badHealth = z.enum(['Warning', 'Alarm', 'Critical', 'UNKNOWN']);
const profile = z.enum(['fast', 'hardware']);
/** A physical device id (0–7 on an A2). */
const npu = z.number().int().min(0).max(63);
const port = z.number().int().min(1).max(65535);
/** A name inside the model directory, or '.' for the directory itself. */
const weightsFile = z.string().regex(/^(\.|[^/\0]+(\/[^/\0]+)*)$/, 'a path relative to the model directory, or "."')
  .refine((f) => !f.split('/').includes('..'), 'no ".." components');

const bare = <K extends string>(kind: K) => z.object({ kind: z.literal(kind) });
const onNpu = <K extends string>(kind: K) => z.object({ kind: z.literal(kind), npu });

/** Faults a simulated node can carry, each reported by ascendctl (a test per kind): preflight's, then deploy's. */
const simFaultSchema = z.discriminatedUnion('kind', [
  onNpu('link-down'),
  onNpu('net-health').extend({ value: netHealth }),
  onNpu('tls-on'),
  /** The device holds no certificate at all: `-tls -g` prints nothing and exits 14; `-tls -s` still works. */
  onNpu('tls-no-cert'),
  onNpu('no-ip'),
  /** This NPU reports the same IP as `node`'s NPU `otherNpu` (default: same npu number). */
  onNpu('duplicate-ip').extend({ node: z.string(), otherNpu: npu.optional() }),
  onNpu('no-gateway'),
  onNpu('netdetect-unset'),
  onNpu('lldp-empty'),
  onNpu('optics-absent'),
  /** Rx LOS and LOL on every lane, Rx power ~0, while the link may still read UP. */
  onNpu('optics-los'),
  /** Rx power of `lane` (default every lane) below the module's low threshold, flags clear. */
  onNpu('optics-rx-low').extend({ lane: z.number().int().min(0).max(7).optional() }),
  bare('optics-unsupported').extend({ npu: npu.optional() }),
  /** An Atlas 800 A3 (dual-die) server: `npu-smi info` in the A3 layout, as an odd node in an A2 rack. */
  bare('a3-server'),
  /** The A3's dies report a configured super-pod server id (spod-info Server Index ≠ 1023, atlas-a3.md §a.4). */
  bare('a3-super-pod'),
  /** `count` link-down/up pairs in `-link_stat -g`, the latest `hoursAgo` (default 1) hours ago, 10 min apart. */
  onNpu('link-flaps').extend({ count: z.number().int().min(1).max(500), hoursAgo: z.number().min(0).optional() }),
  /** Pings from this NPU to `peer` (a node name; default every peer) lose `lost` of 3 probes (default 3). */
  onNpu('ping-loss').extend({ peer: z.string().optional(), lost: z.literal([1, 2, 3]).optional() }),
  /** hccn_tool calls matching `command` (e.g. 'lldp'; default any) on `npu` (default any) never return. */
  bare('hang').extend({ command: z.string().optional(), npu: npu.optional() }),
  /** Every call of `program` (e.g. 'docker', 'ss', 'sha256sum', 'find', 'cat') never returns: a stuck daemon or disk. */
  bare('program-hang').extend({ program: z.string().regex(/^[^/\s]+$/, 'a program name, not a path') }),
  /** Another caller holds the device channel this fraction of the time (0–1): "busy" answers (exit 11). */
  bare('busy-storm').extend({ share: z.number().min(0).max(1) }),
  bare('old-driver').extend({ version: z.string().min(1) }),
  onNpu('npu-health').extend({ value: badHealth }),
  bare('node-down'),
  /** `/etc/hccn.conf` says a different address for this NPU than the tool (stale file). */
  onNpu('hccn-conf-stale'),
  bare('hccn-conf-missing'),
  bare('clock-skew').extend({ seconds: z.number() }),
  bare('runtime-down'),
  // --- container runtime / MindIE daemon (deploy) ---
  bare('image-absent'),
  bare('pull-fails').extend({ message: z.string().optional() }),
  bare('port-taken').extend({ port }),
  bare('model-missing'),
  /** The daemon on this node starts but never joins HCCL (master then times out with EI0006). */
  bare('worker-never-joins'),
  /** After ascendctl read it, the NPU's real address changes: the daemon rejects the rank table's device_ip. */
  onNpu('device-ip-drift').extend({ actual: z.string() }),
  // --- weights, NPU memory and shared memory (preflight v2: weights, hbm, shm) ---
  /** A file of every model directory (`.` = the directory itself) has this mode (e.g. 0o644). */
  bare('weights-mode').extend({ file: weightsFile, mode: z.number().int().min(0).max(0o7777) }),
  /** A file of every model directory is a symlink to a copy in a model-cache blob directory. */
  bare('weights-symlink').extend({ file: weightsFile.refine((f) => f !== '.', 'a file name, not "."') }),
  /** A file of every model directory (`.` = the directory) belongs to this uid. */
  bare('weights-owner').extend({ file: weightsFile, uid: z.number().int().min(0).max(2 ** 31) }),
  /** `mb` held by another process, listed by npu-smi as `pid`/`name` ('' = other PID namespace) if `pid`. */
  onNpu('hbm-held').extend({
    mb: z.number().int().min(1).max(131072),
    pid: z.number().int().min(1).max(4194304).optional(),
    name: z.string().max(64).optional(),
  }),
  /** A dead daemon's shared-memory file in /dev/shm (default llm_tokenizer_shared_memory_0). */
  bare('shm-leftover').extend({ file: z.string().regex(/^[^/\0]+$/, 'a file name in /dev/shm').optional() }),
  /** Incoming TCP dropped (or reset) to `port`, the range `ports`, or (neither) all but SSH; from `from` if given. */
  bare('firewall').extend({
    port: port.optional(), ports: z.tuple([port, port]).optional(),
    from: z.string().optional(), action: z.enum(['drop', 'reject']).optional(),
  }),
  bare('no-python3'),
  /** sudo refuses the login user for the program `command` (e.g. 'npu-smi'), or without one for everything. */
  bare('sudo-denied').extend({ command: z.string().min(1).optional() }),
]);

const simNodeSpecSchema = z.strictObject({
  name: z.string().min(1),
  /** Loopback address the node's front-end listens on (127.x.y.z). */
  host: z.string().regex(/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/, 'a loopback address (127.x.y.z)'),
  /** SSH port of the in-process ssh2 front-end; default 2222. */
  sshPort: port.optional(),
  /** 'A2' (one die per NPU; the default) or 'A3' (8 NPUs × 2 dies, ascend-tools.md §6); so does an a3-server fault. */
  server: z.enum(['A2', 'A3']).optional(),
  /** Devices in the node (NPUs on A2, dies on A3); default 8 on A2, 16 on A3. */
  npus: z.number().int().min(1).max(16).optional(),
  /** npu-smi name; default '910B3' (A3: 'Ascend910'). */
  npuName: z.string().min(1).optional(),
  /** Driver package version; default '25.2.0'. */
  driverVersion: z.string().min(1).optional(),
  faults: z.array(simFaultSchema).optional(),
  /** Container images present on the node (the container runtime reads them). */
  images: z.array(z.string()).optional(),
  /** Model directories: absolute path → file name → content. */
  models: z.record(z.string(), z.record(z.string(), z.string())).optional(),
  /** Device IPs per NPU; default `192.168.(100+npu).(11+node index)`. */
  deviceIps: z.array(z.string()).optional(),
  /** Text a noisy login shell prints before every command (~/.bashrc, /etc/profile.d), per stream. */
  banner: z.strictObject({ stdout: z.string().optional(), stderr: z.string().optional() }).optional(),
});

const simClusterSpecSchema = z.strictObject({
  nodes: z.array(simNodeSpecSchema).min(1),
  profile: profile.default('fast'),
}).superRefine((spec, ctx) => {
  const names = new Set<string>();
  for (const [i, n] of spec.nodes.entries()) {
    if (names.has(n.name)) ctx.addIssue({ code: 'custom', path: ['nodes', i, 'name'], message: `duplicate node name ${n.name}` });
    names.add(n.name);
  }
});

export type SimFault = z.infer<typeof simFaultSchema>;
export type SimNodeSpec = z.infer<typeof simNodeSpecSchema>;
export type SimClusterSpec = z.infer<typeof simClusterSpecSchema>;
/** Latency profile: 'fast' for tests, 'hardware' close to a real Atlas 800T A2 for benchmarks. */
export type LatencyProfile = z.infer<typeof profile>;
/** The ten `net_health` values (ascend-tools.md §2.4). */
export type SimNetHealth = z.infer<typeof netHealth>;
export type SimNpuHealth = 'OK' | z.infer<typeof badHealth>;

/** Parse and check a spec (e.g. the JSON file of `sim.js serve --spec`). Throws with the zod issues. */
export function parseClusterSpec(input: unknown): SimClusterSpec {
  const result = simClusterSpecSchema.safeParse(input);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new Error(`invalid simulator cluster spec:\n${lines.join('\n')}`);
  }
  return result.data;
}

export function parseFaults(input: unknown): SimFault[] {
  return z.array(simFaultSchema).parse(input);
}
