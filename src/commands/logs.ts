/**
 * `ascendctl logs`: every node's daemon log merged into one stream by timestamp (live `-f` lines as they
 * arrive), prefixed by node. Thin: flags → targets → followLogs → LogPrinter. Exit 0 when every node's
 * log was read (or followed until Ctrl-C with every node readable), 1 when some node could not be read,
 * 130 on Ctrl-C.
 */
import { setMaxListeners } from 'node:events';
import type { Context } from '../context.js';
import type { ResolvedNode } from '../config/inventory.js';
import type { Transport } from '../remote/transport.js';
import type { ExitCode } from '../errors.js';
import { ClusterError, InputError } from '../errors.js';
import { errorDocument } from '../ui/error-document.js';
import { sinceArg } from '../logs/docker-logs.js';
import { followLogs } from '../logs/log-follower.js';
import { compileGrep, LogPrinter } from '../logs/log-printer.js';
import * as specs from '../command-specs.js';
import { intFlag, loadTargets } from './load.js';
import { readOptions } from './options.js';

export default async function logs(ctx: Context, args: string[], opts: Record<string, unknown>): Promise<ExitCode> {
  const pool = await ctx.pool();
  return await logsVia(ctx, args, opts, (node) => pool.transport(node));
}

/** The command with the transports handed in (tests pass fakes; the command passes the run's pool). */
export async function logsVia(
  ctx: Context,
  args: string[],
  given: Record<string, unknown>,
  transportOf: (node: ResolvedNode) => Transport,
): Promise<ExitCode> {
  const opts = readOptions(specs.logs, given);
  const grep = compileGrep(opts.grep);
  const since = opts.since === undefined ? undefined : sinceArg(opts.since);
  const tail = intFlag(opts.tail, '--tail', 0);
  const { inventory, deployment, record } = await loadTargets(ctx, {
    deployment: args[0],
    inventoryFlag: opts.inventory,
    nodeFilter: opts.node,
    useLast: true,
  });
  const name = record?.name ?? deployment?.deployment.name;
  if (name === undefined) throw new InputError('no deployment to show the logs of', { hint: 'pass the deployment file or name: ascendctl logs deepseek-r1.yaml' });
  const container = record?.container ?? `ascendctl-${name}`;
  const nodes = inventory.nodes;
  const byName = new Map(nodes.map((n) => [n.name, n]));

  const printer = new LogPrinter({
    out: ctx.out,
    nodes: nodes.map((n) => n.name),
    showTimestamps: Boolean(opts.timestamps),
    json: ctx.out.json,
    grep,
  });
  const signal = AbortSignal.any([ctx.signal, printer.closedSignal]);
  // Each node's stream (and its reconnect wait) listens on this signal while it runs and lets go when
  // it ends, so a rack's worth of nodes holds that many listeners at once — expected, not a leak.
  setMaxListeners(0, signal);
  const failures: { node: string; message: string; hint: string }[] = [];
  const result = await followLogs({
    nodes: nodes.map((n) => ({ name: n.name, runtime: n.tools.containerRuntime })),
    container,
    transportFor: (node) => {
      const n = byName.get(node);
      if (!n) throw new Error(`logs: unknown node ${node}`);
      return transportOf(n);
    },
    follow: Boolean(opts.follow),
    order: opts.order,
    since,
    tail,
    signal,
    onLines: (node, lines) => printer.print(node, lines),
    onEvent: (e) => {
      switch (e.type) {
        case 'disconnected':
          printer.note(e.node, `connection lost (${e.message}); reconnecting…`);
          break;
        case 'reconnected':
          printer.note(e.node, 'reconnected; resuming where it stopped');
          break;
        case 'stopped':
          printer.note(e.node, `container stopped${e.exitCode === undefined ? '' : ` (exit ${e.exitCode})`}; waiting for it to run again (Ctrl-C ends)`);
          break;
        case 'restarted':
          printer.note(e.node, 'container running again; following it');
          break;
        case 'failed':
          ctx.out.error(e.message, e.hint);
          failures.push({ node: e.node, message: e.message, hint: e.hint });
          break;
      }
    },
  });
  if (ctx.signal.aborted) return 130;
  // --json: after the lines that could be read, the failure as the error document (one object per line).
  if (ctx.out.json && failures.length > 0) {
    const rank = new Map(nodes.map((n, i) => [n.name, i]));
    failures.sort((a, b) => rank.get(a.node)! - rank.get(b.node)!);
    const message = failures.length === 1 ? failures[0]!.message
      : `cannot read the logs on ${failures.length} nodes: ${failures.map((f) => f.message).join('; ')}`;
    const err = new ClusterError(message, { hint: failures[0]!.hint, ...(failures.length === 1 ? { node: failures[0]!.node } : {}) });
    ctx.out.document(errorDocument(err, 'logs', message), true);
  }
  return result.failed.length > 0 ? 1 : 0;
}
