/**
 * HTTP to a node that this machine reaches only by SSH (`ssh -J bastion -L 1025:10.0.0.1:1025 …`
 * done for the user): a listener on 127.0.0.1 whose every connection becomes a `direct-tcpip` channel
 * over the node's SSH connection. undici then talks to http://127.0.0.1:<local port> as it would to
 * the node. When the node is reached directly, the route is the identity and nothing is opened.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { jumpSpec, type JumpHop } from './endpoint.js';

/** What a tunnel needs from a node's SSH connection (SshTransport.openTcp). */
export interface TcpOpener {
  readonly target: { name: string };
  readonly endpoint: { jumpHost?: JumpHop | undefined };
  openTcp(host: string, port: number): Promise<Duplex>;
}

export interface HttpRoute {
  /** The base URL to use from this machine for `base` (`http://host:port`, no trailing slash). */
  url(base: string): string;
  /** How the requests travel, for messages: "through node1's SSH connection (jump host ops@bastion:22)". */
  readonly via: string | undefined;
  /** Why the last tunnelled connection could not be opened, to explain a failed request. */
  lastError(): Error | undefined;
  close(): Promise<void>;
}

const DIRECT: HttpRoute = {
  url: (base) => base,
  via: undefined,
  lastError: () => undefined,
  close: async () => undefined,
};

/**
 * The route to the master's HTTP ports: direct, unless the master is reached through a jump host;
 * then each of `bases` gets a local listener tunnelled over the master's SSH connection.
 */
export async function httpRoute(master: TcpOpener | undefined, bases: readonly string[]): Promise<HttpRoute> {
  const jump = master?.endpoint.jumpHost;
  if (!master || !jump) return DIRECT;
  const tunnels = new Map<string, LocalTunnel>();
  let last: Error | undefined;
  try {
    for (const base of new Set(bases.map(trimSlash))) {
      const { hostname, port } = hostPort(base);
      tunnels.set(base, await openLocalTunnel(() => master.openTcp(hostname, port), (err) => { last = err; }));
    }
  } catch (err) {
    await Promise.all([...tunnels.values()].map((t) => t.close()));
    throw err;
  }
  return {
    url(base) {
      const t = tunnels.get(trimSlash(base));
      return t ? `http://127.0.0.1:${t.port}` : base;
    },
    via: `through ${master.target.name}'s SSH connection (${jump.jumpHost ? 'jump hosts' : 'jump host'} ${jumpSpec(master.endpoint)})`,
    lastError: () => last,
    close: async () => {
      await Promise.all([...tunnels.values()].map((t) => t.close()));
    },
  };
}

export interface LocalTunnel {
  readonly port: number;
  /** Connections accepted so far (tests). */
  readonly accepted: number;
  close(): Promise<void>;
}

/** Listen on 127.0.0.1 (any port); pipe every accepted socket into a fresh `open()` stream. */
export async function openLocalTunnel(open: () => Promise<Duplex>, onError: (err: Error) => void = () => undefined): Promise<LocalTunnel> {
  const live = new Set<Socket | Duplex>();
  let accepted = 0;
  const server: Server = createServer((sock) => {
    accepted++;
    sock.setNoDelay(true);
    live.add(sock);
    sock.on('error', () => undefined);
    sock.on('close', () => live.delete(sock));
    sock.pause();
    open().then(
      (remote) => {
        if (sock.destroyed) {
          remote.destroy();
          return;
        }
        live.add(remote);
        remote.on('error', () => sock.destroy());
        remote.on('close', () => {
          live.delete(remote);
          sock.end();
        });
        sock.on('close', () => remote.destroy());
        sock.pipe(remote).pipe(sock);
        sock.resume();
      },
      (err: unknown) => {
        onError(err instanceof Error ? err : new Error(String(err)));
        sock.destroy();
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    port,
    get accepted() {
      return accepted;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of live) s.destroy();
        live.clear();
        server.close(() => resolve());
      }),
  };
}

function trimSlash(base: string): string {
  return base.replace(/\/+$/, '');
}

function hostPort(base: string): { hostname: string; port: number } {
  const u = new URL(base);
  const hostname = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
  const port = u.port ? Number(u.port) : u.protocol === 'https:' ? 443 : 80;
  return { hostname, port };
}
