/**
 * What the simulated model servers keep in the cluster's `shared` map, across nodes.
 *
 * The serving record: when a server began to listen and when it first answered an inference request with
 * content, on the wall clock (Date.now()), per node. The control API's GET /state shows it, so that the
 * bench can compare ascendctl's ready line with the endpoint's first answer on a clock that is neither the
 * CLI's nor its own process's. Each start of a daemon begins a new record.
 *
 * The rendezvous: the group one launch forms across its nodes (MindIE's HCCL group, vLLM's DP group).
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
