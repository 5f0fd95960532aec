/**
 * The `docker logs` side of `ascendctl logs`: the argv asked of the container runtime, the timestamp
 * docker puts before each line with `-t`, and `--since` as the user writes it. ascendctl always asks for
 * `-t`, whether or not the user shows timestamps, because the timestamp is what a resumed follow starts
 * from after a dropped connection.
 */
import { InputError } from '../errors.js';
import { tryParseDuration, DURATION_EXPECTED } from '../config/duration.js';

export interface DockerLogsRequest {
  /** `docker`, `podman`, … (inventory tools.containerRuntime). */
  runtime: string;
  container: string;
  follow: boolean;
  /** Passed verbatim to `--since` (see sinceArg). */
  since?: string | undefined;
  tail?: number | undefined;
}

export function dockerLogsArgv(req: DockerLogsRequest): string[] {
  const argv = [req.runtime, 'logs'];
  if (req.follow) argv.push('-f');
  argv.push('-t');
  if (req.since !== undefined) argv.push('--since', req.since);
  if (req.tail !== undefined) argv.push('--tail', String(req.tail));
  argv.push(req.container);
  return argv;
}

/** The exit status of a stopped container, as one number on stdout. */
export function exitCodeArgv(runtime: string, container: string): string[] {
  return [runtime, 'inspect', '--format', '{{.State.ExitCode}}', container];
}

const RFC3339 = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

/**
 * `--since` as docker understands it: a duration is sent as a relative Go duration (`600s`), so it is
 * measured against the node's own clock rather than ours; an RFC 3339 time is sent unchanged.
 */
export function sinceArg(input: string): string {
  const text = input.trim();
  const ms = tryParseDuration(text);
  if (ms !== undefined) return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
  if (RFC3339.test(text) && parseTimestamp(text) !== undefined) return text;
  throw new InputError(`--since ${input}: expected ${DURATION_EXPECTED}, or an RFC 3339 time such as 2026-01-02T15:04:05Z`, {
    hint: 'write it like --since 10m or --since 2026-01-02T15:04:05Z',
  });
}

/** Nanoseconds since the epoch of an RFC 3339 time, or undefined. Comparable across offsets. */
export function parseTimestamp(text: string): bigint | undefined {
  const m = RFC3339.exec(text);
  if (!m || m[1] === undefined || m[3] === undefined) return undefined;
  const wholeMs = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(wholeMs)) return undefined;
  const frac = (m[2] ?? '.').slice(1).padEnd(9, '0');
  return BigInt(wholeMs) * 1_000_000n + BigInt(frac);
}

export interface TimedLine {
  /** docker's timestamp as it printed it (RFC 3339, nanoseconds); undefined when the line had none. */
  time: string | undefined;
  /** Comparable form of `time`. */
  ns: bigint | undefined;
  /** The daemon's line, unchanged. */
  text: string;
}

/** Split `2026-01-02T03:04:05.123456789Z text` into the timestamp and the daemon's line. */
export function splitTimestamp(line: string): TimedLine {
  const space = line.indexOf(' ');
  const head = space === -1 ? line : line.slice(0, space);
  const ns = head.length >= 20 ? parseTimestamp(head) : undefined;
  if (ns === undefined) return { time: undefined, ns: undefined, text: line };
  return { time: head, ns, text: space === -1 ? '' : line.slice(space + 1) };
}
