/**
 * `logs` reads a batch as bytes (a binary string, a character per byte) and never decodes a line it only
 * prints: these hold it to what decoding every line gave. Non-ASCII lines come out unchanged in every
 * output form; the known-failure screen, run on bytes, misses no line a rule matches.
 */
import { PassThrough, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createContext } from '../../../src/context.js';
import { readLines } from '../../../src/logs/docker-logs.js';
import { LogPrinter } from '../../../src/logs/log-printer.js';
import { classifyLogLine, suspectLines, widenForBytes } from '../../../src/mindie/known-failures.js';
import { FAILURE_SAMPLES } from './failure-samples.js';

const asBytes = (text: string): string => Buffer.from(text, 'utf8').toString('latin1');

/** Every line of `lines` classifyLogLine finds a failure on, by index. */
const matching = (lines: string[]): number[] => lines.flatMap((l, i) => (classifyLogLine(l) ? [i] : []));

/** Non-ASCII put where the rules' patterns leave room: spaces (\s), gaps (.*, .{0,40}) and around them. */
function disguised(line: string): string[] {
  return [
    line.replace(/ /g, '\u00a0'),
    line.replace(/ /g, ' \u3000'),
    line.replace(/ (\S+)$/, ' 日志$1'),
    `节点 ${line} 结束`,
    line.replace('grpc', 'grpc 证书加载失败了了了了了了了了了了').replace('Check path: ', 'Check path: 配置文件 ').replace('.*', '.*é'),
    `😀${line}😀`,
  ];
}

describe('the known-failure screen on bytes', () => {
  it('marks every line a rule matches, with non-ASCII in the spaces and gaps the patterns allow', () => {
    const lines = [
      'ordinary line',
      ...FAILURE_SAMPLES.flatMap(([line]) => [line, ...disguised(line)]),
      'grpc: 中文中文中文中文中文中文中文中文中文中文中文中文 certificate',
      'tlsStatus\u00a0\u2003are inconsistent',
      'ünïcödé only',
    ];
    const marked = new Set(suspectLines(asBytes(lines.join('\n'))));
    const missed = matching(lines).filter((i) => !marked.has(i)).map((i) => lines[i]);
    expect(missed).toEqual([]);
    expect(marked.has(0)).toBe(false);
    expect(marked.has(lines.length - 1)).toBe(false);
  });

  it('numbers the lines it marks, one mark a line however many matches it holds, and goes on after a match that runs across a newline', () => {
    const lines = ['a', 'EI0006 and EI0014 and Socket bind failed', 'b', 'c device_ip [', '] is invalid', 'd', 'Socket bind failed'];
    expect(suspectLines(asBytes(lines.join('\n')))).toEqual([1, 3, 6]);
    // The one across the newline marks its first line, which classifying finds to be nothing.
    expect(classifyLogLine(lines[3]!)).toBeUndefined();
    expect(suspectLines('')).toEqual([]);
    expect(suspectLines('no failure\nhere')).toEqual([]);
  });

  it('widens only what bytes match differently, and refuses what it cannot widen', () => {
    expect(widenForBytes('a\\s+b.{0,40}c[^\\]]x{2}y{3,}')).toBe('a[\\s\\x80-\\xff]+b.{0,160}c[^\\]]x{2,8}y{3,}');
    expect(widenForBytes('[eE][iI]0006|\\d+\\.\\w')).toBe('[eE][iI]0006|\\d+\\.\\w');
    expect(() => widenForBytes('a\\Sb')).toThrow(/\\S/);
    expect(() => widenForBytes('[\\s,]')).toThrow(/class/);
    expect(() => widenForBytes('é')).toThrow(/non-ASCII/);
    expect(() => widenForBytes('\\xe9')).toThrow(/\\x/);
  });
});

describe('readLines on bytes', () => {
  it('splits, stamps and decodes non-ASCII lines as before, CRLF included', () => {
    const lines = readLines(Buffer.from('2026-01-02T03:04:05.5Z 推理服务启动 │ ok\r\n没有时间戳 ünï\n2026-01-02T03:04:06Z \n2026-01-02T03:04:07Z', 'utf8'));
    expect(lines.map((l) => [l.time, l.text])).toEqual([
      ['2026-01-02T03:04:05.5Z', '推理服务启动 │ ok'],
      [undefined, '没有时间戳 ünï'],
      ['2026-01-02T03:04:06Z', ''],
      ['2026-01-02T03:04:07Z', ''],
    ]);
    expect(lines[0]!.raw).toBe(asBytes('推理服务启动 │ ok'));
    expect(lines.map((l) => l.stamped)).toEqual([true, false, true, true]);
  });

  it('marks the lines to classify: a failure in a batch of Chinese text is found', () => {
    const lines = readLines(Buffer.from('2026-01-02T03:04:05Z 加载模型\n2026-01-02T03:04:06Z [ERROR] 连接超时 EI0006 日志\n2026-01-02T03:04:07Z 完成', 'utf8'));
    expect(lines.map((l) => l.suspect)).toEqual([false, true, false]);
    expect(classifyLogLine(lines[1]!.text)?.kind).toBe('hccl-timeout');
  });
});

function capture(opts: { json?: boolean; showTimestamps?: boolean; grep?: RegExp; color?: boolean } = {}) {
  const chunks: Buffer[] = [];
  const stdout = Object.assign(
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        chunks.push(chunk);
        cb();
      },
    }),
    { isTTY: false },
  );
  const stderr = new PassThrough();
  const env = opts.color ? { FORCE_COLOR: '1', LANG: 'C.UTF-8' } : { NO_COLOR: '1', LANG: 'C.UTF-8' };
  const ctx = createContext({ signal: new AbortController().signal, env, stdout, stderr });
  const printer = new LogPrinter({ out: ctx.out, nodes: ['节点1', 'n2'], showTimestamps: opts.showTimestamps ?? false, json: opts.json ?? false, grep: opts.grep });
  const bytes = async (): Promise<Buffer> => {
    await new Promise((r) => setImmediate(r));
    return Buffer.concat(chunks);
  };
  return { printer, bytes, stderr };
}

const batch = (text: string) => readLines(Buffer.from(text, 'utf8'));
const sample = '2026-01-02T03:04:05Z 推理服务 ok ✓\n2026-01-02T03:04:06Z [ERROR] 😀 Socket bind failed\n2026-01-02T03:04:07Z plain ascii';

describe('LogPrinter with non-ASCII lines', () => {
  it('prints the node\'s bytes unchanged after a non-ASCII prefix', async () => {
    const { printer, bytes } = capture();
    await printer.print('节点1', batch(sample));
    await printer.print('n2', [{ time: undefined, ns: undefined, text: 'a line made elsewhere: é' }]);
    expect((await bytes()).toString('utf8')).toBe(
      '节点1 │ 推理服务 ok ✓\n节点1 │ [ERROR] 😀 Socket bind failed\n节点1 │ plain ascii\nn2  │ a line made elsewhere: é\n',
    );
  });

  it('passes bytes that are not UTF-8 through as the node sent them', async () => {
    const { printer, bytes } = capture();
    const raw = Buffer.concat([Buffer.from('2026-01-02T03:04:05Z bad '), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from(' end\n')]);
    await printer.print('n2', readLines(raw.subarray(0, raw.length - 1)));
    expect(await bytes()).toEqual(Buffer.concat([Buffer.from('n2  │ bad '), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from(' end\n')]));
  });

  it('--json: each line an object whose text is the decoded line', async () => {
    const { printer, bytes } = capture({ json: true });
    await printer.print('节点1', batch(sample));
    await printer.print('n2', batch('2026-01-02T03:04:08Z "quoted" \\ tab\there'));
    const objects = (await bytes()).toString('utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as unknown);
    expect(objects).toEqual([
      { node: '节点1', time: '2026-01-02T03:04:05Z', line: '推理服务 ok ✓' },
      { node: '节点1', time: '2026-01-02T03:04:06Z', line: '[ERROR] 😀 Socket bind failed' },
      { node: '节点1', time: '2026-01-02T03:04:07Z', line: 'plain ascii' },
      { node: 'n2', time: '2026-01-02T03:04:08Z', line: '"quoted" \\ tab\there' },
    ]);
  });

  it('-t, --grep on the decoded text, and a known failure highlighted and explained', async () => {
    const { printer, bytes, stderr } = capture({ showTimestamps: true, grep: /服务|bind/, color: true });
    await printer.print('节点1', batch(sample));
    const out = (await bytes()).toString('utf8');
    // eslint-disable-next-line no-control-regex
    const plain = out.replace(/\u001b\[[0-9;]*m/g, '');
    expect(plain).toBe('节点1 │ 2026-01-02T03:04:05Z 推理服务 ok ✓\n节点1 │ 2026-01-02T03:04:06Z [ERROR] 😀 Socket bind failed\n');
    expect(out).toContain('\u001b[31m[ERROR] 😀 Socket bind failed\u001b[39m');
    expect(String(stderr.read())).toMatch(/节点1 │ ↳ hint: .*port/);
  });
});
