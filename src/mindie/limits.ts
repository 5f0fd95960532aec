import { RenderError } from './render-error.js';
import type { Limits } from './render-input.js';

export type ResolvedLimits = Required<Limits>;

/**
 * ascendctl's defaults, chosen for a reasoning model rather than MindIE's 2560-token template:
 * the R1 README serves 2 nodes with maxSeqLen 10000 / maxInputTokenLen 2048; the output cap
 * (maxIterTimes, at most maxSeqLen) defaults to the whole sequence so long answers are not cut.
 */
export const DEFAULT_LIMITS = {
  maxSeqLen: 10000,
  maxInputTokenLen: 2048,
  maxPrefillTokens: 8192,
  maxBatchSize: 200,
  maxPrefillBatchSize: 50,
} as const;

/** Output tokens left over when only maxInputTokenLen is raised. */
const DEFAULT_OUTPUT_ROOM = 8192;

function checkPositive(limits: Limits): void {
  for (const [key, value] of Object.entries(limits)) {
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
      throw new RenderError(`limits.${key} is ${String(value)}; expected a whole number ≥ 1`, { path: `limits.${key}`, hint: `fix limits.${key} in the deployment file` });
    }
  }
}

/**
 * Fill in the limits MindIE needs consistent with each other: maxInputTokenLen < maxSeqLen,
 * maxPrefillTokens ≥ maxInputTokenLen, maxIterTimes ≤ maxSeqLen, maxPrefillBatchSize ≤ maxBatchSize.
 * Defaults bend to fit what the user set; two user values that contradict each other are refused.
 */
export function resolveLimits(limits: Limits = {}): ResolvedLimits {
  checkPositive(limits);
  // A user who raises the input or output cap without maxSeqLen gets a sequence long enough for both.
  const maxSeqLen =
    limits.maxSeqLen ??
    Math.max(
      DEFAULT_LIMITS.maxSeqLen,
      limits.maxInputTokenLen === undefined ? 0 : limits.maxInputTokenLen + DEFAULT_OUTPUT_ROOM,
      limits.maxIterTimes ?? 0,
    );
  const maxInputTokenLen = limits.maxInputTokenLen ?? Math.min(DEFAULT_LIMITS.maxInputTokenLen, maxSeqLen - 1);
  const maxPrefillTokens = limits.maxPrefillTokens ?? Math.max(DEFAULT_LIMITS.maxPrefillTokens, maxInputTokenLen);
  const maxIterTimes = limits.maxIterTimes ?? maxSeqLen;
  const maxBatchSize = limits.maxBatchSize ?? Math.max(DEFAULT_LIMITS.maxBatchSize, limits.maxPrefillBatchSize ?? 0);
  const maxPrefillBatchSize = limits.maxPrefillBatchSize ?? Math.min(DEFAULT_LIMITS.maxPrefillBatchSize, maxBatchSize);
  const resolved = { maxSeqLen, maxInputTokenLen, maxPrefillTokens, maxIterTimes, maxBatchSize, maxPrefillBatchSize };
  const problem = limitsProblem(resolved);
  if (problem !== undefined) {
    const path = `limits.${problem.keys.find((k) => limits[k] !== undefined) ?? problem.keys[0]}`;
    throw new RenderError(`${problem.message} (${problem.keys.map((k) => `limits.${k}`).join(', ')})`, {
      path,
      hint: 'adjust these limits in the deployment file so they agree',
    });
  }
  return resolved;
}

export interface LimitsProblem {
  message: string;
  /** The limits involved, most specific first. */
  keys: (keyof ResolvedLimits)[];
}

/** The first rule MindIE would refuse, or undefined. Shared with the post-merge check of config.json. */
export function limitsProblem(l: ResolvedLimits): LimitsProblem | undefined {
  if (l.maxInputTokenLen >= l.maxSeqLen) {
    return { message: `maxInputTokenLen (${l.maxInputTokenLen}) must be less than maxSeqLen (${l.maxSeqLen}), which counts input and output`, keys: ['maxInputTokenLen', 'maxSeqLen'] };
  }
  if (l.maxPrefillTokens < l.maxInputTokenLen) {
    return { message: `maxPrefillTokens (${l.maxPrefillTokens}) must be at least maxInputTokenLen (${l.maxInputTokenLen}), or a full-length prompt can never be prefilled`, keys: ['maxPrefillTokens', 'maxInputTokenLen'] };
  }
  if (l.maxIterTimes > l.maxSeqLen) {
    return { message: `maxIterTimes (${l.maxIterTimes}) must not exceed maxSeqLen (${l.maxSeqLen})`, keys: ['maxIterTimes', 'maxSeqLen'] };
  }
  if (l.maxPrefillBatchSize > l.maxBatchSize) {
    return { message: `maxPrefillBatchSize (${l.maxPrefillBatchSize}) must not exceed maxBatchSize (${l.maxBatchSize})`, keys: ['maxPrefillBatchSize', 'maxBatchSize'] };
  }
  return undefined;
}
