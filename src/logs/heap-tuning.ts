/**
 * V8's garbage collector tuned for `ascendctl logs`, whose peak RSS is mostly garbage, not data
 * (issue #12; measured with --trace-gc and process.memoryUsage at 16 and 64 nodes):
 *
 * - The young generation. Every line read is a few short-lived objects (its StampedLine, its share of
 *   the batch's binary string and of the printer's joined output), and reading tens of MB/s of log makes
 *   V8 grow the young generation to its maximum, 2 × 16 MiB of semi-spaces, of which little is alive at
 *   any moment (the merge holds one batch per node). `--semi-space-growth-factor=1` keeps it at its initial size: scavenges are more
 *   frequent, each one as cheap (its cost follows what survives, not the space's size).
 * - The old generation. A batch that waits in the merge for slower nodes survives scavenges and is
 *   promoted, and becomes garbage as soon as it is printed; V8 lets the old generation grow by its
 *   default factor (up to 4×) of what was alive at the last full collection before collecting again,
 *   which at 64 nodes was 18 → 32 MiB. `--heap-growing-percent=10` lets it grow by 10 % (V8 still adds
 *   its minimum step of a few MiB), so the full collections come sooner and each finds little alive.
 *
 * Together: 16 nodes × 20,000 lines 109 → 80 MiB peak, 64 nodes 138 → 93 MiB, 64 nodes at --tail 2000
 * 127 → 91 MiB, for roughly the same CPU. Both flags are read by V8 whenever it sizes a space, so setting
 * them once the process runs takes effect (node:v8 setFlagsFromString; they only change when memory is
 * collected, never what a program computes). They apply to the rest of the process, which for the CLI is
 * the logs command itself.
 */
import { setFlagsFromString } from 'node:v8';

export const LOGS_V8_FLAGS = ['--semi-space-growth-factor=1', '--heap-growing-percent=10'] as const;

/** Apply LOGS_V8_FLAGS (setting them again changes nothing). A V8 that does not know a flag ignores it. */
export function tuneHeapForLogs(): void {
  for (const flag of LOGS_V8_FLAGS) setFlagsFromString(flag);
}
