/**
 * A simulated node's standard input behaves like a shell's: one stream shared by the programs of a
 * command line, so a program that stops reading early leaves the rest to the next one, and a broken
 * channel is the end of the input, not an error thrown at whoever reads (or nobody).
 */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { readAll, readableToPipe } from '../../../src/sim/byte-pipe.js';

describe('readableToPipe', () => {
  it('a reader that stops early leaves the rest of the input to the next reader', async () => {
    const stream = new PassThrough();
    const stdin = readableToPipe(stream);
    for (const c of ['a', 'b', 'c', 'd']) stream.write(c);
    stream.end();
    const first: string[] = [];
    for await (const chunk of stdin) {
      first.push(chunk.toString());
      break;
    }
    expect(first).toEqual(['a']);
    expect((await readAll(stdin)).toString()).toBe('bcd');
    expect((await readAll(stdin)).toString()).toBe('');
  });

  it('an error on the stream ends the input, also when it comes after every reader left', async () => {
    const stream = new PassThrough();
    const stdin = readableToPipe(stream);
    stream.write('x');
    await new Promise((r) => setImmediate(r));
    stream.destroy(new Error('channel broke'));
    expect((await readAll(stdin)).toString()).toBe('x');
    expect(() => stream.emit('error', new Error('late'))).not.toThrow();
  });
});
