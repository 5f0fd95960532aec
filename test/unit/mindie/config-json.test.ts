import { describe, expect, it } from 'vitest';
import { buildMindieConfig, renderMindieConfig } from '../../../src/mindie/config-json.js';
import { resolveLimits } from '../../../src/mindie/limits.js';
import { expectRenderError } from './expect-render-error.js';
import { fourNodeInput, twoNodeInput } from './inputs.js';

type AnyRecord = Record<string, any>;

function build(overrides: Parameters<typeof twoNodeInput>[0] = {}, nodeIndex = 1): AnyRecord {
  const input = twoNodeInput(overrides);
  return buildMindieConfig(input, input.nodes[nodeIndex]!) as AnyRecord;
}

function model(config: AnyRecord): AnyRecord {
  return config.BackendConfig.ModelDeployConfig.ModelConfig[0];
}

describe('buildMindieConfig — multi-node fields (§2.3)', () => {
  const config = build();

  it('switches multi-node on and every TLS switch off', () => {
    expect(config.BackendConfig.multiNodesInferEnabled).toBe(true);
    expect(config.ServerConfig.httpsEnabled).toBe(false);
    expect(config.ServerConfig.interCommTLSEnabled).toBe(false);
    expect(config.BackendConfig.interNodeTLSEnabled).toBe(false);
  });

  it("binds this node's own address, never all zeros", () => {
    expect(config.ServerConfig.ipAddress).toBe('10.0.0.2');
    expect(config.ServerConfig.managementIpAddress).toBe('10.0.0.2');
    expect(config.ServerConfig.allowAllZeroIpListening).toBe(false);
    const master = build({}, 0);
    expect(master.ServerConfig.ipAddress).toBe('10.0.0.1');
  });

  it('takes ports, model, world size, device ids and parallel sizes from the deployment', () => {
    const c = build({
      ports: { http: 2025, management: 2026, metrics: 2027, multiNodesInfer: 2120 },
      model: { path: '/models/r1-w8a8', name: 'r1' },
    });
    expect(c.ServerConfig).toMatchObject({ port: 2025, managementPort: 2026, metricsPort: 2027, maxLinkNum: 300, tokenTimeout: 3600, e2eTimeout: 65535 });
    expect(c.BackendConfig.multiNodesInferPort).toBe(2120);
    expect(c.BackendConfig.npuDeviceIds).toEqual([[0, 1, 2, 3, 4, 5, 6, 7]]);
    expect(model(c)).toMatchObject({ modelName: 'r1', modelWeightPath: '/models/r1-w8a8', worldSize: 8, dp: 2, tp: 8, moe_tp: 4, moe_ep: 4 });
  });

  it('always writes dp/tp/moe_tp/moe_ep, even when they are 1 (MindIE 2.2 aborts without dp)', () => {
    const input = fourNodeInput({ parallel: { dataParallelSize: 1, tensorParallelSize: 32, moeTensorParallelSize: 1, moeExpertParallelSize: 32 } });
    expect(model(buildMindieConfig(input, input.nodes[0]!) as AnyRecord)).toMatchObject({ dp: 1, tp: 32, moe_tp: 1, moe_ep: 32 });
  });

  it('writes truncation as a boolean', () => {
    expect(config.BackendConfig.ModelDeployConfig.truncation).toBe(false);
  });

  it('keeps shipped defaults it has no reason to change', () => {
    expect(config.Version).toBe('1.0.0');
    expect(config.ServerConfig.openAiSupport).toBe('vllm');
    expect(config.BackendConfig.ScheduleConfig.cacheBlockSize).toBe(128);
    expect(model(config).npuMemSize).toBe(-1);
  });

  it('serialises with 2-space indent and a trailing newline', () => {
    const input = twoNodeInput();
    const text = renderMindieConfig(input, input.nodes[0]!);
    expect(text.endsWith('}\n')).toBe(true);
    expect(text.split('\n')[1]).toBe('  "Version": "1.0.0",');
    expect(JSON.parse(text)).toEqual(buildMindieConfig(input, input.nodes[0]!));
  });
});

describe('limits', () => {
  it('uses consistent defaults', () => {
    const l = resolveLimits();
    expect(l).toEqual({ maxSeqLen: 10000, maxInputTokenLen: 2048, maxPrefillTokens: 8192, maxIterTimes: 10000, maxBatchSize: 200, maxPrefillBatchSize: 50 });
  });

  it('bends defaults around what the user set', () => {
    expect(resolveLimits({ maxSeqLen: 1024 })).toMatchObject({ maxSeqLen: 1024, maxInputTokenLen: 1023, maxIterTimes: 1024 });
    expect(resolveLimits({ maxInputTokenLen: 16384 })).toMatchObject({ maxSeqLen: 16384 + 8192, maxPrefillTokens: 16384 });
    expect(resolveLimits({ maxBatchSize: 8 })).toMatchObject({ maxBatchSize: 8, maxPrefillBatchSize: 8 });
    expect(resolveLimits({ maxPrefillBatchSize: 300 })).toMatchObject({ maxBatchSize: 300, maxPrefillBatchSize: 300 });
    expect(resolveLimits({ maxIterTimes: 20000 })).toMatchObject({ maxSeqLen: 20000 });
  });

  it('writes them where MindIE reads them', () => {
    const c = build({ limits: { maxSeqLen: 6000, maxInputTokenLen: 6000 - 1, maxPrefillTokens: 6000, maxIterTimes: 6000, maxBatchSize: 8, maxPrefillBatchSize: 8 } });
    expect(c.BackendConfig.ModelDeployConfig).toMatchObject({ maxSeqLen: 6000, maxInputTokenLen: 5999 });
    expect(c.BackendConfig.ScheduleConfig).toMatchObject({ maxPrefillTokens: 6000, maxIterTimes: 6000, maxBatchSize: 8, maxPrefillBatchSize: 8 });
  });

  it.each([
    [{ maxSeqLen: 4096, maxInputTokenLen: 4096 }, 'limits.maxInputTokenLen', /less than maxSeqLen/],
    [{ maxInputTokenLen: 8192, maxPrefillTokens: 4096 }, 'limits.maxPrefillTokens', /at least maxInputTokenLen/],
    [{ maxBatchSize: 8, maxPrefillBatchSize: 16 }, 'limits.maxPrefillBatchSize', /must not exceed maxBatchSize/],
    [{ maxSeqLen: 4096, maxIterTimes: 8192 }, 'limits.maxIterTimes', /must not exceed maxSeqLen/],
    [{ maxSeqLen: 0 }, 'limits.maxSeqLen', /whole number/],
    [{ maxBatchSize: 2.5 }, 'limits.maxBatchSize', /whole number/],
  ])('refuses %j', (limits, path, message) => {
    expectRenderError(() => build({ limits }), { path, message });
  });
});

describe('mindieConfig deep merge', () => {
  it('merges objects key by key and is applied last', () => {
    const c = build({
      mindieConfig: {
        ServerConfig: { maxLinkNum: 1000, fullTextEnabled: true },
        BackendConfig: { ScheduleConfig: { maxQueueDelayMicroseconds: 1000 } },
      },
    });
    expect(c.ServerConfig.maxLinkNum).toBe(1000);
    expect(c.ServerConfig.fullTextEnabled).toBe(true);
    expect(c.ServerConfig.port).toBe(1025);
    expect(c.BackendConfig.ScheduleConfig.maxQueueDelayMicroseconds).toBe(1000);
    expect(c.BackendConfig.ScheduleConfig.cacheBlockSize).toBe(128);
  });

  it('replaces arrays instead of merging them', () => {
    const c = build({ mindieConfig: { ServerConfig: { tlsCaFile: ['a.pem', 'b.pem'] }, BackendConfig: { npuDeviceIds: [[0, 1, 2, 3, 4, 5, 6, 7, 8]] } } });
    expect(c.ServerConfig.tlsCaFile).toEqual(['a.pem', 'b.pem']);
    expect(c.BackendConfig.npuDeviceIds).toEqual([[0, 1, 2, 3, 4, 5, 6, 7, 8]]);
  });

  it('accepts a complete replacement of the ModelConfig array', () => {
    const input = twoNodeInput();
    const entry = { ...model(buildMindieConfig(input, input.nodes[0]!) as AnyRecord), models: { deepseekv2: { enable_reasoning: true } } };
    const c = build({ mindieConfig: { BackendConfig: { ModelDeployConfig: { ModelConfig: [entry] } } } });
    expect(model(c).models).toEqual({ deepseekv2: { enable_reasoning: true } });
  });

  it('adds new keys (e.g. per-architecture options) and encodes plugin_params as a JSON string', () => {
    const input = twoNodeInput();
    const entry = { ...model(buildMindieConfig(input, input.nodes[0]!) as AnyRecord), plugin_params: { plugin_type: 'mtp', num_speculative_tokens: 1 } };
    const c = build({ mindieConfig: { BackendConfig: { ModelDeployConfig: { ModelConfig: [entry] } } } });
    expect(model(c).plugin_params).toBe('{"plugin_type":"mtp","num_speculative_tokens":1}');
  });

  it('turns numeric truncation into the boolean form and refuses left truncation', () => {
    expect(build({ mindieConfig: { BackendConfig: { ModelDeployConfig: { truncation: -1 } } } }).BackendConfig.ModelDeployConfig.truncation).toBe(true);
    expect(build({ mindieConfig: { BackendConfig: { ModelDeployConfig: { truncation: 0 } } } }).BackendConfig.ModelDeployConfig.truncation).toBe(false);
    expectRenderError(() => build({ mindieConfig: { BackendConfig: { ModelDeployConfig: { truncation: 1 } } } }), {
      path: 'mindieConfig.BackendConfig.ModelDeployConfig.truncation',
    });
  });

  it('does not modify the deployment it was given', () => {
    const mindieConfig = { ServerConfig: { maxLinkNum: 5 } };
    build({ mindieConfig });
    expect(mindieConfig).toEqual({ ServerConfig: { maxLinkNum: 5 } });
  });
});

describe('post-merge guard', () => {
  it.each([
    [{ ServerConfig: { httpsEnabled: true } }, 'mindieConfig.ServerConfig.httpsEnabled'],
    [{ ServerConfig: { interCommTLSEnabled: true } }, 'mindieConfig.ServerConfig.interCommTLSEnabled'],
    [{ BackendConfig: { interNodeTLSEnabled: true } }, 'mindieConfig.BackendConfig.interNodeTLSEnabled'],
    [{ BackendConfig: { multiNodesInferEnabled: false } }, 'mindieConfig.BackendConfig.multiNodesInferEnabled'],
    [{ ServerConfig: { ipAddress: '0.0.0.0' } }, 'mindieConfig.ServerConfig.ipAddress'],
    [{ ServerConfig: { managementIpAddress: '10.0.0.1' } }, 'mindieConfig.ServerConfig.managementIpAddress'],
    [{ ServerConfig: { port: 8000 } }, 'mindieConfig.ServerConfig.port'],
    [{ BackendConfig: { multiNodesInferPort: 1130 } }, 'mindieConfig.BackendConfig.multiNodesInferPort'],
    [{ Version: '2.0.0' }, 'mindieConfig.Version'],
  ])('refuses %j, naming the mindieConfig path', (mindieConfig, path) => {
    expectRenderError(() => build({ mindieConfig }), { path, node: 'node2', message: new RegExp(path.replace(/\./g, '\\.')) });
  });

  it('names the section when the user replaced a whole section with a scalar', () => {
    expectRenderError(() => build({ mindieConfig: { ServerConfig: 'off' } }), { path: 'mindieConfig.ServerConfig', message: /replaces the whole/ });
  });

  it('names the array when a ModelConfig replacement drops the fields ascendctl set', () => {
    expectRenderError(() => build({ mindieConfig: { BackendConfig: { ModelDeployConfig: { ModelConfig: [{ modelName: 'deepseek-r1' }] } } } }), {
      path: 'mindieConfig.BackendConfig.ModelDeployConfig.ModelConfig',
      message: /lists are not merged.*modelWeightPath/,
    });
  });

  it('refuses a model name that differs from model.name', () => {
    const input = twoNodeInput();
    const entry = { ...model(buildMindieConfig(input, input.nodes[0]!) as AnyRecord), modelName: 'other' };
    const err = expectRenderError(() => build({ mindieConfig: { BackendConfig: { ModelDeployConfig: { ModelConfig: [entry] } } } }), {
      path: 'mindieConfig.BackendConfig.ModelDeployConfig.ModelConfig',
    });
    expect(err.hint).toMatch(/model\.name/);
  });

  it('re-checks the limits after the merge and blames the mindieConfig key', () => {
    expectRenderError(() => build({ mindieConfig: { BackendConfig: { ModelDeployConfig: { maxInputTokenLen: 20000 } } } }), {
      path: 'mindieConfig.BackendConfig.ModelDeployConfig.maxInputTokenLen',
      message: /less than maxSeqLen.*mindieConfig\.BackendConfig\.ModelDeployConfig\.maxInputTokenLen and limits\.maxSeqLen/,
    });
    expectRenderError(() => build({ mindieConfig: { BackendConfig: { ScheduleConfig: { maxBatchSize: 'many' } } } }), {
      path: 'mindieConfig.BackendConfig.ScheduleConfig.maxBatchSize',
    });
  });

  it('refuses values JSON cannot carry', () => {
    expectRenderError(() => build({ mindieConfig: { ServerConfig: { maxLinkNum: Number.NaN } } }), { path: 'mindieConfig.ServerConfig.maxLinkNum' });
    expectRenderError(() => build({ mindieConfig: { ServerConfig: { when: new Date(0) } } }), { path: 'mindieConfig.ServerConfig.when' });
  });
});

describe('deployment checks', () => {
  it.each([
    [{ model: { path: '/data/r1', name: '-r1' } }, 'model.name'],
    [{ model: { path: '/data/r1', name: 'deep seek' } }, 'model.name'],
    [{ model: { path: 'data/r1', name: 'r1' } }, 'model.path'],
    [{ ports: { http: 80, management: 1026, metrics: 1027, multiNodesInfer: 1120 } }, 'ports.http'],
    [{ ports: { http: 1025, management: 1026, metrics: 1027, multiNodesInfer: 1025 } }, 'ports.multiNodesInfer'],
    [{ name: 'deep/seek' }, 'name'],
  ])('refuses %j', (overrides, path) => {
    expectRenderError(() => build(overrides), { path });
  });

  it('allows the three HTTP ports to coincide (one listener)', () => {
    const c = build({ ports: { http: 1025, management: 1025, metrics: 1025, multiNodesInfer: 1120 } });
    expect([c.ServerConfig.port, c.ServerConfig.managementPort, c.ServerConfig.metricsPort]).toEqual([1025, 1025, 1025]);
  });
});
