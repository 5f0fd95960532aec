/**
 * Loading what a command acts on: the deployment (a file, a recorded name, or the last one deployed
 * from this directory) and the inventory, in the contract's order. All checks that need no node run
 * here, before any connection: a bad file exits 2 and nothing on the servers is touched.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Context } from '../context.js';
import { InputError } from '../errors.js';
import { checkDeploymentAgainstInventory, devicesPerNodeFor, loadDeployment, type LoadedDeployment } from '../config/deployment.js';
import { loadInventory, resolveInventoryPath, type Inventory } from '../config/inventory.js';
import { readRecord, lastDeploymentName, type DeploymentRecord } from '../deploy/record.js';

export interface Loaded {
  deployment?: LoadedDeployment;
  inventory: Inventory;
  record?: DeploymentRecord;
}

export interface LoadOptions {
  /** DEPLOYMENT argument: a file, or a recorded deployment name. */
  deployment?: string | undefined;
  inventoryFlag?: string | undefined;
  nodeFilter?: string[] | undefined;
  /** status/logs/chat/stop: fall back to the last deployment started from this directory. */
  useLast?: boolean;
}

export async function loadTargets(ctx: Context, opts: LoadOptions): Promise<Loaded> {
  let record: DeploymentRecord | undefined;
  let deploymentFile = opts.deployment;
  if (deploymentFile !== undefined && !looksLikeFile(ctx, deploymentFile)) {
    record = await readRecord(ctx.cwd, deploymentFile);
    if (!record) {
      throw new InputError(`${deploymentFile}: no such deployment file, and no deployment of that name was started from ${ctx.cwd}`,
        { hint: 'pass the deployment file (e.g. deepseek-r1.yaml), or run the command from the directory you deployed from' });
    }
    deploymentFile = record.deploymentFile;
  } else if (deploymentFile === undefined && opts.useLast) {
    const last = await lastDeploymentName(ctx.cwd);
    if (!last) {
      throw new InputError(`no deployment given, and none was deployed from ${ctx.cwd}`,
        { hint: 'pass the deployment file or name: ascendctl <command> deepseek-r1.yaml' });
    }
    record = await readRecord(ctx.cwd, last);
    deploymentFile = record?.deploymentFile;
  }

  let deployment: LoadedDeployment | undefined;
  if (deploymentFile !== undefined) {
    deployment = await loadDeployment(deploymentFile, { env: ctx.env, home: ctx.home, cwd: ctx.cwd });
    if (!record) record = await readRecord(ctx.cwd, deployment.deployment.name);
  }
  const inventoryPath = resolveInventoryPath({
    flag: opts.inventoryFlag,
    deploymentInventory: deployment?.deployment.inventory,
    deploymentDir: deployment?.dir,
    recorded: record?.inventoryFile,
    env: ctx.env,
    cwd: ctx.cwd,
    home: ctx.home,
  });
  const inventory = await loadInventory(inventoryPath.path, {
    env: ctx.env,
    home: ctx.home,
    cwd: ctx.cwd,
    ...(opts.nodeFilter ? { nodeFilter: opts.nodeFilter } : {}),
  });
  // npusPerNode left out: an A3 deployment (16 dies per node) sets it; preflight checks the nodes agree.
  if (deployment) inventory.npusPerNode = devicesPerNodeFor(deployment.deployment, inventory);
  if (deployment) checkDeploymentAgainstInventory(deployment, inventory);
  const out: Loaded = { inventory };
  if (deployment) out.deployment = deployment;
  if (record) out.record = record;
  return out;
}

function looksLikeFile(ctx: Context, arg: string): boolean {
  return /\.ya?ml$/i.test(arg) || arg.includes('/') || existsSync(path.resolve(ctx.cwd, arg));
}

/** Parse a positive integer flag; exit 2 naming the flag otherwise. */
export function intFlag(value: unknown, flag: string, min = 1): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) {
    throw new InputError(`${flag} ${String(value)}: expected a whole number ≥ ${min}`, { hint: `write it like ${flag} ${Math.max(min, 4)}` });
  }
  return n;
}
