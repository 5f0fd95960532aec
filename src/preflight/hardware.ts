/**
 * Check `hardware` (cli-contract "Checks added in v2"): every node is the same kind of server — Atlas
 * 800 A2 (one die per NPU: 8 devices) or Atlas 800 A3 (8 NPUs × 2 dies = 16 devices) — and that kind
 * agrees with `npusPerNode` when the inventory gives it. The kind comes from the `npu-smi info` table
 * preflight already reads (ascend-tools.md §4.2, §6). A2 and A3 are both supported, never mixed: a
 * mixed rack shows its odd nodes here.
 */
import { nonA2Reason, type NpuSmiInfo } from '../ascend/npu-smi.js';
import type { Finding } from './finding.js';
import type { JudgeContext, NodeFacts, ServerFacts } from './facts.js';

/** The server kind of a parsed `npu-smi info` table. */
export function serverOf(info: NpuSmiInfo): ServerFacts {
  const chips = [...new Set(info.npus.map((n) => n.name))];
  const chip = chips.join('/');
  if (info.layout === 'a3') {
    const devices = info.npus.reduce((sum, n) => sum + Math.max(1, n.chips.length), 0);
    return { kind: 'A3', npus: info.npus.length, devices, chip };
  }
  return { kind: nonA2Reason(info) ? 'other' : 'A2', npus: info.npus.length, devices: info.npus.length, chip };
}

/** "Atlas 800 A2 (8 × 910B3)", "Atlas 800 A3 (8 NPUs × 2 dies = 16 devices, Ascend910)". */
export function describeServer(s: ServerFacts): string {
  if (s.kind === 'A2') return `Atlas 800 A2 (${s.npus} × ${s.chip})`;
  if (s.kind === 'A3') {
    const dies = s.npus > 0 && s.devices % s.npus === 0 ? `${s.npus} NPUs × ${s.devices / s.npus} dies` : `${s.npus} NPUs`;
    return `Atlas 800 A3 (${dies} = ${s.devices} devices, ${s.chip})`;
  }
  return `not an Atlas 800 A2 or A3 (${s.npus} × ${s.chip})`;
}

/** Nodes of one kind compare equal; 'other' servers only when their chips match too. */
function kindKey(s: ServerFacts): string {
  return s.kind === 'other' ? `other:${s.chip}` : s.kind;
}

export function judgeHardware(out: Finding[], nodes: readonly NodeFacts[], ctx: JudgeContext): void {
  const servers: { node: string; s: ServerFacts }[] = [];
  for (const n of nodes) {
    const o = n.npuSmi;
    if (o === undefined) continue;
    if (o.kind !== 'ok') {
      out.push({ node: n.node, check: 'hardware', status: 'warn',
        message: 'server kind not checked: npu-smi info gave no table (see the npu-smi finding)',
        hint: 'fix what the npu-smi finding names, then run preflight again' });
      continue;
    }
    if (o.value.server) servers.push({ node: n.node, s: o.value.server });
  }
  if (servers.length === 0) return;

  // The reference kind: the most common; on a tie A2, else the first.
  const counts = new Map<string, number>();
  for (const { s } of servers) counts.set(kindKey(s), (counts.get(kindKey(s)) ?? 0) + 1);
  let ref = kindKey(servers[0]!.s);
  for (const [key, count] of counts) {
    const best = counts.get(ref)!;
    if (count > best || (count === best && key === 'A2')) ref = key;
  }
  const refServer = servers.find((x) => kindKey(x.s) === ref)!.s;
  const holders = servers.filter((x) => kindKey(x.s) === ref).map((x) => x.node);

  for (const { node, s } of servers) {
    if (kindKey(s) !== ref) {
      const who = holders.length === 1 ? `${holders[0]} is` : `${holders.join(', ')} are`;
      out.push({ node, check: 'hardware', status: 'fail',
        message: `${describeServer(s)}, but ${who} ${describeServer(refServer)}: every node must be the same kind of server`,
        hint: `use servers of one kind (HCCL and the rank table need the same devices on every server): leave ${node} out (remove it from the inventory, or pick nodes with --node)` });
    } else if (ctx.npusPerNodeGiven && s.devices !== ctx.npusPerNode) {
      out.push({ node, check: 'hardware', status: 'fail',
        message: `npusPerNode: ${ctx.npusPerNode} in the inventory, but the node has ${s.devices} devices: ${describeServer(s)}`,
        hint: `set npusPerNode: ${s.devices} in the inventory (HCCL devices per node: 8 on an Atlas 800 A2, 16 on an A3)` });
    } else if (ctx.devicesNeeded && s.devices !== ctx.devicesNeeded.count) {
      out.push({ node, check: 'hardware', status: 'fail',
        message: `${ctx.devicesNeeded.why} needs ${ctx.devicesNeeded.count} devices per node, but the node has ${s.devices}: ${describeServer(s)}`,
        hint: `set parallel sizes for ${s.devices} devices per node in the deployment file (HCCL devices per node: 8 on an Atlas 800 A2, 16 on an A3)` });
    } else {
      out.push({ node, check: 'hardware', status: 'pass',
        message: servers.length > 1 ? `${describeServer(s)}, like every other node` : describeServer(s) });
    }
  }
}
