import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A block of loopback addresses 127.0.<block>.1 … 127.0.<block>.N reserved for one test cluster.
 * Vitest runs test files in parallel worker processes: two clusters on the same addresses and port
 * would steal each other's connections, so each cluster takes a block under a lock file.
 */
export interface AddressBlock {
  block: number;
  hosts: string[];
  release(): void;
}

const LOCK_DIR = join(tmpdir(), 'ascendctl-sshd-cluster-locks');

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function tryLock(path: string): boolean {
  try {
    writeFileSync(path, String(process.pid), { flag: 'wx' });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  // A lock left by a killed test process (SIGKILL skips every exit handler) is taken over.
  const owner = Number.parseInt(readFileSync(path, 'utf8'), 10);
  if (Number.isInteger(owner) && owner > 0 && processAlive(owner)) return false;
  rmSync(path, { force: true });
  try {
    writeFileSync(path, String(process.pid), { flag: 'wx' });
    return true;
  } catch {
    return false;
  }
}

/** Resolves true when something already accepts connections on host:port. */
export function portAnswers(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (answer: boolean): void => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Reserves the first free block, preferring 127.0.1.x (the addresses the docs use). */
export async function reserveAddressBlock(count: number, port: number): Promise<AddressBlock> {
  if (count < 1 || count > 254) throw new Error(`a cluster has 1–254 nodes, not ${count}`);
  mkdirSync(LOCK_DIR, { recursive: true });
  for (let block = 1; block <= 254; block++) {
    const lockPath = join(LOCK_DIR, `127.0.${block}.x-${port}.lock`);
    if (!tryLock(lockPath)) continue;
    const hosts = Array.from({ length: count }, (_, i) => `127.0.${block}.${i + 1}`);
    const busy = await Promise.all(hosts.map((h) => portAnswers(h, port, 500)));
    if (busy.some(Boolean)) {
      // Taken by something outside our lock discipline (a stray sshd): every worker probes and skips it.
      rmSync(lockPath, { force: true });
      continue;
    }
    return { block, hosts, release: () => rmSync(lockPath, { force: true }) };
  }
  throw new Error(`no free block of ${count} loopback addresses on port ${port} (lock dir ${LOCK_DIR})`);
}
