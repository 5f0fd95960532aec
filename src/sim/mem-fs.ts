/**
 * An in-memory SimFs for the demo, the benchmarks and the unit tests: directories, modes, owners and
 * symlinks (MindIE refuses a config.json that is a symlink, so the daemon needs to see one).
 */
import { posix } from 'node:path';
import type { SimFs, SimStat } from './types.js';
import { fsError } from './fs-error.js';

interface Entry {
  type: 'file' | 'dir' | 'symlink';
  data: Buffer;
  mode: number;
  uid: number;
  mtimeMs: number;
  /** Symlink target (absolute or relative to the link's directory). */
  target?: string;
}

const MAX_LINK_DEPTH = 16;

function entry(type: Entry['type'], mode: number, data = Buffer.alloc(0)): Entry {
  return { type, data, mode: mode & 0o7777, uid: 0, mtimeMs: Date.now() };
}

export class MemFs implements SimFs {
  private readonly entries = new Map<string, Entry>([['/', entry('dir', 0o755)]]);

  async readFile(path: string): Promise<Buffer> {
    const e = this.get(this.resolve(path, 'open'), 'open', path);
    if (e.type === 'dir') throw fsError('EISDIR', 'read', path);
    return Buffer.from(e.data);
  }

  async writeFile(path: string, data: string | Buffer, mode?: number): Promise<void> {
    const p = this.resolve(path, 'open');
    this.requireParentDir(p, 'open', path);
    const existing = this.entries.get(p);
    if (existing?.type === 'dir') throw fsError('EISDIR', 'open', path);
    if (existing) {
      existing.data = Buffer.from(data);
      existing.mtimeMs = Date.now();
    } else {
      // Like open(2) with umask 022: the mode applies only when the file is created.
      this.entries.set(p, entry('file', mode ?? 0o644, Buffer.from(data)));
    }
  }

  async stat(path: string): Promise<SimStat | undefined> {
    let p = normalize(path);
    try {
      p = this.resolveParent(p, 'lstat');
    } catch {
      return undefined;
    }
    const e = this.entries.get(p);
    if (!e) return undefined;
    const size = e.type === 'symlink' ? Buffer.byteLength(e.target ?? '') : e.data.length;
    const { type, mode, uid, mtimeMs } = e;
    return { isFile: type === 'file', isDirectory: type === 'dir', isSymlink: type === 'symlink', mode, uid, size,
      mtimeMs };
  }

  async mkdir(path: string, opts: { recursive?: boolean; mode?: number } = {}): Promise<void> {
    const p = this.resolve(path, 'mkdir');
    const existing = this.entries.get(p);
    if (existing) {
      if (existing.type === 'dir' && opts.recursive) return;
      throw fsError('EEXIST', 'mkdir', path);
    }
    const parent = this.entries.get(posix.dirname(p));
    if (!parent) {
      if (!opts.recursive) throw fsError('ENOENT', 'mkdir', path);
      await this.mkdir(posix.dirname(p), { recursive: true });
    } else if (parent.type !== 'dir') {
      throw fsError('ENOTDIR', 'mkdir', path);
    }
    this.entries.set(p, entry('dir', opts.mode ?? 0o755));
  }

  async readdir(path: string): Promise<string[]> {
    const p = this.resolve(path, 'scandir');
    if (this.get(p, 'scandir', path).type !== 'dir') throw fsError('ENOTDIR', 'scandir', path);
    const prefix = p === '/' ? '/' : `${p}/`;
    const names = [...this.entries.keys()].filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length));
    return names.filter((name) => name !== '' && !name.includes('/')).sort();
  }

  async rename(from: string, to: string): Promise<void> {
    const src = this.resolveParent(from, 'rename');
    const dst = this.resolveParent(to, 'rename');
    const e = this.get(src, 'rename', from);
    this.requireParentDir(dst, 'rename', to);
    const target = this.entries.get(dst);
    if (target?.type === 'dir' && e.type !== 'dir') throw fsError('EISDIR', 'rename', to);
    if (target?.type === 'dir' && this.childrenOf(dst).length > 0) throw fsError('ENOTEMPTY', 'rename', to);
    const moved = [...this.entries.entries()].filter(([k]) => k === src || k.startsWith(`${src}/`));
    for (const [k] of moved) this.entries.delete(k);
    for (const [k, v] of moved) this.entries.set(dst + k.slice(src.length), v);
  }

  async rm(path: string, opts: { recursive?: boolean; force?: boolean } = {}): Promise<void> {
    const p = this.resolveParent(path, 'rm');
    const e = this.entries.get(p);
    if (!e) {
      if (opts.force) return;
      throw fsError('ENOENT', 'rm', path);
    }
    if (p === '/') throw fsError('EACCES', 'rm', path);
    if (e.type === 'dir') {
      if (!opts.recursive) throw fsError('EISDIR', 'rm', path);
      for (const k of this.childrenOf(p)) this.entries.delete(k);
    }
    this.entries.delete(p);
  }

  async chmod(path: string, mode: number): Promise<void> {
    this.get(this.resolve(path, 'chmod'), 'chmod', path).mode = mode & 0o7777;
  }

  async symlink(target: string, path: string): Promise<void> {
    const p = this.resolveParent(path, 'symlink');
    this.requireParentDir(p, 'symlink', path);
    if (this.entries.has(p)) throw fsError('EEXIST', 'symlink', path);
    this.entries.set(p, { ...entry('symlink', 0o777), target });
  }

  async chown(path: string, uid: number): Promise<void> {
    this.get(this.resolve(path, 'chown'), 'chown', path).uid = uid;
  }

  private get(p: string, syscall: string, original: string): Entry {
    const e = this.entries.get(p);
    if (!e) throw fsError('ENOENT', syscall, original);
    return e;
  }

  private childrenOf(dir: string): string[] {
    return [...this.entries.keys()].filter((k) => k.startsWith(`${dir}/`));
  }

  private requireParentDir(p: string, syscall: string, original: string): void {
    if (this.get(posix.dirname(p), syscall, original).type !== 'dir') throw fsError('ENOTDIR', syscall, original);
  }

  /** Resolve symlinks in the directory part only (lstat/rename/rm act on the link itself). */
  private resolveParent(path: string, syscall: string): string {
    const p = normalize(path);
    if (p === '/') return p;
    return posix.join(this.resolve(posix.dirname(p), syscall), posix.basename(p));
  }

  /** Follow symlinks in every component. Missing trailing components are returned as they are. */
  private resolve(path: string, syscall: string, depth = 0): string {
    if (depth > MAX_LINK_DEPTH) throw fsError('EINVAL', syscall, path);
    const parts = normalize(path).split('/').filter(Boolean);
    let cur = '/';
    for (let i = 0; i < parts.length; i++) {
      const next = posix.join(cur, parts[i] ?? '');
      const e = this.entries.get(next);
      if (e?.type === 'symlink' && e.target !== undefined) {
        const target = posix.isAbsolute(e.target) ? e.target : posix.join(cur, e.target);
        const rest = parts.slice(i + 1).join('/');
        return this.resolve(rest ? `${target}/${rest}` : target, syscall, depth + 1);
      }
      if (e && e.type !== 'dir' && i < parts.length - 1) throw fsError('ENOTDIR', syscall, path);
      cur = next;
    }
    return cur;
  }
}

function normalize(path: string): string {
  if (!posix.isAbsolute(path)) throw fsError('EINVAL', 'path', path);
  const p = posix.normalize(path);
  return p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p;
}
