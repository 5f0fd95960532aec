import { describe, expect, it } from 'vitest';
import { probeDelayMs } from '../../../src/deploy/readiness.js';

describe('readiness probe spacing', () => {
  it('looks again well inside the 50 ms the ready line may trail the first answer by, on a direct route', () => {
    expect(probeDelayMs(false)).toBeLessThanOrEqual(25);
    expect(probeDelayMs(false)).toBeGreaterThan(0);
  });

  it('spaces looks further through an SSH tunnel, where each one opens a channel on the master\'s connection', () => {
    expect(probeDelayMs(true)).toBeGreaterThan(probeDelayMs(false));
    expect(probeDelayMs(true)).toBeLessThanOrEqual(200); // never slower than before the change
  });
});
