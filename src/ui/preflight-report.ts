/**
 * The human preflight report: one line per node, failures and warnings expanded with their next step
 * (grouped when several NPUs fail the same way), then a ping grid for each NPU plane with a failing pair.
 */
import type { Finding } from '../preflight/finding.js';
import type { NodeFacts } from '../preflight/facts.js';
import type { Output } from './output.js';
import { compactRanges } from './ranges.js';
import { foldNodeSet } from '../config/nodeset.js';
import { withoutDiePrefix } from '../preflight/a3.js';

/**
 * Above this many nodes (where the ping plan turns into a ring) the nodes that passed everything share one
 * folded line (`✔ node[01-60] (10.0.0.[1-60])  60 nodes: all 77 checks passed on each`), and a failing ping plane is
 * listed as its failing pairs rather than drawn as an N × N grid.
 */
const FOLD_ABOVE = 8;

export interface PreflightReportInput {
  findings: Finding[];
  facts: NodeFacts[];
  nodes: { name: string; address: string }[];
  npusPerNode: number;
  fixed?: { node: string; npu: number; ok: boolean; message?: string }[];
}

interface Group {
  check: string;
  message: string;
  hint?: string;
  npus: number[];
  nodeLevel: boolean;
  /** A3: the one die of the group, named ("NPU 3 chip 1 (device 7)"). */
  label?: string;
}

/**
 * On an A3 node the messages start with the die ("NPU 3 chip 1 (device 7): …"): dies that fail alike are
 * grouped on the rest of the message and shown as `device 3,7`, a lone die as its full name.
 */
function groupDieFindings(list: Finding[]): Group[] {
  const groups = groupFindings(list.map((f) => ({ ...f, message: withoutDiePrefix(f.message) })));
  for (const g of groups) {
    if (g.npus.length !== 1) continue;
    const one = list.find((f) => f.npu === g.npus[0] && f.check === g.check && withoutDiePrefix(f.message) === g.message);
    const label = one ? /^(NPU \d+ chip \d+ \(device \d+\)): /.exec(one.message)?.[1] : undefined;
    if (label) g.label = label;
  }
  return groups;
}

function where(g: Group, dies: boolean): string {
  if (g.nodeLevel) return '';
  if (g.label) return `${g.label}  `;
  return `${dies ? 'device' : 'NPU'} ${compactRanges(g.npus)}  `;
}

function groupFindings(list: Finding[]): Group[] {
  const groups: Group[] = [];
  for (const f of list) {
    const key = (g: Group) => g.check === f.check && g.message === f.message && g.hint === f.hint;
    const g = groups.find(key);
    if (g) {
      if (f.npu !== undefined) g.npus.push(f.npu);
      continue;
    }
    const ng: Group = { check: f.check, message: f.message, npus: f.npu === undefined ? [] : [f.npu], nodeLevel: f.npu === undefined };
    if (f.hint !== undefined) ng.hint = f.hint;
    groups.push(ng);
  }
  return groups;
}

export function renderPreflightReport(input: PreflightReportInput, out: Output, opts: { stderr?: boolean } = {}): string {
  const c = opts.stderr ? out.errColor : out.color;
  const s = out.symbols();
  const lines: string[] = [];
  const width = Math.max(...input.nodes.map((n) => n.name.length));
  // Sized to the longest id on show, with a two-space gutter like the other columns: a fixed width
  // ran `container-runtime` into its message.
  const shown = input.findings.filter((f) => f.status !== 'pass').map((f) => f.check.length);
  const checkWidth = Math.max(0, ...shown) + 2;

  if (input.fixed && input.fixed.length > 0) {
    lines.push(c.bold('Fixed:'));
    for (const fx of input.fixed) {
      lines.push(`  ${fx.ok ? c.green(s.ok) : c.red(s.fail)} ${fx.node} NPU ${fx.npu}: TLS switch ${fx.ok ? 'set to 0' : `not changed (${fx.message ?? 'failed'})`}`);
    }
    lines.push('');
  }

  const fold = input.nodes.length > FOLD_ABOVE;
  const nodeLinesStart = lines.length;
  const allPassed: { name: string; address: string; passes: number }[] = [];
  for (const node of input.nodes) {
    const mine = input.findings.filter((f) => f.node === node.name);
    const fails = mine.filter((f) => f.status === 'fail');
    const warns = mine.filter((f) => f.status === 'warn');
    const passes = mine.length - fails.length - warns.length;
    const name = node.name.padEnd(width);
    const addr = c.dim(`(${node.address})`);
    if (fails.length === 0 && warns.length === 0) {
      if (fold) allPassed.push({ name: node.name, address: node.address, passes });
      else lines.push(`${c.green(s.ok)} ${name} ${addr}  all ${passes} checks passed`);
      continue;
    }
    const parts: string[] = [];
    if (fails.length) parts.push(c.red(`${fails.length} failed`));
    if (warns.length) parts.push(c.yellow(`${warns.length} warning${warns.length > 1 ? 's' : ''}`));
    parts.push(`${passes} passed`);
    lines.push(`${fails.length ? c.red(s.fail) : c.yellow(s.warn)} ${name} ${addr}  ${parts.join(', ')}`);
    const facts = input.facts.find((f) => f.node === node.name);
    for (const note of facts?.notes ?? []) lines.push(`    ${c.dim(`note: ${note}`)}`);
    const dies = facts?.npuSmi?.kind === 'ok' && facts.npuSmi.value.dies !== undefined;
    const group = dies ? groupDieFindings : groupFindings;
    for (const g of group(fails)) {
      lines.push(`    ${c.red(s.fail)} ${g.check.padEnd(checkWidth)}${where(g, dies)}${g.message}`);
      if (g.hint) lines.push(`      ${' '.repeat(checkWidth)}${c.dim(`${s.arrow} ${g.hint}`)}`);
    }
    for (const g of group(warns)) {
      lines.push(`    ${c.yellow(s.warn)} ${g.check.padEnd(checkWidth)}${where(g, dies)}${g.message}`);
      if (g.hint) lines.push(`      ${' '.repeat(checkWidth)}${c.dim(`${s.arrow} ${g.hint}`)}`);
    }
  }

  if (allPassed.length > 0) {
    const counts = new Set(allPassed.map((n) => n.passes));
    const all = counts.size === 1 ? `all ${allPassed[0]!.passes} checks passed` : 'all checks passed';
    const each = allPassed.length === 1 ? all : `${allPassed.length} nodes: ${all} on each`;
    lines.splice(nodeLinesStart, 0, `${c.green(s.ok)} ${foldNodeSet(allPassed.map((n) => n.name))} ${c.dim(`(${foldNodeSet(allPassed.map((n) => n.address))})`)}  ${each}`);
  }

  const grid = fold ? renderPingFailures(input, out, c) : renderPingGrid(input, out, c);
  if (grid.length > 0) lines.push('', ...grid);

  const failed = input.findings.filter((f) => f.status === 'fail');
  const warned = input.findings.filter((f) => f.status === 'warn');
  const badNodes = new Set(failed.map((f) => f.node)).size;
  lines.push('');
  if (failed.length === 0) {
    lines.push(c.green(`${s.ok} preflight passed on ${input.nodes.length} node${input.nodes.length > 1 ? 's' : ''}`) +
      (warned.length ? c.yellow(` with ${warned.length} warning${warned.length > 1 ? 's' : ''}`) : ''));
  } else {
    const tls = failed.some((f) => f.check === 'tls');
    const where = foldNodeSet(input.nodes.map((n) => n.name).filter((n) => failed.some((f) => f.node === n)));
    lines.push(c.red(`${s.fail} preflight failed: ${failed.length} failure${failed.length > 1 ? 's' : ''} on ${badNodes} of ${input.nodes.length} nodes (${where})`) +
      (warned.length ? `, ${warned.length} warning${warned.length > 1 ? 's' : ''}` : ''));
    lines.push(c.dim(`${s.arrow} fix what is listed above and run ascendctl preflight again${tls ? ' (--fix sets the TLS switches to 0)' : ''}`));
  }
  return lines.join('\n');
}

/**
 * Above FOLD_ABOVE nodes: each NPU plane with a failing ping, as the pairs that failed, the nodes that
 * failed to reach one peer folded together (`✘ node[05,09] → node06`).
 */
function renderPingFailures(input: PreflightReportInput, out: Output, c: Output['color']): string[] {
  const s = out.symbols();
  const lines: string[] = [];
  for (let npu = 0; npu < planesOf(input); npu++) {
    const byPeer = new Map<string, string[]>();
    let total = 0;
    for (const f of input.facts) {
      for (const p of f.pings) {
        if (p.npu !== npu) continue;
        total++;
        if (p.outcome.kind === 'ok' && !p.outcome.value.loss) continue;
        byPeer.set(p.peer, [...(byPeer.get(p.peer) ?? []), f.node]);
      }
    }
    if (byPeer.size === 0) continue;
    if (lines.length === 0) lines.push(c.bold('Failing pings of the failing NPU planes (from → to):'));
    const failedCount = [...byPeer.values()].reduce((a, l) => a + l.length, 0);
    const pairs = [...byPeer].map(([peer, from]) => `${c.red(s.fail)} ${foldNodeSet(from)} ${s.arrow} ${peer}`);
    lines.push(`  ${planeName(input, npu)}  ${failedCount} of ${total} failed: ${pairs.join(`  ${s.dot} `)}`);
  }
  return lines;
}

/** Ping planes: npusPerNode, or the 16 devices of A3 nodes detected beside an inventory that left it out. */
function planesOf(input: PreflightReportInput): number {
  return Math.max(input.npusPerNode, ...input.facts.map((f) => f.devices ?? 0));
}

/** `NPU 3` on A2; on A3 a plane is a die: `device 7` (each die pings the same die of its peers). */
function planeName(input: PreflightReportInput, plane: number): string {
  const a3 = input.facts.some((f) => f.npuSmi?.kind === 'ok' && f.npuSmi.value.dies !== undefined);
  return a3 ? `device ${plane}` : `NPU ${plane}`;
}

/** One grid per NPU plane with at least one failing pair: rows ping, columns answer. */
function renderPingGrid(input: PreflightReportInput, out: Output, c: Output['color']): string[] {
  const s = out.symbols();
  const names = input.nodes.map((n) => n.name);
  const lines: string[] = [];
  for (let npu = 0; npu < planesOf(input); npu++) {
    const cell = new Map<string, 'ok' | 'fail'>();
    let anyFail = false;
    for (const f of input.facts) {
      for (const p of f.pings) {
        if (p.npu !== npu) continue;
        const ok = p.outcome.kind === 'ok' && !p.outcome.value.loss;
        cell.set(`${f.node}>${p.peer}`, ok ? 'ok' : 'fail');
        if (!ok) anyFail = true;
      }
    }
    if (!anyFail) continue;
    if (lines.length === 0) lines.push(c.bold('Ping results of the failing NPU planes (row pings column):'));
    const w = Math.max(5, ...names.map((n) => n.length));
    lines.push(`  ${planeName(input, npu).padEnd(w)}  ${names.map((n) => n.padStart(w)).join(' ')}`);
    for (const from of names) {
      const row = names.map((to) => {
        if (from === to) return c.dim(s.dot.padStart(w));
        const v = cell.get(`${from}>${to}`);
        if (v === undefined) return ' '.repeat(w - 1) + c.dim('-');
        return v === 'ok' ? ' '.repeat(w - s.ok.length) + c.green(s.ok) : ' '.repeat(w - s.fail.length) + c.red(s.fail);
      });
      lines.push(`  ${from.padEnd(w)}  ${row.join(' ')}`);
    }
  }
  return lines;
}
