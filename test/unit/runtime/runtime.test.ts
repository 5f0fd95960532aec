/** Every container-runtime argv ascendctl sends, for docker and for podman (one home: src/runtime/runtime.ts). */
import { describe, expect, it } from 'vitest';
import { ContainerRuntime, parseContainerState, runtimeFor } from '../../../src/runtime/runtime.js';

describe('ContainerRuntime', () => {
  it('knows podman by its name, wherever it lives, and everything else as docker', () => {
    expect(runtimeFor('podman').kind).toBe('podman');
    expect(runtimeFor('/usr/bin/podman').kind).toBe('podman');
    expect(runtimeFor('docker').kind).toBe('docker');
    expect(runtimeFor('/opt/bin/docker').kind).toBe('docker');
  });

  it.each(['docker', '/usr/bin/podman'])('spells every command with the node\'s own word (%s)', (word) => {
    const rt = runtimeFor(word);
    expect(rt.version()).toEqual([word, 'version', '--format', '{{.Server.Version}}']);
    expect(rt.versionText()).toEqual([word, 'version']);
    expect(rt.imageId('mindie:2.1')).toEqual([word, 'image', 'inspect', '--format', '{{.Id}}', 'mindie:2.1']);
    expect(rt.pull('mindie:2.1')).toEqual([word, 'pull', 'mindie:2.1']);
    expect(rt.load()).toEqual([word, 'load']);
    expect(rt.state('c')).toEqual([word, 'inspect', '--format', '{{json .State}}', 'c']);
    expect(rt.running('c')).toEqual([word, 'inspect', '--format', '{{.State.Running}}', 'c']);
    expect(rt.exitCode('c')).toEqual([word, 'inspect', '--format', '{{.State.ExitCode}}', 'c']);
    expect(rt.stop('c', 30)).toEqual([word, 'stop', '-t', '30', 'c']);
    expect(rt.remove('c')).toEqual([word, 'rm', '-f', 'c']);
    expect(rt.logsTail('c', 15)).toEqual([word, 'logs', '--tail', '15', 'c']);
    expect(rt.logs({ container: 'c', follow: true, since: '2026-01-02T03:04:05Z' })).toEqual([
      word, 'logs', '-f', '-t', '--since', '2026-01-02T03:04:05Z', 'c',
    ]);
  });

  it('runs the rendered command as its kind: podman drops the shm size that --ipc=host makes moot, docker keeps it', () => {
    const rendered = ['docker', 'run', '-d', '--ipc=host', '--shm-size=10g', 'img', 'bash', '/x/launch.sh'];
    expect(runtimeFor('docker').run(rendered)).toEqual(['docker', 'run', '-d', '--ipc=host', '--shm-size=10g', 'img', 'bash', '/x/launch.sh']);
    expect(runtimeFor('podman').run(rendered)).toEqual(['podman', 'run', '-d', '--ipc=host', 'img', 'bash', '/x/launch.sh']);
    // A `docker` that turned out to be podman underneath is told so.
    expect(new ContainerRuntime('docker', 'podman').run(rendered)).toEqual(['docker', 'run', '-d', '--ipc=host', 'img', 'bash', '/x/launch.sh']);
  });
});

describe('parseContainerState', () => {
  it('reads the state object inspect prints', () => {
    expect(parseContainerState('{"Status":"exited","Running":false,"ExitCode":137,"StartedAt":"2026-01-02T03:04:05Z","FinishedAt":""}\n'))
      .toEqual({ status: 'exited', running: false, exitCode: 137, startedAt: '2026-01-02T03:04:05Z' });
  });
  it('says undefined for anything else', () => {
    expect(parseContainerState('Error: template parsing error')).toBeUndefined();
  });
});
