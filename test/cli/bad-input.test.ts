/**
 * Bad input exits 2 with a located message, no stack trace, and contacts no node: the nodes in these
 * inventories point at a TCP listener that counts connections, and it must count none.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/run-cli.js';

let dir: string;
let server: Server;
let port: number;
let connections = 0;
const HOST = '127.0.0.1';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ascendctl-badinput-'));
  server = createServer((s) => {
    connections++;
    s.destroy();
  });
  await new Promise<void>((r) => server.listen(0, HOST, () => r()));
  port = (server.address() as { port: number }).port;
  writeFileSync(join(dir, 'id_ed25519'), 'not really a key\n', { mode: 0o600 });
  writeFileSync(join(dir, 'known_hosts'), '');
});
afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  rmSync(dir, { recursive: true, force: true });
});

function inventory(body: string): string {
  const file = join(dir, `inv-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, body);
  return file;
}

const goodHeader = () => `ssh:\n  user: root\n  port: ${port}\n  identityFile: ${join(dir, 'id_ed25519')}\n  knownHostsFile: ${join(dir, 'known_hosts')}\n`;

async function expectInputError(args: string[], located: RegExp) {
  const before = connections;
  const r = await runCli(args, { cwd: dir });
  expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(2);
  expect(r.stderr).toMatch(located);
  expect(r.stderr).not.toMatch(/\n\s+at .*\(.*:\d+:\d+\)/); // no stack trace
  expect(connections - before, 'no node was contacted').toBe(0);
  return r;
}

describe('bad input: exit 2, located, no node contacted', () => {
  it('nonexistent inventory', async () => {
    await expectInputError(['preflight', '-i', join(dir, 'missing.yaml')], /missing\.yaml/);
  });

  it('empty inventory', async () => {
    const f = inventory('');
    await expectInputError(['preflight', '-i', f], /inv-.*\.yaml.*empty|empty.*inv-.*\.yaml/is);
  });

  it('malformed YAML names the line', async () => {
    const f = inventory(`${goodHeader()}nodes:\n  - name: node1\n    host: [127.0.0.1\n`);
    await expectInputError(['preflight', '-i', f], /inv-.*\.yaml:\d+/);
  });

  it('unknown key names the YAML path and line', async () => {
    const f = inventory(`${goodHeader()}nodes:\n  - name: node1\n    hots: ${HOST}\n`);
    await expectInputError(['preflight', '-i', f], /:8:\d+.*nodes\[0\]/s);
  });

  it('wrong type names the YAML path', async () => {
    const f = inventory(`${goodHeader()}npusPerNode: eight\nnodes:\n  - name: node1\n    host: ${HOST}\n`);
    await expectInputError(['preflight', '-i', f], /npusPerNode/);
  });

  it('duplicate hosts name both lines', async () => {
    const f = inventory(`${goodHeader()}nodes:\n  - name: node1\n    host: ${HOST}\n  - name: node2\n    host: ${HOST}\n`);
    await expectInputError(['preflight', '-i', f], /nodes\[1\]\.host/);
  });

  it('missing identity file', async () => {
    const f = inventory(`ssh:\n  port: ${port}\n  identityFile: ${join(dir, 'nope_key')}\n  knownHostsFile: ${join(dir, 'known_hosts')}\nnodes:\n  - name: node1\n    host: ${HOST}\n`);
    await expectInputError(['preflight', '-i', f], /ssh\.identityFile.*nope_key|nope_key.*ssh\.identityFile/s);
  });

  it('inconsistent parallel sizes in a deployment file', async () => {
    const inv = inventory(`${goodHeader()}nodes:\n  - name: node1\n    host: ${HOST}\n  - name: node2\n    host: 127.0.0.2\n`);
    const dep = join(dir, 'bad-dep.yaml');
    writeFileSync(dep, [
      'name: r1', `inventory: ${inv}`, 'backend: mindie', 'image: mindie:2.1.RC1-800I-A2',
      'model:', '  path: /data/models/r1', '  name: r1',
      'parallel:', '  dataParallelSize: 4', '  tensorParallelSize: 16', '  moeTensorParallelSize: 1', '  moeExpertParallelSize: 16', '',
    ].join('\n'));
    await expectInputError(['deploy', dep], /bad-dep\.yaml:\d+:\d+.*parallel\./s);
    await expectInputError(['preflight', dep], /bad-dep\.yaml:\d+:\d+.*parallel\./s);
  });

  it('mindie on 8 A3 servers (more than 4): the backend line with the documented limit, before any node is contacted (deploy, --dry-run, preflight, render)', async () => {
    // One server is no longer bad input (issue #10: MindIE's single-node configuration); the A3 limit is.
    const hosts = [1, 2, 3, 4, 5, 6, 7, 8].map((i) => `  - name: node${i}\n    host: 127.0.0.${i}\n`).join('');
    const inv = inventory(`${goodHeader()}npusPerNode: 16\nnodes:\n${hosts}`);
    const dep = join(dir, 'eight-a3.yaml');
    writeFileSync(dep, [
      'name: r1', `inventory: ${inv}`, 'backend: mindie', 'image: mindie:2.1.RC1-800I-A3',
      'model:', '  path: /data/models/r1', '  name: r1',
      'parallel:', '  dataParallelSize: 8', '  tensorParallelSize: 16', '  moeTensorParallelSize: 1', '  moeExpertParallelSize: 128', '',
    ].join('\n'));
    const located = /eight-a3\.yaml:3:\d+.*backend.*at most 4 Atlas 800 A3 servers.*mindie_instg_0027.*has 8/s;
    const r = await expectInputError(['deploy', dep], located);
    expect(r.stderr).toMatch(/→ .*fewer nodes/);
    await expectInputError(['deploy', dep, '--dry-run'], located);
    await expectInputError(['preflight', dep], located);
    await expectInputError(['render', dep, '--out', join(dir, 'out-eight')], located);
  });

  it('a bad flag value', async () => {
    const f = inventory(`${goodHeader()}nodes:\n  - name: node1\n    host: ${HOST}\n`);
    await expectInputError(['preflight', '-i', f, '--ping', 'sometimes'], /sometimes/);
    const dur = await expectInputError(['preflight', '-i', f, '--call-timeout', 'soon'], /--call-timeout/);
    expect(dur.stderr).not.toMatch(/--call-timeout.*--call-timeout/); // named once
    expect(dur.stderr).toMatch(/\n→ write it like/);
    const n = await expectInputError(['bench', '--concurrency', 'abc', '--endpoint', `http://${HOST}:${port}`, '--model', 'm'], /--concurrency abc/);
    expect(n.stderr).toMatch(/\n→ write it like --concurrency 4/);
    const flag = await expectInputError(['logs', '--bogus'], /unknown option '--bogus'/);
    expect(flag.stderr).toContain('(run ascendctl logs --help for the options)');
  });

  it('an unknown --node name lists the known ones', async () => {
    const f = inventory(`${goodHeader()}nodes:\n  - name: node1\n    host: ${HOST}\n`);
    await expectInputError(['preflight', '-i', f, '--node', 'node9'], /node9.*node1/s);
  });
});
