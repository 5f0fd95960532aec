import { baseMindieConfig } from './config-template.js';
import { checkRenderInput } from './input-check.js';
import {
  deepMerge,
  formatPath,
  getAt,
  isJsonObject,
  setAt,
  toJsonValue,
  type JsonObject,
  type JsonPath,
  type JsonValue,
} from './json-value.js';
import { limitsProblem, resolveLimits, type ResolvedLimits } from './limits.js';
import { RenderError } from './render-error.js';
import type { RenderInput, RenderNode } from './render-input.js';

const SERVER = ['ServerConfig'] as const;
const BACKEND = ['BackendConfig'] as const;
const DEPLOY = ['BackendConfig', 'ModelDeployConfig'] as const;
const MODEL = ['BackendConfig', 'ModelDeployConfig', 'ModelConfig', 0] as const;
const SCHEDULE = ['BackendConfig', 'ScheduleConfig'] as const;

/** Where each limit lives in config.json. */
const LIMIT_PATHS: Record<keyof ResolvedLimits, JsonPath> = {
  maxSeqLen: [...DEPLOY, 'maxSeqLen'],
  maxInputTokenLen: [...DEPLOY, 'maxInputTokenLen'],
  maxPrefillTokens: [...SCHEDULE, 'maxPrefillTokens'],
  maxIterTimes: [...SCHEDULE, 'maxIterTimes'],
  maxBatchSize: [...SCHEDULE, 'maxBatchSize'],
  maxPrefillBatchSize: [...SCHEDULE, 'maxPrefillBatchSize'],
};

// mindie-multinode.md §2.2: letters, digits, - . _; not starting/ending with - . _; ≤ 256 characters.
const MODEL_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,254}[A-Za-z0-9])?$/;

function checkModelAndPorts(input: RenderInput): void {
  const { model, ports } = input.deployment;
  if (!MODEL_NAME.test(model.name)) {
    throw new RenderError(`model.name "${model.name}" is not a name MindIE accepts (letters, digits, -, . and _, not at either end, at most 256 characters)`, {
      path: 'model.name',
      hint: 'choose a model name such as deepseek-r1',
    });
  }
  if (!model.path.startsWith('/')) {
    throw new RenderError(`model.path "${model.path}" is not an absolute path`, { path: 'model.path', hint: 'give the weights directory as an absolute path, the same on every node' });
  }
  for (const [key, port] of Object.entries(ports)) {
    if (!Number.isInteger(port) || port < 1024 || port > 65535) {
      throw new RenderError(`ports.${key} is ${port}; MindIE accepts 1024–65535`, { path: `ports.${key}`, hint: 'pick a free port in 1024–65535' });
    }
  }
  if ([ports.http, ports.management, ports.metrics].includes(ports.multiNodesInfer)) {
    throw new RenderError(`ports.multiNodesInfer (${ports.multiNodesInfer}) must differ from the HTTP ports`, {
      path: 'ports.multiNodesInfer',
      hint: 'use a separate port for master↔slave traffic (default 1120)',
    });
  }
}

/** One field a multi-node deploy cannot do without, with what it must be after the user's merge. */
interface Guard {
  path: JsonPath;
  expected: JsonValue;
  why: string;
  /** Deployment-file key to use instead of mindieConfig. */
  instead?: string;
}

function guards(input: RenderInput, node: RenderNode): Guard[] {
  const { deployment: d } = input;
  const tls = 'ascendctl installs no certificates, and every node must agree';
  return [
    { path: ['Version'], expected: '1.0.0', why: 'MindIE accepts only this version' },
    input.nodes.length > 1
      ? { path: [...BACKEND, 'multiNodesInferEnabled'], expected: true, why: 'it is the only switch for multi-node serving' }
      : { path: [...BACKEND, 'multiNodesInferEnabled'], expected: false, why: 'one server is served in single-node mode, without a rank table' },
    { path: [...SERVER, 'httpsEnabled'], expected: false, why: tls },
    { path: [...SERVER, 'interCommTLSEnabled'], expected: false, why: tls },
    { path: [...BACKEND, 'interNodeTLSEnabled'], expected: false, why: tls },
    { path: [...SERVER, 'ipAddress'], expected: node.host, why: `it must be node ${node.name}'s own address (= MIES_CONTAINER_IP and container_ip)`, instead: 'the inventory' },
    { path: [...SERVER, 'managementIpAddress'], expected: node.host, why: `health checks reach node ${node.name} there`, instead: 'the inventory' },
    { path: [...SERVER, 'port'], expected: d.ports.http, why: 'ascendctl probes and serves through it', instead: 'ports.http' },
    { path: [...SERVER, 'managementPort'], expected: d.ports.management, why: 'ascendctl probes health through it', instead: 'ports.management' },
    { path: [...SERVER, 'metricsPort'], expected: d.ports.metrics, why: 'preflight checks the configured ports', instead: 'ports.metrics' },
    { path: [...BACKEND, 'multiNodesInferPort'], expected: d.ports.multiNodesInfer, why: 'it must be the same on every node and open between them', instead: 'ports.multiNodesInfer' },
    { path: [...BACKEND, 'modelInstanceNumber'], expected: 1, why: 'MindIE requires 1' },
    { path: [...MODEL, 'modelName'], expected: d.model.name, why: 'clients must send exactly this name', instead: 'model.name' },
    { path: [...MODEL, 'modelWeightPath'], expected: d.model.path, why: 'preflight checks this path on every node', instead: 'model.path' },
    { path: [...MODEL, 'dp'], expected: d.parallel.dataParallelSize, why: 'MindIE 2.2 aborts without dp and the sizes were validated together', instead: 'parallel.dataParallelSize' },
    { path: [...MODEL, 'tp'], expected: d.parallel.tensorParallelSize, why: 'the parallel sizes were validated together', instead: 'parallel.tensorParallelSize' },
    { path: [...MODEL, 'moe_tp'], expected: d.parallel.moeTensorParallelSize, why: 'the parallel sizes were validated together', instead: 'parallel.moeTensorParallelSize' },
    { path: [...MODEL, 'moe_ep'], expected: d.parallel.moeExpertParallelSize, why: 'the parallel sizes were validated together', instead: 'parallel.moeExpertParallelSize' },
  ];
}

/**
 * The part of the user's mindieConfig that decided the value at `path`: the full path when the user set
 * that key, a shorter one when the user replaced an enclosing array or scalar, undefined when untouched.
 */
function userPathFor(user: JsonObject, path: JsonPath): JsonPath | undefined {
  let cur: JsonValue = user;
  for (let i = 0; i < path.length; i++) {
    const step = path[i];
    if (typeof step === 'number') return path.slice(0, i); // arrays from the user replace whole
    if (!isJsonObject(cur) || !Object.hasOwn(cur, step as string)) return undefined;
    cur = cur[step as string] as JsonValue;
    if (!isJsonObject(cur) && i < path.length - 1) return path.slice(0, i + 1);
  }
  return path;
}

function show(v: JsonValue | undefined): string {
  return v === undefined ? 'missing' : JSON.stringify(v);
}

function checkGuards(config: JsonObject, user: JsonObject, input: RenderInput, node: RenderNode): void {
  for (const guard of guards(input, node)) {
    const actual = getAt(config, guard.path);
    if (actual === guard.expected) continue;
    const field = formatPath(guard.path);
    const by = userPathFor(user, guard.path);
    const source = by === undefined ? undefined : `mindieConfig.${formatPath(by)}`;
    const replaced = by !== undefined && by.length < guard.path.length;
    const replacedValue = by === undefined ? undefined : getAt(user, by);
    const replacement = Array.isArray(replacedValue) ? 'the whole list (lists are not merged)' : `the whole section with ${show(replacedValue)}`;
    const message =
      source === undefined
        ? `node ${node.name}: config.json ${field} is ${show(actual)}; expected ${show(guard.expected)} (${guard.why})`
        : replaced
          ? `${source} replaces ${replacement}, which leaves ${field} ${show(actual)}; expected ${show(guard.expected)} (${guard.why})`
          : `${source} sets ${field} to ${show(actual)}; multi-node serving needs ${show(guard.expected)} (${guard.why})`;
    const key = String(guard.path[guard.path.length - 1]);
    const hint =
      source === undefined
        ? 'this is a bug in ascendctl: report it with the deployment file'
        : replaced && Array.isArray(replacedValue)
          ? `include "${key}": ${show(guard.expected)} in that list${guard.instead === undefined ? '' : ` (it comes from ${guard.instead})`}, or leave the list out of mindieConfig`
          : `remove ${source}${guard.instead === undefined ? '' : ` and set ${guard.instead} in the deployment file instead`}`;
    throw new RenderError(message, { node: node.name, path: source ?? field, hint });
  }
}

function checkMergedLimits(config: JsonObject, user: JsonObject, node: RenderNode): void {
  const read = {} as ResolvedLimits;
  for (const [key, path] of Object.entries(LIMIT_PATHS) as [keyof ResolvedLimits, JsonPath][]) {
    const value = getAt(config, path);
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
      const by = userPathFor(user, path);
      const where = by === undefined ? formatPath(path) : `mindieConfig.${formatPath(by)}`;
      throw new RenderError(`${where} leaves ${formatPath(path)} ${show(value)}; expected a whole number ≥ 1`, {
        node: node.name,
        path: where,
        hint: `set limits.${key} in the deployment file instead`,
      });
    }
    read[key] = value;
  }
  const problem = limitsProblem(read);
  if (problem === undefined) return;
  const sources = problem.keys.map((k) => {
    const by = userPathFor(user, LIMIT_PATHS[k]);
    return by === undefined ? `limits.${k}` : `mindieConfig.${formatPath(by)}`;
  });
  const blamed = sources.find((s) => s.startsWith('mindieConfig.')) ?? sources[0];
  throw new RenderError(`${problem.message} (from ${sources.join(' and ')})`, {
    node: node.name,
    path: blamed,
    hint: 'set the limits in the deployment file (limits:) rather than in mindieConfig, and keep them consistent',
  });
}

/** `truncation` written as a number by the user becomes the boolean older releases insist on. */
function normaliseTruncation(config: JsonObject, user: JsonObject, node: RenderNode): void {
  const path = [...DEPLOY, 'truncation'];
  const value = getAt(config, path);
  if (typeof value === 'boolean') return;
  if (value === 0 || value === -1) {
    setAt(config, path, value === -1);
    return;
  }
  const by = userPathFor(user, path);
  const where = by === undefined ? formatPath(path) : `mindieConfig.${formatPath(by)}`;
  throw new RenderError(`${where} is ${show(value)}; write truncation as true (cut over-long input) or false (refuse it)`, {
    node: node.name,
    path: where,
    hint: 'older MindIE releases accept only the boolean form; left-side truncation (1) is not supported by ascendctl',
  });
}

/** MindIE reads plugin_params as a JSON string inside the JSON; accept a map from YAML and encode it. */
function encodePluginParams(config: JsonObject): void {
  const path = [...MODEL, 'plugin_params'];
  const value = getAt(config, path);
  if (isJsonObject(value)) setAt(config, path, JSON.stringify(value));
}

/**
 * config.json for one node as an object: the 2.1 defaults, then every multi-node field of
 * mindie-multinode.md §2.3 ("ascendctl" column), then the user's mindieConfig merged last (objects
 * merge, arrays replace), then a guard that the merge did not break multi-node serving.
 */
export function buildMindieConfig(input: RenderInput, node: RenderNode): JsonObject {
  checkRenderInput(input);
  checkModelAndPorts(input);
  const { deployment: d, npusPerNode } = input;
  const limits = resolveLimits(d.limits);
  const user = toJsonValue(d.mindieConfig, 'mindieConfig');
  if (!isJsonObject(user)) {
    throw new RenderError('mindieConfig is not a map', { path: 'mindieConfig', hint: 'write mindieConfig as a map of config.json sections, or {}' });
  }

  const config = baseMindieConfig();
  const set = (path: JsonPath, value: JsonValue): void => setAt(config, path, value);
  set([...SERVER, 'ipAddress'], node.host);
  set([...SERVER, 'managementIpAddress'], node.host);
  set([...SERVER, 'port'], d.ports.http);
  set([...SERVER, 'managementPort'], d.ports.management);
  set([...SERVER, 'metricsPort'], d.ports.metrics);
  set([...SERVER, 'allowAllZeroIpListening'], false);
  set([...SERVER, 'maxLinkNum'], 300);
  set([...SERVER, 'httpsEnabled'], false);
  set([...SERVER, 'interCommTLSEnabled'], false);
  // Reasoning answers run long: the A2 dual-machine script's maxima.
  set([...SERVER, 'tokenTimeout'], 3600);
  set([...SERVER, 'e2eTimeout'], 65535);
  set([...BACKEND, 'npuDeviceIds'], [Array.from({ length: npusPerNode }, (_, i) => i)]);
  // One server: MindIE's single-node configuration (no rank table; issue #10).
  set([...BACKEND, 'multiNodesInferEnabled'], input.nodes.length > 1);
  set([...BACKEND, 'multiNodesInferPort'], d.ports.multiNodesInfer);
  set([...BACKEND, 'interNodeTLSEnabled'], false);
  set([...DEPLOY, 'truncation'], false);
  for (const [key, path] of Object.entries(LIMIT_PATHS) as [keyof ResolvedLimits, JsonPath][]) set(path, limits[key]);
  set([...MODEL, 'modelName'], d.model.name);
  set([...MODEL, 'modelWeightPath'], d.model.path);
  set([...MODEL, 'worldSize'], npusPerNode);
  set([...MODEL, 'dp'], d.parallel.dataParallelSize);
  set([...MODEL, 'tp'], d.parallel.tensorParallelSize);
  set([...MODEL, 'moe_tp'], d.parallel.moeTensorParallelSize);
  set([...MODEL, 'moe_ep'], d.parallel.moeExpertParallelSize);

  const merged = deepMerge(config, user);
  normaliseTruncation(merged, user, node);
  encodePluginParams(merged);
  checkGuards(merged, user, input, node);
  checkMergedLimits(merged, user, node);
  return merged;
}

/** config.json text for one node: 2-space indent, trailing newline. */
export function renderMindieConfig(input: RenderInput, node: RenderNode): string {
  return `${JSON.stringify(buildMindieConfig(input, node), null, 2)}\n`;
}
