/**
 * With --json, a command that fails before its normal document still prints exactly one JSON document on
 * stdout, `{"ok": false, "error": {code, message, hint, file?, line?, node?}}`, with the exit status it has
 * without --json; the human text stays on stderr. In-process (the command modules against a simulated
 * cluster, the error mapped as cli.ts maps it) and through the built CLI (`npm run build` first).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContext } from '../../src/context.js';
import { r1DeploymentYaml, r1Parallel, startDemoCluster, type DemoCluster } from '../../src/demo/cluster.js';
import { ClusterError, InputError, InterruptedError, UserError, isUserError } from '../../src/errors.js';
import { RemoteError } from '../../src/remote/transport.js';
import { errorCode, errorDocument } from '../../src/ui/error-document.js';
import { runCli, type CliResult } from '../support/run-cli.js';

const SUBNET = 130;

let dir: string;
/** A loopback port where nothing listens: connecting is refused at once. */
let closedPort: number;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ascendctl-jsonerr-'));
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  closedPort = (server.address() as { port: number }).port;
  await new Promise<void>((r) => server.close(() => r()));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function file(name: string, body: string): string {
  const p = join(dir, name);
  writeFileSync(p, body);
  return p;
}

/** Exactly one JSON document on stdout, the error document, with the exit status given. */
function expectErrorDocument(r: CliResult, exitCode: number, code: string): { code: string; message: string; hint: string; file?: string; line?: number; node?: string } {
  expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(exitCode);
  expect(r.json, `stdout is one JSON document:\n${r.stdout}`).toBeDefined();
  const doc = r.json as { ok: boolean; error: { code: string; message: string; hint: string } };
  expect(doc.ok).toBe(false);
  expect(Object.keys(doc)).toEqual(['ok', 'error']);
  expect(doc.error.code).toBe(code);
  expect(typeof doc.error.message).toBe('string');
  expect(doc.error.hint.length).toBeGreaterThan(0);
  // The human text stays on stderr.
  expect(r.stderr).toContain('error:');
  return doc.error;
}

const unreachableInventory = () => file('unreachable.yaml', [
  'ssh:',
  '  user: root',
  `  port: ${closedPort}`,
  '  strictHostKeyChecking: "no"',
  '  connectTimeout: 5s',
  'nodes:',
  '  - name: node[1-2]',
  `    host: 127.${SUBNET}.0.[101-102]`,
  '',
].join('\n'));

describe('--json error documents through the built CLI', () => {
  it('bad YAML: code bad-input, the file and the line', async () => {
    const inv = file('bad.yaml', 'nodes:\n  - name: node1\n    host: [127.0.0.1\n');
    const r = await runCli(['preflight', '-i', inv, '--json'], { cwd: dir });
    const e = expectErrorDocument(r, 2, 'bad-input');
    expect(e.file).toBe(inv);
    expect(e.line).toBeGreaterThanOrEqual(3);
    expect(e.message).toContain('is not valid YAML');
    expect(r.stderr).toContain('is not valid YAML');
  });

  it('unknown key: the suggestion, the file and the line of the key', async () => {
    const inv = file('hots.yaml', 'nodes:\n  - name: node1\n    host: 127.0.0.1\n    hots: x\n');
    const r = await runCli(['preflight', '-i', inv, '--json'], { cwd: dir });
    const e = expectErrorDocument(r, 2, 'bad-input');
    expect(e).toMatchObject({ file: inv, line: 4 });
    expect(e.message).toContain('nodes[0].hots: unknown key "hots"');
    expect(e.message).toContain('did you mean "host"?');
  });

  it('a deployment file with an unknown key names that file', async () => {
    const dep = file('dep-typo.yaml', r1DeploymentYaml({ parallel: r1Parallel(2) }).replace('npuMemoryFraction:', 'npuMemoryFracton:'));
    const r = await runCli(['deploy', dep, '-i', unreachableInventory(), '--json'], { cwd: dir });
    const e = expectErrorDocument(r, 2, 'bad-input');
    expect(e.file).toBe(dep);
    expect(e.message).toContain('did you mean "npuMemoryFraction"?');
  });

  it('a bad flag with --json on the line: commander\'s error as a document, exit 2', async () => {
    const r = await runCli(['preflight', '--no-such-flag', '--json'], { cwd: dir });
    const e = expectErrorDocument(r, 2, 'bad-input');
    expect(e.message).toBe("unknown option '--no-such-flag'");
    expect(e.hint).toBe('run ascendctl preflight --help for the options');
    const missing = await runCli(['deploy', '--json'], { cwd: dir });
    expect(expectErrorDocument(missing, 2, 'bad-input').message).toMatch(/missing required argument/);
    const choice = await runCli(['status', '--json', '--bogus'], { cwd: dir });
    expectErrorDocument(choice, 2, 'bad-input');
  });

  it('without --json a bad flag leaves stdout empty, as before', async () => {
    const r = await runCli(['preflight', '--no-such-flag'], { cwd: dir });
    expect(r.exitCode).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain("unknown option '--no-such-flag'");
  });

  it('--node ranges: an unknown name and a malformed range are bad input, folded', async () => {
    const inv = unreachableInventory();
    const unknown = await runCli(['preflight', '-i', inv, '--node', 'node[2-4]', '--json'], { cwd: dir });
    expect(expectErrorDocument(unknown, 2, 'bad-input').message).toBe(`--node node[3-4]: no such node in ${inv}; the nodes are: node[1-2]`);
    const bad = await runCli(['preflight', '-i', inv, '--node', 'node[2-', '--json'], { cwd: dir });
    expect(expectErrorDocument(bad, 2, 'bad-input').message).toMatch(/^--node node\[2-: .*without a closing "\]"/);
  });

  it('deploy with an unreachable master: code unreachable, the node named, exit 1', async () => {
    const dep = file('dep.yaml', r1DeploymentYaml({ parallel: r1Parallel(2) }));
    const r = await runCli(['deploy', dep, '-i', unreachableInventory(), '--json'], { cwd: dir });
    const e = expectErrorDocument(r, 1, 'unreachable');
    expect(e.node).toBe('node1');
    expect(e.message).toMatch(/^node1 \(master\): /);
  });

  it('chat with nothing answering: code endpoint-failed, exit 1', async () => {
    const r = await runCli(['chat', '--endpoint', `http://127.0.0.1:${closedPort}`, '--model', 'm', '-p', 'hi', '--json', '--timeout', '10s'], { cwd: dir });
    expectErrorDocument(r, 1, 'endpoint-failed');
  });

  it('a malformed --endpoint is bad input (exit 2) for chat and bench, with or without --model', async () => {
    for (const args of [['chat', '-p', 'hi'], ['chat', '-p', 'hi', '--model', 'm'], ['bench', '--model', 'm', '--requests', '1']]) {
      for (const endpoint of ['notaurl', 'ftp://x']) {
        const r = await runCli([...args, '--endpoint', endpoint, '--json'], { cwd: dir });
        expect(expectErrorDocument(r, 2, 'bad-input').message, `${args.join(' ')} ${endpoint}`).toMatch(/^--endpoint /);
      }
    }
  });

  it('bench prints its own document even when every request failed, and no second one', async () => {
    const r = await runCli(['bench', '--endpoint', `http://127.0.0.1:${closedPort}`, '--model', 'm', '--requests', '2', '--concurrency', '1', '--json'], { cwd: dir });
    expect(r.exitCode).toBe(1);
    expect(r.json, r.stdout).toMatchObject({ requests: 2, errors: 2 });
    expect(r.json).not.toHaveProperty('ok');
  });

  it('logs: the error document on one line, as its other output is', async () => {
    const r = await runCli(['logs', '--json'], { cwd: dir });
    expect(r.exitCode).toBe(2);
    expect(r.stdout.trimEnd().split('\n')).toHaveLength(1);
    expect(expectErrorDocument(r, 2, 'bad-input').message).toMatch(/no deployment given/);
  });
});

describe('--json error documents against a simulated cluster (a worker unreachable)', () => {
  let cluster: DemoCluster;
  let inventory: string;

  beforeAll(async () => {
    cluster = await startDemoCluster({ nodes: 2, subnet: SUBNET });
    // node2 moves to an address where nothing listens: refused at once.
    inventory = join(cluster.dir, 'inventory-node2-gone.yaml');
    const { readFileSync } = await import('node:fs');
    writeFileSync(inventory, readFileSync(cluster.inventoryPath, 'utf8').replace(`host: 127.${SUBNET}.0.2`, `host: 127.${SUBNET}.0.99`));
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  async function inProcess(command: 'deploy' | 'status', args: string[], opts: Record<string, unknown>) {
    const stdout = new PassThrough();
    let out = '';
    stdout.on('data', (c: Buffer) => { out += c.toString('utf8'); });
    const ctx = createContext({
      signal: new AbortController().signal, cwd: cluster.dir, env: { ...process.env, HOME: cluster.dir, NO_COLOR: '1' }, json: true,
      stdout: stdout as unknown as NodeJS.WritableStream, stderr: new PassThrough() as unknown as NodeJS.WritableStream,
    });
    ctx.home = cluster.dir;
    const mod = command === 'deploy' ? await import('../../src/commands/deploy.js') : await import('../../src/commands/status.js');
    try {
      const exitCode = await mod.default(ctx, args, { json: true, ...opts });
      return { exitCode, out, error: undefined as UserError | undefined };
    } catch (err) {
      if (!isUserError(err)) throw err;
      return { exitCode: err.exitCode, out, error: err };
    } finally {
      await ctx.closePool();
    }
  }

  it('deploy in-process: the preflight gate fails on the unreachable node; the document says unreachable, node2', async () => {
    const r = await inProcess('deploy', [cluster.deploymentPath], { inventory, parallel: '32', timeout: '60s' });
    expect(r.exitCode).toBe(1);
    expect(r.out).toBe(''); // nothing printed before the failure: cli.ts prints the error document
    const doc = errorDocument(r.error, 'deploy', r.error!.message);
    expect(doc).toMatchObject({ ok: false, error: { code: 'unreachable', node: 'node2', message: 'preflight failed: nothing was changed on the nodes' } });
  }, 60_000);

  it('deploy through the built CLI: the same document on stdout, exit 1', async () => {
    const r = await runCli(['deploy', cluster.deploymentPath, '-i', inventory, '--json'], { cwd: cluster.dir });
    const e = expectErrorDocument(r, 1, 'unreachable');
    expect(e.node).toBe('node2');
  }, 60_000);

  it('logs --json with nodes that cannot be read: the error object after the lines, exit 1', async () => {
    const r = await runCli(['logs', cluster.deploymentPath, '-i', inventory, '--json'], { cwd: cluster.dir });
    const e = expectErrorDocument(r, 1, 'cluster-failed');
    expect(e.message).toMatch(/^cannot read the logs on 2 nodes: node1: cannot read the logs of ascendctl-deepseek-r1: .*No such container.*; node2: cannot read the logs/);
    expect(r.stdout.trim().split('\n')).toHaveLength(1); // one object per line, like the lines before it
  }, 60_000);

  it('an inventory written as a range, and --node as a range, reach the nodes they name', async () => {
    const { readFileSync } = await import('node:fs');
    const ranged = join(cluster.dir, 'inventory-ranged.yaml');
    const text = readFileSync(cluster.inventoryPath, 'utf8').replace(/nodes:\n[\s\S]*$/, `nodes:\n  - name: node[1-2]\n    host: 127.${SUBNET}.0.[1-2]\n`);
    writeFileSync(ranged, text);
    const r = await runCli(['preflight', '-i', ranged, '--node', 'node[2]', '--json'], { cwd: cluster.dir });
    const doc = r.json as { findings: { node: string; check: string; status: string }[] };
    expect(doc, r.stderr).toBeDefined();
    expect([...new Set(doc.findings.map((f) => f.node))]).toEqual(['node2']);
    expect(doc.findings.find((f) => f.check === 'ssh')?.status).toBe('pass');
  }, 60_000);

  it('status: an unreachable node is part of its normal document (exit 1), not an error document', async () => {
    const r = await inProcess('status', [cluster.deploymentPath], { inventory });
    expect(r.error).toBeUndefined();
    expect(r.exitCode).toBe(1);
    const doc = JSON.parse(r.out) as { healthy: boolean; nodes: { node: string; container: string }[] };
    expect(doc.healthy).toBe(false);
    expect(doc.nodes.find((n) => n.node === 'node2')?.container).toBe('unreachable');
    const cli = await runCli(['status', cluster.deploymentPath, '-i', inventory, '--json'], { cwd: cluster.dir });
    expect(cli.exitCode).toBe(1);
    expect(cli.json).toMatchObject({ healthy: false });
    expect(cli.json).not.toHaveProperty('ok');
  }, 60_000);
});

describe('error codes: a closed set, consistent with the exit status', () => {
  it.each([
    [new InputError('x'), 'deploy', 'bad-input'],
    [new InterruptedError(), 'deploy', 'interrupted'],
    [new ClusterError('x'), 'deploy', 'deploy-failed'],
    [new ClusterError('x'), 'chat', 'endpoint-failed'],
    [new ClusterError('x'), 'bench', 'endpoint-failed'],
    [new ClusterError('x'), 'preflight', 'cluster-failed'],
    [new ClusterError('x', { code: 'preflight-failed' }), 'deploy', 'preflight-failed'],
    [new RemoteError('connect', 'node3', 'refused'), 'logs', 'unreachable'],
    [new Error('bug'), 'status', 'internal'],
  ])('%s under %s → %s', (err, command, code) => {
    expect(errorCode(err, command)).toBe(code);
  });

  it('names the node of a transport error and fills in a hint', () => {
    expect(errorDocument(new RemoteError('connect', 'node3', 'refused'), 'status', 'refused')).toEqual({
      ok: false, error: { code: 'unreachable', message: 'refused', hint: expect.any(String), node: 'node3' },
    });
    expect(errorDocument(new InputError('bad', { hint: 'fix it', file: 'inv.yaml', line: 3 }), 'preflight', 'bad')).toEqual({
      ok: false, error: { code: 'bad-input', message: 'bad', hint: 'fix it', file: 'inv.yaml', line: 3 },
    });
  });
});
