import { describe, expect, it } from 'vitest';
import { Semaphore } from '../../../src/remote/semaphore.js';

describe('Semaphore', () => {
  it('grants up to the limit, then hands permits over in FIFO order', async () => {
    const s = new Semaphore(2);
    const r1 = await s.acquire();
    const r2 = await s.acquire();
    const order: number[] = [];
    const w3 = s.acquire().then((r) => {
      order.push(3);
      return r;
    });
    const w4 = s.acquire().then((r) => {
      order.push(4);
      return r;
    });
    expect(s.inUse).toBe(2);
    expect(s.waiting).toBe(2);
    r1();
    r1(); // idempotent: must not free a second permit
    const r3 = await w3;
    expect(s.waiting).toBe(1);
    r2();
    const r4 = await w4;
    expect(order).toEqual([3, 4]);
    r3();
    r4();
    expect(s.inUse).toBe(0);
    expect(s.peak).toBe(2);
  });

  it('drops an aborted waiter without consuming a permit', async () => {
    const s = new Semaphore(1);
    const r1 = await s.acquire();
    const ac = new AbortController();
    const waiting = s.acquire(ac.signal);
    ac.abort(new Error('stop'));
    await expect(waiting).rejects.toThrow('stop');
    expect(s.waiting).toBe(0);
    r1();
    expect(s.inUse).toBe(0);
    const r2 = await s.acquire();
    expect(s.inUse).toBe(1);
    r2();
  });

  it('rejects at once when the signal is already aborted', async () => {
    const s = new Semaphore(1);
    const ac = new AbortController();
    ac.abort(new Error('already'));
    await expect(s.acquire(ac.signal)).rejects.toThrow('already');
    expect(s.inUse).toBe(0);
  });

  it('refuses a non-positive limit', () => {
    expect(() => new Semaphore(0)).toThrow(RangeError);
  });
});
