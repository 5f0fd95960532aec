import type { Context } from '../context.js';
import type { ExitCode } from '../errors.js';
import { stopDeployment } from '../deploy/status.js';
import * as specs from '../command-specs.js';
import { loadTargets } from './load.js';
import { readOptions } from './options.js';

export default async function stop(ctx: Context, args: string[], given: Record<string, unknown>): Promise<ExitCode> {
  const opts = readOptions(specs.stop, given);
  const { inventory, deployment } = await loadTargets(ctx, { deployment: args[0], inventoryFlag: opts.inventory, useLast: true });
  const dep = deployment!.deployment;
  const pool = await ctx.pool();
  ctx.out.note(`stopping ${dep.name}: workers first, master last`);
  const { failed } = await stopDeployment(dep, inventory, pool, (node, text) => ctx.out.note(`  ${node}: ${text}`));
  if (failed.length > 0) {
    ctx.out.error(`could not stop ${dep.name} on ${failed.join(', ')}`, 'check ssh to those nodes and run ascendctl stop again (it is safe to repeat)');
    return 1;
  }
  ctx.out.line(`${ctx.out.color.green(ctx.out.symbols().ok)} ${dep.name} stopped on ${inventory.nodes.length} node${inventory.nodes.length > 1 ? 's' : ''}`);
  return 0;
}
