/**
 * The simulated network between nodes: which TCP connections a node's firewall lets in (firewall
 * faults), and which addresses are a node's own. Used by the shell's `python3`/`ip` and by the MindIE
 * daemon, so that a blocked port stops the probe and the daemon alike.
 */
import type { SimNode } from './ascend-node.js';

type SimNetworkNode = Pick<SimNode, 'name' | 'host' | 'faults'>;

type FirewallVerdict = 'drop' | 'reject' | undefined;

/** What `to`'s firewall does with a TCP SYN from `from` (a node, or undefined = elsewhere) to `port`. */
export function firewallVerdict(to: SimNetworkNode, from: SimNetworkNode | undefined, port: number): FirewallVerdict {
  for (const f of to.faults) {
    if (f.kind !== 'firewall') continue;
    if (f.from !== undefined && f.from !== from?.name) continue;
    const inRange = f.port !== undefined ? f.port === port
      : f.ports !== undefined ? port >= f.ports[0] && port <= f.ports[1]
        : port !== 22;
    if (inRange) return f.action ?? 'drop';
  }
  return undefined;
}

/** The node's own addresses: lo and its one interface. */
export function ownAddresses(node: { host: string }): string[] {
  return ['127.0.0.1', node.host];
}

/** HCCL's ports: HCCL_IF_BASE_PORT (default 60000) and the 15 after it. */
export function hcclPortRange(env: Record<string, string | undefined>): number[] {
  const n = Number(env.HCCL_IF_BASE_PORT ?? '60000');
  const base = Number.isInteger(n) && n > 0 && n <= 65520 ? n : 60000;
  return Array.from({ length: 16 }, (_, i) => base + i);
}
