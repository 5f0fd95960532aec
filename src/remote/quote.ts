/**
 * The one place where argv becomes a remote shell command line (docs/architecture.md, Principles 3). Every word is passed
 * through quoteArg(), so no value from a YAML file ever reaches a remote shell unquoted.
 */

const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** POSIX single-quote one word: `it's` → `'it'\''s'`; plain words stay bare for readable logs. */
export function quoteArg(word: string): string {
  if (word === '') return "''";
  if (SAFE.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Join an argv array into the command string sent over SSH. */
export function shellJoin(argv: readonly string[]): string {
  if (argv.length === 0) throw new Error('shellJoin: empty argv');
  return argv.map(quoteArg).join(' ');
}

/**
 * Wrap argv so the remote side enforces the bound too (`timeout -k 5 <s> …`, coreutils): a tool left
 * running after we give up would keep the NPU's device channel and answer "busy" to the next caller.
 */
export function withRemoteTimeout(argv: readonly string[], timeoutMs: number): string[] {
  const secs = Math.max(1, Math.ceil(timeoutMs / 1000));
  return ['timeout', '-k', '5', String(secs), ...argv];
}
