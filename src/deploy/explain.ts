/**
 * Why a node failed, from its last log lines, with the reference's failure table (the same classifier
 * `logs` highlights with). The earliest specific error wins: MindIE follows the real cause with a
 * cascade of generic ones ("Failed to init infer backend manager", "[start mindie server] [fail]"),
 * and the generic endpoint-init line is only the answer when nothing more specific was logged.
 */
import { classifyLogLine, type FailureKind } from '../mindie/known-failures.js';

export interface FailureExplanation {
  kind: FailureKind;
  cause: string;
  fix: string;
}

export function explainFailure(lines: readonly string[]): FailureExplanation | undefined {
  let generic: FailureExplanation | undefined;
  for (const line of lines) {
    const hit = classifyLogLine(line);
    if (!hit || hit.severity !== 'error') continue;
    if (hit.kind === 'endpoint-init') {
      generic ??= { kind: hit.kind, cause: hit.cause, fix: hit.hint };
      continue;
    }
    return { kind: hit.kind, cause: hit.cause, fix: hit.hint };
  }
  return generic;
}
