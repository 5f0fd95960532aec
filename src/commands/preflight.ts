import type { Context } from '../context.js';
import type { ExitCode } from '../errors.js';
import { InterruptedError } from '../errors.js';
import * as specs from '../command-specs.js';
import { runPreflight } from '../preflight/run.js';
import { createNodeProgress } from '../ui/node-progress.js';
import { renderPreflightReport } from '../ui/preflight-report.js';
import { loadTargets } from './load.js';
import { readOptions } from './options.js';

export default async function preflight(ctx: Context, args: string[], given: Record<string, unknown>): Promise<ExitCode> {
  const opts = readOptions(specs.preflight, given);
  const { callTimeout: callTimeoutMs, busyTimeout: busyBudgetMs, parallel } = opts;
  const { inventory, deployment } = await loadTargets(ctx, {
    deployment: args[0],
    inventoryFlag: opts.inventory,
    nodeFilter: opts.node,
  });

  const pool = await ctx.pool({ maxConnecting: parallel });
  const progress = createNodeProgress(ctx.out, inventory.nodes.map((n) => n.name), { quiet: ctx.out.json && !ctx.out.stderrInteractive });
  const interrupted = () => new InterruptedError(opts.fix ? 'preflight --fix interrupted; run it again to finish' : 'preflight interrupted; nothing was changed on the nodes');
  try {
    const result = await runPreflight({
      inventory,
      ...(deployment ? { deployment: deployment.deployment } : {}),
      pool,
      fix: Boolean(opts.fix),
      pingMode: opts.ping,
      ...(callTimeoutMs !== undefined ? { callTimeoutMs } : {}),
      busyBudgetMs,
      signal: ctx.signal,
      onProgress: (e) => {
        if (e.step === 'done' || e.step === 'unreachable') progress.finish(e.node, e.step === 'done', e.step === 'done' ? '' : 'unreachable');
        else progress.update(e.node, e.step, e.done, e.total);
      },
    }).catch((err: unknown) => {
      // Ctrl-C may surface as whatever the step it landed in made of it (a cancelled call during
      // --fix, a timer's AbortError): after an abort, any of them is the interruption (exit 130).
      if (ctx.signal.aborted && !(err instanceof InterruptedError)) throw interrupted();
      throw err;
    });
    await progress.close();
    // An interrupted run reports every unfinished call as failed: that is not a verdict on the cluster.
    if (ctx.signal.aborted) throw interrupted();
    if (ctx.out.json) {
      // Every finding carries the contract's fields, hint included: empty when there is nothing to do.
      ctx.out.document({ ok: result.ok, findings: result.findings.map((f) => ({ ...f, hint: f.hint ?? '' })) });
    } else {
      ctx.out.line(renderPreflightReport({ ...result, npusPerNode: inventory.npusPerNode }, ctx.out));
    }
    return result.ok ? 0 : 1;
  } finally {
    await progress.close();
  }
}
