/**
 * A simulated Docker engine + CLI per node (and podman beside it): the `docker`/`podman` SimProgram with
 * the real CLI's output formats and exit codes (125 for bad `run` flags, 1 for daemon errors), an image
 * store, and containers that run simulated programs (MindIE daemon, vLLM server, sleep, cat) in the
 * background. The subcommands and flags are those ascendctl sends (src/runtime/runtime.ts: version, image
 * inspect, pull, load, run, inspect, logs, stop, rm); any other is refused as docker refuses it.
 * Faults: runtime-down, image-absent, pull-fails.
 *
 * Latencies: `pull` ≈ 3 ms per layer (fast) / ≈ 1.2 s per layer (hardware, 8 layers ≈ 10 s for an image
 * already on a nearby mirror); `docker stop -t N` and MindIE's 15 s shutdown use simulated seconds
 * (runtime-host.ts: fast 1 s = 10 ms, hardware 1 s = 1 s).
 */
import { on } from 'node:events';
import { gunzipSync } from 'node:zlib';
import { DOCKER_DOWN_MESSAGE, type SimNode } from './ascend-node.js';
import type { SimCluster, SimNodeExtension } from './cluster.js';
import type { SimIo, SimProgram } from './types.js';
import {
  Container, type ContainerProgram, type ContainerSpec, type LogEntry,
} from './runtime-container.js';
import {
  FORMAT_FLAGS, FlagError, RUN_FLAGS, TemplateError, allValues, hasFlag, lastValue, parseEnvFile, parseFlags,
  parseSince, parseVolume, renderTemplate, type Mount, type ParsedFlags,
} from './runtime-docker-args.js';
import { fnv1a, hexId, servingTimings } from './runtime-host.js';
import { delay, untilAborted } from './latency.js';
import { followLaunchScript, type ScriptResult } from './runtime-launch-script.js';
import { TarError, readTar } from './runtime-tar.js';
import { runMindieDaemon } from './mindie-daemon.js';
import { runVllmServer } from './vllm-server.js';

const SERVER_VERSION = '26.1.4';
/** Podman answers as itself when called as `podman` (daemonless: no Server part without a service). */
const PODMAN_VERSION = '4.9.3';
const API_VERSION = '1.45';
const ZERO_TIME = '0001-01-01T00:00:00Z';

/** `Key:` lines with their values in one column, as `docker version` prints them. */
function fields(indent: string, width: number, pairs: [string, string][]): string {
  return pairs.map(([k, v]) => `${indent}${`${k}:`.padEnd(width)}${v}\n`).join('');
}

const DOCKER_CLIENT = `Client:\n${fields(' ', 19, [
  ['Version', SERVER_VERSION], ['API version', API_VERSION], ['Go version', 'go1.21.11'], ['Git commit', '5650f9b'],
  ['OS/Arch', 'linux/arm64'], ['Context', 'default'],
])}`;
const DOCKER_SERVER = `Server: Docker Engine - Community\n Engine:\n${fields('  ', 18, [
  ['Version', SERVER_VERSION], ['API version', `${API_VERSION} (minimum version 1.24)`], ['Go version', 'go1.21.11'],
  ['Git commit', 'de5c9cf'], ['OS/Arch', 'linux/arm64'], ['Experimental', 'false'],
])} containerd:\n${fields('  ', 18, [['Version', '1.6.33']])} runc:\n${fields('  ', 18, [['Version', '1.1.12']])}`;
const PODMAN_CLIENT = fields('', 14, [
  ['Client', 'Podman Engine'], ['Version', PODMAN_VERSION], ['API Version', PODMAN_VERSION], ['Go Version', 'go1.21.6'],
  ['Built', 'Thu Jan  1 00:00:00 1970'], ['OS/Arch', 'linux/arm64'],
]);

interface ImageRecord {
  ref: string;
  id: string;
  /** Listed in the node spec at start (the `image-absent` fault hides these until pulled or loaded). */
  initial?: boolean;
}

/** One CLI call: the caller's streams, signal and environment, and the subcommand's arguments. */
type Call = SimIo & { args: string[] };

/** `text` on the caller's stderr, then the exit code. */
async function refuse(call: SimIo, text: string, code = 1): Promise<number> {
  await call.stderr(`${text}\n`);
  return code;
}

/** `name` → `name:latest`; keeps explicit tags and digests. */
export function normalizeRef(image: string): string {
  if (image.includes('@')) return image;
  const slash = image.lastIndexOf('/');
  return image.slice(slash + 1).includes(':') ? image : `${image}:latest`;
}

/** RFC3339Nano with fixed nine digits, as `docker logs -t` prints it. */
export function rfc3339Nano(time: number, seq = 0): string {
  const iso = new Date(time).toISOString();
  return `${iso.slice(0, 19)}.${iso.slice(20, 23)}${String(seq % 1_000_000).padStart(6, '0')}Z`;
}

/** docker's check of a subcommand's argument count (its message, then `See 'docker … --help'.`). */
function requireArgs(cmd: string, rest: string[], exactlyOne = false): void {
  if (exactlyOne ? rest.length !== 1 : rest.length === 0) {
    throw new FlagError(`"docker ${cmd}" requires ${exactlyOne ? 'exactly' : 'at least'} 1 argument.`);
  }
}

export class ContainerRuntime {
  readonly containers: Container[] = [];
  readonly images = new Map<string, ImageRecord>();
  private nextPid = 0;

  /** `podman`: the same engine with podman's texts where they differ (version, pull, run checks, errors). */
  constructor(readonly host: SimNode, readonly flavor: 'docker' | 'podman' = 'docker') {
    for (const img of host.spec.images ?? []) this.addImage(normalizeRef(img)).initial = true;
    this.nextPid = 20000 + (fnv1a(host.name) % 20000);
  }

  readonly program: SimProgram = async (argv, io) => {
    const words = argv[0] === 'image' ? 2 : 1;
    const command = argv.slice(0, words).join(' ');
    const call: Call = { ...io, args: argv.slice(words) };
    const handler = Object.hasOwn(this.handlers, command) ? this.handlers[command] : undefined;
    if (handler === undefined) {
      return refuse(call, `docker: '${command}' is not a docker command.\nSee 'docker --help'`);
    }
    // docker's runtime-down is answered by the node (ascend-node.ts); podman's version needs no daemon.
    const down = command !== 'version' && this.host.faultsOf('runtime-down').length > 0;
    if (down) return refuse(call, DOCKER_DOWN_MESSAGE);
    try {
      return await handler(call);
    } catch (e) {
      if (e instanceof FlagError) {
        return refuse(call, `${e.message}\nSee 'docker ${command} --help'.`, command === 'run' ? 125 : 1);
      }
      if (!(e instanceof TemplateError)) throw e;
      return refuse(call, e.message);
    }
  };

  private readonly handlers: Record<string, (call: Call) => Promise<number>> = {
    version: (c) => this.version(c), 'image inspect': (c) => this.imageInspect(c), pull: (c) => this.pull(c),
    load: (c) => this.load(c), run: (c) => this.run(c), inspect: (c) => this.inspect(c), logs: (c) => this.logs(c),
    stop: (c) => this.stop(c), rm: (c) => this.rm(c),
  };

  /** Kill every container and wait for them (node shutdown). */
  async shutdown(): Promise<void> {
    for (const c of this.containers) c.killNow();
    await Promise.all(this.containers.map((c) => (c.state === 'running' ? c.done : Promise.resolve(0))));
  }

  private get podman(): boolean {
    return this.flavor === 'podman';
  }

  private addImage(ref: string): ImageRecord {
    const rec: ImageRecord = { ref, id: `sha256:${hexId(`image:${ref}`, 64)}` };
    this.images.set(ref, rec);
    return rec;
  }

  /** An image present locally: pulled/loaded, listed at start, or (no list, no image-absent fault) assumed pre-pulled. */
  private image(name: string): ImageRecord | undefined {
    const ref = normalizeRef(name);
    const known = this.images.get(ref) ?? [...this.images.values()].find((i) => i.id === name || i.id.slice(7, 7 + name.length) === name);
    const absent = this.host.faultsOf('image-absent').length > 0;
    if (known?.initial && absent) return undefined;
    if (known) return known;
    return !absent && this.host.spec.images === undefined ? this.addImage(ref) : undefined;
  }

  private find(nameOrId: string): Container | undefined {
    const n = nameOrId.replace(/^\//, '');
    return this.containers.find((c) => c.name === n) ?? this.containers.find((c) => n !== '' && c.id.startsWith(n));
  }

  /** Each name's object, or its error; prints the objects (JSON array or one template line each). */
  private async printObjects(
    call: Call, cmd: string, names: string[], format: string | undefined,
    lookup: (n: string) => Record<string, unknown> | undefined, missing: (n: string) => string,
  ): Promise<number> {
    requireArgs(cmd, names);
    const found = names.map(lookup).filter((o) => o !== undefined);
    if (format === undefined) await call.stdout(`${JSON.stringify(found, null, 4)}\n`);
    else await call.stdout(found.map((o) => `${renderTemplate(format, o)}\n`).join(''));
    for (const n of names.filter((x) => lookup(x) === undefined)) await call.stderr(`${missing(n)}\n`);
    return found.length < names.length ? 1 : 0;
  }

  private async version(call: Call): Promise<number> {
    const format = lastValue(parseFlags(call.args, FORMAT_FLAGS), 'format');
    if (this.podman) {
      // podman 4 without a service: only the client part; `.Server` is a nil pointer to its templates.
      if (format !== undefined && /\.Server\b/.test(format)) {
        return refuse(call, 'Error: template: version:1:9: executing "version" at <.Server.Version>: '
          + 'nil pointer evaluating *define.Version.Version', 125);
      }
      const client = { APIVersion: PODMAN_VERSION, Version: PODMAN_VERSION, GoVersion: 'go1.21.6', Os: 'linux' };
      await call.stdout(format === undefined ? PODMAN_CLIENT : `${renderTemplate(format, { Client: client })}\n`);
      return 0;
    }
    const part = { Version: SERVER_VERSION, ApiVersion: API_VERSION, Os: 'linux', Arch: 'arm64' };
    if (format === undefined) await call.stdout(`${DOCKER_CLIENT}\n${DOCKER_SERVER}`);
    else await call.stdout(`${renderTemplate(format, { Client: part, Server: part })}\n`);
    return 0;
  }

  private layers(ref: string): string[] {
    return Array.from({ length: 8 }, (_, i) => hexId(`layer:${ref}:${i}`, 12));
  }

  private async imageInspect(call: Call): Promise<number> {
    const p = parseFlags(call.args, FORMAT_FLAGS);
    return this.printObjects(call, 'image inspect', p.rest, lastValue(p, 'format'), (n) => {
      const img = this.image(n);
      return img && { Id: img.id, RepoTags: [img.ref] };
    }, (n) => (this.podman ? `Error: ${n}: image not known` : `Error: No such image: ${n}`));
  }

  private async pull(call: Call): Promise<number> {
    const p = parseFlags(call.args, {});
    requireArgs('pull', p.rest, true);
    const name = p.rest[0]!;
    const result = await this.pullImage(name, (t) => (this.podman ? call.stderr(t) : call.stdout(t)), call.signal);
    if (typeof result === 'string' && this.podman) {
      return refuse(call, `Error: initializing source docker://${normalizeRef(name)}: ${result}`, 125);
    }
    if (typeof result === 'string') return refuse(call, result);
    if (this.podman) await call.stdout(`${result.id.slice(7)}\n`);
    return 0;
  }

  /** Pull with progress lines (podman's on stderr, docker's on stdout); returns the error text on failure. */
  private async pullImage(
    name: string, progress: (text: string) => Promise<void>, signal: AbortSignal,
  ): Promise<ImageRecord | string> {
    const ref = normalizeRef(name);
    const first = ref.split('/')[0]!;
    const registry = ref.includes('/') && /[.:]|^localhost$/.test(first) ? first : 'registry-1.docker.io';
    const fault = this.host.faultsOf('pull-fails')[0];
    const layerMs = servingTimings(this.host.profile).pullLayerMs;
    if (fault) {
      await delay(layerMs * 2, signal);
      return fault.message ?? `Error response from daemon: Get "https://${registry}/v2/": dial tcp: lookup ${registry} on 127.0.0.53:53: no such host`;
    }
    const existing = this.images.get(ref) ?? this.image(ref);
    if (this.podman) {
      await progress(`Trying to pull ${ref}...\nGetting image source signatures\n`);
      for (const l of this.layers(ref)) {
        if (!(await delay(existing ? 0 : layerMs, signal))) return 'context canceled';
        await progress(`Copying blob ${l} ${existing ? 'skipped: already exists' : 'done'}\n`);
      }
      await progress(`Copying config ${hexId(`config:${ref}`, 12)} done\nWriting manifest to image destination\n`);
      return existing ?? this.addImage(ref);
    }
    const colon = ref.lastIndexOf(':');
    const repo = ref.slice(0, colon);
    const hub = registry === 'registry-1.docker.io';
    const path = hub ? (repo.includes('/') ? repo : `library/${repo}`) : repo.slice(registry.length + 1);
    await progress(`${ref.slice(colon + 1)}: Pulling from ${path}\n`);
    const digest = `Digest: sha256:${hexId(`digest:${ref}`, 64)}\n`;
    if (existing) {
      await delay(layerMs, signal);
      await progress(`${digest}Status: Image is up to date for ${ref}\n${ref}\n`);
      return existing;
    }
    const layers = this.layers(ref);
    for (const l of layers) await progress(`${l}: Pulling fs layer\n`);
    for (const l of layers) {
      if (!(await delay(layerMs, signal))) return 'context canceled';
      await progress(`${l}: Verifying Checksum\n${l}: Download complete\n`);
    }
    for (const l of layers) await progress(`${l}: Pull complete\n`);
    await progress(`${digest}Status: Downloaded newer image for ${ref}\n${ref}\n`);
    return this.addImage(ref);
  }

  /** `load`: an image archive (`docker save`, gzip or not) on stdin; its manifest names the images. */
  private async load(call: Call): Promise<number> {
    parseFlags(call.args, {});
    const parts: Buffer[] = [];
    if (call.stdin) for await (const chunk of call.stdin) parts.push(chunk);
    const manifest = this.readManifest(Buffer.concat(parts));
    if (typeof manifest === 'string') return refuse(call, manifest);
    for (const item of Array.isArray(manifest) ? (manifest as { RepoTags?: unknown; Config?: unknown }[]) : []) {
      const tags = Array.isArray(item.RepoTags) ? item.RepoTags.filter((t): t is string => typeof t === 'string') : [];
      if (tags.length === 0) await call.stdout(`Loaded image ID: sha256:${hexId(`load:${String(item.Config)}`, 64)}\n`);
      for (const t of tags) {
        this.addImage(normalizeRef(t));
        await call.stdout(`Loaded image: ${t}\n`);
      }
    }
    return 0;
  }

  /** The parsed manifest.json of an archive, or the daemon's error text. */
  private readManifest(archive: Buffer): unknown {
    if (archive.length === 0) return 'requested load from stdin, but stdin is empty';
    let data = archive;
    if (data[0] === 0x1f && data[1] === 0x8b) {
      try {
        data = gunzipSync(data);
      } catch {
        return 'Error processing tar file(gzip: invalid header): ';
      }
    }
    try {
      const entry = readTar(data).find((e) => e.name === 'manifest.json');
      if (entry) return JSON.parse(entry.data.toString('utf8'));
      return 'Error response from daemon: open /var/lib/docker/tmp/docker-import-1/repositories: '
        + 'no such file or directory';
    } catch (e) {
      const why = e instanceof TarError ? e.message : 'unexpected EOF';
      return `Error response from daemon: Error processing tar file(exit status 1): ${why}`;
    }
  }

  private async run(call: Call): Promise<number> {
    const p = parseFlags(call.args, RUN_FLAGS, true);
    const fail = (msg: string, code = 125): Promise<number> =>
      refuse(call, this.podman ? `Error: ${msg}` : `docker: ${msg}\nSee 'docker run --help'.`, code);
    // podman refuses what docker silently ignores: a shm size for a namespace it does not create.
    const ipc = lastValue(p, 'ipc');
    if (this.podman && lastValue(p, 'shm-size') !== undefined && (ipc === 'host' || ipc === 'none')) {
      return fail(`cannot set shmsize when running in the ${ipc} IPC Namespace: invalid config provided`);
    }
    const spec = await this.runSpec(p, call.env).catch((e: unknown) => {
      if (e instanceof FlagError) return e.message;
      throw e;
    });
    if (typeof spec === 'string') return fail(spec);
    if (!this.image(spec.image)) {
      await call.stderr(`Unable to find image '${spec.image}' locally\n`);
      const pulled = await this.pullImage(spec.image, (t) => call.stdout(t), call.signal);
      if (typeof pulled === 'string') return fail(pulled);
    }
    const id = hexId(`container:${this.host.name}:${spec.name}:${Date.now()}:${this.containers.length}:${Math.random()}`, 64);
    const c = new Container(id, spec, this.host);
    this.containers.push(c);
    const program = this.programFor(c);
    if (typeof program === 'string') {
      c.failStart(127, program);
      return fail(`Error response from daemon: failed to create task for container: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: ${program}: unknown.`, 127);
    }
    // The main process's pid as the host sees it: a hash of the container id plus the runtime's start counter.
    c.start(program, 1000 + (fnv1a(id) % 60000) + (this.nextPid++ % 1000));
    if (hasFlag(p, 'detach')) {
      await call.stdout(`${id}\n`);
      return 0;
    }
    // Attached: stream the container's output until it exits (or the caller goes away).
    await this.streamLogs(c, [], { follow: true, stamps: false }, call);
    return c.state === 'exited' ? c.exitCode : 0;
  }

  /** The container a `run` asks for; throws FlagError with the daemon's text when it cannot be made. */
  private async runSpec(p: ParsedFlags, callerEnv: Record<string, string>): Promise<ContainerSpec> {
    const [image, ...argv] = p.rest;
    if (image === undefined) throw new FlagError('"docker run" requires at least 1 argument.');
    const name = lastValue(p, 'name') ?? `sim_${hexId(`${Date.now()}:${this.containers.length}`, 8)}`;
    if (!/^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/.test(name)) {
      throw new FlagError(`Error response from daemon: Invalid container name (${name}), `
        + 'only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed.');
    }
    const clash = this.find(name);
    if (clash && clash.name === name.replace(/^\//, '')) {
      throw new FlagError(`Error response from daemon: Conflict. The container name "/${clash.name}" is already in use `
        + `by container "${clash.id}". You have to remove (or rename) that container to be able to reuse that name.`);
    }
    const env: [string, string][] = [];
    for (const f of allValues(p, 'env-file')) {
      const text = await this.host.fs.readFile(f).then((b) => b.toString('utf8'), () => undefined);
      if (text === undefined) throw new FlagError(`open ${f}: no such file or directory.`);
      try {
        env.push(...parseEnvFile(text, callerEnv));
      } catch (e) {
        throw new FlagError(`poorly formatted environment: ${(e as Error).message}.`);
      }
    }
    for (const e of allValues(p, 'env')) {
      const [key, ...value] = e.split('=') as [string, ...string[]];
      const v = value.length > 0 ? value.join('=') : callerEnv[key];
      if (v !== undefined) env.push([key, v]);
    }
    const mounts: Mount[] = [];
    for (const v of allValues(p, 'volume')) {
      const m = parseVolume(v);
      // `-v` creates a missing host directory, as dockerd does.
      if (!(await this.host.fs.stat(m.source))) await this.host.fs.mkdir(m.source, { recursive: true });
      mounts.push(m);
    }
    const labels = allValues(p, 'label').map((l) => [l.split('=')[0], l.split('=').slice(1).join('=')]);
    return {
      name: name.replace(/^\//, ''), image: normalizeRef(image), argv: argv.length > 0 ? argv : ['/bin/bash'], env,
      labels: Object.fromEntries(labels), mounts, devices: allValues(p, 'device').map((d) => d.split(':')[0]!),
      privileged: hasFlag(p, 'privileged'), ipc: lastValue(p, 'ipc') ?? 'private',
    };
  }

  /** What runs as the container's process, or the runc error text. */
  private programFor(c: Container): ContainerProgram | string {
    const [cmd, ...rest] = c.spec.argv;
    const base = cmd?.split('/').pop() ?? '';
    if (base === 'bash' || base === 'sh') {
      // No tty: a shell without a script reads EOF and exits.
      return rest.length === 0 ? async () => 0 : (ctx) => this.runLauncher(ctx, rest[0]!);
    }
    if (base === 'vllm' || base === 'mindieservice_daemon' || base === 'mindie_llm_server') {
      const direct = { env: c.env, sourced: [], cwd: '/', command: c.spec.argv, output: [], nounset: false };
      return (ctx) => this.runServer(ctx, direct, cmd!);
    }
    if (base === 'sleep') {
      const secs = rest[0] === 'infinity' ? Infinity : Number(rest[0]);
      if (Number.isNaN(secs)) return async (ctx) => ctx.fail(`sleep: invalid time interval '${rest[0] ?? ''}'`, 1);
      // As PID 1, `sleep` has no SIGTERM handler: the kernel ignores the signal and only `docker stop`'s
      // SIGKILL after the grace period ends it (exit 137), as with a real container.
      if (secs === Infinity) return async (ctx) => untilAborted(ctx.kill).then(() => 137);
      return async (ctx) => ((await delay(secs * servingTimings(ctx.host.profile).secondMs, ctx.kill)) ? 0 : 137);
    }
    if (base === 'cat' && rest.length > 0) {
      return async (ctx) => {
        for (const f of rest) {
          const text = await ctx.readFile(f).then((b) => b.toString('utf8'), () => undefined);
          if (text === undefined) return ctx.fail(`cat: ${f}: No such file or directory`, 1);
          ctx.out(text);
        }
        return 0;
      };
    }
    return `exec: "${cmd ?? ''}": executable file not found in $PATH`;
  }

  /** `bash FILE`: follow the launch script (runtime-launch-script.ts), then hand over. */
  private async runLauncher(ctx: Container, scriptName: string): Promise<number> {
    const text = await ctx.readFile(scriptName).then((b) => b.toString('utf8'), () => undefined);
    if (text === undefined) return ctx.fail(`bash: ${scriptName}: No such file or directory`, 127);
    const script = await followLaunchScript(text, ctx.env, {
      nodeIp: ctx.host.host,
      exists: async (path, kind) => (await ctx.stat(path))?.[kind === 'dir' ? 'isDirectory' : 'isFile'] === true,
    });
    for (const o of script.output) (o.stream === 'stdout' ? ctx.out : ctx.err)(o.text);
    return this.runServer(ctx, script, scriptName);
  }

  /** Hand over to the server a launch script execs (`scriptName` its first word when run directly). */
  private async runServer(ctx: Container, script: ScriptResult, scriptName: string): Promise<number> {
    const bin = script.command?.[0];
    if (script.exitCode !== undefined || bin === undefined) return script.exitCode ?? 0;
    const path = bin.includes('/');
    if (!(path ? (await ctx.stat(bin))?.isFile : await ctx.stat(`/usr/local/bin/${bin}`))) {
      const why = path ? 'No such file or directory' : 'command not found';
      return ctx.fail(`${scriptName}: line 1: ${bin}: ${why}`, 127);
    }
    return bin.split('/').pop() === 'vllm' ? runVllmServer(ctx, script) : runMindieDaemon(ctx, script);
  }

  private containerJson(c: Container): Record<string, unknown> {
    const { spec } = c;
    return {
      Id: c.id, Name: `/${c.name}`,
      State: {
        Status: c.state, Running: c.running, Paused: false, OOMKilled: false, Pid: c.running ? c.pid : 0,
        ExitCode: c.exitCode, Error: c.error, StartedAt: c.startedAt ? rfc3339Nano(c.startedAt) : ZERO_TIME,
        FinishedAt: c.finishedAt ? rfc3339Nano(c.finishedAt) : ZERO_TIME,
      },
      Config: {
        Env: [...new Map(spec.env).entries()].map(([k, v]) => `${k}=${v}`), Image: spec.image, Labels: spec.labels,
      },
    };
  }

  private async inspect(call: Call): Promise<number> {
    const p = parseFlags(call.args, FORMAT_FLAGS);
    return this.printObjects(call, 'inspect', p.rest, lastValue(p, 'format'), (n) => {
      const c = this.find(n);
      return c && this.containerJson(c);
    }, (n) => `Error: No such object: ${n}`);
  }

  private async logs(call: Call): Promise<number> {
    const p = parseFlags(call.args, {
      '-f': ['follow', false], '-t': ['timestamps', false], '--since': ['since', true], '--tail': ['tail', true],
    });
    requireArgs('logs', p.rest, true);
    const name = p.rest[0]!;
    const c = this.find(name);
    if (!c) return refuse(call, `Error response from daemon: No such container: ${name}`);
    const sinceText = lastValue(p, 'since');
    const since = sinceText === undefined ? undefined : parseSince(sinceText, Date.now());
    if (sinceText !== undefined && since === undefined) {
      return refuse(call, `invalid value for "since": failed to parse value as time or duration: "${sinceText}"`);
    }
    const tail = lastValue(p, 'tail') ?? 'all';
    if (tail !== 'all' && !/^-?\d+$/.test(tail)) return refuse(call, `invalid value for "tail": ${tail}`);
    let entries = c.logs.filter((e) => since === undefined || e.time >= since);
    if (tail !== 'all' && Number(tail) >= 0) entries = Number(tail) === 0 ? [] : entries.slice(-Number(tail));
    await this.streamLogs(c, entries, { follow: hasFlag(p, 'follow'), stamps: hasFlag(p, 'timestamps') }, call);
    return 0;
  }

  /** Print `initial`, then (when following) new entries until the container stops or the caller leaves. */
  private async streamLogs(
    c: Container, initial: LogEntry[], opts: { follow: boolean; stamps: boolean }, call: Call,
  ): Promise<void> {
    const { signal } = call;
    const write = (e: LogEntry): Promise<void> => {
      const stamp = opts.stamps ? `${rfc3339Nano(e.time, e.seq)} ` : '';
      return call[e.stream](`${stamp}${e.text}\n`);
    };
    try {
      // Subscribed before the backlog is written, so that no entry falls between the two.
      const later = opts.follow && c.running ? on(c.lines, 'line', { signal, close: ['end'] }) : [];
      for (const e of initial) if (!signal.aborted) await write(e);
      for await (const [e] of later) await write(e as LogEntry);
    } catch (e) {
      if (!signal.aborted) throw e;
    }
  }

  /** Run `act` on each named container; a missing one is the daemon's error (unless `ignoreMissing`). */
  private async eachContainer(
    call: Call, names: string[], act: (c: Container) => Promise<string | undefined>, ignoreMissing = false,
  ): Promise<number> {
    let code = 0;
    await Promise.all(names.map(async (n) => {
      const c = this.find(n);
      const error = c ? await act(c) : ignoreMissing ? undefined : `No such container: ${n}`;
      if (error !== undefined) {
        await call.stderr(`Error response from daemon: ${error}\n`);
        code = 1;
      } else if (c) await call.stdout(`${n}\n`);
    }));
    return code;
  }

  private async stop(call: Call): Promise<number> {
    const p = parseFlags(call.args, { '-t': ['time', true] });
    const t = Number(lastValue(p, 'time') ?? '10');
    requireArgs('stop', p.rest);
    return this.eachContainer(call, p.rest, async (c) => {
      if (!c.running) return undefined;
      c.terminate();
      const grace = (Number.isFinite(t) && t >= 0 ? t : 10) * servingTimings(this.host.profile).secondMs;
      if (!(await Promise.race([c.done.then(() => true), delay(grace).then(() => false)]))) c.killNow();
      await c.done;
      return undefined;
    });
  }

  private async rm(call: Call): Promise<number> {
    const p = parseFlags(call.args, { '-f': ['force', false] });
    const force = hasFlag(p, 'force');
    requireArgs('rm', p.rest);
    return this.eachContainer(call, p.rest, async (c) => {
      if (c.running && !force) {
        return `cannot remove container "/${c.name}": container is running: `
          + 'stop the container before removing or force remove';
      }
      c.killNow();
      await c.done;
      this.containers.splice(this.containers.indexOf(c), 1);
      return undefined;
    }, force);
  }
}

// Plugging into the simulated node (src/sim/ascend-node.ts).

function runtimeKey(nodeName: string, flavor: 'docker' | 'podman'): string {
  return `container-runtime:${nodeName}${flavor === 'podman' ? ':podman' : ''}`;
}

/**
 * Registers `docker` and `podman` (each with its own containers) on every node, before the node writes its
 * program files; killed when the cluster stops.
 */
export function createContainerRuntimeExtension(): SimNodeExtension {
  return (node, cluster) => {
    for (const flavor of ['docker', 'podman'] as const) {
      const runtime = new ContainerRuntime(node, flavor);
      node.programs.set(flavor, runtime.program);
      cluster.shared.set(runtimeKey(node.name, flavor), runtime);
      cluster.stopSignal.addEventListener('abort', () => void runtime.shutdown(), { once: true });
    }
  };
}

/** The runtime registered on `nodeName` by createContainerRuntimeExtension (`podman`: the podman one). */
export function runtimeOf(cluster: SimCluster, nodeName: string, flavor: 'docker' | 'podman' = 'docker'): ContainerRuntime | undefined {
  return cluster.shared.get(runtimeKey(nodeName, flavor)) as ContainerRuntime | undefined;
}
