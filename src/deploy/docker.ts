/**
 * Container runtime argv builders and output readers (docker CLI; podman speaks the same). Remote
 * commands are data: these return argv arrays, quoting happens in src/remote/quote.ts only.
 */
import { posix } from 'node:path';
import type { Transport } from '../remote/transport.js';

export interface ContainerState {
  status: string; // created | running | exited | …
  running: boolean;
  exitCode: number;
  startedAt?: string;
  finishedAt?: string;
}

export const docker = {
  version: (rt: string) => [rt, 'version', '--format', '{{.Server.Version}}'],
  /**
   * Plain `version`: what docker and podman both answer (podman without a service has no
   * `.Server` for a --format template). docker exits 1 when its daemon does not answer.
   */
  versionText: (rt: string) => [rt, 'version'],
  imagePresent: (rt: string, image: string) => [rt, 'image', 'inspect', '--format', '{{.Id}}', image],
  pull: (rt: string, image: string) => [rt, 'pull', image],
  load: (rt: string) => [rt, 'load'],
  state: (rt: string, name: string) => [rt, 'inspect', '--format', '{{json .State}}', name],
  remove: (rt: string, name: string) => [rt, 'rm', '-f', name],
  stop: (rt: string, name: string, seconds: number) => [rt, 'stop', '-t', String(seconds), name],
  logsTail: (rt: string, name: string, lines: number) => [rt, 'logs', '--tail', String(lines), name],
};

/** The container's state, or undefined when there is no such container. */
export async function containerState(
  t: Transport, rt: string, name: string, signal?: AbortSignal,
): Promise<ContainerState | undefined | { error: string }> {
  const r = await t.exec(docker.state(rt, name), { timeoutMs: 20_000, ...(signal ? { signal } : {}) });
  if (r.code !== 0) {
    if (/no such (object|container)/i.test(r.stderr + r.stdout)) return undefined;
    return { error: (r.stderr.trim().split('\n')[0] ?? '') || `exit status ${r.code}` };
  }
  try {
    const s = JSON.parse(r.stdout.trim()) as { Status?: string; Running?: boolean; ExitCode?: number; StartedAt?: string; FinishedAt?: string };
    const out: ContainerState = { status: s.Status ?? 'unknown', running: Boolean(s.Running), exitCode: s.ExitCode ?? 0 };
    if (s.StartedAt) out.startedAt = s.StartedAt;
    if (s.FinishedAt) out.finishedAt = s.FinishedAt;
    return out;
  } catch {
    return { error: `unexpected output from ${rt} inspect: ${r.stdout.trim().slice(0, 80)}` };
  }
}

const NO_SUCH_CONTAINER = /no such container/i;

/**
 * Stop a container and remove it; an absent one is not an error. `-t 30`: MindIE needs about 15 s
 * after SIGTERM ("Daemon is killing, please wait about 15 seconds..."), docker's default 10 s would
 * kill it mid-way. Throws with the runtime's own message when either step fails otherwise.
 */
export async function stopAndRemove(t: Transport, rt: string, name: string): Promise<void> {
  for (const argv of [docker.stop(rt, name, 30), docker.remove(rt, name)]) {
    const r = await t.exec(argv, { timeoutMs: 90_000 });
    if (r.code !== 0 && !NO_SUCH_CONTAINER.test(r.stderr)) {
      throw new Error(r.stderr.trim().split('\n')[0] || `${argv.slice(0, 2).join(' ')} exited ${r.code}`);
    }
  }
}

/** The last lines a container printed (stdout and stderr). */
export async function containerTail(t: Transport, rt: string, name: string, lines = 30): Promise<string[]> {
  try {
    const r = await t.exec(docker.logsTail(rt, name, lines), { timeoutMs: 20_000 });
    return `${r.stdout}${r.stderr}`.split('\n').filter((l) => l.trim() !== '').slice(-lines);
  } catch {
    return [];
  }
}

/** Percent of a `docker pull` from its progress lines ("Downloading [==>  ] 12.3MB/1.2GB"). */
export function pullProgress(line: string): string | undefined {
  const m = /^(\w+): (Downloading|Extracting)\s+\[[=> ]*\]\s+([\d.]+\s*[kMG]?B)\/([\d.]+\s*[kMG]?B)/.exec(line.trim());
  if (m) return `${m[2]!.toLowerCase()} layer ${m[1]!.slice(0, 12)} ${m[3]}/${m[4]}`;
  const done = /^(\w+): (Pull complete|Already exists)/.exec(line.trim());
  if (done) return `layer ${done[1]!.slice(0, 12)} ${done[2]!.toLowerCase()}`;
  if (/^Status: /.test(line.trim())) return line.trim().slice(8);
  return undefined;
}

/** podman by its name (`podman`, `/usr/bin/podman`). A `docker` that is podman's emulation is told apart by its answers. */
export function isPodman(rt: string): boolean {
  return posix.basename(rt) === 'podman';
}

/**
 * Which runtime answered `<rt> version`, and its version: the server's when there is one (docker's
 * engine, a podman service), else podman's own (daemonless). undefined when the text is neither's.
 */
export function parseRuntimeVersion(text: string): { product: 'docker' | 'podman'; version: string } | undefined {
  const at = text.search(/^Server:/m);
  const server = at >= 0 ? text.slice(at) : undefined;
  const version = (part: string): string | undefined => /^\s*Version:\s*(\S+)/m.exec(part)?.[1];
  if (server !== undefined) {
    const v = version(server);
    return v ? { product: /podman/i.test(server.split('\n')[0] ?? '') ? 'podman' : 'docker', version: v } : undefined;
  }
  if (/^Client:\s*Podman Engine/m.test(text)) {
    const v = version(text);
    return v ? { product: 'podman', version: v } : undefined;
  }
  return undefined;
}

/** What podman refuses in a rendered `run` and docker ignores: a shm size with the host's IPC namespace. */
export const PODMAN_SHM_REFUSAL = /cannot set shmsize when running in the \w+ IPC Namespace/i;

/**
 * The rendered `docker run` argv for the node's runtime: its own word first, and for podman without
 * `--shm-size` when `--ipc=host` (podman rejects the pair; docker ignores the size, /dev/shm is the host's).
 */
export function runArgvFor(rt: string, rendered: readonly string[], podman = isPodman(rt)): string[] {
  const argv = [rt, ...rendered.slice(1)];
  if (!podman || !argv.includes('--ipc=host')) return argv;
  return argv.filter((a) => !a.startsWith('--shm-size='));
}
