import { describe, expect, it } from 'vitest';
import { interpretLaunchScript } from '../../../src/sim/runtime-launch-script.js';

const noFiles = { exists: async () => false };

describe('launch script interpreter', () => {
  it('a directory the script creates can be entered', async () => {
    const r = await interpretLaunchScript('mkdir -p /tmp/ascendctl-x && cd /tmp/ascendctl-x || exit 1\nexec /usr/local/Ascend/mindie/latest/mindie-service/bin/mindieservice_daemon\n', {}, noFiles, '/');
    expect(r.cwd).toBe('/tmp/ascendctl-x');
    expect(r.exitCode).toBeUndefined();
    expect(r.output).toEqual([]);
    expect(r.command?.[0]).toMatch(/mindieservice_daemon$/);
  });

  it('`exit N` ends the script with that status before any server starts', async () => {
    const r = await interpretLaunchScript('cd /missing || exit 3\nexec /usr/local/Ascend/mindie/latest/mindie-service/bin/mindieservice_daemon\n', {}, noFiles, '/');
    expect(r.exitCode).toBe(3);
    expect(r.command).toBeUndefined();
    expect(r.output.map((o) => o.text).join('\n')).toMatch(/cd: \/missing: No such file or directory/);
  });
});
