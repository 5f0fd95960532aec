/**
 * The simulator's entry (bundled as dist/sim.js):
 *
 *   node dist/sim.js serve --spec FILE [--front ssh2|shim] [--control-port N] [--shim-port N]
 *        [--authorized-key FILE] [--host-key-dir DIR] [--fs mem|dir:<root with {pid} or {node}>]
 *
 * prints one JSON ready line on stdout when listening; SIGTERM/SIGINT stop everything. The demo, the
 * tests and the benchmarks use `startSimCluster()` in-process instead.
 */
import './esm-globals.js';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PROGRAM_PATHS } from './ascend-node.js';
import { parseClusterSpec, parseFaults, type SimClusterSpec, type SimNodeSpec } from './cluster-spec.js';
import { SimCluster, type SimNodeExtension } from './cluster.js';
import { DirFs } from './dir-fs.js';
import { MemFs } from './mem-fs.js';
import { generateHostKey, SshFront, type HostKeyPair } from './ssh-server.js';
import { materializeNodeFiles, ShimServer } from './shim-server.js';
import type { SimFault, SimFs } from './types.js';
import { servingRecord } from './serving-record.js';

export interface StartSimClusterOptions {
  spec: SimClusterSpec;
  /** 'ssh2' (default): in-process SSH servers; 'shim': TCP server for shims on real sshd nodes; 'none'. */
  front?: 'ssh2' | 'shim' | 'none';
  /** Public keys allowed to log in (ssh2 front). When empty, a client key pair is generated and returned. */
  authorizedKeys?: string[];
  /** Host key per node name; generated when missing. */
  hostKeys?: Map<string, HostKeyPair>;
  /** 'mem' (default) or a `dir:` root template (`{pid}` = spec pid, `{node}` = name); spec fsRoot wins. */
  fs?: 'mem' | `dir:${string}`;
  /** Extra per-node extensions; the container runtime is added unless `withContainerRuntime` is false. */
  extensions?: SimNodeExtension[];
  withContainerRuntime?: boolean;
  /** Control HTTP API on 127.0.0.1 (0 = any port); off when undefined. */
  controlPort?: number;
  /** Port of the shim server (shim front); default any. */
  shimPort?: number;
}

export interface RunningSimNode {
  name: string;
  host: string;
  sshPort: number;
  /** `ssh-ed25519 AAAA…` (ssh2 front). */
  hostPublicKey?: string;
  /** `[host]:port ssh-ed25519 AAAA…` for a known_hosts file (ssh2 front). */
  knownHostsLine?: string;
}

export interface RunningSimCluster {
  cluster: SimCluster;
  nodes: RunningSimNode[];
  /** Generated client key (OpenSSH texts) when no authorized key was given (ssh2 front). */
  clientKey?: HostKeyPair;
  shimPort?: number;
  controlPort?: number;
  controlUrl?: string;
  /** Program name → path on the nodes (where shims go). */
  programs: Record<string, string>;
  setFaults(node: string, faults: SimFault[]): Promise<void>;
  nodeDown(node: string): Promise<void>;
  nodeUp(node: string): Promise<void>;
  /** Kill the live SSH connections of a node; returns how many (0 without an ssh2 front). */
  dropConnections(node: string): number;
  /** `direct-tcpip` channels a node opened, by "host:port" (empty without an ssh2 front). */
  forwards(node: string): Map<string, number>;
  stop(): Promise<void>;
}

function fsFactory(mode: StartSimClusterOptions['fs']): (spec: SimNodeSpec) => SimFs {
  if (mode === undefined || mode === 'mem') return () => new MemFs();
  const template = mode.slice('dir:'.length);
  return (spec) => {
    if (spec.fsRoot) return new DirFs(spec.fsRoot);
    if (template.includes('{pid}') && spec.pid === undefined) {
      throw new Error(`node ${spec.name}: the fs template ${template} needs a "pid" in the spec`);
    }
    return new DirFs(template.replaceAll('{pid}', String(spec.pid ?? '')).replaceAll('{node}', spec.name));
  };
}

/** The container runtime's extension, when that module provides one. */
async function containerRuntimeExtension(): Promise<SimNodeExtension | undefined> {
  try {
    const mod = (await import('./container-runtime.js')) as Record<string, unknown>;
    const make = mod['createContainerRuntimeExtension'];
    return typeof make === 'function' ? (make as () => SimNodeExtension)() : undefined;
  } catch {
    return undefined;
  }
}

export async function startSimCluster(opts: StartSimClusterOptions): Promise<RunningSimCluster> {
  const front = opts.front ?? 'ssh2';
  const extensions = [...(opts.extensions ?? [])];
  if (opts.withContainerRuntime !== false) {
    const runtime = await containerRuntimeExtension();
    if (runtime) extensions.unshift(runtime);
  }
  const dirFs = opts.fs !== undefined && opts.fs !== 'mem';
  const cluster = new SimCluster(opts.spec, {
    extensions,
    fs: fsFactory(opts.fs),
    // With real sshd nodes the shims sit at the program paths, not placeholders.
    installProgramFiles: !(front === 'shim' && dirFs),
  });
  await cluster.start();

  const cleanups: (() => Promise<void>)[] = [];
  let sshFront: SshFront | undefined;
  let clientKey: HostKeyPair | undefined;
  let shimPort: number | undefined;
  try {
    if (front === 'ssh2') {
      let keys = opts.authorizedKeys ?? [];
      if (keys.length === 0) {
        clientKey = generateHostKey();
        keys = [clientKey.public];
      }
      sshFront = new SshFront({ cluster, authorizedKeys: keys, ...(opts.hostKeys ? { hostKeys: opts.hostKeys } : {}) });
      await sshFront.start();
      const s = sshFront;
      cleanups.push(() => s.stop());
    } else if (front === 'shim') {
      const shim = new ShimServer(cluster);
      shimPort = await shim.listen(opts.shimPort ?? 0);
      cleanups.push(() => shim.close());
      if (dirFs) for (const node of cluster.nodes) await materializeNodeFiles(node, node.fs, shimPort);
    }
  } catch (err) {
    for (const c of cleanups.reverse()) await c();
    cluster.stop();
    throw err;
  }

  const programs: Record<string, string> = {};
  for (const node of cluster.nodes) for (const p of node.programs.keys()) programs[p] = node.programPath(p);

  const running: RunningSimCluster = {
    cluster,
    nodes: cluster.nodes.map((n) => {
      const entry: RunningSimNode = { name: n.name, host: n.host, sshPort: n.sshPort };
      if (sshFront) {
        entry.hostPublicKey = sshFront.hostKey(n.name).public;
        entry.knownHostsLine = `[${n.host}]:${n.sshPort} ${entry.hostPublicKey}`;
      }
      return entry;
    }),
    ...(clientKey ? { clientKey } : {}),
    ...(shimPort !== undefined ? { shimPort } : {}),
    programs,
    setFaults: (name, faults) => cluster.node(name).setFaults(faults),
    nodeDown: async (name) => {
      const node = cluster.node(name);
      if (!node.down) await node.setFaults([...node.faults, { kind: 'node-down' }]);
    },
    nodeUp: async (name) => {
      const node = cluster.node(name);
      await node.setFaults(node.faults.filter((f) => f.kind !== 'node-down'));
    },
    dropConnections: (name) => sshFront?.dropConnections(cluster.node(name).name) ?? 0,
    forwards: (name) => sshFront?.forwards(cluster.node(name).name) ?? new Map<string, number>(),
    stop: async () => {
      cluster.stop();
      for (const c of cleanups.reverse()) await c();
      cleanups.length = 0;
    },
  };

  if (opts.controlPort !== undefined) {
    const control = await startControlServer(running, opts.controlPort);
    running.controlPort = control.port;
    running.controlUrl = `http://127.0.0.1:${control.port}`;
    cleanups.push(() => new Promise<void>((resolve) => control.server.close(() => resolve())));
  }
  return running;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const parts: Buffer[] = [];
  for await (const c of req) parts.push(c as Buffer);
  return Buffer.concat(parts).toString('utf8');
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(`${JSON.stringify(body)}\n`);
}

function nodeState(running: RunningSimCluster): unknown {
  return running.cluster.nodes.map((n) => ({
    name: n.name, host: n.host, sshPort: n.sshPort, down: n.down, faults: n.faults,
    deviceIps: n.deviceIps(), tls: n.tlsSwitches(), listeners: n.listeningSockets(), programs: [...n.programs.keys()],
    serving: servingRecord(n.shared, n.name),
  }));
}

/** Control API on 127.0.0.1: GET /state, PUT /nodes/:name/faults, POST /nodes/:name/{drop,down,up}. */
export async function startControlServer(running: RunningSimCluster, port: number): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const m = /^\/nodes\/([^/]+)\/(faults|drop|down|up)$/.exec(url.pathname);
      try {
        if (req.method === 'GET' && url.pathname === '/state') {
          return reply(res, 200, { profile: running.cluster.profile, nodes: nodeState(running) });
        }
        if (!m) return reply(res, 404, { error: `no route ${req.method} ${url.pathname}` });
        const name = decodeURIComponent(m[1] ?? '');
        if (!running.cluster.find(name)) return reply(res, 404, { error: `no simulated node ${name}` });
        const node = running.cluster.node(name);
        if (m[2] === 'faults' && req.method === 'PUT') {
          let faults: SimFault[];
          try {
            faults = parseFaults(JSON.parse(await readBody(req)));
          } catch (err) {
            return reply(res, 400, { error: `bad faults: ${err instanceof Error ? err.message : String(err)}` });
          }
          await running.setFaults(node.name, faults);
          return reply(res, 200, { node: node.name, faults: node.faults });
        }
        if (req.method !== 'POST') return reply(res, 405, { error: `use POST for ${url.pathname}` });
        if (m[2] === 'drop') return reply(res, 200, { node: node.name, dropped: running.dropConnections(node.name) });
        if (m[2] === 'down') await running.nodeDown(node.name);
        if (m[2] === 'up') await running.nodeUp(node.name);
        return reply(res, 200, { node: node.name, down: node.down });
      } catch (err) {
        return reply(res, 500, { error: err instanceof Error ? err.message : String(err) });
      }
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const addr = server.address();
  return { server, port: typeof addr === 'object' && addr ? addr.port : port };
}

interface ServeArgs {
  spec: string;
  front: 'ssh2' | 'shim';
  controlPort?: number;
  shimPort?: number;
  authorizedKey?: string;
  hostKeyDir?: string;
  fs: 'mem' | `dir:${string}`;
}

const USAGE = 'usage: sim.js serve --spec FILE [--front ssh2|shim] [--control-port N] [--shim-port N] ' +
  '[--authorized-key FILE] [--host-key-dir DIR] [--fs mem|dir:<root template>]';

export function parseServeArgs(argv: string[]): ServeArgs {
  const [cmd, ...rest] = argv;
  if (cmd !== 'serve') throw new Error(USAGE);
  const out: Partial<ServeArgs> = { front: 'ssh2', fs: 'mem' };
  for (let i = 0; i < rest.length; i++) {
    const flag = rest[i] ?? '';
    const value = rest[++i];
    if (value === undefined) throw new Error(`${flag} needs a value\n${USAGE}`);
    const port = (): number => {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`${flag}: not a port: ${value}`);
      return n;
    };
    switch (flag) {
      case '--spec': out.spec = value; break;
      case '--front':
        if (value !== 'ssh2' && value !== 'shim') throw new Error(`--front: ssh2 or shim, not ${value}`);
        out.front = value;
        break;
      case '--control-port': out.controlPort = port(); break;
      case '--shim-port': out.shimPort = port(); break;
      case '--authorized-key': out.authorizedKey = value; break;
      case '--host-key-dir': out.hostKeyDir = value; break;
      case '--fs':
        if (value !== 'mem' && !value.startsWith('dir:')) throw new Error(`--fs: mem or dir:<root>, not ${value}`);
        out.fs = value as ServeArgs['fs'];
        break;
      default: throw new Error(`unknown option ${flag}\n${USAGE}`);
    }
  }
  if (!out.spec) throw new Error(`--spec is required\n${USAGE}`);
  return out as ServeArgs;
}

/** Host keys kept in `<dir>/<node>.key` so a restarted simulator keeps the nodes' identities. */
function loadHostKeys(dir: string, names: string[]): Map<string, HostKeyPair> {
  mkdirSync(dir, { recursive: true });
  const keys = new Map<string, HostKeyPair>();
  for (const name of names) {
    const priv = join(dir, `${name}.key`);
    const pub = `${priv}.pub`;
    if (existsSync(priv) && existsSync(pub)) {
      keys.set(name, { private: readFileSync(priv, 'utf8'), public: readFileSync(pub, 'utf8').trim() });
      continue;
    }
    const k = generateHostKey();
    writeFileSync(priv, k.private, { mode: 0o600 });
    writeFileSync(pub, `${k.public}\n`);
    keys.set(name, k);
  }
  return keys;
}

export async function serve(argv: string[]): Promise<RunningSimCluster> {
  const args = parseServeArgs(argv);
  const spec = parseClusterSpec(JSON.parse(readFileSync(args.spec, 'utf8')));
  const running = await startSimCluster({
    spec,
    front: args.front,
    fs: args.fs,
    controlPort: args.controlPort ?? 0,
    ...(args.shimPort !== undefined ? { shimPort: args.shimPort } : {}),
    ...(args.authorizedKey ? { authorizedKeys: [readFileSync(args.authorizedKey, 'utf8')] } : {}),
    ...(args.hostKeyDir ? { hostKeys: loadHostKeys(args.hostKeyDir, spec.nodes.map((n) => n.name)) } : {}),
  });
  process.stdout.write(`${JSON.stringify({
    ready: true,
    front: args.front,
    controlPort: running.controlPort,
    controlUrl: running.controlUrl,
    shimPort: running.shimPort,
    programs: running.programs,
    nodes: running.nodes,
    ...(running.clientKey ? { clientKey: running.clientKey } : {}),
  })}\n`);
  return running;
}

async function main(argv: string[]): Promise<void> {
  let running: RunningSimCluster;
  try {
    running = await serve(argv);
  } catch (err) {
    process.stderr.write(`sim: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 2;
    return;
  }
  const shutdown = (): void => {
    process.off('SIGTERM', shutdown);
    process.off('SIGINT', shutdown);
    void running.stop();
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (invokedDirectly) void main(process.argv.slice(2));

export { PROGRAM_PATHS };
