/**
 * One node's tool calls as one remote command (src/preflight/batch.ts): each call gets back exactly
 * what it would have got on its own, a call whose frame is cut short gets nothing (and is made on its
 * own), and a preflight over SSH opens a handful of channels per node instead of one per call.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemoCluster, type DemoCluster } from '../../../src/demo/cluster.js';
import { MAX_BATCH_CHARS, batchScript, parseBatch, runBatch } from '../../../src/preflight/batch.js';
import { collect, type PreflightNode } from '../../../src/preflight/collect.js';
import { SshPool } from '../../../src/remote/ssh-pool.js';
import type { SshEndpoint } from '../../../src/remote/endpoint.js';

const HCCN = '/usr/local/Ascend/driver/tools/hccn_tool';
const M = 'ascendctl-batch-0123456789abcdef01234567';

describe('parseBatch', () => {
  it('splits both streams into each call\'s output and exit status, keeping output without a final newline', () => {
    const stdout = `\n${M} 0\nlink status: UP\n\n${M} 0 0\n\n${M} 1\nno newline\n${M} 1 13\n`;
    const stderr = `\n${M} 0\n\n${M} 1\nno ip was preset\n`;
    expect(parseBatch(stdout, stderr, 2, M)).toEqual([
      { stdout: 'link status: UP\n', stderr: '', code: 0, timedOut: false, durationMs: 0 },
      { stdout: 'no newline', stderr: 'no ip was preset\n', code: 13, timedOut: false, durationMs: 0 },
    ]);
  });

  it('gives no result for a call whose frame is not complete, nor for any after it', () => {
    const stdout = `\n${M} 0\nok\n\n${M} 0 0\n\n${M} 1\npartial out`;
    const stderr = `\n${M} 0\n\n${M} 1\n`;
    const r = parseBatch(stdout, stderr, 3, M);
    expect(r[0]).toMatchObject({ stdout: 'ok\n', code: 0 });
    expect(r[1]).toBeUndefined();
    expect(r[2]).toBeUndefined();
  });

  it('reads a call stopped by its bound (timeout: 124, or 137 after -k) as timed out', () => {
    const stdout = `\n${M} 0\n\n${M} 0 124\n\n${M} 1\n\n${M} 1 137\n`;
    const r = parseBatch(stdout, `\n${M} 0\n\n${M} 1\n`, 2, M);
    expect(r.map((x) => x?.timedOut)).toEqual([true, true]);
  });

  it('is nothing when the node answered without frames (no sh: every call is made on its own)', () => {
    expect(parseBatch('', 'sh: command not found\n', 2, M)).toEqual([undefined, undefined]);
  });

  it('quotes every argument and bounds every call as a single call is', () => {
    const s = batchScript([{ argv: [HCCN, '-i', '0', '-ping', '-g', 'address', "a'b"], timeoutMs: 20_000 }], M);
    expect(s).toContain(`timeout -k 5 20 ${HCCN} -i 0 -ping -g address 'a'\\''b'`);
    expect(s).toContain('"$?"');
  });

  it('puts each call\'s own sudo words before its bound, as exec does for a single call', () => {
    const calls = [{ argv: [HCCN, '-i', '0', '-link', '-g'], timeoutMs: 20_000 }, { argv: ['date', '+%s'], timeoutMs: 5_000 }];
    const s = batchScript(calls, M, [['sudo', '-n', '--'], []]);
    expect(s).toContain(`sudo -n -- timeout -k 5 20 ${HCCN} -i 0 -link -g`);
    expect(s).not.toMatch(/sudo -n -- timeout -k 5 5 date/);
  });

  it('makes no batch when a call needs sudo with a password, and stops batching at sudo\'s own refusal', async () => {
    const execs: string[][] = [];
    const base = { target: { name: 'n1', host: '127.0.0.1' } as never, stream: async () => { throw new Error('unused'); }, upload: async () => undefined, close: async () => undefined };
    const needsPassword = { ...base, exec: async (argv: readonly string[]) => { execs.push([...argv]); throw new Error('unused'); }, callPrefix: async () => undefined };
    const calls = [{ argv: [HCCN, '-i', '0', '-link', '-g'], timeoutMs: 20_000 }, { argv: [HCCN, '-i', '1', '-link', '-g'], timeoutMs: 20_000 }];
    expect(await runBatch(needsPassword, calls)).toEqual([undefined, undefined]);
    expect(execs).toEqual([]);

    const refusing = {
      ...base,
      callPrefix: async () => ['sudo', '-n', '--'],
      exec: async (argv: readonly string[], opts?: { asLoginUser?: boolean }) => {
        execs.push([...argv]);
        expect(opts?.asLoginUser).toBe(true);
        const marker = /(ascendctl-batch-[0-9a-f]+)/.exec(argv[2]!)![1]!;
        return {
          stdout: `\n${marker} 0\nlink status: UP\n\n${marker} 0 0\n\n${marker} 1\n\n${marker} 1 1\n`,
          stderr: `\n${marker} 0\n\n${marker} 1\nsudo: a password is required\n`,
          code: 0, timedOut: false, durationMs: 1,
        };
      },
    };
    const r = await runBatch(refusing, calls);
    expect(r[0]?.stdout).toBe('link status: UP\n');
    expect(r[1]).toBeUndefined();
    expect(execs[0]?.slice(0, 2)).toEqual(['sh', '-c']);
  });
});

describe('runBatch', () => {
  it('says a call stopped by its bound ran for that bound, as a single call would (not 0 s)', async () => {
    const t = {
      target: { name: 'n1', host: '127.0.0.1' }, stream: async () => { throw new Error('unused'); },
      upload: async () => undefined, close: async () => undefined,
      exec: async (argv: readonly string[]) => {
        const marker = /(ascendctl-batch-[0-9a-f]+)/.exec(argv[2]!)![1]!;
        return { stdout: `\n${marker} 0\n\n${marker} 0 0\n\n${marker} 1\n\n${marker} 1 124\n`, stderr: `\n${marker} 0\n\n${marker} 1\n`,
          code: 0, timedOut: false, durationMs: 1 };
      },
    };
    const r = await runBatch(t, [{ argv: ['cat', '/etc/hccn.conf'], timeoutMs: 5_000 }, { argv: ['ip', '-o', 'addr'], timeoutMs: 7_000 }]);
    expect(r[0]).toMatchObject({ code: 0, timedOut: false });
    expect(r[1]).toMatchObject({ code: 124, timedOut: true, durationMs: 7_000 });
  });
});

describe('batches over SSH against simulated nodes', () => {
  let cluster: DemoCluster;
  let pool: SshPool;
  let endpoints: SshEndpoint[];

  beforeAll(async () => {
    cluster = await startDemoCluster({ nodes: 2, subnet: 158, faults: { node2: [{ kind: 'no-gateway', npu: 3 }] } });
    pool = new SshPool({ env: {} });
    endpoints = cluster.nodes.map((n) => ({
      name: n.name, host: n.host, hostname: n.host, port: 2222, user: 'root', identityFiles: [path.join(cluster.dir, 'id_ed25519')],
      useAgent: false, knownHostsFile: path.join(cluster.dir, 'known_hosts'), strictHostKeyChecking: 'yes', connectTimeoutMs: 10_000,
    }));
  }, 60_000);

  afterAll(async () => {
    await pool?.closeAll();
    await cluster?.stop();
  });

  it('answers each call as it answers on its own: output, error text and exit status, a missing tool included', async () => {
    const t = pool.transport(endpoints[1]!);
    const calls = [
      { argv: [HCCN, '-i', '3', '-link', '-g'], timeoutMs: 10_000 },
      { argv: [HCCN, '-i', '3', '-gateway', '-g'], timeoutMs: 10_000 },
      { argv: ['/usr/local/bin/no-such-tool', 'info'], timeoutMs: 10_000 },
      { argv: [HCCN, '-i', '3', '-ip', '-g'], timeoutMs: 10_000 },
    ];
    const batched = await runBatch(t, calls);
    for (const [i, c] of calls.entries()) {
      const alone = await t.exec(c.argv, { timeoutMs: c.timeoutMs });
      expect(batched[i], c.argv.join(' ')).toMatchObject({ stdout: alone.stdout, stderr: alone.stderr, code: alone.code, timedOut: false });
    }
    expect(batched[1]!.code).not.toBe(0); // the fault is seen through the batch
    expect(batched[2]!.code).toBe(127);
  });

  it('splits a long run of calls into several commands that each fit one SSH packet, every call answered', async () => {
    const t = pool.transport(endpoints[0]!);
    const calls = Array.from({ length: 200 }, (_, i) => ({ argv: [HCCN, '-i', String(i % 8), '-optical', '-g'], timeoutMs: 10_000 }));
    expect(batchScript(calls, M).length).toBeGreaterThan(2 * MAX_BATCH_CHARS);
    const before = t.stats.channelsOpened;
    const results = await runBatch(t, calls);
    expect(results.every((r) => r?.code === 0 && /Tx Power/i.test(r.stdout))).toBe(true);
    const used = t.stats.channelsOpened - before;
    expect(used).toBeGreaterThan(1);
    expect(used).toBeLessThan(10);
  });

  it('a preflight opens a few channels per node, not one per tool call, and still finds the fault', async () => {
    const before = pool.stats.channelsOpened;
    const nodes: PreflightNode[] = endpoints.map((ep) => ({
      name: ep.name, address: ep.host,
      tools: { hccnTool: HCCN, npuSmi: 'npu-smi', containerRuntime: 'docker' },
      transport: async () => {
        const t = pool.transport(ep);
        await t.connect();
        return t;
      },
    }));
    const facts = await collect({ nodes, npusPerNode: 8, pingMode: 'auto' });
    const channels = pool.stats.channelsOpened - before;
    // Alone, each node makes 8 ip + 64 check + 8 ping gets, npu-smi, the clock and the file reads: ~90.
    expect(channels).toBeLessThan(2 * 20);
    const node2 = facts.find((f) => f.node === 'node2')!;
    expect(node2.npus[3]!.gateway).toEqual({ kind: 'ok', value: null });
    expect(node2.npus[2]!.gateway).toMatchObject({ kind: 'ok', value: expect.any(String) });
    expect(facts.every((f) => f.pings.length === 8 && f.pings.every((p) => p.outcome.kind === 'ok'))).toBe(true);
  });
});
