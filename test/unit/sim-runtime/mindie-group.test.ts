import { afterEach, describe, expect, it } from 'vitest';
import type { SimCluster } from '../../../src/sim/cluster.js';
import {
  DEP, DIR, docker, logsOf, runArgv, startAll, startCluster, stopCluster, waitExit, waitLog, writeDeployment,
} from './helpers.js';

let cluster: SimCluster | undefined;
afterEach(async () => {
  if (cluster) await stopCluster(cluster);
  cluster = undefined;
});

async function sse(url: string, body: unknown): Promise<{ status: number; events: string[] }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, events: text.split('\n\n').filter((e) => e !== '') };
}

describe('2-node MindIE group', () => {
  it('comes up with valid files and serves the MindIE streaming framing', async () => {
    cluster = await startCluster(61);
    await writeDeployment(cluster);
    await startAll(cluster);
    const [n1, n2] = cluster.nodes as [typeof cluster.nodes[0], typeof cluster.nodes[0]];
    const master = await waitLog(n1, /Daemon start success!/);
    await waitLog(n2, /Daemon start success!/);
    expect(master).toMatch(/\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\+08:00\] \[\d+\] \[INFO\] \[llm\] Start to parse ranktable file/);
    expect(master).toContain('Finished parsing ranktable file.');
    expect(master).toContain('Update worldSize and npuDeviceIds of backend config successfully for Multi Nodes Inference');
    expect(await logsOf(n2)).toContain('skip tokenizer pool and http wrapper');

    // Listeners on the master only, shown in the node's listener table; NPU processes visible.
    expect(n1.listeningSockets().map((l) => `${l.address}:${l.port}`)).toEqual(expect.arrayContaining(['127.0.61.1:1025', '127.0.61.1:1026', '127.0.61.1:1027']));
    expect(n2.listeningSockets().some((l) => l.port === 1025)).toBe(false);
    expect(n2.npuProcesses(0)[0]?.name).toBe('mindie_llm_back');
    expect(n1.hbmUsedMb(3)).toBeGreaterThan(60000);

    const health = await fetch('http://127.0.61.1:1026/health');
    expect(health.status).toBe(200);
    // The §8 trap: /v1/models answers 404 in multi-node mode.
    expect((await fetch('http://127.0.61.1:1025/v1/models')).status).toBe(404);

    const { status, events } = await sse('http://127.0.61.1:1025/v1/chat/completions', {
      model: 'deepseek-r1', stream: true, max_tokens: 6, messages: [{ role: 'user', content: 'hi' }],
      stream_options: { include_usage: false },
    });
    expect(status).toBe(200);
    expect(events.at(-1)).toBe('data: [DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e.replace(/^data: /, '')));
    expect(chunks[0].choices[0].delta).toEqual({ role: 'assistant', content: '' });
    expect(chunks[0].choices[0].finish_reason).toBeNull();
    expect(chunks).toHaveLength(7);
    for (const c of chunks.slice(1)) expect(c.choices[0].delta.role).toBe('assistant');
    const last = chunks.at(-1);
    expect(last.choices[0].finish_reason).toBe('length');
    expect(last.usage).toMatchObject({ completion_tokens: 6, total_tokens: last.usage.prompt_tokens + 6 });
    expect(chunks.slice(0, -1).some((c) => 'usage' in c)).toBe(false);
    // enable_reasoning + model_type deepseek_v3: think text arrives as reasoning_content.
    expect(chunks.slice(1).some((c) => typeof c.choices[0].delta.reasoning_content === 'string')).toBe(true);

    const wrong = await fetch('http://127.0.61.1:1025/v1/chat/completions', {
      method: 'POST', body: JSON.stringify({ model: 'gpt-4', messages: [{ role: 'user', content: 'x' }] }),
    });
    expect(wrong.status).toBeGreaterThanOrEqual(400);
    expect(await wrong.text()).toContain('Model not found');

    const plain = await fetch('http://127.0.61.1:1025/v1/chat/completions', {
      method: 'POST', body: JSON.stringify({ model: 'deepseek-r1', messages: [{ role: 'user', content: 'hello' }] }),
    });
    const body = (await plain.json()) as { choices: { message: { content: string; reasoning_content?: string } }[] };
    expect(body.choices[0]!.message.content.length).toBeGreaterThan(0);
    expect(body.choices[0]!.message.reasoning_content?.length).toBeGreaterThan(0);
    expect((await fetch('http://127.0.61.1:1027/metrics')).status).toBe(200);

    // A worker dying breaks the group: master health turns 500 and the master exits non-zero.
    await docker(n2, ['rm', '-f', `ascendctl-${DEP}`]);
    const after = await fetch('http://127.0.61.1:1026/health').catch(() => undefined);
    if (after) expect([500, 200]).toContain(after.status);
    const m = await waitExit(cluster, n1);
    expect(m.code).not.toBe(0);
    expect(m.log).toMatch(/EI0006/);
    expect(n1.listeningSockets().some((l) => l.port === 1025)).toBe(false);
  });

  it('docker stop logs the MindIE shutdown line and exits', async () => {
    cluster = await startCluster(62);
    await writeDeployment(cluster);
    await startAll(cluster);
    const [n1, n2] = cluster.nodes as [typeof cluster.nodes[0], typeof cluster.nodes[0]];
    await waitLog(n1, /Daemon start success!/);
    const r = await docker(n2, ['stop', '-t', '30', `ascendctl-${DEP}`]);
    expect(r).toMatchObject({ code: 0, stdout: `ascendctl-${DEP}\n` });
    expect(await logsOf(n2)).toContain('Daemon is killing, please wait about 15 seconds...');
    const state = await docker(n2, ['inspect', '--format', '{{.State.Status}} {{.State.ExitCode}}', 
      `ascendctl-${DEP}`]);
    expect(state.stdout).toBe('exited 0\n');
  });
});

describe('MindIE start failures (the container exits non-zero with the reference text)', () => {
  const cases: { name: string; subnet: number; prep: (c: SimCluster) => Promise<void>; node?: 0 | 1; text: RegExp; faults?: Record<string, any[]> }[] = [
    { name: 'config.json mode 644', subnet: 70, prep: (c) => writeDeployment(c, { configMode: 0o644 }), text: /Check path: config\.json failed, by:.*permission is 644/ },
    {
      name: 'config.json owned by uid 1000', subnet: 71,
      prep: async (c) => {
        await writeDeployment(c);
        await (c.nodes[0]!.fs as unknown as { chown(p: string, u: number): Promise<void> }).chown(`${DIR}/config.json`, 1000);
      },
      text: /Check path: config\.json failed, by:owner id diff: current process user id is 0, file owner id is 1000/,
    },
    {
      name: 'wrong device_ip', subnet: 72,
      prep: (c) => writeDeployment(c, { rankTable: (rt) => void (rt.server_list[0].device[2].device_ip = '192.168.250.250') }),
      text: /Parameter device_ip is invalid in ranktable file/,
    },
    {
      name: 'placeholder device_ip', subnet: 73,
      prep: (c) => writeDeployment(c, { rankTable: (rt) => void (rt.server_list[1].device[0].device_ip = '-.-.-.-') }),
      text: /Input device_ip \[-\.-\.-\.-\] is invalid[\s\S]*Parameter device_ip is invalid in ranktable file/,
    },
    {
      name: 'httpsEnabled true', subnet: 74,
      prep: (c) => writeDeployment(c, { config: (cfg) => void (cfg.ServerConfig.httpsEnabled = true) }), text: /tlsCert/,
    },
    {
      name: 'interNodeTLSEnabled true', subnet: 75,
      prep: (c) => writeDeployment(c, { config: (cfg) => void (cfg.BackendConfig.interNodeTLSEnabled = true) }), text: /interNodeTlsCert/,
    },
    {
      name: 'wrong ipAddress', subnet: 76,
      prep: (c) => writeDeployment(c, { config: (cfg) => void (cfg.ServerConfig.ipAddress = '10.9.9.9'), env: (env) => void delete env.MIES_CONTAINER_IP }),
      text: /\[MIE04E02041C\] Failed to listen 10\.9\.9\.9:1025, please check if business ip and port are legal/,
    },
    { name: 'port taken', subnet: 77, faults: { node1: [{ kind: 'port-taken', port: 1026 }] }, prep: (c) => writeDeployment(c), text: /Management or Business or Metrics Http server listen port is occupied/ },
    { name: 'model missing', subnet: 78, faults: { node1: [{ kind: 'model-missing' }] }, prep: (c) => writeDeployment(c), text: /\/data\/models\/DeepSeek-R1/ },
    {
      name: 'missing dp', subnet: 79,
      prep: (c) => writeDeployment(c, { config: (cfg) => void delete cfg.BackendConfig.ModelDeployConfig.ModelConfig[0].dp }),
      text: /Invalid DP number per node: 0/,
    },
    {
      name: 'worker never joins → EI0006 on the master', subnet: 80, faults: { node2: [{ kind: 'worker-never-joins' }] },
      prep: (c) => writeDeployment(c, { env: (env) => void (env.HCCL_CONNECT_TIMEOUT = '20') }),
      text: /EI0006[\s\S]*Get_Socket_Timeout[\s\S]*HcclCommInitRootInfo failed/,
    },
    { name: 'inconsistent TLS', subnet: 81, faults: { node2: [{ kind: 'tls-on', npu: 3 }] }, prep: (c) => writeDeployment(c), text: /EI0014: Some ranks tlsStatus are inconsistent/ },
    { name: 'device-ip drift', subnet: 82, faults: { node1: [{ kind: 'device-ip-drift', npu: 1, actual: '192.168.1.99' }] }, prep: (c) => writeDeployment(c, { rankTable: (rt) => void (rt.server_list[0].device[1].device_ip = c.nodes[0]!.reportedIp(1)) }), text: /Parameter device_ip is invalid in ranktable file/ },
    {
      name: 'parallel sizes inconsistent with the rank table', subnet: 83,
      prep: (c) => writeDeployment(c, { config: (cfg) => void (cfg.BackendConfig.ModelDeployConfig.ModelConfig[0].tp = 4) }),
      text: /dp\(2\) \* tp\(4\) != worldSize\(16\)/,
    },
    {
      name: 'set_env scripts not sourced', subnet: 84,
      prep: (c) => writeDeployment(c, { launch: (s) => s.replace(/^\[ -f \/usr\/local\/Ascend\/nnal.*$/m, '') }),
      text: /libatb\.so: cannot open shared object file/,
    },
  ];

  for (const tc of cases) {
    it(tc.name, async () => {
      cluster = await startCluster(tc.subnet, 2, tc.faults ?? {});
      await tc.prep(cluster);
      await startAll(cluster);
      const node = cluster.nodes[tc.node ?? 0]!;
      const { code, log } = await waitExit(cluster, node);
      expect(code).not.toBe(0);
      expect(log).toMatch(tc.text);
      expect(node.listeningSockets().some((l) => l.port === 1025 && l.address === node.host)).toBe(false);
    });
  }

  it('a worker whose master never starts waits the window and fails with EI0006', async () => {
    cluster = await startCluster(85);
    await writeDeployment(cluster, { env: (env) => void (env.HCCL_CONNECT_TIMEOUT = '10') });
    const n2 = cluster.nodes[1]!;
    expect((await docker(n2, runArgv(n2))).code).toBe(0);
    const { code, log } = await waitExit(cluster, n2);
    expect(code).not.toBe(0);
    expect(log).toMatch(/EI0006/);
    expect(log).toContain('HcclCommInitRootInfo failed');
  });
});
