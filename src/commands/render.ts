import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Context } from '../context.js';
import type { ExitCode } from '../errors.js';
import { InputError } from '../errors.js';
import { readAllDeviceIps } from '../deploy/device-ips.js';
import { nodeAddresses, toRenderInput } from '../deploy/plan.js';
import { parseDeviceIps } from '../mindie/rank-table.js';
import { renderDeployment } from '../mindie/render.js';
import { SshPool } from '../remote/ssh-pool.js';
import { loadTargets } from './load.js';

export default async function render(ctx: Context, args: string[], opts: Record<string, unknown>): Promise<ExitCode> {
  const { inventory, deployment } = await loadTargets(ctx, { deployment: args[0], inventoryFlag: opts.inventory as string | undefined });
  if (!deployment) throw new InputError('render needs a deployment file');
  if (typeof opts.out !== 'string' || opts.out === '') {
    throw new InputError('render needs --out DIR', { hint: 'ascendctl render deepseek-r1.yaml --out rendered/' });
  }
  const outDir = path.resolve(ctx.cwd, opts.out);
  const addresses = await nodeAddresses(inventory.allNodes);
  const renderNodes = inventory.allNodes.map((n) => ({ name: n.name, host: addresses.get(n.name)!, index: n.index }));

  let deviceIps: Record<string, string[]>;
  if (opts.deviceIps !== undefined) {
    const file = String(opts.deviceIps);
    let json: unknown;
    try {
      json = JSON.parse(await readFile(path.resolve(ctx.cwd, file), 'utf8'));
    } catch (err) {
      throw new InputError(`--device-ips ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : `not valid JSON (${(err as Error).message})`}`,
        { hint: 'write {"<node name or host>": ["<ip of NPU 0>", "<ip of NPU 1>", …]}' });
    }
    deviceIps = parseDeviceIps(json, renderNodes);
  } else {
    const pool = new SshPool({ env: ctx.env });
    try {
      ctx.out.note(`reading NPU addresses over SSH on ${inventory.allNodes.length} nodes (or pass --device-ips FILE)`);
      deviceIps = await readAllDeviceIps(inventory.allNodes, pool, inventory.npusPerNode, ctx.signal);
    } finally {
      await pool.closeAll();
    }
  }

  const rendered = renderDeployment(toRenderInput(deployment.deployment, inventory, addresses, deviceIps));
  await mkdir(outDir, { recursive: true, mode: 0o750 });
  const written: string[] = [];
  const put = async (rel: string, content: string, mode = 0o640) => {
    const file = path.join(outDir, rel);
    await mkdir(path.dirname(file), { recursive: true, mode: 0o750 });
    await writeFile(file, content, { mode });
    written.push(rel);
  };
  if (rendered.rankTable !== null) await put('ranktable.json', rendered.rankTable);
  for (const n of rendered.nodes) {
    for (const f of n.files) {
      if (f.path.endsWith('/ranktable.json')) continue;
      await put(path.join(n.node.name, path.basename(f.path)), f.content, f.mode);
    }
    await put(path.join(n.node.name, 'container-command.sh'), `#!/bin/sh\n# what ascendctl deploy runs on ${n.node.name} (${n.node.host})\n${n.containerCommand}\n`);
  }
  ctx.out.line(`wrote ${written.length} files to ${path.relative(ctx.cwd, outDir) || '.'}:`);
  for (const w of written) ctx.out.line(`  ${w}`);
  ctx.out.line(ctx.out.color.dim(`digest ${rendered.digest.slice(0, 16)} — files on the nodes go to /var/lib/ascendctl/${deployment.deployment.name}/`));
  return 0;
}
