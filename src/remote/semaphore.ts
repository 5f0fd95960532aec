/** A counting semaphore with FIFO hand-off, abortable waits and a high-water mark for stats. */
export class Semaphore {
  readonly limit: number;
  #inUse = 0;
  #peak = 0;
  readonly #waiters: Array<() => void> = [];

  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`semaphore limit must be a positive integer, got ${limit}`);
    this.limit = limit;
  }

  get inUse(): number {
    return this.#inUse;
  }

  /** Most permits ever held at once. */
  get peak(): number {
    return this.#peak;
  }

  get waiting(): number {
    return this.#waiters.length;
  }

  /** Resolves with a release function (idempotent). Rejects with the signal's reason if aborted while waiting. */
  acquire(signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#inUse < this.limit) return Promise.resolve(this.#grant());
    return new Promise((resolve, reject) => {
      const wake = (): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve(this.#grant());
      };
      const onAbort = (): void => {
        const i = this.#waiters.indexOf(wake);
        if (i >= 0) this.#waiters.splice(i, 1);
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.push(wake);
    });
  }

  #grant(): () => void {
    this.#inUse++;
    if (this.#inUse > this.#peak) this.#peak = this.#inUse;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#inUse--;
      const next = this.#waiters.shift();
      if (next) next();
    };
  }
}
