/**
 * A cluster reached only through a chain of two jump hosts (`ssh -J hop1,hop2`): node1 and node2 of
 * the simulation are the hops, node3 (master) and node4 the cluster. Each simulated sshd counts the
 * `direct-tcpip` channels it opened, which is how these tests see the route taken.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DemoCluster } from '../../src/demo/cluster.js';
import { startJumpCluster } from '../support/jump-cluster.js';
import { runInProcess } from '../support/in-process.js';
import { commands } from '../support/commands.js';

const SUBNET = 170;
const HOP1 = `127.${SUBNET}.0.1`;
const HOP2 = `127.${SUBNET}.0.2`;
const MASTER = `127.${SUBNET}.0.3`;
const WORKER = `127.${SUBNET}.0.4`;
const NAME = 'deepseek-r1';
const CHAIN = `root@${HOP1}:2222,root@${HOP2}:2222`;


describe('a cluster behind a chain of two jump hosts', () => {
  let cluster: DemoCluster;
  const run = (cmd: keyof typeof commands, args: string[], opts: Record<string, unknown> = {}) =>
    runInProcess(commands[cmd], args, opts, { cwd: cluster.dir, home: cluster.dir });
  /** direct-tcpip channels node3 (the master) opened to its own HTTP port. */
  const httpForwards = (): number => cluster.sim.forwards('node3').get(`${MASTER}:1025`) ?? 0;

  beforeAll(async () => {
    cluster = await startJumpCluster({ nodes: 4, subnet: SUBNET, hops: ['node1', 'node2'], jumpHost: `"${CHAIN}"` });
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('preflight reaches both nodes hop by hop: hop1 opens hop2 only, hop2 opens the nodes', async () => {
    const r = await run('preflight', [], { json: true, inventory: cluster.inventoryPath, ping: 'auto', parallel: '32' });
    expect(r.exitCode, `${r.error}\n${JSON.stringify(r.json?.findings?.filter((f: { status: string }) => f.status !== 'pass'))}`).toBe(0);
    const sshPassed = r.json.findings.filter((f: { check: string; status: string }) => f.check === 'ssh' && f.status === 'pass');
    expect(sshPassed.map((f: { node: string }) => f.node).sort()).toEqual(['node3', 'node4']);
    const hop1 = cluster.sim.forwards('node1');
    const hop2 = cluster.sim.forwards('node2');
    // One connection to hop2 through hop1, shared by both nodes behind it.
    expect([...hop1.entries()]).toEqual([[`${HOP2}:2222`, 1]]);
    expect(hop2.get(`${MASTER}:2222`)).toBe(1);
    expect(hop2.get(`${WORKER}:2222`)).toBe(1);
  });

  it('deploys through the chain; readiness goes over the master\'s SSH connection', async () => {
    const before = httpForwards();
    const r = await run('deploy', [cluster.deploymentPath], { parallel: '32', timeout: '60s' });
    expect(r.exitCode, `${r.error}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toContain(`reached   over SSH through the jump hosts root@${HOP1}, root@${HOP2}`);
    expect(r.stdout).toContain(`ssh -N -J ${CHAIN} -L 1025:${MASTER}:1025 -p 2222 root@${MASTER}`);
    expect(httpForwards()).toBeGreaterThan(before);
    const record = JSON.parse(await readFile(path.join(cluster.dir, '.ascendctl', 'deployments', `${NAME}.json`), 'utf8'));
    expect(record).toMatchObject({ endpoint: `http://${MASTER}:1025`, tunnel: true });
  });

  it('status and chat tunnel through the chain on their own', async () => {
    let before = httpForwards();
    const st = await run('status', [], { json: true });
    expect(st.exitCode, `${st.error}\n${st.stdout}`).toBe(0);
    expect(st.json.healthy).toBe(true);
    expect(st.json.health).toContain(`through node3's SSH connection (jump hosts ${CHAIN})`);
    expect(httpForwards()).toBeGreaterThan(before);

    before = httpForwards();
    const chat = await run('chat', [], { prompt: 'What is 2+2?', json: true, timeout: '30s' });
    expect(chat.exitCode, `${chat.error}\n${chat.stderr}`).toBe(0);
    expect(`${chat.json.content ?? ''}${chat.json.reasoning_content ?? ''}`.length).toBeGreaterThan(0);
    expect(httpForwards()).toBeGreaterThan(before);
  });

  it('a hop that is down is named by its place in the chain; exit 1', async () => {
    await cluster.sim.nodeDown('node2');
    try {
      const r = await run('preflight', [], { json: true, inventory: cluster.inventoryPath, ping: 'auto', parallel: '32' });
      expect(r.exitCode).toBe(1);
      const ssh = r.json.findings.find((f: { node: string; check: string; status: string }) => f.node === 'node3' && f.check === 'ssh' && f.status === 'fail');
      expect(ssh?.message).toContain('through its jump hosts');
      expect(ssh?.message).toContain(`jump host 2 of 2 root@${HOP2}`);
      expect(ssh?.hint).toContain(`ssh -J root@${HOP1}:2222 -p 2222 root@${HOP2}`);
    } finally {
      await cluster.sim.nodeUp('node2');
    }
  });

  it('stops through the chain', async () => {
    const r = await run('stop', []);
    expect(r.exitCode, `${r.error}\n${r.stderr}`).toBe(0);
  });
});
