import { describe, expect, it } from 'vitest';
import { followLaunchScript, type ScriptFs } from '../../../src/sim/runtime-launch-script.js';
import { LAUNCH } from './helpers.js';

const noFiles: ScriptFs = { exists: async () => false };
const DAEMON = '/usr/local/Ascend/mindie/latest/mindie-service/bin/mindieservice_daemon';

function imageFs(files: string[], dirs: string[] = []): ScriptFs {
  return { nodeIp: '127.0.100.1', exists: async (p, kind) => (kind === 'dir' ? dirs.includes(p) : files.includes(p)) };
}

describe('launch script recogniser', () => {
  it('a directory the script creates can be entered', async () => {
    const script = `mkdir -p /tmp/ascendctl-x && cd /tmp/ascendctl-x || exit 1\nexec ${DAEMON}\n`;
    const r = await followLaunchScript(script, {}, noFiles);
    expect(r.cwd).toBe('/tmp/ascendctl-x');
    expect(r.exitCode).toBeUndefined();
    expect(r.output).toEqual([]);
    expect(r.command?.[0]).toMatch(/mindieservice_daemon$/);
  });

  it('`exit N` ends the script with that status before any server starts', async () => {
    const r = await followLaunchScript(`cd /missing || exit 3\nexec ${DAEMON}\n`, {}, noFiles);
    expect(r.exitCode).toBe(3);
    expect(r.command).toBeUndefined();
    expect(r.output.map((o) => o.text).join('\n')).toMatch(/cd: \/missing: No such file or directory/);
  });

  it('follows the documented steps: sourcing in order, unset/export, if/elif/else, exec', async () => {
    const sourced = ['ascend-toolkit', 'nnal/atb', 'mindie'].map((d) => `/usr/local/Ascend/${d}/set_env.sh`);
    const fs = imageFs([...sourced, DAEMON], ['/tmp']);
    const r = await followLaunchScript(`${LAUNCH}\n`, { HOME: '/root', http_proxy: 'x' }, fs);
    expect(r.sourced).toEqual(sourced);
    expect(r.env.MINDIE_LOG_TO_STDOUT).toBe('1');
    expect(r.env.http_proxy).toBeUndefined();
    expect(r.cwd).toBe('/tmp');
    expect(r.command).toEqual([DAEMON]);
    expect(r.exitCode).toBeUndefined();
  });

  it('a missing set_env.sh sourced unconditionally is bash\'s error, and the launch goes on', async () => {
    const r = await followLaunchScript(`. /usr/local/Ascend/cann/set_env.sh\nexec ${DAEMON}\n`, {}, noFiles);
    const text = 'launch.sh: line 1: /usr/local/Ascend/cann/set_env.sh: No such file or directory';
    expect(r.output).toEqual([{ stream: 'stderr', text }]);
    expect(r.sourced).toEqual([]);
    expect(r.command).toEqual([DAEMON]);
  });

  it('set -u is remembered (the set_env scripts abort under it)', async () => {
    expect((await followLaunchScript(`set -eu\nexec ${DAEMON}\n`, {}, noFiles)).nounset).toBe(true);
  });

  it('finds the daemon with command -v and reports on stderr when there is none', async () => {
    const script = [
      `daemon=${DAEMON}`,
      'if [ ! -x "$daemon" ]; then',
      '  daemon=$(command -v mindie_llm_server 2>/dev/null)',
      'fi',
      'if [ -z "$daemon" ]; then',
      '  echo "ascendctl: no MindIE server (looked for mindieservice_daemon and mindie_llm_server)" >&2',
      '  exit 127',
      'fi',
      'exec "$daemon"',
    ].join('\n');
    const server = '/usr/local/bin/mindie_llm_server';
    const found = await followLaunchScript(script, { PATH: '/usr/local/bin:/usr/bin' }, imageFs([server]));
    expect(found.command).toEqual([server]);
    const none = await followLaunchScript(script, {}, noFiles);
    expect(none.exitCode).toBe(127);
    expect(none.output).toEqual([{ stream: 'stderr', text: expect.stringMatching(/^ascendctl: no MindIE server/) }]);
  });

  it('the NIC probe answers lo for the node address; ${VAR:-default} keeps a value already set', async () => {
    const script = [
      'node_ip=127.0.100.1',
      'ifname=$(ip -o -4 addr show 2>/dev/null | awk -v ip="$node_ip" \''
        + '{ split($4, a, "/"); if (a[1] == ip) { print $2; exit } }\')',
      'export GLOO_SOCKET_IFNAME="${GLOO_SOCKET_IFNAME:-$ifname}"',
      'export HCCL_SOCKET_IFNAME="${HCCL_SOCKET_IFNAME:-$ifname}"',
      'exec vllm serve /data/models/R1 \\',
      '  --host 127.0.100.1',
    ].join('\n');
    const r = await followLaunchScript(script, { GLOO_SOCKET_IFNAME: 'bond0' }, imageFs([]));
    expect(r.env).toMatchObject({ GLOO_SOCKET_IFNAME: 'bond0', HCCL_SOCKET_IFNAME: 'lo' });
    expect(r.command).toEqual(['vllm', 'serve', '/data/models/R1', '--host', '127.0.100.1']);
  });

  it('a line it does not recognise stops the launch loudly, even in a branch not taken', async () => {
    const unknown = await followLaunchScript(`curl -s http://x\nexec ${DAEMON}\n`, {}, noFiles);
    expect(unknown).toMatchObject({ exitCode: 127, command: undefined });
    expect(unknown.output).toEqual([{ stream: 'stderr', text: 'launch.sh: line 1: curl: command not found' }]);
    const other = await followLaunchScript('exec /bin/sleep infinity\n', {}, noFiles);
    expect(other).toMatchObject({ exitCode: 127, command: undefined });
    const loop = await followLaunchScript(`for f in a b; do :; done\nexec ${DAEMON}\n`, {}, noFiles);
    expect(loop.exitCode).toBe(2);
    const pipe = await followLaunchScript(`if [ -f /x ]; then\n  cat /x | sort\nfi\nexec ${DAEMON}\n`, {}, noFiles);
    expect(pipe.exitCode).toBe(2);
    expect(pipe.command).toBeUndefined();
  });
});
