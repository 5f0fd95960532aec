/**
 * A non-root login with `ssh.become: sudo` over real OpenSSH and the real sudo: passwordless sudo
 * (preflight and deploy pass, files root-owned with mode 640), a password sudo (a clear error without
 * --ask-become-pass; with it, the password read once from standard input, and preflight and deploy
 * work), and a user without sudo rights (a clear finding, not a parse error).
 */
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { r1DeploymentYaml, r1ModelFiles, r1Parallel } from '../../src/demo/cluster.js';
import type { SimNodeSpec } from '../../src/sim/cluster-spec.js';
import { allowSudo, ensureLoginUser } from '../support/login-users.js';
import { runCli, type CliResult } from '../support/run-cli.js';
import { canRunSshdCluster, startSshdCluster, type SshdCluster } from '../support/sshd-cluster.js';

const IMAGE = 'swr.cn-south-1.myhuaweicloud.com/ascendhub/mindie:2.1.RC1-800I-A2-py311-openeuler24.03-lts';
const MODEL_PATH = '/opt/models/DeepSeek-R1';
const NOPW = 'asc-sudo-nopw';
const PW = 'asc-sudo-pw';
const DENY = 'asc-sudo-deny';
const PASSWORD = 'pw-Ascend 910B!';

/** The nodes' sudo is this machine's (/usr is a copy-on-write view of it); .ci/run installs it. */
function hasSudo(): boolean {
  const ok = existsSync('/usr/bin/sudo');
  if (!ok) console.warn('\n*** SKIPPING ssh.become cluster tests: /usr/bin/sudo is missing (apt-get install -y sudo) ***\n');
  return ok;
}

interface Report { ok: boolean; findings: { node: string; check: string; status: string; message: string; hint?: string }[] }

describe.skipIf(!canRunSshdCluster() || !hasSudo())('ssh.become: sudo over real OpenSSH: 2 nodes', () => {
  let cluster: SshdCluster;
  let deployment: string;

  /** An inventory (and a deployment naming it) for this login user, with ssh.become: sudo. */
  function filesFor(user: string): { inventory: string; deployment: string } {
    const inv = parse(readFileSync(cluster.inventoryPath, 'utf8')) as { ssh: Record<string, unknown> };
    inv.ssh['user'] = user;
    inv.ssh['become'] = 'sudo';
    const inventory = join(cluster.dir, `inventory-${user}.yaml`);
    writeFileSync(inventory, stringify(inv));
    const dep = join(cluster.dir, `deploy-${user}.yaml`);
    writeFileSync(dep, r1DeploymentYaml({ image: IMAGE, modelPath: MODEL_PATH, parallel: r1Parallel(2) }).replace('inventory: inventory.yaml', `inventory: inventory-${user}.yaml`));
    return { inventory, deployment: dep };
  }

  const cli = (args: string[], input?: string): Promise<CliResult> =>
    runCli(args, { cwd: cluster.dir, timeoutMs: 300_000, ...(input !== undefined ? { input } : {}) });

  beforeAll(async () => {
    for (const u of [NOPW, PW, DENY]) await ensureLoginUser(u, PASSWORD);
    const specs: SimNodeSpec[] = [1, 2].map((i) => ({ name: `node${i}`, host: '', images: [IMAGE], models: { [MODEL_PATH]: r1ModelFiles() } }));
    cluster = await startSshdCluster({ nodes: specs });
    // sshd reads authorized_keys as the user logging in: let these users reach the cluster's copy.
    chmodSync(cluster.dir, 0o711);
    chmodSync(join(cluster.dir, 'authorized_keys'), 0o644);
    for (const n of cluster.nodes) {
      allowSudo(n.root, NOPW, 'nopasswd');
      allowSudo(n.root, PW, 'password');
      allowSudo(n.root, DENY, 'none');
    }
    deployment = join(cluster.dir, 'deepseek-r1.yaml');
    writeFileSync(deployment, r1DeploymentYaml({ image: IMAGE, modelPath: MODEL_PATH, parallel: r1Parallel(2) }));
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('passwordless sudo: preflight and deploy pass; uploaded files are root-owned, mode 640', async () => {
    const f = filesFor(NOPW);
    const pre = await cli(['preflight', f.deployment, '--json']);
    expect(pre.exitCode, `${pre.stdout}\n${pre.stderr}`).toBe(0);
    expect((pre.json as Report).ok).toBe(true);

    const up = await cli(['deploy', f.deployment, '--timeout', '90s']);
    expect(up.exitCode, `${up.stdout}\n${up.stderr}`).toBe(0);
    const st = await cluster.ssh('node2', 'stat -c "%U %a" /var/lib/ascendctl/deepseek-r1/config.json');
    expect(st.stdout.trim()).toBe('root 640');
    const stop = await cli(['stop', f.deployment]);
    expect(stop.exitCode, stop.stderr).toBe(0);
  }, 400_000);

  it('a password sudo without --ask-become-pass: exit 1, the node and the way out', async () => {
    const f = filesFor(PW);
    const r = await cli(['preflight', '-i', f.inventory, '--json']);
    expect(r.exitCode).toBe(1);
    const ssh = (r.json as Report).findings.find((x) => x.node === 'node1' && x.check === 'ssh');
    expect(ssh?.status).toBe('fail');
    expect(ssh?.message).toMatch(new RegExp(`sudo on node1 needs a password for ${PW}`));
    expect(ssh?.hint).toMatch(/--ask-become-pass/);
  });

  it('a password sudo with --ask-become-pass (password on standard input): preflight and deploy work; the password shows nowhere', async () => {
    const f = filesFor(PW);
    const pre = await cli(['preflight', '-i', f.inventory, '--json', '--ask-become-pass'], `${PASSWORD}\n`);
    expect(pre.exitCode, `${pre.stdout}\n${pre.stderr}`).toBe(0);
    expect(pre.stdout + pre.stderr).not.toContain(PASSWORD);

    // Uploads read their content from standard input after sudo has read the password line.
    const up = await cli(['deploy', f.deployment, '--timeout', '90s', '--skip-preflight', '--ask-become-pass'], `${PASSWORD}\n`);
    expect(up.exitCode, `${up.stdout}\n${up.stderr}`).toBe(0);
    const cfg = await cluster.ssh('node1', 'head -c 1 /var/lib/ascendctl/deepseek-r1/config.json; stat -c " %U %a" /var/lib/ascendctl/deepseek-r1/config.json');
    expect(cfg.stdout.trim()).toBe('{ root 640');
    const stop = await cli(['stop', f.deployment, '--ask-become-pass'], `${PASSWORD}\n`);
    expect(stop.exitCode, stop.stderr).toBe(0);
    expect(up.stdout + up.stderr + stop.stdout + stop.stderr).not.toContain(PASSWORD);
  }, 400_000);

  it('a wrong password is said as such', async () => {
    const f = filesFor(PW);
    const r = await cli(['preflight', '-i', f.inventory, '--json', '--ask-become-pass'], 'not the password\n');
    expect(r.exitCode).toBe(1);
    const ssh = (r.json as Report).findings.find((x) => x.node === 'node2' && x.check === 'ssh');
    expect(ssh?.message).toMatch(/sudo on node2 rejected the password/);
  });

  it('a user without sudo rights gets a clear finding, not a parse error', async () => {
    const f = filesFor(DENY);
    const r = await cli(['preflight', '-i', f.inventory, '--json', '--ask-become-pass'], `${PASSWORD}\n`);
    expect(r.exitCode).toBe(1);
    const findings = (r.json as Report).findings.filter((x) => x.status === 'fail');
    const ssh = findings.find((x) => x.node === 'node1' && x.check === 'ssh');
    expect(ssh?.message).toMatch(new RegExp(`sudo: user ${DENY} is not allowed to run .* on node1`));
    expect(ssh?.hint).toMatch(/sudoers/);
    // Nothing else is judged on a node it could not become root on.
    expect(findings.filter((x) => x.node === 'node1').map((x) => x.check)).toEqual(['ssh']);
  });
});
