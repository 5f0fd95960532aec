import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { baseMindieConfig } from '../../../src/mindie/config-template.js';

const templatePath = new URL('../../../templates/mindie-config.base.json', import.meta.url);

describe('templates/mindie-config.base.json', () => {
  const parsed = JSON.parse(readFileSync(templatePath, 'utf8')) as Record<string, any>;

  it('is valid JSON with the four top-level sections of MindIE 2.x', () => {
    expect(Object.keys(parsed)).toEqual(['Version', 'ServerConfig', 'BackendConfig', 'LogConfig']);
    expect(parsed.Version).toBe('1.0.0');
  });

  it('carries the shipped ServerConfig defaults (§2.2)', () => {
    expect(parsed.ServerConfig).toMatchObject({
      ipAddress: '127.0.0.1',
      managementIpAddress: '127.0.0.2',
      port: 1025,
      managementPort: 1026,
      metricsPort: 1027,
      allowAllZeroIpListening: false,
      maxLinkNum: 1000,
      httpsEnabled: true,
      fullTextEnabled: false,
      inferMode: 'standard',
      interCommTLSEnabled: true,
      interCommPort: 1121,
      openAiSupport: 'vllm',
      tokenTimeout: 600,
      e2eTimeout: 600,
    });
  });

  it('carries the shipped BackendConfig, ModelDeployConfig, ModelConfig[0] and ScheduleConfig defaults', () => {
    const b = parsed.BackendConfig;
    expect(b).toMatchObject({
      backendName: 'mindieservice_llm_engine',
      modelInstanceNumber: 1,
      npuDeviceIds: [[0, 1, 2, 3]],
      tokenizerProcessNumber: 8,
      multiNodesInferEnabled: false,
      multiNodesInferPort: 1120,
      interNodeTLSEnabled: true,
    });
    expect(b.ModelDeployConfig).toMatchObject({ maxSeqLen: 2560, maxInputTokenLen: 2048, truncation: false });
    expect(b.ModelDeployConfig.ModelConfig).toHaveLength(1);
    expect(b.ModelDeployConfig.ModelConfig[0]).toMatchObject({
      modelInstanceType: 'Standard',
      modelName: 'llama_65b',
      worldSize: 4,
      npuMemSize: -1,
      backendType: 'atb',
      trustRemoteCode: false,
      async_scheduler_wait_time: 120,
      kv_trans_timeout: 10,
      kv_link_timeout: 1080,
    });
    // Parallel sizes are absent in the shipped file (§2.2); ascendctl adds them.
    expect(b.ModelDeployConfig.ModelConfig[0]).not.toHaveProperty('dp');
    expect(b.ScheduleConfig).toEqual({
      templateType: 'Standard',
      templateName: 'Standard_LLM',
      cacheBlockSize: 128,
      maxPrefillBatchSize: 50,
      maxPrefillTokens: 8192,
      prefillTimeMsPerReq: 150,
      prefillPolicyType: 0,
      decodeTimeMsPerReq: 50,
      decodePolicyType: 0,
      maxBatchSize: 200,
      maxIterTimes: 512,
      maxPreemptCount: 0,
      supportSelectBatch: false,
      maxQueueDelayMicroseconds: 5000,
      maxFirstTokenWaitTime: 2500,
    });
  });

  it('is what the renderer starts from, as a fresh copy each time', () => {
    const a = baseMindieConfig();
    expect(a).toEqual(parsed);
    (a.ServerConfig as Record<string, unknown>).port = 1;
    expect((baseMindieConfig().ServerConfig as Record<string, unknown>).port).toBe(1025);
  });
});
