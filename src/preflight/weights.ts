/**
 * Check `weights` (with a deployment): MindIE refuses, at start, weight files that are symlinks, that
 * another user owns, or whose mode is wider than 750 ("Check path: config.json failed, by:owner id
 * diff", mindie-multinode.md §2.1, §5, failure table §13 rows 5 and 15), and hangs when nodes differ
 * in config.json / generation_config.json (row 23). One remote call per node reads every file it opens.
 */
import { posix } from 'node:path';
import type { ExecResult, Transport } from '../remote/transport.js';
import { quoteArg } from '../remote/quote.js';
import type { JudgeContext, NodeFacts, Outcome, WeightsEntry, WeightsFacts } from './facts.js';
import type { CheckId, Finding, Status } from './finding.js';
import { timedOut } from './outcome.js';

/** The files MindIE opens from the weights directory at start (contract, `weights`). */
export const WEIGHTS_START_FILES = ['config.json', 'generation_config.json', 'tokenizer*.json'] as const;

/** Compared across nodes (row 23); `model` keeps comparing config.json with the index as before. */
export const WEIGHTS_SAME_EVERYWHERE = ['config.json', 'generation_config.json'] as const;

/**
 * The user the daemon runs as in the container: root, as `docker run -u root` starts it
 * (mindie/container.ts, mindie-multinode.md §6 "User").
 */
const DAEMON_UID = 0;
const DAEMON_USER = 'root';

/** No permission bit outside rwxr-x--- (§5: 750 for directories, files ≤ 750, 640 is the safe choice). */
const MAX_MODE = 0o750;

/**
 * `%f` (the raw mode in hex) rather than `%F`: %F's words follow the node's locale, and a login shell
 * that sets LANG=zh_CN.UTF-8 (RHEL's profile.d on a Chinese-locale server) prints 目录 for a directory.
 */
export const WEIGHTS_STAT_FORMAT = '%f|%a|%u|%U|%n';

/** The file type in `%F`'s English words, from `%f`'s raw mode (S_IFMT bits); `%F` text is kept as is. */
function fileType(field: string): string {
  if (!/^[0-9a-f]+$/i.test(field)) return field;
  switch (parseInt(field, 16) & 0o170000) {
    case 0o040000: return 'directory';
    case 0o100000: return 'regular file';
    case 0o120000: return 'symbolic link';
    case 0o010000: return 'fifo';
    case 0o140000: return 'socket';
    case 0o020000: return 'character special file';
    case 0o060000: return 'block special file';
    default: return `file of mode ${field}`;
  }
}

/**
 * One call: `find DIR/ -maxdepth 1 ( -name config.json -o … ) -exec stat -c FMT DIR {} +`. The
 * trailing slash lets find descend into a symlinked directory, while stat (lstat semantics, no -L)
 * reports the directory and each file as they are, links included. When nothing matches, stat does not
 * run: the directory then holds no config.json, which is the `model` check's finding.
 */
export function weightsCommand(dir: string): string[] {
  const names = WEIGHTS_START_FILES.flatMap((n, i) => (i === 0 ? ['-name', n] : ['-o', '-name', n]));
  return ['find', `${dir}/`, '-maxdepth', '1', '(', ...names, ')', '-exec', 'stat', '-c', WEIGHTS_STAT_FORMAT, dir, '{}', '+'];
}

const LINE = /^([^|]+)\|([0-7]{1,5})\|(\d+)\|([^|]*)\|(.+)$/;

function normalizePath(p: string): string {
  const n = posix.normalize(p);
  return n.length > 1 && n.endsWith('/') ? n.slice(0, -1) : n;
}

/** Lines of the call that describe DIR or a file directly in it; anything else (a login banner) is ignored. */
export function parseWeightsStat(stdout: string, dir: string): WeightsFacts {
  const base = normalizePath(dir);
  const out: WeightsFacts = { files: [] };
  const seen = new Set<string>();
  for (const raw of stdout.split('\n')) {
    const m = LINE.exec(raw.replace(/\r$/, ''));
    if (!m) continue;
    const path = normalizePath(m[5]!);
    const entry: WeightsEntry = { path, type: fileType(m[1]!.trim()), mode: parseInt(m[2]!, 8), uid: Number(m[3]), user: m[4]!.trim() };
    if (path === base) out.dir = entry;
    else if (posix.dirname(path) === base && !seen.has(path)) {
      seen.add(path);
      out.files.push(entry);
    }
  }
  out.files.sort((a, b) => a.path.localeCompare(b.path));
  return out;
}

export async function collectWeights(
  t: Transport, modelPath: string, signal: AbortSignal | undefined, timeoutMs = 15_000,
): Promise<Outcome<WeightsFacts>> {
  const dir = normalizePath(modelPath);
  let r: ExecResult;
  r = await t.exec(weightsCommand(dir), { timeoutMs, ...(signal ? { signal } : {}) });
  if (r.timedOut) return timedOut(r);
  const facts = parseWeightsStat(r.stdout, dir);
  if (facts.dir || facts.files.length > 0) return { kind: 'ok', value: facts };
  if (r.code === 0) return { kind: 'ok', value: facts };
  const first = r.stderr.split('\n').map((l) => l.trim()).find((l) => l !== '') ?? `exit status ${r.code}`;
  if (r.code === 127) {
    return { kind: 'error', message: `find/stat not found: ${first}`, exitCode: r.code, hint: 'install findutils and coreutils on the node' };
  }
  return { kind: 'error', message: first, exitCode: r.code };
}

// ---------------------------------------------------------------------------------------------------

function finding(node: string, check: CheckId, status: Status, message: string, hint?: string): Finding {
  const out: Finding = { node, check, status, message };
  if (hint !== undefined && status !== 'pass') out.hint = hint;
  return out;
}

function isRegular(type: string): boolean {
  return type === 'regular file' || type === 'regular empty file';
}

function modeText(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(3, '0');
}

/** What MindIE would say about one path, with the exact command that fixes it on that node. */
function entryProblem(node: string, e: WeightsEntry, isDir: boolean): { message: string; hint: string } | undefined {
  const q = quoteArg(e.path);
  if (e.type === 'symbolic link') {
    if (isDir) {
      return {
        message: `the weights directory ${e.path} is a symbolic link (MindIE refuses links: "is a link")`,
        hint: `point model.path at the real directory (ssh ${node}: readlink -f ${q}), the same path on every node, or replace the link by a copy of the directory`,
      };
    }
    return {
      message: `${e.path} is a symbolic link (a model-cache layout); MindIE refuses links at start ("is a link")`,
      hint: `replace it by a copy of its target: ssh ${node}: cp --remove-destination "$(readlink -f ${q})" ${q} && chown ${DAEMON_USER}:${DAEMON_USER} ${q} && chmod 640 ${q}`,
    };
  }
  if (isDir ? e.type !== 'directory' : !isRegular(e.type)) {
    return {
      message: `${e.path} is a ${e.type}, not a ${isDir ? 'directory' : 'regular file'}`,
      hint: isDir ? 'set model.path to the weights directory' : `replace it by the real file on ${node}`,
    };
  }
  const badOwner = e.uid !== DAEMON_UID;
  const badMode = (e.mode & 0o777 & ~MAX_MODE) !== 0;
  if (!badOwner && !badMode) return undefined;
  const why: string[] = [];
  if (badOwner) why.push(`owned by ${e.user && e.user !== String(e.uid) && e.user !== 'UNKNOWN' ? `${e.user} (uid ${e.uid})` : `uid ${e.uid}`}, not by ${DAEMON_USER} (uid ${DAEMON_UID}), the daemon's user in the container`);
  if (badMode) why.push(`mode ${modeText(e.mode)}, wider than ${modeText(MAX_MODE)}`);
  const fix: string[] = [];
  if (badOwner) fix.push(`chown ${DAEMON_USER}:${DAEMON_USER} ${q}`);
  if (badMode) fix.push(`chmod ${isDir ? '750' : '640'} ${q}`);
  const quote = badOwner
    ? `"Check path: ${posix.basename(e.path)} failed, by:owner id diff: current process user id is ${DAEMON_UID}, file owner id is ${e.uid}"`
    : `"Check path: ${posix.basename(e.path)} failed, by:Check permission failed"`;
  return {
    message: `${e.path}: ${why.join('; ')} — MindIE refuses it at start (${quote})`,
    hint: `ssh ${node}: ${fix.join(' && ')}`,
  };
}

/** Some guides forbid "." anywhere in the weights path (§2.2, §13 row 15): said, not failed. */
function dotComponent(path: string): string | undefined {
  return normalizePath(path).split('/').find((c) => c.includes('.'));
}

export function judgeWeights(out: Finding[], nodes: readonly NodeFacts[], ctx: JudgeContext): void {
  if (!ctx.deployment) return;
  const dir = normalizePath(ctx.deployment.modelPath);
  // vLLM opens the weights through Hugging Face loaders, which follow links and do not check owners.
  const mindie = (ctx.deployment.backend ?? 'mindie') === 'mindie';
  const judged: NodeFacts[] = [];
  for (const n of nodes) {
    if (!n.weights) continue;
    // No weights directory / config.json: the `model` check's finding, not reported twice.
    if (n.model?.kind === 'ok' && n.model.value === null) continue;
    const w = n.weights;
    if (w.kind === 'timeout') {
      // A call that times out is its check's failure (cli-contract.md), not a check that could not run.
      out.push(finding(n.node, 'weights', 'fail', `reading the weights' files under ${dir} timed out after ${w.seconds} s`,
        `check the filesystem holding the weights on ${n.node} (df, dmesg), then run ${weightsCommandText(dir)} there`));
      continue;
    }
    if (w.kind !== 'ok') {
      const why = w.kind === 'error' ? w.message : w.kind === 'unexpected' ? `unexpected output "${w.firstLine}"` : w.kind === 'skipped' ? w.why : w.kind;
      out.push(finding(n.node, 'weights', 'warn', `not checked: cannot read the weights' files under ${dir} (${why})`,
        (w.kind === 'error' && w.hint) || `run ${weightsCommandText(dir)} on ${n.node} to see why`));
      continue;
    }
    if (!w.value.dir && w.value.files.length === 0) {
      out.push(finding(n.node, 'weights', 'warn', `not checked: none of ${WEIGHTS_START_FILES.join(', ')} found in ${dir}`,
        `copy the complete weights to ${dir} on ${n.node}`));
      continue;
    }
    judged.push(n);
    let problems = 0;
    const entries: [WeightsEntry, boolean][] = [
      ...(w.value.dir ? [[w.value.dir, true] as [WeightsEntry, boolean]] : []),
      ...w.value.files.map((e): [WeightsEntry, boolean] => [e, false]),
    ];
    for (const [e, isDir] of mindie ? entries : []) {
      const p = entryProblem(n.node, e, isDir);
      if (!p) continue;
      problems++;
      out.push(finding(n.node, 'weights', 'fail', p.message, p.hint));
    }
    const dotted = dotComponent(dir);
    if (mindie && dotted !== undefined) {
      out.push(finding(n.node, 'weights', 'warn', `the weights path ${dir} contains "." (in "${dotted}"); some MindIE guides reject such paths`,
        'if MindIE refuses the weights, move them to a path without "." (the same on every node)'));
    }
    if (problems === 0) {
      const names = w.value.files.map((e) => posix.basename(e.path));
      out.push(finding(n.node, 'weights', 'pass', mindie
        ? `${dir} and ${names.join(', ') || 'its files'}: real files, mode ≤ 750, owned by ${DAEMON_USER}`
        : `${dir}: ${names.join(', ') || 'its files'} present (vllm-ascend: owners, modes and links are not MindIE's concern here)`));
    }
  }
  judgeSameEverywhere(out, judged, dir);
  // One verdict per node: a node whose config.json differs is not also told its files are fine.
  const failed = new Set(out.filter((x) => x.check === 'weights' && x.status === 'fail').map((x) => x.node));
  for (let i = out.length - 1; i >= 0; i--) {
    const x = out[i]!;
    if (x.check === 'weights' && x.status === 'pass' && failed.has(x.node)) out.splice(i, 1);
  }
}

/** config.json and generation_config.json identical on every node (row 23), from the `model` check's hashes. */
function judgeSameEverywhere(out: Finding[], nodes: readonly NodeFacts[], dir: string): void {
  const hashes = new Map<string, Record<string, string>>();
  for (const n of nodes) if (n.model?.kind === 'ok' && n.model.value) hashes.set(n.node, n.model.value.hashes);
  if (hashes.size < 2) return;
  for (const file of WEIGHTS_SAME_EVERYWHERE) {
    const byNode = [...hashes].map(([node, h]) => [node, h[file] ?? 'absent'] as const);
    if (byNode.every(([, h]) => h === 'absent')) continue;
    const counts = new Map<string, number>();
    for (const [, h] of byNode) counts.set(h, (counts.get(h) ?? 0) + 1);
    let common = byNode[0]![1];
    for (const [h, c] of counts) if (c > (counts.get(common) ?? 0)) common = h;
    const holders = byNode.filter(([, h]) => h === common).map(([node]) => node);
    for (const [node, h] of byNode) {
      if (h === common) continue;
      const path = `${dir}/${file}`;
      const what = h === 'absent' ? `${file} is missing on ${node}` : common === 'absent' ? `${file} exists on ${node} only` : `${file} differs from ${holders.join(', ')}`;
      const hint = common === 'absent'
        ? `copy ${quoteArg(path)} from ${node} to every other node, or remove it on ${node}, so that all nodes agree`
        : `copy ${quoteArg(path)} from ${holders[0]} to ${node} so that every node has the same file (then chown ${DAEMON_USER}:${DAEMON_USER} and chmod 640 it)`;
      out.push(finding(node, 'weights', 'fail',
        `${what} (sha256): nodes with different ${file} hang or answer differently (mindie-multinode.md §13 row 23)`, hint));
    }
  }
}

function weightsCommandText(dir: string): string {
  return weightsCommand(dir).map(quoteArg).join(' ');
}
