/**
 * OpenSSH known_hosts, read and (for accept-new) appended, with the same matching rules as ssh(1):
 * plain and hashed host fields, `[host]:port` for ports other than 22, comma lists, `*`/`?` wildcards,
 * `!` negation, `@revoked` (refuse) and `@cert-authority` (ignored: we never accept host certificates).
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { mkdir, open, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { StrictHostKeyChecking } from './endpoint.js';
import { fileStamp } from './file-stamp.js';

export interface KnownHostEntry {
  /** 1-based line number in the file. */
  line: number;
  marker: 'revoked' | 'cert-authority' | undefined;
  /** The host field as written (comma list or `|1|salt|hash`). */
  hosts: string;
  keyType: string;
  keyBlob: Buffer;
}

export interface KnownKeyRef {
  file: string;
  line: number;
  keyType: string;
  fingerprint: string;
}

export type HostKeyVerdict =
  | { ok: true; fingerprint: string; keyType: string; /** True when accept-new recorded the key. */ added: boolean }
  | {
      ok: false;
      reason: 'unknown' | 'changed' | 'revoked';
      fingerprint: string;
      keyType: string;
      /** For `changed`: the key on record; for `revoked`: the @revoked line. */
      expected?: KnownKeyRef;
    };

/** OpenSSH fingerprint form: `SHA256:` + unpadded base64 of the key blob's SHA-256. */
export function fingerprintSha256(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

/** The key type named inside an SSH wire-format public key blob (its first string). */
export function keyTypeOfBlob(keyBlob: Buffer): string {
  if (keyBlob.length < 4) return '';
  const len = keyBlob.readUInt32BE(0);
  if (len > keyBlob.length - 4) return '';
  return keyBlob.subarray(4, 4 + len).toString('latin1');
}

/** The name ssh(1) looks up: `host` on port 22, `[host]:port` otherwise. */
export function knownHostsName(host: string, port: number): string {
  const h = host.toLowerCase();
  return port === 22 ? h : `[${h}]:${port}`;
}

export function parseKnownHosts(text: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = (lines[i] ?? '').trim();
    if (raw === '' || raw.startsWith('#')) continue;
    const fields = raw.split(/\s+/);
    let marker: KnownHostEntry['marker'];
    if (fields[0]?.startsWith('@')) {
      const m = fields.shift();
      if (m === '@revoked') marker = 'revoked';
      else if (m === '@cert-authority') marker = 'cert-authority';
      else continue; // unknown markers are skipped by ssh(1) too
    }
    const [hosts, keyType, keyB64] = fields;
    if (hosts === undefined || keyType === undefined || keyB64 === undefined) continue;
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(keyB64)) continue;
    const keyBlob = Buffer.from(keyB64, 'base64');
    if (keyTypeOfBlob(keyBlob) !== keyType) continue; // a corrupt line must not match anything
    entries.push({ line: i + 1, marker, hosts, keyType, keyBlob });
  }
  return entries;
}

/** OpenSSH `match_pattern`: `*` any run, `?` one character; whole-string, case-insensitive. */
export function matchPattern(name: string, pattern: string): boolean {
  const s = name.toLowerCase();
  const p = pattern.toLowerCase();
  // Iterative glob with single-star backtracking: linear enough for host names, no regex escaping.
  let si = 0;
  let pi = 0;
  let starP = -1;
  let starS = 0;
  while (si < s.length) {
    const pc = p[pi];
    if (pc === '?' || (pc !== undefined && pc !== '*' && pc === s[si])) {
      si++;
      pi++;
    } else if (pc === '*') {
      starP = pi++;
      starS = si;
    } else if (starP >= 0) {
      pi = starP + 1;
      si = ++starS;
    } else {
      return false;
    }
  }
  while (p[pi] === '*') pi++;
  return pi === p.length;
}

function matchHashed(field: string, name: string): boolean {
  const parts = field.split('|');
  // `|1|salt|hash` splits into ['', '1', salt, hash]
  if (parts.length !== 4 || parts[1] !== '1') return false;
  const salt = Buffer.from(parts[2] ?? '', 'base64');
  const want = Buffer.from(parts[3] ?? '', 'base64');
  const got = createHmac('sha1', salt).update(name).digest();
  return want.length === got.length && timingSafeEqual(want, got);
}

/** Does a known_hosts host field name this host? A matching `!pattern` excludes the line. */
export function hostFieldMatches(field: string, host: string, port: number): boolean {
  const name = knownHostsName(host, port);
  if (field.startsWith('|')) return matchHashed(field, name);
  let positive = false;
  for (const pat of field.split(',')) {
    if (pat === '') continue;
    if (pat.startsWith('!')) {
      if (matchPattern(name, pat.slice(1))) return false;
    } else if (matchPattern(name, pat)) {
      positive = true;
    }
  }
  return positive;
}

/** Same key: same type and same blob. */
function sameKey(entry: KnownHostEntry, keyType: string, keyBlob: Buffer): boolean {
  return entry.keyType === keyType && entry.keyBlob.equals(keyBlob);
}

/** Judge a host key against the entries of one file (pure; `verifyHostKey` adds file I/O). */
export function judgeHostKey(
  entries: readonly KnownHostEntry[],
  host: string,
  port: number,
  keyBlob: Buffer,
): { verdict: 'known' | 'unknown' | 'changed' | 'revoked'; entry?: KnownHostEntry } {
  const keyType = keyTypeOfBlob(keyBlob);
  const matching = entries.filter((e) => e.marker !== 'cert-authority' && hostFieldMatches(e.hosts, host, port));
  const revoked = matching.find((e) => e.marker === 'revoked' && sameKey(e, keyType, keyBlob));
  if (revoked) return { verdict: 'revoked', entry: revoked };
  const plain = matching.filter((e) => e.marker === undefined);
  const known = plain.find((e) => sameKey(e, keyType, keyBlob));
  if (known) return { verdict: 'known', entry: known };
  // Like ssh(1): a different key of the *same* type is a change; only other types known is "new".
  const changed = plain.find((e) => e.keyType === keyType);
  if (changed) return { verdict: 'changed', entry: changed };
  return { verdict: 'unknown' };
}

/** The parsed file as last read, by path: a run verifies every node against the same file. */
const parsedFiles = new Map<string, { stamp: string; entries: KnownHostEntry[] }>();

/**
 * The file's entries (none when it does not exist). Parsed once per content: every connection of a
 * 256-node run reads the same 256-line file, and it is read again only when it changed on disk (its
 * inode, size or modification time), e.g. after this run added a host under accept-new.
 */
async function knownHostEntries(file: string): Promise<KnownHostEntry[]> {
  const stamp = await fileStamp(file);
  const cached = parsedFiles.get(file);
  if (stamp !== undefined && cached?.stamp === stamp) return cached.entries;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const entries = parseKnownHosts(text);
  if (stamp !== undefined) parsedFiles.set(file, { stamp, entries });
  return entries;
}

/** Host key algorithms a client offers, in ssh2's default order. */
const HOST_KEY_ALGORITHMS = [
  'ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa',
] as const;
export type HostKeyAlgorithm = (typeof HOST_KEY_ALGORITHMS)[number];

/**
 * The host key algorithms to offer `host`, those of the key types recorded for it first, as ssh(1)
 * orders them: a server with an ECDSA and an ed25519 key, recorded by its ECDSA key, then shows that
 * key, and a changed one is caught as changed instead of passing as a new key of another type (which
 * accept-new would record). `no` reads nothing and keeps the default order.
 */
export async function hostKeyAlgorithms(
  file: string, host: string, port: number, policy: StrictHostKeyChecking,
): Promise<HostKeyAlgorithm[]> {
  if (policy === 'no') return [...HOST_KEY_ALGORITHMS];
  const entries = await knownHostEntries(file).catch(() => [] as KnownHostEntry[]);
  const types = new Set(entries.filter((e) => e.marker === undefined && hostFieldMatches(e.hosts, host, port)).map((e) => e.keyType));
  // An RSA key is recorded as ssh-rsa and shown under any of the three RSA signature algorithms.
  const recorded = (a: HostKeyAlgorithm): boolean => types.has(a.startsWith('rsa-sha2-') ? 'ssh-rsa' : a);
  return [...HOST_KEY_ALGORITHMS.filter(recorded), ...HOST_KEY_ALGORITHMS.filter((a) => !recorded(a))];
}

/**
 * Append `name keytype base64` as one O_APPEND write, so concurrent accept-new for different nodes
 * cannot interleave within a line. Creates the directory (700) and file (600) like ssh(1).
 */
export async function appendKnownHost(file: string, host: string, port: number, keyBlob: Buffer): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const fh = await open(file, 'a+', 0o600);
  try {
    const { size } = await fh.stat();
    let prefix = '';
    if (size > 0) {
      const last = Buffer.alloc(1);
      await fh.read(last, 0, 1, size - 1);
      if (last[0] !== 0x0a) prefix = '\n';
    }
    const line = `${prefix}${knownHostsName(host, port)} ${keyTypeOfBlob(keyBlob)} ${keyBlob.toString('base64')}\n`;
    await fh.appendFile(line);
  } finally {
    await fh.close();
  }
}

/**
 * Check the key a server offered. `yes`: only recorded keys pass; `accept-new`: an unknown host is
 * recorded and passes, a changed key never does; `no`: everything passes and nothing is read.
 */
export async function verifyHostKey(
  file: string,
  host: string,
  port: number,
  keyBlob: Buffer,
  policy: StrictHostKeyChecking,
): Promise<HostKeyVerdict> {
  const fingerprint = fingerprintSha256(keyBlob);
  const keyType = keyTypeOfBlob(keyBlob);
  if (policy === 'no') return { ok: true, fingerprint, keyType, added: false };
  const entries = await knownHostEntries(file);
  const { verdict, entry } = judgeHostKey(entries, host, port, keyBlob);
  const ref = (e: KnownHostEntry): KnownKeyRef => ({
    file,
    line: e.line,
    keyType: e.keyType,
    fingerprint: fingerprintSha256(e.keyBlob),
  });
  switch (verdict) {
    case 'known':
      return { ok: true, fingerprint, keyType, added: false };
    case 'revoked':
    case 'changed':
      return { ok: false, reason: verdict, fingerprint, keyType, ...(entry ? { expected: ref(entry) } : {}) };
    case 'unknown':
      if (policy === 'accept-new') {
        await appendKnownHost(file, host, port, keyBlob);
        return { ok: true, fingerprint, keyType, added: true };
      }
      return { ok: false, reason: 'unknown', fingerprint, keyType };
  }
}
