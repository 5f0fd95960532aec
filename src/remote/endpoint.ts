/**
 * Everything the SSH pool needs to reach one node, fully resolved: the inventory loader has already
 * merged the `ssh:` defaults, per-node overrides and ~/.ssh/config, expanded `~`, and parsed durations.
 */

export type StrictHostKeyChecking = 'yes' | 'accept-new' | 'no';

export interface SshEndpoint {
  /** Inventory name, used in every message ("node2"). */
  name: string;
  /** Address or ~/.ssh/config alias as written in the inventory. */
  host: string;
  /** What is actually dialled (HostName after ~/.ssh/config), and looked up in known_hosts. */
  hostname: string;
  port: number;
  user: string;
  /** Private key files, tried in order before the agent. */
  identityFiles: string[];
  useAgent: boolean;
  /** ssh-agent socket; `$SSH_AUTH_SOCK` when absent. */
  agentSocket?: string;
  knownHostsFile: string;
  strictHostKeyChecking: StrictHostKeyChecking;
  jumpHost?: JumpEndpoint;
  /** Bound on TCP connect + handshake + authentication. */
  connectTimeoutMs: number;
  /** The inventory file these settings come from, as the user named it: hints point there. */
  configFile?: string;
  /** `sudo`: the login user is not root; calls that need root go through sudo (become.ts). */
  become?: 'sudo';
}

/** A jump host is reached directly (no nested jumps) and checked with its own settings. */
export type JumpEndpoint = Omit<SshEndpoint, 'name' | 'jumpHost' | 'host'> & { host: string };

/** "node3 (10.0.0.3:22)": the form every message about a node uses. */
export function describeEndpoint(ep: Pick<SshEndpoint, 'name' | 'hostname' | 'port'>): string {
  return `${ep.name} (${formatAddress(ep.hostname, ep.port)})`;
}

/** `host:port`, with IPv6 literals bracketed so the port stays readable. */
export function formatAddress(hostname: string, port: number): string {
  return hostname.includes(':') ? `[${hostname}]:${port}` : `${hostname}:${port}`;
}

/** The inventory file a hint should name. */
export function configFileOf(ep: Pick<SshEndpoint, 'configFile'>): string {
  return ep.configFile ?? 'the inventory';
}

/**
 * `ssh [-N] [-J user@jump:port] [-L spec] [-p port] user@host`: how the user reaches the node by hand,
 * or (with `forward`, a `-L` spec) opens a tunnel through it without a remote command.
 */
export function sshCommand(ep: Pick<SshEndpoint, 'hostname' | 'port' | 'user' | 'jumpHost'>, forward?: string): string {
  const tunnel = forward === undefined ? '' : ' -N';
  const jump = ep.jumpHost ? ` -J ${ep.jumpHost.user}@${formatAddress(ep.jumpHost.hostname, ep.jumpHost.port)}` : '';
  const local = forward === undefined ? '' : ` -L ${forward}`;
  const port = ep.port === 22 ? '' : ` -p ${ep.port}`;
  const host = ep.hostname.includes(':') ? `[${ep.hostname}]` : ep.hostname;
  return `ssh${tunnel}${jump}${local}${port} ${ep.user}@${host}`;
}
