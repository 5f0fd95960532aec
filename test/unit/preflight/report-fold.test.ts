/** The human preflight report folds node lists (`node[03-05]`) where it lists several nodes together. */
import { describe, expect, it } from 'vitest';
import { PassThrough } from 'node:stream';
import { Output } from '../../../src/ui/output.js';
import { renderPreflightReport } from '../../../src/ui/preflight-report.js';
import type { Finding } from '../../../src/preflight/finding.js';
import type { NodeFacts } from '../../../src/preflight/facts.js';

const out = new Output({
  stdout: new PassThrough() as unknown as NodeJS.WritableStream,
  stderr: new PassThrough() as unknown as NodeJS.WritableStream,
  env: { NO_COLOR: '1', LANG: 'C.UTF-8' },
});

const names = (n: number) => Array.from({ length: n }, (_, i) => `node${String(i + 1).padStart(2, '0')}`);

/** A report over `count` nodes: each passes two checks unless a failure is given for it. */
function report(count: number, failures: Finding[], pingFails: Array<[from: string, to: string]> = []): string {
  const nodes = names(count).map((name, i) => ({ name, address: `10.0.0.${i + 1}` }));
  const findings: Finding[] = nodes.flatMap((n) => [
    { node: n.name, check: 'ssh' as const, status: 'pass' as const, message: 'ok' },
    { node: n.name, check: 'clock' as const, status: 'pass' as const, message: 'ok' },
  ]);
  findings.push(...failures);
  // A ring: each node pings the next on NPU 0.
  const facts: NodeFacts[] = nodes.map((n, i) => {
    const peer = nodes[(i + 1) % nodes.length]!.name;
    const loss = pingFails.some(([from, to]) => from === n.name && to === peer);
    return {
      node: n.name, host: n.address, ssh: { kind: 'ok', value: true }, npus: {}, notes: [],
      pings: [{ npu: 0, peer, peerNpu: 0, address: '192.168.0.1', outcome: { kind: 'ok', value: { loss, lostSeqs: loss ? [1] : [] } } }],
    } as NodeFacts;
  });
  return renderPreflightReport({ findings, facts, nodes, npusPerNode: 1 }, out);
}

const tlsFail = (node: string): Finding => ({ node, npu: 0, check: 'tls', status: 'fail', message: 'TLS switch 1', hint: 'run ascendctl preflight --fix' });

describe('preflight report: folded node lists', () => {
  it('up to 8 nodes: one line per node, each with its address', () => {
    const text = report(8, []);
    expect(text).toMatch(/✔ node01 \(10\.0\.0\.1\)\s+all 2 checks passed/);
    expect(text).toMatch(/✔ node08 \(10\.0\.0\.8\)\s+all 2 checks passed/);
    expect(text).not.toContain('node[');
  });

  it('above 8 nodes: the nodes that passed everything share one folded line, failing nodes keep theirs', () => {
    const text = report(12, [tlsFail('node03'), tlsFail('node07')]);
    expect(text).toContain('✔ node[01-02,04-06,08-12] (10.0.0.[1-2,4-6,8-12])  10 nodes: all 2 checks passed on each');
    expect(text).toMatch(/✘ node03 \(10\.0\.0\.3\)\s+1 failed, 2 passed/);
    expect(text).toMatch(/✘ node07 \(10\.0\.0\.7\)\s+1 failed, 2 passed/);
    expect(text).not.toMatch(/✔ node01 /);
  });

  it('the failed summary names the failing nodes, folded', () => {
    expect(report(12, [tlsFail('node03'), tlsFail('node04'), tlsFail('node05')])).toContain('✘ preflight failed: 3 failures on 3 of 12 nodes (node[03-05])');
    expect(report(2, [tlsFail('node02')])).toContain('✘ preflight failed: 1 failure on 1 of 2 nodes (node02)');
  });

  it('above 8 nodes a failing ping plane lists its failing pairs instead of an N × N grid', () => {
    const fails: Finding[] = [
      { node: 'node05', npu: 0, check: 'ping', status: 'fail', message: 'node06 NPU 0: 100% loss' },
      { node: 'node06', npu: 0, check: 'ping', status: 'fail', message: 'node07 NPU 0: 100% loss' },
    ];
    const text = report(12, fails, [['node05', 'node06'], ['node06', 'node07']]);
    expect(text).toContain('NPU 0  2 of 12 failed: ✘ node05 → node06  · ✘ node06 → node07');
    expect(text).not.toMatch(/NPU 0\s+node01\s+node02/); // no grid header
  });

  it('up to 8 nodes the ping grid stays', () => {
    const fails: Finding[] = [{ node: 'node02', npu: 0, check: 'ping', status: 'fail', message: 'node03 NPU 0: 100% loss' }];
    const text = report(4, fails, [['node02', 'node03']]);
    expect(text).toMatch(/NPU 0\s+node01\s+node02\s+node03\s+node04/);
  });
});
