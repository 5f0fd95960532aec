/**
 * Which peers each node pings (same-numbered NPUs share a RoCE plane on A2, ascend-tools.md §2.10).
 *
 * Up to FULL_MATRIX_MAX_NODES nodes every node pings every other node: N·(N−1) pings per NPU plane.
 * Above that, node i pings node i+1 (mod N) on every plane — a ring: one ping per NPU, so a node's
 * share stays constant and the total grows with N, not N². Every NPU port both sends and answers,
 * and any split of a plane into two groups of nodes (a dead spine uplink, a mis-cabled leaf) is
 * crossed by at least two ring pairs, so it is seen. What a ring does not test is every pair: a
 * fault between two particular nodes only (an ACL, a route) needs `--ping full`.
 * The ring runs over the nodes that can answer: a node whose successor is unreachable (or has no
 * address on a plane) pings the next one after it instead, so a node that is down costs no other
 * node its coverage. `pingPeers` with `reachable` gives the plan that results; collection finds the
 * same successors as each node's reachability becomes known (`ringSuccessors`).
 * hccn_tool serves one caller per node, so a node's pings run one after another: the per-node count
 * is what sets the wall time.
 */
export const FULL_MATRIX_MAX_NODES = 8;

export type PingPlanMode = 'auto' | 'full';

/** True when the plan for `count` nodes is the ring (one peer per node), not the full matrix. */
export function isRingPlan(count: number, mode: PingPlanMode): boolean {
  return mode !== 'full' && count > FULL_MATRIX_MAX_NODES;
}

/** Every other node in ring order after `self`: the ring peer first, then its stand-ins. */
export function ringSuccessors(nodes: readonly string[], self: string): string[] {
  const i = nodes.indexOf(self);
  if (i < 0) return [];
  return Array.from({ length: nodes.length - 1 }, (_, k) => nodes[(i + 1 + k) % nodes.length]!);
}

/**
 * For each node name, the names of the nodes its NPUs ping, in a stable order. With `reachable`,
 * nodes outside it neither ping nor are pinged, and the ring closes over the rest.
 */
export function pingPeers(nodes: readonly string[], mode: PingPlanMode, reachable?: ReadonlySet<string>): Map<string, string[]> {
  const ring = isRingPlan(nodes.length, mode);
  const up = reachable ? nodes.filter((n) => reachable.has(n)) : nodes;
  const plan = new Map<string, string[]>();
  for (const node of nodes) {
    if (!up.includes(node)) {
      plan.set(node, []);
    } else if (ring) {
      const next = ringSuccessors(up, node)[0];
      plan.set(node, next === undefined ? [] : [next]);
    } else {
      plan.set(node, up.filter((n) => n !== node));
    }
  }
  return plan;
}

/** Total ping calls of a plan for `npus` NPUs per node (what the README quotes). */
export function pingPlanCost(plan: Map<string, string[]>, npus: number): number {
  let total = 0;
  for (const peers of plan.values()) total += peers.length * npus;
  return total;
}
