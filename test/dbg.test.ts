import { it } from 'vitest';
import { startDemoCluster } from '../src/demo/cluster.js';
import { runInProcess } from './support/in-process.js';
it('dbg', async () => {
  const c = await startDemoCluster({ nodes: 2, subnet: 153, server: 'A3', npusPerNode: null });
  const r = await runInProcess(() => import('../src/commands/deploy.js'), [c.deploymentPath], { parallel: '32', timeout: '60s', inventory: c.inventoryPath }, { cwd: c.dir, home: c.dir });
  console.log(r.exitCode, r.error, r.hint, r.stdout.slice(-3000), r.stderr.slice(-3000));
  const chat = await runInProcess(() => import('../src/commands/chat.js'), [], { timeout: '30s', prompt: 'hi' }, { cwd: c.dir, home: c.dir });
  console.log(chat.exitCode, chat.error, chat.stdout.slice(-500));
  await c.stop();
}, 120000);
