/**
 * What the simulated model servers keep in the cluster's `shared` map, across nodes: the serving record (when a
 * node's server began to listen and first answered with content, on the wall clock; GET /state shows it, so the
 * bench can compare ascendctl's ready line with the endpoint's first answer; each start begins a new record) and
 * the rendezvous a launch forms across its nodes (MindIE's HCCL group, vLLM's DP group).
 */
export interface ServingRecord {
  listeningAt: number;
  firstAnswerAt?: number;
}

const key = (node: string): string => `serving-record:${node}`;

export function recordListening(shared: Map<string, unknown>, node: string): void {
  shared.set(key(node), { listeningAt: Date.now() } satisfies ServingRecord);
}

export function recordAnswer(shared: Map<string, unknown>, node: string): void {
  const r = shared.get(key(node)) as ServingRecord | undefined;
  if (r && r.firstAnswerAt === undefined) r.firstAnswerAt = Date.now();
}

export function servingRecord(shared: Map<string, unknown>, node: string): ServingRecord | undefined {
  const r = shared.get(key(node)) as ServingRecord | undefined;
  return r ? { ...r } : undefined;
}

/** Longest wait setTimeout takes: "forever" for a simulated server. */
export const FOREVER_MS = 2 ** 31 - 1;

/** A group its members change (then notify); each member waits for the state it needs. */
export class Rendezvous {
  private readonly listeners = new Set<() => void>();

  notify(): void {
    for (const l of [...this.listeners]) l();
  }

  /** Resolves when `cond()` holds, `signal` aborts, or `ms` pass; returns whether cond() held. */
  async waitFor(cond: () => boolean, ms: number, signal: AbortSignal): Promise<boolean> {
    if (cond() || signal.aborted) return cond();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.listeners.delete(check);
        signal.removeEventListener('abort', done);
        resolve(cond());
      };
      const check = (): void => {
        if (cond()) done();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      this.listeners.add(check);
      signal.addEventListener('abort', done, { once: true });
    });
  }
}

/** The group under `key` in `shared`; one that `stale` says belongs to an earlier run is replaced by `fresh()`. */
export function sharedGroup<G>(shared: Map<string, unknown>, key: string, fresh: () => G, stale: (g: G) => boolean): G {
  let g = shared.get(key) as G | undefined;
  if (g === undefined || stale(g)) {
    g = fresh();
    shared.set(key, g);
  }
  return g;
}
