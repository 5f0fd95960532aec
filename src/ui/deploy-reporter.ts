/**
 * Deploy progress on stderr: a line per step; per-node details; on a terminal a spinner carries the
 * fast-changing parts (pull progress, the readiness wait), elsewhere those are thinned to a line every
 * 30 s so that CI logs stay readable.
 */
import ora, { type Ora } from 'ora';
import type { DeployReporter } from '../deploy/apply.js';
import type { PreflightResult } from '../preflight/run.js';
import type { Output } from './output.js';
import { renderPreflightReport } from './preflight-report.js';

export function createDeployReporter(out: Output, npusPerNode: number): DeployReporter & { stop(): void } {
  const c = out.errColor;
  const s = out.symbols();
  let spinner: Ora | undefined;
  let lastPlain = 0;
  const nodeText = new Map<string, string>();
  const clear = () => {
    spinner?.stop();
    spinner = undefined;
  };
  const live = (text: string) => {
    if (!out.stderrInteractive) return false;
    if (!spinner) spinner = ora({ text, stream: process.stderr }).start();
    else spinner.text = text;
    return true;
  };
  return {
    step(title) {
      clear();
      nodeText.clear();
      out.note(`${c.cyan('▸')} ${title}`);
    },
    detail(text) {
      clear();
      out.note(`  ${text}`);
    },
    node(node, text) {
      const transient = /^(downloading|extracting|layer )/.test(text);
      if (transient) {
        nodeText.set(node, text);
        if (live([...nodeText].map(([n, t]) => `${n}: ${t}`).join('  ·  '))) return;
        return; // thinned away when not on a terminal
      }
      nodeText.delete(node);
      if (spinner) spinner.clear();
      out.note(`  ${node}: ${text}`);
      if (spinner) spinner.render();
    },
    warn(text) {
      clear();
      out.warn(text);
    },
    waiting(text) {
      if (live(text)) return;
      const now = Date.now();
      if (now - lastPlain >= 30_000) {
        lastPlain = now;
        out.note(`  ${text}`);
      }
    },
    preflight(result: PreflightResult) {
      clear();
      const bad = result.findings.filter((f) => f.status !== 'pass').length;
      if (result.ok && bad === 0) {
        out.note(`  ${c.green(s.ok)} all ${result.findings.length} checks passed`);
        return;
      }
      out.note(renderPreflightReport({ ...result, npusPerNode }, out, { stderr: true }).split('\n').map((l) => `  ${l}`).join('\n'));
    },
    stop: clear,
  };
}
