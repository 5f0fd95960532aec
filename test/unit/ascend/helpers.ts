import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { parseNpuSmiKeyValues } from '../../../src/ascend/npu-smi.js';
import { lines, type ParseResult } from '../../../src/ascend/parse-result.js';

export const FIXTURE_DIR = fileURLToPath(new URL('../../../fixtures/ascend/', import.meta.url));

export function fixture(name: string): string {
  return readFileSync(`${FIXTURE_DIR}${name}`, 'utf8');
}

/** The value of a successful parse; fails the test with the parser's message otherwise. */
export function must<T>(r: ParseResult<T>): T {
  if (!r.ok) expect.fail(`parse failed: ${r.error}`);
  return r.value;
}

/** An npu-smi key/value document (§4.3) as one record: the first occurrence of each key. */
export function keyValues(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of parseNpuSmiKeyValues(text).entries) if (!(e.key in out)) out[e.key] = e.value;
  return out;
}

/**
 * Cut the capture of a guide's `for i in {0..7}; do hccn_tool -i $i ...; done` into one document per
 * device. Fixtures only: ascendctl runs one call per device and attaches the id itself (§1.4).
 */
export function splitLoopOutput(
  text: string,
  kind: 'link' | 'net_health' | 'netdetect' | 'gateway' | 'ip' | 'tls' | 'lldp' | 'link_stat' | 'optical' | 'ping',
): string[] {
  const all = lines(text);
  let starts: (line: string, index: number) => boolean;
  switch (kind) {
    case 'ip':
      starts = (l) => /^\s*(ipaddr|ipv6_address):/.test(l);
      break;
    case 'tls':
      starts = (l) => /^dev_id:\s*\d+,\s*tls switch/.test(l);
      break;
    case 'ping':
      // A summary line closes a run even when the next run has no header.
      starts = (l, i) => /^device \d+ PING/.test(l) || (i > 0 && /packets transmitted/.test(all[i - 1] ?? ''));
      break;
    case 'lldp':
      starts = all.some((l) => l === 'Chassis ID TLV') ? (l) => l === 'Chassis ID TLV' : (l) => l.trim() !== '';
      break;
    case 'link_stat': {
      const dev = (l: string): string | undefined => /^\[(?:devid|device)\s+(\d+)\]/.exec(l)?.[1];
      starts = (l, i) => {
        const d = dev(l);
        if (d === undefined) return false;
        for (let j = i - 1; j >= 0; j--) {
          const prev = dev(all[j] ?? '');
          if (prev !== undefined) return prev !== d;
        }
        return true;
      };
      break;
    }
    case 'optical':
      starts = (l) => /^optical info:/.test(l);
      break;
    default:
      starts = (l) => l.trim() !== '';
  }
  const docs: string[][] = [];
  all.forEach((l, i) => {
    if (docs.length === 0 || starts(l, i)) {
      if (docs.length > 0 || l.trim() !== '') docs.push([]);
      else return;
    }
    docs[docs.length - 1]?.push(l);
  });
  return docs.map((d) => d.join('\n').replace(/\n+$/, '') + '\n').filter((d) => d.trim() !== '');
}
