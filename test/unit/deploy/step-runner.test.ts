/**
 * The deploy's StepRunner: steps in order with their outputs, undos unwound in reverse on a failure or
 * an abort, a group's undos at once, and an undo that fails reported without stopping the others.
 */
import { describe, expect, it } from 'vitest';
import { StepRunner, undoBatches, type Step } from '../../../src/deploy/steps/runner.js';

class Stopped extends Error {}

function runnerWith(signal = new AbortController().signal) {
  return new StepRunner(signal, () => new Stopped('interrupted'));
}

/** A step that records its run and registers one undo that records itself. */
function recording(name: string, log: string[], opts: { group?: string; fail?: boolean; undoFails?: boolean } = {}): Step<number, number> {
  return {
    name,
    async run(input, scope) {
      log.push(`run ${name}(${input})`);
      scope.undo({
        what: `undo ${name}`,
        node: name,
        ...(opts.group ? { group: opts.group } : {}),
        run: async () => {
          log.push(`undo ${name}`);
          if (opts.undoFails) throw new Error(`${name} would not stop`);
        },
      });
      if (opts.fail) throw new Error(`${name} failed`);
      return input + 1;
    },
  };
}

describe('StepRunner', () => {
  it('runs steps in the order given, each output feeding the next, and undoes nothing on success', async () => {
    const log: string[] = [];
    const r = runnerWith();
    const a = await r.run(recording('lock', log), 1);
    const b = await r.run(recording('image', log), a);
    expect(b).toBe(3);
    expect(log).toEqual(['run lock(1)', 'run image(2)']);
    expect(r.completed).toEqual(['lock', 'image']);
    expect(r.undoNodes).toEqual(['lock', 'image']);
  });

  it('on a failure the undos run in reverse, including the failing step\'s own', async () => {
    const log: string[] = [];
    const r = runnerWith();
    await r.run(recording('master', log), 0);
    await r.run(recording('upload', log), 0);
    await expect(r.run(recording('workers', log, { fail: true }), 0)).rejects.toThrow('workers failed');
    expect(r.completed).toEqual(['master', 'upload']);
    await r.unwind(() => expect.fail('no undo fails here'));
    expect(log.slice(3)).toEqual(['undo workers', 'undo upload', 'undo master']);
    // unwound once: the undos are forgotten
    await r.unwind(() => undefined);
    expect(log).toHaveLength(6);
  });

  it('once the signal is aborted no further step runs, and what ran is undone', async () => {
    const log: string[] = [];
    const ac = new AbortController();
    const r = runnerWith(ac.signal);
    await r.run(recording('master', log), 0);
    ac.abort();
    await expect(r.run(recording('workers', log), 0)).rejects.toBeInstanceOf(Stopped);
    expect(log).toEqual(['run master(0)']);
    await r.unwind(() => undefined);
    expect(log).toEqual(['run master(0)', 'undo master']);
  });

  it('an undo that fails is reported and the others still run', async () => {
    const log: string[] = [];
    const r = runnerWith();
    await r.run(recording('a', log), 0);
    await r.run(recording('b', log, { undoFails: true }), 0);
    await r.run(recording('c', log), 0);
    const failed: string[] = [];
    await r.unwind((u, err) => failed.push(`${u.what} on ${u.node}: ${err.message}`));
    expect(log.filter((l) => l.startsWith('undo'))).toEqual(['undo c', 'undo b', 'undo a']);
    expect(failed).toEqual(['undo b on b: b would not stop']);
  });

  it('neighbouring undos of one group run at once, groups in reverse order', async () => {
    const events: string[] = [];
    const gates = new Map<string, () => void>();
    const r = runnerWith();
    const step: Step<void, void> = {
      name: 'start',
      async run(_, scope) {
        scope.undo({ what: 'stop', node: 'node1', group: 'master', run: async () => void events.push('node1') });
        for (const w of ['node2', 'node3']) {
          scope.undo({
            what: 'stop', node: w, group: 'workers',
            run: () => new Promise<void>((resolve) => {
              events.push(`${w} begins`);
              gates.set(w, () => { events.push(`${w} ends`); resolve(); });
              // the second worker releases both: only possible when both began before either ended
              if (gates.size === 2) for (const g of gates.values()) g();
            }),
          });
        }
      },
    };
    await r.run(step, undefined);
    await r.unwind(() => undefined);
    expect(events).toEqual(['node3 begins', 'node2 begins', 'node3 ends', 'node2 ends', 'node1']);
  });

  it('undoBatches: reverse order, one batch per run of a group, ungrouped entries alone', () => {
    const u = (node: string, group?: string) => ({ what: 'x', node, ...(group ? { group } : {}), run: async () => undefined });
    const batches = undoBatches([u('m', 'master'), u('w1', 'workers'), u('w2', 'workers'), u('x'), u('y')]);
    expect(batches.map((b) => b.map((e) => e.node))).toEqual([['y'], ['x'], ['w2', 'w1'], ['m']]);
  });
});
