import { expect } from 'vitest';
import { RenderError } from '../../../src/mindie/render-error.js';

export interface Expected {
  message?: RegExp;
  node?: string;
  npu?: number;
  path?: string;
}

/** Run fn, require a RenderError, and check the fields a user relies on to find the problem. */
export function expectRenderError(fn: () => unknown, expected: Expected): RenderError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught, 'expected a RenderError').toBeInstanceOf(RenderError);
  const err = caught as RenderError;
  if (expected.message !== undefined) expect(err.message).toMatch(expected.message);
  if (expected.node !== undefined) expect(err.node).toBe(expected.node);
  if (expected.npu !== undefined) expect(err.npu).toBe(expected.npu);
  if (expected.path !== undefined) expect(err.path).toBe(expected.path);
  expect(err.hint, 'every RenderError says what to do next').toBeTruthy();
  expect(err.exitCode).toBe(2);
  return err;
}
