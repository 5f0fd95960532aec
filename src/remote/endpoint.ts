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
