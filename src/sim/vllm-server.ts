/**
 * The simulated vLLM-Ascend data-parallel launch (mindie-multinode.md §12.2): `vllm serve MODEL` on every node,
 * the head (no `--headless`) serves the OpenAI API, headless nodes join with `--data-parallel-start-rank`.
 * The head waits for start ranks that cover [0, data-parallel-size) exactly; when they do not add up it
 * waits forever and logs a gloo-style error (failure #29). `HCCL_IF_IP` must be the node's own address.
 */
import { firewallVerdict, hcclPortRange, networkOf } from './firewall.js';
import type { ContainerContext } from './runtime-container.js';
import type { ScriptResult } from './runtime-launch-script.js';
import { aborted, pause, servingTimings } from './runtime-host.js';
import { Gate, ListenError, answerChat, openListeners, parseJsonBody, pathOf, send, type Handler } from './runtime-http.js';
import { chatPrompt, generate } from './openai-stream.js';
import { FOREVER_MS, Rendezvous, sharedGroup } from './serving-record.js';

/** Flags that never take a value; any other flag takes the next word unless that is a flag too. */
const SWITCHES = new Set(['headless', 'enable-expert-parallel', 'trust-remote-code', 'enforce-eager']);

/** `vllm serve MODEL --flag value …` as argparse reads it: the model and the flags, or the usage error. */
function parseServe(argv: readonly string[]): { model: string; flags: Map<string, string> } | string {
  const words = argv[0]?.endsWith('vllm') ? argv.slice(1) : [...argv];
  if (words[0] !== 'serve') {
    return `vllm: error: argument subparser: invalid choice: '${words[0] ?? ''}' (choose from 'chat', 'complete', 'serve', 'bench')`;
  }
  const flags = new Map<string, string>();
  let model: string | undefined;
  for (let i = 1; i < words.length; i++) {
    const flag = /^--([^=]+)(?:=(.*))?$/.exec(words[i]!);
    const next = words[i + 1];
    if (!flag && model !== undefined) return `vllm: error: unrecognized arguments: ${words[i]!}`;
    if (!flag) model = words[i];
    else if (flag[2] !== undefined) flags.set(flag[1]!, flag[2]);
    else if (SWITCHES.has(flag[1]!) || next === undefined || next.startsWith('--')) flags.set(flag[1]!, '');
    else flags.set(flag[1]!, words[++i]!);
  }
  model ??= flags.get('model');
  return model === undefined ? 'vllm serve: error: the following arguments are required: model_tag' : { model, flags };
}

/** The DP group of one launch: the engine cores each node registered, whether the head serves or left. */
class DpGroup extends Rendezvous {
  readonly members: { node: string; startRank: number; local: number }[] = [];
  headUp = false;
  headGone = false;

  /** Whether the registered start ranks cover [0, size) exactly once. */
  coverage(size: number): 'complete' | 'incomplete' | 'conflict' {
    const ranks = this.members.flatMap((m) => Array.from({ length: m.local }, (_, i) => m.startRank + i));
    if (ranks.some((r) => r < 0 || r >= size) || new Set(ranks).size !== ranks.length) return 'conflict';
    return ranks.length === size ? 'complete' : 'incomplete';
  }
}

export async function runVllmServer(ctx: ContainerContext, script: ScriptResult, argv: readonly string[]): Promise<number> {
  const parsed = parseServe(argv);
  if (typeof parsed === 'string') {
    ctx.err(parsed);
    return 2;
  }
  const { model, flags } = parsed;
  const intFlag = (k: string, d: number): number => (/^\d+$/.test(flags.get(k) ?? '') ? Number(flags.get(k)) : d);
  const headless = flags.has('headless');
  const [dpSize, startRank] = [intFlag('data-parallel-size', 1), intFlag('data-parallel-start-rank', 0)];
  const dpLocal = intFlag('data-parallel-size-local', dpSize);
  const address = flags.get('data-parallel-address') ?? ctx.host.host;
  const rpcPort = flags.get('data-parallel-rpc-port') ?? '13345';
  const log = (level: 'INFO' | 'WARNING' | 'ERROR', source: string, message: string): void => {
    const p = (n: number): string => String(n).padStart(2, '0');
    const d = new Date();
    const time = `${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
    (level === 'ERROR' ? ctx.err : ctx.out)(`${level} ${time} [${source}] ${message}`);
  };

  log('INFO', 'api_server.py:1814', `vLLM API server version 0.13.0`);
  log('INFO', 'utils.py:328', `non-default args: {'model': '${model}', 'data_parallel_size': ${dpSize}, `
    + `'data_parallel_size_local': ${dpLocal}, 'data_parallel_start_rank': ${startRank}, `
    + `'headless': ${headless ? 'True' : 'False'}}`);
  const ifIp = script.env.HCCL_IF_IP;
  if (!ifIp) {
    log('WARNING', 'platform.py:142', 'HCCL_IF_IP is not set: HCCL picks an interface itself, '
      + 'which may not be routable between nodes');
  } else if (ifIp !== ctx.host.host) {
    log('ERROR', 'hccl', `HCCL_IF_IP ${ifIp} is not an address of this host: bind failed, Cannot assign requested address`);
    ctx.err(`RuntimeError: [ERROR] HCCL function error: HcclCommInitRootInfoConfig(...), error code is 7 (HCCL_IF_IP=${ifIp})`);
    return 1;
  }
  const weightCfg = `${model.replace(/\/$/, '')}/config.json`;
  if (!(await ctx.stat(weightCfg))?.isFile || ctx.host.faults().some((f) => f.kind === 'model-missing')) {
    ctx.err(`OSError: Can't load the configuration of '${model}'. `
      + 'It is neither a local folder with a config.json nor a valid model identifier.');
    return 1;
  }
  let modelType: unknown;
  try {
    modelType = (JSON.parse((await ctx.readFile(weightCfg)).toString()) as { model_type?: unknown }).model_type;
  } catch {
    modelType = undefined;
  }

  // ---- join the DP group ----------------------------------------------------------------------------------
  const group = sharedGroup(ctx.host.shared, `vllm-dp:${address}:${rpcPort}`, () => new DpGroup(),
    (g) => g.members.length === 0 && (g.headGone || g.headUp));
  const me = { node: ctx.host.name, startRank: headless ? startRank : 0, local: dpLocal };
  const stop = AbortSignal.any([ctx.term, ctx.kill]);
  let closeListeners: (() => Promise<void>) | undefined;
  const leave = async (code?: number): Promise<number> => {
    await closeListeners?.();
    closeListeners = undefined;
    if (group.members.includes(me)) group.members.splice(group.members.indexOf(me), 1);
    if (!headless) group.headGone = true;
    group.notify();
    return code ?? (ctx.kill.aborted ? 137 : 0);
  };
  ctx.kill.addEventListener('abort', () => void leave(), { once: true });

  // A headless node behind a firewall (the head's rpc port or the HCCL ports, either way) never joins:
  // the head waits for its ranks forever, as the real coordinator does.
  const network = networkOf(ctx.host.shared);
  const [head, self] = [network?.byAddress(address), network?.byAddress(ctx.host.host)];
  const hccl = hcclPortRange(script.env);
  const blocked = headless && head && self
    ? [Number(rpcPort), ...hccl].find((p) => firewallVerdict(head, self, p)) ?? hccl.find((p) => firewallVerdict(self, head, p))
    : undefined;
  if (blocked !== undefined) {
    log('ERROR', 'core.py:93', `gloo: connect to ${address}:${blocked} timed out, retrying`);
    await aborted(stop);
    return ctx.kill.aborted ? 137 : 0;
  }
  group.members.push(me);
  group.notify();
  const cores = `${me.startRank}..${me.startRank + me.local - 1} of ${dpSize}`;
  log('INFO', 'core.py:93', `Started DP engine cores ${cores} (coordinator ${address}:${rpcPort})`);

  if (headless) {
    log('INFO', 'api_server.py:1750', 'Launching headless engine cores: no API server on this node');
    await group.waitFor(() => group.headUp || group.headGone, FOREVER_MS, stop);
    if (group.headUp && !group.headGone) {
      log('INFO', 'core.py:180', 'Engine cores connected to the DP coordinator, serving');
      await group.waitFor(() => group.headGone, FOREVER_MS, stop);
    }
    if (stop.aborted) return leave();
    log('ERROR', 'core.py:711', `EngineCore failed: gloo connection to ${address}:${rpcPort} closed by peer (the head node exited)`);
    return leave(1);
  }

  // ---- head: wait for ranks that add up (forever otherwise, as the real coordinator does), load, serve ------
  let warned = false;
  const complete = (): boolean => {
    const state = group.coverage(dpSize);
    if (state === 'conflict' && !warned) {
      warned = true;
      const ranks = group.members.map((m) => `${m.node}:${m.startRank}+${m.local}`).join(', ');
      log('ERROR', 'gloo', `[../third_party/gloo/gloo/transport/tcp/pair.cc:446] Connect timeout [${address}]:${rpcPort}: `
        + `data parallel ranks do not add up (${ranks}; size ${dpSize}) — waiting for the remaining engine cores`);
    }
    return state === 'complete';
  };
  if (!(await group.waitFor(complete, FOREVER_MS, stop)) || stop.aborted) return leave();
  log('INFO', 'core.py:180', `All ${dpSize} data parallel engine cores are up`);
  const timings = servingTimings(ctx.host.profile);
  if (!(await pause(timings.weightLoadMs, stop))) return leave();
  log('INFO', 'model_runner.py:2010', `Loading model weights took ${(timings.weightLoadMs / 1000).toFixed(2)} s`);

  const hostFlag = flags.get('host') ?? '0.0.0.0';
  const port = intFlag('port', 8000);
  const bindIp = hostFlag === '0.0.0.0' || hostFlag === '::' ? ctx.host.host : hostFlag;
  const reasoning = modelType === 'deepseek_v3';
  const splitReasoning = reasoning && flags.get('reasoning-parser') === 'deepseek_r1';
  const maxModelLen = intFlag('max-model-len', 16384);
  const name = flags.get('served-model-name') ?? model;
  // max-num-seqs running at once, the rest queued.
  const gate = new Gate(256, 4096);
  let seq = 0;
  const handler: Handler = async (req, body, res) => {
    const path = pathOf(req);
    if (req.method === 'GET' && path === '/health') return send(res, 200, '');
    if (req.method === 'GET' && path === '/v1/models') {
      const created = Math.floor(Date.now() / 1000);
      const card = { id: name, object: 'model', created, owned_by: 'vllm', root: model, parent: null, max_model_len: maxModelLen };
      return send(res, 200, { object: 'list', data: [card] });
    }
    if (req.method !== 'POST' || path !== '/v1/chat/completions') return;
    const q = parseJsonBody(body);
    if (!q) return send(res, 400, { object: 'error', message: 'Invalid JSON body', type: 'BadRequestError', param: null, code: 400 });
    if (q.model !== name) {
      const message = `The model \`${String(q.model)}\` does not exist.`;
      return send(res, 404, { object: 'error', message, type: 'NotFoundError', param: null, code: 404 });
    }
    const release = (await gate.enter())!;
    try {
      const maxTokens = [q.max_tokens, q.max_completion_tokens].find((v): v is number => typeof v === 'number');
      const gen = generate(chatPrompt(q.messages), { maxTokens, serverCap: maxModelLen, reasoning, splitReasoning });
      await answerChat(res, q, { id: `chatcmpl-${++seq}`, created: Math.floor(Date.now() / 1000), model: name }, gen, 'vllm', timings, ctx.kill);
    } finally {
      release();
    }
  };
  try {
    closeListeners = await openListeners(ctx.host, `vllm (${ctx.spec.name})`, [{ ip: bindIp, port, handler }]);
  } catch (e) {
    if (!(e instanceof ListenError)) throw e;
    const [errno, what] = e.reason === 'occupied' ? [98, 'address already in use'] : [99, 'cannot assign requested address'];
    ctx.err(`OSError: [Errno ${errno}] error while attempting to bind on address ('${bindIp}', ${port}): ${what}`);
    return leave(1);
  }
  group.headUp = true;
  group.notify();
  log('INFO', 'api_server.py:1857', `Starting vLLM API server 0 on http://${hostFlag}:${port}`);
  for (const line of ['Started server process [1]', 'Waiting for application startup.', 'Application startup complete.']) {
    ctx.out(`INFO:     ${line}`);
  }

  // A headless node leaving breaks the DP group: the engine dies with it.
  await group.waitFor(() => group.coverage(dpSize) !== 'complete', FOREVER_MS, stop);
  if (stop.aborted) {
    ctx.out('INFO:     Shutting down');
    return leave();
  }
  log('ERROR', 'core_client.py:564', 'Engine core proc died unexpectedly: a data parallel rank exited, shutting down');
  return leave(1);
}
