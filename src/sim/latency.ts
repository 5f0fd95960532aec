/**
 * How long simulated calls take. Latency is wall-clock time spent in timers, never CPU.
 *
 * `hardware` numbers (ms) approximate an Atlas 800T A2 (8 × 910B3, driver 25.x) as far as public
 * reports and the tool design allow; none is a measured constant, each is chosen for a reason:
 *
 * | call                                   | ms    | why                                                            |
 * |----------------------------------------|-------|----------------------------------------------------------------|
 * | hccn_tool -link/-ip/-gateway/-netdetect| 25–35 | one DSMI round trip over the device management channel         |
 * | hccn_tool -tls -g                      | 40    | one round trip plus certificate records                        |
 * | hccn_tool -net_health -g               | 40    | the device reads its netdetect state machine                   |
 * | hccn_tool -lldp -g                     | 120   | the NPU renders the lldptool text of its neighbour table       |
 * | hccn_tool -link_stat/-fec/-optical -g  | 30–60 | register reads; optical goes through the module's I2C bus      |
 * | hccn_tool -ping (per answered probe)   | ~1    | RoCE round trip inside one leaf switch (captures: 0.03–1.4 ms) |
 * | hccn_tool -ping (device overhead)      | 250   | the request is handed to the NPU and the reply printed at once |
 * | hccn_tool -ping (per lost probe)       | 1000  | the NPU waits one second per probe before `recv time out`      |
 * | hccn_tool -tls -s enable 0|1           | 150   | the switch is written to the device and to /etc/hccn.conf      |
 * | hccn_tool busy answer / usage errors   | 5     | the tool fails fast before or at opening the channel           |
 * | npu-smi info                           | 700   | DCMI queries every device for power, temperature, memory       |
 * | npu-smi info -t board/health, -l       | 100–150 | one device                                                   |
 * | npu-smi -v                             | 30    | no device query                                                |
 *
 * `fast` keeps every call within 0–3 ms so that tests and the demo stay quick but still interleave.
 * A hung hccn_tool keeps the device channel after its caller went away (`hangLockHold`): a real
 * `timeout` kills the process, but the driver request it left behind is only reaped later.
 */
import type { LatencyProfile } from './types.js';

export type LatencyKey =
  | 'hccn.link' | 'hccn.ip' | 'hccn.gateway' | 'hccn.netdetect' | 'hccn.tls' | 'hccn.net_health'
  | 'hccn.lldp' | 'hccn.link_stat' | 'hccn.fec' | 'hccn.optical' | 'hccn.tls_set'
  | 'hccn.ping_overhead' | 'hccn.ping_probe' | 'hccn.ping_lost' | 'hccn.fail_fast'
  | 'npusmi.info' | 'npusmi.board' | 'npusmi.health' | 'npusmi.list' | 'npusmi.version'
  | 'hangLockHold';

/** Milliseconds per key: [hardware, fast]. */
const TABLE: Record<LatencyKey, readonly [number, number]> = {
  'hccn.link': [25, 1], 'hccn.ip': [30, 1], 'hccn.gateway': [25, 1], 'hccn.netdetect': [25, 1], 'hccn.tls': [40, 1],
  'hccn.net_health': [40, 1], 'hccn.lldp': [120, 2], 'hccn.link_stat': [30, 1], 'hccn.fec': [30, 1], 'hccn.optical': [60, 1],
  'hccn.tls_set': [150, 2], 'hccn.ping_overhead': [250, 2], 'hccn.ping_probe': [1, 0], 'hccn.ping_lost': [1000, 1],
  'hccn.fail_fast': [5, 0], 'npusmi.info': [700, 3], 'npusmi.board': [150, 1], 'npusmi.health': [100, 1], 'npusmi.list': [100, 1],
  'npusmi.version': [30, 0], hangLockHold: [30_000, 2_000],
};

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
  return new Promise((resolve) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Resolve when `signal` aborts (a hung device call). */
export function untilAborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}
