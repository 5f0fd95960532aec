import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'ssh2';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { SimCluster } from '../../../src/sim/cluster.js';
import { parseClusterSpec } from '../../../src/sim/cluster-spec.js';
import { startSimCluster, type RunningSimCluster } from '../../../src/sim/main.js';
import { generateEd25519 } from '../../../src/sim/ssh-server.js';
import { startControlApi } from '../../harness/control-api.js';
import { DirFs } from '../../harness/dir-fs.js';
import { parseServeArgs, parseServeSpec } from '../../harness/serve.js';
import { parseRequest, replyStatement, shimScript, ShimServer, writeShims } from '../../harness/shim-server.js';

const tmp = mkdtempSync(join(tmpdir(), 'simfront-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let running: RunningSimCluster | undefined;
let controlApi: Awaited<ReturnType<typeof startControlApi>> | undefined;
afterEach(async () => {
  await running?.stop();
  await controlApi?.close();
  running = undefined;
  controlApi = undefined;
});

/** The control API of the test rig (test/harness/control-api.ts) in front of `running`; resolves with its URL. */
async function controlUrlOf(cluster: RunningSimCluster): Promise<string> {
  controlApi = await startControlApi(cluster, 0);
  return controlApi.url;
}

interface SshResult { code: number | null; stdout: string; stderr: string }

function connect(host: string, port: number, privateKey: string): Promise<Client> {
  return new Promise((resolve, reject) => {
    const c = new Client();
    c.once('ready', () => resolve(c)).on('error', reject).connect({ host, port, username: 'root', privateKey, readyTimeout: 10_000 });
  });
}

function exec(c: Client, command: string, stdin?: string): Promise<SshResult> {
  return new Promise((resolve, reject) => {
    c.exec(command, (err, ch) => {
      if (err) return reject(err);
      let stdout = '';
      let stderr = '';
      let code: number | null = null;
      ch.on('data', (d: Buffer) => { stdout += d.toString(); });
      ch.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
      ch.on('exit', (c2: number | null) => { code = c2; });
      ch.on('close', () => resolve({ code, stdout, stderr }));
      if (stdin !== undefined) ch.end(stdin);
      else ch.end();
    });
  });
}

const spec = (n = 2, port = 0) => parseClusterSpec({
  profile: 'fast',
  nodes: Array.from({ length: n }, (_, i) => ({ name: `node${i + 1}`, host: `127.0.${40 + i}.1`, sshPort: port || 22000 + Math.floor(Math.random() * 20000) })),
});

describe('ssh2 front-end', () => {
  it('runs commands end to end with the ssh2 client, stdin included, and checks host keys and auth', async () => {
    running = await startSimCluster({ spec: spec(), front: 'ssh2', withContainerRuntime: false });
    const [n1] = running.nodes;
    if (!n1 || !running.clientKey) throw new Error('no node');
    expect(n1.knownHostsLine).toMatch(/^\[127\.0\.40\.1\]:\d+ ssh-ed25519 AAAA/);
    const c = await connect(n1.host, n1.sshPort, running.clientKey.private);
    const r = await exec(c, '/usr/local/Ascend/driver/tools/hccn_tool -i 0 -link -g');
    expect(r).toEqual({ code: 0, stdout: 'link status: UP\n', stderr: '' });
    // Many concurrent channels on one connection.
    const many = await Promise.all(Array.from({ length: 8 }, (_, i) => exec(c, `echo ${i}; hostname`)));
    expect(many.map((m) => m.stdout)).toEqual(Array.from({ length: 8 }, (_, i) => `${i}\nnode1\n`));
    expect(await exec(c, 'cat', 'from stdin')).toEqual({ code: 0, stdout: 'from stdin', stderr: '' });
    expect((await exec(c, 'nope')).code).toBe(127);
    c.end();
    // An unknown key is refused.
    const other = generateEd25519();
    await expect(connect(n1.host, n1.sshPort, other.private)).rejects.toThrow(/authentication/i);
  });

  it('closing the channel aborts the command; dropConnections cuts live connections; node-down stops listening', async () => {
    running = await startSimCluster({ spec: spec(1), front: 'ssh2', withContainerRuntime: false });
    const controlUrl = await controlUrlOf(running);
    const [n1] = running.nodes;
    if (!n1 || !running.clientKey) throw new Error('no node');
    const c = await connect(n1.host, n1.sshPort, running.clientKey.private);
    const closed = new Promise<void>((resolve) => c.once('close', () => resolve()));
    const pending = exec(c, 'sleep 30');
    await new Promise((r) => setTimeout(r, 50));
    const res = await fetch(`${controlUrl}/nodes/node1/drop`, { method: 'POST' });
    expect(await res.json()).toEqual({ node: 'node1', dropped: 1 });
    await closed;
    expect((await pending).code).toBeNull();
    await fetch(`${controlUrl}/nodes/node1/down`, { method: 'POST' });
    await expect(connect(n1.host, n1.sshPort, running.clientKey.private)).rejects.toThrow(/ECONNREFUSED/);
    await fetch(`${controlUrl}/nodes/node1/up`, { method: 'POST' });
    const again = await connect(n1.host, n1.sshPort, running.clientKey.private);
    expect((await exec(again, 'echo back')).stdout).toBe('back\n');
    again.end();
  });
});

describe('control API', () => {
  it('GET /state and PUT /nodes/:name/faults replace faults', async () => {
    running = await startSimCluster({ spec: spec(2), front: 'none', withContainerRuntime: false });
    const controlUrl = await controlUrlOf(running);
    const put = await fetch(`${controlUrl}/nodes/node2/faults`, { method: 'PUT', body: JSON.stringify([{ kind: 'link-down', npu: 1 }]) });
    expect(put.status).toBe(200);
    const state = (await (await fetch(`${controlUrl}/state`)).json()) as { nodes: { name: string; faults: unknown[] }[] };
    expect(state.nodes.find((n) => n.name === 'node2')?.faults).toEqual([{ kind: 'link-down', npu: 1 }]);
    expect(running.cluster.node('node2').link(1)).toBe('DOWN');
    const bad = await fetch(`${controlUrl}/nodes/node2/faults`, { method: 'PUT', body: JSON.stringify([{ kind: 'bogus' }]) });
    expect(bad.status).toBe(400);
    expect((await fetch(`${controlUrl}/nodes/nodeX/down`, { method: 'POST' })).status).toBe(404);
  });

  it('parses serve arguments and rejects bad specs', () => {
    expect(parseServeArgs(['serve', '--spec', 's.json', '--front', 'shim', '--fs', 'dir:/proc/{pid}/root', '--control-port', '0']))
      .toEqual({ spec: 's.json', front: 'shim', fs: 'dir:/proc/{pid}/root', controlPort: 0 });
    expect(() => parseServeArgs(['serve'])).toThrow(/--spec is required/);
    // The rig's own node fields come off before src/sim's spec check, which refuses unknown fields.
    const served = parseServeSpec({
      nodes: [{ name: 'a', host: '127.0.0.2', pid: 42 }, { name: 'b', host: '127.0.0.3', fsRoot: '/r' }],
    });
    expect(served.roots).toEqual([{ pid: 42 }, { fsRoot: '/r' }]);
    expect(served.spec.nodes.map((n) => n.name)).toEqual(['a', 'b']);
    expect(() => parseServeSpec({ nodes: [{ name: 'a', host: '127.0.0.2', pid: 0 }] })).toThrow(/nodes\.0\.pid/);
    expect(() => parseClusterSpec({ nodes: [{ name: 'a', host: '127.0.0.2', pid: 42 }] })).toThrow(/pid/);
    expect(() => parseClusterSpec({ nodes: [{ name: 'a', host: '10.0.0.1' }] })).toThrow(/loopback/);
    expect(() => parseClusterSpec({ nodes: [{ name: 'a', host: '127.0.0.2' }, { name: 'a', host: '127.0.0.3' }] })).toThrow(/duplicate/);
  });
});

function runBash(script: string, args: string[], stdin?: string): Promise<SshResult> {
  const path = join(tmp, `shim-${Math.random().toString(36).slice(2)}.sh`);
  writeFileSync(path, script, { mode: 0o755 });
  return new Promise((resolve) => {
    const child = spawn('bash', [path, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString('latin1'); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin ?? '');
  });
}

describe('shim front-end with real bash', () => {
  it('runs hccn_tool for the named node and replays stdout, stderr and the exit status', async () => {
    const cluster = new SimCluster(parseClusterSpec({ profile: 'fast', nodes: [{ name: 'node1', host: '127.0.1.1', faults: [{ kind: 'no-ip', npu: 2 }] }] }));
    await cluster.start();
    const shim = new ShimServer(cluster);
    const port = await shim.listen(0);
    try {
      const script = shimScript('hccn_tool', 'node1', port);
      expect(await runBash(script, ['-i', '0', '-link', '-g'])).toEqual({ code: 0, stdout: 'link status: UP\n', stderr: '' });
      expect(await runBash(script, ['-i', '2', '-ip', '-g'])).toEqual({ code: 13, stdout: '', stderr: 'Get ipconf failed, because no ip was preset there!\n' });
      const npuSmi = await runBash(shimScript('npu-smi', 'node1', port), ['info']);
      expect(npuSmi.stdout.split('\n')[1]).toContain('npu-smi 25.2.0');
      // Binary-safe replay and stdin forwarding for programs that read it.
      cluster.node('node1').programs.set('docker', async (argv, io) => {
        let got = '';
        if (io.stdin) for await (const c of io.stdin) got += c.toString();
        await io.stdout(Buffer.from([0x25, 0x27, 0x5c, 0x00, 0x0a, 0xff]));
        await io.stderr(`args=${argv.join('|')} stdin=${got}\n`);
        return 3;
      });
      const d = await runBash(shimScript('docker', 'node1', port), ['load', "it's %s"], 'TARBYTES');
      expect(d.code).toBe(3);
      expect(Buffer.from(d.stdout, 'latin1')).toEqual(Buffer.from([0x25, 0x27, 0x5c, 0x00, 0x0a, 0xff]));
      expect(d.stderr).toBe("args=load|it's %s stdin=TARBYTES\n");
    } finally {
      await shim.close();
      cluster.stop();
    }
  });

  it('a killed shim aborts the program (the hang releases, the channel stays held)', async () => {
    const cluster = new SimCluster(parseClusterSpec({ profile: 'fast', nodes: [{ name: 'node1', host: '127.0.1.1', faults: [{ kind: 'hang' }] }] }));
    await cluster.start();
    const shim = new ShimServer(cluster);
    const port = await shim.listen(0);
    try {
      const path = join(tmp, 'hang.sh');
      writeFileSync(path, shimScript('hccn_tool', 'node1', port), { mode: 0o755 });
      const r = await new Promise<number | null>((resolve) => {
        const child = spawn('timeout', ['0.3', 'bash', path, '-i', '0', '-link', '-g'], { stdio: 'ignore' });
        child.on('close', (code) => resolve(code));
      });
      expect(r).toBe(124);
      for (let i = 0; i < 100 && cluster.node('node1').hccnChannel.heldUntil === 0; i++) await new Promise((res) => setTimeout(res, 20));
      expect(cluster.node('node1').hccnChannel.heldUntil).toBeGreaterThan(Date.now());
      expect(cluster.node('node1').hccnChannel.inFlight).toBe(0);
    } finally {
      await shim.close();
      cluster.stop();
    }
  });

  it('encodes requests and replies as documented', () => {
    const req = Buffer.concat([Buffer.from('2\x00node1\x00docker\x00load\x00-q\x003\x00'), Buffer.from('abc')]);
    expect(parseRequest(req)).toEqual({ node: 'node1', program: 'docker', argv: ['load', '-q'], stdin: Buffer.from('abc') });
    expect(parseRequest(req.subarray(0, req.length - 1))).toBeUndefined();
    expect(replyStatement(Buffer.from("a'%\\\n"), 'stderr')).toBe("printf -- 'a\\047%%\\\\\\012' >&2\n");
  });

  it('writeShims puts the shims into a node whose files live in a real directory', async () => {
    const root = mkdtempSync(join(tmp, 'node-'));
    const cluster = new SimCluster(parseClusterSpec({
      profile: 'fast', nodes: [{ name: 'node1', host: '127.0.1.1', models: { '/opt/models/R1': { 'config.json': '{"model_type":"deepseek_v3"}' } } }],
    }), { fs: () => new DirFs(root), installProgramFiles: false });
    await cluster.start();
    await writeShims(cluster.node('node1'), 4242);
    expect(readFileSync(join(root, 'etc/hccn.conf'), 'utf8')).toMatch(/^address_0=192\.168\.100\.11$/m);
    expect(readFileSync(join(root, 'opt/models/R1/config.json'), 'utf8')).toContain('deepseek_v3');
    const shim = join(root, 'usr/local/Ascend/driver/tools/hccn_tool');
    expect(readFileSync(shim, 'utf8')).toContain('/dev/tcp/127.0.0.1/4242');
    // A fault change rewrites the node's files and leaves the shims where they are.
    await cluster.node('node1').setFaults([{ kind: 'link-down', npu: 0 }]);
    expect(readFileSync(shim, 'utf8')).toContain('/dev/tcp/127.0.0.1/4242');
    cluster.stop();
  });
});
