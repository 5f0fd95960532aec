/**
 * The node the time merge drains alone gets a wide SSH window; every other node keeps the ordinary one,
 * and what nodes that were wide may still hold (SSH cannot take a grant back) is bounded by the spare
 * budget (lead-window.ts). What a channel holds is faked here; channel-window.test.ts measures it.
 */
import { describe, expect, it } from 'vitest';
import { LeadWindows } from '../../../src/logs/lead-window.js';

const KiB = 1024;
const opts = { normal: 64 * KiB, wide: 512 * KiB, spare: 2048 * KiB };

/** Make `held` of a node's window report `bytes`, as a channel holding that much would. */
function holding(leads: LeadWindows, node: string, bytes: number): void {
  Object.defineProperty(leads.window(node), 'held', { get: () => bytes, configurable: true });
}

describe('LeadWindows', () => {
  it('every node starts with the ordinary window; the one drained alone is widened, and only it', () => {
    const leads = new LeadWindows(['a', 'b', 'c'], opts);
    expect(['a', 'b', 'c'].map((n) => leads.window(n).bytes)).toEqual([64 * KiB, 64 * KiB, 64 * KiB]);
    leads.draining('b');
    expect(leads.lead).toBe('b');
    expect(['a', 'b', 'c'].map((n) => leads.window(n).bytes)).toEqual([64 * KiB, 512 * KiB, 64 * KiB]);
    leads.draining('c');
    expect(leads.lead).toBe('c');
    expect(['a', 'b', 'c'].map((n) => leads.window(n).bytes)).toEqual([64 * KiB, 64 * KiB, 512 * KiB]);
  });

  it('does not widen another node while former leads still hold more than the spare allows', () => {
    const leads = new LeadWindows(['a', 'b', 'c'], opts);
    leads.draining('a');
    // a was paused with its wide window full and more queued: 900 KiB, far beyond an ordinary 96 KiB.
    holding(leads, 'a', 900 * KiB);
    leads.draining('b');
    expect(leads.lead).toBe('b');
    holding(leads, 'b', 900 * KiB);
    // a and b together hold 1,608 KiB beyond ordinary; a wide c may hold 672 KiB more: over 2 MiB.
    leads.draining('c');
    expect(leads.lead).toBeUndefined();
    expect(leads.window('c').bytes).toBe(64 * KiB);
    expect(leads.window('b').bytes).toBe(64 * KiB);
    // Once a has sent what it was granted (read by the merge), c may be widened.
    holding(leads, 'a', 40 * KiB);
    leads.draining('c');
    expect(leads.lead).toBe('c');
    expect(leads.window('c').bytes).toBe(512 * KiB);
  });

  it('a node that is drained again stays wide without asking twice', () => {
    const leads = new LeadWindows(['a', 'b'], opts);
    let resized = 0;
    const w = leads.window('a');
    const resize = w.resize.bind(w);
    w.resize = (bytes: number) => {
      resized++;
      resize(bytes);
    };
    leads.draining('a');
    leads.draining('a');
    leads.draining('a');
    expect(resized).toBe(1);
    expect(w.bytes).toBe(512 * KiB);
  });
});
