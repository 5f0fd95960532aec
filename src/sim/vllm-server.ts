/**
 * The simulated vLLM-Ascend data-parallel launch (mindie-multinode.md §12.2): `vllm serve MODEL` on every node,
 * the head (no `--headless`) serves the OpenAI API, headless nodes join with `--data-parallel-start-rank`.
 * The head waits for start ranks that cover [0, data-parallel-size) exactly; when they do not add up it
 * waits forever and logs a gloo-style error (failure #29). `HCCL_IF_IP` must be the node's own address.
 */
import { firewallVerdict, hcclPortRange, networkOf } from './firewall.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ContainerContext } from './runtime-container.js';
import type { ScriptResult } from './runtime-launch-script.js';
import { aborted, pause, servingTimings } from './runtime-host.js';
import { Gate, ListenError, openListeners, parseJsonBody, requestSignal, sendJson, sendText, streamSse, type OpenListeners } from './runtime-http.js';
import { chatCompletionBody, chatPrompt, completionBody, generate, vllmChatChunks, type ChunkContext } from './openai-stream.js';

const BOOL_FLAGS = new Set(['headless', 'enable-expert-parallel', 'trust-remote-code', 'enforce-eager', 'disable-log-requests', 'disable-log-stats', 'enable-prefix-caching', 'no-enable-prefix-caching']);

export interface VllmArgs {
  model: string;
  flags: Map<string, string[]>;
  bools: Set<string>;
}

export function parseVllmArgs(argv: readonly string[]): VllmArgs | string {
  const words = argv[0]?.endsWith('vllm') ? argv.slice(1) : [...argv];
  if (words[0] !== 'serve') return `vllm: error: argument subparser: invalid choice: '${words[0] ?? ''}' (choose from 'chat', 'complete', 'serve', 'bench')`;
  const flags = new Map<string, string[]>();
  const bools = new Set<string>();
  let model: string | undefined;
  for (let i = 1; i < words.length; i++) {
    const w = words[i]!;
    if (!w.startsWith('--')) {
      if (model === undefined) model = w;
      continue;
    }
    const eq = w.indexOf('=');
    const key = eq >= 0 ? w.slice(2, eq) : w.slice(2);
    if (BOOL_FLAGS.has(key) && eq < 0) {
      bools.add(key);
      continue;
    }
    let value: string | undefined = eq >= 0 ? w.slice(eq + 1) : words[i + 1];
    if (eq < 0) {
      if (value === undefined || value.startsWith('--')) {
        bools.add(key);
        continue;
      }
      i++;
    }
    const list = flags.get(key) ?? [];
    list.push(value!);
    flags.set(key, list);
    if (key === 'served-model-name') {
      while (words[i + 1] !== undefined && !words[i + 1]!.startsWith('--')) list.push(words[++i]!);
    }
  }
  if (model === undefined) model = flags.get('model')?.[0];
  if (model === undefined) return 'vllm serve: error: the following arguments are required: model_tag';
  return { model, flags, bools };
}

function vllmLogLine(level: string, source: string, message: string): string {
  const d = new Date();
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${level} ${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())} [${source}] ${message}`;
}

interface DpMember {
  node: string;
  startRank: number;
  local: number;
}

export class DpGroup {
  readonly members: DpMember[] = [];
  headUp = false;
  headGone = false;
  private readonly listeners = new Set<() => void>();

  notify(): void {
    for (const l of [...this.listeners]) l();
  }

  onChange(cb: () => void): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }
}

function dpGroup(shared: Map<string, unknown>, address: string, port: string): DpGroup {
  const key = `vllm-dp:${address}:${port}`;
  let g = shared.get(key) as DpGroup | undefined;
  if (!g || (g.members.length === 0 && (g.headGone || g.headUp))) {
    g = new DpGroup();
    shared.set(key, g);
  }
  return g;
}

/** Whether the registered start ranks cover [0, size) exactly once. */
function coverage(members: DpMember[], size: number): 'complete' | 'incomplete' | 'conflict' {
  const seen = new Array<number>(size).fill(0);
  for (const m of members) {
    for (let r = m.startRank; r < m.startRank + m.local; r++) {
      if (r < 0 || r >= size) return 'conflict';
      seen[r]!++;
    }
  }
  if (seen.some((n) => n > 1)) return 'conflict';
  return seen.every((n) => n === 1) ? 'complete' : 'incomplete';
}

export async function runVllmServer(ctx: ContainerContext, script: ScriptResult, argv: readonly string[]): Promise<number> {
  const env = script.env;
  const timings = servingTimings(ctx.host.profile);
  const log = (level: 'INFO' | 'WARNING' | 'ERROR', source: string, message: string): void =>
    (level === 'ERROR' ? ctx.err : ctx.out)(vllmLogLine(level, source, message));
  const parsed = parseVllmArgs(argv);
  if (typeof parsed === 'string') {
    ctx.err(parsed);
    return 2;
  }
  const flag = (k: string): string | undefined => parsed.flags.get(k)?.[0];
  const intFlag = (k: string, d: number): number => {
    const v = flag(k);
    return v !== undefined && /^\d+$/.test(v) ? Number(v) : d;
  };
  const headless = parsed.bools.has('headless');
  const dpSize = intFlag('data-parallel-size', 1);
  const dpLocal = intFlag('data-parallel-size-local', dpSize);
  const startRank = intFlag('data-parallel-start-rank', 0);
  const address = flag('data-parallel-address') ?? ctx.host.host;
  const rpcPort = flag('data-parallel-rpc-port') ?? '13345';
  const port = intFlag('port', 8000);
  const hostFlag = flag('host') ?? '0.0.0.0';
  const served = parsed.flags.get('served-model-name') ?? [parsed.model];
  const maxModelLen = intFlag('max-model-len', 16384);
  const reasoningSplit = flag('reasoning-parser') === 'deepseek_r1';

  log('INFO', 'api_server.py:1814', `vLLM API server version 0.13.0`);
  log('INFO', 'utils.py:328', `non-default args: {'model': '${parsed.model}', 'data_parallel_size': ${dpSize}, 'data_parallel_size_local': ${dpLocal}, 'data_parallel_start_rank': ${startRank}, 'headless': ${headless ? 'True' : 'False'}}`);

  const ifIp = env.HCCL_IF_IP;
  if (ifIp === undefined || ifIp === '') {
    log('WARNING', 'platform.py:142', 'HCCL_IF_IP is not set: HCCL picks an interface itself, which may not be routable between nodes');
  } else if (ifIp !== ctx.host.host) {
    log('ERROR', 'hccl', `HCCL_IF_IP ${ifIp} is not an address of this host: bind failed, Cannot assign requested address`);
    ctx.err(`RuntimeError: [ERROR] HCCL function error: HcclCommInitRootInfoConfig(...), error code is 7 (HCCL_IF_IP=${ifIp})`);
    return 1;
  }

  const weights = await ctx.stat(parsed.model);
  const weightCfg = weights?.isDirectory ? await ctx.stat(`${parsed.model.replace(/\/$/, '')}/config.json`) : undefined;
  if (!weightCfg?.isFile || ctx.host.faults().some((f) => f.kind === 'model-missing')) {
    ctx.err(`OSError: Can't load the configuration of '${parsed.model}'. It is neither a local folder with a config.json nor a valid model identifier.`);
    return 1;
  }
  let modelType = '';
  try {
    modelType = String((JSON.parse((await ctx.readFile(`${parsed.model.replace(/\/$/, '')}/config.json`)).toString()) as { model_type?: unknown }).model_type ?? '');
  } catch {
    modelType = '';
  }

  const group = dpGroup(ctx.host.shared, address, rpcPort);
  const me: DpMember = { node: ctx.host.name, startRank: headless ? startRank : 0, local: dpLocal };
  const stop = AbortSignal.any([ctx.term, ctx.kill]);
  let listeners: OpenListeners | undefined;
  const leave = async (): Promise<void> => {
    await listeners?.close();
    listeners = undefined;
    const i = group.members.indexOf(me);
    if (i >= 0) group.members.splice(i, 1);
    if (!headless) group.headGone = true;
    group.notify();
  };
  ctx.kill.addEventListener('abort', () => void leave(), { once: true });

  // A headless node behind a firewall (the head's rpc port or the HCCL ports, either way) never joins:
  // the head waits for its ranks forever, as the real coordinator does.
  if (headless) {
    const network = networkOf(ctx.host.shared);
    const head = network?.byAddress(address);
    const self = network?.byAddress(ctx.host.host);
    const hccl = hcclPortRange(env);
    const blocked = head && self ? [rpcPort, ...hccl].find((p) => firewallVerdict(head, self, Number(p))) ?? hccl.find((p) => firewallVerdict(self, head, p)) : undefined;
    if (blocked !== undefined) {
      log('ERROR', 'core.py:93', `gloo: connect to ${address}:${blocked} timed out, retrying`);
      await Promise.race([aborted(ctx.term), aborted(ctx.kill)]);
      return ctx.kill.aborted ? 137 : 0;
    }
  }
  group.members.push(me);
  group.notify();
  log('INFO', 'core.py:93', `Started DP engine cores ${me.startRank}..${me.startRank + me.local - 1} of ${dpSize} (coordinator ${address}:${rpcPort})`);

  if (headless) {
    log('INFO', 'api_server.py:1750', 'Launching headless engine cores: no API server on this node');
    let reported = false;
    const wake = new AbortController();
    const off = group.onChange(() => wake.abort());
    try {
      for (;;) {
        if (group.headGone) {
          log('ERROR', 'core.py:711', `EngineCore failed: gloo connection to ${address}:${rpcPort} closed by peer (the head node exited)`);
          await leave();
          return 1;
        }
        if (group.headUp && !reported) {
          log('INFO', 'core.py:180', 'Engine cores connected to the DP coordinator, serving');
          reported = true;
        }
        const w = new AbortController();
        const offInner = group.onChange(() => w.abort());
        await Promise.race([aborted(w.signal), aborted(stop)]);
        offInner();
        if (stop.aborted) break;
      }
    } finally {
      off();
    }
    await leave();
    return ctx.kill.aborted ? 137 : 0;
  }

  // Head: wait for ranks that add up; forever otherwise, as the real coordinator does.
  let warned = false;
  for (;;) {
    const state = coverage(group.members, dpSize);
    if (state === 'complete') break;
    if (state === 'conflict' && !warned) {
      warned = true;
      const ranks = group.members.map((m) => `${m.node}:${m.startRank}+${m.local}`).join(', ');
      log('ERROR', 'gloo', `[../third_party/gloo/gloo/transport/tcp/pair.cc:446] Connect timeout [${address}]:${rpcPort}: data parallel ranks do not add up (${ranks}; size ${dpSize}) — waiting for the remaining engine cores`);
    }
    const w = new AbortController();
    const off = group.onChange(() => w.abort());
    await Promise.race([aborted(w.signal), aborted(stop)]);
    off();
    if (stop.aborted) {
      await leave();
      return ctx.kill.aborted ? 137 : 0;
    }
  }
  log('INFO', 'core.py:180', `All ${dpSize} data parallel engine cores are up`);
  if (!(await pause(timings.weightLoadMs, stop))) {
    await leave();
    return ctx.kill.aborted ? 137 : 0;
  }
  log('INFO', 'model_runner.py:2010', `Loading model weights took ${(timings.weightLoadMs / 1000).toFixed(2)} s`);

  const bindIp = hostFlag === '0.0.0.0' || hostFlag === '::' ? ctx.host.host : hostFlag;
  const api = new VllmApi(served, parsed.model, maxModelLen, modelType === 'deepseek_v3', reasoningSplit, timings, ctx.kill);
  try {
    listeners = await openListeners(ctx.host, `vllm (${ctx.spec.name})`, [{ ip: bindIp, port, handler: (q, b, r) => api.handle(q, b, r) }]);
  } catch (e) {
    if (!(e instanceof ListenError)) throw e;
    ctx.err(e.reason === 'occupied'
      ? `OSError: [Errno 98] error while attempting to bind on address ('${bindIp}', ${port}): address already in use`
      : `OSError: [Errno 99] error while attempting to bind on address ('${bindIp}', ${port}): cannot assign requested address`);
    await leave();
    return 1;
  }
  group.headUp = true;
  group.notify();
  log('INFO', 'api_server.py:1857', `Starting vLLM API server 0 on http://${hostFlag}:${port}`);
  ctx.out('INFO:     Started server process [1]');
  ctx.out('INFO:     Waiting for application startup.');
  ctx.out('INFO:     Application startup complete.');

  // A headless node leaving breaks the DP group: the engine dies with it.
  const lost = new AbortController();
  const off = group.onChange(() => {
    if (coverage(group.members, dpSize) !== 'complete') lost.abort();
  });
  await Promise.race([aborted(lost.signal), aborted(stop)]);
  off();
  if (!stop.aborted) {
    log('ERROR', 'core_client.py:564', 'Engine core proc died unexpectedly: a data parallel rank exited, shutting down');
    await leave();
    return 1;
  }
  ctx.out('INFO:     Shutting down');
  await leave();
  return ctx.kill.aborted ? 137 : 0;
}

class VllmApi {
  private readonly gate = new Gate(256, 4096);
  private seq = 0;

  constructor(
    private readonly names: string[],
    private readonly root: string,
    private readonly maxModelLen: number,
    private readonly reasoningModel: boolean,
    private readonly reasoningSplit: boolean,
    private readonly timings: ReturnType<typeof servingTimings>,
    private readonly kill: AbortSignal,
  ) {}

  async handle(req: IncomingMessage, body: Buffer, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0]!;
    if (req.method === 'GET' && path === '/health') return sendText(res, 200, '');
    if (req.method === 'GET' && path === '/version') return sendJson(res, 200, { version: '0.13.0' });
    if (req.method === 'GET' && path === '/v1/models') {
      return sendJson(res, 200, {
        object: 'list',
        data: this.names.map((id) => ({ id, object: 'model', created: Math.floor(Date.now() / 1000), owned_by: 'vllm', root: this.root, parent: null, max_model_len: this.maxModelLen })),
      });
    }
    if (req.method === 'GET' && path === '/metrics') return sendText(res, 200, `# TYPE vllm:num_requests_running gauge\nvllm:num_requests_running{model_name="${this.names[0]}"} ${this.gate.active}\n`);
    if (req.method !== 'POST' || (path !== '/v1/chat/completions' && path !== '/v1/completions')) return;
    const chat = path === '/v1/chat/completions';
    const q = parseJsonBody(body);
    if (!q) return sendJson(res, 400, { object: 'error', message: 'Invalid JSON body', type: 'BadRequestError', param: null, code: 400 });
    if (typeof q.model !== 'string' || !this.names.includes(q.model)) {
      return sendJson(res, 404, { object: 'error', message: `The model \`${String(q.model)}\` does not exist.`, type: 'NotFoundError', param: null, code: 404 });
    }
    const release = (await this.gate.enter())!;
    try {
      const prompt = chat ? chatPrompt(q.messages) : typeof q.prompt === 'string' ? q.prompt : '';
      const maxTokens = typeof q.max_tokens === 'number' ? q.max_tokens : typeof q.max_completion_tokens === 'number' ? q.max_completion_tokens : undefined;
      const gen = generate(prompt, { maxTokens, serverCap: this.maxModelLen, reasoning: this.reasoningModel, splitReasoning: this.reasoningModel && this.reasoningSplit });
      const cctx: ChunkContext = { id: `chatcmpl-${++this.seq}`, created: Math.floor(Date.now() / 1000), model: q.model };
      const signal = requestSignal(res, this.kill);
      if (q.stream === true) {
        const includeUsage = (q.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true;
        const chunks = chat
          ? vllmChatChunks(cctx, gen, includeUsage)
          : gen.tokens.map((t, i) => ({ id: cctx.id, object: 'text_completion', created: cctx.created, model: cctx.model, choices: [{ index: 0, text: t.text, logprobs: null, finish_reason: i === gen.tokens.length - 1 ? gen.finishReason : null }] }));
        await streamSse(res, chunks, this.timings.prefillMs, this.timings.tokenMs, signal);
      } else {
        await pause(this.timings.prefillMs + this.timings.tokenMs * gen.tokens.length, signal);
        if (signal.aborted) return void res.destroy();
        sendJson(res, 200, chat ? chatCompletionBody(cctx, gen) : completionBody(cctx, gen));
      }
    } finally {
      release();
    }
  }
}
