import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkDeploymentAgainstInventory, checkModelDivisibility, loadDeployment } from '../../../src/config/deployment.js';
import { loadInventory } from '../../../src/config/inventory.js';
import { jsonSchemas, renderJsonSchemas } from '../../../src/config/json-schema.js';
import { useTempDirs } from './temp-files.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const tmp = useTempDirs();

describe('templates/', () => {
  it('inventory.example.yaml parses and resolves (4 nodes, node1 the master)', async () => {
    const home = tmp();
    home.write('.ssh/id_ed25519', 'k');
    home.write('.ssh/known_hosts', '');
    const inv = await loadInventory('templates/inventory.example.yaml', { cwd: ROOT, home: home.dir, env: { USER: 'u' } });
    expect(inv.allNodes.map((n) => n.name)).toEqual(['node1', 'node2', 'node3', 'node4']);
    expect(inv.master.name).toBe('node1');
    expect(inv.master).toMatchObject({ user: 'root', port: 22, strictHostKeyChecking: 'yes', connectTimeoutMs: 10_000 });
    expect(inv.allNodes[3]?.port).toBe(2222);
    expect(inv.checks.minDriver).toBe('25.2');
  });

  it('deepseek-r1.example.yaml parses and fits the example inventory and the R1 weights', async () => {
    const home = tmp();
    home.write('.ssh/id_ed25519', 'k');
    home.write('.ssh/known_hosts', '');
    const dep = await loadDeployment('templates/deepseek-r1.example.yaml', { cwd: ROOT, home: home.dir, env: {} });
    expect(dep.deployment.parallel).toEqual({ dataParallelSize: 4, tensorParallelSize: 8, moeTensorParallelSize: 1, moeExpertParallelSize: 32 });
    expect(dep.deployment.backend).toBe('mindie');
    expect(dep.deployment.inventory).toBe('inventory.yaml');
    // The example names inventory.yaml (what a user copies it to); its example is next to it.
    const inv = await loadInventory(path.join(dep.dir, 'inventory.example.yaml'), { home: home.dir, env: { USER: 'u' } });
    expect(() => checkDeploymentAgainstInventory(dep, inv)).not.toThrow();
    const r1 = { num_attention_heads: 128, n_routed_experts: 256, moe_intermediate_size: 2048, vocab_size: 129280 };
    expect(checkModelDivisibility(dep.deployment, r1)).toEqual([]);
  });

  it('point editors at the committed schemas', () => {
    for (const [file, schema] of [
      ['inventory.example.yaml', 'inventory.schema.json'],
      ['deepseek-r1.example.yaml', 'deployment.schema.json'],
    ] as const) {
      const first = readFileSync(path.join(ROOT, 'templates', file), 'utf8').split('\n')[0];
      expect(first).toBe(`# yaml-language-server: $schema=../schemas/${schema}`);
    }
  });
});

describe('schemas/', () => {
  it('the committed JSON Schemas equal the generated ones', () => {
    const hint = `regenerate: npx tsx -e "import('./src/config/json-schema.ts').then((m) => m.writeJsonSchemas('schemas'))"`;
    for (const [name, text] of Object.entries(renderJsonSchemas())) {
      const committed = readFileSync(path.join(ROOT, 'schemas', name), 'utf8');
      expect(committed, `${name} is stale; ${hint}`).toBe(text);
    }
  });

  it('describe the strict formats: unknown keys refused, nodes required', () => {
    const { 'inventory.schema.json': inv, 'deployment.schema.json': dep } = jsonSchemas();
    expect(inv['additionalProperties']).toBe(false);
    expect(inv['required']).toEqual(['nodes']);
    expect(dep['additionalProperties']).toBe(false);
    expect(dep['required']).toEqual(expect.arrayContaining(['name', 'image', 'model', 'parallel']));
    const props = inv['properties'] as Record<string, Record<string, unknown>>;
    expect(props['npusPerNode']?.['default']).toBe(8);
  });
});
