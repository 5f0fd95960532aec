/**
 * A simulated Docker engine + CLI per node: the `docker` SimProgram with the real CLI's output formats and
 * exit codes (125 for bad `run` flags, 1 for daemon errors), an image store, and containers that run
 * simulated programs (MindIE daemon, vLLM server, a few shell commands) in the background.
 *
 * Latencies: `pull` ≈ 3 ms per layer (fast) / ≈ 1.2 s per layer (hardware, 8 layers ≈ 10 s for an image
 * already on a nearby mirror); `docker stop -t N` and MindIE's 15 s shutdown use simulated seconds
 * (runtime-host.ts: fast 1 s = 10 ms, hardware 1 s = 1 s).
 */
import type { SimNode } from './ascend-node.js';
import type { SimCluster, SimNodeExtension } from './cluster.js';
import type { SimIo, SimProgram } from './types.js';
import { Container, type ContainerProgram, type ContainerSpec, type LogEntry } from './runtime-container.js';
import {
  FlagError, RUN_FLAGS, allValues, lastValue, parseEnvFile, parseFlags, parseMountFlag, parseSince, parseVolume,
  type FlagSpec, type Mount,
} from './runtime-docker-args.js';
import { TemplateError, compileTemplate, tabulate } from './runtime-go-template.js';
import { type ContainerHost, aborted, fnv1a, hexId, pause, servingTimings, simSecondMs } from './runtime-host.js';
import { interpretLaunchScript, type ScriptResult } from './runtime-launch-script.js';
import { gunzipSync } from 'node:zlib';
import { TarError, readTar } from './runtime-tar.js';
import { daemonPid, runMindieDaemon } from './mindie-daemon.js';
import { runVllmServer } from './vllm-server.js';

export type { ContainerHost } from './runtime-host.js';

const SERVER_VERSION = '26.1.4';
/** Podman answers as itself when called as `podman` (daemonless: no Server part without a service). */
const PODMAN_VERSION = '4.9.3';
const API_VERSION = '1.45';
const DOCKER_DOWN = 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?';
const ZERO_TIME = '0001-01-01T00:00:00Z';

interface ImageRecord {
  ref: string;
  id: string;
  created: number;
  size: number;
  /** Listed in the node spec at start (the `image-absent` fault hides these until pulled or loaded). */
  initial?: boolean;
}

/** `name` → `name:latest`; keeps explicit tags and digests. */
export function normalizeRef(image: string): string {
  if (image.includes('@')) return image;
  const slash = image.lastIndexOf('/');
  return image.slice(slash + 1).includes(':') ? image : `${image}:latest`;
}

function splitRef(ref: string): { repo: string; tag: string } {
  const at = ref.indexOf('@');
  if (at >= 0) return { repo: ref.slice(0, at), tag: '<none>' };
  const colon = ref.lastIndexOf(':');
  return { repo: ref.slice(0, colon), tag: ref.slice(colon + 1) };
}

function registryOf(ref: string): string {
  const first = ref.split('/')[0]!;
  return ref.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost') ? first : 'registry-1.docker.io';
}

/** docker's units.HumanDuration. */
export function humanDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 1) return 'Less than a second';
  if (s === 1) return '1 second';
  if (s < 60) return `${s} seconds`;
  const m = Math.floor(s / 60);
  if (m === 1) return 'About a minute';
  if (m < 60) return `${m} minutes`;
  const h = Math.round(s / 3600);
  if (h === 1) return 'About an hour';
  if (h < 48) return `${h} hours`;
  if (h < 24 * 7 * 2) return `${Math.floor(h / 24)} days`;
  if (h < 24 * 30 * 2) return `${Math.floor(h / 24 / 7)} weeks`;
  if (h < 24 * 365 * 2) return `${Math.floor(h / 24 / 30)} months`;
  return `${Math.floor(h / 24 / 365)} years`;
}

/** RFC3339Nano with fixed nine digits, as `docker logs -t` prints it. */
export function rfc3339Nano(time: number, seq = 0): string {
  const iso = new Date(time).toISOString();
  return `${iso.slice(0, 19)}.${iso.slice(20, 23)}${String(seq % 1_000_000).padStart(6, '0')}Z`;
}

function humanSize(bytes: number): string {
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(1)}GB`;
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(0)}MB`;
  return `${(bytes / 1e3).toFixed(0)}kB`;
}

class Exit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

export class ContainerRuntime {
  readonly containers: Container[] = [];
  readonly images = new Map<string, ImageRecord>();
  private nextPid = 0;

  /** `podman`: the same engine with podman's texts where they differ (version, pull, run checks, errors). */
  constructor(readonly host: ContainerHost, readonly flavor: 'docker' | 'podman' = 'docker') {
    for (const img of host.initialImages ?? []) this.addImage(normalizeRef(img)).initial = true;
    this.nextPid = 20000 + (fnv1a(host.name) % 20000);
  }

  readonly program: SimProgram = async (argv, io) => {
    const out = (t: string): Promise<void> => io.stdout(t);
    const err = (t: string): Promise<void> => io.stderr(t);
    try {
      return await this.dispatch(argv, io, out, err);
    } catch (e) {
      if (e instanceof Exit) return e.code;
      if (e instanceof TemplateError) {
        await err(`${e.message}\n`);
        return 1;
      }
      throw e;
    }
  };

  /** Kill every container and wait for them (node shutdown). */
  async shutdown(): Promise<void> {
    for (const c of this.containers) c.killNow();
    await Promise.all(this.containers.map((c) => (c.state === 'running' ? c.done : Promise.resolve(0))));
  }

  private down(): boolean {
    return this.host.faults().some((f) => f.kind === 'runtime-down');
  }

  private addImage(ref: string): ImageRecord {
    const rec: ImageRecord = { ref, id: `sha256:${hexId(`image:${ref}`, 64)}`, created: Date.now() - 86400_000 * 30, size: 18_400_000_000 + (fnv1a(ref) % 2_000_000_000) };
    this.images.set(ref, rec);
    return rec;
  }

  /** An image present locally: pulled/loaded, listed at start, or (no list, no image-absent fault) assumed pre-pulled. */
  private image(name: string, implicit = true): ImageRecord | undefined {
    const ref = normalizeRef(name);
    const known = this.images.get(ref) ?? [...this.images.values()].find((i) => i.id === name || i.id.slice(7, 7 + name.length) === name);
    const absent = this.host.faults().some((f) => f.kind === 'image-absent');
    if (known?.initial && absent) return undefined;
    if (known || !implicit) return known;
    if (!absent && this.host.initialImages === undefined) return this.addImage(ref);
    return undefined;
  }

  private find(nameOrId: string): Container | undefined {
    const n = nameOrId.replace(/^\//, '');
    return this.containers.find((c) => c.name === n) ?? this.containers.find((c) => c.id === n) ?? (n.length >= 1 ? this.containers.filter((c) => c.id.startsWith(n)).at(0) : undefined);
  }

  private async dispatch(argv: string[], io: SimIo, out: (t: string) => Promise<void>, err: (t: string) => Promise<void>): Promise<number> {
    let args = [...argv];
    if (args[0] === '--version' || args[0] === '-v') {
      await out(this.flavor === 'podman' ? `podman version ${PODMAN_VERSION}\n` : `Docker version ${SERVER_VERSION}, build 5650f9b\n`);
      return 0;
    }
    let cmd = args.shift();
    if (cmd === undefined || cmd === '--help' || cmd === 'help') {
      await out('Usage:  docker [OPTIONS] COMMAND\n\nA self-sufficient runtime for containers\n');
      return 0;
    }
    // `docker container ls`, `docker image pull`, … → the classic names.
    if (cmd === 'container' || cmd === 'image') {
      const sub = args.shift() ?? '';
      const map: Record<string, string> = cmd === 'container'
        ? { ls: 'ps', list: 'ps', ps: 'ps', inspect: 'inspect', rm: 'rm', stop: 'stop', kill: 'kill', logs: 'logs', run: 'run', exec: 'exec', remove: 'rm' }
        : { ls: 'images', list: 'images', pull: 'pull', load: 'load', inspect: 'image-inspect', rm: 'rmi', remove: 'rmi' };
      const mapped = map[sub];
      if (mapped === undefined) {
        await err(`docker: '${cmd} ${sub}' is not a docker command.\nSee 'docker --help'\n`);
        return 1;
      }
      cmd = mapped;
      if (cmd === 'inspect') args = ['--type', 'container', ...args];
    }
    if (cmd === 'version') return this.version(args, out, err);
    if (this.down()) {
      await err(`${DOCKER_DOWN}\n`);
      return 1;
    }
    switch (cmd) {
      case 'info': return this.info(args, out);
      case 'images': return this.imagesCmd(args, out);
      case 'image-inspect': return this.imageInspect(args, out, err);
      case 'pull': return this.pull(args, out, err, io.signal);
      case 'load': return this.load(args, io, out, err);
      case 'rmi': return this.rmi(args, out, err);
      case 'run': return this.run(args, io, out, err);
      case 'ps': return this.ps(args, out, err);
      case 'inspect': return this.inspect(args, out, err);
      case 'logs': return this.logsCmd(args, io, out, err);
      case 'stop': return this.stop(args, out, err);
      case 'kill': return this.kill(args, out, err);
      case 'rm': return this.rm(args, out, err);
      case 'exec': return this.exec(args, out, err);
      default:
        await err(`docker: '${cmd}' is not a docker command.\nSee 'docker --help'\n`);
        return 1;
    }
  }

  private async flags(args: string[], spec: FlagSpec, cmd: string, err: (t: string) => Promise<void>, stopAtFirst = false): Promise<ReturnType<typeof parseFlags>> {
    try {
      return parseFlags(args, spec, stopAtFirst);
    } catch (e) {
      if (!(e instanceof FlagError)) throw e;
      await err(`${e.message}\nSee 'docker ${cmd} --help'.\n`);
      throw new Exit(cmd === 'run' ? 125 : 1);
    }
  }

  // ---- version / info -------------------------------------------------------------------------------

  private versionObject(): Record<string, unknown> {
    const client = { Version: SERVER_VERSION, ApiVersion: API_VERSION, GoVersion: 'go1.21.11', GitCommit: '5650f9b', Os: 'linux', Arch: 'arm64', Context: 'default' };
    return { Client: client, Server: { Version: SERVER_VERSION, ApiVersion: API_VERSION, MinAPIVersion: '1.24', GoVersion: 'go1.21.11', GitCommit: 'de5c9cf', Os: 'linux', Arch: 'arm64', KernelVersion: '5.10.0-182.0.0.95.oe2203sp3.aarch64' } };
  }

  private async version(args: string[], out: (t: string) => Promise<void>, err: (t: string) => Promise<void>): Promise<number> {
    const p = await this.flags(args, { value: { format: 'format', f: 'format' }, bool: {} }, 'version', err);
    const format = lastValue(p, 'format');
    if (this.flavor === 'podman') return this.podmanVersion(format, out, err);
    const v = this.versionObject();
    if (this.down()) {
      if (format === undefined) {
        await out(`Client:\n Version:           ${SERVER_VERSION}\n API version:       ${API_VERSION}\n Go version:        go1.21.11\n Git commit:        5650f9b\n OS/Arch:           linux/arm64\n Context:           default\n`);
      }
      await err(`${DOCKER_DOWN}\n`);
      return 1;
    }
    if (format !== undefined) {
      await out(`${compileTemplate(format).render(v)}\n`);
      return 0;
    }
    await out(
      `Client:\n Version:           ${SERVER_VERSION}\n API version:       ${API_VERSION}\n Go version:        go1.21.11\n Git commit:        5650f9b\n OS/Arch:           linux/arm64\n Context:           default\n\n` +
        `Server: Docker Engine - Community\n Engine:\n  Version:          ${SERVER_VERSION}\n  API version:      ${API_VERSION} (minimum version 1.24)\n  Go version:       go1.21.11\n  Git commit:       de5c9cf\n  OS/Arch:          linux/arm64\n  Experimental:     false\n containerd:\n  Version:          1.6.33\n runc:\n  Version:          1.1.12\n`,
    );
    return 0;
  }

  /** podman 4 without a service: only the client part; `.Server` is a nil pointer to its templates. */
  private async podmanVersion(format: string | undefined, out: (t: string) => Promise<void>, err: (t: string) => Promise<void>): Promise<number> {
    const client = { APIVersion: PODMAN_VERSION, Version: PODMAN_VERSION, GoVersion: 'go1.21.6', GitCommit: '', BuiltTime: 'Thu Jan  1 00:00:00 1970', Built: 0, OsArch: 'linux/arm64', Os: 'linux' };
    if (format !== undefined) {
      if (/\.Server\b/.test(format)) {
        await err(`Error: template: version:1:9: executing "version" at <.Server.Version>: nil pointer evaluating *define.Version.Version\n`);
        return 125;
      }
      await out(`${compileTemplate(format).render({ Client: client })}\n`);
      return 0;
    }
    await out(`Client:       Podman Engine\nVersion:      ${PODMAN_VERSION}\nAPI Version:  ${PODMAN_VERSION}\nGo Version:   go1.21.6\nBuilt:        Thu Jan  1 00:00:00 1970\nOS/Arch:      linux/arm64\n`);
    return 0;
  }

  private async info(args: string[], out: (t: string) => Promise<void>): Promise<number> {
    const p = parseFlags(args, { value: { format: 'format', f: 'format' }, bool: {} }, false);
    const running = this.containers.filter((c) => c.running).length;
    const exited = this.containers.filter((c) => c.state === 'exited').length;
    const info = {
      ID: hexId(`engine:${this.host.name}`, 36), Containers: this.containers.length, ContainersRunning: running, ContainersPaused: 0,
      ContainersStopped: exited, Images: this.images.size, Driver: 'overlay2', CgroupDriver: 'systemd', CgroupVersion: '2',
      ServerVersion: SERVER_VERSION, Name: this.host.name, OperatingSystem: 'openEuler 22.03 (LTS-SP3)', OSType: 'linux',
      Architecture: 'aarch64', NCPU: 192, MemTotal: 1622000000000, DockerRootDir: '/var/lib/docker', DefaultRuntime: 'runc',
      Runtimes: { runc: { path: 'runc' }, ascend: { path: '/usr/local/Ascend/Ascend-Docker-Runtime/ascend-docker-runtime' } },
    };
    const format = lastValue(p, 'format');
    if (format !== undefined) {
      await out(`${compileTemplate(format).render(info)}\n`);
      return 0;
    }
    await out(
      `Client: Docker Engine - Community\n Version:    ${SERVER_VERSION}\n Context:    default\n\nServer:\n Containers: ${info.Containers}\n  Running: ${running}\n  Paused: 0\n  Stopped: ${exited}\n Images: ${info.Images}\n Server Version: ${SERVER_VERSION}\n Storage Driver: overlay2\n Cgroup Driver: systemd\n Cgroup Version: 2\n Runtimes: ascend io.containerd.runc.v2 runc\n Default Runtime: runc\n Kernel Version: 5.10.0-182.0.0.95.oe2203sp3.aarch64\n Operating System: ${info.OperatingSystem}\n OSType: linux\n Architecture: aarch64\n CPUs: 192\n Total Memory: 1.475TiB\n Name: ${this.host.name}\n Docker Root Dir: /var/lib/docker\n`,
    );
    return 0;
  }

  // ---- images ---------------------------------------------------------------------------------------

  private imageJson(img: ImageRecord): Record<string, unknown> {
    const { repo } = splitRef(img.ref);
    return {
      Id: img.id, RepoTags: [img.ref], RepoDigests: [`${repo}@sha256:${hexId(`digest:${img.ref}`, 64)}`], Parent: '', Comment: '',
      Created: new Date(img.created).toISOString(), DockerVersion: '', Author: '', Architecture: 'arm64', Os: 'linux', Size: img.size,
      Config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['/bin/bash'], WorkingDir: '/', Labels: null },
      RootFS: { Type: 'layers', Layers: this.layers(img.ref).map((l) => `sha256:${l}${hexId(l, 52)}`) },
    };
  }

  private layers(ref: string): string[] {
    return Array.from({ length: 8 }, (_, i) => hexId(`layer:${ref}:${i}`, 12));
  }

  private async imagesCmd(args: string[], out: (t: string) => Promise<void>): Promise<number> {
    const p = parseFlags(args, { value: { format: 'format', filter: 'filter', f: 'filter' }, bool: { q: 'quiet', quiet: 'quiet', a: 'all', all: 'all', 'no-trunc': 'no-trunc' } }, false);
    let imgs = [...this.images.values()];
    const wanted = p.rest[0];
    if (wanted !== undefined) imgs = imgs.filter((i) => splitRef(i.ref).repo === wanted || i.ref === wanted);
    if (p.bools.has('quiet')) {
      await out(imgs.map((i) => `${i.id.slice(7, 19)}\n`).join(''));
      return 0;
    }
    const rows = imgs.map((i) => {
      const { repo, tag } = splitRef(i.ref);
      return { Repository: repo, Tag: tag, ID: i.id.slice(7, 19), CreatedSince: `${humanDuration(Date.now() - i.created)} ago`, CreatedAt: new Date(i.created).toISOString(), Size: humanSize(i.size), Digest: '<none>' };
    });
    const format = lastValue(p, 'format');
    if (format !== undefined && !format.startsWith('table')) {
      const t = compileTemplate(format);
      await out(rows.map((r) => `${t.render(r)}\n`).join(''));
      return 0;
    }
    await out(tabulate([['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE'], ...rows.map((r) => [r.Repository, r.Tag, r.ID, r.CreatedSince, r.Size])]));
    return 0;
  }

  private async imageInspect(args: string[], out: (t: string) => Promise<void>, err: (t: string) => Promise<void>): Promise<number> {
    const p = await this.flags(args, { value: { format: 'format', f: 'format' }, bool: {} }, 'image inspect', err);
    if (p.rest.length === 0) {
      await err(`"docker image inspect" requires at least 1 argument.\nSee 'docker image inspect --help'.\n`);
      return 1;
    }
    return this.printInspect(p.rest, lastValue(p, 'format'), (n) => {
      const img = this.image(n);
      return img ? this.imageJson(img) : undefined;
    }, (n) => (this.flavor === 'podman' ? `Error: ${n}: image not known` : `Error: No such image: ${n}`), out, err);
  }

  private async printInspect(
    names: string[], format: string | undefined, lookup: (n: string) => Record<string, unknown> | undefined,
    missing: (n: string) => string, out: (t: string) => Promise<void>, err: (t: string) => Promise<void>,
  ): Promise<number> {
    const found: Record<string, unknown>[] = [];
    const errors: string[] = [];
    for (const n of names) {
      const o = lookup(n);
      if (o) found.push(o);
      else errors.push(missing(n));
    }
    if (format !== undefined) {
      const t = compileTemplate(format);
      await out(found.map((o) => `${t.render(o)}\n`).join(''));
    } else {
      await out(`${JSON.stringify(found, null, 4)}\n`);
    }
    for (const e of errors) await err(`${e}\n`);
    return errors.length > 0 ? 1 : 0;
  }

  private async pull(args: string[], out: (t: string) => Promise<void>, err: (t: string) => Promise<void>, signal: AbortSignal): Promise<number> {
    const p = await this.flags(args, { value: { platform: 'platform' }, bool: { q: 'quiet', quiet: 'quiet', a: 'all-tags', 'all-tags': 'all-tags', 'disable-content-trust': 'dct' } }, 'pull', err);
    const name = p.rest[0];
    if (name === undefined || p.rest.length > 1) {
      await err(`"docker pull" requires exactly 1 argument.\nSee 'docker pull --help'.\n\nUsage:  docker pull [OPTIONS] NAME[:TAG|@DIGEST]\n\nDownload an image from a registry\n`);
      return 1;
    }
    const podman = this.flavor === 'podman';
    const result = await this.pullImage(name, p.bools.has('quiet') ? async () => {} : podman ? err : out, signal);
    if (typeof result === 'string') {
      await err(podman ? `Error: initializing source docker://${normalizeRef(name)}: ${result}\n` : `${result}\n`);
      return podman ? 125 : 1;
    }
    if (podman) {
      await out(`${result.id.slice(7)}\n`);
      return 0;
    }
    if (p.bools.has('quiet')) await out(`${normalizeRef(name)}\n`);
    return 0;
  }

  /** Pull with progress lines; returns the error text on failure. */
  private async pullImage(name: string, out: (t: string) => Promise<void>, signal: AbortSignal): Promise<ImageRecord | string> {
    const ref = normalizeRef(name);
    const { repo, tag } = splitRef(ref);
    const registry = registryOf(ref);
    const fault = this.host.faults().find((f) => f.kind === 'pull-fails');
    const layerMs = servingTimings(this.host.profile).pullLayerMs;
    if (fault && fault.kind === 'pull-fails') {
      await pause(layerMs * 2, signal);
      return fault.message ?? `Error response from daemon: Get "https://${registry}/v2/": dial tcp: lookup ${registry} on 127.0.0.53:53: no such host`;
    }
    if (this.flavor === 'podman') return this.podmanPull(ref, out, signal, layerMs);
    const repoPath = registry === 'registry-1.docker.io' ? (repo.includes('/') ? repo : `library/${repo}`) : repo.slice(registry.length + 1);
    await out(`${tag}: Pulling from ${repoPath}\n`);
    const digest = `sha256:${hexId(`digest:${ref}`, 64)}`;
    const existing = this.images.get(ref) ?? this.image(ref);
    if (existing) {
      await pause(layerMs, signal);
      await out(`Digest: ${digest}\nStatus: Image is up to date for ${ref}\n${ref}\n`);
      return existing;
    }
    const layers = this.layers(ref);
    for (const l of layers) await out(`${l}: Pulling fs layer\n`);
    for (const l of layers) {
      if (!(await pause(layerMs, signal))) return 'context canceled';
      await out(`${l}: Verifying Checksum\n${l}: Download complete\n`);
    }
    for (const l of layers) await out(`${l}: Pull complete\n`);
    await out(`Digest: ${digest}\nStatus: Downloaded newer image for ${ref}\n${ref}\n`);
    return this.addImage(ref);
  }

  /** podman's pull: progress on stderr (here `progress`), the image id alone on stdout at the end. */
  private async podmanPull(ref: string, progress: (t: string) => Promise<void>, signal: AbortSignal, layerMs: number): Promise<ImageRecord | string> {
    await progress(`Trying to pull ${ref}...\n`);
    const existing = this.images.get(ref) ?? this.image(ref);
    await progress('Getting image source signatures\n');
    for (const l of this.layers(ref)) {
      if (!(await pause(existing ? 0 : layerMs, signal))) return 'context canceled';
      await progress(`Copying blob ${l.padEnd(12, '0')} ${existing ? 'skipped: already exists' : 'done'}\n`);
    }
    await progress(`Copying config ${hexId(`config:${ref}`, 12)} done\nWriting manifest to image destination\n`);
    return existing ?? this.addImage(ref);
  }

  private async load(args: string[], io: SimIo, out: (t: string) => Promise<void>, err: (t: string) => Promise<void>): Promise<number> {
    const p = await this.flags(args, { value: { input: 'input', i: 'input', platform: 'platform' }, bool: { q: 'quiet', quiet: 'quiet' } }, 'load', err);
    const input = lastValue(p, 'input');
    let data: Buffer;
    if (input !== undefined) {
      try {
        data = await this.host.fs.readFile(input);
      } catch {
        await err(`open ${input}: no such file or directory\n`);
        return 1;
      }
    } else {
      const parts: Buffer[] = [];
      if (io.stdin) for await (const c of io.stdin) parts.push(c);
      data = Buffer.concat(parts);
      if (data.length === 0) {
        await err('requested load from stdin, but stdin is empty\n');
        return 1;
      }
    }
    // docker load takes a gzip-compressed `docker save` as it is.
    if (data.length >= 2 && data[0] === 0x1f && data[1] === 0x8b) {
      try {
        data = gunzipSync(data);
      } catch {
        await err('Error processing tar file(gzip: invalid header): \n');
        return 1;
      }
    }
    let manifest: unknown;
    try {
      const entry = readTar(data).find((e) => e.name === 'manifest.json');
      if (!entry) {
        await err('Error response from daemon: open /var/lib/docker/tmp/docker-import-1/repositories: no such file or directory\n');
        return 1;
      }
      manifest = JSON.parse(entry.data.toString('utf8'));
    } catch (e) {
      await err(`Error response from daemon: Error processing tar file(exit status 1): ${e instanceof TarError ? e.message : 'unexpected EOF'}\n`);
      return 1;
    }
    const items = Array.isArray(manifest) ? (manifest as { RepoTags?: unknown; Config?: unknown }[]) : [];
    for (const item of items) {
      const tags = Array.isArray(item.RepoTags) ? item.RepoTags.filter((t): t is string => typeof t === 'string') : [];
      if (tags.length === 0) await out(`Loaded image ID: sha256:${hexId(`load:${String(item.Config)}`, 64)}\n`);
      for (const t of tags) {
        this.addImage(normalizeRef(t));
        await out(`Loaded image: ${t}\n`);
      }
    }
    return 0;
  }

  private async rmi(args: string[], out: (t: string) => Promise<void>, err: (t: string) => Promise<void>): Promise<number> {
    const p = await this.flags(args, { value: {}, bool: { f: 'force', force: 'force', 'no-prune': 'no-prune' } }, 'rmi', err);
    let code = 0;
    for (const n of p.rest) {
      const img = this.images.get(normalizeRef(n));
      if (!img) {
        await err(`Error response from daemon: No such image: ${n}\n`);
        code = 1;
        continue;
      }
      const user = this.containers.find((c) => normalizeRef(c.spec.image) === img.ref);
      if (user && !p.bools.has('force')) {
        await err(`Error response from daemon: conflict: unable to remove repository reference "${n}" (must force) - container ${user.id.slice(0, 12)} is using its referenced image ${img.id.slice(7, 19)}\n`);
        code = 1;
        continue;
      }
      this.images.delete(img.ref);
      await out(`Untagged: ${img.ref}\nDeleted: ${img.id}\n`);
    }
    return code;
  }

  // ---- run --------------------------------------------------------------------------------------------

  private async run(args: string[], io: SimIo, out: (t: string) => Promise<void>, err: (t: string) => Promise<void>): Promise<number> {
    const p = await this.flags(args, RUN_FLAGS, 'run', err, true);
    const fail = async (msg: string, code = 125): Promise<number> => {
      await err(this.flavor === 'podman' ? `Error: ${msg}\n` : `docker: ${msg}\nSee 'docker run --help'.\n`);
      return code;
    };
    const image = p.rest[0];
    // podman refuses what docker silently ignores: a shm size for a namespace it does not create.
    const ipcMode = lastValue(p, 'ipc');
    if (this.flavor === 'podman' && lastValue(p, 'shm-size') !== undefined && (ipcMode === 'host' || ipcMode === 'none')) {
      return fail(`cannot set shmsize when running in the ${ipcMode} IPC Namespace: invalid config provided`);
    }
    if (image === undefined) return fail(`"docker run" requires at least 1 argument.`);
    const name = lastValue(p, 'name') ?? `sim_${hexId(`${Date.now()}:${this.containers.length}`, 8)}`;
    if (!/^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/.test(name)) return fail(`Error response from daemon: Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed.`);
    const clash = this.find(name);
    if (clash && clash.name === name.replace(/^\//, '')) {
      return fail(`Error response from daemon: Conflict. The container name "/${clash.name}" is already in use by container "${clash.id}". You have to remove (or rename) that container to be able to reuse that name.`);
    }
    const env: [string, string][] = [];
    for (const f of allValues(p, 'env-file')) {
      let text: string;
      try {
        text = (await this.host.fs.readFile(f)).toString('utf8');
      } catch {
        return fail(`open ${f}: no such file or directory.`);
      }
      try {
        env.push(...parseEnvFile(text, io.env));
      } catch (e) {
        return fail(`poorly formatted environment: ${(e as Error).message}.`);
      }
    }
    for (const e of allValues(p, 'env')) {
      const eq = e.indexOf('=');
      if (eq >= 0) env.push([e.slice(0, eq), e.slice(eq + 1)]);
      else if (io.env[e] !== undefined) env.push([e, io.env[e]!]);
    }
    const labels: Record<string, string> = {};
    for (const l of allValues(p, 'label')) {
      const eq = l.indexOf('=');
      labels[eq >= 0 ? l.slice(0, eq) : l] = eq >= 0 ? l.slice(eq + 1) : '';
    }
    const mounts: Mount[] = [];
    try {
      for (const v of allValues(p, 'volume')) {
        const m = parseVolume(v);
        // `-v` creates a missing host directory, as dockerd does.
        if (!(await this.host.fs.stat(m.source))) await this.host.fs.mkdir(m.source, { recursive: true });
        mounts.push(m);
      }
      for (const v of allValues(p, 'mount')) {
        const m = parseMountFlag(v);
        if (!(await this.host.fs.stat(m.source))) return fail(`Error response from daemon: invalid mount config for type "bind": bind source path does not exist: ${m.source}.`);
        mounts.push(m);
      }
    } catch (e) {
      if (e instanceof FlagError) return fail(e.message);
      throw e;
    }
    let img = this.image(image);
    if (!img) {
      if (lastValue(p, 'pull') === 'never') return fail(`Error response from daemon: No such image: ${normalizeRef(image)}.`);
      await err(`Unable to find image '${normalizeRef(image)}' locally\n`);
      const pulled = await this.pullImage(image, out, io.signal);
      if (typeof pulled === 'string') return fail(pulled.replace(/^Error response from daemon: /, 'Error response from daemon: '));
      img = pulled;
    }
    const entry = lastValue(p, 'entrypoint');
    const cmd = p.rest.slice(1);
    const argv = entry !== undefined ? [...(entry === '' ? [] : [entry]), ...cmd] : cmd.length > 0 ? cmd : ['/bin/bash'];
    const spec: ContainerSpec = {
      name: name.replace(/^\//, ''), image: normalizeRef(image), argv, env, labels, mounts,
      devices: allValues(p, 'device').map((d) => d.split(':')[0]!), privileged: p.bools.has('privileged'),
      network: lastValue(p, 'network') ?? 'bridge', ipc: lastValue(p, 'ipc') ?? 'private', user: lastValue(p, 'user') ?? '',
      workdir: lastValue(p, 'workdir') ?? '/', autoRemove: p.bools.has('rm'), restart: lastValue(p, 'restart') ?? 'no',
      shmSize: lastValue(p, 'shm-size'),
    };
    const id = hexId(`container:${this.host.name}:${spec.name}:${Date.now()}:${this.containers.length}:${Math.random()}`, 64);
    const c = new Container(id, spec, this.host);
    this.containers.push(c);
    const program = this.programFor(c);
    if (typeof program === 'string') {
      c.failStart(127, program);
      if (spec.autoRemove) this.remove(c);
      return fail(`Error response from daemon: failed to create task for container: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: ${program}: unknown.`, 127);
    }
    c.start(program, daemonPid(id) + (this.nextPid++ % 1000));
    if (spec.autoRemove) void c.done.then(() => this.remove(c));
    if (p.bools.has('detach')) {
      await out(`${id}\n`);
      return 0;
    }
    // Attached: stream the container's output until it exits (or the caller goes away).
    await this.streamLogs(c, [], true, false, io, out, err);
    return c.state === 'exited' ? c.exitCode : 0;
  }

  private remove(c: Container): void {
    const i = this.containers.indexOf(c);
    if (i >= 0) this.containers.splice(i, 1);
  }

  /** What runs as the container's process, or the runc error text. */
  private programFor(c: Container): ContainerProgram | string {
    const [cmd, ...rest] = c.spec.argv;
    if (cmd === undefined) return 'exec: "": executable file not found in $PATH';
    const base = cmd.split('/').pop()!;
    // As PID 1, `sleep` has no SIGTERM handler: the kernel ignores the signal and only `docker stop`'s
    // SIGKILL after the grace period ends it (exit 137), as with a real container.
    const sleepUntilStopped: ContainerProgram = async (ctx) => {
      await aborted(ctx.kill);
      return 137;
    };
    if (base === 'bash' || base === 'sh') {
      if (rest.length === 0) return async () => 0; // no tty: the shell reads EOF and exits
      return async (ctx) => {
        let text: string;
        const scriptName = rest[0] === '-c' ? 'bash' : rest[0]!;
        if (rest[0] === '-c') text = rest[1] ?? '';
        else {
          try {
            text = (await ctx.readFile(rest[0]!)).toString('utf8');
          } catch {
            ctx.err(`${base}: ${rest[0]}: No such file or directory`);
            return 127;
          }
        }
        const script = await interpretLaunchScript(text, ctx.env, {
          exists: async (path, kind) => {
            const st = await ctx.stat(path);
            if (!st) return false;
            if (kind === 'dir') return st.isDirectory;
            if (kind === 'file' || kind === 'exec') return st.isFile;
            return true;
          },
          // --net=host: the container sees the node's interfaces. A simulated node's address sits on
          // the loopback interface, so a lookup of the NIC carrying it (`ip -o -4 addr show | awk …`)
          // prints `lo`; any other command substitution cannot run here and prints nothing.
          substitute: (command) => {
            if (!/\bip\b.*\baddr\b/.test(command)) return '';
            const wanted = /-v\s+ip="?([0-9.]+)/.exec(command)?.[1];
            return wanted === ctx.host.host ? 'lo' : '';
          },
        }, c.spec.workdir);
        for (const o of script.output) (o.stream === 'stdout' ? ctx.out : ctx.err)(o.text);
        return this.runCommand(ctx, script, scriptName);
      };
    }
    if (base === 'vllm' || base === 'mindieservice_daemon' || base === 'mindie_llm_server') {
      return async (ctx) => this.runCommand(ctx, { env: ctx.env, sourced: [], cwd: c.spec.workdir, command: c.spec.argv, output: [], nounset: false }, cmd);
    }
    if (base === 'sleep') {
      const secs = rest[0] === 'infinity' ? Infinity : Number(rest[0]);
      if (Number.isNaN(secs)) return async (ctx) => (ctx.err(`sleep: invalid time interval '${rest[0] ?? ''}'`), 1);
      if (secs === Infinity) return sleepUntilStopped;
      return async (ctx) => ((await pause(secs * simSecondMs(ctx.host.profile), ctx.kill)) ? 0 : 137);
    }
    if (base === 'echo') return async (ctx) => (ctx.out(rest.join(' ')), 0);
    if (base === 'true') return async () => 0;
    if (base === 'false') return async () => 1;
    if (base === 'cat' && rest.length > 0) {
      return async (ctx) => {
        for (const f of rest) {
          try {
            ctx.out((await ctx.readFile(f)).toString('utf8'));
          } catch {
            ctx.err(`cat: ${f}: No such file or directory`);
            return 1;
          }
        }
        return 0;
      };
    }
    return `exec: "${cmd}": executable file not found in $PATH`;
  }

  /** After a launch script: hand over to the server it execs. */
  private async runCommand(ctx: Parameters<ContainerProgram>[0], script: ScriptResult, scriptName: string): Promise<number> {
    if (script.exitCode !== undefined) return script.exitCode;
    const command = script.command;
    if (command === undefined) return 0;
    const bin = command[0]!;
    const base = bin.split('/').pop()!;
    if (bin.includes('/')) {
      const st = await ctx.stat(bin);
      if (!st?.isFile) {
        ctx.err(`${scriptName}: line 1: ${bin}: No such file or directory`);
        return 127;
      }
    } else if (!(await ctx.stat(`/usr/local/bin/${bin}`))) {
      ctx.err(`${scriptName}: line 1: ${bin}: command not found`);
      return 127;
    }
    if (base === 'vllm') return runVllmServer(ctx, script, command);
    return runMindieDaemon(ctx, script);
  }

  // ---- ps / inspect -----------------------------------------------------------------------------------

  private status(c: Container): string {
    if (c.state === 'created') return 'Created';
    if (c.state === 'running') return `Up ${humanDuration(Date.now() - c.startedAt)}`;
    return `Exited (${c.exitCode}) ${humanDuration(Date.now() - c.finishedAt)} ago`;
  }

  private psRow(c: Container, noTrunc: boolean): Record<string, unknown> {
    const command = c.spec.argv.join(' ');
    const shortCmd = noTrunc || command.length <= 20 ? command : `${command.slice(0, 19)}…`;
    const labels = Object.entries(c.spec.labels).map(([k, v]) => `${k}=${v}`).join(',');
    return {
      Command: `"${shortCmd}"`, CreatedAt: new Date(c.createdAt).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' +0000 UTC'),
      ID: noTrunc ? c.id : c.id.slice(0, 12), Image: c.spec.image, Labels: labels, LocalVolumes: '0',
      Mounts: c.spec.mounts.map((m) => m.source).join(','), Names: c.name, Networks: c.spec.network === 'host' ? 'host' : 'bridge',
      Ports: '', RunningFor: `${humanDuration(Date.now() - c.createdAt)} ago`, Size: '0B', State: c.state, Status: this.status(c),
      LabelMap: c.spec.labels,
    };
  }

  private async ps(args: string[], out: (t: string) => Promise<void>, err: (t: string) => Promise<void>): Promise<number> {
    const p = await this.flags(args, {
      value: { filter: 'filter', f: 'filter', format: 'format', n: 'last', last: 'last' },
      bool: { a: 'all', all: 'all', q: 'quiet', quiet: 'quiet', 'no-trunc': 'no-trunc', s: 'size', size: 'size', l: 'latest', latest: 'latest' },
    }, 'ps', err);
    const filters = new Map<string, string[]>();
    for (const f of allValues(p, 'filter')) {
      const eq = f.indexOf('=');
      if (eq < 0) {
        await err(`invalid argument "${f}" for "-f, --filter" flag: bad format of filter (expected name=value)\nSee 'docker ps --help'.\n`);
        return 1;
      }
      const k = f.slice(0, eq);
      if (!['label', 'name', 'id', 'status', 'ancestor'].includes(k)) {
        await err(`Error response from daemon: invalid filter '${k}'\n`);
        return 1;
      }
      filters.set(k, [...(filters.get(k) ?? []), f.slice(eq + 1)]);
    }
    const all = p.bools.has('all') || filters.has('status');
    const match = (c: Container): boolean => {
      for (const [k, vals] of filters) {
        const ok = vals.some((v) => {
          if (k === 'label') {
            const eq = v.indexOf('=');
            return eq < 0 ? v in c.spec.labels : c.spec.labels[v.slice(0, eq)] === v.slice(eq + 1);
          }
          if (k === 'name') {
            try {
              return new RegExp(v).test(c.name);
            } catch {
              return c.name.includes(v);
            }
          }
          if (k === 'id') return c.id.startsWith(v);
          if (k === 'status') return c.state === v;
          return normalizeRef(v) === c.spec.image;
        });
        if (!ok) return false;
      }
      return true;
    };
    let list = this.containers.filter((c) => (all || c.running) && match(c)).sort((a, b) => b.createdAt - a.createdAt);
    if (p.bools.has('latest')) list = list.slice(0, 1);
    const noTrunc = p.bools.has('no-trunc');
    if (p.bools.has('quiet')) {
      await out(list.map((c) => `${noTrunc ? c.id : c.id.slice(0, 12)}\n`).join(''));
      return 0;
    }
    const rows = list.map((c) => this.psRow(c, noTrunc));
    const format = lastValue(p, 'format');
    if (format !== undefined && format !== 'table') {
      const t = compileTemplate(format, { ID: 'CONTAINER ID', RunningFor: 'CREATED', CreatedAt: 'CREATED AT' });
      const lines = rows.map((r) => t.render(format.includes('{{json .}}') ? this.psJson(r) : r));
      if (t.table) {
        await out(tabulate([t.header.split('\t'), ...lines.map((l) => l.split('\t'))]));
      } else await out(lines.map((l) => `${l}\n`).join(''));
      return 0;
    }
    await out(tabulate([
      ['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'PORTS', 'NAMES'],
      ...rows.map((r) => [String(r.ID), String(r.Image), String(r.Command), String(r.RunningFor), String(r.Status), '', String(r.Names)]),
    ]));
    return 0;
  }

  private psJson(row: Record<string, unknown>): Record<string, unknown> {
    const { LabelMap: _drop, ...rest } = row;
    return rest;
  }

  private containerJson(c: Container): Record<string, unknown> {
    return {
      Id: c.id, Created: new Date(c.createdAt).toISOString(), Path: c.spec.argv[0] ?? '', Args: c.spec.argv.slice(1),
      State: {
        Status: c.state, Running: c.running, Paused: false, Restarting: false, OOMKilled: false, Dead: false, Pid: c.pid,
        ExitCode: c.exitCode, Error: c.error, StartedAt: c.startedAt ? rfc3339Nano(c.startedAt) : ZERO_TIME,
        FinishedAt: c.finishedAt ? rfc3339Nano(c.finishedAt) : ZERO_TIME,
      },
      Image: `sha256:${hexId(`image:${c.spec.image}`, 64)}`, Name: `/${c.name}`, RestartCount: 0, Driver: 'overlay2', Platform: 'linux',
      HostConfig: {
        Binds: c.spec.mounts.map((m) => `${m.source}:${m.target}${m.readOnly ? ':ro' : ''}`), NetworkMode: c.spec.network, IpcMode: c.spec.ipc,
        Privileged: c.spec.privileged, AutoRemove: c.spec.autoRemove, RestartPolicy: { Name: c.spec.restart, MaximumRetryCount: 0 },
        ShmSize: c.spec.shmSize ?? '67108864', Devices: c.spec.devices.map((d) => ({ PathOnHost: d, PathInContainer: d, CgroupPermissions: 'rwm' })),
      },
      Mounts: c.spec.mounts.map((m) => ({ Type: 'bind', Source: m.source, Destination: m.target, Mode: m.readOnly ? 'ro' : '', RW: !m.readOnly, Propagation: 'rprivate' })),
      Config: {
        Hostname: this.host.name, User: c.spec.user, Env: [...new Map(c.spec.env).entries()].map(([k, v]) => `${k}=${v}`),
        Cmd: c.spec.argv, Image: c.spec.image, WorkingDir: c.spec.workdir === '/' ? '' : c.spec.workdir, Entrypoint: null, Labels: c.spec.labels,
      },
      NetworkSettings: { Networks: { [c.spec.network]: {} } },
    };
  }

  private async inspect(args: string[], out: (t: string) => Promise<void>, err: (t: string) => Promise<void>): Promise<number> {
    const p = await this.flags(args, { value: { format: 'format', f: 'format', type: 'type' }, bool: { s: 'size', size: 'size' } }, 'inspect', err);
    if (p.rest.length === 0) {
      await err(`"docker inspect" requires at least 1 argument.\nSee 'docker inspect --help'.\n`);
      return 1;
    }
    const type = lastValue(p, 'type');
    return this.printInspect(p.rest, lastValue(p, 'format'), (n) => {
      const c = type === 'image' ? undefined : this.find(n);
      if (c) return this.containerJson(c);
      const img = type === 'container' ? undefined : this.image(n, type === 'image');
      return img ? this.imageJson(img) : undefined;
    }, (n) => (type === 'container' ? `Error: No such container: ${n}` : `Error: No such object: ${n}`), out, err);
  }

  // ---- logs -------------------------------------------------------------------------------------------

  private async logsCmd(args: string[], io: SimIo, out: (t: string) => Promise<void>, err: (t: string) => Promise<void>): Promise<number> {
    const p = await this.flags(args, {
      value: { tail: 'tail', n: 'tail', since: 'since', until: 'until' },
      bool: { f: 'follow', follow: 'follow', t: 'timestamps', timestamps: 'timestamps', details: 'details' },
    }, 'logs', err);
    const name = p.rest[0];
    if (name === undefined || p.rest.length > 1) {
      await err(`"docker logs" requires exactly 1 argument.\nSee 'docker logs --help'.\n`);
      return 1;
    }
    const c = this.find(name);
    if (!c) {
      await err(`Error response from daemon: No such container: ${name}\n`);
      return 1;
    }
    const now = Date.now();
    const sinceText = lastValue(p, 'since');
    const untilText = lastValue(p, 'until');
    const since = sinceText === undefined ? undefined : parseSince(sinceText, now);
    const until = untilText === undefined ? undefined : parseSince(untilText, now);
    if ((sinceText !== undefined && since === undefined) || (untilText !== undefined && until === undefined)) {
      await err(`invalid value for "since": failed to parse value as time or duration: "${sinceText ?? untilText ?? ''}"\n`);
      return 1;
    }
    const tailText = lastValue(p, 'tail') ?? 'all';
    if (tailText !== 'all' && !/^-?\d+$/.test(tailText)) {
      await err(`invalid value for "tail": ${tailText}\n`);
      return 1;
    }
    let entries = c.logs.filter((e) => (since === undefined || e.time >= since) && (until === undefined || e.time <= until));
    const tail = tailText === 'all' ? -1 : Number(tailText);
    if (tail >= 0) entries = tail === 0 ? [] : entries.slice(-tail);
    await this.streamLogs(c, entries, p.bools.has('follow') && until === undefined, p.bools.has('timestamps'), io, out, err, true);
    return 0;
  }

  /** Print `initial`, then (when following) new entries until the container stops or the caller leaves. */
  private async streamLogs(
    c: Container, initial: LogEntry[], follow: boolean, stamps: boolean, io: SimIo,
    out: (t: string) => Promise<void>, err: (t: string) => Promise<void>, fromStart = false,
  ): Promise<void> {
    const queue: (LogEntry | null)[] = [];
    let wake: (() => void) | undefined;
    const unsubscribe = follow && c.running ? c.follow((e) => {
      queue.push(e);
      wake?.();
    }) : undefined;
    const write = async (e: LogEntry): Promise<void> => {
      const text = `${stamps ? `${rfc3339Nano(e.time, e.seq)} ` : ''}${e.text}\n`;
      await (e.stream === 'stdout' ? out(text) : err(text));
    };
    try {
      for (const e of fromStart || !follow ? initial : []) {
        if (io.signal.aborted) return;
        await write(e);
      }
      if (!unsubscribe) return;
      for (;;) {
        while (queue.length > 0) {
          const e = queue.shift()!;
          if (e === null) return;
          await write(e);
        }
        if (io.signal.aborted) return;
        await new Promise<void>((resolve) => {
          wake = resolve;
          io.signal.addEventListener('abort', () => resolve(), { once: true });
        });
        wake = undefined;
        if (io.signal.aborted) return;
      }
    } finally {
      unsubscribe?.();
    }
  }

  // ---- stop / kill / rm / exec ----------------------------------------------------------------------

  private async stopOne(c: Container, timeoutS: number): Promise<void> {
    if (!c.running) return;
    c.terminate();
    const graceful = await Promise.race([c.done.then(() => true), pause(timeoutS * simSecondMs(this.host.profile)).then(() => false)]);
    if (!graceful) {
      c.killNow();
      await c.done;
    }
  }

  private async stop(args: string[], out: (t: string) => Promise<void>, err: (t: string) => Promise<void>): Promise<number> {
    const p = await this.flags(args, { value: { t: 'time', time: 'time', timeout: 'time', s: 'signal', signal: 'signal' }, bool: {} }, 'stop', err);
    const t = Number(lastValue(p, 'time') ?? '10');
    if (p.rest.length === 0) {
      await err(`"docker stop" requires at least 1 argument.\nSee 'docker stop --help'.\n`);
      return 1;
    }
    let code = 0;
    await Promise.all(p.rest.map(async (n) => {
      const c = this.find(n);
      if (!c) {
        await err(`Error response from daemon: No such container: ${n}\n`);
        code = 1;
        return;
      }
      await this.stopOne(c, Number.isFinite(t) && t >= 0 ? t : 10);
      await out(`${n}\n`);
    }));
    return code;
  }

  private async kill(args: string[], out: (t: string) => Promise<void>, err: (t: string) => Promise<void>): Promise<number> {
    const p = await this.flags(args, { value: { s: 'signal', signal: 'signal' }, bool: {} }, 'kill', err);
    const sig = (lastValue(p, 'signal') ?? 'KILL').toUpperCase().replace(/^SIG/, '');
    let code = 0;
    for (const n of p.rest) {
      const c = this.find(n);
      if (!c) {
        await err(`Error response from daemon: No such container: ${n}\n`);
        code = 1;
        continue;
      }
      if (!c.running) {
        await err(`Error response from daemon: cannot kill container: ${n}: container ${c.id} is not running\n`);
        code = 1;
        continue;
      }
      if (sig === 'TERM' || sig === '15' || sig === 'INT' || sig === '2') c.terminate();
      else {
        c.killNow();
        await c.done;
      }
      await out(`${n}\n`);
    }
    return code;
  }

  private async rm(args: string[], out: (t: string) => Promise<void>, err: (t: string) => Promise<void>): Promise<number> {
    const p = await this.flags(args, { value: {}, bool: { f: 'force', force: 'force', v: 'volumes', volumes: 'volumes', l: 'link', link: 'link' } }, 'rm', err);
    let code = 0;
    for (const n of p.rest) {
      const c = this.find(n);
      if (!c) {
        if (!p.bools.has('force')) {
          await err(`Error response from daemon: No such container: ${n}\n`);
          code = 1;
        }
        continue;
      }
      if (c.running && !p.bools.has('force')) {
        await err(`Error response from daemon: cannot remove container "/${c.name}": container is running: stop the container before removing or force remove\n`);
        code = 1;
        continue;
      }
      if (c.running) {
        c.killNow();
        await c.done;
      }
      this.remove(c);
      await out(`${n}\n`);
    }
    return code;
  }

  private async exec(args: string[], out: (t: string) => Promise<void>, err: (t: string) => Promise<void>): Promise<number> {
    const p = await this.flags(args, {
      value: { e: 'env', env: 'env', w: 'workdir', workdir: 'workdir', u: 'user', user: 'user', 'env-file': 'env-file' },
      bool: { i: 'interactive', interactive: 'interactive', t: 'tty', tty: 'tty', d: 'detach', detach: 'detach', privileged: 'privileged' },
    }, 'exec', err, true);
    const [name, ...cmd] = p.rest;
    if (name === undefined || cmd.length === 0) {
      await err(`"docker exec" requires at least 2 arguments.\nSee 'docker exec --help'.\n`);
      return 1;
    }
    const c = this.find(name);
    if (!c) {
      await err(`Error response from daemon: No such container: ${name}\n`);
      return 1;
    }
    if (!c.running) {
      await err(`Error response from daemon: container ${c.id} is not running\n`);
      return 1;
    }
    return this.execIn(c, cmd, out, err);
  }

  private async execIn(c: Container, cmd: string[], out: (t: string) => Promise<void>, err: (t: string) => Promise<void>): Promise<number> {
    const [bin, ...rest] = cmd;
    const base = (bin ?? '').split('/').pop()!;
    switch (base) {
      case 'sh':
      case 'bash':
        if (rest[0] === '-c' && rest[1] !== undefined) return this.execIn(c, rest[1].trim().split(/\s+/), out, err);
        return 0;
      case 'cat': {
        let code = 0;
        for (const f of rest) {
          try {
            await out((await c.readFile(f)).toString('utf8'));
          } catch (e) {
            const st = await c.stat(f);
            await err(st?.isDirectory ? `cat: ${f}: Is a directory\n` : `cat: ${f}: No such file or directory\n`);
            void e;
            code = 1;
          }
        }
        return code;
      }
      case 'ls': {
        const paths = rest.filter((a) => !a.startsWith('-'));
        let code = 0;
        for (const path of paths.length > 0 ? paths : ['/']) {
          const st = await c.stat(path);
          if (!st) {
            await err(`ls: cannot access '${path}': No such file or directory\n`);
            code = 2;
          } else if (st.isDirectory) await out((await c.readdir(path)).map((n) => `${n}\n`).join(''));
          else await out(`${path}\n`);
        }
        return code;
      }
      case 'env':
        await out(Object.entries(c.env()).map(([k, v]) => `${k}=${v}\n`).join(''));
        return 0;
      case 'echo':
        await out(`${rest.join(' ')}\n`);
        return 0;
      case 'hostname':
        await out(`${this.host.name}\n`);
        return 0;
      case 'true':
        return 0;
      case 'test':
      case '[': {
        const [flag, path] = rest;
        const st = path === undefined ? undefined : await c.stat(path);
        if (flag === '-f') return st?.isFile ? 0 : 1;
        if (flag === '-d') return st?.isDirectory ? 0 : 1;
        return st ? 0 : 1;
      }
      default:
        await err(`OCI runtime exec failed: exec failed: unable to start container process: exec: "${bin}": executable file not found in $PATH: unknown\n`);
        return 127;
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Plugging into the simulated node (src/sim/ascend-node.ts).

/** Key under which each node's runtime is kept in the cluster's shared map (tests, shutdown). */
export function runtimeKey(nodeName: string): string {
  return `container-runtime:${nodeName}`;
}

/** The ContainerHost view of a simulated node. */
export function hostFromSimNode(node: SimNode): ContainerHost {
  const removers = new Map<string, () => void>();
  return {
    name: node.name,
    host: node.host,
    fs: node.fs,
    profile: node.profile,
    npuCount: node.npuCount,
    shared: node.shared,
    initialImages: node.spec.images,
    faults: () => node.faults,
    deviceIps: () => node.deviceIps(),
    tlsSwitches: () => node.tlsSwitches(),
    portHeld: (ip, port) => node.listeningSockets().some((l) => l.port === port && (l.address === ip || l.address === '0.0.0.0')),
    addListener: (ip, port, owner) => {
      removers.set(`${ip}:${port}`, node.addListener({ address: ip, port, owner }));
    },
    removeListener: (ip, port) => {
      removers.get(`${ip}:${port}`)?.();
      removers.delete(`${ip}:${port}`);
    },
    setNpuProcesses: (npu, procs) => node.setNpuProcesses(npu, procs),
    setHbmUsed: (npu, mb) => node.setHbmUsed(npu, mb),
    heldHbmMb: (npu) => node.heldHbmMb(npu),
    hbmTotalMb: () => node.hbmTotalMb(),
    registerProgram: (name, program) => node.programs.set(name, program),
  };
}

/** Registers `docker` on every node; containers are killed when the cluster stops. */
export function createContainerRuntimeExtension(): SimNodeExtension {
  return async (node, cluster) => {
    const runtime = new ContainerRuntime(hostFromSimNode(node));
    node.programs.set('docker', runtime.program);
    cluster.shared.set(runtimeKey(node.name), runtime);
    cluster.stopSignal.addEventListener('abort', () => void runtime.shutdown(), { once: true });
    // podman beside it, with its own containers (as on a node with both installed).
    const podman = new ContainerRuntime(hostFromSimNode(node), 'podman');
    node.programs.set('podman', podman.program);
    cluster.shared.set(`${runtimeKey(node.name)}:podman`, podman);
    cluster.stopSignal.addEventListener('abort', () => void podman.shutdown(), { once: true });
    if (node.installProgramFiles) {
      for (const name of ['docker', 'podman']) {
        const path = node.programPath(name);
        await node.fs.mkdir(path.slice(0, path.lastIndexOf('/')), { recursive: true });
        await node.fs.writeFile(path, `#!/bin/sh\n# simulated ${name} of ${node.name}\n`, 0o755);
      }
    }
  };
}

/** The runtime registered on `nodeName` by createContainerRuntimeExtension (`podman`: the podman one). */
export function runtimeOf(cluster: SimCluster, nodeName: string, flavor: 'docker' | 'podman' = 'docker'): ContainerRuntime | undefined {
  return cluster.shared.get(flavor === 'podman' ? `${runtimeKey(nodeName)}:podman` : runtimeKey(nodeName)) as ContainerRuntime | undefined;
}
