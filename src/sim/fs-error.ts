/** Errors shaped like Node's fs errors (`code`, `path`), so callers can treat both SimFs kinds alike. */
export type FsErrorCode = 'ENOENT' | 'EISDIR' | 'EACCES' | 'EEXIST' | 'ENOTDIR' | 'ENOTEMPTY' | 'EINVAL';

const TEXT: Record<FsErrorCode, string> = {
  ENOENT: 'no such file or directory',
  EISDIR: 'illegal operation on a directory',
  EACCES: 'permission denied',
  EEXIST: 'file already exists',
  ENOTDIR: 'not a directory',
  ENOTEMPTY: 'directory not empty',
  EINVAL: 'invalid argument',
};

export function fsError(code: FsErrorCode, syscall: string, path: string): Error & { code: string; path: string } {
  return Object.assign(new Error(`${code}: ${TEXT[code]}, ${syscall} '${path}'`), { code, path, syscall });
}

export function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
