/**
 * The simulator's entry (bundled as dist/sim.js):
 *
 *   node dist/sim.js serve --spec FILE [--front ssh2|shim] [--control-port N]
 *        [--fs mem|dir:<root with {pid} or {node}>]
 *
 * prints one JSON ready line on stdout when listening; SIGTERM/SIGINT stop everything. The demo, the
 * tests and the benchmarks use `startSimCluster()` in-process instead.
 */
import './esm-globals.js';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { listenLocal } from './byte-pipe.js';
import { parseClusterSpec, parseFaults, type SimClusterSpec, type SimNodeSpec } from './cluster-spec.js';
import { SimCluster } from './cluster.js';
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
  /** 'mem' (default) or a `dir:` root template (`{pid}` = spec pid, `{node}` = name); spec fsRoot wins. */
  fs?: 'mem' | `dir:${string}`;
  /** The container runtime (docker, MindIE, vLLM) is added unless this is false. */
  withContainerRuntime?: boolean;
  /** Control HTTP API on 127.0.0.1 (0 = any port); off when undefined. */
  controlPort?: number;
}

/** A started cluster: its nodes' addresses and keys, and the controls the tests and the demo use. */
export type RunningSimCluster = Awaited<ReturnType<typeof startSimCluster>>;

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

export async function startSimCluster(opts: StartSimClusterOptions) {
  const front = opts.front ?? 'ssh2';
  const dirFs = opts.fs !== undefined && opts.fs !== 'mem';
  // Loaded on demand: the container runtime (docker, MindIE, vLLM) stays out of the entry chunk.
  const runtime = opts.withContainerRuntime === false ? undefined : await import('./container-runtime.js');
  const cluster = new SimCluster(opts.spec, {
    extensions: runtime ? [runtime.createContainerRuntimeExtension()] : [],
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
      clientKey = generateHostKey();
      const s = new SshFront(cluster, [clientKey.public]);
      sshFront = s;
      await s.start();
      cleanups.push(() => s.stop());
    } else if (front === 'shim') {
      const shim = new ShimServer(cluster);
      shimPort = await shim.listen(0);
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
  const running = {
    cluster,
    /** `knownHostsLine`: `[host]:port ssh-ed25519 AAAA…` for a known_hosts file (ssh2 front). */
    nodes: cluster.nodes.map((n) => ({
      name: n.name, host: n.host, sshPort: n.sshPort,
      ...(sshFront ? { knownHostsLine: `[${n.host}]:${n.sshPort} ${sshFront.hostKey(n.name).public}` } : {}),
    })),
    /** The client key allowed to log in (OpenSSH texts; ssh2 front). */
    clientKey,
    shimPort,
    controlUrl: undefined as string | undefined,
    /** Program name → path on the nodes (where shims go). */
    programs,
    setFaults: (name: string, faults: SimFault[]) => cluster.node(name).setFaults(faults),
    nodeDown: async (name: string) => {
      const node = cluster.node(name);
      if (!node.down) await node.setFaults([...node.faults, { kind: 'node-down' }]);
    },
    nodeUp: async (name: string) => {
      const node = cluster.node(name);
      await node.setFaults(node.faults.filter((f) => f.kind !== 'node-down'));
    },
    /** Kill the live SSH connections of a node; returns how many (0 without an ssh2 front). */
    dropConnections: (name: string) => sshFront?.dropConnections(cluster.node(name).name) ?? 0,
    /** `direct-tcpip` channels a node opened, by "host:port" (empty without an ssh2 front). */
    forwards: (name: string) => sshFront?.forwards(cluster.node(name).name) ?? new Map<string, number>(),
    stop: async () => {
      cluster.stop();
      for (const c of cleanups.reverse()) await c();
      cleanups.length = 0;
    },
  };

  if (opts.controlPort !== undefined) {
    const server = createServer((req, res) => void control(running, req, res));
    running.controlUrl = `http://127.0.0.1:${await listenLocal(server, opts.controlPort)}`;
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  }
  return running;
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(`${JSON.stringify(body)}\n`);
}

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** Control API on 127.0.0.1: GET /state, PUT /nodes/:name/faults, POST /nodes/:name/{drop,down,up}. */
async function control(running: RunningSimCluster, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const m = /^\/nodes\/([^/]+)\/(faults|drop|down|up)$/.exec(url.pathname);
  try {
    if (req.method === 'GET' && url.pathname === '/state') {
      const nodes = running.cluster.nodes.map((n) => ({
        name: n.name, host: n.host, sshPort: n.sshPort, down: n.down, faults: n.faults, deviceIps: n.deviceIps(),
        tls: n.tlsSwitches(), listeners: n.listeningSockets(), programs: [...n.programs.keys()],
        serving: servingRecord(n.shared, n.name),
      }));
      return reply(res, 200, { profile: running.cluster.profile, nodes });
    }
    if (!m) return reply(res, 404, { error: `no route ${req.method} ${url.pathname}` });
    const node = running.cluster.find(decodeURIComponent(m[1] ?? ''));
    if (!node) return reply(res, 404, { error: `no simulated node ${decodeURIComponent(m[1] ?? '')}` });
    if (m[2] === 'faults' && req.method === 'PUT') {
      let faults: SimFault[];
      try {
        const parts: Buffer[] = [];
        for await (const c of req) parts.push(c as Buffer);
        faults = parseFaults(JSON.parse(Buffer.concat(parts).toString('utf8')));
      } catch (err) {
        return reply(res, 400, { error: `bad faults: ${message(err)}` });
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
    return reply(res, 500, { error: message(err) });
  }
}

interface ServeArgs {
  spec: string;
  front: 'ssh2' | 'shim';
  controlPort?: number;
  fs: 'mem' | `dir:${string}`;
}

const USAGE = 'usage: sim.js serve --spec FILE [--front ssh2|shim] [--control-port N] [--fs mem|dir:<root template>]';

export function parseServeArgs(argv: string[]): ServeArgs {
  const string = { type: 'string' } as const;
  const options = { spec: string, front: string, 'control-port': string, fs: string };
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options });
  } catch (err) {
    throw new Error(`${message(err)}\n${USAGE}`);
  }
  const { positionals, values: v } = parsed;
  if (positionals.join(' ') !== 'serve') throw new Error(USAGE);
  if (!v.spec) throw new Error(`--spec is required\n${USAGE}`);
  const front = v.front ?? 'ssh2';
  if (front !== 'ssh2' && front !== 'shim') throw new Error(`--front: ssh2 or shim, not ${front}`);
  const fs = v.fs ?? 'mem';
  if (fs !== 'mem' && !fs.startsWith('dir:')) throw new Error(`--fs: mem or dir:<root>, not ${fs}`);
  const port = Number(v['control-port']);
  if (v['control-port'] !== undefined && !(Number.isInteger(port) && port >= 0 && port <= 65535)) {
    throw new Error(`--control-port: not a port: ${v['control-port']}`);
  }
  const controlPort = v['control-port'] !== undefined ? { controlPort: port } : {};
  return { spec: v.spec, front, fs: fs as ServeArgs['fs'], ...controlPort };
}

async function main(argv: string[]): Promise<void> {
  let running: RunningSimCluster;
  try {
    const args = parseServeArgs(argv);
    const spec = parseClusterSpec(JSON.parse(readFileSync(args.spec, 'utf8')));
    running = await startSimCluster({ spec, front: args.front, fs: args.fs, controlPort: args.controlPort ?? 0 });
    const { controlUrl, shimPort, programs, nodes, clientKey } = running;
    const ready = { ready: true, front: args.front, controlUrl, shimPort, programs, nodes, clientKey };
    process.stdout.write(`${JSON.stringify(ready)}\n`);
  } catch (err) {
    process.stderr.write(`sim: ${message(err)}\n`);
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
