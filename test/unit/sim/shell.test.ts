import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { SimCluster } from '../../../src/sim/cluster.js';
import { DOCKER_DOWN_MESSAGE } from '../../../src/sim/ascend-node.js';
import { HCCN, sh, startCluster } from './run-helper.js';
import { batchScript, parseBatch } from '../../../src/preflight/batch.js';

/** The quoting of src/remote/quote.ts, restated here: the shell must invert it exactly. */
function quoteArg(word: string): string {
  if (word === '') return "''";
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

let cluster: SimCluster | undefined;
afterEach(() => cluster?.stop());

async function node(faults: Parameters<typeof startCluster>[0] = 1) {
  cluster = await startCluster(faults);
  return cluster.node('node1');
}

describe('command lines: argv words, the frame, and nothing else', () => {
  it('inverts POSIX single-quote quoting for awkward words', async () => {
    const n = await node();
    const words = ["it's", '', 'a b', '$HOME', '"dq"', 'back\\slash', 'semi;colon', 'new\nline', "''", '*', 'tab\there', 'ünï'];
    const r = await sh(n, `printf '%s|' ${words.map(quoteArg).join(' ')}`);
    expect(r.stdout).toBe(words.map((w) => `${w}|`).join(''));
    expect((await sh(n, `echo 'it'\\''s'`)).stdout).toBe("it's\n");
  });

  it('runs the frame: printf on stdout, printf on stderr (>&2), then the command, whose status is the line\'s', async () => {
    const n = await node();
    const r = await sh(n, "printf '%s\\n' M; printf '%s\\n' M >&2; cat /etc/hostname");
    expect(r).toEqual({ code: 0, stdout: 'M\nnode1\n', stderr: 'M\n' });
    expect(await sh(n, "printf '%s\\n' M; printf '%s\\n' M >&2; cat /nope")).toEqual({
      code: 1, stdout: 'M\n', stderr: 'M\ncat: /nope: No such file or directory\n',
    });
  });

  it('refuses shell syntax beyond quoted words loudly, as sh reports a syntax error (exit 2)', async () => {
    const n = await node();
    expect(await sh(n, "echo 'unterminated")).toEqual({ code: 2, stdout: '', stderr: 'sh: 1: Syntax error: Unterminated quoted string\n' });
    for (const line of ['cat /etc/hccn.conf | wc -l', 'true && echo yes', 'echo $HOME', 'cat /nope 2>&1', 'echo * ', 'X=1 echo', '; echo']) {
      const r = await sh(n, line);
      expect(r.code, line).toBe(2);
      expect(r.stdout, line).toBe('');
      expect(r.stderr, line).toMatch(/^sh: 1: Syntax error: /);
    }
  });
});

describe('the program table', () => {
  it('timeout returns 124 and aborts the program; -k bounds a program that ignores it', async () => {
    const n = await node([{ faults: [{ kind: 'hang' }] }]);
    expect((await sh(n, 'timeout 0.02 sleep 10')).code).toBe(124);
    expect((await sh(n, 'timeout 5 true')).code).toBe(0);
    expect((await sh(n, 'timeout 5 false')).code).toBe(1);
    expect((await sh(n, `timeout -k 5 0.02 ${HCCN} -i 0 -link -g`)).code).toBe(124);
    expect((await sh(n, 'timeout x true')).code).toBe(125);
  });

  it('an aborted signal stops the script', async () => {
    const n = await node();
    const ac = new AbortController();
    const run = sh(n, 'sleep 10; echo after', { signal: ac.signal });
    setTimeout(() => ac.abort(), 10);
    const r = await run;
    expect(r.stdout).toBe('');
    expect(r.code).toBe(143);
  });
});

describe('commands of the table', () => {
  it('an unknown program is not found (127); a coreutil answers at its /usr/bin path too', async () => {
    const n = await node();
    expect(await sh(n, 'frobnicate --now')).toEqual({ code: 127, stdout: '', stderr: 'sh: 1: frobnicate: not found\n' });
    expect(await sh(n, 'timeout -k 5 5 frobnicate')).toEqual({ code: 127, stdout: '', stderr: 'sh: 1: frobnicate: not found\n' });
    expect((await sh(n, '/usr/bin/cat /etc/hostname')).stdout).toBe('node1\n');
    expect((await sh(n, 'cat', { stdin: 'piped' })).stdout).toBe('piped');
  });

  it('unrolls the for loops of the manual checklist (bench/preflight.ts): nested, $i and ${i}', async () => {
    const n = await node();
    expect((await sh(n, 'for i in 0 1 2; do echo n${i}; done; echo end')).stdout).toBe('n0\nn1\nn2\nend\n');
    expect((await sh(n, 'for i in 0 1; do for j in a b; do echo $i$j; done; done')).stdout).toBe('0a\n0b\n1a\n1b\n');
    const r = await sh(n, `for i in 0 1 2 3 4 5 6 7; do ${HCCN} -i $i -link -g; done`);
    expect(r.stdout).toBe('link status: UP\n'.repeat(8));
    expect((await sh(n, 'for i in 0 1; do echo $j; done')).code).toBe(2);
    expect((await sh(n, 'for i in 0 1; do echo $i')).code).toBe(2);
  });

  it('sh -c runs its string as the same kind of line: simple commands, >&2, exit N', async () => {
    const n = await node();
    expect(await sh(n, "sh -c 'echo out; echo err >&2; exit 3'")).toEqual({ code: 3, stdout: 'out\n', stderr: 'err\n' });
    expect((await sh(n, "sh -c 'echo $HOME'")).code).toBe(2);
    expect((await sh(n, 'sh script.sh')).code).toBe(2);
  });

  it('"$?" is the last command\'s status (preflight\'s batch frames), and no other expansion is taken', async () => {
    const n = await node();
    const batch = batchScript([{ argv: ['false'], timeoutMs: 5_000 }, { argv: ['echo', 'ok'], timeoutMs: 5_000 }], 'M');
    const r = await sh(n, `sh -c ${quoteArg(batch)}`);
    expect(r.code).toBe(0);
    expect(parseBatch(r.stdout, r.stderr, 2, 'M').map((x) => x && [x.code, x.stdout])).toEqual([[1, ''], [0, 'ok\n']]);
    expect((await sh(n, 'echo "$HOME"')).code).toBe(2);
  });

  it('uploads like the transport does: mkdir -p -m, install -m from stdin, mv -f, stat, sha256sum', async () => {
    const n = await node();
    const body = 'rank table\n';
    const script = [
      'mkdir -p -m 750 /var/lib/ascendctl/demo',
      'install -m 640 /dev/stdin /var/lib/ascendctl/demo/.ranktable.json.tmp.1',
      'mv -f /var/lib/ascendctl/demo/.ranktable.json.tmp.1 /var/lib/ascendctl/demo/ranktable.json',
    ];
    for (const [i, cmd] of script.entries()) expect((await sh(n, cmd, i === 1 ? { stdin: body } : {})).code).toBe(0);
    expect((await sh(n, "stat -c '%a %u %s %F' /var/lib/ascendctl/demo/ranktable.json /var/lib/ascendctl/demo")).stdout)
      .toBe(`640 0 ${body.length} regular file\n750 0 0 directory\n`);
    const digest = createHash('sha256').update(body).digest('hex');
    expect((await sh(n, 'sha256sum /var/lib/ascendctl/demo/ranktable.json')).stdout).toBe(`${digest}  /var/lib/ascendctl/demo/ranktable.json\n`);
    expect((await sh(n, 'test -d /var/lib/ascendctl/demo')).code).toBe(0);
    expect((await sh(n, 'rm -rf /var/lib/ascendctl/demo')).code).toBe(0);
    expect((await sh(n, 'test -d /var/lib/ascendctl/demo')).code).toBe(1);
    expect((await sh(n, 'rm /nope')).stderr).toBe("rm: cannot remove '/nope': No such file or directory\n");
    expect((await sh(n, 'mkdir /a/b')).stderr).toBe("mkdir: cannot create directory '/a/b': No such file or directory\n");
  });

  it('test checks files and strings', async () => {
    const n = await node();
    for (const t of ['-e /etc/hccn.conf', '-f /etc/hccn.conf', '-d /etc', 'a = a', "'!' -d /etc/hccn.conf"]) {
      expect((await sh(n, `test ${t}`)).code, t).toBe(0);
    }
    for (const t of ['-e /nope', 'a = b', '-d /etc/hccn.conf']) expect((await sh(n, `test ${t}`)).code, t).toBe(1);
    const gt = await sh(n, 'test 3 -gt 5');
    expect(gt).toEqual({ code: 2, stdout: '', stderr: 'sh: 1: test: -gt: unexpected operator\n' });
  });

  it('date honours clock-skew; hostname, echo, printf', async () => {
    const n = await node([{ faults: [{ kind: 'clock-skew', seconds: 30 }] }]);
    const before = Date.now() / 1000;
    const t = Number((await sh(n, 'date +%s.%N')).stdout);
    expect(t - before).toBeGreaterThan(29);
    expect(t - before).toBeLessThan(31);
    expect((await sh(n, 'date +%s')).stdout).toMatch(/^\d{10}\n$/);
    expect((await sh(n, 'hostname')).stdout).toBe('node1\n');
    expect((await sh(n, "echo -n a; echo b c; printf '%s=%d\\n' x 3")).stdout).toBe('ab c\nx=3\n');
  });

  it('ss -Htln lists sshd, port-taken faults and registered listeners', async () => {
    const n = await node([{ faults: [{ kind: 'port-taken', port: 1025 }] }]);
    const remove = n.addListener({ address: '127.0.1.1', port: 1026, owner: 'ascendctl-demo' });
    const lines = (await sh(n, 'ss -Htln')).stdout.trim().split('\n').map((l) => l.trim().split(/\s+/));
    expect(lines.map((l) => l[3])).toEqual(['0.0.0.0:22', '127.0.1.1:1026', '0.0.0.0:1025']);
    expect(lines.every((l) => l[0] === 'LISTEN')).toBe(true);
    remove();
    expect((await sh(n, 'ss -Htln')).stdout).not.toContain(':1026');
  });

  it('runtime-down makes docker answer the daemon error', async () => {
    const n = await node([{ faults: [{ kind: 'runtime-down' }] }]);
    n.programs.set('docker', async (_argv, io) => { await io.stdout('24.0.7\n'); return 0; });
    expect(await sh(n, 'docker version')).toEqual({ code: 1, stdout: '', stderr: `${DOCKER_DOWN_MESSAGE}\n` });
    await n.setFaults([]);
    expect((await sh(n, 'docker version')).stdout).toBe('24.0.7\n');
  });

  it('sleep', async () => {
    const n = await node();
    expect((await sh(n, 'sleep 0.01; echo slept')).stdout).toBe('slept\n');
  });

  it('refuses what it does not simulate as the real tool refuses an unknown option, never silently', async () => {
    const n = await node();
    const refused = (tool: string, why: string) => ({
      code: 1, stdout: '', stderr: `${tool}: ${why}\nTry '${tool} --help' for more information.\n`,
    });
    expect(await sh(n, 'cat -A /etc/hostname')).toEqual(refused('cat', "invalid option -- 'A'"));
    expect(await sh(n, 'rm --interactive /x')).toEqual(refused('rm', "unrecognized option '--interactive'"));
    expect(await sh(n, 'mkdir -m')).toEqual(refused('mkdir', "option requires an argument -- 'm'"));
    expect((await sh(n, 'timeout -s KILL 5 true')).code).toBe(125);
    const newer = await sh(n, 'find /etc -newer /etc/hccn.conf');
    expect(newer).toEqual({ code: 1, stdout: '', stderr: "find: unknown predicate `-newer'\n" });
    expect((await sh(n, "find /etc -maxdepth 1 -name 'hccn.co?f'")).stdout).toBe('/etc/hccn.conf\n');
    expect((await sh(n, "find /etc -maxdepth 1 -name '[h]ccn.conf'")).code).toBe(1);
    expect((await sh(n, "find /etc '(' -name a")).stderr).toMatch(/expecting to find a '\)'/);
    expect((await sh(n, "find /etc -exec cat '{}' ';'")).stderr).toBe("find: missing argument to `-exec'\n");
    const link = await sh(n, 'ip link show');
    expect(link).toEqual({ code: 1, stdout: '', stderr: 'Object "link" is unknown, try "ip help".\n' });
    expect((await sh(n, "printf '%x' 3")).code).toBe(2);
    const unmodelled = ['date -u', 'date +%Y', 'stat /etc', 'stat -c %y /etc', 'ss -tln', 'sudo -u ops true'];
    for (const line of [...unmodelled, 'ss -tln4', 'sleep x', 'uname', 'sh', 'ip']) {
      const r = await sh(n, line);
      expect(r.code, line).not.toBe(0);
      expect(r.stdout, line).toBe('');
      expect(r.stderr, line).not.toBe('');
    }
  });
});
