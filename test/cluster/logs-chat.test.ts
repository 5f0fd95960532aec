/**
 * logs, chat and bench end to end: the built CLI against a 2-node deployment on real OpenSSH servers
 * (simulated Ascend tools and MindIE, fast profile). `deploy` runs first from the cluster's directory,
 * so the later commands find the deployment it recorded there; `stop` runs last.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimNodeSpec } from '../../src/sim/cluster-spec.js';
import { CLI_BIN, runCli, type CliResult } from '../support/run-cli.js';
import { canRunSshdCluster, startSshdCluster, type SshdCluster } from '../support/sshd-cluster.js';
import { r1DeploymentYaml, r1ModelFiles, r1Parallel } from '../../src/demo/cluster.js';

const IMAGE = 'swr.cn-south-1.myhuaweicloud.com/ascendhub/mindie:2.1.RC1-800I-A2-py311-openeuler24.03-lts';
const MODEL_PATH = '/opt/models/DeepSeek-R1';
const CONTAINER = 'ascendctl-deepseek-r1';
const MODEL_FILES = r1ModelFiles();
/** A UTF-8 locale and a plain one, with nothing else in the environment deciding: ` │ ` vs ` | `. */
const UTF8 = { LANG: 'C.UTF-8', LC_ALL: undefined, LC_CTYPE: undefined };
const PLAIN = { LANG: 'C', LC_ALL: undefined, LC_CTYPE: undefined };

function nodeSpecs(): SimNodeSpec[] {
  return ['node1', 'node2'].map((name) => ({ name, host: '', images: [IMAGE], models: { [MODEL_PATH]: MODEL_FILES } }));
}

function lines(text: string): string[] {
  return text.split('\n').filter((l) => l !== '');
}

async function waitFor(what: string, timeoutMs: number, probe: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

/** Every process below `root` (its SSH sessions and what they run), deepest first. */
function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const parent = parentOf(Number(entry));
    if (parent !== undefined) children.set(parent, [...(children.get(parent) ?? []), Number(entry)]);
  }
  const out: number[] = [];
  const walk = (pid: number): void => {
    for (const child of children.get(pid) ?? []) {
      walk(child);
      out.push(child);
    }
  };
  walk(root);
  return out;
}

/** A `logs -f` run in the background, its output collected as it arrives. */
interface Follower {
  child: ResultPromise;
  stdout: () => string;
  stderr: () => string;
  home: string;
}

function startFollower(cwd: string, args: string[]): Follower {
  const home = mkdtempSync(join(tmpdir(), 'ascendctl-home-'));
  const child = execa(process.execPath, [CLI_BIN, ...args], {
    cwd,
    env: { HOME: home, NO_COLOR: '1', FORCE_COLOR: undefined, SSH_AUTH_SOCK: undefined, ASCENDCTL_INVENTORY: undefined, ...PLAIN },
    reject: false,
    buffer: false,
    stdin: 'ignore',
    timeout: 150_000,
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
  return { child, stdout: () => out, stderr: () => err, home };
}

function running(f: Follower): boolean {
  return f.child.exitCode === null && f.child.signalCode === null;
}

describe.skipIf(!canRunSshdCluster())('logs, chat and bench on a deployment over real OpenSSH', () => {
  let cluster: SshdCluster | undefined;
  const c = (): SshdCluster => cluster!;
  const cli = (args: string[], env: Record<string, string | undefined> = PLAIN): Promise<CliResult> =>
    runCli(args, { cwd: c().dir, env, timeoutMs: 120_000 });

  /** Kills a node's SSH sessions server-side (its connections drop); the listener stays unless `hold`. */
  function dropConnections(node: string, hold: boolean): () => void {
    const pid = c().nodes.find((n) => n.name === node)?.sshdPid;
    if (pid === undefined) throw new Error(`${node} has no sshd`);
    // Stopped, the listener leaves new connections in the backlog: the outage lasts until it continues.
    if (hold) process.kill(pid, 'SIGSTOP');
    const sessions = descendants(pid);
    expect(sessions.length, `${node} has an SSH session to drop`).toBeGreaterThan(0);
    for (const p of sessions) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        // gone already
      }
    }
    return () => {
      if (hold) process.kill(pid, 'SIGCONT');
    };
  }

  /** The node's container log, read inside the node without SSH (for when its sshd is held). */
  async function containerLogInside(node: string): Promise<string> {
    const root = c().nodes.find((n) => n.name === node)!.root; // /proc/<namespace holder>/root
    const holder = /^\/proc\/(\d+)\/root$/.exec(root)?.[1];
    const r = await execa('nsenter', ['--target', String(holder), '--mount', '--', 'docker', 'logs', CONTAINER], { reject: false });
    return `${r.stdout}\n${r.stderr}`;
  }

  beforeAll(async () => {
    cluster = await startSshdCluster({ nodes: nodeSpecs(), profile: 'fast' });
    writeFileSync(join(cluster.dir, 'deepseek-r1.yaml'), r1DeploymentYaml({ image: IMAGE, modelPath: MODEL_PATH, parallel: r1Parallel(2) }));
    // The preflight gate is test/cluster/preflight.test.ts's subject; here it would only add time.
    const deployed = await runCli(['deploy', 'deepseek-r1.yaml', '--timeout', '2m', '--skip-preflight'], { cwd: cluster.dir, timeoutMs: 170_000 });
    if (deployed.exitCode !== 0) throw new Error(`deploy failed (${deployed.exitCode}):\n${deployed.stdout}\n${deployed.stderr}`);
  }, 240_000);

  afterAll(async () => {
    await cluster?.stop();
  }, 60_000);

  describe('logs', () => {
    it('--tail 5: five lines of every node, each prefixed "<node> │ " in a UTF-8 locale', async () => {
      const r = await cli(['logs', '--tail', '5'], UTF8);
      expect(r.exitCode, r.stderr).toBe(0);
      const out = lines(r.stdout);
      expect(out.filter((l) => l.startsWith('node1 │ '))).toHaveLength(5);
      expect(out.filter((l) => l.startsWith('node2 │ '))).toHaveLength(5);
      expect(out).toHaveLength(10);
      // The daemon's own lines, unchanged after the prefix.
      expect(out).toContain('node1 │ Daemon start success!');
      expect(out).toContain('node2 │ Daemon start success!');
    });

    it('without a UTF-8 locale the separator is " | "', async () => {
      const r = await cli(['logs', '--tail', '5'], PLAIN);
      expect(r.exitCode, r.stderr).toBe(0);
      const out = lines(r.stdout);
      expect(out).toHaveLength(10);
      for (const l of out) expect(l).toMatch(/^node[12] \| /);
      expect(r.stdout).not.toContain('│');
    });

    it('--node node2 shows only node2', async () => {
      const r = await cli(['logs', '--node', 'node2', '--tail', '5']);
      expect(r.exitCode, r.stderr).toBe(0);
      const out = lines(r.stdout);
      expect(out).toHaveLength(5);
      for (const l of out) expect(l).toMatch(/^node2 \| /);
    });

    it("--grep 'Daemon start' keeps only matching lines, from every node", async () => {
      const r = await cli(['logs', '--grep', 'Daemon start']);
      expect(r.exitCode, r.stderr).toBe(0);
      const out = lines(r.stdout);
      expect(out.length).toBeGreaterThanOrEqual(2);
      for (const l of out) expect(l).toMatch(/^node[12] \| .*Daemon start/);
      expect(out.some((l) => l.startsWith('node1 | '))).toBe(true);
      expect(out.some((l) => l.startsWith('node2 | '))).toBe(true);
      const all = await cli(['logs']);
      expect(lines(all.stdout).length).toBeGreaterThan(out.length);
    });

    it('--tail 1 gives one line per node', async () => {
      const r = await cli(['logs', '--tail', '1']);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(lines(r.stdout).map((l) => l.slice(0, 8)).sort()).toEqual(['node1 | ', 'node2 | ']);
    });

    it('--since 1h shows the whole start-up; --since a future time shows nothing', async () => {
      const recent = await cli(['logs', '--since', '1h']);
      expect(recent.exitCode, recent.stderr).toBe(0);
      const out = lines(recent.stdout);
      expect(out.some((l) => /^node1 \| .*Config path:/.test(l))).toBe(true);
      expect(out.some((l) => /^node2 \| .*Config path:/.test(l))).toBe(true);
      expect(out.some((l) => l.includes('Daemon start success!'))).toBe(true);

      const future = new Date(Date.now() + 24 * 3600_000).toISOString().replace(/\.\d+Z$/, 'Z');
      const none = await cli(['logs', '--since', future]);
      expect(none.exitCode, none.stderr).toBe(0);
      expect(none.stdout).toBe('');
    });

    it('--json prints one {node, time, line} object per line', async () => {
      const r = await cli(['logs', '--tail', '2', '--json']);
      expect(r.exitCode, r.stderr).toBe(0);
      const objects = lines(r.stdout).map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(objects).toHaveLength(4);
      for (const o of objects) {
        expect(Object.keys(o).sort()).toEqual(['line', 'node', 'time']);
        expect(['node1', 'node2']).toContain(o.node);
        expect(typeof o.line).toBe('string');
        expect(Number.isNaN(Date.parse(String(o.time).replace(/(\.\d{3})\d+Z$/, '$1Z')))).toBe(false);
      }
      expect(objects.filter((o) => o.node === 'node1')).toHaveLength(2);
      expect(objects.some((o) => o.line === 'Daemon start success!')).toBe(true);
    });
  });

  describe('chat and bench', () => {
    it('chat -p hello --json: content, usage and timings', async () => {
      const r = await cli(['chat', '-p', 'hello', '--json']);
      expect(r.exitCode, r.stderr).toBe(0);
      const doc = r.json as { model: string; content: string; usage: Record<string, unknown>; timings: Record<string, unknown> };
      expect(doc.model).toBe('deepseek-r1');
      expect(doc.content.trim().length).toBeGreaterThan(0);
      expect(typeof doc.usage.prompt_tokens).toBe('number');
      expect(doc.usage.completion_tokens).toBeGreaterThan(0);
      for (const key of ['ttft_ms', 'total_ms', 'tokens_per_s']) {
        expect(typeof doc.timings[key], key).toBe('number');
        expect(Number.isFinite(doc.timings[key]), key).toBe(true);
      }
      expect(doc.timings.tokens_per_s).toBeGreaterThan(0);
    });

    it('chat --model wrong-name: exit 1 naming the model', async () => {
      const r = await cli(['chat', '-p', 'hi', '--model', 'wrong-name']);
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toMatch(/wrong-name/);
      expect(r.stderr).toMatch(/deepseek-r1/); // what is served instead
      expect(r.stderr).not.toMatch(/^\s+at /m);
    });

    it('chat against an endpoint where nothing listens: exit 1 "down"', async () => {
      const r = await cli(['chat', '-p', 'hi', '--endpoint', 'http://127.0.0.1:9']);
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toMatch(/127\.0\.0\.1:9/);
      expect(r.stderr).toMatch(/down/);
      expect(r.stderr).not.toMatch(/^\s+at /m);
    });

    it('bench --concurrency 2 --requests 4 --json: the contract keys', async () => {
      const r = await cli(['bench', '--concurrency', '2', '--requests', '4', '--json']);
      expect(r.exitCode, r.stderr).toBe(0);
      const doc = r.json as Record<string, unknown>;
      expect(Object.keys(doc).sort()).toEqual(['concurrency', 'errors', 'itl_ms', 'output_tokens_per_s', 'requests', 'ttft_ms']);
      expect(doc).toMatchObject({ requests: 4, concurrency: 2, errors: 0 });
      for (const key of ['ttft_ms', 'itl_ms']) {
        const p = doc[key] as Record<string, unknown>;
        expect(Object.keys(p).sort(), key).toEqual(['p50', 'p90', 'p99']);
        for (const v of Object.values(p)) expect(typeof v).toBe('number');
        expect(p.p50 as number).toBeLessThanOrEqual(p.p99 as number);
      }
      expect(doc.output_tokens_per_s).toBeGreaterThan(0);
    });
  });

  describe('logs -f across a dropped connection', () => {
    it('reconnects after its connection is killed server-side, repeats nothing, and exits 130 on SIGINT', async () => {
      const f = startFollower(c().dir, ['logs', '-f', '-t']);
      try {
        await waitFor('the first lines of both nodes', 60_000, () => /^node1 \| /m.test(f.stdout()) && /^node2 \| /m.test(f.stdout()));
        await waitFor('the start-up to be printed', 30_000, () => (f.stdout().match(/Daemon start success!/g) ?? []).length >= 4);
        dropConnections('node1', false);
        await waitFor('a reconnect note', 60_000, () => /node1: reconnected/.test(f.stderr()));
        expect(f.stderr()).toMatch(/node1: connection lost .*reconnecting/);
        expect(running(f), `logs -f ended: ${f.stderr()}`).toBe(true);
        // Resumed from the last timestamp it had: docker sends that instant again, none of it is shown twice.
        await new Promise((r) => setTimeout(r, 1000));
        const out = lines(f.stdout());
        expect(out.filter((l, i) => out.indexOf(l) !== i)).toEqual([]);

        f.child.kill('SIGINT');
        const ended = await f.child;
        expect(ended.exitCode, f.stderr()).toBe(130);
      } finally {
        f.child.kill('SIGKILL');
        rmSync(f.home, { recursive: true, force: true });
      }
    }, 150_000);

    // Ends the deployment: the worker's stop takes the master down with it (MindIE's behaviour).
    it('prints, once each, the lines a node wrote while its connection was down', async () => {
      const f = startFollower(c().dir, ['logs', '-f', '-t']);
      let resume: (() => void) | undefined;
      try {
        await waitFor('the start-up of both nodes', 60_000, () => (f.stdout().match(/Daemon start success!/g) ?? []).length >= 4);
        const outageStart = Date.now();
        resume = dropConnections('node1', true);
        await waitFor('the drop to be noticed', 60_000, () => /node1: connection lost/.test(f.stderr()));

        // Stopping the worker makes the master log the broken HCCL link and shut down: new lines on node1
        // while nothing can reach its sshd.
        const stopped = await c().ssh('node2', `docker stop ${CONTAINER}`);
        expect(stopped.exitCode, stopped.stderr).toBe(0);
        await waitFor('node1 to log its shutdown', 60_000, async () => /Daemon is killing/.test(await containerLogInside('node1')));
        const outageEnd = Date.now();
        expect(running(f), `logs -f ended during the outage: ${f.stderr()}`).toBe(true);
        expect(f.stdout()).not.toMatch(/^node1 \| .*EI0006/m);
        resume();
        resume = undefined;

        await waitFor('node1 to come back with its new lines', 90_000, () => /^node1 \| .*Daemon is killing/m.test(f.stdout()));
        expect(f.stderr()).toMatch(/node1: reconnected/);
        const out = lines(f.stdout());
        expect(out.filter((l, i) => out.indexOf(l) !== i)).toEqual([]);
        const node1 = out.filter((l) => l.startsWith('node1 | '));
        expect(node1.filter((l) => l.includes('EI0006'))).toHaveLength(1);
        expect(node1.filter((l) => l.includes('Daemon is killing'))).toHaveLength(1);
        // Written during the outage, by their own timestamps (ms precision, as Date parses them).
        const during = node1.filter((l) => {
          const stamp = /^node1 \| (\S+)/.exec(l)?.[1] ?? '';
          const t = Date.parse(stamp.replace(/(\.\d{3})\d*Z$/, '$1Z'));
          return t >= outageStart - 1 && t <= outageEnd + 1;
        });
        expect(during.some((l) => l.includes('EI0006')), node1.slice(-8).join('\n')).toBe(true);

        // Both containers stopped: each is reported, and -f keeps following (a redeploy would start them
        // again) until Ctrl-C.
        await waitFor('both containers reported stopped', 60_000, () => /node1: container stopped/.test(f.stderr()) && /node2: container stopped/.test(f.stderr()));
        await new Promise((r) => setTimeout(r, 3_000));
        expect(running(f), 'logs -f still following after the containers stopped').toBe(true);
        f.child.kill('SIGINT');
        expect((await f.child).exitCode, f.stderr()).toBe(130);
        // Nothing lost, nothing repeated: per node, exactly the container's own log (stdout and stderr
        // are separate streams, so compared as multisets).
        for (const node of ['node1', 'node2']) {
          const printed = lines(f.stdout()).filter((l) => l.startsWith(`${node} | `)).map((l) => l.replace(/^node\d \| \S+ /, ''));
          expect(printed.sort(), node).toEqual(lines(await containerLogInside(node)).sort());
        }
      } finally {
        resume?.();
        f.child.kill('SIGKILL');
        await f.child;
        rmSync(f.home, { recursive: true, force: true });
      }
    }, 200_000);
  });

  it('stop removes the deployment on every node', async () => {
    const r = await cli(['stop']);
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    for (const node of ['node1', 'node2']) {
      const gone = await c().ssh(node, `docker inspect ${CONTAINER}`);
      expect(gone.stderr, node).toBe(`Error: No such object: ${CONTAINER}\n`);
    }
  }, 120_000);
});
