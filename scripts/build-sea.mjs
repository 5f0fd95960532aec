#!/usr/bin/env node
/**
 * `npm run build:sea`: the single executable `dist/ascendctl` — a copy of a Node.js binary with the
 * CommonJS bundle of ascendctl injected as its single-executable-application blob. It runs every
 * command, `demo` included, on a machine with no Node.js installed.
 *
 *   node scripts/build-sea.mjs [--node <node binary>] [--out <file>] [--no-code-cache]
 *
 * --node   the Node.js binary to turn into ascendctl (default: the one running this script). Another
 *          architecture's binary builds for that architecture, e.g. linux-arm64 for Kunpeng jump hosts:
 *            curl -O https://nodejs.org/dist/v20.20.2/node-v20.20.2-linux-arm64.tar.xz && tar xf node-v20.20.2-linux-arm64.tar.xz
 *            npm run build:sea -- --node node-v20.20.2-linux-arm64/bin/node --out dist/ascendctl-linux-arm64
 *          It must be the same Node.js version as the one running the build (the blob is made by this
 *          one); the V8 code cache is left out then, as it only fits the architecture that made it.
 * --out    where to write the executable (default: dist/ascendctl).
 * --work-dir  where the bundle and the blob go (default: dist/sea). Tests build outside dist/, which
 *          `npm run build` empties.
 *
 * Steps: bundle (tsup.sea.config.ts) → blob (node --experimental-sea-config sea-config.json) → copy the
 * binary → inject the blob with postject (node_modules/.bin/postject, else `npx postject`) → when the
 * result runs here, check that `--version` answers the package's version.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { arch, platform } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SENTINEL_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
const POSTJECT_VERSION = '1.0.0-alpha.6';

function parseArgs(argv) {
  const opts = { node: process.execPath, out: join(ROOT, 'dist', 'ascendctl'), workDir: join(ROOT, 'dist', 'sea'), codeCache: true };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    if (arg === '--node') opts.node = resolve(value());
    else if (arg === '--out') opts.out = resolve(value());
    else if (arg === '--work-dir') opts.workDir = resolve(value());
    else if (arg === '--no-code-cache') opts.codeCache = false;
    else throw new Error(`unknown argument ${arg} (expected --node <binary>, --out <file>, --work-dir <dir>, --no-code-cache)`);
  }
  return opts;
}

function step(title, file, args, options = {}) {
  process.stderr.write(`build:sea: ${title}\n`);
  execFileSync(file, args, { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'], ...options });
}

/** ELF e_machine of a binary: whether it is this machine's architecture decides code cache and the smoke run. */
function elfMachine(file) {
  const head = readFileSync(file).subarray(0, 20);
  if (head.readUInt32BE(0) !== 0x7f454c46) return undefined;
  return { 0x3e: 'x64', 0xb7: 'arm64' }[head.readUInt16LE(18)] ?? `e_machine ${head.readUInt16LE(18)}`;
}

function postjectCommand() {
  const local = join(ROOT, 'node_modules', '.bin', 'postject');
  if (existsSync(local)) return { file: local, args: [] };
  return { file: 'npx', args: ['--yes', `postject@${POSTJECT_VERSION}`] };
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  const base = realpathSync(opts.node);
  const baseArch = platform() === 'linux' ? elfMachine(base) : arch();
  const native = baseArch === arch();
  if (!readFileSync(base).includes(SENTINEL_FUSE)) {
    throw new Error(`${base} has no single-executable fuse (${SENTINEL_FUSE}): use an official Node.js >= 20 binary`);
  }

  step(`bundling ${join(opts.workDir, 'ascendctl.cjs')} (CommonJS, everything inside)`, join(ROOT, 'node_modules', '.bin', 'tsup'),
    ['--config', 'tsup.sea.config.ts', '--out-dir', opts.workDir, '--silent']);

  // sea-config.json names the default places; a --work-dir moves both the script and the blob.
  const config = JSON.parse(readFileSync(join(ROOT, 'sea-config.json'), 'utf8'));
  config.main = join(opts.workDir, 'ascendctl.cjs');
  config.output = join(opts.workDir, 'ascendctl.blob');
  config.useCodeCache = Boolean(config.useCodeCache) && opts.codeCache && native;
  const configPath = join(opts.workDir, 'sea-config.effective.json');
  writeFileSync(configPath, `${JSON.stringify(config, null, 2)}\n`);
  step('writing the blob', process.execPath, ['--experimental-sea-config', configPath]);

  mkdirSync(dirname(opts.out), { recursive: true });
  rmSync(opts.out, { force: true });
  copyFileSync(base, opts.out);
  chmodSync(opts.out, 0o755);
  const postject = postjectCommand();
  step(`injecting into a copy of ${base} (${baseArch})`, postject.file, [
    ...postject.args, opts.out, 'NODE_SEA_BLOB', config.output, '--sentinel-fuse', SENTINEL_FUSE,
  ]);

  if (native) {
    const printed = execFileSync(opts.out, ['--version'], { encoding: 'utf8', env: { PATH: '/nonexistent' } }).trim();
    if (printed !== pkg.version) throw new Error(`${opts.out} --version printed ${JSON.stringify(printed)}, expected ${pkg.version}`);
  }
  process.stderr.write(`build:sea: wrote ${opts.out} (${baseArch}, ascendctl ${pkg.version}${native ? '' : ', not run: another architecture'})\n`);
}

try {
  main();
} catch (err) {
  process.stderr.write(`build:sea: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
