import { describe, expect, it } from 'vitest';
import {
  HCCN_TIMEOUT_MS,
  classifyHccnResult,
  hccnGet,
  hccnPing,
  hccnTlsDisable,
  parseGateway,
  parseIp,
  parseLink,
  parseLinkStat,
  parseLldp,
  parseNetdetect,
  parseNetHealth,
  parseOptical,
  parsePing,
  parseTls,
  pingLoss,
  type HccnGetCommand,
  type HccnRawResult,
} from '../../../src/ascend/hccn-tool.js';
import { shellJoin } from '../../../src/remote/quote.js';
import { must, splitLoopOutput } from './helpers.js';

/** The inventory's default tools.hccnTool (docs/ascend-tools.md §1.1). */
const T = '/usr/local/Ascend/driver/tools/hccn_tool';
const HCCN_GET_COMMANDS: readonly HccnGetCommand[] = ['link', 'net_health', 'netdetect', 'gateway', 'ip', 'tls', 'lldp', 'link_stat', 'optical'];

describe('argv builders', () => {
  it('builds get commands with the absolute tool path', () => {
    expect(hccnGet(T, 3, 'link')).toEqual(['/usr/local/Ascend/driver/tools/hccn_tool', '-i', '3', '-link', '-g']);
    expect(hccnGet('/opt/hccn_tool', 7, 'net_health')).toEqual(['/opt/hccn_tool', '-i', '7', '-net_health', '-g']);
    for (const cmd of HCCN_GET_COMMANDS) expect(hccnGet(T, 0, cmd)[3]).toBe(`-${cmd}`);
  });

  it('pins the joined command line', () => {
    expect(shellJoin(hccnGet(T, 3, 'link'))).toBe('/usr/local/Ascend/driver/tools/hccn_tool -i 3 -link -g');
    expect(shellJoin(hccnPing(T, 0, '11.12.165.80'))).toBe(
      '/usr/local/Ascend/driver/tools/hccn_tool -i 0 -ping -g address 11.12.165.80',
    );
  });

  it('builds ping for IPv4 and IPv6 and refuses anything else', () => {
    expect(hccnPing(T, 5, '10.0.0.9')).toEqual([T, '-i', '5', '-ping', '-g', 'address', '10.0.0.9']);
    expect(hccnPing(T, 5, 'fd00::9')).toEqual([T, '-i', '5', '-ping', '-g', '-inet6', 'ipv6_address', 'fd00::9']);
    expect(() => hccnPing(T, 5, '10.0.0.9; reboot')).toThrow(RangeError);
    expect(() => hccnPing(T, 5, '')).toThrow(RangeError);
  });

  it('builds the TLS fix and rejects device ids the tool cannot take', () => {
    expect(hccnTlsDisable(T, 4)).toEqual([T, '-i', '4', '-tls', '-s', 'enable', '0']);
    expect(() => hccnGet(T, -1, 'link')).toThrow(RangeError);
    expect(() => hccnGet(T, 100, 'link')).toThrow(RangeError);
    expect(() => hccnGet(T, 1.5, 'link')).toThrow(RangeError);
  });

  it('has the §1.3 timeouts', () => {
    expect(HCCN_TIMEOUT_MS).toMatchObject({ link: 15_000, ip: 15_000, tls: 15_000, lldp: 20_000, ping: 30_000, tls_set: 20_000 });
    for (const cmd of HCCN_GET_COMMANDS) expect(HCCN_TIMEOUT_MS[cmd]).toBeGreaterThan(0);
  });
});

describe('classifyHccnResult: every row of §2.2', () => {
  const run = (code: number | null, stdout: string, stderr: string, timedOut = false): HccnRawResult => ({
    code,
    stdout,
    stderr,
    timedOut,
  });

  it('timeout comes first, whatever the output', () => {
    expect(classifyHccnResult(run(124, '', 'x', true))).toEqual({ kind: 'timeout' });
    expect(classifyHccnResult(run(null, 'hccn_tool is busy, please try again.\n', '', true))).toEqual({ kind: 'timeout' });
  });

  it('success: get data or the set confirmation', () => {
    expect(classifyHccnResult(run(0, 'link status: UP\n', ''))).toEqual({ kind: 'ok', stdout: 'link status: UP\n' });
    expect(classifyHccnResult(run(0, 'Cmd executed successfully!\n', '')).kind).toBe('ok');
  });

  it('busy: exit 11, or the sentence with any non-zero exit; never with exit 0', () => {
    expect(classifyHccnResult(run(11, 'hccn_tool is busy, please try again.\n', ''))).toEqual({ kind: 'busy' });
    expect(classifyHccnResult(run(11, '', ''))).toEqual({ kind: 'busy' });
    expect(classifyHccnResult(run(1, 'hccn_tool is busy, please try again.\n', ''))).toEqual({ kind: 'busy' });
    expect(classifyHccnResult(run(0, 'hccn_tool is busy, please try again.\n', '')).kind).toBe('ok');
  });

  const rows: Array<[string, number, string, string, string, string]> = [
    // label, exit, stdout, stderr, reason, message
    ['DSMI failure / ping loss', 1, '', 'Command execute failed!\n', 'dsmi', 'Command execute failed!'],
    ['no gateway', 2, '', 'Get gateway failed, because no gateway was preset there!\n', 'no-gateway', 'Get gateway failed, because no gateway was preset there!'],
    ['health query timed out', 3, '', 'Get device health status failed!\n', 'dsmi', 'Get device health status failed!'],
    ['device does not exist', 4, '', 'The device is not exist!\n', 'not-exist', 'The device is not exist!'],
    ['invalid -i', 4, '', 'Get invalid device id.\n', 'invalid-device', 'Get invalid device id.'],
    ['unknown major command', 3, '', 'Get invalid major cmd.\nEnter [ hccn_tool -h ] for more details.\n', 'other', 'Get invalid major cmd.'],
    [
      'unknown option (both streams)',
      3,
      '[ hccn_tool -i devid -link ] needs the following parameters:\n',
      'Get unknown option!\n',
      'other',
      'Get unknown option!',
    ],
    [
      'wrong argument count',
      4,
      '[ hccn_tool -i devid -ip ] needs the following parameters:\n',
      'The total count of input parameters is wrong!\n',
      'other',
      'The total count of input parameters is wrong!',
    ],
    ['invalid IP in a set', 6, '', 'The ip address you configured is invalid!\n', 'other', 'The ip address you configured is invalid!'],
    ['not permitted', 12, '', 'permission denied: pls check this cmd run permission.\n', 'permission', 'permission denied: pls check this cmd run permission.'],
    ['unsupported (stdout)', 13, 'The command is not supported on this product.\n', '', 'unsupported', 'The command is not supported on this product.'],
    ['no IP (stderr)', 13, '', 'Get ipconf failed, because no ip was preset there!\n', 'no-ip', 'Get ipconf failed, because no ip was preset there!'],
    ['no certificate', 14, '', 'No certificate found, please set certs firstly!\n', 'no-cert', 'No certificate found, please set certs firstly!'],
    ['control link unreachable', 15, '', 'Control link unreachable.\n', 'dsmi', 'Control link unreachable.'],
    ['optical module absent (stdout)', 20, 'Optical module is not present.\n', '', 'other', 'Optical module is not present.'],
    ['link down', 22, '', 'Execute failed: Link status is down.\n', 'link-down', 'Execute failed: Link status is down.'],
  ];

  it.each(rows)('%s → exit %i', (_label, code, stdout, stderr, reason, message) => {
    expect(classifyHccnResult(run(code, stdout, stderr))).toEqual({ kind: 'error', code, message, reason, stdout });
  });

  it('unknown family: `Cmd execute failed!` on stderr fails even with exit 0', () => {
    expect(classifyHccnResult(run(0, '', 'Cmd execute failed!\n'))).toEqual({
      kind: 'error',
      code: 0,
      message: 'Cmd execute failed!',
      reason: 'other',
      stdout: '',
    });
  });

  it('exit 13 with unknown wording falls back to the stream', () => {
    expect(classifyHccnResult(run(13, 'something new\n', ''))).toMatchObject({ reason: 'unsupported' });
    expect(classifyHccnResult(run(13, '', 'something new\n'))).toMatchObject({ reason: 'no-ip' });
  });

  it('an exit without any output still gets a message', () => {
    expect(classifyHccnResult(run(7, '', ''))).toMatchObject({ kind: 'error', message: 'exit status 7', reason: 'other' });
    expect(classifyHccnResult(run(null, '', ''))).toMatchObject({ kind: 'error', code: null });
  });
});

describe('single-line parsers', () => {
  it('link: only UP and DOWN, quoted on anything else', () => {
    expect(parseLink('link status: up\n')).toEqual({ ok: false, error: 'unexpected output: "link status: up"' });
    expect(parseLink('')).toEqual({ ok: false, error: 'empty output' });
    expect(must(parseLink('link status: DOWN\r\n'))).toBe('DOWN');
  });

  it('net_health: unknown text after the prefix is kept, other text rejected', () => {
    expect(must(parseNetHealth('net health status: Flapping\n'))).toEqual({ value: 'unknown', raw: 'Flapping' });
    expect(parseNetHealth('Command execute failed!\n').ok).toBe(false);
  });

  it('netdetect: empty output or empty value means not set', () => {
    expect(must(parseNetdetect(''))).toEqual({ address: null });
    expect(must(parseNetdetect('netdetect address: \n'))).toEqual({ address: null });
    expect(parseNetdetect('garbage\n').ok).toBe(false);
  });

  it('gateway: exact shape', () => {
    expect(must(parseGateway('default gateway:10.0.0.1, Iface:eth3\n'))).toEqual({ gateway: '10.0.0.1', iface: 'eth3' });
    expect(parseGateway('gateway 10.0.0.1\n').ok).toBe(false);
  });

  it('ip: IPv6 form, and never a placeholder address', () => {
    expect(must(parseIp('ipv6_address:fd00::12\nprefix_length:64\n'))).toEqual({
      family: 'inet6',
      address: 'fd00::12',
      netmask: '64',
    });
    expect(parseIp('ipaddr:-.-.-.-\nnetmask:255.255.255.0\n')).toEqual({ ok: false, error: 'not an IPv4 address: "-.-.-.-"' });
    expect(parseIp('ipaddr:10.0.0.1\n').ok).toBe(false);
    expect(parseIp('').ok).toBe(false);
  });
});

describe('parseTls', () => {
  const head = 'dev_id:2, tls switch[1](0:disable, 1:enable), tls preconfigured[0](0:non-preset, 1:preset), tls alarm time threshold[30]days';

  it('reads TAB + space indented blocks (the real tool) and an enabled switch', () => {
    const text = `${head}\ndev_id:2, [pub cert] info:\n\t subject[/CN=a]\n\t issuer[/CN=b]\n\t start_time[x GMT]\n\t end_time[y GMT]\n\t tls expiration status[0](0:normal, 1:near expiration, 2:has expired)\n`;
    const t = must(parseTls(text));
    expect(t).toMatchObject({ devId: 2, switch: 1, preconfigured: 0, alarmThresholdDays: 30 });
    expect(t.certs).toEqual([
      { name: 'pub cert', subject: '/CN=a', issuer: '/CN=b', startTime: 'x GMT', endTime: 'y GMT', expirationCode: 0, expiration: 'normal' },
    ]);
  });

  it('attaches an expired status printed on stderr to the block that lacks one', () => {
    const text = `${head}\ndev_id:2, [pub cert] info:\n\t subject[/CN=a]\n\t tls expiration status[0](…)\ndev_id:2, [ca1 cert] info:\n\t subject[/CN=c]\n`;
    const t = must(parseTls(text, '\t tls expiration status[2](0:normal, 1:near expiration, 2:has expired)\n'));
    expect(t.certs.map((c) => c.expiration)).toEqual(['normal', 'expired']);
  });

  it('rejects output without the switch line', () => {
    expect(parseTls('No certificate found, please set certs firstly!\n').ok).toBe(false);
  });
});

describe('parseLldp', () => {
  it('empty output: no neighbour', () => {
    expect(must(parseLldp(''))).toEqual({ neighbour: false, peerKind: 'unknown' });
    expect(must(parseLldp('\n\n')).neighbour).toBe(false);
  });

  it('back-to-back fibre: AscendNPU in the System Description', () => {
    const text = 'Chassis ID TLV\n\tMAC: aa\nPort ID TLV\n\tIfname: eth3\nSystem Description TLV\n\tAscendNPU\nEnd of LLDPDU TLV\n';
    expect(must(parseLldp(text))).toMatchObject({ ifname: 'eth3', peerKind: 'npu' });
  });

  it('prefers the Ifname right after Port ID TLV over one elsewhere', () => {
    const text = 'Chassis ID TLV\n\tIfname: wrong\nPort ID TLV\n\tIfname: 400GE1/2/5:2\n';
    expect(must(parseLldp(text)).ifname).toBe('400GE1/2/5:2');
  });

  it('TLVs without an Ifname: a neighbour without a port', () => {
    const l = must(parseLldp('Chassis ID TLV\n\tMAC: aa\nEnd of LLDPDU TLV\n'));
    expect(l.neighbour).toBe(true);
    expect(l.ifname).toBeUndefined();
  });

  it('unrelated text is unexpected', () => {
    expect(parseLldp('Command execute failed!\n').ok).toBe(false);
  });
});

describe('parsePing: partial loss (constructed per §2.10)', () => {
  const withHeader =
    'device 2 PING 11.12.165.82\nrecv seq=0,time=0.114000ms\nrecv time out seq=1\nrecv seq=2,time=0.063000ms\n3 packets transmitted, 2 received, 33.33% packet loss\n';
  // The published example: no header, letter O instead of 0.
  const transcribed =
    'recv time out seq=O\nrecv seq=1,time=0.067000ms\nrecv seq=2,time=0.047000ms\n3 packets transmitted, 2 received, 33.33% packet loss\n';

  it('with the header', () => {
    const r = must(parsePing(withHeader));
    expect(r).toMatchObject({ device: 2, target: '11.12.165.82', lostSeqs: [1] });
    expect(r.probes.map((p) => p.lost)).toEqual([false, true, false]);
    const outcome = classifyHccnResult({ stdout: withHeader, stderr: 'Command execute failed!\n', code: 1, timedOut: false });
    expect(outcome.kind).toBe('error');
    expect(pingLoss(r, 1)).toEqual({
      loss: true,
      source: 'summary',
      transmitted: 3,
      received: 2,
      lossPercent: 33.33,
      lostSeqs: [1],
    });
  });

  it('without the header and with seq=O', () => {
    const r = must(parsePing(transcribed));
    expect(r.device).toBeUndefined();
    expect(r.probes[0]).toMatchObject({ seq: 0, lost: true });
    expect(r.lostSeqs).toEqual([0]);
    expect(pingLoss(r, 1)).toMatchObject({ loss: true, lossPercent: 33.33, lostSeqs: [0] });
  });

  it('an unreadable lost seq is still a lost probe; odd lines never abort', () => {
    const r = must(parsePing('device 0 PING 10.0.0.1\nrecv time out seq=?\nDestination Host Unreachable\n'));
    expect(r.probes).toEqual([{ seq: null, lost: true, line: 'recv time out seq=?' }]);
    expect(r.unparsed).toEqual(['Destination Host Unreachable']);
    expect(pingLoss(r, 0)).toEqual({ loss: true, source: 'exit-status', lostSeqs: [] });
  });

  it('verdict without a summary follows the exit status', () => {
    const r = must(parsePing('device 0 PING 10.0.0.1\nrecv seq=0,time=0.1ms\n'));
    expect(pingLoss(r, 0).loss).toBe(false);
    expect(pingLoss(r, 1).loss).toBe(true);
    expect(pingLoss(undefined, 0)).toEqual({ loss: false, source: 'exit-status', lostSeqs: [] });
  });

  it('IPv6 header and empty output', () => {
    expect(must(parsePing('device 1 PING6 fd00::1\n'))).toMatchObject({ ipv6: true, target: 'fd00::1' });
    expect(parsePing('')).toEqual({ ok: false, error: 'empty output' });
    expect(parsePing('hello\n').ok).toBe(false);
  });
});

describe('link_stat and optical', () => {
  it('link_stat without a prefix and with an unknown body', () => {
    expect(must(parseLinkStat('link up count : 5\n')).linkUpCount).toBe(5);
    expect(parseLinkStat('nothing here\n').ok).toBe(false);
  });

  it('optical: present module and lanes beyond the fixture', () => {
    const o = must(parseOptical('optical info:\npresent : present\ntemperature : -3 C\nTx Power0 : 1.5 mW\nRx Power0 : bad\n'));
    expect(o.present).toBe(true);
    expect(o.temperatureC).toBe(-3);
    expect(o.txPowerMw).toEqual([1.5]);
    expect(o.rxPowerMw[0]).toBeNaN();
    expect(parseOptical('').ok).toBe(false);
  });
});

describe('splitLoopOutput', () => {
  it('ping runs close on the summary even without headers', () => {
    const run = 'recv seq=0,time=0.1ms\n3 packets transmitted, 3 received, 0.00% packet loss\n';
    expect(splitLoopOutput(run + run, 'ping')).toEqual([run, run]);
  });

  it('link_stat groups by device prefix', () => {
    const text = '[device 0]link up count : 1\n[device 0]current time : a\n[device 1]link up count : 3\n';
    const docs = splitLoopOutput(text, 'link_stat');
    expect(docs).toHaveLength(2);
    expect(must(parseLinkStat(docs[1] ?? '')).device).toBe(1);
  });

  it('full lldp outputs split at Chassis ID TLV; blank leading lines are dropped', () => {
    const one = 'Chassis ID TLV\n\tMAC: a\nPort ID TLV\n\tIfname: p1\n';
    const docs = splitLoopOutput(`\n${one}${one.replace('p1', 'p2')}`, 'lldp');
    expect(docs.map((d) => must(parseLldp(d)).ifname)).toEqual(['p1', 'p2']);
  });
});
