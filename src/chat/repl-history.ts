/**
 * The interactive chat's input history, kept between sessions like a shell's: one line per entry,
 * oldest first, in $XDG_STATE_HOME/ascendctl/chat_history (default ~/.local/state/…), mode 600
 * because prompts can be private. ASCENDCTL_CHAT_HISTORY names another file, or `off` keeps none.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';

export const HISTORY_LIMIT = 1000;

/** Where the history lives; undefined when the user turned it off. */
export function historyPath(env: NodeJS.ProcessEnv, home: string): string | undefined {
  const own = env.ASCENDCTL_CHAT_HISTORY;
  if (own !== undefined) return own === '' || own.toLowerCase() === 'off' ? undefined : path.resolve(home, own);
  const state = env.XDG_STATE_HOME && path.isAbsolute(env.XDG_STATE_HOME) ? env.XDG_STATE_HOME : path.join(home, '.local', 'state');
  return path.join(state, 'ascendctl', 'chat_history');
}

/** The saved entries, newest first (readline's order). A missing or unreadable file is no history. */
export async function loadHistory(file: string | undefined): Promise<string[]> {
  if (file === undefined) return [];
  try {
    const lines = (await readFile(file, 'utf8')).split('\n').filter((l) => l.trim() !== '');
    return lines.slice(-HISTORY_LIMIT).reverse();
  } catch {
    return [];
  }
}

/** Write `entries` (newest first) atomically, oldest first on disk. Failing to save is not an error. */
export async function saveHistory(file: string | undefined, entries: readonly string[]): Promise<boolean> {
  if (file === undefined) return false;
  const text = entries.slice(0, HISTORY_LIMIT).filter((l) => !l.includes('\n')).reverse().join('\n');
  try {
    await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, text === '' ? '' : `${text}\n`, { mode: 0o600 });
    await rename(tmp, file);
    return true;
  } catch {
    return false;
  }
}
