/**
 * lock: one deploy of a name at a time, as a directory `mkdir` creates atomically on the master
 * (`<dir>/deploy.lock`, with an `owner` file saying who holds it). What is running, the preflight's
 * view of the ports and the unchanged/replace decision are only true while it is held, so it is taken
 * first. It is released whether the deploy succeeds or fails (releaseLock, from the caller's `finally`).
 */
import { hostname } from 'node:os';
import { posix } from 'node:path';
import { ClusterError } from '../../errors.js';
import { sshCommand } from '../../remote/endpoint.js';
import type { Transport } from '../../remote/transport.js';
import { firstLine, type DeployEnv } from './env.js';
import type { Step } from './runner.js';

export const LOCK = 'deploy.lock';

export interface LockInput {
  /** The master's transport, connected. */
  master: Transport;
}

export interface LockHeld {
  /** This deploy created the deployment's directory (a first deploy). */
  createdDir: boolean;
}

export function lockStep(env: Pick<DeployEnv, 'dep' | 'master' | 'dir' | 'rep' | 'now'>): Step<LockInput, LockHeld> {
  const { dep, master, dir, rep } = env;
  return {
    name: 'lock',
    async run({ master: t }) {
      rep.step(`locking ${dep.name} on ${master.name}`);
      await t.exec(['mkdir', '-p', posix.dirname(dir)], { timeoutMs: 10_000 });
      const created = (await t.exec(['mkdir', '-m', '750', dir], { timeoutMs: 10_000 })).code === 0;
      const r = await t.exec(['mkdir', '-m', '750', `${dir}/${LOCK}`], { timeoutMs: 10_000 });
      if (r.code !== 0) {
        const held = await t.exec(['test', '-d', `${dir}/${LOCK}`], { timeoutMs: 10_000 });
        if (held.code !== 0) {
          throw new ClusterError(`${master.name}: cannot create ${dir}/${LOCK}: ${firstLine(r.stderr || r.stdout)}`, {
            hint: `ascendctl keeps each deployment's files under ${posix.dirname(dir)}/ on every node: make it writable for the SSH user`,
          });
        }
        const owner = await t.exec(['cat', `${dir}/${LOCK}/owner`], { timeoutMs: 10_000 });
        const who = owner.code === 0 ? owner.stdout.trim() : 'unknown';
        throw new ClusterError(`another deploy of ${dep.name} holds the lock on ${master.name} (${who})`, {
          hint: `wait for it to finish; if it died, remove the lock: ${sshCommand(master)} rm -rf ${dir}/${LOCK}`,
        });
      }
      const me = `${process.env.USER ?? 'someone'}@${hostname()} pid ${process.pid} since ${new Date(env.now()).toISOString()}`;
      await t.upload(`${dir}/${LOCK}/owner`, `${me}\n`, { mode: 0o640 });
      return { createdDir: created };
    },
  };
}

/**
 * Releases the lock. A first deploy that stopped before changing anything leaves no trace: the
 * directory it created holds nothing but the lock. Otherwise the rendered files stay for debugging
 * and only the lock goes. Never throws (the deploy's own outcome is what the user needs to read).
 */
export async function releaseLock(t: Transport, dir: string, held: LockHeld, changed: boolean): Promise<void> {
  const release = held.createdDir && !changed ? dir : `${dir}/${LOCK}`;
  await t.exec(['rm', '-rf', release], { timeoutMs: 10_000 }).catch(() => undefined);
}
