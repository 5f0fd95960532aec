/**
 * The logs separator follows the terminal's character set (cli-contract.md: ` │ `, or ` | ` when not
 * UTF-8), and the character set is the first of LC_ALL, LC_CTYPE, LANG that is set, as in POSIX.
 */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Output } from '../../../src/ui/output.js';

const unicode = (env: Record<string, string>) =>
  new Output({ env, stdout: new PassThrough(), stderr: new PassThrough() }).unicode;

describe('the character set of the output', () => {
  it('LC_ALL wins over LANG, both ways', () => {
    expect(unicode({ LC_ALL: 'C', LANG: 'C.UTF-8' })).toBe(false);
    expect(unicode({ LC_ALL: 'en_US.UTF-8', LANG: 'C' })).toBe(true);
  });
  it('then LC_CTYPE, then LANG; an empty value counts as unset', () => {
    expect(unicode({ LC_CTYPE: 'POSIX', LANG: 'en_US.UTF-8' })).toBe(false);
    expect(unicode({ LC_ALL: '', LC_CTYPE: '', LANG: 'zh_CN.utf8' })).toBe(true);
    expect(unicode({ LANG: 'C' })).toBe(false);
  });
});
