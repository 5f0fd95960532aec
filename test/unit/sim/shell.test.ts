import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { SimCluster } from '../../../src/sim/cluster.js';
import { DOCKER_DOWN_MESSAGE } from '../../../src/sim/ascend-node.js';
import { parse, tokenize } from '../../../src/sim/shell-parse.js';
import { HCCN, sh, startCluster } from './run-helper.js';

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

describe('shell words and quoting', () => {
  it('inverts POSIX single-quote quoting for awkward words', async () => {
    const n = await node();
    const words = ["it's", '', 'a b', '$HOME', '"dq"', 'back\\slash', 'semi;colon', 'new\nline', "''", '*', 'tab\there', 'ünï'];
    const r = await sh(n, `printf '%s|' ${words.map(quoteArg).join(' ')}`);
    expect(r.stdout).toBe(words.map((w) => `${w}|`).join(''));
    expect((await sh(n, `echo 'it'\\''s'`)).stdout).toBe("it's\n");
  });

  it('expands variables in double quotes and bare words, not in single quotes', async () => {
    const n = await node();
    expect((await sh(n, `X=1; echo "$X \${X}" '$X' \\$X`)).stdout).toBe('1 1 $X $X\n');
    expect((await sh(n, 'X="a  b"; printf "[%s]" $X "$X"')).stdout).toBe('[a][b][a  b]');
    expect((await sh(n, 'false; echo $?; true; echo $?')).stdout).toBe('1\n0\n');
    expect((await sh(n, 'A=5 sh -c \'echo $A\'; echo "[$A]"')).stdout).toBe('5\n[]\n');
  });

  it('parses lists and reports syntax errors like dash', async () => {
    expect(parse('a; b && c || d | e').items).toHaveLength(2);
    expect(tokenize('2>&1')).toEqual([{ k: 'redir', fd: 2, op: '>&' }, { k: 'word', word: { parts: [{ t: 'lit', s: '1', quoted: false }] }, raw: '1' }]);
    const n = await node();
    expect(await sh(n, "echo 'unterminated")).toMatchObject({ code: 2, stderr: 'sh: 1: Syntax error: Unterminated quoted string\n' });
  });
});

describe('shell control flow and redirections', () => {
  it('runs ; && || and pipes to grep, head, tail and wc -l', async () => {
    const n = await node();
    expect((await sh(n, 'false && echo no; true && echo yes; false || echo alt')).stdout).toBe('yes\nalt\n');
    expect((await sh(n, 'cat /etc/hccn.conf | grep -c address_')).stdout).toBe('8\n');
    expect((await sh(n, 'cat /etc/hccn.conf | grep address_ | head -n 2 | tail -n 1')).stdout).toBe('address_1=192.168.101.11\n');
    expect((await sh(n, 'cat /etc/hccn.conf | wc -l')).stdout).toBe('48\n');
    expect((await sh(n, 'echo abc | grep -q zzz')).code).toBe(1);
    expect((await sh(n, 'printf "a\\nb\\nc\\n" | tail -2')).stdout).toBe('b\nc\n');
  });

  it('for loops over brace ranges and word lists with $i and ${i}', async () => {
    const n = await node();
    expect((await sh(n, 'for i in {0..3}; do echo -n "$i,"; done')).stdout).toBe('0,1,2,3,');
    expect((await sh(n, 'for i in 0 1 2; do echo n${i}; done')).stdout).toBe('n0\nn1\nn2\n');
    const r = await sh(n, `for i in {0..7}; do ${HCCN} -i $i -link -g; done`);
    expect(r.stdout).toBe('link status: UP\n'.repeat(8));
    const nested = await sh(n, `for i in 0 1; do for j in a b; do echo $i$j; done; done | wc -l`);
    expect(nested.stdout).toBe('4\n');
  });

  it('handles </dev/null, >/dev/null, 2>/dev/null, 2>&1 and files', async () => {
    const n = await node();
    expect(await sh(n, 'cat /nope 2>/dev/null; echo $?')).toEqual({ code: 0, stdout: '1\n', stderr: '' });
    expect(await sh(n, 'cat /nope 2>&1')).toEqual({ code: 1, stdout: 'cat: /nope: No such file or directory\n', stderr: '' });
    expect(await sh(n, 'cat /nope >/dev/null 2>&1')).toEqual({ code: 1, stdout: '', stderr: '' });
    expect((await sh(n, 'cat </dev/null', { stdin: 'ignored' })).stdout).toBe('');
    expect((await sh(n, 'cat', { stdin: 'piped' })).stdout).toBe('piped');
    expect((await sh(n, 'echo one > /tmp/f; echo two >> /tmp/f; cat < /tmp/f')).stdout).toBe('one\ntwo\n');
  });

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

describe('shell builtins', () => {
  it('command -v, sh -c, bash -c, unknown commands', async () => {
    const n = await node();
    expect((await sh(n, 'command -v npu-smi; command -v docker; echo $?')).stdout).toBe('/usr/local/sbin/npu-smi\n1\n');
    expect((await sh(n, 'command -v cat; command -v echo')).stdout).toBe('/usr/bin/cat\necho\n');
    expect((await sh(n, `sh -c 'echo "in $0"; exit 7'; echo $?`)).stdout).toBe('in sh\n7\n');
    expect((await sh(n, `bash -c 'for i in {1..2}; do echo $i; done'`)).stdout).toBe('1\n2\n');
    expect(await sh(n, 'frobnicate --now')).toEqual({ code: 127, stdout: '', stderr: 'sh: 1: frobnicate: not found\n' });
    expect((await sh(n, '/usr/bin/cat /etc/hostname')).stdout).toBe('node1\n');
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
    expect((await sh(n, 'ls /var/lib/ascendctl/demo')).stdout).toBe('ranktable.json\n');
    expect((await sh(n, 'chmod 600 /var/lib/ascendctl/demo/ranktable.json && stat -c %a /var/lib/ascendctl/demo/ranktable.json')).stdout).toBe('600\n');
    expect((await sh(n, 'rm -rf /var/lib/ascendctl/demo; test -d /var/lib/ascendctl/demo || echo gone')).stdout).toBe('gone\n');
    expect((await sh(n, 'rm /nope')).stderr).toBe("rm: cannot remove '/nope': No such file or directory\n");
    expect((await sh(n, 'mkdir /a/b')).stderr).toBe("mkdir: cannot create directory '/a/b': No such file or directory\n");
  });

  it('test and [ check files and strings', async () => {
    const n = await node();
    expect((await sh(n, '[ -e /etc/hccn.conf ] && [ -f /etc/hccn.conf ] && [ -d /etc ] && [ -r /etc/hccn.conf ] && echo ok')).stdout).toBe('ok\n');
    expect((await sh(n, 'test -e /nope; echo $?; [ a = a ]; echo $?; [ 3 -gt 5 ]; echo $?; [ ! -d /etc/hccn.conf ]; echo $?')).stdout).toBe('1\n0\n1\n0\n');
  });

  it('date honours clock-skew; hostname, uname, echo, printf', async () => {
    const n = await node([{ faults: [{ kind: 'clock-skew', seconds: 30 }] }]);
    const before = Date.now() / 1000;
    const t = Number((await sh(n, 'date +%s.%N')).stdout);
    expect(t - before).toBeGreaterThan(29);
    expect(t - before).toBeLessThan(31);
    expect((await sh(n, 'date +%s')).stdout).toMatch(/^\d{10}\n$/);
    expect((await sh(n, 'hostname; uname; uname -m')).stdout).toBe('node1\nLinux\naarch64\n');
    expect((await sh(n, 'echo -n a; echo b c; printf "%s=%d\\n" x 3')).stdout).toBe('ab c\nx=3\n');
  });

  it('ss -Htln lists sshd, port-taken faults and registered listeners', async () => {
    const n = await node([{ faults: [{ kind: 'port-taken', port: 1025 }] }]);
    const remove = n.addListener({ address: '127.0.1.1', port: 1026, owner: 'ascendctl-demo' });
    const lines = (await sh(n, 'ss -Htln')).stdout.trim().split('\n').map((l) => l.trim().split(/\s+/));
    expect(lines.map((l) => l[3])).toEqual(['0.0.0.0:22', '127.0.1.1:1026', '0.0.0.0:1025']);
    expect(lines.every((l) => l[0] === 'LISTEN')).toBe(true);
    remove();
    expect((await sh(n, 'ss -Htln | grep -c 1026')).stdout).toBe('0\n');
  });

  it('runtime-down makes docker answer the daemon error', async () => {
    const n = await node([{ faults: [{ kind: 'runtime-down' }] }]);
    n.programs.set('docker', async (_argv, io) => { await io.stdout('24.0.7\n'); return 0; });
    expect(await sh(n, 'docker version')).toEqual({ code: 1, stdout: '', stderr: `${DOCKER_DOWN_MESSAGE}\n` });
    await n.setFaults([]);
    expect((await sh(n, 'docker version')).stdout).toBe('24.0.7\n');
  });

  it('sleep and kill', async () => {
    const n = await node();
    expect((await sh(n, 'sleep 0.01 && echo slept')).stdout).toBe('slept\n');
    expect((await sh(n, 'kill 12345')).code).toBe(1);
  });
});
