/**
 * A minimal ustar reader for `docker load`: enough to find `manifest.json` at the top of an image archive
 * (`docker save` writes it under its plain name); a header whose checksum does not add up is refused.
 */

export interface TarEntry {
  name: string;
  data: Buffer;
}

export class TarError extends Error {}

function cString(buf: Buffer, start: number, len: number): string {
  const slice = buf.subarray(start, start + len);
  const nul = slice.indexOf(0);
  return slice.subarray(0, nul < 0 ? slice.length : nul).toString('utf8');
}

function octal(buf: Buffer, start: number, len: number): number {
  const text = cString(buf, start, len).trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw new TarError(`invalid tar header: size field ${JSON.stringify(text)}`);
  return parseInt(text, 8);
}

export function readTar(archive: Buffer): TarEntry[] {
  const entries: TarEntry[] = [];
  for (let offset = 0; offset + 512 <= archive.length;) {
    const header = archive.subarray(offset, offset + 512);
    if (header.every((b) => b === 0)) break;
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : header[i]!;
    if (sum !== octal(header, 148, 8)) throw new TarError('archive/tar: invalid tar header');
    const size = octal(header, 124, 12);
    const dataStart = offset + 512;
    if (dataStart + size > archive.length) throw new TarError('unexpected EOF');
    const name = cString(header, 0, 100).replace(/^\.\//, '');
    entries.push({ name, data: archive.subarray(dataStart, dataStart + size) });
    offset = dataStart + Math.ceil(size / 512) * 512;
  }
  return entries;
}
