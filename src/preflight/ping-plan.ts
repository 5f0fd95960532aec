/**
 * Which peers each node pings (same-numbered NPUs share a RoCE plane on A2, ascend-tools.md §2.10).
 *
 * Up to FULL_MATRIX_MAX_NODES nodes every node pings every other node: N·(N−1) pings per NPU plane.
 * Above that, node i pings node i+1 and node i+⌊N/2⌋ (mod N) on every plane: 2 pings per NPU, so
 * the cost per node stays constant and the total grows with N, not N². Every NPU port pings two
 * peers and answers two; the stride-1 ring joins every node of a plane, and the half-way
 * chord crosses the plane's middle, so a plane split in two (a broken spine uplink) is still seen.
 * hccn_tool serves one caller per node, so a node's pings run one after another: the per-node count
 * is what sets the wall time. `full` forces the matrix.
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
      for (const stride of [1, Math.floor(n / 2)]) {
        const peer = nodes[(i + stride) % n]!;
        if (peer !== nodes[i] && !peers.includes(peer)) peers.push(peer);
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
