/** Where ascendctl keeps a deployment's files on every node (contract: one private directory per deployment). */
export function remoteDir(deploymentName: string): string {
  return `/var/lib/ascendctl/${deploymentName}`;
}

export interface RemotePaths {
  dir: string;
  rankTable: string;
  config: string;
  env: string;
  launcher: string;
}

export function remotePaths(deploymentName: string): RemotePaths {
  const dir = remoteDir(deploymentName);
  return {
    dir,
    rankTable: `${dir}/ranktable.json`,
    config: `${dir}/config.json`,
    env: `${dir}/env`,
    launcher: `${dir}/launch.sh`,
  };
}

export function containerName(deploymentName: string): string {
  return `ascendctl-${deploymentName}`;
}

/** Writable working directory inside the container: CANN drops kernel_meta_temp_* into the cwd. */
export function workDir(deploymentName: string): string {
  return `/tmp/ascendctl-${deploymentName}`;
}
