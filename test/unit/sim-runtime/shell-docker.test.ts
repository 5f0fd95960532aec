import { afterEach, describe, expect, it } from 'vitest';
import type { SimCluster } from '../../../src/sim/cluster.js';
import { runShell } from '../../../src/sim/shell.js';
import { DEP, startAll, startCluster, stopCluster, waitLog, writeDeployment } from './helpers.js';

let cluster: SimCluster | undefined;
afterEach(async () => {
  if (cluster) await stopCluster(cluster);
  cluster = undefined;
});

async function sh(cl: SimCluster, node: number, command: string): Promise<{ code: number; out: string }> {
  let out = '';
  const code = await runShell(cl.nodes[node]!, command, {
    stdin: null, stdout: async (c) => void (out += c.toString()), stderr: async (c) => void (out += c.toString()),
    signal: new AbortController().signal, env: {},
  });
  return { code, out };
}

describe('docker through the node shell (as ascendctl calls it over SSH)', () => {
  it('inspect/logs pipelines and ss show the running deployment', async () => {
    cluster = await startCluster(120);
    await writeDeployment(cluster);
    await startAll(cluster);
    await waitLog(cluster.nodes[0]!, /Daemon start success!/);
    const state = await sh(cluster, 0, `docker inspect --format '{{.Name}} {{.State.Status}}' ascendctl-${DEP}`);
    expect(state).toEqual({ code: 0, out: `/ascendctl-${DEP} running\n` });
    const logs = await sh(cluster, 0, `docker logs --tail all ascendctl-${DEP}`);
    expect(String(logs.out.split('\n').filter((l) => l.includes('Daemon start success!')).length)).toBe('2');
    const ss = await sh(cluster, 0, 'ss -Htln');
    expect(ss.out).toContain('127.0.120.1:1025');
  });
});
