/**
 * Entry point: flags → command module (loaded lazily, so `--help` and `--version` stay fast) → one
 * error handler that maps UserError to its exit code and message, and anything else to a bug report.
 * The only `process.exit` of the program is here.
 */
import { Argument, Command, CommanderError, Option } from 'commander';
import type { Context } from './context.js';
import * as specs from './command-specs.js';
import type { FlagDef } from './command-specs.js';
import { isUserError, type ExitCode } from './errors.js';
import { VERSION } from './version.js';

export { commandSpecs, type CommandSpec, type OptionSpec } from './command-specs.js';

export interface GlobalOptions {
  verbose?: boolean;
  json?: boolean;
}

type Loader = () => Promise<{ default: (ctx: Context, args: string[], opts: Record<string, unknown>) => Promise<ExitCode> }>;

/** Each command's module, loaded only when it runs. */
const loaders: Record<string, Loader> = {
  preflight: () => import('./commands/preflight.js'),
  deploy: () => import('./commands/deploy.js'),
  render: () => import('./commands/render.js'),
  status: () => import('./commands/status.js'),
  // The collector is tuned before the command's modules load (src/logs/heap-tuning.ts says why).
  logs: async () => {
    (await import('./logs/heap-tuning.js')).tuneHeapForLogs();
    return import('./commands/logs.js');
  },
  chat: () => import('./commands/chat.js'),
  bench: () => import('./commands/bench.js'),
  stop: () => import('./commands/stop.js'),
  demo: () => import('./commands/demo.js'),
  completion: () => import('./commands/completion.js'),
};

const collectList = (value: string, prev: string[] = []) => [...prev, value];

function flagOption(def: FlagDef): Option {
  const option = new Option(def.flags, def.description);
  if (def.choices) option.choices(def.choices);
  if (def.default !== undefined) option.default(def.default);
  if (def.repeatable) option.argParser(collectList);
  if (def.required) option.makeOptionMandatory();
  return option;
}

function buildProgram(run: (load: Loader, args: string[], opts: Record<string, unknown>) => Promise<void>): Command {
  // exitOverride before the subcommands exist, so that they inherit it: a bad flag of any
  // subcommand then reaches the one handler in run() (exit 2) instead of commander's process.exit(1).
  const program = new Command(specs.program.name)
    .exitOverride()
    .description(specs.program.description)
    .version(VERSION, specs.program.versionFlags);
  for (const def of Object.values(specs.program.options)) program.addOption(flagOption(def));
  program
    .showHelpAfterError(specs.program.helpAfterError)
    .configureHelp({ sortSubcommands: false })
    .addHelpText('after', specs.program.helpAfter);

  for (const def of specs.commands) {
    const cmd = program.command(def.name).summary(def.summary);
    if (def.description !== undefined) cmd.description(def.description);
    const arg = def.argument;
    if (arg) {
      const argument = new Argument(arg.syntax, arg.description);
      if (arg.choices) argument.choices(arg.choices);
      cmd.addArgument(argument);
    }
    for (const flag of Object.values(def.options)) cmd.addOption(flagOption(flag));
    const load = loaders[def.name]!;
    cmd.action(async (...params: unknown[]) => {
      // commander passes the argument (when the command has one), then the options.
      const value = arg ? (params[0] as string | undefined) : undefined;
      const opts = params[arg ? 1 : 0] as Record<string, unknown>;
      // A required argument is passed as given; an optional one only when non-empty.
      const args = !arg ? [] : arg.syntax.startsWith('<') ? [value as string] : value ? [value] : [];
      await run(load, args, opts);
    });
  }

  // A bad flag of a command points at that command's own help.
  for (const cmd of program.commands) cmd.showHelpAfterError(`(run ascendctl ${cmd.name()} --help for the options)`);
  return program;
}

/**
 * Ctrl-C: the first stops the command, which then cleans up what it started (a deploy stops its
 * containers and releases its lock, which may take MindIE's 15 s shutdown); a second says so and
 * waits; a third quits at once, saying what may be left behind and how to remove it.
 */
export function interruptHandler(abort: AbortController, say: (text: string) => void, exit: (code: number) => void): () => void {
  let interrupts = 0;
  return () => {
    interrupts++;
    if (interrupts === 1) abort.abort(new Error('interrupted'));
    else if (interrupts === 2) say('\nstill cleaning up what this command started (stopping containers, releasing the deploy lock); press Ctrl-C again to quit at once and leave it as it is\n');
    else {
      say('\nquit without cleaning up: containers may still run and the deploy lock may still be held; ascendctl stop <deployment> stops them and removes the lock\n');
      exit(130);
    }
  };
}

export async function run(argv: string[]): Promise<void> {
  const abort = new AbortController();
  const onSigint = interruptHandler(abort, (text) => process.stderr.write(text), (code) => process.exit(code));
  process.on('SIGINT', onSigint);
  // `ascendctl --help | head` closes the pipe early: not a failure, and not worth a stack trace.
  const onStdoutError = (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
  };
  process.stdout.on('error', onStdoutError);

  let exitCode: ExitCode = 0;
  let verbose = argv.includes('--verbose');
  // --json: a failure before the command's document still prints one JSON document on stdout
  // (ui/error-document.ts). `command` is the one that ran; `runOut` its output, to know whether its
  // document is already out.
  const optionArgs = argv.includes('--') ? argv.slice(0, argv.indexOf('--')) : argv;
  let jsonWanted = optionArgs.includes('--json');
  let command: string | undefined = argv.find((a) => !a.startsWith('-'));
  let runOut: { documentWritten: boolean } | undefined;
  // The output layer (chalk) and the transport are loaded only once a command runs or fails, so that
  // `--help` and flag errors load commander and nothing else.
  const reportError = async (err: unknown): Promise<ExitCode> => {
    const [{ createContext }, { RemoteError }] = await Promise.all([import('./context.js'), import('./remote/transport.js')]);
    const ctx = createContext({ signal: abort.signal, verbose });
    const jsonError = async (message: string) => {
      if (!jsonWanted || runOut?.documentWritten) return;
      const { errorDocument } = await import('./ui/error-document.js');
      writeErrorDocument(errorDocument(err, command, message), command);
    };
    if (isUserError(err)) {
      ctx.out.error(err.message, err.hint);
      if (verbose && err.stack) ctx.out.note(err.stack);
      await jsonError(err.message);
      return err.exitCode;
    }
    if (err instanceof RemoteError) {
      ctx.out.error(err.message, err.hint);
      await jsonError(err.message);
      return 1;
    }
    const e = err as Error;
    ctx.out.error(`unexpected failure: ${e?.message ?? String(err)}`,
      verbose ? undefined : 'run again with --verbose for the stack trace, and report it');
    if (verbose && e?.stack) ctx.out.note(e.stack);
    await jsonError(`unexpected failure: ${e?.message ?? String(err)}`);
    return 1;
  };

  const program = buildProgram(async (load, args, opts) => {
    verbose = Boolean(program.opts().verbose) || verbose;
    const [{ createContext }, mod] = await Promise.all([import('./context.js'), load()]);
    const ctx = createContext({ signal: abort.signal, verbose, json: Boolean(opts.json) });
    jsonWanted = Boolean(opts.json);
    runOut = ctx.out;
    const prompts = await import('./ui/become-prompt.js');
    if (program.opts().askBecomePass) {
      // Asked up front, as ansible -K does: later, a progress display would draw over the prompt.
      const asker = prompts.becomePasswordAsker(ctx);
      await asker();
      ctx.becomePassword = asker;
    }
    const askPassphrase = prompts.passphraseAsker(ctx);
    if (askPassphrase) ctx.askPassphrase = askPassphrase;
    try {
      exitCode = await mod.default(ctx, args, opts);
    } finally {
      // The run's connections, closed once whatever the command did (context.ts).
      await ctx.closePool();
    }
  });
  program.hook('preAction', (_program, actionCommand) => {
    command = actionCommand.name();
  });
  program.exitOverride();
  program.configureOutput({
    outputError: (str, write) => write(str),
  });

  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help / --version end here with code 0; bad flags with exit 2 (the input was wrong).
      exitCode = err.exitCode === 0 ? 0 : 2;
      if (exitCode !== 0 && jsonWanted) {
        const { flagErrorDocument } = await import('./ui/error-document.js');
        const known = program.commands.find((c) => c.name() === command);
        const hint = known ? `run ascendctl ${known.name()} --help for the options` : 'run ascendctl --help for the commands and options';
        writeErrorDocument(flagErrorDocument(err.message.replace(/^error: /, ''), hint), command);
      }
    } else {
      exitCode = await reportError(err);
    }
  }
  process.off('SIGINT', onSigint);
  await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
  process.exit(exitCode);
}

/** The --json error document on stdout: one line for `logs` (its output is one object per line), else indented. */
function writeErrorDocument(doc: unknown, command: string | undefined): void {
  process.stdout.write(`${command === 'logs' ? JSON.stringify(doc) : JSON.stringify(doc, null, 2)}\n`);
}
