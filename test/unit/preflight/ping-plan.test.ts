import { describe, expect, it } from 'vitest';
import { isRingPlan, pingPeers, pingPlanCost, ringSuccessors } from '../../../src/preflight/ping-plan.js';

const names = (n: number) => Array.from({ length: n }, (_, i) => `node${i + 1}`);

describe('ping plan', () => {
  it('is the full matrix up to 8 nodes', () => {
    const plan = pingPeers(names(8), 'auto');
    for (const [node, peers] of plan) {
      expect(peers).toHaveLength(7);
      expect(peers).not.toContain(node);
    }
  });

  it('above 8 nodes grows linearly and still makes every node send and answer', () => {
    for (const n of [9, 16, 64]) {
      const plan = pingPeers(names(n), 'auto');
      const answered = new Set<string>();
      for (const [node, peers] of plan) {
        expect(peers.length).toBe(1);
        expect(peers).not.toContain(node);
        peers.forEach((p) => answered.add(p));
      }
      expect(answered.size).toBe(n);
      expect(pingPlanCost(plan, 8)).toBeLessThan(n * (n - 1) * 8);
    }
    expect(pingPlanCost(pingPeers(names(64), 'auto'), 8)).toBe(64 * 8);
  });

  it('any split of a plane into two groups is crossed by at least two planned pings', () => {
    const n = 12;
    const plan = pingPeers(names(n), 'auto');
    // every non-trivial subset of the nodes (2^12 of them) as one side of a split
    for (let mask = 1; mask < (1 << n) - 1; mask++) {
      const side = (node: string) => (mask >> (Number(node.slice(4)) - 1)) & 1;
      let crossing = 0;
      for (const [node, peers] of plan) for (const p of peers) if (side(node) !== side(p)) crossing++;
      expect(crossing).toBeGreaterThanOrEqual(2);
    }
  });

  it('the ring closes over the reachable nodes: a down node costs its predecessor nothing', () => {
    const all = names(10);
    const plan = pingPeers(all, 'auto', new Set(all.filter((n) => n !== 'node5')));
    expect(plan.get('node4')).toEqual(['node6']);
    expect(plan.get('node5')).toEqual([]);
    const answered = new Set([...plan.values()].flat());
    expect(answered.has('node5')).toBe(false);
    expect(answered.size).toBe(9);
    for (const [node, peers] of plan) if (node !== 'node5') expect(peers, node).toHaveLength(1);
    // two neighbours down, and the wrap-around
    const plan2 = pingPeers(all, 'auto', new Set(all.filter((n) => n !== 'node1' && n !== 'node2')));
    expect(plan2.get('node10')).toEqual(['node3']);
  });

  it('ringSuccessors lists the ring peer first, then its stand-ins, wrapping around', () => {
    expect(ringSuccessors(names(10), 'node9')).toEqual(['node10', 'node1', 'node2', 'node3', 'node4', 'node5', 'node6', 'node7', 'node8']);
    expect(isRingPlan(9, 'auto')).toBe(true);
    expect(isRingPlan(8, 'auto')).toBe(false);
    expect(isRingPlan(64, 'full')).toBe(false);
  });

  it('the full matrix leaves out unreachable nodes', () => {
    const plan = pingPeers(names(4), 'auto', new Set(['node1', 'node2', 'node4']));
    expect(plan.get('node1')).toEqual(['node2', 'node4']);
    expect(plan.get('node3')).toEqual([]);
  });

  it('--ping full forces the matrix at any size', () => {
    const plan = pingPeers(names(16), 'full');
    expect(pingPlanCost(plan, 8)).toBe(16 * 15 * 8);
  });
});
