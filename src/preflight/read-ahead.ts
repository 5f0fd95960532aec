/**
 * The reads every preflight makes on a node beside its device queue — the driver's install info and
 * version.info, /etc/hccn.conf, the container runtime's version, `ip -o addr show`, `ip route get` —
 * as one batch (batch.ts) started as soon as the node's session is up, instead of one SSH channel each.
 *
 * Why: at 64 nodes the simulated nodes' event loop and ascendctl's own CPU are the cost above the floor
 * (one `ssh` per node running every call as one script), and each channel costs both ends an open, an
 * exec request, a close and their round trips. Reading ahead takes a node from ~11 channels to ~6.
 *
 * The modules that read (collect.ts, network.ts) do not change: they exec as before, and this transport
 * answers an exec whose argv it read ahead with that result, once. A read the batch did not bring back
 * whole (or a read asked for a second time, as --fix's re-check does) is made alone, as before, so a
 * batch is only ever a shortcut, never a different answer. `forget()` drops unclaimed results when the
 * collection is over, so that nothing later is answered from an old read.
 */
import type { ExecOptions, ExecResult, StreamHandlers, Transport, UploadOptions } from '../remote/transport.js';
import { callKey, runBatch, type BatchCall } from './batch.js';

export class ReadAhead implements Transport {
  readonly #ahead = new Map<string, Promise<ExecResult | undefined>>();

  constructor(readonly inner: Transport, calls: readonly BatchCall[], signal?: AbortSignal) {
    if (calls.length === 0) return;
    // A transport failure is not an answer: each read then meets it on its own exec, where it is told.
    const all = runBatch(inner, calls, signal).catch(() => calls.map(() => undefined));
    calls.forEach((c, i) => this.#ahead.set(callKey(c.argv), all.then((r) => r[i])));
  }

  get target(): Transport['target'] {
    return this.inner.target;
  }

  async exec(argv: readonly string[], opts?: ExecOptions): Promise<ExecResult> {
    const key = callKey(argv);
    const ahead = this.#ahead.get(key);
    if (ahead && opts?.stdin === undefined) {
      this.#ahead.delete(key);
      const r = await ahead;
      if (r) return r;
    }
    return this.inner.exec(argv, opts);
  }

  stream(argv: readonly string[], handlers: StreamHandlers, opts?: ExecOptions): Promise<ExecResult> {
    return this.inner.stream(argv, handlers, opts);
  }

  upload(remotePath: string, content: string | Buffer, opts?: UploadOptions): Promise<void> {
    return this.inner.upload(remotePath, content, opts);
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  callPrefix(argv: readonly string[]): Promise<readonly string[] | undefined> {
    return this.inner.callPrefix ? this.inner.callPrefix(argv) : Promise.resolve([]);
  }

  /** Drop what was read ahead and not asked for: from now on every read is made when asked. */
  forget(): void {
    this.#ahead.clear();
  }
}
