/**
 * ssh.become: sudo against in-process simulated nodes: their sudo runs what it is given, and the
 * `sudo-denied` fault makes it refuse as the real one does. preflight and deploy work through sudo;
 * refusals are the node's ssh finding with the user, the command and the next step.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemoCluster, type DemoCluster } from '../../src/demo/cluster.js';
import { runtimeOf } from '../../src/sim/container-runtime.js';
import { runInProcess } from '../support/in-process.js';

const preflight = () => import('../../src/commands/preflight.js');
const deploy = () => import('../../src/commands/deploy.js');
const stop = () => import('../../src/commands/stop.js');
let c: DemoCluster;

beforeAll(async () => {
  c = await startDemoCluster({ nodes: 2, subnet: 144 });
  const inv = await readFile(c.inventoryPath, 'utf8');
  await writeFile(c.inventoryPath, inv.replace('  user: root\n', '  user: ops\n  become: sudo\n'));
});
afterAll(async () => {
  await c?.stop();
});

async function check(faults: Record<string, { kind: 'sudo-denied'; command?: string }[]>) {
  for (const n of c.nodes) await c.sim.setFaults(n.name, faults[n.name] ?? []);
  return runInProcess(preflight, [], { json: true, ping: 'auto', parallel: '8' }, { cwd: c.dir, home: c.dir });
}

describe('ssh.become: sudo on simulated nodes', () => {
  it('preflight and deploy pass through sudo', async () => {
    const r = await check({});
    expect(r.exitCode, JSON.stringify(r.json?.findings?.filter((f: any) => f.status !== 'pass'))).toBe(0);
    const d = await runInProcess(deploy, [c.deploymentPath], { parallel: '8', timeout: '60s', skipPreflight: true }, { cwd: c.dir, home: c.dir });
    expect(d.exitCode, `${d.error ?? ''}\n${d.stderr}`).toBe(0);
    expect(runtimeOf(c.sim.cluster, 'node2')!.containers.filter((x) => x.running)).toHaveLength(1);
    const s = await runInProcess(stop, [], {}, { cwd: c.dir, home: c.dir });
    expect(s.exitCode, s.error).toBe(0);
  });

  it('a user sudo refuses everything: the node needs a password or rights (exit 1, the flag to use)', async () => {
    const r = await check({ node2: [{ kind: 'sudo-denied' }] });
    expect(r.exitCode).toBe(1);
    const ssh = r.json.findings.find((f: any) => f.node === 'node2' && f.check === 'ssh');
    expect(ssh).toMatchObject({ status: 'fail', message: 'sudo on node2 needs a password for ops (to run commands as root)' });
    expect(ssh.hint).toMatch(/--ask-become-pass/);
    expect(r.json.findings.find((f: any) => f.node === 'node1' && f.check === 'ssh').status).toBe('pass');
  });

  it('the reach probe needs no root: sudoers that do not allow python3 still pass it', async () => {
    for (const n of c.nodes) await c.sim.setFaults(n.name, n.name === 'node2' ? [{ kind: 'sudo-denied', command: 'python3' }] : []);
    const r = await runInProcess(preflight, [c.deploymentPath], { json: true, ping: 'auto', parallel: '8' }, { cwd: c.dir, home: c.dir });
    expect(r.exitCode, JSON.stringify(r.json?.findings?.filter((f: any) => f.status !== 'pass'))).toBe(0);
    expect(r.json.findings.filter((f: any) => f.check === 'reach').map((f: any) => [f.node, f.status])).toEqual([['node1', 'pass'], ['node2', 'pass']]);
  });

  it('a user sudo refuses one tool: a clear finding naming the user, the command and the node, not a parse error', async () => {
    const r = await check({ node2: [{ kind: 'sudo-denied', command: 'npu-smi' }] });
    expect(r.exitCode).toBe(1);
    const ssh = r.json.findings.find((f: any) => f.node === 'node2' && f.check === 'ssh');
    expect(ssh.status).toBe('fail');
    expect(ssh.message).toMatch(/^sudo: user ops is not allowed to run `npu-smi info` on node2/);
    expect(ssh.hint).toMatch(/sudoers/);
    expect(r.json.findings.filter((f: any) => f.node === 'node2' && f.check === 'npu-smi' && f.status === 'fail')).toEqual([]);
  });
});
