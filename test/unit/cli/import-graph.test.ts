/**
 * The entry point and the commands are the top of the import graph: nothing imports cli.ts back (the
 * completion command used to, for the parser's definitions), nothing outside src/commands imports a
 * command, and the command specs — loaded by `--help` — import nothing. Read from the sources: every
 * `import`/`export … from` and `import()` that is not type-only.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../../src');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []);
}

/** The repository-relative modules a file loads at run time. */
function valueImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\s+(type\s+)?[^'";]*?from\s+'(\.[^']+)'|import\('(\.[^']+)'\)/g)) {
    if (m[1]) continue;
    const spec = (m[2] ?? m[3])!;
    out.push(relative(SRC, resolve(dirname(file), spec.replace(/\.js$/, '.ts'))));
  }
  return out;
}

const graph = new Map(sources(SRC).map((f) => [relative(SRC, f), valueImports(f)]));

describe('import graph of the CLI', () => {
  it('reads imports (the check itself sees the entry point loading every command)', () => {
    expect(graph.get('cli.ts')).toEqual(expect.arrayContaining(['command-specs.ts', 'commands/completion.ts', 'commands/preflight.ts']));
  });

  it('nothing imports cli.ts', () => {
    expect([...graph].filter(([, deps]) => deps.includes('cli.ts')).map(([f]) => f)).toEqual([]);
  });

  it('only cli.ts and other commands import a command module', () => {
    const importers = [...graph].filter(([f, deps]) => f !== 'cli.ts' && !f.startsWith('commands/') && deps.some((d) => d.startsWith('commands/')));
    expect(importers.map(([f]) => f)).toEqual([]);
  });

  it('the command specs import nothing', () => {
    expect(graph.get('command-specs.ts')).toEqual([]);
  });
});
