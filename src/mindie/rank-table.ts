import { addressProblem } from './address.js';
import { checkRenderInput } from './input-check.js';
import { RenderError } from './render-error.js';
import { deviceWord, type RenderInput, type RenderNode } from './render-input.js';

/** Rank table v1.0 (mindie-multinode.md §3): every value a string, the parser `stoi`s them. */
export interface RankTableDevice {
  device_id: string;
  device_ip: string;
  rank_id: string;
}

export interface RankTableServer {
  server_id: string;
  container_ip: string;
  device: RankTableDevice[];
}

export interface RankTable {
  version: '1.0';
  server_count: string;
  status: 'completed';
  server_list: RankTableServer[];
}

// Limits of MindIE's rank-table parser (§1, §3).
const MIN_SERVERS = 2;
const MAX_SERVERS = 60;
const MAX_DEVICES_PER_SERVER = 32;
const MAX_DEVICE_ID = 63;
const MAX_RANK_ID = 511;

const DEVICE_IPS_HINT = 'read the NPU addresses again with `hccn_tool -i N -ip -g` (or fix the --device-ips file) and make sure every NPU has its own RoCE address';

/** The device IPs of `node`, looked up by name first, then by host (a --device-ips file may use either). */
function deviceIpsOf(input: RenderInput, node: RenderNode): string[] | undefined {
  return Object.hasOwn(input.deviceIps, node.name)
    ? input.deviceIps[node.name]
    : Object.hasOwn(input.deviceIps, node.host)
      ? input.deviceIps[node.host]
      : undefined;
}

/**
 * Build the one rank table every node gets: master's server first, rank ids contiguous node by node
 * (`k × npusPerNode + d`), device_id = physical NPU id. Refuses unknown, placeholder, invalid or
 * duplicate device IPs and a node with the wrong device count: MindIE would fail minutes later with
 * "Parameter device_ip is invalid in ranktable file".
 */
export function renderRankTable(input: RenderInput): RankTable {
  checkRenderInput(input);
  const { nodes, npusPerNode } = input;
  if (nodes.length < MIN_SERVERS || nodes.length > MAX_SERVERS) {
    throw new RenderError(`MindIE multi-node serving needs ${MIN_SERVERS}–${MAX_SERVERS} servers in the rank table; the inventory has ${nodes.length}`, {
      path: 'nodes',
      hint: 'list at least two nodes in the inventory',
    });
  }
  const seen = new Map<string, { node: string; npu: number }>();
  const unit = deviceWord(npusPerNode);
  const serverList = nodes.map((node, k): RankTableServer => {
    const ips = deviceIpsOf(input, node);
    if (ips === undefined) {
      throw new RenderError(`no NPU addresses for node ${node.name} (${node.host})`, { node: node.name, deviceIps: true, hint: DEVICE_IPS_HINT });
    }
    if (ips.length !== npusPerNode) {
      throw new RenderError(`node ${node.name} (${node.host}) reports ${ips.length} NPU addresses; expected ${npusPerNode} (npusPerNode), the same count on every server`, {
        node: node.name,
        deviceIps: true,
        hint: `check that all ${npusPerNode} NPUs are visible (npu-smi info) and have an address, or fix npusPerNode in the inventory`,
      });
    }
    const device = ips.map((ip, d): RankTableDevice => {
      const problem = typeof ip === 'string' ? addressProblem(ip) : 'is not a string';
      if (problem !== undefined) {
        throw new RenderError(`node ${node.name} ${unit} ${d}: device IP ${problem}`, { node: node.name, npu: d, deviceIps: true, hint: DEVICE_IPS_HINT });
      }
      const other = seen.get(ip);
      if (other !== undefined) {
        throw new RenderError(`node ${node.name} ${unit} ${d}: device IP ${ip} is also used by node ${other.node} ${unit} ${other.npu}`, {
          node: node.name,
          npu: d,
          deviceIps: true,
          hint: 'NPU addresses must be unique in the cluster: fix /etc/hccn.conf on one of the two nodes (hccn_tool -i N -ip -s …)',
        });
      }
      seen.set(ip, { node: node.name, npu: d });
      return { device_id: String(d), device_ip: ip, rank_id: String(k * npusPerNode + d) };
    });
    return { server_id: node.host, container_ip: node.host, device };
  });
  return { version: '1.0', server_count: String(serverList.length), status: 'completed', server_list: serverList };
}

/** Text as uploaded: 2-space indent, trailing newline. */
export function rankTableText(table: RankTable): string {
  return `${JSON.stringify(table, null, 2)}\n`;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function exactKeys(obj: Record<string, unknown>, keys: readonly string[], where: string): void {
  const extra = Object.keys(obj).filter((k) => !keys.includes(k));
  const missing = keys.filter((k) => !Object.hasOwn(obj, k));
  if (missing.length > 0 || extra.length > 0) {
    const parts = [missing.length > 0 ? `missing ${missing.join(', ')}` : '', extra.length > 0 ? `unexpected ${extra.join(', ')}` : ''].filter(Boolean);
    throw new RenderError(`rank table ${where}: ${parts.join('; ')}; the v1.0 format has exactly ${keys.join(', ')}`, {
      path: where,
      hint: 'write the rank table in the v1.0 format (mindie-multinode.md §3)',
    });
  }
}

function stringField(obj: Record<string, unknown>, key: string, where: string): string {
  const v = obj[key];
  if (typeof v !== 'string') {
    throw new RenderError(`rank table ${where}.${key} is ${JSON.stringify(v)}; every value must be a string`, {
      path: `${where}.${key}`,
      hint: `quote the value: "${key}": "${String(v)}"`,
    });
  }
  return v;
}

function intField(obj: Record<string, unknown>, key: string, where: string, min: number, max: number): number {
  const s = stringField(obj, key, where);
  if (!/^\d+$/.test(s) || Number(s) < min || Number(s) > max) {
    throw new RenderError(`rank table ${where}.${key} is "${s}"; expected a whole number ${min}–${max} as a string`, {
      path: `${where}.${key}`,
      hint: 'fix the value in the rank table',
    });
  }
  return Number(s);
}

/**
 * Check an existing rank-table object against the rules MindIE's parser and ascendctl rely on: exact
 * v1.0 key set, every value a string, 2–60 servers with the same device count, unique and valid
 * addresses, rank ids contiguous server by server (so rank 0 — the master — is on the first server).
 * With `expect.npusPerNode` the device count is pinned too. Returns the value typed.
 */
export function validateRankTable(obj: unknown, expect: { npusPerNode?: number } = {}): RankTable {
  if (!isRecord(obj)) {
    throw new RenderError('rank table is not a JSON object', { hint: 'write the rank table in the v1.0 format (mindie-multinode.md §3)' });
  }
  exactKeys(obj, ['version', 'server_count', 'status', 'server_list'], '(top level)');
  const version = stringField(obj, 'version', '(top level)');
  if (version !== '1.0') {
    throw new RenderError(`rank table version is "${version}"; MindIE on A2 uses "1.0"`, { path: 'version', hint: 'set "version": "1.0"' });
  }
  const status = stringField(obj, 'status', '(top level)');
  if (status !== 'completed') {
    throw new RenderError(`rank table status is "${status}"; expected "completed"`, { path: 'status', hint: 'set "status": "completed"' });
  }
  const count = intField(obj, 'server_count', '(top level)', MIN_SERVERS, MAX_SERVERS);
  const list = obj.server_list;
  if (!Array.isArray(list)) {
    throw new RenderError('rank table server_list is not an array', { path: 'server_list', hint: 'server_list lists one object per server' });
  }
  if (list.length !== count) {
    throw new RenderError(`rank table server_count is "${count}" but server_list has ${list.length} entries`, {
      path: 'server_count',
      hint: 'server_count must equal the number of servers listed',
    });
  }
  const perServer = expect.npusPerNode;
  let devicesPerServer: number | undefined = perServer;
  const serverIds = new Set<string>();
  const deviceIps = new Map<string, string>();
  const servers = list.map((server: unknown, k): RankTableServer => {
    const where = `server_list[${k}]`;
    if (!isRecord(server)) throw new RenderError(`rank table ${where} is not an object`, { path: where, hint: 'each server is { server_id, container_ip, device }' });
    exactKeys(server, ['server_id', 'container_ip', 'device'], where);
    const serverId = stringField(server, 'server_id', where);
    const containerIp = stringField(server, 'container_ip', where);
    for (const [key, ip] of [['server_id', serverId], ['container_ip', containerIp]] as const) {
      const problem = addressProblem(ip);
      if (problem !== undefined) {
        throw new RenderError(`rank table ${where}.${key} ${problem}`, { node: serverId, path: `${where}.${key}`, hint: 'use the node\'s IP address' });
      }
    }
    if (serverIds.has(serverId)) {
      throw new RenderError(`rank table lists server ${serverId} twice`, { node: serverId, path: `${where}.server_id`, hint: 'list every server once' });
    }
    serverIds.add(serverId);
    const devices = server.device;
    if (!Array.isArray(devices) || devices.length < 1 || devices.length > MAX_DEVICES_PER_SERVER) {
      throw new RenderError(`rank table ${where}.device must list 1–${MAX_DEVICES_PER_SERVER} devices`, { node: serverId, path: `${where}.device`, hint: 'list every NPU of the server' });
    }
    devicesPerServer ??= devices.length;
    if (devices.length !== devicesPerServer) {
      throw new RenderError(
        `rank table server ${serverId} lists ${devices.length} devices; expected ${devicesPerServer}${perServer === undefined ? ' like the first server' : ' (npusPerNode)'} — every server must list the same number`,
        { node: serverId, path: `${where}.device`, hint: 'list the same NPUs on every server' },
      );
    }
    const ids = new Set<number>();
    const device = devices.map((dev: unknown, j): RankTableDevice => {
      const dwhere = `${where}.device[${j}]`;
      if (!isRecord(dev)) throw new RenderError(`rank table ${dwhere} is not an object`, { node: serverId, path: dwhere, hint: 'each device is { device_id, device_ip, rank_id }' });
      exactKeys(dev, ['device_id', 'device_ip', 'rank_id'], dwhere);
      const id = intField(dev, 'device_id', dwhere, 0, MAX_DEVICE_ID);
      if (ids.has(id)) throw new RenderError(`rank table server ${serverId} lists device_id ${id} twice`, { node: serverId, npu: id, path: `${dwhere}.device_id`, hint: 'list each NPU once' });
      ids.add(id);
      const ip = stringField(dev, 'device_ip', dwhere);
      const problem = addressProblem(ip);
      if (problem !== undefined) {
        throw new RenderError(`rank table server ${serverId} NPU ${id}: device_ip ${problem}`, { node: serverId, npu: id, path: `${dwhere}.device_ip`, hint: DEVICE_IPS_HINT });
      }
      const other = deviceIps.get(ip);
      if (other !== undefined) {
        throw new RenderError(`rank table server ${serverId} NPU ${id}: device_ip ${ip} is also used by ${other}`, { node: serverId, npu: id, path: `${dwhere}.device_ip`, hint: DEVICE_IPS_HINT });
      }
      deviceIps.set(ip, `server ${serverId} NPU ${id}`);
      const rank = intField(dev, 'rank_id', dwhere, 0, MAX_RANK_ID);
      const expected = k * (devicesPerServer ?? devices.length) + j;
      if (rank !== expected) {
        throw new RenderError(
          `rank table server ${serverId} NPU ${id}: rank_id is "${rank}", expected "${expected}" — ranks run contiguously server by server, master (rank 0) first`,
          { node: serverId, npu: id, path: `${dwhere}.rank_id`, hint: 'number the ranks k × devices-per-server + position, starting with the master' },
        );
      }
      return { device_id: String(id), device_ip: ip, rank_id: String(rank) };
    });
    return { server_id: serverId, container_ip: containerIp, device };
  });
  return { version: '1.0', server_count: String(count), status: 'completed', server_list: servers };
}

/**
 * Parse a `--device-ips` file (`{ "<node name or host>": ["<ip of NPU 0>", …] }`) into a map keyed by
 * node name. Unknown keys and missing nodes are refused so a typo cannot silently drop a server; the
 * addresses themselves are checked by renderRankTable.
 */
export function parseDeviceIps(obj: unknown, nodes: readonly RenderNode[]): Record<string, string[]> {
  if (!isRecord(obj)) {
    throw new RenderError('the device-IPs file is not a JSON object of node → list of NPU addresses', {
      deviceIps: true,
      hint: 'write { "node1": ["192.168.100.11", …], "node2": [ … ] }',
    });
  }
  const out: Record<string, string[]> = {};
  for (const [key, value] of Object.entries(obj)) {
    const node = nodes.find((n) => n.name === key) ?? nodes.find((n) => n.host === key);
    if (node === undefined) {
      throw new RenderError(`the device-IPs file names "${key}", which is neither a node name nor a host in the inventory`, {
        path: key,
        deviceIps: true,
        hint: `use one of: ${nodes.map((n) => n.name).join(', ')}`,
      });
    }
    if (Object.hasOwn(out, node.name)) {
      throw new RenderError(`the device-IPs file lists node ${node.name} twice (by name and by host)`, { node: node.name, path: key, deviceIps: true, hint: 'keep one entry per node' });
    }
    if (!Array.isArray(value) || !value.every((v): v is string => typeof v === 'string')) {
      throw new RenderError(`the device-IPs file entry for ${node.name} is not a list of address strings`, {
        node: node.name,
        path: key,
        deviceIps: true,
        hint: 'list the addresses in NPU order: ["<ip of NPU 0>", "<ip of NPU 1>", …]',
      });
    }
    out[node.name] = [...value];
  }
  for (const node of nodes) {
    if (!Object.hasOwn(out, node.name)) {
      throw new RenderError(`the device-IPs file has no entry for node ${node.name} (${node.host})`, { node: node.name, deviceIps: true, hint: 'add the node\'s NPU addresses to the file' });
    }
  }
  return out;
}
