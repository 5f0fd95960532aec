/**
 * ssh.become: sudo — which calls go through sudo, how, and what a refusal says. Against an ssh2 test
 * server that records the command lines (and answers sudo's probe as the case needs).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { needsRoot, sudoPrefix, sudoRefusal } from '../../../src/remote/become.js';
import type { SshEndpoint } from '../../../src/remote/endpoint.js';
import { SshPool, type SshPoolOptions } from '../../../src/remote/ssh-pool.js';
import { RemoteError } from '../../../src/remote/transport.js';
import { makeKeyPair, TestSshServer } from './ssh-test-server.js';

const hostKey = makeKeyPair();
const userKey = makeKeyPair();
let dir: string;
let keyFile: string;
const pools: SshPool[] = [];
const servers: TestSshServer[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ascendctl-become-'));
  keyFile = join(dir, 'id_ed25519');
  await writeFile(keyFile, userKey.private, { mode: 0o600 });
});
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.closeAll()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The probe, bounded like every call: a sudo hung in PAM must not hang the run. */
const PROBE = 'timeout -k 5 30 sudo -n true';
const PW_PROBE = "timeout -k 5 30 sudo -S -p '' -k true";

type Canned = { stdout: string; code: number; stderr?: string };

/** A node whose sudo answers the probe `sudo -n true` with `probe`, and every other command with exit 0. */
async function node(probe: Canned, others: (cmd: string) => Canned | undefined = () => ({ stdout: 'ok\n', code: 0 })) {
  const server = await TestSshServer.start({
    hostKey,
    authorizedKeys: [userKey],
    user: 'ops',
    cwd: dir,
    instant: (cmd) => (cmd === PROBE ? probe : others(cmd)),
  });
  servers.push(server);
  return server;
}

function transport(server: TestSshServer, opts: SshPoolOptions = {}, over: Partial<SshEndpoint> = {}) {
  const p = new SshPool({ env: {}, ...opts });
  pools.push(p);
  return p.transport({
    name: 'node2',
    host: '127.0.0.1',
    hostname: '127.0.0.1',
    port: server.port,
    user: 'ops',
    identityFiles: [keyFile],
    useAgent: false,
    knownHostsFile: join(dir, 'none'),
    strictHostKeyChecking: 'no',
    connectTimeoutMs: 5000,
    become: 'sudo',
    ...over,
  });
}

async function rejection(p: Promise<unknown>): Promise<RemoteError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof RemoteError) return err;
    throw err;
  }
  throw new Error('expected a RemoteError, got success');
}

describe('become helpers', () => {
  it('runs the tools, the runtime and file writes as root, plain reads like date as the user', () => {
    for (const argv of [['/usr/local/Ascend/driver/tools/hccn_tool', '-i', '0', '-link', '-g'], ['npu-smi', 'info'], ['docker', 'ps'], ['podman', 'ps'],
      ['install', '-m', '640', '/dev/stdin', '/var/lib/ascendctl/x'], ['cat', '/etc/hccn.conf'], ['mkdir', '-p', '/var/lib/ascendctl']]) {
      expect(needsRoot(argv), argv.join(' ')).toBe(true);
    }
    for (const argv of [['date', '+%s.%N'], ['ss', '-Htln'], ['ip', 'addr']]) expect(needsRoot(argv), argv.join(' ')).toBe(false);
    expect(sudoPrefix('nopasswd')).toEqual(['sudo', '-n', '--']);
    expect(sudoPrefix('password')).toEqual(['sudo', '-S', '-p', '', '-k', '--']);
  });

  it("tells sudo's refusals from a command's own failure", () => {
    expect(sudoRefusal(1, 'sudo: a password is required\n')).toEqual({ kind: 'needs-password' });
    expect(sudoRefusal(1, "Sorry, user ops is not allowed to execute '/usr/bin/docker ps' as root on node2.\n")).toMatchObject({ kind: 'not-allowed' });
    expect(sudoRefusal(1, 'ops is not in the sudoers file.\n')).toMatchObject({ kind: 'not-allowed' });
    expect(sudoRefusal(1, 'Sorry, try again.\nsudo: no password was provided\nsudo: 1 incorrect password attempt\n')).toEqual({ kind: 'wrong-password' });
    expect(sudoRefusal(127, 'bash: line 1: sudo: command not found\n')).toEqual({ kind: 'missing' });
    expect(sudoRefusal(1, 'cat: /etc/hccn.conf: No such file or directory\n')).toBeUndefined();
    expect(sudoRefusal(0, 'sudo: a password is required\n')).toBeUndefined();
  });
});

describe('ssh.become: sudo over SSH', () => {
  it('passwordless sudo: root calls get `sudo -n --` outside the timeout wrapper, reads like date stay plain', async () => {
    const server = await node({ stdout: '', code: 0 });
    const t = transport(server);
    await t.connect();
    expect((await t.exec(['npu-smi', 'info'], { timeoutMs: 3000 })).stdout).toBe('ok\n');
    await t.exec(['date', '+%s.%N']);
    await t.exec(['cat', '/etc/hccn.conf']);
    expect(server.commands).toEqual([PROBE, 'sudo -n -- timeout -k 5 3 npu-smi info', 'date +%s.%N', 'sudo -n -- cat /etc/hccn.conf']);
  });

  it('without a become setting nothing is prefixed and sudo is never probed', async () => {
    const server = await node({ stdout: '', code: 1, stderr: 'sudo: a password is required\n' });
    const t = transport(server, {}, { become: undefined });
    await t.connect();
    await t.exec(['npu-smi', 'info']);
    expect(server.commands).toEqual(['npu-smi info']);
  });

  it('a sudo that wants a password and no --ask-become-pass: the node, the user and the next step', async () => {
    const server = await node({ stdout: '', code: 1, stderr: 'sudo: a password is required\n' });
    const t = transport(server);
    const err = await rejection(t.connect());
    expect(err.kind).toBe('auth');
    expect(err.node).toBe('node2');
    expect(err.message).toMatch(/sudo on node2 needs a password for ops/);
    expect(err.hint).toMatch(/--ask-become-pass.*NOPASSWD for ops/);
    // Every later root call says the same, without asking sudo again.
    expect((await rejection(t.exec(['docker', 'ps']))).message).toMatch(/needs a password/);
    expect(server.commands).toEqual([PROBE]);
  });

  it('with a password: asks once, checks it, then sends it on standard input with sudo -S (never in the command line)', async () => {
    const server = await node({ stdout: '', code: 1, stderr: 'sudo: a password is required\n' });
    let asked = 0;
    const t = transport(server, { becomePassword: async () => { asked++; return 's3cret pw'; } });
    await t.connect();
    await t.exec(['docker', 'ps']);
    await t.exec(['npu-smi', 'info']);
    expect(asked).toBe(1);
    expect(server.commands).toEqual([PROBE, PW_PROBE, "sudo -S -p '' -k -- docker ps", "sudo -S -p '' -k -- npu-smi info"]);
    expect(server.commands.join('\n')).not.toContain('s3cret');
  });

  it('a user sudo refuses a command gets a clear message naming the user, the command and the node', async () => {
    const server = await node({ stdout: '', code: 0 }, (cmd) =>
      cmd.includes('npu-smi') ? { stdout: '', code: 1, stderr: "Sorry, user ops is not allowed to execute '/usr/local/sbin/npu-smi info' as root on node2.\n" } : { stdout: '', code: 0 });
    const t = transport(server);
    const err = await rejection(t.exec(['npu-smi', 'info']));
    expect(err.message).toMatch(/^sudo: user ops is not allowed to run `npu-smi info` on node2/);
    expect(err.hint).toMatch(/sudoers/);
  });
});
