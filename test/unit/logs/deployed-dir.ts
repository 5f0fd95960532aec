import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { createContext, type Context } from '../../../src/context.js';
import { writeRecord } from '../../../src/deploy/record.js';

/**
 * A directory as `ascendctl deploy` leaves it for `logs`: inventory, deployment file (dp = nodes,
 * tp 8) and the local record of deployment r1. The caller removes it (`dirs`).
 */
export async function deployedDir(nodes: readonly { name: string; host: string }[], dirs: string[]): Promise<string> {
  const cwd = await mkdtemp(path.join(tmpdir(), 'ascendctl-logs-'));
  dirs.push(cwd);
  await writeFile(path.join(cwd, 'inventory.yaml'), [
    'ssh:', '  user: root', '  strictHostKeyChecking: "no"', 'nodes:',
    ...nodes.flatMap((n) => [`  - name: ${n.name}`, `    host: ${n.host}`]), '',
  ].join('\n'));
  await writeFile(path.join(cwd, 'r1.yaml'), [
    'name: r1', 'inventory: inventory.yaml', 'backend: mindie', 'image: registry.test/mindie:2.1.RC1-800I-A2-py311-openeuler24.03-lts',
    'model:', '  path: /data/models/DeepSeek-R1', '  name: m',
    'parallel:', `  dataParallelSize: ${nodes.length}`, '  tensorParallelSize: 8', '  moeTensorParallelSize: 1', `  moeExpertParallelSize: ${nodes.length * 8}`, '',
  ].join('\n'));
  await writeRecord(cwd, {
    name: 'r1', deploymentFile: path.join(cwd, 'r1.yaml'), inventoryFile: path.join(cwd, 'inventory.yaml'), backend: 'mindie',
    endpoint: `http://${nodes[0]?.host ?? '127.0.0.1'}:1025`, model: 'm', nodes: [], container: 'ascendctl-r1', digest: 'x', deployedAt: new Date(0).toISOString(),
  });
  return cwd;
}

/** A Context in `cwd` whose output is collected; `abortOn` presses Ctrl-C once stderr matches it (-f). */
export function captureLogsContext(cwd: string, json = false, abortOn?: RegExp): { ctx: Context; out(): string; err(): string } {
  const stdout = Object.assign(new PassThrough(), { isTTY: false });
  const stderr = Object.assign(new PassThrough(), { isTTY: false });
  const ac = new AbortController();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => (out += c.toString()));
  stderr.on('data', (c: Buffer) => {
    err += c.toString();
    if (abortOn?.test(err)) ac.abort();
  });
  const ctx = createContext({ signal: ac.signal, env: { NO_COLOR: '1', LANG: 'C.UTF-8', HOME: cwd }, cwd, stdout, stderr, json });
  return { ctx, out: () => out, err: () => err };
}
