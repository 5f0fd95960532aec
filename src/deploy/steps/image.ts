/**
 * image: the deployment's image on every node, at once: present already, else `load` from
 * --image-archive (streamed over SSH), else `pull` with its progress shown per node. Nothing to undo:
 * an image left on a node is what the next deploy needs.
 */
import { createReadStream } from 'node:fs';
import type { ResolvedNode } from '../../config/inventory.js';
import { ClusterError } from '../../errors.js';
import { pullProgress, runtimeFor } from '../../runtime/runtime.js';
import { firstLine, rt, type DeployEnv } from './env.js';
import type { Step } from './runner.js';

export interface ImageInput {
  /** A `docker save` tarball on this machine, checked already (image-archive.ts). */
  imageArchive?: string;
}

export function imageStep(env: Pick<DeployEnv, 'dep' | 'nodes' | 'rep' | 'now' | 'transport'>): Step<ImageInput, void> {
  const { dep, rep, now } = env;
  /** docker's and podman's words for a daemon or service that is not there. */
  const RUNTIME_DOWN = /Cannot connect to the Docker daemon|Is the docker daemon running|Cannot connect to Podman|unable to connect to Podman socket/i;

  async function ensureImage(n: ResolvedNode, archive: string | undefined, signal: AbortSignal): Promise<void> {
    const t = await env.transport(n);
    const present = await t.exec(runtimeFor(rt(n)).imageId(dep.image), { timeoutMs: 30_000, signal });
    if (present.code === 0) {
      rep.node(n.name, 'image present');
      return;
    }
    // A runtime that does not answer is not an absent image: pulling would only fail the same way.
    const said = `${present.stderr}\n${present.stdout}`;
    if (present.code === 127 || RUNTIME_DOWN.test(said)) {
      throw new ClusterError(`${n.name}: ${rt(n)} does not answer: ${firstLine(present.stderr || present.stdout) || `exit status ${String(present.code)}`}`, {
        hint: present.code === 127
          ? `install ${rt(n)} on ${n.name}, or set tools.containerRuntime in the inventory`
          : `start it on ${n.name} (systemctl start ${rt(n)}) and check that ${rt(n)} ps works; ascendctl preflight checks every node's runtime`,
      });
    }
    if (archive) {
      rep.node(n.name, `loading ${archive}`);
      const r = await t.exec(runtimeFor(rt(n)).load(), { stdin: createReadStream(archive), timeoutMs: 60 * 60_000, signal });
      if (r.code !== 0) throw new ClusterError(`${n.name}: ${rt(n)} load failed: ${firstLine(r.stderr || r.stdout)}`, { hint: 'check the tarball (docker save output) and the disk space on the node' });
      const again = await t.exec(runtimeFor(rt(n)).imageId(dep.image), { timeoutMs: 30_000, signal });
      if (again.code !== 0) {
        throw new ClusterError(`${n.name}: the archive did not contain ${dep.image} (${firstLine(r.stdout)})`, { hint: 'use the tarball of exactly the image named in the deployment file' });
      }
      rep.node(n.name, 'image loaded');
      return;
    }
    rep.node(n.name, `pulling ${dep.image}`);
    let last = 0;
    let buffered = '';
    const r = await t.stream(runtimeFor(rt(n)).pull(dep.image), {
      onStdout(chunk) {
        buffered += chunk.toString('utf8');
        const lines = buffered.split(/\r?\n|\r/);
        buffered = lines.pop() ?? '';
        for (const l of lines) {
          const p = pullProgress(l);
          if (p && now() - last > 500) {
            last = now();
            rep.node(n.name, p);
          }
        }
      },
    }, { timeoutMs: 4 * 60 * 60_000, signal });
    if (r.code !== 0) {
      throw new ClusterError(`${n.name}: pulling ${dep.image} failed: ${firstLine(r.stderr || r.stdout)}`, {
        hint: 'check the registry is reachable from the node (docker login?), or copy the image with --image-archive FILE',
      });
    }
    rep.node(n.name, 'image pulled');
  }
  return {
    name: 'image',
    async run({ imageArchive }, { signal }) {
      rep.step(imageArchive ? `loading ${dep.image} from ${imageArchive}` : `image ${dep.image} on every node`);
      await Promise.all(env.nodes.map((n) => ensureImage(n, imageArchive, signal)));
    },
  };
}
