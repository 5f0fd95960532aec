/**
 * The simulator as a separate process (`sim.js serve --front shim`), and the shims that put its
 * programs at their real paths inside each node.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { chmod, lstat, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { PROGRAM_PATHS } from '../../src/sim/ascend-node.js';
import { shimScript } from '../harness/shim-server.js';

const READY_TIMEOUT_MS = 60_000;

export interface SimulatorEndpoints {
  /** http://127.0.0.1:<port> */
  controlUrl: string;
  /** Where the shims connect (127.0.0.1). */
  shimPort: number;
  /** Program name → path on the node, for every program the simulator serves. */
  programs: Record<string, string>;
}

/**
 * The built bundle (what CI runs, right after `npm run build`), unless a source file of the simulator or
 * of the test rig is newer than it: then the rig's TypeScript entry through tsx, so that a stale or
 * missing bundle never decides what a test sees while the simulator is being worked on.
 */
export function simulatorCommand(repoRoot: string, specPath: string): { file: string; args: string[] } {
  const bundle = join(repoRoot, 'dist', 'sim.js');
  const harnessDir = join(repoRoot, 'test', 'harness');
  const bundleTime = existsSync(bundle) ? statSync(bundle).mtimeMs : -1;
  const sourceTime = Math.max(-1, ...[join(repoRoot, 'src', 'sim'), harnessDir].filter((d) => existsSync(d))
    .flatMap((d) => readdirSync(d).map((f) => statSync(join(d, f)).mtimeMs)));
  const entry = bundleTime >= sourceTime ? [bundle] : ['--import', 'tsx', join(harnessDir, 'serve.ts')];
  return {
    file: process.execPath,
    args: [...entry, 'serve', '--spec', specPath, '--front', 'shim', '--control-port', '0', '--fs', 'dir:/proc/{pid}/root'],
  };
}

function parseReadyLine(line: string): SimulatorEndpoints | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const ready = parsed as Record<string, unknown>;
  const controlUrl = typeof ready.controlUrl === 'string'
    ? ready.controlUrl
    : typeof ready.controlPort === 'number' ? `http://127.0.0.1:${ready.controlPort}` : undefined;
  const shimPort = typeof ready.shimPort === 'number' ? ready.shimPort : undefined;
  if (controlUrl === undefined || shimPort === undefined) return undefined;
  const programs = typeof ready.programs === 'object' && ready.programs !== null && !Array.isArray(ready.programs)
    ? (ready.programs as Record<string, string>)
    : { ...PROGRAM_PATHS };
  return { controlUrl, shimPort, programs };
}

/** Resolves with the endpoints of the simulator's JSON ready line (in its log file). */
export async function waitForSimulator(sim: ChildProcess, logPath: string): Promise<SimulatorEndpoints> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const log = existsSync(logPath) ? readFileSync(logPath, 'utf8') : '';
    for (const line of log.split('\n')) {
      const endpoints = line.startsWith('{') ? parseReadyLine(line) : undefined;
      if (endpoints) return endpoints;
    }
    if (sim.exitCode !== null || sim.signalCode !== null) {
      throw new Error(`the simulator exited (${sim.exitCode ?? sim.signalCode}) before it was ready`);
    }
    if (Date.now() > deadline) throw new Error(`the simulator printed no ready line within ${READY_TIMEOUT_MS} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Where a login shell on the node looks for commands (Debian root PATH; /sbin and /bin link into /usr). */
const PATH_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin'];

async function writeShim(hostPath: string, script: string): Promise<void> {
  const present = await readFile(hostPath, 'utf8').catch(() => undefined);
  if (present !== script) {
    await mkdir(posix.dirname(hostPath), { recursive: true });
    await rm(hostPath, { force: true }); // may be a symlink into the shared host tree
    await writeFile(hostPath, script);
  }
  await chmod(hostPath, 0o755); // writeFile's mode applies only on creation, and under the umask
}

/**
 * Makes sure every simulated program has its shim at its real path in the node (`root` = the node's
 * `/`). The simulator writes them itself when it materialises the node's files; this repairs any it
 * did not write, so that a missing shim shows up as a wrong answer rather than "command not found".
 * A real copy of the same program on the host's PATH (a developer's docker in /usr/local/bin) would
 * shadow the shim, so it is replaced too — inside the node's overlay only.
 */
export async function installShims(root: string, nodeName: string, endpoints: SimulatorEndpoints): Promise<void> {
  for (const [program, path] of Object.entries(endpoints.programs)) {
    const script = shimScript(program, nodeName, endpoints.shimPort);
    await writeShim(posix.join(root, path), script);
    for (const dir of PATH_DIRS) {
      const other = posix.join(dir, posix.basename(path));
      if (other === path) continue;
      const exists = await lstat(posix.join(root, other)).then(() => true, () => false);
      if (exists) await writeShim(posix.join(root, other), script);
    }
  }
}
