import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DirFs } from '../../harness/dir-fs.js';
import { MemFs } from '../../../src/sim/mem-fs.js';
import type { SimFs } from '../../../src/sim/types.js';

const tmp = mkdtempSync(join(tmpdir(), 'simfs-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const kinds: [string, () => SimFs][] = [
  ['MemFs', () => new MemFs()],
  ['DirFs', () => new DirFs(mkdtempSync(join(tmp, 'root-')))],
];

describe.each(kinds)('%s', (_name, make) => {
  it('writes, reads, stats with modes and owner', async () => {
    const fs = make();
    await fs.mkdir('/etc/x', { recursive: true, mode: 0o750 });
    await fs.writeFile('/etc/x/a.conf', 'one\n', 0o640);
    await fs.writeFile('/etc/x/a.conf', 'one\ntwo\n', 0o600);
    expect((await fs.readFile('/etc/x/a.conf')).toString()).toBe('one\ntwo\n');
    expect(await fs.stat('/etc/x/a.conf')).toMatchObject({ isFile: true, isDirectory: false, isSymlink: false, mode: 0o640, size: 8 });
    expect((await fs.stat('/etc/x'))?.isDirectory).toBe(true);
    expect(await fs.stat('/etc/nope')).toBeUndefined();
    expect(await fs.readdir('/etc/x')).toEqual(['a.conf']);
  });

  it('fails like node fs', async () => {
    const fs = make();
    await expect(fs.readFile('/missing')).rejects.toMatchObject({ code: 'ENOENT' });
    await fs.mkdir('/d');
    await expect(fs.mkdir('/d')).rejects.toMatchObject({ code: 'EEXIST' });
    await expect(fs.readFile('/d')).rejects.toMatchObject({ code: 'EISDIR' });
    await expect(fs.writeFile('/no/such/dir/f', 'x')).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(fs.rm('/missing')).rejects.toMatchObject({ code: 'ENOENT' });
    await fs.rm('/missing', { force: true });
  });

  it('renames, chmods and removes trees', async () => {
    const fs = make();
    await fs.mkdir('/a/b', { recursive: true });
    await fs.writeFile('/a/b/f', 'x');
    await fs.rename('/a/b/f', '/a/g');
    expect(await fs.readdir('/a')).toEqual(['b', 'g']);
    await fs.chmod('/a/g', 0o600);
    expect((await fs.stat('/a/g'))?.mode).toBe(0o600);
    await fs.rename('/a', '/c');
    expect((await fs.readFile('/c/g')).toString()).toBe('x');
    await fs.rm('/c', { recursive: true });
    expect(await fs.stat('/c')).toBeUndefined();
  });
});

describe('MemFs specifics', () => {
  it('reports symlinks with lstat semantics and follows them on read', async () => {
    const fs = new MemFs();
    await fs.mkdir('/data');
    await fs.writeFile('/data/real.json', '{}', 0o640);
    await fs.symlink('/data/real.json', '/data/link.json');
    expect((await fs.stat('/data/link.json'))?.isSymlink).toBe(true);
    expect((await fs.readFile('/data/link.json')).toString()).toBe('{}');
    await fs.chown('/data/real.json', 1000);
    expect((await fs.stat('/data/real.json'))?.uid).toBe(1000);
  });
});

describe('DirFs specifics', () => {
  it('maps node paths under its root', async () => {
    const root = mkdtempSync(join(tmp, 'map-'));
    const fs = new DirFs(root);
    await fs.mkdir('/etc', { recursive: true });
    await fs.writeFile('/etc/hccn.conf', 'address_0=1.2.3.4\n');
    expect(statSync(join(root, 'etc/hccn.conf')).isFile()).toBe(true);
    expect(fs.hostPath('/../../etc/passwd')).toBe(join(root, 'etc/passwd'));
  });
});
