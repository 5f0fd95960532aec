/**
 * deploy, chat, status and stop with the built CLI against real OpenSSH nodes (simulated Ascend tools,
 * container runtime and MindIE daemon behind shims; fast profile).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimNodeSpec } from '../../src/sim/cluster-spec.js';
import { runCli, type CliResult } from '../support/run-cli.js';
import { canRunSshdCluster, startSshdCluster, type SshdCluster } from '../support/sshd-cluster.js';
import { r1ModelFiles } from '../../src/demo/cluster.js';

const IMAGE = 'swr.cn-south-1.myhuaweicloud.com/ascendhub/mindie:2.1.RC1-800I-A2-py311-openeuler24.03-lts';
const NAME = 'deepseek-r1';
const CONTAINER = `ascendctl-${NAME}`;
// /opt is private to each node (overlaid); /data would be shared with this machine and every node.
const MODEL_PATH = '/opt/models/DeepSeek-R1';

function specs(count: number): SimNodeSpec[] {
  return Array.from({ length: count }, (_, i): SimNodeSpec => ({
    name: `node${i + 1}`,
    host: '',
    images: [IMAGE],
    models: { [MODEL_PATH]: r1ModelFiles() },
  }));
}

function writeDeployment(cluster: SshdCluster, nodes: number, file = 'deepseek-r1.yaml', extra: string[] = []): string {
  const path = join(cluster.dir, file);
  writeFileSync(path, [
    `name: ${NAME}`,
    'inventory: inventory.yaml',
    'backend: mindie',
    `image: ${IMAGE}`,
    'model:',
    `  path: ${MODEL_PATH}`,
    `  name: ${NAME}`,
    'parallel:',
    `  dataParallelSize: ${nodes}`,
    '  tensorParallelSize: 8',
    '  moeTensorParallelSize: 1',
    `  moeExpertParallelSize: ${nodes * 8}`,
    'npuMemoryFraction: 0.95',
    ...extra,
    '',
  ].join('\n'));
  return path;
}

function cli(cluster: SshdCluster, args: string[], timeoutMs = 180_000): Promise<CliResult> {
  return runCli(args, { cwd: cluster.dir, timeoutMs });
}

// A deploy over real sshd runs preflight (the ping matrix through the tool shims) first: tens of seconds
// on a loaded runner. These bound a hang; they assert nothing about speed.
const DEPLOY_TEST_MS = 400_000;

/** The deployment's container on a node, by its state (`docker inspect`): [] when it does not exist. */
async function containersOn(cluster: SshdCluster, node: string): Promise<string[]> {
  const r = await cluster.ssh(node, `docker inspect --format '{{.State.Status}}' ${CONTAINER}`);
  if (r.exitCode === 1 && r.stderr === `Error: No such object: ${CONTAINER}\n`) return [];
  expect(r.exitCode, r.stderr).toBe(0);
  return [r.stdout.trim()];
}

async function runningOn(cluster: SshdCluster, node: string): Promise<string[]> {
  return (await containersOn(cluster, node)).filter((state) => state === 'running');
}

async function expectStoppedEverywhere(cluster: SshdCluster): Promise<void> {
  for (const n of cluster.nodes) {
    expect(await containersOn(cluster, n.name), `${n.name}: docker inspect`).toEqual([]);
    const dir = await cluster.ssh(n.name, `test -e /var/lib/ascendctl/${NAME}`);
    expect(dir.exitCode, `${n.name}: /var/lib/ascendctl/${NAME} is gone`).toBe(1);
  }
}

async function upAnswerStop(cluster: SshdCluster, nodes: number): Promise<void> {
  const deployment = writeDeployment(cluster, nodes);
  const master = cluster.nodes[0]!.host;

  const up = await cli(cluster, ['deploy', deployment, '--timeout', '90s']);
  expect(up.exitCode, `${up.stdout}\n${up.stderr}`).toBe(0);
  expect(up.stdout).toContain(`${NAME} is serving`);
  expect(up.stdout).toContain(`http://${master}:1025/v1`);
  for (const n of cluster.nodes) expect(await runningOn(cluster, n.name), n.name).toHaveLength(1);
  const mode = await cluster.ssh('node2', `stat -c %a /var/lib/ascendctl/${NAME}/config.json /var/lib/ascendctl/${NAME}/ranktable.json`);
  expect(mode.stdout).toBe('640\n640\n');

  const chat = await cli(cluster, ['chat', '-p', 'Say hello']);
  expect(chat.exitCode, chat.stderr).toBe(0);
  expect(chat.stdout.trim().length).toBeGreaterThan(0);

  const status = await cli(cluster, ['status', '--json']);
  expect(status.exitCode, status.stderr).toBe(0);
  const st = status.json as { healthy: boolean; nodes: { node: string; container: string; npus: { hbmUsedMb: number }[] }[] };
  expect(st.healthy).toBe(true);
  expect(st.nodes.map((n) => n.container)).toEqual(cluster.nodes.map(() => 'running'));
  for (const n of st.nodes) expect(n.npus.length).toBe(8);

  const stop = await cli(cluster, ['stop']);
  expect(stop.exitCode, stop.stderr).toBe(0);
  await expectStoppedEverywhere(cluster);
  const again = await cli(cluster, ['stop']);
  expect(again.exitCode, again.stderr).toBe(0);
}

describe.skipIf(!canRunSshdCluster())('deploy over real OpenSSH: 2 nodes', () => {
  let cluster: SshdCluster;
  beforeAll(async () => {
    cluster = await startSshdCluster({ nodes: specs(2) });
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('comes up, answers chat -p, status exit 0; stop leaves no container and no files', async () => {
    await upAnswerStop(cluster, 2);
  }, DEPLOY_TEST_MS);

  it('a worker that never joins is reported with the node that waited and the one it waited for; nothing left', async () => {
    await cluster.setFaults('node2', [{ kind: 'worker-never-joins' }]);
    try {
      // A short HCCL window (1.2 s in the fast profile) instead of the rendered 7200 s.
      const deployment = writeDeployment(cluster, 2, 'short-hccl.yaml', ['env:', '  HCCL_CONNECT_TIMEOUT: "120"']);
      const r = await cli(cluster, ['deploy', deployment, '--timeout', '90s']);
      expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(1);
      expect(r.stderr).toMatch(/node1: its daemon exited .*did not join HCCL.*it waited for node2/);
      expect(r.stderr).toContain('EI0006');
      expect(r.stderr).toMatch(/node2 is the one to look at first/);
      expect(r.stderr).toMatch(/last lines of node2 \(which node1 waited for\)/);
      expect(r.stderr).not.toMatch(/\n\s+at .*\(.*\.js:\d+/); // no stack trace without --verbose
      for (const n of cluster.nodes) expect(await containersOn(cluster, n.name), n.name).toEqual([]);
    } finally {
      await cluster.setFaults('node2', []);
    }
  }, DEPLOY_TEST_MS);
});

describe.skipIf(!canRunSshdCluster())('deploy over real OpenSSH: 4 nodes', () => {
  let cluster: SshdCluster;
  beforeAll(async () => {
    cluster = await startSshdCluster({ nodes: specs(4) });
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('comes up, answers chat -p, status exit 0; stop leaves no container and no files', async () => {
    await upAnswerStop(cluster, 4);
  }, DEPLOY_TEST_MS);

  it('behind a jump host (node4 as the bastion): preflight, deploy, chat, status and stop go through it', async () => {
    const original = readFileSync(cluster.inventoryPath, 'utf8');
    const inventory = parse(original) as { ssh: Record<string, unknown>; nodes: { name: string; host: string }[] };
    const bastion = cluster.nodes[3]!;
    inventory.ssh.jumpHost = `root@${bastion.host}:${String(inventory.ssh.port)}`;
    inventory.nodes = inventory.nodes.slice(0, 2);
    writeFileSync(cluster.inventoryPath, stringify(inventory));
    const master = cluster.nodes[0]!.host;
    try {
      const deployment = writeDeployment(cluster, 2, 'behind-bastion.yaml');
      const up = await cli(cluster, ['deploy', deployment, '--timeout', '90s']);
      expect(up.exitCode, `${up.stdout}\n${up.stderr}`).toBe(0);
      expect(up.stdout).toContain(`http://${master}:1025/v1`);
      expect(up.stdout).toContain(`through the jump host root@${bastion.host}`);
      for (const n of ['node1', 'node2']) expect(await runningOn(cluster, n), n).toHaveLength(1);

      // The readiness request, status and chat reached MindIE over OpenSSH's direct-tcpip.
      const status = await cli(cluster, ['status', '--json']);
      expect(status.exitCode, status.stderr).toBe(0);
      expect(status.json).toMatchObject({ healthy: true });
      expect((status.json as { health: string }).health).toContain("through node1's SSH connection");
      const chat = await cli(cluster, ['chat', '-p', 'Say hello']);
      expect(chat.exitCode, chat.stderr).toBe(0);
      expect(chat.stdout.trim().length).toBeGreaterThan(0);

      const stop = await cli(cluster, ['stop']);
      expect(stop.exitCode, stop.stderr).toBe(0);
      for (const n of ['node1', 'node2']) expect(await containersOn(cluster, n), n).toEqual([]);
    } finally {
      writeFileSync(cluster.inventoryPath, original);
    }
  }, DEPLOY_TEST_MS);

  it('behind a chain of two jump hosts (node3, then node4): deploy, status, chat and stop go through it', async () => {
    const original = readFileSync(cluster.inventoryPath, 'utf8');
    const inventory = parse(original) as { ssh: Record<string, unknown>; nodes: { name: string; host: string }[] };
    const [hop1, hop2] = [cluster.nodes[2]!, cluster.nodes[3]!];
    const chain = `root@${hop1.host}:${String(inventory.ssh.port)},root@${hop2.host}:${String(inventory.ssh.port)}`;
    inventory.ssh.jumpHost = chain;
    inventory.nodes = inventory.nodes.slice(0, 2);
    writeFileSync(cluster.inventoryPath, stringify(inventory));
    try {
      const deployment = writeDeployment(cluster, 2, 'behind-chain.yaml');
      const up = await cli(cluster, ['deploy', deployment, '--timeout', '90s']);
      expect(up.exitCode, `${up.stdout}\n${up.stderr}`).toBe(0);
      expect(up.stdout).toContain(`through the jump hosts root@${hop1.host}, root@${hop2.host}`);
      expect(up.stdout).toContain(`-J ${chain} -L`);
      for (const n of ['node1', 'node2']) expect(await runningOn(cluster, n), n).toHaveLength(1);

      const status = await cli(cluster, ['status', '--json']);
      expect(status.exitCode, status.stderr).toBe(0);
      expect(status.json).toMatchObject({ healthy: true });
      expect((status.json as { health: string }).health).toContain(`(jump hosts ${chain})`);
      const chat = await cli(cluster, ['chat', '-p', 'Say hello']);
      expect(chat.exitCode, chat.stderr).toBe(0);
      expect(chat.stdout.trim().length).toBeGreaterThan(0);

      const stop = await cli(cluster, ['stop']);
      expect(stop.exitCode, stop.stderr).toBe(0);
      for (const n of ['node1', 'node2']) expect(await containersOn(cluster, n), n).toEqual([]);
    } finally {
      writeFileSync(cluster.inventoryPath, original);
    }
  }, DEPLOY_TEST_MS);
});
