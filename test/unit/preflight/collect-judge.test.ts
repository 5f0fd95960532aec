/**
 * collect → judge over scripted tool output (no SSH): what an operator sees for tool output that the
 * per-parser tests cannot show on their own — an unreadable driver version, a ping without a summary,
 * a failed `-netdetect -g`, a non-A2 chip, and a ring plan with a node down.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { collect, type PreflightNode } from '../../../src/preflight/collect.js';
import { judge } from '../../../src/preflight/judge.js';
import type { Finding } from '../../../src/preflight/finding.js';
import { compareDriverVersions } from '../../../src/ascend/version-info.js';
import { RemoteError, type ExecResult, type Transport } from '../../../src/remote/transport.js';

const FIXTURES = fileURLToPath(new URL('../../../fixtures/ascend/', import.meta.url));
const fx = (name: string) => readFileSync(`${FIXTURES}${name}`, 'utf8');
const NPUS = 2;

/** `timedOut`: the call ran out of its bound after `seconds` (the transport's exit 124). */
interface Reply { stdout?: string; stderr?: string; code?: number; timedOut?: boolean; seconds?: number }
/** Node index, the argv joined by spaces, and the healthy reply: return what the node prints instead. */
type Mutate = (node: number, cmd: string, healthy: Reply) => Reply;

function healthy(node: number, argv: readonly string[]): Reply {
  const cmd = argv.join(' ');
  const npu = Number(argv[2]);
  const ip = (d: number) => `10.${d}.0.${node + 1}`;
  if (cmd.startsWith('date')) return { stdout: `${Date.now() / 1000}\n` };
  if (cmd.includes('-ip -g')) return { stdout: `ipaddr:${ip(npu)}\nnetmask:255.255.0.0\n` };
  if (cmd.includes('-link -g')) return { stdout: 'link status: UP\n' };
  if (cmd.includes('-net_health -g')) return { stdout: 'net health status: Success\n' };
  if (cmd.includes('-lldp -g')) return { stdout: fx('hccn_lldp_g_full_RECONSTRUCTED.txt') };
  if (cmd.includes('-netdetect -g')) return { stdout: 'netdetect address: 10.0.0.254\n' };
  if (cmd.includes('-gateway -g')) return { stdout: `default gateway:10.${npu}.0.254, Iface:eth${npu}\n` };
  if (cmd.includes('-tls -g')) {
    return { stdout: `dev_id:${npu}, tls switch[0](0:disable, 1:enable), tls preconfigured[1](0:non-preset, 1:preset), tls alarm time threshold[60]days\n` };
  }
  if (cmd.includes('-ping -g')) {
    return { stdout: `device ${npu} PING ${argv[argv.length - 1]}\nrecv seq=0,time=0.1ms\nrecv seq=1,time=0.1ms\nrecv seq=2,time=0.1ms\n3 packets transmitted, 3 received, 0.00% packet loss\n` };
  }
  if (cmd.includes('-optical -g')) {
    return { stdout: `optical info:\npresent              : present\nTx Power0            : 1.4035 mW\nRx Power0            : 0.9500 mW\nTxPower High Thres   : 3.5481 mW\nTxPower Low Thres    : 0.2818 mW\nRxPower High Thres   : 3.5481 mW\nRxPower Low Thres    : 0.1445 mW\nTx Los Flag          : 0x0\nRx Los Flag          : 0x0\nTx LoL Flag          : 0x0\nRx LoL Flag          : 0x0\n` };
  }
  if (cmd.includes('-link_stat -g')) {
    return { stdout: `[device ${npu}]current time        : Wed Jun  7 10:08:28 2023\n[device ${npu}]link up count       : 1\n[device ${npu}]link change records :\n[device ${npu}]    Mon Jun  5 16:31:55 2023    LINK UP\n` };
  }
  if (cmd === 'npu-smi info') return { stdout: fx('npu_smi_info_910b3_8card_noprocs_25.2.0_vllm-ascend-3114.txt') };
  if (cmd === 'cat /etc/ascend_install.info') return { code: 1, stderr: 'cat: /etc/ascend_install.info: No such file or directory\n' };
  if (cmd.includes('driver/version.info')) return { stdout: 'Version=25.2.0\npackage_version=25.2.0\n' };
  if (cmd === 'cat /etc/hccn.conf') {
    return { stdout: [0, 1].map((d) => `address_${d}=${ip(d)}\nnetmask_${d}=255.255.0.0\ntls_enable_${d}=0\n`).join('') };
  }
  if (argv[0] === 'docker') return { stdout: '24.0.7\n' };
  // A deployment's reads: the weights' hashes and modes, /dev/shm, the listening ports.
  if (argv[0] === 'sha256sum') return { stdout: argv.slice(1).map((p) => `${'ab'.repeat(32)}  ${p}\n`).join('') };
  if (cmd.startsWith('find /data/m/')) {
    return { stdout: ['directory|750|0|root|/data/m', ...['config.json', 'tokenizer.json'].map((n) => `regular file|640|0|root|/data/m/${n}`)].join('\n') };
  }
  if (cmd.startsWith('find /dev/shm')) return {};
  if (cmd === 'ss -Htln') return { stdout: 'LISTEN 0 128 0.0.0.0:22 0.0.0.0:*\n' };
  return { code: 127, stderr: `${argv[0]}: command not found\n` };
}

function fakeNode(i: number, mutate: Mutate, down: boolean): PreflightNode {
  const name = `node${i + 1}`;
  const t: Transport = {
    target: { name, host: `h${i + 1}` },
    async exec(argv: readonly string[]): Promise<ExecResult> {
      const r = mutate(i, argv.join(' '), healthy(i, argv));
      return {
        stdout: r.stdout ?? '', stderr: r.stderr ?? '', code: r.code ?? 0, timedOut: r.timedOut ?? false,
        durationMs: (r.seconds ?? 0.001) * 1000,
      };
    },
    stream: () => Promise.reject(new Error('not used')),
    upload: () => Promise.reject(new Error('not used')),
    close: async () => undefined,
  };
  return {
    name, address: `h${i + 1}`,
    tools: { hccnTool: 'hccn_tool', npuSmi: 'npu-smi', containerRuntime: 'docker' },
    transport: async () => {
      if (down) throw new RemoteError('connect', name, `cannot connect to ${name}: connection refused`);
      return t;
    },
  };
}

const DEPLOYMENT = { image: 'mindie:2.1', modelPath: '/data/m' };

async function preflight(
  mutate: Mutate = (_n, _c, r) => r, opts: { nodes?: number; down?: number[]; deployment?: boolean; now?: () => number } = {},
): Promise<Finding[]> {
  const nodes = Array.from({ length: opts.nodes ?? 2 }, (_, i) => fakeNode(i, mutate, opts.down?.includes(i) ?? false));
  const deployment = opts.deployment ? DEPLOYMENT : undefined;
  const facts = await collect({
    nodes, npusPerNode: NPUS, pingMode: 'auto', busyBudgetMs: 500, ...(deployment ? { deployment } : {}), ...(opts.now ? { now: opts.now } : {}),
  });
  return judge(facts, {
    npusPerNode: NPUS, gateway: 'optional', minDriver: { version: '25.2', reason: 'CANN 8.2.RC1' },
    compareVersions: compareDriverVersions, clockToleranceMs: 2000,
    ...(deployment ? { deployment: { ...deployment, ports: [1025] } } : {}),
  });
}

const notPass = (f: Finding[]) => f.filter((x) => x.status !== 'pass');

describe('collect → judge on tool output', () => {
  it('a healthy pair passes', async () => {
    expect(notPass(await preflight())).toEqual([]);
  });

  for (const version of ['25.2.T3', 'V100R001C15SPC012B220', '25.2.0-1']) {
    it(`an unreadable driver version "${version}" is a driver finding, not an exception`, async () => {
      const f = await preflight((n, cmd, r) => (n === 1 && cmd.includes('driver/version.info') ? { stdout: `Version=${version}\n` } : r));
      expect(notPass(f)).toEqual([expect.objectContaining({ node: 'node2', check: 'driver', status: 'fail' })]);
      const d = notPass(f)[0]!;
      expect(d.message).toContain(`cannot read the driver version "${version}"`);
      expect(d.message).toContain('/usr/local/Ascend/driver/version.info');
      expect(d.hint).toMatch(/25\.2\.0/);
      expect(f.find((x) => x.node === 'node1' && x.check === 'driver')).toMatchObject({ status: 'pass' });
    });
  }

  it('a ping with no summary line reports no reply and the exit status, not a made-up percentage', async () => {
    const f = await preflight((n, cmd, r) => (n === 0 && cmd.includes('-ping -g') && cmd.includes(' 0 ')
      ? { stdout: 'device 0 PING 10.0.0.2\nFrom 10.0.0.1 Destination Host Unreachable\n', stderr: 'Command execute failed!\n', code: 1 }
      : r));
    const bad = notPass(f);
    expect(bad).toHaveLength(1);
    expect(bad[0]).toMatchObject({ node: 'node1', check: 'ping', npu: 0, status: 'fail' });
    expect(bad[0]!.message).toContain('node2 NPU 0 (10.0.0.2): no reply (exit 1, no summary line): "From 10.0.0.1 Destination Host Unreachable"');
    expect(bad[0]!.message).not.toMatch(/%/);
  });

  it('a ping with answered probes but no summary says the loss size is unknown', async () => {
    const f = await preflight((n, cmd, r) => (n === 0 && cmd.includes('-ping -g') && cmd.includes(' 1 ')
      ? { stdout: 'device 1 PING 10.1.0.2\nrecv seq=0,time=0.1ms\nrecv time out seq=1\nrecv seq=2,time=0.1ms\n', stderr: 'Command execute failed!\n', code: 1 }
      : r));
    const bad = notPass(f);
    expect(bad).toHaveLength(1);
    expect(bad[0]!.message).toContain('loss of unknown size (exit 1, no summary line; 2 probes answered, lost seq 1)');
  });

  it('a ping without a summary that exits 0 with every probe answered passes (§2.10: the exit status decides)', async () => {
    const f = await preflight((_n, cmd, r) => (cmd.includes('-ping -g') ? { stdout: r.stdout!.replace(/^3 packets.*\n/m, '') } : r));
    expect(notPass(f)).toEqual([]);
  });

  it('-netdetect -g failing with exit 13 and a message is "no netdetect address set" with the set-one hint', async () => {
    const f = await preflight((n, cmd, r) => (n === 0 && cmd.includes('-netdetect -g')
      ? { stderr: 'Get netdetect ip failed, because no netdetect ip was preset there!\n', code: 13 } : r));
    const bad = notPass(f);
    expect(bad.map((x) => [x.node, x.check, x.npu, x.status, x.message])).toEqual([
      ['node1', 'netdetect', 0, 'fail', 'no netdetect address set'],
      ['node1', 'netdetect', 1, 'fail', 'no netdetect address set'],
    ]);
    expect(bad[0]!.hint).toMatch(/hccn_tool -i 0 -netdetect -s address/);
  });

  it('-netdetect -g that the product does not support is reported as itself', async () => {
    const f = await preflight((n, cmd, r) => (n === 0 && cmd.includes('-netdetect -g')
      ? { stdout: 'The command is not supported on this product.\n', code: 13 } : r));
    expect(notPass(f)[0]!.message).toMatch(/not supported on this product/);
  });

  const npuSmi = (text: string): Mutate => (n, cmd, r) => (n === 0 && cmd === 'npu-smi info' ? { stdout: text } : r);
  const a910 = fx('npu_smi_info_910a_4card_health_warning_23.0.rc1_openyuanrong-mock.txt');

  it('the older Ascend 910 labelled 910A is unsupported even when every NPU is healthy', async () => {
    for (const text of [a910, a910.replace(/Warning/g, 'OK     ')]) {
      const all = notPass(await preflight(npuSmi(text)));
      // `hardware` (v2) names the odd server kind too: node2 is an A2.
      expect(all.filter((x) => x.check === 'hardware')).toEqual([expect.objectContaining({ node: 'node1', status: 'fail',
        message: expect.stringMatching(/^not an Atlas 800 A2 or A3 \(4 × 910A\), but node2 is Atlas 800 A2 \(8 × 910B3\)/) })]);
      const bad = all.filter((x) => x.check !== 'hardware');
      expect(bad).toHaveLength(1);
      expect(bad[0]).toMatchObject({ node: 'node1', check: 'npu-smi', status: 'fail' });
      expect(bad[0]!.message).toBe('these NPUs are the older Ascend 910 (shown as "910A"), not 910B (A2)');
      expect(bad[0]!.hint).toMatch(/910B/);
    }
  });

  it('other non-910B names (910, 910ProA) are unsupported the same way; the legacy "910B" still is', async () => {
    for (const name of ['910    ', '910ProA']) {
      const bad = notPass(await preflight(npuSmi(a910.replace(/Warning/g, 'OK     ').replace(/910A {3}/g, name))))
        .filter((x) => x.check !== 'hardware'); // (the odd server kind, shown in the test above)
      expect(bad.map((x) => x.message)).toEqual([`these NPUs are the older Ascend 910 (shown as "${name.trim()}"), not 910B (A2)`]);
    }
    const legacy = notPass(await preflight(npuSmi(fx('npu_smi_info_LEGACY910_named910B_8card_24.1.0_longllovers.txt'))))
      .filter((x) => x.check !== 'hardware');
    expect(legacy.map((x) => x.message)).toEqual(['these NPUs are the older Ascend 910 (shown as "910B" with 32 GB HBM), not 910B (A2)']);
  });

  it('A2 fixtures (910B1, 910B3) are not flagged', async () => {
    for (const file of ['npu_smi_info_910b3_8card_withprocs_25.3.rc1_vllm-ascend-3998.txt', 'npu_smi_info_910b3_8card_24.1.rc1.b030_ms-swift_noproctable.txt',
      'npu_smi_info_910b1_8card_elided_23.0.rc2_arthurchiao.txt']) {
      expect(notPass(await preflight(npuSmi(fx(file)))), file).toEqual([]);
    }
  });

  it('ring plan (10 nodes): the predecessor of a down node pings the next reachable node on every NPU', async () => {
    const f = await preflight(undefined, { nodes: 10, down: [4] });
    expect(notPass(f)).toEqual([expect.objectContaining({ node: 'node5', check: 'ssh', status: 'fail' })]);
    const node4 = f.filter((x) => x.node === 'node4' && x.check === 'ping');
    expect(node4.map((x) => [x.npu, x.status])).toEqual([[0, 'pass'], [1, 'pass']]);
    expect(node4.every((x) => x.message === 'reached node6 with no loss')).toBe(true);
    // every reachable node still sends on every NPU, and nobody pings the down node
    for (let i = 1; i <= 10; i++) {
      if (i === 5) continue;
      expect(f.filter((x) => x.node === `node${i}` && x.check === 'ping'), `node${i}`).toHaveLength(NPUS);
    }
    expect(f.some((x) => x.check === 'ping' && /node5/.test(x.message))).toBe(false);
  });

  it('ring plan: a ring peer with no address on one plane is stood in for on that plane only', async () => {
    const f = await preflight((n, cmd, r) => (n === 2 && cmd.includes('-ip -g') && cmd.includes(' 1 ')
      ? { stderr: 'Get ipconf failed, because no ip was preset there!\n', code: 13 } : r), { nodes: 10 });
    const node2 = f.filter((x) => x.node === 'node2' && x.check === 'ping');
    expect(node2.map((x) => [x.npu, x.message])).toEqual([[0, 'reached node3 with no loss'], [1, 'reached node4 with no loss']]);
  });
});

/** cli-contract.md: "A remote call that times out is a `fail` of its check whose message says so." */
describe('a read that times out fails its own check, saying so', () => {
  const cases: [string, (cmd: string) => boolean, string, RegExp][] = [
    ['the install info', (c) => c === 'cat /etc/ascend_install.info', 'driver', /timed out after 10 s/],
    ['the driver version.info', (c) => c.includes('driver/version.info'), 'driver', /reading the driver version\.info timed out after 10 s/],
    ['docker version', (c) => c.startsWith('docker version'), 'container-runtime', /the container runtime timed out after 10 s/],
    ['ss -Htln', (c) => c === 'ss -Htln', 'ports', /listening ports \(ss -Htln\) timed out after 10 s/],
    ['sha256sum of the weights', (c) => c.startsWith('sha256sum '), 'model', /reading the weights under \/data\/m timed out after 10 s/],
    ['the weights listing', (c) => c.includes('/data/m') && !c.startsWith('sha256sum '), 'weights', /timed out after 10 s/],
    ['the /dev/shm listing', (c) => c.includes('/dev/shm'), 'shm', /listing \/dev\/shm timed out after 10 s/],
  ];
  it('(the same pair with no timeout passes every check)', async () => {
    expect(notPass(await preflight(undefined, { deployment: true }))).toEqual([]);
  });
  for (const [what, matches, check, message] of cases) {
    it(`${what}: a ${check} fail`, async () => {
      const f = await preflight((n, cmd, r) => (n === 1 && matches(cmd) ? { code: 124, timedOut: true, seconds: 10 } : r), { deployment: true });
      const mine = f.filter((x) => x.node === 'node2' && x.check === check);
      expect(mine).toEqual([expect.objectContaining({ status: 'fail', message: expect.stringMatching(message) })]);
      expect(mine[0]!.hint).toBeTruthy();
      expect(f.find((x) => x.node === 'node1' && x.check === check)?.status).not.toBe('fail');
    });
  }
});

/** cli-contract.md: `findings` lists every check result; a check that cannot run warns, never passes. */
describe('a check that cannot run is still listed, and never as a pass', () => {
  it('hccn_tool missing: hccn.conf is not compared (warn, not "agrees") and every NPU still has its ping finding', async () => {
    const f = await preflight((n, cmd, r) => (n === 1 && cmd.startsWith('hccn_tool') ? { code: 127, stderr: 'sh: 1: hccn_tool: not found\n' } : r));
    expect(f.filter((x) => x.node === 'node2' && x.check === 'hccn.conf')).toEqual([
      expect.objectContaining({ status: 'warn', message: expect.stringMatching(/^not compared: hccn_tool answered for no NPU/) })]);
    const ping = f.filter((x) => x.node === 'node2' && x.check === 'ping');
    expect(ping.map((x) => [x.npu, x.status])).toEqual([[0, 'fail'], [1, 'fail']]);
    expect(ping[0]!.message).toMatch(/hccn_tool not found on node2/);
    expect(f.filter((x) => x.node === 'node2' && x.check === 'link').every((x) => x.status === 'fail')).toBe(true);
  });

  it('the only peer unreachable: each NPU says its ping was not sent, and why', async () => {
    const f = await preflight(undefined, { down: [1] });
    const ping = f.filter((x) => x.node === 'node1' && x.check === 'ping');
    expect(ping.map((x) => [x.npu, x.status, x.message])).toEqual([0, 1].map((npu) =>
      [npu, 'warn', 'not checked: no reachable peer to ping on this plane (unreachable: node2)']));
    expect(f.find((x) => x.node === 'node1' && x.check === 'hccn.conf')).toMatchObject({ status: 'pass', message: '/etc/hccn.conf agrees with hccn_tool' });
  });
});

describe('clock', () => {
  it('a login shell that takes 5 s to start (a slow ~/.bashrc) is not read as clock skew', async () => {
    // One node on a virtual clock shared with this machine (no real skew): the shell's start-up passes
    // before `date` reads the time, the answer's way back 10 ms after.
    let t = 1_000_000;
    const f = await preflight((_n, cmd, r) => {
      if (!cmd.startsWith('date')) return r;
      t += 5_000;
      const stdout = `${t / 1000}\n`;
      t += 10;
      return { stdout };
    }, { nodes: 1, now: () => t });
    expect(f.filter((x) => x.check === 'clock').map((x) => [x.node, x.status])).toEqual([['node1', 'pass']]);
  });

  it('a node 3 s ahead still fails', async () => {
    let t = 1_000_000;
    const f = await preflight((n, cmd, r) => (cmd.startsWith('date') ? { stdout: `${(t + (n === 1 ? 3_000 : 0)) / 1000}\n` } : r), { now: () => (t += 1) });
    expect(f.filter((x) => x.check === 'clock' && x.status === 'fail')).toEqual([expect.objectContaining({ node: 'node2', message: expect.stringMatching(/ahead by 3/) })]);
  });
});
