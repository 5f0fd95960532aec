import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  appendKnownHost,
  fingerprintSha256,
  hostFieldMatches,
  hostKeyAlgorithms,
  keyTypeOfBlob,
  knownHostsName,
  matchPattern,
  parseKnownHosts,
  verifyHostKey,
} from '../../../src/remote/known-hosts.js';
import { makeKeyPair } from './ssh-test-server.js';

const hasSshKeygen = ['/usr/bin/ssh-keygen', '/bin/ssh-keygen', '/usr/local/bin/ssh-keygen'].some((p) => existsSync(p));

const a = makeKeyPair();
const b = makeKeyPair();
const line = (hosts: string, blob: Buffer): string => `${hosts} ${keyTypeOfBlob(blob)} ${blob.toString('base64')}`;

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ascendctl-kh-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('fingerprints and names', () => {
  it('formats SHA256 fingerprints as OpenSSH does (no padding)', async () => {
    const fp = fingerprintSha256(a.blob);
    expect(fp).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    if (hasSshKeygen) {
      const pub = join(dir, 'a.pub');
      await writeFile(pub, `ssh-ed25519 ${a.blob.toString('base64')}\n`);
      const out = execFileSync('ssh-keygen', ['-lf', pub, '-E', 'sha256'], { encoding: 'utf8' });
      expect(out.split(' ')[1]).toBe(fp);
    }
  });

  it('uses [host]:port for ports other than 22 and lower-cases names', () => {
    expect(knownHostsName('Node1.Example', 22)).toBe('node1.example');
    expect(knownHostsName('10.0.0.3', 2222)).toBe('[10.0.0.3]:2222');
  });

  it('reads the key type out of the blob', () => {
    expect(keyTypeOfBlob(a.blob)).toBe('ssh-ed25519');
    expect(keyTypeOfBlob(Buffer.from([0, 0, 0, 99]))).toBe('');
  });
});

describe('host patterns', () => {
  it('matches * and ? wildcards over the whole name', () => {
    expect(matchPattern('node12.rack', 'node*.rack')).toBe(true);
    expect(matchPattern('node12.rack', 'node?.rack')).toBe(false);
    expect(matchPattern('node1.rack', 'node?.rack')).toBe(true);
    expect(matchPattern('xnode1', 'node*')).toBe(false);
    expect(matchPattern('10.0.0.3', '10.0.*.*')).toBe(true);
    expect(matchPattern('abc', '*')).toBe(true);
    expect(matchPattern('abc', 'a*c*')).toBe(true);
    expect(matchPattern('NODE1', 'node1')).toBe(true);
  });

  it('handles comma lists, negation and [host]:port', () => {
    expect(hostFieldMatches('node1,10.0.0.1', '10.0.0.1', 22)).toBe(true);
    expect(hostFieldMatches('node*,!node3', 'node3', 22)).toBe(false);
    expect(hostFieldMatches('node*,!node3', 'node4', 22)).toBe(true);
    expect(hostFieldMatches('[10.0.0.3]:2222', '10.0.0.3', 2222)).toBe(true);
    expect(hostFieldMatches('10.0.0.3', '10.0.0.3', 2222)).toBe(false);
    expect(hostFieldMatches('[10.0.0.3]:2222', '10.0.0.3', 22)).toBe(false);
    expect(hostFieldMatches('[10.0.0.*]:2222', '10.0.0.9', 2222)).toBe(true);
  });

  it.skipIf(!hasSshKeygen)('matches entries hashed by ssh-keygen -H, plain and [host]:port', async () => {
    const file = join(dir, 'known_hosts');
    await writeFile(file, `${line('10.1.2.3', a.blob)}\n${line('[127.0.0.1]:2200', b.blob)}\n`);
    execFileSync('ssh-keygen', ['-H', '-f', file], { stdio: 'ignore' });
    const entries = parseKnownHosts(await readFile(file, 'utf8'));
    expect(entries).toHaveLength(2);
    expect(entries.every((e) => e.hosts.startsWith('|1|'))).toBe(true);
    expect(hostFieldMatches(entries[0]?.hosts ?? '', '10.1.2.3', 22)).toBe(true);
    expect(hostFieldMatches(entries[0]?.hosts ?? '', '10.1.2.4', 22)).toBe(false);
    expect(hostFieldMatches(entries[1]?.hosts ?? '', '127.0.0.1', 2200)).toBe(true);
    expect(hostFieldMatches(entries[1]?.hosts ?? '', '127.0.0.1', 22)).toBe(false);
    expect(await verifyHostKey(file, '127.0.0.1', 2200, b.blob, 'yes')).toMatchObject({ ok: true });
  });
});

describe('parseKnownHosts', () => {
  it('keeps line numbers, markers, and skips comments and corrupt lines', () => {
    const text = [
      '# comment',
      '',
      line('node1', a.blob),
      `@revoked ${line('node2', b.blob)}`,
      `@cert-authority ${line('*.rack', a.blob)}`,
      'node3 ssh-ed25519 !!!notbase64',
      `node4 ssh-rsa ${a.blob.toString('base64')}`, // type does not match the blob
      `@bogus ${line('node5', a.blob)}`,
    ].join('\n');
    const entries = parseKnownHosts(text);
    expect(entries.map((e) => [e.line, e.marker, e.hosts])).toEqual([
      [3, undefined, 'node1'],
      [4, 'revoked', 'node2'],
      [5, 'cert-authority', '*.rack'],
    ]);
  });
});

describe('verifyHostKey', () => {
  it('accepts a recorded key and refuses an unknown one under yes', async () => {
    const file = join(dir, 'known_hosts');
    await writeFile(file, `${line('node1', a.blob)}\n`);
    expect(await verifyHostKey(file, 'node1', 22, a.blob, 'yes')).toMatchObject({ ok: true, added: false });
    const v = await verifyHostKey(file, 'node2', 22, a.blob, 'yes');
    expect(v).toEqual({ ok: false, reason: 'unknown', fingerprint: fingerprintSha256(a.blob), keyType: 'ssh-ed25519' });
  });

  it('reads the file again when it changed since the last connection (parsed once per content)', async () => {
    const file = join(dir, 'known_hosts');
    await writeFile(file, `${line('node1', a.blob)}\n`);
    expect(await verifyHostKey(file, 'node1', 22, a.blob, 'yes')).toMatchObject({ ok: true });
    // The same length, rewritten at once: a new key for node1 must be seen, not the parsed old one.
    await writeFile(file, `${line('node1', b.blob)}\n`);
    expect(await verifyHostKey(file, 'node1', 22, a.blob, 'yes')).toMatchObject({ ok: false, reason: 'changed' });
    expect(await verifyHostKey(file, 'node1', 22, b.blob, 'yes')).toMatchObject({ ok: true });
    await rm(file);
    expect(await verifyHostKey(file, 'node1', 22, b.blob, 'yes')).toMatchObject({ ok: false, reason: 'unknown' });
  });

  it('treats a missing file as empty', async () => {
    const v = await verifyHostKey(join(dir, 'nope'), 'node1', 22, a.blob, 'yes');
    expect(v).toMatchObject({ ok: false, reason: 'unknown' });
  });

  it('reports a changed key with the file, line and old fingerprint, even under accept-new', async () => {
    const file = join(dir, 'known_hosts');
    await writeFile(file, `# header\n${line('other', b.blob)}\n${line('[node1]:2222', a.blob)}\n`);
    for (const policy of ['yes', 'accept-new'] as const) {
      const v = await verifyHostKey(file, 'node1', 2222, b.blob, policy);
      expect(v).toEqual({
        ok: false,
        reason: 'changed',
        fingerprint: fingerprintSha256(b.blob),
        keyType: 'ssh-ed25519',
        expected: { file, line: 3, keyType: 'ssh-ed25519', fingerprint: fingerprintSha256(a.blob) },
      });
    }
    expect(await readFile(file, 'utf8')).not.toContain('[node1]:2222 ssh-ed25519 ' + b.blob.toString('base64'));
  });

  it('refuses a @revoked key and ignores @cert-authority lines', async () => {
    const file = join(dir, 'known_hosts');
    await writeFile(file, `@cert-authority ${line('node1', b.blob)}\n@revoked ${line('node*', a.blob)}\n${line('node1', a.blob)}\n`);
    expect(await verifyHostKey(file, 'node1', 22, a.blob, 'yes')).toMatchObject({
      ok: false,
      reason: 'revoked',
      expected: { line: 2 },
    });
    // The CA line names b for node1 but must not make b acceptable: against line 3 it is a change.
    expect(await verifyHostKey(file, 'node1', 22, b.blob, 'yes')).toMatchObject({ ok: false, reason: 'changed', expected: { line: 3 } });
  });

  it('accept-new records an unknown host in [host]:port form, creating dir 700 and file 600', async () => {
    const file = join(dir, 'ssh', 'known_hosts');
    const v = await verifyHostKey(file, '127.0.0.1', 2200, a.blob, 'accept-new');
    expect(v).toMatchObject({ ok: true, added: true });
    expect(await readFile(file, 'utf8')).toBe(`[127.0.0.1]:2200 ssh-ed25519 ${a.blob.toString('base64')}\n`);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'ssh'))).mode & 0o777).toBe(0o700);
    expect(await verifyHostKey(file, '127.0.0.1', 2200, a.blob, 'yes')).toMatchObject({ ok: true, added: false });
  });

  it('appends on a new line when the file lacks a final newline, and uses the bare name on port 22', async () => {
    const file = join(dir, 'known_hosts');
    await writeFile(file, line('node1', a.blob));
    await appendKnownHost(file, 'node2', 22, b.blob);
    const entries = parseKnownHosts(await readFile(file, 'utf8'));
    expect(entries.map((e) => e.hosts)).toEqual(['node1', 'node2']);
  });

  it('no accepts anything without reading the file', async () => {
    const file = join(dir, 'known_hosts');
    await writeFile(file, `${line('node1', a.blob)}\n`);
    expect(await verifyHostKey(file, 'node1', 22, b.blob, 'no')).toMatchObject({ ok: true, added: false });
    expect(await readFile(file, 'utf8')).toBe(`${line('node1', a.blob)}\n`);
  });

  it('treats a known key of another type only as unknown, like ssh(1)', async () => {
    const file = join(dir, 'known_hosts');
    const rsaLike = Buffer.concat([Buffer.from([0, 0, 0, 7]), Buffer.from('ssh-rsa'), Buffer.from([0, 0, 0, 1, 1])]);
    await writeFile(file, `${line('node1', rsaLike)}\n`);
    expect(await verifyHostKey(file, 'node1', 22, a.blob, 'yes')).toMatchObject({ ok: false, reason: 'unknown' });
  });
});

describe('hostKeyAlgorithms: the recorded key types first, as ssh(1) orders them', () => {
  it('an RSA entry puts the three RSA signature algorithms first; no entry keeps the default order; no reads nothing', async () => {
    const d = await mkdtemp(join(tmpdir(), 'ascendctl-hka-'));
    const kh = join(d, 'known_hosts');
    await writeFile(kh, '[10.0.0.1]:2222 ssh-rsa AAAAB3NzaC1yc2E=\nother ecdsa-sha2-nistp256 AAAA=\n');
    expect((await hostKeyAlgorithms(kh, '10.0.0.1', 2222, 'yes')).slice(0, 4)).toEqual(['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa', 'ssh-ed25519']);
    expect((await hostKeyAlgorithms(kh, '10.0.0.2', 22, 'yes'))[0]).toBe('ssh-ed25519');
    expect((await hostKeyAlgorithms(join(d, 'missing'), '10.0.0.1', 2222, 'accept-new'))[0]).toBe('ssh-ed25519');
    expect((await hostKeyAlgorithms(kh, '10.0.0.1', 2222, 'no'))[0]).toBe('ssh-ed25519');
  });
});
