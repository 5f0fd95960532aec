/**
 * /etc/hccn.conf (ascend-tools.md §3): `<name>_<phy_id>=<value>` lines written by hccn_tool set commands.
 * Pure; the `hccn.conf` check compares the result with what `-ip -g` / `-tls -g` report.
 */
import { lines } from './parse-result.js';

export const HCCN_CONF_PATH = '/etc/hccn.conf';

export interface HccnConfDevice {
  address?: string;
  netmask?: string;
  netdetect?: string;
  gateway?: string;
  send_arp_status?: string;
  tls_enable?: string;
  /** Other names (`mtu`, `roce_port`, `IPv6address`, …) are kept as written, not rejected. */
  [name: string]: string | undefined;
}

export interface HccnConf {
  devices: Record<number, HccnConfDevice>;
  /** Lines that name no device: route entries (`route_address_<ip>_netmask_…`), `arp_<n>=` entries. */
  other: string[];
  /** A `...` line replaced some lines (published captures only). */
  elided: boolean;
}

// The lazy name plus the 1–2 digits right before `=`: `send_arp_status_7=1` → (send_arp_status, 7).
// Names cannot contain dots, so route entries fall through to `other`.
const SETTING = /^([A-Za-z][A-Za-z0-9_]*?)_(\d{1,2})=(.*)$/;

export function parseHccnConf(text: string): HccnConf {
  const conf: HccnConf = { devices: {}, other: [], elided: false };
  for (const raw of lines(text)) {
    const l = raw.trim();
    if (l === '' || l.startsWith('#')) continue;
    if (/^\.{3,}$/.test(l)) {
      conf.elided = true;
      continue;
    }
    const m = SETTING.exec(l);
    // `arp_<n>` (A3 hosts) counts static ARP entries, not devices: its value names the port itself.
    if (!m || m[1] === 'arp') {
      conf.other.push(l);
      continue;
    }
    const dev = Number(m[2]);
    const device = (conf.devices[dev] ??= {});
    device[m[1] ?? ''] = m[3] ?? '';
  }
  return conf;
}
