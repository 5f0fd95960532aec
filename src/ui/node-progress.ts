/**
 * Per-node progress for long fan-out steps. On a terminal: a listr2 task per node (on stderr, so stdout
 * stays clean) showing the step it is on; otherwise plain, stable lines, one when a node starts and one
 * when it ends.
 */
import { Listr, ListrLogger, ProcessOutput } from 'listr2';
import type { Output } from './output.js';

export interface NodeProgress {
  update(node: string, step: string, done?: number, total?: number): void;
  finish(node: string, ok: boolean, summary: string): void;
  close(): Promise<void>;
}

interface Slot {
  resolve(): void;
  reject(err: Error): void;
  setOutput?: (text: string) => void;
  setTitle?: (text: string) => void;
  started: boolean;
  finished: boolean;
}

export function createNodeProgress(out: Output, nodes: readonly string[], opts: { quiet?: boolean } = {}): NodeProgress {
  if (opts.quiet) return { update() {}, finish() {}, close: async () => {} };
  if (!out.stderrInteractive) return plainProgress(out);
  const slots = new Map<string, Slot>();
  const width = Math.max(...nodes.map((n) => n.length));
  const list = new Listr(
    nodes.map((name) => ({
      title: name.padEnd(width),
      task: (_ctx: unknown, task: { output: string; title: string }) =>
        new Promise<void>((resolve, reject) => {
          const slot = slots.get(name)!;
          slot.resolve = resolve;
          slot.reject = reject;
          slot.setOutput = (text) => { task.output = text; };
          slot.setTitle = (text) => { task.title = text; };
          if (slot.finished) resolve();
        }),
    })),
    {
      concurrent: true,
      exitOnError: false,
      renderer: 'default',
      rendererOptions: {
        collapseSubtasks: false,
        logger: new ListrLogger({ processOutput: new ProcessOutput(process.stderr, process.stderr) }),
      },
    },
  );
  for (const n of nodes) slots.set(n, { resolve() {}, reject() {}, started: false, finished: false });
  const running = list.run().catch(() => undefined);
  return {
    update(node, step, done, total) {
      const s = slots.get(node);
      if (!s || s.finished) return;
      s.setOutput?.(total ? `${step}  (${done}/${total})` : step);
    },
    finish(node, ok, summary) {
      const s = slots.get(node);
      if (!s || s.finished) return;
      s.finished = true;
      s.setTitle?.(`${node.padEnd(width)}  ${summary}`);
      if (ok) s.resolve();
      else s.reject(new Error(summary));
    },
    async close() {
      for (const [n, s] of slots) if (!s.finished) this.finish(n, true, '');
      await running;
    },
  };
}

function plainProgress(out: Output): NodeProgress {
  const started = new Set<string>();
  const finished = new Set<string>();
  return {
    update(node, step) {
      if (started.has(node) || step === 'connecting') return;
      started.add(node);
      out.note(`${node}: ${step}`);
    },
    finish(node, ok, summary) {
      if (finished.has(node)) return;
      finished.add(node);
      out.note(`${node}: ${ok ? 'done' : 'FAILED'}${summary ? ` — ${summary}` : ''}`);
    },
    close: async () => {},
  };
}
