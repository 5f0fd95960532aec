/**
 * Network programs of a simulated node's shell: `ip` (`-o addr show`, `route get ADDR`, in iproute2's
 * output format) and `python3`, in the one form ascendctl uses it — its reach probe,
 * `python3 -c SCRIPT listen ADDR SECONDS PORT…` / `connect SRC SECONDS ADDR:PORT…` — run on real
 * loopback sockets, with the nodes' firewall faults applied. Any other python3 use is refused.
 */
import net from 'node:net';
import { Refusal, unmodelled, type ArgvContext } from './shell-builtins.js';
import { listenLocal, readAll } from './byte-pipe.js';
import { firewallVerdict, ownAddresses } from './firewall.js';
import { delay } from './latency.js';
import type { SimIo } from './types.js';

const PROBE_MARKER = '# ascendctl reach probe v1';
const TAG = 'ascendctl-reach';

/** `ip -o addr show` and `ip route get ADDR`, in iproute2's output format. */
export async function ip(sh: ArgvContext, args: string[], io: SimIo): Promise<number> {
  const node = sh.node;
  const prefix = node.host.split('.').slice(0, 3).join('.');
  if (args.join(' ') === '-o addr show') {
    const lft = '\\       valid_lft forever preferred_lft forever\n';
    const eth0 = `inet ${node.host}/24 brd ${prefix}.255 scope global eth0`;
    await io.stdout(`1: lo    inet 127.0.0.1/8 scope host lo${lft}2: eth0    ${eth0}${lft}`);
    return 0;
  }
  const target = args[2];
  if (args[0] !== 'route' || args[1] !== 'get' || target === undefined || args.length > 3) {
    const what = args.find((a) => !a.startsWith('-'));
    if (what !== undefined && !/^(addr|route)$/.test(what)) throw new Refusal(`Object "${what}" is unknown, try "ip help".`);
    throw unmodelled('ip', '`ip -o addr show` and `ip route get ADDR`');
  }
  if (net.isIP(target) !== 4) throw new Refusal(`Error: any valid prefix is expected rather than "${target}".`);
  const local = ownAddresses(node).includes(target);
  const route = local ? `local ${target} dev lo table local src ${target}`
    : `${target} via ${prefix}.254 dev eth0 src ${node.host}`;
  await io.stdout(`${route} uid 0 \n    cache ${local ? '<local> ' : ''}\n`);
  return 0;
}

export async function python3(sh: ArgvContext, args: string[], io: SimIo): Promise<number> {
  if (sh.node.faultsOf('no-python3').length > 0) throw new Refusal('sh: 1: python3: not found', 127);
  if (args[0] !== '-c' || !(args[1] ?? '').includes(PROBE_MARKER)) {
    throw unmodelled('python3', "ascendctl's reach probe (python3 -c SCRIPT listen|connect …)", 2);
  }
  const [mode, a1 = '', a2 = '', ...rest] = args.slice(2);
  if (mode === 'listen') return listen(sh, a1, Number(a2), rest.map(Number), io);
  if (mode === 'connect') return connect(sh, a1, Number(a2), rest, io);
  throw new Refusal('Traceback (most recent call last):\nIndexError: list index out of range');
}

const out = (io: SimIo, ...words: (string | number)[]): Promise<void> => io.stdout(`${[TAG, ...words].join(' ')}\n`);

/** A listening server on `address:port`, or the bind error's code (a port Node refuses outright is no bind error). */
function bindServer(address: string, port: number): Promise<net.Server | string> {
  const server = net.createServer();
  return listenLocal(server, port, address).then(() => server, (e: NodeJS.ErrnoException) => {
    if (e.code?.startsWith('ERR_')) throw e;
    return e.code ?? 'EINVAL';
  });
}

async function listen(sh: ArgvContext, address: string, lifeS: number, ports: number[], io: SimIo): Promise<number> {
  const node = sh.node;
  const closers: (() => void)[] = [];
  try {
    for (const port of ports) {
      const taken = node.listeningSockets().some((l) => l.port === port && [address, '0.0.0.0'].includes(l.address));
      const own = ownAddresses(node).includes(address);
      const server = !own ? 'EADDRNOTAVAIL' : taken ? 'EADDRINUSE' : await bindServer(address, port);
      if (typeof server === 'string') {
        await out(io, 'bind-failed', port, server);
        continue;
      }
      server.on('connection', (socket) => {
        const peer = socket.remoteAddress ?? '?';
        socket.destroy();
        void out(io, 'accept', port, peer).catch(() => undefined);
      });
      closers.push(node.addListener({ address, port, owner: 'python3' }), () => server.close());
    }
    await out(io, 'ready');
    // Until standard input ends (the caller closed it or went away), the deadline, or an abort.
    await Promise.race([delay(Math.max(0, lifeS) * 1000, io.signal), readAll(io.stdin).catch(() => undefined)]);
    return 0;
  } finally {
    for (const close of closers) close();
  }
}

/** A real TCP connect on loopback from `localAddress`: ok, timeout, or the error's code. */
function dial(host: string, port: number, localAddress: string, waitS: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, localAddress, timeout: waitS * 1000 });
    const end = (outcome: string): void => {
      socket.destroy();
      resolve(outcome);
    };
    socket.once('connect', () => end('ok')).once('timeout', () => end('timeout'));
    socket.once('error', (e: NodeJS.ErrnoException) => end(e.code ?? 'EIO'));
  });
}

async function connect(sh: ArgvContext, source: string, waitS: number, targets: string[], io: SimIo): Promise<number> {
  const node = sh.node;
  if (!ownAddresses(node).includes(source)) {
    await out(io, 'source-failed', 'EADDRNOTAVAIL');
    return 3;
  }
  // A dropped SYN costs the whole wait; in the fast profile simulated seconds are short (10 ms).
  const dropMs = waitS * (node.profile === 'fast' ? 10 : 1000);
  const results = await Promise.all(targets.map(async (t) => {
    const at = t.lastIndexOf(':');
    const address = t.slice(0, at);
    const port = Number(t.slice(at + 1));
    const peer = node.cluster.byAddress(address);
    const verdict = peer ? firewallVerdict(peer, node, port) : undefined;
    const outcome = verdict === 'drop' ? await delay(dropMs).then(() => 'timeout')
      : verdict === 'reject' ? 'ECONNREFUSED'
        : !address.startsWith('127.') ? 'ENETUNREACH' // the simulator stays on loopback
          : await dial(address, port, source, waitS);
    return `${address} ${port} ${outcome}`;
  }));
  for (const r of results) await out(io, 'result', r);
  return 0;
}
