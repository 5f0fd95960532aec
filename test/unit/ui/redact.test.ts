import { describe, expect, it } from 'vitest';
import { isSecretName, redactEnvFile } from '../../../src/ui/redact.js';

describe('secret-looking variable names', () => {
  it('masks tokens, passwords, keys and credentials, by whole name segments', () => {
    for (const name of ['HF_TOKEN', 'token', 'REGISTRY_PASSWORD', 'DB_PASSWD', 'OPENAI_API_KEY', 'APIKEY', 'AWS_SECRET_ACCESS_KEY', 'AWS_ACCESS_KEY_ID', 'GIT_CREDENTIALS', 'PROXY_AUTH', 'SSH_PRIVATE_KEY']) {
      expect(isSecretName(name), name).toBe(true);
    }
    for (const name of ['HCCL_CONNECT_TIMEOUT', 'WORLD_SIZE', 'MIES_CONTAINER_IP', 'PASSAGE_LEN', 'TOKENIZER_PATH', 'MAX_TOKENS', 'AUTHOR', 'KEYBOARD']) {
      expect(isSecretName(name), name).toBe(false);
    }
  });

  it('redacts values line by line and leaves everything else as it was', () => {
    const text = 'WORLD_SIZE=16\nHF_TOKEN=hf_abc=def\nEMPTY_TOKEN=\nMINDIE_LOG_LEVEL=INFO\n';
    expect(redactEnvFile(text)).toBe('WORLD_SIZE=16\nHF_TOKEN=<redacted>\nEMPTY_TOKEN=\nMINDIE_LOG_LEVEL=INFO\n');
  });
});
