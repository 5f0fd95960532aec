/**
 * A scripted node for the deploy steps: a Transport whose every exec/stream is answered by a handler
 * from its argv (exit 0 with no output by default) and recorded, and whose uploads are recorded; plus
 * the fixtures (nodes, deployment, rendering, reporter) the steps take.
 */
import type { Deployment } from '../../../src/config/deployment.js';
import type { ResolvedNode } from '../../../src/config/inventory.js';
import type { RenderedDeployment } from '../../../src/mindie/render.js';
import type { ExecOptions, ExecResult, NodeTarget, StreamHandlers, Transport } from '../../../src/remote/transport.js';
import type { DeployEnv, DeployReporter } from '../../../src/deploy/steps/env.js';

export type Answer = Partial<Pick<ExecResult, 'stdout' | 'stderr' | 'code'>>;
export type Handler = (argv: readonly string[], opts: ExecOptions) => Answer | undefined | Promise<Answer | undefined>;

export class FakeNode implements Transport {
  readonly target: NodeTarget;
  readonly calls: string[][] = [];
  readonly uploads: { path: string; content: string; mode: number | undefined }[] = [];
  /** Shared call log of a cluster of fake nodes: "node: argv". */
  log: string[] = [];
  handler: Handler;
  failUpload: Error | undefined;

  constructor(name: string, handler: Handler = () => undefined) {
    this.target = { name, host: `${name}.test` };
    this.handler = handler;
  }

  async exec(argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
    this.calls.push([...argv]);
    this.log.push(`${this.target.name}: ${argv.join(' ')}`);
    const a = (await this.handler(argv, opts)) ?? {};
    return { stdout: a.stdout ?? '', stderr: a.stderr ?? '', code: a.code === undefined ? 0 : a.code, timedOut: false, durationMs: 1 };
  }

  async stream(argv: readonly string[], handlers: StreamHandlers, opts: ExecOptions = {}): Promise<ExecResult> {
    const r = await this.exec(argv, opts);
    for (const line of r.stdout.split(/(?<=\n)/)) if (line) await handlers.onStdout(Buffer.from(line));
    return { ...r, stdout: '' };
  }

  async upload(path: string, content: string | Buffer, opts: { mode?: number } = {}): Promise<void> {
    if (this.failUpload) throw this.failUpload;
    this.uploads.push({ path, content: content.toString(), mode: opts.mode });
    this.log.push(`${this.target.name}: upload ${path}`);
  }

  async close(): Promise<void> {}
}

export function resolvedNode(name: string, index: number, runtime = 'docker'): ResolvedNode {
  return {
    name, host: `${name}.test`, hostname: `127.0.0.${index + 1}`, port: 22, user: 'root', identityFiles: [], useAgent: false,
    knownHostsFile: '/dev/null', strictHostKeyChecking: 'no', connectTimeoutMs: 1000, agentSocket: undefined,
    tools: { hccnTool: 'hccn_tool', npuSmi: 'npu-smi', containerRuntime: runtime },
    role: index === 0 ? 'master' : 'worker', index, entryIndex: index,
  } as ResolvedNode;
}

/** The fields of a deployment the steps read. */
export function deployment(over: Partial<Deployment> = {}): Deployment {
  return {
    name: 'r1', backend: 'mindie', image: 'mindie:test', model: { name: 'deepseek-r1', path: '/models/r1' },
    ports: { http: 1025, management: 1026, metrics: 1027, multiNodesInfer: 1120 },
    ...over,
  } as unknown as Deployment;
}

/** A rendering with one file and a `docker run` argv per node. */
export function rendering(nodes: readonly ResolvedNode[], digest = 'sha-1'): RenderedDeployment {
  return {
    rankTable: '{}',
    digest,
    nodes: nodes.map((n) => ({
      node: { name: n.name, host: n.hostname, index: n.index },
      files: [{ path: `/var/lib/ascendctl/r1/env-${n.name}`, content: `NODE=${n.name}\n`, mode: 0o640 }],
      containerArgv: ['docker', 'run', '-d', '--name', 'ascendctl-r1', '--ipc=host', '--shm-size=500g', 'mindie:test'],
      containerCommand: 'docker run …',
      env: [],
      digest: `${digest}-${n.name}`,
    })),
  } as unknown as RenderedDeployment;
}

export interface Said {
  lines: string[];
  reporter: DeployReporter;
}

/** A reporter that keeps every line, tagged by kind. */
export function reporter(): Said {
  const lines: string[] = [];
  return {
    lines,
    reporter: {
      step: (t) => void lines.push(`step: ${t}`),
      detail: (t) => void lines.push(`detail: ${t}`),
      node: (n, t) => void lines.push(`${n}: ${t}`),
      warn: (t) => void lines.push(`warn: ${t}`),
      waiting: (t) => void lines.push(`waiting: ${t}`),
      preflight: (r) => void lines.push(`preflight: ${r.ok ? 'ok' : 'failed'}`),
    },
  };
}

/** A cluster of fake nodes (the first is the master) and the step environment over it. */
export function fakeCluster(names: string[], opts: { runtime?: string; dep?: Deployment; signal?: AbortSignal } = {}) {
  const nodes = names.map((n, i) => resolvedNode(n, i, opts.runtime));
  const log: string[] = [];
  const fakes = new Map(nodes.map((n) => {
    const f = new FakeNode(n.name);
    f.log = log;
    return [n.name, f] as const;
  }));
  const said = reporter();
  let clock = 1_000_000;
  const env: DeployEnv = {
    dep: opts.dep ?? deployment(),
    nodes,
    master: nodes[0]!,
    workers: nodes.slice(1),
    container: 'ascendctl-r1',
    dir: '/var/lib/ascendctl/r1',
    rep: said.reporter,
    signal: opts.signal ?? new AbortController().signal,
    now: () => (clock += 100),
    transport: async (n) => fakes.get(n.name)!,
  };
  /** Sets every node's handler. */
  const answer = (h: (node: string, argv: readonly string[], o: ExecOptions) => Answer | undefined | Promise<Answer | undefined>) => {
    for (const [name, f] of fakes) f.handler = (argv, o) => h(name, argv, o);
  };
  return { nodes, fakes, fake: (name: string) => fakes.get(name)!, env, said, log, answer };
}
