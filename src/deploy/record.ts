/**
 * What deploy remembers locally, so that status, logs, chat and stop work without arguments from the
 * directory a deployment was started from (contract). One JSON file per deployment under
 * ./.ascendctl/deployments/, plus ./.ascendctl/last naming the most recent one.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';

export interface DeploymentRecord {
  name: string;
  /** Absolute paths, so the record works from any later shell in this directory. */
  deploymentFile: string;
  inventoryFile: string;
  backend: 'mindie' | 'vllm-ascend';
  /** OpenAI-compatible base URL, e.g. http://10.0.0.1:1025 */
  endpoint: string;
  /** Management (health) base URL; MindIE only. */
  managementEndpoint?: string;
  model: string;
  /**
   * The master is reached through a jump host: its HTTP ports are not reachable from here, so status,
   * chat and bench tunnel over its SSH connection (the inventory says how to reach it).
   */
  tunnel?: boolean;
  nodes: { name: string; address: string; role: 'master' | 'worker' }[];
  container: string;
  /** Digest of everything rendered: an unchanged redeploy is a no-op. */
  digest: string;
  deployedAt: string;
}

function dir(cwd: string): string {
  return path.join(cwd, '.ascendctl');
}

async function writeAtomic(file: string, text: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, text, { mode: 0o600 });
  await rename(tmp, file);
}

export async function writeRecord(cwd: string, record: DeploymentRecord): Promise<void> {
  await writeAtomic(path.join(dir(cwd), 'deployments', `${record.name}.json`), `${JSON.stringify(record, null, 2)}\n`);
  await writeAtomic(path.join(dir(cwd), 'last'), `${record.name}\n`);
}

export async function readRecord(cwd: string, name: string): Promise<DeploymentRecord | undefined> {
  if (!/^[A-Za-z0-9_-]+$/.test(name)) return undefined;
  try {
    return JSON.parse(await readFile(path.join(dir(cwd), 'deployments', `${name}.json`), 'utf8')) as DeploymentRecord;
  } catch {
    return undefined;
  }
}

export async function lastDeploymentName(cwd: string): Promise<string | undefined> {
  try {
    const name = (await readFile(path.join(dir(cwd), 'last'), 'utf8')).trim();
    return name === '' ? undefined : name;
  } catch {
    return undefined;
  }
}
