/**
 * What every deploy step shares: the deployment, the nodes in rank order, where things go on them,
 * how to reach them and where to report. Read-only: what one step hands the next is its output.
 */
import type { Deployment } from '../../config/deployment.js';
import type { ResolvedNode } from '../../config/inventory.js';
import type { PreflightResult } from '../../preflight/run.js';
import type { Transport } from '../../remote/transport.js';

export interface DeployReporter {
  step(title: string): void;
  detail(text: string): void;
  node(node: string, text: string): void;
  warn(text: string): void;
  /** Long wait: a live status line on a terminal. */
  waiting(text: string): void;
  preflight(result: PreflightResult): void;
}

export interface DeployEnv {
  dep: Deployment;
  /** Every node in rank order: the master first. */
  nodes: readonly ResolvedNode[];
  master: ResolvedNode;
  workers: readonly ResolvedNode[];
  /** The container's name on every node (mindie/paths.ts). */
  container: string;
  /** The deployment's directory on every node (mindie/paths.ts). */
  dir: string;
  rep: DeployReporter;
  signal: AbortSignal;
  now(): number;
  /** The node's transport, connected. */
  transport(n: ResolvedNode): Promise<Transport>;
}

/** The node's container runtime command (`docker`, `podman`, a full path). */
export function rt(n: ResolvedNode): string {
  return n.tools.containerRuntime;
}

export function firstLine(text: string): string {
  return text.split('\n').map((l) => l.trim()).find((l) => l !== '') ?? 'no output';
}
