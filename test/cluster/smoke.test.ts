/**
 * The test cluster itself: real OpenSSH servers in their own mount namespaces, the simulated Ascend
 * tools at their real paths, reached with the stock OpenSSH client. Every cluster test builds on this.
 */
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { parse } from 'yaml';
import { portAnswers, reserveAddressBlock } from '../support/address-block.js';
import { canRunSshdCluster, startSshdCluster, type SshdCluster } from '../support/sshd-cluster.js';

const HCCN_TOOL = '/usr/local/Ascend/driver/tools/hccn_tool';

/** Live (non-zombie) processes whose command line mentions `text`. */
function processesMentioning(text: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmdline.includes(text)) found.push(`${entry}: ${cmdline}`);
    } catch {
      // exited while we looked
    }
  }
  return found;
}

describe.skipIf(!canRunSshdCluster())('sshd test cluster (real OpenSSH, 2 nodes)', () => {
  let cluster: SshdCluster;

  beforeAll(async () => {
    cluster = await startSshdCluster({ nodes: 2 });
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  it('gives each node its own loopback address, the shared port and a listening sshd', () => {
    expect(cluster.nodes.map((n) => n.name)).toEqual(['node1', 'node2']);
    const [first, second] = cluster.nodes;
    expect(first?.host).toMatch(/^127\.0\.\d+\.1$/);
    expect(second?.host).toMatch(/^127\.0\.\d+\.2$/);
    for (const node of cluster.nodes) {
      expect(node.port).toBe(2222);
      expect(node.sshdPid).toBeGreaterThan(0);
      expect(existsSync(`/proc/${node.sshdPid}`)).toBe(true);
    }
  });

  it('writes the inventory and known_hosts in the contract format', () => {
    const inventory = parse(readFileSync(cluster.inventoryPath, 'utf8')) as Record<string, unknown>;
    expect(inventory).toMatchObject({
      ssh: {
        user: 'root',
        port: 2222,
        identityFile: cluster.identityPath,
        knownHostsFile: cluster.knownHostsPath,
        strictHostKeyChecking: 'yes',
      },
      nodes: cluster.nodes.map((n) => ({ name: n.name, host: n.host })),
    });
    const knownHosts = readFileSync(cluster.knownHostsPath, 'utf8').trim().split('\n');
    expect(knownHosts).toHaveLength(2);
    cluster.nodes.forEach((node, i) => {
      expect(knownHosts[i]).toMatch(new RegExp(`^\\[${node.host.replace(/\./g, '\\.')}\\]:2222 ssh-ed25519 [A-Za-z0-9+/=]+$`));
    });
  });

  it('runs hccn_tool at its real path over OpenSSH: link UP', async () => {
    const result = await cluster.ssh('node1', `${HCCN_TOOL} -i 0 -link -g`);
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('link status: UP\n');
    expect(result.exitCode).toBe(0);
  });

  it('serves /etc/hccn.conf with the NPU addresses', async () => {
    const result = await cluster.ssh('node1', 'cat /etc/hccn.conf');
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/^address_0=\d+\.\d+\.\d+\.\d+$/m);
    expect(result.stdout).toMatch(/^address_7=/m);
  });

  it('finds npu-smi on the PATH and prints the device table', async () => {
    const result = await cluster.ssh('node2', 'npu-smi info');
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('| NPU   Name');
    expect(result.stdout).toMatch(/^\| 7 +910B3 +\| OK /m);
    expect(result.stdout).not.toMatch(/^\| 8 /m);
  });

  it('puts the driver files at their real paths and the simulated docker first on the PATH', async () => {
    const files = 'cat /usr/local/Ascend/driver/version.info /etc/ascend_install.info';
    const result = await cluster.ssh('node1', `${files}; docker version --format '{{.Server.Version}}'`);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/^Version=25\.2\.0$/m);
    expect(result.stdout).toMatch(/^Driver_Install_Path_Param=\/usr\/local\/Ascend$/m);
    // The simulator's answer (its engine's version), not a real docker CLI looking for a daemon.
    expect(result.stdout).toMatch(/^26\.1\.4$/m);
    expect(result.stderr).toBe('');
  });

  it('applies a link-down fault set through the control API, on that NPU only', async () => {
    await cluster.setFaults('node2', [{ kind: 'link-down', npu: 3 }]);
    try {
      const down = await cluster.ssh('node2', `${HCCN_TOOL} -i 3 -link -g; ${HCCN_TOOL} -i 2 -link -g`);
      expect(down.stdout).toBe('link status: DOWN\nlink status: UP\n');
      const otherNode = await cluster.ssh('node1', `${HCCN_TOOL} -i 3 -link -g`);
      expect(otherNode.stdout).toBe('link status: UP\n');
    } finally {
      await cluster.setFaults('node2', []);
    }
    const healed = await cluster.ssh('node2', `${HCCN_TOOL} -i 3 -link -g`);
    expect(healed.stdout).toBe('link status: UP\n');
  });

  it("gives each node its own files, none of them on the host's", async () => {
    const [one, two] = await Promise.all([
      cluster.ssh('node1', 'cat /etc/hccn.conf /etc/hostname'),
      cluster.ssh('node2', 'cat /etc/hccn.conf /etc/hostname'),
    ]);
    expect(one.exitCode).toBe(0);
    expect(two.exitCode).toBe(0);
    expect(one.stdout).toMatch(/^node1$/m);
    expect(two.stdout).toMatch(/^node2$/m);
    expect(one.stdout).not.toBe(two.stdout);
    // What the simulator wrote through /proc/<pid>/root is what the node's own `cat` read.
    const [first] = cluster.nodes;
    expect(readFileSync(`${first!.root}/etc/hccn.conf`, 'utf8')).toBe(one.stdout.slice(0, one.stdout.indexOf('node1\n')));
    // A node's write stays in that node.
    const marker = `written-on-node1-${process.pid}`;
    await cluster.ssh('node1', `mkdir -p /var/lib/ascendctl/smoke && echo ${marker} > /var/lib/ascendctl/smoke/mark`);
    expect((await cluster.ssh('node1', 'cat /var/lib/ascendctl/smoke/mark')).stdout).toBe(`${marker}\n`);
    expect((await cluster.ssh('node2', 'cat /var/lib/ascendctl/smoke/mark')).exitCode).not.toBe(0);
    expect(existsSync('/var/lib/ascendctl/smoke/mark')).toBe(false);
    if (existsSync('/etc/hccn.conf')) expect(readFileSync('/etc/hccn.conf', 'utf8')).not.toBe(readFileSync(`${first!.root}/etc/hccn.conf`, 'utf8'));
  });

  it('takes a node down (connections refused) and up again with its files intact', async () => {
    await cluster.nodeDown('node2');
    expect(cluster.nodes[1]?.sshdPid).toBeUndefined();
    const refused = await cluster.ssh('node2', 'true', { timeoutMs: 30_000 });
    expect(refused.exitCode).toBe(255);
    expect(refused.stderr).toMatch(/Connection refused/);
    const state = (await (await fetch(`${cluster.controlUrl}/state`)).json()) as { nodes: { name: string; down: boolean }[] };
    expect(state.nodes.map((n) => [n.name, n.down])).toEqual([['node1', false], ['node2', true]]);
    expect((await cluster.ssh('node1', 'true')).exitCode).toBe(0);

    await cluster.nodeUp('node2');
    const back = await cluster.ssh('node2', 'cat /etc/hostname');
    expect(back.exitCode).toBe(0);
    expect(back.stdout).toBe('node2\n');
  });

  it('refuses a node whose host key changed under strict checking', async () => {
    const before = readFileSync(cluster.knownHostsPath, 'utf8');
    const newLine = await cluster.replaceHostKey('node1');
    expect(before).not.toContain(newLine.split(' ')[2]);
    const refused = await cluster.ssh('node1', 'true');
    expect(refused.exitCode).toBe(255);
    expect(refused.stderr).toMatch(/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/);
    expect(readFileSync(cluster.knownHostsPath, 'utf8')).toBe(before);
    expect((await cluster.ssh('node2', 'true')).exitCode).toBe(0);
  });

  it('tears down every sshd, session and the simulator, and removes its files', async () => {
    // A session still open at teardown must not survive it.
    const session = execa('ssh', [...cluster.sshArgs('node2'), 'echo started; exec sleep 600'], { reject: false, buffer: false });
    await new Promise<void>((resolve, reject) => {
      session.stdout?.once('data', () => resolve());
      session.once('exit', () => reject(new Error('the ssh session ended before it started')));
    });
    const pids = cluster.nodes.map((n) => n.sshdPid);
    await cluster.stop();
    const ended = await session;
    expect(ended.exitCode).toBe(255); // the connection dropped, not a normal end of `sleep`
    for (const pid of pids) expect(existsSync(`/proc/${pid}/cmdline`) && readFileSync(`/proc/${pid}/cmdline`, 'utf8') !== '').toBe(false);
    expect(processesMentioning(cluster.dir)).toEqual([]);
    expect(existsSync(cluster.dir)).toBe(false);
    await cluster.stop(); // a second stop is harmless
  });
});

describe.skipIf(!canRunSshdCluster())('sshd test node whose test process is killed', () => {
  it('takes its sshd down with it (no exit handler runs on SIGKILL)', async () => {
    const sshdNodeModule = fileURLToPath(new URL('../support/sshd-node.ts', import.meta.url));
    const script = `
      import { SshdNode, generateKey } from ${JSON.stringify(sshdNodeModule)};
      import { mkdtempSync, writeFileSync } from 'node:fs';
      import { join } from 'node:path';
      import { tmpdir } from 'node:os';
      const dir = mkdtempSync(join(tmpdir(), 'ascendctl-orphan-'));
      writeFileSync(join(dir, 'authorized_keys'), (await generateKey(join(dir, 'id'), 'orphan')) + '\\n');
      const node = await SshdNode.start({ name: 'orphan', host: process.argv[1], port: 2222, dir: join(dir, 'node'), authorizedKeysPath: join(dir, 'authorized_keys') });
      console.log(JSON.stringify({ dir, sshd: node.sshdPid }));
      setInterval(() => undefined, 1000);
    `;
    const block = await reserveAddressBlock(1, 2222);
    const child = execa(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, block.hosts[0]!], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      reject: false,
      buffer: false,
    });
    try {
      const started = await new Promise<{ dir: string }>((resolve, reject) => {
        let out = '';
        child.stdout?.on('data', (c: Buffer) => {
          out += c.toString();
          if (out.includes('\n')) resolve(JSON.parse(out.slice(0, out.indexOf('\n'))) as { dir: string });
        });
        child.once('exit', () => reject(new Error(`the test process ended before its node started: ${out}`)));
      });
      try {
        expect(await portAnswers(block.hosts[0]!, 2222)).toBe(true);
        child.kill('SIGKILL');
        await child;
        const gone = async (): Promise<boolean> =>
          processesMentioning(started.dir).length === 0 && !(await portAnswers(block.hosts[0]!, 2222));
        for (let i = 0; i < 200 && !(await gone()); i++) await new Promise((r) => setTimeout(r, 50));
        expect(processesMentioning(started.dir)).toEqual([]);
        expect(await portAnswers(block.hosts[0]!, 2222)).toBe(false);
      } finally {
        // Only what still names its directory: the recorded pids may belong to someone else by now.
        for (const line of processesMentioning(started.dir)) {
          try {
            process.kill(Number.parseInt(line, 10), 'SIGKILL');
          } catch {
            // gone meanwhile
          }
        }
        rmSync(started.dir, { recursive: true, force: true });
      }
    } finally {
      child.kill('SIGKILL');
      block.release();
    }
  });
});
