/**
 * `ascendctl demo`: the whole flow against a built-in simulated cluster — no hardware, no root, no
 * Docker. The simulated nodes are in-process SSH servers on loopback (127.x.0.n) that answer like
 * Atlas 800T A2 servers (or, with --a3, Atlas 800 A3: 8 NPUs × 2 dies): hccn_tool, npu-smi, a container
 * runtime and a MindIE daemon.
 */
import type { Context } from '../context.js';
import type { ExitCode } from '../errors.js';
import { InterruptedError } from '../errors.js';
import { startDemoCluster } from '../demo/cluster.js';
import { quoteArg } from '../remote/quote.js';
import * as specs from '../command-specs.js';
import { readOptions } from './options.js';

type Step = { title: string; argv: string[]; load: () => Promise<{ default: (ctx: Context, args: string[], opts: Record<string, unknown>) => Promise<ExitCode> }>; args: string[]; opts: Record<string, unknown>; expect: ExitCode };

export default async function demo(ctx: Context, _args: string[], given: Record<string, unknown>): Promise<ExitCode> {
  const opts = readOptions(specs.demo, given);
  const { nodes } = opts;
  const c = ctx.out.color;
  const a3 = opts.a3 === true;
  ctx.out.line(c.bold(a3
    ? `Starting a simulated cluster: ${nodes} × Atlas 800 A3 (8 NPUs × 2 dies = 16 devices each) on loopback…`
    : `Starting a simulated cluster: ${nodes} × Atlas 800T A2 (8 × 910B3 each) on loopback…`));
  // A3: npusPerNode is left out of the inventory, so preflight and deploy use the 16 devices they detect.
  // `subnet` is no CLI flag: in-process tests pass it so that parallel runs keep to their own addresses.
  const subnet = typeof given.subnet === 'number' ? { subnet: given.subnet } : {};
  const cluster = await startDemoCluster({ nodes, imagePresent: false, ...subnet, ...(a3 ? { server: 'A3' as const, npusPerNode: null } : {}) });
  ctx.out.line(c.dim(`  files in ${cluster.dir}: inventory.yaml, deepseek-r1.yaml, id_ed25519, known_hosts`));
  for (const n of cluster.nodes) ctx.out.line(c.dim(`  ${n.name}  ssh root@${n.host} -p 2222`));
  const inDir: Context = { ...ctx, cwd: cluster.dir };
  const broken = cluster.nodes[1]!.name;
  const healthy = cluster.nodes[0]!.name;
  // On A3 the faults sit on second dies: device 7 is NPU 3 chip 1, device 11 is NPU 5 chip 1.
  const [downDev, tlsDev, lossDev] = a3 ? [7, 11, 13] : [3, 5, 6];
  const unit = (d: number) => (a3 ? `device ${d}` : `NPU ${d}`);

  const preflightMod = () => import('./preflight.js');
  const steps: (Step | { title: string; action: () => Promise<void> })[] = [
    { title: 'A healthy cluster: every check passes', argv: ['preflight'], load: preflightMod, args: [], opts: {}, expect: 0 },
    {
      title: `Break it: unplug ${broken} ${unit(downDev)}, turn on the TLS switch of ${broken} ${unit(tlsDev)}, make ${healthy} ${unit(lossDev)} lose a probe`,
      action: async () => {
        await cluster.sim.setFaults(broken, [{ kind: 'link-down', npu: downDev }, { kind: 'tls-on', npu: tlsDev }]);
        await cluster.sim.setFaults(healthy, [{ kind: 'ping-loss', npu: lossDev, peer: broken, lost: 1 }]);
      },
    },
    { title: 'preflight names the node, the NPU and what to do', argv: ['preflight'], load: preflightMod, args: [], opts: {}, expect: 1 },
    {
      title: 'Repair the cable and the flaky port (the TLS switch stays on)',
      action: async () => {
        await cluster.sim.setFaults(broken, [{ kind: 'tls-on', npu: tlsDev }]);
        await cluster.sim.setFaults(healthy, []);
      },
    },
    { title: '--fix sets every TLS switch to 0 and checks again', argv: ['preflight', '--fix'], load: preflightMod, args: [], opts: { fix: true }, expect: 0 },
    { title: 'Deploy DeepSeek-R1 (preflight gate, image pull, rank table, master then workers, a real one-token request)', argv: ['deploy', 'deepseek-r1.yaml'], load: () => import('./deploy.js'), args: ['deepseek-r1.yaml'], opts: { timeout: '5m' }, expect: 0 },
    { title: 'Status: containers, HBM, a one-token probe', argv: ['status'], load: () => import('./status.js'), args: [], opts: {}, expect: 0 },
    { title: 'Chat (one prompt, streamed, with latency figures)', argv: ['chat', '-p', 'Why is the sky blue? Answer in one sentence.'], load: () => import('./chat.js'), args: [], opts: { prompt: 'Why is the sky blue? Answer in one sentence.', timeout: '2m' }, expect: 0 },
    { title: 'Bench: 4 concurrent streaming requests, 16 in all', argv: ['bench', '--concurrency', '4', '--requests', '16'], load: () => import('./bench.js'), args: [], opts: { concurrency: '4', requests: '16', maxTokens: '64' }, expect: 0 },
    { title: 'Logs of every node, merged and prefixed', argv: ['logs', '--tail', '4'], load: () => import('./logs.js'), args: [], opts: { tail: '4' }, expect: 0 },
    { title: 'Stop: workers first, master last', argv: ['stop'], load: () => import('./stop.js'), args: [], opts: {}, expect: 0 },
  ];

  let failures = 0;
  try {
    for (const step of steps) {
      if (ctx.signal.aborted) throw new InterruptedError('demo interrupted');
      ctx.out.line('');
      ctx.out.line(c.cyan.bold(`## ${step.title}`));
      if ('action' in step) {
        await step.action();
        continue;
      }
      ctx.out.line(c.bold(`$ ascendctl ${step.argv.map(quoteArg).join(' ')}`));
      const mod = await step.load();
      const code = await mod.default(inDir, step.args, step.opts);
      if (code !== step.expect) {
        failures++;
        ctx.out.line(c.red(`(exit ${code}, expected ${step.expect})`));
      } else if (code !== 0) {
        ctx.out.line(c.dim(`(exit ${code}, as expected)`));
      }
    }
  } finally {
    if (opts.keep) {
      ctx.out.line('');
      ctx.out.line(c.bold(`The simulated cluster keeps running; try: cd ${cluster.dir} && ascendctl preflight`));
      ctx.out.line('Ctrl-C stops it.');
      await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve(), { once: true }));
    }
    // The steps shared the run's connections: let go of them before their nodes go away.
    await ctx.closePool();
    await cluster.stop();
  }
  ctx.out.line('');
  ctx.out.line(failures === 0 ? c.green('Demo finished: preflight → deploy → chat → bench → logs → stop all worked.') : c.red(`Demo finished with ${failures} unexpected result(s).`));
  return failures === 0 ? 0 : 1;
}
