import { afterEach, describe, expect, it } from 'vitest';
import type { SimCluster } from '../../../src/sim/cluster.js';
import { tarOf } from '../../support/tar.js';
import { rfc3339Nano } from '../../../src/sim/container-runtime.js';
import {
  parseFlags, RUN_FLAGS, parseSince, parseEnvFile, FlagError, renderTemplate, TemplateError,
} from '../../../src/sim/runtime-docker-args.js';
import { IMAGE, docker, startCluster, stopCluster, until } from './helpers.js';

let cluster: SimCluster | undefined;
afterEach(async () => {
  if (cluster) await stopCluster(cluster);
  cluster = undefined;
});

describe('docker CLI emulation', () => {
  it('version and the runtime-down fault', async () => {
    cluster = await startCluster(100, 2, { node2: [{ kind: 'runtime-down' }] });
    const [n1, n2] = cluster.nodes as [typeof cluster.nodes[0], typeof cluster.nodes[0]];
    expect(await docker(n1, ['version', '--format', '{{.Server.Version}}'])).toEqual({ code: 0, stdout: '26.1.4\n', stderr: '' });
    const plain = await docker(n1, ['version']);
    expect(plain.stdout).toMatch(/^Server: Docker Engine - Community\n Engine:\n  Version: +26\.1\.4$/m);
    const unknown = "docker: 'info' is not a docker command.\nSee 'docker --help'\n";
    expect(await docker(n1, ['info'])).toEqual({ code: 1, stdout: '', stderr: unknown });
    const down = await docker(n2, ['inspect', '--format', '{{.State.Status}}', 'web']);
    expect(down.code).toBe(1);
    expect(down.stderr).toBe('Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n');
  });

  it('image-absent: inspect fails until pulled; pull prints layer progress', async () => {
    cluster = await startCluster(101, 1, { node1: [{ kind: 'image-absent' }] });
    const n1 = cluster.nodes[0]!;
    expect(await docker(n1, ['image', 'inspect', IMAGE])).toEqual({ code: 1, stdout: '[]\n', stderr: `Error: No such image: ${IMAGE}\n` });
    const pull = await docker(n1, ['pull', IMAGE]);
    expect(pull.code).toBe(0);
    const lines = pull.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('2.1.RC1-800I-A2-py311-openeuler24.03-lts: Pulling from ascendhub/mindie');
    expect(lines).toContainEqual(expect.stringMatching(/^[0-9a-f]{12}: Pull complete$/));
    expect(lines.at(-2)).toBe(`Status: Downloaded newer image for ${IMAGE}`);
    expect(lines.at(-1)).toBe(IMAGE);
    const inspect = await docker(n1, ['image', 'inspect', '--format', '{{json .RepoTags}}', IMAGE]);
    expect(inspect).toEqual({ code: 0, stdout: `["${IMAGE}"]\n`, stderr: '' });
    expect((await docker(n1, ['pull', IMAGE])).stdout).toContain(`Status: Image is up to date for ${IMAGE}`);
  });

  it('pull-fails and load from a tar on stdin', async () => {
    cluster = await startCluster(102, 1, { node1: [{ kind: 'image-absent' }, { kind: 'pull-fails' }] });
    const n1 = cluster.nodes[0]!;
    const r = await docker(n1, ['pull', IMAGE]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^Error response from daemon: Get "https:\/\/swr\.cn-south-1\.myhuaweicloud\.com\/v2\/": dial tcp: lookup swr\.cn-south-1\.myhuaweicloud\.com.*no such host\n$/);
    const run = await docker(n1, ['run', '-d', IMAGE, 'sleep', 'infinity']);
    expect(run.code).toBe(125);
    expect(run.stderr).toContain(`Unable to find image '${IMAGE}' locally`);
    const tar = tarOf([
      { name: 'manifest.json', data: JSON.stringify([{ Config: 'blobs/sha256/abc', RepoTags: [IMAGE], Layers: [] }]) },
      { name: 'blobs/sha256/abc', data: '{}' },
    ]);
    expect(await docker(n1, ['load'], { stdin: tar })).toEqual({ code: 0, stdout: `Loaded image: ${IMAGE}\n`, stderr: '' });
    expect((await docker(n1, ['image', 'inspect', IMAGE])).code).toBe(0);
    expect((await docker(n1, ['load'], { stdin: Buffer.from('not a tar at all'.repeat(40)) })).code).toBe(1);
  });

  it('run / inspect / logs / stop / rm formats and exit codes', async () => {
    cluster = await startCluster(103, 1);
    const n1 = cluster.nodes[0]!;
    const bad = await docker(n1, ['run', '--bogus', IMAGE]);
    expect(bad.code).toBe(125);
    expect(bad.stderr).toBe("unknown flag: --bogus\nSee 'docker run --help'.\n");
    await n1.fs.mkdir('/srv', { recursive: true });
    await n1.fs.writeFile('/srv/run.sh', 'echo hello from the script\necho second line\nexec vllm-missing\n', 0o644);
    const run = await docker(n1, ['run', '-d', '--name', 'web', '--label', 'app=x', '--net', 'host', '-e', 'A=1', '-v', '/srv:/opt/srv:ro', IMAGE, 'sleep', 'infinity']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^[0-9a-f]{64}\n$/);
    const clash = await docker(n1, ['run', '-d', '--name', 'web', IMAGE, 'sleep', 'infinity']);
    expect(clash.code).toBe(125);
    expect(clash.stderr).toContain('Conflict. The container name "/web" is already in use by container');

    const cat = await docker(n1, ['run', '-v', '/srv:/opt/srv:ro', IMAGE, 'cat', '/opt/srv/run.sh']);
    expect(cat.stdout).toContain('hello from the script');
    expect((await docker(n1, ['run', IMAGE, 'cat', '/nope'])).code).toBe(1);

    const once = await docker(n1, ['run', '--name', 'once', '-v', '/srv:/srv', IMAGE, 'bash', '/srv/run.sh']);
    expect(once.stdout).toBe('hello from the script\nsecond line\n');

    expect((await docker(n1, ['inspect', '--format', '{{.State.Status}}', 'once'])).stdout).toBe('exited\n');

    const insp = JSON.parse((await docker(n1, ['inspect', 'web'])).stdout) as Record<string, any>[];
    expect(insp[0]).toMatchObject({ Name: '/web', State: { Status: 'running', Running: true, ExitCode: 0, FinishedAt: '0001-01-01T00:00:00Z' }, Config: { Image: IMAGE, Labels: { app: 'x' }, Env: ['A=1'] } });
    expect(insp[0]!.Id).toMatch(/^[0-9a-f]{64}$/);
    expect(insp[0]!.State.StartedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
    expect(await docker(n1, ['inspect', 'ghost'])).toEqual({ code: 1, stdout: '[]\n', stderr: 'Error: No such object: ghost\n' });

    const rmRunning = await docker(n1, ['rm', 'web']);
    expect(rmRunning.code).toBe(1);
    expect(rmRunning.stderr).toContain('container is running: stop the container before removing or force remove');
    expect(await docker(n1, ['stop', '-t', '1', 'web'])).toEqual({ code: 0, stdout: 'web\n', stderr: '' });
    expect((await docker(n1, ['inspect', '--format', '{{.State.Status}} {{.State.ExitCode}}', 'web'])).stdout).toBe('exited 137\n');
    expect(await docker(n1, ['rm', 'web'])).toEqual({ code: 0, stdout: 'web\n', stderr: '' });
    expect((await docker(n1, ['logs', 'web'])).stderr).toBe('Error response from daemon: No such container: web\n');
    expect((await docker(n1, ['stop', 'web'])).code).toBe(1);
  });

  it('logs: --tail, --since, -t and -f until the container stops or the caller aborts', async () => {
    cluster = await startCluster(104, 1);
    const n1 = cluster.nodes[0]!;
    await n1.fs.mkdir('/srv', { recursive: true });
    await n1.fs.writeFile('/srv/a.sh', 'echo one\necho two\necho three\n', 0o644);
    await docker(n1, ['run', '-d', '--name', 'job', '-v', '/srv:/srv', IMAGE, 'bash', '/srv/a.sh']);
    await until(async () => ((await docker(n1, ['logs', 'job'])).stdout.includes('three') ? true : undefined), 'job output');
    expect((await docker(n1, ['logs', '--tail', '2', 'job'])).stdout).toBe('two\nthree\n');
    expect((await docker(n1, ['logs', '--tail', '0', 'job'])).stdout).toBe('');
    const stamped = (await docker(n1, ['logs', '-t', '--tail', 'all', 'job'])).stdout.trimEnd().split('\n');
    expect(stamped).toHaveLength(3);
    for (const l of stamped) expect(l).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z (one|two|three)$/);
    expect((await docker(n1, ['logs', '--since', '1h', 'job'])).stdout).toBe('one\ntwo\nthree\n');
    expect((await docker(n1, ['logs', '--since', String(Date.now() / 1000 + 3600), 'job'])).stdout).toBe('');
    expect((await docker(n1, ['logs', '--since', 'yesterday-ish', 'job'])).code).toBe(1);

    // -f on a long-running container: returns when the caller aborts.
    await docker(n1, ['run', '-d', '--name', 'srv', IMAGE, 'sleep', 'infinity']);
    const ctl = new AbortController();
    const follow = docker(n1, ['logs', '-f', 'srv'], { signal: ctl.signal });
    ctl.abort();
    expect((await follow).code).toBe(0);
    // -f ends by itself when the container stops.
    const follow2 = docker(n1, ['logs', '-f', 'srv']);
    await docker(n1, ['stop', '-t', '0', 'srv']);
    expect((await follow2).code).toBe(0);
    const srv = await docker(n1, ['inspect', '--format', '{{.State.Status}} {{.State.ExitCode}}', 'srv']);
    expect(srv.stdout).toBe('exited 137\n');
  });
});

describe('runtime helpers', () => {
  it('parses the flags a subcommand takes and refuses any other', () => {
    const argv = ['-d', '--name=x', '--net', 'host', '-e', 'A=1', '-e', 'B=2', '-v', '/a:/b', 'img', '--name', 'arg'];
    const p = parseFlags(argv, RUN_FLAGS, true);
    expect(p.values.get('detach')).toEqual(['true']);
    expect(p.values.get('env')).toEqual(['A=1', 'B=2']);
    expect(p.values.get('network')).toEqual(['host']);
    expect(p.rest).toEqual(['img', '--name', 'arg']);
    expect(() => parseFlags(['--nope', 'img'], RUN_FLAGS, true)).toThrow('unknown flag: --nope');
    expect(() => parseFlags(['-dit', 'img'], RUN_FLAGS, true)).toThrow(FlagError);
  });

  it('parses env files, since values and templates; stamps log lines', () => {
    expect(parseEnvFile('# c\nA=1\n\nB=x=y\nC\n', { C: '3' })).toEqual([['A', '1'], ['B', 'x=y'], ['C', '3']]);
    expect(parseSince('10m', 1_000_000)).toBe(1_000_000 - 600_000);
    expect(parseSince('600s', 1_000_000)).toBe(1_000_000 - 600_000);
    expect(parseSince('2026-01-01T00:00:00Z', 0)).toBe(Date.parse('2026-01-01T00:00:00Z'));
    expect(renderTemplate('{{.A.B}}\\t{{json .C}}', { A: { B: 'x' }, C: [1] })).toBe('x\t[1]');
    expect(() => renderTemplate('{{index .C 0}}', { C: [1] })).toThrow(TemplateError);
    expect(rfc3339Nano(Date.parse('2026-11-28T07:30:00.123Z'), 4)).toBe('2026-11-28T07:30:00.123000004Z');
  });
});
