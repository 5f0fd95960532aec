/** One check result; the `--json` shape of cli-contract.md. */
export type CheckId =
  | 'ssh'
  | 'npu-smi'
  | 'driver'
  | 'lldp'
  | 'link'
  | 'net_health'
  | 'netdetect'
  | 'gateway'
  | 'ip'
  | 'tls'
  | 'ping'
  | 'hccn.conf'
  | 'container-runtime'
  | 'image'
  | 'model'
  | 'ports'
  | 'clock'
  | 'optics'
  | 'link-flaps'
  | 'hardware'
  | 'weights'
  | 'hbm'
  | 'shm'
  | 'reach'
  | 'address';

export type Status = 'pass' | 'warn' | 'fail';

export interface Finding {
  node: string;
  npu?: number;
  check: CheckId;
  status: Status;
  message: string;
  hint?: string;
}
