/** --ask-become-pass off a terminal: the first line of standard input, read once; passphrases only on a terminal. */
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { becomePasswordAsker, passphraseAsker } from '../../../src/ui/become-prompt.js';
import { isUserError } from '../../../src/errors.js';

const ctx = (text: string) => ({ stdin: Readable.from([Buffer.from(text)]), signal: new AbortController().signal }) as any;

describe('become prompt', () => {
  it('reads the sudo password from the first line of a non-terminal standard input, once', async () => {
    const ask = becomePasswordAsker(ctx('pw with spaces\r\nrest\n'));
    expect(await ask()).toBe('pw with spaces');
    expect(await ask()).toBe('pw with spaces');
  });

  it('an empty standard input is bad input (exit 2) with the way to give it', async () => {
    const err = await becomePasswordAsker(ctx('')).call(undefined).catch((e: unknown) => e);
    expect(isUserError(err) && err.exitCode).toBe(2);
    expect((err as Error).message).toMatch(/no password line/);
  });

  it('never asks for a key passphrase off a terminal', () => {
    expect(passphraseAsker(ctx('x\n'))).toBeUndefined();
  });
});
