/**
 * Network programs of a simulated node's shell: `ip` (`-o addr show`, `route get ADDR`, in iproute2's
 * output format) and `python3`, in the one form ascendctl uses it — its reach probe,
 * `python3 -c SCRIPT listen ADDR SECONDS PORT…` / `connect SRC SECONDS ADDR:PORT…` — run on real
 * loopback sockets, with the nodes' firewall faults applied. Any other python3 use is refused.
 */
import net from 'node:net';
import { Refusal, type ArgvContext } from './shell-builtins.js';
import { firewallVerdict, networkOf, ownAddresses } from './firewall.js';
import type { SimIo } from './types.js';

const PROBE_MARKER = '# ascendctl reach probe v1';
const TAG = 'ascendctl-reach';

/** `ip -o addr show` and `ip route get ADDR`, in iproute2's output format. */
async function ip(sh: ArgvContext, args: string[], io: SimIo): Promise<number> {
  const node = sh.node;
  const prefix = node.host.split('.').slice(0, 3).join('.');
  const form = args.join(' ');
  if (form === '-o addr show') {
    await io.stdout([
      '1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever',
      `2: eth0    inet ${node.host}/24 brd ${prefix}.255 scope global eth0\\       valid_lft forever preferred_lft forever`,
      '',
    ].join('\n'));
    return 0;
  }
  const target = args[2];
  if (args[0] !== 'route' || args[1] !== 'get' || target === undefined || args.length > 3) {
    const what = args.find((a) => !a.startsWith('-')) ?? '';
    if (what !== 'addr' && what !== 'route') throw new Refusal(`Object "${what}" is unknown, try "ip help".`);
    throw new Refusal('ip (simulated): the node answers `ip -o addr show` and `ip route get ADDR` only');
  }
  if (net.isIP(target) !== 4) throw new Refusal(`Error: any valid prefix is expected rather than "${target}".`);
  if (ownAddresses(node).includes(target)) await io.stdout(`local ${target} dev lo table local src ${target} uid 0 \n    cache <local> \n`);
  else await io.stdout(`${target} via ${prefix}.254 dev eth0 src ${node.host} uid 0 \n    cache \n`);
  return 0;
}

async function python3(sh: ArgvContext, args: string[], io: SimIo): Promise<number> {
  if (sh.node.faultsOf('no-python3').length > 0) throw new Refusal('sh: 1: python3: not found', 127);
  if (args[0] !== '-c' || !(args[1] ?? '').includes(PROBE_MARKER)) {
    throw new Refusal('python3 (simulated): only ascendctl\'s reach probe (python3 -c SCRIPT listen|connect …) runs here', 2);
  }
  const [mode, a1 = '', a2 = '', ...rest] = args.slice(2);
  if (mode === 'listen') return listen(sh, a1, Number(a2), rest.map(Number), io);
  if (mode === 'connect') return connect(sh, a1, Number(a2), rest, io);
  throw new Refusal('Traceback (most recent call last):\nIndexError: list index out of range');
}

const out = (io: SimIo, ...words: (string | number)[]): Promise<void> => io.stdout(`${[TAG, ...words].join(' ')}\n`);

function bindServer(address: string, port: number): Promise<net.Server | string> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'EINVAL'));
    server.listen({ host: address, port, exclusive: true }, () => resolve(server));
  });
}

async function listen(sh: ArgvContext, address: string, lifeS: number, ports: number[], io: SimIo): Promise<number> {
  const node = sh.node;
  const servers: { server: net.Server; remove: () => void }[] = [];
  try {
    for (const port of ports) {
      if (!ownAddresses(node).includes(address)) { await out(io, 'bind-failed', port, 'EADDRNOTAVAIL'); continue; }
      if (node.listeningSockets().some((l) => l.port === port && (l.address === address || l.address === '0.0.0.0'))) {
        await out(io, 'bind-failed', port, 'EADDRINUSE');
        continue;
      }
      const server = await bindServer(address, port);
      if (typeof server === 'string') { await out(io, 'bind-failed', port, server); continue; }
      server.on('connection', (socket) => {
        const peer = socket.remoteAddress ?? '?';
        socket.destroy();
        void out(io, 'accept', port, peer).catch(() => undefined);
      });
      servers.push({ server, remove: node.addListener({ address, port, owner: 'python3' }) });
    }
    await out(io, 'ready');
    // Until standard input ends (the caller closed it or went away), the deadline, or an abort.
    const life = AbortSignal.any([io.signal, AbortSignal.timeout(Math.max(0, lifeS) * 1000)]);
    await new Promise<void>((resolve) => {
      life.addEventListener('abort', () => resolve(), { once: true });
      if (life.aborted) resolve();
      void (async () => {
        try {
          if (io.stdin) for await (const _chunk of io.stdin) { if (life.aborted) break; }
        } catch {
          // a broken input is an end of input
        }
        resolve();
      })();
    });
    return 0;
  } finally {
    for (const s of servers) {
      s.remove();
      s.server.close();
    }
  }
}

async function connect(sh: ArgvContext, source: string, waitS: number, targets: string[], io: SimIo): Promise<number> {
  const node = sh.node;
  if (!ownAddresses(node).includes(source)) {
    await out(io, 'source-failed', 'EADDRNOTAVAIL');
    return 3;
  }
  const network = networkOf(node.shared);
  // A dropped SYN costs the whole wait; in the fast profile simulated seconds are short (10 ms).
  const dropMs = waitS * (node.profile === 'fast' ? 10 : 1000);
  const results = await Promise.all(targets.map(async (t) => {
    const at = t.lastIndexOf(':');
    const address = t.slice(0, at);
    const port = Number(t.slice(at + 1));
    const peer = network?.byAddress(address);
    const verdict = peer ? firewallVerdict(peer, node, port) : undefined;
    if (verdict === 'drop') {
      await new Promise((r) => setTimeout(r, dropMs));
      return `${address} ${port} timeout`;
    }
    if (verdict === 'reject') return `${address} ${port} ECONNREFUSED`;
    if (!address.startsWith('127.')) return `${address} ${port} ENETUNREACH`; // the simulator stays on loopback
    const outcome = await new Promise<string>((resolve) => {
      const socket = net.connect({ host: address, port, localAddress: source });
      const timer = setTimeout(() => { socket.destroy(); resolve('timeout'); }, waitS * 1000);
      socket.once('connect', () => { clearTimeout(timer); socket.destroy(); resolve('ok'); });
      socket.once('error', (e: NodeJS.ErrnoException) => { clearTimeout(timer); resolve(e.code ?? 'EIO'); });
    });
    return `${address} ${port} ${outcome}`;
  }));
  for (const r of results) await out(io, 'result', r);
  return 0;
}

export const NETWORK_BUILTINS = { ip, python3 };
