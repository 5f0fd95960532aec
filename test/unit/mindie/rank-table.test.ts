import { describe, expect, it } from 'vitest';
import { parseDeviceIps, rankTableText, renderRankTable, validateRankTable } from '../../../src/mindie/rank-table.js';
import { expectRenderError } from './expect-render-error.js';
import { fourNodeInput, makeNodes, twoNodeInput } from './inputs.js';

function allLeafValues(v: unknown): unknown[] {
  if (Array.isArray(v)) return v.flatMap(allLeafValues);
  if (typeof v === 'object' && v !== null) return Object.values(v).flatMap(allLeafValues);
  return [v];
}

describe('renderRankTable', () => {
  it('has exactly the v1.0 keys at every level', () => {
    const table = renderRankTable(twoNodeInput());
    expect(Object.keys(table).sort()).toEqual(['server_count', 'server_list', 'status', 'version']);
    for (const server of table.server_list) {
      expect(Object.keys(server).sort()).toEqual(['container_ip', 'device', 'server_id']);
      for (const dev of server.device) expect(Object.keys(dev).sort()).toEqual(['device_id', 'device_ip', 'rank_id']);
    }
    expect(table.version).toBe('1.0');
    expect(table.status).toBe('completed');
  });

  it('writes every value as a string', () => {
    const values = allLeafValues(renderRankTable(fourNodeInput()));
    expect(values.length).toBeGreaterThan(100);
    for (const v of values) expect(typeof v).toBe('string');
  });

  it('puts the master first and numbers ranks contiguously node by node', () => {
    const input = fourNodeInput();
    const table = renderRankTable(input);
    expect(table.server_count).toBe('4');
    expect(table.server_list.map((s) => s.server_id)).toEqual(['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4']);
    expect(table.server_list.map((s) => s.container_ip)).toEqual(table.server_list.map((s) => s.server_id));
    const ranks = table.server_list.flatMap((s) => s.device.map((d) => Number(d.rank_id)));
    expect(ranks).toEqual(Array.from({ length: 32 }, (_, i) => i));
    expect(table.server_list[0]?.device[0]).toEqual({ device_id: '0', device_ip: '192.168.100.11', rank_id: '0' });
    expect(table.server_list[2]?.device[5]).toEqual({ device_id: '5', device_ip: '192.168.102.16', rank_id: '21' });
  });

  it('takes device IPs keyed by host when the name is absent', () => {
    const input = twoNodeInput();
    const ips = input.deviceIps.node2 as string[];
    delete input.deviceIps.node2;
    input.deviceIps['10.0.0.2'] = ips;
    expect(renderRankTable(input).server_list[1]?.device[0]?.device_ip).toBe('192.168.101.11');
  });

  it('accepts loopback addresses (the simulated cluster runs on 127.0.0.0/8)', () => {
    const input = twoNodeInput();
    input.nodes = [
      { name: 'node1', host: '127.0.0.11', index: 0 },
      { name: 'node2', host: '127.0.0.12', index: 1 },
    ];
    input.deviceIps = { node1: Array.from({ length: 8 }, (_, d) => `127.0.1.${d + 1}`), node2: Array.from({ length: 8 }, (_, d) => `127.0.2.${d + 1}`) };
    expect(validateRankTable(renderRankTable(input)).server_list[1]?.server_id).toBe('127.0.0.12');
  });

  describe('refuses', () => {
    it('a node without device IPs', () => {
      const input = twoNodeInput();
      delete input.deviceIps.node2;
      expectRenderError(() => renderRankTable(input), { node: 'node2', message: /no NPU addresses for node node2/ });
    });

    it('a node with the wrong device count', () => {
      const input = twoNodeInput();
      input.deviceIps.node2 = (input.deviceIps.node2 as string[]).slice(0, 7);
      expectRenderError(() => renderRankTable(input), { node: 'node2', message: /7 NPU addresses; expected 8/ });
    });

    it.each([
      ['the hccn_tool placeholder', '-.-.-.-', /placeholder/],
      ['an x placeholder', 'x.x.x.x', /placeholder/],
      ['an empty string', '', /missing/],
      ['garbage', '192.168.1', /not a valid IP/],
      ['an out-of-range octet', '192.168.1.300', /not a valid IP/],
      ['the unspecified address', '0.0.0.0', /unspecified/],
    ])('%s as a device IP, naming node and NPU', (_label, bad, message) => {
      const input = twoNodeInput();
      (input.deviceIps.node2 as string[])[3] = bad;
      expectRenderError(() => renderRankTable(input), { node: 'node2', npu: 3, message });
    });

    it('a duplicate device IP, naming both NPUs', () => {
      const input = twoNodeInput();
      (input.deviceIps.node2 as string[])[5] = '192.168.100.12';
      expectRenderError(() => renderRankTable(input), { node: 'node2', npu: 5, message: /also used by node node1 NPU 1/ });
    });

    it('a single node (MindIE multi-node needs 2–60 servers)', () => {
      const input = twoNodeInput();
      input.nodes = makeNodes(1);
      expectRenderError(() => renderRankTable(input), { path: 'nodes', message: /2–60 servers/ });
    });

    it('a node address that is a host name', () => {
      const input = twoNodeInput();
      input.nodes = [{ name: 'node1', host: 'node1.example.com', index: 0 }, ...input.nodes.slice(1)];
      expectRenderError(() => renderRankTable(input), { node: 'node1', message: /not a valid IP/ });
    });

    it('nodes out of order (master must come first)', () => {
      const input = twoNodeInput();
      input.nodes = [input.nodes[1]!, input.nodes[0]!];
      expectRenderError(() => renderRankTable(input), { node: 'node2', message: /master must come first/ });
    });

    it('two nodes with the same address', () => {
      const input = twoNodeInput();
      input.nodes = [input.nodes[0]!, { name: 'node2', host: '10.0.0.1', index: 1 }];
      expectRenderError(() => renderRankTable(input), { node: 'node2', message: /used by another node/ });
    });
  });
});

describe('validateRankTable', () => {
  const good = (): Record<string, unknown> => JSON.parse(rankTableText(renderRankTable(twoNodeInput()))) as Record<string, unknown>;
  const servers = (t: Record<string, unknown>): Record<string, unknown>[] => t.server_list as Record<string, unknown>[];
  const devices = (t: Record<string, unknown>, k: number): Record<string, unknown>[] => servers(t)[k]!.device as Record<string, unknown>[];

  it('accepts what renderRankTable writes, and pins npusPerNode when asked', () => {
    expect(validateRankTable(good(), { npusPerNode: 8 }).server_count).toBe('2');
    expectRenderError(() => validateRankTable(good(), { npusPerNode: 4 }), { message: /expected 4/ });
  });

  it('refuses a number where a string belongs', () => {
    const t = good();
    devices(t, 1)[2]!.rank_id = 10;
    expectRenderError(() => validateRankTable(t), { path: 'server_list[1].device[2].rank_id', message: /must be a string/ });
  });

  it('refuses extra and missing keys', () => {
    const t = good();
    t.extra = 'x';
    expectRenderError(() => validateRankTable(t), { message: /unexpected extra/ });
    const u = good();
    delete servers(u)[0]!.container_ip;
    expectRenderError(() => validateRankTable(u), { path: 'server_list[0]', message: /missing container_ip/ });
  });

  it('refuses ranks that are not contiguous or a master that is not first', () => {
    const t = good();
    const list = servers(t);
    t.server_list = [list[1], list[0]];
    expectRenderError(() => validateRankTable(t), { path: 'server_list[0].device[0].rank_id', message: /expected "0"/ });
  });

  it('refuses a server_count that does not match', () => {
    const t = good();
    t.server_count = '3';
    expectRenderError(() => validateRankTable(t), { path: 'server_count' });
  });

  it('refuses a placeholder device_ip, naming server and NPU', () => {
    const t = good();
    devices(t, 1)[6]!.device_ip = '-.-.-.-';
    expectRenderError(() => validateRankTable(t), { node: '10.0.0.2', npu: 6, message: /placeholder/ });
  });

  it('refuses duplicate device IPs across servers', () => {
    const t = good();
    devices(t, 1)[0]!.device_ip = '192.168.100.11';
    expectRenderError(() => validateRankTable(t), { node: '10.0.0.2', npu: 0, message: /also used by server 10.0.0.1 NPU 0/ });
  });

  it('refuses servers with different device counts', () => {
    const t = good();
    servers(t)[1]!.device = devices(t, 1).slice(0, 4);
    expectRenderError(() => validateRankTable(t), { node: '10.0.0.2', message: /lists 4 devices; expected 8/ });
  });

  it('refuses a wrong version or status', () => {
    const t = good();
    t.version = '1.2';
    expectRenderError(() => validateRankTable(t), { path: 'version' });
    const u = good();
    u.status = 'initializing';
    expectRenderError(() => validateRankTable(u), { path: 'status' });
  });

  it('refuses a non-object', () => {
    expectRenderError(() => validateRankTable([]), { message: /not a JSON object/ });
  });
});

describe('parseDeviceIps', () => {
  const nodes = makeNodes(2);

  it('maps names and hosts to node names', () => {
    expect(parseDeviceIps({ node1: ['1.1.1.1'], '10.0.0.2': ['2.2.2.2'] }, nodes)).toEqual({ node1: ['1.1.1.1'], node2: ['2.2.2.2'] });
  });

  it('refuses unknown keys, missing nodes, doubled nodes and non-string lists', () => {
    expectRenderError(() => parseDeviceIps({ node1: [], node2: [], node9: [] }, nodes), { path: 'node9' });
    expectRenderError(() => parseDeviceIps({ node1: [] }, nodes), { node: 'node2', message: /no entry for node node2/ });
    expectRenderError(() => parseDeviceIps({ node1: [], '10.0.0.1': [], node2: [] }, nodes), { node: 'node1', message: /twice/ });
    expectRenderError(() => parseDeviceIps({ node1: [1, 2], node2: [] }, nodes), { node: 'node1' });
    expectRenderError(() => parseDeviceIps('x', nodes), { message: /not a JSON object/ });
  });
});
