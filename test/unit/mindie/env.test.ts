import { describe, expect, it } from 'vitest';
import { hcclEnv, hcclEnvDigest, renderEnv, renderEnvFile } from '../../../src/mindie/env.js';
import { expectRenderError } from './expect-render-error.js';
import { fourNodeInput, twoNodeInput } from './inputs.js';

function envOf(overrides: Parameters<typeof twoNodeInput>[0] = {}, nodeIndex = 1): [string, string][] {
  const input = twoNodeInput(overrides);
  return renderEnv(input, input.nodes[nodeIndex]!).map(([k, v]) => [k, v]);
}

function asMap(pairs: readonly (readonly [string, string])[]): Map<string, string> {
  return new Map(pairs);
}

describe('renderEnv (MindIE)', () => {
  it('sets every §4.2 variable with the node, master and deployment values', () => {
    const env = asMap(envOf());
    expect(Object.fromEntries(env)).toMatchObject({
      MIES_CONTAINER_IP: '10.0.0.2',
      HOST_IP: '10.0.0.2',
      MASTER_IP: '10.0.0.1',
      RANK_TABLE_FILE: '/var/lib/ascendctl/deepseek-r1/ranktable.json',
      RANKTABLEFILE: '/var/lib/ascendctl/deepseek-r1/ranktable.json',
      MIES_CONFIG_JSON_PATH: '/var/lib/ascendctl/deepseek-r1/config.json',
      WORLD_SIZE: '16',
      HCCL_CONNECT_TIMEOUT: '7200',
      HCCL_EXEC_TIMEOUT: '0',
      ATB_LLM_HCCL_ENABLE: '1',
      ATB_LLM_COMM_BACKEND: 'hccl',
      NPU_MEMORY_FRACTION: '0.95',
      OMP_NUM_THREADS: '1',
      PYTORCH_NPU_ALLOC_CONF: 'expandable_segments:True',
      HCCL_OP_EXPANSION_MODE: 'AIV',
      HCCL_DETERMINISTIC: 'false',
    });
  });

  it('computes WORLD_SIZE from nodes × npusPerNode', () => {
    const input = fourNodeInput();
    expect(asMap(renderEnv(input, input.nodes[3]!)).get('WORLD_SIZE')).toBe('32');
  });

  it('puts the logging variables last, with stdout on', () => {
    const env = envOf();
    expect(env.slice(-3)).toEqual([
      ['MINDIE_LOG_TO_STDOUT', '1'],
      ['MINDIE_LOG_TO_FILE', '1'],
      ['MINDIE_LOG_LEVEL', 'INFO'],
    ]);
  });

  it('keeps user logging variables in the logging block, after user variables', () => {
    const env = envOf({ env: { MINDIE_LOG_LEVEL: 'llm:debug', FOO: 'bar', MINDIE_LOG_PATH: '/logs' } });
    const keys = env.map(([k]) => k);
    expect(keys.slice(-4)).toEqual(['MINDIE_LOG_TO_STDOUT', 'MINDIE_LOG_TO_FILE', 'MINDIE_LOG_LEVEL', 'MINDIE_LOG_PATH']);
    expect(asMap(env).get('MINDIE_LOG_LEVEL')).toBe('llm:debug');
    expect(keys.indexOf('FOO')).toBeLessThan(keys.indexOf('MINDIE_LOG_TO_STDOUT'));
  });

  it('lets the user override recommended and tunable variables in place', () => {
    const base = envOf().map(([k]) => k);
    const env = envOf({ env: { HCCL_DETERMINISTIC: 'true', TASK_QUEUE_ENABLE: '2', HCCL_BUFFSIZE: '64' } });
    const map = asMap(env);
    expect(map.get('HCCL_DETERMINISTIC')).toBe('true');
    expect(map.get('TASK_QUEUE_ENABLE')).toBe('2');
    expect(env.map(([k]) => k).indexOf('HCCL_DETERMINISTIC')).toBe(base.indexOf('HCCL_DETERMINISTIC'));
    // New variables come after ascendctl's own, before logging.
    expect(env.map(([k]) => k).indexOf('HCCL_BUFFSIZE')).toBe(base.length - 3);
  });

  it('sets async scheduling only for batches above 50', () => {
    expect(asMap(envOf()).get('MINDIE_ASYNC_SCHEDULING_ENABLE')).toBe('1');
    expect(asMap(envOf({ limits: { maxBatchSize: 8 } })).has('MINDIE_ASYNC_SCHEDULING_ENABLE')).toBe(false);
  });

  it.each(['MIES_CONTAINER_IP', 'RANK_TABLE_FILE', 'RANKTABLEFILE', 'WORLD_SIZE', 'MASTER_IP', 'HOST_IP', 'MIES_CONFIG_JSON_PATH'])(
    'refuses a user %s',
    (key) => {
      expectRenderError(() => envOf({ env: { [key]: 'x' } }), { path: `env.${key}` });
    },
  );

  it('refuses turning stdout logging off (ascendctl logs needs it)', () => {
    expectRenderError(() => envOf({ env: { MINDIE_LOG_TO_STDOUT: '0' } }), { path: 'env.MINDIE_LOG_TO_STDOUT' });
  });

  it('refuses values with line breaks and invalid names', () => {
    expectRenderError(() => envOf({ env: { FOO: 'a\nb' } }), { path: 'env.FOO', message: /line break/ });
    expectRenderError(() => envOf({ env: { FOO: 'a\rb' } }), { path: 'env.FOO' });
    expectRenderError(() => envOf({ env: { '1FOO': 'x' } }), { message: /not a valid environment variable name/ });
    expectRenderError(() => envOf({ env: { 'A-B': 'x' } }), { message: /not a valid environment variable name/ });
  });

  it.each([0, 1.5, -0.1, Number.NaN])('refuses npuMemoryFraction %s', (f) => {
    expectRenderError(() => envOf({ npuMemoryFraction: f }), { path: 'npuMemoryFraction' });
  });
});

describe('renderEnv (vLLM-Ascend)', () => {
  it("sets this node's HCCL_IF_IP and the raised timeouts, and refuses a user HCCL_IF_IP", () => {
    const env = asMap(envOf({ backend: 'vllm-ascend' }));
    expect(env.get('HCCL_IF_IP')).toBe('10.0.0.2');
    expect(Number(env.get('HCCL_CONNECT_TIMEOUT'))).toBeGreaterThanOrEqual(1200);
    expect(env.get('VLLM_RPC_TIMEOUT')).toBe('3600000');
    expect(env.has('MIES_CONTAINER_IP')).toBe(false);
    expectRenderError(() => envOf({ backend: 'vllm-ascend', env: { HCCL_IF_IP: '1.2.3.4' } }), { path: 'env.HCCL_IF_IP' });
  });
});

describe('renderEnvFile', () => {
  it('writes KEY=VALUE lines verbatim, no quoting', () => {
    expect(renderEnvFile([['A', 'x y'], ['B', '"q"'], ['C', '']])).toBe('A=x y\nB="q"\nC=\n');
    expect(renderEnvFile([])).toBe('');
  });

  it('refuses duplicates and newlines', () => {
    expectRenderError(() => renderEnvFile([['A', '1'], ['A', '2']]), { message: /twice/ });
    expectRenderError(() => renderEnvFile([['A', '1\n2']]), { message: /line break/ });
  });
});

describe('hcclEnvDigest', () => {
  it('is equal across nodes and ignores non-HCCL and per-node variables', () => {
    const input = twoNodeInput();
    const [a, b] = input.nodes.map((n) => renderEnv(input, n));
    expect(hcclEnvDigest(a!)).toBe(hcclEnvDigest(b!));
    expect(hcclEnvDigest([['HCCL_X', '1'], ['FOO', '1'], ['HCCL_IF_IP', '1.1.1.1']])).toBe(hcclEnvDigest([['HCCL_X', '1'], ['HCCL_IF_IP', '2.2.2.2']]));
  });

  it('changes when an HCCL value changes, whatever the order', () => {
    expect(hcclEnvDigest([['HCCL_A', '1'], ['HCCL_B', '2']])).toBe(hcclEnvDigest([['HCCL_B', '2'], ['HCCL_A', '1']]));
    expect(hcclEnvDigest([['HCCL_A', '1']])).not.toBe(hcclEnvDigest([['HCCL_A', '2']]));
    expect(hcclEnv([['HCCL_B', '2'], ['X', '1'], ['HCCL_A', '1']])).toEqual([['HCCL_A', '1'], ['HCCL_B', '2']]);
  });
});
