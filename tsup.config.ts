import { readFileSync } from 'node:fs';
import { defineConfig } from 'tsup';

const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };

// One bundle for the CLI (dependencies included, so the single executable needs no node_modules),
// plus the simulator entry used by the demo, the tests and the benchmarks.
export default defineConfig({
  entry: { cli: 'src/cli.ts', sim: 'src/sim/main.ts' },
  format: ['esm'],
  platform: 'node',
  target: 'node20',
  outDir: 'dist',
  clean: true,
  splitting: true,
  shims: true,
  sourcemap: true,
  noExternal: [/.*/],
  external: ['cpu-features', /\.node$/],
  define: { __ASCENDCTL_VERSION__: JSON.stringify(pkg.version) },
  banner: {
    js: "import { createRequire as __ascCreateRequire } from 'node:module'; const require = __ascCreateRequire(import.meta.url);",
  },
});
