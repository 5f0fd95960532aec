/**
 * Nodes whose login shell talks before every command (~/.bashrc echo lines, /etc/profile.d notices),
 * on stdout and stderr: preflight, deploy, status, logs and stop give the same results as on quiet
 * nodes (in-process simulated clusters, real SSH protocol).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemoCluster, type DemoCluster } from '../../src/demo/cluster.js';
import { runInProcess } from '../support/in-process.js';
import { commands } from '../support/commands.js';

/** Noise that would break every parser if it reached one: JSON, a fake tool line, a fake exit text. */
const BANNER = {
  stdout: 'Last login: Sun Dec  6 21:00:00 2026 from 10.0.0.250\n{"notice": "maintenance window Friday"}\nNPU ID  Health OK\n',
  stderr: '*** Authorized use only ***\nError: this is not an error, just the motd\n',
};


let noisy: DemoCluster;
let quiet: DemoCluster;

beforeAll(async () => {
  [noisy, quiet] = await Promise.all([
    startDemoCluster({ nodes: 2, subnet: 140, banner: BANNER }),
    startDemoCluster({ nodes: 2, subnet: 141 }),
  ]);
});
afterAll(async () => {
  await Promise.all([noisy?.stop(), quiet?.stop()]);
});

function run(c: DemoCluster, cmd: keyof typeof commands, args: string[], opts: Record<string, unknown> = {}) {
  return runInProcess(commands[cmd], args, opts, { cwd: c.dir, home: c.dir });
}

/** A finding without the figures that differ from run to run (clock offsets, addresses' subnet). */
function shape(f: any): string {
  return `${f.node} ${f.npu ?? '-'} ${f.check} ${f.status} ${String(f.message).replace(/127\.\d+\./g, '127.x.').replace(/[-+]?\d+(\.\d+)?\s*(ms|s)\b/g, 'T')}`;
}

describe('noisy login shells', () => {
  it('the simulated node really prints the banner before every command', async () => {
    const { SshPool } = await import('../../src/remote/ssh-pool.js');
    const { loadInventory } = await import('../../src/config/inventory.js');
    const inv = await loadInventory(noisy.inventoryPath, { home: noisy.dir, env: process.env });
    const pool = new SshPool({ env: {} });
    try {
      const t = pool.transport(inv.nodes[0]!);
      const r = await t.exec(['sh', '-c', 'echo out; echo err >&2; exit 3']);
      // Through the framing only the command's own output arrives …
      expect(r).toMatchObject({ stdout: 'out\n', stderr: 'err\n', code: 3 });
      // … and the standard input still reaches the command.
      const cat = await t.exec(['cat'], { stdin: 'hello\n' });
      expect(cat.stdout).toBe('hello\n');
      // Streaming (logs -f, pull progress): the noise is dropped, the rest arrives as it comes, and a
      // handler's promise still holds the stream back.
      let out = '';
      let err = '';
      const streamed = await t.stream(['sh', '-c', 'echo one; echo two >&2; echo three; exit 4'], {
        onStdout: async (c) => {
          await new Promise((r) => setTimeout(r, 5));
          out += c.toString();
        },
        onStderr: (c) => {
          err += c.toString();
        },
      });
      expect({ out, err, code: streamed.code }).toEqual({ out: 'one\nthree\n', err: 'two\n', code: 4 });
      const tail = await t.stream(['sh', '-c', 'echo bad >&2; exit 1'], { onStdout: () => undefined });
      expect(tail.stderr).toBe('bad\n');
    } finally {
      await pool.closeAll();
    }
    expect(noisy.sim.cluster.nodes[0]!.spec.banner?.stdout).toContain('Last login');
  });

  it('preflight passes with the same findings as on quiet nodes', async () => {
    const opts = { json: true, ping: 'auto', parallel: '8' };
    const [n, q] = await Promise.all([run(noisy, 'preflight', [noisy.deploymentPath], opts), run(quiet, 'preflight', [quiet.deploymentPath], opts)]);
    expect(q.exitCode).toBe(0);
    expect(n.exitCode, JSON.stringify(n.json?.findings?.filter((f: any) => f.status !== 'pass'))).toBe(0);
    expect(n.json.findings.map(shape).sort()).toEqual(q.json.findings.map(shape).sort());
  });

  it('deploy, status, logs and stop work and show none of the noise', async () => {
    const d = await run(noisy, 'deploy', [noisy.deploymentPath], { parallel: '8', timeout: '60s' });
    expect(d.exitCode, `${d.error ?? ''}\n${d.stderr}`).toBe(0);

    const s = await run(noisy, 'status', [], {});
    expect(s.exitCode, `${s.error ?? ''}\n${s.stderr}`).toBe(0);
    expect(s.stdout).toMatch(/node1/);

    const l = await run(noisy, 'logs', [], { tail: '20' });
    expect(l.exitCode, `${l.error ?? ''}\n${l.stderr}`).toBe(0);
    expect(l.stdout).toMatch(/node1 [│|] /);
    expect(l.stdout).toMatch(/node2 [│|] /);

    const x = await run(noisy, 'stop', [], {});
    expect(x.exitCode, `${x.error ?? ''}\n${x.stderr}`).toBe(0);
    for (const r of [d, s, l, x]) {
      expect(r.stdout + r.stderr).not.toMatch(/Last login|maintenance window|Authorized use only|just the motd/);
    }
  });
});
