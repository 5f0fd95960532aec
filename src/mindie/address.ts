import { isIP } from 'node:net';

/**
 * Why `ip` cannot be used as a node or NPU address, or undefined when it can. Loopback is allowed on
 * purpose: the simulated cluster runs every node on 127.0.0.0/8.
 */
export function addressProblem(ip: string): string | undefined {
  if (ip.trim() === '') return 'is missing';
  // hccn_tool and hand-written tables use dashes/x's as "unknown" (`-.-.-.-`, `x.x.x.x`): MindIE's
  // "Parameter device_ip is invalid in ranktable file".
  if (/^[-x*?.:]+$/i.test(ip) || /(^|[.:])[-x*?]+([.:]|$)/i.test(ip)) return `is a placeholder ("${ip}")`;
  const family = isIP(ip);
  if (family === 0) return `is not a valid IP address ("${ip}")`;
  if (family === 4) {
    const first = Number(ip.split('.')[0]);
    if (ip === '0.0.0.0') return 'is the unspecified address 0.0.0.0';
    if (ip === '255.255.255.255') return 'is the broadcast address';
    if (first >= 224) return `is a multicast/reserved address ("${ip}")`;
    return undefined;
  }
  if (/^[0:]+$/.test(ip)) return 'is the unspecified address ::';
  if (/^ff/i.test(ip)) return `is a multicast address ("${ip}")`;
  return undefined;
}
