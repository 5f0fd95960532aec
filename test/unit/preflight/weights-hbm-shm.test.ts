/**
 * The v2 checks `weights`, `hbm`, `shm` from hand-built facts (judge is pure), and the parsers of their
 * remote calls over GNU-shaped output, login banners included. Each check has a passing and a failing case.
 */
import { describe, expect, it } from 'vitest';
import { judge } from '../../../src/preflight/judge.js';
import type { JudgeContext, NodeFacts, NpuSmiFacts, WeightsEntry } from '../../../src/preflight/facts.js';
import type { Finding } from '../../../src/preflight/finding.js';
import { compareDriverVersions } from '../../../src/ascend/version-info.js';
import { parseWeightsStat, weightsCommand } from '../../../src/preflight/weights.js';
import { parseShm, shmCommand } from '../../../src/preflight/shm.js';
import { shellJoin } from '../../../src/remote/quote.js';

const DIR = '/opt/models/r1';
const NPUS = 2;

function entry(name: string, over: Partial<WeightsEntry> = {}): WeightsEntry {
  return { path: name === '.' ? DIR : `${DIR}/${name}`, type: name === '.' ? 'directory' : 'regular file', mode: name === '.' ? 0o750 : 0o640, uid: 0, user: 'root', ...over };
}

function smi(over: Partial<NpuSmiFacts> = {}, used = [3378, 3380]): NpuSmiFacts {
  return { devices: used.map((u, id) => ({ id, name: '910B3', health: 'OK', hbmUsedMb: u, hbmTotalMb: 65536 })), processes: [], ...over };
}

function node(name: string, over: Partial<NodeFacts> = {}): NodeFacts {
  return {
    node: name,
    host: `127.0.9.${name.slice(-1)}`,
    ssh: { kind: 'ok', value: true },
    npuSmi: { kind: 'ok', value: smi() },
    model: { kind: 'ok', value: { hashes: { 'config.json': 'a'.repeat(64), 'generation_config.json': 'b'.repeat(64) } } },
    weights: { kind: 'ok', value: { dir: entry('.'), files: ['config.json', 'generation_config.json', 'tokenizer.json'].map((f) => entry(f)) } },
    shm: { kind: 'ok', value: [] },
    npus: {},
    pings: [],
    notes: [],
    ...over,
  };
}

const ctx: JudgeContext = {
  npusPerNode: NPUS,
  gateway: 'optional',
  minDriver: { version: '25.2', reason: 'test' },
  compareVersions: compareDriverVersions,
  clockToleranceMs: 2000,
  deployment: { image: 'mindie:2.1.RC1', modelPath: DIR, ports: [1025], npuMemoryFraction: 0.95 },
};

function of(findings: Finding[], check: string): Finding[] {
  return findings.filter((f) => f.check === check);
}

describe('weights', () => {
  it('passes for a root-owned directory (750) and files (640), identical on every node', () => {
    const f = of(judge([node('node1'), node('node2')], ctx), 'weights');
    expect(f.map((x) => [x.node, x.status])).toEqual([['node1', 'pass'], ['node2', 'pass']]);
    expect(f[0]!.message).toBe(`${DIR} and config.json, generation_config.json, tokenizer.json: real files, mode ≤ 750, owned by root`);
  });

  it('a file with 750 passes (no bit outside rwxr-x---); 660 fails (group write)', () => {
    const ok = node('node1', { weights: { kind: 'ok', value: { dir: entry('.'), files: [entry('config.json', { mode: 0o750 })] } } });
    expect(of(judge([ok], ctx), 'weights')[0]!.status).toBe('pass');
    const bad = node('node1', { weights: { kind: 'ok', value: { dir: entry('.'), files: [entry('config.json', { mode: 0o660 })] } } });
    const f = of(judge([bad], ctx), 'weights');
    expect(f).toEqual([{ node: 'node1', check: 'weights', status: 'fail',
      message: `${DIR}/config.json: mode 660, wider than 750 — MindIE refuses it at start ("Check path: config.json failed, by:Check permission failed")`,
      hint: `ssh node1: chmod 640 ${DIR}/config.json` }]);
  });

  it('another owner fails with MindIE\'s owner-id text and one command for owner and mode', () => {
    const bad = node('node2', { weights: { kind: 'ok', value: { dir: entry('.'), files: [entry('config.json', { uid: 1000, user: 'ops', mode: 0o644 })] } } });
    const f = of(judge([node('node1'), bad], ctx), 'weights').filter((x) => x.status === 'fail');
    expect(f).toHaveLength(1);
    expect(f[0]!.message).toContain('owned by ops (uid 1000), not by root (uid 0)');
    expect(f[0]!.message).toContain('mode 644, wider than 750');
    expect(f[0]!.message).toContain('owner id diff: current process user id is 0, file owner id is 1000');
    expect(f[0]!.hint).toBe(`ssh node2: chown root:root ${DIR}/config.json && chmod 640 ${DIR}/config.json`);
  });

  it('a symlinked file fails with the copy command; a symlinked directory says to use the real path', () => {
    const link = node('node1', { weights: { kind: 'ok', value: { dir: entry('.', { type: 'symbolic link', mode: 0o777 }), files: [entry('tokenizer.json', { type: 'symbolic link', mode: 0o777 })] } } });
    const f = of(judge([link], ctx), 'weights');
    expect(f.map((x) => x.status)).toEqual(['fail', 'fail']);
    expect(f[0]!.message).toMatch(/the weights directory \/opt\/models\/r1 is a symbolic link/);
    expect(f[0]!.hint).toMatch(/readlink -f \/opt\/models\/r1/);
    expect(f[1]!.hint).toBe(`replace it by a copy of its target: ssh node1: cp --remove-destination "$(readlink -f ${DIR}/tokenizer.json)" ${DIR}/tokenizer.json && chown root:root ${DIR}/tokenizer.json && chmod 640 ${DIR}/tokenizer.json`);
  });

  it('quotes paths with spaces in the commands it gives', () => {
    const d = '/data/my models/r1';
    const c = { ...ctx, deployment: { ...ctx.deployment!, modelPath: d } };
    const bad = node('node1', { weights: { kind: 'ok', value: { dir: { ...entry('.'), path: d }, files: [{ ...entry('config.json', { mode: 0o644 }), path: `${d}/config.json` }] } } });
    expect(of(judge([bad], c), 'weights')[0]!.hint).toBe(`ssh node1: chmod 640 '${d}/config.json'`);
  });

  it('a directory wider than 750 fails with chmod 750', () => {
    const bad = node('node1', { weights: { kind: 'ok', value: { dir: entry('.', { mode: 0o755 }), files: [entry('config.json')] } } });
    expect(of(judge([bad], ctx), 'weights')[0]).toMatchObject({ status: 'fail', hint: `ssh node1: chmod 750 ${DIR}` });
  });

  it('generation_config.json differing from the majority fails on the odd node only; model keeps judging config.json and the index', () => {
    const odd = node('node3', { model: { kind: 'ok', value: { hashes: { 'config.json': 'a'.repeat(64), 'generation_config.json': 'c'.repeat(64) } } } });
    const findings = judge([node('node1'), node('node2'), odd], ctx);
    const bad = of(findings, 'weights').filter((x) => x.status === 'fail');
    expect(bad).toHaveLength(1);
    expect(bad[0]).toMatchObject({ node: 'node3', message: expect.stringMatching(/^generation_config\.json differs from node1, node2 \(sha256\)/) });
    expect(bad[0]!.hint).toMatch(/^copy \/opt\/models\/r1\/generation_config\.json from node1 to node3/);
    expect(of(findings, 'model').every((x) => x.status === 'pass')).toBe(true);
  });

  it('generation_config.json missing on one node fails there', () => {
    const missing = node('node2', { model: { kind: 'ok', value: { hashes: { 'config.json': 'a'.repeat(64) } } } });
    const bad = of(judge([node('node1'), missing, node('node3')], ctx), 'weights').filter((x) => x.status === 'fail');
    expect(bad.map((x) => [x.node, x.message.split(' (')[0]])).toEqual([['node2', 'generation_config.json is missing on node2']]);
  });

  it('a missing config.json is the model check\'s finding only', () => {
    const gone = node('node1', { model: { kind: 'ok', value: null }, weights: { kind: 'ok', value: { files: [] } } });
    const findings = judge([gone], ctx);
    expect(of(findings, 'weights')).toEqual([]);
    expect(of(findings, 'model')[0]!.status).toBe('fail');
  });

  it('a call that cannot run is a warning saying so, never a pass', () => {
    const broken = node('node1', { weights: { kind: 'error', message: 'find: not found', exitCode: 127, hint: 'install findutils and coreutils on the node' } });
    expect(of(judge([broken], ctx), 'weights')).toEqual([{ node: 'node1', check: 'weights', status: 'warn',
      message: `not checked: cannot read the weights' files under ${DIR} (find: not found)`, hint: 'install findutils and coreutils on the node' }]);
  });

  it('a "." in the weights path is a warning (some guides reject it)', () => {
    const c = { ...ctx, deployment: { ...ctx.deployment!, modelPath: '/root/.cache/r1' } };
    const n = node('node1', { weights: { kind: 'ok', value: { dir: { ...entry('.'), path: '/root/.cache/r1' }, files: [{ ...entry('config.json'), path: '/root/.cache/r1/config.json' }] } } });
    const f = of(judge([n], c), 'weights');
    expect(f.map((x) => x.status)).toEqual(['warn', 'pass']);
    expect(f[0]!.message).toMatch(/contains "\." \(in "\.cache"\)/);
  });

  it('with the vllm-ascend backend only the cross-node comparison applies (vLLM follows links, checks no owner)', () => {
    const c = { ...ctx, deployment: { ...ctx.deployment!, backend: 'vllm-ascend' as const } };
    const link = node('node1', { weights: { kind: 'ok', value: { dir: entry('.'), files: [entry('config.json', { type: 'symbolic link', mode: 0o777, uid: 1000 })] } } });
    expect(of(judge([link], c), 'weights').map((x) => x.status)).toEqual(['pass']);
    const odd = node('node2', { model: { kind: 'ok', value: { hashes: { 'config.json': 'a'.repeat(64), 'generation_config.json': 'c'.repeat(64) } } } });
    expect(of(judge([node('node1'), odd, node('node3')], c), 'weights').filter((x) => x.status === 'fail').map((x) => x.node)).toEqual(['node2']);
  });

  it('does not run without a deployment', () => {
    expect(of(judge([node('node1')], { ...ctx, deployment: undefined } as JudgeContext), 'weights')).toEqual([]);
  });
});

describe('hbm', () => {
  it('passes on idle NPUs', () => {
    const f = of(judge([node('node1'), node('node2')], ctx), 'hbm');
    expect(f.map((x) => [x.node, x.npu, x.status])).toEqual([['node1', 0, 'pass'], ['node1', 1, 'pass'], ['node2', 0, 'pass'], ['node2', 1, 'pass']]);
    expect(f[1]!.message).toBe('HBM 3380 / 65536 MB in use (idle level 3378 MB), no process listed');
  });

  it('a listed process fails its NPU, named by PID and name, with the kill command', () => {
    const busy = node('node2', { npuSmi: { kind: 'ok', value: smi({ processes: [{ npu: 1, pid: 4242, name: 'python3', memoryMb: 20480 }] }, [3378, 23858]) } });
    const f = of(judge([node('node1'), busy], ctx), 'hbm').filter((x) => x.status !== 'pass');
    expect(f).toEqual([{ node: 'node2', npu: 1, check: 'hbm', status: 'fail',
      message: 'PID 4242 (python3, 20480 MB) is on NPU 1 (HBM 23858 / 65536 MB in use): MindIE runs out of memory while loading next to it',
      hint: 'stop it: kill 4242 on node2 (see what it is first: ssh node2 ps -p 4242 -o pid,user,cmd); npu-smi info lists every process on the NPUs' }]);
  });

  it('on an A3 a finding names the device, and the reset hint names its card and chip (npu-smi -i NPU -c chip)', () => {
    const dies = [{ device: 0, npu: 0, chip: 0 }, { device: 1, npu: 0, chip: 1 }];
    const allowed = Math.round(0.05 * 65536);
    const a3 = (over: Partial<NpuSmiFacts>, used?: number[]) => node('node1', { npuSmi: { kind: 'ok', value: { ...smi(over, used), dies } } });
    const held = of(judge([a3({}, [3378, 3378 + allowed + 1])], ctx), 'hbm').find((x) => x.status === 'fail')!;
    expect(held).toMatchObject({ npu: 1, message: expect.stringMatching(/^NPU 0 chip 1 \(device 1\): HBM/) });
    expect(held.hint).toMatch(/holds device 1's memory/);
    expect(held.hint).toMatch(/npu-smi set -t reset -i 0 -c 1$/);
    const proc = of(judge([a3({ processes: [{ npu: 1, pid: 9, name: 'python3', memoryMb: 100 }] })], ctx), 'hbm').find((x) => x.status === 'fail')!;
    expect(proc.message).toMatch(/^NPU 0 chip 1 \(device 1\): PID 9 \(python3, 100 MB\) is on device 1 /);
  });

  it('a config.json that differs on one node: one weights fail for that node (no pass beside it), and no model finding', () => {
    const other = node('node2', { model: { kind: 'ok', value: { hashes: { 'config.json': 'c'.repeat(64), 'generation_config.json': 'b'.repeat(64) } } } });
    const f = judge([node('node1'), other, node('node3')], ctx);
    expect(of(f, 'weights').filter((x) => x.node === 'node2').map((x) => [x.status, x.message])).toEqual([
      ['fail', expect.stringMatching(/config\.json differs from node1, node3/)]]);
    expect(of(f, 'model').map((x) => x.status)).toEqual(['pass', 'pass', 'pass']);
  });

  it('each node is judged on its own devices (a mixed rack: the A3 has more than npusPerNode)', () => {
    const big = node('node2', { devices: 4, npuSmi: { kind: 'ok', value: smi({ processes: [{ npu: 3, pid: 5, name: 'python3', memoryMb: 100 }] }, [3378, 3378, 3378, 3378]) } });
    const f = of(judge([node('node1'), big], ctx), 'hbm');
    expect(f.filter((x) => x.node === 'node1').map((x) => x.npu)).toEqual([0, 1]);
    expect(f.filter((x) => x.node === 'node2').map((x) => [x.npu, x.status])).toEqual([[0, 'pass'], [1, 'pass'], [2, 'pass'], [3, 'fail']]);
  });

  it('a process of another PID namespace (no name) fails and points at the containers', () => {
    const busy = node('node1', { npuSmi: { kind: 'ok', value: smi({ processes: [{ npu: 0, pid: 77, name: '', memoryMb: 100 }] }) } });
    const f = of(judge([busy], ctx), 'hbm').filter((x) => x.status === 'fail');
    expect(f[0]!.message).toMatch(/PID 77 \(no name: another PID namespace/);
    expect(f[0]!.hint).toMatch(/docker ps/);
  });

  it('memory above the idle level by more than (1 − npuMemoryFraction) × total fails; within it passes', () => {
    // 0.05 × 65536 = 3276.8 MB, compared unrounded: 3276 MB above idle passes, 3277 fails
    const within = node('node1', { npuSmi: { kind: 'ok', value: smi({}, [3378, 3378 + 3276]) } });
    expect(of(judge([within], ctx), 'hbm').every((x) => x.status === 'pass')).toBe(true);
    const above = node('node1', { npuSmi: { kind: 'ok', value: smi({}, [3378, 3378 + 3277]) } });
    const f = of(judge([above], ctx), 'hbm').filter((x) => x.status === 'fail');
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({ npu: 1, message: expect.stringMatching(/3277 MB above the idle level of 3378 MB, but npuMemoryFraction 0\.95 leaves only 3276\.8 MB/) });
    // a lower fraction leaves more to others
    expect(of(judge([above], { ...ctx, deployment: { ...ctx.deployment!, npuMemoryFraction: 0.9 } }), 'hbm').every((x) => x.status === 'pass')).toBe(true);
  });

  it('with --node leaving nodes out, the idle level is at most the usual 4.5 GB: a selection all of whose NPUs are held still fails', () => {
    const held = node('node2', { npuSmi: { kind: 'ok', value: smi({}, [8378, 8378]) } });
    expect(of(judge([held], ctx), 'hbm').every((x) => x.status === 'pass')).toBe(true); // the whole cluster: its own idle level
    const f = of(judge([held], { ...ctx, unselectedNodes: ['node1'] }), 'hbm');
    expect(f.map((x) => x.status)).toEqual(['fail', 'fail']);
    expect(f[0]!.message).toMatch(/3770 MB above the idle level of 4608 MB/);
  });

  it('the idle level is the least-used NPU of the whole cluster', () => {
    const n1 = node('node1', { npuSmi: { kind: 'ok', value: smi({}, [4000, 4100]) } });
    expect(of(judge([n1], ctx), 'hbm').every((x) => x.status === 'pass')).toBe(true); // alone: its own idle level is 4000
    const n2 = node('node2', { npuSmi: { kind: 'ok', value: smi({}, [700, 800]) } });
    expect(of(judge([n1, n2], ctx), 'hbm').filter((x) => x.status === 'fail').map((x) => `${x.node} ${x.npu}`)).toEqual(['node1 0', 'node1 1']);
  });

  it('npu-smi without an answer makes hbm a warning, not a pass', () => {
    const broken = node('node1', { npuSmi: { kind: 'error', message: 'dcmi module initialize failed. ret is -8005' } });
    // one warning per NPU, each with its npu (a per-device check)
    expect(of(judge([broken], ctx), 'hbm')).toMatchObject([0, 1].map((npu) => ({ node: 'node1', npu, status: 'warn', message: expect.stringMatching(/^not checked/) })));
  });

  it('the running container of this very deployment is not a leftover (redeploy)', () => {
    const busy = node('node1', { npuSmi: { kind: 'ok', value: smi({ processes: [{ npu: 0, pid: 10, name: 'mindie_llm_back', memoryMb: 60000 }] }, [63000, 63000]) } });
    const f = of(judge([busy], { ...ctx, deployment: { ...ctx.deployment!, ownPorts: { node1: [1025] } } }), 'hbm');
    expect(f.map((x) => x.status)).toEqual(['pass', 'pass']);
  });
});

describe('shm', () => {
  it('passes with no leftover files', () => {
    expect(of(judge([node('node1')], ctx), 'shm')).toEqual([{ node: 'node1', check: 'shm', status: 'pass', message: 'no leftover MindIE shared memory in /dev/shm' }]);
  });

  it('leftover files fail with the exact rm command', () => {
    const left = node('node2', { shm: { kind: 'ok', value: ['/dev/shm/llm_backend_0', '/dev/shm/llm_tokenizer_shared_memory_3'] } });
    const f = of(judge([left], ctx), 'shm');
    expect(f[0]).toMatchObject({ status: 'fail', message: expect.stringMatching(/llm_backend_0, llm_tokenizer_shared_memory_3/) });
    expect(f[0]!.hint).toBe('make sure no MindIE daemon runs on node2 (docker ps), then: ssh node2: rm -f /dev/shm/llm_backend_0 /dev/shm/llm_tokenizer_shared_memory_3');
  });

  it('many files are removed by pattern', () => {
    const files = Array.from({ length: 9 }, (_, i) => `/dev/shm/mindie_llm_backend_${i}`);
    const f = of(judge([node('node1', { shm: { kind: 'ok', value: files } })], ctx), 'shm');
    expect(f[0]!.hint).toMatch(/rm -f \/dev\/shm\/\*llm_backend_\* \/dev\/shm\/llm_tokenizer_shared_memory_\*$/);
    expect(f[0]!.message).toMatch(/… \(9 files\)/);
  });

  it('a listing that fails is a warning', () => {
    const f = of(judge([node('node1', { shm: { kind: 'error', message: "find: '/dev/shm': No such file or directory" } })], ctx), 'shm');
    expect(f[0]).toMatchObject({ status: 'warn', message: expect.stringMatching(/^not checked: cannot list \/dev\/shm/) });
  });
});

describe('the remote calls', () => {
  it('weights: one find over the directory, stat of the directory and every file found', () => {
    expect(shellJoin(weightsCommand(DIR))).toBe(
      "find /opt/models/r1/ -maxdepth 1 '(' -name config.json -o -name generation_config.json -o -name 'tokenizer*.json' ')' -exec stat -c '%f|%a|%u|%U|%n' /opt/models/r1 '{}' +");
  });

  it('weights: parses GNU stat lines and ignores a login banner', () => {
    const out = [
      'Welcome to node2 (EulerOS 2.0)',
      `directory|750|0|root|${DIR}`,
      `regular file|640|0|root|${DIR}/config.json`,
      `symbolic link|777|0|root|${DIR}/tokenizer.json`,
      `regular file|644|1000|UNKNOWN|${DIR}/tokenizer_config.json`,
      'regular file|640|0|root|/etc/passwd',
    ].join('\n');
    const facts = parseWeightsStat(out, `${DIR}/`);
    expect(facts.dir).toEqual({ path: DIR, type: 'directory', mode: 0o750, uid: 0, user: 'root' });
    expect(facts.files.map((f) => [f.path.split('/').pop(), f.type, f.mode.toString(8), f.uid])).toEqual([
      ['config.json', 'regular file', '640', 0],
      ['tokenizer_config.json', 'regular file', '644', 1000],
      ['tokenizer.json', 'symbolic link', '777', 0],
    ]);
  });

  it('weights: %f\'s raw hex mode gives the type whatever the node\'s locale (%F says 目录 under zh_CN)', () => {
    const out = [`41e8|750|0|root|${DIR}`, `81a0|640|0|root|${DIR}/config.json`, `a1ff|777|0|root|${DIR}/tokenizer.json`, `11b6|666|0|root|${DIR}/tokenizer_config.json`].join('\n');
    const facts = parseWeightsStat(out, DIR);
    expect(facts.dir?.type).toBe('directory');
    expect(facts.files.map((f) => [f.path.split('/').pop(), f.type])).toEqual([
      ['config.json', 'regular file'], ['tokenizer_config.json', 'fifo'], ['tokenizer.json', 'symbolic link']]);
    const localized = judge([node('node1', { weights: { kind: 'ok', value: facts } })], ctx);
    expect(of(localized, 'weights').map((f) => f.message).join('\n')).toMatch(/tokenizer_config\.json is a fifo, not a regular file/);
  });

  it('shm: one find; parses its paths and ignores anything else', () => {
    expect(shellJoin(shmCommand())).toBe("find /dev/shm -maxdepth 1 '(' -name '*llm_backend_*' -o -name 'llm_tokenizer_shared_memory_*' ')' -print");
    expect(parseShm('Last login: today\n/dev/shm/llm_tokenizer_shared_memory_1\n/dev/shm/x_llm_backend_2\n/dev/shm/other\n')).toEqual([
      '/dev/shm/llm_tokenizer_shared_memory_1', '/dev/shm/x_llm_backend_2',
    ]);
  });
});
