import { rm } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { logsVia } from '../../../src/commands/logs.js';
import { InputError } from '../../../src/errors.js';
import { captureLogsContext, deployedDir } from './deployed-dir.js';
import { FakeDockerTransport, makeLines } from './fake-docker-transport.js';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

function deployed(): Promise<string> {
  return deployedDir([{ name: 'node1', host: '127.0.0.1' }, { name: 'worker-02', host: '127.0.0.2' }], dirs);
}

const context = captureLogsContext;

describe('ascendctl logs (in-process, fake transports)', () => {
  it('merges the last deployment\'s nodes with padded prefixes, passes --since/--tail per node, exit 0', async () => {
    const cwd = await deployed();
    const fakes = new Map<string, FakeDockerTransport>();
    const c = context(cwd);
    const code = await logsVia(c.ctx, [], { since: '10m', tail: '2' }, (n) => {
      const t = fakes.get(n.name) ?? new FakeDockerTransport(n.name, { lines: makeLines(n.name, 5) });
      fakes.set(n.name, t);
      return t;
    });
    expect(code).toBe(0);
    const lines = c.out().trim().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines).toContain('node1     │ [INFO] node1 line 4 ünïcødé ✓');
    expect(lines).toContain('worker-02 │ [INFO] worker-02 line 3 ünïcødé ✓');
    expect(fakes.get('node1')?.calls[0]).toEqual(['docker', 'logs', '-t', '--since', '600s', '--tail', '2', 'ascendctl-r1']);
  });

  it('--node filters, --json prints objects, -f survives a drop and reports the stopped container', async () => {
    const cwd = await deployed();
    const c = context(cwd, true, /container stopped/);
    const fake = new FakeDockerTransport('worker-02', { lines: makeLines('worker-02', 3), containerExit: 1, failAfterBytes: [70] });
    const code = await logsVia(c.ctx, ['r1'], { node: ['worker-02'], follow: true, json: true }, (n) => {
      expect(n.name).toBe('worker-02');
      return fake;
    });
    expect(code).toBe(130); // still following when Ctrl-C came
    const rows = c.out().trim().split('\n').map((l) => JSON.parse(l) as { node: string; time: string; line: string });
    expect(rows.map((r) => r.line)).toEqual(makeLines('worker-02', 3).map((l) => l.text));
    expect(rows.map((r) => r.node)).toEqual(['worker-02', 'worker-02', 'worker-02']);
    expect(c.err().match(/worker-02: connection lost \(the SSH connection to worker-02 dropped\); reconnecting…/g)).toHaveLength(1);
    expect(c.err()).toContain('worker-02: reconnected');
    expect(rows[0]?.time).toMatch(/^2026-01-02T03:04:05\.000000000Z$/);
    expect(c.err()).toContain('worker-02: container stopped (exit 1); waiting for it to run again');
  });

  it('a node that cannot be read: its name in the message, the other node still printed, exit 1', async () => {
    const cwd = await deployed();
    const c = context(cwd);
    const code = await logsVia(c.ctx, [], {}, (n) =>
      n.name === 'worker-02'
        ? new FakeDockerTransport(n.name, { lines: [], logsExit: { code: 1, stderr: 'Error response from daemon: No such container: ascendctl-r1\n' } })
        : new FakeDockerTransport(n.name, { lines: makeLines(n.name, 3) }));
    expect(code).toBe(1);
    expect(c.out().trim().split('\n')).toHaveLength(3);
    expect(c.err()).toMatch(/error: worker-02: cannot read the logs of ascendctl-r1: Error response from daemon: No such container/);
    expect(c.err()).toMatch(/ascendctl status/);
  });

  it('bad flags exit 2 before any node is contacted', async () => {
    const cwd = await deployed();
    let contacted = 0;
    const via = () => {
      contacted++;
      return new FakeDockerTransport('x', { lines: [] });
    };
    for (const opts of [{ grep: '(' }, { since: 'last tuesday' }, { tail: '-3' }]) {
      await expect(logsVia(context(cwd).ctx, [], opts, via)).rejects.toBeInstanceOf(InputError);
    }
    expect(contacted).toBe(0);
  });
});
