import { describe, expect, it } from 'vitest';
import { configFileOf, describeEndpoint, sshCommand } from '../../../src/remote/endpoint.js';

describe('endpoint texts', () => {
  it('sshCommand spells out user, a non-22 port, IPv6 brackets and the jump host', () => {
    expect(sshCommand({ hostname: '10.0.0.1', port: 22, user: 'root' })).toBe('ssh root@10.0.0.1');
    expect(sshCommand({ hostname: '10.0.0.1', port: 2222, user: 'ops' })).toBe('ssh -p 2222 ops@10.0.0.1');
    expect(sshCommand({ hostname: 'fd00::1', port: 22, user: 'root' })).toBe('ssh root@[fd00::1]');
    const jumpHost = { host: 'b', hostname: 'bastion', port: 2200, user: 'jump', identityFiles: [], useAgent: false, knownHostsFile: '/k', strictHostKeyChecking: 'yes' as const, connectTimeoutMs: 1 };
    expect(sshCommand({ hostname: '10.0.0.1', port: 22, user: 'root', jumpHost })).toBe('ssh -J jump@bastion:2200 root@10.0.0.1');
    expect(sshCommand({ hostname: '10.0.0.1', port: 2222, user: 'root', jumpHost }, '1025:10.0.0.1:1025')).toBe('ssh -N -J jump@bastion:2200 -L 1025:10.0.0.1:1025 -p 2222 root@10.0.0.1');
  });

  it('names the node with its address, and the inventory file when known', () => {
    expect(describeEndpoint({ name: 'node3', hostname: '10.0.0.3', port: 22 })).toBe('node3 (10.0.0.3:22)');
    expect(configFileOf({ configFile: 'inv3.yaml' })).toBe('inv3.yaml');
    expect(configFileOf({})).toBe('the inventory');
  });
});
