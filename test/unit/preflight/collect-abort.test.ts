/**
 * Ctrl-C while a busy retry waits: collect ends the node like any cancelled call (facts skipped), so the
 * command can report the interruption instead of a stray AbortError.
 */
import { describe, expect, it } from 'vitest';
import { collect, readDeviceIps, type PreflightNode } from '../../../src/preflight/collect.js';
import { HCCN_BUSY_TEXT } from '../../../src/ascend/hccn-tool.js';
import { RemoteError, type ExecOptions, type ExecResult, type Transport } from '../../../src/remote/transport.js';

/** Every hccn_tool call answers "busy"; the Nth one aborts the run just before it answers. */
function busyNode(abortOnCall: number, ac: AbortController): PreflightNode {
  let calls = 0;
  const t: Transport = {
    target: { name: 'node1', host: '127.0.0.1' },
    async exec(argv: readonly string[], opts?: ExecOptions): Promise<ExecResult> {
      if (opts?.signal?.aborted) throw new RemoteError('aborted', 'node1', `\`${argv[0]}\` on node1 was cancelled`);
      if (argv[0] === 'hccn_tool') {
        if (++calls === abortOnCall) ac.abort(new Error('interrupted'));
        return { stdout: `${HCCN_BUSY_TEXT}\n`, stderr: '', code: 11, timedOut: false, durationMs: 1 };
      }
      return { stdout: '', stderr: 'No such file or directory', code: 1, timedOut: false, durationMs: 1 };
    },
    stream: () => Promise.reject(new Error('not used')),
    upload: () => Promise.reject(new Error('not used')),
    close: async () => undefined,
  };
  return {
    name: 'node1', address: '127.0.0.1',
    tools: { hccnTool: 'hccn_tool', npuSmi: 'npu-smi', containerRuntime: 'docker' },
    transport: async () => t,
  };
}

describe('collect: Ctrl-C during a busy retry', () => {
  it('ends the node as cancelled, not with the backoff timer\'s AbortError', async () => {
    const ac = new AbortController();
    const facts = await collect({ nodes: [busyNode(2, ac)], npusPerNode: 2, pingMode: 'auto', busyBudgetMs: 60_000, signal: ac.signal });
    expect(facts[0]!.notes.join('\n')).toMatch(/cancelled/);
    expect(facts[0]!.npus[1]!.ip).toMatchObject({ kind: 'skipped' });
  });

  it('readDeviceIps (the deploy path) rejects with a cancelled RemoteError', async () => {
    const ac = new AbortController();
    const err = await readDeviceIps(busyNode(1, ac), 2, { busyBudgetMs: 60_000, signal: ac.signal }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RemoteError);
    expect((err as RemoteError).kind).toBe('aborted');
  });
});
