import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { expandTokens, loadSshConfig } from '../../../src/config/ssh-config-file.js';
import { useTempDirs, userErrorOf } from './temp-files.js';

const tmp = useTempDirs();

function configIn(text: string) {
  const t = tmp();
  t.write('.ssh/config', text);
  return { t, cfg: loadSshConfig({ home: t.dir, env: { SSH_AUTH_SOCK: '/run/a.sock' }, localUser: 'me' }) };
}

describe('expandTokens', () => {
  it('expands the tokens it knows and keeps the others', () => {
    expect(expandTokens('%d/.ssh/%r@%h:%p (%n, %u) 100%% %C', { d: '/home/me', r: 'root', h: '10.0.0.1', p: '22', n: 'n1', u: 'me' })).toBe(
      '/home/me/.ssh/root@10.0.0.1:22 (n1, me) 100% %C',
    );
  });
});

describe('loadSshConfig', () => {
  it('is empty when there is no config', () => {
    const t = tmp();
    const cfg = loadSshConfig({ home: t.dir, env: {}, localUser: 'me' });
    expect(cfg.path).toBeUndefined();
    expect(cfg.lookup('anything')).toEqual({});
  });

  it('types the directives; first value wins; IdentityFile accumulates', () => {
    const { t, cfg } = configIn(
      'Host web*\n  HostName %h.lan\n  Port 2022\n  IdentityFile ~/.ssh/a\n  StrictHostKeyChecking ask\n  ConnectTimeout 2.5\n  IdentityAgent SSH_AUTH_SOCK\nHost *\n  Port 9\n  IdentityFile %d/.ssh/b_%r\n  User ops\n',
    );
    expect(cfg.lookup('web1')).toEqual({
      hostname: 'web1.lan',
      user: 'ops',
      port: 2022,
      identityFiles: [t.path('.ssh/a'), t.path('.ssh/b_ops')],
      strictHostKeyChecking: 'yes',
      connectTimeoutMs: 2500,
      identityAgent: '/run/a.sock',
    });
    // A user given by the caller (the inventory) stands; User ops from the config does not replace it.
    expect(cfg.lookup('db', 'admin')).toEqual({ user: 'admin', port: 9, identityFiles: [t.path('.ssh/b_admin')] });
  });

  it('maps StrictHostKeyChecking off to no and rejects nonsense', async () => {
    expect(configIn('Host a\n  StrictHostKeyChecking off\n').cfg.lookup('a').strictHostKeyChecking).toBe('no');
    const { cfg } = configIn('Host a\n  StrictHostKeyChecking maybe\n');
    const err = await userErrorOf(() => cfg.lookup('a'));
    expect(err.exitCode).toBe(2);
    expect(err.message).toMatch(/StrictHostKeyChecking maybe \(for host a\): expected yes, accept-new, no or ask/);
  });

  it('drops ProxyJump none', () => {
    expect(configIn('Host a\n  ProxyJump none\n').cfg.lookup('a').proxyJump).toBeUndefined();
  });

  it('never runs Match exec commands', () => {
    const { t, cfg } = configIn('');
    const marker = t.path('ran');
    const withExec = configIn(`Match exec "touch ${marker}"\n  Port 1111\n`).cfg;
    expect(withExec.lookup('a').port).toBeUndefined();
    expect(existsSync(marker)).toBe(false);
    expect(cfg.lookup('a')).toEqual({});
  });

  it('rejects an Include loop', async () => {
    const t = tmp();
    t.write('.ssh/config', 'Include other\n');
    t.write('.ssh/other', 'Include config\n');
    const err = await userErrorOf(() => loadSshConfig({ home: t.dir, env: {}, localUser: 'me' }));
    expect(err.exitCode).toBe(2);
    expect(err.message).toMatch(/Include nests deeper than 16 levels/);
  });
});
