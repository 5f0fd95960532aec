import { describe, expect, it } from 'vitest';
import { renderDeployment } from '../../../src/mindie/render.js';
import { validateRankTable } from '../../../src/mindie/rank-table.js';
import { expectRenderError } from './expect-render-error.js';
import { fourNodeInput, twoNodeInput } from './inputs.js';

describe('renderDeployment', () => {
  it('renders the four files per node under /var/lib/ascendctl/<name>, mode 640', () => {
    const out = renderDeployment(fourNodeInput());
    expect(out.nodes.map((n) => n.node.name)).toEqual(['node1', 'node2', 'node3', 'node4']);
    for (const n of out.nodes) {
      expect(n.files.map((f) => f.path)).toEqual([
        '/var/lib/ascendctl/deepseek-r1/ranktable.json',
        '/var/lib/ascendctl/deepseek-r1/config.json',
        '/var/lib/ascendctl/deepseek-r1/env',
        '/var/lib/ascendctl/deepseek-r1/launch.sh',
      ]);
      expect(n.files.every((f) => f.mode === 0o640)).toBe(true);
      expect(n.files[0]?.content).toBe(out.rankTable);
      expect(n.containerArgv[0]).toBe('docker');
      expect(n.containerCommand.startsWith('docker run -d \\\n')).toBe(true);
    }
    expect(validateRankTable(JSON.parse(out.rankTable ?? 'null'), { npusPerNode: 8 }).server_count).toBe('4');
  });

  it('gives each node its own address in config.json and env', () => {
    const out = renderDeployment(twoNodeInput());
    for (const n of out.nodes) {
      const config = JSON.parse(n.files[1]?.content ?? '{}') as { ServerConfig: { ipAddress: string } };
      expect(config.ServerConfig.ipAddress).toBe(n.node.host);
      expect(n.files[2]?.content).toContain(`MIES_CONTAINER_IP=${n.node.host}\n`);
    }
  });

  it('has a digest that is stable and changes with any rendered byte', () => {
    const a = renderDeployment(twoNodeInput());
    expect(renderDeployment(twoNodeInput()).digest).toBe(a.digest);
    expect(a.digest).toMatch(/^[0-9a-f]{64}$/);
    const changed = [
      renderDeployment(twoNodeInput({ npuMemoryFraction: 0.96 })),
      renderDeployment(twoNodeInput({ image: 'mindie:2.2.RC1' })),
      renderDeployment(twoNodeInput({ mindieConfig: { ServerConfig: { maxLinkNum: 1000 } } })),
    ];
    for (const c of changed) expect(c.digest).not.toBe(a.digest);
    const ips = twoNodeInput();
    (ips.deviceIps.node2 as string[])[7] = '192.168.101.99';
    const d = renderDeployment(ips);
    expect(d.digest).not.toBe(a.digest);
    expect(d.nodes[0]?.digest).not.toBe(a.nodes[0]?.digest); // every node gets the new rank table
  });

  it('for vLLM-Ascend renders env and launcher only, no rank table', () => {
    const input = twoNodeInput({
      backend: 'vllm-ascend',
      image: 'quay.io/ascend/vllm-ascend:v0.13.0',
      parallel: { dataParallelSize: 4, tensorParallelSize: 4, moeTensorParallelSize: 1, moeExpertParallelSize: 16 },
    });
    input.deviceIps = {};
    const out = renderDeployment(input);
    expect(out.rankTable).toBeNull();
    expect(out.nodes[1]?.files.map((f) => f.path)).toEqual(['/var/lib/ascendctl/deepseek-r1/env', '/var/lib/ascendctl/deepseek-r1/launch.sh']);
    expect(out.nodes[1]?.files[1]?.content).toContain('--headless');
  });

  it('propagates the first RenderError (naming node and NPU)', () => {
    const input = twoNodeInput();
    (input.deviceIps.node1 as string[])[2] = '-.-.-.-';
    expectRenderError(() => renderDeployment(input), { node: 'node1', npu: 2 });
  });
});

describe('checkAcrossNodes', () => {
  it('refuses nodes that would disagree on rank table, HCCL env or ports', async () => {
    const { checkAcrossNodes } = await import('../../../src/mindie/render.js');
    const { buildMindieConfig } = await import('../../../src/mindie/config-json.js');
    const input = twoNodeInput();
    const configs = input.nodes.map((n) => buildMindieConfig(input, n));
    const fresh = () => renderDeployment(input).nodes;
    expect(() => checkAcrossNodes(fresh(), configs)).not.toThrow();

    const table = fresh();
    table[1]!.files[0]!.content = '{}';
    expectRenderError(() => checkAcrossNodes(table, configs), { node: 'node2', message: /different rank table/ });

    const hccl = fresh();
    hccl[1]!.env = [...hccl[1]!.env, ['HCCL_BUFFSIZE', '64']];
    expectRenderError(() => checkAcrossNodes(hccl, configs), { node: 'node2', message: /different HCCL variables/ });

    const ports = structuredClone(configs);
    (ports[1]!.ServerConfig as Record<string, unknown>).port = 9999;
    expectRenderError(() => checkAcrossNodes(fresh(), ports), { node: 'node2', message: /different ports/ });
  });
});
