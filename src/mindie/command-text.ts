import { quoteArg } from '../remote/quote.js';

/**
 * A command as readable shell text: every word quoted, a line continuation before each option (and
 * before `tailFrom`, the index where the positional tail starts). Pasting it into a shell runs argv.
 */
export function commandText(argv: readonly string[], tailFrom = argv.length): string {
  const lines: string[] = [];
  let current: string[] = [];
  argv.forEach((arg, i) => {
    const breakHere = i > 2 && current.length > 0 && (i === tailFrom || (i < tailFrom && arg.startsWith('-')));
    if (breakHere) {
      lines.push(current.join(' '));
      current = [];
    }
    current.push(quoteArg(arg));
  });
  if (current.length > 0) lines.push(current.join(' '));
  return lines.join(' \\\n  ');
}
