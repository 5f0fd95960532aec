import { describe, expect, it } from 'vitest';
import { pingPeers, pingPlanCost } from '../../../src/preflight/ping-plan.js';

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
        expect(peers.length).toBe(2);
        expect(peers).not.toContain(node);
        peers.forEach((p) => answered.add(p));
      }
      expect(answered.size).toBe(n);
      expect(pingPlanCost(plan, 8)).toBeLessThan(n * (n - 1) * 8);
    }
    expect(pingPlanCost(pingPeers(names(64), 'auto'), 8)).toBe(64 * 2 * 8);
  });

  it('the plan crosses the middle of the plane: a split into two halves is seen', () => {
    const n = 16;
    const plan = pingPeers(names(n), 'auto');
    // Cut the ring into two contiguous halves at any point: some planned pair still crosses the cut
    // in each direction beyond the two ring edges at the cut.
    for (let cut = 0; cut < n / 2; cut++) {
      const half = new Set(Array.from({ length: n / 2 }, (_, k) => `node${((cut + k) % n) + 1}`));
      let crossing = 0;
      for (const [node, peers] of plan) for (const p of peers) if (half.has(node) !== half.has(p)) crossing++;
      expect(crossing).toBeGreaterThan(2);
    }
  });

  it('--ping full forces the matrix at any size', () => {
    const plan = pingPeers(names(16), 'full');
    expect(pingPlanCost(plan, 8)).toBe(16 * 15 * 8);
  });
});
