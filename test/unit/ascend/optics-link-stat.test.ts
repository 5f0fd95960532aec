/**
 * `-optical -g` and `-link_stat -g` parsers beyond the fixtures: the formats are derived or known from
 * one or two captures (ascend-tools.md §2.11), so case, spacing, units (mW/dBm), `NA` readings and
 * missing fields must all be read, and the record times in every form a build may print.
 */
import { describe, expect, it } from 'vitest';
import { opticalPowerMw, parseHccnTime, parseLinkStat, parseOptical } from '../../../src/ascend/hccn-tool.js';
import { fixture, must } from './helpers.js';

describe('parseOptical', () => {
  it('reads the fixture\'s thresholds and LOS/LOL flags', () => {
    const o = must(parseOptical(fixture('hccn_optical_g_910a_fixture.txt')));
    expect(o.thresholds).toEqual({ txHighMw: 3.5481, txLowMw: 0.2818, rxHighMw: 3.5481, rxLowMw: 0.1445 });
    expect(o.flags).toEqual({ txLos: 0, rxLos: 0xff, txLol: 0, rxLol: 0xff });
  });

  it('is tolerant of case, spacing, `_` and missing padding in keys', () => {
    const text = [
      'Optical Info:',
      '  PRESENT:Present',
      'TX_POWER_0 :1.2 mW',
      'rx power 0   :   0.9 MW',
      'Rx  Power1: 0.8mW',
      'Tx Power High Thres : 3.5 mW',
      'tx power low thres: 0.28 mW',
      'RXPOWER HIGH THRES : 3.5 mW',
      'RxPower Low Threshold : 0.14 mW',
      'rx los flag : 0X3',
      'Rx LOL Flag : 0',
      '',
    ].join('\n');
    const o = must(parseOptical(text));
    expect(o.present).toBe(true);
    expect(o.txPowerMw).toEqual([1.2]);
    expect(o.rxPowerMw).toEqual([0.9, 0.8]);
    expect(o.thresholds).toEqual({ txHighMw: 3.5, txLowMw: 0.28, rxHighMw: 3.5, rxLowMw: 0.14 });
    expect(o.flags).toEqual({ rxLos: 3, rxLol: 0 });
  });

  it('converts dBm to mW, and reads NA or `not supported` as no value', () => {
    const o = must(parseOptical('present : present\nTx Power0 : 0 dBm\nRx Power0 : -10.0 dBm\nRx Power1 : NA\nRx Power2 : not supported\nRxPower Low Thres : -8.4 dBm\n'));
    expect(o.txPowerMw).toEqual([1]);
    expect(o.rxPowerMw[0]).toBeCloseTo(0.1, 6);
    expect(o.rxPowerMw[1]).toBeNaN();
    expect(o.rxPowerMw[2]).toBeNaN();
    expect(o.thresholds.rxLowMw).toBeCloseTo(0.1445, 3);
    expect(opticalPowerMw('250 uW')).toBe(0.25);
    expect(opticalPowerMw('-inf dBm')).toBeNaN();
  });

  it('an absent module printed as `present : not present` with NA readings', () => {
    const o = must(parseOptical('optical info:\npresent              : not present\nTx Power0            : NA\nRx Power0            : NA\nRx Los Flag          : NA\n'));
    expect(o.present).toBe(false);
    expect(o.flags).toEqual({});
    expect(o.rxPowerMw.every(Number.isNaN)).toBe(true);
    expect(must(parseOptical('present : ABSENT\n')).present).toBe(false);
  });

  it('a missing lane between two printed ones reads as no value, and no present line as unknown', () => {
    const o = must(parseOptical('Rx Power0 : 1 mW\nRx Power2 : 1 mW\n'));
    expect(o.present).toBeNull();
    expect(o.rxPowerMw).toHaveLength(3);
    expect(o.rxPowerMw[1]).toBeNaN();
    expect(o.thresholds).toEqual({});
  });
});

describe('parseLinkStat, tolerant', () => {
  it('reads capitals, `LINK_DOWN`, spaces inside the prefix and no prefix at all', () => {
    const text = [
      '[Device 3] Current Time : Wed Jun  7 10:08:28 2023',
      '[device 3]Link Up Count: 4',
      '[device 3]LINK CHANGE RECORDS:',
      '[device 3]    Tue Jun  6 16:32:12 2023    link up',
      '[device 3]    Tue Jun  6 16:32:10 2023    LINK_DOWN  ',
      '    2023-06-06 16:31:55    LINK UP',
      '',
    ].join('\n');
    const s = must(parseLinkStat(text));
    expect(s).toMatchObject({ device: 3, currentTime: 'Wed Jun  7 10:08:28 2023', linkUpCount: 4 });
    expect(s.events).toEqual([
      { time: 'Tue Jun  6 16:32:12 2023', state: 'UP' },
      { time: 'Tue Jun  6 16:32:10 2023', state: 'DOWN' },
      { time: '2023-06-06 16:31:55', state: 'UP' },
    ]);
  });

  it('no records at all is a link that never changed', () => {
    expect(must(parseLinkStat('[device 0]current time : Wed Jun  7 10:08:28 2023\n[device 0]link up count : 0\n[device 0]link change records :\n')).events).toEqual([]);
  });
});

describe('parseHccnTime', () => {
  it('reads the ctime form of both fixtures', () => {
    expect(parseHccnTime('Tue Aug  1 14:44:40 2022')).toBe(Date.UTC(2022, 7, 1, 14, 44, 40));
    expect(parseHccnTime('Wed Jun  7 10:08:28 2023')).toBe(Date.UTC(2023, 5, 7, 10, 8, 28));
  });

  it('reads it without weekday, with a zone word, and in ISO form', () => {
    expect(parseHccnTime('Aug 1 14:44:40 2022')).toBe(Date.UTC(2022, 7, 1, 14, 44, 40));
    expect(parseHccnTime('Tue Aug 01 14:44:40 CST 2022')).toBe(Date.UTC(2022, 7, 1, 14, 44, 40));
    expect(parseHccnTime('2022-08-01 14:44:40')).toBe(Date.UTC(2022, 7, 1, 14, 44, 40));
    expect(parseHccnTime('2022/8/1T14:44:40.123')).toBe(Date.UTC(2022, 7, 1, 14, 44, 40));
  });

  it('refuses what is not a time', () => {
    for (const t of ['', 'yesterday', 'Foo Aug 32 14:44:40 2022', 'Tue Abc  1 14:44:40 2022', '2022-02-30 10:00:00', '2022-08-01 25:00:00']) {
      expect(parseHccnTime(t), t).toBeUndefined();
    }
  });
});
