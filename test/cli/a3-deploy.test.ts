/**
 * deploy on Atlas 800 A3 and on one server (issue #10), in-process against simulated nodes whose MindIE
 * daemon validates what deploy writes: 2 × A3 with rank table v1.0 × 16 read live, one A3 alone and one
 * A2 alone in MindIE's single-node configuration (no rank table), each serving a chat, then status, logs
 * and stop.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemoCluster, type DemoCluster } from '../../src/demo/cluster.js';
import { runtimeOf } from '../../src/sim/container-runtime.js';
import { runInProcess } from '../support/in-process.js';
import { commands } from '../support/commands.js';

const DEFAULTS: Partial<Record<keyof typeof commands, Record<string, unknown>>> = {
  deploy: { parallel: '32', timeout: '60s' }, status: {}, stop: {}, chat: { timeout: '30s' }, logs: {}, render: {},
};
const run = (c: DemoCluster, cmd: keyof typeof commands, args: string[], opts: Record<string, unknown> = {}) =>
  runInProcess(commands[cmd], args, { ...DEFAULTS[cmd], ...opts }, { cwd: c.dir, home: c.dir });

const REMOTE_DIR = '/var/lib/ascendctl/deepseek-r1';

async function remoteFile(c: DemoCluster, node: string, file: string): Promise<string | undefined> {
  const fs = c.sim.cluster.find(node)!.fs;
  const st = await fs.stat(`${REMOTE_DIR}/${file}`);
  return st ? (await fs.readFile(`${REMOTE_DIR}/${file}`)).toString('utf8') : undefined;
}

function container(c: DemoCluster, node: string) {
  return runtimeOf(c.sim.cluster, node)!.containers.find((x) => x.name === 'ascendctl-deepseek-r1');
}

async function serveChatStatusLogsStop(c: DemoCluster): Promise<void> {
  const chat = await run(c, 'chat', [], { prompt: 'hello', json: true });
  expect(chat.exitCode, chat.stderr).toBe(0);
  expect(chat.json.model).toBe('deepseek-r1');
  expect(`${chat.json.content ?? ''}${chat.json.reasoning_content ?? ''}`.length).toBeGreaterThan(0);
  expect(chat.json.usage.completion_tokens).toBeGreaterThan(0);
  const status = await run(c, 'status', [], { json: true });
  expect(status.exitCode, status.stderr).toBe(0);
  // HBM per device: 16 entries on an A3 (one per die), 8 on an A2
  const devices = c.sim.cluster.find('node1')!.npuCount;
  const nodes = (status.json.nodes ?? []) as { npus?: { npu: number }[] }[];
  expect(nodes[0]?.npus?.map((n) => n.npu)).toEqual(Array.from({ length: devices }, (_, i) => i));
  const logs = await run(c, 'logs', [], { tail: '5' });
  expect(logs.exitCode, logs.stderr).toBe(0);
  expect(logs.stdout).toMatch(/node1 [│|] /);
  const stop = await run(c, 'stop', []);
  expect(stop.exitCode, stop.stderr).toBe(0);
  for (const n of c.nodes) expect(container(c, n.name)?.running ?? false).toBe(false);
}

describe('2 × Atlas 800 A3, MindIE', () => {
  let c: DemoCluster;
  beforeAll(async () => {
    // npusPerNode left out: the deployment (dp 2 × tp 16 over 2 nodes) needs A3's 16 dies, preflight confirms it.
    c = await startDemoCluster({ nodes: 2, subnet: 154, server: 'A3', npusPerNode: null });
  });
  afterAll(async () => { await c?.stop(); });

  it('passes the preflight gate, renders rank table v1.0 × 16 from the live die addresses and serves a chat', async () => {
    const r = await run(c, 'deploy', [c.deploymentPath]);
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    const table = JSON.parse((await remoteFile(c, 'node2', 'ranktable.json'))!);
    expect(table.version).toBe('1.0');
    expect(table.server_count).toBe('2');
    expect(JSON.stringify(table)).not.toMatch(/super_pod|super_device_id/);
    expect(table.server_list.map((s: any) => s.device.length)).toEqual([16, 16]);
    const sim2 = c.sim.cluster.find('node2')!;
    expect(table.server_list[1].device[13]).toEqual({ device_id: '13', device_ip: sim2.reportedIp(13), rank_id: '29' });
    const cfg = JSON.parse((await remoteFile(c, 'node1', 'config.json'))!);
    expect(cfg.BackendConfig.npuDeviceIds).toEqual([Array.from({ length: 16 }, (_, i) => i)]);
    expect(cfg.BackendConfig.ModelDeployConfig.ModelConfig[0].worldSize).toBe(16);
    expect(container(c, 'node2')!.running).toBe(true);
    await serveChatStatusLogsStop(c);
  });

  it('a die whose address drifted after it was read is traced to its node and device', async () => {
    await c.sim.setFaults('node2', [{ kind: 'device-ip-drift', npu: 11, actual: '192.168.250.9' }]);
    const r = await run(c, 'deploy', [c.deploymentPath]);
    await c.sim.setFaults('node2', []);
    expect(r.exitCode).toBe(1);
    expect(`${r.stdout}\n${r.stderr}\n${r.error ?? ''}`).toMatch(/node2[^\n]*(NPU|device)[^\n]*11|device_id 11/);
    await run(c, 'stop', []);
  });
});

describe('one server', () => {
  let a3: DemoCluster;
  let a2: DemoCluster;
  beforeAll(async () => {
    a3 = await startDemoCluster({ nodes: 1, subnet: 155, server: 'A3', npusPerNode: null,
      // DeepSeek-R1 W8A8 on one 800I A3: dp 2, tp 8, moe_ep 16 (MindIE-LLM's deepseek-r1 README, docs/atlas-a3.md §e)
      parallel: { dataParallelSize: 2, tensorParallelSize: 8, moeTensorParallelSize: 1, moeExpertParallelSize: 16 } });
    a2 = await startDemoCluster({ nodes: 1, subnet: 156,
      parallel: { dataParallelSize: 1, tensorParallelSize: 8, moeTensorParallelSize: 1, moeExpertParallelSize: 8 } });
  });
  afterAll(async () => { await a3?.stop(); await a2?.stop(); });

  it('preflight on one A3 reports ping as not needed and passes', async () => {
    const r = await runInProcess(() => import('../../src/commands/preflight.js'), [a3.deploymentPath], { json: true }, { cwd: a3.dir, home: a3.dir });
    expect(r.exitCode, JSON.stringify((r.json?.findings ?? []).filter((f: any) => f.status !== 'pass'))).toBe(0);
    const ping = r.json.findings.filter((f: any) => f.check === 'ping');
    expect(ping).toEqual(Array.from({ length: 16 }, (_, npu) =>
      ({ node: 'node1', npu, check: 'ping', status: 'pass', hint: '',
        message: `NPU ${npu >> 1} chip ${npu & 1} (device ${npu}): not needed: a single server has no peer to reach over RoCE` })));
    expect(r.json.findings.filter((f: any) => f.check === 'link')).toHaveLength(16);
  });

  for (const [name, get, devices] of [['A3 (DeepSeek-R1 W8A8)', () => a3, 16], ['A2', () => a2, 8]] as const) {
    it(`one ${name} deploys MindIE's single-node configuration and serves a chat`, async () => {
      const c = get();
      const r = await run(c, 'deploy', [c.deploymentPath]);
      expect(r.exitCode, `${r.stdout}\n${r.stderr}\n${r.error ?? ''}`).toBe(0);
      expect(await remoteFile(c, 'node1', 'ranktable.json')).toBeUndefined();
      const cfg = JSON.parse((await remoteFile(c, 'node1', 'config.json'))!);
      expect(cfg.BackendConfig.multiNodesInferEnabled).toBe(false);
      expect(cfg.BackendConfig.npuDeviceIds).toEqual([Array.from({ length: devices }, (_, i) => i)]);
      const env = (await remoteFile(c, 'node1', 'env'))!;
      expect(env).not.toMatch(/RANK_TABLE_FILE|RANKTABLEFILE/);
      expect(env).toMatch(new RegExp(`^WORLD_SIZE=${devices}$`, 'm'));
      await serveChatStatusLogsStop(c);
    });
  }

  it('render: one A2 node renders config.json, env and launcher, no rank table', async () => {
    const out = path.join(a2.dir, 'out');
    const ips = path.join(a2.dir, 'ips.json');
    await writeFile(ips, JSON.stringify({ node1: Array.from({ length: 8 }, (_, i) => `192.168.${100 + i}.11`) }));
    const r = await run(a2, 'render', [a2.deploymentPath], { out, deviceIps: ips });
    expect(r.exitCode, `${r.stdout}\n${r.stderr}\n${r.error ?? ''}`).toBe(0);
    await expect(readFile(path.join(out, 'ranktable.json'), 'utf8')).rejects.toThrow();
    expect(JSON.parse(await readFile(path.join(out, 'node1', 'config.json'), 'utf8')).BackendConfig.multiNodesInferEnabled).toBe(false);
  });
});

