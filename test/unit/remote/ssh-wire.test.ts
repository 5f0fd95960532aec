import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import type { Connection } from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SshPool } from '../../../src/remote/ssh-pool.js';
import { batchWrites, SSH_ALGORITHMS } from '../../../src/remote/ssh-link.js';
import { makeKeyPair } from './ssh-test-server.js';
import { unframeCommand } from '../../../src/remote/frame.js';

/** A loopback TCP pair: `client` is ours, `peer` is the far end. */
async function socketPair(): Promise<{ client: Socket; peer: Socket; close(): Promise<void> }> {
  const server: Server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  const accepted = new Promise<Socket>((r) => server.once('connection', r));
  const client = connect(port, '127.0.0.1');
  await new Promise<void>((r) => client.once('connect', () => r()));
  const peer = await accepted;
  client.setNoDelay(true);
  peer.setNoDelay(true);
  return {
    client,
    peer,
    close: async () => {
      client.destroy();
      peer.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

describe('batchWrites', () => {
  it('sends what is written in answer to one burst of incoming data as one write', async () => {
    const { client, peer, close } = await socketPair();
    try {
      batchWrites(client);
      const writes: number[] = [];
      // What reaches the kernel: one writev of both packets, not two writes.
      const raw = client as unknown as { _writeGeneric(writev: boolean, data: unknown, enc: string, cb: () => void): void };
      const orig = raw._writeGeneric.bind(client);
      raw._writeGeneric = (writev, data, enc, cb) => {
        writes.push(writev ? (data as unknown[]).length : 1);
        orig(writev, data, enc, cb);
      };
      let corkedInHandler = -1;
      client.on('data', () => {
        client.write('close-1;');
        client.write('open-2;');
        corkedInHandler = client.writableCorked;
      });
      const got = new Promise<string>((resolve) => {
        let text = '';
        peer.on('data', (d: Buffer) => {
          text += d.toString();
          if (text === 'close-1;open-2;') resolve(text);
        });
      });
      peer.write('x');
      expect(await got).toBe('close-1;open-2;');
      expect(corkedInHandler).toBe(1);
      expect(writes).toEqual([2]);
      expect(client.writableCorked).toBe(0);
    } finally {
      await close();
    }
  });

  it('does not hold back writes that no incoming data triggered', async () => {
    const { client, peer, close } = await socketPair();
    try {
      batchWrites(client);
      const got = new Promise<string>((resolve) => peer.once('data', (d: Buffer) => resolve(d.toString())));
      client.write('hello');
      expect(client.writableCorked).toBe(0);
      expect(await got).toBe('hello');
    } finally {
      await close();
    }
  });

  it('handles bursts one after another (uncorks after each)', async () => {
    const { client, peer, close } = await socketPair();
    try {
      batchWrites(client);
      client.on('data', (d: Buffer) => {
        client.write(`${d.toString()}!`);
      });
      const replies: string[] = [];
      for (const word of ['a', 'b', 'c']) {
        const got = new Promise<string>((resolve) => peer.once('data', (d: Buffer) => resolve(d.toString())));
        peer.write(word);
        replies.push(await got);
      }
      expect(replies).toEqual(['a!', 'b!', 'c!']);
    } finally {
      await close();
    }
  });
});

describe('algorithms offered by the pool', () => {
  const hostKey = makeKeyPair();
  const userKey = makeKeyPair();
  let dir: string;
  let keyFile: string;
  let knownHosts: string;
  let server: ssh2.Server;
  let port: number;
  const negotiated: { cipher: string; compress: string }[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ascendctl-wire-'));
    keyFile = join(dir, 'id_ed25519');
    await writeFile(keyFile, userKey.private, { mode: 0o600 });
    // The server prefers chacha20 and offers compression: the client's order must decide.
    server = new ssh2.Server(
      {
        hostKeys: [hostKey.private],
        algorithms: {
          cipher: ['chacha20-poly1305@openssh.com', 'aes256-gcm@openssh.com', 'aes128-gcm@openssh.com'],
          compress: ['zlib@openssh.com', 'zlib', 'none'],
        },
      },
      (client: Connection) => {
        client.on('error', () => undefined);
        client.on('handshake', (n) => negotiated.push({ cipher: n.cs.cipher, compress: n.cs.compress }));
        client.on('authentication', (ctx) => {
          if (ctx.method === 'publickey') ctx.accept();
          else ctx.reject(['publickey']);
        });
        client.on('ready', () => {
          client.on('session', (accept) => {
            accept().on('exec', (acceptExec, _reject, info) => {
              const ch = acceptExec();
              const framed = unframeCommand(info.command);
              if (framed) ch.write(`${framed.marker}\n`);
              ch.write(`ran ${framed?.command ?? info.command}\n`);
              ch.exit(0);
              ch.end();
            });
          });
        });
      },
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
    knownHosts = join(dir, 'known_hosts');
    await writeFile(knownHosts, `[127.0.0.1]:${port} ssh-ed25519 ${hostKey.blob.toString('base64')}\n`);
  });

  afterAll(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    await rm(dir, { recursive: true, force: true });
  });

  it('lists AES-GCM first and no compression', () => {
    expect(SSH_ALGORITHMS.cipher.slice(0, 2)).toEqual(['aes128-gcm@openssh.com', 'aes256-gcm@openssh.com']);
    expect(SSH_ALGORITHMS.compress).toEqual(['none']);
  });

  it('negotiates aes128-gcm without compression, and calls still work over it', async () => {
    const pool = new SshPool({ env: {} });
    try {
      const t = pool.transport({
        name: 'node1', host: '127.0.0.1', hostname: '127.0.0.1', port, user: 'root', identityFiles: [keyFile], useAgent: false,
        knownHostsFile: knownHosts, strictHostKeyChecking: 'yes', connectTimeoutMs: 5000,
      });
      const results = [];
      // Sequential calls: each one's close and the next one's open go out batched.
      for (let i = 0; i < 5; i++) results.push(await t.exec(['echo', String(i)], { stdin: i % 2 === 0 ? 'in' : undefined }));
      expect(results.map((r) => [r.stdout, r.code])).toEqual([0, 1, 2, 3, 4].map((i) => [`ran echo ${i}\n`, 0]));
      expect(t.stats.channelsOpened).toBe(5);
    } finally {
      await pool.closeAll();
    }
    expect(negotiated.at(-1)).toEqual({ cipher: 'aes128-gcm@openssh.com', compress: 'none' });
  });
});
