import { describe, expect, it } from 'vitest';
import { judge } from '../../../src/preflight/judge.js';
import type { JudgeContext, NodeFacts, NpuFacts } from '../../../src/preflight/facts.js';
import type { CheckId, Finding } from '../../../src/preflight/finding.js';
import { compareDriverVersions } from '../../../src/ascend/version-info.js';

const NPUS = 2;

function healthyNpu(node: number, npu: number): NpuFacts {
  return {
    ip: { kind: 'ok', value: { address: `192.168.${100 + npu}.${11 + node}`, netmask: '255.255.255.0' } },
    link: { kind: 'ok', value: 'UP' },
    netHealth: { kind: 'ok', value: 'Success' },
    netdetect: { kind: 'ok', value: `192.168.${100 + npu}.1` },
    gateway: { kind: 'ok', value: `192.168.${100 + npu}.1` },
    tls: { kind: 'ok', value: { switch: 0 } },
    lldp: { kind: 'ok', value: { ifname: `400GE1/1/${npu}:1` } },
  };
}

function healthyNode(i: number, names: string[]): NodeFacts {
  const name = names[i]!;
  const npus: Record<number, NpuFacts> = {};
  const devices: Record<number, Record<string, string>> = {};
  for (let d = 0; d < NPUS; d++) {
    npus[d] = healthyNpu(i, d);
    devices[d] = { address: `192.168.${100 + d}.${11 + i}`, netmask: '255.255.255.0', tls_enable: '0' };
  }
  return {
    node: name,
    host: `127.0.1.${i + 1}`,
    ssh: { kind: 'ok', value: true },
    clockOffsetMs: { kind: 'ok', value: 12 },
    driver: { kind: 'ok', value: '25.2.0' },
    npuSmi: { kind: 'ok', value: { devices: [0, 1].map((id) => ({ id, name: '910B3', health: 'OK' })) } },
    hccnConf: { kind: 'ok', value: { devices } },
    runtime: { kind: 'ok', value: 'docker 24.0.7' },
    image: { kind: 'ok', value: true },
    model: { kind: 'ok', value: { hashes: { 'config.json': 'a'.repeat(64) } } },
    listeners: { kind: 'ok', value: [{ address: '0.0.0.0', port: 22 }] },
    npus,
    pings: names.filter((n) => n !== name).flatMap((peer) =>
      [0, 1].map((npu) => ({
        npu, peer, peerNpu: npu, address: `192.168.${100 + npu}.${11 + names.indexOf(peer)}`,
        outcome: { kind: 'ok' as const, value: { loss: false, summary: { transmitted: 3, received: 3, lossPct: 0 }, lostSeqs: [] } },
      }))),
    notes: [],
  };
}

const ctx: JudgeContext = {
  npusPerNode: NPUS,
  gateway: 'optional',
  minDriver: { version: '25.2', reason: 'CANN 8.2.RC1' },
  compareVersions: compareDriverVersions,
  clockToleranceMs: 2000,
  deployment: { image: 'mindie:2.1.RC1', modelPath: '/opt/models/r1', ports: [1025, 1026, 1027, 1120] },
};

function cluster(): NodeFacts[] {
  const names = ['node1', 'node2', 'node3'];
  return names.map((_, i) => healthyNode(i, names));
}

function only(findings: Finding[], check: CheckId, status: Finding['status']): Finding[] {
  return findings.filter((f) => f.check === check && f.status === status);
}

describe('judge', () => {
  it('a healthy cluster passes every check, with npu on per-device checks only', () => {
    const findings = judge(cluster(), ctx);
    expect(findings.filter((f) => f.status !== 'pass')).toEqual([]);
    const checks = new Set(findings.map((f) => f.check));
    for (const id of ['ssh', 'npu-smi', 'driver', 'lldp', 'link', 'net_health', 'netdetect', 'gateway', 'ip', 'tls', 'ping',
      'hccn.conf', 'container-runtime', 'image', 'model', 'ports', 'clock'] as CheckId[]) {
      expect(checks.has(id), id).toBe(true);
    }
    for (const f of findings) {
      if (['link', 'ip', 'tls', 'lldp', 'ping', 'net_health', 'netdetect', 'gateway', 'npu-smi'].includes(f.check)) {
        expect(f.npu, `${f.check}`).toBeTypeOf('number');
      } else {
        expect(f.npu, `${f.check}`).toBeUndefined();
      }
    }
  });

  it('ssh: an unreachable node fails with its hint and the others are still judged', () => {
    const c = cluster();
    c[1] = { ...c[1]!, ssh: { kind: 'error', message: 'node2 (127.0.1.2:22) refused the connection', hint: 'is sshd running?' } };
    const findings = judge(c, ctx);
    expect(only(findings, 'ssh', 'fail')).toEqual([
      { node: 'node2', check: 'ssh', status: 'fail', message: 'node2 (127.0.1.2:22) refused the connection', hint: 'is sshd running?' },
    ]);
    expect(findings.filter((f) => f.node === 'node2')).toHaveLength(1);
    expect(only(findings, 'link', 'pass').filter((f) => f.node === 'node3')).toHaveLength(NPUS);
  });

  it('link DOWN fails on that NPU only', () => {
    const c = cluster();
    c[1]!.npus[1]!.link = { kind: 'ok', value: 'DOWN' };
    const fails = only(judge(c, ctx), 'link', 'fail');
    expect(fails).toHaveLength(1);
    expect(fails[0]).toMatchObject({ node: 'node2', npu: 1, message: 'link status: DOWN' });
    expect(fails[0]!.hint).toMatch(/optical/);
  });

  it('net_health: Init warns, Fault fails', () => {
    const c = cluster();
    c[0]!.npus[0]!.netHealth = { kind: 'ok', value: 'Init' };
    c[2]!.npus[1]!.netHealth = { kind: 'ok', value: 'Fault' };
    const f = judge(c, ctx);
    expect(only(f, 'net_health', 'warn')).toMatchObject([{ node: 'node1', npu: 0 }]);
    expect(only(f, 'net_health', 'fail')).toMatchObject([{ node: 'node3', npu: 1, message: 'net health status: Fault' }]);
  });

  it('lldp: no neighbour fails', () => {
    const c = cluster();
    c[0]!.npus[1]!.lldp = { kind: 'ok', value: {} };
    expect(only(judge(c, ctx), 'lldp', 'fail')).toMatchObject([{ node: 'node1', npu: 1, message: 'no LLDP neighbour' }]);
  });

  it('netdetect unset fails', () => {
    const c = cluster();
    c[2]!.npus[0]!.netdetect = { kind: 'ok', value: null };
    expect(only(judge(c, ctx), 'netdetect', 'fail')).toMatchObject([{ node: 'node3', npu: 0 }]);
  });

  it('gateway unset warns, or fails when required', () => {
    const c = cluster();
    c[1]!.npus[0]!.gateway = { kind: 'ok', value: null };
    expect(only(judge(c, ctx), 'gateway', 'warn')).toMatchObject([{ node: 'node2', npu: 0 }]);
    expect(only(judge(c, { ...ctx, gateway: 'required' }), 'gateway', 'fail')).toMatchObject([{ node: 'node2', npu: 0 }]);
  });

  it('ip: missing fails; a duplicate fails on both owners naming the other', () => {
    const c = cluster();
    c[0]!.npus[1]!.ip = { kind: 'ok', value: null };
    c[2]!.npus[0]!.ip = { kind: 'ok', value: { address: '192.168.100.12', netmask: '255.255.255.0' } };
    const fails = only(judge(c, ctx), 'ip', 'fail');
    expect(fails.map((f) => [f.node, f.npu])).toEqual([['node1', 1], ['node2', 0], ['node3', 0]]);
    expect(fails.find((f) => f.node === 'node2')!.message).toMatch(/also used by node3 NPU 0/);
  });

  it('tls: switch 1 fails and suggests --fix; no certificate (switch unknown) fails too, unless --fix set it', () => {
    const c = cluster();
    c[1]!.npus[1]!.tls = { kind: 'ok', value: { switch: 1 } };
    c[1]!.hccnConf = { kind: 'ok', value: { devices: { 0: { address: '192.168.100.12', tls_enable: '0' }, 1: { address: '192.168.101.12', tls_enable: '1' } } } };
    c[0]!.npus[0]!.tls = { kind: 'ok', value: {} };
    const f = judge(c, ctx);
    expect(only(f, 'tls', 'fail')).toMatchObject([{ node: 'node1', npu: 0, message: /unknown/ }, { node: 'node2', npu: 1 }]);
    for (const x of only(f, 'tls', 'fail')) expect(x.hint).toMatch(/--fix/);
    expect(only(f, 'tls', 'warn')).toEqual([]);
    c[0]!.npus[0]!.tls = { kind: 'ok', value: { setByFix: true } };
    expect(judge(c, ctx).find((x) => x.check === 'tls' && x.node === 'node1' && x.npu === 0)).toMatchObject({ status: 'pass', message: /set by --fix/ });
  });

  it('ping: loss fails naming peer, NPU, loss and lost sequence numbers', () => {
    const c = cluster();
    const p = c[0]!.pings.find((x) => x.peer === 'node3' && x.npu === 1)!;
    p.outcome = { kind: 'ok', value: { loss: true, summary: { transmitted: 3, received: 2, lossPct: 33.33 }, lostSeqs: [1] } };
    const fails = only(judge(c, ctx), 'ping', 'fail');
    expect(fails).toHaveLength(1);
    expect(fails[0]).toMatchObject({ node: 'node1', npu: 1 });
    expect(fails[0]!.message).toContain('node3 NPU 1 (192.168.101.13): 33.33% loss, lost seq 1');
  });

  it('a timed-out call fails its own check and says so', () => {
    const c = cluster();
    c[1]!.npus[0]!.lldp = { kind: 'timeout', seconds: 20 };
    const fails = only(judge(c, ctx), 'lldp', 'fail');
    expect(fails).toMatchObject([{ node: 'node2', npu: 0 }]);
    expect(fails[0]!.message).toMatch(/timed out after 20 s/);
  });

  it('busy past the budget is reported as tool busy, not as a link verdict', () => {
    const c = cluster();
    c[1]!.npus[1]!.link = { kind: 'busy', seconds: 30 };
    const fails = only(judge(c, ctx), 'link', 'fail');
    expect(fails[0]!.message).toMatch(/busy/);
    expect(fails[0]!.message).not.toMatch(/DOWN/);
  });

  it('npu-smi: Warning warns, Alarm fails, a missing NPU fails, an error fails the node', () => {
    const c = cluster();
    c[0]!.npuSmi = { kind: 'ok', value: { devices: [{ id: 0, name: '910B3', health: 'Warning' }] } };
    c[1]!.npuSmi = { kind: 'ok', value: { devices: [{ id: 0, name: '910B3', health: 'OK' }, { id: 1, name: '910B3', health: 'Alarm' }] } };
    c[2]!.npuSmi = { kind: 'error', message: 'dcmi module initialize failed. ret is -8005' };
    const f = judge(c, ctx);
    expect(only(f, 'npu-smi', 'warn')).toMatchObject([{ node: 'node1', npu: 0 }]);
    expect(only(f, 'npu-smi', 'fail').map((x) => [x.node, x.npu])).toEqual([['node1', 1], ['node2', 1], ['node3', undefined]]);
  });

  it('driver: too old fails; the node differing from the majority fails', () => {
    const c = cluster();
    c[2]!.driver = { kind: 'ok', value: '24.1.rc2' };
    let fails = only(judge(c, ctx), 'driver', 'fail');
    expect(fails).toMatchObject([{ node: 'node3' }]);
    expect(fails[0]!.message).toMatch(/older than 25.2/);
    c[2]!.driver = { kind: 'ok', value: '25.3.rc1' };
    fails = only(judge(c, ctx), 'driver', 'fail');
    expect(fails).toMatchObject([{ node: 'node3' }]);
    expect(fails[0]!.message).toMatch(/differs from 25.2.0 on node1, node2/);
  });

  function drivers(...versions: string[]): NodeFacts[] {
    const names = versions.map((_, i) => `node${i + 1}`);
    return versions.map((v, i) => ({ ...healthyNode(i, names), driver: { kind: 'ok' as const, value: v } }));
  }
  const driverFindings = (c: NodeFacts[]) => judge(c, ctx).filter((x) => x.check === 'driver');

  it('driver: an unreadable version is one fail naming it and its file, and throws nothing', () => {
    for (const v of ['25.2.T3', 'V100R001C15SPC012B220', '25.2.0-1']) {
      const c = drivers('25.2.0', v, '25.2.0');
      c[1]!.driverFile = '/opt/Ascend/driver/version.info';
      const d = driverFindings(c);
      expect(d.map((x) => [x.node, x.status])).toEqual([['node1', 'pass'], ['node2', 'fail'], ['node3', 'pass']]);
      expect(d[1]!.message).toBe(`cannot read the driver version "${v}" (package_version, else Version, of /opt/Ascend/driver/version.info)`);
      expect(d[1]!.hint).toMatch(/such as 25\.2\.0.*npu-smi -v on node2/);
    }
    // a comparator that throws on anything must not end the judge either
    const d = judge(drivers('25.2.0'), { ...ctx, compareVersions: () => { throw new RangeError('nope'); } }).filter((x) => x.check === 'driver');
    expect(d).toMatchObject([{ node: 'node1', status: 'fail', message: expect.stringMatching(/cannot read the driver version "25.2.0"/) }]);
  });

  it('driver: an unreadable minimum fails with a hint to fix checks.minDriver, instead of throwing', () => {
    const d = judge(drivers('25.2.0', '25.2.0'), { ...ctx, minDriver: { version: '25', reason: 'checks.minDriver' } })
      .filter((x) => x.check === 'driver');
    expect(d.map((x) => x.status)).toEqual(['fail', 'fail']);
    expect(d[0]!.message).toMatch(/cannot be checked against the minimum "25"/);
    expect(d[0]!.hint).toMatch(/checks\.minDriver/);
  });

  it('driver: a node below the minimum gets one finding, and does not make the healthy node "differ"', () => {
    const d = driverFindings(drivers('24.1.rc1', '25.2.0'));
    expect(d.map((x) => [x.node, x.status])).toEqual([['node1', 'fail'], ['node2', 'pass']]);
    expect(d[0]!.message).toMatch(/24\.1\.rc1 is older than 25\.2/);
    expect(d[0]!.hint).toMatch(/to 25\.2\.0 \(as on node2\)/);
    // two old nodes and one current one: the old ones are still not the reference
    const d3 = driverFindings(drivers('24.1.rc1', '24.1.rc1', '25.2.0'));
    expect(d3.map((x) => x.status)).toEqual(['fail', 'fail', 'pass']);
    expect(d3.filter((x) => /differs/.test(x.message))).toEqual([]);
  });

  it('driver: on a tie the newest version is the reference, whatever the node order, and the message says there is no majority', () => {
    for (const order of [['25.2.0', '25.3.rc1'], ['25.3.rc1', '25.2.0']]) {
      const d = driverFindings(drivers(...order));
      const old = d.find((x) => x.status === 'fail')!;
      expect(d.filter((x) => x.status === 'fail')).toHaveLength(1);
      expect(old.node).toBe(order[0] === '25.2.0' ? 'node1' : 'node2');
      expect(old.message).toMatch(/^driver 25\.2\.0 differs from 25\.3\.rc1 on node\d \(no majority: /);
      expect(old.message).toMatch(/25\.2\.0 on node\d; 25\.3\.rc1 on node\d|25\.3\.rc1 on node\d; 25\.2\.0 on node\d/);
      expect(old.hint).toMatch(/upgrade this node to 25\.3\.rc1/);
    }
    // 2 against 2: still the newer one
    const d = driverFindings(drivers('25.3.rc1', '25.2.0', '25.2.0', '25.3.rc1'));
    expect(d.filter((x) => x.status === 'fail').map((x) => x.node)).toEqual(['node2', 'node3']);
    expect(d[1]!.message).toBe('driver 25.2.0 differs from 25.3.rc1 on node1, node4 (no majority: 25.3.rc1 on node1, node4; 25.2.0 on node2, node3; the newest is the reference)');
  });

  it('driver: with a strict majority only the odd node is reported, without a "no majority" note', () => {
    const d = driverFindings(drivers('25.3.rc1', '25.2.0', '25.2.0'));
    expect(d.map((x) => x.status)).toEqual(['fail', 'pass', 'pass']);
    expect(d[0]!.message).toBe('driver 25.3.rc1 differs from 25.2.0 on node2, node3');
    expect(d[0]!.hint).toBe('install the same driver version on every node');
  });

  it('driver: the most common version wins over a newer one held by fewer nodes', () => {
    // 5 nodes, no strict majority: 25.2.0 ×2 beats 25.3.rc1 ×1 and 25.5.0 ×1 (the old node does not count)
    const d = driverFindings(drivers('25.2.0', '25.3.rc1', '25.2.0', '25.5.0', '24.1.rc1'));
    expect(d.map((x) => [x.node, x.status])).toEqual([['node1', 'pass'], ['node2', 'fail'], ['node3', 'pass'], ['node4', 'fail'], ['node5', 'fail']]);
    expect(d[1]!.message).toMatch(/differs from 25\.2\.0 on node1, node3 \(no majority: /);
    expect(d[4]!.message).toMatch(/older than/);
  });

  it('hccn.conf: missing file and a stale address both fail', () => {
    const c = cluster();
    c[0]!.hccnConf = { kind: 'ok', value: null };
    c[1]!.hccnConf = { kind: 'ok', value: { devices: { 0: { address: '10.9.9.9', netmask: '255.255.255.0' }, 1: { address: '192.168.101.12' } } } };
    const fails = only(judge(c, ctx), 'hccn.conf', 'fail');
    expect(fails.map((x) => [x.node, x.npu])).toEqual([['node1', undefined], ['node2', 0]]);
    expect(fails[1]!.message).toMatch(/address_0=10.9.9.9 but hccn_tool reports 192.168.100.12/);
  });

  it('container-runtime, image, model, ports and clock each have a failing case', () => {
    const c = cluster();
    c[0]!.runtime = { kind: 'error', message: 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?' };
    delete c[0]!.image;
    c[1]!.image = { kind: 'ok', value: false };
    // model compares the weights' index (config.json's sameness is the weights check's)
    c[2]!.model = { kind: 'ok', value: { hashes: { 'config.json': 'a'.repeat(64), 'model.safetensors.index.json': 'c'.repeat(64) } } };
    c[1]!.listeners = { kind: 'ok', value: [{ address: '127.0.1.2', port: 1025 }] };
    c[2]!.clockOffsetMs = { kind: 'ok', value: -5300 };
    const f = judge(c, ctx);
    expect(only(f, 'container-runtime', 'fail')).toMatchObject([{ node: 'node1' }]);
    expect(only(f, 'image', 'warn')).toMatchObject([{ node: 'node2' }]);
    expect(only(f, 'model', 'fail')).toMatchObject([{ node: 'node3' }]);
    expect(only(f, 'ports', 'fail')).toMatchObject([{ node: 'node2', message: 'port 1025 already in use on 127.0.1.2' }]);
    expect(only(f, 'clock', 'fail')).toMatchObject([{ node: 'node3', message: 'clock is behind by 5.3 s' }]);
  });

  it('ports held by the deployment being replaced are not conflicts', () => {
    const c = cluster();
    c[0]!.listeners = { kind: 'ok', value: [{ address: '127.0.1.1', port: 1025 }] };
    expect(only(judge(c, { ...ctx, deployment: { ...ctx.deployment!, ownPorts: { node1: [1025] } } }), 'ports', 'fail')).toEqual([]);
  });

  it('a missing model path fails', () => {
    const c = cluster();
    c[1]!.model = { kind: 'ok', value: null };
    expect(only(judge(c, ctx), 'model', 'fail')).toMatchObject([{ node: 'node2' }]);
  });

  it('ping: a lone node selected with --node warns per NPU that the cross-node paths were not checked', () => {
    const lone = healthyNode(0, ['node1']);
    const f = judge([lone], { ...ctx, unselectedNodes: ['node2', 'node3'] });
    const warns = only(f, 'ping', 'warn');
    expect(warns.map((w) => w.npu)).toEqual([0, 1]);
    expect(warns[0]).toMatchObject({ node: 'node1', message: expect.stringMatching(/not checked: no other node selected \(--node\)/) });
    expect(warns[0]!.hint).toMatch(/without --node/);
    expect(f.some((x) => x.status === 'fail')).toBe(false);
    // a one-node inventory has no cross-node path to check: ping is not needed (issue #10: one server), never a warning
    // (per NPU, as every ping finding: npu is present for per-device checks)
    expect(judge([lone], ctx).filter((x) => x.check === 'ping')).toEqual([0, 1].map((npu) =>
      ({ node: 'node1', npu, check: 'ping', status: 'pass', message: 'not needed: a single server has no peer to reach over RoCE' })));
  });

  it('ping: two selected nodes are judged on their own plan, without a --node warning', () => {
    const names = ['node1', 'node3'];
    const f = judge(names.map((_, i) => healthyNode(i, names)), { ...ctx, unselectedNodes: ['node2'] });
    expect(only(f, 'ping', 'warn')).toEqual([]);
    expect(only(f, 'ping', 'pass')).toHaveLength(2 * NPUS);
  });
});
