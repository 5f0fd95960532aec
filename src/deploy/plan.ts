/**
 * From validated inputs to what the renderers need: node addresses (IP literals — rank tables and
 * MindIE's ipAddress take nothing else) and device IPs. Pure except address resolution.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { Deployment } from '../config/deployment.js';
import type { Inventory, ResolvedNode } from '../config/inventory.js';
import { ClusterError } from '../errors.js';
import { vllmPorts, type RenderInput } from '../mindie/render-input.js';
import type { ProbeTarget } from './readiness.js';

/** The node's address when known without a lookup: the inventory's `address`, or a host that is an IPv4 address. */
export function knownNodeAddress(node: ResolvedNode): string | undefined {
  if (node.address !== undefined) return node.address;
  return isIP(node.hostname) === 4 ? node.hostname : undefined;
}

/**
 * The IPv4 address a node serves on: the inventory's `address:` when given, else its host/HostName
 * when it is an IP, else its DNS answer (the first, as the system resolver orders them).
 */
export async function nodeAddress(node: ResolvedNode): Promise<string> {
  const known = knownNodeAddress(node);
  if (known !== undefined) return known;
  try {
    const r = await lookup(node.hostname, { family: 4 });
    return r.address;
  } catch (err) {
    throw new ClusterError(`${node.name}: cannot resolve ${node.hostname} to an IPv4 address (${(err as Error).message})`, {
      hint: `write the node's IP as address: (or host:) in the inventory (rank tables and MindIE need IP addresses)`,
    });
  }
}

export async function nodeAddresses(nodes: readonly ResolvedNode[]): Promise<Map<string, string>> {
  const pairs = await Promise.all(nodes.map(async (n) => [n.name, await nodeAddress(n)] as const));
  return new Map(pairs);
}

export function toRenderInput(
  dep: Deployment, inventory: Inventory, addresses: Map<string, string>, deviceIps: Record<string, string[]>,
): RenderInput {
  const render: RenderInput['deployment'] = {
    name: dep.name,
    backend: dep.backend,
    image: dep.image,
    model: { path: dep.model.path, name: dep.model.name },
    parallel: { ...dep.parallel },
    npuMemoryFraction: dep.npuMemoryFraction,
    ports: { ...dep.ports },
    env: { ...dep.env },
    mindieConfig: { ...(dep.mindieConfig as Record<string, unknown>) },
  };
  if (dep.limits) render.limits = { ...dep.limits };
  if (dep.vllm) render.vllm = { ...dep.vllm } as NonNullable<RenderInput['deployment']['vllm']>;
  return {
    deployment: render,
    nodes: inventory.allNodes.map((n) => ({ name: n.name, host: addresses.get(n.name) ?? n.hostname, index: n.index })),
    npusPerNode: inventory.npusPerNode,
    deviceIps,
  };
}

/** Where the master at `address` answers: MindIE's API and management ports, or vLLM's one port. */
export function probeTarget(dep: Deployment, address: string): ProbeTarget {
  const host = address.includes(':') ? `[${address}]` : address;
  return dep.backend === 'mindie'
    ? { endpoint: `http://${host}:${dep.ports.http}`, managementEndpoint: `http://${host}:${dep.ports.management}`, model: dep.model.name }
    : { endpoint: `http://${host}:${vllmPorts(dep).api}`, model: dep.model.name };
}
