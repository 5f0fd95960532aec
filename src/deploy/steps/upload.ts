/**
 * stop previous, then upload. A deployment that changed (or a leftover of this name) is stopped first,
 * workers before the master, as `ascendctl stop` would: its containers hold the NPUs and the ports.
 * Then every rendered file goes to its node (mode 640, atomically). Neither has an undo: a replaced
 * deployment cannot be brought back by this one, and the files stay on the nodes for debugging
 * (`ascendctl stop` removes them).
 */
import type { ResolvedNode } from '../../config/inventory.js';
import type { RenderedDeployment } from '../../mindie/render.js';
import { stopAndRemove } from '../../runtime/containers.js';
import { rt, type DeployEnv } from './env.js';
import type { Step } from './runner.js';

export interface StopPreviousInput {
  /** The running deployment's rendering differs from this one (not merely a leftover container). */
  changed: boolean;
}

export function stopPreviousStep(env: Pick<DeployEnv, 'master' | 'workers' | 'container' | 'rep' | 'transport'>): Step<StopPreviousInput, void> {
  return {
    name: 'stop previous',
    async run({ changed }) {
      env.rep.step(changed
        ? 'the deployment changed: stopping the running one (workers first)'
        : 'removing the previous containers (workers first)');
      const stopOne = async (n: ResolvedNode) => stopAndRemove(await env.transport(n), rt(n), env.container);
      await Promise.all(env.workers.map(stopOne));
      await stopOne(env.master);
    },
  };
}

export interface UploadInput {
  rendered: RenderedDeployment;
}

export function uploadStep(env: Pick<DeployEnv, 'nodes' | 'dir' | 'rep' | 'transport'>): Step<UploadInput, void> {
  return {
    name: 'upload',
    async run({ rendered }, { signal }) {
      env.rep.step(`uploading ${rendered.nodes[0]?.files.length ?? 0} files to every node (${env.dir}, mode 640)`);
      await Promise.all(rendered.nodes.map(async (rn) => {
        const n = env.nodes.find((x) => x.name === rn.node.name)!;
        const t = await env.transport(n);
        for (const file of rn.files) await t.upload(file.path, file.content, { mode: file.mode, signal });
      }));
    },
  };
}
