/**
 * One SSH connection to one host, made lazily and kept for the run: the handshake (host key check,
 * authentication, optional hops through jump hosts) and the translation of every way it can fail into
 * a RemoteError in domain words. The pool owns one Link per node and one per jump host.
 */
import { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import ssh2 from 'ssh2';
import type { CipherAlgorithm, Client as SshClient, ClientChannel, CompressionAlgorithm } from 'ssh2';
import { configFileOf, formatAddress, type JumpEndpoint } from './endpoint.js';
import { hostKeyAlgorithms, knownHostsName, verifyHostKey, type HostKeyAlgorithm, type HostKeyVerdict } from './known-hosts.js';
import { quoteArg } from './quote.js';
import { loadAuthMethods, type AuthPlan } from './ssh-identity.js';
import type { Semaphore } from './semaphore.js';
import { RemoteError } from './transport.js';

/** What a Link needs about its host: a node endpoint or a jump endpoint (no name, no further jump). */
export type LinkEndpoint = Omit<JumpEndpoint, 'host'>;

export interface LinkSpec {
  /** Node name for RemoteError.node (a jump host's errors are re-attributed by the node using it). */
  node: string;
  /** How messages name the host: "node3 (10.0.0.3:22)" or "jump host bastion:22". */
  label: string;
  ep: LinkEndpoint;
  /** Reach the host through this link's connection (`direct-tcpip`) instead of TCP. */
  via?: Link;
  /** This link is a jump host: its address and port come from ssh.jumpHost, not ssh.port. */
  jump?: boolean;
  /** Bounds connection set-ups in flight; held only until ready or failed. */
  gate?: Semaphore;
  keepaliveIntervalMs: number;
  keepaliveCountMax: number;
  env: NodeJS.ProcessEnv;
  /** The passphrase of an encrypted identity file no agent answers for (asked once per file by the pool). */
  askPassphrase?: (file: string) => Promise<string>;
  onConnected(): void;
  onFailed(): void;
}

type ErrnoLike = Error & { code?: string; level?: string };

/**
 * Algorithms offered, most preferred first (the client's order decides). AES-GCM runs in Node's
 * native crypto; chacha20-poly1305 may fall back to ssh2's JavaScript, which costs CPU on every
 * packet of hundreds of short calls. Compression only adds work for outputs of a few hundred bytes.
 */
export const SSH_ALGORITHMS: { readonly cipher: readonly CipherAlgorithm[]; readonly compress: readonly CompressionAlgorithm[] } = {
  // A full list rather than ssh2's `prepend`, which leaves an algorithm already in its defaults where it is.
  cipher: ['aes128-gcm@openssh.com', 'aes256-gcm@openssh.com', 'aes128-ctr', 'aes192-ctr', 'aes256-ctr', 'chacha20-poly1305@openssh.com'],
  compress: ['none'],
};

/**
 * Hold back what is written in answer to one burst of incoming packets and send it as one write once
 * the event loop has handled the burst: e.g. a finished call's CHANNEL_CLOSE and the next call's
 * CHANNEL_OPEN leave in one TCP segment instead of two syscalls (TCP_NODELAY is on, so nothing else
 * would coalesce them). Writes not triggered by incoming data are not held.
 */
export function batchWrites(sock: Socket): void {
  let corked = false;
  const flush = (): void => {
    corked = false;
    sock.uncork();
  };
  sock.prependListener('data', () => {
    if (corked) return;
    corked = true;
    sock.cork();
    setImmediate(flush);
  });
}

/**
 * A live client, or the error that stopped it. A failed set-up is remembered so that later calls on
 * a dead node fail at once instead of each waiting out the connect timeout; `reset()` forgets it.
 * A connection that was up and then dropped is not a failure: the next call dials again.
 */
export class Link {
  readonly spec: LinkSpec;
  connections = 0;
  #client: SshClient | undefined;
  #pending: Promise<SshClient> | undefined;
  #failure: RemoteError | undefined;
  #shutDown = false;
  readonly #dead = new WeakSet<SshClient>();

  constructor(spec: LinkSpec) {
    this.spec = spec;
  }

  get isUp(): boolean {
    return this.#client !== undefined;
  }

  get(): Promise<SshClient> {
    if (this.#shutDown) {
      return Promise.reject(new RemoteError('aborted', this.spec.node, `the SSH pool was closed; ${this.spec.label} is no longer reachable`));
    }
    if (this.#client) return Promise.resolve(this.#client);
    if (this.#failure) return Promise.reject(this.#failure);
    // Concurrent first calls share one set-up.
    this.#pending ??= this.#connect().then(
      (client) => {
        this.#pending = undefined;
        if (this.#shutDown) {
          client.end();
          throw new RemoteError('aborted', this.spec.node, `the SSH pool was closed while connecting to ${this.spec.label}`);
        }
        this.#client = client;
        this.connections++;
        this.spec.onConnected();
        return client;
      },
      (err: unknown) => {
        this.#pending = undefined;
        this.spec.onFailed();
        const failure =
          err instanceof RemoteError
            ? err
            : new RemoteError('connect', this.spec.node, `connecting to ${this.spec.label} failed: ${String(err)}`, undefined, err);
        this.#failure = failure;
        throw failure;
      },
    );
    return this.#pending;
  }

  /** True once this client's connection has closed (its channels can no longer work). */
  isDead(client: SshClient): boolean {
    return this.#dead.has(client);
  }

  /**
   * After a channel could not be opened: if the cause is a connection that died since it was made,
   * drop it so that the next `get()` dials again, and say so.
   */
  dropIfDead(client: SshClient, err: unknown): boolean {
    const msg = err instanceof Error ? err.message : '';
    const dead = this.#dead.has(client) || msg === 'Not connected' || msg === 'No response from server';
    if (!dead) return false;
    this.#dead.add(client);
    if (this.#client === client) this.#client = undefined;
    client.destroy();
    return true;
  }

  /** Forget a remembered failure (here and on the jump host) so the next `get()` dials again. */
  clearFailure(): void {
    this.#failure = undefined;
    this.spec.via?.clearFailure();
  }

  /** Forget a remembered failure and drop the connection; the next `get()` dials again. */
  async reset(): Promise<void> {
    this.clearFailure();
    await this.#settlePending();
    const client = this.#client;
    this.#client = undefined;
    if (client) await this.#endClient(client);
  }

  async shutdown(): Promise<void> {
    this.#shutDown = true;
    await this.#settlePending();
    const client = this.#client;
    this.#client = undefined;
    if (client) await this.#endClient(client);
  }

  async #settlePending(): Promise<void> {
    if (this.#pending) await this.#pending.then(() => undefined, () => undefined);
  }

  #endClient(client: SshClient): Promise<void> {
    if (this.#dead.has(client)) return Promise.resolve();
    return new Promise((resolve) => {
      // A peer that never answers the disconnect must not hold up the end of the run.
      const timer = setTimeout(() => {
        client.destroy();
        resolve();
      }, 2000);
      timer.unref();
      client.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      client.end();
    });
  }

  async #connect(): Promise<SshClient> {
    const release = this.spec.gate ? await this.spec.gate.acquire() : undefined;
    try {
      return await this.#dial();
    } finally {
      release?.();
    }
  }

  async #dial(): Promise<SshClient> {
    const { spec } = this;
    // Keys first: a passphrase typed at a prompt does not count against the connect timeout.
    const auth = await loadAuthMethods(spec.ep, spec.node, spec.label, spec.env, spec.askPassphrase);
    const deadline = performance.now() + spec.ep.connectTimeoutMs;
    const { ep } = spec;
    const hostKeys = await hostKeyAlgorithms(ep.knownHostsFile, ep.hostname, ep.port, ep.strictHostKeyChecking);
    let sock: Duplex | undefined;
    if (spec.via) sock = await this.#hop(spec.via, deadline);
    return await this.#handshake(auth, hostKeys, sock, Math.max(1, deadline - performance.now()));
  }

  /** Open `direct-tcpip` to this host through the jump host's (shared) connection. */
  async #hop(via: Link, deadline: number): Promise<ClientChannel> {
    const { spec } = this;
    let jump: SshClient;
    try {
      jump = await via.get();
    } catch (err) {
      const e = err as RemoteError;
      // A hop of a chain passes on the error of the hop that failed, which names it.
      if (spec.jump) throw err;
      const hosts = via.spec.via ? 'jump hosts' : 'jump host';
      throw new RemoteError(e.kind, spec.node, `cannot reach ${spec.label} through its ${hosts}: ${e.message}`, e.hint, err);
    }
    return await new Promise<ClientChannel>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(
          new RemoteError(
            'connect',
            spec.node,
            `${via.spec.label} did not open a connection to ${spec.label} within ${secs(spec.ep.connectTimeoutMs)}`,
            'check that the jump host can reach the node on its SSH port',
          ),
        );
      }, Math.max(1, deadline - performance.now()));
      const done = (err: Error | undefined, stream?: ClientChannel): void => {
        clearTimeout(timer);
        if (err || !stream) {
          reject(
            new RemoteError(
              'connect',
              spec.node,
              `${via.spec.label} could not open a connection to ${spec.label}: ${err?.message ?? 'no stream'}`,
              `check that the ${spec.jump ? 'host' : 'node'} is up and that ${spec.jump ? 'the jump host before it' : 'the jump host'} can reach it: ssh -J ${viaChain(via)} -p ${spec.ep.port} ${spec.ep.user}@${spec.ep.hostname}`,
              err,
            ),
          );
          return;
        }
        resolve(stream);
      };
      try {
        jump.forwardOut('127.0.0.1', 0, spec.ep.hostname, spec.ep.port, done);
      } catch (err) {
        done(err as Error);
      }
    });
  }

  #handshake(auth: AuthPlan, hostKeys: HostKeyAlgorithm[], sock: Duplex | undefined, timeoutMs: number): Promise<SshClient> {
    const { spec } = this;
    const { ep } = spec;
    return new Promise<SshClient>((resolve, reject) => {
      const client = new ssh2.Client();
      let verdict: HostKeyVerdict | undefined;
      let verifyError: unknown;
      const agentErrors: string[] = [];
      let settled = false;

      const fail = (err: RemoteError): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        client.destroy();
        sock?.destroy();
        reject(err);
      };
      // ssh2's readyTimeout covers TCP + handshake; this timer also covers a stalled host-key check or agent.
      const timer = setTimeout(() => fail(this.#timeoutError(timeoutMs)), timeoutMs + 250);

      client.on('close', () => {
        this.#dead.add(client);
        if (this.#client === client) this.#client = undefined;
        if (!settled) {
          fail(
            new RemoteError(
              'connect',
              spec.node,
              `${spec.label} closed the connection during the SSH handshake`,
              'the server may limit unauthenticated connections (sshd MaxStartups) or refuse this client; try `ssh` by hand',
            ),
          );
        }
      });
      // Stays attached for the life of the client: an error after ready must not escape as an
      // unhandled 'error' event and take down the other nodes' work.
      client.on('error', (err: ErrnoLike) => {
        if (err.level === 'agent') {
          agentErrors.push(err.message);
          return;
        }
        if (!settled) fail(this.#mapError(err, { verdict, verifyError, auth, agentErrors, timeoutMs }));
      });
      client.once('ready', () => {
        // Many small request/response exchanges: without TCP_NODELAY each one can wait out a
        // delayed ACK (~40 ms), which dominates a preflight's hundreds of short calls.
        client.setNoDelay(true);
        // ssh2 keeps its TCP socket private; through a jump host the writes go to a channel of the
        // jump connection, whose own socket is batched already.
        const tcp = sock ? undefined : (client as unknown as { _sock?: unknown })._sock;
        if (tcp instanceof Socket) batchWrites(tcp);
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(client);
      });

      try {
        client.connect({
          host: ep.hostname,
          port: ep.port,
          ...(sock ? { sock } : {}),
          username: ep.user,
          authHandler: auth.methods,
          hostVerifier: (key: Buffer, verify: (ok: boolean) => void): void => {
            verifyHostKey(ep.knownHostsFile, ep.hostname, ep.port, key, ep.strictHostKeyChecking).then(
              (v) => {
                verdict = v;
                verify(v.ok);
              },
              (err: unknown) => {
                verifyError = err;
                verify(false);
              },
            );
          },
          algorithms: { cipher: [...SSH_ALGORITHMS.cipher], compress: [...SSH_ALGORITHMS.compress], serverHostKey: hostKeys },
          readyTimeout: timeoutMs,
          keepaliveInterval: spec.keepaliveIntervalMs,
          keepaliveCountMax: spec.keepaliveCountMax,
        });
      } catch (err) {
        fail(new RemoteError('config', spec.node, `cannot connect to ${spec.label}: ${(err as Error).message}`, undefined, err));
      }
    });
  }

  #timeoutError(timeoutMs: number): RemoteError {
    const { spec } = this;
    return new RemoteError(
      'connect',
      spec.node,
      `${spec.label} did not complete the SSH connection within ${secs(timeoutMs)}`,
      `check that the node is up and that ${spec.ep.hostname}:${spec.ep.port} is the right address; raise ssh.connectTimeout in ${configFileOf(spec.ep)} for slow links`,
    );
  }

  #mapError(
    err: ErrnoLike,
    ctx: { verdict: HostKeyVerdict | undefined; verifyError: unknown; auth: AuthPlan; agentErrors: string[]; timeoutMs: number },
  ): RemoteError {
    const { spec } = this;
    const { ep, node, label } = spec;
    if (ctx.verifyError !== undefined) {
      return new RemoteError(
        'config',
        node,
        `cannot read the known_hosts file ${ep.knownHostsFile} to check ${label}: ${(ctx.verifyError as Error).message ?? String(ctx.verifyError)}`,
        `fix ssh.knownHostsFile in ${configFileOf(ep)} or the permissions of that file`,
        ctx.verifyError,
      );
    }
    if (ctx.verdict && !ctx.verdict.ok) return this.#hostKeyError(ctx.verdict);
    if (err.level === 'client-authentication') {
      const agentNote = ctx.agentErrors.length > 0 ? `; ssh-agent: ${ctx.agentErrors.join('; ')}` : '';
      return new RemoteError(
        'auth',
        node,
        `${label} rejected authentication as ${ep.user} (tried: ${ctx.auth.tried.join(', ')}${agentNote})`,
        spec.jump
          ? `check that the matching public key is in ~${ep.user}/.ssh/authorized_keys on ${ep.hostname}, and ssh.jumpHost (or that host's User/IdentityFile in ~/.ssh/config) and ssh.identityFile in ${configFileOf(ep)}`
          : `check that the matching public key is in ~${ep.user}/.ssh/authorized_keys on ${ep.hostname}, and ssh.user/ssh.identityFile in ${configFileOf(ep)}`,
        err,
      );
    }
    if (err.level === 'client-timeout') return this.#timeoutError(ctx.timeoutMs);
    const where = `${ep.hostname}:${ep.port}`;
    switch (err.code) {
      case 'ECONNREFUSED':
        return new RemoteError(
          'connect',
          node,
          `${label} refused the connection`,
          `is sshd running on ${ep.hostname} and listening on port ${ep.port}? check ${this.spec.jump ? 'ssh.jumpHost' : 'ssh.port'} in ${configFileOf(ep)}`,
          err,
        );
      case 'ETIMEDOUT':
        return new RemoteError('connect', node, `${label} did not answer (connection timed out)`, `check that the node is up and ${where} is reachable from here`, err);
      case 'EHOSTUNREACH':
      case 'EHOSTDOWN':
        return new RemoteError('connect', node, `${label} is unreachable (no route to host)`, `check that the node is powered on and on the network`, err);
      case 'ENETUNREACH':
        return new RemoteError('connect', node, `${label} is unreachable (network unreachable)`, `check this machine's routes to ${ep.hostname}`, err);
      case 'ENOTFOUND':
      case 'EAI_AGAIN':
        return new RemoteError(
          'connect',
          node,
          `cannot resolve the host name ${ep.hostname} of ${node}`,
          `check the host in ${configFileOf(ep)} (or its HostName in ~/.ssh/config)`,
          err,
        );
      case 'ECONNRESET':
      case 'EPIPE':
        return new RemoteError(
          'connect',
          node,
          `${label} reset the connection during the SSH handshake`,
          'the server may limit concurrent unauthenticated connections (sshd MaxStartups) or block this client',
          err,
        );
      default:
        return new RemoteError('connect', node, `SSH connection to ${label} failed: ${err.message}`, 'try `ssh` to the node by hand to see why', err);
    }
  }

  #hostKeyError(v: Extract<HostKeyVerdict, { ok: false }>): RemoteError {
    const { ep, node, label } = this.spec;
    const file = ep.knownHostsFile;
    const name = knownHostsName(ep.hostname, ep.port);
    const offered = `${v.keyType} ${v.fingerprint}`;
    switch (v.reason) {
      case 'unknown':
        return new RemoteError(
          'host-key',
          node,
          `host key of ${label} is not known: ${offered} is not in ${file}`,
          `compare the fingerprint with the node's own (ssh-keygen -lf on /etc/ssh/ssh_host_*_key.pub there), then set ssh.strictHostKeyChecking: accept-new in ${configFileOf(ep)}, or add it with: ssh-keyscan -p ${ep.port} ${ep.hostname} >> ${file}`,
        );
      case 'changed':
        return new RemoteError(
          'host-key',
          node,
          `host key of ${label} has CHANGED: the server offered ${offered}, but ${file} line ${v.expected?.line ?? '?'} holds ${v.expected?.fingerprint ?? 'another key'}; someone may be intercepting the connection, or the node was reinstalled`,
          `if the node was reinstalled, remove the old key with: ssh-keygen -R ${quoteArg(name)} -f ${file}`,
        );
      case 'revoked':
        return new RemoteError(
          'host-key',
          node,
          `host key of ${label} (${offered}) is marked @revoked in ${file} line ${v.expected?.line ?? '?'}`,
          'the node needs a new host key; ascendctl will not connect to a revoked one',
        );
    }
  }
}

/** `ssh -J` text for the hops up to and including `last`: `user@a:22,user@b:22`. */
function viaChain(last: Link): string {
  const hops: string[] = [];
  for (let l: Link | undefined = last; l !== undefined; l = l.spec.via) hops.unshift(`${l.spec.ep.user}@${formatAddress(l.spec.ep.hostname, l.spec.ep.port)}`);
  return hops.join(',');
}

function secs(ms: number): string {
  const s = ms / 1000;
  return `${Number.isInteger(s) ? s : s.toFixed(1)} s`;
}
