/**
 * Framing of a remote command's own output. sshd runs every command through the login user's shell,
 * and data-centre servers make that shell talk: `echo` lines in ~/.bashrc or /etc/profile.d/*,
 * "Last login", site notices — on stdout and on stderr, before the command has even started
 * (cli-contract.md "Nodes as data centres set them up"). So the command line first prints a marker
 * unique to the call on both streams, and the client drops everything up to and including it. After
 * the marker, bytes pass through untouched.
 */
import { randomBytes } from 'node:crypto';
import { shellJoin } from './quote.js';

/** Most noise kept while waiting for the marker (to hand it over as output if no marker ever comes). */
const MAX_PREFIX_BYTES = 256 * 1024;

/** A marker no banner contains by chance: 96 random bits. */
export function newMarker(): string {
  return `ascendctl-frame-${randomBytes(12).toString('hex')}`;
}

/**
 * `printf '%s\n' M; printf '%s\n' M >&2; <command>`: printf is a builtin of every POSIX shell, reads
 * no standard input, and the list's exit status is the command's own.
 */
export function framedCommand(command: string, marker: string): string {
  const mark = shellJoin(['printf', '%s\\n', marker]);
  return `${mark}; ${mark} >&2; ${command}`;
}

/**
 * Drops one stream's bytes up to and including `marker\n`. Before the marker nothing is delivered;
 * the chunk holding it yields what follows it; later chunks are returned as they are.
 */
export class FrameStripper {
  readonly #needle: Buffer;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #found = false;
  #gaveUp = false;

  constructor(marker: string) {
    this.#needle = Buffer.from(`${marker}\n`, 'utf8');
  }

  /** True once the marker was seen (the command itself started). */
  get found(): boolean {
    return this.#found;
  }

  /** The part of `chunk` that is the command's output (possibly empty). */
  push(chunk: Buffer): Buffer {
    if (this.#found || this.#gaveUp) return chunk;
    // Fast path: no noise, the marker opens the stream (the usual case on a quiet node).
    if (this.#pendingBytes === 0 && chunk.length >= this.#needle.length && chunk.subarray(0, this.#needle.length).equals(this.#needle)) {
      this.#found = true;
      return chunk.subarray(this.#needle.length);
    }
    this.#pending.push(chunk);
    this.#pendingBytes += chunk.length;
    const all = this.#pending.length === 1 ? chunk : Buffer.concat(this.#pending);
    const at = all.indexOf(this.#needle);
    if (at >= 0) {
      this.#found = true;
      this.#pending = [];
      this.#pendingBytes = 0;
      return all.subarray(at + this.#needle.length);
    }
    this.#pending = [all];
    if (this.#pendingBytes > MAX_PREFIX_BYTES) {
      // Not a banner any more: whatever runs there is not our framing. Pass everything on.
      this.#gaveUp = true;
      this.#pending = [];
      this.#pendingBytes = 0;
      return all;
    }
    return Buffer.alloc(0);
  }

  /**
   * At the end of the stream: when no marker came (the shell failed before the command, e.g. a
   * start-up file that exits), what it printed is the only explanation there is, so it is handed
   * over as output.
   */
  flush(): Buffer {
    if (this.#found || this.#pendingBytes === 0) return Buffer.alloc(0);
    const all = Buffer.concat(this.#pending);
    this.#pending = [];
    this.#pendingBytes = 0;
    return all;
  }
}

/**
 * The inverse of framedCommand, for SSH test peers that answer commands themselves instead of
 * running a shell: the marker and the command as it was before framing, or undefined.
 */
export function unframeCommand(line: string): { marker: string; command: string } | undefined {
  const m = /^printf '%s\\n' (ascendctl-frame-[0-9a-f]+); printf '%s\\n' \1 >&2; ([\s\S]*)$/.exec(line);
  return m ? { marker: m[1]!, command: m[2]! } : undefined;
}
