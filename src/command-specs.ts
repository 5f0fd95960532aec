/**
 * Every command of the CLI as data: name, summary, argument, options with their descriptions and
 * defaults. cli.ts builds the parser from it, `completion` the shell scripts, and each command reads
 * its typed options through it (commands/options.ts): a default is written here and nowhere else.
 *
 * Loaded by `--help`, so it imports nothing (not commander, not the commands): it is plain data, and
 * it sits outside src/commands/, whose modules `--help` never loads.
 */

/** One option, as commander is told it. */
export interface FlagDef {
  /** As the help shows it, short first: `-i, --inventory <file>`; `<x>` takes a value, none is a switch. */
  readonly flags: string;
  readonly description: string;
  /** The value when the flag is not given (shown in the help as `(default: "…")`). */
  readonly default?: string;
  /** The only values accepted. */
  readonly choices?: readonly string[];
  /** May be given several times; the values are collected in order. */
  readonly repeatable?: true;
  /** The command cannot run without it. */
  readonly required?: true;
  /**
   * How the command reads the value: `int`, a whole number ≥ `min` (default 1); `duration`, milliseconds
   * (docs/cli-contract.md: 500ms, 10s, 2m, 1h). Without it the value is the text given.
   */
  readonly kind?: 'int' | 'duration';
  readonly min?: number;
}

export interface CommandDef {
  readonly name: string;
  readonly summary: string;
  /** The long help text; the summary when absent. */
  readonly description?: string;
  /** The positional argument: `[x]` optional, `<x>` required. */
  readonly argument?: { readonly syntax: string; readonly description: string; readonly choices?: readonly string[] };
  /** Options in help order, keyed by the name the command reads them by (commander's camelCase). */
  readonly options: { readonly [key: string]: FlagDef };
}

/** The typed options a command receives: numbers for `int`/`duration`, lists for repeatable, booleans for switches. */
export type OptionsOf<C extends CommandDef> = {
  -readonly [K in keyof C['options']]: C['options'][K] extends { default: string } ? ValueOf<C['options'][K]> : ValueOf<C['options'][K]> | undefined;
};

type ValueOf<F extends FlagDef> = F extends { kind: 'int' | 'duration' }
  ? number
  : F extends { repeatable: true }
    ? string[]
    : F extends { choices: readonly (infer V)[] }
      ? V
      : F extends { flags: `${string}<${string}>` }
        ? string
        : boolean;

/** A description written as paragraphs: single newlines join, so commander wraps it to the terminal. */
function prose(text: string): string {
  return text.replace(/([^\n])\n(?!\n)/g, '$1 ');
}

const inventory = (description: string) => ({ flags: '-i, --inventory <file>', description }) as const;
const parallel = { flags: '--parallel <n>', description: 'connection set-ups in flight at once', default: '32', kind: 'int' } as const;
const deploymentArg = { syntax: '[deployment]', description: 'deployment file or name (default: the last one deployed from here)' } as const;

/** The program itself: its help and the options every command takes. */
export const program = {
  name: 'ascendctl',
  description: 'Take a rack of Ascend servers (Atlas 800T/800I A2, or Atlas 800 A3) from powered-on to serving a model across all of them, over SSH alone.',
  versionFlags: '-V, --version',
  options: {
    verbose: { flags: '--verbose', description: 'show stack traces and every remote call' },
    askBecomePass: { flags: '--ask-become-pass', description: 'ask once for the sudo password of nodes with ssh.become: sudo (first line of standard input when it is not a terminal)' },
  },
  helpAfterError: '(run ascendctl --help for the commands and options)',
  helpAfter: `
Typical session:
  ascendctl preflight                     is every NPU link, IP, TLS switch and cross-node path healthy?
  ascendctl deploy deepseek-r1.yaml       render rank table + MindIE config, start master then workers
  ascendctl logs -f                       every node's daemon log, merged, prefixed by node
  ascendctl chat                          talk to the model, streaming, with latency figures

Try it with no hardware:  ascendctl demo
Exit status: 0 ok, 1 the cluster failed, 2 the input was wrong, 130 interrupted.
With --json, a command that fails before its document prints {"ok": false, "error": {"code", "message",
"hint", "file"?, "line"?, "node"?}}; code is one of bad-input, unreachable, preflight-failed,
deploy-failed, endpoint-failed, cluster-failed, interrupted, internal.`,
} as const;

export const preflight = {
  name: 'preflight',
  summary: 'check every node, NPU link, IP, TLS switch and cross-node path',
  description: prose(`SSH into every node and run every check: npu-smi health, driver version, per-NPU hccn_tool
link / net_health / lldp / netdetect / gateway / IP / TLS, /etc/hccn.conf agreement, the container
runtime, the clock, and a cross-node NPU ping plan. With a deployment file it also checks the image,
the model path and the ports that deployment needs.

hccn_tool serves one caller per node, so each node's calls run one after another (nodes in
parallel); "busy" answers are retried for up to 30 s per call.

Ping plan: up to 8 nodes every NPU pings the same-numbered NPU of every other node (the full
matrix). Above 8 nodes each node pings the next node of the list (a ring): every NPU port sends and
answers, the cost per node stays constant, and any split of a plane into two groups is crossed by
at least two pings. --ping full forces the matrix (it also tests every pair).`),
  argument: { syntax: '[deployment]', description: 'deployment file: also check its image, model path and ports' },
  options: {
    inventory: inventory('inventory file (default: the deployment\'s inventory:, $ASCENDCTL_INVENTORY, ./inventory.yaml)'),
    fix: { flags: '--fix', description: 'apply the safe fixes (set every NPU\'s TLS switch to 0) and check again' },
    json: { flags: '--json', description: 'print one JSON document: {ok, findings}; a failure before it prints {ok: false, error: {code, message, hint, …}}' },
    node: { flags: '--node <name>', description: 'check only these nodes: a name, a list (a,b) or a range (node[03-05]); repeatable', repeatable: true },
    ping: { flags: '--ping <plan>', description: 'ping plan', choices: ['auto', 'full'], default: 'auto' },
    callTimeout: { flags: '--call-timeout <duration>', description: 'bound every remote tool call (default: per command, 15–30 s)', kind: 'duration' },
    busyTimeout: { flags: '--busy-timeout <duration>', description: 'how long to keep retrying a busy hccn_tool before reporting it', default: '30s', kind: 'duration' },
    parallel,
  },
} as const;

export const deploy = {
  name: 'deploy',
  summary: 'pull the image, render and upload the files, start master then workers, wait until it answers',
  argument: { syntax: '<deployment>', description: 'deployment file (e.g. deepseek-r1.yaml)' },
  options: {
    inventory: inventory('inventory file (default: the deployment\'s inventory:)'),
    dryRun: { flags: '--dry-run', description: 'print the plan and the rendered files; touch nothing' },
    skipPreflight: { flags: '--skip-preflight', description: 'do not run preflight as a gate' },
    keepOnFailure: { flags: '--keep-on-failure', description: 'leave the containers running when the deploy fails (to debug)' },
    imageArchive: { flags: '--image-archive <file>', description: 'load the image from this docker-save tarball on every node (air-gapped clusters)' },
    timeout: { flags: '--timeout <duration>', description: 'how long to wait for the model to answer', default: '60m', kind: 'duration' },
    json: { flags: '--json', description: 'print one JSON document with the result (on failure: {ok: false, error: {code, message, hint, …}})' },
    parallel,
  },
} as const;

export const render = {
  name: 'render',
  summary: 'write the files deploy would upload into a directory, without starting anything',
  argument: { syntax: '<deployment>', description: 'deployment file' },
  options: {
    out: { flags: '--out <dir>', description: 'where to write the files', required: true },
    inventory: inventory('inventory file'),
    deviceIps: { flags: '--device-ips <file>', description: 'JSON {"<node>": ["<ip of NPU 0>", …]} instead of reading them over SSH' },
  },
} as const;

export const status = {
  name: 'status',
  summary: 'container state per node, master health, NPU memory',
  argument: deploymentArg,
  options: {
    inventory: inventory('inventory file'),
    json: { flags: '--json', description: 'print one JSON document (on failure: {ok: false, error: {…}})' },
  },
} as const;

export const logs = {
  name: 'logs',
  summary: 'every node\'s daemon log merged into one stream, prefixed by node',
  argument: deploymentArg,
  options: {
    inventory: inventory('inventory file'),
    follow: { flags: '-f, --follow', description: 'follow until Ctrl-C; survives dropped SSH connections' },
    order: {
      flags: '--order <order>',
      description: 'with -f: "time" holds each line up to 300 ms so lines from different nodes come out in timestamp order; "arrival" prints each line as soon as it arrives',
      choices: ['time', 'arrival'],
      default: 'time',
    },
    since: { flags: '--since <duration>', description: 'only lines newer than this (e.g. 10m, 2h) or since a timestamp' },
    // Read as text: the command checks --grep, --since, then --tail, in that order.
    tail: { flags: '--tail <n>', description: 'the last N lines of each node' },
    node: { flags: '--node <name>', description: 'only these nodes: a name, a list (a,b) or a range (node[03-05]); repeatable', repeatable: true },
    grep: { flags: '--grep <regex>', description: 'only lines matching this regular expression' },
    timestamps: { flags: '-t, --timestamps', description: 'show each line\'s timestamp' },
    json: { flags: '--json', description: 'one JSON object per line: {node, time, line} (on failure: {ok: false, error: {…}})' },
  },
} as const;

export const chat = {
  name: 'chat',
  summary: 'talk to the deployed model, streaming, with time to first token and tokens/s',
  description: prose(`Talk to the deployed model. In a terminal: a session that keeps the conversation; a line
ending in \\ or a """ block continues the message; /system TEXT, /reset, /help, /exit; Ctrl-C cancels
the answer, not the session. Typed lines are kept between sessions in
$XDG_STATE_HOME/ascendctl/chat_history (~/.local/state/...; ASCENDCTL_CHAT_HISTORY=FILE or off).
With -p (or a prompt on standard input): one answer, then exit.

Behind a jump host the master's HTTP port is reached over its SSH connection, as deploy recorded.`),
  argument: deploymentArg,
  options: {
    prompt: { flags: '-p, --prompt <text>', description: 'answer this one prompt and exit (a prompt on standard input works too)' },
    endpoint: { flags: '--endpoint <url>', description: 'OpenAI-compatible base URL (default: the deployment\'s master)' },
    model: { flags: '--model <name>', description: 'model name clients send (default: the deployment\'s model.name)' },
    system: { flags: '--system <text>', description: 'system prompt' },
    maxTokens: { flags: '--max-tokens <n>', description: 'cap on the answer length', kind: 'int' },
    timeout: { flags: '--timeout <duration>', description: 'give up when no token arrives for this long', default: '10m', kind: 'duration' },
    json: { flags: '--json', description: 'print the full response and timings as one JSON document (on failure: {ok: false, error: {…}})' },
  },
} as const;

export const bench = {
  name: 'bench',
  summary: 'N concurrent streaming requests: TTFT and inter-token latency percentiles, tokens/s',
  argument: deploymentArg,
  options: {
    concurrency: { flags: '--concurrency <n>', description: 'requests in flight at once', default: '4', kind: 'int' },
    requests: { flags: '--requests <m>', description: 'requests in all', default: '16', kind: 'int' },
    endpoint: { flags: '--endpoint <url>', description: 'OpenAI-compatible base URL' },
    model: { flags: '--model <name>', description: 'model name' },
    prompt: { flags: '--prompt <text>', description: 'the prompt every request sends' },
    maxTokens: { flags: '--max-tokens <n>', description: 'answer length per request', default: '128', kind: 'int' },
    json: { flags: '--json', description: 'print one JSON document (on failure: {ok: false, error: {…}})' },
  },
} as const;

export const stop = {
  name: 'stop',
  summary: 'stop and remove the deployment\'s containers: workers first, master last',
  argument: deploymentArg,
  options: {
    inventory: inventory('inventory file'),
  },
} as const;

export const demo = {
  name: 'demo',
  summary: 'run preflight → deploy → chat → bench → logs → stop against a built-in simulated cluster',
  options: {
    nodes: { flags: '--nodes <n>', description: 'simulated nodes', default: '2', kind: 'int', min: 2 },
    a3: { flags: '--a3', description: 'simulate Atlas 800 A3 servers (8 NPUs × 2 dies = 16 devices each) instead of Atlas 800T A2' },
    keep: { flags: '--keep', description: 'leave the simulated cluster running and print how to use it (Ctrl-C stops it)' },
  },
} as const;

export const completion = {
  name: 'completion',
  summary: 'print a shell completion script',
  argument: { syntax: '<shell>', description: 'bash or zsh', choices: ['bash', 'zsh'] },
  options: {},
} as const;

/** Every command, in the order of the help. */
export const commands: readonly CommandDef[] = [preflight, deploy, render, status, logs, chat, bench, stop, demo, completion];

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

/** Commands and their flags, for shell completion (the definitions the parser is built from). */
export function commandSpecs(): CommandSpec[] {
  return commands.map((cmd) => ({
    name: cmd.name,
    summary: cmd.summary,
    options: Object.values(cmd.options).map((o) => ({
      flags: o.flags.split(/[ ,]+/).filter((w) => w.startsWith('-')),
      description: o.description,
      takesValue: /[<[]/.test(o.flags),
      valueName: /<([^>]+)>|\[([^\]]+)\]/.exec(o.flags)?.slice(1).find(Boolean) ?? '',
      choices: o.choices ? [...o.choices] : undefined,
    })),
    argument: cmd.argument ? { name: cmd.argument.syntax.slice(1, -1), choices: cmd.argument.choices ? [...cmd.argument.choices] : undefined } : undefined,
  }));
}
