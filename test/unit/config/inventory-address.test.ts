/**
 * The optional node key `address:` (contract, "Checks added in v2"): the node's own IP when `host` is a
 * NAT address, an alias or a name; rendered wherever a node's IP is (nodeAddress).
 */
import { describe, expect, it } from 'vitest';
import { loadInventory } from '../../../src/config/inventory.js';
import { nodeAddress } from '../../../src/deploy/plan.js';
import { InputError } from '../../../src/errors.js';
import { useTempDirs, userErrorOf } from './temp-files.js';

const tmp = useTempDirs();

function load(inventory: string) {
  const t = tmp();
  t.write('.ssh/known_hosts', '');
  t.write('inv.yaml', inventory);
  return loadInventory('inv.yaml', { cwd: t.dir, home: t.dir, env: { USER: 'alice' } });
}

describe('inventory address:', () => {
  it('is what the renderer uses for the node; without it, the host', async () => {
    const inv = await load('nodes:\n  - name: node1\n    host: 203.0.113.10\n    address: 10.0.0.1\n  - name: node2\n    host: 10.0.0.2\n');
    expect(inv.nodes[0]!.address).toBe('10.0.0.1');
    expect(inv.nodes[1]!.address).toBeUndefined();
    expect(await nodeAddress(inv.nodes[0]!)).toBe('10.0.0.1');
    expect(await nodeAddress(inv.nodes[1]!)).toBe('10.0.0.2');
  });

  it('must be an IP address: exit 2 with the file, YAML path and line', async () => {
    const err = await userErrorOf(() => load('nodes:\n  - name: node1\n    host: gpu1.lab\n    address: gpu1.lab\n'));
    expect(err).toBeInstanceOf(InputError);
    expect(err.exitCode).toBe(2);
    expect(err.message).toMatch(/inv\.yaml:4:14 nodes\[0\]\.address: expected an IP address of the node itself/);
  });
});
