/**
 * preflight's `hardware` check compares `npusPerNode` with the servers only when the inventory says it
 * itself: the loader records whether the value was given or is the default.
 */
import { describe, expect, it } from 'vitest';
import { loadInventory } from '../../../src/config/inventory.js';
import { useTempDirs } from './temp-files.js';

const tmp = useTempDirs();
const NODES = 'nodes:\n  - name: node1\n    host: 10.0.0.1\n';

async function load(text: string) {
  const t = tmp();
  t.write('.ssh/known_hosts', '');
  t.write('inv.yaml', text);
  return loadInventory('inv.yaml', { cwd: t.dir, home: t.dir, env: { USER: 'alice' } });
}

describe('npusPerNode: given or default', () => {
  it('records a value the file gives, even the default one', async () => {
    expect(await load(`npusPerNode: 16\n${NODES}`)).toMatchObject({ npusPerNode: 16, npusPerNodeGiven: true });
    expect(await load(`npusPerNode: 8\n${NODES}`)).toMatchObject({ npusPerNode: 8, npusPerNodeGiven: true });
  });

  it('records a default as not given', async () => {
    expect(await load(NODES)).toMatchObject({ npusPerNode: 8, npusPerNodeGiven: false });
  });
});
