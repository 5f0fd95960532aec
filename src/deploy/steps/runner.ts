/**
 * The deploy's step runner: each step is a named function from a typed input to a typed output that
 * registers the undo of whatever it changes on a node as it changes it (before a container exists, not
 * after: a failure or Ctrl-C while `run` is in flight may still leave one behind). On a thrown error or
 * an aborted signal the runner unwinds every registered undo in reverse order, so workers stop before
 * the master that was started before them; neighbouring undos of one group (the workers) run at once.
 * An undo that fails is reported and does not stop the others.
 *
 * Work that must happen on success as well as on failure (releasing the deploy lock) is not an undo:
 * the caller does it in its own `finally`.
 */

export interface UndoEntry {
  /** What the undo does, as a failure to undo it is reported ("docker stop ascendctl-x"). */
  what: string;
  node?: string;
  /** Neighbouring entries of one group run at once (the workers); groups run in reverse order. */
  group?: string;
  run(): Promise<void>;
}

export interface StepScope {
  readonly signal: AbortSignal;
  /** Registers the undo of a change this step is about to make (or has made). */
  undo(entry: UndoEntry): void;
}

export interface Step<I, O> {
  readonly name: string;
  run(input: I, scope: StepScope): Promise<O>;
}

export class StepRunner {
  readonly #undos: UndoEntry[] = [];
  readonly #done: string[] = [];
  readonly #signal: AbortSignal;
  readonly #interrupted: () => Error;

  /** `interrupted` makes the error a step is refused with once the signal is aborted. */
  constructor(signal: AbortSignal, interrupted: () => Error) {
    this.#signal = signal;
    this.#interrupted = interrupted;
  }

  /** Runs one step unless the signal is already aborted; its undos stay registered whether it succeeds or throws. */
  async run<I, O>(step: Step<I, O>, input: I): Promise<O> {
    if (this.#signal.aborted) throw this.#interrupted();
    const out = await step.run(input, { signal: this.#signal, undo: (e) => void this.#undos.push(e) });
    this.#done.push(step.name);
    return out;
  }

  /** Names of the steps that finished, in order. */
  get completed(): readonly string[] {
    return this.#done;
  }

  /** The registered undos, oldest first. */
  get undos(): readonly UndoEntry[] {
    return this.#undos;
  }

  /** The nodes the registered undos act on, in registration order. */
  get undoNodes(): string[] {
    return this.#undos.map((u) => u.node).filter((x): x is string => Boolean(x));
  }

  /**
   * Runs every registered undo in reverse (groups at once) and forgets them; an undo that throws is
   * handed to `onError` and the others still run.
   */
  async unwind(onError: (entry: UndoEntry, err: Error) => void): Promise<void> {
    const batches = undoBatches(this.#undos.splice(0));
    for (const batch of batches) {
      await Promise.all(batch.map(async (u) => {
        try {
          await u.run();
        } catch (e) {
          onError(u, e as Error);
        }
      }));
    }
  }
}

/** The undos in reverse, neighbouring entries of one group together (workers stop at once). */
export function undoBatches(undo: readonly UndoEntry[]): UndoEntry[][] {
  const batches: UndoEntry[][] = [];
  for (const u of [...undo].reverse()) {
    const last = batches.at(-1);
    if (last && u.group !== undefined && last[0]?.group === u.group) last.push(u);
    else batches.push([u]);
  }
  return batches;
}
