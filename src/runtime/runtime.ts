/**
 * The container runtime on a node, as argv: the only place where a docker or podman command line is
 * spelled (deploy, preflight, status, stop and logs all build theirs here). Remote commands are data:
 * these return argv arrays, quoting happens in src/remote/quote.ts only. Pure: the readers of what the
 * runtime answers are here too; what runs these over a Transport is in ./containers.ts.
 *
 * podman speaks docker's CLI for everything ascendctl asks (docs/cli-contract.md "Nodes as data
 * centres set them up": `tools.containerRuntime: podman`); the one difference is `run` (see runArgvFor).
 */
import { posix } from 'node:path';

export type RuntimeKind = 'docker' | 'podman';

/** What `logs` is asked for: ascendctl always asks for `-t` (the timestamp is where a resumed follow starts). */
export interface LogsRequest {
  container: string;
  follow: boolean;
  /** Passed verbatim to `--since` (see sinceArg in src/logs/docker-logs.ts). */
  since?: string | undefined;
  tail?: number | undefined;
}

/** podman by its name (`podman`, `/usr/bin/podman`). A `docker` that is podman's emulation is told apart by its answers. */
export function isPodman(rt: string): boolean {
  return posix.basename(rt) === 'podman';
}

/**
 * One node's runtime: `command` is the word the inventory names (tools.containerRuntime: `docker`,
 * `/usr/bin/podman`, …), `kind` which CLI it speaks (from the name unless told: a `docker` that is
 * podman underneath is found out by its answers, see PODMAN_SHM_REFUSAL).
 */
export class ContainerRuntime {
  constructor(readonly command: string, readonly kind: RuntimeKind = isPodman(command) ? 'podman' : 'docker') {}

  /** The server's version alone; podman without a service has no `.Server` and fails it. */
  version(): string[] {
    return [this.command, 'version', '--format', '{{.Server.Version}}'];
  }

  /**
   * Plain `version`: what docker and podman both answer (podman without a service has no
   * `.Server` for a --format template). docker exits 1 when its daemon does not answer.
   */
  versionText(): string[] {
    return [this.command, 'version'];
  }

  /** Exits 0 with the image id when the image is on the node. */
  imageId(image: string): string[] {
    return [this.command, 'image', 'inspect', '--format', '{{.Id}}', image];
  }

  pull(image: string): string[] {
    return [this.command, 'pull', image];
  }

  /** Reads an image archive (docker save output) on stdin. */
  load(): string[] {
    return [this.command, 'load'];
  }

  /** The container's state as one JSON object (see parseContainerState). */
  state(container: string): string[] {
    return this.inspect(container, '{{json .State}}');
  }

  /** `true` or `false` on stdout. */
  running(container: string): string[] {
    return this.inspect(container, '{{.State.Running}}');
  }

  /** The exit status of a stopped container, as one number on stdout. */
  exitCode(container: string): string[] {
    return this.inspect(container, '{{.State.ExitCode}}');
  }

  stop(container: string, seconds: number): string[] {
    return [this.command, 'stop', '-t', String(seconds), container];
  }

  remove(container: string): string[] {
    return [this.command, 'rm', '-f', container];
  }

  logs(req: LogsRequest): string[] {
    const argv = [this.command, 'logs'];
    if (req.follow) argv.push('-f');
    argv.push('-t');
    if (req.since !== undefined) argv.push('--since', req.since);
    if (req.tail !== undefined) argv.push('--tail', String(req.tail));
    argv.push(req.container);
    return argv;
  }

  /** The last lines a container printed, without timestamps. */
  logsTail(container: string, lines: number): string[] {
    return [this.command, 'logs', '--tail', String(lines), container];
  }

  /** The rendered `docker run` argv as this runtime runs it (see runArgvFor). */
  run(rendered: readonly string[]): string[] {
    return runArgvFor(this.command, rendered, this.kind === 'podman');
  }

  private inspect(container: string, format: string): string[] {
    return [this.command, 'inspect', '--format', format, container];
  }
}

/** The runtime a node's inventory names. */
export function runtimeFor(command: string): ContainerRuntime {
  return new ContainerRuntime(command);
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

export interface ContainerState {
  status: string; // created | running | exited | …
  running: boolean;
  exitCode: number;
  startedAt?: string;
  finishedAt?: string;
}

/** What `state` printed, or undefined when it is not the JSON object asked for. */
export function parseContainerState(stdout: string): ContainerState | undefined {
  try {
    const s = JSON.parse(stdout.trim()) as { Status?: string; Running?: boolean; ExitCode?: number; StartedAt?: string; FinishedAt?: string };
    const out: ContainerState = { status: s.Status ?? 'unknown', running: Boolean(s.Running), exitCode: s.ExitCode ?? 0 };
    if (s.StartedAt) out.startedAt = s.StartedAt;
    if (s.FinishedAt) out.finishedAt = s.FinishedAt;
    return out;
  } catch {
    return undefined;
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

/**
 * Which runtime answered `<rt> version`, and its version: the server's when there is one (docker's
 * engine, a podman service), else podman's own (daemonless). undefined when the text is neither's.
 */
export function parseRuntimeVersion(text: string): { product: RuntimeKind; version: string } | undefined {
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
