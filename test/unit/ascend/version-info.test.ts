import { describe, expect, it } from 'vitest';
import {
  compareDriverVersions,
  driverVersionFrom,
  driverVersionInfoPath,
  imageCannVersion,
  installPathFrom,
  minDriverForCann,
  parseDriverVersion,
  parseKeyValueFile,
} from '../../../src/ascend/version-info.js';

describe('key=value files', () => {
  it('splits at the first `=` and tolerates CRLF and junk lines', () => {
    expect(parseKeyValueFile('a=b=c\r\n\r\nnot a pair\n=x\nVersion=1\n')).toEqual({ a: 'b=c', Version: '1' });
  });

  it('driver version: package_version, else Version, else nothing', () => {
    expect(driverVersionFrom({ Version: '24.1.rc1', package_version: '24.1.rc1.b030' })).toBe('24.1.rc1.b030');
    expect(driverVersionFrom({ Version: '24.1.rc1', package_version: '' })).toBe('24.1.rc1');
    expect(driverVersionFrom({})).toBeUndefined();
  });

  it('install path: the param, else /usr/local/Ascend (also for a missing file)', () => {
    expect(installPathFrom({ Driver_Install_Path_Param: '/opt/Ascend/' })).toBe('/opt/Ascend');
    expect(installPathFrom({ Driver_Install_Path_Param: '' })).toBe('/usr/local/Ascend');
    expect(installPathFrom(undefined)).toBe('/usr/local/Ascend');
    expect(driverVersionInfoPath('/opt/Ascend')).toBe('/opt/Ascend/driver/version.info');
    expect(driverVersionInfoPath('/usr/local/Ascend/')).toBe('/usr/local/Ascend/driver/version.info');
  });
});

describe('driver versions (§5.3)', () => {
  it('parses every form seen', () => {
    expect(parseDriverVersion('24.1.rc1.b030')).toEqual({ major: 24, minor: 1, stage: 'rc', rc: 1, parts: [], build: 30 });
    expect(parseDriverVersion('24.1.0.3')).toEqual({ major: 24, minor: 1, stage: 'final', rc: 0, parts: [0, 3] });
    expect(parseDriverVersion('24.1.rc2.2')).toEqual({ major: 24, minor: 1, stage: 'rc', rc: 2, parts: [2] });
    expect(parseDriverVersion('25.2')).toEqual({ major: 25, minor: 2, stage: 'bare', rc: 0, parts: [] });
    expect(parseDriverVersion('25.2.RC1')?.rc).toBe(1);
    for (const bad of ['', 'x.x.x', '25', '25.2.beta', '25.2.0.rc1', 'v25.2.0', '25.2.b010']) {
      expect(parseDriverVersion(bad)).toBeUndefined();
    }
  });

  it('orders the seen versions', () => {
    const ascending = [
      '23.0.rc1.b070',
      '23.0.rc2',
      '23.0.7',
      '24.1',
      '24.1.rc1',
      '24.1.rc1.b030',
      '24.1.rc2',
      '24.1.rc2.2',
      '24.1.rc3',
      '24.1.0',
      '24.1.0.3',
      '25.0.rc1.1',
      '25.2.0',
      '25.3.rc1',
      '25.5.1',
      '26.0.rc1',
    ];
    const shuffled = [...ascending].reverse();
    expect(shuffled.sort(compareDriverVersions)).toEqual(ascending);
  });

  it('compares pairwise', () => {
    expect(compareDriverVersions('24.1.rc3', '24.1.0')).toBe(-1);
    expect(compareDriverVersions('25.10.0', '25.9.0')).toBe(1);
    expect(compareDriverVersions('24.1.0', '24.1.0.0')).toBe(0);
    expect(compareDriverVersions('25.2.0', '25.2.0')).toBe(0);
    expect(() => compareDriverVersions('x.x.x', '25.2')).toThrow(RangeError);
  });

  it('a bare major.minor minimum is met by every release of it, rcs included', () => {
    expect(compareDriverVersions('25.2.rc1', '25.2') >= 0).toBe(true);
    expect(compareDriverVersions('25.2.0', '25.2') >= 0).toBe(true);
    expect(compareDriverVersions('25.3.rc1', '25.2') >= 0).toBe(true);
    expect(compareDriverVersions('25.0.rc1.1', '25.2') >= 0).toBe(false);
    expect(compareDriverVersions('24.1.0.3', '25.2') >= 0).toBe(false);
    expect(compareDriverVersions('25.2.rc1', '25.2.0') >= 0).toBe(false);
    expect(() => compareDriverVersions('garbage', '25.2')).toThrow(RangeError);
  });
});

describe('image → CANN → minimum driver', () => {
  it('maps the MindIE tags the docs name', () => {
    expect(imageCannVersion('swr.cn-south-1.myhuaweicloud.com/ascendhub/mindie:2.1.RC1-800I-A2-py311-openeuler24.03-lts')).toBe(
      '8.2.RC1',
    );
    expect(imageCannVersion('registry.local:5000/mindie:2.2.RC1-800I-A2-py311-openeuler24.03-lts')).toBe('8.3.RC1');
    expect(imageCannVersion('mindie:2.3.0-800I-A2-py311-openeuler24.03-lts@sha256:abc')).toBe('8.5.0');
  });

  it('unknown releases, other images and untagged names give nothing', () => {
    expect(imageCannVersion('mindie:2.0.RC2-800I-A2')).toBeUndefined();
    expect(imageCannVersion('quay.io/ascend/vllm-ascend:v0.9.1')).toBeUndefined();
    expect(imageCannVersion('registry.local:5000/mindie')).toBeUndefined();
    expect(imageCannVersion('registry.local:5000/other:2.1.RC1-800I-A2')).toBeUndefined();
    expect(imageCannVersion('mindie:2.1.RC10')).toBeUndefined();
  });

  it('CANN → minimum driver by major.minor', () => {
    expect(minDriverForCann('8.2.RC1')).toBe('25.2');
    expect(minDriverForCann('8.3.RC1')).toBe('25.3');
    expect(minDriverForCann('8.5.0')).toBe('25.5');
    expect(minDriverForCann('8.0.RC3')).toBeUndefined();
    expect(minDriverForCann('8.20.0')).toBeUndefined();
    expect(minDriverForCann('nonsense')).toBeUndefined();
  });

  it('chains: the contract example (CANN 8.2.RC1 needs 25.2)', () => {
    const cann = imageCannVersion('mindie:2.1.RC1-800I-A2-py311-openeuler24.03-lts');
    const min = minDriverForCann(cann ?? '');
    expect(min).toBe('25.2');
    expect(compareDriverVersions('25.0.rc1.1', min ?? '') >= 0).toBe(false);
    expect(compareDriverVersions('25.2.0', min ?? '') >= 0).toBe(true);
  });
});
