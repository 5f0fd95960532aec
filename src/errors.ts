/**
 * Two kinds of error (docs/architecture.md, Principles 4). A UserError is expected: bad input, an unreachable node, a failed
 * check. It carries a message that names the file/YAML path/line or node/NPU, a next step, and an exit
 * code; it is printed without a stack. Anything else is a bug and shows its stack only under --verbose.
 */
export type ExitCode = 0 | 1 | 2 | 130;

/**
 * What failed, as a stable machine string: the `code` of the `--json` error document (ui/error-document.ts
 * lists them with their meaning). A closed set: scripts switch on it.
 */
export const ERROR_CODES = ['bad-input', 'unreachable', 'preflight-failed', 'deploy-failed', 'endpoint-failed', 'cluster-failed', 'interrupted', 'internal'] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export interface ErrorInfo {
  code?: ErrorCode;
  file?: string;
  line?: number;
  node?: string;
}

export interface UserErrorOptions {
  /** What to do next; printed on its own line after the message. */
  hint?: string;
  exitCode?: ExitCode;
  cause?: unknown;
  /** Default: by class (bad-input, cluster-failed, interrupted) or by the command that failed. */
  code?: ErrorCode;
  /** The input file at fault, and the line of its first problem. */
  file?: string;
  line?: number;
  /** The node (or folded node set, `node[2-3]`) that failed. */
  node?: string;
}

export class UserError extends Error {
  readonly hint: string | undefined;
  readonly exitCode: ExitCode;
  /** What the `--json` error document says beside the message (subclasses may hold more of their own). */
  readonly info: ErrorInfo;

  constructor(message: string, opts: UserErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'UserError';
    this.hint = opts.hint;
    this.exitCode = opts.exitCode ?? 2;
    const info: ErrorInfo = {};
    if (opts.code !== undefined) info.code = opts.code;
    if (opts.file !== undefined) info.file = opts.file;
    if (opts.line !== undefined) info.line = opts.line;
    if (opts.node !== undefined) info.node = opts.node;
    this.info = info;
  }
}

/** Bad input (exit 2): YAML, flags, schemas. Nothing on the servers has been touched. */
export class InputError extends UserError {
  constructor(message: string, opts: Omit<UserErrorOptions, 'exitCode'> = {}) {
    super(message, { ...opts, exitCode: 2 });
    this.name = 'InputError';
  }
}

/** The cluster failed (exit 1): unreachable node, daemon did not come up, endpoint error. */
export class ClusterError extends UserError {
  constructor(message: string, opts: Omit<UserErrorOptions, 'exitCode'> = {}) {
    super(message, { ...opts, exitCode: 1 });
    this.name = 'ClusterError';
  }
}

/** Ctrl-C: cleanup already happened; exit 130. */
export class InterruptedError extends UserError {
  constructor(message = 'interrupted', hint?: string) {
    super(message, { exitCode: 130, ...(hint !== undefined ? { hint } : {}) });
    this.name = 'InterruptedError';
  }
}

export function isUserError(err: unknown): err is UserError {
  return err instanceof UserError;
}
