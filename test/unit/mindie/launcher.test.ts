import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { renderLaunchScript, renderVllmLaunchScript } from '../../../src/mindie/launcher.js';
import type { RenderInput } from '../../../src/mindie/render-input.js';
import { expectRenderError } from './expect-render-error.js';
import { deviceIpsFor, twoNodeInput } from './inputs.js';

const scratch = mkdtempSync(join(tmpdir(), 'ascendctl-launcher-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function bashSyntaxOk(script: string): void {
  const res = spawnSync('bash', ['-n'], { input: script, encoding: 'utf8' });
  expect(res.stderr).toBe('');
  expect(res.status).toBe(0);
}

/** A fake executable that prints its argv, cwd and selected env, one per line. */
function fakeBin(dir: string, name: string): void {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, name);
  writeFileSync(
    path,
    [
      '#!/bin/bash',
      'echo "argv=$*"',
      'echo "cwd=$(pwd)"',
      'for v in http_proxy HTTPS_PROXY ASCEND_LAUNCH_BLOCKING MINDIE_LOG_TO_STDOUT MINDIE_LOG_LEVEL GLOO_SOCKET_IFNAME HCCL_SOCKET_IFNAME TP_SOCKET_IFNAME; do echo "$v=${!v-<unset>}"; done',
    ].join('\n'),
  );
  chmodSync(path, 0o755);
}

function runScript(script: string, env: Record<string, string>): { status: number | null; stdout: string; stderr: string } {
  const file = join(scratch, `launch-${Math.random().toString(36).slice(2)}.sh`);
  writeFileSync(file, script);
  const res = spawnSync('bash', [file], { encoding: 'utf8', env: { PATH: `${scratch}/bin:/usr/bin:/bin:/usr/sbin:/sbin`, ...env } });
  return { status: res.status, stdout: res.stdout, stderr: res.stderr };
}

function lines(stdout: string): Map<string, string> {
  return new Map(stdout.split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}

describe('renderLaunchScript (MindIE)', () => {
  const input = twoNodeInput({ name: `launchtest-${process.pid}` });
  const script = renderLaunchScript(input, input.nodes[1]!);
  afterAll(() => rmSync(`/tmp/ascendctl-launchtest-${process.pid}`, { recursive: true, force: true }));

  it('is valid bash and does not use set -u', () => {
    bashSyntaxOk(script);
    expect(script.startsWith('#!/bin/bash\n')).toBe(true);
    expect(script).not.toMatch(/^set -[a-z]*u/m);
    expect(script).toMatch(/# No `set -u`: .*set_env\.sh .*expand unset variables/);
  });

  it('sources the set_env scripts in the §4.1 order, each only if present', () => {
    const order = [
      '/usr/local/Ascend/ascend-toolkit/set_env.sh',
      '/usr/local/Ascend/cann/set_env.sh',
      '/usr/local/Ascend/nnal/atb/set_env.sh',
      '/usr/local/Ascend/atb-models/set_env.sh',
      '/usr/local/Ascend/mindie/set_env.sh',
    ];
    const positions = order.map((p) => script.indexOf(`. ${p}`));
    expect(positions.every((p) => p > 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    expect(script).toContain('[ -f /usr/local/Ascend/nnal/atb/set_env.sh ] && . /usr/local/Ascend/nnal/atb/set_env.sh');
    expect(script).toContain('[ -f /usr/local/Ascend/atb-models/set_env.sh ] && . /usr/local/Ascend/atb-models/set_env.sh');
  });

  it('exports the deployment\'s environment after every set_env script (they set some of it), secrets excepted', () => {
    const withSecret = twoNodeInput({ name: `launchtest-${process.pid}`, env: { HF_TOKEN: 'hf_s3cret', ATB_WORKSPACE_MEM_ALLOC_ALG_TYPE: '2' } });
    const text = renderLaunchScript(withSecret, withSecret.nodes[1]!);
    const lastSource = text.lastIndexOf('. /usr/local/Ascend/mindie/latest/mindie-service/set_env.sh');
    expect(text.indexOf('export ATB_WORKSPACE_MEM_ALLOC_ALG_TYPE=2')).toBeGreaterThan(lastSource);
    expect(text.indexOf('export HCCL_CONNECT_TIMEOUT=7200')).toBeGreaterThan(lastSource);
    expect(text.indexOf('export MINDIE_LOG_TO_STDOUT=1')).toBeGreaterThan(text.indexOf('export HCCL_CONNECT_TIMEOUT=7200'));
    expect(text).not.toContain('hf_s3cret');
    expect(text).not.toContain('HF_TOKEN');
  });

  it('unsets proxies first, exports logging after sourcing, cleans shared memory, then execs the daemon', () => {
    const at = (s: string): number => script.indexOf(s);
    expect(at('unset http_proxy https_proxy')).toBeGreaterThan(0);
    expect(at('ASCEND_LAUNCH_BLOCKING')).toBeLessThan(at('. /usr/local/Ascend/ascend-toolkit/set_env.sh'));
    expect(at('export MINDIE_LOG_TO_STDOUT=1')).toBeGreaterThan(at('. /usr/local/Ascend/mindie/set_env.sh'));
    expect(at('rm -f /dev/shm/*llm_backend_* /dev/shm/llm_tokenizer_shared_memory_*')).toBeGreaterThan(at('export MINDIE_LOG_LEVEL=INFO'));
    expect(at('daemon=/usr/local/Ascend/mindie/latest/mindie-service/bin/mindieservice_daemon')).toBeGreaterThan(0);
    expect(script.trimEnd().endsWith('exec "$daemon"')).toBe(true);
  });

  it('runs: clears proxies, re-exports logging last, works in a writable dir, falls back to mindie_llm_server', () => {
    fakeBin(join(scratch, 'bin'), 'mindie_llm_server');
    const res = runScript(script, { http_proxy: 'http://proxy:3128', HTTPS_PROXY: 'http://proxy:3128', ASCEND_LAUNCH_BLOCKING: '1', MINDIE_LOG_TO_STDOUT: '0' });
    expect(res.stderr).toBe('');
    expect(res.status).toBe(0);
    const out = lines(res.stdout);
    expect(out.get('argv')).toBe('');
    expect(out.get('cwd')).toBe(`/tmp/ascendctl-launchtest-${process.pid}`);
    expect(out.get('http_proxy')).toBe('<unset>');
    expect(out.get('HTTPS_PROXY')).toBe('<unset>');
    expect(out.get('ASCEND_LAUNCH_BLOCKING')).toBe('<unset>');
    expect(out.get('MINDIE_LOG_TO_STDOUT')).toBe('1');
    expect(res.stdout).toContain('ascendctl: starting');
  });

  it('exits 127 with a message when the image has no daemon', () => {
    rmSync(join(scratch, 'bin', 'mindie_llm_server'), { force: true });
    const res = runScript(script, {});
    expect(res.status).toBe(127);
    expect(res.stderr).toMatch(/no MindIE server in this image on node node2/);
  });

  it('re-exports a user log level, quoted for the shell', () => {
    const custom = twoNodeInput({ env: { MINDIE_LOG_LEVEL: 'llm:debug; rm -rf /' } });
    const text = renderLaunchScript(custom, custom.nodes[0]!);
    expect(text).toContain("export MINDIE_LOG_LEVEL='llm:debug; rm -rf /'");
    bashSyntaxOk(text);
  });
});

function vllmInput(hosts: [string, string] = ['10.0.0.1', '10.0.0.2']): RenderInput {
  const input = twoNodeInput({
    name: `vllmtest-${process.pid}`,
    backend: 'vllm-ascend',
    image: 'quay.io/ascend/vllm-ascend:v0.13.0',
    parallel: { dataParallelSize: 4, tensorParallelSize: 4, moeTensorParallelSize: 1, moeExpertParallelSize: 16 },
    npuMemoryFraction: 0.92,
    limits: { maxSeqLen: 16384, maxPrefillTokens: 4096, maxBatchSize: 16 },
    vllm: { extraArgs: ['--quantization', 'ascend', '--trust-remote-code'] },
  });
  input.nodes = input.nodes.map((n, i) => ({ ...n, host: hosts[i]! }));
  input.deviceIps = deviceIpsFor(input.nodes);
  return input;
}

describe('renderVllmLaunchScript', () => {
  afterAll(() => rmSync(`/tmp/ascendctl-vllmtest-${process.pid}`, { recursive: true, force: true }));

  it('head node serves the API; the other runs headless from its DP start rank', () => {
    const input = vllmInput();
    const head = renderVllmLaunchScript(input, input.nodes[0]!);
    const worker = renderVllmLaunchScript(input, input.nodes[1]!);
    bashSyntaxOk(head);
    bashSyntaxOk(worker);
    for (const s of [head, worker]) {
      expect(s).toMatch(/--data-parallel-size 4 \\\n/);
      expect(s).toMatch(/--data-parallel-size-local 2 \\\n/);
      expect(s).toMatch(/--data-parallel-address 10\.0\.0\.1 \\\n/);
      expect(s).toMatch(/--tensor-parallel-size 4 \\\n/);
      expect(s).toContain('--enable-expert-parallel');
      expect(s).toContain('--max-model-len 16384');
      expect(s).toContain('--quantization ascend');
      expect(s).toContain('ip -o -4 addr');
    }
    expect(head).not.toContain('--headless');
    expect(worker).toMatch(/--headless \\\n\s+--data-parallel-start-rank 2\n/);
  });

  it('runs: finds the NIC that carries the node address and execs vllm serve', () => {
    fakeBin(join(scratch, 'bin'), 'vllm');
    const input = vllmInput(['127.0.0.1', '10.0.0.2']);
    const res = runScript(renderVllmLaunchScript(input, input.nodes[0]!), {});
    expect(res.stderr).toBe('');
    expect(res.status).toBe(0);
    const out = lines(res.stdout);
    expect(out.get('GLOO_SOCKET_IFNAME')).toBe('lo');
    expect(out.get('HCCL_SOCKET_IFNAME')).toBe('lo');
    expect(out.get('TP_SOCKET_IFNAME')).toBe('lo');
    expect(out.get('argv')).toMatch(/^serve \/data\/models\/DeepSeek-R1 --served-model-name deepseek-r1 --host 127\.0\.0\.1 --port 1025 /);
  });

  it('keeps a user-set *_SOCKET_IFNAME', () => {
    fakeBin(join(scratch, 'bin'), 'vllm');
    const input = vllmInput(['127.0.0.1', '10.0.0.2']);
    const res = runScript(renderVllmLaunchScript(input, input.nodes[0]!), { GLOO_SOCKET_IFNAME: 'bond0' });
    expect(lines(res.stdout).get('GLOO_SOCKET_IFNAME')).toBe('bond0');
  });

  it('stops with a message when no interface carries the address', () => {
    fakeBin(join(scratch, 'bin'), 'vllm');
    const input = vllmInput(['127.0.0.1', '192.0.2.250']);
    const res = runScript(renderVllmLaunchScript(input, input.nodes[1]!), {});
    expect(res.status).toBe(1);
    expect(res.stderr).toMatch(/no network interface carries 192\.0\.2\.250 on node node2/);
  });

  it('refuses DP sizes that do not split evenly over the nodes or do not fill the NPUs', () => {
    const uneven = vllmInput();
    uneven.deployment.parallel = { dataParallelSize: 1, tensorParallelSize: 16, moeTensorParallelSize: 1, moeExpertParallelSize: 16 };
    expectRenderError(() => renderVllmLaunchScript(uneven, uneven.nodes[0]!), { path: 'parallel.dataParallelSize' });
    const unfilled = vllmInput();
    unfilled.deployment.vllm = { dataParallelSizeLocal: 1 };
    expectRenderError(() => renderVllmLaunchScript(unfilled, unfilled.nodes[0]!), { path: 'vllm.dataParallelSizeLocal' });
    const extra = vllmInput();
    extra.deployment.vllm = { extraArgs: ['--x\n--y'] };
    expectRenderError(() => renderVllmLaunchScript(extra, extra.nodes[0]!), { path: 'vllm.extraArgs[0]' });
  });
});
