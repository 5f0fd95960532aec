/**
 * Checks `optics` and `link-flaps` (cli-contract "Checks added in v2"): the optical module of every NPU
 * port (`hccn_tool -i N -optical -g`) and the port's link change records (`-link_stat -g`). A link
 * that reads `UP` at the moment of the check can still be one without light on a lane, or one that
 * went down a dozen times in the last hour: HCCL then fails under load. Both calls go through the
 * node's serial hccn_tool queue (collect.ts); this file turns their output into facts and judges them.
 */
import {
  parseHccnTime, parseLinkStat, parseOptical, type HccnOutcome,
} from '../ascend/hccn-tool.js';
import { parsed, unexpected, type ParseResult } from '../ascend/parse-result.js';
import type { Finding, Status } from './finding.js';
import type { JudgeContext, LinkFlapFacts, NodeFacts, OpticsFacts, Outcome } from './facts.js';
import { outcomeProblem } from './outcome.js';

/** The `link-flaps` window and thresholds: link-down events in the last 24 h, warn from 1, fail from 3. */
export const LINK_FLAP_WINDOW_MS = 24 * 3_600_000;
export const LINK_FLAP_WARN_FROM = 1;
export const LINK_FLAP_FAIL_FROM = 3;

const ABSENT_TEXT = /Optical module is not present/i;

const ABSENT: OpticsFacts = { present: false, txPowerMw: [], rxPowerMw: [], thresholds: {}, flags: {} };

type HccnError = Extract<HccnOutcome, { kind: 'error' }>;

// ---------------------------------------------------------------------------------------------------
// Collection: output → facts (pure; collect.ts runs the calls)

/** `-optical -g` stdout → facts. NaN readings (`NA`, unreadable) become null: facts are plain data. */
export function opticsFromOutput(stdout: string): ParseResult<OpticsFacts> {
  if (ABSENT_TEXT.test(stdout)) return parsed({ ...ABSENT });
  const p = parseOptical(stdout);
  if (!p.ok) return p;
  const v = p.value;
  // `key : value` lines, but none this check knows: another command's output, not a module's state.
  if (v.present === null && v.txPowerMw.length === 0 && v.rxPowerMw.length === 0 && Object.keys(v.flags).length === 0) {
    return unexpected(stdout);
  }
  const orNull = (x: number): number | null => (Number.isFinite(x) ? x : null);
  return parsed({
    present: v.present,
    txPowerMw: v.txPowerMw.map(orNull),
    rxPowerMw: v.rxPowerMw.map(orNull),
    thresholds: { ...v.thresholds },
    flags: { ...v.flags },
  });
}

/** `-link_stat -g` stdout → facts; `nodeClockMs` is the node's clock now, when known. */
export function linkFlapsFromOutput(stdout: string, nodeClockMs?: number): ParseResult<LinkFlapFacts> {
  const p = parseLinkStat(stdout);
  if (!p.ok) return p;
  const facts: LinkFlapFacts = { events: p.value.events.map((e) => ({ time: e.time, state: e.state })) };
  if (p.value.currentTime !== undefined) facts.currentTime = p.value.currentTime;
  if (p.value.linkUpCount !== undefined) facts.linkUpCount = p.value.linkUpCount;
  if (nodeClockMs !== undefined) facts.nodeClockMs = nodeClockMs;
  return parsed(facts);
}

/**
 * Error answers that mean "this product or driver has no such command" (§2.2: exit 13 `The command is
 * not supported on this product.`, or an older tool's `Get invalid major cmd.` / `Get unknown option!`):
 * kept as an error with reason 'unsupported', which the judge turns into a warning, never a verdict.
 */
export function unsupportedCommand(c: HccnError): Outcome<never> | undefined {
  if (c.reason === 'unsupported' || /not supported|invalid major cmd|unknown option/i.test(`${c.message}\n${c.stdout}`)) {
    return { kind: 'error', message: c.message, reason: 'unsupported', exitCode: c.code };
  }
  return undefined;
}

/** `-optical -g` errors: exit 20 `Optical module is not present.` (stdout) is a fact, not a failure. */
export function opticsError(c: HccnError): Outcome<OpticsFacts> | undefined {
  if (ABSENT_TEXT.test(c.message) || ABSENT_TEXT.test(c.stdout)) return { kind: 'ok', value: { ...ABSENT } };
  if (/Control link unreachable/i.test(c.message)) {
    return {
      kind: 'error', message: c.message, exitCode: c.code, reason: 'module-unreachable',
      hint: 'the optical module does not answer on its management bus: reseat or replace the module',
    };
  }
  return unsupportedCommand(c);
}

// ---------------------------------------------------------------------------------------------------
// Judging

function finding(node: string, check: Finding['check'], status: Status, message: string, npu: number, hint?: string): Finding {
  const out: Finding = { node, npu, check, status, message };
  if (hint !== undefined && status !== 'pass') out.hint = hint;
  return out;
}

/** A call that gave no facts: unsupported or tool missing → warn (never a pass, never a verdict on the link); else fail. */
function noVerdict(o: Outcome<unknown>, node: string, check: Finding['check'], what: string, npu: number): Finding {
  if (o.kind === 'error' && o.reason === 'unsupported') {
    return finding(node, check, 'warn', `not checked: ${what} is not supported on this product/driver ("${o.message}")`, npu,
      check === 'optics'
        ? 'check the module from the switch side (its transceiver view of the port), or update the NPU driver to one whose hccn_tool has -optical'
        : 'check the port\'s link history on the switch, or update the NPU driver to one whose hccn_tool has -link_stat');
  }
  // The contract: a v2 check that cannot run because its tool is missing warns, never passes. (The
  // v1 checks on the same tool fail, so the node still fails.)
  if (o.kind === 'error' && o.reason === 'not-found') {
    return finding(node, check, 'warn', `not checked: ${o.message}`, npu, o.hint ?? outcomeProblem(o, what)!.hint);
  }
  const p = outcomeProblem(o, what)!;
  return finding(node, check, 'fail', p.message, npu, p.hint);
}

/** Per-NPU `optics` and `link-flaps` of one node; NPUs without these facts (not collected) are skipped. */
export function judgePortHealth(out: Finding[], n: NodeFacts, ctx: JudgeContext): void {
  for (let npu = 0; npu < ctx.npusPerNode; npu++) {
    const d = n.npus[npu];
    if (d?.optics) {
      out.push(d.optics.kind === 'ok'
        ? judgeOpticsValue(n.node, npu, d.optics.value)
        : noVerdict(d.optics, n.node, 'optics', 'hccn_tool -optical -g', npu));
    }
    if (d?.linkFlaps) {
      out.push(d.linkFlaps.kind === 'ok'
        ? judgeLinkFlapsValue(n.node, npu, d.linkFlaps.value)
        : noVerdict(d.linkFlaps, n.node, 'link-flaps', 'hccn_tool -link_stat -g', npu));
    }
  }
}

function dbm(mw: number): string {
  return mw > 0 ? `${(10 * Math.log10(mw)).toFixed(1)} dBm` : '-inf dBm';
}

function power(mw: number): string {
  return `${mw.toFixed(4)} mW (${dbm(mw)})`;
}

/**
 * `0b1010` → `lanes 1, 3`: the mask's set bits, cut to the lanes the module reports readings for
 * (a 4-lane module prints `0xff` for "every lane").
 */
function laneList(raw: number, laneCount: number): string {
  const cut = laneCount > 0 && laneCount < 32 ? raw & ((1 << laneCount) - 1) : raw;
  const mask = cut !== 0 ? cut : raw;
  const set: number[] = [];
  for (let lane = 0; lane < 32; lane++) if (mask & (1 << lane)) set.push(lane);
  return `lane${set.length > 1 ? 's' : ''} ${set.length > 2 && set.every((l, i) => l === set[0]! + i) ? `${set[0]}-${set[set.length - 1]}` : set.join(', ')}`;
}

function rangeText(values: number[]): string {
  const min = Math.min(...values);
  const max = Math.max(...values);
  return min === max ? `${min.toFixed(2)} mW` : `${min.toFixed(2)}–${max.toFixed(2)} mW`;
}

const HINT = {
  rxLos: (npu: number) => `no light arrives at NPU ${npu}: check that the fibre is plugged in and clean on both ends and that the switch port and its module are up; replace the fibre if it stays dark`,
  lol: (npu: number) => `the module cannot lock onto the signal: reseat or replace the module and fibre of NPU ${npu}, and check that the switch port runs the same speed and FEC (hccn_tool -i ${npu} -fec -g)`,
  tx: (npu: number) => `the module's transmitter is out of its range: replace the optical module in NPU ${npu}'s port`,
  rxLow: (npu: number) => `weak light at NPU ${npu}: clean the connectors, reseat the module, check the fibre for bends and the far end's Tx power`,
  rxHigh: (npu: number) => `too much light at NPU ${npu} (receiver overload): use the module type the fibre length calls for, or an attenuator`,
} as const;

export function judgeOpticsValue(node: string, npu: number, v: OpticsFacts): Finding {
  const absentHint = `insert an optical module (or cable) into NPU ${npu}'s port on ${node}; hccn_tool -i ${npu} -optical -g must then say "present"`;
  if (v.present === false) return finding(node, 'optics', 'fail', 'optical module not present', npu, absentHint);
  const rx = v.rxPowerMw.filter((x): x is number => x !== null);
  const tx = v.txPowerMw.filter((x): x is number => x !== null);
  const anyFlag = Object.values(v.flags).some((x) => x !== undefined);
  if (rx.length === 0 && tx.length === 0 && !anyFlag) {
    if (v.present === null) return finding(node, 'optics', 'fail', 'optical module not present (no readings)', npu, absentHint);
    return finding(node, 'optics', 'warn', 'the module is present but reports no power readings (NA): not judged', npu,
      `read it again with hccn_tool -i ${npu} -optical -g; a module that never reports readings may be faulty or not supported`);
  }

  const problems: { text: string; hint: string }[] = [];
  const flag = (mask: number | undefined, text: string, hint: string): void => {
    if (mask) problems.push({ text: `${text} on ${laneList(mask, Math.max(v.rxPowerMw.length, v.txPowerMw.length))}`, hint });
  };
  flag(v.flags.rxLos, 'loss of signal (Rx LOS)', HINT.rxLos(npu));
  flag(v.flags.rxLol, 'loss of lock (Rx LOL)', HINT.lol(npu));
  flag(v.flags.txLol, 'loss of lock (Tx LOL)', HINT.lol(npu));
  flag(v.flags.txLos, 'loss of signal (Tx LOS)', HINT.tx(npu));
  const t = v.thresholds;
  // A lane already reported dark (LOS) reads ~0 mW: its low power is the same fault, not another one.
  const lanesOut = (values: (number | null)[], name: string, los: number | undefined, low: number | undefined, high: number | undefined,
    hintLow: string, hintHigh: string): void => {
    const lanes = values.map((x, lane) => ({ x, lane })).filter((l): l is { x: number; lane: number } => l.x !== null && !((los ?? 0) & (1 << l.lane)));
    const side = (bad: { x: number; lane: number }[], which: string, limit: number, hint: string): void => {
      if (bad.length === 0) return;
      const at = bad.length === 1
        ? `lane ${bad[0]!.lane} ${power(bad[0]!.x)}`
        : `lanes ${bad.map((l) => l.lane).join(', ')} (${bad.map((l) => l.x.toFixed(4)).join(', ')} mW)`;
      problems.push({ text: `${name} ${at} ${which} the module's ${which === 'below' ? 'low' : 'high'} threshold ${power(limit)}`, hint });
    };
    if (low !== undefined) side(lanes.filter((l) => l.x < low), 'below', low, hintLow);
    if (high !== undefined) side(lanes.filter((l) => l.x > high), 'above', high, hintHigh);
  };
  lanesOut(v.rxPowerMw, 'Rx power', v.flags.rxLos, t.rxLowMw, t.rxHighMw, HINT.rxLow(npu), HINT.rxHigh(npu));
  lanesOut(v.txPowerMw, 'Tx power', v.flags.txLos, t.txLowMw, t.txHighMw, HINT.tx(npu), HINT.tx(npu));
  if (problems.length > 0) {
    return finding(node, 'optics', 'fail', problems.map((p) => p.text).join('; '), npu, problems[0]!.hint);
  }
  const judged = [t.rxLowMw, t.rxHighMw, t.txLowMw, t.txHighMw].some((x) => x !== undefined);
  const levels = [rx.length > 0 ? `Rx ${rangeText(rx)}` : '', tx.length > 0 ? `Tx ${rangeText(tx)}` : ''].filter((s) => s !== '').join(', ');
  const tail = judged ? ' within the module\'s thresholds' : ' (the module reports no thresholds: levels not judged)';
  return finding(node, 'optics', 'pass', `module present, no LOS/LOL${levels ? `, ${levels}${tail}` : ''}`, npu);
}

function ago(ms: number): string {
  if (ms < 0) return 'in the future by the node\'s clock';
  const min = Math.round(ms / 60_000);
  if (min < 90) return `${min} min ago`;
  return `${(ms / 3_600_000).toFixed(1)} h ago`;
}

/**
 * Link-down records in the last 24 h. The window is measured on the node's own clock: the tool's
 * `current time` line (same clock and zone as the records, read by the same call), else the node's
 * `date` read by preflight (records then taken as UTC). Never this machine's clock.
 */
export function judgeLinkFlapsValue(node: string, npu: number, v: LinkFlapFacts): Finding {
  const downs = v.events.filter((e) => e.state === 'DOWN');
  const fromTool = v.currentTime === undefined ? undefined : parseHccnTime(v.currentTime);
  const ref = fromTool ?? v.nodeClockMs;
  if (ref === undefined) {
    if (downs.length === 0) return finding(node, 'link-flaps', 'pass', 'no link-down event recorded', npu);
    return finding(node, 'link-flaps', 'warn',
      `${downs.length} link-down record${downs.length > 1 ? 's' : ''}, but the node's clock is unknown: cannot tell which fall in the last 24 h`, npu,
      `read the records with hccn_tool -i ${npu} -link_stat -g and compare with date on ${node}`);
  }
  const times = downs.map((e) => ({ e, t: parseHccnTime(e.time) }));
  const unreadable = times.filter((x) => x.t === undefined).length;
  const recent = times.filter((x): x is { e: typeof x.e; t: number } => x.t !== undefined && x.t >= ref - LINK_FLAP_WINDOW_MS);
  const count = recent.length;
  const older = downs.length - count - unreadable;
  if (count === 0) {
    if (unreadable > 0) {
      return finding(node, 'link-flaps', 'warn',
        `${unreadable} link-down record${unreadable > 1 ? 's' : ''} with a time that cannot be read: not counted`, npu,
        `read the records with hccn_tool -i ${npu} -link_stat -g; if they are recent, check the module and fibre`);
    }
    return finding(node, 'link-flaps', 'pass',
      `no link-down event in the last 24 h${older > 0 ? ` (${older} older)` : ''}`, npu);
  }
  const latest = recent.reduce((a, b) => (b.t > a.t ? b : a));
  const status: Status = count >= LINK_FLAP_FAIL_FROM ? 'fail' : 'warn';
  const extra = unreadable > 0 ? `; ${unreadable} more with unreadable times` : '';
  const message = `${count} link-down event${count > 1 ? 's' : ''} in the last 24 h (latest ${latest.e.time}, ${ago(ref - latest.t)}${extra})`;
  const hint = status === 'fail'
    ? `the link of NPU ${npu} keeps going down, and HCCL fails under load on such a link: check the module and fibre (hccn_tool -i ${npu} -optical -g), clean or replace them, and look at the switch port's error counters`
    : `if this was not maintenance, check the module and fibre (hccn_tool -i ${npu} -optical -g) and watch for more drops (hccn_tool -i ${npu} -link_stat -g)`;
  return finding(node, 'link-flaps', status, message, npu, hint);
}
