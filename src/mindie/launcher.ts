import { quoteArg } from '../remote/quote.js';
import { commandText } from './command-text.js';
import { renderEnv } from './env.js';
import { checkRenderInput } from './input-check.js';
import { workDir } from './paths.js';
import { RenderError } from './render-error.js';
import { isSecretName } from '../ui/redact.js';
import { vllmPorts, type RenderInput, type RenderNode } from './render-input.js';

export const MINDIE_DAEMON = '/usr/local/Ascend/mindie/latest/mindie-service/bin/mindieservice_daemon';
/** Newer layouts (mindie-multinode.md §2.1) ship this binary instead; where it lives varies. */
const MINDIE_LLM_SERVER_CANDIDATES = [
  '/usr/local/Ascend/mindie/latest/mindie-llm/bin/mindie_llm_server',
  '/usr/local/Ascend/mindie/latest/mindie_llm/bin/mindie_llm_server',
];

const PROXY_VARS = 'http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY';

function header(input: RenderInput, node: RenderNode, what: string): string[] {
  return [
    '#!/bin/bash',
    `# ascendctl ${what} launcher: deployment ${input.deployment.name}, node ${node.name} (${node.host}).`,
    '# Written by ascendctl on every deploy; edits are overwritten.',
    "# It is the container's main process, so `docker logs` and the container's exit status follow the server.",
    '# No `set -u`: the CANN/ATB/MindIE set_env.sh scripts expand unset variables.',
    '# No `set -e`: a set_env.sh that returns non-zero must not abort the launch; the server is checked for below.',
    '',
    '# Proxies break inter-node traffic; ASCEND_LAUNCH_BLOCKING serialises every kernel launch.',
    `unset ${PROXY_VARS} ASCEND_LAUNCH_BLOCKING`,
    '',
  ];
}

/** §4.1 order; whichever of toolkit (CANN ≤ 8.2 images) or cann (8.5+) exists. */
function sourceCann(): string[] {
  return [
    "# The image's .bashrc sources these for interactive shells only.",
    'if [ -f /usr/local/Ascend/ascend-toolkit/set_env.sh ]; then',
    '  . /usr/local/Ascend/ascend-toolkit/set_env.sh',
    'elif [ -f /usr/local/Ascend/cann/set_env.sh ]; then',
    '  . /usr/local/Ascend/cann/set_env.sh',
    'fi',
    '[ -f /usr/local/Ascend/nnal/atb/set_env.sh ] && . /usr/local/Ascend/nnal/atb/set_env.sh',
  ];
}

/**
 * The deployment's environment once more, after the set_env scripts (mindie-multinode.md §4.1, §7 step 4:
 * source the scripts, then export the environment): the scripts set some of it themselves, ATB's
 * `ATB_WORKSPACE_MEM_ALLOC_ALG_TYPE=1` among them, and the values rendered for this deployment must win.
 * Secrets stay in the env file only (no set_env script sets them, and launch.sh is printed by --dry-run).
 */
function exportAgain(env: readonly (readonly [string, string])[]): string[] {
  const lines = env.filter(([k]) => !isSecretName(k)).map(([k, v]) => `export ${k}=${quoteArg(v)}`);
  if (lines.length === 0) return [];
  return ["# The deployment's environment again: the set_env scripts above set some of it themselves (ATB's", '# sets ATB_WORKSPACE_MEM_ALLOC_ALG_TYPE=1); the values rendered for this deployment win.', ...lines, ''];
}

function enterWorkDir(name: string): string[] {
  const dir = quoteArg(workDir(name));
  return ['# CANN writes kernel_meta_temp_* into the working directory: use a writable one.', `mkdir -p ${dir} && cd ${dir} || exit 1`, ''];
}

/**
 * bash launcher for one MindIE node: clean environment, set_env scripts in order, logging variables
 * re-exported last, stale shared memory removed, then exec of the daemon (no arguments: everything
 * comes from the env file and config.json).
 */
export function renderLaunchScript(input: RenderInput, node: RenderNode): string {
  checkRenderInput(input);
  const env = renderEnv(input, node);
  const logging = env.filter(([k]) => k.startsWith('MINDIE_LOG_'));
  const where = `node ${node.name}`;
  const lines = [
    ...header(input, node, 'MindIE'),
    ...sourceCann(),
    '[ -f /usr/local/Ascend/atb-models/set_env.sh ] && . /usr/local/Ascend/atb-models/set_env.sh',
    'if [ -f /usr/local/Ascend/mindie/set_env.sh ]; then',
    '  . /usr/local/Ascend/mindie/set_env.sh',
    'else',
    '  # 2.0 layout',
    '  [ -f /usr/local/Ascend/mindie/latest/mindie-llm/set_env.sh ] && . /usr/local/Ascend/mindie/latest/mindie-llm/set_env.sh',
    '  [ -f /usr/local/Ascend/mindie/latest/mindie-service/set_env.sh ] && . /usr/local/Ascend/mindie/latest/mindie-service/set_env.sh',
    'fi',
    '',
    ...exportAgain(env.filter(([k]) => !k.startsWith('MINDIE_LOG_'))),
    '# Logging last, and only here (not in the env file): set before the set_env scripts, these broke the ATB set-up (GPUStack).',
    ...logging.map(([k, v]) => `export ${k}=${quoteArg(v)}`),
    '',
    '# Shared memory left by an earlier daemon makes the new one fail or hang.',
    'rm -f /dev/shm/*llm_backend_* /dev/shm/llm_tokenizer_shared_memory_*',
    '',
    ...enterWorkDir(input.deployment.name),
    `daemon=${MINDIE_DAEMON}`,
    'if [ ! -x "$daemon" ]; then',
    '  daemon=$(command -v mindie_llm_server 2>/dev/null)',
    ...MINDIE_LLM_SERVER_CANDIDATES.map((c) => `  [ -z "$daemon" ] && [ -x ${c} ] && daemon=${c}`),
    'fi',
    'if [ -z "$daemon" ]; then',
    `  echo "ascendctl: no MindIE server in this image on ${where} (looked for mindieservice_daemon and mindie_llm_server)" >&2`,
    '  exit 127',
    'fi',
    `echo "ascendctl: starting $daemon on ${where}"`,
    'exec "$daemon"',
    '',
  ];
  return lines.join('\n');
}

interface VllmLayout {
  dp: number;
  dpLocal: number;
  startRank: number;
}

function vllmLayout(input: RenderInput, node: RenderNode): VllmLayout {
  const { parallel, vllm } = input.deployment;
  const nodes = input.nodes.length;
  const dp = parallel.dataParallelSize;
  const dpLocal = vllm?.dataParallelSizeLocal ?? dp / nodes;
  if (!Number.isInteger(dpLocal) || dpLocal < 1 || dpLocal * nodes !== dp) {
    throw new RenderError(`vLLM data parallelism needs the same number of DP ranks on every node: ${dp} ranks over ${nodes} nodes does not give ${vllm?.dataParallelSizeLocal === undefined ? 'a whole number' : dpLocal} per node`, {
      path: vllm?.dataParallelSizeLocal === undefined ? 'parallel.dataParallelSize' : 'vllm.dataParallelSizeLocal',
      hint: 'choose parallel.dataParallelSize as a multiple of the number of nodes',
    });
  }
  if (dpLocal * parallel.tensorParallelSize !== input.npusPerNode) {
    throw new RenderError(
      `vLLM runs ${dpLocal} DP ranks × tensorParallelSize ${parallel.tensorParallelSize} = ${dpLocal * parallel.tensorParallelSize} NPUs per node, but nodes have ${input.npusPerNode}`,
      { path: 'parallel.tensorParallelSize', hint: 'make DP-per-node × tensorParallelSize equal the NPUs per node (no Ray: TP stays inside a node)' },
    );
  }
  return { dp, dpLocal, startRank: node.index * dpLocal };
}

/**
 * bash launcher for one vLLM-Ascend node (§12.2, data parallel without Ray): node 0 serves the API,
 * the others run `--headless` with their DP start rank. The NIC names HCCL/gloo need are found at
 * run time from the node's address, since they differ between servers.
 */
export function renderVllmLaunchScript(input: RenderInput, node: RenderNode): string {
  checkRenderInput(input);
  const { deployment: d } = input;
  const master = input.nodes[0] as RenderNode;
  const layout = vllmLayout(input, node);
  const args: string[] = [
    'vllm', 'serve', d.model.path,
    '--served-model-name', d.model.name,
    '--host', node.host,
    '--port', String(vllmPorts(d).api),
    '--data-parallel-size', String(layout.dp),
    '--data-parallel-size-local', String(layout.dpLocal),
    '--data-parallel-address', master.host,
    '--data-parallel-rpc-port', String(vllmPorts(d).rpc),
    '--tensor-parallel-size', String(d.parallel.tensorParallelSize),
  ];
  if (d.parallel.moeExpertParallelSize > 1) args.push('--enable-expert-parallel');
  args.push('--gpu-memory-utilization', String(d.npuMemoryFraction));
  const limits = d.limits ?? {};
  if (limits.maxSeqLen !== undefined) args.push('--max-model-len', String(limits.maxSeqLen));
  if (limits.maxBatchSize !== undefined) args.push('--max-num-seqs', String(limits.maxBatchSize));
  if (limits.maxPrefillTokens !== undefined) args.push('--max-num-batched-tokens', String(limits.maxPrefillTokens));
  for (const [i, extra] of (d.vllm?.extraArgs ?? []).entries()) {
    if (/[\r\n\0]/.test(extra)) throw new RenderError(`vllm.extraArgs[${i}] contains a line break or NUL`, { path: `vllm.extraArgs[${i}]`, hint: 'one argument per list item, on one line' });
    args.push(extra);
  }
  if (node.index > 0) args.push('--headless', '--data-parallel-start-rank', String(layout.startRank));

  const nodeIp = quoteArg(node.host);
  const lines = [
    ...header(input, node, 'vLLM-Ascend'),
    ...sourceCann(),
    '',
    ...exportAgain(renderEnv(input, node)),
    "# HCCL, gloo and TP choose their NIC by name, which differs between servers: find the one carrying this node's address.",
    `node_ip=${nodeIp}`,
    'ifname=$(ip -o -4 addr show 2>/dev/null | awk -v ip="$node_ip" \'{ split($4, a, "/"); if (a[1] == ip) { print $2; exit } }\')',
    'if [ -z "$ifname" ]; then',
    '  # Images without iproute2: vLLM depends on psutil.',
    '  ifname=$(python3 -c \'import sys, psutil; print(next((n for n, addrs in psutil.net_if_addrs().items() for a in addrs if a.address == sys.argv[1]), ""))\' "$node_ip" 2>/dev/null)',
    'fi',
    'if [ -z "$ifname" ]; then',
    `  echo "ascendctl: no network interface carries $node_ip on node ${node.name}" >&2`,
    '  exit 1',
    'fi',
    'export GLOO_SOCKET_IFNAME="${GLOO_SOCKET_IFNAME:-$ifname}"',
    'export TP_SOCKET_IFNAME="${TP_SOCKET_IFNAME:-$ifname}"',
    'export HCCL_SOCKET_IFNAME="${HCCL_SOCKET_IFNAME:-$ifname}"',
    '',
    ...enterWorkDir(d.name),
    `echo "ascendctl: starting vllm serve on node ${node.name} (DP ranks ${layout.startRank}–${layout.startRank + layout.dpLocal - 1}${node.index === 0 ? ', API' : ', headless'})"`,
    `exec ${commandText(args)}`,
    '',
  ];
  return lines.join('\n');
}
