/**
 * How long simulated calls take. Latency is wall-clock time spent in timers, never CPU.
 *
 * Milliseconds per call, [hardware, fast]. `hardware` approximates an Atlas 800T A2 (8 × 910B3, driver
 * 25.x) as far as public reports and the tool design allow: none is a measured constant, each is chosen
 * for the reason beside it. `fast` keeps every call within 0–3 ms so that tests and the demo stay quick
 * but still interleave.
 */
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LatencyProfile } from './types.js';

const TABLE = {
  // One DSMI round trip over the device management channel.
  'hccn.link': [25, 1], 'hccn.ip': [30, 1], 'hccn.gateway': [25, 1], 'hccn.netdetect': [25, 1],
  // One round trip plus certificate records; the device reads its netdetect state machine.
  'hccn.tls': [40, 1], 'hccn.net_health': [40, 1],
  // The NPU renders the lldptool text of its neighbour table.
  'hccn.lldp': [120, 2],
  // Register reads; optical goes through the module's I2C bus.
  'hccn.link_stat': [30, 1], 'hccn.optical': [60, 1],
  // `-tls -s enable 0|1`: the switch is written to the device and to /etc/hccn.conf.
  'hccn.tls_set': [150, 2],
  // Ping: the request is handed to the NPU and the reply printed at once; per answered probe a RoCE
  // round trip inside one leaf switch (captures: 0.03–1.4 ms); per lost probe the NPU waits a second.
  'hccn.ping_overhead': [250, 2], 'hccn.ping_probe': [1, 0], 'hccn.ping_lost': [1000, 1],
  // Busy answers and usage errors: the tool fails fast before or at opening the channel.
  'hccn.fail_fast': [5, 0],
  // `info`: DCMI queries every device for power, temperature, memory; `-t spod-info`, `-m`: one device; `-v`: none.
  'npusmi.info': [700, 3], 'npusmi.spod': [150, 1], 'npusmi.list': [100, 1],
  'npusmi.version': [30, 0],
  // A hung hccn_tool keeps the device channel after its caller went away: a real `timeout` kills the
  // process, but the driver request it left behind is only reaped later.
  hangLockHold: [30_000, 2_000],
} as const satisfies Record<string, readonly [number, number]>;

export type LatencyKey = keyof typeof TABLE;

/** Milliseconds for one call; hardware values vary ±10 % like real round trips, fast ones do not. */
export function latencyMs(profile: LatencyProfile, key: LatencyKey): number {
  const base = TABLE[key][profile === 'hardware' ? 0 : 1];
  if (profile === 'fast' || key === 'hangLockHold') return base;
  return base * (0.9 + Math.random() * 0.2);
}

/** Sleep on a timer; resolves true when the time passed, false as soon as `signal` aborts. */
export function delay(ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  if (ms <= 0) return Promise.resolve(true);
  return sleep(ms, true, { signal }).catch(() => false);
}

/**
 * A controller that aborts when any of `signals` does, and `release` to detach it once its work is done.
 * Listeners rather than AbortSignal.any: on a long-lived signal (the cluster's stop) any() keeps a record
 * per call for as long as that signal lives, and the simulator makes thousands of calls per run.
 */
export function linkedAbort(signals: readonly AbortSignal[]): { controller: AbortController; release(): void } {
  const controller = new AbortController();
  const abort = (): void => controller.abort();
  for (const s of signals) s.addEventListener('abort', abort, { once: true });
  if (signals.some((s) => s.aborted)) controller.abort();
  return { controller, release: () => { for (const s of signals) s.removeEventListener('abort', abort); } };
}

/** Resolve when `signal` aborts (a hung device call). */
export async function untilAborted(signal: AbortSignal): Promise<void> {
  if (!signal.aborted) await once(signal, 'abort');
}
