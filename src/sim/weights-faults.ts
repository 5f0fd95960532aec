/**
 * How the weights-*, hbm-held and shm-leftover faults change a simulated node: real changes to the
 * node's files (mode, owner, a symlink into a model-cache blob directory, a file in /dev/shm), so that
 * `stat`, `find` and the MindIE daemon see them whether the node's files live in memory or in a real
 * directory tree (sshd cluster tests).
 */
import { posix } from 'node:path';
import type { SimFault, SimFs } from './types.js';

/** Where a weights-symlink fault keeps the real file, as a Hugging Face cache keeps `blobs/`. */
const BLOB_DIR = '.cache/blobs';
const DEFAULT_SHM_FILE = 'llm_tokenizer_shared_memory_0';

/** The model directory as `writeModels` creates it: mode 750, owned by root. */
export async function resetModelDir(fs: SimFs, dir: string): Promise<void> {
  await fs.chmod(dir, 0o750);
  const st = await fs.stat(dir);
  if (st && st.uid !== 0) await fs.chown(dir, 0);
}

export async function applyWeightsFaults(fs: SimFs, dir: string, faults: readonly SimFault[]): Promise<void> {
  for (const f of faults) {
    if (f.kind !== 'weights-mode' && f.kind !== 'weights-owner' && f.kind !== 'weights-symlink') continue;
    const target = f.file === '.' ? dir : posix.join(dir, f.file);
    if (!(await fs.stat(target))) continue; // the model has no such file: nothing to break
    if (f.kind === 'weights-mode') await fs.chmod(target, f.mode);
    else if (f.kind === 'weights-owner') await fs.chown(target, f.uid);
    else {
      const blob = posix.join(dir, BLOB_DIR, f.file.replace(/\//g, '_'));
      await fs.mkdir(posix.dirname(blob), { recursive: true, mode: 0o750 });
      await fs.rm(blob, { force: true });
      await fs.writeFile(blob, await fs.readFile(target), 0o640);
      await fs.rm(target, { force: true });
      // Relative, as the cache's `snapshots/<rev>/config.json -> ../../blobs/<sha>`: it resolves the same
      // from inside the node and through the simulator's view of its tree.
      await fs.symlink(posix.relative(posix.dirname(target), blob), target);
    }
  }
}

/**
 * Create the /dev/shm files the shm-leftover faults ask for (writeFiles made the directory), remove the
 * ones an earlier fault list created; returns what now exists.
 */
export async function syncShmFiles(fs: SimFs, faults: readonly SimFault[], created: ReadonlySet<string>) {
  const shm = faults.flatMap((f) => (f.kind === 'shm-leftover' ? [f.file ?? DEFAULT_SHM_FILE] : []));
  const wanted = shm.map((file) => posix.join('/dev/shm', file));
  for (const p of created) if (!wanted.includes(p)) await fs.rm(p, { force: true });
  for (const p of wanted) await fs.writeFile(p, Buffer.alloc(4096), 0o600);
  return new Set(wanted);
}
