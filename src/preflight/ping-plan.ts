/**
 * Which peers each node pings (same-numbered NPUs share a RoCE plane on A2, ascend-tools.md §2.10).
 *
 * Up to FULL_MATRIX_MAX_NODES nodes every node pings every other node: N·(N−1) pings per NPU plane.
 * Above that, node i pings node i+1 (mod N) on every plane — a ring: one ping per NPU, so a node's
 * share stays constant and the total grows with N, not N². Every NPU port both sends and answers,
 * and any split of a plane into two groups of nodes (a dead spine uplink, a mis-cabled leaf) is
 * crossed by at least two ring pairs, so it is seen. What a ring does not test is every pair: a
 * fault between two particular nodes only (an ACL, a route) needs `--ping full`.
 * hccn_tool serves one caller per node, so a node's pings run one after another: the per-node count
 * is what sets the wall time.
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
      peers.push(nodes[(i + 1) % n]!);
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
