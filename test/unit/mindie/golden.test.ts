import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { renderDeployment } from '../../../src/mindie/render.js';
import type { RenderInput } from '../../../src/mindie/render-input.js';
import { fourNodeInput, twoNodeInput } from './inputs.js';

/**
 * Golden files pin every byte deploy uploads. After an intended change, regenerate with
 * `UPDATE_GOLDEN=1 npx vitest run test/unit/mindie/golden.test.ts` and review the diff.
 */
const GOLDEN_ROOT = fileURLToPath(new URL('../../golden/', import.meta.url));
const UPDATE = process.env.UPDATE_GOLDEN === '1';

function vllmTwoNodeInput(): RenderInput {
  const input = twoNodeInput({
    backend: 'vllm-ascend',
    image: 'quay.io/ascend/vllm-ascend:v0.13.0',
    parallel: { dataParallelSize: 4, tensorParallelSize: 4, moeTensorParallelSize: 1, moeExpertParallelSize: 16 },
    npuMemoryFraction: 0.92,
    limits: { maxSeqLen: 16384, maxPrefillTokens: 4096, maxBatchSize: 16 },
    vllm: { extraArgs: ['--quantization', 'ascend', '--trust-remote-code'] },
  });
  input.deviceIps = {};
  return input;
}

const CASES: [string, () => RenderInput][] = [
  ['2-node', () => twoNodeInput()],
  ['4-node', () => fourNodeInput()],
  ['vllm-2-node', vllmTwoNodeInput],
];

/** Golden file name → rendered content. */
function renderCase(input: RenderInput): Map<string, string> {
  const out = renderDeployment(input);
  const files = new Map<string, string>();
  if (out.rankTable !== null) files.set('ranktable.json', out.rankTable);
  for (const n of out.nodes) {
    for (const f of n.files) {
      const base = f.path.slice(f.path.lastIndexOf('/') + 1);
      if (base === 'ranktable.json') continue;
      const name = base === 'env' ? `${n.node.name}.env` : `${n.node.name}.${base}`;
      files.set(name, f.content);
    }
    files.set(`${n.node.name}.docker-run.txt`, n.containerCommand);
  }
  return files;
}

describe.each(CASES)('golden %s', (name, make) => {
  const dir = `${GOLDEN_ROOT}${name}/`;
  const files = renderCase(make());

  if (UPDATE) {
    mkdirSync(dir, { recursive: true });
    for (const [file, content] of files) writeFileSync(`${dir}${file}`, content);
  }

  it('has exactly the expected set of golden files', () => {
    expect(existsSync(dir), `${dir} missing: run with UPDATE_GOLDEN=1`).toBe(true);
    expect(readdirSync(dir).sort()).toEqual([...files.keys()].sort());
  });

  it.each([...files.keys()])('%s matches', (file) => {
    expect(files.get(file)).toBe(readFileSync(`${dir}${file}`, 'utf8'));
  });
});
