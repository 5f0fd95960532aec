/**
 * Entry point: flags → command module (loaded lazily, so `--help` and `--version` stay fast) → one
 * error handler that maps UserError to its exit code and message, and anything else to a bug report.
 * The only `process.exit` of the program is here.
 */
import { Argument, Command, CommanderError, Option } from 'commander';
import type { Context } from './context.js';
import { isUserError, type ExitCode } from './errors.js';
import { VERSION } from './version.js';
import { tuneHeapForLogs } from './logs/heap-tuning.js';

export interface GlobalOptions {
  verbose?: boolean;
  json?: boolean;
}

type Loader = () => Promise<{ default: (ctx: Context, args: string[], opts: Record<string, unknown>) => Promise<ExitCode> }>;

const collectList = (value: string, prev: string[] = []) => [...prev, value];

function buildProgram(run: (load: Loader, args: string[], opts: Record<string, unknown>) => Promise<void>): Command {
  // exitOverride before the subcommands exist, so that they inherit it: a bad flag of any
  // subcommand then reaches the one handler in run() (exit 2) instead of commander's process.exit(1).
  const program = new Command('ascendctl')
    .exitOverride()
    .description('Take a rack of Ascend servers (Atlas 800T/800I A2, or Atlas 800 A3) from powered-on to serving a model across all of them, over SSH alone.')
    .version(VERSION, '-V, --version')
    .option('--verbose', 'show stack traces and every remote call')
    .option('--ask-become-pass', 'ask once for the sudo password of nodes with ssh.become: sudo (first line of standard input when it is not a terminal)')
    .showHelpAfterError('(run ascendctl --help for the commands and options)')
    .configureHelp({ sortSubcommands: false })
    .addHelpText('after', `
Typical session:
  ascendctl preflight                     is every NPU link, IP, TLS switch and cross-node path healthy?
  ascendctl deploy deepseek-r1.yaml       render rank table + MindIE config, start master then workers
  ascendctl logs -f                       every node's daemon log, merged, prefixed by node
  ascendctl chat                          talk to the model, streaming, with latency figures

Try it with no hardware:  ascendctl demo
Exit status: 0 ok, 1 the cluster failed, 2 the input was wrong, 130 interrupted.
With --json, a command that fails before its document prints {"ok": false, "error": {"code", "message",
"hint", "file"?, "line"?, "node"?}}; code is one of bad-input, unreachable, preflight-failed,
deploy-failed, endpoint-failed, cluster-failed, interrupted, internal.`);

  program
    .command('preflight')
    .summary('check every node, NPU link, IP, TLS switch and cross-node path')
    .description(prose(`SSH into every node and run every check: npu-smi health, driver version, per-NPU hccn_tool
link / net_health / lldp / netdetect / gateway / IP / TLS, /etc/hccn.conf agreement, the container
runtime, the clock, and a cross-node NPU ping plan. With a deployment file it also checks the image,
the model path and the ports that deployment needs.

hccn_tool serves one caller per node, so each node's calls run one after another (nodes in
parallel); "busy" answers are retried for up to 30 s per call.

Ping plan: up to 8 nodes every NPU pings the same-numbered NPU of every other node (the full
matrix). Above 8 nodes each node pings the next node of the list (a ring): every NPU port sends and
answers, the cost per node stays constant, and any split of a plane into two groups is crossed by
at least two pings. --ping full forces the matrix (it also tests every pair).`))
    .argument('[deployment]', 'deployment file: also check its image, model path and ports')
    .option('-i, --inventory <file>', 'inventory file (default: the deployment\'s inventory:, $ASCENDCTL_INVENTORY, ./inventory.yaml)')
    .option('--fix', 'apply the safe fixes (set every NPU\'s TLS switch to 0) and check again')
    .option('--json', 'print one JSON document: {ok, findings}; a failure before it prints {ok: false, error: {code, message, hint, …}}')
    .option('--node <name>', 'check only these nodes: a name, a list (a,b) or a range (node[03-05]); repeatable', collectList)
    .addOption(new Option('--ping <plan>', 'ping plan').choices(['auto', 'full']).default('auto'))
    .option('--call-timeout <duration>', 'bound every remote tool call (default: per command, 15–30 s)')
    .option('--busy-timeout <duration>', 'how long to keep retrying a busy hccn_tool before reporting it', '30s')
    .option('--parallel <n>', 'connection set-ups in flight at once', '32')
    .action(async (deployment: string | undefined, opts: Record<string, unknown>) =>
      run(() => import('./commands/preflight.js'), deployment ? [deployment] : [], opts));

  program
    .command('deploy')
    .summary('pull the image, render and upload the files, start master then workers, wait until it answers')
    .argument('<deployment>', 'deployment file (e.g. deepseek-r1.yaml)')
    .option('-i, --inventory <file>', 'inventory file (default: the deployment\'s inventory:)')
    .option('--dry-run', 'print the plan and the rendered files; touch nothing')
    .option('--skip-preflight', 'do not run preflight as a gate')
    .option('--keep-on-failure', 'leave the containers running when the deploy fails (to debug)')
    .option('--image-archive <file>', 'load the image from this docker-save tarball on every node (air-gapped clusters)')
    .option('--timeout <duration>', 'how long to wait for the model to answer', '60m')
    .option('--json', 'print one JSON document with the result (on failure: {ok: false, error: {code, message, hint, …}})')
    .option('--parallel <n>', 'connection set-ups in flight at once', '32')
    .action(async (deployment: string, opts: Record<string, unknown>) => run(() => import('./commands/deploy.js'), [deployment], opts));

  program
    .command('render')
    .summary('write the files deploy would upload into a directory, without starting anything')
    .argument('<deployment>', 'deployment file')
    .requiredOption('--out <dir>', 'where to write the files')
    .option('-i, --inventory <file>', 'inventory file')
    .option('--device-ips <file>', 'JSON {"<node>": ["<ip of NPU 0>", …]} instead of reading them over SSH')
    .action(async (deployment: string, opts: Record<string, unknown>) => run(() => import('./commands/render.js'), [deployment], opts));

  program
    .command('status')
    .summary('container state per node, master health, NPU memory')
    .argument('[deployment]', 'deployment file or name (default: the last one deployed from here)')
    .option('-i, --inventory <file>', 'inventory file')
    .option('--json', 'print one JSON document (on failure: {ok: false, error: {…}})')
    .action(async (deployment: string | undefined, opts: Record<string, unknown>) =>
      run(() => import('./commands/status.js'), deployment ? [deployment] : [], opts));

  program
    .command('logs')
    .summary('every node\'s daemon log merged into one stream, prefixed by node')
    .argument('[deployment]', 'deployment file or name (default: the last one deployed from here)')
    .option('-i, --inventory <file>', 'inventory file')
    .option('-f, --follow', 'follow until Ctrl-C; survives dropped SSH connections')
    .addOption(new Option('--order <order>', 'with -f: "time" holds each line up to 300 ms so lines from different nodes come out in timestamp order; "arrival" prints each line as soon as it arrives')
      .choices(['time', 'arrival']).default('time'))
    .option('--since <duration>', 'only lines newer than this (e.g. 10m, 2h) or since a timestamp')
    .option('--tail <n>', 'the last N lines of each node')
    .option('--node <name>', 'only these nodes: a name, a list (a,b) or a range (node[03-05]); repeatable', collectList)
    .option('--grep <regex>', 'only lines matching this regular expression')
    .option('-t, --timestamps', 'show each line\'s timestamp')
    .option('--json', 'one JSON object per line: {node, time, line} (on failure: {ok: false, error: {…}})')
    .action(async (deployment: string | undefined, opts: Record<string, unknown>) =>
      run(() => import('./commands/logs.js'), deployment ? [deployment] : [], opts));

  program
    .command('chat')
    .summary('talk to the deployed model, streaming, with time to first token and tokens/s')
    .description(prose(`Talk to the deployed model. In a terminal: a session that keeps the conversation; a line
ending in \\ or a """ block continues the message; /system TEXT, /reset, /help, /exit; Ctrl-C cancels
the answer, not the session. Typed lines are kept between sessions in
$XDG_STATE_HOME/ascendctl/chat_history (~/.local/state/...; ASCENDCTL_CHAT_HISTORY=FILE or off).
With -p (or a prompt on standard input): one answer, then exit.

Behind a jump host the master's HTTP port is reached over its SSH connection, as deploy recorded.`))
    .argument('[deployment]', 'deployment file or name (default: the last one deployed from here)')
    .option('-p, --prompt <text>', 'answer this one prompt and exit (a prompt on standard input works too)')
    .option('--endpoint <url>', 'OpenAI-compatible base URL (default: the deployment\'s master)')
    .option('--model <name>', 'model name clients send (default: the deployment\'s model.name)')
    .option('--system <text>', 'system prompt')
    .option('--max-tokens <n>', 'cap on the answer length')
    .option('--timeout <duration>', 'give up when no token arrives for this long', '10m')
    .option('--json', 'print the full response and timings as one JSON document (on failure: {ok: false, error: {…}})')
    .action(async (deployment: string | undefined, opts: Record<string, unknown>) =>
      run(() => import('./commands/chat.js'), deployment ? [deployment] : [], opts));

  program
    .command('bench')
    .summary('N concurrent streaming requests: TTFT and inter-token latency percentiles, tokens/s')
    .argument('[deployment]', 'deployment file or name (default: the last one deployed from here)')
    .option('--concurrency <n>', 'requests in flight at once', '4')
    .option('--requests <m>', 'requests in all', '16')
    .option('--endpoint <url>', 'OpenAI-compatible base URL')
    .option('--model <name>', 'model name')
    .option('--prompt <text>', 'the prompt every request sends')
    .option('--max-tokens <n>', 'answer length per request', '128')
    .option('--json', 'print one JSON document (on failure: {ok: false, error: {…}})')
    .action(async (deployment: string | undefined, opts: Record<string, unknown>) =>
      run(() => import('./commands/bench.js'), deployment ? [deployment] : [], opts));

  program
    .command('stop')
    .summary('stop and remove the deployment\'s containers: workers first, master last')
    .argument('[deployment]', 'deployment file or name (default: the last one deployed from here)')
    .option('-i, --inventory <file>', 'inventory file')
    .action(async (deployment: string | undefined, opts: Record<string, unknown>) =>
      run(() => import('./commands/stop.js'), deployment ? [deployment] : [], opts));

  program
    .command('demo')
    .summary('run preflight → deploy → chat → bench → logs → stop against a built-in simulated cluster')
    .option('--nodes <n>', 'simulated nodes', '2')
    .option('--a3', 'simulate Atlas 800 A3 servers (8 NPUs × 2 dies = 16 devices each) instead of Atlas 800T A2')
    .option('--keep', 'leave the simulated cluster running and print how to use it (Ctrl-C stops it)')
    .action(async (opts: Record<string, unknown>) => run(() => import('./commands/demo.js'), [], opts));

  program
    .command('completion')
    .summary('print a shell completion script')
    .addArgument(new Argument('<shell>', 'bash or zsh').choices(['bash', 'zsh']))
    .action(async (shell: string, opts: Record<string, unknown>) => run(() => import('./commands/completion.js'), [shell], opts));

  // A bad flag of a command points at that command's own help.
  for (const cmd of program.commands) cmd.showHelpAfterError(`(run ascendctl ${cmd.name()} --help for the options)`);
  return program;
}

export interface OptionSpec {
  /** `['-i', '--inventory']`, short first. */
  flags: string[];
  description: string;
  /** The flag is followed by a value (`--inventory <file>`). */
  takesValue: boolean;
  /** The value's name as written in the help (`file`, `duration`); empty for switches. */
  valueName: string;
  choices: string[] | undefined;
}

export interface CommandSpec {
  name: string;
  summary: string;
  options: OptionSpec[];
  /** The positional argument: its name and, when fixed, its possible values. */
  argument: { name: string; choices: string[] | undefined } | undefined;
}

/** Commands and their flags, for shell completion (read from the same definitions as the parser). */
export function commandSpecs(): CommandSpec[] {
  const program = buildProgram(async () => {});
  return program.commands.map((cmd) => {
    const arg = cmd.registeredArguments[0];
    return {
      name: cmd.name(),
      summary: cmd.summary(),
      options: cmd.options.map((o) => ({
        flags: [o.short, o.long].filter((x): x is string => Boolean(x)),
        description: o.description,
        takesValue: o.required || o.optional,
        valueName: /<([^>]+)>|\[([^\]]+)\]/.exec(o.flags)?.slice(1).find(Boolean) ?? '',
        choices: o.argChoices,
      })),
      argument: arg ? { name: arg.name(), choices: arg.argChoices } : undefined,
    };
  });
}

export async function run(argv: string[]): Promise<void> {
  // Before the command's modules load: see src/logs/heap-tuning.ts (a stray word `logs` only changes when memory is collected).
  if (argv.includes('logs')) tuneHeapForLogs();
  const abort = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (interrupts > 1) process.exit(130);
    abort.abort(new Error('interrupted'));
  };
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
    exitCode = await mod.default(ctx, args, opts);
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

/** A description written as paragraphs: single newlines join, so commander wraps it to the terminal. */
function prose(text: string): string {
  return text.replace(/([^\n])\n(?!\n)/g, '$1 ');
}
