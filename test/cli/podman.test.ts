/**
 * tools.containerRuntime: podman end to end on in-process simulated nodes whose podman answers as
 * podman does (daemonless version, progress on stderr, "image not known", no shm size with the
 * host's IPC namespace): preflight names it, deploy pulls and runs, status, logs and stop work.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemoCluster, type DemoCluster } from '../../src/demo/cluster.js';
import { runtimeOf } from '../../src/sim/container-runtime.js';
import { runInProcess } from '../support/in-process.js';
import { commands } from '../support/commands.js';


let c: DemoCluster;

beforeAll(async () => {
  c = await startDemoCluster({ nodes: 2, subnet: 143, imagePresent: false });
  const inv = await readFile(c.inventoryPath, 'utf8');
  await writeFile(c.inventoryPath, inv.replace('npusPerNode: 8\n', 'npusPerNode: 8\ntools:\n  containerRuntime: podman\n'));
});
afterAll(async () => {
  await c?.stop();
});

function run(cmd: keyof typeof commands, args: string[], opts: Record<string, unknown> = {}) {
  return runInProcess(commands[cmd], args, opts, { cwd: c.dir, home: c.dir });
}

describe('podman as the container runtime', () => {
  it('the simulated podman refuses --shm-size with --ipc=host, as podman does', async () => {
    const node = c.sim.cluster.nodes[0]!;
    let stderr = '';
    const code = await node.run('podman', ['run', '-d', '--ipc=host', '--shm-size=10g', 'img'], {
      stdin: null, stdout: async () => {}, stderr: async (t) => { stderr += String(t); }, signal: new AbortController().signal, env: {},
    });
    expect(code).toBe(125);
    expect(stderr).toMatch(/cannot set shmsize when running in the host IPC Namespace/);
  });

  it('preflight says podman and its version answered; an absent image is a warning, not a failure', async () => {
    const r = await run('preflight', [c.deploymentPath], { json: true, ping: 'auto', parallel: '8' });
    expect(r.exitCode, JSON.stringify(r.json?.findings?.filter((f: any) => f.status !== 'pass'))).toBe(0);
    const rt = r.json.findings.filter((f: any) => f.check === 'container-runtime');
    expect(rt.map((f: any) => f.message)).toEqual(['container runtime answers (podman 4.9.3)', 'container runtime answers (podman 4.9.3)']);
    expect(r.json.findings.filter((f: any) => f.check === 'image').map((f: any) => f.status)).toEqual(['warn', 'warn']);
  });

  it('deploy pulls and runs with podman (not docker); status, logs and stop work', async () => {
    const d = await run('deploy', [c.deploymentPath], { parallel: '8', timeout: '60s' });
    expect(d.exitCode, `${d.error ?? ''}\n${d.hint ?? ''}\n${d.stderr}`).toBe(0);
    for (const n of c.nodes) {
      expect(runtimeOf(c.sim.cluster, n.name, 'podman')!.containers.filter((x) => x.running).length, n.name).toBe(1);
      expect(runtimeOf(c.sim.cluster, n.name)!.containers.length, `${n.name}: docker untouched`).toBe(0);
    }

    const s = await run('status', [], { json: true });
    expect(s.exitCode, s.error).toBe(0);
    expect(s.json.nodes.map((n: any) => n.container)).toEqual(['running', 'running']);

    const l = await run('logs', [], { tail: '5' });
    expect(l.exitCode, l.error).toBe(0);
    expect(l.stdout).toMatch(/node2 [│|] /);

    const x = await run('stop', [], {});
    expect(x.exitCode, x.error).toBe(0);
    for (const n of c.nodes) expect(runtimeOf(c.sim.cluster, n.name, 'podman')!.containers.length, n.name).toBe(0);
  });
});
