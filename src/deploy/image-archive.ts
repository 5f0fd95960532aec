/**
 * `--image-archive FILE` is checked on this machine before a byte of it crosses the network: a
 * 20 GB tarball streamed to every node only for `docker load` to say "unexpected EOF" or to load some
 * other image costs an hour on an air-gapped rack. A plain `docker save` tar is read header by header
 * (seeking over the layers, so a large archive costs milliseconds) to find manifest.json and the
 * image names it carries. A compressed archive (docker load takes gzip, bzip2, xz) is only recognised
 * by its magic bytes: its names cannot be read without decompressing all of it.
 */
import { open, stat } from 'node:fs/promises';
import { InputError } from '../errors.js';

const BLOCK = 512;

export type ArchiveKind = 'tar' | 'gzip' | 'bzip2' | 'xz' | 'zstd';

export interface ArchiveInfo {
  kind: ArchiveKind;
  /** RepoTags of manifest.json (plain tar only; undefined when they cannot be read without decompressing). */
  images?: string[];
}

/** docker's reference normalisation, enough to compare names: default registry, library/, :latest. */
export function canonicalImage(ref: string): string {
  let r = ref.trim();
  if (!r.includes('@')) {
    const slash = r.lastIndexOf('/');
    if (!r.slice(slash + 1).includes(':')) r = `${r}:latest`;
  }
  const first = r.split('/')[0]!;
  const hasRegistry = r.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
  if (!hasRegistry) r = `docker.io/${r.includes('/') ? r : `library/${r}`}`;
  return r;
}

/** Read what the archive is and (for a plain tar) which images it holds. Bad input → InputError (exit 2). */
export async function inspectImageArchive(file: string): Promise<ArchiveInfo> {
  const bad = (why: string, hint = 'pass the tarball written by docker save IMAGE -o FILE (optionally gzip-compressed)'): never => {
    throw new InputError(`--image-archive ${file}: ${why}`, { hint });
  };
  const st = await stat(file).catch((err: NodeJS.ErrnoException) => bad(err.code === 'ENOENT' ? 'no such file' : `cannot be read (${err.code ?? err.message})`));
  if (st.isDirectory()) bad('is a directory');
  if (!st.isFile()) bad('is not a regular file');
  if (st.size === 0) bad('is empty');
  const fh = await open(file, 'r').catch((err: NodeJS.ErrnoException) => bad(`cannot be read (${err.code ?? err.message})`));
  try {
    const head = Buffer.alloc(BLOCK);
    const { bytesRead } = await fh.read(head, 0, BLOCK, 0);
    const magic = compressed(head.subarray(0, bytesRead));
    if (magic) return { kind: magic };
    if (bytesRead < BLOCK || !validHeader(head)) bad('is not a tar archive (nor gzip, bzip2, xz or zstd)');

    let offset = 0;
    for (;;) {
      const header = Buffer.alloc(BLOCK);
      const got = (await fh.read(header, 0, BLOCK, offset)).bytesRead;
      if (got < BLOCK) bad(`is truncated (it ends inside the tar entry at byte ${offset})`, 'copy the archive again and compare its checksum with the source');
      if (header.every((b) => b === 0)) break; // end-of-archive marker
      if (!validHeader(header)) bad(`is corrupt (a bad tar header at byte ${offset})`, 'copy the archive again and compare its checksum with the source');
      const name = entryName(header);
      const size = octal(header.subarray(124, 136));
      const dataAt = offset + BLOCK;
      if (dataAt + size > st.size) bad(`is truncated (${name} needs ${size} bytes, the file ends ${st.size - dataAt} bytes in)`, 'copy the archive again and compare its checksum with the source');
      if (name === 'manifest.json' || name === './manifest.json') {
        const body = Buffer.alloc(size);
        await fh.read(body, 0, size, dataAt);
        return { kind: 'tar', images: repoTags(body.toString('utf8'), bad) };
      }
      offset = dataAt + Math.ceil(size / BLOCK) * BLOCK;
      if (offset >= st.size) break;
    }
    return bad('has no manifest.json: not an image archive written by docker save');
  } finally {
    await fh.close();
  }
}

/** Throws unless the archive can hold `image` (a compressed one is given the benefit of the doubt). */
export async function checkImageArchive(file: string, image: string): Promise<ArchiveInfo> {
  const info = await inspectImageArchive(file);
  if (info.images === undefined) return info;
  const want = canonicalImage(image);
  if (!info.images.some((t) => canonicalImage(t) === want)) {
    throw new InputError(
      `--image-archive ${file}: holds ${info.images.length ? info.images.join(', ') : 'no tagged image'}, not ${image}`,
      { hint: `save exactly the deployment's image: docker save ${image} -o ${file}` },
    );
  }
  return info;
}

function compressed(b: Buffer): ArchiveKind | undefined {
  if (b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b) return 'gzip';
  if (b.length >= 3 && b.subarray(0, 3).toString('latin1') === 'BZh') return 'bzip2';
  if (b.length >= 6 && b.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'xz';
  if (b.length >= 4 && b.subarray(0, 4).equals(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))) return 'zstd';
  return undefined;
}

/** POSIX header checksum: the sum of all bytes with the checksum field read as spaces. */
function validHeader(h: Buffer): boolean {
  const stored = octal(h.subarray(148, 156));
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
  return Number.isFinite(stored) && stored === sum;
}

function octal(field: Buffer): number {
  const text = field.toString('latin1').replace(/\0.*$/s, '').trim();
  if (text === '') return 0;
  return /^[0-7]+$/.test(text) ? parseInt(text, 8) : Number.NaN;
}

function entryName(h: Buffer): string {
  const cstr = (b: Buffer) => b.toString('utf8').replace(/\0.*$/s, '');
  const name = cstr(h.subarray(0, 100));
  const prefix = h.subarray(257, 262).toString('latin1') === 'ustar' ? cstr(h.subarray(345, 500)) : '';
  return prefix ? `${prefix}/${name}` : name;
}

function repoTags(text: string, bad: (why: string) => never): string[] {
  let manifest: unknown;
  try {
    manifest = JSON.parse(text);
  } catch {
    return bad('has a manifest.json that is not JSON');
  }
  if (!Array.isArray(manifest)) return bad('has a manifest.json that is not a list of images');
  return manifest.flatMap((m: unknown) => {
    const tags = (m as { RepoTags?: unknown } | null)?.RepoTags;
    return Array.isArray(tags) ? tags.filter((t): t is string => typeof t === 'string') : [];
  });
}
