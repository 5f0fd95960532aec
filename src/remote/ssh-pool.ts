/**
 * The real Transport: one ssh2 connection per node, made on first use and reused for the whole run.
 * Connection set-ups in flight are bounded (a rack's worth of handshakes at once would trip sshd's
 * MaxStartups on a shared jump host and the control machine's CPU), and so are channels per
 * connection (OpenSSH's MaxSessions is 10). A node that fails only fails its own calls.
 */
import { randomBytes } from 'node:crypto';
import { posix } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Duplex, Readable } from 'node:stream';
import type { Client as SshClient, ClientChannel } from 'ssh2';
import { describeRefusal, needsRoot, passwordLine, sudoPrefix, sudoRefusal, type BecomeMode, type SudoRefusal } from './become.js';
import { describeEndpoint, formatAddress, jumpChain, type JumpEndpoint, type SshEndpoint } from './endpoint.js';
import { FrameStripper, framedCommand, newMarker } from './frame.js';
import { shellJoin, withRemoteTimeout } from './quote.js';
import { Semaphore } from './semaphore.js';
import { type ChannelWindow, execWithWindow } from './channel-window.js';
import { Link } from './ssh-link.js';
import {
  RemoteError,
  type ExecOptions,
  type ExecResult,
  type NodeTarget,
  type StreamHandlers,
  type Transport,
  type UploadOptions,
} from './transport.js';

export interface SshPoolOptions {
  /** Connection set-ups (TCP + handshake + auth) in flight at once; default 32. */
  maxConnecting?: number;
  /** SSH-level keepalive; default 15000 ms. */
  keepaliveIntervalMs?: number;
  /** Unanswered keepalives before the connection is declared dead; default 3. */
  keepaliveCountMax?: number;
  /** Channels open at once per connection; default 8, below OpenSSH's MaxSessions 10. */
  maxChannels?: number;
  /** Where `$SSH_AUTH_SOCK` is read from; default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Extra wait after timeoutMs before the channel is closed locally; default 5000 (the `timeout -k 5`). */
  timeoutGraceMs?: number;
  /**
   * The sudo password of the login user (--ask-become-pass), asked for only when a node with
   * `ssh.become: sudo` turns out to need one; the caller makes it ask once for the whole run.
   */
  becomePassword?: () => Promise<string>;
  /**
   * Asks for the passphrase of an encrypted identity file that no ssh-agent answers for; called once
   * per file for the whole pool (node and jump host connections alike). Absent: such a key is an error.
   */
  askPassphrase?: (file: string) => Promise<string>;
}

export interface PoolStats {
  /** SSH connections established to nodes (reconnects included). */
  connectionsMade: number;
  /** SSH connections established to jump hosts. */
  jumpConnectionsMade: number;
  /** Connection set-ups that failed (nodes and jump hosts). */
  connectFailures: number;
  channelsOpened: number;
}

export interface TransportStats {
  connectionsMade: number;
  channelsOpened: number;
  /** Most channels this transport had open at once. */
  peakChannels: number;
}

interface Resolved {
  maxConnecting: number;
  keepaliveIntervalMs: number;
  keepaliveCountMax: number;
  maxChannels: number;
  env: NodeJS.ProcessEnv;
  timeoutGraceMs: number;
  becomePassword: (() => Promise<string>) | undefined;
  askPassphrase: ((file: string) => Promise<string>) | undefined;
}

/** A session channel that runs a command, with how it ended so far. */
interface Opened {
  client: SshClient;
  channel: ClientChannel;
  end: ChannelEnd;
}

/** Exit status and close of a channel, recorded from the moment the channel exists. */
interface ChannelEnd {
  gotExit: boolean;
  code: number | null;
  closed: boolean;
}

/** Most stderr kept for a stream() call without an onStderr handler: enough for an error message. */
const STDERR_TAIL_BYTES = 64 * 1024;

export class SshPool {
  readonly stats: PoolStats = { connectionsMade: 0, jumpConnectionsMade: 0, connectFailures: 0, channelsOpened: 0 };
  readonly #opts: Resolved;
  readonly #connecting: Semaphore;
  readonly #transports = new Map<string, SshTransport>();
  readonly #jumps = new Map<string, Link>();
  #closed = false;

  constructor(opts: SshPoolOptions = {}) {
    this.#opts = {
      maxConnecting: opts.maxConnecting ?? 32,
      keepaliveIntervalMs: opts.keepaliveIntervalMs ?? 15_000,
      keepaliveCountMax: opts.keepaliveCountMax ?? 3,
      maxChannels: opts.maxChannels ?? 8,
      env: opts.env ?? process.env,
      timeoutGraceMs: opts.timeoutGraceMs ?? 5_000,
      becomePassword: opts.becomePassword,
      askPassphrase: undefined,
    };
    const ask = opts.askPassphrase;
    if (ask) {
      const asked = new Map<string, Promise<string>>();
      this.#opts.askPassphrase = (file) => {
        let p = asked.get(file);
        if (!p) {
          p = ask(file);
          asked.set(file, p);
        }
        return p;
      };
    }
    this.#connecting = new Semaphore(this.#opts.maxConnecting);
  }

  /** The transport of one node (the same object for the same node name); connects on first use. */
  transport(ep: SshEndpoint): SshTransport {
    const existing = this.#transports.get(ep.name);
    if (existing) return existing;
    const via = ep.jumpHost ? this.#jumpLink(ep.jumpHost, ep.name) : undefined;
    const link = this.#link({ node: ep.name, label: describeEndpoint(ep), ep, ...(via ? { via } : {}), gate: this.#connecting }, 'connectionsMade');
    const t = new SshTransport(ep, link, this.#opts, this.stats, () => this.#closed);
    this.#transports.set(ep.name, t);
    return t;
  }

  /** A node's or a jump host's link with the pool's keepalive, passphrase prompt and counters. */
  #link(
    fields: Omit<ConstructorParameters<typeof Link>[0], 'keepaliveIntervalMs' | 'keepaliveCountMax' | 'env' | 'askPassphrase' | 'onConnected' | 'onFailed'>,
    counter: 'connectionsMade' | 'jumpConnectionsMade',
  ): Link {
    return new Link({
      ...fields,
      keepaliveIntervalMs: this.#opts.keepaliveIntervalMs,
      keepaliveCountMax: this.#opts.keepaliveCountMax,
      env: this.#opts.env,
      ...(this.#opts.askPassphrase ? { askPassphrase: this.#opts.askPassphrase } : {}),
      onConnected: () => {
        this.stats[counter]++;
      },
      onFailed: () => {
        this.stats.connectFailures++;
      },
    });
  }

  /** Close every connection (nodes first, then the jump hosts they ran through). */
  async closeAll(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#transports.values()].map((t) => t.shutdown()));
    // The last hops of chains first: their connections run inside the earlier hops' connections.
    const depth = (key: string): number => key.split(',').length;
    const keys = [...this.#jumps.keys()];
    for (let d = Math.max(0, ...keys.map(depth)); d >= 1; d--) {
      await Promise.all(keys.filter((k) => depth(k) === d).map((k) => this.#jumps.get(k)!.shutdown()));
    }
  }

  /**
   * One connection per jump host, shared by every node behind it. In a chain each hop is reached
   * through the connection of the hop before it, so a hop is the same connection only when the hops
   * before it are the same too.
   */
  #jumpLink(jump: JumpEndpoint, firstNode: string): Link {
    const chain = jumpChain<JumpEndpoint>({ jumpHost: jump });
    let via: Link | undefined;
    let key = '';
    for (const [i, hop] of chain.entries()) {
      key += `${key ? ',' : ''}${hop.user}@${formatAddress(hop.hostname, hop.port)}`;
      const existing = this.#jumps.get(key);
      if (existing) {
        via = existing;
        continue;
      }
      const position = chain.length > 1 ? ` ${i + 1} of ${chain.length}` : '';
      const link = this.#link({
        node: firstNode,
        label: `jump host${position} ${hop.user}@${hop.host} (${formatAddress(hop.hostname, hop.port)})`,
        jump: true,
        ep: hop,
        ...(via ? { via } : {}),
      }, 'jumpConnectionsMade');
      this.#jumps.set(key, link);
      via = link;
    }
    return via!;
  }
}

/** Where a call's output goes: collected (exec) or handed over as it arrives (stream). */
interface Sink {
  stdout(chunk: Buffer): void | Promise<void>;
  stderr(chunk: Buffer): void | Promise<void>;
  result(): { stdout: string; stderr: string };
}

function collectingSink(): Sink {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  return {
    stdout: (c) => {
      out.push(c);
    },
    stderr: (c) => {
      err.push(c);
    },
    // Decode once at the end so a multi-byte character split across packets survives.
    result: () => ({ stdout: decode(out), stderr: decode(err) }),
  };
}

/** Most short calls answer in one packet or none: skip the copy Buffer.concat would make. */
function decode(chunks: readonly Buffer[]): string {
  if (chunks.length === 0) return '';
  if (chunks.length === 1) return chunks[0]!.toString('utf8');
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * ssh2's Channel.destroy() is end() + close(), and runs when stdout ends; by then our end() has
 * finished the writable side, and a second end() makes Node build (and drop) an
 * ERR_STREAM_ALREADY_FINISHED error with its stack trace, on every call. Skipping an end() that has
 * already happened changes nothing else.
 */
function destroyWithoutSecondEnd(this: ClientChannel): ClientChannel {
  if (!this.writableEnded) this.end();
  this.close();
  return this;
}

function streamingSink(handlers: StreamHandlers): Sink {
  const tail: Buffer[] = [];
  let tailBytes = 0;
  const onStderr = handlers.onStderr?.bind(handlers);
  return {
    stdout: (c) => handlers.onStdout(c),
    stderr:
      onStderr ??
      ((c) => {
        tail.push(c);
        tailBytes += c.length;
        while (tailBytes > STDERR_TAIL_BYTES && tail.length > 1) tailBytes -= tail.shift()?.length ?? 0;
      }),
    result: () => ({ stdout: '', stderr: Buffer.concat(tail).toString('utf8') }),
  };
}

export class SshTransport implements Transport {
  readonly target: NodeTarget;
  readonly endpoint: SshEndpoint;
  readonly #counts = { channelsOpened: 0, peakChannels: 0 };
  readonly #link: Link;
  readonly #channels: Semaphore;
  readonly #opts: Resolved;
  readonly #poolStats: PoolStats;
  readonly #poolClosed: () => boolean;
  readonly #label: string;
  /** How sudo is asked on this node (ssh.become: sudo), found out by the first call that needs root. */
  #become: Promise<BecomeMode> | undefined;
  #becomePassword: string | undefined;

  constructor(ep: SshEndpoint, link: Link, opts: Resolved, poolStats: PoolStats, poolClosed: () => boolean) {
    this.target = { name: ep.name, host: ep.host };
    this.endpoint = ep;
    this.#link = link;
    this.#opts = opts;
    this.#poolStats = poolStats;
    this.#poolClosed = poolClosed;
    this.#channels = new Semaphore(opts.maxChannels);
    this.#label = describeEndpoint(ep);
  }

  get stats(): TransportStats {
    return { connectionsMade: this.#link.connections, ...this.#counts };
  }

  /** True while a connection is established. */
  get connected(): boolean {
    return this.#link.isUp;
  }

  /** Make sure the node is reachable and authenticated (preflight's `ssh` check). */
  async connect(): Promise<void> {
    await this.#client();
    // With ssh.become, a login that cannot become root is as unusable as one that cannot log in.
    await this.#becomeMode();
  }

  /**
   * Drop the connection and forget a remembered failure, then connect again: for a caller that
   * keeps going across a node's restart (logs -f). Rejects with the new failure, if any.
   */
  async reconnect(): Promise<void> {
    await this.#link.reset();
    await this.#client();
  }

  exec(argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
    return this.#run(argv, opts, collectingSink(), opts.asLoginUser === true);
  }

  stream(argv: readonly string[], handlers: StreamHandlers, opts: ExecOptions = {}): Promise<ExecResult> {
    return this.#run(argv, opts, streamingSink(handlers), opts.asLoginUser === true);
  }

  async callPrefix(argv: readonly string[]): Promise<readonly string[] | undefined> {
    const become = await this.#becomeFor(argv);
    if (become === undefined) return [];
    return become === 'nopasswd' ? sudoPrefix(become) : undefined;
  }

  /**
   * tmp file + rename in the same directory, so a reader never sees half a config.json. Only
   * mkdir/install/mv/rm, each an argv exec, so a simulated node can serve the same calls.
   */
  async upload(remotePath: string, content: string | Buffer, opts: UploadOptions = {}): Promise<void> {
    const mode = (opts.mode ?? 0o640).toString(8).padStart(3, '0');
    const dir = posix.dirname(remotePath);
    const base = posix.basename(remotePath);
    if (base === '' || remotePath.endsWith('/')) {
      throw new RemoteError('config', this.target.name, `cannot upload to ${remotePath} on ${this.target.name}: not a file path`);
    }
    const tmp = posix.join(dir, `.${base}.tmp.${randomBytes(6).toString('hex')}`);
    const signal = opts.signal;
    const step = async (argv: string[], stdin?: Buffer | string): Promise<void> => {
      const r = await this.exec(argv, { ...(stdin !== undefined ? { stdin } : {}), ...(signal ? { signal } : {}) });
      if (r.code !== 0) {
        const why = r.stderr.trim() || r.stdout.trim() || (r.code === null ? 'killed' : `exit status ${r.code}`);
        throw new RemoteError(
          'channel',
          this.target.name,
          `upload of ${remotePath} to ${this.target.name} failed at \`${argv[0] ?? ''}\`: ${why}`,
          `check that ${this.endpoint.user} may write to ${dir} on ${this.target.name} and that the disk is not full`,
        );
      }
    };
    await step(['mkdir', '-p', '-m', '750', dir]);
    try {
      await step(['install', '-m', mode, '/dev/stdin', tmp], typeof content === 'string' ? Buffer.from(content, 'utf8') : content);
      await step(['mv', '-f', tmp, remotePath]);
    } catch (err) {
      // Best effort: the connection may be what failed. The dot-name keeps a leftover out of the way.
      await this.exec(['rm', '-f', tmp]).catch(() => undefined);
      throw err;
    }
  }

  /**
   * A TCP connection to `host:port` as seen from this node (`ssh -L`): a `direct-tcpip` channel over
   * the node's own SSH connection. When the node's sshd refuses forwarding and the node is reached
   * through a jump host, the jump host opens it instead. Used to reach the master's HTTP ports from
   * a machine that only reaches the cluster by SSH.
   */
  async openTcp(host: string, port: number): Promise<Duplex> {
    const target = formatAddress(host, port);
    const forward = async (client: SshClient): Promise<ClientChannel> =>
      await new Promise<ClientChannel>((resolve, reject) => {
        try {
          client.forwardOut('127.0.0.1', 0, host, port, (err, ch) => (err ? reject(err) : resolve(ch)));
        } catch (err) {
          reject(err as Error);
        }
      });
    const client = await this.#client();
    try {
      return await forward(client);
    } catch (err) {
      const via = this.#link.spec.via;
      if (via) {
        try {
          return await forward(await via.get());
        } catch (viaErr) {
          throw new RemoteError(
            'channel',
            this.target.name,
            `neither ${this.#label} nor its jump host ${via.spec.label} could open a connection to ${target}: ${(err as Error).message}; ${(viaErr as Error).message}`,
            `check that the daemon listens on ${target} and that sshd on ${this.target.name} allows TCP forwarding (AllowTcpForwarding yes)`,
            viaErr,
          );
        }
      }
      throw new RemoteError(
        'channel',
        this.target.name,
        `${this.#label} could not open a connection to ${target}: ${(err as Error).message}`,
        `check that the daemon listens on ${target} and that sshd on ${this.target.name} allows TCP forwarding (AllowTcpForwarding yes)`,
        err,
      );
    }
  }

  /** Close this node's connection. A later call connects again. */
  async close(): Promise<void> {
    await this.#link.reset();
  }

  /** Pool shutdown: no further connections for this node. */
  async shutdown(): Promise<void> {
    await this.#link.shutdown();
  }

  /** How this call runs as root (become.ts decides which calls need it); undefined: as the login user. */
  async #becomeFor(argv: readonly string[]): Promise<BecomeMode | undefined> {
    return needsRoot(argv) ? await this.#becomeMode() : undefined;
  }

  /** undefined when the login user is root (no ssh.become); else how sudo is asked (probed once). */
  async #becomeMode(): Promise<BecomeMode | undefined> {
    if (this.endpoint.become !== 'sudo') return undefined;
    this.#become ??= this.#probeBecome().catch((err: unknown) => {
      // A refusal stays a refusal for the run; a dropped connection is tried again by the next call.
      if (!(err instanceof RemoteError && err.kind === 'auth')) this.#become = undefined;
      throw err;
    });
    return await this.#become;
  }

  async #probeBecome(): Promise<BecomeMode> {
    const what = 'commands as root';
    const quick = await this.#run(['sudo', '-n', 'true'], { timeoutMs: 30_000 }, collectingSink(), true);
    if (quick.code === 0) return 'nopasswd';
    const refusal = sudoRefusal(quick.code, quick.stderr);
    if (refusal?.kind !== 'needs-password') throw this.#refused(refusal, quick.stderr, what);
    const ask = this.#opts.becomePassword;
    if (!ask) throw this.#refused(refusal, quick.stderr, what);
    const password = await ask();
    const check = await this.#run(['sudo', '-S', '-p', '', '-k', 'true'], { timeoutMs: 30_000, stdin: passwordLine(password) }, collectingSink(), true);
    if (check.code === 0) {
      this.#becomePassword = password;
      return 'password';
    }
    throw this.#refused(sudoRefusal(check.code, check.stderr), check.stderr, what);
  }

  #refused(refusal: SudoRefusal | undefined, stderr: string, what: string): RemoteError {
    if (!refusal) {
      const said = stderr.trim().split('\n')[0] ?? '';
      return new RemoteError('auth', this.target.name, `sudo on ${this.target.name} failed for ${this.endpoint.user}${said ? `: ${said}` : ''}`,
        `check that sudo works for ${this.endpoint.user} on ${this.target.name} without a terminal (ssh ${this.endpoint.user}@${this.endpoint.host} sudo -n true)`);
    }
    const d = describeRefusal(refusal, this.target.name, this.endpoint.user, what);
    return new RemoteError('auth', this.target.name, d.message, d.hint);
  }

  async #client(): Promise<SshClient> {
    if (this.#poolClosed()) {
      throw new RemoteError('aborted', this.target.name, `the SSH pool was closed; not contacting ${this.#label}`);
    }
    return await this.#link.get();
  }

  #aborted(signal: AbortSignal | undefined, argv: readonly string[]): RemoteError {
    const reason: unknown = signal?.reason;
    return new RemoteError(
      'aborted',
      this.target.name,
      `\`${argv[0] ?? ''}\` on ${this.target.name} was cancelled`,
      undefined,
      reason instanceof Error ? reason : undefined,
    );
  }

  /** Open a session channel and start the command; a connection found dead is re-made once. */
  async #open(command: string, window?: number | ChannelWindow): Promise<Opened> {
    for (let attempt = 0; ; attempt++) {
      const client = await this.#client();
      try {
        const opened = await new Promise<{ channel: ClientChannel; end: ChannelEnd }>((resolve, reject) => {
          try {
            const onChannel = (err: Error | undefined, ch: ClientChannel): void => {
              if (err) return reject(err);
              // A fast command's exit status (and even its close) can arrive before #run attaches its
              // listeners: record them from the first moment.
              const st: ChannelEnd = { gotExit: false, code: null, closed: false };
              ch.destroy = destroyWithoutSecondEnd;
              ch.once('exit', (code: number | null) => {
                st.gotExit = true;
                if (typeof code === 'number') st.code = code;
              });
              ch.once('close', () => {
                st.closed = true;
              });
              resolve({ channel: ch, end: st });
            };
            if (window === undefined) client.exec(command, onChannel);
            else execWithWindow(client, command, window, onChannel);
          } catch (err) {
            reject(err as Error);
          }
        });
        return { client, ...opened };
      } catch (err) {
        if (attempt === 0 && this.#link.dropIfDead(client, err)) continue;
        if (this.#link.isDead(client)) {
          throw new RemoteError(
            'channel',
            this.target.name,
            `the SSH connection to ${this.#label} dropped before the command could start`,
            'the node may have rebooted or the network dropped; run again',
            err,
          );
        }
        throw new RemoteError(
          'channel',
          this.target.name,
          `${this.#label} refused to open a session channel: ${(err as Error).message}`,
          `the node's sshd may allow fewer sessions per connection (MaxSessions) than ascendctl uses (${this.#opts.maxChannels})`,
          err,
        );
      }
    }
  }

  /** `asIs`: run argv without sudo (the sudo probe itself). */
  async #run(argv: readonly string[], opts: ExecOptions, sink: Sink, asIs = false): Promise<ExecResult> {
    const become = asIs ? undefined : await this.#becomeFor(argv);
    const result = await this.#runLine(argv, opts, sink, become);
    if (become !== undefined) {
      // sudo's own refusal (exit 1 and its words on stderr) is not the command's answer.
      const refusal = sudoRefusal(result.code, result.stderr);
      if (refusal) throw this.#refused(refusal, result.stderr, `\`${commandGist(argv)}\``);
    }
    return result;
  }

  async #runLine(argv: readonly string[], opts: ExecOptions, sink: Sink, become: BecomeMode | undefined): Promise<ExecResult> {
    const { timeoutMs, signal } = opts;
    const bounded = timeoutMs !== undefined ? withRemoteTimeout(argv, timeoutMs) : [...argv];
    // Login-shell noise comes before the marker and is dropped (frame.ts).
    const marker = newMarker();
    const command = framedCommand(shellJoin(become ? [...sudoPrefix(become), ...bounded] : bounded), marker);
    // sudo -S reads the password line first; the command gets the rest of standard input.
    const pwLine = become === 'password' && this.#becomePassword !== undefined ? passwordLine(this.#becomePassword) : undefined;
    if (signal?.aborted) throw this.#aborted(signal, argv);
    const { client, channel, end } = await this.#openPermitted(command, argv, opts);

    const started = performance.now();
    return await new Promise<ExecResult>((resolve, reject) => {
      let timedOutLocally = false;
      let done = false;
      let timer: NodeJS.Timeout | undefined;

      /** `closed`: the channel closed after both streams ended, so nothing is left to drain. */
      const settle = (fn: () => void, closed = false): void => {
        if (done) return;
        done = true;
        if (timer) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (!closed) {
          // Keep draining whatever still arrives, or ssh2 never emits 'close' and the permit leaks.
          channel.removeAllListeners('data');
          channel.stderr.removeAllListeners('data');
          channel.resume();
          channel.stderr.resume();
        }
        fn();
      };
      const result = (): ExecResult => {
        const remoteTimedOut = timeoutMs !== undefined && (end.code === 124 || end.code === 137);
        return {
          ...sink.result(),
          code: end.code,
          timedOut: timedOutLocally || remoteTimedOut,
          durationMs: performance.now() - started,
        };
      };
      const failWith = (err: unknown): void => {
        settle(() => reject(err));
        channel.close();
      };
      const onAbort = (): void => failWith(this.#aborted(signal, argv));

      const inflight = new Set<Promise<void>>();
      const ended = (): boolean => done;
      const outFrame = new FrameStripper(marker);
      const errFrame = new FrameStripper(marker);
      pumpInto(channel, unframed(outFrame, (c) => sink.stdout(c)), inflight, ended, failWith);
      pumpInto(channel.stderr, unframed(errFrame, (c) => sink.stderr(c)), inflight, ended, failWith);
      /** A stream that never showed the marker hands its text over at the end (FrameStripper.flush). */
      const flushFrames = async (): Promise<void> => {
        const out = outFrame.flush();
        if (out.length > 0) await sink.stdout(out);
        const err = errFrame.flush();
        if (err.length > 0) await sink.stderr(err);
      };

      channel.on('error', () => {
        // Write errors after the peer went away; the 'close' below reports what matters.
      });
      const onClose = (): void => {
        const finish = (): void => {
          if (!end.gotExit && this.#link.isDead(client)) {
            const what = `the SSH connection to ${this.#label} dropped while \`${argv[0] ?? ''}\` was running`;
            const hint = 'the node may have rebooted or the network dropped; the command may or may not have completed there';
            settle(() => reject(new RemoteError('channel', this.target.name, what, hint)));
            return;
          }
          Promise.all([...inflight]).then(flushFrames).then(
            () => settle(() => resolve(result()), true),
            (err: unknown) => settle(() => reject(err), true),
          );
        };
        if (channel.stderr.readableEnded || done) finish();
        else channel.stderr.once('end', finish);
      };
      if (end.closed) queueMicrotask(onClose);
      else channel.once('close', onClose);

      if (signal) signal.addEventListener('abort', onAbort, { once: true });
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          timedOutLocally = true;
          // Resolve now: a hung connection may never confirm the close.
          settle(() => resolve(result()));
          channel.close();
        }, timeoutMs + this.#opts.timeoutGraceMs);
      }

      feedStdin(channel, opts.stdin, pwLine, (err) => failWith(new RemoteError('channel', this.target.name,
        `reading the standard input for \`${argv[0] ?? ''}\` on ${this.target.name} failed: ${err.message}`, undefined, err)));
    });
  }

  /**
   * A session channel running `command`, within the connection's channel limit. The permit follows the
   * channel, not the call: a call given up on (timeout, abort) still holds a session on the server until
   * the channel is really closed.
   */
  async #openPermitted(command: string, argv: readonly string[], opts: ExecOptions): Promise<Opened> {
    const { signal } = opts;
    let release: () => void;
    try {
      release = await this.#channels.acquire(signal);
    } catch {
      throw this.#aborted(signal, argv);
    }
    const opening = this.#open(command, opts.window);
    opening.catch(() => release());
    const opened = await untilAborted(opening, signal, () => this.#aborted(signal, argv), (late) => {
      if (late.end.closed) release();
      else {
        late.channel.once('close', release);
        late.channel.close();
      }
    });
    if (opened.end.closed) release();
    else opened.channel.once('close', release);
    this.#counts.channelsOpened++;
    this.#poolStats.channelsOpened++;
    this.#counts.peakChannels = Math.max(this.#counts.peakChannels, this.#channels.inUse);
    return opened;
  }
}

/**
 * The most a stream's pump hands over at once after a wait. Whatever its handler makes of a chunk (for
 * `ascendctl logs`, a line object each and the output text) lives until the chunk is handled; gathered
 * whole, a wide window's worth (lead-window.ts, up to 768 KiB) outlived the small young generation the
 * logs command keeps and was promoted. Measured on the logs benchmark: at 64 nodes `--json` peaked at
 * 94–98 MiB gathering all, 91–92 MiB at 160 KiB, 89–90 MiB at 64 KiB, and a plain read took 4.1 s, 3.5 s
 * and 3.3–3.5 s; at 16 nodes the peak went 86 → 80 MiB at the same rate.
 */
const GATHER_BYTES = 64 * 1024;

/**
 * Hand each chunk of `readable` to `deliver`. A promise back is backpressure: the stream pauses (a paused
 * channel stops granting SSH window, so the node stops sending) until it settles, and the promise is kept
 * in `inflight`, so the call ends once the handlers have taken the last chunk, not merely received it.
 */
function pumpInto(
  readable: Readable,
  deliver: (chunk: Buffer) => void | Promise<void>,
  inflight: Set<Promise<void>>,
  ended: () => boolean,
  fail: (err: unknown) => void,
): void {
  let waiting = false;
  readable.on('data', (chunk: Buffer) => {
    let pending: void | Promise<void>;
    try {
      pending = deliver(chunk);
    } catch (err) {
      fail(err);
      return;
    }
    if (pending === undefined || typeof (pending as Partial<PromiseLike<void>>).then !== 'function') return;
    readable.pause();
    waiting = true;
    const handled = Promise.resolve(pending as PromiseLike<void>).then(
      () => {
        waiting = false;
        if (ended()) return;
        // What arrived while paused goes to the handler as one chunk (read(n) of a paused stream hands
        // that much of its buffer to this 'data' listener), not one wait per SSH packet: a node sending a
        // line per packet (`docker logs` of a daemon that logs as it goes) would otherwise cost a pause
        // and a resume per line (issue #12). At most GATHER_BYTES: the rest follows once that is handled.
        readable.read(Math.min(readable.readableLength, GATHER_BYTES));
        if (!waiting && !ended()) readable.resume();
      },
      (err: unknown) => fail(err),
    );
    inflight.add(handled);
    void handled.finally(() => inflight.delete(handled));
  });
}

/** `deliver` given only what follows the frame's marker (frame.ts); nothing before it reaches the caller. */
function unframed(frame: FrameStripper, deliver: (chunk: Buffer) => void | Promise<void>) {
  return (chunk: Buffer): void | Promise<void> => {
    const own = frame.push(chunk);
    return own.length > 0 ? deliver(own) : undefined;
  };
}

/**
 * The command's standard input: sudo's password line first when there is one, then the caller's input;
 * the channel is ended after it, so the command reads EOF.
 */
function feedStdin(channel: ClientChannel, input: ExecOptions['stdin'], pwLine: Buffer | undefined, onError: (err: Error) => void): void {
  if (input === undefined || typeof input === 'string' || Buffer.isBuffer(input)) {
    const given = input === undefined ? undefined : Buffer.isBuffer(input) ? input : Buffer.from(input, 'utf8');
    const all = pwLine === undefined ? given : given === undefined ? pwLine : Buffer.concat([pwLine, given]);
    if (all === undefined) channel.end();
    else channel.end(all);
    return;
  }
  if (pwLine !== undefined) channel.write(pwLine);
  input.once('error', onError);
  input.pipe(channel);
}

/**
 * Wait for `work` unless `signal` fires first. The work itself goes on (a connection being made is
 * shared with other callers); what it yields after the abort is handed to `discard`.
 */
function untilAborted<T>(
  work: Promise<T>,
  signal: AbortSignal | undefined,
  abortError: () => Error,
  discard: (late: T) => void,
): Promise<T> {
  if (!signal) return work;
  return new Promise<T>((resolve, reject) => {
    let aborted = false;
    const onAbort = (): void => {
      aborted = true;
      reject(abortError());
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        if (aborted) discard(value);
        else resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        if (!aborted) reject(err);
      },
    );
  });
}

/** A call as a message names it: its words, a long one (a python3 -c script) cut to its start. */
function commandGist(argv: readonly string[]): string {
  const words = argv.map((w) => (w.length > 40 || w.includes('\n') ? `${w.split('\n')[0]!.slice(0, 24)}…` : w));
  const text = words.join(' ');
  return text.length > 120 ? `${text.slice(0, 119)}…` : text;
}
