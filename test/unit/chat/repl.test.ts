import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runRepl } from '../../../src/chat/chat-repl.js';
import { historyPath } from '../../../src/chat/repl-history.js';
import { ReplInputAssembler, type ReplInput } from '../../../src/chat/repl-input.js';
import chat from '../../../src/commands/chat.js';
import { captureContext, until } from './helpers.js';
import { useTestServers } from './openai-server.js';

const startServer = useTestServers();

function feed(lines: string[]): (ReplInput | undefined)[] {
  const a = new ReplInputAssembler();
  return lines.map((l) => a.push(l));
}

describe('ReplInputAssembler', () => {
  it('a trailing backslash continues the message on the next line', () => {
    expect(feed(['first \\', 'second'])).toEqual([undefined, { type: 'message', text: 'first \nsecond' }]);
  });

  it('""" blocks keep blank lines and slashes, and may open and close on text lines', () => {
    expect(feed(['"""', 'a', '', '/not-a-command', 'b"""'])).toEqual([
      undefined, undefined, undefined, undefined, { type: 'message', text: 'a\n\n/not-a-command\nb' },
    ]);
    expect(feed(['"""one line"""'])).toEqual([{ type: 'message', text: 'one line' }]);
    expect(feed(['"""start', 'end', '"""'])).toEqual([undefined, undefined, { type: 'message', text: 'start\nend\n' }]);
  });

  it('recognises the commands at the start of a message only', () => {
    expect(feed(['/reset', '/system be terse', '/exit', '/help', '/quit', '/bogus x', '   '])).toEqual([
      { type: 'reset' }, { type: 'system', text: 'be terse' }, { type: 'exit' }, { type: 'help' }, { type: 'exit' },
      { type: 'unknown-command', name: '/bogus' }, { type: 'empty' },
    ]);
    expect(feed(['tell me \\', '/exit'])).toEqual([undefined, { type: 'message', text: 'tell me \n/exit' }]);
  });

  it('clear() drops a half-typed message', () => {
    const a = new ReplInputAssembler();
    a.push('"""');
    expect(a.continuing).toBe(true);
    a.clear();
    expect(a.continuing).toBe(false);
    expect(a.push('hello')).toEqual({ type: 'message', text: 'hello' });
  });
});

describe('interactive chat', () => {
  it('streams answers, keeps the conversation, /system and /reset, Ctrl-C cancels only the answer, /exit leaves', async () => {
    const s = await startServer({ framing: 'mindie', model: 'm', reasoning: ['pondering'], content: ['Hi', ' you'], delayMs: 2 });
    const c = captureContext({ tty: true });
    const session = runRepl(c.ctx, { endpoint: s.url, model: 'm', timeoutMs: 5000 });

    c.stdin.write('hello\r');
    await until(() => /TTFT \d+ ms · [\d.]+ tok\/s · 3 tokens/.test(c.out()), 'the first timing line');
    expect(c.out()).toContain('pondering');
    expect(c.out()).toContain('Hi you');

    c.stdin.write('and \\\r');
    c.stdin.write('more\r');
    await until(() => s.requests.length === 2 && (c.out().match(/TTFT/g) ?? []).length === 2, 'the second answer');
    expect(s.requests[1]?.messages).toEqual([
      { role: 'user', content: 'hello' },
      { role: 'assistant', content: 'Hi you' },
      { role: 'user', content: 'and \nmore' },
    ]);

    c.stdin.write('/system be terse\r');
    c.stdin.write('q3\r');
    await until(() => s.requests.length === 3 && (c.out().match(/TTFT/g) ?? []).length === 3, 'the third answer');
    expect(s.requests[2]?.messages).toEqual([{ role: 'system', content: 'be terse' }, { role: 'user', content: 'q3' }]);

    // a slow answer, cancelled with Ctrl-C: the session goes on
    s.behaviour = { ...s.behaviour, reasoning: [], content: Array.from({ length: 200 }, () => 'slow '), delayMs: 20 };
    c.stdin.write('long one\r');
    await until(() => c.out().includes('slow slow'), 'the slow answer to start');
    c.stdin.write('\u0003');
    await until(() => c.out().includes('(answer cancelled)'), 'the cancel note');

    s.behaviour = { ...s.behaviour, content: ['done'], delayMs: 0 };
    c.stdin.write('/reset\r');
    c.stdin.write('after\r');
    await until(() => s.requests.length === 5 && c.out().includes('done'), 'an answer after the cancel');
    // /reset kept the system prompt and forgot the exchanges; the cancelled question was not kept
    expect(s.requests[4]?.messages).toEqual([{ role: 'system', content: 'be terse' }, { role: 'user', content: 'after' }]);

    c.stdin.write('/help\r');
    await until(() => c.out().includes('/system TEXT'), 'the help');
    c.stdin.write('/exit\r');
    expect(await session).toBe(0);
  });

  it('keeps the typed lines between sessions in a mode-600 file (up-arrow recalls them); off keeps none', async () => {
    const s = await startServer({ framing: 'vllm', model: 'm', content: ['x'] });
    const dir = await mkdtemp(path.join(tmpdir(), 'ascendctl-history-'));
    try {
      const file = path.join(dir, 'state', 'chat_history');
      const env = { NO_COLOR: '1', LANG: 'C.UTF-8', ASCENDCTL_CHAT_HISTORY: file };
      const first = captureContext({ tty: true, env });
      const one = runRepl(first.ctx, { endpoint: s.url, model: 'm', timeoutMs: 5000 });
      first.stdin.write('what is HCCL?\r');
      await until(() => s.requests.length === 1 && first.out().includes('TTFT'), 'the first answer');
      first.stdin.write('/exit\r');
      expect(await one).toBe(0);
      expect(await readFile(file, 'utf8')).toBe('what is HCCL?\n/exit\n');
      expect((await stat(file)).mode & 0o777).toBe(0o600);

      const second = captureContext({ tty: true, env });
      const two = runRepl(second.ctx, { endpoint: s.url, model: 'm', timeoutMs: 5000 });
      second.stdin.write('\u001b[A\u001b[A\r'); // up, up (past /exit), enter
      await until(() => s.requests.length === 2, 'the recalled question');
      expect(s.requests[1]?.messages).toEqual([{ role: 'user', content: 'what is HCCL?' }]);
      second.stdin.end();
      expect(await two).toBe(0);

      const off = captureContext({ tty: true, env: { ...env, ASCENDCTL_CHAT_HISTORY: 'off' } });
      const three = runRepl(off.ctx, { endpoint: s.url, model: 'm', timeoutMs: 5000 });
      off.stdin.write('\u001b[A\r'); // nothing to recall: an empty line
      off.stdin.write('secret\r');
      await until(() => s.requests.length === 3, 'the third question');
      expect(s.requests[2]?.messages).toEqual([{ role: 'user', content: 'secret' }]);
      off.stdin.end();
      expect(await three).toBe(0);
      expect(await readFile(file, 'utf8')).not.toContain('secret');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('Ctrl-D at the prompt ends the session; chat without -p on a terminal runs the session', async () => {
    const s = await startServer({ framing: 'vllm', model: 'm', content: ['x'] });
    const c = captureContext({ tty: true });
    const run = chat(c.ctx, [], { endpoint: s.url, model: 'm', timeout: '1m' });
    await until(() => c.out().includes('/help for commands'), 'the banner');
    c.stdin.end();
    expect(await run).toBe(0);
  });
});

describe('historyPath', () => {
  it('follows XDG_STATE_HOME, defaults under ~/.local/state, honours ASCENDCTL_CHAT_HISTORY and off', () => {
    expect(historyPath({}, '/home/op')).toBe('/home/op/.local/state/ascendctl/chat_history');
    expect(historyPath({ XDG_STATE_HOME: '/var/state' }, '/home/op')).toBe('/var/state/ascendctl/chat_history');
    expect(historyPath({ XDG_STATE_HOME: 'relative' }, '/home/op')).toBe('/home/op/.local/state/ascendctl/chat_history');
    expect(historyPath({ ASCENDCTL_CHAT_HISTORY: 'notes/h' }, '/home/op')).toBe('/home/op/notes/h');
    expect(historyPath({ ASCENDCTL_CHAT_HISTORY: 'OFF' }, '/home/op')).toBeUndefined();
    expect(historyPath({ ASCENDCTL_CHAT_HISTORY: '' }, '/home/op')).toBeUndefined();
  });
});
