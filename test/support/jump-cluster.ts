/**
 * A simulated cluster reached only through jump hosts: some of the simulation's nodes play the hops
 * (they are left out of the inventory, which names them in `ssh.jumpHost`), the others are the cluster,
 * with a MindIE deployment across them. The simulated sshds count their `direct-tcpip` channels, which
 * is how the tests see the route taken.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { r1DeploymentYaml, r1Parallel, startDemoCluster, type DemoCluster } from '../../src/demo/cluster.js';

export async function startJumpCluster(opts: {
  nodes: number;
  subnet: number;
  /** Names of the simulated nodes that are hops, not cluster nodes. */
  hops: readonly string[];
  /** The inventory's `ssh.jumpHost` value, as written in YAML. */
  jumpHost: string;
}): Promise<DemoCluster> {
  const cluster = await startDemoCluster({ nodes: opts.nodes, subnet: opts.subnet });
  let inventory = (await readFile(cluster.inventoryPath, 'utf8')).replace('ssh:\n', `ssh:\n  jumpHost: ${opts.jumpHost}\n`);
  for (const hop of opts.hops) {
    const index = Number(hop.replace(/^node/, ''));
    inventory = inventory.replace(`  - name: ${hop}\n    host: 127.${opts.subnet}.0.${index}\n`, '');
  }
  await writeFile(cluster.inventoryPath, inventory);
  await writeFile(cluster.deploymentPath, r1DeploymentYaml({ parallel: r1Parallel(opts.nodes - opts.hops.length) }));
  return cluster;
}
