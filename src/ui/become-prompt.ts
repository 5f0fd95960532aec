/**
 * Secrets asked of the user. The sudo password for `--ask-become-pass`: asked once per run (at the start), on the terminal without echo, or
 * read as the first line of standard input when that is not a terminal (scripts, CI:
 * `ascendctl deploy x.yaml --ask-become-pass < password-file`). It is kept in memory only: never
 * put in argv, an environment variable, a log or a message.
 */
import type { Context } from '../context.js';
import { InputError, InterruptedError } from '../errors.js';

/** A function that asks on its first call and gives the same answer afterwards. */
export function becomePasswordAsker(ctx: Pick<Context, 'stdin' | 'out' | 'signal'>, stderr: NodeJS.WritableStream = process.stderr): () => Promise<string> {
  let answer: Promise<string> | undefined;
  return () => (answer ??= ctx.stdin.isTTY ? askOnTerminal(ctx, stderr, 'sudo password (ssh.become): ') : firstLine(ctx.stdin));
}

/**
 * The passphrase of an encrypted identity file no ssh-agent answers for, asked on the terminal
 * (the SSH pool asks once per file). Only on a terminal: without one such a key stays an error.
 */
export function passphraseAsker(ctx: Pick<Context, 'stdin' | 'signal'>, stderr: NodeJS.WritableStream = process.stderr): ((file: string) => Promise<string>) | undefined {
  if (!ctx.stdin.isTTY) return undefined;
  // One prompt at a time: nodes connect in parallel, and two prompts on one terminal would mix.
  let queue: Promise<unknown> = Promise.resolve();
  return (file) => {
    const next = queue.then(() => askOnTerminal(ctx, stderr, `Enter passphrase for key '${file}': `));
    queue = next.catch(() => undefined);
    return next;
  };
}

async function askOnTerminal(ctx: Pick<Context, 'stdin' | 'signal'>, stderr: NodeJS.WritableStream, prompt: string): Promise<string> {
  const input = ctx.stdin as NodeJS.ReadStream;
  stderr.write(prompt);
  const wasRaw = input.isRaw;
  input.setRawMode(true);
  input.resume();
  try {
    return await new Promise<string>((resolve, reject) => {
      let typed = '';
      const done = (err?: Error): void => {
        input.off('data', onData);
        ctx.signal.removeEventListener('abort', onAbort);
        stderr.write('\n');
        if (err) reject(err);
        else resolve(typed);
      };
      const onAbort = (): void => done(new InterruptedError('interrupted at the prompt; nothing was done'));
      const onData = (chunk: Buffer): void => {
        for (const ch of chunk.toString('utf8')) {
          if (ch === '\r' || ch === '\n') return done();
          // Raw mode turns Ctrl-C into a character instead of SIGINT: it still means "stop" (exit 130).
          if (ch === '\u0003') return done(new InterruptedError('interrupted at the prompt; nothing was done'));
          if (ch === '\u007f' || ch === '\b') typed = typed.slice(0, -1);
          else typed += ch;
        }
      };
      ctx.signal.addEventListener('abort', onAbort, { once: true });
      input.on('data', onData);
    });
  } finally {
    input.setRawMode(wasRaw);
    input.pause();
  }
}

/** The first line of a non-terminal standard input (what follows it is not read by anyone else). */
async function firstLine(stdin: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stdin as AsyncIterable<Buffer | string>) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    const nl = buf.indexOf(0x0a);
    if (nl >= 0) {
      chunks.push(buf.subarray(0, nl));
      break;
    }
    chunks.push(buf);
  }
  const line = Buffer.concat(chunks).toString('utf8').replace(/\r$/, '');
  if (line === '') {
    throw new InputError('--ask-become-pass: standard input is not a terminal and gave no password line', {
      hint: 'run it on a terminal, or pass the password as the first line of standard input',
    });
  }
  return line;
}
