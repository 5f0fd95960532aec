/**
 * Facts → findings. Pure: every rule of the contract's check table lives here, testable from a
 * hand-built fact set. Cross-node rules (unique IPs, driver majority, identical weights) see all nodes.
 */
import { CHECK_IDS, type CheckId, type Finding, type Status } from './finding.js';
import type { JudgeContext, NodeFacts, Outcome, PingFacts, PingResult } from './facts.js';
import { judgeAddress, judgeReach, portsForNode } from './network-judge.js';
import { portList } from './network.js';
import { judgeHardware } from './hardware.js';
import { judgePortHealth } from './optics.js';
import { judgeWeights } from './weights.js';
import { judgeHbm } from './hbm.js';
import { judgeShm } from './shm.js';
import { deviceUnit, judgeSuperPod, labelDieFindings } from './a3.js';
import { outcomeProblem } from './outcome.js';

export function checkRank(check: CheckId): number {
  return CHECK_IDS.indexOf(check);
}

function f(node: string, check: CheckId, status: Status, message: string, hint?: string, npu?: number): Finding {
  const out: Finding = { node, check, status, message };
  if (npu !== undefined) out.npu = npu;
  if (hint !== undefined && status !== 'pass') out.hint = hint;
  return out;
}

/** Push a fail for a call that gave no verdict; returns the value when there is one. */
function valueOr<T>(
  out: Finding[], o: Outcome<T> | undefined, node: string, check: CheckId, what: string, npu?: number,
): T | undefined {
  if (o === undefined) return undefined;
  if (o.kind === 'ok') return o.value;
  const p = outcomeProblem(o, what)!;
  out.push(f(node, check, 'fail', p.message, p.hint, npu));
  return undefined;
}

/** The rules over one reachable node, in the order they run. */
const NODE_RULES: ReadonlyArray<(out: Finding[], n: NodeFacts, ctx: JudgeContext) => void> = [
  judgeClock, judgeNpuSmi, judgeRuntime, judgeHccnConf, judgePerNpu, judgePortHealth, judgeAddress, judgeReach, judgeSuperPod,
];

/** The rules over every reachable node at once (majorities, uniqueness, pairs), in the order they run. */
const CLUSTER_RULES: ReadonlyArray<(out: Finding[], nodes: readonly NodeFacts[], ctx: JudgeContext) => void> = [
  judgeHardware, judgeDriver, judgeModel, judgeWeights, judgeShm, judgeHbm, judgeIpUniqueness, judgePing,
];

export function judge(facts: readonly NodeFacts[], base: JudgeContext): Finding[] {
  let ctx = base;
  const out: Finding[] = [];
  const reachable = facts.filter((n) => n.ssh.kind === 'ok');

  for (const n of facts) {
    if (n.ssh.kind !== 'ok') {
      const msg = n.ssh.kind === 'error' ? n.ssh.message : outcomeProblem(n.ssh, 'ssh')!.message;
      const hint = (n.ssh.kind === 'error' && n.ssh.hint) || `check that the node is up and that ssh works: ssh ${n.host}`;
      out.push(f(n.node, 'ssh', 'fail', msg, hint));
      continue;
    }
    out.push(f(n.node, 'ssh', 'pass', `connected to ${n.host}`));
    // Each node is judged on its own devices (16 on an A3, 8 on an A2), whatever npusPerNode says.
    if (n.devices !== undefined) ctx = { ...ctx, npusPerNode: n.devices };
    for (const rule of NODE_RULES) rule(out, n, ctx);
    ctx = base;
  }
  for (const rule of CLUSTER_RULES) rule(out, reachable, ctx);
  if (facts.length === 1 && ctx.unselectedNodes?.length) judgePingNotSelected(out, reachable, ctx);
  else if (facts.length === 1 && reachable.length === 1) {
    // Per NPU, as every ping finding (cli-contract.md: npu is present for per-device checks).
    const only = reachable[0]!;
    for (let npu = 0; npu < (only.devices ?? ctx.npusPerNode); npu++) {
      out.push(f(only.node, 'ping', 'pass', 'not needed: a single server has no peer to reach over RoCE', undefined, npu));
    }
  } else judgePingUnsent(out, facts, ctx);

  const order = new Map(facts.map((n, i) => [n.node, i]));
  return labelDieFindings(out, facts).sort(
    (a, b) =>
      (order.get(a.node)! - order.get(b.node)!) ||
      checkRank(a.check) - checkRank(b.check) ||
      (a.npu ?? -1) - (b.npu ?? -1),
  );
}

function judgeClock(out: Finding[], n: NodeFacts, ctx: JudgeContext): void {
  const offset = valueOr(out, n.clockOffsetMs, n.node, 'clock', 'reading the clock (date +%s.%N)');
  if (offset === undefined) return;
  const secs = (offset / 1000).toFixed(2);
  if (Math.abs(offset) > ctx.clockToleranceMs) {
    out.push(f(n.node, 'clock', 'fail', `clock is ${offset > 0 ? 'ahead' : 'behind'} by ${Math.abs(Number(secs))} s`,
      'enable time synchronisation on the node (chronyd/ntpd): HCCL and log correlation need clocks within 2 s'));
  } else {
    out.push(f(n.node, 'clock', 'pass', `clock offset ${secs} s`));
  }
}

function judgeNpuSmi(out: Finding[], n: NodeFacts, ctx: JudgeContext): void {
  const info = valueOr(out, n.npuSmi, n.node, 'npu-smi', 'npu-smi info');
  if (!info) return;
  if (info.unsupported) {
    out.push(f(n.node, 'npu-smi', 'fail', info.unsupported,
      'ascendctl targets Atlas 800T/800I A2 (910B) and Atlas 800 A3 (910C): use a node of those kinds'));
    return;
  }
  const byId = new Map(info.devices.map((d) => [d.id, d]));
  for (let npu = 0; npu < ctx.npusPerNode; npu++) {
    const d = byId.get(npu);
    if (!d) {
      out.push(f(n.node, 'npu-smi', 'fail', `${info.dies ? 'device' : 'NPU'} ${npu} is not listed by npu-smi info`,
        'check the NPU with npu-smi info and dmesg; the driver may have lost the device (or set npusPerNode)', npu));
    } else if (d.health === 'OK') {
      out.push(f(n.node, 'npu-smi', 'pass', `${d.name} Health OK`, undefined, npu));
    } else {
      const status: Status = d.health === 'Warning' ? 'warn' : 'fail';
      const die = info.dies?.find((x) => x.device === npu);
      out.push(f(n.node, 'npu-smi', status, `${d.name} Health ${d.health}`,
        `see the error codes with npu-smi info -t health -i ${die ? die.npu : npu} -c ${die ? die.chip : 0} on ${n.node}`, npu));
    }
  }
}

function judgeRuntime(out: Finding[], n: NodeFacts, ctx: JudgeContext): void {
  const version = valueOr(out, n.runtime, n.node, 'container-runtime', 'the container runtime');
  if (version !== undefined) out.push(f(n.node, 'container-runtime', 'pass', `container runtime answers (${version})`));
  if (!ctx.deployment) return;
  if (n.image) {
    if (n.image.kind === 'ok') {
      out.push(n.image.value
        ? f(n.node, 'image', 'pass', `image ${ctx.deployment.image} is present`)
        : f(n.node, 'image', 'warn', `image ${ctx.deployment.image} is not present: deploy will pull it`,
          'pull it ahead of time (or use deploy --image-archive) to keep the start of all nodes close together'));
    } else valueOr(out, n.image, n.node, 'image', 'checking the image');
  }
  if (n.listeners) {
    const listeners = valueOr(out, n.listeners, n.node, 'ports', 'listing listening ports (ss -Htln)');
    if (listeners) {
      const ownList = ctx.deployment.ownPorts?.[n.node] ?? [];
      // The deployment's own daemon holds HCCL's ports too while it runs (a redeploy).
      const own = new Set(ownList.length > 0 ? [...ownList, ...(ctx.deployment.hcclPorts ?? [])] : []);
      const wanted = portsForNode(n.node, ctx.deployment);
      const hccl = new Set(ctx.deployment.hcclPorts ?? []);
      // The daemon listens on the rendered address, which `address:` may set apart from the SSH host.
      const mine = new Set([n.host, ...(n.address?.kind === 'ok' ? [n.address.value.rendered] : [])]);
      const busy = wanted.filter((p) => !own.has(p) &&
        listeners.some((l) => l.port === p && (mine.has(l.address) || isWildcard(l.address))));
      if (busy.length > 0) {
        const inRange = busy.filter((p) => hccl.has(p));
        const range = inRange.length > 0 ? ` (HCCL's range ${portList([...hccl])}: HCCL fails with "Recv unmatched ack")` : '';
        out.push(f(n.node, 'ports', 'fail', `port${busy.length > 1 ? 's' : ''} ${busy.join(', ')} already in use on ${n.host}${range}`,
          inRange.length > 0
            ? `find the owner with ss -tlnp on ${n.node} and stop it, or move HCCL's range: set HCCL_IF_BASE_PORT in the deployment's env: to a free range of 16 ports`
            : `find the owner with ss -tlnp on ${n.node} and stop it, or choose other ports: in the deployment file`));
      } else {
        out.push(f(n.node, 'ports', 'pass', `ports ${portList(wanted)} are free`));
      }
    }
  }
}

function isWildcard(address: string): boolean {
  return address === '0.0.0.0' || address === '*' || address === '::' || address === '[::]';
}

function judgeHccnConf(out: Finding[], n: NodeFacts, ctx: JudgeContext): void {
  const conf = valueOr(out, n.hccnConf, n.node, 'hccn.conf', 'reading /etc/hccn.conf');
  if (conf === undefined) return;
  if (conf === null) {
    out.push(f(n.node, 'hccn.conf', 'fail', '/etc/hccn.conf does not exist',
      'configure the NPU network with hccn_tool (it writes /etc/hccn.conf); HCCL inside the container reads it'));
    return;
  }
  let problems = 0;
  let compared = 0;
  for (let npu = 0; npu < ctx.npusPerNode; npu++) {
    const entry = conf.devices[npu] ?? {};
    const facts = n.npus[npu] ?? {};
    const ip = facts.ip?.kind === 'ok' ? facts.ip.value : undefined;
    const tls = facts.tls?.kind === 'ok' ? facts.tls.value.switch : undefined;
    // An NPU whose address the tool answered (none configured is an answer too), or whose switch it read.
    if (facts.ip?.kind === 'ok' || tls !== undefined) compared++;
    const issues: string[] = [];
    if (entry.address === undefined) issues.push(`no address_${npu}`);
    else if (ip && entry.address !== ip.address) issues.push(`address_${npu}=${entry.address} but hccn_tool reports ${ip.address}`);
    if (ip && entry.netmask !== undefined && entry.netmask !== ip.netmask) {
      issues.push(`netmask_${npu}=${entry.netmask} but hccn_tool reports ${ip.netmask}`);
    }
    if (tls !== undefined && entry.tls_enable !== undefined && Number(entry.tls_enable) !== tls) {
      issues.push(`tls_enable_${npu}=${entry.tls_enable} but the TLS switch is ${tls}`);
    }
    if (issues.length > 0) {
      problems++;
      out.push(f(n.node, 'hccn.conf', 'fail', `/etc/hccn.conf disagrees with hccn_tool: ${issues.join('; ')}`,
        `set the value again with hccn_tool -i ${npu} (it rewrites /etc/hccn.conf) or correct the stale line`, npu));
    }
  }
  if (problems > 0) return;
  // Nothing to compare with is no agreement (contract: a check that cannot run warns, never passes).
  if (compared === 0) {
    out.push(f(n.node, 'hccn.conf', 'warn', 'not compared: hccn_tool answered for no NPU (see its findings), so /etc/hccn.conf cannot be checked against it',
      'fix hccn_tool on this node (see the ip and tls findings), then run preflight again'));
  } else {
    const some = compared < ctx.npusPerNode ? ` on the ${compared} of ${ctx.npusPerNode} NPUs it answered for` : '';
    out.push(f(n.node, 'hccn.conf', 'pass', `/etc/hccn.conf agrees with hccn_tool${some}`));
  }
}

function judgePerNpu(out: Finding[], n: NodeFacts, ctx: JudgeContext): void {
  for (let npu = 0; npu < ctx.npusPerNode; npu++) {
    const d = n.npus[npu] ?? {};
    const ip = valueOr(out, d.ip, n.node, 'ip', 'hccn_tool -ip -g', npu);
    if (ip === null) {
      out.push(f(n.node, 'ip', 'fail', 'no IP address configured',
        `set it with hccn_tool -i ${npu} -ip -s address <ip> netmask <mask>`, npu));
    }
    // (a configured IP is judged with the whole cluster in judgeIpUniqueness)

    const link = valueOr(out, d.link, n.node, 'link', 'hccn_tool -link -g', npu);
    if (link === 'UP') out.push(f(n.node, 'link', 'pass', 'link status: UP', undefined, npu));
    else if (link === 'DOWN') {
      out.push(f(n.node, 'link', 'fail', 'link status: DOWN',
        'check the optical module / cable and the switch port', npu));
    }

    const health = valueOr(out, d.netHealth, n.node, 'net_health', 'hccn_tool -net_health -g', npu);
    if (health !== undefined) {
      if (health === 'Success') out.push(f(n.node, 'net_health', 'pass', 'net health status: Success', undefined, npu));
      else if (health === 'Init') {
        out.push(f(n.node, 'net_health', 'warn', 'net health status: Init (no detection result yet)',
          `set a detect address (hccn_tool -i ${npu} -netdetect -s address <gateway ip>) and check again in a minute`, npu));
      } else {
        out.push(f(n.node, 'net_health', 'fail', `net health status: ${health}`, netHealthHint(health, npu), npu));
      }
    }

    const lldp = valueOr(out, d.lldp, n.node, 'lldp', 'hccn_tool -lldp -g', npu);
    if (lldp !== undefined) {
      if (lldp.ifname) {
        out.push(f(n.node, 'lldp', 'pass', `peer port ${lldp.ifname}${lldp.systemName ? ` on ${lldp.systemName}` : ''}`, undefined, npu));
      } else {
        out.push(f(n.node, 'lldp', 'fail', 'no LLDP neighbour',
          'check cabling and that the switch port is split/enabled for this NPU', npu));
      }
    }

    const detect = valueOr(out, d.netdetect, n.node, 'netdetect', 'hccn_tool -netdetect -g', npu);
    if (detect !== undefined) {
      if (detect) out.push(f(n.node, 'netdetect', 'pass', `netdetect address ${detect}`, undefined, npu));
      else {
        out.push(f(n.node, 'netdetect', 'fail', 'no netdetect address set',
          `set one (usually the gateway): hccn_tool -i ${npu} -netdetect -s address <ip>`, npu));
      }
    }

    const gw = valueOr(out, d.gateway, n.node, 'gateway', 'hccn_tool -gateway -g', npu);
    if (gw !== undefined) {
      if (gw) out.push(f(n.node, 'gateway', 'pass', `default gateway ${gw}`, undefined, npu));
      else {
        out.push(f(n.node, 'gateway', ctx.gateway === 'required' ? 'fail' : 'warn', 'no gateway configured',
          `set it with hccn_tool -i ${npu} -gateway -s gateway <ip>`, npu));
      }
    }

    const tls = valueOr(out, d.tls, n.node, 'tls', 'hccn_tool -tls -g', npu);
    if (tls !== undefined) {
      if (tls.switch === 0) out.push(f(n.node, 'tls', 'pass', 'TLS switch 0', undefined, npu));
      else if (tls.switch === undefined && tls.setByFix) {
        out.push(f(n.node, 'tls', 'pass', 'TLS switch 0, set by --fix (the device has no certificate, so hccn_tool -tls -g cannot read it back)', undefined, npu));
      } else if (tls.switch === undefined) {
        // Unknown is not 0 (ascend-tools.md §2.8: pass = switch 0 on every NPU, anything else fail).
        out.push(f(n.node, 'tls', 'fail', 'TLS switch unknown: the device has no certificate, so hccn_tool -tls -g cannot read it (HCCL needs 0 on every NPU, else EI0014)',
          `run ascendctl preflight --fix: it sets the switch to 0 (hccn_tool -i ${npu} -tls -s enable 0), which needs no certificate`, npu));
      } else {
        out.push(f(n.node, 'tls', 'fail', `TLS switch ${tls.switch} (HCCL needs 0 on every NPU, else EI0014)`,
          'run ascendctl preflight --fix (it runs hccn_tool -i N -tls -s enable 0 on every NPU)', npu));
      }
    }
  }
}

function netHealthHint(value: string, npu: number): string {
  if (value === 'Fault') return `the port was shut down or failed: check the link; recover with hccn_tool -i ${npu} -cfg recovery`;
  if (value === 'Detect ip set' || value === 'Unreachable' || value === 'Receive timeout') {
    return `the detect address does not answer: check hccn_tool -i ${npu} -netdetect -g, the gateway and the switch`;
  }
  return `check the NPU port: hccn_tool -i ${npu} -link -g, -optical -g and the switch port`;
}

function majority<T>(values: T[]): T | undefined {
  const counts = new Map<T, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  let best: T | undefined;
  let bestCount = 0;
  for (const [v, c] of counts) if (c > bestCount) { best = v; bestCount = c; }
  return best;
}

/**
 * The comparator throws on a string it cannot read (compareDriverVersions: RangeError). Tool output
 * must never end preflight with an exception: an unreadable version becomes a finding instead.
 */
function safeCompare(ctx: JudgeContext, a: string, b: string): number | undefined {
  try {
    return ctx.compareVersions(a, b);
  } catch {
    return undefined;
  }
}

const DRIVER_FORMAT_HINT = 'ascendctl reads versions such as 25.2.0, 25.3.rc1 or 24.1.rc1.b030';

/**
 * The version every node should have: the most common among the nodes that meet the minimum (an old
 * node must not pull the reference down to itself); on a tie the newest, because an operator upgrades
 * the odd node, never downgrades the others.
 */
function driverReference(
  versions: readonly string[], ctx: JudgeContext,
): { version: string; count: number } | undefined {
  const counts = new Map<string, number>();
  for (const v of versions) counts.set(v, (counts.get(v) ?? 0) + 1);
  let best: { version: string; count: number } | undefined;
  for (const [version, count] of counts) {
    if (!best || count > best.count) best = { version, count };
    else if (count === best.count) {
      const d = safeCompare(ctx, version, best.version) ?? 0;
      if (d > 0 || (d === 0 && version > best.version)) best = { version, count };
    }
  }
  return best;
}

function judgeDriver(out: Finding[], nodes: readonly NodeFacts[], ctx: JudgeContext): void {
  const min = ctx.minDriver;
  const minReadable = safeCompare(ctx, min.version, min.version) !== undefined;
  const versions = new Map<string, string>();
  for (const n of nodes) {
    const v = valueOr(out, n.driver, n.node, 'driver', 'reading the driver version.info');
    if (v === undefined) continue;
    if (safeCompare(ctx, v, v) === undefined) {
      const file = n.driverFile ?? '<Driver_Install_Path_Param>/driver/version.info (default /usr/local/Ascend)';
      out.push(f(n.node, 'driver', 'fail', `cannot read the driver version "${v}" (package_version, else Version, of ${file})`,
        `${DRIVER_FORMAT_HINT}: compare with npu-smi -v on ${n.node}; if the driver is right, report this version string`));
      continue;
    }
    versions.set(n.node, v);
  }
  const tooOld = new Set(minReadable
    ? [...versions].filter(([, v]) => (safeCompare(ctx, v, min.version) ?? 0) < 0).map(([node]) => node)
    : []);
  const counted = [...versions].filter(([node]) => !tooOld.has(node));
  const ref = driverReference(counted.map(([, v]) => v), ctx);
  const holders = ref ? counted.filter(([, v]) => v === ref.version).map(([node]) => node) : [];
  const noMajority = ref !== undefined && ref.count * 2 <= counted.length;

  for (const [node, v] of versions) {
    if (tooOld.has(node)) {
      const like = ref ? ` to ${ref.version} (as on ${holders.join(', ')})` : '';
      out.push(f(node, 'driver', 'fail', `driver ${v} is older than ${min.version} (${min.reason})`,
        `upgrade the NPU driver and firmware (Ascend HDK) on this node${like}, or use an image whose CANN supports this driver`));
    } else if (ref !== undefined && v !== ref.version) {
      const why = noMajority ? ` (no majority: ${versionGroups(counted)}; the newest is the reference)` : '';
      const upgrade = (safeCompare(ctx, v, ref.version) ?? 0) < 0 ? ` (upgrade this node to ${ref.version})` : '';
      out.push(f(node, 'driver', 'fail', `driver ${v} differs from ${ref.version} on ${holders.join(', ')}${why}`,
        `install the same driver version on every node${upgrade}`));
    } else if (!minReadable) {
      out.push(f(node, 'driver', 'fail', `driver ${v} cannot be checked against the minimum "${min.version}" (${min.reason}): not a driver version`,
        `set checks.minDriver in the inventory to a version such as "25.2" (${DRIVER_FORMAT_HINT})`));
    } else {
      out.push(f(node, 'driver', 'pass', `driver ${v} (≥ ${min.version})`));
    }
  }
}

/** `25.2.0 on node1, node3; 25.3.rc1 on node2`, in order of first appearance. */
function versionGroups(entries: ReadonlyArray<readonly [string, string]>): string {
  const groups = new Map<string, string[]>();
  for (const [node, v] of entries) groups.set(v, [...(groups.get(v) ?? []), node]);
  return [...groups].map(([v, ns]) => `${v} on ${ns.join(', ')}`).join('; ');
}

function judgeModel(out: Finding[], nodes: readonly NodeFacts[], ctx: JudgeContext): void {
  if (!ctx.deployment) return;
  const path = ctx.deployment.modelPath;
  const keys = new Map<string, string>();
  for (const n of nodes) {
    if (!n.model) continue;
    const m = valueOr(out, n.model, n.node, 'model', `reading the weights under ${path}`);
    if (m === undefined) continue;
    if (m === null || Object.keys(m.hashes).length === 0) {
      out.push(f(n.node, 'model', 'fail', `model path ${path} does not exist or has no config.json`,
        'copy the same weights to the same path on every node (real files, not symlinks)'));
      continue;
    }
    // config.json and generation_config.json are hashed for the `weights` check (contract: their sameness is
    // its rule); `model` compares the weights' index, so a differing config.json is reported once.
    keys.set(n.node, Object.entries(m.hashes).filter(([k]) => k === 'model.safetensors.index.json').sort().map(([k, v]) => `${k}=${v}`).join(','));
  }
  const common = majority([...keys.values()]);
  for (const [node, k] of keys) {
    if (k === common) out.push(f(node, 'model', 'pass', `weights index at ${path} matches the other nodes`));
    else {
      const others = [...keys].filter(([, x]) => x === common).map(([n]) => n);
      out.push(f(node, 'model', 'fail', `weights at ${path} differ from ${others.join(', ')} (model.safetensors.index.json checksum)`,
        'copy identical weights to every node; differing weights hang or corrupt multi-node inference'));
    }
  }
}

function judgeIpUniqueness(out: Finding[], nodes: readonly NodeFacts[], ctx: JudgeContext): void {
  const owners = new Map<string, { node: string; npu: number; unit: string }[]>();
  for (const n of nodes) {
    const devices = n.devices ?? ctx.npusPerNode;
    const unit = deviceUnit(n);
    for (let npu = 0; npu < devices; npu++) {
      const ip = n.npus[npu]?.ip;
      if (ip?.kind === 'ok' && ip.value) {
        const list = owners.get(ip.value.address) ?? [];
        list.push({ node: n.node, npu, unit });
        owners.set(ip.value.address, list);
      }
    }
  }
  for (const [address, list] of owners) {
    for (const o of list) {
      const others = list.filter((x) => x !== o);
      if (others.length === 0) out.push(f(o.node, 'ip', 'pass', `ipaddr ${address}`, undefined, o.npu));
      else {
        out.push(f(o.node, 'ip', 'fail',
          `ipaddr ${address} is also used by ${others.map((x) => `${x.node} ${x.unit} ${x.npu}`).join(', ')}`,
          `give every NPU its own address: hccn_tool -i ${o.npu} -ip -s address <ip> netmask <mask>`, o.npu));
      }
    }
  }
}

function judgePing(out: Finding[], nodes: readonly NodeFacts[]): void {
  for (const n of nodes) {
    const byNpu = new Map<number, PingResult[]>();
    for (const p of n.pings) {
      const list = byNpu.get(p.npu) ?? [];
      list.push(p);
      byNpu.set(p.npu, list);
    }
    // On an A3 the same-numbered peer is a die: its number is a device id, not an NPU's.
    const unit = deviceUnit(n);
    for (const [npu, pings] of [...byNpu].sort((a, b) => a[0] - b[0])) {
      const bad: string[] = [];
      let hint = `check the cable and switch port of NPU ${npu} on both ends; re-test with hccn_tool -i ${npu} -ping -g address <peer ip>`;
      for (const p of pings) {
        const o = p.outcome;
        if (o.kind === 'ok') {
          if (o.value.loss) bad.push(`${p.peer} ${unit} ${p.peerNpu} (${p.address}): ${pingLossText(o.value)}`);
        } else {
          const problem = outcomeProblem(o, `ping ${p.peer} ${unit} ${p.peerNpu} (${p.address})`)!;
          bad.push(problem.message);
          if (o.kind === 'busy' || o.kind === 'timeout') hint = problem.hint;
        }
      }
      if (bad.length === 0) {
        out.push(f(n.node, 'ping', 'pass', `reached ${pings.map((p) => p.peer).join(', ')} with no loss`, undefined, npu));
      } else {
        out.push(f(n.node, 'ping', 'fail', bad.join('; '), hint, npu));
      }
    }
  }
}

/** The loss as the tool reported it; without a summary line only what was seen, never a made-up percentage. */
function pingLossText(v: PingFacts): string {
  const lost = v.lostSeqs.length > 0 ? `, lost seq ${v.lostSeqs.join(',')}` : '';
  if (v.summary) return `${v.summary.lossPct.toFixed(2)}% loss${lost}`;
  const exit = v.exitCode === null ? 'killed' : `exit ${v.exitCode ?? '?'}`;
  const head = v.answered ? `loss of unknown size (${exit}, no summary line; ${v.answered} probe${v.answered > 1 ? 's' : ''} answered`
    : `no reply (${exit}, no summary line`;
  return `${head}${lost})${v.detail ? `: "${v.detail}"` : ''}`;
}

/**
 * An NPU of a reachable node that sent no ping (its own address unknown, or no reachable peer with an
 * address on its plane) still gets its `ping` finding: the contract lists every check result, and a
 * missing one would read as nothing to report. A warning, since the cause is failed already (ip, ssh).
 */
function judgePingUnsent(out: Finding[], facts: readonly NodeFacts[], ctx: JudgeContext): void {
  const sent = new Set(out.filter((x) => x.check === 'ping').map((x) => `${x.node}/${x.npu}`));
  const down = facts.filter((n) => n.ssh.kind !== 'ok').map((n) => n.node);
  for (const n of facts) {
    if (n.ssh.kind !== 'ok') continue;
    const devices = n.devices ?? ctx.npusPerNode;
    for (let npu = 0; npu < devices; npu++) {
      if (sent.has(`${n.node}/${npu}`)) continue;
      const ip = n.npus[npu]?.ip;
      const own = ip?.kind === 'ok' && ip.value !== null;
      const why = !own ? 'this NPU has no address hccn_tool could report (see its ip finding)'
        : down.length > 0 ? `no reachable peer to ping on this plane (unreachable: ${down.join(', ')})`
          : 'no other node has an address on this plane (see their ip findings)';
      out.push(f(n.node, 'ping', 'warn', `not checked: ${why}`,
        'fix the failure named there, then run preflight again to test the RoCE paths', npu));
    }
  }
}

/**
 * `--node` with a single node: the ping plan has no peer for it, so no RoCE path was tested. Saying
 * nothing would read as "all checks passed" while the cross-node paths are unknown.
 */
function judgePingNotSelected(out: Finding[], nodes: readonly NodeFacts[], ctx: JudgeContext): void {
  for (const n of nodes) {
    for (let npu = 0; npu < ctx.npusPerNode; npu++) {
      out.push(f(n.node, 'ping', 'warn', 'not checked: no other node selected (--node)',
        'run without --node (or name two or more nodes) to check the cross-node paths', npu));
    }
  }
}
