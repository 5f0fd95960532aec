/**
 * What the user typed at the chat prompt, assembled into messages and commands. A line ending in `\`
 * continues on the next line; `"""` opens a block that runs until a line ending in `"""` (for pasted
 * text with blank lines). Commands are recognised only at the start of a message, never inside one.
 */

export type ReplInput =
  | { type: 'message'; text: string }
  | { type: 'reset' }
  | { type: 'system'; text: string }
  | { type: 'exit' }
  | { type: 'help' }
  | { type: 'unknown-command'; name: string }
  | { type: 'empty' };

const FENCE = '"""';

export const REPL_HELP = [
  '/system TEXT   set the system prompt (and start a new conversation)',
  '/reset         forget the conversation so far',
  '/exit          leave (Ctrl-D works too)',
  '/help          this list',
  'end a line with \\ to continue on the next; wrap pasted text in """ … """',
  'Ctrl-C cancels the answer being written',
];

export class ReplInputAssembler {
  #lines: string[] = [];
  #mode: 'idle' | 'continued' | 'block' = 'idle';

  /** True while a message spans lines (the prompt shows that more is expected). */
  get continuing(): boolean {
    return this.#mode !== 'idle';
  }

  /** Drop a half-typed message (Ctrl-C at the prompt). */
  clear(): void {
    this.#lines = [];
    this.#mode = 'idle';
  }

  /** One line of input; undefined while the message is not complete. */
  push(line: string): ReplInput | undefined {
    if (this.#mode === 'block') {
      const end = line.trimEnd();
      if (end.endsWith(FENCE)) {
        this.#lines.push(end.slice(0, -FENCE.length));
        return this.#finish();
      }
      this.#lines.push(line);
      return undefined;
    }
    if (this.#mode === 'idle') {
      const trimmed = line.trim();
      if (trimmed.startsWith(FENCE)) {
        const rest = trimmed.slice(FENCE.length);
        if (rest.length >= FENCE.length && rest.endsWith(FENCE)) return message(rest.slice(0, -FENCE.length));
        this.#mode = 'block';
        if (rest !== '') this.#lines.push(rest);
        return undefined;
      }
      if (trimmed.startsWith('/') && !line.endsWith('\\')) return command(trimmed);
    }
    if (line.endsWith('\\')) {
      this.#lines.push(line.slice(0, -1));
      this.#mode = 'continued';
      return undefined;
    }
    this.#lines.push(line);
    return this.#finish();
  }

  #finish(): ReplInput {
    const text = this.#lines.join('\n');
    this.clear();
    return message(text);
  }
}

function message(text: string): ReplInput {
  return text.trim() === '' ? { type: 'empty' } : { type: 'message', text };
}

function command(text: string): ReplInput {
  const space = text.search(/\s/);
  const name = (space === -1 ? text : text.slice(0, space)).toLowerCase();
  const arg = space === -1 ? '' : text.slice(space + 1).trim();
  switch (name) {
    case '/exit':
    case '/quit':
      return { type: 'exit' };
    case '/reset':
    case '/clear':
      return { type: 'reset' };
    case '/system':
      return { type: 'system', text: arg };
    case '/help':
    case '/?':
      return { type: 'help' };
    default:
      return { type: 'unknown-command', name };
  }
}
