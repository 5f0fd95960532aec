/**
 * When a simulated model server began to listen and when it first answered an inference request with
 * content, on the wall clock (Date.now()), per node: the control API's GET /state shows it, so that the
 * bench can compare ascendctl's ready line with the endpoint's first answer on a clock that is neither
 * the CLI's nor its own process's. Each start of a daemon begins a new record.
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
