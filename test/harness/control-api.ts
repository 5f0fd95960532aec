/**
 * The simulator's control API for tests and benchmarks in another process, on 127.0.0.1 only:
 * GET /state, PUT /nodes/:name/faults, POST /nodes/:name/{drop,down,up}.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { listenLocal } from '../../src/sim/byte-pipe.js';
import { parseFaults } from '../../src/sim/cluster-spec.js';
import type { RunningSimCluster } from '../../src/sim/main.js';
import { servingRecord } from '../../src/sim/serving-record.js';
import type { SimFault } from '../../src/sim/types.js';

export const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** Serve the control API of `running` on 127.0.0.1 (port 0 = any). */
export async function startControlApi(running: RunningSimCluster, port: number) {
  const server = createServer((req, res) => void control(running, req, res));
  return {
    url: `http://127.0.0.1:${await listenLocal(server, port)}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(`${JSON.stringify(body)}\n`);
}

async function control(running: RunningSimCluster, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const m = /^\/nodes\/([^/]+)\/(faults|drop|down|up)$/.exec(url.pathname);
  try {
    if (req.method === 'GET' && url.pathname === '/state') {
      const nodes = running.cluster.nodes.map((n) => ({
        name: n.name, host: n.host, sshPort: n.sshPort, down: n.down, faults: n.faults, deviceIps: n.deviceIps(),
        tls: n.tlsSwitches(), listeners: n.listeningSockets(), programs: [...n.programs.keys()],
        serving: servingRecord(n.shared, n.name),
      }));
      return reply(res, 200, { profile: running.cluster.profile, nodes });
    }
    if (!m) return reply(res, 404, { error: `no route ${req.method} ${url.pathname}` });
    const node = running.cluster.find(decodeURIComponent(m[1] ?? ''));
    if (!node) return reply(res, 404, { error: `no simulated node ${decodeURIComponent(m[1] ?? '')}` });
    if (m[2] === 'faults' && req.method === 'PUT') {
      let faults: SimFault[];
      try {
        const parts: Buffer[] = [];
        for await (const c of req) parts.push(c as Buffer);
        faults = parseFaults(JSON.parse(Buffer.concat(parts).toString('utf8')));
      } catch (err) {
        return reply(res, 400, { error: `bad faults: ${message(err)}` });
      }
      await running.setFaults(node.name, faults);
      return reply(res, 200, { node: node.name, faults: node.faults });
    }
    if (req.method !== 'POST') return reply(res, 405, { error: `use POST for ${url.pathname}` });
    if (m[2] === 'drop') return reply(res, 200, { node: node.name, dropped: running.dropConnections(node.name) });
    if (m[2] === 'down') await running.nodeDown(node.name);
    if (m[2] === 'up') await running.nodeUp(node.name);
    return reply(res, 200, { node: node.name, down: node.down });
  } catch (err) {
    return reply(res, 500, { error: message(err) });
  }
}
