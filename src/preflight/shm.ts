/**
 * Check `shm` (with a deployment): shared-memory files a MindIE daemon left in /dev/shm when it did not
 * stop cleanly make the next start fail (mindie-multinode.md §13 row 11, §7 step 2). The container runs
 * with --ipc=host, so the host's /dev/shm is the one the daemon uses.
 */
import { posix } from 'node:path';
import type { Transport } from '../remote/transport.js';
import { quoteArg } from '../remote/quote.js';
import type { JudgeContext, NodeFacts, Outcome } from './facts.js';
import type { Finding, Status } from './finding.js';
import { timedOut } from './outcome.js';

export const SHM_DIR = '/dev/shm';
/** The names of §7 step 2 / §13 row 11. */
export const SHM_PATTERNS = ['*llm_backend_*', 'llm_tokenizer_shared_memory_*'] as const;
const SHM_NAME = /llm_backend_|^llm_tokenizer_shared_memory_/;
/** Above this many files the hint removes them by pattern instead of by name. */
const LIST_LIMIT = 6;

export function shmCommand(): string[] {
  return ['find', SHM_DIR, '-maxdepth', '1', '(', '-name', SHM_PATTERNS[0], '-o', '-name', SHM_PATTERNS[1], ')', '-print'];
}

export function parseShm(stdout: string): string[] {
  const out: string[] = [];
  for (const raw of stdout.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (posix.dirname(line) !== SHM_DIR || !SHM_NAME.test(posix.basename(line))) continue;
    if (!out.includes(line)) out.push(line);
  }
  return out.sort();
}

export async function collectShm(t: Transport, signal: AbortSignal | undefined, timeoutMs = 10_000): Promise<Outcome<string[]>> {
  const r = await t.exec(shmCommand(), { timeoutMs, ...(signal ? { signal } : {}) });
  if (r.timedOut) return timedOut(r);
  const files = parseShm(r.stdout);
  if (r.code === 0 || files.length > 0) return { kind: 'ok', value: files };
  const first = r.stderr.split('\n').map((l) => l.trim()).find((l) => l !== '') ?? `exit status ${r.code}`;
  return { kind: 'error', message: first, exitCode: r.code };
}

function finding(node: string, status: Status, message: string, hint?: string): Finding {
  const out: Finding = { node, check: 'shm', status, message };
  if (hint !== undefined && status !== 'pass') out.hint = hint;
  return out;
}

export function judgeShm(out: Finding[], nodes: readonly NodeFacts[], ctx: JudgeContext): void {
  if (!ctx.deployment) return;
  const own = new Set(Object.keys(ctx.deployment.ownPorts ?? {}));
  for (const n of nodes) {
    const s = n.shm;
    if (!s) continue;
    if (s.kind === 'timeout') {
      // A call that times out is its check's failure (cli-contract.md), not a check that could not run.
      out.push(finding(n.node, 'fail', `listing ${SHM_DIR} timed out after ${s.seconds} s`,
        `the node is not answering in time: check its load (uptime) and run ${shmCommand().map(quoteArg).join(' ')} on ${n.node}`));
      continue;
    }
    if (s.kind !== 'ok') {
      const why = s.kind === 'error' ? s.message : s.kind === 'skipped' ? s.why : s.kind;
      out.push(finding(n.node, 'warn', `not checked: cannot list ${SHM_DIR} (${why})`,
        `run ${shmCommand().map(quoteArg).join(' ')} on ${n.node} to see why`));
      continue;
    }
    const files = s.value;
    if (files.length === 0) {
      out.push(finding(n.node, 'pass', `no leftover MindIE shared memory in ${SHM_DIR}`));
      continue;
    }
    const names = files.map((f) => posix.basename(f));
    if (own.has(n.node)) {
      out.push(finding(n.node, 'pass', `${names.length} MindIE shared-memory file(s) in ${SHM_DIR} belong to this deployment's running daemon, which deploy stops first`));
      continue;
    }
    const rm = files.length <= LIST_LIMIT
      ? `rm -f ${files.map(quoteArg).join(' ')}`
      : `rm -f ${SHM_PATTERNS.map((p) => `${SHM_DIR}/${p}`).join(' ')}`;
    out.push(finding(n.node, 'fail',
      `leftover MindIE shared memory in ${SHM_DIR}: ${names.slice(0, LIST_LIMIT).join(', ')}${names.length > LIST_LIMIT ? `, … (${names.length} files)` : ''} — a daemon that did not stop cleanly; the next start fails (mindie-multinode.md §13 row 11)`,
      `make sure no MindIE daemon runs on ${n.node} (docker ps), then: ssh ${n.node}: ${rm}`));
  }
}
