/**
 * Which node's SSH window is wide: the one the time merge is draining on its own.
 *
 * When the nodes' logs do not interleave (one node's lines all come before the next node's, or one node
 * lags far behind the others), the merge passes on one node's lines while every other node waits paused
 * with its small window full (logWindowBytes): the whole read then goes at the rate of that one stream,
 * and a small window makes it a relay: the node sends its window, waits for the grant, sends again. A
 * wider window lets it send while we print. Measured on the logs benchmark at 64 nodes (20,000 lines
 * each, nodes logging in turn): 64 KiB for every node read in 6.5–6.9 s at an 87 MiB peak, 128 KiB in
 * 5.9 s at 92–94 MiB, 256 KiB in 5.2–5.7 s at 108–111 MiB, against 5.0–5.7 s for OpenSSH; the wide
 * window need only be the draining node's. With only it wide (512 KiB), the benchmark's 64-node read came
 * to 0.99–1.02× of OpenSSH's rate at an 87–88 MiB peak (two full `npm run bench` runs, 2026-12-07, that
 * timed a ~/.bashrc on both sides; 1.27× and 1.02× at 84 MiB peaks in the two runs without it).
 *
 * SSH cannot take a grant back, so a node that was wide keeps what it was granted until it has sent
 * it, even once the merge has moved on and paused it. Widening is therefore bounded by a spare budget:
 * a node is widened only while what the earlier wide nodes still hold beyond an ordinary paused channel
 * (its window and half of it queued, channel-window.ts pausedHoldBytes) leaves room for it. At most one node is wide at
 * a time; the memory the merge may hold is the ordinary windows plus the spare.
 */
import { ChannelWindow, pausedHoldBytes } from '../remote/channel-window.js';

export interface LeadWindowOptions {
  /** Every node's window while it is not the lead. */
  normal: number;
  /** The lead's window. */
  wide: number;
  /** Bytes all wide and formerly wide nodes may hold beyond ordinary channels. */
  spare: number;
}

export class LeadWindows {
  readonly #windows = new Map<string, ChannelWindow>();
  readonly #opts: LeadWindowOptions;
  #lead: string | undefined;
  /** Nodes that were wide and may still hold more than an ordinary channel. */
  readonly #former = new Set<string>();

  constructor(nodes: readonly string[], opts: LeadWindowOptions) {
    this.#opts = opts;
    for (const node of nodes) this.#windows.set(node, new ChannelWindow(opts.normal));
  }

  /** The node's window, for every channel its logs are read through. */
  window(node: string): ChannelWindow {
    const w = this.#windows.get(node);
    if (!w) throw new Error(`logs: ${node} has no log window`);
    return w;
  }

  /** The node now widened, if any. */
  get lead(): string | undefined {
    return this.#lead;
  }

  /** The merge drains `node` by itself (TimeMerge's onDrained): the others wait on that node alone. */
  draining(node: string): void {
    if (this.#lead === node) return;
    const { normal, wide, spare } = this.#opts;
    if (this.#lead !== undefined) {
      this.window(this.#lead).resize(normal);
      this.#former.add(this.#lead);
      this.#lead = undefined;
    }
    const ordinary = pausedHoldBytes(normal);
    let owed = 0;
    for (const name of this.#former) {
      const over = this.window(name).held - ordinary;
      if (over > 0) owed += over;
      else this.#former.delete(name);
    }
    if (owed + pausedHoldBytes(wide) - ordinary > spare) return;
    this.#former.delete(node);
    this.window(node).resize(wide);
    this.#lead = node;
  }
}
