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

  it('--ping full forces the matrix at any size', () => {
    const plan = pingPeers(names(16), 'full');
    expect(pingPlanCost(plan, 8)).toBe(16 * 15 * 8);
  });
});
