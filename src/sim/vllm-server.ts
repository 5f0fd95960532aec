/**
 * The simulated vLLM-Ascend data-parallel launch (mindie-multinode.md §12.2): `vllm serve MODEL` on every node,
 * the head (no `--headless`) serves the OpenAI API, headless nodes join with `--data-parallel-start-rank`.
 * The head waits for start ranks that cover [0, data-parallel-size) exactly; when they do not add up it
 * waits forever and logs a gloo-style error (failure #29). `HCCL_IF_IP` must be the node's own address.
 */
import { firewallVerdict, hcclPortRange } from './firewall.js';
import type { Container } from './runtime-container.js';
import type { ScriptResult } from './runtime-launch-script.js';
import { delay as pause, untilAborted as aborted } from './latency.js';
import { servingTimings, type ServingTimings } from './runtime-host.js';
import { Gate, answerChat, openListeners, parseJsonBody, pathOf, send } from './runtime-http.js';
import type { Handler } from './runtime-http.js';
import { generate } from './openai-stream.js';
import { FOREVER_MS, Rendezvous, sharedGroup } from './serving-record.js';

/** Flags that never take a value; any other flag takes the next word unless that is a flag too. */
const SWITCHES = new Set(['headless', 'enable-expert-parallel', 'trust-remote-code', 'enforce-eager']);

/** `vllm serve MODEL --flag value …` as argparse reads it: the model and the flags, or the usage error. */
function parseServe(argv: readonly string[]): { model: string; flags: Map<string, string> } | string {
  const words = argv.slice(1);
  if (words[0] !== 'serve') {
    const choices = "(choose from 'chat', 'complete', 'serve', 'bench')";
    return `vllm: error: argument subparser: invalid choice: '${words[0] ?? ''}' ${choices}`;
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

/** `vllm serve …`, the command the launch script execs (or the container runs). */
export async function runVllmServer(ctx: Container, script: ScriptResult): Promise<number> {
  const parsed = parseServe(script.command!);
  if (typeof parsed === 'string') return ctx.fail(parsed, 2);
  return new VllmNode(ctx, script.env, parsed.model, parsed.flags).run();
}

/** One node of the launch: its checks, its part of the DP group, then headless engine cores or the head. */
class VllmNode {
  private readonly headless: boolean;
  private readonly dpSize: number;
  private readonly startRank: number;
  private readonly me: { node: string; startRank: number; local: number };
  private readonly address: string;
  private readonly rpcPort: string;
  private readonly group: DpGroup;
  private closeListeners: (() => Promise<void>) | undefined;

  constructor(
    private readonly ctx: Container,
    private readonly env: Record<string, string | undefined>,
    private readonly model: string,
    private readonly flags: Map<string, string>,
  ) {
    this.headless = flags.has('headless');
    this.dpSize = this.intFlag('data-parallel-size', 1);
    const local = this.intFlag('data-parallel-size-local', this.dpSize);
    this.startRank = this.intFlag('data-parallel-start-rank', 0);
    this.me = { node: ctx.host.name, startRank: this.headless ? this.startRank : 0, local };
    this.address = flags.get('data-parallel-address') ?? ctx.host.host;
    this.rpcPort = flags.get('data-parallel-rpc-port') ?? '13345';
    this.group = sharedGroup(ctx.host.shared, `vllm-dp:${this.address}:${this.rpcPort}`, () => new DpGroup(),
      (g) => g.members.length === 0 && (g.headGone || g.headUp));
  }

  private intFlag(key: string, dflt: number): number {
    const v = this.flags.get(key) ?? '';
    return /^\d+$/.test(v) ? Number(v) : dflt;
  }

  /** vLLM's log line, `INFO 11-28 07:30:00 [source] message` (local time); errors on stderr. */
  private log(level: 'INFO' | 'WARNING' | 'ERROR', source: string, message: string): void {
    const d = new Date();
    const day = `${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
    const time = `${day} ${d.toTimeString().slice(0, 8)}`;
    (level === 'ERROR' ? this.ctx.err : this.ctx.out)(`${level} ${time} [${source}] ${message}`);
  }

  async run(): Promise<number> {
    const { startRank, local } = this.me;
    const started = `${startRank}..${startRank + local - 1} of ${this.dpSize}`;
    this.log('INFO', 'api_server.py:1814', 'vLLM API server version 0.13.0');
    this.log('INFO', 'utils.py:328', `non-default args: {'model': '${this.model}', `
      + `'data_parallel_size': ${this.dpSize}, 'data_parallel_size_local': ${local}, `
      + `'data_parallel_start_rank': ${this.startRank}, 'headless': ${this.headless ? 'True' : 'False'}}`);
    const modelType = await this.checkNode();
    if (typeof modelType === 'number') return modelType;
    this.ctx.kill.addEventListener('abort', () => void this.leave(), { once: true });
    if (!(await this.join())) return this.ctx.kill.aborted ? 137 : 0;
    this.log('INFO', 'core.py:93', `Started DP engine cores ${started} (coordinator ${this.address}:${this.rpcPort})`);
    return this.headless ? this.runHeadless() : this.runHead(modelType === 'deepseek_v3');
  }

  /** HCCL_IF_IP must be this node's address, the weights a folder with a config.json: model_type, or the exit code. */
  private async checkNode(): Promise<string | number> {
    const ifIp = this.env.HCCL_IF_IP;
    if (!ifIp) {
      this.log('WARNING', 'platform.py:142', 'HCCL_IF_IP is not set: HCCL picks an interface itself, '
        + 'which may not be routable between nodes');
    } else if (ifIp !== this.ctx.host.host) {
      this.log('ERROR', 'hccl', `HCCL_IF_IP ${ifIp} is not an address of this host: `
        + 'bind failed, Cannot assign requested address');
      return this.ctx.fail('RuntimeError: [ERROR] HCCL function error: HcclCommInitRootInfoConfig(...), '
        + `error code is 7 (HCCL_IF_IP=${ifIp})`, 1);
    }
    const weightCfg = `${this.model.replace(/\/$/, '')}/config.json`;
    if (!(await this.ctx.stat(weightCfg))?.isFile || this.ctx.host.faults.some((f) => f.kind === 'model-missing')) {
      return this.ctx.fail(`OSError: Can't load the configuration of '${this.model}'. `
        + 'It is neither a local folder with a config.json nor a valid model identifier.', 1);
    }
    return String(parseJsonBody(await this.ctx.readFile(weightCfg))?.model_type);
  }

  /**
   * Register this node's engine cores. A headless node behind a firewall (the head's rpc port or the HCCL ports,
   * either way) never joins: it waits until stopped, and the head waits for its ranks forever, as the real
   * coordinator does. Resolves whether it joined.
   */
  private async join(): Promise<boolean> {
    const [head, self] = [this.ctx.host.cluster.byAddress(this.address), this.ctx.host];
    const hccl = hcclPortRange(this.env);
    const toHead = [Number(this.rpcPort), ...hccl].find((p) => head && firewallVerdict(head, self, p));
    const fromHead = hccl.find((p) => head && firewallVerdict(self, head, p));
    const blocked = this.headless ? toHead ?? fromHead : undefined;
    if (blocked !== undefined) {
      this.log('ERROR', 'core.py:93', `gloo: connect to ${this.address}:${blocked} timed out, retrying`);
      await aborted(this.ctx.stopped);
      return false;
    }
    this.group.members.push(this.me);
    this.group.notify();
    return true;
  }

  /** Leave the group (the head's leaving ends it), close the API; the exit code. */
  private async leave(code?: number): Promise<number> {
    await this.closeListeners?.();
    const members = this.group.members;
    if (members.includes(this.me)) members.splice(members.indexOf(this.me), 1);
    if (!this.headless) this.group.headGone = true;
    this.group.notify();
    return code ?? (this.ctx.kill.aborted ? 137 : 0);
  }

  /** Headless engine cores: serve while the head does, fail when it exits. */
  private async runHeadless(): Promise<number> {
    const g = this.group;
    this.log('INFO', 'api_server.py:1750', 'Launching headless engine cores: no API server on this node');
    await g.waitFor(() => g.headUp || g.headGone, FOREVER_MS, this.ctx.stopped);
    if (g.headUp && !g.headGone) {
      this.log('INFO', 'core.py:180', 'Engine cores connected to the DP coordinator, serving');
      await g.waitFor(() => g.headGone, FOREVER_MS, this.ctx.stopped);
    }
    if (this.ctx.stopped.aborted) return this.leave();
    this.log('ERROR', 'core.py:711', `EngineCore failed: gloo connection to ${this.address}:${this.rpcPort} `
      + 'closed by peer (the head node exited)');
    return this.leave(1);
  }

  /**
   * The head: wait for ranks that add up (forever otherwise, as the real coordinator does), load the weights,
   * serve the API until stopped or until a headless node leaves (the engine dies with it).
   */
  private async runHead(reasoning: boolean): Promise<number> {
    const g = this.group;
    let warned = false;
    const complete = (): boolean => {
      const state = g.coverage(this.dpSize);
      if (state === 'conflict' && !warned) {
        warned = true;
        const ranks = g.members.map((m) => `${m.node}:${m.startRank}+${m.local}`).join(', ');
        this.log('ERROR', 'gloo', '[../third_party/gloo/gloo/transport/tcp/pair.cc:446] '
          + `Connect timeout [${this.address}]:${this.rpcPort}: data parallel ranks do not add up `
          + `(${ranks}; size ${this.dpSize}) — waiting for the remaining engine cores`);
      }
      return state === 'complete';
    };
    if (!(await g.waitFor(complete, FOREVER_MS, this.ctx.stopped)) || this.ctx.stopped.aborted) return this.leave();
    this.log('INFO', 'core.py:180', `All ${this.dpSize} data parallel engine cores are up`);
    const timings = servingTimings(this.ctx.host.profile);
    if (!(await pause(timings.weightLoadMs, this.ctx.stopped))) return this.leave();
    const took = (timings.weightLoadMs / 1000).toFixed(2);
    this.log('INFO', 'model_runner.py:2010', `Loading model weights took ${took} s`);

    const hostFlag = this.flags.get('host') ?? '0.0.0.0';
    const port = this.intFlag('port', 8000);
    const ip = hostFlag === '0.0.0.0' || hostFlag === '::' ? this.ctx.host.host : hostFlag;
    const handler = this.api(reasoning, timings);
    const opened = await openListeners(this.ctx.host, `vllm (${this.ctx.spec.name})`, [{ ip, port, handler }]);
    if (typeof opened !== 'function') {
      const occupied = opened.reason === 'occupied';
      const [errno, what] = occupied ? [98, 'address already in use'] : [99, 'cannot assign requested address'];
      this.ctx.err(`OSError: [Errno ${errno}] error while attempting to bind on address ('${ip}', ${port}): ${what}`);
      return this.leave(1);
    }
    this.closeListeners = opened;
    g.headUp = true;
    g.notify();
    this.log('INFO', 'api_server.py:1857', `Starting vLLM API server 0 on http://${hostFlag}:${port}`);
    const startup = ['Started server process [1]', 'Waiting for application startup.', 'Application startup complete.'];
    for (const line of startup) this.ctx.out(`INFO:     ${line}`);
    await g.waitFor(() => g.coverage(this.dpSize) !== 'complete', FOREVER_MS, this.ctx.stopped);
    if (this.ctx.stopped.aborted) {
      this.ctx.out('INFO:     Shutting down');
      return this.leave();
    }
    const why = 'Engine core proc died unexpectedly: a data parallel rank exited, shutting down';
    this.log('ERROR', 'core_client.py:564', why);
    return this.leave(1);
  }

  /** The OpenAI API of the head: /health, /v1/models and chat completions, as vLLM answers them. */
  private api(reasoning: boolean, timings: ServingTimings): Handler {
    const name = this.flags.get('served-model-name') ?? this.model;
    const maxModelLen = this.intFlag('max-model-len', 16384);
    const splitReasoning = reasoning && this.flags.get('reasoning-parser') === 'deepseek_r1';
    // max-num-seqs running at once; vLLM's scheduler queues the rest without a limit.
    const gate = new Gate(256, Number.POSITIVE_INFINITY);
    const server = { model: name, framing: 'vllm' as const, timings, kill: this.ctx.kill };
    let seq = 0;
    return async (req, body, res) => {
      const path = pathOf(req);
      if (req.method === 'GET' && path === '/health') return send(res, 200, '');
      if (req.method === 'GET' && path === '/v1/models') {
        const created = Math.floor(Date.now() / 1000);
        const card = { id: name, object: 'model', created, owned_by: 'vllm', root: this.model };
        return send(res, 200, { object: 'list', data: [{ ...card, parent: null, max_model_len: maxModelLen }] });
      }
      if (req.method !== 'POST' || path !== '/v1/chat/completions') return;
      const q = parseJsonBody(body);
      const error = (code: number, message: string, type: string): void =>
        send(res, code, { object: 'error', message, type, param: null, code });
      if (!q) return error(400, 'Invalid JSON body', 'BadRequestError');
      if (q.model !== name) return error(404, `The model \`${String(q.model)}\` does not exist.`, 'NotFoundError');
      await gate.run(async () => {
        const maxTokens = [q.max_tokens, q.max_completion_tokens].find((v): v is number => typeof v === 'number');
        const gen = generate(q.messages, { maxTokens, serverCap: maxModelLen, reasoning, splitReasoning });
        await answerChat(res, q, gen, { ...server, id: `chatcmpl-${++seq}` });
      });
    };
  }
}
