/**
 * The TCP probe behind the `reach` check: one fixed Python script, run as `python3 -c SCRIPT MODE ARGS…`
 * on the nodes (python3 is on every stock server; bash's /dev/tcp cannot bind a source address).
 *
 *   listen  ADDR SECONDS PORT…        bind every port on ADDR, print `ready`, report each accepted
 *                                     connection, and exit on standard-input EOF or after SECONDS
 *   connect SRC SECONDS ADDR:PORT…    from SRC (port 0), connect to every target at once and report
 *                                     ok / timeout / the errno name (ECONNREFUSED, EHOSTUNREACH, …)
 *
 * Every line it prints starts with `ascendctl-reach`, so banners a login shell prints are ignored.
 * Nothing outlives the probe: the listener exits on EOF (the SSH channel closed: done, Ctrl-C or a
 * dropped connection), on its own deadline, and under the remote `timeout` the transport adds.
 */

export const REACH_TAG = 'ascendctl-reach';

/** Python ≥ 3.4 (openEuler, EulerOS, Ubuntu, CentOS 8 all qualify); standard library only. */
export const REACH_SCRIPT = [
  '# ascendctl reach probe v1',
  'import errno, os, select, socket, sys, time',
  `T = '${REACH_TAG}'`,
  'def out(*a):',
  "    sys.stdout.write(' '.join([T] + [str(x) for x in a]) + '\\n')",
  '    sys.stdout.flush()',
  'def ename(e):',
  '    return errno.errorcode.get(e, str(e))',
  'def fam(a):',
  '    return socket.AF_INET6 if ":" in a else socket.AF_INET',
  'def listen(addr, life, ports):',
  '    socks = {}',
  '    for p in ports:',
  '        s = socket.socket(fam(addr), socket.SOCK_STREAM)',
  '        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)',
  '        try:',
  '            s.bind((addr, p))',
  '            s.listen(128)',
  '        except (OSError, socket.error) as e:',
  "            out('bind-failed', p, ename(e.errno))",
  '            s.close()',
  '            continue',
  '        socks[s.fileno()] = (s, p)',
  "    out('ready')",
  '    end = time.time() + life',
  '    while True:',
  '        left = end - time.time()',
  '        if left <= 0:',
  '            break',
  '        r = select.select([0] + list(socks), [], [], min(left, 1.0))[0]',
  '        if 0 in r and not os.read(0, 4096):',
  '            break',
  '        for fd in r:',
  '            if fd in socks:',
  '                s, p = socks[fd]',
  '                try:',
  '                    c, a = s.accept()',
  '                    c.close()',
  "                    out('accept', p, a[0])",
  '                except (OSError, socket.error):',
  '                    pass',
  '    for s, p in socks.values():',
  '        s.close()',
  'def connect(src, wait, targets):',
  '    pend = {}',
  '    for t in targets:',
  "        addr, _, port = t.rpartition(':')",
  '        s = socket.socket(fam(addr), socket.SOCK_STREAM)',
  '        try:',
  '            s.bind((src, 0))',
  '        except (OSError, socket.error) as e:',
  "            out('source-failed', ename(e.errno))",
  '            sys.exit(3)',
  '        s.setblocking(False)',
  '        e = s.connect_ex((addr, int(port)))',
  '        if e == 0:',
  "            out('result', addr, port, 'ok')",
  '            s.close()',
  '        elif e in (errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EAGAIN):',
  '            pend[s.fileno()] = (s, addr, port)',
  '        else:',
  "            out('result', addr, port, ename(e))",
  '            s.close()',
  '    end = time.time() + wait',
  '    while pend:',
  '        left = end - time.time()',
  '        if left <= 0:',
  '            break',
  '        for fd in select.select([], list(pend), [], left)[1]:',
  '            s, addr, port = pend.pop(fd)',
  '            e = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)',
  "            out('result', addr, port, 'ok' if e == 0 else ename(e))",
  '            s.close()',
  '    for s, addr, port in pend.values():',
  "        out('result', addr, port, 'timeout')",
  '        s.close()',
  "if sys.argv[1] == 'listen':",
  '    listen(sys.argv[2], float(sys.argv[3]), [int(p) for p in sys.argv[4:]])',
  'else:',
  '    connect(sys.argv[2], float(sys.argv[3]), sys.argv[4:])',
  '',
].join('\n');

/** How long a connect may wait for SYN-ACK before the port counts as dropped (a LAN answers in ms). */
export const CONNECT_WAIT_S = 3;
/** The listener's own deadline: far longer than the probes take, short enough to never linger. */
export const LISTEN_LIFE_S = 60;

export function listenArgv(address: string, ports: readonly number[], lifeS = LISTEN_LIFE_S): string[] {
  return ['python3', '-c', REACH_SCRIPT, 'listen', address, String(lifeS), ...ports.map(String)];
}

export function connectArgv(source: string, targets: readonly { address: string; port: number }[], waitS = CONNECT_WAIT_S): string[] {
  return ['python3', '-c', REACH_SCRIPT, 'connect', source, String(waitS), ...targets.map((t) => `${t.address}:${t.port}`)];
}

export type ProbeLine =
  | { kind: 'ready' }
  | { kind: 'bind-failed'; port: number; errno: string }
  | { kind: 'accept'; port: number; peer: string }
  | { kind: 'source-failed'; errno: string }
  | { kind: 'result'; address: string; port: number; outcome: string };

/** One line of the probe's output, or undefined for anything else (banners, noise). */
export function parseProbeLine(line: string): ProbeLine | undefined {
  const f = line.trim().split(/\s+/);
  if (f[0] !== REACH_TAG) return undefined;
  switch (f[1]) {
    case 'ready':
      return { kind: 'ready' };
    case 'bind-failed':
      return f.length === 4 && /^\d+$/.test(f[2]!) ? { kind: 'bind-failed', port: Number(f[2]), errno: f[3]! } : undefined;
    case 'accept':
      return f.length === 4 && /^\d+$/.test(f[2]!) ? { kind: 'accept', port: Number(f[2]), peer: f[3]! } : undefined;
    case 'source-failed':
      return f.length === 3 ? { kind: 'source-failed', errno: f[2]! } : undefined;
    case 'result':
      return f.length === 5 && /^\d+$/.test(f[3]!) ? { kind: 'result', address: f[2]!, port: Number(f[3]), outcome: f[4]! } : undefined;
    default:
      return undefined;
  }
}

export function parseProbeOutput(text: string): ProbeLine[] {
  return text.split('\n').map(parseProbeLine).filter((l): l is ProbeLine => l !== undefined);
}
