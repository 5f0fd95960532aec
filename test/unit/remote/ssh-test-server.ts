/**
 * An in-process ssh2.Server on 127.0.0.1 as a protocol-level peer for the SSH pool: public-key auth
 * against given keys, exec requests run by a real `sh -c` in a directory, optional `direct-tcpip`
 * (jump host) to loopback only, and counters the tests assert on.
 */
import { spawn } from 'node:child_process';
import { connect as netConnect, type AddressInfo } from 'node:net';
import { timingSafeEqual } from 'node:crypto';
import ssh2 from 'ssh2';
import type { Connection, ParsedKey, Server as SshServer, ServerChannel } from 'ssh2';
import { generateEd25519 } from '../../../src/sim/ssh-server.js';
import { unframeCommand } from '../../../src/remote/frame.js';

export interface KeyPair {
  private: string;
  public: string;
  /** SSH wire-format public key blob. */
  blob: Buffer;
  parsed: ParsedKey;
}

export function makeKeyPair(opts?: { passphrase?: string }): KeyPair {
  const pair = generateEd25519(opts);
  const parsed = ssh2.utils.parseKey(pair.public);
  if (parsed instanceof Error || Array.isArray(parsed)) throw new Error('cannot parse generated key');
  return { private: pair.private, public: pair.public, blob: parsed.getPublicSSH(), parsed };
}

export interface TestServerOptions {
  hostKey: KeyPair;
  authorizedKeys: KeyPair[];
  user?: string;
  /** Working directory of the commands. */
  cwd: string;
  /** Accept exec requests but never run or answer them (a hung node). */
  hang?: boolean;
  /** Accept `direct-tcpip` to loopback addresses (jump host). */
  allowForward?: boolean;
  /**
   * Answer matching commands at once from memory: the reply, exit status and close leave in one
   * burst, as from a fast command on a near node.
   */
  instant?: (command: string) => { stdout: string; code: number; stderr?: string } | undefined;
  /** With `instant`: write its stdout a line per channel write (an SSH packet a line, as a daemon logging as it goes). */
  instantLinePackets?: boolean;
  /** Listen on this port instead of any free one. */
  port?: number;
  /** More host keys (PEM/OpenSSH private keys) beside hostKey: a server with an ECDSA key too. */
  extraHostKeys?: string[];
  /** Commands matching this fail with exit 1 and `<word>: simulated failure` on stderr, without running. */
  failCommands?: RegExp;
}

export class TestSshServer {
  readonly port: number;
  /** Connections that completed authentication. */
  connections = 0;
  sessionsOpen = 0;
  peakSessions = 0;
  forwards = 0;
  /** Bytes of command standard output written into channels. */
  stdoutBytes = 0;
  readonly commands: string[] = [];
  readonly #server: SshServer;
  readonly #clients = new Set<Connection>();
  readonly #kills = new Set<() => void>();

  private constructor(server: SshServer, port: number) {
    this.#server = server;
    this.port = port;
  }

  static async start(opts: TestServerOptions): Promise<TestSshServer> {
    const user = opts.user ?? 'root';
    let self: TestSshServer | undefined;
    const server = new ssh2.Server({ hostKeys: [opts.hostKey.private, ...(opts.extraHostKeys ?? [])] }, (client) => {
      const me = self;
      if (!me) return;
      me.#clients.add(client);
      // What to undo when the connection goes (a dropped connection never closes its sessions).
      const onGone = new Set<() => void>();
      client.on('close', () => {
        me.#clients.delete(client);
        for (const f of onGone) f();
      });
      client.on('error', () => undefined);
      client.on('authentication', (ctx) => {
        if (ctx.method !== 'publickey' || ctx.username !== user) {
          ctx.reject(['publickey']);
          return;
        }
        const key = opts.authorizedKeys.find(
          (k) => k.parsed.type === ctx.key.algo && sameBytes(k.blob, ctx.key.data),
        );
        if (!key) {
          ctx.reject(['publickey']);
          return;
        }
        if (ctx.signature && ctx.blob && key.parsed.verify(ctx.blob, ctx.signature, ctx.hashAlgo) !== true) {
          ctx.reject(['publickey']);
          return;
        }
        ctx.accept();
      });
      client.on('ready', () => {
        me.connections++;
        client.on('session', (accept) => {
          const session = accept();
          me.sessionsOpen++;
          me.peakSessions = Math.max(me.peakSessions, me.sessionsOpen);
          const uncount = (): void => {
            if (!onGone.delete(uncount)) return;
            me.sessionsOpen--;
          };
          onGone.add(uncount);
          session.once('close', uncount);
          session.on('exec', (acceptExec, _reject, info) => {
            const ch = acceptExec();
            // The pool frames every command (src/remote/frame.ts); tests speak of the command itself.
            const framed = unframeCommand(info.command);
            const command = framed?.command ?? info.command;
            me.commands.push(command);
            if (opts.hang) return;
            const canned = opts.instant?.(command);
            if (canned) {
              if (framed) {
                ch.write(`${framed.marker}\n`);
                ch.stderr.write(`${framed.marker}\n`);
              }
              if (opts.instantLinePackets) for (const line of canned.stdout.split(/(?<=\n)/)) ch.write(line);
              else ch.write(canned.stdout);
              if (canned.stderr) ch.stderr.write(canned.stderr);
              ch.exit(canned.code);
              ch.end();
              return;
            }
            if (opts.failCommands?.test(command)) {
              ch.stderr.write(`${command.split(' ')[0] ?? ''}: simulated failure\n`);
              ch.exit(1);
              ch.end();
              return;
            }
            me.#run(ch, info.command, opts.cwd, onGone);
          });
        });
        client.on('tcpip', (acceptFwd, rejectFwd, info) => {
          if (!opts.allowForward || !info.destIP.startsWith('127.')) {
            rejectFwd();
            return;
          }
          const sock = netConnect(info.destPort, info.destIP);
          sock.once('error', () => rejectFwd());
          sock.once('connect', () => {
            me.forwards++;
            const ch = acceptFwd();
            sock.removeAllListeners('error');
            sock.on('error', () => ch.destroy());
            ch.on('error', () => sock.destroy());
            ch.pipe(sock).pipe(ch);
          });
        });
      });
    });
    const port = await new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port ?? 0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
    });
    self = new TestSshServer(server, port);
    return self;
  }

  #run(ch: ServerChannel, command: string, cwd: string, onGone: Set<() => void>): void {
    // Node gives children a socketpair for stdin, where OpenSSH on Linux gives a pipe; `install
    // /dev/stdin` cannot open a socket. `cat |` restores a pipe; a signal death of the command is
    // passed on so that the exit-signal path stays testable.
    const wrapper = 'cat | sh -c "$1" sh; s=$?; if [ "$s" -gt 128 ]; then kill -s "$(kill -l "$s")" $$; fi; exit "$s"';
    const child = spawn('sh', ['-c', wrapper, 'sh', command], { cwd, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    child.stdin.on('error', () => undefined);
    ch.on('error', () => undefined);
    ch.pipe(child.stdin);
    child.stdout.on('data', (c: Buffer) => {
      this.stdoutBytes += c.length;
    });
    child.stdout.pipe(ch, { end: false });
    child.stderr.pipe(ch.stderr, { end: false });
    let exited = false;
    const killGroup = (): void => {
      if (exited || child.pid === undefined) return;
      try {
        process.kill(-child.pid, 'SIGKILL'); // the whole group: the loop inside `sh -c` too
      } catch {
        // already gone
      }
    };
    this.#kills.add(killGroup);
    onGone.add(killGroup);
    ch.once('close', killGroup);
    child.once('close', (code, signal) => {
      exited = true;
      this.#kills.delete(killGroup);
      onGone.delete(killGroup);
      if (code !== null) ch.exit(code);
      else ch.exit(String(signal ?? 'KILL').replace(/^SIG/, ''), false, '');
      ch.end();
    });
  }

  /** Cut every client connection (a node that rebooted, a network that dropped). */
  dropAll(): void {
    for (const c of this.#clients) c.end();
  }

  async close(): Promise<void> {
    for (const kill of this.#kills) kill();
    this.dropAll();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

function sameBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
