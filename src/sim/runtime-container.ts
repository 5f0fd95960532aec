/**
 * One simulated container: its spec, state machine (created → running → exited), bounded log with
 * timestamps, and the path mapping between what the container sees and the node's file system.
 */
import { EventEmitter } from 'node:events';
import { posix } from 'node:path';
import type { SimStat } from './types.js';
import type { Mount } from './runtime-docker-args.js';
import type { SimNode } from './ascend-node.js';

export interface LogEntry {
  time: number;
  /** Sub-millisecond order within one millisecond, so RFC3339Nano stamps stay strictly increasing. */
  seq: number;
  stream: 'stdout' | 'stderr';
  /** One line, without its newline. */
  text: string;
}

export interface ContainerSpec {
  name: string;
  image: string;
  /** Entrypoint + command as the container's process receives them. */
  argv: string[];
  env: [string, string][];
  labels: Record<string, string>;
  mounts: Mount[];
  devices: string[];
  privileged: boolean;
  ipc: string;
}

/** Lines kept per container; older ones are dropped as `docker logs` of a json-file with rotation would. */
export const LOG_CAPACITY = 20_000;

/** A process inside a container (the MindIE daemon, the vLLM server): it gets the container itself. */
export type ContainerProgram = (ctx: Container) => Promise<number>;

/** Files every simulated image carries, by kind. */
function imageFiles(image: string): Map<string, string> {
  const files = new Map<string, string>([
    ['/bin/bash', ''],
    ['/bin/sh', ''],
    ['/etc/os-release', 'NAME="openEuler"\nVERSION="24.03 (LTS)"\nID="openEuler"\n'],
  ]);
  const lower = image.toLowerCase();
  // CANN 8.5+ images (MindIE 2.3) moved the toolkit's set_env.sh (mindie-multinode.md §4.1, §11).
  const cann = /(^|[^\d])2\.3\.|cann8\.5|8\.5\./.test(lower) ? '/usr/local/Ascend/cann' : '/usr/local/Ascend/ascend-toolkit';
  files.set(`${cann}/set_env.sh`, '# CANN environment\n');
  files.set('/usr/local/Ascend/nnal/atb/set_env.sh', '# ATB environment\n');
  if (lower.includes('mindie')) {
    files.set('/usr/local/Ascend/atb-models/set_env.sh', '# ATB models environment\n');
    files.set('/usr/local/Ascend/mindie/set_env.sh', '# MindIE environment\n');
    files.set('/usr/local/Ascend/mindie/latest/mindie-service/bin/mindieservice_daemon', '');
    files.set('/usr/local/Ascend/mindie/latest/version.info', 'MindIE 2.1.RC1.B152\n');
    files.set('/usr/local/Ascend/mindie/latest/mindie-service/conf/config.json', '{}\n');
  }
  if (lower.includes('vllm')) files.set('/usr/local/bin/vllm', '');
  return files;
}

/** An absolute path without `.`, `..`, repeated or trailing slashes (relative paths start at `/`). */
function normalize(path: string): string {
  return posix.resolve('/', path);
}

export class Container {
  readonly logs: LogEntry[] = [];
  state: 'created' | 'running' | 'exited' = 'created';
  exitCode = 0;
  error = '';
  readonly createdAt = Date.now();
  startedAt = 0;
  finishedAt = 0;
  /** A pid as the host sees it (npu-smi process table), from the start on. */
  pid = 0;
  /** The process's environment: the image's PATH and HOSTNAME, then `-e`/`--env-file`. */
  readonly env: Record<string, string>;
  /** Emits each new log entry as `line`, and `end` when the container stops (`docker logs -f` follows these). */
  readonly lines = new EventEmitter().setMaxListeners(0);
  private readonly termCtl = new AbortController();
  private readonly killCtl = new AbortController();
  /** Aborted on SIGTERM (docker stop). */
  readonly term = this.termCtl.signal;
  /** Aborted on SIGKILL: release everything at once. */
  readonly kill = this.killCtl.signal;
  /** Aborted on SIGTERM or SIGKILL: where a server's waits end. */
  readonly stopped = AbortSignal.any([this.term, this.kill]);
  private lastTime = 0;
  private lastSeq = 0;
  private doneResolve!: (code: number) => void;
  readonly done = new Promise<number>((resolve) => (this.doneResolve = resolve));
  private readonly imageFs: Map<string, string>;

  constructor(readonly id: string, readonly spec: ContainerSpec, readonly host: SimNode) {
    this.imageFs = imageFiles(spec.image);
    const path = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
    this.env = { PATH: path, HOSTNAME: host.name, ...Object.fromEntries(spec.env) };
  }

  get name(): string {
    return this.spec.name;
  }

  get running(): boolean {
    return this.state === 'running';
  }

  readonly out = (line: string): void => this.append('stdout', line);
  readonly err = (line: string): void => this.append('stderr', line);

  /** `text` on stderr (the container's log), then the exit code. */
  fail(text: string, code: number): number {
    this.err(text);
    return code;
  }

  private append(stream: 'stdout' | 'stderr', text: string): void {
    const now = Date.now();
    const seq = now === this.lastTime ? this.lastSeq + 1 : 0;
    this.lastTime = now;
    this.lastSeq = seq;
    for (const line of text.replace(/\n$/, '').split('\n')) {
      const entry: LogEntry = { time: now, seq, stream, text: line };
      this.logs.push(entry);
      if (this.logs.length > LOG_CAPACITY) this.logs.shift();
      this.lines.emit('line', entry);
    }
  }

  /** The node path behind a container path, or undefined when the path lies in the image. */
  hostPath(containerPath: string): string | undefined {
    const p = normalize(containerPath);
    const within = (target: string): boolean => p === target || p.startsWith(target === '/' ? '/' : `${target}/`);
    const mount = this.spec.mounts.filter((m) => within(normalize(m.target)))
      .sort((a, b) => normalize(b.target).length - normalize(a.target).length)[0];
    return mount && normalize(`${mount.source}/${p.slice(normalize(mount.target).length)}`);
  }

  async stat(containerPath: string): Promise<SimStat | undefined> {
    const hp = this.hostPath(containerPath);
    if (hp !== undefined) return this.host.fs.stat(hp);
    const p = normalize(containerPath);
    const content = this.imageFs.get(p);
    const prefix = p === '/' ? '/' : `${p}/`;
    const inImage = [...this.imageFs.keys()].some((f) => f.startsWith(prefix));
    const isDir = content === undefined && (inImage || ['/tmp', '/root'].includes(p));
    if (content === undefined && !isDir) return undefined;
    const size = isDir ? 4096 : content!.length;
    return { isFile: !isDir, isDirectory: isDir, isSymlink: false, mode: 0o755, uid: 0, size, mtimeMs: this.createdAt };
  }

  async readFile(containerPath: string): Promise<Buffer> {
    const hp = this.hostPath(containerPath);
    if (hp !== undefined) return this.host.fs.readFile(hp);
    const content = this.imageFs.get(normalize(containerPath));
    if (content === undefined) {
      throw Object.assign(new Error(`ENOENT: no such file or directory, open '${containerPath}'`), { code: 'ENOENT' });
    }
    return Buffer.from(content);
  }

  /** Names in a mounted directory (the daemon lists the weights' tokenizer files); the image's own are none. */
  async readdir(containerPath: string): Promise<string[]> {
    const hp = this.hostPath(containerPath);
    return hp === undefined ? [] : this.host.fs.readdir(hp);
  }

  /** Run `program` as the container's main process. */
  start(program: ContainerProgram, pid: number): void {
    this.state = 'running';
    this.startedAt = Date.now();
    this.pid = pid;
    const killed = new Promise<number>((resolve) => {
      this.kill.addEventListener('abort', () => resolve(137), { once: true });
    });
    const run = program(this).catch((e: unknown) => {
      this.append('stderr', `${e instanceof Error ? e.message : String(e)}`);
      return 1;
    });
    void Promise.race([run, killed]).then((code) => this.finish(code));
  }

  /** Mark a container that could not start (bad command) as exited. */
  failStart(code: number, error: string): void {
    this.error = error;
    this.startedAt = Date.now();
    this.finish(code);
  }

  private finish(code: number): void {
    if (this.state === 'exited') return;
    this.state = 'exited';
    this.exitCode = code;
    this.finishedAt = Date.now();
    if (!this.kill.aborted) this.killCtl.abort();
    this.lines.emit('end');
    this.doneResolve(code);
  }

  terminate(): void {
    if (!this.term.aborted) this.termCtl.abort();
  }

  killNow(): void {
    if (this.state === 'running' && !this.kill.aborted) this.killCtl.abort();
  }
}
