/**
 * Node ranges in the inventory: one `nodes:` entry `{ name: node[01-64], host: 10.0.0.[1-64] }` stands
 * for 64 nodes, the n-th name with the n-th host, every other key of the entry applying to each. The
 * expansion runs on the parsed YAML before the schema, so every later rule (plain names, unique names and
 * hosts, one master) sees the nodes one by one; problems found on an expanded node are reported at the
 * entry that produced it (`nodes[0].host`, its line), so the messages point into the file as written.
 *
 * The name and the host are node sets of the same size, a plain value counting as a set of one: a name
 * range needs a host range of as many hosts (one host cannot be several nodes), and a host range needs a
 * name range (names are unique).
 */
import { expandPattern, isNodeRange, NodeSetError } from './nodeset.js';
import type { Problem, YamlFile, YamlPath } from './yaml-file.js';

export interface NodeRangeExpansion {
  /** The file with `nodes:` expanded (the same document and locations: only `data` differs). */
  file: YamlFile;
  /** For each expanded node, the index of the `nodes:` entry it came from. */
  origin: number[];
  /** A path into the expanded data → the same path into the file as written. */
  entryPath(p: YamlPath): YamlPath;
  /** Located problems of the ranges themselves (bad pattern, sizes that differ). */
  problems: Problem[];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Expand every node range of a parsed inventory; anything that is not a list of mappings is left to the schema. */
export function expandNodeRanges(file: YamlFile): NodeRangeExpansion {
  const origin: number[] = [];
  const problems: Problem[] = [];
  const entryPath = (p: YamlPath): YamlPath =>
    p[0] === 'nodes' && typeof p[1] === 'number' && p.length >= 2 ? ['nodes', origin[p[1]] ?? p[1], ...p.slice(2)] : p;
  const data = file.data;
  if (!isRecord(data) || !Array.isArray(data['nodes'])) return { file, origin, entryPath, problems };

  const nodes: unknown[] = [];
  (data['nodes'] as unknown[]).forEach((entry, i) => {
    const one = () => {
      nodes.push(entry);
      origin.push(i);
    };
    if (!isRecord(entry)) return one();
    const name = entry['name'];
    const host = entry['host'];
    const nameRange = typeof name === 'string' && isNodeRange(name);
    const hostRange = typeof host === 'string' && isNodeRange(host);
    if (!nameRange && !hostRange) return one();

    const expand = (key: 'name' | 'host', text: string): string[] | undefined => {
      try {
        return expandPattern(text);
      } catch (err) {
        if (!(err instanceof NodeSetError)) throw err;
        // `[fd00::1]` is how ssh -J writes an IPv6 address, not a range: say so.
        const ipv6 = key === 'host' && /^\[[0-9A-Fa-f.%]*:[0-9A-Fa-f:.%]*\]$/.test(text);
        problems.push({ path: ['nodes', i, key], message: ipv6 ? `${text}: brackets make a node range here; expected an IPv6 address without brackets (${text.slice(1, -1)})` : err.message });
        return undefined;
      }
    };
    const names = typeof name === 'string' ? expand('name', name) : undefined;
    const hosts = typeof host === 'string' ? expand('host', host) : undefined;
    if ((typeof name === 'string' && !names) || (typeof host === 'string' && !hosts)) return;

    if (names && hosts && names.length !== hosts.length) {
      const nameText = String(name);
      const hostText = String(host);
      let message: string;
      if (hosts.length === 1) {
        message = `${hostText} is one host, but the name ${nameText} names ${names.length} nodes; expected a host range of ${names.length} hosts (e.g. 10.0.0.[1-${names.length}]), one per node`;
      } else if (names.length === 1) {
        message = `${hostText} names ${hosts.length} hosts, but the name ${nameText} is one node; expected a name range of ${hosts.length} names (e.g. node[1-${hosts.length}]), one per host`;
      } else {
        message = `${hostText} names ${hosts.length} hosts, but the name ${nameText} names ${names.length} nodes; expected as many hosts as names (the n-th name gets the n-th host)`;
      }
      problems.push({ path: ['nodes', i, 'host'], message });
      return;
    }
    const count = names?.length ?? hosts?.length ?? 0;
    // The node's own address (`address:`) follows the host: a range of as many, one per node.
    const address = entry['address'];
    let addresses: string[] | undefined;
    if (typeof address === 'string' && count > 1) {
      try {
        addresses = expandPattern(address);
      } catch (err) {
        if (!(err instanceof NodeSetError)) throw err;
        problems.push({ path: ['nodes', i, 'address'], message: err.message });
        return;
      }
      if (addresses.length !== count) {
        problems.push({
          path: ['nodes', i, 'address'],
          message: `${address} names ${addresses.length} address${addresses.length === 1 ? '' : 'es'}, but the entry names ${count} nodes; expected an address range of ${count} (e.g. 192.168.0.[1-${count}]), one per node`,
        });
        return;
      }
    }
    if (entry['role'] === 'master' && count > 1) {
      problems.push({
        path: ['nodes', i, 'role'],
        message: `role: master on ${String(name)}, which names ${count} nodes; expected one master: give the master an entry of its own`,
      });
      return;
    }
    for (let k = 0; k < count; k++) {
      const expanded: Record<string, unknown> = { ...entry };
      if (names) expanded['name'] = names[k];
      if (hosts) expanded['host'] = hosts[k];
      if (addresses) expanded['address'] = addresses[k];
      nodes.push(expanded);
      origin.push(i);
    }
  });
  return { file: { ...file, data: { ...data, nodes } }, origin, entryPath, problems };
}
