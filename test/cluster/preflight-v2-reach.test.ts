/**
 * `reach`, `address` and `ports` (HCCL range) end to end: the built CLI against real OpenSSH nodes.
 * Here python3, ip and ss are the machine's real programs and the probe runs on real sockets. The
 * nodes share the host's network namespace on 127.0.B.x, so a firewall is real iptables rules limited
 * to this cluster's own addresses and ports, always removed afterwards.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SimNodeSpec } from '../../src/sim/cluster-spec.js';
import { r1DeploymentYaml, r1ModelFiles, r1Parallel } from '../../src/demo/cluster.js';
import { runCli, type CliResult } from '../support/run-cli.js';
import { canRunSshdCluster, startSshdCluster, type SshdCluster } from '../support/sshd-cluster.js';

const IMAGE = 'swr.cn-south-1.myhuaweicloud.com/ascendhub/mindie:2.1.RC1-800I-A2-py311-openeuler24.03-lts';
const MODEL_PATH = '/opt/models/DeepSeek-R1';

interface Finding { node: string; check: string; status: string; message: string; hint?: string }

function iptablesWorks(): boolean {
  try {
    execFileSync('iptables', ['-S', 'INPUT'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const canFirewall = canRunSshdCluster() && iptablesWorks();
if (canRunSshdCluster() && !canFirewall) {
  console.warn('\n*** reach cluster tests: iptables is not usable here; the blocked-port cases are skipped (they run in-process in test/cli/preflight-v2-reach.test.ts) ***\n');
}

/** INPUT rules added by this file, removed after each test and again in afterAll. */
const rules: string[][] = [];
function addRule(spec: string[]): void {
  execFileSync('iptables', ['-I', 'INPUT', ...spec]);
  rules.push(spec);
}
function removeRules(): void {
  while (rules.length > 0) {
    const spec = rules.pop()!;
    try {
      execFileSync('iptables', ['-D', 'INPUT', ...spec], { stdio: 'ignore' });
    } catch {
      // already gone
    }
  }
}

describe.skipIf(!canRunSshdCluster())('reach, address and ports against real OpenSSH nodes', () => {
  let cluster: SshdCluster | undefined;
  let deploymentPath = '';
  const c = (): SshdCluster => cluster!;
  const host = (name: string): string => c().nodes.find((n) => n.name === name)!.host;

  beforeAll(async () => {
    const specs: SimNodeSpec[] = ['node1', 'node2'].map((name) => ({ name, host: '', images: [IMAGE], models: { [MODEL_PATH]: r1ModelFiles() } }));
    cluster = await startSshdCluster({ nodes: specs, profile: 'fast' });
    deploymentPath = join(cluster.dir, 'deepseek-r1.yaml');
    writeFileSync(deploymentPath, r1DeploymentYaml({ image: IMAGE, modelPath: MODEL_PATH, parallel: r1Parallel(2) }));
  }, 180_000);

  afterEach(removeRules);
  afterAll(async () => {
    removeRules();
    await cluster?.stop();
  }, 60_000);

  async function preflight(): Promise<{ r: CliResult; findings: Finding[] }> {
    const r = await runCli(['preflight', deploymentPath, '--json']);
    expect(r.json, `${r.stdout}\n${r.stderr}`).toBeDefined();
    return { r, findings: (r.json as { findings: Finding[] }).findings };
  }
  const of = (fs: Finding[], node: string, check: string) => fs.filter((f) => f.node === node && f.check === check);

  /** Listeners on the cluster's addresses at the probe's ports, as the host's real `ss` shows them. */
  function probePortsListening(): string[] {
    const out = execFileSync('ss', ['-Htln'], { encoding: 'utf8' });
    const mine = new Set(c().nodes.map((n) => n.host));
    return out.split('\n').map((l) => l.trim().split(/\s+/)[3] ?? '').filter((local) => {
      const m = /^(.*):(\d+)$/.exec(local);
      if (!m || !mine.has(m[1]!)) return false;
      const port = Number(m[2]);
      return port === 1120 || (port >= 60000 && port <= 60015);
    });
  }

  it('the nodes find a real python3 on their PATH', async () => {
    const r = await c().ssh('node1', 'command -v python3 && python3 -c "import sys; print(sys.version_info[0])"');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/python3\n3\n$/);
  }, 60_000);

  it('passes on a healthy cluster, address included, and leaves nothing listening', async () => {
    const { r, findings } = await preflight();
    expect(r.exitCode, JSON.stringify(findings.filter((f) => f.status !== 'pass'))).toBe(0);
    expect(of(findings, 'node1', 'reach')).toMatchObject([{ status: 'pass', message: 'reached node2:60000-60015 over TCP' }]);
    expect(of(findings, 'node2', 'reach')).toMatchObject([{ status: 'pass', message: 'reached node1:1120, 60000-60015 over TCP' }]);
    for (const n of ['node1', 'node2']) {
      expect(of(findings, n, 'address').map((f) => f.status), n).toEqual(['pass']);
      expect(of(findings, n, 'ports').map((f) => f.status), n).toEqual(['pass']);
    }
    expect(probePortsListening()).toEqual([]);
  }, 120_000);

  it('fails a port taken on a worker\'s HCCL range (ports), and reach says it could not test it', async () => {
    const server: Server = createServer((s) => s.destroy());
    await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(60005, host('node2'), () => resolve()); });
    try {
      const { r, findings } = await preflight();
      expect(r.exitCode).toBe(1);
      expect(of(findings, 'node2', 'ports')).toMatchObject([{ status: 'fail', message: expect.stringMatching(/^port 60005 already in use on 127\.0\.\d+\.\d+ \(HCCL's range 60000-60015/) }]);
      expect(of(findings, 'node1', 'reach')).toMatchObject([{ status: 'warn', message: expect.stringMatching(/node2:60005 in use there \(see ports\)/) }]);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    expect(probePortsListening()).toEqual([]);
  }, 120_000);

  it.skipIf(!canFirewall)('a DROP rule on the master\'s multiNodesInfer port: node2 → node1:1120 blocked (timed out)', async () => {
    addRule(['-p', 'tcp', '-s', host('node2'), '-d', host('node1'), '--dport', '1120', '-j', 'DROP']);
    const { r, findings } = await preflight();
    expect(r.exitCode).toBe(1);
    const [f] = of(findings, 'node2', 'reach');
    expect(f).toMatchObject({ status: 'fail', message: expect.stringMatching(/^node2 → node1:1120 blocked \(timed out/) });
    expect(f!.hint).toContain('firewall-cmd --permanent --add-port=1120/tcp && firewall-cmd --reload');
    expect(of(findings, 'node1', 'reach')).toMatchObject([{ status: 'pass' }]);
    expect(probePortsListening()).toEqual([]);
  }, 120_000);

  it.skipIf(!canFirewall)('a REJECT rule on a worker\'s HCCL ports: node1 → node2 refused, told apart from a drop', async () => {
    addRule(['-p', 'tcp', '-s', host('node1'), '-d', host('node2'), '--dport', '60000:60015', '-j', 'REJECT', '--reject-with', 'tcp-reset']);
    const { r, findings } = await preflight();
    expect(r.exitCode).toBe(1);
    expect(of(findings, 'node1', 'reach')).toMatchObject([{ status: 'fail', message: expect.stringMatching(/^node1 → node2:60000-60015 blocked \(refused/) }]);
    expect(of(findings, 'node2', 'reach')).toMatchObject([{ status: 'pass' }]);
    expect(probePortsListening()).toEqual([]);
  }, 120_000);
});
