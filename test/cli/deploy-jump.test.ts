/**
 * A cluster reached only through a jump host: SSH hops through the bastion, and the master's HTTP
 * ports (readiness, status, chat, bench) go over the master's SSH connection as `ssh -L` would. The
 * simulated sshd counts its `direct-tcpip` channels, which is how these tests see the route taken.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DemoCluster } from '../../src/demo/cluster.js';
import { startJumpCluster } from '../support/jump-cluster.js';
import { runInProcess } from '../support/in-process.js';
import { commands } from '../support/commands.js';

const SUBNET = 218;
const MASTER = `127.${SUBNET}.0.1`;
const WORKER = `127.${SUBNET}.0.2`;
const BASTION = `127.${SUBNET}.0.3`;
const NAME = 'deepseek-r1';


describe('a cluster behind a jump host', () => {
  let cluster: DemoCluster;
  const run = (cmd: keyof typeof commands, args: string[], opts: Record<string, unknown> = {}) =>
    runInProcess(commands[cmd], args, opts, { cwd: cluster.dir, home: cluster.dir });
  /** direct-tcpip channels node1 (the master) opened to its own HTTP port. */
  const httpForwards = (): number => cluster.sim.forwards('node1').get(`${MASTER}:1025`) ?? 0;

  beforeAll(async () => {
    // Three simulated machines: node1 and node2 are the cluster, node3 plays the bastion.
    cluster = await startJumpCluster({ nodes: 3, subnet: SUBNET, hops: ['node3'], jumpHost: `root@${BASTION}:2222` });
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('deploys: SSH hops through the bastion, readiness goes over the master\'s SSH connection', async () => {
    const r = await run('deploy', [cluster.deploymentPath], { parallel: '32', timeout: '60s' });
    expect(r.exitCode, `${r.error}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toContain(`http://${MASTER}:1025/v1`);
    expect(r.stdout).toContain(`reached   over SSH through the jump host root@${BASTION}`);
    expect(r.stdout).toContain(`ssh -N -J root@${BASTION}:2222 -L 1025:${MASTER}:1025 -p 2222 root@${MASTER}`);

    const bastion = cluster.sim.forwards('node3');
    expect(bastion.get(`${MASTER}:2222`)).toBeGreaterThan(0);
    expect(bastion.get(`${WORKER}:2222`)).toBeGreaterThan(0);
    // The one-token request that proved readiness came through the tunnel.
    expect(httpForwards()).toBeGreaterThan(0);

    const record = JSON.parse(await readFile(path.join(cluster.dir, '.ascendctl', 'deployments', `${NAME}.json`), 'utf8'));
    expect(record).toMatchObject({ endpoint: `http://${MASTER}:1025`, tunnel: true });
  });

  it('status, chat and bench tunnel on their own; chat names the real endpoint', async () => {
    let before = httpForwards();
    const st = await run('status', [], { json: true });
    expect(st.exitCode, `${st.error}\n${st.stdout}`).toBe(0);
    expect(st.json.healthy).toBe(true);
    expect(st.json.health).toContain("through node1's SSH connection");
    expect(httpForwards()).toBeGreaterThan(before);

    before = httpForwards();
    const chat = await run('chat', [], { prompt: 'What is 2+2?', json: true, timeout: '30s' });
    expect(chat.exitCode, `${chat.error}\n${chat.stderr}`).toBe(0);
    expect(`${chat.json.content ?? ''}${chat.json.reasoning_content ?? ''}`.length).toBeGreaterThan(0);
    expect(httpForwards()).toBeGreaterThan(before);

    before = httpForwards();
    const bench = await run('bench', [], { concurrency: '2', requests: '4', maxTokens: '8', json: true });
    expect(bench.exitCode, `${bench.error}\n${bench.stderr}`).toBe(0);
    expect(bench.json).toMatchObject({ requests: 4, concurrency: 2, errors: 0 });
    expect(httpForwards()).toBeGreaterThan(before);

    // An explicit --endpoint is used as given: no tunnel.
    before = httpForwards();
    const direct = await run('chat', [], { prompt: 'hi', json: true, timeout: '30s', endpoint: `http://${MASTER}:1025`, model: NAME });
    expect(direct.exitCode, `${direct.error}\n${direct.stderr}`).toBe(0);
    expect(httpForwards()).toBe(before);
  });

  it('a master whose SSH connection cannot be made: chat fails with exit 1 and says what the tunnel saw', async () => {
    await cluster.sim.nodeDown('node1');
    try {
      const chat = await run('chat', [], { prompt: 'hi', timeout: '10s' });
      expect(chat.exitCode).toBe(1);
      expect(chat.error).toContain('the SSH tunnel to the master said');
      expect(chat.error).toContain('node1');
      expect(chat.hint).toBeTruthy();
      expect(chat.error).toContain('http://' + MASTER + ':1025');
      expect(chat.error).not.toContain('127.0.0.1');
    } finally {
      await cluster.sim.nodeUp('node1');
    }
  });

  it('stops through the bastion', async () => {
    const r = await run('stop', []);
    expect(r.exitCode, `${r.error}\n${r.stderr}`).toBe(0);
  });
});
