/** Node ranges in the inventory (`name: node[01-64]`, `host: 10.0.0.[1-64]`) and `--node` ranges. */
import { describe, expect, it } from 'vitest';
import { loadInventory, type Inventory } from '../../../src/config/inventory.js';
import { InputError } from '../../../src/errors.js';
import { useTempDirs, userErrorOf, type TempDir } from './temp-files.js';

const tmp = useTempDirs();

function setup(inventory: string): TempDir {
  const t = tmp();
  t.write('.ssh/known_hosts', '');
  t.write('inv.yaml', inventory);
  return t;
}

function load(t: TempDir, nodeFilter?: string[]): Promise<Inventory> {
  return loadInventory('inv.yaml', { cwd: t.dir, home: t.dir, env: { USER: 'alice' }, ...(nodeFilter ? { nodeFilter } : {}) });
}

async function problem(text: string): Promise<string> {
  const err = await userErrorOf(() => load(setup(text)));
  expect(err).toBeInstanceOf(InputError);
  expect(err.exitCode).toBe(2);
  return err.message;
}

describe('inventory node ranges', () => {
  it('expands name and host ranges pairwise, in order, padding kept, other keys on every node', async () => {
    const inv = await load(setup(`
nodes:
  - name: node[01-03]
    host: 10.0.0.[1-3]
    ssh: { port: 2222 }
    tools: { npuSmi: /opt/npu-smi }
  - { name: gpu7, host: 10.0.1.7 }
`));
    expect(inv.allNodes.map((n) => [n.name, n.host, n.port, n.tools.npuSmi, n.role, n.index])).toEqual([
      ['node01', '10.0.0.1', 2222, '/opt/npu-smi', 'master', 0],
      ['node02', '10.0.0.2', 2222, '/opt/npu-smi', 'worker', 1],
      ['node03', '10.0.0.3', 2222, '/opt/npu-smi', 'worker', 2],
      ['gpu7', '10.0.1.7', 22, 'npu-smi', 'worker', 3],
    ]);
    // YAML paths of every expanded node point at the entry that produced it.
    expect(inv.allNodes.map((n) => n.entryIndex)).toEqual([0, 0, 0, 1]);
  });

  it('lists inside brackets and several groups', async () => {
    const inv = await load(setup('nodes:\n  - name: gpu[1-3,7]\n    host: 10.0.[0-1].[1-2]\n'));
    expect(inv.allNodes.map((n) => `${n.name}=${n.host}`)).toEqual(['gpu1=10.0.0.1', 'gpu2=10.0.0.2', 'gpu3=10.0.1.1', 'gpu7=10.0.1.2']);
  });

  it('a range of one is a plain node; a role: worker applies to each', async () => {
    const inv = await load(setup('nodes:\n  - { name: head, host: 10.0.0.9, role: master }\n  - { name: "n[1-2]", host: "h[1-2]", role: worker }\n'));
    expect(inv.master.name).toBe('head');
    expect(inv.allNodes.map((n) => n.name)).toEqual(['head', 'n1', 'n2']);
  });

  it('a name range with a single host is a located error', async () => {
    expect(await problem('nodes:\n  - name: node[01-04]\n    host: 10.0.0.1\n')).toContain(
      'inv.yaml:3:11 nodes[0].host: 10.0.0.1 is one host, but the name node[01-04] names 4 nodes; expected a host range of 4 hosts',
    );
  });

  it('a host range with a single name is a located error', async () => {
    expect(await problem('nodes:\n  - name: node1\n    host: 10.0.0.[1-2]\n')).toContain(
      'inv.yaml:3:11 nodes[0].host: 10.0.0.[1-2] names 2 hosts, but the name node1 is one node; expected a name range of 2 names',
    );
  });

  it('sizes that differ are a located error', async () => {
    expect(await problem('nodes:\n  - { name: a, host: h0 }\n  - name: node[1-3]\n    host: 10.0.0.[1-4]\n')).toContain(
      'inv.yaml:4:11 nodes[1].host: 10.0.0.[1-4] names 4 hosts, but the name node[1-3] names 3 nodes; expected as many hosts as names',
    );
  });

  it.each([
    ['node[]', /inv\.yaml:2:11 nodes\[0\]\.name: empty range "\[\]" in node\[\]/],
    ['node[4-1]', /inv\.yaml:2:11 nodes\[0\]\.name: range 4-1 in node\[4-1\] runs backwards/],
    ['node[1-x]', /inv\.yaml:2:11 nodes\[0\]\.name: "1-x" in \[1-x\] of node\[1-x\]/],
    ['"node[1-3"', /inv\.yaml:2:11 nodes\[0\]\.name: "\[" without a closing "\]"/],
  ])('an invalid name range %s is a located error', async (name, located) => {
    expect(await problem(`nodes:\n  - name: ${name}\n    host: 10.0.0.[1-3]\n`)).toMatch(located);
  });

  it('an invalid host range is located at the host', async () => {
    expect(await problem('nodes:\n  - name: node[1-3]\n    host: 10.0.0.[3-1]\n')).toMatch(/inv\.yaml:3:11 nodes\[0\]\.host: range 3-1 .* runs backwards/);
  });

  it('an IPv6 host in brackets is told to drop them', async () => {
    expect(await problem('nodes:\n  - name: node1\n    host: "[fd00::1]"\n')).toContain(
      'inv.yaml:3:11 nodes[0].host: [fd00::1]: brackets make a node range here; expected an IPv6 address without brackets (fd00::1)',
    );
  });

  it('duplicates after expansion are the usual duplicate errors, at the entries as written', async () => {
    const msg = await problem('nodes:\n  - name: node[1-3]\n    host: 10.0.0.[1-3]\n  - name: node3\n    host: 10.0.0.9\n');
    expect(msg).toContain('inv.yaml:4:11 nodes[1].name: duplicate node name "node3" (first at line 2, nodes[0].name)');
    const inner = await problem('nodes:\n  - name: node[1-2]\n    host: 10.0.0.[1,1]\n');
    expect(inner).toContain('inv.yaml:3:11 nodes[0].host: duplicate host "10.0.0.1" (first at line 3, nodes[0].host)');
  });

  it('role: master on a range of several nodes is refused', async () => {
    expect(await problem('nodes:\n  - name: node[1-2]\n    host: h[1-2]\n    role: master\n')).toContain(
      'inv.yaml:4:11 nodes[0].role: role: master on node[1-2], which names 2 nodes; expected one master',
    );
  });

  it('a problem of an expanded node is reported once, at its entry', async () => {
    const msg = await problem('nodes:\n  - name: node[1-3]\n    host: 10.0.0.[1-3]\n    ssh: { port: 0 }\n');
    expect(msg).toContain('(1 problem)');
    expect(msg).toMatch(/inv\.yaml:4:\d+ nodes\[0\]\.ssh\.port: expected a port number/);
  });

  it('a name that is not a range still has to be a plain name', async () => {
    expect(await problem('nodes:\n  - name: "-x"\n    host: h\n')).toContain('nodes[0].name: expected a plain name');
  });
});

describe('inventory node ranges: address', () => {
  it('an address range gives each expanded node its own address, in order', async () => {
    const inv = await load(setup(`
nodes:
  - { name: "node[1-2]", host: "nat.example.[1-2]", address: "192.168.0.[11-12]" }
`));
    expect(inv.allNodes.map((n) => [n.name, n.host, n.address])).toEqual([
      ['node1', 'nat.example.1', '192.168.0.11'],
      ['node2', 'nat.example.2', '192.168.0.12'],
    ]);
  });

  it('one address for a range of several nodes is a located error at address', async () => {
    const msg = await problem(`
nodes:
  - name: node[1-3]
    host: 10.0.0.[1-3]
    address: 192.168.0.1
`);
    expect(msg).toMatch(/inv\.yaml:5:\d+ nodes\[0\]\.address/);
    expect(msg).toContain('names 1 address, but the entry names 3 nodes');
  });
});

describe('--node ranges', () => {
  const RANGE = 'nodes:\n  - name: node[01-06]\n    host: 10.0.0.[1-6]\n';

  it('takes ranges and comma lists, repeated, in inventory order', async () => {
    const inv = await load(setup(RANGE), ['node[03-04]', 'node06,node01']);
    expect(inv.nodes.map((n) => n.name)).toEqual(['node01', 'node03', 'node04', 'node06']);
    expect(inv.allNodes).toHaveLength(6);
  });

  it('unknown names are folded in the message, and so are the known ones', async () => {
    const err = await userErrorOf(() => load(setup(RANGE), ['node[05-08]']));
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toBe('--node node[07-08]: no such node in inv.yaml; the nodes are: node[01-06]');
  });

  it('a malformed --node range is bad input', async () => {
    const err = await userErrorOf(() => load(setup(RANGE), ['node[3-']));
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toMatch(/^--node node\[3-: .*without a closing/);
    expect(err.hint).toMatch(/--node 'node\[03-05\]'/);
  });
});
