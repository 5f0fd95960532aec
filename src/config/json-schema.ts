/**
 * JSON Schemas of the two user file formats, generated from the zod schemas so editors (yaml-language-server,
 * via the `$schema` line of the templates) complete and check exactly what loadInventory/loadDeployment accept.
 * The committed files under schemas/ are compared to these by a test, so they cannot drift.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as z from 'zod';
import { deploymentSchema } from './deployment.js';
import { inventorySchema } from './inventory.js';

export interface JsonSchemas {
  'inventory.schema.json': Record<string, unknown>;
  'deployment.schema.json': Record<string, unknown>;
}

function generate(schema: z.ZodType, title: string): Record<string, unknown> {
  // `input`: the schema of what users write (defaults optional, durations as text), not of the parsed result.
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' }) as Record<string, unknown>;
  return { ...json, title };
}

export function jsonSchemas(): JsonSchemas {
  return {
    'inventory.schema.json': generate(inventorySchema, 'ascendctl inventory'),
    'deployment.schema.json': generate(deploymentSchema, 'ascendctl deployment'),
  };
}

/** The exact bytes of each committed schema file. */
export function renderJsonSchemas(): Record<keyof JsonSchemas, string> {
  const s = jsonSchemas();
  return {
    'inventory.schema.json': `${JSON.stringify(s['inventory.schema.json'], null, 2)}\n`,
    'deployment.schema.json': `${JSON.stringify(s['deployment.schema.json'], null, 2)}\n`,
  };
}

/** Regenerate schemas/: `npx tsx -e "import('./src/config/json-schema.ts').then((m) => m.writeJsonSchemas('schemas'))"`. */
export async function writeJsonSchemas(dir: string): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const written: string[] = [];
  for (const [name, text] of Object.entries(renderJsonSchemas())) {
    const p = path.join(dir, name);
    await writeFile(p, text);
    written.push(p);
  }
  return written;
}
