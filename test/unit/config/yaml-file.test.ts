import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { InputError } from '../../../src/errors.js';
import { formatYamlPath, loadYamlFile, parseWithSchema, parseYamlText } from '../../../src/config/yaml-file.js';
import { useTempDirs, userErrorOf } from './temp-files.js';

const tmp = useTempDirs();

describe('formatYamlPath', () => {
  it('writes indexes in brackets and odd keys quoted', () => {
    expect(formatYamlPath(['nodes', 1, 'ssh', 'port'])).toBe('nodes[1].ssh.port');
    expect(formatYamlPath(['env', 'A B'])).toBe('env["A B"]');
    expect(formatYamlPath([])).toBe('');
  });
});

describe('parseYamlText', () => {
  it('uses YAML 1.2: yes, no and on stay strings', () => {
    const f = parseYamlText('a: yes\nb: no\nc: on\nd: 1.0\n', 'x.yaml');
    expect(f.data).toEqual({ a: 'yes', b: 'no', c: 'on', d: 1 });
  });

  it('locates values, keys, list items and missing keys at their nearest ancestor', () => {
    const f = parseYamlText('nodes:\n  - name: a\n    ssh:\n      port: 22\n', 'x.yaml');
    expect(f.locate(['nodes', 0, 'ssh', 'port'])).toEqual({ line: 4, col: 13 });
    expect(f.locate(['nodes', 0, 'ssh', 'port'], 'key')).toEqual({ line: 4, col: 7 });
    expect(f.locate(['nodes', 0])).toEqual({ line: 2, col: 5 });
    expect(f.locate(['nodes', 0, 'host'])).toEqual({ line: 2, col: 5 });
    expect(f.locate(['nodes', 5])).toEqual({ line: 2, col: 3 });
  });

  it('rejects a syntax error with file:line:col and exit 2', async () => {
    const err = await userErrorOf(() => parseYamlText('a: [1, 2\nb: 3\n', 'bad.yaml'));
    expect(err).toBeInstanceOf(InputError);
    expect(err.exitCode).toBe(2);
    expect(err.message).toMatch(/^bad\.yaml is not valid YAML \(\d+ problems?\):\n {2}bad\.yaml:\d+:\d+: YAML syntax: /);
    expect(err.message).not.toMatch(/\n\s*\^/); // no source excerpt with a caret: the location says it
    expect(err.hint).toMatch(/fix the YAML syntax/);
  });

  it('rejects duplicate keys naming both lines', async () => {
    const err = await userErrorOf(() => parseYamlText('a: 1\nb: 2\na: 3\n', 'dup.yaml'));
    expect(err.exitCode).toBe(2);
    expect(err.message).toContain('dup.yaml:3:1: duplicate key "a" (first at line 1)');
  });

  it('rejects an alias bomb without a stack trace', async () => {
    const lines = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 0; i < 8; i++) lines.push(`${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10).fill(`*${String.fromCharCode(97 + i)}`).join(', ')}]`);
    const err = await userErrorOf(() => parseYamlText(`${lines.join('\n')}\n`, 'bomb.yaml'));
    expect(err.exitCode).toBe(2);
    expect(err.message).toMatch(/^bomb\.yaml:2:\d+: cannot read the file: /); // at the first alias
  });

  it('locates an alias with no anchor at its own line', async () => {
    const err = await userErrorOf(() => parseYamlText('name: deepseek-r1\nimage: *y\n', 'alias.yaml'));
    expect(err.exitCode).toBe(2);
    expect(err.message).toMatch(/^alias\.yaml:2:8: cannot read the file: .*alias/i);
    expect(err.info.line).toBe(2);
  });

  it('rejects an empty or comment-only file', async () => {
    for (const text of ['', '\n\n', '# just a comment\n', '---\n']) {
      const err = await userErrorOf(() => parseYamlText(text, 'empty.yaml', { what: 'inventory' }));
      expect(err.exitCode).toBe(2);
      expect(err.message).toBe('empty.yaml:1:1: the inventory is empty');
      expect(err.hint).toMatch(/templates/);
    }
  });
});

describe('loadYamlFile', () => {
  it('reads a file relative to cwd and keeps the path as given', async () => {
    const t = tmp();
    t.write('conf/a.yaml', 'x: 1\n');
    const f = await loadYamlFile('conf/a.yaml', { cwd: t.dir });
    expect(f.file).toBe('conf/a.yaml');
    expect(f.absolutePath).toBe(t.path('conf/a.yaml'));
    expect(f.data).toEqual({ x: 1 });
  });

  it('names a missing file with the given next step', async () => {
    const t = tmp();
    const err = await userErrorOf(() => loadYamlFile('nope.yaml', { cwd: t.dir, what: 'inventory', missingHint: 'pass -i FILE' }));
    expect(err.exitCode).toBe(2);
    expect(err.message).toBe(`nope.yaml: the inventory does not exist (looked for ${t.path('nope.yaml')})`);
    expect(err.hint).toBe('pass -i FILE');
  });

  it('rejects a directory', async () => {
    const t = tmp();
    t.write('d/x', '');
    const err = await userErrorOf(() => loadYamlFile('d', { cwd: t.dir }));
    expect(err.message).toMatch(/d: the file is a directory/);
  });
});

describe('parseWithSchema', () => {
  const schema = z.strictObject({
    port: z.int(),
    mode: z.enum(['a', 'b']),
    inner: z.strictObject({ flag: z.boolean() }),
    either: z.union([z.string(), z.number()]).optional(),
    list: z.array(z.string()).min(1).optional(),
  });

  it('lists every problem, located, with what was expected and what was found', async () => {
    const text = 'port: "22"\nmode: c\ninner:\n  flag: 1\n  extra: x\ntop: 1\neither: true\nlist: []\n';
    const f = parseYamlText(text, 's.yaml');
    const err = await userErrorOf(() => parseWithSchema(f, schema));
    expect(err.exitCode).toBe(2);
    expect(err.message.split('\n')).toEqual([
      's.yaml is invalid (7 problems):',
      '  s.yaml:1:7 port: expected an integer, got "22"',
      '  s.yaml:2:7 mode: expected one of a, b, got "c"',
      '  s.yaml:4:9 inner.flag: expected true or false, got number 1',
      '  s.yaml:5:3 inner.extra: unknown key "extra"; expected one of: flag',
      '  s.yaml:6:1 top: unknown key "top"; expected one of: port, mode, inner, either, list',
      '  s.yaml:7:9 either: expected a string or a number, got boolean true',
      '  s.yaml:8:7 list: expected at least 1 item',
    ]);
    expect(err.hint).toBe('fix them in s.yaml and run the command again');
  });

  it('says a required key is missing and points at the key of the mapping it belongs in, not at a sibling', async () => {
    const f = parseYamlText('mode: a\ninner:\n  other: 1\n', 'm.yaml');
    const err = await userErrorOf(() => parseWithSchema(f, schema));
    expect(err.message).toContain('m.yaml:1:1 port: required, expected an integer');
    expect(err.message).toContain('m.yaml:2:1 inner.flag: required, expected true or false');
  });

  it('refuses a binary file before parsing it, without echoing its bytes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ascendctl-bin-'));
    try {
      const file = join(dir, 'model.tar');
      await writeFile(file, Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x00, 0x41, 0x42, 0x00, 0xff]));
      const err = await userErrorOf(() => loadYamlFile(file, { what: 'deployment file' }));
      expect(err.message).toBe(`${file}: the deployment file is not a text file (it holds NUL bytes), expected YAML`);
      expect(err.exitCode).toBe(2);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('rejects a top level that is not a mapping', async () => {
    const f = parseYamlText('- a\n- b\n', 'l.yaml');
    const err = await userErrorOf(() => parseWithSchema(f, schema));
    expect(err.message).toContain('l.yaml:1:1: expected a mapping (key: value), got a list');
  });

  it('returns the typed data when valid', () => {
    const f = parseYamlText('port: 22\nmode: b\ninner: { flag: false }\n', 'ok.yaml');
    expect(parseWithSchema(f, schema)).toEqual({ port: 22, mode: 'b', inner: { flag: false } });
  });
});
