import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, type Duplex } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { JumpEndpoint, SshEndpoint } from '../../../src/remote/endpoint.js';
import { fingerprintSha256 } from '../../../src/remote/known-hosts.js';
import { SshPool, type SshPoolOptions } from '../../../src/remote/ssh-pool.js';
import { RemoteError } from '../../../src/remote/transport.js';
import ssh2 from 'ssh2';
import { makeKeyPair, TestSshServer, type KeyPair } from './ssh-test-server.js';

const hasSshAgent = ['/usr/bin/ssh-agent', '/usr/local/bin/ssh-agent'].some((p) => existsSync(p));

const hostKey = makeKeyPair();
const userKey = makeKeyPair();
const strangerKey = makeKeyPair();

let dir: string;
let work: string;
let keyFile: string;
let knownHosts: string;
let server: TestSshServer;
const pools: SshPool[] = [];
const extraServers: TestSshServer[] = [];

const khLine = (hosts: string, key: KeyPair): string => `${hosts} ssh-ed25519 ${key.blob.toString('base64')}\n`;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ascendctl-ssh-'));
  work = join(dir, 'work');
  await mkdir(work);
  keyFile = join(dir, 'id_ed25519');
  await writeFile(keyFile, userKey.private, { mode: 0o600 });
  server = await TestSshServer.start({ hostKey, authorizedKeys: [userKey], cwd: work });
  knownHosts = join(dir, 'known_hosts');
  await writeFile(knownHosts, khLine(`[127.0.0.1]:${server.port}`, hostKey));
});

afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.closeAll()));
  await Promise.all(extraServers.splice(0).map((s) => s.close()));
});

afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

function endpoint(over: Partial<SshEndpoint> = {}): SshEndpoint {
  return {
    name: 'node1',
    host: '127.0.0.1',
    hostname: '127.0.0.1',
    port: server.port,
    user: 'root',
    identityFiles: [keyFile],
    useAgent: false,
    knownHostsFile: knownHosts,
    strictHostKeyChecking: 'yes',
    connectTimeoutMs: 5000,
    ...over,
  };
}

/** A jump host on 127.0.0.1 ("bastion"), authenticated like the nodes; strict checking off unless said. */
function jumpEndpoint(port: number, over: Partial<JumpEndpoint> = {}): JumpEndpoint {
  return {
    host: 'bastion',
    hostname: '127.0.0.1',
    port,
    user: 'root',
    identityFiles: [keyFile],
    useAgent: false,
    knownHostsFile: knownHosts,
    strictHostKeyChecking: 'no',
    connectTimeoutMs: 5000,
    ...over,
  };
}

function pool(opts: SshPoolOptions = {}): SshPool {
  const p = new SshPool({ env: {}, ...opts });
  pools.push(p);
  return p;
}

async function remoteError(p: Promise<unknown>): Promise<RemoteError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof RemoteError) return err;
    throw err;
  }
  throw new Error('expected a RemoteError, got success');
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function waitFor(cond: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await cond())) await new Promise((r) => setTimeout(r, 20));
}

/** A remote command that blocks until the named file exists in the work directory. */
const blockUntil = (file: string): string[] => ['sh', '-c', `while [ ! -e ${file} ]; do sleep 0.02; done; echo released`];

describe('exec', () => {
  it('separates stdout, stderr and the exit status', async () => {
    const t = pool().transport(endpoint());
    const r = await t.exec(['sh', '-c', 'echo out; echo err >&2; exit 3']);
    expect(r).toMatchObject({ stdout: 'out\n', stderr: 'err\n', code: 3, timedOut: false });
    expect(r.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('round-trips hostile arguments exactly', async () => {
    const words = [
      "it's",
      '$(rm -rf /)',
      '`id`',
      'line1\nline2',
      '',
      ' spaced  out ',
      '"double" and \\back',
      '*',
      '~',
      '-n',
      "'",
      'ünïcødé ✓',
      '$HOME;|&><',
    ];
    const t = pool().transport(endpoint());
    const r = await t.exec([process.execPath, '-e', 'process.stdout.write(JSON.stringify(process.argv.slice(1)))', '--', ...words]);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual(words);
  });

  it('feeds standard input and always closes it', async () => {
    const t = pool().transport(endpoint());
    expect((await t.exec(['cat'], { stdin: 'hello\nworld' })).stdout).toBe('hello\nworld');
    expect((await t.exec(['cat'], { stdin: Buffer.from([0xe2, 0x9c, 0x93]) })).stdout).toBe('✓');
    expect((await t.exec(['cat'], { stdin: Readable.from(['a', 'b', 'c']) })).stdout).toBe('abc');
    // No stdin given: EOF at once, so `cat` ends instead of waiting forever.
    expect(await t.exec(['cat'])).toMatchObject({ stdout: '', code: 0 });
  });

  it('reports a command killed by a signal as code null, not as a transport failure', async () => {
    const t = pool().transport(endpoint());
    const r = await t.exec(['sh', '-c', 'kill -9 $$']);
    expect(r.code).toBeNull();
    expect(r.timedOut).toBe(false);
  });

  it('bounds a call on the remote side: timeout -k 5 <s> …, exit 124 → timedOut', async () => {
    const t = pool().transport(endpoint());
    const r = await t.exec(['sleep', '30'], { timeoutMs: 1000 });
    expect(r.timedOut).toBe(true);
    expect(r.code).toBe(124);
    expect(server.commands).toContain('timeout -k 5 1 sleep 30');
  });

  it('keeps the exit status of a command whose whole reply arrives with the channel', async () => {
    const fast = await TestSshServer.start({
      hostKey,
      authorizedKeys: [userKey],
      cwd: work,
      instant: (cmd) => {
        const m = /^echo (\d+)$/.exec(cmd);
        return m ? { stdout: `${m[1]}\n`, code: Number(m[1]) % 7 } : undefined;
      },
    });
    extraServers.push(fast);
    const t = pool({ maxChannels: 4 }).transport(endpoint({ port: fast.port, strictHostKeyChecking: 'no' }));
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => t.exec(['echo', String(i)])));
    expect(results.map((r) => [r.stdout, r.code])).toEqual(Array.from({ length: 40 }, (_, i) => [`${i}\n`, i % 7]));
    // Every permit came back: more calls still run.
    expect((await t.exec(['echo', '8'])).code).toBe(1);
  });

  it('exit 124 without a timeout is just an exit status', async () => {
    const t = pool().transport(endpoint());
    expect(await t.exec(['sh', '-c', 'exit 124'])).toMatchObject({ code: 124, timedOut: false });
  });

  it('gives up locally when the node never answers (timeout + grace)', async () => {
    const hung = await TestSshServer.start({ hostKey, authorizedKeys: [userKey], cwd: work, hang: true });
    extraServers.push(hung);
    const p = pool({ timeoutGraceMs: 100 });
    const t = p.transport(endpoint({ port: hung.port, strictHostKeyChecking: 'no' }));
    const r = await t.exec(['true'], { timeoutMs: 200 });
    expect(r).toMatchObject({ timedOut: true, code: null, stdout: '' });
    // The channel was closed, so the server's session count comes back down.
    await waitFor(() => hung.sessionsOpen === 0);
  });

  it('cancels a running call through its AbortSignal', async () => {
    const t = pool().transport(endpoint());
    const ac = new AbortController();
    const p = t.exec(blockUntil('never-created'), { signal: ac.signal });
    await waitFor(() => server.sessionsOpen > 0);
    ac.abort();
    const err = await remoteError(p);
    expect(err.kind).toBe('aborted');
    expect(err.node).toBe('node1');
  });
});

describe('host keys', () => {
  it('refuses an unknown host key, naming the fingerprint and the known_hosts file', async () => {
    const kh = join(dir, 'kh-empty');
    const err = await remoteError(pool().transport(endpoint({ knownHostsFile: kh })).exec(['true']));
    expect(err.kind).toBe('host-key');
    expect(err.message).toContain(fingerprintSha256(hostKey.blob));
    expect(err.message).toContain(kh);
    expect(err.message).toContain(`node1 (127.0.0.1:${server.port})`);
    expect(err.hint).toContain('accept-new');
    expect(err.hint).toContain(`ssh-keyscan -p ${server.port} 127.0.0.1`);
  });

  it('refuses a changed key, naming the file and line of the old key and how to remove it', async () => {
    const kh = join(dir, 'kh-changed');
    await writeFile(kh, `# other\n${khLine(`[127.0.0.1]:${server.port}`, strangerKey)}`);
    for (const policy of ['yes', 'accept-new'] as const) {
      const err = await remoteError(pool().transport(endpoint({ knownHostsFile: kh, strictHostKeyChecking: policy })).exec(['true']));
      expect(err.kind).toBe('host-key');
      expect(err.message).toContain(fingerprintSha256(hostKey.blob));
      expect(err.message).toContain(`${kh} line 2`);
      expect(err.message).toContain(fingerprintSha256(strangerKey.blob));
      expect(err.hint).toContain(`ssh-keygen -R '[127.0.0.1]:${server.port}' -f ${kh}`);
    }
  });

  describe('a server with an ed25519 and an ECDSA host key, recorded by one of them (ssh-keyscan -t ecdsa)', () => {
    const ecdsa = ssh2.utils.generateKeyPairSync('ecdsa', { bits: 256 });
    const other = ssh2.utils.generateKeyPairSync('ecdsa', { bits: 256 });
    const ecdsaLine = (hosts: string, pub: string): string => `${hosts} ${pub.split(' ').slice(0, 2).join(' ')}\n`;
    let two: TestSshServer;
    beforeAll(async () => {
      two = await TestSshServer.start({ hostKey, extraHostKeys: [ecdsa.private], authorizedKeys: [userKey], cwd: work });
    });
    afterAll(async () => {
      await two.close();
    });

    it('its recorded ECDSA key is asked for and accepted, as ssh(1) does', async () => {
      const kh = join(dir, 'kh-ecdsa');
      await writeFile(kh, ecdsaLine(`[127.0.0.1]:${two.port}`, ecdsa.public));
      const r = await pool().transport(endpoint({ port: two.port, knownHostsFile: kh })).exec(['echo', 'ecdsa']);
      expect(r.stdout).toBe('ecdsa\n');
    });

    it('accept-new refuses a changed ECDSA key instead of recording the ed25519 key as new', async () => {
      const kh = join(dir, 'kh-ecdsa-changed');
      const before = ecdsaLine(`[127.0.0.1]:${two.port}`, other.public);
      await writeFile(kh, before);
      const err = await remoteError(pool().transport(endpoint({ port: two.port, knownHostsFile: kh, strictHostKeyChecking: 'accept-new' })).exec(['true']));
      expect(err.kind).toBe('host-key');
      expect(err.message).toMatch(/changed|CHANGED/);
      expect(await readFile(kh, 'utf8')).toBe(before);
    });
  });

  it('accept-new records the key, and the next run passes with yes', async () => {
    const kh = join(dir, 'fresh', 'known_hosts');
    const r = await pool().transport(endpoint({ knownHostsFile: kh, strictHostKeyChecking: 'accept-new' })).exec(['echo', 'ok']);
    expect(r.stdout).toBe('ok\n');
    expect(await readFile(kh, 'utf8')).toBe(khLine(`[127.0.0.1]:${server.port}`, hostKey));
    const again = await pool().transport(endpoint({ knownHostsFile: kh })).exec(['echo', 'again']);
    expect(again.stdout).toBe('again\n');
  });

  it('accepts a hashed known_hosts entry', async () => {
    const kh = join(dir, 'kh-hashed');
    const salt = randomBytes(20);
    const hash = createHmac('sha1', salt).update(`[127.0.0.1]:${server.port}`).digest();
    await writeFile(kh, khLine(`|1|${salt.toString('base64')}|${hash.toString('base64')}`, hostKey));
    const r = await pool().transport(endpoint({ knownHostsFile: kh })).exec(['echo', 'hashed']);
    expect(r.stdout).toBe('hashed\n');
  });

  it('does not match a bare 127.0.0.1 entry for a non-22 port', async () => {
    const kh = join(dir, 'kh-bare');
    await writeFile(kh, khLine('127.0.0.1', hostKey));
    const err = await remoteError(pool().transport(endpoint({ knownHostsFile: kh })).exec(['true']));
    expect(err.kind).toBe('host-key');
    expect(err.message).toContain('not known');
  });
});

describe('authentication and connecting', () => {
  it('reports a rejected key as auth, with the user and what was tried', async () => {
    const other = join(dir, 'id_other');
    await writeFile(other, strangerKey.private, { mode: 0o600 });
    const err = await remoteError(pool().transport(endpoint({ identityFiles: [other] })).exec(['true']));
    expect(err.kind).toBe('auth');
    expect(err.message).toContain('as root');
    expect(err.message).toContain(other);
    expect(err.hint).toContain('authorized_keys');
  });

  it('tries each identity in turn', async () => {
    const other = join(dir, 'id_other2');
    await writeFile(other, strangerKey.private, { mode: 0o600 });
    const r = await pool().transport(endpoint({ identityFiles: [other, keyFile] })).exec(['echo', 'second']);
    expect(r.stdout).toBe('second\n');
  });

  it('reports a missing identity file as config before contacting the node', async () => {
    const before = server.connections;
    const missing = join(dir, 'no-such-key');
    const err = await remoteError(pool().transport(endpoint({ identityFiles: [missing] })).exec(['true']));
    expect(err.kind).toBe('config');
    expect(err.message).toContain(missing);
    expect(server.connections).toBe(before);
  });

  it('reports a passphrase-protected key without an agent as config, suggesting ssh-agent', async () => {
    const enc = join(dir, 'id_encrypted');
    await writeFile(enc, makeKeyPair({ passphrase: 'secret' }).private, { mode: 0o600 });
    const err = await remoteError(pool().transport(endpoint({ identityFiles: [enc], useAgent: true })).exec(['true']));
    expect(err.kind).toBe('config');
    expect(err.message).toContain(enc);
    expect(err.message).toContain('passphrase');
    expect(err.hint).toContain('ssh-add');
  });

  it('reports a refused connection naming the node and address', async () => {
    const port = await freePort();
    const err = await remoteError(pool().transport(endpoint({ name: 'node3', port })).exec(['true']));
    expect(err.kind).toBe('connect');
    expect(err.node).toBe('node3');
    expect(err.message).toBe(`node3 (127.0.0.1:${port}) refused the connection`);
    expect(err.hint).toContain(`port ${port}`);
    expect(err.hint).toContain('in the inventory');
    // hints name the inventory file the settings came from
    const named = await remoteError(pool().transport(endpoint({ name: 'node4', port, configFile: 'racks/inv3.yaml' })).exec(['true']));
    expect(named.hint).toContain('check ssh.port in racks/inv3.yaml');
  });

  it('a failed node fails only its own calls, and fails them fast until reconnect()', async () => {
    const port = await freePort();
    const p = pool();
    const bad = p.transport(endpoint({ name: 'bad', port }));
    const good = p.transport(endpoint({ name: 'good' }));
    const [r1, r2] = await Promise.allSettled([bad.exec(['true']), good.exec(['echo', 'fine'])]);
    expect(r1.status).toBe('rejected');
    expect(r2.status === 'fulfilled' && r2.value.stdout).toBe('fine\n');
    // Remembered: the second call does not dial again.
    const again = await remoteError(bad.exec(['true']));
    expect(again.kind).toBe('connect');
    expect(p.stats.connectFailures).toBe(1);
    await expect(bad.reconnect()).rejects.toBeInstanceOf(RemoteError);
    expect(p.stats.connectFailures).toBe(2);
  });
});

describe.skipIf(!hasSshAgent)('ssh-agent', () => {
  let agent: ChildProcess | undefined;
  let sock: string;

  beforeAll(async () => {
    sock = join(dir, 'agent.sock');
    agent = spawn('ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' });
    await waitFor(() => existsSync(sock));
    execFileSync('ssh-add', [keyFile], { env: { ...process.env, SSH_AUTH_SOCK: sock }, stdio: 'ignore' });
  });

  afterAll(() => {
    agent?.kill();
  });

  it('authenticates with a key held by the agent ($SSH_AUTH_SOCK)', async () => {
    const p = pool({ env: { SSH_AUTH_SOCK: sock } });
    const r = await p.transport(endpoint({ identityFiles: [], useAgent: true })).exec(['echo', 'agent']);
    expect(r.stdout).toBe('agent\n');
  });

  it('prefers the endpoint agentSocket over $SSH_AUTH_SOCK', async () => {
    const p = pool({ env: { SSH_AUTH_SOCK: join(dir, 'no-agent-here') } });
    const r = await p.transport(endpoint({ identityFiles: [], useAgent: true, agentSocket: sock })).exec(['echo', 'explicit']);
    expect(r.stdout).toBe('explicit\n');
  });

  it('leaves a passphrase-protected identity to the agent when one is running', async () => {
    const enc = join(dir, 'id_encrypted_agent');
    await writeFile(enc, makeKeyPair({ passphrase: 'secret' }).private, { mode: 0o600 });
    const p = pool({ env: { SSH_AUTH_SOCK: sock } });
    const r = await p.transport(endpoint({ identityFiles: [enc], useAgent: true })).exec(['echo', 'via agent']);
    expect(r.stdout).toBe('via agent\n');
  });

  it('names the agent among the methods tried when it holds no accepted key', async () => {
    const other = join(dir, 'id_other3');
    await writeFile(other, strangerKey.private, { mode: 0o600 });
    const emptyAgentSock = join(dir, 'agent-empty.sock');
    const empty = spawn('ssh-agent', ['-D', '-a', emptyAgentSock], { stdio: 'ignore' });
    try {
      await waitFor(() => existsSync(emptyAgentSock));
      const p = pool({ env: { SSH_AUTH_SOCK: emptyAgentSock } });
      const err = await remoteError(p.transport(endpoint({ identityFiles: [other], useAgent: true })).exec(['true']));
      expect(err.kind).toBe('auth');
      expect(err.message).toContain(`publickey ${other}`);
      expect(err.message).toContain(`ssh-agent (${emptyAgentSock})`);
    } finally {
      empty.kill();
    }
  });
});

describe('connect timeout and the connect bound', () => {
  /** A TCP peer that accepts and never says a word: a node whose sshd is wedged. */
  async function silentPeer(): Promise<{
    port: number;
    open: () => number;
    accepted: () => number;
    peak: () => number;
    dropOpen: () => void;
    close: () => Promise<void>;
  }> {
    const sockets = new Set<Socket>();
    let peak = 0;
    let accepted = 0;
    const srv = createServer((sock) => {
      accepted++;
      sockets.add(sock);
      peak = Math.max(peak, sockets.size);
      sock.on('close', () => sockets.delete(sock));
      sock.on('error', () => undefined);
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    return {
      port: (srv.address() as AddressInfo).port,
      open: () => sockets.size,
      accepted: () => accepted,
      peak: () => peak,
      dropOpen: () => {
        for (const s of sockets) s.destroy();
      },
      close: async () => {
        for (const s of sockets) s.destroy();
        await new Promise<void>((r) => srv.close(() => r()));
      },
    };
  }

  it('gives up on a node that never completes the handshake, naming it', async () => {
    const peer = await silentPeer();
    try {
      const err = await remoteError(pool().transport(endpoint({ name: 'node7', port: peer.port, connectTimeoutMs: 300 })).exec(['true']));
      expect(err.kind).toBe('connect');
      expect(err.message).toBe(`node7 (127.0.0.1:${peer.port}) did not complete the SSH connection within 0.3 s`);
      expect(err.hint).toContain('connectTimeout');
    } finally {
      await peer.close();
    }
  });

  it('never has more than maxConnecting set-ups in flight', async () => {
    const peer = await silentPeer();
    try {
      const p = pool({ maxConnecting: 2 });
      const settled = Promise.allSettled(
        Array.from({ length: 6 }, (_, i) => p.transport(endpoint({ name: `n${i}`, port: peer.port, connectTimeoutMs: 30_000 })).exec(['true'])),
      );
      // Each time two set-ups are waiting on the peer, cut them: only then may the next two start.
      for (let round = 1; round <= 3; round++) {
        await waitFor(() => peer.accepted() >= 2 * round && peer.open() === 2);
        expect(peer.accepted()).toBe(2 * round);
        peer.dropOpen();
      }
      const results = await settled;
      expect(results.map((r) => r.status)).toEqual(Array(6).fill('rejected'));
      expect(peer.peak()).toBe(2);
      expect(p.stats.connectFailures).toBe(6);
    } finally {
      await peer.close();
    }
  });
});

describe('connections and channels', () => {
  it('makes one connection per node, shared by concurrent first calls and reused after', async () => {
    const before = server.connections;
    const p = pool();
    const t = p.transport(endpoint());
    expect(p.transport(endpoint())).toBe(t);
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => t.exec(['echo', String(i)])));
    expect(results.map((r) => r.stdout)).toEqual(['0\n', '1\n', '2\n', '3\n', '4\n', '5\n']);
    for (let i = 0; i < 5; i++) await t.exec(['true']);
    expect(server.connections - before).toBe(1);
    expect(p.stats.connectionsMade).toBe(1);
    expect(t.stats.connectionsMade).toBe(1);
    expect(t.stats.channelsOpened).toBe(11);
  });

  it('never has more than maxChannels channels open on one connection', async () => {
    const isolated = await TestSshServer.start({ hostKey, authorizedKeys: [userKey], cwd: work });
    extraServers.push(isolated);
    const t = pool({ maxChannels: 3 }).transport(endpoint({ port: isolated.port, strictHostKeyChecking: 'no' }));
    const results = await Promise.all(Array.from({ length: 15 }, () => t.exec(['sh', '-c', 'sleep 0.05; echo done'])));
    expect(results.every((r) => r.stdout === 'done\n')).toBe(true);
    expect(isolated.peakSessions).toBeLessThanOrEqual(3);
    expect(isolated.peakSessions).toBeGreaterThan(1);
    expect(t.stats.peakChannels).toBeLessThanOrEqual(3);
    expect(isolated.connections).toBe(1);
  });

  it('releases a connect slot as soon as the node is ready, not when its work ends', async () => {
    const p = pool({ maxConnecting: 1 });
    const a = p.transport(endpoint({ name: 'a' }));
    const b = p.transport(endpoint({ name: 'b' }));
    const c = p.transport(endpoint({ name: 'c' }));
    const gate = `gate-${randomBytes(4).toString('hex')}`;
    const slow = a.exec(blockUntil(gate));
    // With the slot held for the whole call, b and c would wait behind a forever.
    const quick = await Promise.all([b.exec(['echo', 'b']), c.exec(['echo', 'c'])]);
    expect(quick.map((r) => r.stdout)).toEqual(['b\n', 'c\n']);
    await writeFile(join(work, gate), '');
    expect((await slow).stdout).toBe('released\n');
    expect(p.stats.connectionsMade).toBe(3);
  });

  it('reports a connection dropped mid-call as channel, and the next call reconnects', async () => {
    const own = await TestSshServer.start({ hostKey, authorizedKeys: [userKey], cwd: work });
    extraServers.push(own);
    const p = pool();
    const t = p.transport(endpoint({ port: own.port, strictHostKeyChecking: 'no' }));
    const running = t.exec(blockUntil('never-created'));
    // Drop only once the client holds the channel: a drop before that is a failed start, which the
    // pool retries on a new connection, where this command would then block for good.
    await waitFor(() => own.commands.length > 0 && t.stats.channelsOpened > 0);
    own.dropAll();
    const err = await remoteError(running);
    expect(err.kind).toBe('channel');
    expect(err.message).toContain('dropped');
    const r = await t.exec(['echo', 'back']);
    expect(r.stdout).toBe('back\n');
    expect(own.connections).toBe(2);
    expect(p.stats.connectionsMade).toBe(2);
  });

  it('reconnects after close()', async () => {
    const p = pool();
    const t = p.transport(endpoint());
    await t.connect();
    expect(t.connected).toBe(true);
    await t.close();
    expect(t.connected).toBe(false);
    expect((await t.exec(['echo', 'again'])).stdout).toBe('again\n');
    expect(p.stats.connectionsMade).toBe(2);
  });

  it('refuses work after closeAll()', async () => {
    const p = pool();
    const t = p.transport(endpoint());
    await t.exec(['true']);
    await p.closeAll();
    expect((await remoteError(t.exec(['true']))).kind).toBe('aborted');
  });
});

describe('jump host', () => {
  it('reaches nodes through one shared jump connection, each host key checked', async () => {
    const jumpKey = makeKeyPair();
    const jump = await TestSshServer.start({ hostKey: jumpKey, authorizedKeys: [userKey], cwd: work, allowForward: true });
    extraServers.push(jump);
    const kh = join(dir, 'kh-jump');
    await writeFile(kh, khLine(`[127.0.0.1]:${jump.port}`, jumpKey) + khLine(`[127.0.0.1]:${server.port}`, hostKey));
    const before = server.connections;
    const jumpHost = jumpEndpoint(jump.port, { knownHostsFile: kh, strictHostKeyChecking: 'yes' });
    const p = pool();
    const n1 = p.transport(endpoint({ name: 'n1', knownHostsFile: kh, jumpHost }));
    const n2 = p.transport(endpoint({ name: 'n2', knownHostsFile: kh, jumpHost }));
    const [r1, r2] = await Promise.all([n1.exec(['echo', 'one']), n2.exec(['echo', 'two'])]);
    expect([r1.stdout, r2.stdout]).toEqual(['one\n', 'two\n']);
    expect(jump.connections).toBe(1);
    expect(jump.forwards).toBe(2);
    expect(jump.commands).toEqual([]); // the commands ran on the node, not on the jump host
    expect(server.connections - before).toBe(2);
    expect(p.stats).toMatchObject({ connectionsMade: 2, jumpConnectionsMade: 1 });
  });

  it('checks the jump host key too, and names the jump host in the error', async () => {
    const jumpKey = makeKeyPair();
    const jump = await TestSshServer.start({ hostKey: jumpKey, authorizedKeys: [userKey], cwd: work, allowForward: true });
    extraServers.push(jump);
    // known_hosts holds the node's key only
    const jumpHost = jumpEndpoint(jump.port, { user: 'ops', strictHostKeyChecking: 'yes' });
    const err = await remoteError(pool().transport(endpoint({ name: 'n1', jumpHost })).exec(['true']));
    expect(err.kind).toBe('host-key');
    expect(err.node).toBe('n1');
    expect(err.message).toContain('jump host ops@bastion');
    expect(err.message).toContain(fingerprintSha256(jumpKey.blob));
  });

  it('remembers a jump host failure, and reconnect() tries the jump host again', async () => {
    const jumpPort = await freePort();
    const jumpHost = jumpEndpoint(jumpPort);
    const p = pool();
    const t = p.transport(endpoint({ name: 'n1', jumpHost }));
    const err = await remoteError(t.exec(['true']));
    expect(err.kind).toBe('connect');
    expect(err.node).toBe('n1');
    expect(err.message).toBe(
      `cannot reach n1 (127.0.0.1:${server.port}) through its jump host: jump host root@bastion (127.0.0.1:${jumpPort}) refused the connection`,
    );
    expect(err.hint).toContain('check ssh.jumpHost in');
    const jump = await TestSshServer.start({ hostKey: makeKeyPair(), authorizedKeys: [userKey], cwd: work, allowForward: true, port: jumpPort });
    extraServers.push(jump);
    expect((await remoteError(t.exec(['true']))).message).toBe(err.message); // still remembered
    await t.reconnect();
    expect((await t.exec(['echo', 'through'])).stdout).toBe('through\n');
    expect(jump.forwards).toBe(1);
  });

  it('reports a jump host that cannot reach the node as connect', async () => {
    const jumpKey = makeKeyPair();
    const jump = await TestSshServer.start({ hostKey: jumpKey, authorizedKeys: [userKey], cwd: work, allowForward: true });
    extraServers.push(jump);
    const port = await freePort();
    const jumpHost = jumpEndpoint(jump.port);
    const err = await remoteError(pool().transport(endpoint({ name: 'n9', port, jumpHost })).exec(['true']));
    expect(err.kind).toBe('connect');
    expect(err.message).toContain('could not open a connection to n9');
  });
});

describe('openTcp (ssh -L): a TCP connection as seen from the node', () => {
  /** A one-shot echo service on 127.0.0.1: answers "echo:" + what it receives. */
  async function echoServer(): Promise<{ port: number; close(): Promise<void> }> {
    const srv = createServer((sock) => sock.on('data', (d) => sock.end(`echo:${d.toString()}`)));
    await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
    return { port: (srv.address() as AddressInfo).port, close: () => new Promise((r) => srv.close(() => r())) };
  }
  async function roundTrip(stream: Duplex, text: string): Promise<string> {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    const ended = new Promise<void>((resolve) => stream.once('end', resolve));
    stream.write(text);
    await ended;
    stream.destroy();
    return Buffer.concat(chunks).toString();
  }
  it('goes over the node\'s own connection when its sshd allows forwarding', async () => {
    const nodeKey = makeKeyPair();
    const node = await TestSshServer.start({ hostKey: nodeKey, authorizedKeys: [userKey], cwd: work, allowForward: true });
    extraServers.push(node);
    const echo = await echoServer();
    try {
      const t = pool().transport(endpoint({ port: node.port, strictHostKeyChecking: 'no' }));
      expect(await roundTrip(await t.openTcp('127.0.0.1', echo.port), 'hello')).toBe('echo:hello');
      expect(node.forwards).toBe(1);
    } finally {
      await echo.close();
    }
  });

  it('falls back to the jump host when the node\'s sshd refuses forwarding', async () => {
    const jump = await TestSshServer.start({ hostKey: makeKeyPair(), authorizedKeys: [userKey], cwd: work, allowForward: true });
    extraServers.push(jump);
    const echo = await echoServer();
    try {
      // `server` refuses every direct-tcpip request.
      const t = pool().transport(endpoint({ jumpHost: jumpEndpoint(jump.port) }));
      expect(await roundTrip(await t.openTcp('127.0.0.1', echo.port), 'via')).toBe('echo:via');
      expect(jump.forwards).toBe(2); // the SSH hop to the node, then the tunnel
    } finally {
      await echo.close();
    }
  });

  it('names the node, the target and AllowTcpForwarding when no one can open it', async () => {
    const port = await freePort();
    const err = await remoteError(pool().transport(endpoint()).openTcp('127.0.0.1', port));
    expect(err.kind).toBe('channel');
    expect(err.node).toBe('node1');
    expect(err.message).toContain(`could not open a connection to 127.0.0.1:${port}`);
    expect(err.hint).toContain('AllowTcpForwarding');
  });
});

describe('upload', () => {
  it('writes the file atomically with mode 640 in a 750 directory, leaving no temporary file', async () => {
    const t = pool().transport(endpoint());
    const target = join(work, 'etc', 'mindie', 'config.json');
    const content = '{"it\'s": "$(not run)"}\n✓\n';
    await t.upload(target, content);
    expect(await readFile(target, 'utf8')).toBe(content);
    expect((await stat(target)).mode & 0o777).toBe(0o640);
    expect((await stat(join(work, 'etc', 'mindie'))).mode & 0o777).toBe(0o750);
    expect(await readdir(join(work, 'etc', 'mindie'))).toEqual(['config.json']);
    const used = server.commands.slice(-3).map((c) => c.split(' ')[0]);
    expect(used).toEqual(['mkdir', 'install', 'mv']);
  });

  it('replaces an existing file and honours the mode option', async () => {
    const t = pool().transport(endpoint());
    const target = join(work, 'ranktable.json');
    await t.upload(target, 'old');
    await t.upload(target, Buffer.from('new'), { mode: 0o600 });
    expect(await readFile(target, 'utf8')).toBe('new');
    expect((await stat(target)).mode & 0o777).toBe(0o600);
  });

  it('fails with the remote error and leaves nothing behind', async () => {
    const t = pool().transport(endpoint());
    await writeFile(join(work, 'plainfile'), 'x');
    const err = await remoteError(t.upload(join(work, 'plainfile', 'sub', 'f.json'), 'data'));
    expect(err.kind).toBe('channel');
    expect(err.message).toContain('mkdir');
    expect(err.message).toMatch(/Not a directory|File exists/);
  });

  it('removes the temporary file when the final rename fails', async () => {
    const failing = await TestSshServer.start({ hostKey, authorizedKeys: [userKey], cwd: work, failCommands: /^mv / });
    extraServers.push(failing);
    const t = pool().transport(endpoint({ port: failing.port, strictHostKeyChecking: 'no' }));
    const target = join(work, 'rename-fails', 'config.json');
    const err = await remoteError(t.upload(target, 'data'));
    expect(err.kind).toBe('channel');
    expect(err.message).toContain('`mv`');
    expect(err.message).toContain('mv: simulated failure');
    expect(failing.commands.map((c) => c.split(' ')[0])).toEqual(['mkdir', 'install', 'mv', 'rm']);
    expect(await readdir(join(work, 'rename-fails'))).toEqual([]);
  });
});

describe('stream', () => {
  it('delivers every chunk in order while the consumer applies backpressure', async () => {
    const t = pool().transport(endpoint());
    const chunks: Buffer[] = [];
    let calls = 0;
    const r = await t.stream(['seq', '1', '200000'], {
      onStdout: async (c) => {
        chunks.push(c);
        calls++;
        await new Promise((res) => setImmediate(res));
      },
    });
    expect(r.code).toBe(0);
    const lines = Buffer.concat(chunks).toString('utf8').split('\n');
    expect(lines).toHaveLength(200001);
    expect(lines[0]).toBe('1');
    expect(lines[199999]).toBe('200000');
    expect(lines.every((l, i) => i === 200000 || l === String(i + 1))).toBe(true);
    expect(calls).toBeGreaterThan(1);
  });

  it('stops the node from sending while the consumer is blocked (bounded memory)', async () => {
    const own = await TestSshServer.start({ hostKey, authorizedKeys: [userKey], cwd: work });
    extraServers.push(own);
    const t = pool().transport(endpoint({ port: own.port, strictHostKeyChecking: 'no' }));
    const total = 48 * 1024 * 1024;
    let received = 0;
    let unblock: () => void = () => undefined;
    const blocked = new Promise<void>((res) => {
      unblock = res;
    });
    let first = true;
    const done = t.stream(['head', '-c', String(total), '/dev/zero'], {
      onStdout: async (c) => {
        received += c.length;
        if (first) {
          first = false;
          await blocked;
        }
      },
    });
    // Wait until the sender has stalled: its byte count stops moving.
    let last = -1;
    let still = 0;
    await waitFor(() => {
      still = own.stdoutBytes === last && own.stdoutBytes > 0 ? still + 1 : 0;
      last = own.stdoutBytes;
      return still >= 10;
    });
    expect(own.stdoutBytes).toBeLessThan(16 * 1024 * 1024);
    unblock();
    const r = await done;
    expect(r.code).toBe(0);
    expect(received).toBe(total);
  });

  it('hands stderr to its own handler, and a rejecting handler ends the call with its error', async () => {
    const t = pool().transport(endpoint());
    const errs: string[] = [];
    const r = await t.stream(['sh', '-c', 'echo warn >&2; echo out'], {
      onStdout: () => undefined,
      onStderr: (c) => {
        errs.push(c.toString());
      },
    });
    expect(errs.join('')).toBe('warn\n');
    expect(r.stderr).toBe('');
    const boom = new Error('consumer failed');
    await expect(
      t.stream(['seq', '1', '1000'], {
        onStdout: () => Promise.reject(boom),
      }),
    ).rejects.toBe(boom);
  });

  it('keeps stderr in the result when no stderr handler is given', async () => {
    const t = pool().transport(endpoint());
    const r = await t.stream(['sh', '-c', 'echo oops >&2; exit 2'], { onStdout: () => undefined });
    expect(r).toMatchObject({ stderr: 'oops\n', code: 2 });
  });

  it('closes the channel when aborted', async () => {
    const t = pool().transport(endpoint());
    const ac = new AbortController();
    const p = t.stream(['sh', '-c', 'while true; do echo tick; sleep 0.02; done'], {
      onStdout: () => {
        ac.abort();
      },
    }, { signal: ac.signal });
    expect((await remoteError(p)).kind).toBe('aborted');
    await waitFor(() => server.sessionsOpen === 0);
  });
});

describe('jump host chain (ssh -J hop1,hop2)', () => {
  async function hops(second: { authorizedKeys?: KeyPair[] } = {}) {
    const [k1, k2] = [makeKeyPair(), makeKeyPair()];
    const hop1 = await TestSshServer.start({ hostKey: k1, authorizedKeys: [userKey], cwd: work, allowForward: true });
    const hop2 = await TestSshServer.start({ hostKey: k2, authorizedKeys: second.authorizedKeys ?? [userKey], cwd: work, allowForward: true });
    extraServers.push(hop1, hop2);
    return { hop1, hop2, k1, k2 };
  }

  it('dials each hop through the one before it, one connection per hop shared by the nodes, every host key checked', async () => {
    const { hop1, hop2, k1, k2 } = await hops();
    const kh = join(dir, 'kh-chain');
    await writeFile(kh, khLine(`[127.0.0.1]:${hop1.port}`, k1) + khLine(`[127.0.0.1]:${hop2.port}`, k2) + khLine(`[127.0.0.1]:${server.port}`, hostKey));
    const first = jumpEndpoint(hop1.port, { host: 'bastion1', knownHostsFile: kh, strictHostKeyChecking: 'yes' });
    const jumpHost = jumpEndpoint(hop2.port, { host: 'bastion2', knownHostsFile: kh, strictHostKeyChecking: 'yes', jumpHost: first });
    const p = pool();
    const [r1, r2] = await Promise.all([
      p.transport(endpoint({ name: 'n1', knownHostsFile: kh, jumpHost })).exec(['echo', 'one']),
      p.transport(endpoint({ name: 'n2', knownHostsFile: kh, jumpHost })).exec(['echo', 'two']),
    ]);
    expect([r1.stdout, r2.stdout]).toEqual(['one\n', 'two\n']);
    expect([hop1.connections, hop1.forwards]).toEqual([1, 1]); // hop1 opened hop2, once
    expect([hop2.connections, hop2.forwards]).toEqual([1, 2]); // hop2 opened each node
    expect([...hop1.commands, ...hop2.commands]).toEqual([]);
    expect(p.stats).toMatchObject({ connectionsMade: 2, jumpConnectionsMade: 2 });
  });

  it('a hop that refuses the key is named by its place in the chain, with ssh.jumpHost in the hint', async () => {
    const { hop1, hop2 } = await hops({ authorizedKeys: [strangerKey] });
    const first = jumpEndpoint(hop1.port, { host: 'bastion1' });
    const jumpHost = jumpEndpoint(hop2.port, { host: 'bastion2', jumpHost: first });
    const err = await remoteError(pool().transport(endpoint({ name: 'n1', jumpHost })).exec(['true']));
    expect(err.kind).toBe('auth');
    expect(err.node).toBe('n1');
    expect(err.message).toContain(`cannot reach n1 (127.0.0.1:${server.port}) through its jump hosts: jump host 2 of 2 root@bastion2 (127.0.0.1:${hop2.port}) rejected authentication as root`);
    expect(err.hint).toContain('ssh.jumpHost');
  });

  it('checks the host key of a later hop too', async () => {
    const { hop1, hop2, k2 } = await hops();
    const first = jumpEndpoint(hop1.port, { host: 'bastion1' });
    const jumpHost = jumpEndpoint(hop2.port, { host: 'bastion2', strictHostKeyChecking: 'yes', jumpHost: first });
    const err = await remoteError(pool().transport(endpoint({ name: 'n1', jumpHost })).exec(['true']));
    expect(err.kind).toBe('host-key');
    expect(err.message).toContain('jump host 2 of 2 root@bastion2');
    expect(err.message).toContain(fingerprintSha256(k2.blob));
  });
});
