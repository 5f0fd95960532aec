import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createContext } from '../../../src/context.js';
import { InputError } from '../../../src/errors.js';
import { parseTimestamp, readLines, sinceArg } from '../../../src/logs/docker-logs.js';
import { runtimeFor } from '../../../src/runtime/runtime.js';
import { FAILURE_KINDS, classifyLogLine, foldCase } from '../../../src/mindie/known-failures.js';
import { LineFramer } from '../../../src/logs/line-framer.js';
import { LogPrinter, compileGrep, formatLogLine, nodeColorIndex } from '../../../src/logs/log-printer.js';
import { ResumeTracker } from '../../../src/logs/resume.js';
import { splitTimestamp } from './stamped.js';
import { FAILURE_SAMPLES } from './failure-samples.js';

/** A framer's output as separate lines, as the follower reads them (readLines). */
const push = (f: LineFramer, chunk: Buffer): string[] => lines(f.push(chunk));
const end = (f: LineFramer): string[] => lines(f.end());
function lines(bytes: Buffer | undefined): string[] {
  return bytes === undefined ? [] : readLines(bytes).map((l) => l.text);
}

function capture(env: NodeJS.ProcessEnv, tty = false) {
  const stdout = Object.assign(new PassThrough(), { isTTY: tty });
  const stderr = Object.assign(new PassThrough(), { isTTY: tty });
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => (out += c.toString()));
  stderr.on('data', (c: Buffer) => (err += c.toString()));
  const ctx = createContext({ signal: new AbortController().signal, env, stdout, stderr });
  return { ctx, out: () => out, err: () => err };
}

describe('LineFramer', () => {
  it('holds a partial line until its newline and never splits a line', () => {
    const f = new LineFramer();
    expect(push(f, Buffer.from('first li'))).toEqual([]);
    expect(push(f, Buffer.from('ne\nsecond\nthi'))).toEqual(['first line', 'second']);
    expect(f.pendingBytes).toBe(3);
    expect(push(f, Buffer.from('rd\n'))).toEqual(['third']);
    expect(end(f)).toEqual([]);
  });

  it('keeps multi-byte characters split across chunks intact', () => {
    const text = 'ステータス ✓ 完了\nÄ\n';
    const bytes = Buffer.from(text);
    for (let cut = 1; cut < bytes.length; cut++) {
      const f = new LineFramer();
      const lines = [...push(f, bytes.subarray(0, cut)), ...push(f, bytes.subarray(cut)), ...end(f)];
      expect(lines).toEqual(['ステータス ✓ 完了', 'Ä']);
    }
  });

  it('feeds one byte at a time, strips CR of CRLF, and flushes the unterminated last line at the end', () => {
    const f = new LineFramer();
    const got: string[] = [];
    for (const b of Buffer.from('a\r\n\nb😀c')) got.push(...push(f, Buffer.from([b])));
    got.push(...end(f));
    expect(got).toEqual(['a', '', 'b😀c']);
  });

  it('drops the partial line on discard (a broken stream sends it again)', () => {
    const f = new LineFramer();
    push(f, Buffer.from('half'));
    f.discard();
    expect(push(f, Buffer.from('whole\n'))).toEqual(['whole']);
  });

  it('bounds a line that never ends', () => {
    const f = new LineFramer(16);
    expect(push(f, Buffer.from('x'.repeat(10)))).toEqual([]);
    expect(push(f, Buffer.from('y'.repeat(10)))).toEqual(['x'.repeat(10) + 'y'.repeat(10)]);
    expect(f.pendingBytes).toBe(0);
  });
});

describe('docker logs', () => {
  it('always asks for -t; follows, since and tail as given', () => {
    expect(runtimeFor('docker').logs({ container: 'ascendctl-r1', follow: false })).toEqual(['docker', 'logs', '-t', 'ascendctl-r1']);
    expect(runtimeFor('podman').logs({ container: 'c', follow: true, since: '600s', tail: 50 })).toEqual([
      'podman', 'logs', '-f', '-t', '--since', '600s', '--tail', '50', 'c',
    ]);
  });

  it('parses docker timestamps and splits them from the line', () => {
    const l = splitTimestamp('2026-01-02T03:04:05.123456789Z [INFO] Daemon start success!');
    expect(l.time).toBe('2026-01-02T03:04:05.123456789Z');
    expect(l.text).toBe('[INFO] Daemon start success!');
    expect(l.ns).toBe(BigInt(Date.UTC(2026, 0, 2, 3, 4, 5)) * 1_000_000n + 123_456_789n);
    expect(splitTimestamp('no stamp here').time).toBeUndefined();
    expect(splitTimestamp('Error response from daemon: No such container: x').ns).toBeUndefined();
    expect(splitTimestamp('2026-01-02T03:04:05Z ').text).toBe('');
    // offsets compare as instants
    expect(parseTimestamp('2026-01-02T04:04:05.5+01:00')).toBe(parseTimestamp('2026-01-02T03:04:05.500000000Z'));
  });

  it('splits exactly what the RFC 3339 grammar accepts, also right after a line of the same second', () => {
    // The fast reader skips re-checking a second it has just seen: every variant below follows a
    // well-formed line of the same second, so a shortcut that accepted too much would show here.
    const base = '2026-01-02T03:04:05';
    const tails = [
      'Z x', '.1Z x', '.123456789Z x', '.1234567891Z x', '.Z x', 'Z', 'Zx', 'z x', '+08:00 x', '-05:30 x',
      '+0800 x', '+08:00x', '.5+08:00 x', '.5-00:00', '+8:00 x', ' x', '.12a45Z x', '.000000000Z  two spaces',
    ];
    const heads = [base, '2026-01-02T03:04:0x', '2026-01-02 03:04:05', '2026-13-02T03:04:05', '2026-01-02T03:04:06'];
    for (const head of heads) {
      for (const tail of tails) {
        splitTimestamp(`${base}.1Z warm the cache`);
        const line = `${head}${tail}`;
        const space = line.indexOf(' ');
        const stamp = space === -1 ? line : line.slice(0, space);
        const want = parseTimestamp(stamp);
        const got = splitTimestamp(line);
        expect({ line, ns: got.ns, time: got.time }).toEqual({ line, ns: want, time: want === undefined ? undefined : stamp });
        expect(got.text).toBe(want === undefined ? line : space === -1 ? '' : line.slice(space + 1));
      }
    }
  });

  it('turns --since durations into relative Go durations and keeps RFC 3339 times', () => {
    expect(sinceArg('10m')).toBe('600s');
    expect(sinceArg('2h')).toBe('7200s');
    expect(sinceArg('1.5s')).toBe('1500ms');
    expect(sinceArg('2026-01-02T03:04:05Z')).toBe('2026-01-02T03:04:05Z');
    expect(() => sinceArg('yesterday')).toThrow(InputError);
    expect(() => sinceArg('2026-13-45T99:00:00Z')).toThrow(/--since/);
    // Dates the calendar does not have (Date.parse would roll them over) are bad input too.
    for (const bad of ['2026-02-30T00:00:00Z', '2026-02-29T00:00:00Z', '2026-04-31T12:00:00+08:00', '2026-01-02T24:00:00Z', '2026-01-02T03:04:05+25:00']) {
      expect(() => sinceArg(bad), bad).toThrow(InputError);
    }
    expect(sinceArg('2028-02-29T23:59:59.5+08:00')).toBe('2028-02-29T23:59:59.5+08:00');
  });
});

describe('known failures', () => {
  const samples = FAILURE_SAMPLES;

  it.each(samples)('%s → %s', (line, kind) => {
    const f = classifyLogLine(line);
    expect(f?.kind).toBe(kind);
    expect(f?.hint.length).toBeGreaterThan(10);
  });

  it('covers every kind it declares, and leaves ordinary lines alone', () => {
    expect(new Set(samples.map((s) => s[1]))).toEqual(new Set(FAILURE_KINDS));
    expect(classifyLogLine('[INFO] Daemon start success!')).toBeUndefined();
    expect(classifyLogLine('Start to parse ranktable file')).toBeUndefined();
  });

  it('still ignores case where a rule does, and only there, now that one folded pattern screens every line', () => {
    expect(classifyLogLine('hccl ei0006: GET SOCKET TIMEOUT')?.kind).toBe('hccl-timeout');
    expect(classifyLogLine('TLSSTATUS   ARE  INCONSISTENT')?.kind).toBe('tls-inconsistent');
    expect(classifyLogLine('Address Already In Use')?.kind).toBe('port-occupied');
    // case-sensitive rules stay so
    expect(classifyLogLine('recv unmatched ack')).toBeUndefined();
    expect(classifyLogLine('invalid dp number per node: 0')).toBeUndefined();
  });

  it('folds a source into the same matches as its i flag, and refuses what it cannot fold exactly', () => {
    const sources = ['EI0006|get socket', 'tlsStatus\\s+(are\\s+|is\\s+)?inconsistent', 'device_ip\\s*(\\[[^\\]]*\\]\\s*)?is invalid', 'a\\.b\\d{2}'];
    const inputs = ['ei0006', 'GET SOCKET', 'Get Socket', 'TLSSTATUS is INCONSISTENT', 'tlsstatusinconsistent', 'DEVICE_IP [x] IS INVALID', 'A.B12', 'axb12', 'a.b1'];
    for (const source of sources) {
      const folded = new RegExp(foldCase(source));
      const ignoring = new RegExp(source, 'i');
      for (const input of inputs) expect({ source, input, m: folded.test(input) }).toEqual({ source, input, m: ignoring.test(input) });
    }
    expect(foldCase('EI0006')).toBe('[eE][iI]0006');
    expect(() => foldCase('[a-z]x')).toThrow(/class/);
    expect(() => foldCase('\\x41')).toThrow(/\\x/);
    expect(() => foldCase('(?<name>x)')).toThrow(/named group/);
    expect(foldCase('(?<=x)(?<!y)')).toBe('(?<=[xX])(?<![yY])');
  });
});

describe('ResumeTracker', () => {
  const at = (ms: number, text: string) => splitTimestamp(`2026-01-02T03:04:05.${String(ms).padStart(3, '0')}000000Z ${text}`);

  it('drops exactly what was already delivered at the resume instant, including repeated texts', () => {
    const t = new ResumeTracker();
    expect(t.accept(at(1, 'a'))).toBe(true);
    expect(t.accept(at(2, 'b'))).toBe(true);
    expect(t.accept(at(2, 'b'))).toBe(true); // the same text twice in one instant
    expect(t.since).toBe('2026-01-02T03:04:05.002000000Z');
    t.beginResume();
    // docker --since is inclusive: it sends the whole instant again
    expect(t.accept(at(2, 'b'))).toBe(false);
    expect(t.accept(at(2, 'b'))).toBe(false);
    expect(t.accept(at(2, 'c'))).toBe(true); // new line of the same instant
    expect(t.accept(at(3, 'b'))).toBe(true);
    expect(t.accept(at(3, 'b'))).toBe(true);
  });

  it('passes unstamped lines and knows no resume point before the first stamped line', () => {
    const t = new ResumeTracker();
    expect(t.since).toBeUndefined();
    expect(t.accept(splitTimestamp('plain'))).toBe(true);
    expect(t.since).toBeUndefined();
  });
});

describe('LogPrinter', () => {
  const l1 = splitTimestamp('2026-01-02T03:04:05.000000001Z [INFO] ready');

  it('pads names to the longest, uses │ on UTF-8 terminals and | otherwise', async () => {
    const u = capture({ LANG: 'en_US.UTF-8', NO_COLOR: '1' });
    const p = new LogPrinter({ out: u.ctx.out, nodes: ['n1', 'node-long'], showTimestamps: false, json: false });
    await p.print('n1', [l1]);
    await p.print('node-long', [l1]);
    expect(u.out()).toBe('n1        │ [INFO] ready\nnode-long │ [INFO] ready\n');

    const a = capture({ LANG: 'C', NO_COLOR: '1' });
    const q = new LogPrinter({ out: a.ctx.out, nodes: ['n1', 'node-long'], showTimestamps: true, json: false });
    await q.print('n1', [l1]);
    expect(a.out()).toBe('n1        | 2026-01-02T03:04:05.000000001Z [INFO] ready\n');
    expect(formatLogLine('a', 3, '|', l1, false)).toBe('a   | [INFO] ready');
  });

  it('prints one JSON object per line with --json', async () => {
    const c = capture({ NO_COLOR: '1' });
    const p = new LogPrinter({ out: c.ctx.out, nodes: ['node1'], showTimestamps: false, json: true });
    await p.print('node1', [l1, splitTimestamp('unstamped')]);
    const rows = c.out().trim().split('\n').map((l) => JSON.parse(l) as unknown);
    expect(rows).toEqual([
      { node: 'node1', time: '2026-01-02T03:04:05.000000001Z', line: '[INFO] ready' },
      { node: 'node1', time: null, line: 'unstamped' },
    ]);
  });

  it('filters with --grep on the daemon line, and refuses an invalid regex with exit 2', async () => {
    const c = capture({ NO_COLOR: '1' });
    const p = new LogPrinter({ out: c.ctx.out, nodes: ['n'], showTimestamps: false, json: false, grep: compileGrep('ERROR|WARN') });
    await p.print('n', [splitTimestamp('[INFO] a'), splitTimestamp('[ERROR] b'), splitTimestamp('[WARN] c')]);
    expect(c.out()).toBe('n │ [ERROR] b\nn │ [WARN] c\n'.replace(/│/g, c.ctx.out.symbols().bar));
    expect(() => compileGrep('(unclosed')).toThrow(InputError);
    try {
      compileGrep('[z-a]');
    } catch (err) {
      expect((err as InputError).exitCode).toBe(2);
    }
  });

  it('colours each node stably with a TTY and not with NO_COLOR', async () => {
    expect(nodeColorIndex('node1')).toBe(nodeColorIndex('node1'));
    expect(new Set(['node1', 'node2', 'node3', 'node4', 'node5'].map((n) => nodeColorIndex(n))).size).toBeGreaterThan(1);
    const tty = capture({ LANG: 'C.UTF-8' }, true);
    const p = new LogPrinter({ out: tty.ctx.out, nodes: ['node1'], showTimestamps: false, json: false });
    await p.print('node1', [l1]);
    expect(tty.out()).toContain('\u001b[');
    const plain = capture({ LANG: 'C.UTF-8', NO_COLOR: '1' }, true);
    const q = new LogPrinter({ out: plain.ctx.out, nodes: ['node1'], showTimestamps: false, json: false });
    await q.print('node1', [l1]);
    expect(plain.out()).not.toContain('\u001b[');
  });

  it('highlights a known failure and hints once per node and kind', async () => {
    const c = capture({ NO_COLOR: '1', LANG: 'C.UTF-8' });
    const p = new LogPrinter({ out: c.ctx.out, nodes: ['node1', 'node2'], showTimestamps: false, json: false });
    const fail = splitTimestamp('2026-01-02T03:04:05Z EI0006 Get_Socket_Timeout');
    await p.print('node1', [fail, fail]);
    await p.print('node2', [fail]);
    await p.print('node1', [splitTimestamp('Failed to init endpoint!')]);
    expect(c.out().split('\n').filter(Boolean)).toHaveLength(4);
    const hints = c.err().split('\n').filter((l) => l.includes('↳ hint:'));
    expect(hints).toHaveLength(3);
    expect(hints[0]).toMatch(/^node1 │ ↳ hint: a node did not join HCCL/);
    expect(hints[1]).toMatch(/^node2 /);
    expect(hints[2]).toMatch(/daemon failed to start/);
  });
});
