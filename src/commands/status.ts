import type { Context } from '../context.js';
import type { ExitCode } from '../errors.js';
import { deploymentStatus } from '../deploy/status.js';
import * as specs from '../command-specs.js';
import { loadTargets } from './load.js';
import { readOptions } from './options.js';

export default async function status(ctx: Context, args: string[], given: Record<string, unknown>): Promise<ExitCode> {
  const opts = readOptions(specs.status, given);
  const { inventory, deployment, record } = await loadTargets(ctx, { deployment: args[0], inventoryFlag: opts.inventory, useLast: true });
  const dep = deployment!.deployment;
  const pool = await ctx.pool();
  const st = await deploymentStatus(dep, inventory, pool, record, ctx.signal);
  if (ctx.out.json) {
    ctx.out.document(st);
    return st.healthy ? 0 : 1;
  }
  const c = ctx.out.color;
  const s = ctx.out.symbols();
  ctx.out.line(`${st.healthy ? c.green(s.ok) : c.red(s.fail)} ${c.bold(st.name)}  ${st.health}`);
  ctx.out.line(`  endpoint ${st.endpoint}   model ${st.model}`);
  const w = Math.max(...st.nodes.map((n) => n.node.length));
  for (const n of st.nodes) {
    const state = n.container === 'running' ? c.green(n.container) : c.red(n.container + (n.exitCode ? ` (exit ${n.exitCode})` : ''));
    const hbm = n.npus?.length
      ? `HBM ${n.npus.map((d) => `${Math.round(d.hbmUsedMb / 1024)}`).join('/')} of ${Math.round((n.npus[0]?.hbmTotalMb ?? 0) / 1024)} GB per NPU`
      : '';
    ctx.out.line(`  ${n.node.padEnd(w)}  ${n.role.padEnd(6)}  ${state}  ${c.dim(hbm)}${n.error ? `  ${c.red(n.error)}` : ''}`);
  }
  return st.healthy ? 0 : 1;
}
