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
import { loadDeployment } from '../config/deployment.js';
import { servedModels } from './chat-client.js';

export interface ChatTarget {
  endpoint: string;
  model: string;
}

export async function resolveChatTarget(
  ctx: Context,
  deploymentArg: string | undefined,
  flags: { endpoint?: string | undefined; model?: string | undefined },
  command: 'chat' | 'bench',
): Promise<ChatTarget> {
  if (flags.endpoint !== undefined && flags.model !== undefined) return { endpoint: flags.endpoint, model: flags.model };

  let record: DeploymentRecord | undefined;
  let modelFromFile: string | undefined;
  if (deploymentArg !== undefined) {
    if (looksLikeFile(ctx, deploymentArg)) {
      const loaded = await loadDeployment(deploymentArg, { env: ctx.env, home: ctx.home, cwd: ctx.cwd });
      modelFromFile = loaded.deployment.model.name;
      record = await readRecord(ctx.cwd, loaded.deployment.name);
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

  const endpoint = flags.endpoint ?? record?.endpoint;
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
      throw new ClusterError(`could not ask ${endpoint} which model it serves: ${(err as Error).message}`, {
        hint: 'pass --model NAME; ascendctl status shows whether the deployment is running',
      });
    }
    model = served[0];
    if (model === undefined) {
      throw new InputError(`${endpoint} lists no model; say which one to use`, { hint: `pass --model NAME (the deployment's model.name)` });
    }
  }
  return { endpoint, model };
}

function looksLikeFile(ctx: Context, arg: string): boolean {
  return /\.ya?ml$/i.test(arg) || arg.includes('/') || existsSync(path.resolve(ctx.cwd, arg));
}
