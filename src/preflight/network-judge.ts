/**
 * Facts → findings for `address`, `reach` and the HCCL part of `ports`. Pure.
 */
import type { Finding, Status } from './finding.js';
import type { JudgeContext, NodeFacts, Outcome, ReachProbe } from './facts.js';
import { portList } from './network.js';

function f(node: string, check: Finding['check'], status: Status, message: string, hint?: string): Finding {
  const out: Finding = { node, check, status, message };
  if (hint !== undefined && status !== 'pass') out.hint = hint;
  return out;
}

function problem(o: Exclude<Outcome<unknown>, { kind: 'ok' }>, what: string): { message: string; hint: string } {
  switch (o.kind) {
    case 'timeout': return { message: `${what} timed out after ${o.seconds} s`, hint: 'run the command by hand on the node' };
    case 'busy': return { message: `${what}: busy`, hint: 'retry' };
    case 'error': return { message: `${what}: ${o.message}`, hint: o.hint ?? 'run the command by hand on the node to see the full error' };
    case 'unexpected': return { message: `${what} printed something unexpected: "${o.firstLine}"`, hint: 'run the command by hand on the node' };
    case 'skipped': return { message: `${what} not checked: ${o.why}`, hint: 'fix the failure named above and run preflight again' };
  }
}

export function judgeAddress(out: Finding[], n: NodeFacts): void {
  const a = n.address;
  if (!a) return;
  if (a.kind !== 'ok') {
    const p = problem(a, 'the node\'s address');
    // A tool that is missing (ip) means the check could not run: a warning, never a pass.
    out.push(f(n.node, 'address', a.kind === 'error' && a.reason === 'not-found' ? 'warn' : 'fail', p.message, p.hint));
    return;
  }
  const { rendered, listed, routeLocal } = a.value;
  if (listed.includes(rendered)) {
    out.push(f(n.node, 'address', 'pass', `${rendered} is an address of ${n.node} (ip addr)`));
  } else if (routeLocal) {
    out.push(f(n.node, 'address', 'pass', `${rendered} is local to ${n.node} (ip route get: local)`));
  } else {
    const own = listed.filter((x) => !/^(127\.0\.0\.1$|::1$|fe80:)/i.test(x));
    out.push(f(n.node, 'address', 'fail',
      `${rendered} (MIES_CONTAINER_IP, ipAddress, server_id) is not an address of ${n.node}; its addresses: ${(own.length > 0 ? own : listed).join(', ') || 'none listed'}`,
      `MindIE would fail with "Failed to listen ${rendered}:<port>": set address: <one of the node's own addresses> for ${n.node} in the inventory (host: stays what ssh uses)`));
  }
}

function outcomeWords(outcome: string): string {
  switch (outcome) {
    case 'timeout': return 'timed out: packets dropped, a DROP rule or an ACL';
    case 'ECONNREFUSED': return 'refused: a reset came back while the probe listened, a REJECT rule';
    case 'EHOSTUNREACH': return 'rejected: no route to host, firewalld\'s default reject or a missing route';
    case 'ENETUNREACH': return 'no route to the network';
    case 'no-answer': return 'the probe gave no answer';
    default: return outcome;
  }
}

export function judgeReach(out: Finding[], n: NodeFacts, ctx: JudgeContext): void {
  const r = n.reach;
  if (!r || !ctx.deployment) return;
  if (r.kind !== 'ok') {
    const p = problem(r, 'reachability');
    out.push(f(n.node, 'reach', 'warn', p.message, p.hint));
    return;
  }
  const v = r.value;
  if (v.notProbed) {
    out.push(f(n.node, 'reach', v.notProbed.status, v.notProbed.why,
      'run preflight without --node (or name two or more nodes, the master among them) to test the paths between nodes'));
    return;
  }
  if (v.missingTool) {
    out.push(f(n.node, 'reach', 'warn', `cannot test reachability on ${n.node}: ${v.missingTool}`,
      `install python3 on ${n.node} (the probe opens a short-lived listener and connects from the node's own address), or check by hand that the master's multiNodesInfer port and the HCCL ports are open between the nodes`));
    return;
  }
  const blocked = new Map<string, ReachProbe[]>();
  const reached = new Map<string, number[]>();
  for (const p of v.probes) {
    if (p.outcome === 'ok') {
      reached.set(p.to, [...(reached.get(p.to) ?? []), p.port]);
      continue;
    }
    const key = `${p.to}\u0000${p.outcome}`;
    blocked.set(key, [...(blocked.get(key) ?? []), p]);
  }
  if (blocked.size > 0) {
    const parts = [...blocked.values()].map((ps) => `${n.node} → ${ps[0]!.to}:${portList(ps.map((p) => p.port))} blocked (${outcomeWords(ps[0]!.outcome)})`);
    const failing = v.probes.filter((p) => p.outcome !== 'ok');
    const groups = portList(failing.map((p) => p.port)).split(', ');
    const receivers = [...new Set(failing.map((p) => p.to))].join(', ');
    const hccl = ctx.deployment.hcclPorts ?? [];
    const range = hccl.length > 0 ? ` and the HCCL range ${hccl[0]}-${hccl[hccl.length - 1]}` : '';
    out.push(f(n.node, 'reach', 'fail', parts.join('; '),
      `open the ports on ${receivers} (firewalld: firewall-cmd --permanent ${groups.map((g) => `--add-port=${g}/tcp`).join(' ')} && firewall-cmd --reload; ` +
      `iptables: ${groups.map((g) => `iptables -I INPUT -p tcp --dport ${g.replace('-', ':')} -j ACCEPT`).join('; ')}), or the switch ACL between the nodes; ` +
      `MindIE needs the master's multiNodesInfer port${range} open between the master and every worker, else the workers never join (EI0006 after HCCL_CONNECT_TIMEOUT)`));
    return;
  }
  const what = [...reached].map(([to, ports]) => `${to}:${portList(ports)}`).join(', ');
  if (v.untested.length > 0) {
    out.push(f(n.node, 'reach', 'warn', `not tested: ${v.untested.join('; ')}${what ? `; reached ${what}` : ''}`,
      'fix what is named (see the other checks of that node) and run preflight again'));
    return;
  }
  out.push(f(n.node, 'reach', 'pass', what ? `reached ${what} over TCP` : 'single node: no peer to reach'));
}

/** The deployment's ports that matter on this node: all on the master, HCCL's range everywhere. */
export function portsForNode(node: string, ctx: NonNullable<JudgeContext['deployment']>): number[] {
  if (!ctx.hcclPorts) return [...new Set(ctx.ports)];
  return [...new Set(node === ctx.master ? [...ctx.ports, ...ctx.hcclPorts] : ctx.hcclPorts)];
}
