/**
 * The simulated cluster: its nodes, what they share (who owns which device IP, link states for
 * pings, a rendezvous map for MindIE ranks) and the extensions that add programs to every node.
 */
import { setMaxListeners } from 'node:events';
import { SimNode } from './ascend-node.js';
import { createHccnTool } from './hccn-tool.js';
import { createNpuSmi } from './npu-smi.js';
import type { SimClusterSpec, SimNodeSpec } from './cluster-spec.js';
import { MemFs } from './mem-fs.js';
import type { LatencyProfile, SimFs } from './types.js';

/** Adds behaviour to each node at start, e.g. the container runtime registering `docker`. */
export type SimNodeExtension = (node: SimNode, cluster: SimCluster) => void | Promise<void>;

export interface SimClusterOptions {
  extensions?: SimNodeExtension[];
  /** File system per node; default a fresh MemFs. */
  fs?: (spec: SimNodeSpec, index: number) => SimFs;
  /** Write placeholder executables at the program paths (off when the caller installs its own there). */
  installProgramFiles?: boolean;
}

export class SimCluster {
  readonly profile: LatencyProfile;
  readonly nodes: SimNode[];
  /** Cross-node rendezvous for extensions (e.g. MindIE workers registering with the master). */
  readonly shared = new Map<string, unknown>();
  private readonly stopController = new AbortController();
  /** Aborted by stop(): every program still running on any node sees its io.signal abort. */
  readonly stopSignal = this.stopController.signal;
  private readonly changeListeners = new Set<(node: SimNode) => void>();
  private started = false;

  constructor(spec: SimClusterSpec, private readonly opts: SimClusterOptions = {}) {
    // Every running program listens on it (SimNode.run): as many at once as calls in flight cluster-wide.
    setMaxListeners(0, this.stopSignal);
    this.profile = spec.profile;
    this.nodes = spec.nodes.map((nodeSpec, index) => {
      const node = new SimNode(index, nodeSpec, spec.profile, opts.fs?.(nodeSpec, index) ?? new MemFs(), this);
      node.programs.set('hccn_tool', createHccnTool(node));
      node.programs.set('npu-smi', createNpuSmi(node));
      node.installProgramFiles = opts.installProgramFiles !== false;
      return node;
    });
  }

  find(nameOrHost: string): SimNode | undefined {
    return this.nodes.find((n) => n.name === nameOrHost) ?? this.byAddress(nameOrHost);
  }

  byAddress(address: string): SimNode | undefined {
    return this.nodes.find((n) => n.host === address);
  }

  node(nameOrHost: string): SimNode {
    const node = this.find(nameOrHost);
    if (!node) throw new Error(`simulated cluster has no node ${nameOrHost} (nodes: ${this.nodes.map((n) => n.name).join(', ')})`);
    return node;
  }

  /** NPUs whose tool-reported address is `ip` (two when a duplicate-ip fault is set). */
  deviceIpOwners(ip: string): { node: SimNode; npu: number }[] {
    const owners: { node: SimNode; npu: number }[] = [];
    for (const node of this.nodes) {
      for (let npu = 0; npu < node.npuCount; npu++) if (node.reportedIp(npu) === ip) owners.push({ node, npu });
    }
    return owners;
  }

  /** Run the extensions on each node (in node order), then write every node's files (their programs' too). */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    for (const node of this.nodes) for (const ext of this.opts.extensions ?? []) await ext(node, this);
    await Promise.all(this.nodes.map((n) => n.writeFiles()));
  }

  /** Abort every running program. Front-ends are stopped by their owners. */
  stop(): void {
    this.stopController.abort();
  }

  /** Called with a node whose faults changed (front-ends react to node-down). Returns an unsubscribe. */
  onChange(listener: (node: SimNode) => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  notifyChange(node: SimNode): void {
    for (const l of this.changeListeners) l(node);
  }
}
