/**
 * Why a call gave no verdict, in words an operator can act on: shared by every judge (judge.ts and the
 * per-family modules), so it lives below them all.
 */
import type { ExecResult } from '../remote/transport.js';
import type { Outcome } from './facts.js';

/** A call that ran out of time: its check fails saying so (cli-contract.md), with `hint` when given. */
export function timedOut(r: Pick<ExecResult, 'durationMs'>, hint?: string): Outcome<never> {
  return { kind: 'timeout', seconds: Math.round(r.durationMs / 1000), ...(hint ? { hint } : {}) };
}

/** Why a call produced no verdict, in words an operator can act on. */
export function outcomeProblem(o: Outcome<unknown>, what: string): { message: string; hint: string } | undefined {
  switch (o.kind) {
    case 'ok':
      return undefined;
    case 'timeout':
      return {
        message: `${what} timed out after ${o.seconds} s`,
        hint: o.hint ?? 'the tool or the NPU driver is not answering: look for a stuck hccn_tool/npu-smi process on the node (ps -ef | grep -E "hccn_tool|npu-smi") and check dmesg',
      };
    case 'busy':
      return {
        message: `${what}: hccn_tool stayed busy for ${o.seconds} s`,
        hint: 'another process is using hccn_tool on this node (monitoring such as npu-exporter, or a person): find it with ps -ef | grep hccn_tool and retry',
      };
    case 'error':
      return { message: `${what} failed: ${o.message}`, hint: o.hint ?? errorHint(o.reason) };
    case 'unexpected':
      return {
        message: `${what} printed something unexpected: "${o.firstLine}"`,
        hint: 'run the command by hand on the node; if the driver is newer than this ascendctl knows, report the output',
      };
    case 'skipped':
      return { message: `${what} not checked: ${o.why}`, hint: 'fix the failure named above and run preflight again' };
  }
}

function errorHint(reason: string | undefined): string {
  switch (reason) {
    case 'permission':
      return 'hccn_tool needs root: set ssh.user: root in the inventory';
    case 'not-found':
      return 'the tool is not at that path on the node: set tools.hccnTool / tools.npuSmi in the inventory';
    case 'invalid-device':
    case 'not-exist':
      return 'the NPU is not visible to the driver: check npu-smi info and the npusPerNode setting';
    case 'link-down':
      return 'the NPU link is down: check the optical module / cable and the switch port';
    default:
      return 'run the same command by hand on the node to see the full error';
  }
}
