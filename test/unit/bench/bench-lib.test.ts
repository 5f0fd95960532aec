import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { curlTraceTtftMs } from '../../../bench/chat.js';
import {
  describeTarget, figure, formatDiff, formatRatio, formatValue, judge, makeRuns, markdownTable, median, renderMarkdown,
  resultCells, textTable, timeShell, type BenchReport, type SimNodeInfo,
} from '../../../bench/lib.js';
import { logText } from '../../../bench/logs.js';
import { checklistLines, floorCallCount, floorScript, HCCN_TOOL } from '../../../bench/preflight.js';

describe('median', () => {
  it('takes the middle of an odd count and the mean of the middle two of an even count, in any order', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([7])).toBe(7);
  });

  it('does not reorder its input', () => {
    const xs = [3, 1, 2];
    median(xs);
    expect(xs).toEqual([3, 1, 2]);
  });

  it('refuses no samples', () => {
    expect(() => median([])).toThrow(RangeError);
  });
});

describe('formatting', () => {
  it('writes ratios with two decimals below 10 and one above', () => {
    expect(formatRatio(1.0749)).toBe('1.07×');
    expect(formatRatio(12.345)).toBe('12.3×');
    expect(formatRatio(Infinity)).toBe('–');
  });

  it('writes milliseconds in the unit a reader expects', () => {
    expect(formatValue(4.56, 'ms')).toBe('4.6 ms');
    expect(formatValue(263.4, 'ms')).toBe('263 ms');
    expect(formatValue(9926, 'ms')).toBe('9.93 s');
    expect(formatValue(42_099, 'ms')).toBe('42.1 s');
    expect(formatValue(63_522.4, 'lines/s')).toBe('63,522 lines/s');
    expect(formatValue(208.66, 'MiB')).toBe('208.7 MiB');
    expect(formatValue(3961.9, 'KiB')).toBe('3,962 KiB');
  });

  it('signs differences', () => {
    expect(formatDiff(9.44)).toBe('+9.4 ms');
    expect(formatDiff(-0.3)).toBe('−0.3 ms');
  });

  it('describes each kind of target', () => {
    expect(describeTarget({ kind: 'max-ratio', limit: 1.2 }, 'ms')).toBe('≤ 1.2× baseline');
    expect(describeTarget({ kind: 'min-speedup', limit: 5 }, 'ms')).toBe('≥ 5× faster than baseline');
    expect(describeTarget({ kind: 'max-diff', limit: 5 }, 'ms')).toBe('≤ baseline + 5.0 ms');
    expect(describeTarget({ kind: 'max-value', limit: 1000 }, 'ms')).toBe('< 1.00 s');
  });
});

describe('judge', () => {
  const f = (median: number, label = 'x') => figure(label, 'ms', [median]);

  it('max-ratio: figure ÷ baseline within the limit passes, beyond it fails', () => {
    expect(judge('b', f(110), f(100), { kind: 'max-ratio', limit: 1.2 })).toMatchObject({ verdict: 'pass', comparison: '1.10×' });
    expect(judge('b', f(130), f(100), { kind: 'max-ratio', limit: 1.2 })).toMatchObject({ verdict: 'fail', comparison: '1.30×' });
  });

  it('min-speedup compares baseline ÷ figure', () => {
    expect(judge('b', f(8), f(42), { kind: 'min-speedup', limit: 5 })).toMatchObject({ verdict: 'pass', comparison: '5.25× faster' });
    expect(judge('b', f(10), f(42), { kind: 'min-speedup', limit: 5 })).toMatchObject({ verdict: 'fail', comparison: '4.20× faster' });
  });

  it('max-diff compares figure − baseline, so being faster than the baseline passes', () => {
    expect(judge('b', f(263), f(253), { kind: 'max-diff', limit: 5 })).toMatchObject({ verdict: 'fail', comparison: '+10.0 ms' });
    expect(judge('b', f(250), f(253), { kind: 'max-diff', limit: 5 }).verdict).toBe('pass');
  });

  it('max-value is strict and needs no baseline', () => {
    expect(judge('b', f(999), undefined, { kind: 'max-value', limit: 1000 }).verdict).toBe('pass');
    expect(judge('b', f(1000), undefined, { kind: 'max-value', limit: 1000 }).verdict).toBe('fail');
  });

  it('judges the median, not the best or worst run', () => {
    const fig = figure('x', 'ms', [100, 300, 110]);
    expect(judge('b', fig, f(100), { kind: 'max-ratio', limit: 1.2 }).verdict).toBe('pass');
  });

  it('a row without a target is information; a ratio target without a baseline is a bug', () => {
    expect(judge('b', f(1), undefined, undefined).verdict).toBe('info');
    expect(() => judge('b', f(1), undefined, { kind: 'max-ratio', limit: 2 })).toThrow(/needs a baseline/);
  });
});

describe('tables', () => {
  it('writes a markdown table, escaping pipes so a cell cannot split', () => {
    const md = markdownTable(['a', 'b'], [['1', 'x | y'], ['2', 'line\nbreak']]);
    expect(md.split('\n')).toEqual(['| a | b |', '|---|---|', '| 1 | x \\| y |', '| 2 | line break |']);
  });

  it('refuses a row of the wrong width', () => {
    expect(() => markdownTable(['a', 'b'], [['1']])).toThrow(/1 cells, the table 2 columns/);
  });

  it('pads the terminal table to its widest cells', () => {
    expect(textTable(['n', 'value'], [['long name', '1']])).toBe('n          value\n---------  -----\nlong name  1');
  });

  it('puts figure, baseline, comparison, target and verdict in a row', () => {
    const row = judge('preflight 4 nodes vs floor', figure('preflight', 'ms', [9900]), figure('floor', 'ms', [9200]), { kind: 'max-ratio', limit: 1.2 });
    expect(resultCells(row)).toEqual(['preflight 4 nodes vs floor', 'preflight: 9.90 s', 'floor: 9.20 s', '1.08×', '≤ 1.2× baseline', 'PASS']);
    expect(resultCells({ benchmark: 'chat', verdict: 'error', note: 'curl failed' })).toEqual(['chat', '–', '–', '–', '–', 'ERROR: curl failed']);
  });

  it('renders the report with the machine, the verdict counts, every sample and the quick-run warning', () => {
    const report: BenchReport = {
      date: '2026-01-02T03:04:05.000Z', quick: true, durationS: 12,
      machine: { cpu: 'Test CPU', cores: 2, memoryGiB: 23.5, node: 'v20.20.2', os: 'Linux', loadAverage: [0.5, 0.4, 0.3] },
      loadAverageAtEnd: [1, 1, 1],
      runs: { Startup: '1 run' },
      method: { Startup: 'how it was measured' },
      rows: [
        judge('start-up', figure('ascendctl --version', 'ms', [149.75]), figure('node -e 0', 'ms', [100]), { kind: 'max-ratio', limit: 1.5 }),
        judge('chat', figure('ttft', 'ms', [263]), figure('curl', 'ms', [253]), { kind: 'max-diff', limit: 5 }),
      ],
    };
    const md = renderMarkdown(report);
    expect(md).toContain('Test CPU, 2 cores, 23.5 GiB memory, Node.js v20.20.2');
    expect(md).toContain('BENCH_QUICK=1 smoke run');
    expect(md).toContain('1 passed, 1 missed');
    expect(md).toContain('| start-up | ascendctl --version: 150 ms | node -e 0: 100 ms | 1.50× | ≤ 1.5× baseline | PASS |');
    expect(md).toContain('| chat | ttft: 263 ms | curl: 253 ms | +10.0 ms | ≤ baseline + 5.0 ms | FAIL |');
    expect(md).toContain('- start-up — ascendctl --version (ms): 149.8');
    expect(md).toContain('### Startup\n\nhow it was measured');
  });
});

describe('run counts', () => {
  it('uses one run of everything in a quick run', () => {
    expect(makeRuns(true)(20)).toBe(1);
    expect(makeRuns(false)(20)).toBe(20);
  });
});

function simNodes(n: number): SimNodeInfo[] {
  return Array.from({ length: n }, (_, i) => ({
    name: `node${i + 1}`,
    host: `127.9.0.${i + 1}`,
    deviceIps: Array.from({ length: 8 }, (_, npu) => `192.168.${100 + npu}.${11 + i}`),
  }));
}

describe('floor script', () => {
  it('at 4 nodes makes the 72 gets and pings every NPU of the 3 other nodes (the full matrix)', () => {
    const nodes = simNodes(4);
    const script = floorScript(nodes[0]!, nodes);
    expect(floorCallCount(nodes[0]!, nodes)).toEqual({ gets: 72, pings: 24 });
    expect(script).toContain(`for i in 0 1 2 3 4 5 6 7; do ${HCCN_TOOL} -i $i -ip -g; done`);
    expect(script).toContain('for c in -link -net_health -lldp -netdetect -gateway -tls -optical -link_stat; do');
    expect(script).toContain(`${HCCN_TOOL} -i 3 -ping -g address 192.168.103.12`);
    expect(script).not.toContain('address 192.168.103.11'); // never itself
    expect(script.startsWith('date +%s.%N; cat /etc/ascend_install.info; cat /usr/local/Ascend/driver/version.info; cat /etc/hccn.conf')).toBe(true);
    expect(script).toContain('npu-smi info');
  });

  it('above 8 nodes pings what the ping plan gives: the next node of the ring', () => {
    const nodes = simNodes(16);
    const script = floorScript(nodes[0]!, nodes);
    expect(floorCallCount(nodes[0]!, nodes).pings).toBe(8);
    expect(script).toContain('address 192.168.100.12'); // node2
    expect(script).not.toContain('address 192.168.100.19'); // node9
    expect(script).not.toContain('address 192.168.100.13');
  });
});

describe('manual checklist', () => {
  it('is npu-smi, hccn.conf, nine get loops, then one ping loop per peer run on every other node', () => {
    const nodes = simNodes(16);
    const lines = checklistLines(nodes);
    expect(lines).toHaveLength(2 + 9 + 16);
    expect(lines[0]).toEqual({ hosts: nodes.map((n) => n.host), command: 'npu-smi info' });
    expect(lines.slice(2, 11).map((l) => /-(\w+) -g/.exec(l.command)?.[1])).toEqual(['link', 'net_health', 'netdetect', 'gateway', 'ip', 'tls', 'lldp', 'optical', 'link_stat']);
    const toNode5 = lines[2 + 9 + 4]!;
    expect(toNode5.command).toBe(`for i in 0 1 2 3 4 5 6 7; do ${HCCN_TOOL} -i $i -ping -g address 192.168.10$i.15; done`);
    expect(toNode5.hosts).toHaveLength(15);
    expect(toNode5.hosts).not.toContain('127.9.0.5');
  });

  it('refuses device IPs the one-line loop could not type', () => {
    const nodes = simNodes(2);
    nodes[1]!.deviceIps[3] = '10.0.0.1';
    expect(() => checklistLines(nodes)).toThrow(/node2's device IPs/);
  });
});

// A trace as curl 7.88 writes it for a MindIE stream (captured against the simulator, shortened).
const TRACE = `07:41:05.156327 == Info:   Trying 127.243.0.1:1025...
07:41:05.156734 == Info: Connected to 127.243.0.1 (127.243.0.1) port 1025 (#0)
07:41:05.157833 => Send header, 153 bytes (0x99)
0000: POST /v1/chat/completions HTTP/1.1
07:41:05.157863 => Send data, 136 bytes (0x88)
0000: {"model":"deepseek-r1","messages":[{"role":"user","content":"hi"
0040: }],"stream":true,"stream_options":{"include_usage":true},"max_to
0080: kens":3}
07:41:05.157890 <= Recv header, 17 bytes (0x11)
0000: HTTP/1.1 200 OK
07:41:05.157927 <= Recv data, 219 bytes (0xdb)
0000: d5
0004: data: {"id":"endpoint_common_2","object":"chat.completion.chunk"
0044: ,"created":1795851665,"model":"deepseek-r1","choices":[{"index":
0084: 0,"delta":{"role":"assistant","content":""},"logprobs":null,"fin
00c4: ish_reason":null}]}..
07:41:05.408677 <= Recv data, 232 bytes (0xe8)
0000: e2
0004: data: {"id":"endpoint_common_2","object":"chat.completion.chunk"
0044: ,"created":1795851665,"model":"deepseek-r1","choices":[{"index":
0084: 0,"delta":{"role":"assistant","content":"<think>\\nasks"},"logpro
00c4: bs":null,"finish_reason":null}]}..
07:41:05.445754 <= Recv data, 223 bytes (0xdf)
0000: d9
`;

describe('curl trace TTFT', () => {
  it('runs from the first trace line to the first received data with a token, not to the role-only opener', () => {
    expect(curlTraceTtftMs(TRACE)).toBeCloseTo(408.677 - 156.327, 3);
  });

  it('ignores the request body, whose "content" is the prompt', () => {
    const noAnswer = TRACE.split('\n').slice(0, 18).join('\n');
    expect(() => curlTraceTtftMs(noAnswer)).toThrow(/no received data carrying a token/);
  });

  it('counts a token split across two received blocks when its second half arrives', () => {
    const split = `10:00:00.000000 == Info: Trying
10:00:00.100000 <= Recv data, 40 bytes (0x28)
0000: data: {"choices":[{"delta":{"conte
10:00:00.300000 <= Recv data, 20 bytes (0x14)
0000: nt":"Hi"}}]}..
`;
    expect(curlTraceTtftMs(split)).toBeCloseTo(300, 3);
  });

  it('counts reasoning_content as a token and survives midnight', () => {
    const late = `23:59:59.900000 == Info: Trying
00:00:00.150000 <= Recv data, 40 bytes (0x28)
0000: data: {"choices":[{"delta":{"reasoning_content":"Let"}}]}..
`;
    expect(curlTraceTtftMs(late)).toBeCloseTo(250, 3);
  });
});

describe('log text', () => {
  it('writes n distinct MindIE-like lines ending in a newline', () => {
    const text = logText(500);
    const lines = text.trimEnd().split('\n');
    expect(text.endsWith('\n')).toBe(true);
    expect(lines).toHaveLength(500);
    expect(new Set(lines).size).toBe(500);
    expect(lines[0]).toMatch(/^\[2026-11-28 07:30:00\.000\+08:00\] \[41203\] \[INFO\] \[llm\] batch 0: /);
  });
});

describe('timeShell', () => {
  it('runs the line without ~/.bashrc, even where bash takes itself for a command run by sshd', async () => {
    // SHLVL=0 and a socket on standard input (execa's pipe) is how `npm run bench` starts its shells.
    const home = mkdtempSync(join(tmpdir(), 'bench-home-'));
    try {
      writeFileSync(join(home, '.bashrc'), 'echo read-bashrc\n');
      const r = await timeShell('echo ran', { env: { HOME: home, SHLVL: '0', PATH: process.env.PATH ?? '/usr/bin:/bin' } });
      expect(r.result.exitCode).toBe(0);
      expect(r.result.stdout).toBe('ran');
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});
