/**
 * Atlas 800 A3 (910C) in preflight (issue #10; docs/atlas-a3.md §0, §a.4–a.6; ascend-tools.md §6): 8 NPUs
 * × 2 dies, every die a device of its own (its own HCCL rank and RoCE port). A finding's `npu` is the
 * die's physical id (device id 0–15); its message names the NPU and chip as well ("NPU 3 chip 1 (device
 * 7)"). The NPU/chip ↔ device mapping is read from the node (`npu-smi info -m`, else the Phy-ID column of
 * `npu-smi info`), never computed.
 */
import { parseNpuSmiKeyValues, type NpuSmiInfo, type NpuSmiMappingRow } from '../ascend/npu-smi.js';
import type { Finding } from './finding.js';
import type { NodeFacts, NpuSmiFacts } from './facts.js';

/** HCCL devices of an Atlas 800 A2 (one die per NPU) and an Atlas 800 A3 (8 NPUs × 2 dies). */
export const A2_DEVICES = 8;
export const A3_DEVICES = 16;

/** HCOMM's INVALID_SUPERPOD_SERVERID: the device reports no configured super-pod server id (atlas-a3.md §a.4). */
export const UNCONFIGURED_SERVER_INDEX = 1023;

export interface DieOf {
  /** Physical device id: the id hccn_tool, /dev/davinciN and the rank table's device_id use. */
  device: number;
  npu: number;
  chip: number;
}

/**
 * The dies of an A3 table as facts: one device per die (Health and HBM of that die), processes keyed by
 * device id. `mapping` (`npu-smi info -m`) wins over the table's Phy-ID column when given.
 */
export function a3NpuSmiFacts(info: NpuSmiInfo, mapping?: readonly NpuSmiMappingRow[]): NpuSmiFacts {
  const dies: DieOf[] = [];
  const devices: NpuSmiFacts['devices'] = [];
  const fromMap = new Map<string, number>();
  for (const r of mapping ?? []) if (r.chipPhyId !== undefined) fromMap.set(`${r.npuId}/${r.chipId}`, r.chipPhyId);
  for (const n of info.npus) {
    for (const c of n.chips) {
      const device = fromMap.get(`${n.id}/${c.chip}`) ?? c.phyId;
      if (device === undefined) continue; // a die whose device id the node did not print is not guessed
      dies.push({ device, npu: n.id, chip: c.chip });
      devices.push({ id: device, name: n.name, health: c.health ?? n.health, hbmUsedMb: c.hbm.used, hbmTotalMb: c.hbm.total });
    }
  }
  const byNpuChip = new Map(dies.map((d) => [`${d.npu}/${d.chip}`, d.device]));
  const facts: NpuSmiFacts = { devices, dies };
  facts.processes = info.processes === null ? null : info.processes.flatMap((p) => {
    const device = byNpuChip.get(`${p.npu}/${p.chip}`);
    return device === undefined ? [] : [{ npu: device, pid: p.pid, name: p.name, memoryMb: p.memoryMb }];
  });
  return facts;
}

/** How many devices preflight checks on a node: 16 on an A3, 8 on an A2, else `fallback` (no table). */
export function devicesToCheck(smi: NodeFacts['npuSmi'], fallback: number): number {
  if (smi?.kind === 'ok' && smi.value.server?.kind === 'A3') return Math.max(A3_DEVICES, smi.value.server.devices);
  if (smi?.kind === 'ok' && smi.value.server?.kind === 'A2') return A2_DEVICES;
  return fallback;
}

/** What a node's device numbers are in messages: dies on an A3 ("device 6" is NPU 3 chip 0), else NPUs. */
export function deviceUnit(n: NodeFacts): 'device' | 'NPU' {
  return n.npuSmi?.kind === 'ok' && n.npuSmi.value.dies ? 'device' : 'NPU';
}

/** "NPU 3 chip 1 (device 7)". */
export function dieLabel(d: DieOf): string {
  return `NPU ${d.npu} chip ${d.chip} (device ${d.device})`;
}

const DIE_PREFIX = /^NPU \d+ chip \d+ \(device \d+\): /;

/**
 * Every per-device finding of an A3 node gets its die named at the start of its message. Findings of
 * A2 nodes are left exactly as they are.
 */
export function labelDieFindings(findings: Finding[], facts: readonly NodeFacts[]): Finding[] {
  const dies = new Map<string, Map<number, DieOf>>();
  for (const n of facts) {
    const smi = n.npuSmi;
    if (smi?.kind === 'ok' && smi.value.dies) dies.set(n.node, new Map(smi.value.dies.map((d) => [d.device, d])));
  }
  if (dies.size === 0) return findings;
  return findings.map((f) => {
    const d = f.npu === undefined ? undefined : dies.get(f.node)?.get(f.npu);
    if (!d || DIE_PREFIX.test(f.message)) return f;
    // A hint's "NPU 5" for device 5 would name another card: it says "device 5", as the prefix does.
    const hint = f.hint?.replace(new RegExp(`\\bNPU ${d.device}\\b(?! chip)`, 'g'), `device ${d.device}`);
    return { ...f, message: `${dieLabel(d)}: ${f.message}`, ...(hint !== undefined ? { hint } : {}) };
  });
}

/** For the human report: the message without the die prefix (so that dies failing alike group together). */
export function withoutDiePrefix(message: string): string {
  return message.replace(DIE_PREFIX, '');
}

export interface SpodInfo {
  sdid?: number;
  superPodId?: number;
  serverIndex?: number;
}

/** `npu-smi info -t spod-info -i N -c C`: `SDID`, `Super Pod Size`, `Super Pod ID`, `Server Index` (atlas-a3.md §a.6). */
export function parseSpodInfo(text: string): SpodInfo | undefined {
  const kv = parseNpuSmiKeyValues(text);
  const num = (key: string): number | undefined => {
    const v = kv.entries.find((e) => e.key === key)?.value.trim();
    return v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined;
  };
  const out: SpodInfo = {};
  const sdid = num('SDID');
  const pod = num('Super Pod ID');
  const index = num('Server Index');
  if (sdid !== undefined) out.sdid = sdid;
  if (pod !== undefined) out.superPodId = pod;
  if (index !== undefined) out.serverIndex = index;
  return Object.keys(out).length > 0 ? out : undefined;
}

/**
 * The super-pod notice of an A3 node (issue #10 item 6): ascendctl always renders rank table v1.0 for
 * standalone servers on RoCE. A node whose dies report a configured super-pod server id is in HCCL's
 * super-pod mode; v1.0 still holds (no super_pod_list: AI-Server mode, traffic over RoCE via device_ip),
 * and that is said, so nobody expects HCCS between servers.
 */
export function judgeSuperPod(out: Finding[], n: NodeFacts): void {
  const o = n.spod;
  if (o === undefined) return;
  if (o.kind !== 'ok') {
    out.push({ node: n.node, check: 'hardware', status: 'warn',
      message: `super-pod server id not read (npu-smi info -t spod-info -i 0 -c 0: ${o.kind === 'error' ? o.message : o.kind}); ascendctl renders rank table v1.0 (servers over RoCE) either way`,
      hint: `run npu-smi info -t spod-info -i 0 -c 0 on ${n.node} to see whether the server is part of a SuperPoD` });
    return;
  }
  const index = o.value.serverIndex;
  if (index === undefined || index === UNCONFIGURED_SERVER_INDEX) return;
  out.push({ node: n.node, check: 'hardware', status: 'warn',
    message: `the dies report super-pod server index ${index}${o.value.superPodId !== undefined ? ` in super pod ${o.value.superPodId}` : ''}: this node is set up as part of a SuperPoD, but ascendctl renders rank table v1.0 (every server on its own, linked over RoCE by device_ip), never v1.2`,
    hint: 'nothing to do for RoCE-linked servers; for HCCS between servers of one SuperPoD, rank table v1.2 is needed, which ascendctl does not write (docs/atlas-a3.md §a.1, §a.4)' });
}
