/**
 * What a simulated cluster looks like: nodes, their NPUs, driver, images, models and faults. Read from
 * JSON by `sim.js serve --spec FILE` (zod-checked) or built in code by the demo, tests and benchmarks.
 */
import { z } from 'zod';
import type { LatencyProfile, SimFault } from './types.js';

export interface SimNodeSpec {
  name: string;
  /** Loopback address the node's front-end listens on (127.0.x.y). */
  host: string;
  /** SSH port of the in-process ssh2 front-end; default 2222. */
  sshPort?: number;
  /**
   * The server kind: 'A2' (Atlas 800 A2, one die per NPU; the default) or 'A3' (Atlas 800 A3: 8 NPUs × 2
   * dies, each die its own device, ascend-tools.md §6). An `a3-server` fault in the spec means 'A3' too.
   */
  server?: 'A2' | 'A3';
  /** Devices in the node (NPUs on A2, dies on A3); default 8 on A2, 16 on A3. */
  npus?: number;
  /** npu-smi name; default '910B3'. */
  npuName?: string;
  /** Driver package version; default '25.2.0'. */
  driverVersion?: string;
  faults?: SimFault[];
  /** Container images present on the node (the container runtime reads them). */
  images?: string[];
  /** Model directories: absolute path → file name → content. */
  models?: Record<string, Record<string, string>>;
  /** Device IPs per NPU; default defaultDeviceIp(nodeIndex, npu). */
  deviceIps?: string[];
  /** Process id substituted for `{pid}` in a `dir:` file-system template (the node's sshd). */
  pid?: number;
  /** Root of the node's files when they live in a real directory (overrides the template). */
  fsRoot?: string;
  /** Text a noisy login shell prints before every command (~/.bashrc, /etc/profile.d), per stream. */
  banner?: { stdout?: string; stderr?: string };
}

export interface SimClusterSpec {
  nodes: SimNodeSpec[];
  profile: LatencyProfile;
}

export const DEFAULT_SSH_PORT = 2222;
export const DEFAULT_NPUS = 8;
export const DEFAULT_NPU_NAME = '910B3';
/** Devices and chip name of a simulated Atlas 800 A3 (the VA-3002 capture: 8 × `Ascend910`, 2 dies each). */
export const A3_DEVICES = 16;
export const A3_NPU_NAME = 'Ascend910';
export const DEFAULT_DRIVER_VERSION = '25.2.0';

/** Device (RoCE) address of an NPU: strings for files and outputs only, never contacted. */
export function defaultDeviceIp(nodeIndex: number, npu: number): string {
  return `192.168.${100 + npu}.${11 + nodeIndex}`;
}

const netHealth = z.enum([
  'Success', 'Socket fail', 'Receive timeout', 'Unreachable', 'Time exceeded',
  'Fault', 'Init', 'Thread error', 'Detect ip set', 'Unknown',
]);
const npu = z.number().int().min(0).max(63);
/** A name inside the model directory, or '.' for the directory itself. */
const weightsFile = z.string().regex(/^(\.|[^/\0]+(\/[^/\0]+)*)$/, 'a path relative to the model directory, or "."')
  .refine((f) => !f.split('/').includes('..'), 'no ".." components');

export const simFaultSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('link-down'), npu }),
  z.object({ kind: z.literal('net-health'), npu, value: netHealth }),
  z.object({ kind: z.literal('tls-on'), npu }),
  z.object({ kind: z.literal('no-ip'), npu }),
  z.object({ kind: z.literal('duplicate-ip'), npu, node: z.string(), otherNpu: npu.optional() }),
  z.object({ kind: z.literal('no-gateway'), npu }),
  z.object({ kind: z.literal('netdetect-unset'), npu }),
  z.object({ kind: z.literal('lldp-empty'), npu }),
  z.object({ kind: z.literal('optics-absent'), npu }),
  z.object({ kind: z.literal('optics-los'), npu }),
  z.object({ kind: z.literal('optics-rx-low'), npu, lane: z.number().int().min(0).max(7).optional() }),
  z.object({ kind: z.literal('optics-unsupported'), npu: npu.optional() }),
  z.object({ kind: z.literal('a3-server') }),
  z.object({ kind: z.literal('a3-super-pod') }),
  z.object({ kind: z.literal('link-flaps'), npu, count: z.number().int().min(1).max(500), hoursAgo: z.number().min(0).optional() }),
  z.object({
    kind: z.literal('ping-loss'), npu, peer: z.string().optional(),
    lost: z.union([z.literal(1), z.literal(2), z.literal(3)]).optional(),
  }),
  z.object({ kind: z.literal('hang'), command: z.string().optional(), npu: npu.optional() }),
  z.object({ kind: z.literal('busy-storm'), share: z.number().min(0).max(1) }),
  z.object({ kind: z.literal('old-driver'), version: z.string().min(1) }),
  z.object({ kind: z.literal('npu-health'), npu, value: z.enum(['Warning', 'Alarm', 'Critical', 'UNKNOWN']) }),
  z.object({ kind: z.literal('node-down') }),
  z.object({ kind: z.literal('hccn-conf-stale'), npu }),
  z.object({ kind: z.literal('hccn-conf-missing') }),
  z.object({ kind: z.literal('clock-skew'), seconds: z.number() }),
  z.object({ kind: z.literal('runtime-down') }),
  z.object({ kind: z.literal('image-absent') }),
  z.object({ kind: z.literal('pull-fails'), message: z.string().optional() }),
  z.object({ kind: z.literal('port-taken'), port: z.number().int().min(1).max(65535) }),
  z.object({ kind: z.literal('model-missing') }),
  z.object({ kind: z.literal('worker-never-joins') }),
  z.object({ kind: z.literal('device-ip-drift'), npu, actual: z.string() }),
  z.object({ kind: z.literal('weights-mode'), file: weightsFile, mode: z.number().int().min(0).max(0o7777) }),
  z.object({ kind: z.literal('weights-symlink'), file: weightsFile.refine((f) => f !== '.', 'a file name, not "."') }),
  z.object({ kind: z.literal('weights-owner'), file: weightsFile, uid: z.number().int().min(0).max(2 ** 31) }),
  z.object({
    kind: z.literal('hbm-held'), npu, mb: z.number().int().min(1).max(131072),
    pid: z.number().int().min(1).max(4194304).optional(), name: z.string().max(64).optional(),
  }),
  z.object({ kind: z.literal('shm-leftover'), file: z.string().regex(/^[^/\0]+$/, 'a file name in /dev/shm').optional() }),
  z.object({
    kind: z.literal('firewall'), port: z.number().int().min(1).max(65535).optional(),
    ports: z.tuple([z.number().int().min(1).max(65535), z.number().int().min(1).max(65535)]).optional(),
    from: z.string().optional(), action: z.enum(['drop', 'reject']).optional(),
  }),
  z.object({ kind: z.literal('no-python3') }),
  z.object({ kind: z.literal('sudo-denied'), command: z.string().min(1).optional() }),
]);

const loopback = z.string().regex(/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/, 'a loopback address (127.x.y.z)');

export const simNodeSpecSchema = z.strictObject({
  name: z.string().min(1),
  host: loopback,
  sshPort: z.number().int().min(1).max(65535).optional(),
  server: z.enum(['A2', 'A3']).optional(),
  npus: z.number().int().min(1).max(16).optional(),
  npuName: z.string().min(1).optional(),
  driverVersion: z.string().min(1).optional(),
  faults: z.array(simFaultSchema).optional(),
  images: z.array(z.string()).optional(),
  models: z.record(z.string(), z.record(z.string(), z.string())).optional(),
  deviceIps: z.array(z.string()).optional(),
  pid: z.number().int().positive().optional(),
  fsRoot: z.string().optional(),
  banner: z.strictObject({ stdout: z.string().optional(), stderr: z.string().optional() }).optional(),
});

export const simClusterSpecSchema = z.strictObject({
  nodes: z.array(simNodeSpecSchema).min(1),
  profile: z.enum(['fast', 'hardware']).default('fast'),
}).superRefine((spec, ctx) => {
  const names = new Set<string>();
  for (const [i, n] of spec.nodes.entries()) {
    if (names.has(n.name)) ctx.addIssue({ code: 'custom', path: ['nodes', i, 'name'], message: `duplicate node name ${n.name}` });
    names.add(n.name);
  }
});

/** Parse and check a spec (e.g. the JSON file of `sim.js serve --spec`). Throws with the zod issues. */
export function parseClusterSpec(input: unknown): SimClusterSpec {
  const result = simClusterSpecSchema.safeParse(input);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new Error(`invalid simulator cluster spec:\n${lines.join('\n')}`);
  }
  return result.data as SimClusterSpec;
}

export function parseFaults(input: unknown): SimFault[] {
  return z.array(simFaultSchema).parse(input) as SimFault[];
}
