/**
 * What a paused SSH channel holds: with ssh2's own window a node may push about 2 MiB in flight and
 * 2 MiB more into the channel's queue before it is stopped; a log stream opened with execWithWindow
 * holds at most its window plus half of it (channel-window.ts). No timing: each case waits until the
 * server has used up every byte of window it was granted, then counts what arrived.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import type { Client, ClientChannel } from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChannelWindow, channelWindowBytes, execWithWindow, SSH2_WINDOW } from '../../../src/remote/channel-window.js';
import { makeKeyPair, TestSshServer } from './ssh-test-server.js';

const hostKey = makeKeyPair();
const userKey = makeKeyPair();
let dir: string;
let server: TestSshServer;
/** Far more than any window: the node always has more to send. */
const FILE_BYTES = 12 * 1024 * 1024;
const PACKET = 32 * 1024;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ascendctl-window-'));
  await writeFile(join(dir, 'big.log'), Buffer.alloc(FILE_BYTES, 'x\n'));
  server = await TestSshServer.start({ hostKey, authorizedKeys: [userKey], cwd: dir });
});

afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

function connect(): Promise<Client> {
  return new Promise((resolve, reject) => {
    const c = new ssh2.Client();
    c.once('ready', () => resolve(c)).once('error', reject);
    c.connect({ host: '127.0.0.1', port: server.port, username: 'root', privateKey: userKey.private, hostVerifier: () => true });
  });
}

interface Internals {
  incoming: { window: number };
}

/**
 * Open `cat big.log` and never read it: wait until the server has sent every byte it was allowed
 * to (our count of its window is 0), then report what waits in the channel.
 */
async function pausedHolding(client: Client, open: (cb: (err: Error | undefined, ch: ClientChannel) => void) => void): Promise<number> {
  const ch = await new Promise<ClientChannel>((resolve, reject) => open((err, c) => (err ? reject(err) : resolve(c))));
  const internals = ch as unknown as Internals;
  while (internals.incoming.window > 0) await new Promise((r) => setImmediate(r));
  const held = ch.readableLength + ch.stderr.readableLength;
  ch.destroy();
  return held;
}

describe('execWithWindow', () => {
  it('a paused channel holds at most its window and half of it, where ssh2 alone lets a node queue megabytes', async () => {
    const client = await connect();
    try {
      const plain = await pausedHolding(client, (cb) => client.exec('cat big.log', cb));
      expect(plain).toBeGreaterThan(SSH2_WINDOW);
      const window = 256 * 1024;
      const capped = await pausedHolding(client, (cb) => execWithWindow(client, 'cat big.log', window, cb));
      expect(capped).toBeGreaterThan(0);
      expect(capped).toBeLessThanOrEqual(window + window / 2 + PACKET);
    } finally {
      client.end();
    }
  });

  it('a capped channel still delivers the whole output, in order', async () => {
    const client = await connect();
    try {
      const ch = await new Promise<ClientChannel>((resolve, reject) => execWithWindow(client, 'cat big.log', 64 * 1024, (err, c) => (err ? reject(err) : resolve(c))));
      let bytes = 0;
      let bad = 0;
      ch.on('data', (c: Buffer) => {
        // 'x\n' repeated: every even offset is x
        for (let i = 0; i < c.length; i++) if (c[i] !== ((bytes + i) % 2 === 0 ? 0x78 : 0x0a)) bad++;
        bytes += c.length;
      });
      ch.stderr.resume();
      ch.end();
      await new Promise((r) => ch.once('close', r));
      expect(bytes).toBe(FILE_BYTES);
      expect(bad).toBe(0);
    } finally {
      client.end();
    }
  });

  it('a ChannelWindow widened on a paused channel lets the node send up to the new size; narrowed, the channel still delivers every byte', async () => {
    const client = await connect();
    try {
      const small = 64 * 1024;
      const wide = 512 * 1024;
      const w = new ChannelWindow(small);
      const ch = await new Promise<ClientChannel>((resolve, reject) => execWithWindow(client, 'cat big.log', w, (err, c) => (err ? reject(err) : resolve(c))));
      ch.pause();
      ch.stderr.pause();
      const internals = ch as unknown as Internals;
      const drained = async (): Promise<number> => {
        while (internals.incoming.window > 0) await new Promise((r) => setImmediate(r));
        return ch.readableLength + ch.stderr.readableLength;
      };
      const before = await drained();
      expect(before).toBeLessThanOrEqual(small + small / 2 + PACKET);
      expect(w.held).toBe(before);
      w.resize(wide);
      const after = await drained();
      expect(after).toBeGreaterThanOrEqual(before + wide - PACKET);
      expect(after).toBeLessThanOrEqual(wide + wide / 2 + small + PACKET);
      w.resize(small);
      let bytes = 0;
      let bad = 0;
      ch.on('data', (c: Buffer) => {
        for (let i = 0; i < c.length; i++) if (c[i] !== ((bytes + i) % 2 === 0 ? 0x78 : 0x0a)) bad++;
        bytes += c.length;
      });
      ch.resume();
      ch.stderr.resume();
      ch.end();
      await new Promise((r) => ch.once('close', r));
      expect(bytes).toBe(FILE_BYTES);
      expect(bad).toBe(0);
      expect(w.held).toBe(0);
    } finally {
      client.end();
    }
  });

  it('a ChannelWindow resized while its channel is being opened applies once it is open', async () => {
    const client = await connect();
    try {
      const w = new ChannelWindow(64 * 1024);
      const held = await pausedHolding(client, (cb) => {
        execWithWindow(client, 'cat big.log', w, cb);
        w.resize(512 * 1024);
      });
      expect(held).toBeGreaterThan(512 * 1024 - PACKET);
    } finally {
      client.end();
    }
  });

  it('keeps the window within 32 KiB … 1 MiB', () => {
    expect(channelWindowBytes(1)).toBe(32 * 1024);
    expect(channelWindowBytes(256 * 1024)).toBe(256 * 1024);
    expect(channelWindowBytes(64 * 1024 * 1024)).toBe(1024 * 1024);
  });
});
