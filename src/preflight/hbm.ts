/**
 * Check `hbm` (per NPU, with a deployment): a leftover process holding NPU memory makes MindIE run out
 * of memory while loading the weights (mindie-multinode.md §13 rows 10 and 11, §7 step 2). Read from
 * the `npu-smi info` preflight already runs (its HBM column and process table, ascend-tools.md §4.2):
 * no extra remote call.
 */
import type { JudgeContext, NodeFacts, NpuSmiProcessFact } from './facts.js';
import type { Finding, Status } from './finding.js';

const DEFAULT_FRACTION = 0.95;

function finding(node: string, status: Status, message: string, hint?: string, npu?: number): Finding {
  const out: Finding = { node, check: 'hbm', status, message };
  if (npu !== undefined) out.npu = npu;
  if (hint !== undefined && status !== 'pass') out.hint = hint;
  return out;
}

function processText(p: NpuSmiProcessFact): string {
  return p.name ? `PID ${p.pid} (${p.name}, ${p.memoryMb} MB)` : `PID ${p.pid} (no name: another PID namespace, e.g. a container; ${p.memoryMb} MB)`;
}

/** The upper end of a 64 GB card's idle use by the driver (cli-contract.md: ≈ 3–4.5 GB). */
const TYPICAL_IDLE_MB = 4608;

/**
 * The idle level is what the least-used NPU of the cluster shows (≈ 3–4.5 GB on 64 GB cards): driver
 * and firmware reservations differ between releases, so it is measured, not assumed.
 */
export function idleHbmMb(nodes: readonly NodeFacts[]): number | undefined {
  let idle: number | undefined;
  for (const n of nodes) {
    if (n.npuSmi?.kind !== 'ok' || n.npuSmi.value.unsupported) continue;
    for (const d of n.npuSmi.value.devices) {
      if (d.hbmUsedMb !== undefined && (idle === undefined || d.hbmUsedMb < idle)) idle = d.hbmUsedMb;
    }
  }
  return idle;
}

export function judgeHbm(out: Finding[], nodes: readonly NodeFacts[], ctx: JudgeContext): void {
  if (!ctx.deployment) return;
  const fraction = ctx.deployment.npuMemoryFraction ?? DEFAULT_FRACTION;
  // A running container of this very deployment holds its NPUs: deploy stops it before starting anew.
  const own = new Set(Object.keys(ctx.deployment.ownPorts ?? {}));
  const idle = idleHbmMb(nodes);
  for (const n of nodes) {
    const smi = n.npuSmi;
    if (!smi) continue;
    if (smi.kind !== 'ok' || smi.value.unsupported) {
      // A per-NPU check: one finding per device, each carrying its npu (cli-contract.md).
      for (let npu = 0; npu < (n.devices ?? ctx.npusPerNode); npu++) {
        out.push(finding(n.node, 'warn', 'not checked: npu-smi info gave no usable answer (see the npu-smi finding)',
          `run npu-smi info on ${n.node}: its process table shows what holds NPU memory`, npu));
      }
      continue;
    }
    // Facts from before this check (processes never read) carry no verdict either way, like absent weights/shm facts.
    if (smi.value.processes === undefined) continue;
    if (own.has(n.node)) {
      for (let npu = 0; npu < (n.devices ?? ctx.npusPerNode); npu++) {
        out.push(finding(n.node, 'pass', "in use by this deployment's running container, which deploy stops before it starts the new one", undefined, npu));
      }
      continue;
    }
    const byId = new Map(smi.value.devices.map((d) => [d.id, d]));
    // Each node's own devices (a mixed rack's A3 has 16, its A2 8).
    for (let npu = 0; npu < (n.devices ?? ctx.npusPerNode); npu++) {
      const d = byId.get(npu);
      // On an A3 the finding's number is a device (die): npu-smi names it by card and chip (atlas-a3.md §a.6).
      const die = smi.value.dies?.find((x) => x.device === npu);
      const where = die ? `device ${npu}` : `NPU ${npu}`;
      const procs = (smi.value.processes ?? []).filter((p) => p.npu === npu);
      const usage = d?.hbmUsedMb !== undefined && d.hbmTotalMb !== undefined ? `HBM ${d.hbmUsedMb} / ${d.hbmTotalMb} MB in use` : undefined;
      if (procs.length > 0) {
        const first = procs[0]!;
        out.push(finding(n.node, 'fail',
          `${procs.map(processText).join(', ')} ${procs.length > 1 ? 'are' : 'is'} on ${where}${usage ? ` (${usage})` : ''}: MindIE runs out of memory while loading next to it`,
          first.name
            ? `stop it: kill ${first.pid} on ${n.node} (see what it is first: ssh ${n.node} ps -p ${first.pid} -o pid,user,cmd); npu-smi info lists every process on the NPUs`
            : `find its container on ${n.node} (docker ps; npu-smi info lists every process on the NPUs) and stop it`,
          npu));
        continue;
      }
      if (!d || d.hbmUsedMb === undefined || d.hbmTotalMb === undefined || idle === undefined) {
        out.push(finding(n.node, 'warn', `not checked: npu-smi info shows no HBM usage for ${where}`,
          `run npu-smi info on ${n.node} and look at ${die ? `NPU ${die.npu} chip ${die.chip}` : where}`, npu));
        continue;
      }
      // Compared unrounded: 3277 MB is over the 3276.8 MB that 0.95 of 64 GiB leaves others.
      const exact = (1 - fraction) * d.hbmTotalMb;
      const allowed = Number.isInteger(exact) ? String(exact) : exact.toFixed(1);
      // --node read part of the cluster: its least-used NPU may not be idle, so the level is at most
      // the usual idle use (4.5 GB of a 64 GB card, scaled), never what the selection alone shows.
      const level = ctx.unselectedNodes?.length ? Math.min(idle, Math.round(TYPICAL_IDLE_MB * d.hbmTotalMb / 65536)) : idle;
      const excess = d.hbmUsedMb - level;
      if (excess > exact) {
        out.push(finding(n.node, 'fail',
          `${usage}, ${excess} MB above the idle level of ${level} MB, but npuMemoryFraction ${fraction} leaves only ${allowed} MB to others (no process is listed)`,
          `something outside this PID namespace holds ${where}'s memory: check npu-smi info and docker ps on ${n.node} and stop it; as a last resort npu-smi set -t reset -i ${die ? die.npu : npu} -c ${die ? die.chip : 0}`,
          npu));
      } else {
        out.push(finding(n.node, 'pass', `${usage} (idle level ${level} MB), no process listed`, undefined, npu));
      }
    }
  }
}
