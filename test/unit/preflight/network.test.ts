/**
 * The pure parts of `address`, `reach` and the HCCL part of `ports`: the star plan, the probe's
 * output protocol, `ip` output parsing, and the judges with a passing and a failing case each.
 */
import { describe, expect, it } from 'vitest';
import type { JudgeContext, NodeFacts, ReachFacts } from '../../../src/preflight/facts.js';
import type { Finding } from '../../../src/preflight/finding.js';
import { judgeAddress, judgeReach, portsForNode } from '../../../src/preflight/network-judge.js';
import { hcclPorts, parseIpAddr, portList, reachPlan, routeIsLocal } from '../../../src/preflight/network.js';
import { connectArgv, listenArgv, parseProbeLine, parseProbeOutput } from '../../../src/preflight/reach-probe.js';
import { judge } from '../../../src/preflight/judge.js';
import { compareDriverVersions } from '../../../src/ascend/version-info.js';
import { shellJoin } from '../../../src/remote/quote.js';

const HCCL = hcclPorts(undefined);
const ctx: JudgeContext = {
  npusPerNode: 0,
  gateway: 'optional',
  minDriver: { version: '25.2', reason: 'test' },
  compareVersions: compareDriverVersions,
  clockToleranceMs: 2000,
  deployment: { image: 'i', modelPath: '/m', ports: [1025, 1026, 1027, 1120], hcclPorts: HCCL, master: 'node1' },
};

function node(name: string, extra: Partial<NodeFacts> = {}): NodeFacts {
  return { node: name, host: '10.0.0.2', ssh: { kind: 'ok', value: true }, npus: {}, pings: [], notes: [], ...extra };
}

function reach(v: Partial<ReachFacts>): NodeFacts['reach'] {
  return { kind: 'ok', value: { probes: [], untested: [], ...v } };
}

const probes = (to: string, ports: number[], outcome: string) => ports.map((port) => ({ to, address: '10.0.0.1', port, outcome }));

describe('hcclPorts', () => {
  it('is 60000-60015 by default and follows HCCL_IF_BASE_PORT', () => {
    expect(HCCL).toEqual(Array.from({ length: 16 }, (_, i) => 60000 + i));
    expect(hcclPorts({ HCCL_IF_BASE_PORT: '50000' })[15]).toBe(50015);
    expect(hcclPorts({ HCCL_IF_BASE_PORT: '65530' })[0]).toBe(60000); // the range would pass 65535
  });
});

describe('reachPlan', () => {
  it('is a star around the master: linear in N', () => {
    const p = reachPlan(['node1', 'node2', 'node3'], 'node1', 1120, HCCL);
    expect(p.listen.get('node1')).toEqual([1120, ...HCCL]);
    expect(p.listen.get('node2')).toEqual(HCCL);
    expect(p.connect.get('node1')).toEqual([{ to: 'node2', ports: HCCL }, { to: 'node3', ports: HCCL }]);
    expect(p.connect.get('node3')).toEqual([{ to: 'node1', ports: [1120, ...HCCL] }]);
    const big = reachPlan(Array.from({ length: 64 }, (_, i) => `n${i}`), 'n0', 1120, HCCL);
    expect([...big.connect.values()].flat().length).toBe(2 * 63);
  });

  it('has nothing to do for a single node', () => {
    expect(reachPlan(['node1'], 'node1', 1120, HCCL).listen.size).toBe(0);
  });
});

describe('probe protocol', () => {
  it('builds argv arrays that quote into one safe command line', () => {
    expect(listenArgv('10.0.0.1', [1120, 60000]).slice(3)).toEqual(['listen', '10.0.0.1', '60', '1120', '60000']);
    expect(connectArgv('10.0.0.2', [{ address: '10.0.0.1', port: 1120 }]).slice(3)).toEqual(['connect', '10.0.0.2', '3', '10.0.0.1:1120']);
    const line = shellJoin(listenArgv('10.0.0.1', [1120]));
    expect(line.startsWith("python3 -c '# ascendctl reach probe v1")).toBe(true);
  });

  it('reads only its own lines, whatever banners come with them', () => {
    expect(parseProbeOutput('Welcome to openEuler\nascendctl-reach ready\nascendctl-reach bind-failed 60003 EADDRINUSE\n')).toEqual([
      { kind: 'ready' }, { kind: 'bind-failed', port: 60003, errno: 'EADDRINUSE' },
    ]);
    expect(parseProbeLine('ascendctl-reach result 10.0.0.1 1120 timeout')).toEqual({ kind: 'result', address: '10.0.0.1', port: 1120, outcome: 'timeout' });
    expect(parseProbeLine('ascendctl-reach result 10.0.0.1 x ok')).toBeUndefined();
    expect(parseProbeLine('ascendctl-reach source-failed EADDRNOTAVAIL')).toEqual({ kind: 'source-failed', errno: 'EADDRNOTAVAIL' });
  });
});

describe('ip output', () => {
  it('lists the addresses of `ip -o addr show`', () => {
    const text = [
      '1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever',
      '1: lo    inet6 ::1/128 scope host noprefixroute \\       valid_lft forever preferred_lft forever',
      '2: enp189s0f0    inet 10.0.0.1/24 brd 10.0.0.255 scope global enp189s0f0\\       valid_lft forever preferred_lft forever',
      '3: docker0    inet 172.17.0.1/16 brd 172.17.255.255 scope global docker0\\       valid_lft forever preferred_lft forever',
    ].join('\n');
    expect(parseIpAddr(text)).toEqual(['127.0.0.1', '::1', '10.0.0.1', '172.17.0.1']);
  });

  it('tells a local route from a routed one', () => {
    expect(routeIsLocal('local 127.0.5.3 dev lo table local src 127.0.0.1 uid 0 \n    cache <local> \n')).toBe(true);
    expect(routeIsLocal('10.0.0.5 dev eth0 src 10.0.0.1 uid 0 \n    cache \n')).toBe(false);
  });

  it('prints port lists as ranges', () => {
    expect(portList([60001, 60000, 1120, 60002])).toBe('1120, 60000-60002');
  });
});

describe('judgeAddress', () => {
  const facts = (rendered: string, listed: string[], routeLocal = false) =>
    node('node2', { address: { kind: 'ok', value: { rendered, listed, routeLocal } } });

  it('passes when ip addr lists the rendered address, or the kernel routes it local', () => {
    const out: Finding[] = [];
    judgeAddress(out, facts('10.0.0.2', ['127.0.0.1', '10.0.0.2']));
    judgeAddress(out, facts('127.0.7.2', ['127.0.0.1'], true));
    expect(out.map((f) => f.status)).toEqual(['pass', 'pass']);
  });

  it('fails with the node\'s own addresses and the address: hint', () => {
    const out: Finding[] = [];
    judgeAddress(out, facts('203.0.113.9', ['127.0.0.1', '10.0.0.2', '172.17.0.1']));
    expect(out).toEqual([{
      node: 'node2', check: 'address', status: 'fail',
      message: '203.0.113.9 (MIES_CONTAINER_IP, ipAddress, server_id) is not an address of node2; its addresses: 10.0.0.2, 172.17.0.1',
      hint: expect.stringMatching(/Failed to listen 203\.0\.113\.9:<port>.*set address:/),
    }]);
  });

  it('warns, never passes, when ip is missing; fails on an unresolvable name', () => {
    const out: Finding[] = [];
    judgeAddress(out, node('node2', { address: { kind: 'error', message: 'ip is not installed', reason: 'not-found' } }));
    judgeAddress(out, node('node3', { address: { kind: 'error', message: 'node3: cannot resolve gpu3.lab to an IPv4 address' } }));
    expect(out.map((f) => [f.node, f.status])).toEqual([['node2', 'warn'], ['node3', 'fail']]);
  });
});

describe('judgeReach', () => {
  const one = (n: NodeFacts, c: JudgeContext = ctx) => {
    const out: Finding[] = [];
    judgeReach(out, n, c);
    return out;
  };

  it('passes when every probe connected', () => {
    expect(one(node('node2', { reach: reach({ probes: probes('node1', [1120, ...HCCL], 'ok') }) }))).toEqual([
      { node: 'node2', check: 'reach', status: 'pass', message: 'reached node1:1120, 60000-60015 over TCP' },
    ]);
  });

  it('fails naming both ends, telling a drop from a refusal, with firewall-cmd and iptables lines', () => {
    const [f] = one(node('node2', { reach: reach({ probes: [...probes('node1', [1120], 'timeout'), ...probes('node1', HCCL, 'ECONNREFUSED')] }) }));
    expect(f).toMatchObject({ status: 'fail', check: 'reach' });
    expect(f!.message).toBe('node2 → node1:1120 blocked (timed out: packets dropped, a DROP rule or an ACL); '
      + 'node2 → node1:60000-60015 blocked (refused: a reset came back while the probe listened, a REJECT rule)');
    expect(f!.hint).toContain('firewall-cmd --permanent --add-port=1120/tcp --add-port=60000-60015/tcp && firewall-cmd --reload');
    expect(f!.hint).toContain('iptables -I INPUT -p tcp --dport 60000:60015 -j ACCEPT');
  });

  it('warns when a node lacks python3 or a port could not be tested', () => {
    expect(one(node('node2', { reach: reach({ missingTool: 'no python3' }) }))).toMatchObject([
      { status: 'warn', message: 'cannot test reachability on node2: no python3' }]);
    expect(one(node('node1', { reach: reach({ probes: probes('node2', [60001], 'ok'), untested: ['node2:60000 in use there (see ports)'] }) })))
      .toMatchObject([{ status: 'warn', message: 'not tested: node2:60000 in use there (see ports); reached node2:60001' }]);
  });

  it('says why nothing was probed, and runs only with a deployment', () => {
    expect(one(node('node1', { reach: reach({ notProbed: { status: 'pass', why: 'single node: no peer to reach' } }) })))
      .toMatchObject([{ status: 'pass', message: 'single node: no peer to reach' }]);
    const { deployment: _d, ...noDeployment } = ctx;
    expect(one(node('node1', { reach: reach({}) }), noDeployment)).toEqual([]);
  });
});

describe('ports with the HCCL range', () => {
  it('checks the HTTP ports and multiNodesInfer on the master only, HCCL everywhere', () => {
    expect(portsForNode('node1', ctx.deployment!)).toEqual([1025, 1026, 1027, 1120, ...HCCL]);
    expect(portsForNode('node2', ctx.deployment!)).toEqual(HCCL);
  });

  it('fails a worker holding an HCCL port, not one holding 1025; a redeploy\'s own daemon is no conflict', () => {
    const facts = [
      node('node1', { host: '10.0.0.1', listeners: { kind: 'ok', value: [{ address: '0.0.0.0', port: 22 }] } }),
      node('node2', { host: '10.0.0.2', listeners: { kind: 'ok', value: [{ address: '0.0.0.0', port: 1025 }, { address: '10.0.0.2', port: 60007 }] } }),
      node('node3', { host: '10.0.0.3', listeners: { kind: 'ok', value: [{ address: '0.0.0.0', port: 60000 }] } }),
    ];
    const base = { ...ctx, deployment: { ...ctx.deployment!, ownPorts: { node3: [1025, 1026, 1027, 1120] } } };
    const ports = judge(facts, base).filter((f) => f.check === 'ports');
    expect(ports.map((f) => [f.node, f.status])).toEqual([['node1', 'pass'], ['node2', 'fail'], ['node3', 'pass']]);
    expect(ports[1]!.message).toBe('port 60007 already in use on 10.0.0.2 (HCCL\'s range 60000-60015: HCCL fails with "Recv unmatched ack")');
    expect(ports[1]!.hint).toMatch(/HCCL_IF_BASE_PORT/);
  });

  it('judges a node reached through NAT on its own (rendered) address', () => {
    const facts = [
      node('node1', { host: '10.0.0.1', listeners: { kind: 'ok', value: [] } }),
      node('node2', {
        host: '203.0.113.5',
        address: { kind: 'ok', value: { rendered: '10.0.0.2', listed: ['10.0.0.2'], routeLocal: false } },
        listeners: { kind: 'ok', value: [{ address: '10.0.0.2', port: 60001 }] },
      }),
    ];
    const ports = judge(facts, ctx).filter((f) => f.check === 'ports');
    expect(ports.map((f) => [f.node, f.status])).toEqual([['node1', 'pass'], ['node2', 'fail']]);
  });
});
