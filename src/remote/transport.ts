/**
 * The one seam between ascendctl and the outside world (docs/architecture.md, Principles 3). The SSH implementation
 * (ssh-pool.ts) and any test double satisfy the same interface. Remote commands are argv arrays
 * until quote.ts turns them into one string; nothing else builds remote command lines.
 */
import type { Readable } from 'node:stream';
import type { ChannelWindow } from './channel-window.js';
import type { SshEndpoint } from './endpoint.js';
import type { TcpOpener } from './http-tunnel.js';

export interface NodeTarget {
  /** Inventory name, used in every message ("node2"). */
  name: string;
  /** Address or ~/.ssh/config alias as written in the inventory. */
  host: string;
}

export interface ExecOptions {
  /**
   * Bound on the call. Applied on the remote side too (`timeout -k 5 <s> <cmd>`), so that a hung tool
   * does not keep the device channel after we give up (ascend-tools.md §1.3).
   */
  timeoutMs?: number;
  /** Data for the command's standard input; standard input is closed (EOF) after it, or at once. */
  stdin?: string | Buffer | Readable;
  signal?: AbortSignal;
  /**
   * SSH channel window for this call (channel-window.ts): how much the node may send ahead of what has
   * been read, in bytes, or a ChannelWindow the caller may resize while the call runs. Unset: the SSH
   * library's own (2 MiB). For streams many nodes send at once.
   */
  window?: number | ChannelWindow;
  /**
   * Run argv as the login user even on a node with `ssh.become: sudo` (a batch of calls, each of which
   * carries its own callPrefix).
   */
  asLoginUser?: boolean;
}

export interface ExecResult {
  stdout: string;
  stderr: string;
  /** Exit status; null when the command was killed or the channel closed without one. */
  code: number | null;
  /** True when timeoutMs ran out (locally, or the remote `timeout` returned 124/137). */
  timedOut: boolean;
  durationMs: number;
}

export interface StreamHandlers {
  /** Called with each chunk of standard output; return a promise to apply backpressure. */
  onStdout(chunk: Buffer): void | Promise<void>;
  onStderr?(chunk: Buffer): void | Promise<void>;
}

export interface UploadOptions {
  /** File mode; default 0o640 (MindIE refuses anything wider, mindie-multinode.md §5). */
  mode?: number;
  signal?: AbortSignal;
}

export interface Transport {
  readonly target: NodeTarget;
  /** Run one command and collect its output. Rejects only for transport failures (RemoteError). */
  exec(argv: readonly string[], opts?: ExecOptions): Promise<ExecResult>;
  /** Run one long command (logs -f, pull progress), handing output over as it arrives. */
  stream(argv: readonly string[], handlers: StreamHandlers, opts?: ExecOptions): Promise<ExecResult>;
  /** Write a file atomically (temporary file + rename), creating its directory (mode 750). */
  upload(remotePath: string, content: string | Buffer, opts?: UploadOptions): Promise<void>;
  close(): Promise<void>;
  /**
   * For running several calls as one command (preflight/batch.ts): the words exec would put in front
   * of this argv to run it with the rights it needs (`sudo -n --`; none when it needs no root), or
   * undefined when the call cannot run inside a batch (sudo needs a password on standard input).
   * A transport without it runs batches as the login user with no prefix.
   */
  callPrefix?(argv: readonly string[]): Promise<readonly string[] | undefined>;
}

/** A node's transport in a pool: connected on demand, and able to tunnel to a port on the node (http-tunnel.ts). */
export interface NodeTransport extends Transport, Omit<TcpOpener, 'target'> {
  /** Make sure the node is reachable and authenticated (preflight's `ssh` check). */
  connect(): Promise<void>;
}

/**
 * The connections of one run, one per node. Core modules (preflight, deploy, status, logs, chat) take
 * this interface, never the SSH pool itself: the run's context owns the pool (context.ts) and closes it.
 */
export interface TransportPool {
  /** The transport of one node (the same object for the same node name); connects on first use. */
  transport(node: SshEndpoint): NodeTransport;
}

/** What the owner of a pool needs besides TransportPool: closing every connection once. */
export interface ConnectionPool extends TransportPool {
  closeAll(): Promise<void>;
}

export type RemoteErrorKind =
  | 'connect' // refused, unreachable, DNS, connect timeout
  | 'auth' // all authentication methods failed
  | 'host-key' // unknown or changed host key
  | 'config' // identity file unreadable, bad jump host spec
  | 'channel' // the connection dropped mid-call, channel refused
  | 'aborted';

/** A failure of the transport itself (not of the remote command). Always names the node. */
export class RemoteError extends Error {
  readonly kind: RemoteErrorKind;
  readonly node: string;
  readonly hint: string | undefined;

  constructor(kind: RemoteErrorKind, node: string, message: string, hint?: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'RemoteError';
    this.kind = kind;
    this.node = node;
    this.hint = hint;
  }
}
