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

/** Build a ustar archive (the tests' `docker save`). */
export function writeTar(files: { name: string; data: string | Buffer }[]): Buffer {
  const blocks: Buffer[] = [];
  for (const f of files) {
    const data = typeof f.data === 'string' ? Buffer.from(f.data) : f.data;
    const header = Buffer.alloc(512);
    header.write(f.name, 0, 100, 'utf8');
    const octal12 = (n: number): string => `${n.toString(8).padStart(11, '0')}\0`;
    // mode, uid, gid, size, mtime, checksum (blank while summed), type (file), magic, version.
    const fields: [number, string][] = [[100, '0000644\0'], [108, '0000000\0'], [116, '0000000\0'],
      [124, octal12(data.length)], [136, octal12(Math.floor(Date.now() / 1000))], [148, '        '], [156, '0'],
      [257, 'ustar\0'], [263, '00']];
    for (const [offset, text] of fields) header.write(text, offset, 'ascii');
    let sum = 0;
    for (const b of header) sum += b;
    header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'ascii');
    blocks.push(header, data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}
