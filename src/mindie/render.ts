import { createHash } from 'node:crypto';
import { buildMindieConfig } from './config-json.js';
import { containerRunText, renderContainerRun } from './container.js';
import { hcclEnvDigest, renderEnv, renderEnvFile, type EnvPair } from './env.js';
import { getAt, type JsonObject } from './json-value.js';
import { renderLaunchScript, renderVllmLaunchScript } from './launcher.js';
import { remotePaths } from './paths.js';
import { rankTableText, renderRankTable, validateRankTable } from './rank-table.js';
import { RenderError } from './render-error.js';
import type { RenderInput, RenderNode } from './render-input.js';

/** 640: MindIE refuses config and rank-table files with wider permissions (§5). */
export const RENDERED_FILE_MODE = 0o640;

export interface RenderedFile {
  /** Absolute path on the node (and, bind-mounted, inside the container). */
  path: string;
  content: string;
  mode: number;
}

export interface RenderedNode {
  node: RenderNode;
  /** ranktable.json, config.json (MindIE only), env, launch.sh — in upload order. */
  files: RenderedFile[];
  containerArgv: string[];
  /** containerArgv as readable shell text. */
  containerCommand: string;
  env: EnvPair[];
  /** sha256 of this node's files and argv. */
  digest: string;
}

export interface RenderedDeployment {
  /** Rank-table text, the same for every node; null for vLLM-Ascend, which does not use one. */
  rankTable: string | null;
  nodes: RenderedNode[];
  /** sha256 over every node's files and argv: equal digests mean an unchanged redeploy. */
  digest: string;
}

function digestOf(parts: readonly string[]): string {
  const hash = createHash('sha256');
  hash.update('ascendctl-render-v1\0');
  for (const part of parts) hash.update(`${part.length}:${part}\0`);
  return hash.digest('hex');
}

function nodeDigestParts(files: readonly RenderedFile[], argv: readonly string[]): string[] {
  return [...files.flatMap((f) => [f.path, f.mode.toString(8), f.content]), ...argv];
}

const PORT_PATHS = [
  ['ServerConfig', 'port'],
  ['ServerConfig', 'managementPort'],
  ['ServerConfig', 'metricsPort'],
  ['BackendConfig', 'multiNodesInferPort'],
] as const;

/**
 * Cross-node agreement MindIE needs but cannot report clearly: one rank table, identical HCCL env,
 * identical ports. These hold by construction today; the check keeps a future per-node option from
 * breaking them silently.
 */
export function checkAcrossNodes(nodes: readonly RenderedNode[], configs: readonly JsonObject[]): void {
  const first = nodes[0];
  if (first === undefined) return;
  const firstTable = first.files.find((f) => f.path.endsWith('/ranktable.json'))?.content;
  const firstHccl = hcclEnvDigest(first.env);
  const firstPorts = configs[0] === undefined ? undefined : JSON.stringify(PORT_PATHS.map((p) => getAt(configs[0] as JsonObject, p)));
  nodes.forEach((rendered, i) => {
    const table = rendered.files.find((f) => f.path.endsWith('/ranktable.json'))?.content;
    if (table !== firstTable) {
      throw new RenderError(`node ${rendered.node.name} would get a different rank table than ${first.node.name}`, { node: rendered.node.name, hint: 'this is a bug in ascendctl: report it with the deployment file' });
    }
    if (hcclEnvDigest(rendered.env) !== firstHccl) {
      throw new RenderError(`node ${rendered.node.name} would get different HCCL variables than ${first.node.name}; HCCL needs them identical`, {
        node: rendered.node.name,
        hint: 'set HCCL_* variables in env: (shared by all nodes), not per node',
      });
    }
    const config = configs[i];
    if (config !== undefined && JSON.stringify(PORT_PATHS.map((p) => getAt(config, p))) !== firstPorts) {
      throw new RenderError(`node ${rendered.node.name} would listen on different ports than ${first.node.name}`, { node: rendered.node.name, hint: 'set the ports under ports: only' });
    }
  });
}

/**
 * Everything deploy uploads and runs, per node: files under /var/lib/ascendctl/<name>/ and the
 * container argv, plus a digest for detecting an unchanged redeploy. Pure: no I/O.
 */
export function renderDeployment(input: RenderInput): RenderedDeployment {
  const { deployment: d } = input;
  const paths = remotePaths(d.name);
  const isMindie = d.backend === 'mindie';
  let rankTable: string | null = null;
  // One server runs MindIE's single-node configuration: no rank table (multiNodesInferEnabled false).
  if (isMindie && input.nodes.length > 1) {
    const table = renderRankTable(input);
    // Self-check: what we wrote must pass the same rules a --device-ips or hand-made table does.
    validateRankTable(JSON.parse(rankTableText(table)), { npusPerNode: input.npusPerNode });
    rankTable = rankTableText(table);
  }
  const configs: JsonObject[] = [];
  const nodes = input.nodes.map((node): RenderedNode => {
    const env = renderEnv(input, node);
    const files: RenderedFile[] = [];
    if (isMindie) {
      const config = buildMindieConfig(input, node);
      configs.push(config);
      if (rankTable !== null) files.push({ path: paths.rankTable, content: rankTable, mode: RENDERED_FILE_MODE });
      files.push({ path: paths.config, content: `${JSON.stringify(config, null, 2)}\n`, mode: RENDERED_FILE_MODE });
    }
    // The logging variables are launch.sh's to export, after the set_env scripts (§4.1): not in the env file.
    files.push({ path: paths.env, content: renderEnvFile(env.filter(([k]) => !k.startsWith('MINDIE_LOG_'))), mode: RENDERED_FILE_MODE });
    files.push({
      path: paths.launcher,
      content: isMindie ? renderLaunchScript(input, node) : renderVllmLaunchScript(input, node),
      mode: RENDERED_FILE_MODE,
    });
    const containerArgv = renderContainerRun(input, node, { runtime: 'docker' });
    return { node, files, containerArgv, containerCommand: containerRunText(containerArgv), env, digest: digestOf(nodeDigestParts(files, containerArgv)) };
  });
  checkAcrossNodes(nodes, configs);
  const digest = digestOf(nodes.flatMap((n) => [n.node.name, n.node.host, ...nodeDigestParts(n.files, n.containerArgv)]));
  return { rankTable, nodes, digest };
}
