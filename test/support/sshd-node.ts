import { spawn, type ChildProcess } from 'node:child_process';
import {
  appendFileSync, closeSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, writeFileSync,
} from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { execa } from 'execa';

/**
 * One simulated server: a private mount namespace (copy-on-write overlays, see OVERLAID_DIRS, so that
 * the fake Ascend tools and files sit at their real paths without touching the host) and a real
 * OpenSSH sshd running inside it.
 *
 * The namespace is held by a small shell process rather than by sshd itself, so that sshd can be
 * killed and started again (node down / up) while the files in the namespace survive, and so that
 * `root` (`/proc/<holder>/root`) stays valid for the simulator for the whole life of the node.
 */

export const SSHD_BINARY = '/usr/sbin/sshd';
/**
 * The directories a node gets its own copy-on-write view of; everything else (/tmp, /data, …) is shared
 * with the host read-write. /usr as a whole because the simulator installs `docker` in /usr/bin.
 */
export const OVERLAID_DIRS = ['/etc', '/usr', '/var/lib', '/opt', '/root'] as const;

const READY_TIMEOUT_MS = 30_000;
const STDERR_TAIL = 4000;

export interface SshdNodeConfig {
  name: string;
  host: string;
  port: number;
  /** A directory private to this node (config, host key, pid file). */
  dir: string;
  authorizedKeysPath: string;
  /** A pre-authentication banner file (sshd `Banner`), as data centres set one. */
  bannerPath?: string;
}

// The holder mounts a tmpfs for the overlay upper layers: an upper layer on overlayfs (a CI container's
// root) is refused by the kernel, tmpfs works everywhere and vanishes with the namespace.
// It then blocks reading a pipe from the test process. When that process dies without cleaning up
// (SIGKILL, crash), the pipe reaches EOF and the holder kills every process in its namespace, sshd and
// sessions included, so nothing is left listening. Blocking in `read` spawns no children to orphan.
const HOLDER_SCRIPT = `
set -e
upper="$1"
mount -t tmpfs -o mode=0755 ascendctl-node "$upper"
for d in ${OVERLAID_DIRS.join(' ')}; do
  n=$(printf '%s' "$d" | tr / _)
  mkdir -p "$d" "$upper/u$n" "$upper/w$n"
  mount -t overlay overlay -o "lowerdir=$d,upperdir=$upper/u$n,workdir=$upper/w$n" "$d"
done
# Every server has its own /dev/shm (MindIE's shared memory, the shm check): not the host's.
mkdir -p /dev/shm
mount -t tmpfs -o mode=1777 ascendctl-shm /dev/shm
echo ready
set +e
while read -r _; do :; done
me=$(readlink /proc/$$/ns/mnt)
for p in /proc/[0-9]*; do
  [ "$(readlink "$p/ns/mnt" 2>/dev/null)" = "$me" ] && [ "\${p#/proc/}" != "$$" ] && kill -9 "\${p#/proc/}" 2>/dev/null
done
exit 0
`;

function sshdConfig(cfg: SshdNodeConfig, hostKeyPath: string): string {
  return [
    `ListenAddress ${cfg.host}:${cfg.port}`,
    `HostKey ${hostKeyPath}`,
    `PidFile ${join(cfg.dir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${cfg.authorizedKeysPath}`,
    'PermitRootLogin prohibit-password',
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    // The temp dir and keys are not owned/moded the way StrictModes wants.
    'StrictModes no',
    'MaxSessions 10',
    // Preflight and the tests open many connections at once; the default (10:30:100) drops some.
    'MaxStartups 200',
    'LoginGraceTime 60',
    // A noisy node is a stock server: the external sftp-server, started through the login shell.
    cfg.bannerPath ? 'Subsystem sftp /usr/lib/openssh/sftp-server' : 'Subsystem sftp internal-sftp',
    'LogLevel ERROR',
    'UseDNS no',
    'PrintMotd no',
    'PrintLastLog no',
    'X11Forwarding no',
    ...(cfg.bannerPath ? [`Banner ${cfg.bannerPath}`] : []),
    '',
  ].join('\n');
}

export async function generateKey(path: string, comment: string): Promise<string> {
  rmSync(path, { force: true });
  rmSync(`${path}.pub`, { force: true });
  await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', path]);
  return readFileSync(`${path}.pub`, 'utf8').trim();
}

/** `ssh-ed25519 AAAA… comment` → `ssh-ed25519 AAAA…` */
function keyWithoutComment(publicKeyLine: string): string {
  return publicKeyLine.split(/\s+/).slice(0, 2).join(' ');
}

function mountNamespaceOf(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/mnt`);
  } catch {
    return undefined; // gone, or a zombie
  }
}

function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may hold spaces; fields after it are space separated.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number.parseInt(fields[1] ?? '', 10);
  } catch {
    return undefined;
  }
}

/** Every live process whose mount namespace is `ns`. */
export function processesInNamespace(ns: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (mountNamespaceOf(pid) === ns) pids.push(pid);
  }
  return pids;
}

/**
 * Kills the processes of a namespace leaves first, so that each parent (sshd) reaps its children
 * instead of orphaning them as zombies; `keep` are spared.
 */
async function killLeavesFirst(ns: string, keep: (pid: number) => boolean, what: string): Promise<void> {
  await waitFor(what, 10_000, () => {
    const procs = processesInNamespace(ns).filter((p) => !keep(p));
    if (procs.length === 0) return true;
    const parents = new Set(procs.map(parentOf));
    for (const pid of procs) if (!parents.has(pid)) killQuietly(pid, 'SIGKILL');
    return false;
  });
}

function killQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

async function waitFor(what: string, timeoutMs: number, probe: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let delay = 20;
  for (;;) {
    if (await probe()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 250);
  }
}

/** Resolves with the first bytes the server sends ("SSH-2.0-OpenSSH_…"), or '' when it refuses. */
function readBanner(host: string, port: number, timeoutMs = 2000): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (banner: string): void => {
      socket.destroy();
      resolve(banner);
    };
    socket.setTimeout(timeoutMs, () => done(''));
    socket.once('data', (chunk: Buffer) => done(chunk.toString('latin1')));
    socket.once('error', () => done(''));
    socket.once('close', () => done(''));
  });
}

export class SshdNode {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly dir: string;
  readonly hostKeyPath: string;
  /** The node's file system as seen from the host (paths inside the namespace appended to it). */
  readonly root: string;
  readonly holderPid: number;
  private readonly holder: ChildProcess;
  private readonly mountNs: string;
  private readonly configPath: string;
  private hostPublicKey: string;
  private readonly sshdLogPath: string;
  private sshd: ChildProcess | undefined;
  /**
   * Set once every process of the namespace is gone. Namespace ids are inode numbers the kernel
   * reuses: after that, killing "the processes of mountNs" could hit another cluster's node.
   */
  private gone = false;

  private constructor(cfg: SshdNodeConfig, holder: ChildProcess, mountNs: string, hostPublicKey: string) {
    this.name = cfg.name;
    this.host = cfg.host;
    this.port = cfg.port;
    this.dir = cfg.dir;
    this.holder = holder;
    this.holderPid = holder.pid ?? -1;
    this.mountNs = mountNs;
    this.root = `/proc/${this.holderPid}/root`;
    this.hostKeyPath = join(cfg.dir, 'ssh_host_ed25519_key');
    this.configPath = join(cfg.dir, 'sshd_config');
    this.sshdLogPath = join(cfg.dir, 'sshd.log');
    this.hostPublicKey = hostPublicKey;
  }

  /** Creates the namespace and starts sshd in it; resolves when sshd sends its banner. */
  static async start(cfg: SshdNodeConfig): Promise<SshdNode> {
    mkdirSync(cfg.dir, { recursive: true });
    const upperDir = join(cfg.dir, 'layers');
    mkdirSync(upperDir, { recursive: true });
    const hostKeyPath = join(cfg.dir, 'ssh_host_ed25519_key');
    const hostPublicKey = await generateKey(hostKeyPath, `${cfg.name}-host`);
    writeFileSync(join(cfg.dir, 'sshd_config'), sshdConfig(cfg, hostKeyPath));

    // Output goes to files, not pipes: a pipe we stop reading would block (or SIGPIPE) the holder.
    const holderLog = join(cfg.dir, 'holder.log');
    const holderOut = openSync(holderLog, 'w');
    const holder = spawn('unshare', ['--mount', '--propagation', 'private', '--', 'sh', '-c', HOLDER_SCRIPT, 'sh', upperDir], {
      detached: true,
      stdio: ['pipe', holderOut, holderOut],
    });
    closeSync(holderOut);
    // Never written: its only job is to reach EOF when this process dies (see HOLDER_SCRIPT).
    (holder.stdin as unknown as { unref?: () => void } | null)?.unref?.();
    holder.once('error', () => undefined); // reported below as "could not create"
    holder.unref();
    let ready = false;
    try {
      await waitFor(`the mount namespace of ${cfg.name}`, READY_TIMEOUT_MS, () => {
        if (readFileSync(holderLog, 'utf8').includes('ready\n')) return true;
        if (holder.exitCode !== null || holder.signalCode !== null || holder.pid === undefined) throw new Error('holder exited');
        return false;
      });
      ready = true;
    } catch {
      ready = false;
    }
    const ns = holder.pid === undefined ? undefined : mountNamespaceOf(holder.pid);
    if (!ready || ns === undefined || ns === mountNamespaceOf(process.pid)) {
      if (holder.pid !== undefined) killQuietly(holder.pid, 'SIGKILL');
      throw new Error(`${cfg.name}: could not create its mount namespace: ${readFileSync(holderLog, 'utf8').trim() || 'no output'}`);
    }

    const node = new SshdNode(cfg, holder, ns, hostPublicKey);
    try {
      await node.startSshd();
    } catch (err) {
      await node.stop();
      throw err;
    }
    return node;
  }

  get sshdPid(): number | undefined {
    const sshd = this.sshd;
    return sshd && sshd.exitCode === null && sshd.signalCode === null ? sshd.pid : undefined;
  }

  /** `[127.0.1.1]:2222 ssh-ed25519 AAAA…` — the node's current host key as a known_hosts line. */
  knownHostsLine(): string {
    return `[${this.host}]:${this.port} ${keyWithoutComment(this.hostPublicKey)}`;
  }

  async startSshd(): Promise<void> {
    if (this.gone) throw new Error(`${this.name} was stopped; start a new cluster`);
    if (this.sshdPid !== undefined) return;
    mkdirSync('/run/sshd', { recursive: true, mode: 0o755 }); // sshd's privilege separation directory
    const log = openSync(this.sshdLogPath, 'w');
    // nsenter resets the working directory to the namespace's root: every path here is absolute.
    const sshd = spawn('nsenter', ['--target', String(this.holderPid), '--mount', '--', SSHD_BINARY, '-D', '-e', '-f', this.configPath], {
      detached: true,
      stdio: ['ignore', log, log],
    });
    closeSync(log);
    sshd.once('error', (err) => appendFileSync(this.sshdLogPath, `${err.message}\n`));
    sshd.unref();
    this.sshd = sshd;
    await waitFor(`sshd of ${this.name} on ${this.host}:${this.port}`, READY_TIMEOUT_MS, async () => {
      if (sshd.exitCode !== null || sshd.signalCode !== null || sshd.pid === undefined) {
        throw new Error(`sshd of ${this.name} exited before listening: ${this.sshdLog.trim() || `status ${sshd.exitCode ?? sshd.signalCode}`}`);
      }
      return (await readBanner(this.host, this.port)).startsWith('SSH-');
    });
  }

  /**
   * Takes the node off the network: kills sshd and every session and command running in the node,
   * so that open connections drop and new ones are refused. Files in the namespace stay.
   */
  async stopSshd(): Promise<void> {
    if (this.gone) return;
    const listener = this.sshd;
    listener?.ref();
    await killLeavesFirst(this.mountNs, (pid) => pid === this.holderPid, `the sshd and sessions of ${this.name} to end`);
    if (listener) await exited(listener);
    this.sshd = undefined;
  }

  /** Gives sshd a new host key (sshd re-reads it on SIGHUP, keeping its pid); returns the new known_hosts line. */
  async replaceHostKey(): Promise<string> {
    const fresh = join(this.dir, 'new_host_key');
    const publicKey = await generateKey(fresh, `${this.name}-host-replaced`);
    renameSync(`${fresh}.pub`, `${this.hostKeyPath}.pub`);
    renameSync(fresh, this.hostKeyPath);
    this.hostPublicKey = publicKey;
    const pid = this.sshdPid;
    if (pid === undefined) return this.knownHostsLine();
    killQuietly(pid, 'SIGHUP');
    const wanted = keyWithoutComment(publicKey);
    await waitFor(`sshd of ${this.name} to serve its new host key`, READY_TIMEOUT_MS, async () => {
      const scan = await execa('ssh-keyscan', ['-T', '3', '-t', 'ed25519', '-p', String(this.port), this.host], { reject: false });
      return scan.stdout.split('\n').some((line) => line.includes(wanted));
    });
    return this.knownHostsLine();
  }

  /** Kills everything in the node; the namespace and its files go with the last process. */
  async stop(): Promise<void> {
    if (this.gone) return;
    // Unreferenced so that a forgotten cluster never holds the test process open; awaited here.
    this.holder.ref();
    await this.stopSshd().catch(() => undefined); // a stuck session must not stop the teardown
    killQuietly(this.holderPid, 'SIGKILL');
    await exited(this.holder);
    await killLeavesFirst(this.mountNs, () => false, `the processes of ${this.name} to end`);
    this.gone = true;
  }

  /** For process exit handlers, where nothing asynchronous runs any more. */
  killSync(): void {
    if (this.gone) return;
    const listener = this.sshd?.pid;
    const all = processesInNamespace(this.mountNs);
    for (const pid of all) if (pid !== listener && pid !== this.holderPid) killQuietly(pid, 'SIGKILL');
    if (listener !== undefined) killQuietly(listener, 'SIGKILL');
    killQuietly(this.holderPid, 'SIGKILL');
  }

  /** The last lines sshd wrote to standard error (LogLevel ERROR), for failure messages. */
  get sshdLog(): string {
    try {
      return readFileSync(this.sshdLogPath, 'utf8').slice(-STDERR_TAIL);
    } catch {
      return '';
    }
  }
}
