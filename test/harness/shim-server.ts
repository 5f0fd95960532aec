/**
 * The test rig's front-end for real OpenSSH nodes (test/support/sshd-*.ts): a bash shim installed at a
 * tool's real path forwards each call over bash's /dev/tcp to this TCP server (127.0.0.1 only), which
 * runs the simulated program for that node and replies with one bash statement per line
 * (`printf -- '…'`, `… >&2`, finally `exit N`).
 *
 * Request: `<argc>\0<node>\0<program>\0<arg>\0…<stdin length>\0<stdin bytes>`.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { posix } from 'node:path';
import type { SimNode } from '../../src/sim/ascend-node.js';
import type { SimCluster } from '../../src/sim/cluster.js';
import { listenLocal, writeDrained } from '../../src/sim/byte-pipe.js';

/** Programs whose calls read standard input (the shim sends it first): `docker load`, `docker … -i`. */
const READS_STDIN: Record<string, string> = {
  docker: '[[ " $* " == *" load "* || " $* " == *" -i "* || " $* " == *" --interactive "* ]]',
};

function sq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The bash script installed at `program`'s real path on `nodeName`. */
export function shimScript(program: string, nodeName: string, port: number): string {
  const readsStdin = READS_STDIN[program] ?? 'false';
  return `#!/bin/bash
# Simulated ${program} of node ${nodeName}: forwards this call to the ascendctl simulator on 127.0.0.1:${port}.
exec 3<>/dev/tcp/127.0.0.1/${port} || { echo ${sq(`${program}: the simulator is not reachable on 127.0.0.1:${port}`)} >&2; exit 255; }
printf '%s\\0' "$#" ${sq(nodeName)} ${sq(program)} "$@" >&3
if ${readsStdin}; then
  __sim_in=$(mktemp) && cat >"$__sim_in"
  printf '%s\\0' "$(stat -c %s "$__sim_in")" >&3
  cat "$__sim_in" >&3
  rm -f "$__sim_in"
else
  printf '0\\0' >&3
fi
while IFS= read -r __sim_line <&3; do eval "$__sim_line"; done
exit 255
`;
}

/** One reply statement: the chunk as a printf format with every unsafe byte as an octal escape. */
export function replyStatement(chunk: string | Buffer, stream: 'stdout' | 'stderr'): string {
  let fmt = '';
  for (const b of Buffer.from(chunk)) {
    if (b === 0x25) fmt += '%%';
    else if (b === 0x5c) fmt += '\\\\';
    else if (b >= 0x20 && b < 0x7f && b !== 0x27) fmt += String.fromCharCode(b);
    else fmt += `\\${b.toString(8).padStart(3, '0')}`;
  }
  return `printf -- '${fmt}'${stream === 'stderr' ? ' >&2' : ''}\n`;
}

interface ParsedRequest {
  node: string;
  program: string;
  argv: string[];
  stdin: Buffer;
}

/** Parse a complete request from the bytes so far, or undefined when more are needed. */
export function parseRequest(buf: Buffer): ParsedRequest | undefined {
  // argc, node, program, the arguments and the stdin length, each NUL-terminated, then stdin.
  const fields: string[] = [];
  let pos = 0;
  while (fields.length === 0 || fields.length < Number(fields[0]) + 4) {
    const nul = buf.indexOf(0, pos);
    if (nul < 0) return undefined;
    fields.push(buf.subarray(pos, nul).toString('utf8'));
    pos = nul + 1;
    if (!/^\d+$/.test(fields[0] ?? '')) throw new Error(`bad request: argc ${fields[0]}`);
  }
  const [, node = '', program = '', ...argv] = fields;
  const lenText = argv.pop() ?? '';
  if (!/^\d+$/.test(lenText)) throw new Error(`bad request: stdin length ${lenText}`);
  const len = Number(lenText);
  if (buf.length < pos + len) return undefined;
  return { node, program, argv, stdin: buf.subarray(pos, pos + len) };
}

export class ShimServer {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  constructor(private readonly cluster: SimCluster) {}

  /** Listen on 127.0.0.1 (port 0 = any); resolves with the port. */
  listen(port = 0): Promise<number> {
    this.server = createServer((socket) => this.handle(socket));
    return listenLocal(this.server, port);
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private handle(socket: Socket): void {
    this.sockets.add(socket);
    const ac = new AbortController();
    let buf = Buffer.alloc(0);
    let started = false;
    socket.on('close', () => {
      this.sockets.delete(socket);
      ac.abort();
    });
    socket.on('error', () => undefined);
    const send = (text: string): Promise<void> => writeDrained(socket, text, () => ac.signal.aborted);
    socket.on('data', (chunk: Buffer) => {
      if (started) return;
      buf = Buffer.concat([buf, chunk]);
      let req: ParsedRequest | Error | undefined;
      try {
        req = parseRequest(buf);
      } catch (err) {
        req = err as Error;
      }
      if (!req) return;
      started = true;
      void this.run(req, send, ac.signal).then(async (code) => {
        await send(`exit ${code}\n`);
        socket.end();
      });
    });
  }

  /** Run the request's program; a bad request, an unknown or down node and a simulator bug answer 255. */
  private async run(req: ParsedRequest | Error, send: (text: string) => Promise<void>, signal: AbortSignal) {
    const stderr = (c: string | Buffer): Promise<void> => send(replyStatement(c, 'stderr'));
    try {
      if (req instanceof Error) throw req;
      const node = this.cluster.find(req.node);
      if (!node) throw new Error(`no simulated node ${req.node}`);
      if (node.down) throw new Error(`node ${node.name} is down`);
      return await node.run(req.program, req.argv, {
        stdin: req.stdin.length > 0 ? (async function* () { yield req.stdin; })() : null,
        stdout: (c) => send(replyStatement(c, 'stdout')),
        stderr,
        signal,
        env: {},
      });
    } catch (err) {
      await stderr(`simulator: ${err instanceof Error ? err.message : String(err)}\n`);
      return 255;
    }
  }
}

/**
 * Put the shims at the programs' real paths in the node's own file system (a DirFs over its mount
 * namespace), so that a real `bash` on the node runs them. The cluster was started with
 * `installProgramFiles: false`, so the node's rewrites of its files leave them in place.
 */
export async function writeShims(node: SimNode, shimPort: number): Promise<void> {
  for (const program of node.programs.keys()) {
    const path = node.programPath(program);
    await node.fs.mkdir(posix.dirname(path), { recursive: true });
    await node.fs.rm(path, { force: true });
    await node.fs.writeFile(path, shimScript(program, node.name, shimPort), 0o755);
    await node.fs.chmod(path, 0o755);
  }
}
