import { constants } from 'node:fs';
import { access, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Context } from '../context.js';
import type { ExitCode } from '../errors.js';
import { InputError } from '../errors.js';
import { readAllDeviceIps } from '../deploy/device-ips.js';
import { runCommandFor, runtimeOf } from '../deploy/run-command.js';
import { nodeAddresses, toRenderInput } from '../deploy/plan.js';
import { parseDeviceIps } from '../mindie/rank-table.js';
import { renderDeployment } from '../mindie/render.js';
import { RenderError } from '../mindie/render-error.js';
import * as specs from '../command-specs.js';
import { loadTargets } from './load.js';
import { readOptions } from './options.js';

export default async function render(ctx: Context, args: string[], given: Record<string, unknown>): Promise<ExitCode> {
  const opts = readOptions(specs.render, given);
  const { inventory, deployment } = await loadTargets(ctx, { deployment: args[0], inventoryFlag: opts.inventory });
  if (!deployment) throw new InputError('render needs a deployment file');
  if (opts.out === undefined || opts.out === '') {
    throw new InputError('render needs --out DIR', { hint: 'ascendctl render deepseek-r1.yaml --out rendered/' });
  }
  const outDir = path.resolve(ctx.cwd, opts.out);
  // A directory that cannot be written is found before any node is contacted.
  await prepareOutDir(outDir, opts.out);
  const addresses = await nodeAddresses(inventory.allNodes);
  const renderNodes = inventory.allNodes.map((n) => ({ name: n.name, host: addresses.get(n.name)!, index: n.index }));

  let deviceIps: Record<string, string[]>;
  const ipsFile = opts.deviceIps;
  if (ipsFile !== undefined) {
    let text: string;
    try {
      text = await readFile(path.resolve(ctx.cwd, ipsFile), 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new InputError(`--device-ips ${ipsFile}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : `cannot be read (${code ?? (err as Error).message})`}`,
        { hint: 'pass a JSON file: {"<node name or host>": ["<ip of NPU 0>", "<ip of NPU 1>", …]}' });
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw new InputError(`--device-ips ${ipsFile}: not valid JSON (${(err as Error).message})`,
        { hint: 'write {"<node name or host>": ["<ip of NPU 0>", "<ip of NPU 1>", …]}' });
    }
    deviceIps = inFile(ipsFile, () => parseDeviceIps(json, renderNodes));
  } else {
    const pool = await ctx.pool();
    ctx.out.note(`reading NPU addresses over SSH on ${inventory.allNodes.length} nodes (or pass --device-ips FILE)`);
    deviceIps = await readAllDeviceIps(inventory.allNodes, pool, inventory.npusPerNode, ctx.signal);
  }

  const render = () => renderDeployment(toRenderInput(deployment.deployment, inventory, addresses, deviceIps));
  const rendered = ipsFile !== undefined ? inFile(ipsFile, render) : render();
  const written: string[] = [];
  const put = async (rel: string, content: string, mode = 0o640) => {
    const file = path.join(outDir, rel);
    try {
      await mkdir(path.dirname(file), { recursive: true, mode: 0o750 });
      await writeFile(file, content, { mode });
    } catch (err) {
      throw new InputError(`--out ${opts.out}: cannot write ${rel} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, {
        hint: 'choose a directory you can write to, on a disk with space',
      });
    }
    written.push(rel);
  };
  if (rendered.rankTable !== null) await put('ranktable.json', rendered.rankTable);
  for (const n of rendered.nodes) {
    for (const f of n.files) {
      if (f.path.endsWith('/ranktable.json')) continue;
      await put(path.join(n.node.name, path.basename(f.path)), f.content, f.mode);
    }
    const run = runCommandFor(runtimeOf(inventory.allNodes, n.node.name), n.containerArgv);
    await put(path.join(n.node.name, 'container-command.sh'), `#!/bin/sh\n# what ascendctl deploy runs on ${n.node.name} (${n.node.host})\n${run.text}\n`);
  }
  ctx.out.line(`wrote ${written.length} files to ${path.relative(ctx.cwd, outDir) || '.'}:`);
  for (const w of written) ctx.out.line(`  ${w}`);
  ctx.out.line(ctx.out.color.dim(`digest ${rendered.digest.slice(0, 16)} — files on the nodes go to /var/lib/ascendctl/${deployment.deployment.name}/`));
  return 0;
}

/** The output directory, or the nearest existing parent it would be made in, is a writable directory. */
async function prepareOutDir(dir: string, given: string): Promise<void> {
  const fail = (why: string): never => {
    throw new InputError(`--out ${given}: cannot be used as the output directory (${why})`, {
      hint: 'pass a directory you can write to; it is created when missing',
    });
  };
  let at = dir;
  for (;;) {
    let st;
    try {
      st = await stat(at);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' && path.dirname(at) !== at) {
        at = path.dirname(at);
        continue;
      }
      return fail(code === 'ENOTDIR' ? 'a file is in the way' : code === 'EACCES' ? 'permission denied' : (code ?? (err as Error).message));
    }
    if (!st.isDirectory()) return fail(at === dir ? 'it is a file' : `${at} is a file`);
    try {
      await access(at, constants.W_OK);
    } catch {
      fail(at === dir ? 'permission denied' : `cannot create it in ${at}: permission denied`);
    }
    return;
  }
}

/**
 * Device IPs read from a file: a problem with them is that file's (exit 2, named), not the nodes'
 * hccn.conf or npu-smi, which the renderer's hints point at for addresses read live.
 */
function inFile<T>(file: string, work: () => T): T {
  try {
    return work();
  } catch (err) {
    if (!(err instanceof RenderError) || !err.deviceIps) throw err;
    const missing = /has no entry for/.test(err.message);
    const where = err.node === undefined ? 'the file' : missing ? `an entry for ${err.node}` : `the entry for ${err.node}`;
    throw new InputError(`--device-ips ${file}: ${err.message.replace(/^the device-IPs file /, '').replace(/\) reports (\d+) NPU addresses/, ') has $1 addresses')}`, {
      hint: `${missing ? 'add' : 'fix'} ${where} in ${file}: one address per NPU, in NPU order (hccn_tool -i N -ip -g on the node shows NPU N's)`,
    });
  }
}
