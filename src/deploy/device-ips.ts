import type { ResolvedNode } from '../config/inventory.js';
import { ClusterError } from '../errors.js';
import { readDeviceIps } from '../preflight/collect.js';
import { preflightNodes } from '../preflight/run.js';
import type { TransportPool } from '../remote/transport.js';
import { RemoteError } from '../remote/transport.js';
import { deviceWord } from '../mindie/render-input.js';

/** Every node's NPU addresses, read live over SSH; the first node or NPU without one stops it (exit 1). */
export async function readAllDeviceIps(
  nodes: readonly ResolvedNode[], pool: TransportPool, npusPerNode: number, signal?: AbortSignal,
): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  await Promise.all(preflightNodes(nodes, pool).map(async (pn) => {
    let r: Awaited<ReturnType<typeof readDeviceIps>>;
    try {
      r = await readDeviceIps(pn, npusPerNode, signal ? { signal } : {});
    } catch (err) {
      if (err instanceof RemoteError) throw new ClusterError(`${pn.name}: ${err.message}`, { hint: err.hint ?? 'check ssh to the node' });
      throw err;
    }
    if ('problem' in r) {
      throw new ClusterError(`${pn.name} ${deviceWord(npusPerNode)} ${r.npu}: ${r.problem}; a rank table cannot be written without every device IP`, {
        hint: `configure it (hccn_tool -i ${r.npu} -ip -s address <ip> netmask <mask>) and run ascendctl preflight`,
      });
    }
    out[pn.name] = r.ips;
  }));
  return out;
}
