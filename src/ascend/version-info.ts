/**
 * Driver/firmware `version.info`, `/etc/ascend_install.info` (ascend-tools.md §5) and the version rules
 * of the `driver` check: driver ordering, MindIE image → CANN, CANN → minimum driver. Pure.
 */
import { lines } from './parse-result.js';

export const ASCEND_INSTALL_INFO_PATH = '/etc/ascend_install.info';
export const DEFAULT_INSTALL_PATH = '/usr/local/Ascend';
/** §1.3: reading these files (and /etc/hccn.conf) should be instant. */
export const FILE_READ_TIMEOUT_MS = 5_000;

/** `KEY=VALUE` per line, split at the first `=`; key order differs between installs (§5.1). */
export function parseKeyValueFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of lines(text)) {
    const at = raw.indexOf('=');
    if (at <= 0) continue;
    const key = raw.slice(0, at).trim();
    if (key === '' || key.startsWith('#')) continue;
    out[key] = raw.slice(at + 1).trim();
  }
  return out;
}

/** `package_version` when present, else `Version` (older files have no package_version). */
export function driverVersionFrom(versionInfo: Record<string, string>): string | undefined {
  const pkg = versionInfo['package_version'];
  if (pkg !== undefined && pkg !== '') return pkg;
  const v = versionInfo['Version'];
  return v !== undefined && v !== '' ? v : undefined;
}

function pathParam(info: Record<string, string> | undefined, key: string): string {
  const v = info?.[key]?.trim();
  if (v === undefined || v === '') return DEFAULT_INSTALL_PATH;
  return v.length > 1 ? v.replace(/\/+$/, '') : v;
}

/** `Driver_Install_Path_Param`, else `/usr/local/Ascend` (also when the file is missing: pass undefined). */
export function installPathFrom(ascendInstallInfo: Record<string, string> | undefined): string {
  return pathParam(ascendInstallInfo, 'Driver_Install_Path_Param');
}

export function driverVersionInfoPath(installPath: string): string {
  return `${installPath.replace(/\/+$/, '')}/driver/version.info`;
}

// ---------------------------------------------------------------------------------------------------
// Driver version ordering (§5.3)

export interface DriverVersion {
  major: number;
  minor: number;
  /**
   * 'bare' = only `major.minor` was given (a minimum such as `25.2`): it sits below every release of
   * that major.minor, so `25.2` is satisfied by `25.2.rc1`, `25.2.0` and anything newer.
   */
  stage: 'bare' | 'rc' | 'final';
  /** N of `rcN`; 0 unless stage is 'rc'. */
  rc: number;
  /** Trailing numeric parts: `24.1.0.3` → [0, 3], `24.1.rc2.2` → [2], `23.0.7` → [7]. */
  parts: number[];
  /** `bNNN`: a build of the preceding release (`24.1.rc1.b030` is a build of 24.1.rc1). */
  build?: number;
}

/** Parses `23.0.7`, `24.1.rc1.b030`, `24.1.rc2.2`, `25.2.0`, `26.0.rc1`, `25.2`; undefined otherwise. */
export function parseDriverVersion(text: string): DriverVersion | undefined {
  const m = /^(\d+)\.(\d+)((?:\.[A-Za-z0-9]+)*)$/.exec(text.trim());
  if (!m) return undefined;
  const v: DriverVersion = { major: Number(m[1]), minor: Number(m[2]), stage: 'bare', rc: 0, parts: [] };
  const rest = (m[3] ?? '').split('.').filter((t) => t !== '');
  for (const [i, token] of rest.entries()) {
    const rc = /^rc(\d+)$/i.exec(token);
    const build = /^b(\d+)$/i.exec(token);
    if (i === 0 && rc) {
      v.stage = 'rc';
      v.rc = Number(rc[1]);
    } else if (/^\d+$/.test(token) && v.build === undefined) {
      if (v.stage === 'bare') v.stage = 'final';
      v.parts.push(Number(token));
    } else if (build && i > 0 && v.build === undefined) {
      v.build = Number(build[1]);
    } else {
      return undefined;
    }
  }
  return v;
}

const STAGE_RANK = { bare: 0, rc: 1, final: 2 } as const;

function sign(n: number): -1 | 0 | 1 {
  return n < 0 ? -1 : n > 0 ? 1 : 0;
}

/**
 * Orders two driver versions: major.minor numerically; within one major.minor a bare minimum comes
 * first, then `rcN` releases (higher N newer), then the final release (`24.1.rc3` < `24.1.0`);
 * trailing numeric parts are patches (missing parts count as 0); a `bNNN` build tag orders after the
 * same release without one. Throws RangeError on a string that is not a driver version.
 */
export function compareDriverVersions(a: string, b: string): -1 | 0 | 1 {
  const va = parseDriverVersion(a);
  const vb = parseDriverVersion(b);
  if (!va) throw new RangeError(`not a driver version: "${a}"`);
  if (!vb) throw new RangeError(`not a driver version: "${b}"`);
  const head =
    sign(va.major - vb.major) ||
    sign(va.minor - vb.minor) ||
    sign(STAGE_RANK[va.stage] - STAGE_RANK[vb.stage]) ||
    sign(va.rc - vb.rc);
  if (head !== 0) return head;
  for (let i = 0; i < Math.max(va.parts.length, vb.parts.length); i++) {
    const d = sign((va.parts[i] ?? 0) - (vb.parts[i] ?? 0));
    if (d !== 0) return d;
  }
  return sign((va.build ?? -1) - (vb.build ?? -1));
}

// ---------------------------------------------------------------------------------------------------
// MindIE image → CANN → minimum driver

/**
 * MindIE release → the CANN it ships. Kept small on purpose: only releases a source names.
 * - 2.1.RC1 → 8.2.RC1: mindie-multinode.md §4.1, §6 (image example) and §11.
 * - 2.2.RC1 → 8.3.RC1: task brief for this module (no doc row states it; confirm with Huawei's notes).
 * - 2.3.0 → 8.5.0: mindie-multinode.md §11 ("CANN 8.5 images"); the patch level is the brief's.
 * 2.0.x is absent: no source here names its CANN.
 */
const CANN_BY_MINDIE: ReadonlyArray<readonly [RegExp, string]> = [
  [/^2\.1\.RC1\b/i, '8.2.RC1'],
  [/^2\.2\.RC1\b/i, '8.3.RC1'],
  [/^2\.3\.0\b/, '8.5.0'],
];

/**
 * The CANN version inside a MindIE image, from its tag (`…/mindie:2.1.RC1-800I-A2-py311-…`).
 * Undefined for other images (the repository name must contain `mindie`) and unknown releases.
 */
export function imageCannVersion(image: string): string | undefined {
  const noDigest = image.split('@')[0] ?? '';
  const slash = noDigest.lastIndexOf('/');
  const colon = noDigest.lastIndexOf(':');
  if (colon <= slash) return undefined;
  const repo = noDigest.slice(slash + 1, colon);
  const tag = noDigest.slice(colon + 1);
  if (!/mindie/i.test(repo)) return undefined;
  return CANN_BY_MINDIE.find(([re]) => re.test(tag))?.[1];
}

/**
 * Minimum driver (HDK) for a CANN release, by CANN major.minor. Source: cli-contract.md (`driver` check:
 * "CANN 8.2.RC1 needs 25.2"); 8.3 → 25.3 and 8.5 → 25.5 follow the same HDK/CANN pairing (task brief).
 */
const MIN_DRIVER_BY_CANN: Readonly<Record<string, string>> = {
  '8.2': '25.2',
  '8.3': '25.3',
  '8.5': '25.5',
};

export function minDriverForCann(cann: string): string | undefined {
  const m = /^(\d+)\.(\d+)(?:\.|$)/.exec(cann.trim());
  return m ? MIN_DRIVER_BY_CANN[`${m[1]}.${m[2]}`] : undefined;
}
