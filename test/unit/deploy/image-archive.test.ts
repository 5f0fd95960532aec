import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalImage, checkImageArchive, inspectImageArchive } from '../../../src/deploy/image-archive.js';
import { InputError } from '../../../src/errors.js';
import { tarOf } from '../../support/tar.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ascendctl-archive-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(name: string, data: Buffer | string): Promise<string> {
  const p = join(dir, name);
  await writeFile(p, data);
  return p;
}

const manifest = (tags: string[]) => JSON.stringify([{ Config: 'blobs/sha256/c', RepoTags: tags, Layers: ['blobs/sha256/l'] }]);

async function inputError(p: Promise<unknown>): Promise<InputError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(InputError);
  return err as InputError;
}

describe('canonicalImage', () => {
  it('adds the default registry, library/ and :latest as docker does', () => {
    expect(canonicalImage('ubuntu')).toBe('docker.io/library/ubuntu:latest');
    expect(canonicalImage('ascend/mindie:2.1')).toBe('docker.io/ascend/mindie:2.1');
    expect(canonicalImage('swr.cn-south-1.myhuaweicloud.com/ascendhub/mindie:2.1.RC1')).toBe('swr.cn-south-1.myhuaweicloud.com/ascendhub/mindie:2.1.RC1');
    expect(canonicalImage('localhost:5000/m')).toBe('localhost:5000/m:latest');
  });
});

describe('inspectImageArchive', () => {
  it('finds manifest.json after the layers and reads its tags', async () => {
    const p = await file('ok.tar', tarOf([
      { name: 'blobs/sha256/l', data: Buffer.alloc(70_000, 1) },
      { name: 'manifest.json', data: manifest(['reg.example.com/mindie:2.1', 'mindie:latest']) },
    ]));
    expect(await inspectImageArchive(p)).toEqual({ kind: 'tar', images: ['reg.example.com/mindie:2.1', 'mindie:latest'] });
    await expect(checkImageArchive(p, 'docker.io/library/mindie')).resolves.toMatchObject({ kind: 'tar' });
  });

  it('recognises compressed archives by their magic bytes and lets docker load judge them', async () => {
    const tar = tarOf([{ name: 'manifest.json', data: manifest(['x:1']) }]);
    expect(await inspectImageArchive(await file('a.tar.gz', gzipSync(tar)))).toEqual({ kind: 'gzip' });
    expect(await inspectImageArchive(await file('a.tar.xz', Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 1, 2])))).toEqual({ kind: 'xz' });
    expect(await inspectImageArchive(await file('a.tar.bz2', 'BZh91AY&SY'))).toEqual({ kind: 'bzip2' });
    await expect(checkImageArchive(await file('b.tar.gz', gzipSync(tar)), 'other:2')).resolves.toEqual({ kind: 'gzip' });
  });

  it('refuses what docker load would refuse, naming why', async () => {
    const tar = tarOf([{ name: 'blobs/sha256/l', data: Buffer.alloc(4000, 2) }, { name: 'manifest.json', data: manifest(['m:1']) }]);
    expect((await inputError(inspectImageArchive(await file('cut.tar', tar.subarray(0, 2000))))).message).toMatch(/is truncated/);
    const corrupt = Buffer.from(tar);
    corrupt[0] = 0x41; // the first header's name changes, its checksum no longer matches
    expect((await inputError(inspectImageArchive(await file('bad.tar', corrupt))))).toBeInstanceOf(InputError);
    expect((await inputError(inspectImageArchive(await file('text.txt', 'hello, not a tar'.repeat(40))))).message).toMatch(/is not a tar archive/);
    expect((await inputError(inspectImageArchive(await file('nomanifest.tar', tarOf([{ name: 'a', data: 'b' }]))))).message).toMatch(/has no manifest\.json/);
    expect((await inputError(inspectImageArchive(await file('badjson.tar', tarOf([{ name: 'manifest.json', data: '{' }]))))).message).toMatch(/not JSON/);
    expect((await inputError(inspectImageArchive(join(dir, 'missing.tar')))).message).toMatch(/no such file/);
    expect((await inputError(inspectImageArchive(dir))).message).toMatch(/is a directory/);
    const wrong = await inputError(checkImageArchive(await file('w.tar', tarOf([{ name: 'manifest.json', data: manifest(['a/b:1']) }])), 'c/d:2'));
    expect(wrong.message).toMatch(/holds a\/b:1, not c\/d:2/);
    expect(wrong.hint).toBe(`docker save c/d:2 -o ${join(dir, 'w.tar')}`.replace(/^/, 'save exactly the deployment\'s image: '));
  });
});
