/**
 * A stream whose handler makes it wait (the logs merge does, for every batch) gets what arrived
 * meanwhile as one chunk, not one wait per SSH packet: a node that sends a line per packet (`docker
 * logs` of a daemon logging as it goes) otherwise costs a pause, a resume and an event-loop turn per
 * line (issue #12; ssh-pool.ts, the stream's pump); and at most 64 KiB of it at once, however wide the
 * window. No timing: the server writes every line in one burst, and the count of handler calls is
 * compared with the count of lines.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SshEndpoint } from '../../../src/remote/endpoint.js';
import { SshPool } from '../../../src/remote/ssh-pool.js';
import { logWindowBytes } from '../../../src/logs/log-follower.js';
import { makeKeyPair, TestSshServer } from './ssh-test-server.js';

const hostKey = makeKeyPair();
const userKey = makeKeyPair();
const LINES = 20_000;
const text = Array.from({ length: LINES }, (_, i) => `2026-01-02T03:04:05.${String(i).padStart(9, '0')}Z line ${i}\n`).join('');

let dir: string;
let server: TestSshServer;
let pool: SshPool;
let endpoint: SshEndpoint;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ascendctl-gather-'));
  const keyFile = join(dir, 'id_ed25519');
  await writeFile(keyFile, userKey.private, { mode: 0o600 });
  server = await TestSshServer.start({
    hostKey,
    authorizedKeys: [userKey],
    cwd: dir,
    instant: (command) => (command.startsWith('docker logs') ? { stdout: text, code: 0 } : undefined),
    instantLinePackets: true,
  });
  const knownHosts = join(dir, 'known_hosts');
  await writeFile(knownHosts, `[127.0.0.1]:${server.port} ssh-ed25519 ${hostKey.blob.toString('base64')}\n`);
  endpoint = {
    name: 'node1', host: '127.0.0.1', hostname: '127.0.0.1', port: server.port, user: 'root',
    identityFiles: [keyFile], useAgent: false, knownHostsFile: knownHosts, strictHostKeyChecking: 'yes', connectTimeoutMs: 5000,
  };
  pool = new SshPool({ env: {} });
});

afterAll(async () => {
  await pool?.closeAll();
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

async function read(wait: boolean, window = logWindowBytes(64)): Promise<{ calls: number; largest: number; out: string; code: number | null }> {
  let calls = 0;
  let largest = 0;
  const parts: Buffer[] = [];
  const r = await pool.transport(endpoint).stream(['docker', 'logs', '-t', 'c'], {
    onStdout: (chunk) => {
      calls++;
      largest = Math.max(largest, chunk.length);
      parts.push(Buffer.from(chunk));
      // Settles a turn later, as the merge's batch does once printed.
      return wait ? new Promise<void>((resolve) => setImmediate(resolve)) : undefined;
    },
  }, { window });
  return { calls, largest, out: Buffer.concat(parts).toString('utf8'), code: r.code };
}

describe('SshPool stream', () => {
  it('a handler that makes the stream wait gets the packets that arrived meanwhile as one chunk, all of them, in order', async () => {
    const r = await read(true);
    expect(r.code).toBe(0);
    expect(r.out).toBe(text);
    // One call per line would be 20,000; the lines come a burst of packets at a time.
    expect(r.calls).toBeLessThanOrEqual(LINES / 20);
  });

  it('however wide the window, a chunk gathered during a wait is at most 64 KiB (what its handler makes of it lives until handled)', async () => {
    const r = await read(true, 1024 * 1024);
    expect(r.code).toBe(0);
    expect(r.out).toBe(text);
    expect(r.largest).toBeLessThanOrEqual(64 * 1024);
    expect(r.calls).toBeLessThanOrEqual(LINES / 20);
  });

  it('a handler that never waits still gets every line, in order', async () => {
    const r = await read(false);
    expect(r.code).toBe(0);
    expect(r.out).toBe(text);
  });
});
