/**
 * A test cluster of real OpenSSH servers: N nodes on their own loopback addresses, each sshd in its
 * own mount namespace where the simulated Ascend tools (shims that forward to the simulator) and
 * files sit at their real paths. ascendctl talks to it exactly as to a rack: inventory, known_hosts,
 * key file, port.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { stringify } from 'yaml';
import type { SimNodeSpec } from '../../src/sim/cluster-spec.js';
import type { LatencyProfile, SimFault } from '../../src/sim/types.js';
import { reserveAddressBlock, type AddressBlock } from './address-block.js';
import { SSHD_BINARY, SshdNode, generateKey } from './sshd-node.js';
import { installShims, simulatorCommand, waitForSimulator, type SimulatorEndpoints } from './sim-process.js';

export const DEFAULT_CLUSTER_SSH_PORT = 2222;

export interface StartSshdClusterOptions {
  /** A node count (node1…nodeN, defaults everywhere) or full node specs; `host`/`sshPort` are assigned here. */
  nodes: number | SimNodeSpec[];
  profile?: LatencyProfile;
  /** Faults per node name, added to the nodes' own. */
  faults?: Record<string, SimFault[]>;
  /** NPUs per node (default 8); also written as `npusPerNode` into the inventory. */
  npus?: number;
  sshPort?: number;
  /**
   * Make every node's login noisy as data-centre servers are: an sshd Banner, and root's ~/.bashrc and
   * an /etc/profile.d file (inside the node's namespace) that print on stdout and stderr before every
   * command, as bash does for commands run by sshd.
   */
  noisyLogin?: boolean;
}

/** What a noisy node prints before each command (NOISY_LOGIN_FILES); tests look for it in outputs. */
export const NOISY_LOGIN_TEXT = {
  banner: 'Authorized use only. All activity may be monitored and reported.',
  bashrcOut: 'Last login: Sun Dec  6 21:00:00 2026 from 10.0.0.250',
  bashrcErr: 'bashrc: warning: setlocale: LC_ALL: cannot change locale (zh_CN.UTF-8)',
  profileOut: '{"notice": "maintenance window Friday 02:00"}',
  profileErr: 'Error: this is not an error, just the site notice',
};

/** root's ~/.bashrc and a profile.d file (paths inside the node) that speak on both streams. */
function noisyLoginFiles(): Record<string, string> {
  const t = NOISY_LOGIN_TEXT;
  return {
    '/root/.bashrc': [
      `echo '${t.bashrcOut}'`,
      `echo '${t.bashrcErr}' >&2`,
      // As RHEL's /etc/bashrc does for non-login shells.
      'for f in /etc/profile.d/zz-site-notice.sh; do [ -r "$f" ] && . "$f"; done',
      '',
    ].join('\n'),
    '/etc/profile.d/zz-site-notice.sh': [`echo '${t.profileOut}'`, `echo '${t.profileErr}' >&2`, ''].join('\n'),
  };
}

export interface SshdClusterNode {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  /** The listening sshd; undefined while the node is down. */
  readonly sshdPid: number | undefined;
  /** The node's file system seen from the host: `${root}/etc/hccn.conf` is the node's /etc/hccn.conf. */
  readonly root: string;
}

export interface SshResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface SshdCluster {
  dir: string;
  inventoryPath: string;
  knownHostsPath: string;
  identityPath: string;
  nodes: SshdClusterNode[];
  /** The simulator's control API (`GET /state`, `PUT /nodes/:name/faults`, …) on 127.0.0.1. */
  controlUrl: string;
  /** OpenSSH client arguments up to and including `root@host` for one node (no ~/.ssh/config, batch mode). */
  sshArgs(node: string): string[];
  /** Runs one command on a node with the OpenSSH client. */
  ssh(node: string, command: string, opts?: { input?: string; timeoutMs?: number }): Promise<SshResult>;
  /** Replaces the node's simulated faults (not added to them); a `node-down` fault also stops its sshd. */
  setFaults(node: string, faults: SimFault[]): Promise<void>;
  /** Kills the node's sshd and every session on it: connections drop, new ones are refused. Files stay. */
  nodeDown(node: string): Promise<void>;
  nodeUp(node: string): Promise<void>;
  /** Gives the node a new host key, leaving known_hosts as it was; resolves with the new known_hosts line. */
  replaceHostKey(node: string): Promise<string>;
  /** Kills every sshd, session and the simulator, removes the temp dir. Safe to call twice. */
  stop(): Promise<void>;
}

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Why this machine cannot run the cluster, or undefined when it can. */
export function sshdClusterUnavailableReason(): string | undefined {
  if (process.platform !== 'linux') return `sshd cluster tests need Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'sshd cluster tests need root (mount namespaces, overlay mounts, sshd)';
  if (!existsSync(SSHD_BINARY)) return `sshd cluster tests need ${SSHD_BINARY}: apt-get install -y openssh-server`;
  for (const tool of ['/usr/bin/unshare', '/usr/bin/nsenter', '/usr/bin/ssh', '/usr/bin/ssh-keygen']) {
    if (!existsSync(tool)) return `sshd cluster tests need ${tool} (util-linux, openssh-client)`;
  }
  return undefined;
}

/**
 * For `describe.skipIf(!canRunSshdCluster())`. Says loudly why when it cannot: a silent skip in CI
 * would look like a pass.
 */
export function canRunSshdCluster(): boolean {
  const reason = sshdClusterUnavailableReason();
  if (reason !== undefined) console.warn(`\n*** SKIPPING sshd cluster tests: ${reason} ***\n`);
  return reason === undefined;
}

function nodeSpecs(opts: StartSshdClusterOptions, hosts: string[], port: number): SimNodeSpec[] {
  const given = typeof opts.nodes === 'number'
    ? Array.from({ length: opts.nodes }, (_, i): SimNodeSpec => ({ name: `node${i + 1}`, host: '' }))
    : opts.nodes;
  return given.map((spec, i) => {
    const faults = [...(spec.faults ?? []), ...(opts.faults?.[spec.name] ?? [])];
    return {
      ...spec,
      host: hosts[i] ?? '',
      sshPort: port,
      ...(opts.npus !== undefined && spec.npus === undefined ? { npus: opts.npus } : {}),
      ...(faults.length > 0 ? { faults } : {}),
    };
  });
}

/**
 * Runs the simulator ("$@") in the background of a shell that exits with its status; a second member
 * of the process group waits for EOF on the shell's standard input (a pipe from this process) and
 * kills the simulator then, so that a test process killed outright does not leave it running.
 */
const SIM_WATCHDOG = 'exec 3<&0; "$@" </dev/null & sim=$!; (while read -r _; do :; done <&3; kill -9 "$sim" 2>/dev/null) & wait "$sim"';

/** Signals the whole process group, including members left after its leader exited. */
function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

export async function startSshdCluster(opts: StartSshdClusterOptions): Promise<SshdCluster> {
  const reason = sshdClusterUnavailableReason();
  if (reason !== undefined) throw new Error(reason);
  const port = opts.sshPort ?? DEFAULT_CLUSTER_SSH_PORT;
  const count = typeof opts.nodes === 'number' ? opts.nodes : opts.nodes.length;
  const dir = mkdtempSync(join(tmpdir(), 'ascendctl-cluster-'));
  const identityPath = join(dir, 'id_ed25519');
  const knownHostsPath = join(dir, 'known_hosts');
  const inventoryPath = join(dir, 'inventory.yaml');
  const authorizedKeysPath = join(dir, 'authorized_keys');

  let block: AddressBlock | undefined;
  const nodes: SshdNode[] = [];
  let sim: ChildProcess | undefined;
  let endpoints: SimulatorEndpoints | undefined;
  let stopped = false;

  const cleanupSync = (): void => {
    for (const node of nodes) node.killSync();
    if (sim) killGroup(sim, 'SIGKILL');
    block?.release();
    rmSync(dir, { recursive: true, force: true });
  };
  const onExit = (): void => cleanupSync();
  const onSignal = (signal: NodeJS.Signals): void => {
    cleanupSync();
    removeHandlers();
    // Our listener replaced the default action: restore it unless someone else handles the signal.
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  };
  const removeHandlers = (): void => {
    process.off('exit', onExit);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
  process.on('exit', onExit);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    const simExit = sim ? stopSimulator(sim) : Promise.resolve();
    await Promise.allSettled([...nodes.map((n) => n.stop()), simExit]);
    cleanupSync(); // whatever the graceful path missed
    removeHandlers();
  };

  try {
    block = await reserveAddressBlock(count, port);
    const specs = nodeSpecs(opts, block.hosts, port);
    const clientKey = await generateKey(identityPath, 'ascendctl-test-client');
    writeFileSync(authorizedKeysPath, `${clientKey}\n`);
    const bannerPath = join(dir, 'banner');
    if (opts.noisyLogin) writeFileSync(bannerPath, `${NOISY_LOGIN_TEXT.banner}\n`);

    // Node by node would cost N × (key generation + sshd start); on a loaded 2-core runner it adds up.
    const started = await Promise.allSettled(
      specs.map((spec) =>
        SshdNode.start({ name: spec.name, host: spec.host, port, dir: join(dir, spec.name), authorizedKeysPath, ...(opts.noisyLogin ? { bannerPath } : {}) }),
      ),
    );
    for (const result of started) if (result.status === 'fulfilled') nodes.push(result.value);
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;

    const simSpec = {
      profile: opts.profile ?? 'fast',
      nodes: specs.map((spec, i) => ({ ...spec, pid: nodes[i]!.holderPid, fsRoot: nodes[i]!.root })),
    };
    const specPath = join(dir, 'sim-spec.json');
    writeFileSync(specPath, JSON.stringify(simSpec, null, 2));
    const logPath = join(dir, 'sim.log');
    const log = openSync(logPath, 'w');
    const command = simulatorCommand(REPO_ROOT, specPath);
    sim = spawn('sh', ['-c', SIM_WATCHDOG, 'sh', command.file, ...command.args], {
      cwd: REPO_ROOT,
      detached: true,
      stdio: ['pipe', log, log],
    });
    closeSync(log);
    // Never written: it reaches EOF when this process dies, and the watchdog then kills the simulator.
    (sim.stdin as unknown as { unref?: () => void } | null)?.unref?.();
    sim.once('error', () => undefined); // surfaces as "exited before it was ready"
    sim.unref();
    const ready = await waitForSimulator(sim, logPath);
    endpoints = ready;
    await Promise.all(nodes.map((n) => installShims(n.root, n.name, ready)));
    if (opts.noisyLogin) {
      // Written through /proc/<holder>/root: inside the node's overlays, not on this machine.
      for (const n of nodes) for (const [file, text] of Object.entries(noisyLoginFiles())) writeFileSync(`${n.root}${file}`, text);
    }

    for (const [i, spec] of specs.entries()) {
      if (spec.faults?.some((f) => f.kind === 'node-down')) await nodes[i]!.stopSshd();
    }
    writeFileSync(knownHostsPath, nodes.map((n) => `${n.knownHostsLine()}\n`).join(''));
    writeFileSync(inventoryPath, stringify({
      ssh: { user: 'root', port, identityFile: identityPath, knownHostsFile: knownHostsPath, strictHostKeyChecking: 'yes' },
      npusPerNode: opts.npus ?? 8,
      nodes: nodes.map((n) => ({ name: n.name, host: n.host })),
    }));
  } catch (err) {
    const logs = nodes.map((n) => n.sshdLog.trim()).filter(Boolean).join('\n');
    const simLog = existsSync(join(dir, 'sim.log')) ? readFileSync(join(dir, 'sim.log'), 'utf8').slice(-4000).trim() : '';
    await stop();
    const detail = [logs && `sshd:\n${logs}`, simLog && `simulator:\n${simLog}`].filter(Boolean).join('\n');
    throw new Error(`could not start the sshd cluster: ${(err as Error).message}${detail ? `\n${detail}` : ''}`, { cause: err });
  }

  const controlUrl = endpoints?.controlUrl ?? '';
  const byName = (name: string): SshdNode => {
    const node = nodes.find((n) => n.name === name);
    if (!node) throw new Error(`no node ${name} in this cluster (nodes: ${nodes.map((n) => n.name).join(', ')})`);
    return node;
  };
  const control = async (method: string, path: string, body?: unknown): Promise<void> => {
    const res = await fetch(`${controlUrl}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`simulator ${method} ${path}: HTTP ${res.status} ${await res.text()}`);
  };
  const sshArgs = (name: string): string[] => {
    const node = byName(name);
    return [
      '-F', '/dev/null', // never the user's ~/.ssh/config
      '-i', identityPath,
      '-o', 'IdentitiesOnly=yes',
      '-o', `UserKnownHostsFile=${knownHostsPath}`,
      '-o', 'GlobalKnownHostsFile=/dev/null',
      '-o', 'StrictHostKeyChecking=yes',
      '-o', 'BatchMode=yes',
      '-o', 'ConnectTimeout=15',
      '-o', 'LogLevel=ERROR',
      '-p', String(node.port),
      `root@${node.host}`,
    ];
  };

  return {
    dir,
    inventoryPath,
    knownHostsPath,
    identityPath,
    controlUrl,
    nodes: nodes.map((n) => ({
      name: n.name,
      host: n.host,
      port: n.port,
      root: n.root,
      get sshdPid() {
        return n.sshdPid;
      },
    })),
    sshArgs,
    async ssh(name, command, sshOpts = {}) {
      const result = await execa('ssh', [...sshArgs(name), command], {
        reject: false,
        input: sshOpts.input ?? '',
        timeout: sshOpts.timeoutMs ?? 60_000,
        env: { SSH_AUTH_SOCK: undefined },
        stripFinalNewline: false,
      });
      return { exitCode: result.exitCode ?? -1, stdout: result.stdout, stderr: result.stderr };
    },
    async setFaults(name, faults) {
      const node = byName(name);
      await control('PUT', `/nodes/${encodeURIComponent(node.name)}/faults`, faults);
      // A node-down fault means the machine is gone: its sshd follows the fault both ways.
      const down = faults.some((f) => f.kind === 'node-down');
      if (down && node.sshdPid !== undefined) await node.stopSshd();
      if (!down && node.sshdPid === undefined) await node.startSshd();
    },
    async nodeDown(name) {
      const node = byName(name);
      await control('POST', `/nodes/${encodeURIComponent(node.name)}/down`);
      await node.stopSshd();
    },
    async nodeUp(name) {
      const node = byName(name);
      await node.startSshd();
      await control('POST', `/nodes/${encodeURIComponent(node.name)}/up`);
    },
    replaceHostKey: (name) => byName(name).replaceHostKey(),
    stop,
  };
}

/** Live (non-zombie) members of a process group. */
function groupMembers(pgid: number): number[] {
  const members: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (state !== 'Z' && Number(pgrp) === pgid) members.push(Number(entry));
    } catch {
      // exited while we looked
    }
  }
  return members;
}

async function stopSimulator(sim: ChildProcess): Promise<void> {
  const pgid = sim.pid;
  if (pgid === undefined) return;
  for (const [signal, graceMs] of [['SIGTERM', 5000], ['SIGKILL', 5000]] as const) {
    killGroup(sim, signal);
    const deadline = Date.now() + graceMs;
    while (groupMembers(pgid).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    if (groupMembers(pgid).length === 0) break;
  }
}
