/**
 * Why a node failed, from its last log lines, with the reference's failure table (the same classifier
 * `logs` highlights with). The last matching error line wins: it is closest to the exit.
 */
import { classifyLogLine } from '../logs/known-failures.js';

export function explainFailure(lines: readonly string[]): { cause: string; fix: string } | undefined {
  for (let i = lines.length - 1; i >= 0; i--) {
    const hit = classifyLogLine(lines[i]!);
    if (hit && hit.severity === 'error') return { cause: hit.cause, fix: hit.hint };
  }
  return undefined;
}
