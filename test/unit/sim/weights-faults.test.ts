/**
 * The weights-*, hbm-held and shm-leftover faults change a simulated node as the real thing would look,
 * and the simulated `find`/`stat`/`sha256sum` answer ascendctl's calls exactly as GNU findutils and
 * coreutils do over the same files (checked against the machine's real tools on a real directory).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SimCluster } from '../../../src/sim/cluster.js';
import { parseClusterSpec, parseFaults } from '../../../src/sim/cluster-spec.js';
import { DirFs } from '../../harness/dir-fs.js';
import { MemFs } from '../../../src/sim/mem-fs.js';
import type { SimFault, SimFs } from '../../../src/sim/types.js';
import { weightsCommand } from '../../../src/preflight/weights.js';
import { shmCommand as shmCall } from '../../../src/preflight/shm.js';
import { shellJoin } from '../../../src/remote/quote.js';
import { sh, tool } from './run-helper.js';

const DIR = '/opt/models/R1';
const FILES = { 'config.json': '{"model_type":"deepseek_v3"}\n', 'generation_config.json': '{"top_p":0.95}\n', 'tokenizer.json': '{}', 'tokenizer_config.json': '{}', 'model.safetensors.index.json': '{}' };
const roots: string[] = [];
const clusters: SimCluster[] = [];

afterAll(() => {
  for (const c of clusters) c.stop();
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

async function nodeOn(fs: SimFs, faults: SimFault[] = []) {
  const cluster = new SimCluster(parseClusterSpec({ profile: 'fast', nodes: [{ name: 'node1', host: '127.0.1.1', models: { [DIR]: FILES }, faults }] }), { fs: () => fs });
  await cluster.start();
  clusters.push(cluster);
  return cluster.node('node1');
}

function realRoot(): string {
  const r = mkdtempSync(join(tmpdir(), 'ascendctl-weights-'));
  roots.push(r);
  return r;
}

const sorted = (text: string) => text.split('\n').filter(Boolean).sort();

describe('weights faults', () => {
  const faults: SimFault[] = [
    { kind: 'weights-mode', file: 'config.json', mode: 0o644 },
    { kind: 'weights-symlink', file: 'tokenizer.json' },
    { kind: 'weights-owner', file: 'generation_config.json', uid: 1000 },
    { kind: 'weights-mode', file: '.', mode: 0o755 },
  ];

  it('are accepted by the spec schema (and nonsense is refused)', () => {
    expect(parseFaults(faults)).toEqual(faults);
    expect(() => parseFaults([{ kind: 'weights-symlink', file: '.' }])).toThrow();
    expect(() => parseFaults([{ kind: 'weights-mode', file: '../etc/passwd', mode: 0o644 }])).toThrow();
    expect(parseFaults([{ kind: 'hbm-held', npu: 3, mb: 20480, pid: 4242, name: 'python3' }, { kind: 'shm-leftover' }])).toHaveLength(2);
  });

  it('the simulated find + stat answer like GNU findutils/coreutils over the same real files', async () => {
    const root = realRoot();
    const node = await nodeOn(new DirFs(root), faults);
    const cmd = weightsCommand(DIR);
    const sim = await sh(node, shellJoin(cmd));
    expect(sim.code, sim.stderr).toBe(0);
    const real = execFileSync('find', [`${root}${DIR}/`, ...cmd.slice(2, -3), `${root}${DIR}`, '{}', '+'], { encoding: 'utf8' });
    // The user name of a non-root uid depends on this machine's passwd (the simulated node has none).
    const anyName = (lines: string[]) => lines.map((l) => l.replace(/^([^|]*\|[^|]*\|([1-9]\d*))\|[^|]*\|/, '$1|<name>|'));
    expect(anyName(sorted(sim.stdout))).toEqual(anyName(sorted(real.replaceAll(root, ''))));
    expect(sorted(sim.stdout)).toEqual([
      // %f: the raw mode in hex, file type bits included (41ed = directory 755, a1ff = link 777)
      `41ed|755|0|root|${DIR}`,
      `81a4|644|0|root|${DIR}/config.json`,
      `81a0|640|0|root|${DIR}/tokenizer_config.json`,
      `81a0|640|1000|UNKNOWN|${DIR}/generation_config.json`,
      `a1ff|777|0|root|${DIR}/tokenizer.json`,
    ].sort());
  });

  it('in memory too, and a cleared fault list restores 640 root-owned real files', async () => {
    const node = await nodeOn(new MemFs(), faults);
    const broken = await sh(node, shellJoin(weightsCommand(DIR)));
    expect(broken.stdout).toMatch(/^a1ff\|777\|0\|root\|\/opt\/models\/R1\/tokenizer\.json$/m);
    expect(broken.stdout).toMatch(/^81a0\|640\|1000\|UNKNOWN\|\/opt\/models\/R1\/generation_config\.json$/m);
    // the link's content is the real file's: the model check's sha256sum still matches
    expect((await sh(node, `sha256sum ${DIR}/tokenizer.json`)).stdout).toMatch(/^44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a {2}/);
    await node.setFaults([]);
    const fixed = await sh(node, shellJoin(weightsCommand(DIR)));
    expect(sorted(fixed.stdout)).toEqual([
      `41e8|750|0|root|${DIR}`,
      ...['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json'].map((f) => `81a0|640|0|root|${DIR}/${f}`),
    ].sort());
  });

  it('find: nothing matched runs no -exec (exit 0, no output); a missing start point is an error', async () => {
    const node = await nodeOn(new MemFs());
    expect(await sh(node, `find ${DIR}/ -maxdepth 1 -name nothing.json -exec stat -c %n ${DIR} '{}' +`)).toEqual({ code: 0, stdout: '', stderr: '' });
    const gone = await sh(node, 'find /nope/ -maxdepth 1 -print');
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/^find: '\/nope\/': No such file or directory/);
    expect((await sh(node, 'find /opt -frobnicate')).stderr).toMatch(/unknown predicate `-frobnicate'/);
  });

  it('sha256sum hashes the files it can read and reports the others, like coreutils', async () => {
    const node = await nodeOn(new MemFs());
    const r = await sh(node, `sha256sum ${DIR}/config.json ${DIR}/missing.json ${DIR}/generation_config.json`);
    expect(r.code).toBe(1);
    expect(r.stdout.trim().split('\n').map((l) => l.split('  ')[1])).toEqual([`${DIR}/config.json`, `${DIR}/generation_config.json`]);
    expect(r.stderr).toMatch(/sha256sum: \/opt\/models\/R1\/missing\.json: No such file or directory/);
  });
});

describe('shm-leftover and hbm-held', () => {
  it('a leftover shared-memory file appears in /dev/shm and goes with the fault', async () => {
    const node = await nodeOn(new MemFs(), [{ kind: 'shm-leftover' }, { kind: 'shm-leftover', file: 'mindie_llm_backend_7' }]);
    expect(sorted((await sh(node, shellJoin(shmCall()))).stdout)).toEqual(['/dev/shm/llm_tokenizer_shared_memory_0', '/dev/shm/mindie_llm_backend_7']);
    await node.setFaults([]);
    expect(await sh(node, shellJoin(shmCall()))).toEqual({ code: 0, stdout: '', stderr: '' });
  });

  it('held HBM shows in npu-smi info: the process row and the used HBM', async () => {
    const node = await nodeOn(new MemFs(), [{ kind: 'hbm-held', npu: 3, mb: 20480, pid: 4242, name: 'python3' }, { kind: 'hbm-held', npu: 5, mb: 8192 }]);
    const r = await tool(node, 'npu-smi', ['info']);
    expect(r.stdout).toMatch(/\|\s*3\s+0\s*\|\s*4242\s*\|\s*python3\s*\|\s*20480\s*\|/);
    expect(r.stdout).toMatch(/23858\s*\/\s*65536/);
    expect(r.stdout).toMatch(/11570\s*\/\s*65536/);
    expect(r.stdout).toMatch(/No running processes found in NPU 5/);
  });
});


