/**
 * The only place that writes to the terminal (docs/architecture.md, Principles 1). Core code returns data; commands hand it
 * here. Colour follows the stream being a TTY, NO_COLOR and FORCE_COLOR; `--json` keeps stdout for
 * exactly one JSON document.
 */
import { Chalk, type ChalkInstance } from 'chalk';

export interface OutputOptions {
  stdout?: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr?: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  env?: NodeJS.ProcessEnv;
  json?: boolean;
  verbose?: boolean;
}

export class Output {
  readonly color: ChalkInstance;
  readonly errColor: ChalkInstance;
  /** stdout is an interactive terminal (spinners, live progress). */
  readonly interactive: boolean;
  /** stderr is a terminal: progress goes there. */
  readonly stderrInteractive: boolean;
  readonly unicode: boolean;
  readonly json: boolean;
  readonly verbose: boolean;
  readonly out: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  readonly err: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };

  constructor(opts: OutputOptions = {}) {
    const env = opts.env ?? process.env;
    this.out = opts.stdout ?? process.stdout;
    this.err = opts.stderr ?? process.stderr;
    this.json = opts.json ?? false;
    this.verbose = opts.verbose ?? false;
    this.interactive = Boolean(this.out.isTTY);
    this.stderrInteractive = Boolean(this.err.isTTY);
    const noColor = env.NO_COLOR !== undefined && env.NO_COLOR !== '';
    const force = env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0';
    this.color = new Chalk({ level: noColor ? 0 : force || this.interactive ? 1 : 0 });
    this.errColor = new Chalk({ level: noColor ? 0 : force || this.stderrInteractive ? 1 : 0 });
    // The character set is the first of LC_ALL, LC_CTYPE, LANG that is set (POSIX), not any of them.
    const lang = [env.LC_ALL, env.LC_CTYPE, env.LANG].find((v) => v !== undefined && v !== '') ?? '';
    this.unicode = /utf-?8/i.test(lang) || (this.interactive && lang === '');
  }

  get columns(): number {
    return this.out.columns ?? 100;
  }

  /** A line for the user on stdout (suppressed under --json, where stdout holds only the document). */
  line(text = ''): void {
    if (!this.json) this.out.write(`${text}\n`);
  }

  /** Raw text on stdout (streamed tokens, log lines). */
  write(text: string, encoding: BufferEncoding = 'utf8'): boolean {
    return this.out.write(text, encoding);
  }

  /** Progress and notes: stderr, so that stdout stays clean for pipes and --json. */
  note(text: string): void {
    this.err.write(`${text}\n`);
  }

  warn(text: string): void {
    this.err.write(`${this.errColor.yellow('warning:')} ${text}\n`);
  }

  error(text: string, hint?: string): void {
    this.err.write(`${this.errColor.red('error:')} ${text}\n`);
    if (hint) this.err.write(`${this.errColor.dim('→')} ${hint}\n`);
  }

  /** Set once the run's document is out: an error after it must not add a second one (bench). */
  documentWritten = false;

  /** The one JSON document of a --json run; `oneLine` for a stream of one object per line (`logs --json`). */
  document(value: unknown, oneLine = false): void {
    this.documentWritten = true;
    this.out.write(`${oneLine ? JSON.stringify(value) : JSON.stringify(value, null, 2)}\n`);
  }

  symbols(): { ok: string; fail: string; warn: string; arrow: string; dot: string; bar: string } {
    return this.unicode
      ? { ok: '✔', fail: '✘', warn: '⚠', arrow: '→', dot: '·', bar: '│' }
      : { ok: 'ok', fail: 'X', warn: '!', arrow: '->', dot: '.', bar: '|' };
  }
}
