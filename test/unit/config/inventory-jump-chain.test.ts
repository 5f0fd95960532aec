import { describe, expect, it } from 'vitest';
import { loadInventory, parseJumpChain, type Inventory, type ResolvedJumpHost } from '../../../src/config/inventory.js';
import { jumpChain, jumpSpec, sshCommand } from '../../../src/remote/endpoint.js';
import { useTempDirs, userErrorOf, type TempDir } from './temp-files.js';

const tmp = useTempDirs();

function setup(inventory: string, sshConfig?: string): TempDir {
  const t = tmp();
  t.write('.ssh/known_hosts', '');
  if (sshConfig !== undefined) t.write('.ssh/config', sshConfig);
  t.write('inv.yaml', inventory);
  return t;
}

function load(t: TempDir): Promise<Inventory> {
  return loadInventory('inv.yaml', { cwd: t.dir, home: t.dir, env: { USER: 'alice' } });
}

/** The hops as `user@hostname:port`, first hop first. */
function hops(n: { jumpHost?: ResolvedJumpHost }): string[] {
  return jumpChain<ResolvedJumpHost>(n).map((h) => `${h.user}@${h.hostname}:${h.port}`);
}

describe('parseJumpChain', () => {
  it('splits a comma list into hops, first hop first', () => {
    expect(parseJumpChain('ops@bastion1:22,admin@bastion2')).toEqual({
      hops: [{ user: 'ops', host: 'bastion1', port: 22 }, { user: 'admin', host: 'bastion2' }],
    });
    expect(parseJumpChain('gate')).toEqual({ hops: [{ host: 'gate' }] });
  });

  it('names the malformed hop', () => {
    expect(parseJumpChain('a,,b')).toEqual({ problem: expect.stringContaining('jump host 2 of 3 "": expected [user@]host[:port]') });
    expect(parseJumpChain('a,b:99999')).toEqual({ problem: expect.stringContaining('jump host 2 of 2 "b:99999"') });
  });
});

describe('loadInventory: ssh.jumpHost chains', () => {
  it('resolves each hop, linked to the one before it; every hop takes the node settings', async () => {
    const t = setup('ssh:\n  user: root\n  port: 2200\n  jumpHost: "ops@bastion1:22,admin@bastion2"\nnodes:\n  - name: node1\n    host: 10.0.0.1\n');
    const n = (await load(t)).master;
    expect(hops(n)).toEqual(['ops@bastion1:22', 'admin@bastion2:22']);
    expect(n.jumpHost).toMatchObject({ host: 'bastion2', knownHostsFile: n.knownHostsFile, strictHostKeyChecking: 'yes' });
    expect(n.jumpHost?.jumpHost?.jumpHost).toBeUndefined();
    expect(jumpSpec(n)).toBe('ops@bastion1:22,admin@bastion2:22');
    expect(sshCommand(n, '1025:10.0.0.1:1025')).toBe('ssh -N -J ops@bastion1:22,admin@bastion2:22 -L 1025:10.0.0.1:1025 -p 2200 root@10.0.0.1');
  });

  it('a malformed hop is exit 2 at the file line', async () => {
    const t = setup('ssh:\n  jumpHost: "ops@bastion1,admin@"\nnodes:\n  - name: node1\n    host: 10.0.0.1\n');
    const err = await userErrorOf(() => load(t));
    expect(err.exitCode).toBe(2);
    expect(err.message).toContain('inv.yaml:2:13 ssh.jumpHost: jump host 2 of 2 "admin@": expected [user@]host[:port]');
  });
});

describe('loadInventory: ProxyJump chains in ~/.ssh/config', () => {
  const SSH_CONFIG = `
Host n3
  HostName 10.0.0.3
  ProxyJump b1,ops@b2:2022

Host b1
  HostName 192.168.1.1
  User first
  Port 2201
  IdentityFile ~/.ssh/b1_key

Host b2
  HostName 192.168.1.2
  User ignored
  IdentityFile ~/.ssh/b2_key
  ProxyJump elsewhere

Host viaouter
  ProxyJump inner

Host inner
  HostName 172.16.0.1
  ProxyJump outer

Host outer
  HostName 203.0.113.1
  User edge

Host nojump
  ProxyJump none

Host loop
  ProxyJump loop

Host no*
  ProxyJump b1
`;

  function withConfig(inventory: string): TempDir {
    const t = setup(inventory, SSH_CONFIG);
    t.write('.ssh/b1_key', 'k');
    t.write('.ssh/b2_key', 'k');
    return t;
  }

  it('applies each hop\'s own HostName, User, Port and IdentityFile; the -J user and port win', async () => {
    const t = withConfig('ssh:\n  user: root\nnodes:\n  - name: node3\n    host: n3\n');
    const n = (await load(t)).master;
    expect(hops(n)).toEqual(['first@192.168.1.1:2201', 'ops@192.168.1.2:2022']);
    const [b1, b2] = jumpChain<ResolvedJumpHost>(n);
    expect(b1?.identityFiles).toEqual([t.path('.ssh/b1_key')]);
    // b2 is reached as `ssh -J b1 b2`: its own ProxyJump (elsewhere) does not apply.
    expect(b2?.identityFiles).toEqual([t.path('.ssh/b2_key')]);
    expect(sshCommand(n)).toBe('ssh -J first@192.168.1.1:2201,ops@192.168.1.2:2022 root@10.0.0.3');
  });

  it('follows the first hop\'s own ProxyJump, as `ssh inner` would', async () => {
    const t = withConfig('ssh:\n  user: root\nnodes:\n  - name: n\n    host: viaouter\n');
    const n = (await load(t)).master;
    expect(hops(n)).toEqual(['edge@203.0.113.1:22', 'root@172.16.0.1:22']);
  });

  it('ProxyJump none means no jump host, even with a later matching ProxyJump', async () => {
    const t = withConfig('nodes:\n  - name: n\n    host: nojump\n');
    expect((await load(t)).master.jumpHost).toBeUndefined();
  });

  it('the inventory jumpHost chain wins over ProxyJump', async () => {
    const t = withConfig('ssh:\n  user: root\n  jumpHost: "x1,x2"\nnodes:\n  - name: node3\n    host: n3\n');
    expect(hops((await load(t)).master)).toEqual(['root@x1:22', 'root@x2:22']);
  });

  it('a ProxyJump loop is an error at the node, not a hang', async () => {
    const t = withConfig('nodes:\n  - name: n\n    host: loop\n');
    const err = await userErrorOf(() => load(t));
    expect(err.exitCode).toBe(2);
    expect(err.message).toContain('inv.yaml:3:11 nodes[0].host: the jump host chain is longer than 8 hops');
  });
});
