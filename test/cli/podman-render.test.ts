/**
 * With tools.containerRuntime: podman, `render --out` and `deploy --dry-run` show the command deploy
 * will really run on that node (`podman run …` without --shm-size next to --ipc=host), and a node
 * left on docker still shows `docker run …` with its shm size.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemoCluster, type DemoCluster } from '../../src/demo/cluster.js';
import { runInProcess } from '../support/in-process.js';
import { commands } from '../support/commands.js';


let c: DemoCluster;

beforeAll(async () => {
  c = await startDemoCluster({ nodes: 2, subnet: 171 });
  const inv = await readFile(c.inventoryPath, 'utf8');
  // node1 on podman (the global setting), node2 kept on docker by its own tools: entry.
  const node2 = inv.match(/  - name: node2\n    host: \S+\n/)?.[0];
  if (!node2) throw new Error(`unexpected demo inventory:\n${inv}`);
  await writeFile(
    c.inventoryPath,
    inv.replace('npusPerNode: 8\n', 'npusPerNode: 8\ntools:\n  containerRuntime: podman\n').replace(node2, `${node2}    tools: { containerRuntime: docker }\n`),
  );
});
afterAll(async () => {
  await c?.stop();
});

function run(cmd: keyof typeof commands, args: string[], opts: Record<string, unknown> = {}) {
  return runInProcess(commands[cmd], args, opts, { cwd: c.dir, home: c.dir });
}

describe('the rendered container command follows tools.containerRuntime', () => {
  it('deploy --dry-run shows podman run on the podman node and docker run on the docker node', async () => {
    const r = await run('deploy', [c.deploymentPath], { dryRun: true });
    expect(r.exitCode, `${r.error}\n${r.hint}`).toBe(0);
    const [node1, node2] = r.stdout.split(/^\s*node2 \(/m);
    expect(node1).toMatch(/run\s+podman run/);
    expect(node1).not.toContain('docker run');
    expect(node1).not.toContain('--shm-size');
    expect(node2).toMatch(/run\s+docker run/);
    expect(node2).toContain('--shm-size=');

    const j = await run('deploy', [c.deploymentPath], { dryRun: true, json: true });
    expect(j.exitCode).toBe(0);
    const byNode = Object.fromEntries(j.json.nodes.map((n: { node: string; command: string[] }) => [n.node, n.command]));
    expect(byNode.node1[0]).toBe('podman');
    expect(byNode.node1).toContain('--ipc=host');
    expect(byNode.node1.some((a: string) => a.startsWith('--shm-size='))).toBe(false);
    expect(byNode.node2[0]).toBe('docker');
  });

  it('render --out writes container-command.sh with the command each node really runs', async () => {
    const out = path.join(c.dir, 'rendered-podman');
    const r = await run('render', [c.deploymentPath], { out });
    expect(r.exitCode, `${r.error}\n${r.hint}`).toBe(0);
    const podman = await readFile(path.join(out, 'node1', 'container-command.sh'), 'utf8');
    expect(podman).toMatch(/^podman run /m);
    expect(podman).not.toContain('--shm-size');
    const docker = await readFile(path.join(out, 'node2', 'container-command.sh'), 'utf8');
    expect(docker).toMatch(/^docker run /m);
    expect(docker).toContain('--shm-size=');
  });
});
