/**
 * The judges of the v2 checks optics, link-flaps and hardware, from captured tool output (fixtures)
 * and hand-built facts: a passing and a failing case for each rule, and the warnings for what cannot
 * be judged (unsupported command, unreadable times).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseNpuSmiInfo } from '../../../src/ascend/npu-smi.js';
import type { JudgeContext, LinkFlapFacts, NodeFacts, NpuFacts, OpticsFacts, ServerFacts } from '../../../src/preflight/facts.js';
import type { Finding } from '../../../src/preflight/finding.js';
import { describeServer, judgeHardware, serverOf } from '../../../src/preflight/hardware.js';
import {
  judgeLinkFlapsValue, judgeOpticsValue, judgePortHealth, linkFlapsFromOutput, opticsError, opticsFromOutput, unsupportedCommand,
} from '../../../src/preflight/optics.js';
import { compareDriverVersions } from '../../../src/ascend/version-info.js';

const FIXTURES = fileURLToPath(new URL('../../../fixtures/ascend/', import.meta.url));
const fx = (name: string) => readFileSync(`${FIXTURES}${name}`, 'utf8');

function ok<T>(r: { ok: true; value: T } | { ok: false; error: string }): T {
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

const HEALTHY_OPTICS = [
  'optical info:',
  'present              : present',
  ...[0, 1, 2, 3].flatMap((l) => [`Tx Power${l}            : 1.4035 mW`, `Rx Power${l}            : 0.9${l}00 mW`]),
  'TxPower High Thres   : 3.5481 mW',
  'TxPower Low Thres    : 0.2818 mW',
  'RxPower High Thres   : 3.5481 mW',
  'RxPower Low Thres    : 0.1445 mW',
  'Tx Los Flag          : 0x0',
  'Rx Los Flag          : 0x0',
  'Tx LoL Flag          : 0x0',
  'Rx LoL Flag          : 0x0',
  '',
].join('\n');

const optics = (text: string): Finding => judgeOpticsValue('node1', 2, ok(opticsFromOutput(text)));

describe('optics', () => {
  it('passes a present module with clear flags and levels inside its own thresholds', () => {
    const f = optics(HEALTHY_OPTICS);
    expect(f).toEqual({ node: 'node1', npu: 2, check: 'optics', status: 'pass',
      message: 'module present, no LOS/LOL, Rx 0.90–0.93 mW, Tx 1.40 mW within the module\'s thresholds' });
  });

  it('the fixture\'s `present : not present` is an absent module', () => {
    const f = optics(fx('hccn_optical_g_910a_fixture.txt'));
    expect(f).toMatchObject({ status: 'fail', message: 'optical module not present' });
    expect(f.hint).toMatch(/hccn_tool -i 2 -optical -g/);
  });

  it('the fixture\'s readings with the module present: Rx LOS/LOL and Tx/Rx power outside the thresholds', () => {
    const f = optics(fx('hccn_optical_g_910a_fixture.txt').replace('not present', 'present'));
    expect(f.status).toBe('fail');
    expect(f.message).toBe([
      'loss of signal (Rx LOS) on lanes 0-3',
      'loss of lock (Rx LOL) on lanes 0-3',
      // (Rx lane 1 at 0.0054 mW is below the low threshold too, but that lane is already dark: LOS)
      "Tx power lane 0 4.4035 mW (6.4 dBm) above the module's high threshold 3.5481 mW (5.5 dBm)",
    ].join('; '));
    expect(f.hint).toMatch(/no light arrives at NPU 2/);
  });

  it('exit 20 `Optical module is not present.` on stdout is an absent module, not a tool failure', () => {
    const c = { kind: 'error' as const, code: 20, message: 'Optical module is not present.', reason: 'other' as const, stdout: 'Optical module is not present.\n' };
    const o = opticsError(c);
    expect(o).toMatchObject({ kind: 'ok', value: { present: false } });
    expect(judgeOpticsValue('n', 0, (o as { value: OpticsFacts }).value).message).toBe('optical module not present');
  });

  it('each problem alone fails, with the hint that fits it', () => {
    const cases: [string, RegExp, RegExp][] = [
      [HEALTHY_OPTICS.replace('Tx Los Flag          : 0x0', 'Tx Los Flag          : 0x4'), /^loss of signal \(Tx LOS\) on lane 2$/, /replace the optical module/],
      [HEALTHY_OPTICS.replace('Tx LoL Flag          : 0x0', 'Tx LoL Flag          : 0x5'), /^loss of lock \(Tx LOL\) on lanes 0, 2$/, /FEC/],
      [HEALTHY_OPTICS.replace('Rx Power3            : 0.9300 mW', 'Rx Power3            : 4.2000 mW'), /^Rx power lane 3 4\.2000 mW .* above/, /overload/],
      [HEALTHY_OPTICS.replace('Tx Power1            : 1.4035 mW', 'Tx Power1            : 0.1000 mW'), /^Tx power lane 1 0\.1000 mW .* below/, /replace the optical module/],
    ];
    for (const [text, message, hint] of cases) {
      const f = optics(text);
      expect(f.status).toBe('fail');
      expect(f.message).toMatch(message);
      expect(f.hint).toMatch(hint);
    }
  });

  it('several lanes out of range are one problem; a dark (LOS) lane is not also reported as low', () => {
    const text = HEALTHY_OPTICS.replace('Rx Power0            : 0.9000 mW', 'Rx Power0            : 0.0100 mW')
      .replace('Rx Power2            : 0.9200 mW', 'Rx Power2            : 0.0200 mW')
      .replace('Rx Power3            : 0.9300 mW', 'Rx Power3            : 0.0000 mW')
      .replace('Rx Los Flag          : 0x0', 'Rx Los Flag          : 0x8');
    expect(optics(text).message).toBe(
      "loss of signal (Rx LOS) on lane 3; Rx power lanes 0, 2 (0.0100, 0.0200 mW) below the module's low threshold 0.1445 mW (-8.4 dBm)");
  });

  it('NA readings: fail when presence is not said, warn when the module says present', () => {
    expect(optics('Tx Power0 : NA\nRx Power0 : NA\n')).toMatchObject({ status: 'fail', message: 'optical module not present (no readings)' });
    expect(optics('present : present\nTx Power0 : NA\nRx Power0 : NA\n')).toMatchObject({ status: 'warn' });
  });

  it('key/value output with nothing about a module is unexpected output, not an absent module', () => {
    expect(opticsFromOutput('fec mode : rs FEC mode\n')).toEqual({ ok: false, error: 'unexpected output: "fec mode : rs FEC mode"' });
  });

  it('without thresholds the levels are shown but not judged', () => {
    const f = optics('present : present\nRx Power0 : 0.0001 mW\nRx Los Flag : 0x0\n');
    expect(f).toMatchObject({ status: 'pass', message: 'module present, no LOS/LOL, Rx 0.00 mW (the module reports no thresholds: levels not judged)' });
  });

  it('an unsupported command is a warning saying so; another error is a failure of the check', () => {
    const unsupported = { kind: 'error' as const, code: 13, message: 'The command is not supported on this product.', reason: 'unsupported' as const, stdout: '' };
    expect(opticsError(unsupported)).toMatchObject({ kind: 'error', reason: 'unsupported' });
    const oldTool = { kind: 'error' as const, code: 3, message: 'Get invalid major cmd.', reason: 'other' as const, stdout: '' };
    expect(unsupportedCommand(oldTool)).toMatchObject({ reason: 'unsupported' });
    const dsmi = { kind: 'error' as const, code: 1, message: 'Command execute failed!', reason: 'dsmi' as const, stdout: '' };
    expect(opticsError(dsmi)).toBeUndefined();

    const out: Finding[] = [];
    const node: NodeFacts = {
      node: 'node1', host: 'h', ssh: { kind: 'ok', value: true }, pings: [], notes: [],
      npus: {
        0: { optics: { kind: 'error', message: unsupported.message, reason: 'unsupported', exitCode: 13 } },
        1: { optics: { kind: 'error', message: 'Command execute failed!', reason: 'dsmi', exitCode: 1 },
          linkFlaps: { kind: 'timeout', seconds: 15 } },
        2: { optics: { kind: 'error', message: 'Control link unreachable.', reason: 'module-unreachable', exitCode: 15,
          hint: 'the optical module does not answer on its management bus: reseat or replace the module' } },
        3: { linkFlaps: { kind: 'error', message: 'hccn_tool not found on node1', reason: 'not-found', exitCode: 127, hint: 'set tools.hccnTool' } },
      },
    };
    judgePortHealth(out, node, { ...CTX, npusPerNode: 4 });
    expect(out.map((f) => [f.npu, f.check, f.status])).toEqual([
      [0, 'optics', 'warn'], [1, 'optics', 'fail'], [1, 'link-flaps', 'fail'], [2, 'optics', 'fail'], [3, 'link-flaps', 'warn']]);
    expect(out[4]).toMatchObject({ message: 'not checked: hccn_tool not found on node1', hint: 'set tools.hccnTool' });
    expect(out[0]!.message).toMatch(/^not checked: hccn_tool -optical -g is not supported on this product\/driver/);
    expect(out[1]!.message).toBe('hccn_tool -optical -g failed: Command execute failed!');
    expect(out[2]!.message).toBe('hccn_tool -link_stat -g timed out after 15 s');
    expect(out[3]!.hint).toMatch(/reseat or replace the module/);
  });
});

const flaps = (text: string, nodeClockMs?: number): Finding => judgeLinkFlapsValue('node2', 5, ok(linkFlapsFromOutput(text, nodeClockMs)));

/** A link_stat document with DOWN records `hoursAgo` before its current time (Wed Jun 7 10:08:28 2023). */
function linkStat(hoursAgo: number[], current = true): string {
  const now = Date.UTC(2023, 5, 7, 10, 8, 28);
  const ctime = (ms: number) => {
    const d = new Date(ms);
    const wd = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'][d.getUTCDay()];
    const mo = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][d.getUTCMonth()];
    const two = (n: number) => String(n).padStart(2, '0');
    return `${wd} ${mo} ${String(d.getUTCDate()).padStart(2, ' ')} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} ${d.getUTCFullYear()}`;
  };
  return [
    ...(current ? ['[device 5]current time        : Wed Jun  7 10:08:28 2023'] : []),
    `[device 5]link up count       : ${hoursAgo.length + 1}`,
    '[device 5]link change records :',
    ...hoursAgo.flatMap((h) => [`[device 5]    ${ctime(now - h * 3_600_000 + 5_000)}    LINK UP`, `[device 5]    ${ctime(now - h * 3_600_000)}    LINK DOWN`]),
    '[device 5]    Mon Jun  5 08:00:00 2023    LINK UP',
    '',
  ].join('\n');
}

describe('link-flaps', () => {
  it('the fixtures: two drops and one drop in the 24 h before their own current time are warnings', () => {
    expect(flaps(fx('hccn_link_stat_g_fixture.txt'))).toMatchObject({ status: 'warn',
      message: '2 link-down events in the last 24 h (latest Tue Aug  1 14:44:40 2022, 12.9 h ago)' });
    expect(flaps(fx('hccn_link_stat_g_mindcluster_doc.txt'))).toMatchObject({ status: 'warn',
      message: '1 link-down event in the last 24 h (latest Tue Jun  6 16:32:10 2023, 17.6 h ago)' });
  });

  it('thresholds: none passes, 1–2 warn, 3 or more fail; older records do not count', () => {
    expect(flaps(linkStat([]))).toMatchObject({ status: 'pass', message: 'no link-down event in the last 24 h' });
    expect(flaps(linkStat([25, 30]))).toMatchObject({ status: 'pass', message: 'no link-down event in the last 24 h (2 older)' });
    expect(flaps(linkStat([1, 25])).status).toBe('warn');
    expect(flaps(linkStat([1, 2])).status).toBe('warn');
    const three = flaps(linkStat([0.5, 1, 23.9, 30]));
    expect(three).toMatchObject({ status: 'fail', message: '3 link-down events in the last 24 h (latest Wed Jun  7 09:38:28 2023, 30 min ago)' });
    expect(three.hint).toMatch(/HCCL fails under load/);
  });

  it('without a current time line the node\'s clock from `date` is the reference', () => {
    const nodeNow = Date.UTC(2023, 5, 7, 10, 8, 28);
    expect(flaps(linkStat([1, 2, 3], false), nodeNow).status).toBe('fail');
    // the same records read 3 days later by the node's clock are old
    expect(flaps(linkStat([1, 2, 3], false), nodeNow + 3 * 86_400_000).status).toBe('pass');
    // no clock at all: the records cannot be placed
    expect(flaps(linkStat([1], false))).toMatchObject({ status: 'warn', message: expect.stringMatching(/cannot tell which fall in the last 24 h/) });
    expect(flaps(linkStat([], false))).toMatchObject({ status: 'pass' });
  });

  it('the record times of the tool win over `date`: they share its clock and zone', () => {
    // a node in UTC+8 whose date reads 8 h "ahead" of the wall-clock strings: still 3 recent drops
    const nodeNow = Date.UTC(2023, 5, 7, 18, 8, 28);
    expect(flaps(linkStat([1, 2, 3]), nodeNow).status).toBe('fail');
  });

  it('records whose time cannot be read are said, not silently dropped', () => {
    const text = '[device 5]current time : Wed Jun  7 10:08:28 2023\n[device 5]link up count : 1\n[device 5]link change records :\n[device 5]    sometime    LINK DOWN\n';
    expect(flaps(text)).toMatchObject({ status: 'warn', message: '1 link-down record with a time that cannot be read: not counted' });
  });
});

const CTX: JudgeContext = {
  npusPerNode: 8, gateway: 'optional', minDriver: { version: '25.2', reason: 'x' }, compareVersions: compareDriverVersions, clockToleranceMs: 2000,
};

const A2 = ok(parseNpuSmiInfo(fx('npu_smi_info_910b3_8card_noprocs_25.2.0_vllm-ascend-3114.txt')));

/** An A3 table: 8 cards × 2 dies (the layout of ascend-tools.md §4.2/§6). */
function a3Table(): string {
  const rows: string[] = [
    '+---------------------------+---------------+----------------------------------------------------+',
    '| npu-smi 25.2.0                   Version: 25.2.0                                               |',
    '+---------------------------+---------------+----------------------------------------------------+',
    '| NPU   Name                | Health        | Power(W)    Temp(C)           Hugepages-Usage(page)|',
    '| Chip  Phy-ID              | Bus-Id        | AICore(%)   Memory-Usage(MB)  HBM-Usage(MB)        |',
    '+===========================+===============+====================================================+',
  ];
  for (let card = 0; card < 8; card++) {
    for (let die = 0; die < 2; die++) {
      rows.push(
        `| ${String(card).padEnd(6)}Ascend910           | OK            | ${(die === 0 ? '157.3' : '-').padEnd(12)}32                0    / 0             |`,
        `| ${String(die).padEnd(6)}${String(card * 2 + die).padEnd(20)}| 0000:9D:00.0  | 0           0    / 0          3130 / 65536         |`,
        die === 0 ? '+---------------------------+---------------+----------------------------------------------------+'
          : '+===========================+===============+====================================================+',
      );
    }
  }
  return rows.join('\n');
}

function nodeWith(name: string, server: ServerFacts | undefined, npuSmiOk = true): NodeFacts {
  return {
    node: name, host: name, ssh: { kind: 'ok', value: true }, npus: {} as Record<number, NpuFacts>, pings: [], notes: [],
    npuSmi: npuSmiOk ? { kind: 'ok', value: { devices: [], ...(server ? { server } : {}) } } : { kind: 'error', message: 'dcmi module initialize failed. ret is -8005' },
  };
}

describe('hardware', () => {
  it('reads the server kind from npu-smi info: A2, A3, and neither', () => {
    expect(serverOf(A2)).toEqual({ kind: 'A2', npus: 8, devices: 8, chip: '910B3' });
    expect(describeServer(serverOf(A2))).toBe('Atlas 800 A2 (8 × 910B3)');
    const a3 = serverOf(ok(parseNpuSmiInfo(a3Table())));
    expect(a3).toEqual({ kind: 'A3', npus: 8, devices: 16, chip: 'Ascend910' });
    expect(describeServer(a3)).toBe('Atlas 800 A3 (8 NPUs × 2 dies = 16 devices, Ascend910)');
    const legacy = serverOf(ok(parseNpuSmiInfo(fx('npu_smi_info_LEGACY910_named910B_8card_24.1.0_longllovers.txt'))));
    expect(legacy.kind).toBe('other');
    expect(serverOf(ok(parseNpuSmiInfo(fx('npu_smi_info_910a_4card_health_warning_23.0.rc1_openyuanrong-mock.txt'))))).toEqual(
      { kind: 'other', npus: 4, devices: 4, chip: '910A' });
  });

  it('one kind on every node passes', () => {
    const out: Finding[] = [];
    judgeHardware(out, ['node1', 'node2'].map((n) => nodeWith(n, serverOf(A2))), CTX);
    expect(out).toEqual(['node1', 'node2'].map((node) => ({ node, check: 'hardware', status: 'pass', message: 'Atlas 800 A2 (8 × 910B3), like every other node' })));
  });

  it('a mixed A2/A3 rack fails the odd nodes only, naming the others', () => {
    const a3 = serverOf(ok(parseNpuSmiInfo(a3Table())));
    const out: Finding[] = [];
    judgeHardware(out, [nodeWith('node1', serverOf(A2)), nodeWith('node2', a3), nodeWith('node3', serverOf(A2))], CTX);
    expect(out.map((f) => [f.node, f.status])).toEqual([['node1', 'pass'], ['node2', 'fail'], ['node3', 'pass']]);
    expect(out[1]!.message).toBe('Atlas 800 A3 (8 NPUs × 2 dies = 16 devices, Ascend910), but node1, node3 are Atlas 800 A2 (8 × 910B3): every node must be the same kind of server');
    expect(out[1]!.hint).toMatch(/^use servers of one kind .*: leave node2 out/);
  });

  it('on a one-to-one tie the A2 node is the reference (the kind this version supports)', () => {
    const a3 = serverOf(ok(parseNpuSmiInfo(a3Table())));
    const out: Finding[] = [];
    judgeHardware(out, [nodeWith('node1', a3), nodeWith('node2', serverOf(A2))], CTX);
    expect(out.map((f) => [f.node, f.status])).toEqual([['node1', 'fail'], ['node2', 'pass']]);
  });

  it('an explicit npusPerNode must match the devices; a default one is not compared', () => {
    const a3 = serverOf(ok(parseNpuSmiInfo(a3Table())));
    let out: Finding[] = [];
    judgeHardware(out, [nodeWith('node1', a3)], { ...CTX, npusPerNodeGiven: true });
    expect(out[0]).toMatchObject({ status: 'fail', message: 'npusPerNode: 8 in the inventory, but the node has 16 devices: Atlas 800 A3 (8 NPUs × 2 dies = 16 devices, Ascend910)' });
    expect(out[0]!.hint).toMatch(/set npusPerNode: 16/);
    out = [];
    judgeHardware(out, [nodeWith('node1', a3)], { ...CTX, npusPerNode: 16, npusPerNodeGiven: true });
    expect(out[0]).toMatchObject({ status: 'pass', message: 'Atlas 800 A3 (8 NPUs × 2 dies = 16 devices, Ascend910)' });
    out = [];
    judgeHardware(out, [nodeWith('node1', a3)], CTX);
    expect(out[0]!.status).toBe('pass');
  });

  it('a node whose npu-smi failed is a warning (not checked), and the others are still compared', () => {
    const out: Finding[] = [];
    judgeHardware(out, [nodeWith('node1', serverOf(A2)), nodeWith('node2', undefined, false), nodeWith('node3', serverOf(A2))], CTX);
    expect(out.map((f) => [f.node, f.status])).toEqual([['node2', 'warn'], ['node1', 'pass'], ['node3', 'pass']]);
    expect(out[0]!.message).toMatch(/not checked/);
  });
});
