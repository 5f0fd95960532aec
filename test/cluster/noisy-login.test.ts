/**
 * Real OpenSSH nodes set up as data centres set them up: an sshd Banner, and a ~/.bashrc and an
 * /etc/profile.d file that print on stdout and stderr before every command, and the stock external
 * sftp-server (which such noise breaks). preflight, deploy, status, logs and stop work on them as on
 * quiet nodes and show none of the noise.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { r1DeploymentYaml, r1ModelFiles, r1Parallel } from '../../src/demo/cluster.js';
import type { SimNodeSpec } from '../../src/sim/cluster-spec.js';
import { runCli, type CliResult } from '../support/run-cli.js';
import { NOISY_LOGIN_TEXT, canRunSshdCluster, startSshdCluster, type SshdCluster } from '../support/sshd-cluster.js';

const IMAGE = 'swr.cn-south-1.myhuaweicloud.com/ascendhub/mindie:2.1.RC1-800I-A2-py311-openeuler24.03-lts';
const MODEL_PATH = '/opt/models/DeepSeek-R1';
const NOISE = /Authorized use only|Last login|setlocale|maintenance window|just the site notice/;

function specs(count: number): SimNodeSpec[] {
  return Array.from({ length: count }, (_, i): SimNodeSpec => ({
    name: `node${i + 1}`,
    host: '',
    images: [IMAGE],
    models: { [MODEL_PATH]: r1ModelFiles() },
  }));
}

function noiseFree(r: CliResult): void {
  expect(`${r.stdout}\n${r.stderr}`).not.toMatch(NOISE);
}

describe.skipIf(!canRunSshdCluster())('noisy login shells over real OpenSSH: 2 nodes', () => {
  let cluster: SshdCluster;
  let deployment: string;
  const cli = (args: string[]): Promise<CliResult> => runCli(args, { cwd: cluster.dir, timeoutMs: 300_000 });

  beforeAll(async () => {
    cluster = await startSshdCluster({ nodes: specs(2), noisyLogin: true });
    deployment = join(cluster.dir, 'deepseek-r1.yaml');
    writeFileSync(deployment, r1DeploymentYaml({ image: IMAGE, modelPath: MODEL_PATH, parallel: r1Parallel(2) }));
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('the nodes really are noisy: every command is preceded by text on stdout and stderr, and SFTP breaks', async () => {
    const r = await cluster.ssh('node1', 'echo own-output');
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain(NOISY_LOGIN_TEXT.bashrcOut);
    expect(r.stdout).toContain(NOISY_LOGIN_TEXT.profileOut);
    expect(r.stdout).toMatch(/own-output\n$/);
    expect(r.stderr).toContain(NOISY_LOGIN_TEXT.bashrcErr);
    expect(r.stderr).toContain(NOISY_LOGIN_TEXT.profileErr);
    // (The sshd Banner travels in the SSH protocol, not on stderr; the client shows it at LogLevel INFO.)
    // What the contract warns of: the external sftp-server speaks after the shell's noise.
    const sftp = await execa('sftp', ['-b', '-', ...cluster.sshArgs('node1').filter((a) => a !== '-p').map((a) => (a === String(cluster.nodes[0]!.port) ? `-P${a}` : a))], {
      input: 'ls /\n',
      reject: false,
      timeout: 30_000,
      env: { SSH_AUTH_SOCK: undefined },
    });
    expect(sftp.exitCode, `${sftp.stdout}\n${sftp.stderr}`).not.toBe(0);
    expect(sftp.stderr).toMatch(/message too long|Received message|Connection closed|version/i);
  });

  it('preflight passes with every check and no trace of the noise', async () => {
    const r = await cli(['preflight', deployment, '--json']);
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    const rep = r.json as { ok: boolean; findings: { node: string; check: string; status: string; message: string }[] };
    expect(rep.ok).toBe(true);
    expect(rep.findings.filter((f) => f.status === 'fail')).toEqual([]);
    const checks = new Set(rep.findings.map((f) => f.check));
    for (const id of ['ssh', 'npu-smi', 'driver', 'link', 'ip', 'tls', 'ping', 'hccn.conf', 'container-runtime', 'clock', 'image', 'model', 'ports']) {
      expect(checks.has(id), id).toBe(true);
    }
    const runtime = rep.findings.find((f) => f.check === 'container-runtime' && f.node === 'node1');
    expect(runtime?.message).toMatch(/docker \d/);
    noiseFree(r);
  }, 300_000);

  it('deploy uploads (mode 640), status, logs and stop work; none shows the noise', async () => {
    const up = await cli(['deploy', deployment, '--timeout', '90s', '--skip-preflight']);
    expect(up.exitCode, `${up.stdout}\n${up.stderr}`).toBe(0);
    noiseFree(up);
    const mode = await cluster.ssh('node2', 'stat -c %a /var/lib/ascendctl/deepseek-r1/config.json');
    expect(mode.stdout).toMatch(/^640$/m);

    const status = await cli(['status', '--json']);
    expect(status.exitCode, status.stderr).toBe(0);
    const st = status.json as { healthy: boolean; nodes: { container: string }[] };
    expect(st.healthy).toBe(true);
    expect(st.nodes.map((n) => n.container)).toEqual(['running', 'running']);
    noiseFree(status);

    const logs = await cli(['logs', '--tail', '5']);
    expect(logs.exitCode, logs.stderr).toBe(0);
    expect(logs.stdout).toMatch(/^node1 [│|] /m);
    expect(logs.stdout).toMatch(/^node2 [│|] /m);
    noiseFree(logs);

    const stop = await cli(['stop']);
    expect(stop.exitCode, stop.stderr).toBe(0);
    noiseFree(stop);
  }, 400_000);
});
