/**
 * The daemon log lines that name a known failure (mindie-multinode.md §13), each with what it means
 * and what to do. `logs` highlights them; `deploy` uses the same table to explain a node that failed.
 * Order matters: the first match wins, so the narrower patterns of a shared error code come first
 * (EI0014 is both "Config_Error_Ranktable" and the TLS mismatch).
 */

export type FailureKind =
  | 'hccl-timeout'
  | 'stale-rootinfo'
  | 'tls-inconsistent'
  | 'device-ip-invalid'
  | 'model-path-missing'
  | 'file-permission'
  | 'tls-certificates'
  | 'port-occupied'
  | 'listen-address'
  | 'endpoint-init'
  | 'out-of-memory'
  | 'shm-leftover'
  | 'dp-per-node'
  | 'tokenizer-cache-path'
  | 'python-dependencies'
  | 'driver-mismatch'
  | 'visible-devices'
  | 'hccl-ports'
  | 'vllm-rpc-timeout'
  | 'unicode-vocabulary';

export interface LogFailure {
  kind: FailureKind;
  /** `error`: the daemon will not come up; `info`: looks alarming, is harmless. */
  severity: 'error' | 'info';
  /** What the line means, in one phrase. */
  cause: string;
  /** What to do next. */
  hint: string;
}

interface Rule extends LogFailure {
  pattern: RegExp;
}

const RULES: readonly Rule[] = [
  {
    kind: 'stale-rootinfo',
    pattern: /Config_Error_Ranktable/,
    severity: 'error',
    cause: 'a stale /etc/hccl_rootinfo.json or a rank table that does not match the chip',
    hint: 'do not mount the host\'s /etc/hccl_rootinfo.json into the container; redeploy so the rank table is rendered again',
  },
  {
    kind: 'hccl-timeout',
    pattern: /EI0006|Get_Socket_Timeout|get socket timeout|HcclCommInitRootInfo failed/i,
    severity: 'error',
    cause: 'a node did not join HCCL initialisation within HCCL_CONNECT_TIMEOUT',
    hint: 'read the other nodes\' logs first (one of them did not start or crashed); start all nodes together, set HCCL_CONNECT_TIMEOUT=7200, and run `ascendctl preflight` for the NPU ping matrix',
  },
  {
    kind: 'device-ip-invalid',
    // "Failed to init infer backend manager" follows this error but also HCCL timeouts: not a sign of its own.
    // HCCL's own check of device_ip against the NIC is EI0014 too (atlas-a3.md): placed before the TLS rule.
    pattern: /device_ip\s*(\[[^\]]*\]\s*)?is invalid|in the ranktable is inconsistent with the IP address/i,
    severity: 'error',
    cause: 'the rank table holds a wrong or placeholder device_ip',
    hint: 'redeploy (ascendctl reads every NPU\'s IP with `hccn_tool -i N -ip -g`); check that /etc/hccn.conf agrees and that the NPU links are up (`ascendctl preflight`)',
  },
  {
    kind: 'tls-inconsistent',
    pattern: /tlsStatus\s+(are\s+|is\s+)?inconsistent|EI0014/i,
    severity: 'error',
    cause: 'the NPUs\' TLS switches differ between nodes',
    hint: 'run `ascendctl preflight --fix` (sets every NPU\'s TLS switch to 0), then deploy again',
  },
  {
    // MindIE reports a missing weights directory through its path check; say what it is before the
    // generic permission rule below claims the line.
    kind: 'model-path-missing',
    pattern: /modelWeightPath failed, by:path does not exist|Model weight path .* is invalid/,
    severity: 'error',
    cause: 'the model path does not exist on this node',
    hint: 'copy the weights to model.path (the same absolute path on every node); `ascendctl preflight DEPLOYMENT.yaml` checks every node',
  },
  {
    kind: 'file-permission',
    pattern: /Check path: .*failed|owner id diff|permission denied|permission (is )?(too|invalid|wrong)/i,
    severity: 'error',
    cause: 'config.json, the rank table or the weights have the wrong owner or mode, or are symlinks',
    hint: 'files must belong to the daemon\'s user with mode 640 (directories 750) and be real files, not links; redeploy, or set MINDIE_CHECK_INPUTFILES_PERMISSION=0 in env:',
  },
  {
    kind: 'tls-certificates',
    pattern: /tlsCert|tls_cert|(grpc|gRPC).{0,40}certificate/,
    severity: 'error',
    cause: 'a TLS switch of MindIE is on without certificates',
    hint: 'set httpsEnabled, interNodeTLSEnabled and interCommTLSEnabled to false under mindieConfig:, or install the certificates',
  },
  {
    kind: 'hccl-ports',
    // HCCL's own bind failure too (its range, not ports:): tried before the generic port rule below.
    pattern: /Recv unmatched ack|HCCL[^\n]*(?:bind|listen)[^\n]*(?:[Aa]ddress already in use|occupied)/,
    severity: 'error',
    cause: 'other software uses HCCL\'s ports (HCCL_IF_BASE_PORT and the 15 after it; 60000–60015 by default)',
    hint: 'set HCCL_IF_BASE_PORT under env: to a free range, or stop the other software',
  },
  {
    kind: 'port-occupied',
    pattern: /listen port is occupied|Socket bind failed|address already in use/i,
    severity: 'error',
    cause: 'another process already listens on one of the daemon\'s ports',
    hint: 'stop the leftover daemon (`ascendctl stop`) or the other service, or choose other ports: under ports:',
  },
  {
    kind: 'shm-leftover',
    pattern: /shared memory .*(File exists|still in use)|llm_tokenizer_shared_memory_.*exists|llm_backend_.*exists/i,
    severity: 'error',
    cause: 'an earlier daemon\'s shared-memory files are still in /dev/shm',
    hint: 'once no MindIE daemon runs on the node, delete /dev/shm/*llm_backend_* and /dev/shm/llm_tokenizer_shared_memory_* there (`ascendctl preflight DEPLOYMENT.yaml` lists them), then deploy again',
  },
  {
    kind: 'listen-address',
    pattern: /Failed to listen .*business ip and port|Failed to start http wrapper/i,
    severity: 'error',
    cause: 'ipAddress is not an address of this node',
    hint: 'use the node\'s own IP (not a docker-bridge address) as the listen address; `ascendctl render` shows what was configured',
  },
  {
    kind: 'endpoint-init',
    // Follow-on lines: MindIE prints these after the real cause (a bad device_ip, an HCCL timeout, …).
    pattern: /Failed to init endpoint!|\[start (endpoint|mindie server)\] \[fail\]|Failed to init infer backend manager/,
    severity: 'error',
    cause: 'the daemon failed to start',
    hint: 'the first error above this line (on this node or another) is the cause; `ascendctl logs --tail 200` shows more',
  },
  {
    kind: 'out-of-memory',
    pattern: /out of memory|need block/i,
    severity: 'error',
    cause: 'the NPU memory does not hold the weights and the KV cache (or another process holds part of it)',
    hint: 'look for leftover processes on the NPUs first (npu-smi info; `ascendctl preflight DEPLOYMENT.yaml` names them in its hbm check) and stop them; else raise npuMemoryFraction to 0.95–0.97, or lower maxSeqLen, maxInputTokenLen, maxPrefillTokens and maxBatchSize under mindieConfig:',
  },
  {
    kind: 'dp-per-node',
    pattern: /Invalid DP number per node/,
    severity: 'error',
    cause: 'the multi-node config has no data-parallel size',
    hint: 'set parallel.dataParallelSize and parallel.tensorParallelSize explicitly and deploy again',
  },
  {
    kind: 'tokenizer-cache-path',
    pattern: /IbisTokenizer' object has no attribute 'cache_path'/,
    severity: 'error',
    cause: 'a tokenizer bug of this image',
    hint: 'apply the patch from the DeepSeek-R1 README FAQ, or use a newer image',
  },
  {
    kind: 'python-dependencies',
    pattern: /pybind11::error_already_set|LLMPythonModel initializes fail/,
    severity: 'error',
    cause: 'the image\'s Python packages do not fit the model',
    hint: 'install the model\'s requirements file shipped with atb_llm (transformers, protobuf) into the image',
  },
  {
    kind: 'driver-mismatch',
    pattern: /Failed to infer device type|libatb\.so/,
    severity: 'error',
    cause: 'the host driver is too old for the image\'s CANN, or the set_env scripts were not sourced',
    hint: 'upgrade the driver (`ascendctl preflight` reports the version each node has and needs)',
  },
  {
    kind: 'visible-devices',
    pattern: /Set visible device failed|EE1001/,
    severity: 'error',
    cause: 'the container sees fewer NPUs than the config uses',
    hint: 'mount every device into the container in multi-node mode: /dev/davinci0–7 on an A2, /dev/davinci0–15 on an A3 (8 NPUs × 2 dies)',
  },
  {
    kind: 'vllm-rpc-timeout',
    pattern: /TimeoutError: RPC call .*timed out/,
    severity: 'error',
    cause: 'graph compilation took longer than vLLM\'s RPC timeout',
    hint: 'raise VLLM_RPC_TIMEOUT, VLLM_EXECUTE_MODEL_TIMEOUT_SECONDS and VLLM_ENGINE_READY_TIMEOUT_S under env:',
  },
  {
    kind: 'unicode-vocabulary',
    pattern: /UnicodeEncodeError.*'ascii' codec/,
    severity: 'info',
    cause: 'printing the DeepSeek vocabulary in an ASCII locale',
    hint: 'harmless; set LANG=C.UTF-8 under env: to silence it',
  },
];

/**
 * A rule's source, ASCII letters written as a class of both cases (`[eE][iI]0006`): it matches what the
 * source with the `i` flag matches, since without the `u` flag `i` folds no other character onto an
 * ASCII letter. Throws on what it cannot fold exactly (a letter inside a class, an escaped letter other than
 * a class escape or a control character, a named group): a rule like that must spell both cases itself.
 */
export function foldCase(source: string): string {
  return sourceTokens(source).map(({ text, at, inClass }) => {
    if (text[0] === '\\') {
      const next = text[1] ?? '';
      // Class escapes and control characters match the same either way; any other escaped letter would not fold.
      if (/[a-z]/i.test(next) && !'dDsSwWbBfnrtv'.includes(next)) {
        throw new Error(`known failures: cannot fold the case of \\${next} in /${source}/i`);
      }
      return text;
    }
    if (inClass) {
      if (/[a-z]/i.test(text)) throw new Error(`known failures: cannot fold the case of a letter in a class in /${source}/i`);
      return text;
    }
    if (text === '(' && source.startsWith('?<', at + 1) && !'=!'.includes(source[at + 3] ?? '')) {
      throw new Error(`known failures: cannot fold the case of a named group in /${source}/i`);
    }
    return /^[a-z]$/i.test(text) ? `[${text.toLowerCase()}${text.toUpperCase()}]` : text;
  }).join('');
}

interface SourceToken {
  text: string;
  /** Where the token starts in the source. */
  at: number;
  /** Inside `[…]`, the brackets included. */
  inClass: boolean;
}

/**
 * A pattern's source as foldCase and widenForBytes rewrite it: an escape (`\\s`) is one token, a bounded
 * repetition outside a class (`{0,40}`) is one, and any other character is one, each knowing whether it
 * stands inside a class, so the two agree on what a class is.
 */
function sourceTokens(source: string): SourceToken[] {
  const tokens: SourceToken[] = [];
  let inClass = false;
  for (let at = 0; at < source.length;) {
    const repetition = source[at] === '{' && !inClass ? /^\{\d+(,\d*)?\}/.exec(source.slice(at)) : null;
    const text = source[at] === '\\' ? source.slice(at, at + 2) : repetition ? repetition[0] : source[at]!;
    if (text === '[') inClass = true;
    tokens.push({ text, at, inClass });
    if (text === ']') inClass = false;
    at += text.length;
  }
  return tokens;
}

/**
 * Every rule's pattern in one case-sensitive alternation, the rules that ignore case folded (foldCase):
 * nearly every line of a daemon log matches no rule, and this tells so in one scan, about 40% cheaper
 * than one scan per flag set and several times cheaper than testing each rule (`logs` runs every
 * merged line through this). Only a line it matches goes through the rules in order.
 */
const ANY_RULE = new RegExp(RULES.map(({ pattern: p }) => {
  if (p.flags !== '' && p.flags !== 'i') throw new Error(`known failures: /${p.source}/${p.flags}: only the i flag is foldable`);
  return `(?:${p.flags === 'i' ? foldCase(p.source) : p.source})`;
}).join('|'));

/**
 * A pattern for text read as bytes (a binary string: a character per byte, see readLines) that matches
 * wherever the pattern matches the decoded text, and maybe in a few more places. The rules' patterns are
 * ASCII, and an ASCII character is the same byte either way; what differs is a non-ASCII character, which
 * is two to four characters in bytes: so a bounded repetition may take four times as many, and `\s`
 * (which matches Unicode spaces such as U+00A0) also any byte of a multi-byte character. Anything this
 * cannot widen faithfully is refused when the module loads, so a new rule cannot quietly be missed.
 */
export function widenForBytes(source: string): string {
  return sourceTokens(source).map(({ text, at, inClass }) => {
    if (/[^\x00-\x7f]/.test(text)) throw new Error(`known failures: /${source}/ has a non-ASCII character, which bytes do not match alike`);
    if (text[0] === '\\') {
      const next = text[1] ?? '';
      if ('SWDBbupPx'.includes(next) || /[0-9]/.test(next)) throw new Error(`known failures: cannot widen \\${next} in /${source}/ for bytes`);
      if (next !== 's') return text;
      if (inClass) throw new Error(`known failures: cannot widen \\s in a class in /${source}/ for bytes`);
      return '[\\s\\x80-\\xff]';
    }
    if (inClass || text[0] !== '{') return text;
    const m = /^\{(\d+)(,(\d*))?\}$/.exec(text);
    if (!m) throw new Error(`known failures: cannot read the repetition at ${at} in /${source}/`);
    const least = m[1]!;
    const most = m[2] === undefined ? Number(least) : m[3] === '' ? undefined : Number(m[3]);
    return most === undefined ? `{${least},}` : `{${least},${4 * most}}`;
  }).join('');
}

/** ANY_RULE for a batch of lines read as bytes: suspectLines runs it over the whole batch. */
const ANY_RULE_IN_BYTES = new RegExp(widenForBytes(ANY_RULE.source), 'g');

/**
 * The lines of `batch` (lines joined by newlines, as a binary string: see readLines; 0-based, ascending)
 * that classifyLogLine may find a failure on: one scan of the whole batch instead of one per line, so
 * `logs` decodes and classifies only these. A line a rule matches is always among them: the pattern
 * matches its bytes (widenForBytes); a match that starts on an earlier line and runs on marks that
 * earlier line, and the scan goes on from the next line. A line marked in error (a match across its
 * newline, or only in its bytes) is classified and found to be nothing.
 */
export function suspectLines(batch: string): number[] {
  const found: number[] = [];
  const search = ANY_RULE_IN_BYTES;
  search.lastIndex = 0;
  let line = 0;
  let lineStart = 0;
  for (;;) {
    const m = search.exec(batch);
    if (m === null) return found;
    let nl = batch.indexOf('\n', lineStart);
    while (nl !== -1 && nl < m.index) {
      line++;
      lineStart = nl + 1;
      nl = batch.indexOf('\n', lineStart);
    }
    found.push(line);
    if (nl === -1) return found;
    line++;
    lineStart = nl + 1;
    search.lastIndex = lineStart;
  }
}

/** The known failure a daemon log line shows, or undefined. */
export function classifyLogLine(line: string): LogFailure | undefined {
  if (!ANY_RULE.test(line)) return undefined;
  for (const rule of RULES) {
    if (rule.pattern.test(line)) {
      const { pattern: _pattern, ...failure } = rule;
      return failure;
    }
  }
  return undefined;
}

/** Every kind the classifier knows (for tests and documentation). */
export const FAILURE_KINDS: readonly FailureKind[] = RULES.map((r) => r.kind);
