import { commandText } from './command-text.js';
import { checkRenderInput } from './input-check.js';
import { containerName, remoteDir, remotePaths } from './paths.js';
import { RenderError } from './render-error.js';
import type { RenderInput, RenderNode } from './render-input.js';

export { containerName, remoteDir, remotePaths } from './paths.js';

export interface ContainerRunOptions {
  runtime: 'docker';
}

/**
 * --shm-size per mindie-multinode.md §6: at least 1 GB, growing with DP (DP 2 ≥ 2, 4 ≥ 3, 8 ≥ 5,
 * 16 ≥ 9 GB, i.e. DP/2 + 1), never below GPUStack's 10 GiB. With --ipc=host Docker ignores it, but it
 * keeps the command correct should ipc=host ever be dropped.
 */
export function shmSizeGb(dataParallelSize: number): number {
  const byDp = dataParallelSize <= 1 ? 1 : Math.ceil(dataParallelSize / 2) + 1;
  return Math.max(10, byDp);
}

/** Read-only mounts every node needs (§6); the whole driver tree because HCCL runs hccn_tool from it. */
const HOST_MOUNTS = [
  '/usr/local/Ascend/driver',
  '/usr/local/Ascend/firmware',
  '/usr/local/sbin',
  '/etc/hccn.conf',
  '/etc/ascend_install.info',
] as const;

/**
 * argv of the `docker run` that starts one node's server. Everything per node arrives through the
 * env file and the read-only deployment directory, so the argv differs between nodes only in labels.
 */
export function renderContainerRun(input: RenderInput, node: RenderNode, opts: ContainerRunOptions = { runtime: 'docker' }): string[] {
  checkRenderInput(input);
  const { deployment: d } = input;
  if (d.image === '' || /\s/.test(d.image) || d.image.startsWith('-')) {
    throw new RenderError(`image "${d.image}" is not an image reference`, { path: 'image', hint: 'write the image as registry/name:tag' });
  }
  if (!d.model.path.startsWith('/') || d.model.path.includes(':') || /[\r\n\0]/.test(d.model.path)) {
    throw new RenderError(`model.path "${d.model.path}" cannot be bind-mounted (it must be absolute and contain no ":")`, {
      path: 'model.path',
      hint: 'move or link the weights to a plain absolute path, the same on every node',
    });
  }
  const dir = remoteDir(d.name);
  const paths = remotePaths(d.name);
  const ro = (p: string): string[] => ['-v', `${p}:${p}:ro`];
  return [
    opts.runtime,
    'run',
    '-d',
    '--name', containerName(d.name),
    '--label', `ascendctl.deployment=${d.name}`,
    '--label', `ascendctl.node=${node.name}`,
    '--net=host',
    '--ipc=host',
    '--privileged',
    '-u', 'root',
    `--shm-size=${shmSizeGb(d.parallel.dataParallelSize)}g`,
    ...Array.from({ length: input.npusPerNode }, (_, i) => `--device=/dev/davinci${i}`),
    '--device=/dev/davinci_manager',
    '--device=/dev/hisi_hdc',
    '--device=/dev/devmm_svm',
    ...HOST_MOUNTS.flatMap(ro),
    ...ro(d.model.path),
    ...ro(dir),
    '--env-file', paths.env,
    d.image,
    'bash',
    paths.launcher,
  ];
}

/** The argv as a shell command, one option per line (what `render --out` shows and the golden files pin). */
export function containerRunText(argv: readonly string[]): string {
  // The image is the third word from the end: `<image> bash <launch.sh>`.
  return `${commandText(argv, argv.length - 3)}\n`;
}
