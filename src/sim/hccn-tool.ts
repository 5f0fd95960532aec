/**
 * The simulated `hccn_tool` (ascend-tools.md §2): the same lines, streams and exit codes as the 910B
 * tool, and its single-caller device channel: a second call while one is in flight answers "busy"
 * (stdout, exit 11), and a hung call keeps the channel for a while after its caller gave up.
 */
import { NETMASK, type SimNode } from './ascend-node.js';
import { delay, latencyMs, untilAborted, type LatencyKey } from './latency.js';
import type { SimIo, SimProgram } from './types.js';

type Outcome = { code: number; stdout?: string; stderr?: string };

/** `hccn_tool -i npu -cmd -mode args…`: `args` are the words after `-g` / `-s`. */
type Request = { npu: number; cmd: string; mode: 'g' | 's'; args: string[] };

const MSG = {
  busy: 'hccn_tool is busy, please try again.',
  invalidMajor: 'Get invalid major cmd.\nEnter [ hccn_tool -h ] for more details.',
  unknownOption: 'Get unknown option!',
  countWrong: 'The total count of input parameters is wrong!',
  failed: 'Command execute failed!',
} as const;

const ok = (stdout: string): Outcome => ({ code: 0, stdout });

/** A failure: the message on stderr, with `cmd`'s usage on stdout when the tool prints it. */
function fail(code: number, message: string, usageOf?: string): Outcome {
  return { code, stderr: `${message}\n`, ...(usageOf ? { stdout: usage(usageOf) } : {}) };
}

/** The get-commands the simulator knows: the usage line the tool prints, the answer after latency `hccn.<cmd>`. */
const GET: Record<string, { usage: string; run?: (node: SimNode, npu: number) => Outcome }> = {
  link: { usage: 'get link status', run: (node, npu) => ok(`link status: ${node.link(npu)}\n`) },
  net_health: { usage: 'get net health status', run: (node, npu) => ok(`net health status: ${node.netHealth(npu)}\n`) },
  netdetect: {
    usage: 'get netdetect address',
    // The "not set" text is not captured anywhere; the tool then prints no address (§2.5).
    run: (node, npu) => ok(node.netdetect(npu) ? `netdetect address: ${node.netdetect(npu)}\n` : ''),
  },
  gateway: {
    usage: 'get default gateway',
    run: (node, npu) => {
      const gw = node.gateway(npu);
      if (!gw) return fail(2, 'Get gateway failed, because no gateway was preset there!');
      return ok(`default gateway:${gw}, Iface:eth${npu}\n`);
    },
  },
  ip: {
    usage: 'get ip address and netmask',
    run: (node, npu) => {
      const ip = node.reportedIp(npu);
      if (!ip) return fail(13, 'Get ipconf failed, because no ip was preset there!');
      return ok(`ipaddr:${ip}\nnetmask:${NETMASK}\n`);
    },
  },
  tls: {
    usage: 'get tls switch and certificate info',
    // No certificate at all: the query fails before printing the switch (§2.8).
    run: (node, npu) => (node.npuFault('tls-no-cert', npu)
      ? fail(14, 'No certificate found, please set certs firstly!') : ok(tlsText(npu, node.tlsSwitches()[npu]!))),
  },
  lldp: { usage: 'get lldp neighbour info', run: (node, npu) => ok(lldpText(node, npu)) },
  /** Answered by ping() with its own latencies. */
  ping: { usage: 'address <ip> [pkt <0..65507>] : ping the ip from the device' },
  link_stat: { usage: 'get link statistics', run: (node, npu) => ok(linkStat(node, npu)) },
  optical: { usage: 'get optical module info', run: opticalText },
};

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

export function createHccnTool(node: SimNode): SimProgram {
  return async (argv, io) => {
    const parsed = parseArgs(argv, node.npuCount);
    // A usage error or a busy channel: the tool fails fast, before or at opening the channel.
    if ('code' in parsed || isBusy(node)) {
      await delay(latencyMs(node.profile, 'hccn.fail_fast'), io.signal);
      return emit(io, 'code' in parsed ? parsed : { code: 11, stdout: `${MSG.busy}\n` });
    }
    const channel = node.hccnChannel;
    channel.inFlight++;
    try {
      const hang = node.faultsOf('hang').find((f) =>
        (f.command === undefined || f.command.replace(/^-/, '') === parsed.cmd) && (f.npu === undefined || f.npu === parsed.npu));
      if (hang) {
        await untilAborted(io.signal);
        // The killed tool's request stays queued in the driver: the channel stays taken a while longer.
        channel.heldUntil = Math.max(channel.heldUntil, Date.now() + latencyMs(node.profile, 'hangLockHold'));
        return 143;
      }
      const outcome = await execute(node, parsed, io.signal);
      return outcome ? emit(io, outcome) : 143;
    } finally {
      channel.inFlight--;
    }
  };
}

function isBusy(node: SimNode): boolean {
  const storm = node.faultsOf('busy-storm')[0];
  if (storm && Math.random() < storm.share) return true;
  return node.hccnChannel.inFlight > 0 || Date.now() < node.hccnChannel.heldUntil;
}

async function emit(io: SimIo, o: Outcome): Promise<number> {
  if (o.stdout) await io.stdout(o.stdout);
  if (o.stderr) await io.stderr(o.stderr);
  return o.code;
}

function usage(cmd: string): string {
  const lines = [`[ hccn_tool -i devid -${cmd} ] needs the following parameters:`, `    -g ${GET[cmd]?.usage ?? ''}`];
  if (cmd === 'tls') lines.push('    -s enable <0|1> : set tls switch');
  return `${lines.join('\n')}\n`;
}

/**
 * `hccn_tool -i N -<cmd> -g [args]` and `-i N -tls -s enable 0|1`, checked in the tool's order. `ping` takes
 * `address <ipv4>` only: its `pkt` and IPv6 forms (ascendctl sends neither) get the count error.
 */
function parseArgs(argv: string[], npuCount: number): Request | Outcome {
  /** Undefined until `-i`, -1 for an invalid id. */
  let npu: number | undefined;
  let cmd: string | undefined;
  let mode: 'g' | 's' | undefined;
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    if (a === '-i') {
      const v = argv[++i] ?? '';
      npu = /^\d{1,2}$/.test(v) && Number(v) < npuCount ? Number(v) : -1;
    } else if ((a === '-g' || a === '-s') && mode === undefined) {
      mode = a === '-g' ? 'g' : 's';
    } else if (a.startsWith('-') && cmd === undefined && mode === undefined) {
      cmd = a.slice(1);
    } else {
      args.push(a);
    }
  }
  if (cmd === undefined && npu === undefined) return fail(3, MSG.invalidMajor);
  if (npu === undefined || npu < 0) return fail(4, 'Get invalid device id.');
  // Own keys only: `-toString` is as unknown to the tool as `-bogus`.
  if (cmd === undefined || !Object.hasOwn(GET, cmd)) return fail(3, MSG.invalidMajor);
  if (mode === undefined || (mode === 's' && cmd !== 'tls')) return fail(3, MSG.unknownOption, cmd);
  if (mode === 's') {
    if (args.length !== 2) return fail(4, MSG.countWrong, cmd);
    if (args[0] !== 'enable' || (args[1] !== '0' && args[1] !== '1')) return fail(3, MSG.unknownOption, cmd);
  } else if (cmd === 'ping') {
    if (args.length !== 2) return fail(4, MSG.countWrong, cmd);
    if (args[0] !== 'address') return fail(3, MSG.unknownOption, cmd);
    if (!IPV4.test(args[1] ?? '')) return fail(6, 'The ip address you configured is invalid!');
  } else if (args.length > 0) return fail(4, MSG.countWrong, cmd);
  return { npu, cmd, mode, args };
}

/** Run one parsed request after its device latency; undefined when the caller went away first. */
async function execute(node: SimNode, req: Request, signal: AbortSignal): Promise<Outcome | undefined> {
  const { npu } = req;
  if (req.cmd === 'ping') return ping(node, npu, req.args[1] ?? '', signal);
  if (req.mode === 's') {
    if (!(await delay(latencyMs(node.profile, 'hccn.tls_set'), signal))) return undefined;
    await node.setTlsSwitch(npu, req.args[1] === '1' ? 1 : 0);
    return ok('Cmd executed successfully!\n');
  }
  // Every get-command but ping (answered above) has its latency key `hccn.<cmd>`.
  if (!(await delay(latencyMs(node.profile, `hccn.${req.cmd}` as LatencyKey), signal))) return undefined;
  return GET[req.cmd]?.run?.(node, npu) ?? fail(1, MSG.failed);
}

function tlsText(npu: number, sw: number): string {
  const cert = (name: string, subject: string, issuer: string, end: string): string[] => [
    `dev_id:${npu}, [${name}] info:`,
    `\t subject[${subject}]`,
    `\t issuer[${issuer}]`,
    '\t start_time[Mon Jan  6 03:10:27 2025 GMT]',
    `\t end_time[${end}]`,
    '\t tls expiration status[0](0:normal, 1:near expiration, 2:has expired)',
  ];
  return [
    `dev_id:${npu}, tls switch[${sw}](0:disable, 1:enable), tls preconfigured[1](0:non-preset, 1:preset), tls alarm time threshold[60]days`,
    ...cert('pub cert', '/C=CN/O=Huawei/CN=Ascend NPU Device', '/C=CN/O=Huawei/CN=Huawei Ascend Sub CA', 'Wed Jun 18 03:10:27 2053 GMT'),
    ...cert('ca1 cert', '/C=CN/O=Huawei/CN=Huawei Ascend Root CA', '/C=CN/O=Huawei/CN=Huawei Ascend Root CA', 'Thu Feb  3 03:10:27 2056 GMT'),
    '',
  ].join('\n');
}

/**
 * The neighbour: one leaf with every NPU on its own split port, as in the DeepSeek-V3 guide's capture
 * (node 0 NPU 0..7 → 400GE1/1/5:1, 400GE1/1/5:2, 400GE1/2/5:1, …); each node uses the next port.
 */
function lldpText(node: SimNode, npu: number): string {
  if (node.npuFault('lldp-empty', npu) || node.link(npu) === 'DOWN') return '';
  const ifname = `400GE1/${Math.floor(npu / 2) + 1}/${5 + node.index}:${(npu % 2) + 1}`;
  return [
    'Chassis ID TLV', '\tMAC: 44:9b:c1:2a:5f:01',
    'Port ID TLV', `\tIfname: ${ifname}`,
    'Time to Live TLV', '\t121',
    'Port Description TLV', `\t${ifname}`,
    'System Name TLV', '\tROCE-LEAF-01',
    'System Description TLV', '\tHuawei Versatile Routing Platform Software',
    'VRP (R) software, Version 8.211 (CE9860 V200R021C10SPC600)',
    'Copyright (C) 2012-2022 Huawei Technologies Co., Ltd.',
    'HUAWEI CE9860-4C-EI',
    '',
    'System Capabilities TLV', '\tSystem capabilities:  Bridge, Router', '\tEnabled capabilities: Bridge, Router',
    'Management Address TLV', '\tIPv4: 192.168.100.1', '\tIfindex: 10',
    'Maximum Frame Size TLV', '\t9216',
    'End of LLDPDU TLV',
    '',
  ].join('\n');
}

/** `date`-style time as the tool prints it: `Wed Jun  7 10:08:28 2023` (UTC). */
function ctime(d: Date): string {
  const [day, date, month, year, time] = d.toUTCString().replace(',', '').split(' ');
  return `${day} ${month} ${String(Number(date)).padStart(2, ' ')} ${time} ${year}`;
}

function linkStat(node: SimNode, npu: number): string {
  const p = `[device ${npu}]`;
  const up = node.bootedAt;
  const events: { t: number; state: 'UP' | 'DOWN' }[] = [{ t: up.getTime() + 62_000, state: 'UP' }];
  if (node.link(npu) === 'DOWN') events.push({ t: up.getTime() + 3_600_000, state: 'DOWN' });
  // link-flaps: `count` drops, the latest `hoursAgo` hours ago (node clock), 10 min apart, each back up a minute later.
  for (const f of node.faultsOf('link-flaps').filter((x) => x.npu === npu)) {
    const latest = node.now().getTime() - (f.hoursAgo ?? 1) * 3_600_000;
    for (let i = 0; i < f.count; i++) {
      const down = latest - i * 600_000;
      events.push({ t: down, state: 'DOWN' });
      if (i > 0 || node.link(npu) === 'UP') events.push({ t: down + 60_000, state: 'UP' });
    }
  }
  events.sort((a, b) => b.t - a.t);
  const ups = events.filter((e) => e.state === 'UP').length;
  return [
    `${p}current time        : ${ctime(node.now())}`,
    `${p}link up count       : ${ups}`,
    `${p}link change records :`,
    ...events.map((e) => `${p}    ${ctime(new Date(e.t))}    LINK ${e.state}`),
    '',
  ].join('\n');
}

/** `-optical -g` in the fixture's layout (hccn_optical_g_910a_fixture.txt), healthy unless a fault says otherwise. */
function opticalText(node: SimNode, npu: number): Outcome {
  if (node.npuFault('optics-unsupported', npu)) {
    return { code: 13, stdout: 'The command is not supported on this product.\n' };
  }
  if (node.npuFault('optics-absent', npu)) return { code: 20, stdout: 'Optical module is not present.\n' };
  const dark = node.link(npu) === 'DOWN' || node.npuFault('optics-los', npu) !== undefined;
  const low = node.faultsOf('optics-rx-low').filter((f) => f.npu === npu);
  const rx = (lane: number): string => {
    if (dark) return '0.0000';
    if (low.some((f) => f.lane === undefined || f.lane === lane)) return '0.0512';
    return (0.95 + npu * 0.01 + lane * 0.002).toFixed(4);
  };
  const rows: [string, string][] = [
    ['present', 'present'], ['temperature', `${45 + (npu % 4)} C`], ['high power enable reg', 'enabled'],
    ['vendor name', 'Hisense'], ['vendor part number', 'LMQ8811-PC+'], ['vendor serial number', `V8BD6H2${String(5033 + npu)}`],
    ['xsfp identifier', 'QSFP-DD'], ['xsfp wave length', '850 nm'], ['manufact date code', '2023.6.18'],
    ['Vcc', '3262.90 mV'],
  ];
  for (let lane = 0; lane < 4; lane++) rows.push([`Tx Power${lane}`, '1.4035 mW'], [`Rx Power${lane}`, `${rx(lane)} mW`]);
  rows.push(
    ['Vcc High Thres', '3465.00 mV'], ['Vcc Low Thres', '3135.00 mV'], ['Temp High Thres', '70 C'], ['Temp Low Thres', '0 C'],
    ['TxPower High Thres', '3.5481 mW'], ['TxPower Low Thres', '0.2818 mW'],
    ['RxPower High Thres', '3.5481 mW'], ['RxPower Low Thres', '0.1445 mW'],
  );
  for (let lane = 0; lane < 4; lane++) rows.push([`Tx Bias${lane}`, '7.9360 mA']);
  rows.push(['Tx Los Flag', '0x0'], ['Rx Los Flag', dark ? '0xff' : '0x0'], ['Tx LoL Flag', '0x0'], ['Rx LoL Flag', dark ? '0xff' : '0x0']);
  return ok(`optical info:\n${rows.map(([k, v]) => `${k.padEnd(21)}: ${v}`).join('\n')}\n`);
}

/** Loss applied by a ping-loss fault on `node`'s NPU towards `peer`, or 0. */
function faultLoss(node: SimNode, npu: number, peer: string): number {
  const f = node.faultsOf('ping-loss').find((x) => x.npu === npu && (x.peer === undefined || x.peer === peer));
  return f ? (f.lost ?? 3) : 0;
}

async function ping(node: SimNode, npu: number, ip: string, signal: AbortSignal): Promise<Outcome | undefined> {
  const profile = node.profile;
  if (node.link(npu) === 'DOWN') {
    if (!(await delay(latencyMs(profile, 'hccn.fail_fast'), signal))) return undefined;
    return fail(22, 'Execute failed: Link status is down.');
  }
  // Reachability follows what the tools report (-ip -g), so a device-ip-drift shows up only in HCCL.
  const target = node.cluster.deviceIpOwners(ip).find((o) => !o.node.down && o.node.link(o.npu) === 'UP');
  let lost = 3;
  if (target && node.reportedIp(npu) !== undefined) {
    lost = Math.max(faultLoss(node, npu, target.node.name), faultLoss(target.node, target.npu, node.name));
  }
  const answered = 3 - lost;
  const wait = latencyMs(profile, 'hccn.ping_overhead') + answered * latencyMs(profile, 'hccn.ping_probe') +
    lost * latencyMs(profile, 'hccn.ping_lost');
  // The device answers once, after all probes: nothing is printed before (§1.3).
  if (!(await delay(wait, signal))) return undefined;
  const lines = [`device ${npu} PING ${ip}`];
  for (let seq = 0; seq < 3; seq++) {
    if (seq >= answered) lines.push(`recv time out seq=${seq}`);
    else lines.push(`recv seq=${seq},time=${(seq === 0 ? 0.11 + Math.random() * 0.05 : 0.06 + Math.random() * 0.01).toFixed(6)}ms`);
  }
  lines.push(`3 packets transmitted, ${answered} received, ${((lost / 3) * 100).toFixed(2)}% packet loss`);
  const stdout = `${lines.join('\n')}\n`;
  return lost > 0 ? { code: 1, stdout, stderr: `${MSG.failed}\n` } : ok(stdout);
}
