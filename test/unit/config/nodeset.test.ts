import { describe, expect, it } from 'vitest';
import { expandNodeSet, expandPattern, foldNodeSet, isNodeRange, NodeSetError, splitNodeSet } from '../../../src/config/nodeset.js';

function errorOf(fn: () => unknown): NodeSetError {
  try {
    fn();
  } catch (err) {
    if (err instanceof NodeSetError) return err;
    throw err;
  }
  throw new Error('expected a NodeSetError');
}

describe('expandPattern', () => {
  it('a plain name is itself', () => {
    expect(expandPattern('node1')).toEqual(['node1']);
    expect(isNodeRange('node1')).toBe(false);
    expect(isNodeRange('node[1-2]')).toBe(true);
  });

  it('keeps zero padding and the order written', () => {
    expect(expandPattern('node[01-04]')).toEqual(['node01', 'node02', 'node03', 'node04']);
    expect(expandPattern('node[08-11]')).toEqual(['node08', 'node09', 'node10', 'node11']);
    expect(expandPattern('node[8-11]')).toEqual(['node8', 'node9', 'node10', 'node11']);
    expect(expandPattern('n[098-101]')).toEqual(['n098', 'n099', 'n100', 'n101']);
    expect(expandPattern('gpu[7,1-3]')).toEqual(['gpu7', 'gpu1', 'gpu2', 'gpu3']);
  });

  it('lists, suffixes and addresses', () => {
    expect(expandPattern('gpu[1-3,7]')).toEqual(['gpu1', 'gpu2', 'gpu3', 'gpu7']);
    expect(expandPattern('node[1-2].rack4')).toEqual(['node1.rack4', 'node2.rack4']);
    expect(expandPattern('10.0.0.[1-3]')).toHaveLength(3);
    expect(expandPattern('10.0.0.[1-64]').at(-1)).toBe('10.0.0.64');
  });

  it('several bracket groups: the first varies slowest', () => {
    expect(expandPattern('r[1-2]n[01-02]')).toEqual(['r1n01', 'r1n02', 'r2n01', 'r2n02']);
    expect(expandPattern('10.0.[0-1].[1-2]')).toEqual(['10.0.0.1', '10.0.0.2', '10.0.1.1', '10.0.1.2']);
  });

  it.each([
    ['node[]', /empty range/],
    ['node[ ]', /empty range/],
    ['node[5-3]', /runs backwards.*3-5/],
    ['node[1-]', /"1-".*expected a number or a range/],
    ['node[a-c]', /"a-c"/],
    ['node[1,,2]', /an empty item/],
    ['node[1-3', /without a closing/],
    ['node1-3]', /without a "\["/],
    ['node[1[2]]', /nested/],
    ['node[1-2]x,y', /outside brackets/],
    ['node[1-999999]', /at most 100000/],
    ['a[1-1000]b[1-1000]', /more than 100000/],
  ])('refuses %s', (pattern, message) => {
    const err = errorOf(() => expandPattern(pattern));
    expect(err.message).toMatch(message);
    expect(err.pattern).toBe(pattern);
  });

  it('says where in the pattern it went wrong', () => {
    expect(errorOf(() => expandPattern('node[1,x]')).offset).toBe(7);
    expect(errorOf(() => expandPattern('node[1-3')).offset).toBe(4);
  });
});

describe('expandNodeSet (--node)', () => {
  it('comma lists of patterns, in order, each name once', () => {
    expect(splitNodeSet('node[1-3,7],gpu2')).toEqual(['node[1-3,7]', 'gpu2']);
    expect(expandNodeSet('node[03-05],node01')).toEqual(['node03', 'node04', 'node05', 'node01']);
    expect(expandNodeSet('node[1-2],node2,node[2-3]')).toEqual(['node1', 'node2', 'node3']);
  });

  it('refuses empty items and bad ranges, pointing into the whole text', () => {
    expect(errorOf(() => expandNodeSet('node1,,node2')).message).toMatch(/an empty name/);
    expect(errorOf(() => expandNodeSet('node1,')).message).toMatch(/an empty name/);
    const err = errorOf(() => expandNodeSet('node1,node[4-2]'));
    expect(err.message).toMatch(/backwards/);
    expect(err.pattern).toBe('node1,node[4-2]');
    expect(err.offset).toBe(11);
  });
});

describe('foldNodeSet', () => {
  it('folds runs and keeps padding', () => {
    expect(foldNodeSet(['node03', 'node04', 'node05'])).toBe('node[03-05]');
    expect(foldNodeSet(['node01', 'node02', 'node03', 'node07'])).toBe('node[01-03,07]');
    expect(foldNodeSet(['node9', 'node10', 'node11'])).toBe('node[9-11]');
    expect(foldNodeSet(['node08', 'node09', 'node10'])).toBe('node[08-10]');
  });

  it('a single name stays plain; names without digits stay as they are', () => {
    expect(foldNodeSet(['node5'])).toBe('node5');
    expect(foldNodeSet(['master', 'node1', 'node2'])).toBe('master,node[1-2]');
    expect(foldNodeSet([])).toBe('');
  });

  it('sorts within a group, groups in order of first appearance, duplicates once', () => {
    expect(foldNodeSet(['node3', 'gpu1', 'node1', 'node2', 'gpu2', 'node3'])).toBe('node[1-3],gpu[1-2]');
  });

  it('does not join numbers written at different widths', () => {
    expect(foldNodeSet(['n1', 'n02', 'n03'])).toBe('n[1,02-03]');
    expect(foldNodeSet(['n7', 'n07'])).toBe('n[7,07]');
  });

  it('folds over the last run of digits', () => {
    expect(foldNodeSet(['r1n01', 'r1n02', 'r2n01'])).toBe('r1n[01-02],r2n01');
    expect(foldNodeSet(['10.0.0.1', '10.0.0.2', '10.0.0.3'])).toBe('10.0.0.[1-3]');
    expect(foldNodeSet(['node1.rack', 'node2.rack'])).toBe('node[1-2].rack');
  });

  it('expanding what it folds gives back every name', () => {
    const names = ['node01', 'node02', 'node05', 'node10', 'node11', 'gpu7', 'gpu8', 'login', 'n9', 'n10', 'n010'];
    const back = expandNodeSet(foldNodeSet(names));
    expect(new Set(back)).toEqual(new Set(names));
    expect(back).toHaveLength(names.length);
  });
});
