/**
 * Starting a simulated cluster in-process: the nodes, the container runtime (docker, MindIE, vLLM) and
 * the ssh2 front on the nodes' loopback addresses, for the demo and the in-process tests. A caller with
 * its own front and file systems (the test rig in test/harness/) passes `front: 'none'` and `fs`.
 */
import { SimCluster, type SimClusterOptions } from './cluster.js';
import type { SimClusterSpec } from './cluster-spec.js';
import { generateHostKey, SshFront } from './ssh-server.js';
import type { SimFault } from './types.js';

export interface StartSimClusterOptions extends Omit<SimClusterOptions, 'extensions'> {
  spec: SimClusterSpec;
  /** 'ssh2' (default): in-process SSH servers; 'none': no front (the caller serves the cluster itself). */
  front?: 'ssh2' | 'none';
  /** The container runtime (docker, MindIE, vLLM) is added unless this is false. */
  withContainerRuntime?: boolean;
}

/** A started cluster: its nodes' addresses and keys, and the controls the tests and the demo use. */
export type RunningSimCluster = Awaited<ReturnType<typeof startSimCluster>>;

export async function startSimCluster(opts: StartSimClusterOptions) {
  // Loaded on demand: the container runtime (docker, MindIE, vLLM) stays out of the entry chunk.
  const runtime = opts.withContainerRuntime === false ? undefined : await import('./container-runtime.js');
  const cluster = new SimCluster(opts.spec, {
    extensions: runtime ? [runtime.createContainerRuntimeExtension()] : [],
    fs: opts.fs,
    installProgramFiles: opts.installProgramFiles,
  });
  await cluster.start();

  const clientKey = (opts.front ?? 'ssh2') === 'ssh2' ? generateHostKey() : undefined;
  const sshFront = clientKey && new SshFront(cluster, [clientKey.public]);
  try {
    await sshFront?.start();
  } catch (err) {
    await sshFront?.stop();
    cluster.stop();
    throw err;
  }

  return {
    cluster,
    /** `knownHostsLine`: `[host]:port ssh-ed25519 AAAA…` for a known_hosts file (ssh2 front). */
    nodes: cluster.nodes.map((n) => ({
      name: n.name, host: n.host, sshPort: n.sshPort,
      ...(sshFront ? { knownHostsLine: `[${n.host}]:${n.sshPort} ${sshFront.hostKey(n.name).public}` } : {}),
    })),
    /** The client key allowed to log in (OpenSSH texts; ssh2 front). */
    clientKey,
    setFaults: (name: string, faults: SimFault[]) => cluster.node(name).setFaults(faults),
    nodeDown: async (name: string) => {
      const node = cluster.node(name);
      if (!node.down) await node.setFaults([...node.faults, { kind: 'node-down' }]);
    },
    nodeUp: async (name: string) => {
      const node = cluster.node(name);
      await node.setFaults(node.faults.filter((f) => f.kind !== 'node-down'));
    },
    /** Kill the live SSH connections of a node; returns how many (0 without an ssh2 front). */
    dropConnections: (name: string) => sshFront?.dropConnections(cluster.node(name).name) ?? 0,
    /** `direct-tcpip` channels a node opened, by "host:port" (empty without an ssh2 front). */
    forwards: (name: string) => sshFront?.forwards(cluster.node(name).name) ?? new Map<string, number>(),
    stop: async () => {
      cluster.stop();
      await sshFront?.stop();
    },
  };
}
