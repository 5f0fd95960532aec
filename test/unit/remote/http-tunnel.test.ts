import { createServer as createHttpServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpRoute, openLocalTunnel, type TcpOpener } from '../../../src/remote/http-tunnel.js';

let http: Server;
let port: number;
const seen: string[] = [];

beforeAll(async () => {
  http = createHttpServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    res.end(`answer to ${req.url}`);
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  port = (http.address() as AddressInfo).port;
});
afterAll(async () => {
  await new Promise<void>((resolve) => http.close(() => resolve()));
});

/** An opener standing in for a node's SSH connection: plain TCP, with a log of what it was asked. */
function opener(jump: boolean, fail?: Error): TcpOpener & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    target: { name: 'node1' },
    endpoint: jump ? { jumpHost: { user: 'ops', hostname: 'bastion', port: 22 } } : {},
    openTcp: async (host: string, p: number): Promise<Duplex> => {
      asked.push(`${host}:${p}`);
      if (fail) throw fail;
      const sock = connect(p, host);
      await new Promise<void>((resolve, reject) => sock.once('connect', resolve).once('error', reject));
      return sock;
    },
  };
}

describe('httpRoute', () => {
  it('is the identity, opening nothing, for a master reached directly', async () => {
    const o = opener(false);
    const route = await httpRoute(o, [`http://127.0.0.1:${port}`]);
    expect(route.url(`http://127.0.0.1:${port}`)).toBe(`http://127.0.0.1:${port}`);
    expect(route.via).toBeUndefined();
    await route.close();
    expect(o.asked).toEqual([]);
  });

  it('behind a jump host, maps each base URL to a local port whose connections are opened on the node', async () => {
    const o = opener(true);
    const base = `http://127.0.0.1:${port}`;
    const route = await httpRoute(o, [base, `${base}/`]);
    try {
      const local = route.url(base);
      expect(local).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(local).not.toBe(base);
      expect(route.url(`${base}/`)).toBe(local);
      expect(route.url('http://10.9.9.9:1')).toBe('http://10.9.9.9:1'); // not routed: unchanged
      expect(route.via).toBe("through node1's SSH connection (jump host ops@bastion:22)");
      const r = await request(`${local}/v1/chat/completions`);
      expect(await r.body.text()).toBe('answer to /v1/chat/completions');
      expect(o.asked).toEqual([`127.0.0.1:${port}`]);
      expect(seen).toContain('GET /v1/chat/completions');
      expect(route.lastError()).toBeUndefined();
    } finally {
      await route.close();
    }
  });

  it('keeps the failure of an opening for the error message, and the request fails instead of hanging', async () => {
    const o = opener(true, new Error('node1 refused forwarding'));
    const route = await httpRoute(o, [`http://127.0.0.1:${port}`]);
    try {
      await expect(request(`${route.url(`http://127.0.0.1:${port}`)}/health`)).rejects.toThrow();
      expect(route.lastError()?.message).toBe('node1 refused forwarding');
    } finally {
      await route.close();
    }
  });
});

describe('openLocalTunnel', () => {
  it('close() ends live connections and stops listening', async () => {
    let remote: Duplex | undefined;
    const tunnel = await openLocalTunnel(async () => {
      remote = connect(port, '127.0.0.1');
      return remote;
    });
    const sock = connect(tunnel.port, '127.0.0.1');
    await new Promise<void>((resolve) => sock.once('connect', resolve));
    while (remote === undefined) await new Promise((r) => setTimeout(r, 5));
    expect(tunnel.accepted).toBe(1);
    const closed = new Promise<void>((resolve) => sock.once('close', () => resolve()));
    await tunnel.close();
    await closed;
    expect(remote?.destroyed).toBe(true);
    const refused = connect(tunnel.port, '127.0.0.1');
    await expect(new Promise((resolve, reject) => refused.once('connect', resolve).once('error', reject))).rejects.toThrow(/ECONNREFUSED/);
  });
});
