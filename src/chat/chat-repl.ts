/**
 * The interactive chat (stdin is a terminal): node:readline with in-session history and a prompt,
 * tokens printed as they arrive, reasoning dim and set apart from the answer, a timing line after each
 * answer. Ctrl-C while an answer is being written cancels that answer (the request is aborted) and
 * keeps the session; Ctrl-C at an empty prompt, /exit or Ctrl-D leaves.
 */
import readline from 'node:readline';
import type { Context } from '../context.js';
import type { ExitCode } from '../errors.js';
import { InterruptedError, isUserError } from '../errors.js';
import { streamChat, type ChatMessage, type ChatResult } from './chat-client.js';
import { REPL_HELP, ReplInputAssembler } from './repl-input.js';
import { HISTORY_LIMIT, historyPath, loadHistory, saveHistory } from './repl-history.js';

export interface ReplOptions {
  endpoint: string;
  model: string;
  /** How the banner names the endpoint when requests go elsewhere (a local SSH tunnel). */
  shownAs?: string | undefined;
  system?: string | undefined;
  maxTokens?: number | undefined;
  timeoutMs: number;
}

/** `TTFT 123 ms · 45.6 tok/s · 512 tokens` */
export function timingLine(r: ChatResult, dot: string): string {
  const tokens = `${r.usage.completion_tokens} token${r.usage.completion_tokens === 1 ? '' : 's'}${r.usageReported ? '' : ' (counted)'}`;
  return `TTFT ${Math.round(r.timings.ttftMs)} ms ${dot} ${r.timings.tokensPerS.toFixed(1)} tok/s ${dot} ${tokens}`;
}

/**
 * Writes streamed deltas: reasoning dim, then a blank line, then the answer. `reasoningTo` lets the
 * one-shot mode keep reasoning off stdout.
 */
export function deltaPrinter(ctx: Context, reasoningTo: 'stdout' | 'stderr') {
  let inReasoning = false;
  let wroteAnswer = false;
  let endsWithNewline = true;
  const dim = reasoningTo === 'stdout' ? ctx.out.color.dim : ctx.out.errColor.dim;
  const writeReasoning = (text: string): void => {
    if (reasoningTo === 'stdout') ctx.out.write(dim(text));
    else ctx.out.err.write(dim(text));
  };
  return {
    onDelta(d: { content: string; reasoning: string }): void {
      if (d.reasoning !== '') {
        inReasoning = true;
        writeReasoning(d.reasoning);
      }
      if (d.content !== '') {
        if (inReasoning) {
          writeReasoning(reasoningTo === 'stdout' ? '\n\n' : '\n');
          inReasoning = false;
        }
        wroteAnswer = true;
        ctx.out.write(d.content);
        endsWithNewline = d.content.endsWith('\n');
      }
    },
    /** Close the answer's line. */
    finish(): void {
      if (inReasoning) writeReasoning('\n');
      if (wroteAnswer && !endsWithNewline) ctx.out.write('\n');
      inReasoning = false;
      wroteAnswer = false;
      endsWithNewline = true;
    },
  };
}

export async function runRepl(ctx: Context, opts: ReplOptions): Promise<ExitCode> {
  const out = ctx.out;
  const sym = out.symbols();
  const historyFile = historyPath(ctx.env, ctx.home);
  let lines = await loadHistory(historyFile);
  const rl = readline.createInterface({
    input: ctx.stdin,
    output: out.out,
    terminal: Boolean(ctx.stdin.isTTY),
    history: [...lines],
    historySize: HISTORY_LIMIT,
    removeHistoryDuplicates: true,
    prompt: out.unicode ? '› ' : '> ',
  });
  const mainPrompt = out.unicode ? '› ' : '> ';
  const morePrompt = out.unicode ? '… ' : '. ';
  const input = new ReplInputAssembler();
  let system = opts.system;
  let history: ChatMessage[] = [];
  let answering: AbortController | undefined;
  let closed = false;

  // readline reports its history (newest first) as lines are entered on a terminal.
  let typed = false;
  rl.on('history', (h: string[]) => {
    lines = h;
    typed = true;
  });
  rl.on('SIGINT', () => {
    if (answering) {
      answering.abort(new Error('cancelled'));
      return;
    }
    if (input.continuing || rl.line !== '') {
      input.clear();
      out.write('\n');
      rl.setPrompt(mainPrompt);
      // Drop the half-typed line too.
      rl.write(null, { ctrl: true, name: 'u' });
      rl.prompt();
      return;
    }
    rl.close();
  });
  rl.on('close', () => {
    closed = true;
    answering?.abort(new Error('closed'));
  });
  const onAbort = (): void => rl.close();
  ctx.signal.addEventListener('abort', onAbort, { once: true });

  out.line(out.color.dim(`${opts.model} at ${opts.shownAs ?? opts.endpoint} ${sym.dot} /help for commands, /exit to leave`));
  rl.prompt();
  try {
    for await (const line of rl) {
      const got = input.push(line);
      if (got === undefined) {
        rl.setPrompt(morePrompt);
        rl.prompt();
        continue;
      }
      rl.setPrompt(mainPrompt);
      switch (got.type) {
        case 'exit':
          rl.close();
          break;
        case 'help':
          for (const h of REPL_HELP) out.line(out.color.dim(h));
          break;
        case 'reset':
          history = [];
          out.line(out.color.dim('(conversation forgotten)'));
          break;
        case 'system':
          system = got.text === '' ? undefined : got.text;
          history = [];
          out.line(out.color.dim(system === undefined ? '(system prompt removed; new conversation)' : '(system prompt set; new conversation)'));
          break;
        case 'unknown-command':
          out.line(out.color.yellow(`unknown command ${got.name}: /help lists them`));
          break;
        case 'empty':
          break;
        case 'message':
          await answer(got.text);
          break;
      }
      if (closed) break;
      rl.prompt();
    }
  } finally {
    ctx.signal.removeEventListener('abort', onAbort);
    rl.close();
    if (typed) await saveHistory(historyFile, lines);
  }
  return ctx.signal.aborted ? 130 : 0;

  async function answer(text: string): Promise<void> {
    const messages: ChatMessage[] = [...(system !== undefined ? [{ role: 'system' as const, content: system }] : []), ...history, { role: 'user', content: text }];
    const printer = deltaPrinter(ctx, 'stdout');
    answering = new AbortController();
    try {
      const r = await streamChat({
        endpoint: opts.endpoint,
        model: opts.model,
        messages,
        maxTokens: opts.maxTokens,
        timeoutMs: opts.timeoutMs,
        signal: answering.signal,
        onDelta: (d) => printer.onDelta(d),
      });
      printer.finish();
      history.push({ role: 'user', content: text }, { role: 'assistant', content: r.content });
      out.line(out.color.dim(timingLine(r, sym.dot)));
    } catch (err) {
      printer.finish();
      if (err instanceof InterruptedError) {
        // The question is not kept either: the next one starts from the last complete exchange.
        if (!closed) out.line(out.color.dim('(answer cancelled)'));
        return;
      }
      if (!isUserError(err)) throw err;
      out.line(out.color.red(`error: ${err.message}`));
      if (err.hint) out.line(out.color.dim(`${sym.arrow} ${err.hint}`));
    } finally {
      answering = undefined;
    }
  }
}
