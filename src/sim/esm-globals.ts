/**
 * Imported first by main.ts: when ssh2 (CommonJS) is bundled into an ESM file, its module code reads
 * `__dirname` at load time (lib/agent.js), which ESM does not define. Harmless when already defined.
 */
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const g = globalThis as { __dirname?: string; __filename?: string };
g.__filename ??= fileURLToPath(import.meta.url);
g.__dirname ??= dirname(g.__filename);
