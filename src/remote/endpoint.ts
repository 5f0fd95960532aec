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

/**
 * A jump host, checked with its own settings. In a chain (`ssh -J a,b`) the node's `jumpHost` is the
 * last hop (b) and each hop's `jumpHost` is the one before it; the first hop (a) is reached directly.
 */
export type JumpEndpoint = Omit<SshEndpoint, 'name' | 'jumpHost' | 'host'> & { host: string; jumpHost?: JumpEndpoint };

/** The hops in the order they are dialled (the first is reached directly); empty without a jump host. */
export function jumpChain<T extends { jumpHost?: T | undefined }>(ep: { jumpHost?: T | undefined }): T[] {
  const hops: T[] = [];
  for (let hop = ep.jumpHost; hop !== undefined; hop = hop.jumpHost) {
    if (hops.includes(hop)) break;
    hops.unshift(hop);
  }
  return hops;
}

/** What `ssh -J` takes: `user@host:port` per hop, comma-separated, first hop first. */
export function jumpSpec(ep: { jumpHost?: JumpHop | undefined }): string {
  return jumpChain<JumpHop>(ep)
    .map((h) => `${h.user}@${formatAddress(h.hostname, h.port)}`)
    .join(',');
}

/** The parts of a hop that name it (messages, `ssh -J`). */
export interface JumpHop {
  user: string;
  hostname: string;
  port: number;
  jumpHost?: JumpHop | undefined;
}

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
 * `ssh [-N] [-J user@jump:port[,user@jump2:port]] [-L spec] [-p port] user@host`: how the user reaches the node by hand,
 * or (with `forward`, a `-L` spec) opens a tunnel through it without a remote command.
 */
export function sshCommand(ep: Pick<SshEndpoint, 'hostname' | 'port' | 'user' | 'jumpHost'>, forward?: string): string {
  const tunnel = forward === undefined ? '' : ' -N';
  const jump = ep.jumpHost ? ` -J ${jumpSpec(ep)}` : '';
  const local = forward === undefined ? '' : ` -L ${forward}`;
  const port = ep.port === 22 ? '' : ` -p ${ep.port}`;
  const host = ep.hostname.includes(':') ? `[${ep.hostname}]` : ep.hostname;
  return `ssh${tunnel}${jump}${local}${port} ${ep.user}@${host}`;
}
