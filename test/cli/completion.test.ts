/**
 * `ascendctl completion bash|zsh`: the scripts parse, and bash completes what a user types — run in a
 * real bash with COMP_WORDS set the way readline sets them, the completion function's answers read back.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { commandSpecs } from '../../src/cli.js';
import completion, { bashScript, zshScript } from '../../src/commands/completion.js';
import { createContext } from '../../src/context.js';
import { InputError } from '../../src/errors.js';

const ZSH = ['/usr/bin/zsh', '/bin/zsh'].find((p) => existsSync(p));

let dir: string;
let bashFile: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ascendctl-completion-'));
  bashFile = join(dir, 'ascendctl.bash');
  writeFileSync(bashFile, bashScript(commandSpecs()));
  // What the file completions should and should not offer.
  const files = join(dir, 'files');
  mkdirSync(join(files, 'configs'), { recursive: true });
  for (const f of ['deepseek-r1.yaml', 'qwen.yml', 'notes.txt', 'inventory.yaml']) writeFileSync(join(files, f), '');
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** The words after `ascendctl`, the last one being the word under the cursor; returns COMPREPLY sorted. */
async function complete(words: string[]): Promise<string[]> {
  const script = [
    'source "$1"; shift',
    'COMP_WORDS=(ascendctl "$@")',
    'COMP_CWORD=$#',
    'COMP_LINE="ascendctl $*"',
    'COMP_POINT=${#COMP_LINE}',
    '_ascendctl',
    'printf "%s\\n" "${COMPREPLY[@]}"',
  ].join('\n');
  const result = await execa('bash', ['--noprofile', '--norc', '-c', script, 'bash', bashFile, ...words], {
    cwd: join(dir, 'files'),
    reject: false,
  });
  expect(result.stderr).toBe('');
  expect(result.exitCode).toBe(0);
  return result.stdout.split('\n').filter(Boolean).sort();
}

describe('bash completion', () => {
  it('is valid bash (bash -n)', async () => {
    const result = await execa('bash', ['-n', bashFile], { reject: false });
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
  });

  it('registers the completion function for ascendctl', async () => {
    const result = await execa('bash', ['--noprofile', '--norc', '-c', `source "${bashFile}"; complete -p ascendctl`]);
    expect(result.stdout).toBe('complete -o filenames -F _ascendctl ascendctl');
  });

  it('completes `ascendctl pre<TAB>` to preflight', async () => {
    expect(await complete(['pre'])).toEqual(['preflight']);
  });

  it('offers every command at the first word', async () => {
    const offered = await complete(['']);
    for (const name of commandSpecs().map((s) => s.name)) expect(offered).toContain(name);
    expect(offered).toContain('--version');
  });

  it("offers the command's own flags, straight from the parser", async () => {
    expect(await complete(['preflight', '--pi'])).toEqual(['--ping']);
    expect(await complete(['deploy', '--dry'])).toEqual(['--dry-run']);
    const preflightFlags = commandSpecs().find((s) => s.name === 'preflight')!.options.flatMap((o) => o.flags);
    expect(await complete(['preflight', '-'])).toEqual([...preflightFlags, '--help'].sort());
    // A flag of another command is not offered.
    expect(await complete(['status', '--dry'])).toEqual([]);
  });

  it('offers the choices of a flag with fixed values, and the shells of `completion`', async () => {
    expect(await complete(['preflight', '--ping', ''])).toEqual(['auto', 'full']);
    expect(await complete(['preflight', '--ping', 'f'])).toEqual(['full']);
    expect(await complete(['completion', ''])).toEqual(['bash', 'zsh']);
  });

  it('offers YAML files and directories for the deployment argument, any file after -i', async () => {
    expect(await complete(['deploy', ''])).toEqual(['configs', 'deepseek-r1.yaml', 'inventory.yaml', 'qwen.yml']);
    expect(await complete(['deploy', 'deep'])).toEqual(['deepseek-r1.yaml']);
    expect(await complete(['deploy', 'x.yaml', '-i', ''])).toEqual(['configs', 'deepseek-r1.yaml', 'inventory.yaml', 'notes.txt', 'qwen.yml']);
  });

  it('offers nothing after a flag whose value is free text, and no files to a command without an argument', async () => {
    expect(await complete(['deploy', '--timeout', ''])).toEqual([]);
    expect(await complete(['demo', ''])).toEqual([]);
  });
});

describe.skipIf(!ZSH)('zsh completion', () => {
  it('is valid zsh (zsh -n) and registers _ascendctl for ascendctl when sourced', async () => {
    const file = join(dir, '_ascendctl');
    writeFileSync(file, zshScript(commandSpecs()));
    const syntax = await execa(ZSH!, ['-n', file], { reject: false });
    expect(syntax.stderr).toBe('');
    expect(syntax.exitCode).toBe(0);
    const loaded = await execa(ZSH!, ['-fc', `autoload -U compinit; compinit -u -d "${join(dir, 'zcompdump')}"; source "${file}"; print -r -- "\${_comps[ascendctl]}"`], { reject: false });
    expect(loaded.stderr).toBe('');
    expect(loaded.stdout.trim()).toBe('_ascendctl');
  });
});
if (!ZSH) console.warn('\n*** SKIPPING the zsh completion syntax check: zsh is not installed ***\n');

describe('the completion command', () => {
  function capture() {
    const stdout = new PassThrough();
    let text = '';
    stdout.on('data', (c: Buffer) => (text += c.toString()));
    const ctx = createContext({ signal: new AbortController().signal, stdout, stderr: new PassThrough(), env: { NO_COLOR: '1' } });
    return { ctx, text: () => text };
  }

  it('prints the bash and zsh scripts', async () => {
    const bash = capture();
    expect(await completion(bash.ctx, ['bash'])).toBe(0);
    expect(bash.text()).toBe(bashScript(commandSpecs()));
    const zsh = capture();
    expect(await completion(zsh.ctx, ['zsh'])).toBe(0);
    expect(zsh.text()).toMatch(/^#compdef ascendctl\n/);
  });

  it('rejects another shell as bad input (exit 2)', async () => {
    const { ctx } = capture();
    const err = await completion(ctx, ['fish']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).exitCode).toBe(2);
  });
});
