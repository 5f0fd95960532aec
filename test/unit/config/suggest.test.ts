/** Unknown keys suggest the nearest known key at that YAML path, and nothing when none is close. */
import { describe, expect, it } from 'vitest';
import { deploymentFromYaml } from '../../../src/config/deployment.js';
import { resolveInventory } from '../../../src/config/inventory.js';
import { editDistance, nearestKey } from '../../../src/config/suggest.js';
import { parseYamlText } from '../../../src/config/yaml-file.js';
import { userErrorOf } from './temp-files.js';

describe('nearestKey', () => {
  it('edit distance counts a swap of neighbours as one edit', () => {
    expect(editDistance('hots', 'host')).toBe(1);
    expect(editDistance('prot', 'port')).toBe(1);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('kitten', 'sitting')).toBe(3);
  });

  it('suggests a close key, ignoring case', () => {
    expect(nearestKey('hots', ['name', 'host', 'role', 'ssh', 'tools'])).toBe('host');
    expect(nearestKey('maxSeqlen', ['maxSeqLen', 'maxBatchSize'])).toBe('maxSeqLen');
    expect(nearestKey('tensorParalelSize', ['dataParallelSize', 'tensorParallelSize'])).toBe('tensorParallelSize');
  });

  it('suggests nothing when no key is close', () => {
    expect(nearestKey('bogus', ['name', 'host', 'role', 'ssh', 'tools'])).toBeUndefined();
    expect(nearestKey('xyz', ['ssh'])).toBeUndefined();
    expect(nearestKey('replicas', ['name', 'inventory', 'backend', 'image', 'model'])).toBeUndefined();
    expect(nearestKey('a', [])).toBeUndefined();
  });
});

async function inventoryMessage(text: string): Promise<string> {
  const err = await userErrorOf(() => resolveInventory(parseYamlText(text, 'inv.yaml'), { env: { USER: 'x' }, home: '/nonexistent' }));
  expect(err.exitCode).toBe(2);
  return err.message;
}

const DEPLOYMENT = `name: r1
image: mindie:2.1
model: { path: /data/m, name: m }
parallel: { dataParallelSize: 2, tensorParallelSize: 8, moeTensorParallelSize: 1, moeExpertParallelSize: 16 }
`;

async function deploymentMessage(text: string): Promise<string> {
  const err = await userErrorOf(() => deploymentFromYaml(parseYamlText(text, 'dep.yaml')));
  expect(err.exitCode).toBe(2);
  return err.message;
}

describe('unknown keys in the files', () => {
  it('inventory: a misspelt node key, located, with the suggestion', async () => {
    expect(await inventoryMessage('nodes:\n  - name: a\n    hots: 10.0.0.1\n')).toContain(
      'inv.yaml:3:5 nodes[0].hots: unknown key "hots"; expected one of: name, host, role, address, ssh, tools; did you mean "host"?',
    );
  });

  it('inventory: nested and top-level keys use the keys valid at their own path', async () => {
    expect(await inventoryMessage('ssh:\n  identityfile: k\nnodes:\n  - { name: a, host: h }\n')).toMatch(/inv\.yaml:2:3 ssh\.identityfile: unknown key .*; did you mean "identityFile"\?/);
    expect(await inventoryMessage('node:\n  - { name: a, host: h }\n')).toMatch(/inv\.yaml:1:1 node: unknown key "node"; .*did you mean "nodes"\?/);
  });

  it('inventory: no suggestion when nothing is close', async () => {
    const msg = await inventoryMessage('nodes:\n  - name: a\n    host: h\n    bogus: 3\n');
    expect(msg).toContain('nodes[0].bogus: unknown key "bogus"; expected one of: name, host, role, address, ssh, tools');
    expect(msg).not.toContain('did you mean');
  });

  it('deployment: misspelt keys at the top and nested', async () => {
    const msg = await deploymentMessage(`${DEPLOYMENT}imgae: x\nports: { htpt: 1025 }\n`);
    expect(msg).toMatch(/dep\.yaml:5:1 imgae: unknown key "imgae"; .*did you mean "image"\?/);
    expect(msg).toMatch(/dep\.yaml:6:10 ports\.htpt: unknown key "htpt"; .*did you mean "http"\?/);
  });

  it('deployment: no suggestion when nothing is close', async () => {
    const msg = await deploymentMessage(`${DEPLOYMENT}replicas: 2\n`);
    expect(msg).toContain('replicas: unknown key "replicas"');
    expect(msg).not.toContain('did you mean');
  });
});
