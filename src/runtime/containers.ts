/**
 * What deploy, status and stop ask of a node's container runtime over a Transport: a container's
 * state, stopping and removing it, its last lines. The argv comes from ./runtime.ts.
 */
import type { Transport } from '../remote/transport.js';
import { parseContainerState, runtimeFor, type ContainerState } from './runtime.js';

/** The container's state, or undefined when there is no such container. */
export async function containerState(
  t: Transport, rt: string, name: string, signal?: AbortSignal,
): Promise<ContainerState | undefined | { error: string }> {
  const r = await t.exec(runtimeFor(rt).state(name), { timeoutMs: 20_000, ...(signal ? { signal } : {}) });
  if (r.code !== 0) {
    if (/no such (object|container)/i.test(r.stderr + r.stdout)) return undefined;
    return { error: (r.stderr.trim().split('\n')[0] ?? '') || `exit status ${r.code}` };
  }
  return parseContainerState(r.stdout) ?? { error: `unexpected output from ${rt} inspect: ${r.stdout.trim().slice(0, 80)}` };
}

const NO_SUCH_CONTAINER = /no such container/i;

/**
 * Stop a container and remove it; an absent one is not an error. `-t 30`: MindIE needs about 15 s
 * after SIGTERM ("Daemon is killing, please wait about 15 seconds..."), docker's default 10 s would
 * kill it mid-way. Throws with the runtime's own message when either step fails otherwise.
 */
export async function stopAndRemove(t: Transport, rt: string, name: string): Promise<void> {
  const runtime = runtimeFor(rt);
  for (const argv of [runtime.stop(name, 30), runtime.remove(name)]) {
    const r = await t.exec(argv, { timeoutMs: 90_000 });
    if (r.code !== 0 && !NO_SUCH_CONTAINER.test(r.stderr)) {
      throw new Error(r.stderr.trim().split('\n')[0] || `${argv.slice(0, 2).join(' ')} exited ${r.code}`);
    }
  }
}

/** The last lines a container printed (stdout and stderr). */
export async function containerTail(t: Transport, rt: string, name: string, lines = 30): Promise<string[]> {
  try {
    const r = await t.exec(runtimeFor(rt).logsTail(name, lines), { timeoutMs: 20_000 });
    return `${r.stdout}${r.stderr}`.split('\n').filter((l) => l.trim() !== '').slice(-lines);
  } catch {
    return [];
  }
}
