/**
 * The in-process SSH front-end: one ssh2 server per simulated node on its own loopback address,
 * publickey auth against the allowed keys, a host key per node, and `exec` requests run by the
 * node's shell (stdin from the channel, exit status sent back, channel close aborts the command). ssh2
 * refuses the session requests no handler takes (pty, subsystem).
 */
import { connect as netConnect, type Socket } from 'node:net';
import ssh2 from 'ssh2';
import type { Connection, ParsedKey, ServerChannel } from 'ssh2';
import type { SimNode } from './ascend-node.js';
import { coalescingWriter, listenLocal, readableToPipe, type SendQueue } from './byte-pipe.js';
import type { SimCluster } from './cluster.js';
import { runShell } from './shell.js';

const { Server, utils } = ssh2;

interface HostKeyPair {
  /** OpenSSH private key text. */
  private: string;
  /** `ssh-ed25519 AAAA…` (known_hosts key part). */
  public: string;
}

/** Bytes of an `ssh-ed25519` public key blob: string "ssh-ed25519" + string key (32 bytes). */
const ED25519_BLOB_BYTES = 4 + 11 + 4 + 32;

/**
 * An ed25519 key pair in OpenSSH format. ssh2's generator strips the public key's leading zero bytes, so one
 * key in 256 comes out 31 bytes long, which nobody (ssh2 included) accepts: such a key is made again.
 */
export function generateEd25519(opts?: { passphrase?: string }): HostKeyPair {
  for (;;) {
    const k =
      opts?.passphrase !== undefined
        ? utils.generateKeyPairSync('ed25519', { passphrase: opts.passphrase, cipher: 'aes256-ctr', rounds: 16 })
        : utils.generateKeyPairSync('ed25519');
    const blob = Buffer.from(k.public.trim().split(/\s+/)[1] ?? '', 'base64');
    if (blob.length === ED25519_BLOB_BYTES) return k;
  }
}

export function generateHostKey(): HostKeyPair {
  const k = generateEd25519();
  return { private: k.private, public: k.public.trim() };
}

interface NodeFront {
  server: InstanceType<typeof Server> | undefined;
  connections: Set<Connection>;
  hostKey: HostKeyPair;
  /** `direct-tcpip` channels opened (ssh -L / -J through this node), by "host:port". */
  forwards: Map<string, number>;
}

export class SshFront {
  private readonly fronts = new Map<string, NodeFront>();
  private readonly allowed: ParsedKey[];
  private unsubscribe: (() => void) | undefined;
  private stopped = false;

  /** `authorizedKeys`: OpenSSH public key lines allowed to log in; every node gets a fresh host key. */
  constructor(private readonly cluster: SimCluster, authorizedKeys: string[]) {
    this.allowed = authorizedKeys.map((line) => {
      const parsed = utils.parseKey(line);
      if (parsed instanceof Error) {
        throw new Error(`unusable authorized key (${parsed.message}): ${line.slice(0, 40)}…`);
      }
      return Array.isArray(parsed) ? (parsed[0] as ParsedKey) : parsed;
    });
    for (const node of cluster.nodes) {
      this.fronts.set(node.name, {
        server: undefined, connections: new Set(), forwards: new Map(), hostKey: generateHostKey(),
      });
    }
  }

  private front(nodeName: string): NodeFront {
    const front = this.fronts.get(nodeName);
    if (!front) throw new Error(`no simulated node ${nodeName}`);
    return front;
  }

  hostKey(nodeName: string): HostKeyPair {
    return this.front(nodeName).hostKey;
  }

  /** Listen for every node that is not down; follow node-down/up changes afterwards. */
  async start(): Promise<void> {
    await Promise.all(this.cluster.nodes.map((n) => this.sync(n)));
    this.unsubscribe = this.cluster.onChange((n) => { void this.sync(n); });
  }

  /** `direct-tcpip` channels this node opened, by "host:port" (tests of jump hosts and tunnels). */
  forwards(nodeName: string): Map<string, number> {
    return new Map(this.front(nodeName).forwards);
  }

  /** Kill the live SSH connections of a node (tests of reconnection). Returns how many were cut. */
  dropConnections(nodeName: string): number {
    const front = this.front(nodeName);
    const n = front.connections.size;
    // The hard way (a dropped network path), not with an SSH disconnect message.
    for (const c of front.connections) {
      const sock = (c as unknown as { _sock?: Socket })._sock;
      if (sock) sock.destroy();
      else c.end();
    }
    front.connections.clear();
    return n;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    await Promise.all([...this.fronts.keys()].map((name) => this.close(name)));
  }

  private async sync(node: SimNode): Promise<void> {
    const front = this.fronts.get(node.name);
    if (!front || this.stopped) return;
    if (node.down) await this.close(node.name);
    else if (!front.server) await this.listen(node, front);
  }

  private async close(name: string): Promise<void> {
    const front = this.front(name);
    const server = front.server;
    if (!server) return;
    front.server = undefined;
    this.dropConnections(name);
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async listen(node: SimNode, front: NodeFront): Promise<void> {
    const server = new Server({ hostKeys: [front.hostKey.private] }, (client) => this.accept(node, front, client));
    front.server = server;
    await listenLocal(server, node.sshPort, node.host);
    server.on('error', () => undefined);
  }

  private accept(node: SimNode, front: NodeFront, client: Connection): void {
    // Short exec round trips: without TCP_NODELAY each waits out a delayed ACK (types lack the method).
    (client as unknown as { setNoDelay(v: boolean): void }).setNoDelay(true);
    front.connections.add(client);
    client.on('close', () => front.connections.delete(client));
    client.on('error', () => undefined);
    let login = 'root';
    client.on('authentication', (ctx) => {
      login = ctx.username;
      if (ctx.method !== 'publickey') return ctx.reject(['publickey']);
      const key = this.allowed.find((k) => k.type === ctx.key.algo && k.getPublicSSH().equals(ctx.key.data));
      if (!key) return ctx.reject(['publickey']);
      if (!ctx.signature || !ctx.blob) return ctx.accept(); // the client asks whether this key would do
      return key.verify(ctx.blob, ctx.signature, ctx.hashAlgo) === true ? ctx.accept() : ctx.reject(['publickey']);
    });
    client.on('ready', () => {
      // Port forwarding as sshd's AllowTcpForwarding allows it, limited to loopback: the simulated
      // cluster lives on 127.0.0.0/8 and nothing here may reach further.
      client.on('tcpip', (acceptFwd, rejectFwd, info) => {
        if (!/^127\.\d+\.\d+\.\d+$/.test(info.destIP) && info.destIP !== 'localhost') return rejectFwd();
        const sock = netConnect({ host: info.destIP, port: info.destPort });
        sock.once('error', () => rejectFwd());
        sock.once('connect', () => {
          sock.removeAllListeners('error');
          sock.on('error', () => undefined);
          sock.setNoDelay(true);
          const key = `${info.destIP}:${info.destPort}`;
          front.forwards.set(key, (front.forwards.get(key) ?? 0) + 1);
          const ch = acceptFwd();
          ch.on('error', () => undefined);
          ch.on('close', () => sock.destroy());
          sock.on('close', () => ch.destroy());
          ch.pipe(sock).pipe(ch);
        });
      });
      client.on('session', (acceptSession) => {
        const session = acceptSession();
        const env: Record<string, string> = { USER: login };
        session.on('env', (accept, _reject, info) => {
          env[info.key] = info.val;
          accept?.();
        });
        session.on('shell', (accept) => {
          const channel = accept();
          channel.stderr.write(`${node.name}: this simulated node runs commands only (ssh host COMMAND).\n`);
          channel.exit(1);
          channel.end();
        });
        session.on('exec', (accept, _reject, info) => {
          const channel = accept();
          this.exec(node, channel, info.command, env);
        });
      });
    });
  }

  private exec(node: SimNode, channel: ServerChannel, command: string, env: Record<string, string>): void {
    const ac = new AbortController();
    channel.on('close', () => ac.abort());
    channel.on('error', () => undefined);
    const sends: SendQueue = { last: Promise.resolve() };
    const out = coalescingWriter(channel, ac.signal, undefined, sends);
    const err = coalescingWriter(channel.stderr, ac.signal, undefined, sends);
    const io = {
      stdin: readableToPipe(channel),
      stdout: (c: string | Buffer) => out.write(c),
      stderr: (c: string | Buffer) => err.write(c),
      signal: ac.signal,
      env,
    };
    void (async () => {
      let code = 255;
      try {
        // A login shell's start-up files speak before the command runs, on both streams.
        if (node.spec.banner?.stdout) await io.stdout(node.spec.banner.stdout);
        if (node.spec.banner?.stderr) await io.stderr(node.spec.banner.stderr);
        code = await runShell(node, command, io);
      } catch (err) {
        await io.stderr(`sh: simulator error: ${err instanceof Error ? err.message : String(err)}\n`);
      }
      await Promise.all([out.flush(), err.flush()]);
      if (ac.signal.aborted) return;
      channel.exit(code);
      channel.end();
    })();
  }
}
