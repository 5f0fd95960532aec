/**
 * A SimFs over a real directory prefix: `new DirFs('/proc/1234/root')` shows a node's mount namespace
 * as its sshd sees it, so files the simulator writes are what a real `cat` on that node reads (the
 * test rig's `--fs dir:…`).
 */
import { promises as fsp } from 'node:fs';
import { posix } from 'node:path';
import type { SimFs, SimStat } from '../../src/sim/types.js';
import { errorCode, fsError } from '../../src/sim/fs-error.js';

export class DirFs implements SimFs {
  constructor(readonly root: string) {}

  /** The host path of a node path; `..` cannot climb above the root. */
  hostPath(path: string): string {
    if (!posix.isAbsolute(path)) throw fsError('EINVAL', 'path', path);
    const inner = posix.normalize(path);
    return this.root === '/' ? inner : posix.join(this.root, inner);
  }

  async readFile(path: string): Promise<Buffer> {
    return fsp.readFile(this.hostPath(path));
  }

  async writeFile(path: string, data: string | Buffer, mode?: number): Promise<void> {
    await fsp.writeFile(this.hostPath(path), data, { mode: mode ?? 0o644 });
  }

  async stat(path: string): Promise<SimStat | undefined> {
    try {
      const st = await fsp.lstat(this.hostPath(path));
      const { uid, size, mtimeMs } = st;
      const mode = st.mode & 0o7777;
      return { isFile: st.isFile(), isDirectory: st.isDirectory(), isSymlink: st.isSymbolicLink(), mode, uid, size,
        mtimeMs };
    } catch (err) {
      if (errorCode(err) === 'ENOENT' || errorCode(err) === 'ENOTDIR') return undefined;
      throw err;
    }
  }

  async mkdir(path: string, opts: { recursive?: boolean; mode?: number } = {}): Promise<void> {
    const host = this.hostPath(path);
    const existed = await this.stat(path);
    await fsp.mkdir(host, { recursive: opts.recursive ?? false, mode: opts.mode ?? 0o755 });
    // mkdir(2) applies the umask; the callers (mkdir -m, install -d) ask for an exact mode.
    if (!existed && opts.mode !== undefined) await fsp.chmod(host, opts.mode);
  }

  async readdir(path: string): Promise<string[]> {
    return (await fsp.readdir(this.hostPath(path))).sort();
  }

  async rename(from: string, to: string): Promise<void> {
    await fsp.rename(this.hostPath(from), this.hostPath(to));
  }

  async rm(path: string, opts: { recursive?: boolean; force?: boolean } = {}): Promise<void> {
    const st = await this.stat(path);
    if (st?.isDirectory && !opts.recursive) throw fsError('EISDIR', 'rm', path);
    await fsp.rm(this.hostPath(path), { recursive: opts.recursive ?? false, force: opts.force ?? false });
  }

  async chmod(path: string, mode: number): Promise<void> {
    await fsp.chmod(this.hostPath(path), mode);
  }

  /** A real symlink in the node's tree, so that a real `stat` on the node sees it. */
  async symlink(target: string, path: string): Promise<void> {
    await fsp.symlink(target, this.hostPath(path));
  }

  /** A real lchown (needs root, as the sshd cluster tests run). */
  async chown(path: string, uid: number): Promise<void> {
    await fsp.lchown(this.hostPath(path), uid, -1);
  }
}
