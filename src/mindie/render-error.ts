import { UserError, type ExitCode } from '../errors.js';

export interface RenderErrorOptions {
  hint?: string;
  /** Node name the problem belongs to, when there is one. */
  node?: string;
  /** NPU (device_id) the problem belongs to, when there is one. */
  npu?: number;
  /** Where the bad value came from: `limits.maxSeqLen`, `mindieConfig.ServerConfig.httpsEnabled`, `env.WORLD_SIZE`, … */
  path?: string;
  /** The problem is in the NPU addresses given to the renderer: the caller knows where they came from. */
  deviceIps?: boolean;
  /** 2 (bad input) unless the caller knows the data came from the cluster (then 1). */
  exitCode?: Extract<ExitCode, 1 | 2>;
}

/** The renderers refuse to produce files MindIE would reject; this says which node/NPU/key and why. */
export class RenderError extends UserError {
  readonly node: string | undefined;
  readonly npu: number | undefined;
  readonly path: string | undefined;
  readonly deviceIps: boolean;

  constructor(message: string, opts: RenderErrorOptions = {}) {
    super(message, { hint: opts.hint, exitCode: opts.exitCode ?? 2 });
    this.name = 'RenderError';
    this.node = opts.node;
    this.npu = opts.npu;
    this.path = opts.path;
    this.deviceIps = opts.deviceIps ?? false;
  }
}
