/**
 * Start-up loads only what it needs: `--version` the version module alone, `--help` commander and the
 * parser, never a command module, ssh2, listr2, undici or the output layer. Observed, not inferred:
 * the CLI is built into a temporary directory (so a concurrent `npm run build` cannot pull dist/ away),
 * run with a module-loading hook that records every file it loads, and each loaded bundle file is
 * traced back to its sources through its source map.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const VERSION = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/** Sources that `--help` must not load: every command, the transports, the UI libraries, the test rig. */
const HEAVY = [
  /^src\/commands\//,
  /^src\/(remote|preflight|deploy|mindie|chat|logs|sim|demo|ui|config)\//,
  /^test\//,
  /node_modules\/(ssh2|listr2|undici|ora|chalk|execa|zod|yaml|ssh-config)\//,
];

let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ascendctl-startup-'));
  await execa(join(REPO_ROOT, 'node_modules', '.bin', 'tsup'), ['--out-dir', join(dir, 'dist'), '--silent'], { cwd: REPO_ROOT });
  mkdirSync(join(dir, 'bin'));
  copyFileSync(join(REPO_ROOT, 'bin', 'ascendctl'), join(dir, 'bin', 'ascendctl'));
  copyFileSync(join(REPO_ROOT, 'package.json'), join(dir, 'package.json'));
  // Hooks run on a separate thread: they append to a file named by the data passed to register().
  writeFileSync(join(dir, 'hooks.mjs'), `
import { appendFileSync } from 'node:fs';
let file;
export function initialize(data) { file = data.file; }
export async function load(url, context, next) {
  if (url.startsWith('file:')) appendFileSync(file, url + '\\n');
  return next(url, context);
}
`);
  writeFileSync(join(dir, 'register.mjs'), `
import { register } from 'node:module';
register(${JSON.stringify(pathToFileURL(join(dir, 'hooks.mjs')).href)}, { data: { file: process.env.ASCENDCTL_TEST_LOADED } });
`);
}, 180_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Started {
  exitCode: number | undefined;
  stdout: string;
  /** The files the process loaded. */
  files: string[];
  /** The sources inside them, relative to the repository (node_modules/… for dependencies). */
  sources: string[];
}

async function start(args: string[]): Promise<Started> {
  const loadedFile = join(dir, `loaded-${args.join('_')}.txt`);
  writeFileSync(loadedFile, '');
  const result = await execa(process.execPath, ['--import', pathToFileURL(join(dir, 'register.mjs')).href, join(dir, 'bin', 'ascendctl'), ...args], {
    cwd: dir,
    env: { ASCENDCTL_TEST_LOADED: loadedFile, NO_COLOR: '1' },
    reject: false,
  });
  const files = [...new Set(readFileSync(loadedFile, 'utf8').split('\n').filter(Boolean).map((u) => fileURLToPath(u)))]
    .filter((f) => f.startsWith(join(dir, 'dist')) || f.startsWith(join(dir, 'bin')));
  const sources = new Set<string>();
  for (const file of files.filter((f) => f.endsWith('.js'))) {
    const map = JSON.parse(readFileSync(`${file}.map`, 'utf8')) as { sources: string[] };
    for (const s of map.sources) {
      const abs = resolve(dirname(file), s);
      const rel = relative(REPO_ROOT, abs);
      sources.add(rel.includes('node_modules/') ? rel.slice(rel.lastIndexOf('node_modules/')) : rel);
    }
  }
  return { exitCode: result.exitCode, stdout: result.stdout, files, sources: [...sources].sort() };
}

describe('start-up', () => {
  it('--version loads the launcher and the version module only', async () => {
    const run = await start(['--version']);
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toBe(VERSION);
    expect(run.files).not.toContain(join(dir, 'dist', 'cli.js'));
    // tsup's ESM shim is the only other source: no commander, nothing of the CLI.
    expect(run.sources.filter((s) => !s.endsWith('tsup/assets/esm_shims.js'))).toEqual(['src/version.ts']);
    const short = await start(['-V']);
    expect(short.stdout).toBe(VERSION);
    expect(short.files).not.toContain(join(dir, 'dist', 'cli.js'));
  });

  it('--help loads commander and the parser, and no command, transport or UI library', async () => {
    const run = await start(['--help']);
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toMatch(/^Usage: ascendctl /);
    expect(run.stdout).toContain('preflight');
    expect(run.sources).toContain('src/cli.ts');
    expect(run.sources.some((s) => s.startsWith('node_modules/commander/'))).toBe(true);
    expect(run.sources.filter((s) => HEAVY.some((re) => re.test(s)))).toEqual([]);
  });

  it('a command help and a flag error load no command module either', async () => {
    const help = await start(['preflight', '--help']);
    expect(help.exitCode).toBe(0);
    expect(help.stdout).toContain('--ping');
    expect(help.sources.filter((s) => HEAVY.some((re) => re.test(s)))).toEqual([]);
    const wrong = await start(['preflight', '--no-such-flag']);
    expect(wrong.exitCode).toBe(2);
    expect(wrong.sources.filter((s) => /^src\/commands\//.test(s))).toEqual([]);
  });

  it('the simulator is no part of any command\'s start: only the demo reaches it, through a dynamic import', () => {
    const dist = join(dir, 'dist');
    const read = (file: string) => readFileSync(join(dist, file), 'utf8');
    /**
     * The chunks a file loads before it runs (static imports, transitively), and the ones it may load later.
     * The bundle is minified, so an import statement starts a line or follows another statement's `;`.
     */
    const closure = (entry: string) => {
      const seen = new Set<string>();
      const later = new Set<string>();
      const todo = [entry];
      while (todo.length > 0) {
        const file = todo.pop()!;
        if (seen.has(file)) continue;
        seen.add(file);
        const text = read(file);
        for (const m of text.matchAll(/(?:^|[\n;])(?:import|export)\b[^;]*?from\s*"\.\/([^"]+)"|(?:^|[\n;])import\s*"\.\/([^"]+)"/g)) todo.push((m[1] ?? m[2])!);
        for (const m of text.matchAll(/import\("\.\/([^"]+)"\)/g)) later.add(m[1]!);
      }
      return { loaded: [...seen], later: [...later].filter((f) => !seen.has(f)) };
    };
    const sourcesOf = (files: string[]) => files.flatMap((f) => (JSON.parse(read(`${f}.map`)) as { sources: string[] }).sources
      .map((s) => relative(REPO_ROOT, resolve(dist, s))));
    const cli = closure('cli.js');
    expect(cli.later.length).toBeGreaterThanOrEqual(10);
    for (const chunk of [cli.loaded[0]!, ...cli.later]) {
      const c = closure(chunk);
      expect(sourcesOf(c.loaded).filter((s) => s.startsWith('src/sim/')), chunk).toEqual([]);
    }
    const demo = cli.later.find((f) => /^demo-/.test(f))!;
    expect(sourcesOf(closure(demo).loaded)).toContain('src/demo/cluster.ts');
    const simulator = closure(demo).later.filter((f) => sourcesOf(closure(f).loaded).includes('src/sim/main.ts'));
    expect(simulator).toHaveLength(1);
    // dist/sim.js is the test rig (test/harness/), built from the same simulator: no chunk the CLI can
    // ever load, at start or later, is it or holds any of its sources.
    expect(sourcesOf(['sim.js'])).toContain('test/harness/serve.ts');
    expect(sourcesOf(closure('sim.js').loaded)).toContain('src/sim/main.ts');
    const reachable = new Set<string>();
    for (const todo = ['cli.js']; todo.length > 0;) {
      const file = todo.pop()!;
      if (reachable.has(file)) continue;
      reachable.add(file);
      const c = closure(file);
      todo.push(...c.loaded, ...c.later);
    }
    expect(reachable).not.toContain('sim.js');
    expect(sourcesOf([...reachable]).filter((s) => s.startsWith('test/'))).toEqual([]);
  });

  it('does load the command module once a command runs (the trace sees lazy imports)', async () => {
    const run = await start(['completion', 'bash']);
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toContain('complete -o filenames -F _ascendctl ascendctl');
    expect(run.sources).toContain('src/commands/completion.ts');
  });
});
