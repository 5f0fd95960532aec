/**
 * Two kinds of error (style.md §7). A UserError is expected: bad input, an unreachable node, a failed
 * check. It carries a message that names the file/YAML path/line or node/NPU, a next step, and an exit
 * code; it is printed without a stack. Anything else is a bug and shows its stack only under --verbose.
 */
export type ExitCode = 0 | 1 | 2 | 130;

export interface UserErrorOptions {
  /** What to do next; printed on its own line after the message. */
  hint?: string;
  exitCode?: ExitCode;
  cause?: unknown;
}

export class UserError extends Error {
  readonly hint: string | undefined;
  readonly exitCode: ExitCode;

  constructor(message: string, opts: UserErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'UserError';
    this.hint = opts.hint;
    this.exitCode = opts.exitCode ?? 2;
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
