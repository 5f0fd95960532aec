/**
 * Readiness as mindie-multinode.md §8 says it can be proven: `Daemon start success!` in the master log
 * is not enough and `/v1/models` proves nothing (it stays 404 in distributed mode). Poll the management
 * `/health` until 200, then send a real one-token chat request; only its answer (as `content` or
 * `reasoning_content`) means ready.
 */
import { request } from 'undici';
import { httpRoute, type HttpRoute, type TcpOpener } from '../remote/http-tunnel.js';

export type ProbeResult =
  | { ready: true; sample: string }
  | { ready: false; stage: 'connect' | 'health' | 'infer'; detail: string; fatal?: boolean };

export interface ProbeTarget {
  /** http://<master>:<http port> */
  endpoint: string;
  /** http://<master>:<management port> (MindIE); undefined for vLLM, whose /health is on the API port. */
  managementEndpoint?: string;
  model: string;
}

export async function probeOnce(target: ProbeTarget, signal?: AbortSignal): Promise<ProbeResult> {
  const healthUrl = `${target.managementEndpoint ?? target.endpoint}/health`;
  try {
    const h = await request(healthUrl, { method: 'GET', headersTimeout: 5_000, bodyTimeout: 5_000, ...(signal ? { signal } : {}) });
    const body = await h.body.text();
    if (h.statusCode !== 200) return { ready: false, stage: 'health', detail: `GET /health answered ${h.statusCode}${body ? `: ${body.slice(0, 200)}` : ''}` };
  } catch (err) {
    return { ready: false, stage: 'connect', detail: (err as Error).message };
  }
  try {
    const r = await request(`${target.endpoint}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: target.model, messages: [{ role: 'user', content: 'ping' }], max_tokens: 1, stream: false }),
      headersTimeout: 120_000,
      bodyTimeout: 120_000,
      ...(signal ? { signal } : {}),
    });
    const text = await r.body.text();
    if (r.statusCode !== 200) {
      const fatal = /model not found/i.test(text);
      return { ready: false, stage: 'infer', detail: `one-token request answered ${r.statusCode}: ${text.slice(0, 300)}`, fatal };
    }
    const json = JSON.parse(text) as { choices?: { message?: { content?: string | null; reasoning_content?: string | null } }[] };
    const msg = json.choices?.[0]?.message;
    const sample = msg?.content || msg?.reasoning_content;
    if (typeof sample === 'string' && sample.length > 0) return { ready: true, sample };
    return { ready: false, stage: 'infer', detail: 'one-token request answered with no content and no reasoning_content' };
  } catch (err) {
    return { ready: false, stage: 'infer', detail: (err as Error).message };
  }
}

/** A probe target as reached from here: through the master's SSH connection when it sits behind a jump host. */
export interface RoutedProbe {
  target: ProbeTarget;
  route: HttpRoute;
  /** A probe's detail, with what the SSH tunnel saw when it could not open a connection. */
  explain(detail: string): string;
}

export async function routeProbe(master: TcpOpener, target: ProbeTarget): Promise<RoutedProbe> {
  const route = await httpRoute(master, [target.endpoint, ...(target.managementEndpoint ? [target.managementEndpoint] : [])]);
  return {
    target: {
      ...target,
      endpoint: route.url(target.endpoint),
      ...(target.managementEndpoint ? { managementEndpoint: route.url(target.managementEndpoint) } : {}),
    },
    route,
    explain: (detail) => {
      const tunnel = route.lastError();
      return tunnel ? `${detail}; the SSH tunnel said: ${tunnel.message}` : detail;
    },
  };
}

/**
 * The wait before the next readiness probe once one found the endpoint not ready. The ready line is
 * meant to follow the endpoint's first answer within 50 ms (`npm run bench` measures it, BENCHMARKS.md),
 * and the moment the daemon starts listening cannot be predicted (weights load for minutes),
 * so the probe looks again every 25 ms: while the daemon is not listening a look is one refused local
 * connect, and until /health turns 200 one small GET on a kept-alive connection — well under a
 * millisecond of work on either side. Through an SSH tunnel each look opens a channel on the master's
 * connection (a round trip to it, and a line in sshd's log when refused): there every 100 ms.
 */
export function probeDelayMs(tunnelled: boolean): number {
  return tunnelled ? TUNNELLED_PROBE_MS : DIRECT_PROBE_MS;
}

export const DIRECT_PROBE_MS = 25;
export const TUNNELLED_PROBE_MS = 100;
