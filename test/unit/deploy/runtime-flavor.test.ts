/** docker and podman: which one answered `version`, and the `run` argv each accepts. */
import { describe, expect, it } from 'vitest';
import { isPodman, parseRuntimeVersion, runArgvFor } from '../../../src/runtime/runtime.js';

const DOCKER = `Client: Docker Engine - Community
 Version:           26.1.3
 API version:       1.45

Server: Docker Engine - Community
 Engine:
  Version:          26.1.4
  API version:      1.45 (minimum version 1.24)
 containerd:
  Version:          1.6.33
`;
const PODMAN = `Client:       Podman Engine
Version:      4.9.3
API Version:  4.9.3
Go Version:   go1.21.6
Built:        Thu Jan  1 00:00:00 1970
OS/Arch:      linux/arm64
`;
const PODMAN_SERVICE = `Client:       Podman Engine
Version:      4.9.3

Server:       Podman Engine
Version:      4.9.4
`;

describe('parseRuntimeVersion', () => {
  it("reads docker's engine version, not the client's", () => {
    expect(parseRuntimeVersion(DOCKER)).toEqual({ product: 'docker', version: '26.1.4' });
  });
  it('reads daemonless podman, and a podman service when there is one', () => {
    expect(parseRuntimeVersion(PODMAN)).toEqual({ product: 'podman', version: '4.9.3' });
    expect(parseRuntimeVersion(PODMAN_SERVICE)).toEqual({ product: 'podman', version: '4.9.4' });
  });
  it('gives nothing for a docker client whose server part is missing, or for other text', () => {
    expect(parseRuntimeVersion(DOCKER.slice(0, DOCKER.indexOf('Server:')))).toBeUndefined();
    expect(parseRuntimeVersion('hello\n')).toBeUndefined();
  });
});

describe('runArgvFor', () => {
  const rendered = ['docker', 'run', '-d', '--name', 'x', '--net=host', '--ipc=host', '--shm-size=10g', 'img', 'bash', '/l.sh'];
  it('keeps the rendered argv for docker, with the inventory\'s runtime word first', () => {
    expect(runArgvFor('/usr/bin/docker', rendered)).toEqual(['/usr/bin/docker', ...rendered.slice(1)]);
  });
  it('drops --shm-size for podman with --ipc=host (podman refuses the pair)', () => {
    expect(isPodman('/usr/bin/podman')).toBe(true);
    expect(runArgvFor('podman', rendered)).toEqual(['podman', 'run', '-d', '--name', 'x', '--net=host', '--ipc=host', 'img', 'bash', '/l.sh']);
    const privateIpc = rendered.filter((a) => a !== '--ipc=host');
    expect(runArgvFor('podman', privateIpc)).toContain('--shm-size=10g');
  });
});
