import type { SimNode } from './ascend-node.js';
import type { SimIo } from './types.js';

/** What a command of the program table gets besides its arguments (Shell in shell.ts implements it). */
export interface ArgvContext {
  readonly node: SimNode;
  /** An absolute path for `p`, relative ones against the login directory. */
  resolvePath(p: string): string;
  /** Run another argv through the table (`timeout`, `sudo`, `find -exec`). */
  exec(argv: string[], io: SimIo): Promise<number>;
  /** Run a command line of simple commands (`sh -c`), as the login shell does. */
  run(line: string, io: SimIo): Promise<number>;
}
