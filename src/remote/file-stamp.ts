/**
 * A file's identity on disk (inode, size, modification and change times, to the nanosecond), so that
 * what was parsed from it can be kept until the file changes; undefined when it cannot be stat'ed (the
 * caller then reads it as usual and reports what reading says).
 */
import { stat } from 'node:fs/promises';

export async function fileStamp(file: string): Promise<string | undefined> {
  try {
    const info = await stat(file, { bigint: true });
    return `${info.ino}:${info.size}:${info.mtimeNs}:${info.ctimeNs}`;
  } catch {
    return undefined;
  }
}
