/**
 * Which endpoint and model `chat` and `bench` talk to: `--endpoint`/`--model` when given (either works
 * without a recorded deployment), else the deployment's record (`deploy` writes the endpoint it
 * proved), else the deployment file's model.name, else — for a bare --endpoint — the one model the
 * endpoint lists. No inventory is needed: nothing here touches a node.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Context } from '../context.js';
import { ClusterError, InputError } from '../errors.js';
import { lastDeploymentName, readRecord, type DeploymentRecord } from '../deploy/record.js';
import { loadDeployment, type LoadedDeployment } from '../config/deployment.js';
import type { ResolvedNode } from '../config/inventory.js';
import { chatCompletionsUrl, ModelListRefused, servedModels } from './chat-client.js';

export interface ChatTarget {
  endpoint: string;
  model: string;
}

/** A target, and what reaching it holds open (an SSH tunnel when the master is behind a jump host). */
export interface ResolvedChatTarget {
  target: ChatTarget;
  /** Set when `target.endpoint` is the local end of an SSH tunnel to the master. */
  tunnel?: {
    /** The master's own endpoint, as the user knows it. */
    endpoint: string;
    /** "through node1's SSH connection (jump host …)" */
    via: string;
    /** Why the last tunnelled connection could not be opened. */
    lastError(): Error | undefined;
  };
  release(): Promise<void>;
}

/** "http://10.0.0.1:1025 through node1's SSH connection (…)" for a tunnel, else the endpoint itself. */
export function shownEndpoint(opened: ResolvedChatTarget): string {
  return opened.tunnel ? `${opened.tunnel.endpoint} ${opened.tunnel.via}` : opened.target.endpoint;
}

/**
 * resolveChatTarget, plus the SSH tunnel a recorded deployment behind a jump host needs (deploy
 * recorded `tunnel: true`; the inventory it names says how to reach the master). An explicit
 * --endpoint is used as given.
 */
export async function openChatTarget(
  ctx: Context,
  deploymentArg: string | undefined,
  flags: { endpoint?: string | undefined; model?: string | undefined },
  command: 'chat' | 'bench',
): Promise<ResolvedChatTarget> {
  const { target, record, master: fileMaster } = await resolve(ctx, deploymentArg, flags, command);
  if (flags.endpoint !== undefined || (!record?.tunnel && !fileMaster)) return { target, release: async () => undefined };

  const [{ loadInventory }, pool, { httpRoute }] = await Promise.all([
    import('../config/inventory.js'),
    ctx.pool(),
    import('../remote/http-tunnel.js'),
  ]);
  let master = fileMaster;
  if (!master && record) {
    const inventory = await loadInventory(record.inventoryFile, { env: ctx.env, home: ctx.home, cwd: ctx.cwd });
    const masterName = record.nodes.find((n) => n.role === 'master')?.name;
    master = inventory.allNodes.find((n) => n.name === masterName);
    if (!master) {
      throw new InputError(`${record.inventoryFile}: the master of ${record.name} (${masterName ?? '?'}) is no longer in the inventory, so its endpoint cannot be tunnelled to`, {
        hint: `put ${masterName ?? 'the master'} back in the inventory, or pass --endpoint URL --model ${record.model}`,
      });
    }
  }
  if (!master) return { target, release: async () => undefined };
  const route = await httpRoute(pool.transport(master), [target.endpoint]);
  return {
    target: { ...target, endpoint: route.url(target.endpoint) },
    ...(route.via ? { tunnel: { endpoint: target.endpoint, via: route.via, lastError: () => route.lastError() } } : {}),
    release: async () => {
      // The SSH connection itself is the run's: the context closes it when the run ends.
      await route.close();
    },
  };
}

/**
 * Run `use` with the target, then let go of whatever reaching it held open; errors of a tunnelled
 * request say what the tunnel saw.
 */
export async function withChatTarget<T>(
  ctx: Context,
  deploymentArg: string | undefined,
  flags: { endpoint?: string | undefined; model?: string | undefined },
  command: 'chat' | 'bench',
  use: (opened: ResolvedChatTarget) => Promise<T>,
): Promise<T> {
  const opened = await openChatTarget(ctx, deploymentArg, flags, command);
  try {
    return await use(opened);
  } catch (err) {
    throw withTunnelError(err, opened);
  } finally {
    await opened.release();
  }
}

/**
 * An error of a tunnelled request, with what the tunnel said: "other side closed" alone does not tell
 * that the SSH connection to the master (or its forwarding) is what failed.
 */
export function withTunnelError(err: unknown, opened: ResolvedChatTarget): unknown {
  if (!opened.tunnel || !(err instanceof ClusterError)) return err;
  // Messages name the local end of the tunnel; the user knows the master's address.
  const real = opened.tunnel.endpoint;
  const named = (text: string): string => text.split(opened.target.endpoint).join(real);
  const tunnel = opened.tunnel.lastError();
  return new ClusterError(`${named(err.message)}${tunnel ? ` (the SSH tunnel to the master said: ${tunnel.message})` : ''}`, {
    hint: (tunnel as { hint?: string } | undefined)?.hint ?? (err.hint !== undefined ? named(err.hint) : 'ascendctl status'),
    cause: err,
  });
}

async function resolve(
  ctx: Context,
  deploymentArg: string | undefined,
  flags: { endpoint?: string | undefined; model?: string | undefined },
  command: 'chat' | 'bench',
): Promise<{ target: ChatTarget; record?: DeploymentRecord; master?: ResolvedNode }> {
  // A bad --endpoint is bad input (exit 2), whatever else is given.
  if (flags.endpoint !== undefined) chatCompletionsUrl(flags.endpoint);
  if (flags.endpoint !== undefined && flags.model !== undefined) return { target: { endpoint: flags.endpoint, model: flags.model } };

  let record: DeploymentRecord | undefined;
  let modelFromFile: string | undefined;
  let fromFile: { endpoint: string; master: ResolvedNode } | undefined;
  if (deploymentArg !== undefined) {
    if (looksLikeFile(ctx, deploymentArg)) {
      const loaded = await loadDeployment(deploymentArg, { env: ctx.env, home: ctx.home, cwd: ctx.cwd });
      modelFromFile = loaded.deployment.model.name;
      record = await readRecord(ctx.cwd, loaded.deployment.name);
      // Deployed from elsewhere (or by hand): the file and its inventory say where the master answers.
      if (!record && flags.endpoint === undefined) fromFile = await endpointFromFile(ctx, loaded);
    } else {
      record = await readRecord(ctx.cwd, deploymentArg);
      if (!record) {
        throw new InputError(`${deploymentArg}: no such deployment file, and no deployment of that name was started from ${ctx.cwd}`, {
          hint: `pass the deployment file, or --endpoint URL --model NAME: ascendctl ${command} --endpoint http://10.0.0.1:1025 --model deepseek-r1`,
        });
      }
    }
  } else {
    const last = await lastDeploymentName(ctx.cwd);
    if (last !== undefined) record = await readRecord(ctx.cwd, last);
  }

  const endpoint = flags.endpoint ?? record?.endpoint ?? fromFile?.endpoint;
  if (endpoint === undefined) {
    throw new InputError(
      deploymentArg === undefined
        ? `no endpoint: no deployment was started from ${ctx.cwd}`
        : `no endpoint: ${deploymentArg} has not been deployed from ${ctx.cwd}`,
      { hint: `run ascendctl deploy first, or pass --endpoint URL: ascendctl ${command} --endpoint http://10.0.0.1:1025` },
    );
  }
  let model = flags.model ?? record?.model ?? modelFromFile;
  if (model === undefined) {
    let served: string[];
    try {
      served = await servedModels({ endpoint });
    } catch (err) {
      // mindie-multinode.md §8: a multi-node master answers 404 there; the model name has to be given.
      if (err instanceof ModelListRefused) {
        throw new InputError(`${endpoint} does not list its models (${err.message}; a multi-node MindIE master answers 404 there), so the model to ask for is unknown`, {
          hint: `pass --model NAME (the deployment's model.name), or the deployment file: ascendctl chat deepseek-r1.yaml`,
        });
      }
      throw new ClusterError(`could not ask ${endpoint} which model it serves: ${(err as Error).message}`, {
        hint: 'pass --model NAME; ascendctl status shows whether the deployment is running',
      });
    }
    model = served[0];
    if (model === undefined) {
      throw new InputError(`${endpoint} lists no model; say which one to use`, { hint: `pass --model NAME (the deployment's model.name)` });
    }
  }
  return { target: { endpoint, model }, ...(record ? { record } : {}), ...(fromFile ? { master: fromFile.master } : {}) };
}

/** The master's endpoint as deploy would record it: from the deployment file and its inventory. */
async function endpointFromFile(ctx: Context, loaded: LoadedDeployment): Promise<{ endpoint: string; master: ResolvedNode }> {
  const [{ loadInventory, resolveInventoryPath }, { nodeAddress, probeTarget }] = await Promise.all([
    import('../config/inventory.js'), import('../deploy/plan.js'),
  ]);
  const where = resolveInventoryPath({
    deploymentInventory: loaded.deployment.inventory, deploymentDir: loaded.dir, env: ctx.env, cwd: ctx.cwd, home: ctx.home,
  });
  const inventory = await loadInventory(where.path, { env: ctx.env, home: ctx.home, cwd: ctx.cwd });
  const master = inventory.master;
  return { endpoint: probeTarget(loaded.deployment, await nodeAddress(master)).endpoint, master };
}

function looksLikeFile(ctx: Context, arg: string): boolean {
  return /\.ya?ml$/i.test(arg) || arg.includes('/') || existsSync(path.resolve(ctx.cwd, arg));
}
