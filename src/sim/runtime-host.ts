/**
 * The timing rules of the simulated container runtime and the servers it runs, and the small helpers they
 * share (addresses, fake ids; their pauses are latency.ts's). They use their SimNode directly.
 */
import type { LatencyProfile } from './types.js';

/**
 * `secondMs`: how long one simulated second lasts. Timeouts the real software counts in seconds
 * (HCCL_CONNECT_TIMEOUT, `docker stop -t`, MindIE's 15 s shutdown) run compressed under `fast` so tests stay
 * quick: 1 s → 10 ms (HCCL_CONNECT_TIMEOUT=120 → 1.2 s; the 15 s shutdown → 150 ms); under `hardware`
 * 1 s → 1 s (true to life, for the demo and the benchmarks).
 *
 * The latencies of the serving path. Hardware numbers: a 671B W8A8 model on 2 × A2 decodes at roughly
 * 20–40 tokens/s per request, a short prompt's prefill takes a few hundred ms; loading weights is
 * minutes on real hardware and is shortened to a few seconds here so that the demo stays watchable.
 */
export type ServingTimings = Record<'secondMs' | 'weightLoadMs' | 'prefillMs' | 'tokenMs' | 'pullLayerMs', number>;

export function servingTimings(profile: LatencyProfile): ServingTimings {
  return profile === 'fast'
    ? { secondMs: 10, weightLoadMs: 100, prefillMs: 2, tokenMs: 1, pullLayerMs: 3 }
    : { secondMs: 1000, weightLoadMs: 4000, prefillMs: 250, tokenMs: 35, pullLayerMs: 1200 };
}

/** 127.0.0.0/8: the only addresses the simulator ever binds. */
export function isLoopback(ip: string): boolean {
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(ip);
}

export function isIpv4(ip: string): boolean {
  const parts = ip.split('.');
  return parts.length === 4 && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255);
}

/** A stable 32-bit hash (FNV-1a) for deterministic fake ids and text. */
export function fnv1a(text: string, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** `n` hex digits derived from `text` (container ids, digests). */
export function hexId(text: string, n: number): string {
  let out = '';
  let i = 0;
  while (out.length < n) {
    out += fnv1a(`${text}#${i++}`).toString(16).padStart(8, '0');
  }
  return out.slice(0, n);
}
