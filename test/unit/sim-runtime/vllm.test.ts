import { afterEach, describe, expect, it } from 'vitest';
import type { SimCluster } from '../../../src/sim/cluster.js';
import type { SimNode } from '../../../src/sim/ascend-node.js';
import { MODEL, VLLM_IMAGE, docker, logsOf, startCluster, stopCluster, waitExit, waitLog } from './helpers.js';

let cluster: SimCluster | undefined;
afterEach(async () => {
  if (cluster) await stopCluster(cluster);
  cluster = undefined;
});

function vllmRun(node: SimNode, head: SimNode, index: number, opts: { startRank?: number; ifIp?: string } = {}): string[] {
  const serve = [
    'vllm', 'serve', MODEL, '--served-model-name', 'deepseek-r1', '--data-parallel-size', '4', '--data-parallel-size-local', '2',
    '--data-parallel-address', head.host, '--data-parallel-rpc-port', '13389', '--tensor-parallel-size', '4',
    '--enable-expert-parallel', '--host', '0.0.0.0', '--port', '8000', '--reasoning-parser', 'deepseek_r1',
  ];
  if (index > 0) serve.push('--headless', '--data-parallel-start-rank', String(opts.startRank ?? index * 2));
  return [
    'run', '-d', '--name', 'ascendctl-r1', '--net=host', '--shm-size=1g', '--privileged', '-e', `HCCL_IF_IP=${opts.ifIp ?? node.host}`,
    '-v', `${MODEL}:${MODEL}:ro`, '-v', '/usr/local/Ascend/driver:/usr/local/Ascend/driver:ro', VLLM_IMAGE, ...serve,
  ];
}

describe('vLLM-Ascend data-parallel launch', () => {
  it('head + headless come up; the head serves vLLM framing', async () => {
    cluster = await startCluster(110);
    const [head, w] = cluster.nodes as [SimNode, SimNode];
    expect((await docker(head, vllmRun(head, head, 0))).code).toBe(0);
    expect((await docker(w, vllmRun(w, head, 1))).code).toBe(0);
    await waitLog(head, /Application startup complete\./, 'ascendctl-r1');
    await waitLog(w, /connected to the DP coordinator/, 'ascendctl-r1');
    expect((await fetch('http://127.0.110.1:8000/health')).status).toBe(200);
    const models = (await (await fetch('http://127.0.110.1:8000/v1/models')).json()) as { data: { id: string }[] };
    expect(models.data.map((m) => m.id)).toEqual(['deepseek-r1']);

    const stream = async (includeUsage: boolean): Promise<Record<string, any>[]> => {
      const res = await fetch('http://127.0.110.1:8000/v1/chat/completions', {
        method: 'POST',
        body: JSON.stringify({ model: 'deepseek-r1', stream: true, max_tokens: 4, messages: [{ role: 'user', content: 'hi' }], ...(includeUsage ? { stream_options: { include_usage: true } } : {}) }),
      });
      const events = (await res.text()).split('\n\n').filter((e) => e !== '');
      expect(events.at(-1)).toBe('data: [DONE]');
      return events.slice(0, -1).map((e) => JSON.parse(e.slice('data: '.length)));
    };
    const noUsage = await stream(false);
    expect(noUsage.some((c) => 'usage' in c)).toBe(false);
    expect(noUsage.slice(1).some((c) => c.choices[0]?.delta?.role !== undefined)).toBe(false);
    const withUsage = await stream(true);
    const last = withUsage.at(-1)!;
    expect(last.choices).toEqual([]);
    expect(last.usage.completion_tokens).toBe(4);
    expect(withUsage.at(-2)!.choices[0].finish_reason).toBe('length');
    expect(head.listeningSockets().some((l) => l.port === 8000 && l.address === head.host)).toBe(true);
    expect(w.listeningSockets().some((l) => l.port === 8000)).toBe(false);
  });

  it('start ranks that do not add up leave the head waiting with a gloo error', async () => {
    cluster = await startCluster(111);
    const [head, w] = cluster.nodes as [SimNode, SimNode];
    await docker(head, vllmRun(head, head, 0));
    await docker(w, vllmRun(w, head, 1, { startRank: 1 }));
    const log = await waitLog(head, /gloo/, 'ascendctl-r1');
    expect(log).not.toContain('Application startup complete.');
    expect((await docker(head, ['inspect', '--format', '{{.State.Status}}', 'ascendctl-r1'])).stdout).toBe('running\n');
  });

  it('HCCL_IF_IP other than the node address fails the node', async () => {
    cluster = await startCluster(112);
    const [head] = cluster.nodes as [SimNode, SimNode];
    await docker(head, vllmRun(head, head, 0, { ifIp: '10.1.1.1' }));
    const { code, log } = await waitExit(cluster, head, 'ascendctl-r1');
    expect(code).toBe(1);
    expect(log).toContain('HCCL_IF_IP 10.1.1.1');
    expect(await logsOf(head, 'ascendctl-r1')).not.toContain('startup complete');
  });
});
