import { describe, expect, it } from 'vitest';
import { benchDeviceIp, simHost } from '../../../bench/lib.js';

describe('bench addresses at 256 nodes', () => {
  it('keeps 127.s.0.n up to 250 nodes and continues on the next third octet', () => {
    expect(simHost(233, 0)).toBe('127.233.0.1');
    expect(simHost(233, 63)).toBe('127.233.0.64');
    expect(simHost(150, 249)).toBe('127.150.0.250');
    expect(simHost(150, 250)).toBe('127.150.1.1');
    expect(simHost(150, 255)).toBe('127.150.1.6');
  });

  it('gives every NPU of 256 nodes a valid, unique device IP', () => {
    const all = Array.from({ length: 256 }, (_, i) => Array.from({ length: 8 }, (_, npu) => benchDeviceIp(i, npu))).flat();
    expect(new Set(all).size).toBe(256 * 8);
    for (const ip of all) {
      const octets = ip.split('.').map(Number);
      expect(octets.every((o) => Number.isInteger(o) && o >= 0 && o <= 255), ip).toBe(true);
    }
    // The simulator's own plan for the first 240: 192.168.(100+npu).(11+index).
    expect(benchDeviceIp(0, 3)).toBe('192.168.103.11');
    expect(benchDeviceIp(239, 7)).toBe('192.168.107.250');
  });
});
