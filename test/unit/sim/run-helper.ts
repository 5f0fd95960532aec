import { SimCluster, type SimClusterOptions } from '../../../src/sim/cluster.js';
import type { SimNodeSpec } from '../../../src/sim/cluster-spec.js';
import type { SimNode } from '../../../src/sim/ascend-node.js';
import { runShell } from '../../../src/sim/shell.js';
import type { LatencyProfile } from '../../../src/sim/types.js';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export const HCCN = '/usr/local/Ascend/driver/tools/hccn_tool';

export async function startCluster(nodes: Partial<SimNodeSpec>[] | number, profile: LatencyProfile = 'fast', opts: SimClusterOptions = {}): Promise<SimCluster> {
  const specs = typeof nodes === 'number' ? Array.from({ length: nodes }, () => ({})) : nodes;
  const cluster = new SimCluster({
    profile,
    nodes: specs.map((s, i) => ({ name: `node${i + 1}`, host: `127.0.1.${i + 1}`, ...s })),
  }, opts);
  await cluster.start();
  return cluster;
}

export async function sh(node: SimNode, command: string, opts: { stdin?: string; signal?: AbortSignal } = {}): Promise<RunResult> {
  let stdout = '';
  let stderr = '';
  const code = await runShell(node, command, {
    stdin: opts.stdin === undefined ? null : (async function* () { yield Buffer.from(opts.stdin ?? ''); })(),
    stdout: async (c) => { stdout += c.toString(); },
    stderr: async (c) => { stderr += c.toString(); },
    signal: opts.signal ?? new AbortController().signal,
    env: {},
  });
  return { code, stdout, stderr };
}

export async function tool(node: SimNode, name: string, argv: string[], signal?: AbortSignal): Promise<RunResult> {
  let stdout = '';
  let stderr = '';
  const code = await node.run(name, argv, {
    stdin: null,
    stdout: async (c) => { stdout += c.toString(); },
    stderr: async (c) => { stderr += c.toString(); },
    signal: signal ?? new AbortController().signal,
    env: {},
  });
  return { code, stdout, stderr };
}

export const hccn = (node: SimNode, ...argv: string[]): Promise<RunResult> => tool(node, 'hccn_tool', argv);

/** The lines of a node's file that contain `text`, as `grep text file` prints them. */
export async function grep(node: SimNode, text: string, file: string): Promise<RunResult> {
  const r = await sh(node, `cat ${file}`);
  return { ...r, stdout: r.stdout.split('\n').filter((l) => l.includes(text)).map((l) => `${l}\n`).join('') };
}
