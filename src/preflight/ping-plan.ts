/**
 * Which peers each node pings (same-numbered NPUs share a RoCE plane on A2, ascend-tools.md §2.10).
 *
 * Up to FULL_MATRIX_MAX_NODES nodes every node pings every other node: N·(N−1) pings per NPU plane.
 * Above that, node i pings the nodes i+1, i+2, i+4, … (mod N): ⌈log2 N⌉ peers, so the per-node cost grows
 * with log N and the total with N·log N, not N². Every NPU port both sends and answers, the stride-1 ring
 * covers every node, and the doubling strides reach across the plane so that a partition (half the
 * plane behind one broken switch uplink) is still seen. `full` forces the matrix.
 */
export const FULL_MATRIX_MAX_NODES = 8;

export type PingPlanMode = 'auto' | 'full';

/** For each node name, the names of the nodes its NPUs ping, in a stable order. */
export function pingPeers(nodes: readonly string[], mode: PingPlanMode): Map<string, string[]> {
  const n = nodes.length;
  const plan = new Map<string, string[]>();
  for (let i = 0; i < n; i++) {
    const peers: string[] = [];
    if (mode === 'full' || n <= FULL_MATRIX_MAX_NODES) {
      for (let j = 0; j < n; j++) if (j !== i) peers.push(nodes[j]!);
    } else {
      for (let stride = 1; stride < n; stride *= 2) {
        const peer = nodes[(i + stride) % n]!;
        if (!peers.includes(peer)) peers.push(peer);
      }
    }
    plan.set(nodes[i]!, peers);
  }
  return plan;
}

/** Total ping calls of a plan for `npus` NPUs per node (what the README quotes). */
export function pingPlanCost(plan: Map<string, string[]>, npus: number): number {
  let total = 0;
  for (const peers of plan.values()) total += peers.length * npus;
  return total;
}
