import { describe, expect, it } from 'vitest';
import { PassThrough } from 'node:stream';
import { Output } from '../../../src/ui/output.js';
import { renderPreflightReport } from '../../../src/ui/preflight-report.js';
import type { Finding } from '../../../src/preflight/finding.js';

const out = new Output({
  stdout: new PassThrough() as unknown as NodeJS.WritableStream,
  stderr: new PassThrough() as unknown as NodeJS.WritableStream,
  env: { NO_COLOR: '1', LANG: 'C.UTF-8' },
});

function render(findings: Finding[]): string {
  return renderPreflightReport({
    findings,
    facts: [{ node: 'node1', host: '127.0.0.1', ssh: { kind: 'ok', value: true }, npus: {}, pings: [], notes: [] }],
    nodes: [{ name: 'node1', address: '127.0.0.1' }],
    npusPerNode: 8,
  }, out);
}

describe('human preflight report', () => {
  it('shows the next step of a warning, as it does for a failure', () => {
    const text = render([
      { node: 'node1', npu: 1, check: 'gateway', status: 'warn', message: 'no gateway configured', hint: 'set it with hccn_tool -i 1 -gateway -s gateway <ip>' },
      { node: 'node1', npu: 2, check: 'net_health', status: 'warn', message: 'net health status: Init (no detection result yet)', hint: 'set a detect address' },
    ]);
    expect(text).toMatch(/⚠ gateway\s+NPU 1\s+no gateway configured\n\s+→ set it with hccn_tool -i 1 -gateway -s gateway <ip>/);
    expect(text).toMatch(/⚠ net_health\s+NPU 2\s+net health status: Init.*\n\s+→ set a detect address/);
  });

  it('groups NPUs that warn the same way under one hint', () => {
    const text = render([0, 1, 2, 3, 4, 5, 6, 7].map((npu) => ({
      node: 'node1', npu, check: 'ping' as const, status: 'warn' as const, message: 'not checked: no other node selected (--node)', hint: 'run without --node',
    })));
    expect(text).toMatch(/⚠ ping\s+NPU 0-7\s+not checked/);
    expect(text.match(/→ run without --node/g)).toHaveLength(1);
  });

  it('the ping grid marks a pair that lost probes without a summary line as failing', () => {
    const text = renderPreflightReport({
      findings: [{ node: 'node1', npu: 0, check: 'ping', status: 'fail', message: 'node2 NPU 0 (10.0.0.2): no reply (exit 1, no summary line)' }],
      facts: ['node1', 'node2'].map((node) => ({
        node, host: node, ssh: { kind: 'ok' as const, value: true }, npus: {}, notes: [],
        pings: [{
          npu: 0, peer: node === 'node1' ? 'node2' : 'node1', peerNpu: 0, address: '10.0.0.9',
          outcome: { kind: 'ok' as const, value: node === 'node1' ? { loss: true, lostSeqs: [], exitCode: 1, answered: 0 } : { loss: false, lostSeqs: [] } },
        }],
      })),
      nodes: [{ name: 'node1', address: 'node1' }, { name: 'node2', address: 'node2' }],
      npusPerNode: 1,
    }, out);
    expect(text).toMatch(/NPU 0\s+node1\s+node2/);
    expect(text).toMatch(/node1\s+·\s+✘/);
    expect(text).toMatch(/node2\s+✔\s+·/);
  });

  it('keeps a gap between a long check id and its message', () => {
    const text = render([
      { node: 'node1', check: 'container-runtime', status: 'fail', message: 'the container runtime failed: Cannot connect', hint: 'start it' },
      { node: 'node1', npu: 3, check: 'link', status: 'fail', message: 'link status: DOWN', hint: 'check the cable' },
    ]);
    expect(text).toMatch(/✘ container-runtime +the container runtime failed/);
    // one column for every id: the messages line up
    const col = (re: RegExp) => text.split('\n').find((l) => re.test(l))!.search(re);
    expect(col(/the container runtime failed/)).toBe(col(/NPU 3/));
  });
});
