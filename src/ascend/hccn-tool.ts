/**
 * hccn_tool: argv builders, exit-status classification and output parsers (ascend-tools.md §1–2).
 * Pure: nothing here runs a command. The CLI runs one call per device and per node serially, because
 * hccn_tool serves one caller per node at a time (§1.2).
 */
import { isIP, isIPv4 } from 'node:net';
import { firstLine, isBlank, lines, parsed, unexpected, type ParseResult } from './parse-result.js';

export type HccnGetCommand =
  | 'link'
  | 'net_health'
  | 'netdetect'
  | 'gateway'
  | 'ip'
  | 'tls'
  | 'lldp'
  | 'link_stat'
  | 'optical';

/**
 * Per-call limits of §1.3 (recommendations, not from any source). link_stat/optical are not in the
 * table; they are device round trips like -net_health, so they get the same 15 s.
 */
export const HCCN_TIMEOUT_MS: Readonly<Record<HccnGetCommand | 'ping' | 'tls_set', number>> = {
  link: 15_000,
  net_health: 15_000,
  netdetect: 15_000,
  gateway: 15_000,
  ip: 15_000,
  tls: 15_000,
  lldp: 20_000,
  link_stat: 15_000,
  optical: 15_000,
  ping: 30_000,
  tls_set: 20_000,
};

function deviceArg(npu: number): string {
  // The tool takes a physical id of 1–2 decimal digits (§2.1, derived: cmd_check_phy_id).
  if (!Number.isInteger(npu) || npu < 0 || npu > 99) {
    throw new RangeError(`hccn_tool device id must be an integer 0–99, got ${String(npu)}`);
  }
  return String(npu);
}

/** `hccn_tool -i N -<cmd> -g`. */
export function hccnGet(tool: string, npu: number, cmd: HccnGetCommand): string[] {
  return [tool, '-i', deviceArg(npu), `-${cmd}`, '-g'];
}

/** `hccn_tool -i N -ping -g address <ipv4>`; an IPv6 target uses `-inet6 ipv6_address <ip6>` (§2.10). */
export function hccnPing(tool: string, npu: number, address: string): string[] {
  const family = isIP(address);
  if (family === 4) return [tool, '-i', deviceArg(npu), '-ping', '-g', 'address', address];
  if (family === 6) return [tool, '-i', deviceArg(npu), '-ping', '-g', '-inet6', 'ipv6_address', address];
  throw new RangeError(`hccn_tool ping target must be an IP address, got "${address}"`);
}

/** The `--fix` action: `hccn_tool -i N -tls -s enable 0` (§2.8). */
export function hccnTlsDisable(tool: string, npu: number): string[] {
  return [tool, '-i', deviceArg(npu), '-tls', '-s', 'enable', '0'];
}

// ---------------------------------------------------------------------------------------------------
// Exit status and streams (§2.2)

export const HCCN_BUSY_TEXT = 'hccn_tool is busy, please try again.';

export type HccnErrorReason =
  | 'no-ip'
  | 'no-gateway'
  | 'no-cert'
  | 'unsupported'
  | 'link-down'
  | 'invalid-device'
  | 'not-exist'
  | 'permission'
  | 'dsmi'
  | 'other';

export type HccnOutcome =
  | { kind: 'timeout' }
  | { kind: 'busy' }
  | {
      kind: 'error';
      code: number | null;
      message: string;
      reason?: HccnErrorReason;
      /** Kept because a failed ping still prints its probes and summary on stdout (§2.10). */
      stdout: string;
    }
  | { kind: 'ok'; stdout: string };

export interface HccnRawResult {
  stdout: string;
  stderr: string;
  code: number | null;
  timedOut: boolean;
}

const REASON_BY_TEXT: ReadonlyArray<readonly [RegExp, HccnErrorReason]> = [
  [/no ip was preset/i, 'no-ip'],
  [/no gateway was preset/i, 'no-gateway'],
  [/No certificate found/i, 'no-cert'],
  [/not supported on this product/i, 'unsupported'],
  [/Link status is down/i, 'link-down'],
  [/Get invalid device id/i, 'invalid-device'],
  [/device is not exist/i, 'not-exist'],
  [/permission denied/i, 'permission'],
  [/^Command execute failed!/m, 'dsmi'],
  [/Get device health status failed/i, 'dsmi'],
  [/Control link unreachable/i, 'dsmi'],
];

function reasonFor(code: number | null, stdout: string, stderr: string): HccnErrorReason {
  const text = `${stderr}\n${stdout}`;
  for (const [re, reason] of REASON_BY_TEXT) if (re.test(text)) return reason;
  // Exit 13 is shared by "unsupported" (INFO level, stdout) and "no IP" (stderr); with unknown wording
  // the stream is the remaining clue (§2.2).
  if (code === 13) return isBlank(stderr) ? 'unsupported' : 'no-ip';
  return 'other';
}

/**
 * §2.2 parse order: (1) timeout, (2) busy (exit 11, or the busy sentence with a non-zero exit) — the
 * caller retries, (3) non-zero exit → error whose message is the first stderr line else the first stdout
 * line, (4) exit 0 → ok, except `Cmd execute failed!` on stderr, which is an internal code that
 * truncated to exit 0. Applying the command's regex to stdout is the parsers' job.
 */
export function classifyHccnResult(r: HccnRawResult): HccnOutcome {
  if (r.timedOut) return { kind: 'timeout' };
  const busyText = r.stdout.includes(HCCN_BUSY_TEXT) || r.stderr.includes(HCCN_BUSY_TEXT);
  if (r.code === 11 || (busyText && r.code !== 0)) return { kind: 'busy' };
  const message =
    firstLine(r.stderr) ?? firstLine(r.stdout) ?? (r.code === null ? 'killed without an exit status' : `exit status ${r.code}`);
  if (r.code !== 0) {
    return { kind: 'error', code: r.code, message, reason: reasonFor(r.code, r.stdout, r.stderr), stdout: r.stdout };
  }
  if (/(?:Cmd|Command) execute failed!/.test(r.stderr)) {
    return { kind: 'error', code: 0, message, reason: reasonFor(0, r.stdout, r.stderr), stdout: r.stdout };
  }
  return { kind: 'ok', stdout: r.stdout };
}

// ---------------------------------------------------------------------------------------------------
// Single-line get commands

export type LinkStatus = 'UP' | 'DOWN';

/** §2.3: exactly `link status: UP|DOWN`. */
export function parseLink(stdout: string): ParseResult<LinkStatus> {
  const m = /^link status: (UP|DOWN)$/.exec(firstLine(stdout) ?? '');
  return m ? parsed(m[1] as LinkStatus) : unexpected(stdout);
}

export const NET_HEALTH_VALUES = [
  'Success',
  'Socket fail',
  'Receive timeout',
  'Unreachable',
  'Time exceeded',
  'Fault',
  'Init',
  'Thread error',
  'Detect ip set',
  'Unknown',
] as const;
export type NetHealthValue = (typeof NET_HEALTH_VALUES)[number];

export interface NetHealth {
  /** `Socket failed` (older releases) is normalised to `Socket fail`; text outside the table → 'unknown'. */
  value: NetHealthValue | 'unknown';
  /** The text after the prefix, as printed. */
  raw: string;
}

/** §2.4: `net health status: <value>`. */
export function parseNetHealth(stdout: string): ParseResult<NetHealth> {
  const m = /^net health status:\s*(.*)$/.exec(firstLine(stdout) ?? '');
  if (!m) return unexpected(stdout);
  const raw = (m[1] ?? '').trim();
  if (raw === 'Socket failed') return parsed({ value: 'Socket fail', raw });
  const known = NET_HEALTH_VALUES.find((v) => v === raw);
  return parsed({ value: known ?? 'unknown', raw });
}

export interface Netdetect {
  /** null when no detect address is configured. */
  address: string | null;
}

/**
 * §2.5: `netdetect address: <ip>` (2025 docs) or `netdetect addr: <ip>` (current source). Empty stdout
 * means "not set"; the caller treats a non-zero exit the same way.
 */
export function parseNetdetect(stdout: string): ParseResult<Netdetect> {
  const line = firstLine(stdout);
  if (line === undefined) return parsed({ address: null });
  const m = /^netdetect addr(?:ess)?:\s*(\S*)$/.exec(line);
  if (!m) return unexpected(stdout);
  return parsed({ address: m[1] ? m[1] : null });
}

export interface Gateway {
  gateway: string;
  iface: string;
}

/** §2.6: `default gateway:<ip>, Iface:eth<port>`. */
export function parseGateway(stdout: string): ParseResult<Gateway> {
  const m = /^default gateway:\s*(\S+),\s*Iface:\s*(eth\d+)$/.exec(firstLine(stdout) ?? '');
  return m ? parsed({ gateway: m[1] ?? '', iface: m[2] ?? '' }) : unexpected(stdout);
}

export interface IpConfig {
  family: 'inet' | 'inet6';
  address: string;
  /** Dotted netmask for inet; the prefix length (as printed) for inet6. */
  netmask: string;
}

/** §2.7: `ipaddr:<ipv4>` + `netmask:<mask>`, or the `-inet6` pair `ipv6_address:` + `prefix_length:`. */
export function parseIp(stdout: string): ParseResult<IpConfig> {
  const fields = new Map<string, string>();
  for (const l of lines(stdout)) {
    const m = /^\s*(ipaddr|netmask|ipv6_address|prefix_length):\s*(\S+)$/.exec(l);
    if (m && !fields.has(m[1] ?? '')) fields.set(m[1] ?? '', m[2] ?? '');
  }
  const v4 = fields.get('ipaddr');
  const mask = fields.get('netmask');
  if (v4 !== undefined && mask !== undefined) {
    // A placeholder such as `-.-.-.-` must never reach a rank table (§2.7).
    if (!isIPv4(v4)) return { ok: false, error: `not an IPv4 address: "${v4}"` };
    return parsed({ family: 'inet', address: v4, netmask: mask });
  }
  const v6 = fields.get('ipv6_address');
  const prefix = fields.get('prefix_length');
  if (v6 !== undefined && prefix !== undefined) {
    if (isIP(v6) !== 6) return { ok: false, error: `not an IPv6 address: "${v6}"` };
    return parsed({ family: 'inet6', address: v6, netmask: prefix });
  }
  return unexpected(stdout);
}

// ---------------------------------------------------------------------------------------------------
// -tls -g (§2.8)

export type CertExpiration = 'normal' | 'near-expiration' | 'expired' | 'unknown';

export interface TlsCert {
  /** `pub cert`, `ca1 cert`, `ca2 cert`, `crl`, … */
  name: string;
  subject?: string;
  issuer?: string;
  startTime?: string;
  endTime?: string;
  expirationCode?: number;
  expiration?: CertExpiration;
}

export interface TlsInfo {
  devId: number;
  /** The only value the `tls` check judges: 0 everywhere passes. */
  switch: number;
  preconfigured: number;
  alarmThresholdDays: number;
  certs: TlsCert[];
}

const TLS_HEAD =
  /^dev_id:\s*(\d+),\s*tls switch\[(\d+)\].*?tls preconfigured\[(\d+)\].*?tls alarm time threshold\[(\d+)\]\s*days$/;
const CERT_HEAD = /^dev_id:\s*(\d+),\s*\[([^\]]+)\]\s*info:$/;
const CERT_FIELD = /^\s*(subject|issuer|start_time|end_time)\[(.*)\]$/;
const CERT_STATUS = /^\s*tls expiration status\[(\d+)\]/;

function expirationOf(code: number): CertExpiration {
  return code === 0 ? 'normal' : code === 1 ? 'near-expiration' : code === 2 ? 'expired' : 'unknown';
}

/**
 * The switch line, then optional certificate blocks indented by TAB + space (docs show spaces).
 * An expired certificate's status line goes to stderr while the tool exits 0 (derived): pass stderr
 * to attach those lines, in order, to the blocks that lack a status.
 */
export function parseTls(stdout: string, stderr = ''): ParseResult<TlsInfo> {
  const all = lines(stdout).filter((l) => l.trim() !== '');
  const head = TLS_HEAD.exec(all[0]?.trim() ?? '');
  if (!head) return unexpected(stdout);
  const info: TlsInfo = {
    devId: Number(head[1]),
    switch: Number(head[2]),
    preconfigured: Number(head[3]),
    alarmThresholdDays: Number(head[4]),
    certs: [],
  };
  let cert: TlsCert | undefined;
  for (const l of all.slice(1)) {
    const h = CERT_HEAD.exec(l.trim());
    if (h) {
      cert = { name: h[2] ?? '' };
      info.certs.push(cert);
      continue;
    }
    if (!cert) continue;
    const f = CERT_FIELD.exec(l);
    if (f) {
      const v = f[2] ?? '';
      if (f[1] === 'subject') cert.subject = v;
      else if (f[1] === 'issuer') cert.issuer = v;
      else if (f[1] === 'start_time') cert.startTime = v;
      else cert.endTime = v;
      continue;
    }
    const s = CERT_STATUS.exec(l);
    if (s) {
      cert.expirationCode = Number(s[1]);
      cert.expiration = expirationOf(cert.expirationCode);
    }
  }
  const missing = info.certs.filter((c) => c.expirationCode === undefined);
  const fromStderr = lines(stderr)
    .map((l) => CERT_STATUS.exec(l))
    .filter((m): m is RegExpExecArray => m !== null);
  missing.forEach((c, i) => {
    const m = fromStderr[i];
    if (m) {
      c.expirationCode = Number(m[1]);
      c.expiration = expirationOf(c.expirationCode);
    }
  });
  return parsed(info);
}

// ---------------------------------------------------------------------------------------------------
// -lldp -g (§2.9)

export type LldpPeerKind = 'switch' | 'npu' | 'unknown';

export interface LldpInfo {
  /** False for empty output: no neighbour (port not split on the switch, link down). */
  neighbour: boolean;
  /** Peer port, e.g. `400GE1/1/5:1`; the `lldp` check passes when present. */
  ifname?: string;
  systemName?: string;
  systemDescription?: string;
  /** `Routing` in the System Description → switch; `AscendNPU` → direct fibre to another NPU. */
  peerKind: LldpPeerKind;
  chassisId?: string;
  managementAddress?: string;
}

const TLV_HEADER = /^\S.* TLV$/;
const IFNAME = /^\s*Ifname:\s*(\S+)\s*$/;

/** Lines following the TLV header up to the next header; `...` elision lines dropped. */
function tlvBody(all: string[], header: string): string[] | undefined {
  const at = all.findIndex((l) => l.trim() === header);
  if (at < 0) return undefined;
  const body: string[] = [];
  for (const l of all.slice(at + 1)) {
    if (TLV_HEADER.test(l)) break;
    if (l.trim() !== '...') body.push(l);
  }
  return body;
}

export function parseLldp(stdout: string): ParseResult<LldpInfo> {
  if (isBlank(stdout)) return parsed({ neighbour: false, peerKind: 'unknown' });
  const all = lines(stdout);
  const hasTlv = all.some((l) => TLV_HEADER.test(l));
  // MindCluster reads the Ifname within the two lines after `Port ID TLV`; a `grep Ifname` capture
  // has no headers at all, so fall back to the first Ifname anywhere.
  const portBody = tlvBody(all, 'Port ID TLV')?.filter((l) => l.trim() !== '').slice(0, 2) ?? [];
  const ifname =
    portBody.map((l) => IFNAME.exec(l)?.[1]).find((v) => v !== undefined) ??
    all.map((l) => IFNAME.exec(l)?.[1]).find((v) => v !== undefined);
  if (!hasTlv && ifname === undefined) return unexpected(stdout);

  const info: LldpInfo = { neighbour: true, peerKind: 'unknown' };
  if (ifname !== undefined) info.ifname = ifname;
  const name = tlvBody(all, 'System Name TLV')?.find((l) => l.trim() !== '');
  if (name !== undefined) info.systemName = name.trim();
  const desc = tlvBody(all, 'System Description TLV')
    ?.map((l) => l.trim())
    .filter((l) => l !== '');
  if (desc && desc.length > 0) {
    info.systemDescription = desc.join('\n');
    if (info.systemDescription.includes('AscendNPU')) info.peerKind = 'npu';
    else if (info.systemDescription.includes('Routing')) info.peerKind = 'switch';
  }
  const chassis = tlvBody(all, 'Chassis ID TLV')?.find((l) => l.trim() !== '');
  if (chassis !== undefined) info.chassisId = chassis.trim();
  const mgmt = tlvBody(all, 'Management Address TLV')
    ?.map((l) => /^\s*IPv[46]:\s*(\S+)/.exec(l)?.[1])
    .find((v) => v !== undefined);
  if (mgmt !== undefined) info.managementAddress = mgmt;
  return parsed(info);
}

// ---------------------------------------------------------------------------------------------------
// -ping -g (§2.10)

export interface PingProbe {
  /** Sequence number; the letter `O` of a published transcription reads as 0; null when unreadable. */
  seq: number | null;
  lost: boolean;
  /** Round-trip time of an answered probe; undefined when the line could not be read. */
  timeMs?: number;
  line: string;
}

export interface PingSummary {
  transmitted: number;
  received: number;
  lossPercent: number;
}

export interface PingResult {
  /** From the `device N PING ip` header, which is optional (the partial-loss example lacks it). */
  device?: number;
  target?: string;
  ipv6: boolean;
  probes: PingProbe[];
  summary?: PingSummary;
  lostSeqs: number[];
  /** Lines that matched nothing (e.g. `Destination Host Unreachable`); they never abort the parse. */
  unparsed: string[];
}

function seqOf(text: string | undefined): number | null {
  if (text === undefined) return null;
  const t = text.trim().replace(/^[Oo]$/, '0');
  return /^\d+$/.test(t) ? Number(t) : null;
}

export function parsePing(stdout: string): ParseResult<PingResult> {
  const result: PingResult = { ipv6: false, probes: [], lostSeqs: [], unparsed: [] };
  for (const raw of lines(stdout)) {
    const l = raw.trim();
    if (l === '') continue;
    let m = /^device (\d+) PING(6?) (\S+)$/.exec(l);
    if (m) {
      result.device = Number(m[1]);
      result.ipv6 = m[2] === '6';
      result.target = m[3] ?? '';
      continue;
    }
    if (/^recv time out seq=/.test(l)) {
      const seq = seqOf(/^recv time out seq=(\S*)/.exec(l)?.[1]);
      result.probes.push({ seq, lost: true, line: l });
      if (seq !== null) result.lostSeqs.push(seq);
      continue;
    }
    if (/^recv seq=/.test(l)) {
      // `time-0.049000ms` is a transcription typo in a public capture; accept either separator.
      m = /^recv seq=([^,\s]*)\s*,?\s*(?:time\s*[=-]\s*([\d.]+)\s*ms)?/.exec(l);
      const probe: PingProbe = { seq: seqOf(m?.[1]), lost: false, line: l };
      const time = m?.[2] === undefined ? NaN : Number(m[2]);
      if (Number.isFinite(time)) probe.timeMs = time;
      result.probes.push(probe);
      continue;
    }
    m = /^(\d+) packets transmitted, (\d+) received, ([\d.]+)% packet loss$/.exec(l);
    if (m) {
      result.summary = { transmitted: Number(m[1]), received: Number(m[2]), lossPercent: Number(m[3]) };
      continue;
    }
    result.unparsed.push(l);
  }
  if (result.target === undefined && result.probes.length === 0 && result.summary === undefined) {
    return unexpected(stdout);
  }
  return parsed(result);
}

export interface PingVerdict {
  loss: boolean;
  source: 'summary' | 'exit-status';
  transmitted?: number;
  received?: number;
  lossPercent?: number;
  lostSeqs: number[];
}

/**
 * §2.10: decide from the summary when present (rx == tx → no loss), else from the exit status (any
 * loss makes the tool exit 1). Lost probe lines without a summary also count as loss.
 */
export function pingLoss(result: PingResult | null | undefined, exitCode: number | null): PingVerdict {
  const lostSeqs = result?.lostSeqs ?? [];
  const s = result?.summary;
  if (s) {
    return {
      loss: s.received < s.transmitted,
      source: 'summary',
      transmitted: s.transmitted,
      received: s.received,
      lossPercent: s.lossPercent,
      lostSeqs,
    };
  }
  const lostLines = result?.probes.some((p) => p.lost) ?? false;
  return { loss: exitCode !== 0 || lostLines, source: 'exit-status', lostSeqs };
}

// ---------------------------------------------------------------------------------------------------
// Extra read-only commands (§2.11)

export interface LinkStatEvent {
  time: string;
  state: LinkStatus;
}

export interface LinkStat {
  device?: number;
  currentTime?: string;
  linkUpCount?: number;
  events: LinkStatEvent[];
}

/**
 * Lines prefixed `[devid N]` (older) or `[device N]` (newer). Case, spacing and a `_` in `LINK_DOWN`
 * are free: the format is known from two captures only (§2.11).
 */
export function parseLinkStat(stdout: string): ParseResult<LinkStat> {
  const stat: LinkStat = { events: [] };
  let understood = false;
  for (const raw of lines(stdout)) {
    if (raw.trim() === '') continue;
    const p = /^\s*\[(?:devid|device)\s*(\d+)\s*\](.*)$/i.exec(raw);
    const body = p ? (p[2] ?? '') : raw;
    if (p && stat.device === undefined) stat.device = Number(p[1]);
    let m = /^\s*current[ _]?time\s*:\s*(.*)$/i.exec(body);
    if (m) {
      stat.currentTime = (m[1] ?? '').trim();
      understood = true;
      continue;
    }
    m = /^\s*link[ _]?up[ _]?count\s*:\s*(\d+)\s*$/i.exec(body);
    if (m) {
      stat.linkUpCount = Number(m[1]);
      understood = true;
      continue;
    }
    if (/^\s*link[ _]?change[ _]?records\s*:/i.test(body)) {
      understood = true;
      continue;
    }
    m = /^\s*(.+?)\s+LINK[ _]?(UP|DOWN)\s*$/i.exec(body);
    if (m) stat.events.push({ time: (m[1] ?? '').trim(), state: (m[2] ?? '').toUpperCase() as LinkStatus });
  }
  return understood ? parsed(stat) : unexpected(stdout);
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

/**
 * A time as hccn_tool prints it in `-link_stat -g` (C `ctime` form: `Tue Aug  1 14:44:40 2022`), also
 * without the weekday, with a zone word before the year, or as `2022-08-01 14:44:40`. The tool prints
 * the node's local time without a zone, so the result is the wall-clock reading as if it were UTC
 * (epoch ms): compare it only with another reading of the same clock, such as the `current time` line.
 * Undefined when unreadable.
 */
export function parseHccnTime(text: string): number | undefined {
  const t = text.trim();
  let m = /^(?:[A-Za-z]{3,}\.?,?\s+)?([A-Za-z]{3,})\.?\s+(\d{1,2}),?\s+(\d{1,2}):(\d{2}):(\d{2})(?:\s+[A-Za-z]{2,5}|\s+[+-]\d{4})?\s+(\d{4})$/.exec(t);
  if (m) {
    const month = MONTHS.indexOf((m[1] ?? '').slice(0, 3).toLowerCase());
    if (month < 0) return undefined;
    return utc(Number(m[6]), month, Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]));
  }
  m = /^(\d{4})[-/](\d{1,2})[-/](\d{1,2})[ T](\d{1,2}):(\d{2}):(\d{2})(?:\.\d+)?$/.exec(t);
  if (m) return utc(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  return undefined;
}

function utc(year: number, month: number, day: number, h: number, min: number, sec: number): number | undefined {
  if (month < 0 || month > 11 || day < 1 || day > 31 || h > 23 || min > 59 || sec > 60) return undefined;
  const ms = Date.UTC(year, month, day, h, min, sec);
  return new Date(ms).getUTCDate() === day ? ms : undefined;
}

export interface OpticalInfo {
  /**
   * `present : present` → true, `not present` (or `absent`) → false, anything else null. Case and
   * spacing are free: these are derived/reconstructed formats (§2.11).
   */
  present: boolean | null;
  temperatureC?: number;
  /** Per lane, in mW (a `dBm` value is converted); NaN where the value is `NA` or unreadable. */
  txPowerMw: number[];
  rxPowerMw: number[];
  /** The module's own alarm thresholds (mW), when printed: `TxPower High Thres`, `RxPower Low Thres`, … */
  thresholds: OpticalThresholds;
  /** LOS/LOL flags as lane bitmasks (`0x0` none, `0xff` every lane); absent when not printed or unreadable. */
  flags: OpticalFlags;
  /** Every `key : value` line, keys trimmed. */
  fields: Record<string, string>;
}

export interface OpticalThresholds {
  txHighMw?: number;
  txLowMw?: number;
  rxHighMw?: number;
  rxLowMw?: number;
}

export interface OpticalFlags {
  txLos?: number;
  rxLos?: number;
  txLol?: number;
  rxLol?: number;
}

/** `Tx Power0`, `TX_POWER 0`, `txpower0` → `txpower0`: the key compared without case, spaces or `_`. */
function normalKey(key: string): string {
  return key.toLowerCase().replace(/[\s_\-()[\]]+/g, '');
}

/**
 * A power reading in mW: `1.4035 mW`, `-3.2 dBm` (converted), a bare number (mW, the unit the tool
 * prints); NaN for `NA`, `not supported` and anything else.
 */
export function opticalPowerMw(text: string | undefined): number {
  const m = /^(-?\d+(?:\.\d+)?|-?\.\d+)\s*(mw|dbm|uw)?$/i.exec((text ?? '').trim());
  if (!m) return NaN;
  const v = Number(m[1]);
  const unit = (m[2] ?? 'mw').toLowerCase();
  if (unit === 'dbm') return 10 ** (v / 10);
  if (unit === 'uw') return v / 1000;
  return v;
}

/** `0x0`, `0xff`, `0XF`, `15`, `0` → the bitmask; undefined for `NA` and other text. */
function flagMask(text: string | undefined): number | undefined {
  const t = (text ?? '').trim();
  if (/^0x[0-9a-f]+$/i.test(t)) return parseInt(t.slice(2), 16);
  if (/^\d+$/.test(t)) return Number(t);
  return undefined;
}

export function parseOptical(stdout: string): ParseResult<OpticalInfo> {
  const fields: Record<string, string> = {};
  const byKey = new Map<string, string>();
  for (const l of lines(stdout)) {
    if (/^\s*optical info\s*:?\s*$/i.test(l)) continue;
    const m = /^\s*([^:]+?)\s*:\s*(.*)$/.exec(l);
    if (!m) continue;
    const key = m[1] ?? '';
    const value = (m[2] ?? '').trim();
    fields[key] = value;
    if (!byKey.has(normalKey(key))) byKey.set(normalKey(key), value);
  }
  if (Object.keys(fields).length === 0) return unexpected(stdout);
  const presentText = (byKey.get('present') ?? '').toLowerCase().replace(/\s+/g, ' ');
  const thresholds: OpticalThresholds = {};
  const setThreshold = (k: keyof OpticalThresholds, ...keys: string[]): void => {
    const v = keys.map((key) => opticalPowerMw(byKey.get(key))).find((x) => Number.isFinite(x));
    if (v !== undefined) thresholds[k] = v;
  };
  setThreshold('txHighMw', 'txpowerhighthres', 'txpowerhighthreshold', 'txpowerhighalarm');
  setThreshold('txLowMw', 'txpowerlowthres', 'txpowerlowthreshold', 'txpowerlowalarm');
  setThreshold('rxHighMw', 'rxpowerhighthres', 'rxpowerhighthreshold', 'rxpowerhighalarm');
  setThreshold('rxLowMw', 'rxpowerlowthres', 'rxpowerlowthreshold', 'rxpowerlowalarm');
  const flags: OpticalFlags = {};
  const setFlag = (k: keyof OpticalFlags, key: string): void => {
    const v = flagMask(byKey.get(key));
    if (v !== undefined) flags[k] = v;
  };
  setFlag('txLos', 'txlosflag');
  setFlag('rxLos', 'rxlosflag');
  setFlag('txLol', 'txlolflag');
  setFlag('rxLol', 'rxlolflag');
  const info: OpticalInfo = {
    present: presentText === 'present' || presentText === 'yes'
      ? true
      : presentText === 'not present' || presentText === 'absent' || presentText === 'no' ? false : null,
    txPowerMw: lanes(byKey, 'txpower'),
    rxPowerMw: lanes(byKey, 'rxpower'),
    thresholds,
    flags,
    fields,
  };
  const temp = /^(-?[\d.]+)\s*(?:C|°C|degC)?$/i.exec(byKey.get('temperature') ?? '');
  if (temp) info.temperatureC = Number(temp[1]);
  return parsed(info);
}

/** Lane values `<prefix>0`, `<prefix>1`, … (normalised keys) up to the highest lane printed. */
function lanes(byKey: Map<string, string>, prefix: string): number[] {
  const found = new Map<number, number>();
  const re = new RegExp(`^${prefix}(?:lane)?(\\d+)$`);
  for (const [key, value] of byKey) {
    const m = re.exec(key);
    if (m) found.set(Number(m[1]), opticalPowerMw(value));
  }
  if (found.size === 0) return [];
  const max = Math.max(...found.keys());
  return Array.from({ length: max + 1 }, (_, lane) => found.get(lane) ?? NaN);
}
