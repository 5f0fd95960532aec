/**
 * The reads every preflight makes beside the device queue, fetched as one batch (src/preflight/read-ahead.ts):
 * each read gets what it would have got alone, once; anything the batch did not bring back is read on its
 * own; and a preflight over SSH opens fewer channels per node for it, with the same findings.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemoCluster, type DemoCluster } from '../../../src/demo/cluster.js';
import { ReadAhead } from '../../../src/preflight/read-ahead.js';
import { runPreflight } from '../../../src/preflight/run.js';
import { loadInventory } from '../../../src/config/inventory.js';
import { SshPool } from '../../../src/remote/ssh-pool.js';
import type { ExecResult, Transport } from '../../../src/remote/transport.js';

const READS = [{ argv: ['cat', '/etc/hccn.conf'], timeoutMs: 5_000 }, { argv: ['ip', '-o', 'addr', 'show'], timeoutMs: 5_000 }];

/** A node that answers a batch with each call framed, and a single call with `single <argv>`. */
function fakeNode(opts: { batchFails?: boolean } = {}): Transport & { execs: string[] } {
  const execs: string[] = [];
  const ok = (stdout: string): ExecResult => ({ stdout, stderr: '', code: 0, timedOut: false, durationMs: 1 });
  return {
    execs,
    target: { name: 'node1', host: '127.0.0.1' },
    exec: async (argv) => {
      execs.push(argv.join(' '));
      if (argv[0] !== 'sh') return ok(`single ${argv.join(' ')}\n`);
      if (opts.batchFails) throw new Error('channel refused');
      const marker = /(ascendctl-batch-[0-9a-f]+)/.exec(argv[2]!)![1]!;
      const calls = argv[2]!.split(`printf '\\n%s %s\\n'`).length - 1;
      let stdout = '';
      let stderr = '';
      for (let i = 0; i < calls; i++) {
        stdout += `\n${marker} ${i}\nbatched ${READS[i]!.argv.join(' ')}\n\n${marker} ${i} 0\n`;
        stderr += `\n${marker} ${i}\n`;
      }
      return { stdout, stderr, code: 0, timedOut: false, durationMs: 1 };
    },
    stream: async () => { throw new Error('unused'); },
    upload: async () => undefined,
    close: async () => undefined,
  };
}

describe('ReadAhead', () => {
  it('answers each read ahead from one batch, once; asked again, the node is asked', async () => {
    const node = fakeNode();
    const t = new ReadAhead(node, READS);
    expect((await t.exec(['ip', '-o', 'addr', 'show'])).stdout).toBe('batched ip -o addr show\n');
    expect((await t.exec(['cat', '/etc/hccn.conf'])).stdout).toBe('batched cat /etc/hccn.conf\n');
    expect(node.execs.filter((e) => e.startsWith('sh -c'))).toHaveLength(1);
    expect((await t.exec(['cat', '/etc/hccn.conf'])).stdout).toBe('single cat /etc/hccn.conf\n');
    expect((await t.exec(['date', '+%s'])).stdout).toBe('single date +%s\n');
  });

  it('after forget(), and when the batch fails, every read is made on its own', async () => {
    const node = fakeNode();
    const t = new ReadAhead(node, READS);
    t.forget();
    expect((await t.exec(['cat', '/etc/hccn.conf'])).stdout).toBe('single cat /etc/hccn.conf\n');

    const failing = fakeNode({ batchFails: true });
    const u = new ReadAhead(failing, READS);
    expect((await u.exec(['cat', '/etc/hccn.conf'])).stdout).toBe('single cat /etc/hccn.conf\n');
    expect((await u.exec(['ip', '-o', 'addr', 'show'])).stdout).toBe('single ip -o addr show\n');
  });
});

describe('preflight reads ahead over SSH', () => {
  let cluster: DemoCluster;

  beforeAll(async () => {
    cluster = await startDemoCluster({
      nodes: 2, subnet: 161,
      // Faults on the reads themselves: each must still be reported through the batch.
      faults: { node2: [{ kind: 'old-driver', version: '23.0.0' }, { kind: 'hccn-conf-missing' }, { kind: 'runtime-down' }] },
    });
  }, 60_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  it('opens at most 7 channels per node (11–12 without reading ahead) and reports the read faults as before', async () => {
    const inventory = await loadInventory(path.join(cluster.dir, 'inventory.yaml'), { env: {}, home: cluster.dir, cwd: cluster.dir });
    const pool = new SshPool({ env: {} });
    try {
      const r = await runPreflight({ inventory, pool });
      expect(pool.stats.channelsOpened).toBeLessThanOrEqual(2 * 7);
      const node2 = r.findings.filter((f) => f.node === 'node2' && f.status === 'fail').map((f) => f.check);
      expect(node2).toEqual(expect.arrayContaining(['driver', 'hccn.conf', 'container-runtime']));
      expect(r.findings.filter((f) => f.node === 'node1' && f.status === 'fail')).toEqual([]);
      expect(r.facts.every((f) => f.address?.kind === 'ok')).toBe(true);
    } finally {
      await pool.closeAll();
    }
  });
});
