import type { Context } from '../context.js';
import type { ExitCode } from '../errors.js';
import { InputError } from '../errors.js';
import * as specs from '../command-specs.js';
import { deploy } from '../deploy/apply.js';
import { writeRecord } from '../deploy/record.js';
import { createDeployReporter } from '../ui/deploy-reporter.js';
import { loadTargets } from './load.js';
import { readOptions } from './options.js';
import { redactEnvFile } from '../ui/redact.js';
import { jumpChain, sshCommand } from '../remote/endpoint.js';
import { runCommandFor, runtimeOf } from '../deploy/run-command.js';
import { foldNodeSetParts } from '../config/nodeset.js';

export default async function deployCommand(ctx: Context, args: string[], given: Record<string, unknown>): Promise<ExitCode> {
  const opts = readOptions(specs.deploy, given);
  const { timeout: timeoutMs, parallel } = opts;
  const { inventory, deployment } = await loadTargets(ctx, { deployment: args[0], inventoryFlag: opts.inventory });
  if (!deployment) throw new InputError('deploy needs a deployment file');

  const pool = await ctx.pool({ maxConnecting: parallel });
  const reporter = createDeployReporter(ctx.out, inventory.npusPerNode);
  const c = ctx.out.color;
  const servingLine = (name: string, seconds: number): string => `${c.green(ctx.out.symbols().ok)} ${name} is serving after ${seconds.toFixed(1)} s`;
  let announced = false;
  try {
    const result = await deploy({
      loaded: deployment,
      inventory,
      pool,
      reporter,
      signal: ctx.signal,
      dryRun: Boolean(opts.dryRun),
      skipPreflight: Boolean(opts.skipPreflight),
      keepOnFailure: Boolean(opts.keepOnFailure),
      ...(opts.imageArchive ? { imageArchive: opts.imageArchive } : {}),
      timeoutMs,
      // Recorded as soon as it runs, so that status, logs and stop find a deployment that then fails.
      onStarted: (record) => writeRecord(ctx.cwd, record),
      // The ready line goes out the moment the endpoint answers; the record follows.
      onReady: (record, seconds) => {
        if (ctx.out.json) return;
        reporter.stop();
        ctx.out.line(servingLine(record.name, seconds));
        announced = true;
      },
    });
    reporter.stop();
    if (result.status === 'dry-run') {
      if (ctx.out.json) {
        ctx.out.document({
          status: 'dry-run',
          digest: result.rendered.digest,
          nodes: result.rendered.nodes.map((n) => ({
            node: n.node.name, address: n.node.host, role: n.node.index === 0 ? 'master' : 'worker',
            files: n.files.map((f) => ({ path: f.path, mode: f.mode.toString(8), content: shown(f) })),
            command: runCommandFor(runtimeOf(inventory.allNodes, n.node.name), n.containerArgv).argv,
          })),
        });
        return 0;
      }
      ctx.out.line(c.bold('Plan (dry run: nothing was changed):'));
      for (const l of result.plan) ctx.out.line(`  ${l}`);
      for (const n of result.rendered.nodes) {
        for (const f of n.files) {
          ctx.out.line('');
          ctx.out.line(c.bold(`── ${n.node.name}:${f.path}`));
          ctx.out.line(shown(f).replace(/\n$/, ''));
        }
      }
      return 0;
    }
    await writeRecord(ctx.cwd, result.record);
    if (ctx.out.json) {
      ctx.out.document({
        status: result.status,
        name: result.record.name,
        endpoint: `${result.record.endpoint}/v1`,
        model: result.record.model,
        nodes: result.record.nodes,
        ...(result.status === 'ready' ? { seconds: result.seconds } : {}),
      });
      return 0;
    }
    const s = ctx.out.symbols();
    if (result.status === 'unchanged') {
      ctx.out.line(`${c.green(s.ok)} ${result.record.name} is already running with exactly this configuration: nothing to do`);
    } else if (!announced) {
      ctx.out.line(servingLine(result.record.name, result.seconds));
    }
    ctx.out.line(`  endpoint  ${result.record.endpoint}/v1   (OpenAI-compatible)`);
    ctx.out.line(`  model     ${result.record.model}`);
    const masterName = result.record.nodes.find((n) => n.role === 'master')?.name;
    const master = inventory.nodes.find((n) => n.name === masterName);
    if (master?.jumpHost) {
      const jump = master.jumpHost;
      const url = new URL(result.record.endpoint);
      const port = url.port || '80';
      const through = jump.jumpHost ? `the jump hosts ${jumpChain(master).map((h) => `${h.user}@${h.hostname}`).join(', ')}` : `the jump host ${jump.user}@${jump.hostname}`;
      ctx.out.line(`  reached   over SSH through ${through}: chat, bench and status tunnel on their own`);
      ctx.out.line(c.dim(`            other clients: ${sshCommand(master, `${port}:${url.hostname}:${port}`)}`));
    }
    // The master, then the workers folded: `node01 (master), node[02-64]`.
    const workers = result.record.nodes.filter((n) => n.role !== 'master').map((n) => n.name);
    ctx.out.line(`  nodes     ${[...(masterName ? [`${masterName} (master)`] : []), ...foldNodeSetParts(workers)].join(', ')}`);
    ctx.out.line(c.dim(`next: ascendctl chat · ascendctl logs -f · ascendctl status · ascendctl stop`));
    return 0;
  } finally {
    reporter.stop();
  }
}

/** A rendered file as printed: the env file without the values of secret-looking variables. */
function shown(f: { path: string; content: string }): string {
  return f.path.endsWith('/env') ? redactEnvFile(f.content) : f.content;
}
