/**
 * deploy, render, status and stop against in-process simulated clusters (real SSH protocol, the
 * simulated container runtime and MindIE daemon validating what deploy writes; fast profile).
 */
import { mkdtemp, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startDemoCluster, DEMO_IMAGE, type DemoCluster } from '../../src/demo/cluster.js';
import { normalizeRef, runtimeOf } from '../../src/sim/container-runtime.js';
import { tarOf } from '../support/tar.js';
import type { SimFault, SimIo } from '../../src/sim/types.js';
import { runInProcess, type InProcessResult } from '../support/in-process.js';
import { commands } from '../support/commands.js';

type Command = keyof typeof commands;

const NAME = 'deepseek-r1';
const CONTAINER = `ascendctl-${NAME}`;
const REMOTE_DIR = `/var/lib/ascendctl/${NAME}`;
const DEFAULTS: Partial<Record<Command, Record<string, unknown>>> = {
  deploy: { parallel: '32', timeout: '60s' },
  status: {},
  stop: {},
  render: {},
  chat: { timeout: '30s' },
};

function runner(get: () => DemoCluster) {
  return (cmd: Command, args: string[], opts: Record<string, unknown> = {}, signal?: AbortSignal): Promise<InProcessResult> => {
    const c = get();
    return runInProcess(commands[cmd], args, { ...DEFAULTS[cmd], ...opts }, { cwd: c.dir, home: c.dir, ...(signal ? { signal } : {}) });
  };
}

/** Every container of the deployment on a node, as the simulated runtime holds it. */
function containersOn(c: DemoCluster, node: string) {
  const rt = runtimeOf(c.sim.cluster, node);
  if (!rt) throw new Error(`no container runtime on ${node}`);
  return rt.containers.filter((x) => x.name === CONTAINER);
}

function runningIds(c: DemoCluster): Record<string, string[]> {
  return Object.fromEntries(c.nodes.map((n) => [n.name, containersOn(c, n.name).filter((x) => x.running).map((x) => x.id)]));
}

function expectNothingRunning(c: DemoCluster): void {
  for (const n of c.nodes) {
    expect(containersOn(c, n.name).filter((x) => x.running).map((x) => `${n.name}: ${x.id}`), `containers left running on ${n.name}`).toEqual([]);
  }
}

function expectNoContainer(c: DemoCluster): void {
  for (const n of c.nodes) expect(containersOn(c, n.name).map((x) => `${n.name}: ${x.state}`), `containers left on ${n.name}`).toEqual([]);
}

/** Record `docker stop`/`docker rm` calls in the order the nodes received them. */
function recordDockerCalls(c: DemoCluster): { calls: { node: string; verb: string }[]; restore(): void } {
  const calls: { node: string; verb: string }[] = [];
  const restores: (() => void)[] = [];
  for (const node of c.sim.cluster.nodes) {
    const original = node.programs.get('docker')!;
    node.programs.set('docker', (argv: string[], io: SimIo) => {
      const verb = argv[0] === 'container' ? argv[1] ?? '' : argv[0] ?? '';
      if ((verb === 'stop' || verb === 'rm' || verb === 'run') && argv.includes(CONTAINER)) calls.push({ node: node.name, verb });
      return original(argv, io);
    });
    restores.push(() => node.programs.set('docker', original));
  }
  return { calls, restore: () => restores.forEach((r) => r()) };
}

/** Nodes in the order their deployment container was first stopped or removed. */
function stopOrder(calls: { node: string; verb: string }[]): string[] {
  const order: string[] = [];
  for (const c of calls) if ((c.verb === 'stop' || c.verb === 'rm') && !order.includes(c.node)) order.push(c.node);
  return order;
}

async function remoteStat(c: DemoCluster, node: string, p: string) {
  return c.sim.cluster.node(node).fs.stat(p);
}

/** The generated deployment file with some lines replaced (by prefix) or appended; returns its path. */
async function variant(c: DemoCluster, file: string, edits: Record<string, string | null>, append: string[] = []): Promise<string> {
  const base = await readFile(c.deploymentPath, 'utf8');
  const lines = base.split('\n').map((line) => {
    for (const [prefix, replacement] of Object.entries(edits)) if (line.startsWith(prefix)) return replacement;
    return line;
  }).filter((l): l is string => l !== null);
  const out = path.join(c.dir, file);
  await writeFile(out, `${lines.join('\n').replace(/\n+$/, '')}\n${append.join('\n')}${append.length ? '\n' : ''}`);
  return out;
}

// ---------------------------------------------------------------------------------------------------

describe('deploy on 2 simulated nodes: up, unchanged, replaced, stopped', () => {
  let cluster: DemoCluster;
  const run = runner(() => cluster);
  beforeAll(async () => {
    cluster = await startDemoCluster({ nodes: 2, subnet: 211 });
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('comes up: exit 0, local record, endpoint answers, status healthy with HBM numbers', async () => {
    const r = await run('deploy', [cluster.deploymentPath]);
    expect(r.exitCode, `${r.error}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toContain(`${NAME} is serving`);
    expect(r.stdout).toContain('http://127.211.0.1:1025/v1');

    const local = JSON.parse(await readFile(path.join(cluster.dir, '.ascendctl', 'deployments', `${NAME}.json`), 'utf8'));
    expect(local).toMatchObject({ name: NAME, endpoint: 'http://127.211.0.1:1025', model: NAME, container: CONTAINER });
    expect(local.nodes.map((n: any) => [n.name, n.role])).toEqual([['node1', 'master'], ['node2', 'worker']]);
    expect((await readFile(path.join(cluster.dir, '.ascendctl', 'last'), 'utf8')).trim()).toBe(NAME);
    for (const ids of Object.values(runningIds(cluster))) expect(ids).toHaveLength(1);

    const chat = await run('chat', [], { prompt: 'What is 2+2?', json: true });
    expect(chat.exitCode, `${chat.error}\n${chat.stderr}`).toBe(0);
    expect(chat.json.model).toBe(NAME);
    expect(`${chat.json.content ?? ''}${chat.json.reasoning_content ?? ''}`.length).toBeGreaterThan(0);
    expect(chat.json.usage.completion_tokens).toBeGreaterThan(0);

    const st = await run('status', [], { json: true });
    expect(st.exitCode, st.stdout).toBe(0);
    expect(st.json.healthy).toBe(true);
    expect(st.json.endpoint).toBe('http://127.211.0.1:1025/v1');
    expect(st.json.nodes.map((n: any) => [n.node, n.role, n.container])).toEqual([['node1', 'master', 'running'], ['node2', 'worker', 'running']]);
    for (const n of st.json.nodes) {
      expect(n.npus).toHaveLength(8);
      for (const d of n.npus) {
        expect(d.hbmTotalMb).toBeGreaterThan(0);
        // the daemon holds npuMemoryFraction (0.95) of every NPU's HBM
        expect(d.hbmUsedMb / d.hbmTotalMb).toBeGreaterThan(0.5);
      }
    }
    const human = await run('status', []);
    expect(human.exitCode).toBe(0);
    expect(human.stdout).toMatch(/node1\s+master\s+running\s+HBM/);
    expect(human.stdout).toMatch(/node2\s+worker\s+running\s+HBM/);
  });

  it('uploads every file with mode 640 under /var/lib/ascendctl/<name>/ on every node', async () => {
    for (const n of cluster.nodes) {
      for (const f of ['ranktable.json', 'config.json', 'env', 'launch.sh']) {
        const s = await remoteStat(cluster, n.name, `${REMOTE_DIR}/${f}`);
        expect(s?.isFile, `${n.name}:${f}`).toBe(true);
        expect(s!.mode, `${n.name}:${f}`).toBe(0o640);
      }
    }
    // the lock is released once deploy is done
    expect(await remoteStat(cluster, 'node1', `${REMOTE_DIR}/deploy.lock`)).toBeUndefined();
  });

  it('deploy again with the same file: "nothing to do", no container restarted', async () => {
    const before = runningIds(cluster);
    const r = await run('deploy', [cluster.deploymentPath]);
    expect(r.exitCode, r.error).toBe(0);
    expect(r.stdout).toContain('nothing to do');
    expect(runningIds(cluster)).toEqual(before);
    const json = await run('deploy', [cluster.deploymentPath], { json: true });
    expect(json.exitCode).toBe(0);
    expect(json.json).toMatchObject({ status: 'unchanged', name: NAME, endpoint: 'http://127.211.0.1:1025/v1' });
    expect(runningIds(cluster)).toEqual(before);
  });

  it('a changed deployment replaces the running one (workers stopped before the master)', async () => {
    const before = runningIds(cluster);
    const changed = await variant(cluster, 'changed.yaml', { 'npuMemoryFraction:': 'npuMemoryFraction: 0.9' });
    const rec = recordDockerCalls(cluster);
    let r: InProcessResult;
    try {
      r = await run('deploy', [changed], { json: true });
    } finally {
      rec.restore();
    }
    expect(r.exitCode, r.error).toBe(0);
    expect(r.json.status).toBe('ready');
    const after = runningIds(cluster);
    for (const n of cluster.nodes) {
      expect(after[n.name]).toHaveLength(1);
      expect(after[n.name]).not.toEqual(before[n.name]);
      const env = containersOn(cluster, n.name).find((x) => x.running)!.spec.env;
      const config = (await cluster.sim.cluster.node(n.name).fs.readFile(`${REMOTE_DIR}/config.json`)).toString('utf8');
      expect(JSON.stringify(env) + config).toMatch(/0\.9(?!5)/);
    }
    expect(stopOrder(rec.calls.filter((c) => c.verb !== 'run'))).toEqual(['node2', 'node1']);
    // the replaced deployment answers
    const st = await run('status', [], { json: true });
    expect(st.json.healthy).toBe(true);
  });

  it('stop removes the containers on every node and /var/lib/ascendctl/<name>; a second stop is a no-op', async () => {
    const rec = recordDockerCalls(cluster);
    let r: InProcessResult;
    try {
      r = await run('stop', []);
    } finally {
      rec.restore();
    }
    expect(r.exitCode, r.error).toBe(0);
    expect(r.stdout).toContain(`${NAME} stopped on 2 nodes`);
    expectNoContainer(cluster);
    for (const n of cluster.nodes) expect(await remoteStat(cluster, n.name, REMOTE_DIR), n.name).toBeUndefined();
    expect(stopOrder(rec.calls)).toEqual(['node2', 'node1']);

    const again = await run('stop', []);
    expect(again.exitCode, again.error).toBe(0);
    expect(again.stderr + again.stdout).toMatch(/already stopped|no container/);
    expectNoContainer(cluster);

    const st = await run('status', [], { json: true });
    expect(st.exitCode).toBe(1);
    expect(st.json.healthy).toBe(false);
    expect(st.json.nodes.map((n: any) => n.container)).toEqual(['absent', 'absent']);
  });

  it('a second concurrent deploy is refused by the lock; the other comes up; the lock is released', async () => {
    const [a, b] = await Promise.all([run('deploy', [cluster.deploymentPath]), run('deploy', [cluster.deploymentPath])]);
    const results = [a, b].sort((x, y) => x.exitCode - y.exitCode);
    expect(results.map((x) => x.exitCode)).toEqual([0, 1]);
    expect(results[1]!.error).toMatch(/holds the lock on node1/);
    expect(results[1]!.hint).toMatch(/wait for it to finish/);
    // the way in by hand, as the inventory says: user and port included
    expect(results[1]!.hint).toContain(`ssh -p 2222 root@127.211.0.1 rm -rf ${REMOTE_DIR}/deploy.lock`);
    expect(await remoteStat(cluster, 'node1', `${REMOTE_DIR}/deploy.lock`)).toBeUndefined();
    for (const ids of Object.values(runningIds(cluster))) expect(ids).toHaveLength(1);
    expect((await run('status', [], { json: true })).json.healthy).toBe(true);
    expect((await run('stop', [])).exitCode).toBe(0);
    expectNoContainer(cluster);
  });

  /** Ctrl-C as soon as every node's daemon runs (deploy is then in its readiness wait); stop watching with the result. */
  function abortWhenAllRunning(ac: AbortController): () => void {
    const watcher = setInterval(() => {
      if (Object.values(runningIds(cluster)).every((ids) => ids.length === 1)) {
        clearInterval(watcher);
        ac.abort();
      }
    }, 2);
    return () => clearInterval(watcher);
  }

  it('Ctrl-C while waiting for readiness: exit 130, containers stopped, workers first', async () => {
    const ac = new AbortController();
    const rec = recordDockerCalls(cluster);
    const unwatch = abortWhenAllRunning(ac);
    let r: InProcessResult;
    try {
      r = await run('deploy', [cluster.deploymentPath], {}, ac.signal);
    } finally {
      unwatch();
      rec.restore();
    }
    expect(ac.signal.aborted).toBe(true);
    expect(r.exitCode, `${r.error}\n${r.stderr}`).toBe(130);
    expect(r.error).toMatch(/interrupted/);
    expect(r.hint).toMatch(/run ascendctl deploy .*deepseek-r1\.yaml again when ready; the uploaded files stay in \/var\/lib\/ascendctl\/deepseek-r1 on the nodes \(ascendctl stop .*deepseek-r1\.yaml removes them\)/);
    expectNothingRunning(cluster);
    // the first rm of each node precedes its start; what counts is the order after both started
    const lastRun = rec.calls.map((c) => c.verb).lastIndexOf('run');
    expect(stopOrder(rec.calls.slice(lastRun + 1))).toEqual(['node2', 'node1']);
    expect(await remoteStat(cluster, 'node1', `${REMOTE_DIR}/deploy.lock`)).toBeUndefined();
  });

  it('Ctrl-C with --keep-on-failure: the message says the containers were left running, and where', async () => {
    const ac = new AbortController();
    const unwatch = abortWhenAllRunning(ac);
    let r: InProcessResult;
    try {
      r = await run('deploy', [cluster.deploymentPath], { keepOnFailure: true }, ac.signal);
    } finally {
      unwatch();
    }
    expect(r.exitCode, `${r.error}\n${r.stderr}`).toBe(130);
    expect(r.error).toBe('deploy interrupted; --keep-on-failure left containers running on node[1-2]');
    expect(r.error).not.toMatch(/stopped what it had started/);
    expect(r.hint).toMatch(/ascendctl stop .*deepseek-r1\.yaml removes what --keep-on-failure left running/);
    expect(Object.values(runningIds(cluster)).every((ids) => ids.length === 1)).toBe(true);
    expect((await run('stop', [cluster.deploymentPath])).exitCode).toBe(0);
    expectNothingRunning(cluster);
  });

  /** Ctrl-C at the first hccn_tool call on any node (deploy is then reading the NPUs); undo with the result. */
  function abortAtFirstHccnTool(ac: AbortController): () => void {
    const restores = cluster.sim.cluster.nodes.map((node) => {
      const original = node.programs.get('hccn_tool')!;
      node.programs.set('hccn_tool', (argv: string[], io: SimIo) => {
        ac.abort();
        return original(argv, io);
      });
      return () => node.programs.set('hccn_tool', original);
    });
    return () => restores.forEach((f) => f());
  }

  it('Ctrl-C during --dry-run: exit 130, and the message still ends with the next step', async () => {
    const ac = new AbortController();
    const restore = abortAtFirstHccnTool(ac);
    let r: InProcessResult;
    try {
      r = await run('deploy', [cluster.deploymentPath], { dryRun: true }, ac.signal);
    } finally {
      restore();
    }
    expect(r.exitCode, `${r.error}\n${r.stderr}`).toBe(130);
    expect(r.error).toMatch(/interrupted before it changed anything/);
    expect(r.hint).toMatch(/^run ascendctl deploy .*deepseek-r1\.yaml again when ready$/);
  });

  it('Ctrl-C during the preflight gate: exit 130, nothing started, no lock left', async () => {
    const ac = new AbortController();
    const rec = recordDockerCalls(cluster);
    // Abort at the first hccn_tool call on any node: deploy is then inside preflight.
    const restore = abortAtFirstHccnTool(ac);
    let r: InProcessResult;
    try {
      r = await run('deploy', [cluster.deploymentPath], {}, ac.signal);
    } finally {
      restore();
      rec.restore();
    }
    expect(r.exitCode, `${r.error}\n${r.stderr}`).toBe(130);
    expect(r.error).toMatch(/interrupted before it changed anything/);
    expect(r.hint).toMatch(/^run ascendctl deploy .*deepseek-r1\.yaml again when ready$/);
    // an interrupted preflight is no verdict: no report of "not checked" failures
    expect(r.stdout + r.stderr).not.toMatch(/preflight failed/);
    expect(rec.calls.filter((c) => c.verb === 'run')).toEqual([]);
    expectNoContainer(cluster);
    expect(await remoteStat(cluster, 'node1', `${REMOTE_DIR}/deploy.lock`)).toBeUndefined();
  });

  it('status and stop with no deployment given in a directory that deployed nothing: exit 2 with a next step', async () => {
    const elsewhere = await mkdtemp(path.join(cluster.dir, 'elsewhere-'));
    for (const cmd of ['status', 'stop'] as const) {
      const r = await runInProcess(commands[cmd], [], {}, { cwd: elsewhere, home: cluster.dir });
      expect(r.exitCode, cmd).toBe(2);
      expect(r.error).toMatch(/no deployment given/);
      expect(r.hint).toMatch(/pass the deployment file or name/);
    }
  });

  it('--dry-run prints the plan and every file and starts nothing; --json documents it', async () => {
    await run('stop', []);
    const rec = recordDockerCalls(cluster);
    try {
      const r = await run('deploy', [cluster.deploymentPath], { dryRun: true });
      expect(r.exitCode, r.error).toBe(0);
      expect(r.stdout).toContain('dry run: nothing was changed');
      expect(r.stdout).toContain(`write ${REMOTE_DIR}/ranktable.json (mode 640)`);
      expect(r.stdout).toMatch(/run\s+docker run/);
      expect(r.stdout).toContain(`── node2:${REMOTE_DIR}/config.json`);
      expect(r.stdout).toContain('"server_count": "2"');

      const j = await run('deploy', [cluster.deploymentPath], { dryRun: true, json: true });
      expect(j.exitCode).toBe(0);
      expect(j.json.status).toBe('dry-run');
      expect(j.json.nodes.map((n: any) => [n.node, n.role])).toEqual([['node1', 'master'], ['node2', 'worker']]);
      for (const n of j.json.nodes) {
        expect(n.files.map((f: any) => [path.basename(f.path), f.mode])).toEqual([['ranktable.json', '640'], ['config.json', '640'], ['env', '640'], ['launch.sh', '640']]);
        expect(n.command[0]).toBe('docker');
      }
      expect(JSON.parse(j.json.nodes[0].files[0].content).server_list.map((s: any) => s.container_ip)).toEqual(['127.211.0.1', '127.211.0.2']);
    } finally {
      rec.restore();
    }
    expect(rec.calls.filter((c) => c.verb === 'run')).toEqual([]);
    expectNoContainer(cluster);
    for (const n of cluster.nodes) expect(await remoteStat(cluster, n.name, REMOTE_DIR)).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------------------------------

describe('render', () => {
  let cluster: DemoCluster;
  const run = runner(() => cluster);
  beforeAll(async () => {
    cluster = await startDemoCluster({ nodes: 2, subnet: 214 });
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  async function deviceIpsFile(content: unknown): Promise<string> {
    const file = path.join(await mkdtemp(path.join(cluster.dir, 'ips-')), 'device-ips.json');
    await writeFile(file, JSON.stringify(content));
    return file;
  }
  const ips = (node: number) => Array.from({ length: 8 }, (_, i) => `29.${node}.${i}.1`);

  it('--device-ips FILE: writes ranktable.json and per-node files with mode 640 and touches no node (cluster down)', async () => {
    for (const n of cluster.nodes) await cluster.sim.nodeDown(n.name);
    try {
      const file = await deviceIpsFile({ node1: ips(1), '127.214.0.2': ips(2) });
      const out = path.join(cluster.dir, 'rendered');
      const r = await run('render', [cluster.deploymentPath], { out, deviceIps: file });
      expect(r.exitCode, `${r.error}\n${r.hint}`).toBe(0);
      const top = (await readdir(out)).sort();
      expect(top).toEqual(['node1', 'node2', 'ranktable.json']);
      for (const node of ['node1', 'node2']) {
        expect((await readdir(path.join(out, node))).sort()).toEqual(['config.json', 'container-command.sh', 'env', 'launch.sh']);
        for (const f of ['config.json', 'env', 'launch.sh', 'container-command.sh']) {
          expect((await stat(path.join(out, node, f))).mode & 0o777, `${node}/${f}`).toBe(0o640);
        }
      }
      expect((await stat(path.join(out, 'ranktable.json'))).mode & 0o777).toBe(0o640);
      const table = JSON.parse(await readFile(path.join(out, 'ranktable.json'), 'utf8'));
      expect(Object.keys(table).sort()).toEqual(['server_count', 'server_list', 'status', 'version']);
      expect(table.server_list[1].device.map((d: any) => d.device_ip)).toEqual(ips(2));
      expect(table.server_list[1].device[7]).toEqual({ device_id: '7', device_ip: '29.2.7.1', rank_id: '15' });
    } finally {
      for (const n of cluster.nodes) await cluster.sim.nodeUp(n.name);
    }
  });

  it('a placeholder IP or a missing node in --device-ips: exit 2 naming the node and NPU', async () => {
    const bad = ips(2);
    bad[5] = '-.-.-.-';
    const placeholder = await run('render', [cluster.deploymentPath], { out: path.join(cluster.dir, 'r2'), deviceIps: await deviceIpsFile({ node1: ips(1), node2: bad }) });
    expect(placeholder.exitCode).toBe(2);
    expect(placeholder.error).toMatch(/node2/);
    expect(placeholder.error).toMatch(/NPU 5|\[5\]/);

    const missing = await run('render', [cluster.deploymentPath], { out: path.join(cluster.dir, 'r3'), deviceIps: await deviceIpsFile({ node1: ips(1) }) });
    expect(missing.exitCode).toBe(2);
    expect(missing.error).toMatch(/node2/);
  });

  it('--device-ips problems name the file and point at it, not at the nodes\' hccn.conf or npu-smi', async () => {
    const short = await deviceIpsFile({ node1: ips(1), node2: ips(2).slice(0, 7) });
    const r = await run('render', [cluster.deploymentPath], { out: path.join(cluster.dir, 'r4'), deviceIps: short });
    expect(r.exitCode).toBe(2);
    expect(r.error).toContain(`--device-ips ${short}: node node2 (127.214.0.2) has 7 addresses`);
    expect(r.hint).toContain(`fix the entry for node2 in ${short}`);
    expect(r.hint).not.toMatch(/hccn\.conf|npu-smi/);

    const dup = await deviceIpsFile({ node1: ips(1), node2: [ips(1)[0], ...ips(2).slice(1)] });
    const d = await run('render', [cluster.deploymentPath], { out: path.join(cluster.dir, 'r5'), deviceIps: dup });
    expect(d.exitCode).toBe(2);
    expect(d.error).toContain(`--device-ips ${dup}: node node2 NPU 0: device IP 29.1.0.1 is also used by node node1 NPU 0`);
    expect(d.hint).not.toMatch(/hccn\.conf/);

    const none = await deviceIpsFile({ node1: ips(1) });
    const m = await run('render', [cluster.deploymentPath], { out: path.join(cluster.dir, 'r6'), deviceIps: none });
    expect(m.error).toContain(`--device-ips ${none}: has no entry for node node2`);
    expect(m.hint).toContain(`add an entry for node2 in ${none}`);
  });

  it('an --out that cannot be a directory: exit 2 before any node is contacted, nothing written', async () => {
    for (const n of cluster.nodes) await cluster.sim.nodeDown(n.name);
    try {
      const file = path.join(cluster.dir, 'a-file');
      await writeFile(file, 'x');
      for (const out of [file, path.join(file, 'sub')]) {
        const r = await run('render', [cluster.deploymentPath], { out }); // no --device-ips: would read over SSH
        expect(r.exitCode, r.error).toBe(2);
        expect(r.error).toContain(`--out ${out}: cannot be used as the output directory`);
        expect(r.hint).toBeTruthy();
      }
      expect(await readFile(file, 'utf8')).toBe('x');
    } finally {
      for (const n of cluster.nodes) await cluster.sim.nodeUp(n.name);
    }
  });

  it('--dry-run never prints a secret-looking variable\'s value; render --out writes it, mode 640', async () => {
    const file = path.join(cluster.dir, 'with-token.yaml');
    const base = await readFile(cluster.deploymentPath, 'utf8');
    await writeFile(file, `${base}env:\n  HF_TOKEN: hf_s3cret_value\n  REGISTRY_PASSWORD: pw_s3cret\n  LOG_MARK: visible\n`);

    const r = await run('deploy', [file], { dryRun: true });
    expect(r.exitCode, r.error).toBe(0);
    expect(r.stdout).not.toContain('s3cret');
    expect(r.stdout).toContain('HF_TOKEN=<redacted>');
    expect(r.stdout).toContain('REGISTRY_PASSWORD=<redacted>');
    expect(r.stdout).toContain('LOG_MARK=visible');

    const j = await run('deploy', [file], { dryRun: true, json: true });
    expect(j.exitCode).toBe(0);
    expect(JSON.stringify(j.json)).not.toContain('s3cret');

    const out = path.join(cluster.dir, 'rendered');
    const rendered = await run('render', [file], { out });
    expect(rendered.exitCode, rendered.error).toBe(0);
    expect(rendered.stdout).not.toContain('s3cret');
    const env = path.join(out, 'node1', 'env');
    expect(await readFile(env, 'utf8')).toContain('HF_TOKEN=hf_s3cret_value');
    expect((await stat(env)).mode & 0o777).toBe(0o640);
  });

  it('without --out: exit 2', async () => {
    const r = await run('render', [cluster.deploymentPath], {});
    expect(r.exitCode).toBe(2);
    expect(r.error).toMatch(/--out/);
  });

  it('without --device-ips reads the addresses live over SSH', async () => {
    const out = path.join(cluster.dir, 'live');
    const r = await run('render', [cluster.deploymentPath], { out });
    expect(r.exitCode, r.error).toBe(0);
    const table = JSON.parse(await readFile(path.join(out, 'ranktable.json'), 'utf8'));
    const live = cluster.sim.cluster.node('node2').deviceIps();
    expect(table.server_list[1].device.map((d: any) => d.device_ip)).toEqual(live);
    expectNoContainer(cluster);
  });
});

// ---------------------------------------------------------------------------------------------------

describe('deploy on 4 simulated nodes', () => {
  let cluster: DemoCluster;
  const run = runner(() => cluster);
  beforeAll(async () => {
    cluster = await startDemoCluster({ nodes: 4, subnet: 212 });
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('comes up, answers, reports healthy; stop leaves nothing', async () => {
    const r = await run('deploy', [cluster.deploymentPath], { json: true });
    expect(r.exitCode, `${r.error}\n${r.stderr}`).toBe(0);
    expect(r.json).toMatchObject({ status: 'ready', name: NAME, endpoint: 'http://127.212.0.1:1025/v1', model: NAME });
    expect(r.json.nodes.map((n: any) => n.role)).toEqual(['master', 'worker', 'worker', 'worker']);

    const chat = await run('chat', [NAME], { prompt: 'hello', json: true });
    expect(chat.exitCode, chat.error).toBe(0);
    expect(`${chat.json.content ?? ''}${chat.json.reasoning_content ?? ''}`.length).toBeGreaterThan(0);

    // The deployment file from another directory (no record of the deploy there), as status and logs take it.
    const elsewhere = await mkdtemp(path.join(cluster.dir, 'elsewhere-'));
    const away = await runInProcess(commands.chat, [cluster.deploymentPath], { timeout: '30s', prompt: 'hello', json: true }, { cwd: elsewhere, home: cluster.dir });
    expect(away.exitCode, `${away.error}\n${away.stderr}`).toBe(0);
    expect(away.json.model).toBe(NAME);
    // Only the endpoint: the multi-node master answers 404 to /v1/models (§8), so the model must be named.
    const bare = await runInProcess(commands.chat, [], { timeout: '30s', prompt: 'hello', json: true, endpoint: 'http://127.212.0.1:1025' }, { cwd: elsewhere, home: cluster.dir });
    expect(bare.exitCode).toBe(2);
    expect(bare.error).toMatch(/does not list its models \(GET \/v1\/models answered HTTP 404; a multi-node MindIE master/);
    expect(bare.hint).toMatch(/--model NAME/);

    const st = await run('status', [NAME], { json: true });
    expect(st.exitCode).toBe(0);
    expect(st.json.healthy).toBe(true);
    expect(st.json.nodes.map((n: any) => n.container)).toEqual(['running', 'running', 'running', 'running']);
    for (const n of st.json.nodes) expect(n.npus.every((d: any) => d.hbmUsedMb > 0 && d.hbmTotalMb > 0)).toBe(true);
    // A worker that cannot be reached is unknown, not "not running"
    await cluster.sim.setFaults('node3', [{ kind: 'node-down' }]);
    const partial = await run('status', [NAME], { json: true });
    await cluster.sim.setFaults('node3', []);
    expect(partial.exitCode).toBe(1);
    expect(partial.json.nodes.map((n: any) => n.container)).toEqual(['running', 'running', 'unreachable', 'running']);
    expect(partial.json.health).toBe('answering, but node3 could not be reached, so its container is unknown');
    const table = JSON.parse((await cluster.sim.cluster.node('node3').fs.readFile(`${REMOTE_DIR}/ranktable.json`)).toString('utf8'));
    expect(table.server_count).toBe('4');

    const again = await run('deploy', [cluster.deploymentPath]);
    expect(again.stdout).toContain('nothing to do');

    // An unreachable worker: status says so (exit 1), stop fails there and says what to do, and a
    // second stop once it is back finishes the job.
    await cluster.sim.nodeDown('node4');
    try {
      const degraded = await run('status', [NAME], { json: true });
      expect(degraded.exitCode).toBe(1);
      expect(degraded.json.healthy).toBe(false);
      const node4 = degraded.json.nodes.find((n: any) => n.node === 'node4');
      expect(node4.container).toBe('unreachable');
      expect(node4.error).toMatch(/node4|127\.212\.0\.4/);
      const during = recordDockerCalls(cluster);
      let partial: InProcessResult;
      try {
        partial = await run('stop', [NAME]);
      } finally {
        during.restore();
      }
      // the reachable workers first, the master last
      const order = stopOrder(during.calls);
      expect(order.at(-1)).toBe('node1');
      expect(order.slice(0, 2).sort()).toEqual(['node2', 'node3']);
      expect(partial.exitCode).toBe(1);
      expect(partial.stderr).toMatch(/could not stop deepseek-r1 on node4/);
      expect(partial.stderr).toMatch(/run ascendctl stop again/);
    } finally {
      await cluster.sim.nodeUp('node4');
    }

    const rec = recordDockerCalls(cluster);
    try {
      expect((await run('stop', [NAME])).exitCode).toBe(0);
    } finally {
      rec.restore();
    }
    // node1–3 were already stopped by the partial stop; node4 is finished now
    expect(stopOrder(rec.calls)).toEqual(['node4']);
    expectNoContainer(cluster);
    for (const n of cluster.nodes) expect(await remoteStat(cluster, n.name, REMOTE_DIR)).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------------------------------

describe('deploy failures', () => {
  let cluster: DemoCluster;
  const run = runner(() => cluster);
  beforeAll(async () => {
    cluster = await startDemoCluster({ nodes: 2, subnet: 213 });
  });
  afterAll(async () => {
    await cluster?.stop();
  });
  afterEach(async () => {
    for (const n of cluster.nodes) await cluster.sim.setFaults(n.name, []);
    // leave a clean cluster whatever the test did
    for (const n of cluster.nodes) {
      const rt = runtimeOf(cluster.sim.cluster, n.name)!;
      for (const c of [...rt.containers]) c.killNow();
      rt.containers.length = 0;
      // images loaded by a test go; the demo image is listed at start again (image-absent hides it)
      for (const [ref, img] of [...rt.images]) {
        if (ref === normalizeRef(DEMO_IMAGE)) img.initial = true;
        else rt.images.delete(ref);
      }
      await cluster.sim.cluster.node(n.name).fs.rm(REMOTE_DIR, { recursive: true, force: true });
    }
  });

  async function setFaults(faults: Record<string, SimFault[]>): Promise<void> {
    for (const n of cluster.nodes) await cluster.sim.setFaults(n.name, faults[n.name] ?? []);
  }

  describe('an invalid deployment file: exit 2 before any node is contacted (every node is down)', () => {
    // [label, line edits, appended lines, YAML path in the message, line(s) the message may point at]
    const cases: [string, Record<string, string | null>, string[], RegExp, number | number[]][] = [
      ['dataParallelSize not a power of 2', { '  dataParallelSize:': '  dataParallelSize: 3' }, [], /parallel\.dataParallelSize/, 9],
      ['tensorParallelSize not a power of 2', { '  tensorParallelSize:': '  tensorParallelSize: 6' }, [], /parallel\.tensorParallelSize/, 10],
      ['dp × tp ≠ world', { '  dataParallelSize:': '  dataParallelSize: 4' }, [], /parallel\.(dataParallelSize|tensorParallelSize)/, [9, 10]],
      ['moe_tp × moe_ep ≠ world', { '  moeExpertParallelSize:': '  moeExpertParallelSize: 8' }, [], /parallel\.moeExpertParallelSize|parallel\.moeTensorParallelSize/, 12],
      ['tp > npusPerNode and ≠ world', { '  dataParallelSize:': '  dataParallelSize: 1', '  tensorParallelSize:': '  tensorParallelSize: 32' }, [], /parallel\.tensorParallelSize/, 10],
      ['port out of range', { '  http:': '  http: 80' }, [], /ports\.http/, 15],
      ['port above 65535', { '  metrics:': '  metrics: 70000' }, [], /ports\.metrics/, 17],
      ['multiNodesInfer equal to http', { '  multiNodesInfer:': '  multiNodesInfer: 1025' }, [], /ports\.multiNodesInfer/, 18],
      ['relative model path', { '  path:': '  path: models/DeepSeek-R1' }, [], /model\.path/, 6],
      ['npuMemoryFraction 0', { 'npuMemoryFraction:': 'npuMemoryFraction: 0' }, [], /npuMemoryFraction/, 13],
      ['npuMemoryFraction 1.5', { 'npuMemoryFraction:': 'npuMemoryFraction: 1.5' }, [], /npuMemoryFraction/, 13],
      ['unknown backend', { 'backend:': 'backend: tgi' }, [], /backend/, 3],
      ['unknown key', {}, ['replicas: 2'], /replicas/, 19],
      ['bad name', { 'name:': 'name: deep seek/r1' }, [], /name/, 1],
    ];
    beforeAll(async () => {
      for (const n of cluster.nodes) await cluster.sim.nodeDown(n.name);
    });
    afterAll(async () => {
      for (const n of cluster.nodes) await cluster.sim.nodeUp(n.name);
    });
    for (const [label, edits, append, yamlPath, line] of cases) {
      it(label, async () => {
        const file = await variant(cluster, `bad-${label.replace(/\W+/g, '-')}.yaml`, edits, append);
        const r = await run('deploy', [file]);
        expect(r.exitCode, `${r.error}\n${r.stderr}`).toBe(2);
        const text = `${r.error}\n${r.hint ?? ''}`;
        expect(text).toContain(path.basename(file));
        expect(text).toMatch(yamlPath);
        expect(text, 'the line of the offending key').toMatch(new RegExp([line].flat().map((l) => `line ${l}\\b|:${l}\\b`).join('|')));
        expect(r.hint ?? '', 'a next step').not.toBe('');
      });
    }
  });

  async function expectDaemonFailure(r: InProcessResult, node: RegExp, reason: RegExp): Promise<void> {
    expect(r.exitCode, `${r.error}\n${r.stderr}`).toBe(1);
    expect(r.error).toMatch(node);
    expect(r.error).toMatch(reason);
    expect(r.hint ?? '', 'a next step').not.toBe('');
    expectNothingRunning(cluster);
    expect(await remoteStat(cluster, 'node1', `${REMOTE_DIR}/deploy.lock`)).toBeUndefined();
  }

  it('a device IP that drifted after it was read: node, reason, next step; nothing left running', async () => {
    await setFaults({ node2: [{ kind: 'device-ip-drift', npu: 3, actual: '29.9.9.9' }] });
    const r = await run('deploy', [cluster.deploymentPath]);
    await expectDaemonFailure(r, /^node2: its daemon exited/, /— the rank table holds a wrong or placeholder device_ip/);
    expect(r.error).toContain('Parameter device_ip is invalid in ranktable file');
    expect(r.hint).toMatch(/hccn_tool -i N -ip -g/);
    // the headline names the NPU, not only the quoted log
    expect((r.error ?? '').split('\n')[0]).toMatch(/\(node2 NPU 3: [\d.]+ in the rank table\)/);
  });

  it('a missing model on a worker reaches the daemon with --skip-preflight: node, reason, next step', async () => {
    await setFaults({ node2: [{ kind: 'model-missing' }] });
    const r = await run('deploy', [cluster.deploymentPath], { skipPreflight: true });
    await expectDaemonFailure(r, /^node2: its daemon exited/, /— the model path does not exist on this node/);
    expect(r.hint).toMatch(/model\.path/);
  });

  it('a missing model on a worker is caught by the preflight gate: exit 1, nothing started', async () => {
    await setFaults({ node2: [{ kind: 'model-missing' }] });
    const rec = recordDockerCalls(cluster);
    let r: InProcessResult;
    try {
      r = await run('deploy', [cluster.deploymentPath]);
    } finally {
      rec.restore();
    }
    expect(r.exitCode).toBe(1);
    expect(r.error).toMatch(/preflight failed: nothing was changed/);
    expect(r.stdout + r.stderr).toMatch(/node2/);
    expect(rec.calls.filter((c) => c.verb === 'run')).toEqual([]);
    expectNoContainer(cluster);
    // not even the lock's directory stays behind
    for (const n of cluster.nodes) expect(await remoteStat(cluster, n.name, REMOTE_DIR), n.name).toBeUndefined();
  });

  it('a port taken on the master reaches the daemon with --skip-preflight: node, reason, next step', async () => {
    await setFaults({ node1: [{ kind: 'port-taken', port: 1025 }] });
    const r = await run('deploy', [cluster.deploymentPath], { skipPreflight: true });
    await expectDaemonFailure(r, /^node1: its daemon exited/, /— another process already listens on one of the daemon's ports/);
    expect(r.error).toContain('listen port is occupied');
    expect(r.hint).toMatch(/ports:/);
  });

  it('a port taken on the master is caught by the preflight gate: exit 1, nothing started', async () => {
    await setFaults({ node1: [{ kind: 'port-taken', port: 1025 }] });
    const rec = recordDockerCalls(cluster);
    let r: InProcessResult;
    try {
      r = await run('deploy', [cluster.deploymentPath]);
    } finally {
      rec.restore();
    }
    expect(r.exitCode).toBe(1);
    expect(r.error).toMatch(/preflight failed/);
    expect(r.stdout + r.stderr).toMatch(/node1 \(127\.213\.0\.1\)[^\n]*\n[^\n]*ports\s+port 1025 already in use/);
    expect(rec.calls.filter((c) => c.verb === 'run')).toEqual([]);
    expectNoContainer(cluster);
  });

  it('a worker that never joins: the master\'s EI0006 names the node and what to do; nothing left running', async () => {
    await setFaults({ node2: [{ kind: 'worker-never-joins' }] });
    // A short HCCL window (1.2 s in the fast profile) instead of the rendered 7200 s (72 s here).
    const file = await variant(cluster, 'short-hccl.yaml', {}, ['env:', '  HCCL_CONNECT_TIMEOUT: "120"']);
    const r = await run('deploy', [file]);
    await expectDaemonFailure(r, /^node1: its daemon exited/, /— a node did not join HCCL initialisation within HCCL_CONNECT_TIMEOUT; it waited for node2 \(127\.213\.0\.2\)/);
    expect(r.error).toContain('EI0006');
    // the cleanup removes node2's container with its log: its last lines come with the error
    expect(r.hint).toMatch(/^node2 is the one to look at first \(its last lines are above\)/);
    expect(r.error).toMatch(/\nlast lines of node2 \(which node1 waited for\):\n/);
    expect(r.hint).not.toMatch(/ascendctl logs deepseek-r1 --node/);
    // it was started from here: status, logs and stop find it without arguments (contract)
    const st = await run('status', []);
    expect(st.exitCode, st.error).toBe(1);
    expect(st.stdout).toMatch(/node1\s+master\s+absent/);
    expect((await run('stop', [])).exitCode).toBe(0);
  });

  it('a worker that never joins, with the rendered 7200 s HCCL window: the readiness deadline comes first, and every node\'s lines are shown', async () => {
    await setFaults({ node2: [{ kind: 'worker-never-joins' }] });
    const r = await run('deploy', [cluster.deploymentPath], { timeout: '2s' });
    expect(r.exitCode, `${r.error}\n${r.stderr}`).toBe(1);
    expect(r.error).toMatch(/^node1: did not answer a one-token request within 2 s/);
    expect(r.error).toMatch(/\nlast lines of node1:\n/);
    expect(r.error).toMatch(/\nlast lines of node2:\n/);
    expect(r.hint).toMatch(/^every daemon still runs: a node that never joined HCCL holds the whole group back \(HCCL_CONNECT_TIMEOUT is 7200 s\)/);
    expectNothingRunning(cluster);
  });

  it('an unreachable master: exit 1 naming it, with a next step; nothing started', async () => {
    await setFaults({ node1: [{ kind: 'node-down' }] });
    const r = await run('deploy', [cluster.deploymentPath]);
    expect(r.exitCode, `${r.error}\n${r.stderr}`).toBe(1);
    expect(r.error).toMatch(/^node1 \(master\): /);
    expect(r.hint ?? '').not.toBe('');
    expectNoContainer(cluster);
  });

  it('an unreachable worker: the preflight gate reports it (ssh check), exit 1, nothing started or left', async () => {
    await setFaults({ node2: [{ kind: 'node-down' }] });
    const r = await run('deploy', [cluster.deploymentPath]);
    expect(r.exitCode, `${r.error}\n${r.stderr}`).toBe(1);
    expect(r.error).toMatch(/preflight failed/);
    expect(r.stdout + r.stderr).toMatch(/node2[^\n]*\n[^\n]*ssh/);
    expectNoContainer(cluster);
    expect(await remoteStat(cluster, 'node1', REMOTE_DIR)).toBeUndefined();
  });

  it('a pull that fails: node, reason, next step; nothing started', async () => {
    await setFaults({ node2: [{ kind: 'image-absent' }, { kind: 'pull-fails' }] });
    const r = await run('deploy', [cluster.deploymentPath]);
    await expectDaemonFailure(r, /node2/, /pull/i);
    expect(r.hint).toMatch(/--image-archive|registry/);
    expectNoContainer(cluster);
  });

  it('--image-archive of another image, or a broken one: exit 2 before any node is contacted', async () => {
    // Every node down: an archive that got as far as a node would fail with exit 1 instead.
    for (const n of cluster.nodes) await cluster.sim.nodeDown(n.name);
    try {
      const other = path.join(cluster.dir, 'other.tar');
      await writeFile(other, tarOf([
        { name: 'manifest.json', data: JSON.stringify([{ Config: 'blobs/sha256/cfg', RepoTags: ['example.com/other:1'], Layers: [] }]) },
      ]));
      const r = await run('deploy', [cluster.deploymentPath], { imageArchive: other });
      expect(r.exitCode, r.error).toBe(2);
      expect(r.error).toBe(`--image-archive ${other}: holds example.com/other:1, not ${DEMO_IMAGE}`);
      expect(r.hint).toContain(`docker save ${DEMO_IMAGE}`);

      const good = tarOf([
        { name: 'blobs/sha256/layer', data: Buffer.alloc(5000, 7) },
        { name: 'manifest.json', data: JSON.stringify([{ Config: 'blobs/sha256/cfg', RepoTags: [DEMO_IMAGE], Layers: [] }]) },
      ]);
      const cut = path.join(cluster.dir, 'cut.tar');
      await writeFile(cut, good.subarray(0, 3000));
      const truncated = await run('deploy', [cluster.deploymentPath], { imageArchive: cut });
      expect(truncated.exitCode).toBe(2);
      expect(truncated.error).toMatch(/is truncated/);

      const empty = path.join(cluster.dir, 'empty.tar');
      await writeFile(empty, '');
      expect((await run('deploy', [cluster.deploymentPath], { imageArchive: empty })).error).toBe(`--image-archive ${empty}: is empty`);
      expect((await run('deploy', [cluster.deploymentPath], { imageArchive: cluster.dir })).error).toBe(`--image-archive ${cluster.dir}: is a directory`);
    } finally {
      for (const n of cluster.nodes) await cluster.sim.nodeUp(n.name);
    }
    expectNoContainer(cluster);
  });

  it('a gzip archive of another image is found by docker load on the node: exit 1 naming the node', async () => {
    await setFaults({ node1: [{ kind: 'image-absent' }], node2: [{ kind: 'image-absent' }] });
    const archive = path.join(cluster.dir, 'other.tar.gz');
    await writeFile(archive, gzipSync(tarOf([
      { name: 'manifest.json', data: JSON.stringify([{ Config: 'blobs/sha256/cfg', RepoTags: ['example.com/other:1'], Layers: [] }]) },
    ])));
    const r = await run('deploy', [cluster.deploymentPath], { imageArchive: archive });
    expect(r.exitCode).toBe(1);
    expect(r.error).toMatch(/node[12]: the archive did not contain/);
    expectNoContainer(cluster);
  });

  it('--image-archive FILE on nodes without the image: loads it everywhere and comes up', async () => {
    await setFaults({ node1: [{ kind: 'image-absent' }, { kind: 'pull-fails' }], node2: [{ kind: 'image-absent' }, { kind: 'pull-fails' }] });
    const archive = path.join(cluster.dir, 'mindie.tar');
    await writeFile(archive, tarOf([
      { name: 'manifest.json', data: JSON.stringify([{ Config: 'blobs/sha256/cfg', RepoTags: [DEMO_IMAGE], Layers: [] }]) },
      { name: 'blobs/sha256/cfg', data: '{}' },
    ]));
    const r = await run('deploy', [cluster.deploymentPath], { imageArchive: archive });
    expect(r.exitCode, `${r.error}\n${r.stderr}`).toBe(0);
    for (const ids of Object.values(runningIds(cluster))) expect(ids).toHaveLength(1);
    expect((await run('status', [], { json: true })).json.healthy).toBe(true);
    expect((await run('stop', [])).exitCode).toBe(0);
    expectNoContainer(cluster);
  });
});

describe('deploy checks the model against the parallel sizes', () => {
  let cluster: DemoCluster;
  const run = runner(() => cluster);
  beforeAll(async () => {
    cluster = await startDemoCluster({
      nodes: 2, subnet: 216,
      parallel: { dataParallelSize: 1, tensorParallelSize: 16, moeTensorParallelSize: 1, moeExpertParallelSize: 16 },
    });
  });
  afterAll(async () => cluster?.stop());

  it('heads not divisible by tensorParallelSize: exit 2 naming the YAML path, nothing started', async () => {
    // A model with 40 attention heads (not R1): TP 16 cannot split them.
    const fs = cluster.sim.cluster.node('node1').fs;
    const config = JSON.parse((await fs.readFile('/data/models/DeepSeek-R1/config.json')).toString('utf8'));
    await fs.writeFile('/data/models/DeepSeek-R1/config.json', JSON.stringify({ ...config, num_attention_heads: 40 }), 0o640);
    const r = await run('deploy', ['deepseek-r1.yaml']);
    expect(r.exitCode, `${r.error}\n${r.stderr}`).toBe(2);
    expect(r.error).toMatch(/deepseek-r1\.yaml:\d+:\d+/);
    expect(r.error).toMatch(/parallel\.tensorParallelSize/);
    expect(r.error).toMatch(/40/);
    expectNoContainer(cluster);
  });
});

describe('one node: vllm-ascend serves it (what the mindie one-node refusal suggests)', () => {
  let cluster: DemoCluster;
  const run = runner(() => cluster);
  beforeAll(async () => {
    cluster = await startDemoCluster({ nodes: 1, subnet: 220 });
    await writeFile(path.join(cluster.dir, 'one.yaml'), [
      'name: one', 'inventory: inventory.yaml', 'backend: vllm-ascend', 'image: quay.io/ascend/vllm-ascend:v0.13.0',
      'model:', '  path: /data/models/DeepSeek-R1', '  name: deepseek-r1',
      'parallel:', '  dataParallelSize: 1', '  tensorParallelSize: 8', '  moeTensorParallelSize: 1', '  moeExpertParallelSize: 8',
      'ports:', '  http: 8000', '  management: 8000', '  metrics: 8000', '  multiNodesInfer: 13389', '',
    ].join('\n'));
  });
  afterAll(async () => cluster?.stop());

  it('deploys, answers chat, stops', async () => {
    const r = await run('deploy', ['one.yaml']);
    expect(r.exitCode, `${r.error}\n${r.hint}\n${r.stderr}`).toBe(0);
    const chat = await run('chat', ['one'], { prompt: 'hello', json: true });
    expect(chat.exitCode, `${chat.error}\n${chat.stderr}`).toBe(0);
    expect(chat.json.content.length).toBeGreaterThan(0);
    expect((await run('stop', ['one'])).exitCode).toBe(0);
  });
});

describe('deploy with the vllm-ascend backend', () => {
  let cluster: DemoCluster;
  const run = runner(() => cluster);
  beforeAll(async () => {
    cluster = await startDemoCluster({ nodes: 2, subnet: 217 });
    // R1 W8A8 on 2 × A2 as the vllm-ascend tutorial runs it: DP 4 (2 per node), TP 4, expert parallel.
    await writeFile(path.join(cluster.dir, 'r1-vllm.yaml'), [
      'name: r1-vllm',
      'inventory: inventory.yaml',
      'backend: vllm-ascend',
      'image: quay.io/ascend/vllm-ascend:v0.13.0',
      'model:',
      '  path: /data/models/DeepSeek-R1',
      '  name: deepseek-r1',
      'parallel:',
      '  dataParallelSize: 4',
      '  tensorParallelSize: 4',
      '  moeTensorParallelSize: 1',
      '  moeExpertParallelSize: 16',
      'ports:',
      '  http: 8000',
      '  management: 8000',
      '  metrics: 8000',
      '  multiNodesInfer: 13389',
      'vllm:',
      '  dataParallelSizeLocal: 2',
      '',
    ].join('\n'));
  });
  afterAll(async () => cluster?.stop());

  it('the head serves the API, the other node runs headless, and a chat request is answered', async () => {
    const r = await run('deploy', ['r1-vllm.yaml']);
    expect(r.exitCode, `${r.error}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/endpoint\s+http:\/\/127\.217\.0\.1:8000\/v1/);
    const launch2 = (await cluster.sim.cluster.node('node2').fs.readFile('/var/lib/ascendctl/r1-vllm/launch.sh')).toString('utf8');
    expect(launch2).toMatch(/--headless/);
    expect(launch2).toMatch(/--data-parallel-start-rank['"]? ['"]?2/);
    const chat = await run('chat', ['r1-vllm'], { prompt: 'hello', json: true });
    expect(chat.exitCode, `${chat.error}\n${chat.stderr}`).toBe(0);
    expect(chat.json.content.length).toBeGreaterThan(0);
    expect(chat.json.usage.completion_tokens).toBeGreaterThan(0);
    const stop = await run('stop', ['r1-vllm']);
    expect(stop.exitCode).toBe(0);
    for (const n of cluster.nodes) {
      const rt = runtimeOf(cluster.sim.cluster, n.name)!;
      expect(rt.containers.filter((x) => x.name === 'ascendctl-r1-vllm')).toEqual([]);
    }
  });
});
