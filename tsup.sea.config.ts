import { readFileSync } from 'node:fs';
import { defineConfig } from 'tsup';

const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };

/**
 * What `import.meta.url` means inside the single executable (CommonJS has no import.meta; a bundled
 * dependency's ESM source may read it). No module of src/ reads it today. Deliberately not the
 * executable's own file URL: a module that compares it with process.argv[1] to tell whether it was
 * started as a program (as the test rig's entry, test/harness/serve.ts, does) would see itself started
 * there, since argv[1] is the executable, and take over its arguments.
 */
export const SEA_MODULE_URL = 'file:///ascendctl-single-executable/ascendctl.cjs';

/**
 * The single executable's script: one CommonJS file (Node's SEA runs CommonJS only), every dependency
 * and template inside, no code splitting. ssh2's optional native pieces (cpu-features, sshcrypto.node)
 * stay unresolved `require`s inside ssh2's own try/catch: the SEA's require loads built-ins only, so
 * ssh2 takes its pure-JS crypto path, as it does on a machine where the addon never compiled.
 */
export default defineConfig({
  entry: { ascendctl: 'scripts/sea-entry.ts' },
  format: ['cjs'],
  platform: 'node',
  target: 'node20',
  outDir: 'dist/sea',
  outExtension: () => ({ js: '.cjs' }),
  clean: true,
  splitting: false,
  shims: false,
  sourcemap: false,
  metafile: true,
  // Everything bundled except ssh2's optional native pieces: noExternal wins over external in tsup,
  // so it must not match them, or tsup would copy the .node files next to the bundle.
  noExternal: [/^(?!cpu-features$)(?!.*\.node$)/],
  external: ['cpu-features', /\.node$/],
  // The SEA's script has no dynamic-import callback (`import('node:os')` throws there): have esbuild
  // turn every import() left in the bundle (built-ins) into require().
  esbuildOptions(options) {
    options.supported = { ...options.supported, 'dynamic-import': false };
  },
  define: {
    __ASCENDCTL_VERSION__: JSON.stringify(pkg.version),
    'import.meta.url': JSON.stringify(SEA_MODULE_URL),
  },
});
