import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemoCluster, type DemoCluster } from '../../../src/demo/cluster.js';
import { loadInventory } from '../../../src/config/inventory.js';
import { SshPool } from '../../../src/remote/ssh-pool.js';

let cluster: DemoCluster;
beforeAll(async () => {
  cluster = await startDemoCluster({ nodes: 1, subnet: 199, faults: { node1: [{ kind: 'hang', command: 'link' }] } });
});
afterAll(async () => { await cluster?.stop(); });

describe('aborted calls give their channel back', () => {
  it('after 12 aborted hung calls on one node, a new call still runs', async () => {
    const inv = await loadInventory(cluster.inventoryPath, { cwd: cluster.dir, home: cluster.dir, env: process.env as Record<string, string> });
    const pool = new SshPool({ env: process.env as Record<string, string> });
    const t = pool.transport(inv.nodes[0]!);
    await t.connect();
    const ac = new AbortController();
    const calls = Array.from({ length: 12 }, (_, i) =>
      t.exec(['/usr/local/Ascend/driver/tools/hccn_tool', '-i', String(i % 8), '-link', '-g'], { signal: ac.signal }).catch((e: Error) => e.message));
    await new Promise((r) => setTimeout(r, 500));
    ac.abort();
    await Promise.all(calls);
    const r = await t.exec(['date', '+%s'], { timeoutMs: 5000 });
    expect(r.code).toBe(0);
    await pool.closeAll();
  }, 20_000);
});
