import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import type { SimCluster } from '../../../src/sim/cluster.js';
import type { SimFault } from '../../../src/sim/types.js';
import { grep, hccn, sh, startCluster, tool, HCCN } from './run-helper.js';

const FIX = new URL('../../../fixtures/ascend/', import.meta.url);
const fixture = (name: string): string => readFileSync(new URL(name, FIX), 'utf8');

// Regexes of ascend-tools.md §2.
const RE = {
  link: /^link status: (UP|DOWN)$/,
  health: /^net health status: (Success|Socket fail(?:ed)?|Receive timeout|Unreachable|Time exceeded|Fault|Init|Thread error|Detect ip set|Unknown)$/,
  netdetect: /^netdetect addr(?:ess)?:\s*(\S+)$/,
  gateway: /^default gateway:(\S+), Iface:(eth\d+)$/,
  tls: /^dev_id:(\d+), tls switch\[(\d)\]\(0:disable, 1:enable\), tls preconfigured\[(\d)\]\(0:non-preset, 1:preset\), tls alarm time threshold\[(\d+)\]days$/,
  pingHeader: /^device (\d+) PING6? (\S+)$/,
  probe: /^recv seq=(\d+),time=([\d.]+)ms$/,
  summary: /^(\d+) packets transmitted, (\d+) received, ([\d.]+)% packet loss$/,
};

let cluster: SimCluster | undefined;
afterEach(() => cluster?.stop());

async function withFaults(faults: SimFault[], other: SimFault[] = []): Promise<SimCluster> {
  cluster = await startCluster([{ faults }, { faults: other }]);
  return cluster;
}

describe('hccn_tool output formats', () => {
  it('prints the fixture lines for the healthy get commands', async () => {
    const c = await withFaults([]);
    const n = c.node('node1');
    expect((await hccn(n, '-i', '0', '-link', '-g')).stdout).toBe(fixture('hccn_link_g_up.txt'));
    expect((await hccn(n, '-i', '0', '-net_health', '-g')).stdout).toBe(fixture('hccn_net_health_g_success.txt'));
    const detect = (await hccn(n, '-i', '2', '-netdetect', '-g')).stdout;
    expect(detect).toMatch(/^netdetect address: /);
    expect(detect.trim()).toMatch(RE.netdetect);
    const gw = await hccn(n, '-i', '5', '-gateway', '-g');
    expect(gw.stdout.trim()).toMatch(RE.gateway);
    expect(RE.gateway.exec(gw.stdout.trim())?.[2]).toBe('eth5');
    const ip = await hccn(n, '-i', '3', '-ip', '-g');
    expect(ip.stdout).toBe('ipaddr:192.168.103.11\nnetmask:255.255.255.0\n');
    expect(fixture('hccn_ip_g_arthurchiao.txt')).toMatch(/^ipaddr:\S+\nnetmask:\S+\n$/);
  });

  it('prints the tls switch line first and cert blocks with a TAB+space indent', async () => {
    const c = await withFaults([]);
    const out = (await hccn(c.node('node1'), '-i', '4', '-tls', '-g')).stdout.split('\n');
    expect(out[0]).toMatch(RE.tls);
    expect(RE.tls.exec(out[0] ?? '')?.slice(1, 3)).toEqual(['4', '0']);
    expect(out[1]).toBe('dev_id:4, [pub cert] info:');
    expect(out[2]).toMatch(/^\t subject\[/);
    expect(fixture('hccn_tls_g_grep_switch_8npu_loop_deepseekv3doc.txt').split('\n')[0]).toMatch(RE.tls);
  });

  it('prints lldp text whose TLV structure matches the reconstructed fixture', async () => {
    const c = await withFaults([]);
    const out = (await hccn(c.node('node1'), '-i', '0', '-lldp', '-g')).stdout;
    const headers = (s: string): string[] => s.split('\n').filter((l) => l.endsWith(' TLV'));
    expect(headers(out)).toEqual(headers(fixture('hccn_lldp_g_full_RECONSTRUCTED.txt')));
    const ports: string[] = [];
    for (let i = 0; i < 8; i++) ports.push(...(await sh(c.node('node1'), `${HCCN} -i ${i} -lldp -g`)).stdout.split('\n').filter((l) => l.includes('Ifname')));
    expect(ports).toHaveLength(8);
    for (const p of ports) expect(p).toMatch(/^\tIfname: 400GE\d+\/\d+\/\d+:[12]$/);
    expect(new Set(ports).size).toBe(8);
  });

  it('pings a same-numbered NPU of another node with 3 answered probes, printed at once', async () => {
    const c = await withFaults([]);
    const target = c.node('node2').deviceIps()[6] ?? '';
    const r = await hccn(c.node('node1'), '-i', '6', '-ping', '-g', 'address', target);
    const lines = r.stdout.trim().split('\n');
    expect(r.code).toBe(0);
    expect(lines[0]).toBe(`device 6 PING ${target}`);
    expect(lines.slice(1, 4).every((l) => RE.probe.test(l))).toBe(true);
    expect(lines[4]).toBe('3 packets transmitted, 3 received, 0.00% packet loss');
    const fix = fixture('hccn_ping_g_success_arthurchiao.txt').trim().split('\n');
    expect([RE.pingHeader, RE.probe, RE.probe, RE.probe, RE.summary].every((re, i) => re.test(fix[i] ?? ''))).toBe(true);
  });

  it('other metadata commands follow the fixture layouts', async () => {
    const c = await withFaults([]);
    const stat = (await hccn(c.node('node1'), '-i', '0', '-link_stat', '-g')).stdout.split('\n');
    expect(stat[0]).toMatch(/^\[device 0\]current time        : \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}$/);
    expect(stat[1]).toMatch(/^\[device 0\]link up count       : \d+$/);
    const optical = (await hccn(c.node('node1'), '-i', '0', '-optical', '-g')).stdout.split('\n');
    expect(optical[0]).toBe('optical info:');
    expect(optical[1]).toMatch(/^present\s+: present$/);
  });
});

describe('hccn_tool errors (§2.2)', () => {
  it('maps bad invocations to the documented texts, streams and exit codes', async () => {
    const n = (await withFaults([])).node('node1');
    expect(await hccn(n, '-i', '99', '-link', '-g')).toEqual({ code: 4, stdout: '', stderr: fixture('hccn_invalid_device_id_stderr_DERIVED.txt') });
    expect(await hccn(n, '-i', 'x', '-link', '-g')).toMatchObject({ code: 4 });
    expect(await hccn(n, '-i', '0', '-bogus', '-g')).toEqual({ code: 3, stdout: '', stderr: 'Get invalid major cmd.\nEnter [ hccn_tool -h ] for more details.\n' });
    const unknownOpt = await hccn(n, '-i', '0', '-link', '-x');
    expect(unknownOpt.code).toBe(3);
    expect(unknownOpt.stderr).toBe('Get unknown option!\n');
    expect(unknownOpt.stdout).toMatch(/^\[ hccn_tool -i devid -link \] needs the following parameters:/);
    expect(await hccn(n, '-i', '0', '-ping', '-g')).toMatchObject({ code: 4, stderr: 'The total count of input parameters is wrong!\n' });
    expect(await hccn(n, '-i', '0', '-ping', '-g', 'address', '300.1.1.1')).toMatchObject({ code: 6, stderr: 'The ip address you configured is invalid!\n' });
    // A name that is only an Object.prototype member is as unknown to the tool as any other, not a crash.
    expect(await hccn(n, '-i', '0', '-toString', '-g')).toEqual(await hccn(n, '-i', '0', '-bogus', '-g'));
  });
});

describe('hccn_tool faults', () => {
  it('link-down: DOWN, empty lldp, ping refused with exit 22', async () => {
    const c = await withFaults([{ kind: 'link-down', npu: 2 }]);
    const n = c.node('node1');
    expect((await hccn(n, '-i', '2', '-link', '-g')).stdout).toBe(fixture('hccn_link_g_down.txt'));
    expect((await hccn(n, '-i', '1', '-link', '-g')).stdout).toBe('link status: UP\n');
    expect(await hccn(n, '-i', '2', '-lldp', '-g')).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(await hccn(n, '-i', '2', '-ping', '-g', 'address', c.node('node2').deviceIps()[2] ?? ''))
      .toEqual({ code: 22, stdout: '', stderr: 'Execute failed: Link status is down.\n' });
    // The peer of a down link loses every probe.
    const back = await hccn(c.node('node2'), '-i', '2', '-ping', '-g', 'address', n.deviceIps()[2] ?? '');
    expect(back.code).toBe(1);
    expect(back.stdout).toContain('0 received, 100.00% packet loss');
  });

  it('net-health and netdetect-unset change the net_health value', async () => {
    const c = await withFaults([{ kind: 'net-health', npu: 1, value: 'Receive timeout' }, { kind: 'netdetect-unset', npu: 4 }]);
    const n = c.node('node1');
    expect((await hccn(n, '-i', '1', '-net_health', '-g')).stdout).toBe('net health status: Receive timeout\n');
    expect((await hccn(n, '-i', '4', '-net_health', '-g')).stdout).toBe(fixture('hccn_net_health_g_init.txt'));
    expect(await hccn(n, '-i', '4', '-netdetect', '-g')).toEqual({ code: 0, stdout: '', stderr: '' });
    expect((await sh(n, 'cat /etc/hccn.conf')).stdout).not.toContain('netdetect_4=');
  });

  it('tls-on sets the switch; -tls -s enable 0 clears it and rewrites hccn.conf', async () => {
    const c = await withFaults([{ kind: 'tls-on', npu: 3 }]);
    const n = c.node('node1');
    expect((await hccn(n, '-i', '3', '-tls', '-g')).stdout.split('\n')[0]).toContain('tls switch[1]');
    expect((await grep(n, 'tls_enable_3', '/etc/hccn.conf')).stdout).toBe('tls_enable_3=1\n');
    const set = await hccn(n, '-i', '3', '-tls', '-s', 'enable', '0');
    expect(set).toEqual({ code: 0, stdout: fixture('hccn_tls_s_enable_0_deepseekv3doc.txt'), stderr: '' });
    expect((await hccn(n, '-i', '3', '-tls', '-g')).stdout.split('\n')[0]).toContain('tls switch[0]');
    expect((await grep(n, 'tls_enable_3', '/etc/hccn.conf')).stdout).toBe('tls_enable_3=0\n');
    expect(n.tlsSwitches()).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
  });

  it('no-ip: exit 13 on stderr and no address in hccn.conf; no-gateway: exit 2', async () => {
    const c = await withFaults([{ kind: 'no-ip', npu: 0 }, { kind: 'no-gateway', npu: 7 }]);
    const n = c.node('node1');
    expect(await hccn(n, '-i', '0', '-ip', '-g')).toEqual({ code: 13, stdout: '', stderr: fixture('hccn_ip_g_not_configured_stderr_DERIVED.txt') });
    expect(await hccn(n, '-i', '7', '-gateway', '-g')).toEqual({ code: 2, stdout: '', stderr: fixture('hccn_gateway_g_not_preset_stderr_DERIVED.txt') });
    const conf = (await sh(n, 'cat /etc/hccn.conf')).stdout;
    expect(conf).not.toMatch(/^address_0=/m);
    expect(conf).not.toMatch(/^gateway_7=/m);
    expect(conf).toMatch(/^address_1=/m);
  });

  it('duplicate-ip reports another node\'s address', async () => {
    const c = await withFaults([{ kind: 'duplicate-ip', npu: 5, node: 'node2' }]);
    expect((await hccn(c.node('node1'), '-i', '5', '-ip', '-g')).stdout).toBe(`ipaddr:${c.node('node2').deviceIps()[5]}\nnetmask:255.255.255.0\n`);
  });

  it('ping-loss loses the given probes on both directions; unknown IPs lose all', async () => {
    const c = await withFaults([{ kind: 'ping-loss', npu: 1, peer: 'node2', lost: 1 }]);
    const r = await hccn(c.node('node2'), '-i', '1', '-ping', '-g', 'address', c.node('node1').deviceIps()[1] ?? '');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('Command execute failed!\n');
    const lines = r.stdout.trim().split('\n');
    expect(lines.filter((l) => l.startsWith('recv time out seq='))).toHaveLength(1);
    expect(lines.at(-1)).toBe('3 packets transmitted, 2 received, 33.33% packet loss');
    const lost = await hccn(c.node('node1'), '-i', '0', '-ping', '-g', 'address', '10.9.9.9');
    expect(lost.stdout).toBe(fixture('hccn_ping_g_total_loss_stdout_RECONSTRUCTED.txt').replace('11.12.165.90', '10.9.9.9'));
    expect(lost.stderr).toBe(fixture('hccn_ping_g_total_loss_stderr_DERIVED.txt'));
  });

  it('hccn-conf-stale and hccn-conf-missing change only the file', async () => {
    const c = await withFaults([{ kind: 'hccn-conf-stale', npu: 2 }], [{ kind: 'hccn-conf-missing' }]);
    const conf = (await grep(c.node('node1'), 'address_2=', '/etc/hccn.conf')).stdout.trim();
    expect(conf).not.toBe(`address_2=${c.node('node1').deviceIps()[2]}`);
    expect((await hccn(c.node('node1'), '-i', '2', '-ip', '-g')).stdout).toContain(`ipaddr:${c.node('node1').deviceIps()[2]}`);
    const missing = await sh(c.node('node2'), 'cat /etc/hccn.conf');
    expect(missing).toEqual({ code: 1, stdout: '', stderr: 'cat: /etc/hccn.conf: No such file or directory\n' });
  });

  it('setFaults at run time rewrites the node files', async () => {
    const c = await withFaults([]);
    const n = c.node('node1');
    await n.setFaults([{ kind: 'hccn-conf-missing' }, { kind: 'old-driver', version: '24.1.rc2' }]);
    expect((await sh(n, 'test -e /etc/hccn.conf')).code).toBe(1);
    expect((await grep(n, 'package_version', '/usr/local/Ascend/driver/version.info')).stdout).toBe('package_version=24.1.rc2\n');
    await n.setFaults([]);
    expect((await sh(n, 'test -e /etc/hccn.conf')).code).toBe(0);
  });
});

describe('hccn_tool single-caller lock', () => {
  it('answers busy (stdout, exit 11) to a call made while another is in flight', async () => {
    cluster = await startCluster([{}, {}], 'hardware');
    const n = cluster.node('node1');
    const first = hccn(n, '-i', '0', '-lldp', '-g');
    const second = await hccn(n, '-i', '1', '-link', '-g');
    expect(second).toEqual({ code: 11, stdout: fixture('hccn_busy_stdout_DERIVED.txt'), stderr: '' });
    expect((await first).code).toBe(0);
    // Other nodes have their own channel.
    const other = hccn(cluster.node('node2'), '-i', '0', '-link', '-g');
    const again = hccn(n, '-i', '0', '-link', '-g');
    expect((await other).code).toBe(0);
    expect((await again).code).toBe(0);
  });

  it('a hung call holds the channel until aborted, and for a while after', async () => {
    const c = await withFaults([{ kind: 'hang', command: 'lldp', npu: 0 }]);
    const n = c.node('node1');
    const r = await sh(n, `timeout -k 1 0.05 ${HCCN} -i 0 -lldp -g`);
    expect(r.code).toBe(124);
    const next = await hccn(n, '-i', '1', '-link', '-g');
    expect(next.code).toBe(11);
    expect(next.stdout).toBe('hccn_tool is busy, please try again.\n');
    expect(n.hccnChannel.heldUntil).toBeGreaterThan(Date.now());
    n.hccnChannel.heldUntil = 0; // the abandoned request finally reaped
    expect((await hccn(n, '-i', '1', '-link', '-g')).code).toBe(0);
  });

  it('busy-storm answers busy with its share', async () => {
    const c = await withFaults([{ kind: 'busy-storm', share: 1 }], [{ kind: 'busy-storm', share: 0 }]);
    expect((await hccn(c.node('node1'), '-i', '0', '-link', '-g')).code).toBe(11);
    expect((await hccn(c.node('node2'), '-i', '0', '-link', '-g')).code).toBe(0);
    // Invalid arguments fail before the device channel is asked.
    expect((await hccn(c.node('node1'), '-i', '99', '-link', '-g')).code).toBe(4);
  });

  it('hccn_tool is not on the default PATH, as on a real non-interactive shell', async () => {
    const c = await withFaults([]);
    expect(await sh(c.node('node1'), 'hccn_tool -i 0 -link -g')).toMatchObject({ code: 127, stderr: 'sh: 1: hccn_tool: not found\n' });
    expect((await sh(c.node('node1'), `${HCCN} -i 0 -link -g`)).stdout).toBe('link status: UP\n');
    expect((await tool(c.node('node1'), 'hccn_tool', ['-i', '0', '-link', '-g'])).code).toBe(0);
  });
});
