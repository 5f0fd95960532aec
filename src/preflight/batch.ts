/**
 * Several of one node's tool calls as one remote command: preflight's per-node work is ~90 calls that
 * must run one after another (hccn_tool serves one caller per node, docs/ascend-tools.md §1.2), and as
 * separate SSH exec channels each costs a channel open, an exec request and a close — round trips and
 * CPU on both ends that the floor (one `ssh` per node running the same calls as one script) does not
 * pay. Measured at 64 simulated nodes on a loaded machine: 26 s against the floor's 10 s, the time going
 * to those round trips, not to ascendctl's CPU (BENCHMARKS.md, "preflight 64 nodes vs floor").
 *
 * The batch runs the calls in order under `sh -c`, each with its own `timeout -k 5 <s>` as a single
 * call has, and frames them so that each call gets back its own stdout, stderr and exit status:
 *
 *   printf '\n%s\n' 'M i'; printf '\n%s\n' 'M i' >&2; timeout -k 5 S tool …; printf '\n%s %s\n' 'M i' "$?"
 *
 * (M a marker of 96 random bits, i the call's index). A call whose frame did not come back complete —
 * the batch was cut short, or the node has no `sh` as expected — has no result, and the caller makes
 * it on its own as before: a batch is only ever a shortcut, never a different answer.
 */
import { randomBytes } from 'node:crypto';
import { shellJoin, withRemoteTimeout } from '../remote/quote.js';
import { sudoRefusal } from '../remote/become.js';
import type { ExecResult, Transport } from '../remote/transport.js';

export interface BatchCall {
  argv: readonly string[];
  timeoutMs: number;
}

/** How a batched call's result is found again by whoever makes the call later: its argv. */
export function callKey(argv: readonly string[]): string {
  return argv.join('\0');
}

/** Most the whole batch may take beyond the sum of its calls' bounds (process start-up, framing). */
const BATCH_GRACE_MS = 10_000;

/**
 * `prefixes[i]` goes in front of call i's bounded argv, as exec would put it (`sudo -n --` on a node
 * with `ssh.become: sudo`, for the calls that need root): each call runs with its own rights, exactly as
 * when it is made alone, and the batch's `sh` itself runs as the login user.
 */
export function batchScript(calls: readonly BatchCall[], marker: string, prefixes: readonly (readonly string[])[] = []): string {
  return calls.map((c, i) => batchPart(c, i, marker, prefixes[i])).join('; ');
}

/** Call `c` framed as the `i`-th of a batch. */
function batchPart(c: BatchCall, i: number, marker: string, prefix: readonly string[] = []): string {
  const tag = `${marker} ${i}`;
  const open = shellJoin(['printf', '\\n%s\\n', tag]);
  const argv = [...prefix, ...withRemoteTimeout(c.argv, c.timeoutMs)];
  return `${open}; ${open} >&2; ${shellJoin(argv)}; ${shellJoin(['printf', '\\n%s %s\\n', tag])} "$?"`;
}

/**
 * Each call's result, in order, from the batch's two streams; undefined for a call whose frame is not
 * complete (and for every call after it).
 */
export function parseBatch(stdout: string, stderr: string, count: number, marker: string): (ExecResult | undefined)[] {
  const out: (ExecResult | undefined)[] = new Array<ExecResult | undefined>(count).fill(undefined);
  let pos = 0;
  let errPos = 0;
  for (let i = 0; i < count; i++) {
    const begin = `\n${marker} ${i}\n`;
    const b = stdout.indexOf(begin, pos);
    if (b < 0) break;
    const endTag = `\n${marker} ${i} `;
    const e = stdout.indexOf(endTag, b + begin.length);
    if (e < 0) break;
    const nl = stdout.indexOf('\n', e + endTag.length);
    if (nl < 0) break;
    const code = Number(stdout.slice(e + endTag.length, nl));
    if (!Number.isInteger(code)) break;
    const eb = stderr.indexOf(begin, errPos);
    if (eb < 0) break;
    const next = stderr.indexOf(`\n${marker} ${i + 1}\n`, eb + begin.length);
    const errText = stderr.slice(eb + begin.length, next < 0 ? undefined : next);
    out[i] = {
      stdout: stdout.slice(b + begin.length, e), stderr: errText, code,
      // As a single call's: `timeout` exits 124 (or 137 after -k) when the bound ran out.
      timedOut: code === 124 || code === 137, durationMs: 0,
    };
    pos = nl + 1;
    errPos = next < 0 ? stderr.length : next;
  }
  return out;
}

/**
 * Longest command line one batch sends. The exec request travels in one SSH packet, and servers cap
 * a packet's size (ssh2's own server drops the connection beyond 32 KiB; RFC 4253 §6.1 only promises
 * 32,768 bytes): 16 KiB leaves room for the framing, a sudo prefix and the packet's own fields.
 */
export const MAX_BATCH_CHARS = 16 * 1024;

/**
 * Run `calls` as few execs as fit MAX_BATCH_CHARS each, one after another; each call's result, or
 * undefined where the caller must make it itself (from the first incomplete one on).
 */
export async function runBatch(t: Transport, calls: readonly BatchCall[], signal?: AbortSignal): Promise<(ExecResult | undefined)[]> {
  const none = (): undefined[] => calls.map(() => undefined);
  // Each call's rights, as exec would give it; a call that cannot be batched (sudo wants a password),
  // or a node whose sudo refuses outright, leaves every call to be made alone, where the refusal is told.
  let prefixes: (readonly string[])[];
  try {
    const got = await Promise.all(calls.map(async (c) => (t.callPrefix ? await t.callPrefix(c.argv) : [])));
    if (got.some((p) => p === undefined)) return none();
    prefixes = got as (readonly string[])[];
  } catch {
    return none();
  }
  const marker = `ascendctl-batch-${randomBytes(12).toString('hex')}`;
  const out: (ExecResult | undefined)[] = [];
  let start = 0;
  while (start < calls.length) {
    // Each call framed once: the chunk grows while it fits (always at least one call).
    const parts = [batchPart(calls[start]!, 0, marker, prefixes[start])];
    let length = parts[0]!.length;
    while (start + parts.length < calls.length) {
      const next = batchPart(calls[start + parts.length]!, parts.length, marker, prefixes[start + parts.length]);
      if (length + 2 + next.length > MAX_BATCH_CHARS) break;
      parts.push(next);
      length += 2 + next.length;
    }
    const end = start + parts.length;
    const chunk = calls.slice(start, end);
    const timeoutMs = chunk.reduce((sum, c) => sum + c.timeoutMs, BATCH_GRACE_MS);
    const r = await t.exec(['sh', '-c', parts.join('; ')], { timeoutMs, asLoginUser: true, ...(signal ? { signal } : {}) });
    const got = parseBatch(r.stdout, r.stderr, chunk.length, marker);
    // A call its bound stopped ran for that bound, as a single call's result would say.
    got.forEach((x, i) => { if (x?.timedOut) x.durationMs = chunk[i]!.timeoutMs; });
    // sudo's own refusal is not the tool's answer: from that call on, each is made alone (and says so).
    const refused = got.findIndex((x, i) => x !== undefined && prefixes[start + i]!.length > 0 && sudoRefusal(x.code, x.stderr) !== undefined);
    if (refused >= 0) got.fill(undefined, refused);
    out.push(...got);
    if (got.some((x) => x === undefined)) break;
    start = end;
  }
  while (out.length < calls.length) out.push(undefined);
  return out;
}
