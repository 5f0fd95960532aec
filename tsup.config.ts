import { readFileSync } from 'node:fs';
import { defineConfig } from 'tsup';

const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };

// One bundle for the CLI (dependencies included, so the installed package needs no node_modules) and
// the version module that bin/ascendctl answers `--version` from without loading the CLI. Commands are
// dynamic imports of cli.ts, so each lands in its own chunk and `--help` loads none of them; the demo
// imports the simulator (src/sim) the same way. The `sim` entry is the test rig, not the product: the
// simulator as a process (`node dist/sim.js serve`) for the real-OpenSSH tests and the benchmarks, from
// test/harness/. The single executable has its own configuration: tsup.sea.config.ts.
//
// Whitespace and syntax are minified, identifiers are not: V8 parses every byte of a module it loads, and
// `logs` on 16 nodes reached its first connection about 30 ms sooner with the bundle at 2.3 instead of
// 3.4 MB (median of ten alternating runs each), while stack traces still name the functions and the source
// maps still lead back to src/.
export default defineConfig({
  entry: { cli: 'src/cli.ts', sim: 'test/harness/serve.ts', version: 'src/version.ts' },
  format: ['esm'],
  platform: 'node',
  target: 'node20',
  outDir: 'dist',
  clean: true,
  splitting: true,
  shims: true,
  sourcemap: true,
  minifyWhitespace: true,
  minifySyntax: true,
  noExternal: [/.*/],
  external: ['cpu-features', /\.node$/],
  define: { __ASCENDCTL_VERSION__: JSON.stringify(pkg.version) },
  banner: {
    js: "import { createRequire as __ascCreateRequire } from 'node:module'; const require = __ascCreateRequire(import.meta.url);",
  },
});
