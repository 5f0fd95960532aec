/**
 * The container command as it will really run on a node: the rendered `docker run` argv adapted to the
 * node's `tools.containerRuntime` the way deploy adapts it (runArgvFor). What `render --out` and
 * `deploy --dry-run` show, so that a podman rack sees `podman run …`, not a command nobody runs.
 */
import type { ResolvedNode } from '../config/inventory.js';
import { containerRunText } from '../mindie/container.js';
import { runtimeFor } from '../runtime/runtime.js';

export interface RunCommand {
  argv: string[];
  text: string;
}

/** The runtime of the node named `name` (the rendered node names are the inventory's). */
export function runtimeOf(nodes: readonly ResolvedNode[], name: string): string | undefined {
  return nodes.find((n) => n.name === name)?.tools.containerRuntime;
}

/** The rendered argv as the node's runtime runs it; unchanged when the runtime is unknown. */
export function runCommandFor(runtime: string | undefined, renderedArgv: readonly string[]): RunCommand {
  const argv = runtime === undefined ? [...renderedArgv] : runtimeFor(runtime).run(renderedArgv);
  return { argv, text: containerRunText(argv) };
}
