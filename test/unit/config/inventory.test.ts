import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadInventory, parseJumpHost, resolveInventoryPath, type Inventory } from '../../../src/config/inventory.js';
import { InputError } from '../../../src/errors.js';
import { useTempDirs, userErrorOf, type TempDir } from './temp-files.js';

const tmp = useTempDirs();

/** A fake home with a known_hosts (so strict checking has its file) and an inventory at <home>/inv.yaml. */
function setup(inventory: string, opts: { knownHosts?: boolean; sshConfig?: string } = {}): TempDir {
  const t = tmp();
  if (opts.knownHosts !== false) t.write('.ssh/known_hosts', '');
  if (opts.sshConfig !== undefined) t.write('.ssh/config', opts.sshConfig);
  t.write('inv.yaml', inventory);
  return t;
}

function load(t: TempDir, extra: { env?: NodeJS.ProcessEnv; nodeFilter?: string[] } = {}): Promise<Inventory> {
  return loadInventory('inv.yaml', {
    cwd: t.dir,
    home: t.dir,
    env: extra.env ?? { USER: 'alice' },
    ...(extra.nodeFilter ? { nodeFilter: extra.nodeFilter } : {}),
  });
}

const TWO_NODES = 'nodes:\n  - name: node1\n    host: 10.0.0.1\n  - name: node2\n    host: 10.0.0.2\n';

describe('loadInventory: defaults', () => {
  it('resolves a minimal inventory with the built-in defaults', async () => {
    const t = setup(TWO_NODES);
    const inv = await load(t);
    expect(inv.npusPerNode).toBe(8);
    expect(inv.checks).toEqual({ gateway: 'optional', minDriver: '25.2' });
    expect(inv.nodes.map((n) => n.name)).toEqual(['node1', 'node2']);
    const n = inv.nodes[0]!;
    expect(n).toMatchObject({
      name: 'node1',
      host: '10.0.0.1',
      hostname: '10.0.0.1',
      port: 22,
      user: 'alice',
      identityFiles: [],
      useAgent: false,
      knownHostsFile: t.path('.ssh/known_hosts'),
      strictHostKeyChecking: 'yes',
      connectTimeoutMs: 10_000,
      tools: { hccnTool: '/usr/local/Ascend/driver/tools/hccn_tool', npuSmi: 'npu-smi', containerRuntime: 'docker' },
      role: 'master',
      index: 0,
    });
    expect(n.jumpHost).toBeUndefined();
    expect(inv.nodes[1]).toMatchObject({ role: 'worker', index: 1 });
  });

  it('uses ssh-agent when $SSH_AUTH_SOCK is set and the default identities that exist', async () => {
    const t = setup(TWO_NODES);
    t.write('.ssh/id_rsa', 'key');
    t.write('.ssh/id_ed25519', 'key');
    const inv = await load(t, { env: { USER: 'alice', SSH_AUTH_SOCK: '/run/agent.sock' } });
    expect(inv.master.useAgent).toBe(true);
    expect(inv.master.agentSocket).toBe('/run/agent.sock');
    expect(inv.master.identityFiles).toEqual([t.path('.ssh/id_ed25519'), t.path('.ssh/id_rsa')]);
  });

  it('takes the user from $LOGNAME when $USER is unset', async () => {
    const t = setup(TWO_NODES);
    const inv = await load(t, { env: { LOGNAME: 'bob' } });
    expect(inv.master.user).toBe('bob');
  });

  it('applies global ssh and tools, per-node overrides winning, ~ from home', async () => {
    const t = setup(`
ssh:
  user: root
  port: 2200
  identityFile: ~/keys/ops
  strictHostKeyChecking: accept-new
  connectTimeout: 3s
tools:
  npuSmi: /usr/local/sbin/npu-smi
nodes:
  - name: node1
    host: 10.0.0.1
  - name: node2
    host: 10.0.0.2
    ssh: { port: 2222, user: admin, connectTimeout: 500ms, strictHostKeyChecking: "no" }
    tools: { containerRuntime: podman }
`);
    t.write('keys/ops', 'key');
    const inv = await load(t);
    const [a, b] = inv.nodes;
    expect(a).toMatchObject({ port: 2200, user: 'root', identityFiles: [t.path('keys/ops')], strictHostKeyChecking: 'accept-new', connectTimeoutMs: 3000 });
    expect(a?.tools).toEqual({ hccnTool: '/usr/local/Ascend/driver/tools/hccn_tool', npuSmi: '/usr/local/sbin/npu-smi', containerRuntime: 'docker' });
    expect(b).toMatchObject({ port: 2222, user: 'admin', identityFiles: [t.path('keys/ops')], strictHostKeyChecking: 'no', connectTimeoutMs: 500 });
    expect(b?.tools.containerRuntime).toBe('podman');
    expect(b?.tools.npuSmi).toBe('/usr/local/sbin/npu-smi');
  });

  it('accepts yes unquoted as a string (YAML 1.2) and a bare number of seconds', async () => {
    const t = setup(`ssh:\n  strictHostKeyChecking: yes\n  connectTimeout: 7\n${TWO_NODES}`);
    const inv = await load(t);
    expect(inv.master.strictHostKeyChecking).toBe('yes');
    expect(inv.master.connectTimeoutMs).toBe(7000);
  });

  it('resolves a relative identityFile against the inventory directory', async () => {
    const t = setup(`ssh:\n  identityFile: keys/id\n${TWO_NODES}`);
    t.write('keys/id', 'k');
    expect((await load(t)).master.identityFiles).toEqual([t.path('keys/id')]);
  });
});

describe('loadInventory: master and --node', () => {
  const FOUR = `nodes:
  - { name: a, host: 10.0.0.1 }
  - { name: b, host: 10.0.0.2 }
  - { name: c, host: 10.0.0.3, role: master }
  - { name: d, host: 10.0.0.4 }
`;

  it('puts the role: master node first and keeps inventory order otherwise', async () => {
    const inv = await load(setup(FOUR));
    expect(inv.master.name).toBe('c');
    expect(inv.allNodes.map((n) => [n.name, n.index, n.role, n.entryIndex])).toEqual([
      ['c', 0, 'master', 2],
      ['a', 1, 'worker', 0],
      ['b', 2, 'worker', 1],
      ['d', 3, 'worker', 3],
    ]);
  });

  it('makes the first node the master when none says so', async () => {
    const inv = await load(setup(FOUR.replace(', role: master', '')));
    expect(inv.master.name).toBe('a');
    expect(inv.allNodes.map((n) => n.name)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('filters nodes with --node, in rank order, keeping rank indexes and the whole inventory', async () => {
    const inv = await load(setup(FOUR), { nodeFilter: ['d', 'c'] });
    expect(inv.nodes.map((n) => [n.name, n.index])).toEqual([
      ['c', 0],
      ['d', 3],
    ]);
    expect(inv.allNodes).toHaveLength(4);
    expect(inv.master.name).toBe('c');
  });

  it('rejects an unknown --node listing the known names', async () => {
    const err = await userErrorOf(() => load(setup(FOUR), { nodeFilter: ['a', 'zz'] }));
    expect(err).toBeInstanceOf(InputError);
    expect(err.exitCode).toBe(2);
    expect(err.message).toBe('--node zz: no such node in inv.yaml; the nodes are: c, a, b, d');
  });
});

describe('loadInventory: bad input is a located InputError (exit 2)', () => {
  async function problem(text: string, opts: { knownHosts?: boolean } = {}): Promise<InputError> {
    const err = await userErrorOf(() => load(setup(text, opts)));
    expect(err).toBeInstanceOf(InputError);
    expect(err.exitCode).toBe(2);
    expect(err.hint).toBeTruthy();
    expect(err.stack === undefined || !err.message.includes('    at ')).toBe(true);
    return err as InputError;
  }

  it('nonexistent inventory', async () => {
    const t = tmp();
    const err = await userErrorOf(() => loadInventory('missing.yaml', { cwd: t.dir, home: t.dir, env: {} }));
    expect(err.exitCode).toBe(2);
    expect(err.message).toContain('missing.yaml: the inventory does not exist');
    expect(err.hint).toMatch(/-i FILE.*ASCENDCTL_INVENTORY/);
  });

  it('malformed YAML', async () => {
    const err = await problem('nodes:\n  - name: a\n   host: x\n');
    expect(err.message).toMatch(/^inv\.yaml is not valid YAML/);
    expect(err.message).toMatch(/inv\.yaml:3:\d+: YAML syntax/);
  });

  it('empty file', async () => {
    const err = await problem('# nothing yet\n');
    expect(err.message).toBe('inv.yaml:1:1: the inventory is empty');
  });

  it('no nodes', async () => {
    expect((await problem('npusPerNode: 8\n')).message).toContain('inv.yaml:1:1 nodes: required, expected a list');
    expect((await problem('nodes: []\n')).message).toContain('inv.yaml:1:8 nodes: expected at least one node');
  });

  it('unknown key at the top level', async () => {
    const err = await problem(`npuPerNode: 8\n${TWO_NODES}`);
    expect(err.message).toContain('inv.yaml:1:1 npuPerNode: unknown key "npuPerNode"; expected one of: ssh, npusPerNode, checks, tools, nodes');
  });

  it('unknown key nested in a node', async () => {
    const err = await problem('nodes:\n  - name: a\n    host: h\n    ssh:\n      prot: 22\n');
    expect(err.message).toContain('inv.yaml:5:7 nodes[0].ssh.prot: unknown key "prot"; expected one of: user, port, identityFile');
  });

  it('wrong types', async () => {
    const err = await problem('npusPerNode: eight\nnodes:\n  - name: a\n    host: h\n    ssh:\n      port: "22"\n');
    expect(err.message).toContain('inv.yaml:1:14 npusPerNode: expected an integer, got "eight"');
    expect(err.message).toContain('inv.yaml:6:13 nodes[0].ssh.port: expected a port number 1-65535, got "22"');
    expect(err.message).toMatch(/\(2 problems\)/);
  });

  it('a minDriver without major.minor is refused where it is written', async () => {
    const err = await problem(`checks:\n  minDriver: "25"\n${TWO_NODES}`);
    expect(err.message).toContain('inv.yaml:2:14 checks.minDriver: expected a driver version with at least major.minor');
  });

  it('an unquoted minDriver (a YAML number) asks for quotes', async () => {
    const err = await problem(`checks:\n  minDriver: 25.2\n${TWO_NODES}`);
    expect(err.message).toContain('inv.yaml:2:14 checks.minDriver: expected a quoted version string such as "25.2", got number 25.2: quote it');
  });

  it('strictHostKeyChecking outside yes | accept-new | no', async () => {
    const err = await problem(`ssh:\n  strictHostKeyChecking: true\n${TWO_NODES}`);
    expect(err.message).toContain('inv.yaml:2:26 ssh.strictHostKeyChecking: expected one of yes, accept-new, no, got boolean true');
  });

  it('duplicate node names, naming the first one\'s line', async () => {
    const err = await problem('nodes:\n  - name: a\n    host: h1\n  - name: b\n    host: h2\n  - name: a\n    host: h3\n');
    expect(err.message).toContain('inv.yaml:6:11 nodes[2].name: duplicate node name "a" (first at line 2, nodes[0].name)');
  });

  it('duplicate hosts, naming the first one\'s line', async () => {
    const err = await problem('nodes:\n  - name: a\n    host: 10.0.0.1\n  - name: b\n    host: 10.0.0.1\n');
    expect(err.message).toContain('inv.yaml:5:11 nodes[1].host: duplicate host "10.0.0.1" (first at line 3, nodes[0].host)');
  });

  it('two masters', async () => {
    const err = await problem('nodes:\n  - { name: a, host: h1, role: master }\n  - { name: b, host: h2, role: master }\n');
    expect(err.message).toContain('nodes[1].role: a second "role: master"; at most one node is the master (first at line 2, nodes[0].role)');
  });

  it('node names that are not plain names', async () => {
    const err = await problem('nodes:\n  - name: "node 1"\n    host: h1\n  - name: -x\n    host: h2\n');
    expect(err.message).toContain('inv.yaml:2:11 nodes[0].name: expected a plain name');
    expect(err.message).toContain('inv.yaml:4:11 nodes[1].name: expected a plain name');
  });

  it('duplicate YAML keys', async () => {
    const err = await problem('nodes:\n  - name: a\n    host: h1\n    name: b\n');
    expect(err.message).toContain('inv.yaml:4:5: duplicate key "name" (first at line 2)');
  });

  it('missing identity file, at the YAML path that names it', async () => {
    const err = await problem(`ssh:\n  identityFile: ~/.ssh/nope\n${TWO_NODES}`);
    expect(err.message).toMatch(/inv\.yaml:2:17 ssh\.identityFile: identity file \S+\/\.ssh\/nope does not exist/);
    // reported once, not once per node that inherits it
    expect(err.message).toMatch(/\(1 problem\)/);
  });

  it('missing per-node identity file', async () => {
    const err = await problem('nodes:\n  - name: a\n    host: h1\n    ssh:\n      identityFile: /nonexistent/key\n');
    expect(err.message).toContain('inv.yaml:5:21 nodes[0].ssh.identityFile: identity file /nonexistent/key does not exist');
  });

  it('missing known_hosts named in the inventory while strict checking is yes', async () => {
    const err = await problem(`ssh:\n  knownHostsFile: ./kh\n${TWO_NODES}`);
    expect(err.message).toMatch(/inv\.yaml:2:19 ssh\.knownHostsFile: known_hosts file \S+\/kh \(from the inventory\) does not exist, and strictHostKeyChecking is yes/);
  });

  it('missing default known_hosts while strict checking is yes (the default)', async () => {
    const err = await problem(TWO_NODES, { knownHosts: false });
    expect(err.message).toMatch(/inv\.yaml:2:5 nodes\[0\]: known_hosts file \S+known_hosts \(the default\) does not exist/);
    expect(err.message).toMatch(/\(1 problem\)/);
  });

  it('a missing known_hosts is fine with accept-new or no', async () => {
    for (const mode of ['accept-new', '"no"']) {
      const t = setup(`ssh:\n  knownHostsFile: ./kh\n  strictHostKeyChecking: ${mode}\n${TWO_NODES}`);
      const inv = await load(t);
      expect(inv.master.knownHostsFile).toBe(t.path('kh'));
    }
  });

  it('bad duration', async () => {
    const err = await problem(`ssh:\n  connectTimeout: soon\n${TWO_NODES}`);
    expect(err.message).toContain('inv.yaml:2:19 ssh.connectTimeout: expected a duration such as 500ms, 10s, 2m, 1h (or a number of seconds) greater than 0, got "soon"');
    const zero = await problem(`ssh:\n  connectTimeout: 0s\n${TWO_NODES}`);
    expect(zero.message).toContain('ssh.connectTimeout: expected a duration');
  });

  it('bad jumpHost', async () => {
    const err = await problem(`ssh:\n  jumpHost: "ops@bastion:99999"\n${TWO_NODES}`);
    expect(err.message).toContain('inv.yaml:2:13 ssh.jumpHost: expected [user@]host[:port] (e.g. ops@bastion.example.com:22), got "ops@bastion:99999"');
  });

  it('lists every problem of the file at once', async () => {
    const err = await problem('ssh:\n  port: 0\n  foo: 1\nnpusPerNode: 0\nnodes:\n  - name: a\n    host: h\n    role: boss\n');
    expect(err.message).toMatch(/\(4 problems\)/);
    const lines = err.message.split('\n').slice(1);
    expect(lines.map((l) => l.trim().split(' ')[0])).toEqual(['inv.yaml:2:9', 'inv.yaml:3:3', 'inv.yaml:4:14', 'inv.yaml:8:11']);
  });
});

describe('parseJumpHost', () => {
  it.each([
    ['bastion', { host: 'bastion' }],
    ['ops@bastion.example.com:22', { user: 'ops', host: 'bastion.example.com', port: 22 }],
    ['10.0.0.9:2222', { host: '10.0.0.9', port: 2222 }],
    ['root@[fd00::1]:22', { user: 'root', host: 'fd00::1', port: 22 }],
  ] as const)('%s', (text, spec) => {
    expect(parseJumpHost(text)).toEqual(spec);
  });

  it.each(['', 'a@b@c', 'host:', 'host:0', 'host:70000', 'ssh://host', '-oProxyCommand=x', 'a b'])('rejects %j', (text) => {
    expect(parseJumpHost(text)).toBeUndefined();
  });
});

describe('loadInventory: ~/.ssh/config', () => {
  const SSH_CONFIG = `
Host n1
  HostName 192.168.1.11
  User cfguser
  Port 2201
  IdentityFile ~/.ssh/n1_key
  IdentityFile ~/.ssh/missing_key
  UserKnownHostsFile ~/.ssh/kh_%h
  StrictHostKeyChecking accept-new
  ConnectTimeout 4

Host n2
  HostName 192.168.1.12
  ProxyJump jumper@gate:2022

Host gate
  HostName 192.168.1.1
  IdentityFile ~/.ssh/gate_key

Host *
  User everyone
`;

  function withConfig(inventory: string): TempDir {
    const t = setup(inventory, { sshConfig: SSH_CONFIG });
    t.write('.ssh/n1_key', 'k');
    t.write('.ssh/gate_key', 'k');
    t.write('.ssh/id_ed25519', 'k');
    return t;
  }

  it('applies HostName, User, Port, IdentityFile, UserKnownHostsFile, StrictHostKeyChecking, ConnectTimeout of an alias', async () => {
    const t = withConfig('nodes:\n  - name: node1\n    host: n1\n');
    const n = (await load(t)).master;
    expect(n).toMatchObject({
      host: 'n1',
      hostname: '192.168.1.11',
      user: 'cfguser',
      port: 2201,
      // configured identities that do not exist are skipped, as OpenSSH does
      identityFiles: [t.path('.ssh/n1_key')],
      knownHostsFile: t.path('.ssh/kh_192.168.1.11'),
      strictHostKeyChecking: 'accept-new',
      connectTimeoutMs: 4000,
    });
  });

  it('lets the inventory win: per node, then global ssh:, over ssh_config', async () => {
    const t = withConfig(`
ssh:
  user: root
  port: 22
nodes:
  - name: node1
    host: n1
    ssh: { port: 2299, strictHostKeyChecking: "yes", knownHostsFile: ~/.ssh/known_hosts, connectTimeout: 1s }
`);
    const n = (await load(t)).master;
    expect(n).toMatchObject({
      hostname: '192.168.1.11',
      user: 'root',
      port: 2299,
      strictHostKeyChecking: 'yes',
      knownHostsFile: t.path('.ssh/known_hosts'),
      connectTimeoutMs: 1000,
      identityFiles: [t.path('.ssh/n1_key')],
    });
  });

  it('lets ssh_config win over the built-in defaults (Host * User)', async () => {
    const t = withConfig('nodes:\n  - name: plain\n    host: 10.9.9.9\n');
    const n = (await load(t)).master;
    expect(n.user).toBe('everyone');
    expect(n.hostname).toBe('10.9.9.9');
    expect(n.identityFiles).toEqual([t.path('.ssh/id_ed25519')]);
  });

  it('follows ProxyJump; the jump host takes its own ssh_config, else the node settings', async () => {
    const t = withConfig('ssh:\n  strictHostKeyChecking: accept-new\n  connectTimeout: 2s\nnodes:\n  - name: node2\n    host: n2\n');
    const n = (await load(t)).master;
    expect(n.hostname).toBe('192.168.1.12');
    expect(n.jumpHost).toEqual({
      host: 'gate',
      hostname: '192.168.1.1',
      port: 2022,
      user: 'jumper',
      identityFiles: [t.path('.ssh/gate_key')],
      useAgent: false,
      agentSocket: undefined,
      knownHostsFile: t.path('.ssh/known_hosts'),
      strictHostKeyChecking: 'accept-new',
      connectTimeoutMs: 2000,
      configFile: n.configFile,
    });
    expect(n.configFile).toMatch(/\.yaml$/);
  });

  it('lets the inventory jumpHost win over ProxyJump, inheriting the node settings', async () => {
    // No `Host *` here: a `Host *` User would be ssh_config saying otherwise for the jump host.
    const t = setup('ssh:\n  user: root\n  jumpHost: bastion.example.com\nnodes:\n  - name: node2\n    host: n2\n', {
      sshConfig: 'Host n2\n  HostName 192.168.1.12\n  ProxyJump jumper@gate:2022\n',
    });
    t.write('.ssh/id_ecdsa', 'k');
    const n = (await load(t, { env: { USER: 'alice', SSH_AUTH_SOCK: '/tmp/agent' } })).master;
    expect(n.jumpHost).toMatchObject({
      host: 'bastion.example.com',
      hostname: 'bastion.example.com',
      port: 22,
      user: 'root',
      identityFiles: [t.path('.ssh/id_ecdsa')],
      useAgent: true,
      agentSocket: '/tmp/agent',
      knownHostsFile: n.knownHostsFile,
      strictHostKeyChecking: 'yes',
    });
  });

  it('reads Include files and %-tokens', async () => {
    const t = setup('nodes:\n  - name: node1\n    host: inc\n', { sshConfig: 'Include conf.d/*.conf\nHost *\n  Port 2000\n' });
    t.write('.ssh/conf.d/a.conf', 'Host inc\n  HostName %h.example.net\n  Port 2100\n');
    const n = (await load(t)).master;
    expect(n.hostname).toBe('inc.example.net');
    expect(n.port).toBe(2100);
  });

  it('IdentityAgent none turns the agent off', async () => {
    const t = setup(TWO_NODES, { sshConfig: 'Host *\n  IdentityAgent none\n' });
    const n = (await load(t, { env: { USER: 'a', SSH_AUTH_SOCK: '/tmp/agent' } })).master;
    expect(n.useAgent).toBe(false);
  });

  it('rejects a malformed ProxyJump chain and a bad Port in ssh_config, located at the node', async () => {
    const t = setup('nodes:\n  - name: a\n    host: chain\n  - name: b\n    host: badport\n', {
      sshConfig: 'Host chain\n  ProxyJump j1,j2:0\nHost badport\n  Port abc\n',
    });
    const err = await userErrorOf(() => load(t));
    expect(err.exitCode).toBe(2);
    expect(err.message).toContain('inv.yaml:3:11 nodes[0].host: ProxyJump j1,j2:0 in');
    expect(err.message).toContain('jump host 2 of 2 "j2:0": expected [user@]host[:port]');
    expect(err.message).toMatch(/inv\.yaml:5:11 nodes\[1\]\.host: \S+config: Port abc \(for host badport\): expected a port number/);
  });

  it('rejects an alias that names the same server as another node', async () => {
    const t = withConfig('nodes:\n  - name: a\n    host: 192.168.1.11\n    ssh: { port: 2201 }\n  - name: b\n    host: n1\n');
    const err = await userErrorOf(() => load(t));
    expect(err.exitCode).toBe(2);
    expect(err.message).toMatch(/inv\.yaml:6:11 nodes\[1\]\.host: n1 is 192\.168\.1\.11:2201 after \S+, the same server as nodes\[0\]; .* \(first at line 3, nodes\[0\]\.host\)/);
  });

  it('checks the known_hosts of the jump host when strict', async () => {
    const t = setup('nodes:\n  - name: a\n    host: n\n', { sshConfig: 'Host n\n  ProxyJump gw\nHost gw\n  UserKnownHostsFile ~/.ssh/gw_known\n' });
    const err = await userErrorOf(() => load(t));
    expect(err.message).toMatch(/nodes\[0\]\.host: known_hosts file \S+gw_known \(UserKnownHostsFile in \S+ for the jump host\) does not exist/);
  });
});

describe('resolveInventoryPath', () => {
  const cwd = '/work/here';

  it('takes -i first', () => {
    expect(resolveInventoryPath({ flag: 'a.yaml', deploymentInventory: 'b.yaml', deploymentDir: '/d', env: { ASCENDCTL_INVENTORY: '/e.yaml' }, cwd })).toEqual({
      path: '/work/here/a.yaml',
      display: 'a.yaml',
      source: 'flag',
    });
  });

  it('then the deployment file\'s inventory:, relative to the deployment file', () => {
    const r = resolveInventoryPath({ deploymentInventory: 'inv/b.yaml', deploymentDir: '/work/here/deploy', env: { ASCENDCTL_INVENTORY: '/e.yaml' }, cwd });
    expect(r).toEqual({ path: '/work/here/deploy/inv/b.yaml', display: path.join('deploy', 'inv', 'b.yaml'), source: 'deployment' });
  });

  it('then $ASCENDCTL_INVENTORY, then ./inventory.yaml', () => {
    expect(resolveInventoryPath({ env: { ASCENDCTL_INVENTORY: 'e.yaml' }, cwd }).path).toBe('/work/here/e.yaml');
    expect(resolveInventoryPath({ env: { ASCENDCTL_INVENTORY: '' }, cwd })).toEqual({ path: '/work/here/inventory.yaml', display: 'inventory.yaml', source: 'default' });
  });

  it('expands ~ from home', () => {
    expect(resolveInventoryPath({ flag: '~/inv.yaml', env: {}, cwd, home: '/home/u' }).path).toBe('/home/u/inv.yaml');
  });

  it('a recorded deploy\'s inventory stands in for ./inventory.yaml only: the file\'s inventory: and $ASCENDCTL_INVENTORY come first', () => {
    const recorded = '/work/there/inventory.yaml';
    expect(resolveInventoryPath({ recorded, env: { ASCENDCTL_INVENTORY: 'e.yaml' }, cwd }).path).toBe('/work/here/e.yaml');
    expect(resolveInventoryPath({ recorded, deploymentInventory: 'b.yaml', deploymentDir: cwd, env: {}, cwd }).path).toBe('/work/here/b.yaml');
    expect(resolveInventoryPath({ recorded, env: {}, cwd }).path).toBe(recorded);
  });
});
