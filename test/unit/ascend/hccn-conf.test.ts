import { describe, expect, it } from 'vitest';
import { parseHccnConf } from '../../../src/ascend/hccn-conf.js';

describe('parseHccnConf', () => {
  it('splits the device id off the last `_<digits>=` and keeps unknown names', () => {
    const c = parseHccnConf(
      [
        'address_12=10.0.0.12',
        'send_arp_status_12=1',
        'IPv6address_3=fd00::3',
        'udp_port_mode_3=0',
        'mtu_3=4200',
        'lldp_portid_type_3=1',
      ].join('\n'),
    );
    expect(c.devices[12]).toEqual({ address: '10.0.0.12', send_arp_status: '1' });
    expect(c.devices[3]).toEqual({ IPv6address: 'fd00::3', udp_port_mode: '0', mtu: '4200', lldp_portid_type: '1' });
    expect(c.other).toEqual([]);
  });

  it('keeps route and arp entries as other lines; ignores blanks, CRLF and `...`', () => {
    const c = parseHccnConf(
      'address_0=10.0.0.1\r\n\r\nroute_address_10.1.0.0_netmask_255.255.0.0_0=gateway_10.0.0.254\r\narp_0=-i eth0 -s 10.0.0.9 aa:bb:cc:dd:ee:ff\r\n...\r\n',
    );
    expect(c.devices).toEqual({ 0: { address: '10.0.0.1' } });
    expect(c.other).toEqual([
      'route_address_10.1.0.0_netmask_255.255.0.0_0=gateway_10.0.0.254',
      'arp_0=-i eth0 -s 10.0.0.9 aa:bb:cc:dd:ee:ff',
    ]);
    expect(c.elided).toBe(true);
  });

  it('a three-digit id or a line without `=` is not a device setting', () => {
    const c = parseHccnConf('address_100=1.2.3.4\ngarbage\n');
    expect(c.devices).toEqual({});
    expect(c.other).toEqual(['address_100=1.2.3.4', 'garbage']);
  });

  it('empty file: no devices', () => {
    expect(parseHccnConf('')).toEqual({ devices: {}, other: [], elided: false });
  });
});
