/**
 * preflight end to end: the built CLI against real OpenSSH servers whose Ascend tools are the
 * simulator's (fast profile). Two clusters start side by side: a healthy 2-node one (healthy report,
 * deployment checks, --fix, a changed host key, bad inputs) and a 4-node one that carries every
 * injectable fault at once on distinct node/NPU pairs, so one preflight run judges them all.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimNodeSpec } from '../../src/sim/cluster-spec.js';
import type { SimFault } from '../../src/sim/types.js';
import { runCli, type CliResult } from '../support/run-cli.js';
import { canRunSshdCluster, startSshdCluster, type SshdCluster } from '../support/sshd-cluster.js';
import { r1DeploymentYaml, r1ModelFiles, r1Parallel } from '../../src/demo/cluster.js';

const IMAGE = 'swr.cn-south-1.myhuaweicloud.com/ascendhub/mindie:2.1.RC1-800I-A2-py311-openeuler24.03-lts';
const MODEL_PATH = '/opt/models/DeepSeek-R1';
const MODEL_FILES = r1ModelFiles();
const NO_DEPLOYMENT_CHECKS = ['ssh', 'npu-smi', 'driver', 'lldp', 'link', 'net_health', 'netdetect', 'gateway', 'ip', 'tls', 'ping', 'hccn.conf', 'container-runtime', 'clock',
  'optics', 'link-flaps', 'hardware', 'address'];

interface Finding {
  node: string;
  npu?: number;
  check: string;
  status: 'pass' | 'warn' | 'fail';
  message: string;
  hint?: string;
}
interface Report {
  ok: boolean;
  findings: Finding[];
}
type Expect = { node: string; check: string; status: 'fail' | 'warn'; npu?: number; message?: RegExp };

function nodeSpecs(count: number): SimNodeSpec[] {
  return Array.from({ length: count }, (_, i) => ({
    name: `node${i + 1}`,
    host: '', // assigned by the harness
    images: [IMAGE],
    models: { [MODEL_PATH]: MODEL_FILES },
  }));
}

function writeDeployment(cluster: SshdCluster): string {
  const path = join(cluster.dir, 'deepseek-r1.yaml');
  writeFileSync(path, r1DeploymentYaml({ image: IMAGE, modelPath: MODEL_PATH, parallel: r1Parallel(cluster.nodes.length) }));
  return path;
}

function report(r: CliResult): Report {
  expect(r.json, `stdout was not one JSON document:\n${r.stdout}\nstderr:\n${r.stderr}`).toBeDefined();
  return r.json as Report;
}

function problems(rep: Report): string {
  return JSON.stringify(rep.findings.filter((f) => f.status !== 'pass'), null, 1);
}

function expectFindings(rep: Report, expected: Expect[]): void {
  for (const e of expected) {
    const hit = rep.findings.find((f) => f.node === e.node && f.check === e.check && f.status === e.status &&
      (e.npu === undefined || f.npu === e.npu) && (!e.message || e.message.test(f.message)));
    expect(hit, `expected ${JSON.stringify({ ...e, message: e.message?.source })} in ${problems(rep)}`).toBeDefined();
    if (e.status === 'fail' && e.check !== 'ssh') expect(hit?.hint, `${e.check} on ${e.node} has a next step`).toBeTruthy();
  }
}

/** OpenSSH's `SHA256:…` fingerprint of a known_hosts line's key. */
function fingerprintOf(knownHostsLine: string): string {
  const blob = Buffer.from(knownHostsLine.trim().split(/\s+/)[2] ?? '', 'base64');
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** A TCP listener on loopback that counts the connections it is offered: proof that nobody dialled it. */
async function startTripwire(): Promise<{ server: Server; port: number; connections: () => number }> {
  let count = 0;
  const server = createServer((socket) => {
    count++;
    socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  return { server, port: typeof address === 'object' && address ? address.port : 0, connections: () => count };
}

function expectNoStackTrace(r: CliResult): void {
  expect(r.stderr).not.toMatch(/^\s+at .+\(.+:\d+:\d+\)$/m);
  expect(r.stderr).not.toMatch(/unexpected failure/);
}

describe.skipIf(!canRunSshdCluster())('preflight against real OpenSSH nodes', () => {
  let healthy: SshdCluster | undefined;
  let faulty: SshdCluster | undefined;
  let deploymentPath = '';

  beforeAll(async () => {
    const [two, four] = await Promise.allSettled([
      startSshdCluster({ nodes: nodeSpecs(2), profile: 'fast' }),
      startSshdCluster({ nodes: nodeSpecs(4), profile: 'fast' }),
    ]);
    if (two.status === 'fulfilled') healthy = two.value;
    if (four.status === 'fulfilled') faulty = four.value;
    if (two.status === 'rejected') throw two.reason;
    if (four.status === 'rejected') throw four.reason;
    deploymentPath = writeDeployment(healthy!);
  }, 180_000);

  afterAll(async () => {
    await Promise.allSettled([healthy?.stop(), faulty?.stop()]);
  }, 60_000);

  const h = (): SshdCluster => healthy!;
  const f = (): SshdCluster => faulty!;

  // The two clusters are independent: their suites run side by side (concurrent suites), while the
  // tests of each run in order (sequential tests), since each builds on the state the previous left.
  describe.concurrent('healthy 2-node cluster', () => {
    it.sequential('preflight --json: exit 0, ok true, a finding for every check that applies without a deployment', async () => {
      const r = await runCli(['preflight', '--json', '-i', h().inventoryPath]);
      const rep = report(r);
      expect(r.exitCode, `${problems(rep)}\n${r.stderr}`).toBe(0);
      expect(rep.ok).toBe(true);
      expect(Object.keys(rep).sort()).toEqual(['findings', 'ok']);
      expect(rep.findings.filter((x) => x.status !== 'pass')).toEqual([]);
      for (const node of ['node1', 'node2']) {
        const checks = new Set(rep.findings.filter((x) => x.node === node).map((x) => x.check));
        expect([...checks].sort(), node).toEqual([...NO_DEPLOYMENT_CHECKS].sort());
        for (const check of ['link', 'net_health', 'lldp', 'netdetect', 'gateway', 'ip', 'tls', 'ping']) {
          const npus = rep.findings.filter((x) => x.node === node && x.check === check).map((x) => x.npu);
          expect(new Set(npus), `${node} ${check}`).toEqual(new Set([0, 1, 2, 3, 4, 5, 6, 7]));
        }
      }
      // Each NPU of each node pings the same-numbered NPU of the other node.
      expect(rep.findings.filter((x) => x.check === 'ping')).toHaveLength(16);
    }, 120_000);

    it.sequential('with the deployment file it also checks image, model and ports on every node', async () => {
      const r = await runCli(['preflight', deploymentPath, '--json']);
      const rep = report(r);
      expect(r.exitCode, `${problems(rep)}\n${r.stderr}`).toBe(0);
      expect(rep.ok).toBe(true);
      for (const node of ['node1', 'node2']) {
        for (const check of ['image', 'model', 'ports']) {
          expect(rep.findings.filter((x) => x.node === node && x.check === check).map((x) => x.status), `${node} ${check}`).toEqual(['pass']);
        }
      }
      // The driver is judged against what the image's CANN needs, not only checks.minDriver.
      expect(rep.findings.filter((x) => x.check === 'driver').map((x) => x.status)).toEqual(['pass', 'pass']);
    }, 120_000);

    it.sequential('--fix turns the TLS switches off; afterwards a plain preflight passes and /etc/hccn.conf says so', async () => {
      await h().setFaults('node1', [{ kind: 'tls-on', npu: 0 }]);
      await h().setFaults('node2', [{ kind: 'tls-on', npu: 7 }]);
      // The fault is real on the node before the fix: the tool itself reports the switch on.
      const before = await h().ssh('node2', '/usr/local/Ascend/driver/tools/hccn_tool -i 7 -tls -g');
      expect(before.stdout).toMatch(/tls switch\[1\]/);

      const fixed = await runCli(['preflight', '--fix', '--json', '-i', h().inventoryPath]);
      const rep = report(fixed);
      expect(fixed.exitCode, `${problems(rep)}\n${fixed.stderr}`).toBe(0);
      expect(rep.findings.filter((x) => x.check === 'tls' && x.status !== 'pass')).toEqual([]);
      expect(rep.findings.filter((x) => x.check === 'tls' && x.status === 'pass')).toHaveLength(16);

      const plain = await runCli(['preflight', '-i', h().inventoryPath]);
      expect(plain.exitCode, `${plain.stdout}\n${plain.stderr}`).toBe(0);
      // The human report: one line per node with everything passed, and the verdict.
      expect(plain.stdout).toMatch(new RegExp(`node1 \\(${h().nodes[0]!.host.replace(/\./g, '\\.')}\\)\\s+all \\d+ checks passed`));
      expect(plain.stdout).toMatch(new RegExp(`node2 \\(${h().nodes[1]!.host.replace(/\./g, '\\.')}\\)\\s+all \\d+ checks passed`));
      expect(plain.stdout).toMatch(/preflight passed on 2 nodes/);
      expect(plain.stdout).not.toMatch(/fail/i);

      const conf1 = await h().ssh('node1', 'cat /etc/hccn.conf');
      const conf2 = await h().ssh('node2', 'cat /etc/hccn.conf');
      expect(conf1.stdout).toMatch(/^tls_enable_0=0$/m);
      expect(conf2.stdout).toMatch(/^tls_enable_7=0$/m);
      expect(`${conf1.stdout}${conf2.stdout}`).not.toMatch(/^tls_enable_\d+=1$/m);
      const after = await h().ssh('node2', '/usr/local/Ascend/driver/tools/hccn_tool -i 7 -tls -g');
      expect(after.stdout).toMatch(/tls switch\[0\]/);
    }, 180_000);

    describe('bad inputs are refused before any node is contacted (exit 2)', () => {
      let tripwire: Awaited<ReturnType<typeof startTripwire>>;
      beforeAll(async () => {
        tripwire = await startTripwire();
      });
      afterAll(async () => {
        await new Promise<void>((resolve) => tripwire.server.close(() => resolve()));
      });

      /**
       * An inventory that would be usable but for `problem`: the real nodes plus a node on the tripwire.
       * ascendctl connects to every node at once, so a connection attempt would reach the tripwire.
       */
      function inventory(name: string, problem: { nodeExtra?: string; duplicateHost?: boolean }): string {
        const c = h();
        const [n1, n2] = c.nodes;
        const path = join(c.dir, name);
        writeFileSync(path, [
          'ssh:',
          '  user: root',
          '  port: 2222',
          `  identityFile: ${c.identityPath}`,
          `  knownHostsFile: ${c.knownHostsPath}`,
          '  strictHostKeyChecking: "yes"',
          'nodes:',
          '  - name: node1',
          `    host: ${n1!.host}`,
          '  - name: node2',
          `    host: ${problem.duplicateHost ? n1!.host : n2!.host}`,
          ...(problem.nodeExtra ? [problem.nodeExtra] : []),
          '  - name: tripwire',
          '    host: 127.0.0.1',
          `    ssh: { port: ${tripwire.port} }`,
          '',
        ].join('\n'));
        return path;
      }

      /** `line`: the line the message must cite, 'any' for some line, undefined for none (no file to read). */
      async function refused(inventoryPath: string, line: number | 'any' | undefined, what: RegExp): Promise<void> {
        const before = tripwire.connections();
        const r = await runCli(['preflight', '--json', '-i', inventoryPath], { timeoutMs: 60_000 });
        expect(r.exitCode, r.stderr).toBe(2);
        // With --json, stdout carries exactly one error document (docs/cli-contract.md); the prose is on stderr.
        const doc = JSON.parse(r.stdout) as { ok: boolean; error: { code: string; file?: string; line?: number } };
        expect(doc.ok).toBe(false);
        expect(doc.error.code).toBe('bad-input');
        expect(doc.error.file).toBe(inventoryPath);
        if (typeof line === 'number') expect(doc.error.line).toBe(line);
        if (line === undefined) expect(r.stderr).toContain(inventoryPath);
        else if (line === 'any') expect(r.stderr).toMatch(new RegExp(`${inventoryPath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+`));
        else expect(r.stderr).toContain(`${inventoryPath}:${line}:`);
        expect(r.stderr).toMatch(what);
        expectNoStackTrace(r);
        expect(tripwire.connections()).toBe(before);
      }

      it.sequential('a valid inventory does reach the tripwire (the probe works)', async () => {
        const path = inventory('inventory-valid.yaml', {});
        const before = tripwire.connections();
        const r = await runCli(['preflight', '--json', '--node', 'tripwire', '-i', path], { timeoutMs: 60_000 });
        expect(r.exitCode).toBe(1);
        expect(tripwire.connections()).toBeGreaterThan(before);
      }, 60_000);

      it.sequential('a nonexistent inventory', async () => {
        await refused(join(h().dir, 'no-such-inventory.yaml'), undefined, /does not exist/);
      });

      it.sequential('malformed YAML: file and line', async () => {
        // node2's host (line 11) opens a flow sequence it never closes.
        const path = inventory('inventory-malformed.yaml', {});
        writeFileSync(path, readFileSync(path, 'utf8').replace(/^(\s+host: )(127\.\d+\.\d+\.2)$/m, '$1[$2'));
        await refused(path, 'any', /not valid YAML/);
      });

      it.sequential('an unknown key: file, line and the key', async () => {
        // nodes[1] gets `bogus:` on line 12.
        await refused(inventory('inventory-unknown-key.yaml', { nodeExtra: '    bogus: 3' }), 12, /unknown key "bogus"/);
      });

      it.sequential('a duplicate host: file, line and both nodes', async () => {
        await refused(inventory('inventory-duplicate-host.yaml', { duplicateHost: true }), 11, /duplicate host .*first at line 9/);
      });
    });

    // Last on this cluster: known_hosts no longer matches node1 afterwards.
    it.sequential('a changed host key is refused: ssh fail with the offered SHA256 fingerprint, node2 still fully checked', async () => {
      const newLine = await h().replaceHostKey('node1');
      const fingerprint = fingerprintOf(newLine);
      const r = await runCli(['preflight', '--json', '-i', h().inventoryPath]);
      const rep = report(r);
      expect(r.exitCode).toBe(1);
      expect(rep.ok).toBe(false);
      const node1 = rep.findings.filter((x) => x.node === 'node1');
      expect(node1).toHaveLength(1);
      expect(node1[0]).toMatchObject({ check: 'ssh', status: 'fail' });
      expect(node1[0]!.message).toContain(fingerprint);
      expect(node1[0]!.message).toMatch(/CHANGED/);
      // node2's only non-passes: its pings, not sent since its one peer is out (said per NPU, not left out)
      const node2 = rep.findings.filter((x) => x.node === 'node2' && x.status !== 'pass');
      expect(node2.map((x) => [x.check, x.status, x.message])).toEqual(Array.from({ length: 8 }, () =>
        ['ping', 'warn', 'not checked: no reachable peer to ping on this plane (unreachable: node1)']));
      expect(rep.findings.filter((x) => x.node === 'node2' && x.check === 'link' && x.status === 'pass')).toHaveLength(8);
    }, 120_000);
  });

  describe.concurrent('4-node cluster with every injectable fault', () => {
    // clock-skew is not here: it skews the simulator's answer to `date`, but these nodes run the real
    // `date` (only hccn_tool, npu-smi and docker are shims), so the node's clock cannot be skewed.
    // The in-process ring (test/cli/preflight-faults.test.ts) covers it.
    const faults: Record<string, SimFault[]> = {
      node1: [
        { kind: 'no-ip', npu: 2 },
        { kind: 'netdetect-unset', npu: 7 },
        { kind: 'ping-loss', npu: 6, peer: 'node2', lost: 1 },
        { kind: 'npu-health', npu: 1, value: 'Warning' },
        { kind: 'hccn-conf-missing' },
      ],
      node2: [
        { kind: 'link-down', npu: 3 },
        { kind: 'duplicate-ip', npu: 1, node: 'node1' },
        { kind: 'lldp-empty', npu: 4 },
        { kind: 'hccn-conf-stale', npu: 5 },
        { kind: 'net-health', npu: 6, value: 'Socket fail' },
        { kind: 'runtime-down' },
      ],
      node3: [
        { kind: 'tls-on', npu: 5 },
        { kind: 'no-gateway', npu: 1 },
        { kind: 'ping-loss', npu: 0 },
        { kind: 'npu-health', npu: 2, value: 'Alarm' },
        { kind: 'net-health', npu: 3, value: 'Init' },
        { kind: 'old-driver', version: '24.1.rc2' },
      ],
    };
    const expected: Expect[] = [
      { node: 'node1', npu: 2, check: 'ip', status: 'fail', message: /no IP/ },
      { node: 'node1', npu: 7, check: 'netdetect', status: 'fail' },
      { node: 'node1', npu: 6, check: 'ping', status: 'fail', message: /node2 NPU 6 .*33\.33% loss/ },
      { node: 'node1', npu: 1, check: 'npu-smi', status: 'warn' },
      { node: 'node1', check: 'hccn.conf', status: 'fail', message: /does not exist/ },
      { node: 'node2', npu: 3, check: 'link', status: 'fail', message: /DOWN/ },
      { node: 'node2', npu: 1, check: 'ip', status: 'fail', message: /also used by node1 NPU 1/ },
      { node: 'node1', npu: 1, check: 'ip', status: 'fail', message: /also used by node2 NPU 1/ },
      { node: 'node2', npu: 4, check: 'lldp', status: 'fail', message: /no LLDP/ },
      { node: 'node2', npu: 5, check: 'hccn.conf', status: 'fail', message: /address_5=/ },
      { node: 'node2', npu: 6, check: 'net_health', status: 'fail', message: /Socket fail/ },
      { node: 'node2', check: 'container-runtime', status: 'fail', message: /Docker daemon/ },
      { node: 'node3', npu: 5, check: 'tls', status: 'fail' },
      { node: 'node3', npu: 1, check: 'gateway', status: 'warn' },
      { node: 'node3', npu: 0, check: 'ping', status: 'fail', message: /100\.00% loss/ },
      { node: 'node3', npu: 2, check: 'npu-smi', status: 'fail', message: /Alarm/ },
      { node: 'node3', npu: 3, check: 'net_health', status: 'warn', message: /Init/ },
      { node: 'node3', check: 'driver', status: 'fail', message: /24\.1\.rc2 is older than 25\.2/ },
    ];

    it.sequential('reports each fault with its node, NPU and check id, and node4 (down) as unreachable while the others are fully checked', async () => {
      for (const [node, list] of Object.entries(faults)) await f().setFaults(node, list);
      await f().nodeDown('node4');
      const r = await runCli(['preflight', '--json', '-i', f().inventoryPath], { timeoutMs: 150_000 });
      const rep = report(r);
      expect(r.exitCode, r.stderr).toBe(1);
      expect(rep.ok).toBe(false);
      expectFindings(rep, expected);

      // The NPUs without a fault are not blamed for their neighbours' (spot checks on each node).
      const clean = (node: string, check: string, npu: number): void => {
        expect(rep.findings.filter((x) => x.node === node && x.check === check && x.npu === npu).map((x) => x.status), `${node} NPU ${npu} ${check}`).toEqual(['pass']);
      };
      clean('node1', 'link', 3);
      clean('node2', 'tls', 5);
      clean('node3', 'lldp', 4);
      clean('node2', 'netdetect', 7);
      clean('node1', 'gateway', 1);

      // node4: one ssh failure naming it, nothing else about it.
      const node4 = rep.findings.filter((x) => x.node === 'node4');
      expect(node4).toHaveLength(1);
      expect(node4[0]).toMatchObject({ node: 'node4', check: 'ssh', status: 'fail' });
      expect(node4[0]!.message).toMatch(/node4/);
      expect(node4[0]!.message).toContain(f().nodes[3]!.host);
      // The others: every check that applies, every NPU.
      for (const node of ['node1', 'node2', 'node3']) {
        const checks = new Set(rep.findings.filter((x) => x.node === node).map((x) => x.check));
        expect([...checks].sort(), node).toEqual([...NO_DEPLOYMENT_CHECKS].sort());
        expect(rep.findings.filter((x) => x.node === node && x.check === 'link')).toHaveLength(8);
      }
    }, 180_000);

    it.sequential('a hung call is a timeout of its own check; a node that stays busy is "busy", not a verdict', async () => {
      for (const node of ['node1', 'node2']) await f().setFaults(node, []);
      await f().nodeUp('node4');
      await f().setFaults('node3', [{ kind: 'hang', command: 'lldp', npu: 2 }]);
      await f().setFaults('node4', [{ kind: 'busy-storm', share: 1 }]);
      // Two runs side by side, one node each: a hung call leaves the device channel taken for a while
      // (the simulator models the driver reaping the killed request late), so the hang needs the default
      // busy budget, while the busy storm is judged with a short one.
      const [hung, busy] = await Promise.all([
        runCli(['preflight', '--json', '-i', f().inventoryPath, '--node', 'node3', '--call-timeout', '2s'], { timeoutMs: 150_000 }),
        runCli(['preflight', '--json', '-i', f().inventoryPath, '--node', 'node4', '--busy-timeout', '1s'], { timeoutMs: 150_000 }),
      ]);
      const rep = report(hung);
      expect(hung.exitCode, hung.stderr).toBe(1);
      expect(new Set(rep.findings.map((x) => x.node))).toEqual(new Set(['node3']));
      expectFindings(rep, [{ node: 'node3', npu: 2, check: 'lldp', status: 'fail', message: /timed out after 2 s/ }]);
      // The hang costs that one call, not the node: its other checks still finish.
      expect(rep.findings.filter((x) => x.node === 'node3' && x.check === 'lldp' && x.status === 'pass'), problems(rep)).toHaveLength(7);
      expect(rep.findings.filter((x) => x.node === 'node3' && x.check === 'tls' && x.status === 'pass'), problems(rep)).toHaveLength(8);

      const busyRep = report(busy);
      expect(busy.exitCode, busy.stderr).toBe(1);
      expect(new Set(busyRep.findings.map((x) => x.node))).toEqual(new Set(['node4']));
      const link = busyRep.findings.filter((x) => x.node === 'node4' && x.check === 'link');
      expect(link, problems(busyRep)).toHaveLength(8);
      for (const x of link) {
        expect(x.status).toBe('fail');
        expect(x.message).toMatch(/busy/);
        expect(x.message).not.toMatch(/DOWN|UP/);
      }
      // The node answered over SSH: busy is about the tool, not reachability.
      expect(busyRep.findings.filter((x) => x.check === 'ssh').map((x) => x.status)).toEqual(['pass']);
    }, 180_000);
  });
});
