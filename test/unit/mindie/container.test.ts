import { describe, expect, it } from 'vitest';
import { containerName, containerRunText, remoteDir, renderContainerRun, shmSizeGb } from '../../../src/mindie/container.js';
import { shellJoin } from '../../../src/remote/quote.js';
import { expectRenderError } from './expect-render-error.js';
import { fourNodeInput, twoNodeInput } from './inputs.js';

describe('renderContainerRun', () => {
  const input = twoNodeInput();
  const argv = renderContainerRun(input, input.nodes[1]!, { runtime: 'docker' });

  it('is the documented docker run, pinned as one command line', () => {
    expect(shellJoin(argv)).toBe(
      [
        'docker run -d --name ascendctl-deepseek-r1 --label ascendctl.deployment=deepseek-r1 --label ascendctl.node=node2',
        '--net=host --ipc=host --privileged -u root --shm-size=10g',
        '--device=/dev/davinci0 --device=/dev/davinci1 --device=/dev/davinci2 --device=/dev/davinci3',
        '--device=/dev/davinci4 --device=/dev/davinci5 --device=/dev/davinci6 --device=/dev/davinci7',
        '--device=/dev/davinci_manager --device=/dev/hisi_hdc --device=/dev/devmm_svm',
        '-v /usr/local/Ascend/driver:/usr/local/Ascend/driver:ro -v /usr/local/Ascend/firmware:/usr/local/Ascend/firmware:ro',
        '-v /usr/local/sbin:/usr/local/sbin:ro -v /etc/hccn.conf:/etc/hccn.conf:ro',
        '-v /etc/ascend_install.info:/etc/ascend_install.info:ro',
        '-v /data/models/DeepSeek-R1:/data/models/DeepSeek-R1:ro',
        '-v /var/lib/ascendctl/deepseek-r1:/var/lib/ascendctl/deepseek-r1:ro',
        '--env-file /var/lib/ascendctl/deepseek-r1/env',
        'swr.cn-south-1.myhuaweicloud.com/ascendhub/mindie:2.1.RC1-800I-A2-py311-openeuler24.03-lts',
        'bash /var/lib/ascendctl/deepseek-r1/launch.sh',
      ].join(' '),
    );
  });

  it('lists one davinci device per NPU', () => {
    const four = twoNodeInput();
    four.npusPerNode = 4;
    four.deviceIps = { node1: ['1.0.0.1', '1.0.0.2', '1.0.0.3', '1.0.0.4'], node2: ['1.0.1.1', '1.0.1.2', '1.0.1.3', '1.0.1.4'] };
    const devices = renderContainerRun(four, four.nodes[0]!).filter((a) => /^--device=\/dev\/davinci\d+$/.test(a));
    expect(devices).toEqual(['--device=/dev/davinci0', '--device=/dev/davinci1', '--device=/dev/davinci2', '--device=/dev/davinci3']);
  });

  it('differs between nodes only in the node label', () => {
    const other = renderContainerRun(input, input.nodes[0]!);
    const diff = argv.map((a, i) => [a, other[i]]).filter(([a, b]) => a !== b);
    expect(diff).toEqual([['ascendctl.node=node2', 'ascendctl.node=node1']]);
  });

  it('quotes nothing dangerous into the shell form', () => {
    const odd = twoNodeInput({ model: { path: "/data/it's R1", name: 'r1' } });
    const text = shellJoin(renderContainerRun(odd, odd.nodes[0]!));
    expect(text).toContain(`-v '/data/it'\\''s R1:/data/it'\\''s R1:ro'`);
  });

  it('refuses an image that could be read as an option and a model path docker cannot mount', () => {
    expectRenderError(() => renderContainerRun(twoNodeInput({ image: '--privileged' }), twoNodeInput().nodes[0]!), { path: 'image' });
    expectRenderError(() => renderContainerRun(twoNodeInput({ image: 'a b' }), twoNodeInput().nodes[0]!), { path: 'image' });
    const colon = twoNodeInput({ model: { path: '/data/a:b', name: 'r1' } });
    expectRenderError(() => renderContainerRun(colon, colon.nodes[0]!), { path: 'model.path' });
  });
});

describe('shmSizeGb', () => {
  it('follows the §6 DP rule and never goes below 10 GB', () => {
    expect([1, 2, 4, 8, 16].map(shmSizeGb)).toEqual([10, 10, 10, 10, 10]);
    expect(shmSizeGb(32)).toBe(17);
    expect(shmSizeGb(64)).toBe(33);
    const big = fourNodeInput();
    expect(renderContainerRun(big, big.nodes[0]!)).toContain('--shm-size=10g');
  });
});

describe('names and paths', () => {
  it('derive from the deployment name', () => {
    expect(containerName('deepseek-r1')).toBe('ascendctl-deepseek-r1');
    expect(remoteDir('deepseek-r1')).toBe('/var/lib/ascendctl/deepseek-r1');
  });

  it('containerRunText round-trips to the same argv through bash', async () => {
    const { spawnSync } = await import('node:child_process');
    const input = twoNodeInput();
    const argv = renderContainerRun(input, input.nodes[0]!);
    const text = containerRunText(argv);
    // --norc: with SHLVL 0 and a socket on stdin, `bash -c` would read ~/.bashrc first (bench/lib.ts, timeShell).
    const res = spawnSync('bash', ['--norc', '-c', `printargs() { printf '%s\\n' "$@"; }; printargs ${text}`], { encoding: 'utf8' });
    expect(res.stdout.trimEnd().split('\n')).toEqual(argv);
  });
});
