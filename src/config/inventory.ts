/**
 * The inventory file (cli-contract.md "Inventory file"): which servers, how to reach them over SSH, and
 * where the Ascend tools live on them. loadInventory returns nodes fully resolved (inventory, then
 * ~/.ssh/config, then built-in defaults), so nothing downstream reads ssh_config or the environment.
 */
import { statSync } from 'node:fs';
import { isIP } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import * as z from 'zod';
import { InputError } from '../errors.js';
import { DURATION_EXPECTED, tryParseDuration } from './duration.js';
import { expandNodeRanges } from './node-ranges.js';
import { expandNodeSet, foldNodeSetParts, NodeSetError } from './nodeset.js';
import { expandTilde, loadSshConfig, type SshConfigEntry, type SshConfigFile } from './ssh-config-file.js';
import { loadYamlFile, parseWithSchema, problemsError, type Location, type Problem, type YamlFile, type YamlPath } from './yaml-file.js';
import type { SshEndpoint as RemoteSshEndpoint } from '../remote/endpoint.js';

// ---- schema ---------------------------------------------------------------------------------------------

export const STRICT_HOST_KEY_CHECKING = ['yes', 'accept-new', 'no'] as const;
export type StrictHostKeyChecking = (typeof STRICT_HOST_KEY_CHECKING)[number];

export const DEFAULT_TOOLS = {
  hccnTool: '/usr/local/Ascend/driver/tools/hccn_tool',
  npuSmi: 'npu-smi',
  containerRuntime: 'docker',
} as const;
export const DEFAULT_MIN_DRIVER = '25.2';
export const DEFAULT_NPUS_PER_NODE = 8;
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

const NODE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
// An address, a DNS name or an ssh_config alias; never something ssh could read as an option.
const HOST = /^[A-Za-z0-9_.:][A-Za-z0-9_.:%-]*$/;
// The same, or a node range of them (`node[01-64]`, `10.0.0.[1-64]`): what the file may say. Ranges are
// expanded before validation (node-ranges.ts), so each node is still held to NODE_NAME / HOST.
const RANGE = String.raw`\[[0-9,-]*\]`;
const NODE_NAME_OR_RANGE = new RegExp(String.raw`^(?:[A-Za-z0-9_]|${RANGE})(?:[A-Za-z0-9_.-]|${RANGE})*$`);
const HOST_OR_RANGE = new RegExp(String.raw`^(?:[A-Za-z0-9_.:]|${RANGE})(?:[A-Za-z0-9_.:%-]|${RANGE})*$`);
const USER = /^[A-Za-z0-9_.][A-Za-z0-9_.@-]*$/;

const portError = (iss: { input?: unknown }): string | undefined =>
  iss.input === undefined ? undefined : `expected a port number 1-65535, got ${JSON.stringify(iss.input)}`;
export const portSchema = z.int({ error: portError }).min(1, { error: portError }).max(65535, { error: portError });

/** `10s`, `500ms`, `2m`, or a number of seconds → milliseconds (> 0). */
export const durationSchema = z
  .union([z.string(), z.number()], { error: `expected ${DURATION_EXPECTED}` })
  .transform((v, ctx) => {
    const ms = tryParseDuration(v);
    if (ms === undefined || ms <= 0) {
      ctx.issues.push({ code: 'custom', input: v, message: `expected ${DURATION_EXPECTED} greater than 0, got ${JSON.stringify(v)}` });
      return z.NEVER;
    }
    return ms;
  });

export interface JumpHostSpec {
  user?: string;
  host: string;
  port?: number;
}

/** `[user@]host[:port]`, IPv6 in brackets (`[fd00::1]:22`). */
export function parseJumpHost(text: string): JumpHostSpec | undefined {
  const m = /^(?:([^@\s:/]+)@)?(\[[0-9A-Fa-f:.%]+\]|[^@\s:/[\]]+)(?::(\d{1,5}))?$/.exec(text.trim());
  if (!m || m[2] === undefined) return undefined;
  const host = m[2].startsWith('[') ? m[2].slice(1, -1) : m[2];
  if (!HOST.test(host)) return undefined;
  if (m[1] !== undefined && !USER.test(m[1])) return undefined;
  const spec: JumpHostSpec = { host };
  if (m[1] !== undefined) spec.user = m[1];
  if (m[3] !== undefined) {
    const port = Number(m[3]);
    if (port < 1 || port > 65535) return undefined;
    spec.port = port;
  }
  return spec;
}

/**
 * `ssh -J` text: one `[user@]host[:port]`, or a comma-separated chain of them, first hop first. The
 * problem with the first malformed hop, or the hops.
 */
export function parseJumpChain(text: string): { hops: JumpHostSpec[] } | { problem: string } {
  const parts = text.split(',');
  const hops: JumpHostSpec[] = [];
  for (const [i, part] of parts.entries()) {
    const spec = parseJumpHost(part);
    if (!spec) {
      const expected = 'expected [user@]host[:port] (e.g. ops@bastion.example.com:22)';
      if (parts.length === 1) return { problem: `${expected}, got ${JSON.stringify(text)}` };
      return { problem: `jump host ${i + 1} of ${parts.length} ${JSON.stringify(part.trim())}: ${expected}, hops separated by commas, got ${JSON.stringify(text)}` };
    }
    hops.push(spec);
  }
  return { hops };
}

const jumpHostSchema = z.string().transform((v, ctx) => {
  const chain = parseJumpChain(v);
  if ('problem' in chain) {
    ctx.issues.push({ code: 'custom', input: v, message: chain.problem });
    return z.NEVER;
  }
  return chain.hops;
});

const pathString = z.string().min(1);

const sshSchema = z
  .strictObject({
    user: z.string().regex(USER, { error: 'expected a user name (letters, digits, . _ - @)' }).optional(),
    port: portSchema.optional(),
    identityFile: pathString.optional().describe('Private key; `~` is $HOME. Default: ssh-agent plus ~/.ssh/id_{ed25519,ecdsa,rsa}.'),
    knownHostsFile: pathString.optional().describe('Default ~/.ssh/known_hosts; must exist when strictHostKeyChecking is yes.'),
    strictHostKeyChecking: z
      .enum(STRICT_HOST_KEY_CHECKING)
      .optional()
      .describe('yes (default): host keys must be in knownHostsFile; accept-new: record unknown keys; no: do not verify.'),
    jumpHost: jumpHostSchema
      .optional()
      .describe('[user@]host[:port] of a bastion, like ssh -J; a chain is comma-separated, first hop first: ops@bastion1:22,admin@bastion2.'),
    connectTimeout: durationSchema.optional().describe('10s, 500ms, 2m, or seconds. Default 10s.'),
    become: z
      .enum(['none', 'sudo'])
      .optional()
      .describe('none (default): the user is root. sudo: calls that need root run through sudo -n (or with the password of --ask-become-pass).'),
  })
  .describe('SSH settings; the inventory wins over ~/.ssh/config, which wins over the defaults.');

export type SshSettings = z.output<typeof sshSchema>;

const toolsShape = {
  hccnTool: pathString.optional().describe(`Remote path of hccn_tool. Default ${DEFAULT_TOOLS.hccnTool}.`),
  npuSmi: pathString.optional().describe(`Remote npu-smi. Default ${DEFAULT_TOOLS.npuSmi}.`),
  containerRuntime: pathString.optional().describe(`Remote container runtime. Default ${DEFAULT_TOOLS.containerRuntime}.`),
};
const toolsSchema = z.strictObject(toolsShape);

const nodeSchema = z.strictObject({
  name: z
    .string()
    .max(63, { error: 'expected at most 63 characters' })
    .regex(NODE_NAME_OR_RANGE, { error: 'expected a plain name: letters, digits, - _ . (not starting with - or .)' })
    .describe('Name used in messages and --node. A range (node[01-64], gpu[1-3,7]) makes one node per name; host is then a range of as many hosts.'),
  host: z
    .string()
    .regex(HOST_OR_RANGE, { error: 'expected an address, a host name or an ~/.ssh/config alias' })
    .describe('Address, DNS name or ~/.ssh/config Host alias; a range (10.0.0.[1-64]) with a name range: the n-th name gets the n-th host.'),
  role: z.enum(['master', 'worker']).optional().describe('At most one node is master (rank 0); default: the first node.'),
  address: z
    .string()
    .refine((a) => isIP(a) !== 0, { error: 'expected an IP address of the node itself (e.g. 10.0.0.1)' })
    .optional()
    .describe("The node's own IP, rendered as MIES_CONTAINER_IP / ipAddress / server_id; set it when host is a NAT address, an alias or a name. Default: host (resolved)."),
  ssh: sshSchema.optional(),
  tools: toolsSchema.optional(),
});

export type InventoryNodeEntry = z.output<typeof nodeSchema>;

const nodesSchema = z
  .array(nodeSchema)
  .min(1, { error: 'expected at least one node' })
  .superRefine((nodes, ctx) => {
    const names = new Map<string, number>();
    const hosts = new Map<string, number>();
    let master: number | undefined;
    nodes.forEach((n, i) => {
      const firstName = names.get(n.name);
      if (firstName !== undefined) ctx.addIssue({ code: 'custom', path: [i, 'name'], input: n.name, message: `duplicate node name "${n.name}"`, params: { firstPath: [firstName, 'name'] } });
      else names.set(n.name, i);
      const key = n.host.toLowerCase();
      const firstHost = hosts.get(key);
      if (firstHost !== undefined) ctx.addIssue({ code: 'custom', path: [i, 'host'], input: n.host, message: `duplicate host "${n.host}"`, params: { firstPath: [firstHost, 'host'] } });
      else hosts.set(key, i);
      if (n.role === 'master') {
        if (master !== undefined) ctx.addIssue({ code: 'custom', path: [i, 'role'], input: n.role, message: `a second "role: master"; at most one node is the master`, params: { firstPath: [master, 'role'] } });
        else master = i;
      }
    });
  });

export const inventorySchema = z
  .strictObject({
    ssh: sshSchema.optional(),
    npusPerNode: z.int().min(1).max(32).default(DEFAULT_NPUS_PER_NODE).describe('HCCL devices per server: 8 on an Atlas 800 A2, 16 on an Atlas 800 A3 (8 NPUs × 2 dies). Left out: preflight uses what each node shows, deploy what the deployment needs (checked by preflight).'),
    checks: z
      .strictObject({
        gateway: z.enum(['optional', 'required']).default('optional').describe('required: an NPU without a gateway fails preflight.'),
        minDriver: z
          .string({ error: (iss) => (typeof iss.input === 'number' ? `expected a quoted version string such as "25.2", got number ${iss.input}: quote it` : undefined) })
          .regex(/^\d+\.\d+(\.[0-9A-Za-z]+)*$/, { error: 'expected a driver version with at least major.minor, such as "25.2" or "25.0.rc1.1"' })
          .default(DEFAULT_MIN_DRIVER)
          .describe('Minimum driver when no deployment names an image.'),
      })
      .prefault({}),
    tools: z
      .strictObject({
        hccnTool: pathString.default(DEFAULT_TOOLS.hccnTool),
        npuSmi: pathString.default(DEFAULT_TOOLS.npuSmi),
        containerRuntime: pathString.default(DEFAULT_TOOLS.containerRuntime),
      })
      .prefault({})
      .describe('Remote tool paths; a node may override any of them.'),
    nodes: nodesSchema,
  })
  .describe('ascendctl inventory: the servers and how to reach them.');

export type InventoryFile = z.output<typeof inventorySchema>;

// ---- resolved inventory ---------------------------------------------------------------------------------

export interface ToolPaths {
  hccnTool: string;
  npuSmi: string;
  containerRuntime: string;
}

/**
 * What it takes to authenticate and verify one SSH hop: the SSH engine's endpoint without the node's
 * name and jump host (a jump host is one of these itself). The agent socket is always spelled out.
 */
export type SshEndpoint = Omit<RemoteSshEndpoint, 'name' | 'jumpHost' | 'agentSocket'> & { agentSocket: string | undefined };

/** A jump host; in a chain, `jumpHost` is the hop before it (the first hop has none). */
export type ResolvedJumpHost = SshEndpoint & { jumpHost?: ResolvedJumpHost };

/** Hops in a chain, counting the ones a first hop's own ProxyJump adds: beyond this it is a loop. */
const MAX_JUMP_HOPS = 8;

export interface ResolvedNode extends SshEndpoint {
  name: string;
  jumpHost?: ResolvedJumpHost;
  tools: ToolPaths;
  role: 'master' | 'worker';
  /** Rank order: 0 is the master. */
  index: number;
  /** Position in the inventory file's `nodes:` list (for YAML paths). */
  entryIndex: number;
  /** The node's own address from `address:`; rendered instead of host wherever a node's IP is. */
  address?: string;
}

export interface Inventory {
  /** The path as given (what messages show). */
  file: string;
  absolutePath: string;
  npusPerNode: number;
  /** The file says `npusPerNode:` itself (preflight's `hardware` check compares it with the nodes). */
  npusPerNodeGiven?: boolean;
  checks: { gateway: 'optional' | 'required'; minDriver: string };
  /** The nodes to act on (after --node), master first, then inventory order. */
  nodes: ResolvedNode[];
  /** Every node of the file, in rank order; the world size counts these. */
  allNodes: ResolvedNode[];
  master: ResolvedNode;
  /** Where the ~/.ssh/config that was applied lives; undefined when there is none. */
  sshConfigPath: string | undefined;
  locate(yamlPath: YamlPath, at?: 'key' | 'value'): Location;
}

export interface LoadInventoryOptions {
  env: NodeJS.ProcessEnv;
  /** $HOME for `~` and ~/.ssh; tests pass a temporary directory. */
  home: string;
  /** `--node` names; empty or absent = every node. */
  nodeFilter?: readonly string[];
  cwd?: string;
}

const DEFAULT_IDENTITIES = ['id_ed25519', 'id_ecdsa', 'id_rsa'];

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

function localUser(env: NodeJS.ProcessEnv): string {
  const fromEnv = env['USER'] ?? env['LOGNAME'];
  if (fromEnv) return fromEnv;
  try {
    return os.userInfo().username;
  } catch {
    return 'root';
  }
}

/** An explicit inventory value and where it was written. */
interface Sourced<T> {
  value: T;
  path: YamlPath;
}

type SshKey = keyof SshSettings;

function explicitSetting<K extends SshKey>(
  key: K,
  global: SshSettings | undefined,
  node: SshSettings | undefined,
  entryIndex: number,
): Sourced<NonNullable<SshSettings[K]>> | undefined {
  const nodeVal = node?.[key];
  if (nodeVal !== undefined && nodeVal !== null) return { value: nodeVal as NonNullable<SshSettings[K]>, path: ['nodes', entryIndex, 'ssh', key] };
  const globalVal = global?.[key];
  if (globalVal !== undefined && globalVal !== null) return { value: globalVal as NonNullable<SshSettings[K]>, path: ['ssh', key] };
  return undefined;
}

interface ResolveContext {
  file: YamlFile;
  home: string;
  env: NodeJS.ProcessEnv;
  localUser: string;
  sshConfig: SshConfigFile;
  problems: Problem[];
  /** One report per missing file and source, not one per node that shares it. */
  reported: Set<string>;
}

function resolveLocalPath(p: string, ctx: ResolveContext): string {
  const expanded = expandTilde(p, ctx.home);
  return path.isAbsolute(expanded) ? expanded : path.resolve(path.dirname(ctx.file.absolutePath), expanded);
}

function report(ctx: ResolveContext, key: string, problem: Problem): void {
  if (ctx.reported.has(key)) return;
  ctx.reported.add(key);
  ctx.problems.push(problem);
}

function sshConfigName(ctx: ResolveContext): string {
  return ctx.sshConfig.path ?? '~/.ssh/config';
}

function agentFrom(cfg: SshConfigEntry, env: NodeJS.ProcessEnv): string | undefined {
  if (cfg.identityAgent === null) return undefined;
  if (cfg.identityAgent !== undefined) return cfg.identityAgent;
  const sock = env['SSH_AUTH_SOCK'];
  return sock ? sock : undefined;
}

function checkKnownHosts(
  ctx: ResolveContext,
  ep: SshEndpoint,
  sources: { knownHosts?: YamlPath; strict?: YamlPath; fallback: YamlPath; from: string },
): void {
  if (ep.strictHostKeyChecking !== 'yes' || isFile(ep.knownHostsFile)) return;
  const at = sources.knownHosts ?? sources.strict ?? sources.fallback;
  report(ctx, `known:${ep.knownHostsFile}:${sources.knownHosts ? sources.knownHosts.join('.') : sources.from}`, {
    path: at,
    message:
      `known_hosts file ${ep.knownHostsFile} (${sources.from}) does not exist, and strictHostKeyChecking is yes, so no host key ` +
      `can be verified; create it (ssh-keyscan HOST >> ${ep.knownHostsFile}, after checking the fingerprints), point ssh.knownHostsFile at ` +
      `your known_hosts, or set ssh.strictHostKeyChecking: accept-new`,
  });
}

function resolveNode(entry: InventoryNodeEntry, entryIndex: number, inv: InventoryFile, ctx: ResolveContext): Omit<ResolvedNode, 'index' | 'role'> {
  const g = inv.ssh;
  const n = entry.ssh;
  const user = explicitSetting('user', g, n, entryIndex);
  const port = explicitSetting('port', g, n, entryIndex);
  const identityFile = explicitSetting('identityFile', g, n, entryIndex);
  const knownHostsFile = explicitSetting('knownHostsFile', g, n, entryIndex);
  const strict = explicitSetting('strictHostKeyChecking', g, n, entryIndex);
  const jump = explicitSetting('jumpHost', g, n, entryIndex);
  const timeout = explicitSetting('connectTimeout', g, n, entryIndex);
  const become = explicitSetting('become', g, n, entryIndex);
  const hostPath: YamlPath = ['nodes', entryIndex, 'host'];

  let cfg: SshConfigEntry;
  try {
    cfg = ctx.sshConfig.lookup(entry.host, user?.value);
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    ctx.problems.push({ path: hostPath, message: err.message });
    cfg = {};
  }

  let identityFiles: string[];
  if (identityFile) {
    const p = resolveLocalPath(identityFile.value, ctx);
    identityFiles = [p];
    if (!isFile(p)) {
      report(ctx, `id:${identityFile.path.join('.')}`, {
        path: identityFile.path,
        message: `identity file ${p} does not exist; expected a private key file (or remove identityFile to use ssh-agent)`,
      });
    }
  } else if (cfg.identityFiles !== undefined) {
    // OpenSSH skips configured identities that do not exist; so do we.
    identityFiles = cfg.identityFiles.map((p) => resolveLocalPath(p, ctx)).filter(isFile);
  } else {
    identityFiles = DEFAULT_IDENTITIES.map((f) => path.join(ctx.home, '.ssh', f)).filter(isFile);
  }

  const agentSocket = agentFrom(cfg, ctx.env);
  const endpoint: SshEndpoint = {
    host: entry.host,
    hostname: cfg.hostname ?? entry.host,
    port: port?.value ?? cfg.port ?? 22,
    user: user?.value ?? cfg.user ?? ctx.localUser,
    identityFiles,
    useAgent: agentSocket !== undefined,
    agentSocket,
    knownHostsFile: knownHostsFile
      ? resolveLocalPath(knownHostsFile.value, ctx)
      : (cfg.knownHostsFile !== undefined ? resolveLocalPath(cfg.knownHostsFile, ctx) : path.join(ctx.home, '.ssh', 'known_hosts')),
    strictHostKeyChecking: strict?.value ?? cfg.strictHostKeyChecking ?? 'yes',
    connectTimeoutMs: timeout?.value ?? cfg.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    configFile: ctx.file.file,
    ...(become?.value === 'sudo' ? { become: 'sudo' as const } : {}),
  };
  const from = knownHostsFile ? 'from the inventory' : cfg.knownHostsFile !== undefined ? `UserKnownHostsFile in ${sshConfigName(ctx)}` : 'the default';
  const knownSources: { knownHosts?: YamlPath; strict?: YamlPath; fallback: YamlPath; from: string } = { fallback: ['nodes', entryIndex], from };
  if (knownHostsFile) knownSources.knownHosts = knownHostsFile.path;
  if (strict) knownSources.strict = strict.path;
  checkKnownHosts(ctx, endpoint, knownSources);

  const node: Omit<ResolvedNode, 'index' | 'role'> = {
    name: entry.name,
    ...endpoint,
    tools: {
      hccnTool: entry.tools?.hccnTool ?? inv.tools.hccnTool,
      npuSmi: entry.tools?.npuSmi ?? inv.tools.npuSmi,
      containerRuntime: entry.tools?.containerRuntime ?? inv.tools.containerRuntime,
    },
    entryIndex,
    ...(entry.address !== undefined ? { address: entry.address } : {}),
  };

  let jumpSpecs: JumpHostSpec[] | undefined = jump?.value;
  const jumpPath: YamlPath = jump?.path ?? hostPath;
  if (!jumpSpecs && cfg.proxyJump !== undefined) {
    const chain = parseJumpChain(cfg.proxyJump);
    if ('problem' in chain) ctx.problems.push({ path: hostPath, message: `ProxyJump ${cfg.proxyJump} in ${sshConfigName(ctx)}: ${chain.problem}` });
    else jumpSpecs = chain.hops;
  }
  if (jumpSpecs) {
    const jh = resolveJumpChain(jumpSpecs, endpoint, jumpPath, ctx);
    if (jh) node.jumpHost = jh;
  }
  return node;
}

/**
 * A chain as OpenSSH runs `ssh -J a,b node`: b is reached with `ssh -J a b`, so b's own ProxyJump
 * is overridden, while a is reached with a plain `ssh a`, so a's own ProxyJump in ssh_config, if any,
 * comes before it. Returns the last hop, each hop linked to the one before it.
 */
function resolveJumpChain(specs: JumpHostSpec[], via: SshEndpoint, at: YamlPath, ctx: ResolveContext): ResolvedJumpHost | undefined {
  const hops: { spec: JumpHostSpec; cfg: SshConfigEntry }[] = [];
  let pending = [...specs];
  while (pending.length > 0) {
    const looked: { spec: JumpHostSpec; cfg: SshConfigEntry }[] = [];
    for (const spec of pending) {
      try {
        looked.push({ spec, cfg: ctx.sshConfig.lookup(spec.host, spec.user) });
      } catch (err) {
        if (!(err instanceof InputError)) throw err;
        ctx.problems.push({ path: at, message: err.message });
        return undefined;
      }
    }
    hops.unshift(...looked);
    if (hops.length > MAX_JUMP_HOPS) {
      ctx.problems.push({
        path: at,
        message: `the jump host chain is longer than ${MAX_JUMP_HOPS} hops (${hops.map((h) => h.spec.host).join(',')}); does ProxyJump in ${sshConfigName(ctx)} loop back?`,
      });
      return undefined;
    }
    const first = looked[0];
    pending = [];
    if (first?.cfg.proxyJump !== undefined) {
      const chain = parseJumpChain(first.cfg.proxyJump);
      if ('problem' in chain) {
        ctx.problems.push({ path: at, message: `ProxyJump ${first.cfg.proxyJump} of jump host ${first.spec.host} in ${sshConfigName(ctx)}: ${chain.problem}` });
        return undefined;
      }
      pending = chain.hops;
    }
  }
  let prev: ResolvedJumpHost | undefined;
  for (const [i, { spec, cfg }] of hops.entries()) {
    const jh = resolveJumpHost(spec, cfg, via, at, ctx, hops.length > 1 ? ` ${i + 1} of ${hops.length}` : '');
    if (prev) jh.jumpHost = prev;
    prev = jh;
  }
  return prev;
}

/** One jump host: ssh_config for it, else the same settings as the node it leads to (the contract). */
function resolveJumpHost(spec: JumpHostSpec, cfg: SshConfigEntry, via: SshEndpoint, at: YamlPath, ctx: ResolveContext, position: string): ResolvedJumpHost {
  const agentSocket = cfg.identityAgent === undefined ? via.agentSocket : (cfg.identityAgent ?? undefined);
  const jh: ResolvedJumpHost = {
    host: spec.host,
    hostname: cfg.hostname ?? spec.host,
    port: spec.port ?? cfg.port ?? 22,
    user: spec.user ?? cfg.user ?? via.user,
    identityFiles: cfg.identityFiles !== undefined ? cfg.identityFiles.map((p) => resolveLocalPath(p, ctx)).filter(isFile) : via.identityFiles,
    useAgent: agentSocket !== undefined,
    agentSocket,
    knownHostsFile: cfg.knownHostsFile !== undefined ? resolveLocalPath(cfg.knownHostsFile, ctx) : via.knownHostsFile,
    strictHostKeyChecking: cfg.strictHostKeyChecking ?? via.strictHostKeyChecking,
    connectTimeoutMs: cfg.connectTimeoutMs ?? via.connectTimeoutMs,
    configFile: ctx.file.file,
  };
  checkKnownHosts(ctx, jh, { fallback: at, from: cfg.knownHostsFile !== undefined ? `UserKnownHostsFile in ${sshConfigName(ctx)} for the jump host${position}` : 'the same as the nodes' });
  return jh;
}

/** Parse, validate and resolve an inventory file. Every problem → one located InputError (exit 2). */
export async function loadInventory(file: string, opts: LoadInventoryOptions): Promise<Inventory> {
  const yamlFile = await loadYamlFile(file, {
    what: 'inventory',
    ...(opts.cwd === undefined ? {} : { cwd: opts.cwd }),
    missingHint: 'pass -i FILE, set inventory: in the deployment file or $ASCENDCTL_INVENTORY, or create ./inventory.yaml (see templates/inventory.example.yaml)',
  });
  return resolveInventory(yamlFile, opts);
}

/** Validate and resolve an already parsed inventory (tests and callers holding the text). */
export function resolveInventory(yamlFile: YamlFile, opts: LoadInventoryOptions): Inventory {
  // `name: node[01-64]` entries become one node each; messages still point at the entry as written.
  const ranges = expandNodeRanges(yamlFile);
  if (ranges.problems.length > 0) throw problemsError(yamlFile, ranges.problems);
  const mapPath = ranges.entryPath;
  const inv = parseWithSchema(ranges.file, inventorySchema, { mapPath });
  const user = localUser(opts.env);
  const ctx: ResolveContext = {
    file: yamlFile,
    home: opts.home,
    env: opts.env,
    localUser: user,
    sshConfig: loadSshConfig({ home: opts.home, env: opts.env, localUser: user }),
    problems: [],
    reported: new Set(),
  };
  const resolved = inv.nodes.map((entry, i) => resolveNode(entry, i, inv, ctx));
  // Two aliases (or an alias and an address) can name one server: that would give it two ranks.
  const servers = new Map<string, number>();
  resolved.forEach((n, i) => {
    const key = `${n.hostname.toLowerCase()}:${n.port}`;
    const first = servers.get(key);
    if (first === undefined) servers.set(key, i);
    else if (inv.nodes[first]?.host.toLowerCase() !== n.host.toLowerCase()) {
      ctx.problems.push({
        path: ['nodes', i, 'host'],
        message: `${n.host} is ${n.hostname}:${n.port} after ${sshConfigName(ctx)}, the same server as nodes[${first}]; expected every node to be a different server`,
        firstPath: ['nodes', first, 'host'],
      });
    }
  });
  if (ctx.problems.length > 0) throw problemsError(yamlFile, ctx.problems, { mapPath });

  const masterEntry = Math.max(0, inv.nodes.findIndex((n) => n.role === 'master'));
  const ordered = [resolved[masterEntry]!, ...resolved.filter((_, i) => i !== masterEntry)];
  const allNodes: ResolvedNode[] = ordered.map((n, index) => ({
    ...n, index, role: index === 0 ? 'master' : 'worker', entryIndex: ranges.origin[n.entryIndex] ?? n.entryIndex,
  }));

  let nodes = allNodes;
  // `--node 'node[03-05]'`, `--node a,b`: node sets, expanded as the inventory's ranges are.
  const filter = nodeFilterNames(opts.nodeFilter ?? []);
  if (filter.length > 0) {
    const known = new Set(allNodes.map((n) => n.name));
    const unknown = [...new Set(filter.filter((f) => !known.has(f)))];
    if (unknown.length > 0) {
      throw new InputError(
        `--node ${foldNodeSetParts(unknown).join(', ')}: no such node in ${yamlFile.file}; the nodes are: ${foldNodeSetParts(allNodes.map((n) => n.name)).join(', ')}`,
        { hint: `use one of the names above with --node (ranges like --node 'node[03-05]' work too)` },
      );
    }
    const wanted = new Set(filter);
    nodes = allNodes.filter((n) => wanted.has(n.name));
  }

  return {
    file: yamlFile.file,
    absolutePath: yamlFile.absolutePath,
    npusPerNode: inv.npusPerNode,
    npusPerNodeGiven: typeof yamlFile.data === 'object' && yamlFile.data !== null && 'npusPerNode' in yamlFile.data,
    checks: { gateway: inv.checks.gateway, minDriver: inv.checks.minDriver },
    nodes,
    allNodes,
    master: allNodes[0]!,
    sshConfigPath: ctx.sshConfig.path,
    locate: yamlFile.locate,
  };
}

/** Every name the `--node` values stand for, in order, each once; a malformed range is bad input (exit 2). */
export function nodeFilterNames(values: readonly string[]): string[] {
  const out: string[] = [];
  for (const v of values) {
    try {
      out.push(...expandNodeSet(v));
    } catch (err) {
      if (!(err instanceof NodeSetError)) throw err;
      throw new InputError(`--node ${v}: ${err.message}`, { hint: `write node names, comma lists or ranges: --node node1,node2 or --node 'node[03-05]'` });
    }
  }
  return [...new Set(out)];
}

// ---- where the inventory comes from ----------------------------------------------------------------------

export type InventorySource = 'flag' | 'deployment' | 'env' | 'default';

export interface InventoryPathOptions {
  /** `-i FILE`. */
  flag?: string | undefined;
  /** The deployment file's `inventory:` value (relative to the deployment file). */
  deploymentInventory?: string | undefined;
  /** Directory of the deployment file. */
  deploymentDir?: string | undefined;
  /**
   * The inventory a recorded deploy from this directory used (absolute): after $ASCENDCTL_INVENTORY, in
   * place of ./inventory.yaml, so that a later shell finds the deploy's nodes without the variable.
   */
  recorded?: string | undefined;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** For `~` in the deployment's value; default $HOME from env. */
  home?: string;
}

export interface InventoryPath {
  /** Absolute. */
  path: string;
  /** As the user wrote it, for messages. */
  display: string;
  source: InventorySource;
}

/** The contract's order: -i FILE, else the deployment's `inventory:`, else $ASCENDCTL_INVENTORY, else ./inventory.yaml. */
export function resolveInventoryPath(opts: InventoryPathOptions): InventoryPath {
  const home = opts.home ?? opts.env['HOME'] ?? os.homedir();
  if (opts.flag !== undefined && opts.flag !== '') {
    return { path: path.resolve(opts.cwd, expandTilde(opts.flag, home)), display: opts.flag, source: 'flag' };
  }
  if (opts.deploymentInventory !== undefined && opts.deploymentInventory !== '') {
    const base = opts.deploymentDir ?? opts.cwd;
    const p = path.resolve(opts.cwd, base, expandTilde(opts.deploymentInventory, home));
    return { path: p, display: path.relative(opts.cwd, p) || p, source: 'deployment' };
  }
  const fromEnv = opts.env['ASCENDCTL_INVENTORY'];
  if (fromEnv !== undefined && fromEnv !== '') {
    return { path: path.resolve(opts.cwd, expandTilde(fromEnv, home)), display: fromEnv, source: 'env' };
  }
  if (opts.recorded !== undefined && opts.recorded !== '') {
    return { path: opts.recorded, display: path.relative(opts.cwd, opts.recorded) || opts.recorded, source: 'deployment' };
  }
  return { path: path.resolve(opts.cwd, 'inventory.yaml'), display: 'inventory.yaml', source: 'default' };
}
