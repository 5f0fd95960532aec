/**
 * Every fault the simulator can inject into a node before a deploy is reported by preflight with the
 * right node, NPU and check id (in-process simulated cluster behind real SSH protocol, fast profile).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemoCluster, type DemoCluster } from '../../src/demo/cluster.js';
import type { SimFault } from '../../src/sim/types.js';
import { runInProcess } from '../support/in-process.js';

const preflight = () => import('../../src/commands/preflight.js');
let cluster: DemoCluster;

beforeAll(async () => {
  cluster = await startDemoCluster({ nodes: 4, subnet: 201 });
});
afterAll(async () => {
  await cluster?.stop();
});

async function check(faults: Record<string, SimFault[]>, extra: Record<string, unknown> = {}, args: string[] = []) {
  for (const n of cluster.nodes) await cluster.sim.setFaults(n.name, faults[n.name] ?? []);
  return runInProcess(preflight, args, { json: true, inventory: cluster.inventoryPath, ping: 'auto', parallel: '32', ...extra },
    { cwd: cluster.dir, home: cluster.dir });
}

type Expect = { node: string; check: string; status: 'fail' | 'warn'; npu?: number; message?: RegExp };

function expectFindings(json: any, expected: Expect[]) {
  for (const e of expected) {
    const hit = json.findings.find((f: any) => f.node === e.node && f.check === e.check && f.status === e.status &&
      (e.npu === undefined || f.npu === e.npu) && (!e.message || e.message.test(f.message)));
    expect(hit, `expected ${JSON.stringify(e)} in ${JSON.stringify(json.findings.filter((f: any) => f.status !== 'pass'))}`).toBeTruthy();
    if (e.status !== 'fail' || e.check === 'ssh') continue;
    expect(hit.hint, `${e.check} has a next step`).toBeTruthy();
  }
}

describe('preflight on a simulated cluster', () => {
  it('a healthy cluster passes: exit 0, ok true, the contract JSON shape', async () => {
    const r = await check({});
    expect(r.exitCode).toBe(0);
    expect(r.json.ok).toBe(true);
    expect(Object.keys(r.json).sort()).toEqual(['findings', 'ok']);
    for (const f of r.json.findings) {
      expect(['pass', 'warn', 'fail']).toContain(f.status);
      expect(typeof f.node).toBe('string');
      expect(typeof f.message).toBe('string');
      // The contract's shape: hint on every finding (empty for a pass), npu only on per-device checks.
      expect(Object.keys(f).filter((k) => k !== 'npu').sort()).toEqual(['check', 'hint', 'message', 'node', 'status']);
      expect(f.hint).toBe('');
    }
    const checks = new Set(r.json.findings.map((f: any) => f.check));
    for (const id of ['ssh', 'npu-smi', 'driver', 'lldp', 'link', 'net_health', 'netdetect', 'gateway', 'ip', 'tls', 'ping', 'hccn.conf', 'container-runtime', 'clock']) {
      expect(checks.has(id), id).toBe(true);
    }
    // 4 nodes × 8 NPUs, each NPU pinging the 3 other nodes (full matrix up to 8 nodes), all passing
    expect(r.json.findings.filter((f: any) => f.check === 'ping' && f.status === 'pass')).toHaveLength(32);
  });

  const cases: [string, Record<string, SimFault[]>, Expect[]][] = [
    ['link-down', { node2: [{ kind: 'link-down', npu: 3 }] }, [{ node: 'node2', npu: 3, check: 'link', status: 'fail', message: /DOWN/ }]],
    ['tls-on', { node3: [{ kind: 'tls-on', npu: 5 }] }, [{ node: 'node3', npu: 5, check: 'tls', status: 'fail' }]],
    ['no-ip', { node1: [{ kind: 'no-ip', npu: 2 }] }, [{ node: 'node1', npu: 2, check: 'ip', status: 'fail', message: /no IP/ }]],
    ['duplicate-ip', { node2: [{ kind: 'duplicate-ip', npu: 1, node: 'node1' }] }, [
      { node: 'node2', npu: 1, check: 'ip', status: 'fail', message: /also used by node1 NPU 1/ },
      { node: 'node1', npu: 1, check: 'ip', status: 'fail', message: /also used by node2 NPU 1/ },
    ]],
    ['no-gateway', { node3: [{ kind: 'no-gateway', npu: 0 }] }, [{ node: 'node3', npu: 0, check: 'gateway', status: 'warn' }]],
    ['netdetect-unset', { node1: [{ kind: 'netdetect-unset', npu: 7 }] }, [{ node: 'node1', npu: 7, check: 'netdetect', status: 'fail' }]],
    ['lldp-empty', { node2: [{ kind: 'lldp-empty', npu: 4 }] }, [{ node: 'node2', npu: 4, check: 'lldp', status: 'fail', message: /no LLDP/ }]],
    ['ping-loss (partial)', { node1: [{ kind: 'ping-loss', npu: 6, peer: 'node2', lost: 1 }] }, [
      { node: 'node1', npu: 6, check: 'ping', status: 'fail', message: /node2 NPU 6 .*33\.33% loss/ },
    ]],
    ['ping-loss (total)', { node3: [{ kind: 'ping-loss', npu: 0 }] }, [{ node: 'node3', npu: 0, check: 'ping', status: 'fail', message: /100\.00% loss/ }]],
    ['old-driver', { node2: [{ kind: 'old-driver', version: '24.1.rc2' }] }, [{ node: 'node2', check: 'driver', status: 'fail', message: /24\.1\.rc2 is older than 25\.2/ }]],
    ['npu-health Alarm', { node3: [{ kind: 'npu-health', npu: 2, value: 'Alarm' }] }, [{ node: 'node3', npu: 2, check: 'npu-smi', status: 'fail', message: /Alarm/ }]],
    ['npu-health Warning', { node1: [{ kind: 'npu-health', npu: 1, value: 'Warning' }] }, [{ node: 'node1', npu: 1, check: 'npu-smi', status: 'warn' }]],
    ['hccn-conf-stale', { node2: [{ kind: 'hccn-conf-stale', npu: 3 }] }, [{ node: 'node2', npu: 3, check: 'hccn.conf', status: 'fail', message: /address_3=/ }]],
    ['hccn-conf-missing', { node1: [{ kind: 'hccn-conf-missing' }] }, [{ node: 'node1', check: 'hccn.conf', status: 'fail', message: /does not exist/ }]],
    ['clock-skew', { node3: [{ kind: 'clock-skew', seconds: 7 }] }, [{ node: 'node3', check: 'clock', status: 'fail', message: /ahead by (7|6\.9\d*|7\.0\d*) s/ }]],
    ['runtime-down', { node2: [{ kind: 'runtime-down' }] }, [{ node: 'node2', check: 'container-runtime', status: 'fail', message: /Docker daemon/ }]],
  ];
  for (const [name, faults, expected] of cases) {
    it(`reports ${name}`, async () => {
      const r = await check(faults);
      expect(r.exitCode, r.stderr).toBe(expected.some((e) => e.status === 'fail') ? 1 : 0);
      expect(r.json.ok).toBe(!expected.some((e) => e.status === 'fail'));
      expectFindings(r.json, expected);
    });
  }

  for (const value of ['Socket fail', 'Receive timeout', 'Unreachable', 'Time exceeded', 'Fault', 'Thread error', 'Detect ip set', 'Unknown', 'Init'] as const) {
    it(`reports net_health ${value}`, async () => {
      const r = await check({ node2: [{ kind: 'net-health', npu: 6, value }] });
      expectFindings(r.json, [{ node: 'node2', npu: 6, check: 'net_health', status: value === 'Init' ? 'warn' : 'fail', message: new RegExp(value) }]);
    });
  }

  for (const version of ['25.2.T3', 'V100R001C15SPC012B220', '25.2.0-1']) {
    it(`reports an unreadable driver version ${version} as a driver finding and judges the rest as usual`, async () => {
      const r = await check({ node2: [{ kind: 'old-driver', version }] });
      expect(r.exitCode, r.stderr).toBe(1);
      expect(r.error).toBeUndefined();
      expect(r.json.ok).toBe(false);
      const bad = r.json.findings.filter((f: any) => f.status !== 'pass');
      expect(bad).toHaveLength(1);
      expect(bad[0]).toMatchObject({ node: 'node2', check: 'driver', status: 'fail' });
      expect(bad[0].message).toContain(`cannot read the driver version "${version}"`);
      expect(bad[0].message).toMatch(/driver\/version\.info/);
      expect(bad[0].hint).toBeTruthy();
      expect(r.json.findings.filter((f: any) => f.check === 'driver' && f.status === 'pass')).toHaveLength(3);
    });
  }

  it('driver: a 2-2 split takes the newer version as the reference and says there is no majority', async () => {
    const r = await check({ node1: [{ kind: 'old-driver', version: '25.3.rc1' }], node3: [{ kind: 'old-driver', version: '25.3.rc1' }] });
    expect(r.exitCode).toBe(1);
    const driver = r.json.findings.filter((f: any) => f.check === 'driver');
    expect(driver.map((f: any) => [f.node, f.status])).toEqual([['node1', 'pass'], ['node2', 'fail'], ['node3', 'pass'], ['node4', 'fail']]);
    expect(driver[1].message).toMatch(/^driver 25\.2\.0 differs from 25\.3\.rc1 on node1, node3 \(no majority: /);
  });

  it('driver: a node below the minimum is the only one reported', async () => {
    const r = await check({ node1: [{ kind: 'old-driver', version: '24.1.rc1' }] });
    const driver = r.json.findings.filter((f: any) => f.check === 'driver' && f.status !== 'pass');
    expect(driver).toHaveLength(1);
    expect(driver[0]).toMatchObject({ node: 'node1', message: expect.stringMatching(/24\.1\.rc1 is older than 25\.2/) });
  });

  it('reports an unreachable node and still checks the others', async () => {
    const r = await check({ node2: [{ kind: 'node-down' }] });
    expect(r.exitCode).toBe(1);
    expectFindings(r.json, [{ node: 'node2', check: 'ssh', status: 'fail', message: /node2/ }]);
    expect(r.json.findings.filter((f: any) => f.node === 'node2')).toHaveLength(1);
    expect(r.json.findings.filter((f: any) => f.node === 'node1' && f.check === 'link' && f.status === 'pass')).toHaveLength(8);
    expect(r.json.findings.filter((f: any) => f.node === 'node3' && f.check === 'link' && f.status === 'pass')).toHaveLength(8);
  });

  it('reports a hung call as a timeout of its own check, and the node\'s other checks still finish', async () => {
    const r = await check({ node3: [{ kind: 'hang', command: 'lldp', npu: 2 }] }, { callTimeout: '1s', busyTimeout: '10s' });
    expectFindings(r.json, [{ node: 'node3', npu: 2, check: 'lldp', status: 'fail', message: /timed out after 1 s/ }]);
    expect(r.json.findings.filter((f: any) => f.node === 'node3' && f.check === 'tls' && f.status === 'pass')).toHaveLength(8);
  });

  it('reports a container runtime that never answers as a timeout of container-runtime', async () => {
    const r = await check({ node2: [{ kind: 'program-hang', program: 'docker' }] }, { callTimeout: '1s' });
    expect(r.exitCode).toBe(1);
    expectFindings(r.json, [{ node: 'node2', check: 'container-runtime', status: 'fail', message: /timed out after 1 s/ }]);
    expect(r.json.findings.filter((f: any) => f.status !== 'pass').map((f: any) => `${f.node} ${f.check}`)).toEqual(['node2 container-runtime']);
  });

  it('waits out a busy storm (busy is never a verdict on the NPU)', async () => {
    const r = await check({ node1: [{ kind: 'busy-storm', share: 0.3 }] }, { busyTimeout: '20s' });
    expect(r.exitCode).toBe(0);
    expect(r.json.findings.filter((f: any) => f.status !== 'pass')).toEqual([]);
  });

  it('reports a node that stays busy past the budget as "tool busy", not as a link verdict', async () => {
    const r = await check({ node1: [{ kind: 'busy-storm', share: 1 }] }, { busyTimeout: '1s' });
    expect(r.exitCode).toBe(1);
    const link = r.json.findings.filter((f: any) => f.node === 'node1' && f.check === 'link');
    expect(link.length).toBeGreaterThan(0);
    for (const f of link) {
      expect(f.status).toBe('fail');
      expect(f.message).toMatch(/busy/);
      expect(f.message).not.toMatch(/DOWN/);
    }
    // one budget for the node, not one per call: the operator hears it once
    expect(r.json.findings.filter((f: any) => f.node === 'node2' && f.status !== 'pass')).toEqual([]);
  });

  it('--fix sets every TLS switch to 0 and checks again', async () => {
    const r = await check({ node1: [{ kind: 'tls-on', npu: 0 }], node3: [{ kind: 'tls-on', npu: 7 }] }, { fix: true });
    expect(r.exitCode, r.stdout).toBe(0);
    expect(r.json.findings.filter((f: any) => f.check === 'tls' && f.status !== 'pass')).toEqual([]);
    expect(r.json.findings.filter((f: any) => f.check === 'hccn.conf' && f.status !== 'pass')).toEqual([]);
  });

  it('a device with no certificate: its TLS switch is unknown, a fail; --fix sets it to 0 and says so', async () => {
    const faults = { node2: [{ kind: 'tls-no-cert', npu: 4 } as SimFault, { kind: 'tls-on', npu: 4 } as SimFault] };
    const r = await check(faults);
    expect(r.exitCode).toBe(1);
    expectFindings(r.json, [{ node: 'node2', npu: 4, check: 'tls', status: 'fail', message: /unknown: the device has no certificate/ }]);
    const fixed = await check(faults, { fix: true });
    expect(fixed.exitCode, fixed.stdout).toBe(0);
    expect(fixed.json.findings.find((f: any) => f.node === 'node2' && f.npu === 4 && f.check === 'tls')).toMatchObject({ status: 'pass', message: /set by --fix/ });
    // The switch the device holds is now 0: what HCCL compares across ranks.
    expect(cluster.sim.cluster.find('node2')!.tlsSwitches()[4]).toBe(0);
  });

  it('Ctrl-C during the run exits 130, not with a verdict on the cluster', async () => {
    for (const n of cluster.nodes) await cluster.sim.setFaults(n.name, n.name === 'node2' ? [{ kind: 'hang', command: 'lldp' }] : []);
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 300);
    const r = await runInProcess(preflight, [], { json: true, inventory: cluster.inventoryPath, ping: 'auto', parallel: '32', callTimeout: '20s' },
      { cwd: cluster.dir, home: cluster.dir, signal: ac.signal });
    expect(r.exitCode).toBe(130);
    expect(r.error).toMatch(/interrupted/);
    expect(r.stdout).toBe('');
  });

  it('Ctrl-C while a busy retry waits exits 130 too, not as an unexpected failure', async () => {
    // every call busy and a long budget: after a second node2 spends nearly all its time in the backoff sleep
    for (const n of cluster.nodes) await cluster.sim.setFaults(n.name, n.name === 'node2' ? [{ kind: 'busy-storm', share: 1 }] : []);
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('interrupted')), 1_500);
    const r = await runInProcess(preflight, [], { json: true, inventory: cluster.inventoryPath, ping: 'auto', parallel: '32', busyTimeout: '60s' },
      { cwd: cluster.dir, home: cluster.dir, signal: ac.signal });
    expect(r.exitCode).toBe(130);
    expect(r.error).toMatch(/interrupted/);
    expect(r.stdout).toBe('');
  });

  it('--node with one node warns that ping was not checked instead of passing it silently', async () => {
    const r = await check({ node2: [{ kind: 'link-down', npu: 3 }] }, { node: ['node1'] });
    expect(r.exitCode).toBe(0);
    expect(r.json.ok).toBe(true);
    const ping = r.json.findings.filter((f: any) => f.check === 'ping');
    expect(ping).toHaveLength(8);
    for (const f of ping) {
      expect(f).toMatchObject({ node: 'node1', status: 'warn', message: expect.stringMatching(/not checked: no other node selected \(--node\)/) });
      expect(f.hint).toMatch(/without --node/);
    }
    expect(ping.map((f: any) => f.npu).sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);

    const human = await runInProcess(preflight, [], { inventory: cluster.inventoryPath, ping: 'auto', parallel: '32', node: ['node1'] },
      { cwd: cluster.dir, home: cluster.dir });
    expect(human.stdout).toMatch(/ping\s+NPU 0-7\s+not checked: no other node selected/);
    expect(human.stdout).toMatch(/→ run without --node/);
    expect(human.stdout).toMatch(/preflight passed on 1 node with 8 warnings/);
  });

  it('--node with two nodes pings between them as usual', async () => {
    const r = await check({}, { node: ['node1', 'node3'] });
    expect(r.exitCode).toBe(0);
    const ping = r.json.findings.filter((f: any) => f.check === 'ping');
    expect(ping).toHaveLength(16);
    expect(ping.every((f: any) => f.status === 'pass')).toBe(true);
  });

  it('the human report gives warnings their next step and keeps long check ids apart from the message', async () => {
    for (const n of cluster.nodes) {
      await cluster.sim.setFaults(n.name, n.name === 'node3' ? [{ kind: 'no-gateway', npu: 1 }, { kind: 'runtime-down' }] : []);
    }
    const r = await runInProcess(preflight, [], { inventory: cluster.inventoryPath, ping: 'auto', parallel: '32' }, { cwd: cluster.dir, home: cluster.dir });
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toMatch(/gateway\s+NPU 1\s+no gateway configured\n\s+→ set it with hccn_tool -i 1 -gateway -s gateway/);
    expect(r.stdout).toMatch(/container-runtime +\S/);
  });

  it('--node limits the run to the named nodes', async () => {
    const r = await check({ node2: [{ kind: 'link-down', npu: 1 }] }, { node: ['node1', 'node3'] });
    expect(r.exitCode).toBe(0);
    expect(new Set(r.json.findings.map((f: any) => f.node))).toEqual(new Set(['node1', 'node3']));
  });

  it('the human report expands only failures, names node and NPU, and draws the ping grid', async () => {
    for (const n of cluster.nodes) await cluster.sim.setFaults(n.name, n.name === 'node2' ? [{ kind: 'link-down', npu: 3 }] : []);
    const r = await runInProcess(preflight, [], { inventory: cluster.inventoryPath, ping: 'auto', parallel: '32' }, { cwd: cluster.dir, home: cluster.dir });
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toMatch(/node4 \(127\.201\.0\.4\)\s+1 failed, \d+ passed/);
    expect(r.stdout).toMatch(/link\s+NPU 3\s+link status: DOWN/);
    expect(r.stdout).toMatch(/check the optical module/);
    // the healthy nodes' pings to node2 NPU 3 fail too, and the grid shows which pairs
    expect(r.stdout).toMatch(/ping\s+NPU 3\s+node2 NPU 3 \(192\.168\.103\.12\): 100\.00% loss/);
    expect(r.stdout).toMatch(/NPU 3\s+node1\s+node2\s+node3\s+node4/);
    expect(r.stdout).not.toMatch(/net_health\s+NPU/);
  });
});

describe('preflight with a deployment file', () => {
  it('checks image, model and ports, and reports each of their faults', async () => {
    for (const n of cluster.nodes) await cluster.sim.setFaults(n.name, []);
    let r = await runInProcess(preflight, [cluster.deploymentPath], { json: true, ping: 'auto', parallel: '32' }, { cwd: cluster.dir, home: cluster.dir });
    expect(r.exitCode, JSON.stringify(r.json?.findings.filter((f: any) => f.status !== 'pass'))).toBe(0);
    for (const id of ['image', 'model', 'ports']) expect(r.json.findings.some((f: any) => f.check === id && f.status === 'pass'), id).toBe(true);

    // The HTTP ports matter on the master only (contract, "Checks added in v2"): the taken port is the master's.
    await cluster.sim.setFaults('node1', [{ kind: 'image-absent' }, { kind: 'port-taken', port: 1026 }]);
    await cluster.sim.setFaults('node2', []);
    await cluster.sim.setFaults('node3', [{ kind: 'model-missing' }]);
    r = await runInProcess(preflight, [cluster.deploymentPath], { json: true, ping: 'auto', parallel: '32' }, { cwd: cluster.dir, home: cluster.dir });
    expect(r.exitCode).toBe(1);
    expectFindings(r.json, [
      { node: 'node1', check: 'image', status: 'warn' },
      { node: 'node1', check: 'ports', status: 'fail', message: /1026/ },
      { node: 'node3', check: 'model', status: 'fail', message: /does not exist/ },
    ]);
  });
});
