import { addressProblem } from './address.js';
import { RenderError } from './render-error.js';
import type { RenderInput } from './render-input.js';

const PLAIN_NAME = /^[A-Za-z0-9_-]+$/;

/**
 * Rules every renderer relies on. The deployment schema checks most of them already; repeating the
 * few that would otherwise produce a silently wrong file keeps the renderers safe to call directly.
 */
export function checkRenderInput(input: RenderInput): void {
  const { deployment: d, nodes, npusPerNode } = input;
  if (!PLAIN_NAME.test(d.name)) {
    throw new RenderError(`deployment name "${d.name}" is not a plain name (letters, digits, -, _)`, {
      path: 'name',
      hint: 'rename the deployment: the name becomes a directory and a container name on every node',
    });
  }
  if (!Number.isInteger(npusPerNode) || npusPerNode < 1 || npusPerNode > 32) {
    throw new RenderError(`npusPerNode is ${npusPerNode}; MindIE accepts 1–32 devices per server`, {
      path: 'npusPerNode',
      hint: 'set npusPerNode in the inventory to the number of NPUs per server (8 on Atlas 800T A2)',
    });
  }
  if (nodes.length === 0) {
    throw new RenderError('the inventory lists no nodes', { path: 'nodes', hint: 'add the servers under nodes:' });
  }
  const names = new Set<string>();
  const hosts = new Set<string>();
  nodes.forEach((node, position) => {
    if (node.index !== position) {
      throw new RenderError(
        `node ${node.name} has index ${node.index} but is listed at position ${position}; the master must come first and indices must follow the list`,
        { node: node.name, hint: 'pass the nodes master first, numbered 0, 1, 2, …' },
      );
    }
    if (names.has(node.name)) throw new RenderError(`node name ${node.name} appears twice`, { node: node.name, hint: 'give every node a unique name' });
    names.add(node.name);
    const problem = addressProblem(node.host);
    if (problem !== undefined) {
      throw new RenderError(`node ${node.name}: address ${problem}; MindIE needs the node's IP (server_id, container_ip, ipAddress)`, {
        node: node.name,
        hint: 'use the IP address of the node in the inventory (or resolve the host name before rendering)',
      });
    }
    if (hosts.has(node.host)) throw new RenderError(`node ${node.name}: address ${node.host} is used by another node`, { node: node.name, hint: 'every node needs its own address' });
    hosts.add(node.host);
  });
}
