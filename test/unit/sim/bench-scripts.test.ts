import { afterEach, describe, expect, it } from 'vitest';
import { logText, NODE_SETUP } from '../../../bench/logs.js';
import { checklistLines, floorScript } from '../../../bench/preflight.js';
import { startCluster as startRuntimeCluster } from '../sim-runtime/helpers.js';
import type { SimCluster } from '../../../src/sim/cluster.js';
import { sh, startCluster } from './run-helper.js';

let cluster: SimCluster | undefined;
afterEach(() => cluster?.stop());

/** The bench's baselines send shell loops to simulated nodes: the argv runner must run them as sh would. */
describe("the bench's baseline command lines on a simulated node", () => {
  it('the manual checklist lines (pdsh) and the floor script run, every hccn_tool call answered', async () => {
    cluster = await startCluster(2);
    const nodes = cluster.nodes.map((n) => ({ name: n.name, host: n.host, deviceIps: n.deviceIps() as string[] }));
    for (const line of checklistLines(nodes)) {
      for (const host of line.hosts) {
        const r = await sh(cluster.find(host)!, line.command);
        expect(r, line.command).toMatchObject({ code: 0, stderr: '' });
      }
    }
    const floor = await sh(cluster.nodes[0]!, floorScript(nodes[0]!, nodes));
    expect(floor.stderr).not.toMatch(/Syntax error/);
    expect(floor.code).toBe(0);
    expect(floor.stdout.match(/^link status: UP$/gm)).toHaveLength(8);
    expect(floor.stdout.match(/^ipaddr:/gm)).toHaveLength(8);
  });

  it("the logs bench's node set-up: upload through install, run cat in a container, read its logs", async () => {
    cluster = await startRuntimeCluster(103, 1);
    const node = cluster.nodes[0]!;
    expect(await sh(node, NODE_SETUP.upload, { stdin: logText(20) })).toMatchObject({ code: 0, stderr: '' });
    expect((await sh(node, NODE_SETUP.run)).code).toBe(0);
    let lines = 0;
    for (let attempt = 0; attempt < 50 && lines !== 20; attempt++) {
      lines = (await sh(node, NODE_SETUP.logs)).stdout.split('\n').filter(Boolean).length;
      if (lines !== 20) await new Promise((r) => setTimeout(r, 50));
    }
    expect(lines).toBe(20);
  });
});
