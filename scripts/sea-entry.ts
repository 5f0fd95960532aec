/**
 * Entry of the single executable (CommonJS, everything bundled). `--version` is answered before the
 * rest of the bundle is evaluated: the dynamic import below becomes a lazy initialiser in the bundle.
 */
import { VERSION, isVersionOnly } from '../src/version.js';

const argv = process.argv.slice(2);
if (isVersionOnly(argv)) {
  process.stdout.write(`${VERSION}\n`);
} else {
  import('../src/cli.js').then((m) => m.run(argv)).catch((err: unknown) => {
    process.stderr.write(`ascendctl: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
}
