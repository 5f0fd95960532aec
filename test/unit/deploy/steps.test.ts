/**
 * Each deploy step on fake nodes (fake-node.ts): what it runs on which node, in which order, what it
 * reports, what it fails with, and which undos it registers.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ClusterError } from '../../../src/errors.js';
import { RemoteError } from '../../../src/remote/transport.js';
import type { PreflightResult } from '../../../src/preflight/run.js';
import type { LoadedDeployment } from '../../../src/config/deployment.js';
import type { Inventory } from '../../../src/config/inventory.js';
import { StepRunner } from '../../../src/deploy/steps/runner.js';
import { lockStep, releaseLock, LOCK } from '../../../src/deploy/steps/lock.js';
import { gateStep, type GateOptions } from '../../../src/deploy/steps/gate.js';
import { imageStep } from '../../../src/deploy/steps/image.js';
import { stopPreviousStep, uploadStep } from '../../../src/deploy/steps/upload.js';
import { startMasterStep, startWorkersStep } from '../../../src/deploy/steps/start.js';
import { readinessStep, type ReadinessOptions } from '../../../src/deploy/steps/ready.js';
import { deploymentRecord, recordStep } from '../../../src/deploy/steps/record.js';
import { fakeCluster, rendering } from './fake-node.js';

const DIR = '/var/lib/ascendctl/r1';
const runner = (signal = new AbortController().signal) => new StepRunner(signal, () => new Error('interrupted'));
/** A step's rejection, as the error it is; a step that succeeds where it must fail fails the test. */
const refused = (): never => expect.fail('the step must fail');
const caught = (e: unknown): ClusterError => e as ClusterError;

describe('lock', () => {
  it('takes the lock with mkdir and writes who holds it; a first deploy created the directory', async () => {
    const c = fakeCluster(['node1', 'node2']);
    const held = await runner().run(lockStep(c.env), { master: c.fake('node1') });
    expect(held).toEqual({ createdDir: true });
    expect(c.fake('node1').calls).toEqual([
      ['mkdir', '-p', '/var/lib/ascendctl'], ['mkdir', '-m', '750', DIR], ['mkdir', '-m', '750', `${DIR}/${LOCK}`],
    ]);
    expect(c.fake('node1').uploads.map((u) => [u.path, u.mode])).toEqual([[`${DIR}/${LOCK}/owner`, 0o640]]);
    expect(c.fake('node2').calls).toEqual([]);
    expect(c.said.lines).toEqual(['step: locking r1 on node1']);
  });

  it('a lock another deploy holds: refused, naming the holder and how to remove a dead one', async () => {
    const c = fakeCluster(['node1']);
    c.answer((_, argv) => {
      if (argv[0] === 'mkdir' && argv[1] === '-m') return { code: 1, stderr: 'mkdir: File exists' };
      if (argv[0] === 'cat') return { stdout: 'ops@jump pid 42 since 2026-01-01T00:00:00.000Z\n' };
      return undefined;
    });
    const err = await runner().run(lockStep(c.env), { master: c.fake('node1') }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClusterError);
    expect((err as ClusterError).message).toBe('another deploy of r1 holds the lock on node1 (ops@jump pid 42 since 2026-01-01T00:00:00.000Z)');
    expect((err as ClusterError).hint).toContain(`ssh root@127.0.0.1 rm -rf ${DIR}/${LOCK}`);
    expect(c.fake('node1').uploads).toEqual([]);
  });

  it('a directory that cannot be created: says where ascendctl keeps its files', async () => {
    const c = fakeCluster(['node1']);
    c.answer((_, argv) => (argv[0] === 'mkdir' || argv[0] === 'test' ? { code: 1, stderr: 'mkdir: Permission denied' } : undefined));
    await expect(runner().run(lockStep(c.env), { master: c.fake('node1') })).rejects.toThrow(`node1: cannot create ${DIR}/${LOCK}: mkdir: Permission denied`);
  });

  it('release removes the whole directory only when this deploy created it and changed nothing', async () => {
    const c = fakeCluster(['node1']);
    const t = c.fake('node1');
    await releaseLock(t, DIR, { createdDir: true }, false);
    await releaseLock(t, DIR, { createdDir: true }, true);
    await releaseLock(t, DIR, { createdDir: false }, false);
    expect(t.calls).toEqual([['rm', '-rf', DIR], ['rm', '-rf', `${DIR}/${LOCK}`], ['rm', '-rf', `${DIR}/${LOCK}`]]);
    t.handler = () => { throw new RemoteError('channel', 'node1', 'dropped'); };
    await expect(releaseLock(t, DIR, { createdDir: false }, true)).resolves.toBeUndefined();
  });
});

function preflightResult(ok: boolean, over: Partial<PreflightResult> = {}): PreflightResult {
  return { ok, findings: [], facts: [], nodes: [], fixed: [], ...over };
}

describe('gate', () => {
  const running = JSON.stringify({ Status: 'running', Running: true, ExitCode: 0 });

  it('what runs decides which ports are ours; the preflight\'s device IPs and the master\'s record come back', async () => {
    const c = fakeCluster(['node1', 'node2']);
    c.answer((node, argv) => {
      if (argv[1] === 'inspect') return node === 'node1' ? { stdout: running } : { code: 1, stderr: 'Error: No such object: ascendctl-r1' };
      if (argv[0] === 'cat') return { stdout: JSON.stringify({ name: 'r1', digest: 'sha-0' }) };
      return undefined;
    });
    let ports: Record<string, number[]> | undefined;
    const facts = [{ node: 'node1', npus: [{ ip: { kind: 'ok', value: { address: '10.0.0.1' } } }, {}] }, { node: 'node2', npus: [] }];
    const gate = await runner().run(gateStep(c.env, {
      skipPreflight: false, npusPerNode: 2,
      preflight: async (own) => { ports = own; return preflightResult(true, { facts: facts as unknown as PreflightResult['facts'] }); },
      readDeviceIps: () => expect.fail('the preflight reads them'),
    }), { master: c.fake('node1') });
    expect(ports).toEqual({ node1: [1025, 1026, 1027, 1120] });
    expect(gate.deviceIps).toEqual({ node1: ['10.0.0.1', ''], node2: ['', ''] });
    expect(gate.existing.get('node1')?.running).toBe(true);
    expect(gate.existing.get('node2')).toBeUndefined();
    expect(gate.remoteRecord?.digest).toBe('sha-0');
    expect(c.said.lines).toEqual(['step: preflight on 2 nodes', 'preflight: ok']);
  });

  it('a failed preflight stops the deploy: exit 1, the failing nodes named, unreachable ones as such', async () => {
    const c = fakeCluster(['node1', 'node2', 'node3']);
    const gate = (findings: unknown[]) => runner().run(gateStep(c.env, {
      skipPreflight: false, npusPerNode: 8,
      preflight: async () => preflightResult(false, { findings: findings as PreflightResult['findings'] }),
      readDeviceIps: async () => ({}),
    }), { master: c.fake('node1') }).then(refused, caught);
    const ssh = await gate([{ node: 'node2', check: 'ssh', status: 'fail' }, { node: 'node3', check: 'ssh', status: 'fail' }]);
    expect(ssh.message).toBe('preflight failed: nothing was changed on the nodes');
    expect([ssh.info.code, ssh.info.node]).toEqual(['unreachable', 'node[2-3]']);
    const links = await gate([{ node: 'node2', check: 'link', status: 'fail' }, { node: 'node1', check: 'ssh', status: 'ok' }]);
    expect([links.info.code, links.info.node]).toEqual(['preflight-failed', 'node2']);
  });

  it('--skip-preflight: device IPs are read instead, and an unreachable node fails at once naming it', async () => {
    const c = fakeCluster(['node1', 'node2']);
    const opts: GateOptions = {
      skipPreflight: true, npusPerNode: 1,
      preflight: () => expect.fail('skipped'),
      readDeviceIps: async () => ({ node1: ['10.0.0.1'], node2: ['10.0.0.2'] }),
    };
    const gate = await runner().run(gateStep(c.env, opts), { master: c.fake('node1') });
    expect(gate.deviceIps).toEqual({ node1: ['10.0.0.1'], node2: ['10.0.0.2'] });
    expect(c.said.lines).toEqual(['step: reading the NPU addresses (hccn_tool -ip -g) on 2 nodes']);
    c.fake('node2').handler = () => { throw new RemoteError('connect', 'node2', 'connect ECONNREFUSED', 'is sshd running?'); };
    const err = await runner().run(gateStep(c.env, opts), { master: c.fake('node1') }).then(refused, caught);
    expect([err.message, err.hint, err.info.code, err.info.node]).toEqual(['node2: connect ECONNREFUSED', 'is sshd running?', 'unreachable', 'node2']);
  });
});

describe('image', () => {
  it('present: nothing pulled; missing: pulled with progress, on the node\'s own runtime', async () => {
    const c = fakeCluster(['node1', 'node2'], { runtime: 'podman' });
    c.answer((node, argv) => {
      if (argv[1] === 'image') return node === 'node1' ? { stdout: 'sha256:1' } : { code: 125, stderr: 'Error: no such image' };
      if (argv[1] === 'pull') return { stdout: 'abc123: Pull complete\nStatus: Downloaded newer image\n' };
      return undefined;
    });
    await runner().run(imageStep(c.env), {});
    expect(c.fake('node1').calls.map((a) => a.slice(0, 2))).toEqual([['podman', 'image']]);
    expect(c.fake('node2').calls.map((a) => a.slice(0, 2))).toEqual([['podman', 'image'], ['podman', 'pull']]);
    expect(c.said.lines).toEqual([
      'step: image mindie:test on every node', 'node1: image present', 'node2: pulling mindie:test',
      'node2: layer abc123 pull complete', 'node2: image pulled',
    ]);
  });

  it('a failed pull names the node, the registry\'s words and the way around it', async () => {
    const c = fakeCluster(['node1', 'node2']);
    c.answer((node, argv) => (argv[1] === 'image' ? { code: 1 } : argv[1] === 'pull' && node === 'node2' ? { code: 1, stderr: '\nError: dial tcp: i/o timeout\n' } : undefined));
    const err = await runner().run(imageStep(c.env), {}).then(refused, caught);
    expect(err.message).toBe('node2: pulling mindie:test failed: Error: dial tcp: i/o timeout');
    expect(err.hint).toMatch(/--image-archive FILE/);
  });

  it('--image-archive: streamed into `load` on each node without the image; an archive of another image fails naming the node', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'steps-image-'));
    const archive = path.join(dir, 'image.tar');
    await writeFile(archive, 'tar bytes');
    const c = fakeCluster(['node1']);
    let loaded = 0;
    const stdin: unknown[] = [];
    c.answer((_, argv, o) => {
      if (argv[1] === 'load') { loaded++; stdin.push(o.stdin); return { stdout: 'Loaded image: other:1\n' }; }
      if (argv[1] === 'image') return { code: loaded ? 0 : 1 };
      return undefined;
    });
    await runner().run(imageStep(c.env), { imageArchive: archive });
    expect(c.said.lines).toEqual([`step: loading mindie:test from ${archive}`, `node1: loading ${archive}`, 'node1: image loaded']);
    expect(stdin[0]).toBeDefined();
    c.answer((_, argv) => (argv[1] === 'load' ? { stdout: 'Loaded image: other:1\n' } : argv[1] === 'image' ? { code: 1 } : undefined));
    await expect(runner().run(imageStep(c.env), { imageArchive: archive })).rejects.toThrow('node1: the archive did not contain mindie:test (Loaded image: other:1)');
  });
});

describe('stop previous and upload', () => {
  it('stops the previous containers workers first, then the master, with time for MindIE to exit', async () => {
    const c = fakeCluster(['node1', 'node2', 'node3']);
    await runner().run(stopPreviousStep(c.env), { changed: true });
    const stops = c.log.filter((l) => l.includes(' stop '));
    expect(stops.at(-1)).toBe('node1: docker stop -t 30 ascendctl-r1');
    expect(stops.slice(0, 2).sort()).toEqual(['node2: docker stop -t 30 ascendctl-r1', 'node3: docker stop -t 30 ascendctl-r1']);
    expect(c.said.lines).toEqual(['step: the deployment changed: stopping the running one (workers first)']);
  });

  it('a container that will not stop fails the step with the runtime\'s words', async () => {
    const c = fakeCluster(['node1', 'node2']);
    c.fake('node2').handler = (argv) => (argv[1] === 'stop' ? { code: 1, stderr: 'Error: permission denied\n' } : undefined);
    await expect(runner().run(stopPreviousStep(c.env), { changed: false })).rejects.toThrow('Error: permission denied');
    expect(c.fake('node1').calls).toEqual([]); // the master is left alone when a worker did not stop
  });

  it('uploads each node\'s own files with their mode, and registers nothing to undo', async () => {
    const c = fakeCluster(['node1', 'node2']);
    const r = runner();
    await r.run(uploadStep(c.env), { rendered: rendering(c.nodes) });
    expect(c.fake('node1').uploads).toEqual([{ path: `${DIR}/env-node1`, content: 'NODE=node1\n', mode: 0o640 }]);
    expect(c.fake('node2').uploads).toEqual([{ path: `${DIR}/env-node2`, content: 'NODE=node2\n', mode: 0o640 }]);
    expect(r.undos).toEqual([]);
    expect(c.said.lines).toEqual([`step: uploading 1 files to every node (${DIR}, mode 640)`]);
  });
});

describe('start master, start workers', () => {
  it('removes a leftover, registers the stop before `run`, and starts the master then every worker', async () => {
    const c = fakeCluster(['node1', 'node2', 'node3']);
    const r = runner();
    const rendered = rendering(c.nodes);
    const m = await r.run(startMasterStep(c.env), { rendered });
    expect(c.log).toEqual(['node1: docker rm -f ascendctl-r1', `node1: ${rendered.nodes[0]!.containerArgv.join(' ')}`]);
    await r.run(startWorkersStep(c.env), { rendered, master: m });
    expect(r.undos.map((u) => [u.node, u.group, u.what])).toEqual([
      ['node1', 'master', 'docker stop ascendctl-r1'], ['node2', 'workers', 'docker stop ascendctl-r1'], ['node3', 'workers', 'docker stop ascendctl-r1'],
    ]);
    expect(c.said.lines[0]).toBe('step: starting node1 (master), then 2 workers');
    expect(c.said.lines).toContain('node3: started (worker)');
    expect(c.said.lines.at(-1)).toMatch(/^detail: all 3 daemons started within \d+\.\d s$/);
    // the undo stops and removes, workers before the master
    c.log.length = 0;
    await r.unwind(() => undefined);
    expect(c.log.at(-2)).toBe('node1: docker stop -t 30 ascendctl-r1');
    expect(c.log.at(-1)).toBe('node1: docker rm -f ascendctl-r1');
  });

  it('a worker that fails to start: named, with the next step; the others are waited for and every undo is registered', async () => {
    const c = fakeCluster(['node1', 'node2', 'node3']);
    c.fake('node2').handler = (argv) => (argv[1] === 'run' ? { code: 125, stderr: 'docker: Error response from daemon: device busy.\n' } : undefined);
    const r = runner();
    const rendered = rendering(c.nodes);
    const m = await r.run(startMasterStep(c.env), { rendered });
    const err = await r.run(startWorkersStep(c.env), { rendered, master: m }).then(refused, caught);
    expect(err.message).toBe('node2: starting the container failed: docker: Error response from daemon: device busy.');
    expect(err.hint).toMatch(/deploy --dry-run/);
    expect(c.fake('node3').calls.some((a) => a[1] === 'run')).toBe(true);
    expect(r.undoNodes).toEqual(['node1', 'node2', 'node3']);
  });

  it('a master that fails to start leaves its own undo and starts no worker', async () => {
    const c = fakeCluster(['node1', 'node2']);
    c.fake('node1').handler = (argv) => (argv[1] === 'run' ? { code: 1, stderr: 'no space left on device' } : undefined);
    const r = runner();
    await expect(r.run(startMasterStep(c.env), { rendered: rendering(c.nodes) })).rejects.toThrow('node1: starting the container failed: no space left on device');
    expect(r.undoNodes).toEqual(['node1']);
    expect(c.fake('node2').calls).toEqual([]);
  });

  it('podman drops --shm-size next to --ipc=host; a docker that is podman underneath is retried without it', async () => {
    const p = fakeCluster(['node1'], { runtime: 'podman' });
    await runner().run(startMasterStep(p.env), { rendered: rendering(p.nodes) });
    expect(p.fake('node1').calls[1]).toEqual(['podman', 'run', '-d', '--name', 'ascendctl-r1', '--ipc=host', 'mindie:test']);
    const d = fakeCluster(['node1']);
    d.answer((_, argv) => (argv[1] === 'run' && argv.some((a) => a.startsWith('--shm-size='))
      ? { code: 125, stderr: 'Error: cannot set shmsize when running in the host IPC Namespace' } : undefined));
    await runner().run(startMasterStep(d.env), { rendered: rendering(d.nodes) });
    expect(d.fake('node1').calls.filter((a) => a[1] === 'run').map((a) => a.includes('--shm-size=500g'))).toEqual([true, false]);
  });
});

describe('readiness', () => {
  let server: Server | undefined;
  afterEach(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = undefined;
  });

  const opts = (over: Partial<ReadinessOptions> = {}): ReadinessOptions => ({
    timeoutMs: 60_000, pollMs: 10, keepOnFailure: false, liveDeviceIps: async () => undefined, ...over,
  });
  const direct = { target: { name: 'node1' }, endpoint: {}, openTcp: () => Promise.reject(new Error('direct')) };
  const running = JSON.stringify({ Status: 'running', Running: true, ExitCode: 0 });

  async function serve(): Promise<string> {
    server = createServer((req, res) => {
      if (req.url === '/health') return void res.end('ok');
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ choices: [{ message: { content: 'p' } }] }));
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server!.address() as AddressInfo).port}`;
  }

  it('ready once the master answers a one-token request; the route is handed over before the wait', async () => {
    const c = fakeCluster(['node1', 'node2']);
    c.answer(() => ({ stdout: running }));
    const base = await serve();
    const routed: (string | undefined)[] = [];
    const out = await runner().run(readinessStep(c.env, opts()), {
      target: { endpoint: base, managementEndpoint: base, model: 'deepseek-r1' }, tunnel: direct,
      addresses: new Map(), renderedIps: {}, onRouted: async (via) => void routed.push(via),
    });
    expect(out).toEqual({ readyOverheadMs: 0 });
    expect(routed).toEqual([undefined]);
    expect(c.said.lines[0]).toBe('step: waiting for deepseek-r1 to answer (loading weights takes minutes for a 671B model; deadline 1 min)');
  });

  it('a worker whose daemon exits: named with its last lines and the peer it waited for, whose lines are shown too', async () => {
    const c = fakeCluster(['node1', 'node2']);
    const exited = JSON.stringify({ Status: 'exited', Running: false, ExitCode: 1, FinishedAt: '2026-01-01T00:00:01Z' });
    c.answer((node, argv) => {
      if (argv[1] === 'inspect') return { stdout: node === 'node2' ? exited : running };
      if (argv[1] === 'logs') return { stdout: node === 'node2' ? 'EI0006: Get_Socket_Timeout waiting for 10.0.0.1\n' : 'master waiting\n' };
      return undefined;
    });
    const err = await runner().run(readinessStep(c.env, opts()), {
      // nothing listens on port 9 of 127.0.0.1: the probe keeps saying "loading" until the watch sees the exit
      target: { endpoint: 'http://127.0.0.1:9', model: 'deepseek-r1' }, tunnel: direct,
      addresses: new Map([['node1', '10.0.0.1'], ['node2', '10.0.0.2']]), renderedIps: {}, onRouted: async () => undefined,
    }).then(refused, caught);
    expect(err).toBeInstanceOf(ClusterError);
    expect(err.info.node).toBe('node2');
    expect(err.message).toMatch(/^node2: its daemon exited with status 1 while the model was starting/);
    expect(err.message).toContain('it waited for node1 (10.0.0.1)');
    expect(err.message).toContain('last lines of node1 (which node2 waited for):\n  master waiting');
    expect(err.hint).toMatch(/^node1 is the one to look at first/);
  });
});

describe('record', () => {
  it('the record names every node and role, the endpoints, and a tunnel when HTTP goes over SSH; written to the master with mode 640', async () => {
    const c = fakeCluster(['node1', 'node2']);
    const facts = {
      loaded: { absolutePath: '/work/r1.yaml' } as LoadedDeployment,
      inventory: { absolutePath: '/work/inventory.yaml' } as Inventory,
      target: { endpoint: 'http://10.0.0.1:1025', managementEndpoint: 'http://10.0.0.1:1026', model: 'deepseek-r1' },
      addresses: new Map([['node1', '10.0.0.1'], ['node2', '10.0.0.2']]),
      rendered: rendering(c.nodes, 'sha-9'),
    };
    const direct = deploymentRecord(c.env, { ...facts, via: undefined });
    expect(direct).toMatchObject({
      name: 'r1', deploymentFile: '/work/r1.yaml', inventoryFile: '/work/inventory.yaml', backend: 'mindie',
      endpoint: 'http://10.0.0.1:1025', managementEndpoint: 'http://10.0.0.1:1026', model: 'deepseek-r1',
      nodes: [{ name: 'node1', address: '10.0.0.1', role: 'master' }, { name: 'node2', address: '10.0.0.2', role: 'worker' }],
      container: 'ascendctl-r1', digest: 'sha-9',
    });
    expect(direct.tunnel).toBeUndefined();
    expect(deploymentRecord(c.env, { ...facts, via: 'through node1\'s SSH connection' }).tunnel).toBe(true);
    await runner().run(recordStep(c.env), { master: c.fake('node1'), record: direct });
    const [up] = c.fake('node1').uploads;
    expect([up?.path, up?.mode]).toEqual([`${DIR}/record.json`, 0o640]);
    expect(JSON.parse(up!.content)).toEqual(direct);
  });
});
