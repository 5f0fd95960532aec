/**
 * The test rig's simulator process, bundled as dist/sim.js (not part of the product; ascendctl's demo
 * starts the simulator in-process):
 *
 *   node dist/sim.js serve --spec FILE [--front ssh2|shim] [--control-port N]
 *        [--fs mem|dir:<root with {pid} or {node}>]
 *
 * prints one JSON ready line on stdout when listening; SIGTERM/SIGINT stop everything. The benchmarks
 * use the ssh2 front; the real-OpenSSH tests (test/support/sshd-cluster.ts) use `--front shim` with
 * `--fs dir:/proc/{pid}/root`, each node's files in its sshd's mount namespace. For those a node of the
 * spec file may carry `pid` (for `{pid}`) and `fsRoot` (wins over the template): fields of the rig,
 * taken off before src/sim checks the spec.
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { startSimCluster } from '../../src/sim/main.js';
import { parseClusterSpec, type SimClusterSpec, type SimNodeSpec } from '../../src/sim/cluster-spec.js';
import type { SimFs } from '../../src/sim/types.js';
import { message, startControlApi } from './control-api.js';
import { DirFs } from './dir-fs.js';
import { ShimServer, writeShims } from './shim-server.js';

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

/** Where a node's files live in a real directory: the rig's fields of a node in the spec file. */
interface NodeRoot {
  pid?: number;
  fsRoot?: string;
}

/** The spec file's contents: each node's `pid` and `fsRoot` taken off, then the rest checked by src/sim. */
export function parseServeSpec(input: unknown): { spec: SimClusterSpec; roots: NodeRoot[] } {
  const roots: NodeRoot[] = [];
  const nodes = (input as { nodes?: unknown } | null)?.nodes;
  if (!Array.isArray(nodes)) return { spec: parseClusterSpec(input), roots };
  const bad = (i: number, field: string, want: string): Error =>
    new Error(`invalid simulator cluster spec:\n  nodes.${i}.${field}: ${want}`);
  const rest = nodes.map((node: unknown, i) => {
    if (typeof node !== 'object' || node === null) return node;
    const { pid, fsRoot, ...others } = node as Record<string, unknown>;
    if (pid !== undefined && !(typeof pid === 'number' && Number.isInteger(pid) && pid > 0)) {
      throw bad(i, 'pid', 'a positive integer');
    }
    if (fsRoot !== undefined && typeof fsRoot !== 'string') throw bad(i, 'fsRoot', 'a string');
    roots[i] = { ...(pid !== undefined ? { pid } : {}), ...(fsRoot !== undefined ? { fsRoot } : {}) };
    return others;
  });
  return { spec: parseClusterSpec({ ...(input as object), nodes: rest }), roots };
}

/** A DirFs per node: its `fsRoot`, else the template with `{pid}` and `{node}` filled in. */
function dirFsOf(template: string, roots: NodeRoot[]): (spec: SimNodeSpec, index: number) => SimFs {
  return (spec, index) => {
    const { pid, fsRoot } = roots[index] ?? {};
    if (fsRoot) return new DirFs(fsRoot);
    if (template.includes('{pid}') && pid === undefined) {
      throw new Error(`node ${spec.name}: the fs template ${template} needs a "pid" in the spec`);
    }
    return new DirFs(template.replaceAll('{pid}', String(pid ?? '')).replaceAll('{node}', spec.name));
  };
}

async function main(argv: string[]): Promise<void> {
  // In this order: the cluster first (its running programs abort), then the servers close.
  const stops: (() => Promise<void>)[] = [];
  const stop = async (): Promise<void> => {
    for (const s of stops.splice(0)) await s();
  };
  try {
    const args = parseServeArgs(argv);
    const { spec, roots } = parseServeSpec(JSON.parse(readFileSync(args.spec, 'utf8')));
    const template = args.fs === 'mem' ? undefined : args.fs.slice('dir:'.length);
    const shim = args.front === 'shim';
    const running = await startSimCluster({
      spec,
      front: shim ? 'none' : 'ssh2',
      fs: template === undefined ? undefined : dirFsOf(template, roots),
      // With real sshd nodes the shims sit at the program paths, not placeholders.
      installProgramFiles: !(shim && template !== undefined),
    });
    stops.push(running.stop);
    let shimPort: number | undefined;
    if (shim) {
      const server = new ShimServer(running.cluster);
      shimPort = await server.listen(0);
      stops.push(() => server.close());
      if (template !== undefined) for (const node of running.cluster.nodes) await writeShims(node, shimPort);
    }
    const control = await startControlApi(running, args.controlPort ?? 0);
    stops.push(control.close);

    const programs: Record<string, string> = {};
    for (const node of running.cluster.nodes) for (const p of node.programs.keys()) programs[p] = node.programPath(p);
    const { nodes, clientKey } = running;
    const ready = { ready: true, front: args.front, controlUrl: control.url, shimPort, programs, nodes, clientKey };
    process.stdout.write(`${JSON.stringify(ready)}\n`);
  } catch (err) {
    process.stderr.write(`sim: ${message(err)}\n`);
    process.exitCode = 2;
    await stop();
    return;
  }
  const shutdown = (): void => {
    process.off('SIGTERM', shutdown);
    process.off('SIGINT', shutdown);
    void stop();
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (invokedDirectly) void main(process.argv.slice(2));
