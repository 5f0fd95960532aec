/**
 * Runs the built `bin/ascendctl` as a user would (end-to-end ring): a separate process, plain output,
 * and a throwaway HOME so that the developer's own ~/.ssh/config, keys and agent are never used.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

export const CLI_BIN = resolve(dirname(fileURLToPath(import.meta.url)), '../../bin/ascendctl');

export interface RunCliOptions {
  /** Added to (and overriding) the environment below. */
  env?: Record<string, string | undefined>;
  /**
   * Working directory. Default: the temporary HOME of this call, removed afterwards — pass a directory
   * (e.g. the cluster's `dir`) when one command must see what an earlier one recorded there.
   */
  cwd?: string;
  /** Standard input; closed at once when absent. */
  input?: string;
  /** Default 120 s; on expiry the process is killed and exitCode is null. */
  timeoutMs?: number;
}

export interface CliResult {
  /** null when the process was killed (timeout, signal). */
  exitCode: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** Standard output parsed as JSON when `--json` was passed (undefined when it does not parse). */
  json?: unknown;
}

export async function runCli(args: string[], opts: RunCliOptions = {}): Promise<CliResult> {
  const home = mkdtempSync(join(tmpdir(), 'ascendctl-home-'));
  try {
    const result = await execa(process.execPath, [CLI_BIN, ...args], {
      cwd: opts.cwd ?? home,
      env: {
        HOME: home,
        NO_COLOR: '1',
        FORCE_COLOR: undefined,
        SSH_AUTH_SOCK: undefined,
        ASCENDCTL_INVENTORY: undefined,
        ...opts.env,
      },
      input: opts.input ?? '',
      reject: false,
      timeout: opts.timeoutMs ?? 120_000,
      stripFinalNewline: false,
    });
    const out: CliResult = {
      exitCode: result.exitCode ?? null,
      stdout: result.stdout,
      stderr: result.stderr,
      timedOut: result.timedOut,
    };
    if (args.includes('--json')) {
      try {
        out.json = JSON.parse(result.stdout) as unknown;
      } catch {
        // left undefined: the test asserting on json fails and prints stdout
      }
    }
    return out;
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}
