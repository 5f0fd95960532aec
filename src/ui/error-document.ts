/**
 * The `--json` error document: when a command run with `--json` fails before printing its normal document
 * (bad input, an unreachable node, a failed deploy step, Ctrl-C), stdout still holds exactly one JSON
 * document, `{"ok": false, "error": {code, message, hint, file?, line?, node?}}`, and the exit status is
 * the same as without `--json`. The human message still goes to stderr.
 *
 * `code` is one of a closed set (errors.ts ERROR_CODES), stable for scripts:
 *
 * | code | exit | meaning |
 * |---|---|---|
 * | bad-input | 2 | a file, flag or argument is wrong (`file` and `line` when a file is at fault) |
 * | unreachable | 1 | a node could not be reached or authenticated over SSH (`node`) |
 * | preflight-failed | 1 | deploy's preflight gate found failures (nothing was changed) |
 * | deploy-failed | 1 | a deploy step failed (lock, image, upload, start, readiness) |
 * | endpoint-failed | 1 | the model endpoint answered with an error or not at all (chat, bench) |
 * | cluster-failed | 1 | any other failure on the cluster |
 * | interrupted | 130 | Ctrl-C, after cleaning up |
 * | internal | 1 | a bug in ascendctl (run with --verbose and report it) |
 */
import { ClusterError, InputError, InterruptedError, isUserError, type ErrorCode } from '../errors.js';
import { RemoteError } from '../remote/transport.js';

export interface ErrorDocument {
  ok: false;
  error: {
    code: ErrorCode;
    message: string;
    hint: string;
    file?: string;
    line?: number;
    node?: string;
  };
}

const DEFAULT_HINTS: Record<ErrorCode, string> = {
  'bad-input': 'fix the input and run the command again',
  unreachable: 'check SSH to the node (ascendctl preflight says what fails)',
  'preflight-failed': 'run ascendctl preflight to see every failure',
  'deploy-failed': 'ascendctl status and ascendctl logs show what the nodes did',
  'endpoint-failed': 'ascendctl status shows whether the deployment is serving',
  'cluster-failed': 'ascendctl preflight and ascendctl status show the state of the nodes',
  interrupted: 'run the command again when ready',
  internal: 'run again with --verbose for the stack trace, and report it',
};

/** A ClusterError that names no code of its own: what the command was doing decides. */
function clusterCodeOf(command: string | undefined): ErrorCode {
  if (command === 'deploy') return 'deploy-failed';
  if (command === 'chat' || command === 'bench') return 'endpoint-failed';
  return 'cluster-failed';
}

/** The code of any error the CLI's handler sees, consistent with its exit status. */
export function errorCode(err: unknown, command: string | undefined): ErrorCode {
  if (isUserError(err)) {
    if (err.info.code !== undefined) return err.info.code;
    if (err instanceof InterruptedError || err.exitCode === 130) return 'interrupted';
    if (err instanceof InputError || err.exitCode === 2) return 'bad-input';
    if (err instanceof ClusterError || err.exitCode === 1) return clusterCodeOf(command);
  }
  if (err instanceof RemoteError) return 'unreachable';
  return 'internal';
}

/** The document for an error the CLI's handler prints (`message` as the human text says it). */
export function errorDocument(err: unknown, command: string | undefined, message: string): ErrorDocument {
  const code = errorCode(err, command);
  const hint = (isUserError(err) || err instanceof RemoteError ? err.hint : undefined) ?? DEFAULT_HINTS[code];
  const doc: ErrorDocument = { ok: false, error: { code, message, hint } };
  if (isUserError(err)) {
    if (err.info.file !== undefined) doc.error.file = err.info.file;
    if (err.info.line !== undefined) doc.error.line = err.info.line;
    // A renderer's error names its node in a field of its own.
    const node = err.info.node ?? (err as { node?: unknown }).node;
    if (typeof node === 'string') doc.error.node = node;
  } else if (err instanceof RemoteError) {
    doc.error.node = err.node;
  }
  return doc;
}

/** A flag or argument that commander refused (exit 2). */
export function flagErrorDocument(message: string, hint: string): ErrorDocument {
  return { ok: false, error: { code: 'bad-input', message, hint } };
}
