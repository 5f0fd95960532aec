/** One check result; the `--json` shape of cli-contract.md. */
/** Every check id, in the order a report lists a node's findings. */
export const CHECK_IDS = [
  'ssh', 'clock', 'driver', 'npu-smi', 'container-runtime', 'image', 'model', 'ports', 'hccn.conf',
  'ip', 'link', 'net_health', 'lldp', 'netdetect', 'gateway', 'tls', 'ping',
  'hardware', 'optics', 'link-flaps',
  'address', 'reach', 'weights', 'shm', 'hbm',
] as const;

export type CheckId = (typeof CHECK_IDS)[number];

export type Status = 'pass' | 'warn' | 'fail';

export interface Finding {
  node: string;
  npu?: number;
  check: CheckId;
  status: Status;
  message: string;
  hint?: string;
}
