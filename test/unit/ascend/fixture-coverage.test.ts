/**
 * Every file in fixtures/ascend/ runs through the parser that owns it, with the key facts it must
 * yield; a walk of the directory fails when a fixture has no entry here (or an entry lost its file).
 */
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  classifyHccnResult,
  parseGateway,
  parseIp,
  parseLink,
  parseLinkStat,
  parseLldp,
  parseNetdetect,
  parseNetHealth,
  parseOptical,
  parsePing,
  parseTls,
  pingLoss,
} from '../../../src/ascend/hccn-tool.js';
import { parseHccnConf } from '../../../src/ascend/hccn-conf.js';
import {
  isLegacy910,
  npuSmiErrorText,
  parseNpuSmiInfo,
  parseNpuSmiKeyValues,
  parseNpuSmiMapping,
} from '../../../src/ascend/npu-smi.js';
import {
  driverVersionFrom,
  installPathFrom,
  parseKeyValueFile,
} from '../../../src/ascend/version-info.js';
import { FIXTURE_DIR, fixture, keyValues, must, splitLoopOutput } from './helpers.js';

type Check = (text: string) => void;

const ipOf = (doc: string): string => must(parseIp(doc)).address;

const COVERAGE: Record<string, Check> = {
  // ---- hccn_tool: errors and busy (§2.2) ----
  'hccn_busy_stdout_DERIVED.txt': (t) => {
    expect(classifyHccnResult({ stdout: t, stderr: '', code: 11, timedOut: false })).toEqual({ kind: 'busy' });
    // The sentence alone with a non-zero exit is busy too.
    expect(classifyHccnResult({ stdout: t, stderr: '', code: 1, timedOut: false }).kind).toBe('busy');
  },
  'hccn_dsmi_exec_failed_stderr_DERIVED.txt': (t) => {
    expect(classifyHccnResult({ stdout: '', stderr: t, code: 1, timedOut: false })).toMatchObject({
      kind: 'error',
      code: 1,
      message: 'Command execute failed!',
      reason: 'dsmi',
    });
  },
  'hccn_gateway_g_not_preset_stderr_DERIVED.txt': (t) => {
    expect(classifyHccnResult({ stdout: '', stderr: t, code: 2, timedOut: false })).toMatchObject({
      kind: 'error',
      reason: 'no-gateway',
      message: 'Get gateway failed, because no gateway was preset there!',
    });
  },
  'hccn_invalid_device_id_stderr_DERIVED.txt': (t) => {
    expect(classifyHccnResult({ stdout: '', stderr: t, code: 4, timedOut: false })).toMatchObject({
      kind: 'error',
      reason: 'invalid-device',
    });
  },
  'hccn_ip_g_not_configured_stderr_DERIVED.txt': (t) => {
    expect(classifyHccnResult({ stdout: '', stderr: t, code: 13, timedOut: false })).toMatchObject({
      kind: 'error',
      code: 13,
      reason: 'no-ip',
    });
  },

  // ---- -link -g ----
  'hccn_link_g_up.txt': (t) => expect(must(parseLink(t))).toBe('UP'),
  'hccn_link_g_down.txt': (t) => expect(must(parseLink(t))).toBe('DOWN'),

  // ---- -net_health -g ----
  'hccn_net_health_g_success.txt': (t) => expect(must(parseNetHealth(t))).toEqual({ value: 'Success', raw: 'Success' }),
  'hccn_net_health_g_init.txt': (t) => expect(must(parseNetHealth(t)).value).toBe('Init'),
  'hccn_net_health_g_fault.txt': (t) => expect(must(parseNetHealth(t)).value).toBe('Fault'),
  'hccn_net_health_socket_failed_910A_fixture.txt': (t) =>
    expect(must(parseNetHealth(t))).toEqual({ value: 'Socket fail', raw: 'Socket failed' }),
  'hccn_net_health_g_all_values_DERIVED.txt': (t) => {
    const values = splitLoopOutput(t, 'net_health').map((d) => must(parseNetHealth(d)).value);
    expect(values).toEqual([
      'Success',
      'Socket fail',
      'Receive timeout',
      'Unreachable',
      'Time exceeded',
      'Fault',
      'Init',
      'Thread error',
      'Detect ip set',
      'Unknown',
    ]);
  },

  // ---- -netdetect -g ----
  'hccn_netdetect_g_deepseekv3doc.txt': (t) => expect(must(parseNetdetect(t)).address).toBe('11.12.165.1'),
  'hccn_netdetect_g_current_source_DERIVED.txt': (t) => expect(must(parseNetdetect(t)).address).toBe('11.12.165.1'),

  // ---- -gateway -g ----
  'hccn_gateway_g_8npu_loop_deepseekv3doc.txt': (t) => {
    const gws = splitLoopOutput(t, 'gateway').map((d) => must(parseGateway(d)));
    expect(gws).toHaveLength(8);
    gws.forEach((g, i) => expect(g).toEqual({ gateway: '11.12.165.1', iface: `eth${i}` }));
  },

  // ---- -ip -g ----
  'hccn_ip_g_8npu_loop_deepseekv3doc.txt': (t) => {
    const docs = splitLoopOutput(t, 'ip');
    expect(docs.map(ipOf)).toEqual([80, 81, 82, 83, 84, 85, 86, 87].map((n) => `11.12.165.${n}`));
    expect(must(parseIp(docs[7] ?? '')).netmask).toBe('255.255.255.0');
  },
  'hccn_ip_g_arthurchiao.txt': (t) =>
    expect(must(parseIp(t))).toEqual({ family: 'inet', address: '29.1.112.213', netmask: '255.255.0.0' }),
  'hccn_ip_g_single_910a_fixture.txt': (t) =>
    expect(must(parseIp(t))).toEqual({ family: 'inet', address: '192.161.200.10', netmask: '255.255.255.0' }),

  // ---- -tls ----
  'hccn_tls_g_grep_switch_8npu_loop_deepseekv3doc.txt': (t) => {
    const infos = splitLoopOutput(t, 'tls').map((d) => must(parseTls(d)));
    expect(infos.map((i) => i.devId)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    for (const i of infos) {
      expect(i).toMatchObject({ switch: 0, preconfigured: 1, alarmThresholdDays: 60, certs: [] });
    }
  },
  'hccn_tls_g_full_certs_950doc.txt': (t) => {
    const info = must(parseTls(t));
    expect(info).toMatchObject({ devId: 0, switch: 0, preconfigured: 0, alarmThresholdDays: 60 });
    expect(info.certs.map((c) => c.name)).toEqual(['pub cert', 'ca1 cert', 'ca2 cert', 'crl']);
    expect(info.certs[0]).toEqual({
      name: 'pub cert',
      subject: '/C=CN/O=xxx/CN=www.xxx.com',
      issuer: '/C=CN/O=xxx/CN=xxx RSA PSS Sub CA',
      startTime: 'Sat Jan 31 03:10:27 2026 GMT',
      endTime: 'Wed Jun 18 03:10:27 2053 GMT',
      expirationCode: 0,
      expiration: 'normal',
    });
    expect(info.certs[3]).toMatchObject({ subject: '', expiration: 'near-expiration' });
  },
  'hccn_tls_s_enable_0_deepseekv3doc.txt': (t) => {
    expect(classifyHccnResult({ stdout: t, stderr: '', code: 0, timedOut: false })).toEqual({ kind: 'ok', stdout: t });
    expect(t.trim()).toBe('Cmd executed successfully!');
  },

  // ---- -lldp -g ----
  'hccn_lldp_grep_ifname_8npu_deepseekv3doc.txt': (t) => {
    const ports = splitLoopOutput(t, 'lldp').map((d) => must(parseLldp(d)).ifname);
    expect(ports).toEqual([
      '400GE1/1/5:1',
      '400GE1/1/5:2',
      '400GE1/2/5:1',
      '400GE1/2/5:2',
      '400GE1/3/5:1',
      '400GE1/3/5:2',
      '400GE1/4/5:1',
      '400GE1/4/5:2',
    ]);
  },
  'hccn_lldp_g_partial_arthurchiao.txt': (t) => {
    const l = must(parseLldp(t));
    expect(l).toMatchObject({ neighbour: true, ifname: '400GE1/1/20:2', peerKind: 'switch' });
    expect(l.systemName).toBeUndefined();
    expect(l.systemDescription).toContain('Huarong DX511');
  },
  'hccn_lldp_g_full_RECONSTRUCTED.txt': (t) => {
    expect(must(parseLldp(t))).toMatchObject({
      neighbour: true,
      ifname: '400GE1/1/5:1',
      systemName: 'ROCE-LEAF-01',
      peerKind: 'switch',
      managementAddress: '192.168.100.1',
    });
  },

  // ---- -ping -g ----
  'hccn_ping_g_8npu_loop_success_deepseekv3doc.txt': (t) => {
    const runs = splitLoopOutput(t, 'ping').map((d) => must(parsePing(d)));
    expect(runs.map((r) => r.device)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    for (const r of runs) {
      expect(r.target).toBe('11.12.165.80');
      expect(r.probes).toHaveLength(3);
      expect(pingLoss(r, 0)).toMatchObject({ loss: false, source: 'summary', lossPercent: 0 });
    }
    expect(runs[7]?.probes[0]?.timeMs).toBeCloseTo(0.157);
  },
  'hccn_ping_g_success_arthurchiao.txt': (t) => {
    const r = must(parsePing(t));
    expect(r).toMatchObject({ device: 3, target: '29.1.137.205', summary: { transmitted: 3, received: 3 } });
    expect(r.probes.map((p) => p.timeMs)).toEqual([1.418, 0.034, 0.04]);
  },
  'hccn_ping_g_success_mindie_doc.txt': (t) => {
    // `time-0.049000ms` is a transcription typo; it must not abort the parse.
    const r = must(parsePing(t));
    expect(r.probes.map((p) => p.seq)).toEqual([0, 1, 2]);
    expect(r.summary).toEqual({ transmitted: 3, received: 3, lossPercent: 0 });
    expect(pingLoss(r, 0).loss).toBe(false);
  },
  'hccn_ping_g_total_loss_stdout_RECONSTRUCTED.txt': (t) => {
    const r = must(parsePing(t));
    expect(r.lostSeqs).toEqual([0, 1, 2]);
    expect(pingLoss(r, 1)).toEqual({
      loss: true,
      source: 'summary',
      transmitted: 3,
      received: 0,
      lossPercent: 100,
      lostSeqs: [0, 1, 2],
    });
  },
  'hccn_ping_g_total_loss_stderr_DERIVED.txt': (t) => {
    const stdout = fixture('hccn_ping_g_total_loss_stdout_RECONSTRUCTED.txt');
    const outcome = classifyHccnResult({ stdout, stderr: t, code: 1, timedOut: false });
    expect(outcome).toMatchObject({ kind: 'error', code: 1, reason: 'dsmi', stdout });
    // Without stdout the exit status decides.
    expect(pingLoss(null, 1)).toEqual({ loss: true, source: 'exit-status', lostSeqs: [] });
  },

  // ---- extra read-only commands ----
  'hccn_link_stat_g_fixture.txt': (t) => {
    const s = must(parseLinkStat(t));
    expect(s).toMatchObject({ device: 0, currentTime: 'Wed Aug  2 03:36:43 2022', linkUpCount: 2 });
    expect(s.events.map((e) => e.state)).toEqual(['DOWN', 'UP', 'DOWN', 'UP']);
    expect(s.events[0]?.time).toBe('Tue Aug  1 14:44:40 2022');
  },
  'hccn_link_stat_g_mindcluster_doc.txt': (t) => {
    const s = must(parseLinkStat(t));
    expect(s).toMatchObject({ device: 0, linkUpCount: 2 });
    expect(s.events.map((e) => e.state)).toEqual(['UP', 'DOWN', 'UP']);
  },
  'hccn_optical_g_910a_fixture.txt': (t) => {
    const o = must(parseOptical(t));
    expect(o.present).toBe(false);
    expect(o.temperatureC).toBe(47);
    expect(o.txPowerMw).toEqual([4.4035, 1.3968, 1.414, 1.4988]);
    expect(o.rxPowerMw).toEqual([1.0189, 0.0054, 0.9907, 1.0213]);
    expect(o.fields['vendor name']).toBe('Hisense');
    expect(o.fields['Media SNR Lane3']).toBe('23.2969 dB');
  },
  // No parser reads -fec (ascendctl only names the command in a hint): the output is a success as §2.2 classifies it.
  'hccn_fec_g_no_fec_fixture.txt': (t) => expect(classifyHccnResult({ stdout: t, stderr: '', code: 0, timedOut: false })).toEqual({ kind: 'ok', stdout: 'fec mode: no FEC mode\n' }),

  // ---- /etc/hccn.conf ----
  'hccn_conf_8npu_elided_arthurchiao.txt': (t) => {
    const c = parseHccnConf(t);
    expect(c.elided).toBe(true);
    expect(Object.keys(c.devices)).toEqual(['0', '7']);
    expect(c.devices[7]).toEqual({
      address: '29.1.170.143',
      netmask: '255.255.0.0',
      netdetect: '29.1.0.1',
      gateway: '29.1.0.1',
      send_arp_status: '1',
    });
    expect(c.other).toEqual([]);
  },
  'hccn_conf_8npu_openyuanrong-mock.txt': (t) => {
    const c = parseHccnConf(t);
    expect(Object.keys(c.devices)).toHaveLength(8);
    expect(c.devices[3]?.address).toBe('127.0.0.190');
    for (const d of Object.values(c.devices)) expect(d.tls_enable).toBe('0');
  },

  // ---- npu-smi info ----
  'npu_smi_info_910b3_8card_noprocs_25.2.0_vllm-ascend-3114.txt': (t) => {
    const i = must(parseNpuSmiInfo(t));
    expect(i).toMatchObject({ version: '25.2.0', layout: 'a2', elided: false, processes: [], unparsed: [] });
    expect(i.npus.map((n) => n.id)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(i.idleNpus).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(i.npus[0]).toEqual({
      id: 0,
      name: '910B3',
      health: 'OK',
      powerW: 99.3,
      tempC: 41,
      hugepages: { used: 0, total: 0 },
      chips: [{ chip: 0, busId: '0000:C1:00.0', aicore: 0, memory: { used: 0, total: 0 }, hbm: { used: 3378, total: 65536 } }],
    });
    expect(isLegacy910(i)).toBe(false);
  },
  'npu_smi_info_910b3_8card_withprocs_25.3.rc1_vllm-ascend-3998.txt': (t) => {
    const i = must(parseNpuSmiInfo(t));
    expect(i.version).toBe('25.3.rc1');
    expect(i.processes).toHaveLength(16);
    expect(i.idleNpus).toEqual([]);
    expect(i.processes?.filter((p) => p.npu === 2).map((p) => p.pid)).toEqual([2701552, 2698911]);
    expect(i.processes?.every((p) => p.name === '' && p.containerPid === undefined)).toBe(true);
    expect(i.processes?.[0]).toEqual({ npu: 0, chip: 0, pid: 2698909, name: '', memoryMb: 600 });
    expect(i.unparsed).toEqual([]);
  },
  'npu_smi_info_910b3_8card_24.1.rc1.b030_ms-swift_noproctable.txt': (t) => {
    const i = must(parseNpuSmiInfo(t));
    expect(i).toMatchObject({ version: '24.1.rc1.b030', processes: null, layout: 'a2' });
    expect(i.npus).toHaveLength(8);
    expect(i.npus[6]?.powerW).toBe(103.8);
  },
  'npu_smi_info_910b1_2visible_procname_24.1.0.3_vllm-ascend-issue.txt': (t) => {
    const i = must(parseNpuSmiInfo(t));
    expect(i.npus.map((n) => n.id)).toEqual([5, 7]);
    expect(i.npus[0]?.chips[0]?.hbm).toEqual({ used: 59499, total: 65536 });
    expect(i.processes).toEqual([{ npu: 5, chip: 0, pid: 2865645, name: 'VLLMEngineCor', memoryMb: 56131 }]);
    expect(i.idleNpus).toEqual([7]);
  },
  'npu_smi_info_910b1_8card_elided_23.0.rc2_arthurchiao.txt': (t) => {
    const i = must(parseNpuSmiInfo(t));
    expect(i).toMatchObject({ elided: true, processes: null, version: '23.0.rc2' });
    expect(i.npus.map((n) => n.id)).toEqual([0, 1, 7]);
    expect(i.npus[2]?.chips[0]?.hbm.used).toBe(4174);
  },
  'npu_smi_info_LEGACY910_named910B_8card_24.1.0_longllovers.txt': (t) => {
    const i = must(parseNpuSmiInfo(t));
    expect(i.npus.every((n) => n.name === '910B')).toBe(true);
    expect(i.npus[0]?.chips[0]?.memory).toEqual({ used: 2382, total: 15038 });
    expect(isLegacy910(i)).toBe(true);
  },
  'npu_smi_info_910a_4card_health_warning_23.0.rc1_openyuanrong-mock.txt': (t) => {
    const i = must(parseNpuSmiInfo(t));
    expect(i).toMatchObject({ layout: 'narrow-910a', version: '23.0.rc1.b070', unparsed: [] });
    expect(i.npus.map((n) => n.health)).toEqual(['Warning', 'Warning', 'Warning', 'Warning']);
    expect(i.npus[2]?.chips[0]?.hbm).toEqual({ used: 30750, total: 32768 });
    expect(i.npus[3]?.chips[0]?.memory).toEqual({ used: 2777, total: 15039 });
    expect(i.idleNpus).toEqual([0]);
  },
  'npu_smi_info_invalid_card_id_fixture.txt': (t) => {
    expect(npuSmiErrorText(t)).toBe('Invalid card id.');
    expect(npuSmiErrorText('', t)).toBe('Invalid card id.');
    expect(parseNpuSmiInfo(t)).toEqual({ ok: false, error: 'Invalid card id.' });
  },

  // ---- npu-smi key/value forms (read by parseNpuSmiKeyValues, §4.3) ----
  'npu_smi_info_t_board_i0_910b_0xD802_telegraf-fixture.txt': (t) => {
    expect(keyValues(t)).toMatchObject({
      'NPU ID': '0',
      'PCI Device ID': '0xD802',
      'Product Name': 'IT21HMDC_Bin5',
      'Software Version': '25.5.1',
      'Firmware Version': '7.8.0.6.201',
      'Chip Count': '1',
    });
  },
  'npu_smi_info_t_board_i2_910b2c_partial_user-notes.txt': (t) => {
    const b = keyValues(t);
    expect(b).toMatchObject({ 'NPU ID': '2', 'Product Name': 'IT21HMDB02-B2', 'Software Version': '25.2.0', 'PCB ID': 'A' });
    expect(b['PCI Device ID']).toBeUndefined();
  },
  'npu_smi_info_t_board_i0_c0_A2_910b4_partial_doc.txt': (t) => {
    expect(keyValues(t)).toEqual({ 'NPU ID': '0', 'Chip ID': '0', 'Chip Type': 'Ascend', 'Chip Name': '910B4' });
  },
  'npu_smi_info_t_board_i0_c0_A3_partial_doc.txt': (t) => {
    expect(keyValues(t)).toEqual({ 'NPU ID': '0', 'NPU Name': '9392', 'Chip ID': '0', 'Chip Name': 'Ascend910' });
  },
  'npu_smi_info_t_board_i0_910a_fixture.txt': (t) => {
    expect(keyValues(t)).toMatchObject({ 'PCI Device ID': '0xD801', 'Software Version': '23.0.5', 'Chip Count': '1', 'PCIe Bus Info': '0000:61:00.0' });
  },
  'npu_smi_info_t_board_i0_c0_910a_fixture.txt': (t) => {
    const b = keyValues(t);
    expect(b).toMatchObject({ 'Chip Type': 'Ascend', 'Chip Name': '910A' });
    expect(b['VDie ID']).toBe('42C711D4 20B03704 4A10C8D4 14CC040A D2102003');
  },
  'npu_smi_info_t_usages_i0_910a_fixture.txt': (t) => {
    const kv = parseNpuSmiKeyValues(t);
    expect(kv.groups).toHaveLength(2);
    expect(kv.groups[0]).toEqual({ 'NPU ID': '0', 'Chip Count': '1' });
    expect(kv.groups[1]?.['HBM Capacity(MB)']).toBe('31129');
    expect(kv.groups[1]?.['Chip ID']).toBe('0');
  },
  'npu_smi_info_m_910a_8card_fixture.txt': (t) => {
    const rows = must(parseNpuSmiMapping(t));
    expect(rows).toHaveLength(8);
    expect(rows[7]).toEqual({ npuId: 7, chipId: 0, chipLogicId: 7, chipName: 'Ascend 910A' });
  },
  'npu_smi_info_l_8card_telegraf-fixture.txt': (t) => {
    const kv = parseNpuSmiKeyValues(t);
    expect(kv.groups[0]).toEqual({ 'Total Count': '8' });
    expect(kv.groups.slice(1)).toEqual([0, 1, 2, 3, 4, 5, 6, 7].map((npu) => ({ 'NPU ID': String(npu), 'Chip Count': '1' })));
  },
  'npu_smi_info_t_health_ok_910a_fixture.txt': (t) => {
    expect(keyValues(t)).toEqual({ 'Health Status': 'OK', 'Error Code': 'NA', 'Error Information': 'NA' });
  },
  'npu_smi_info_t_health_alarm_910a_fixture.txt': (t) => {
    const h = keyValues(t);
    expect(h['Health Status']).toBe('Alarm');
    expect(h['Error Code']).toBe('A4025021 8C03A000 8C084E00');
    // The continuation lines (empty key) join their entry across the blank lines between them.
    const info = h['Error Information']!.split('\n');
    expect(info).toHaveLength(3);
    expect(info[2]).toBe('node type=adda, sensor type=Heartbeat Sensor, event state=Heartbeat Lost.');
  },
  'npu_smi_v_official_doc_placeholder.txt': (t) => expect(keyValues(t)).toEqual({ 'npu-smi version': 'x.x.x' }),

  // ---- version files ----
  'driver_version_info_23.0.7_fixture.txt': (t) => {
    const kv = parseKeyValueFile(t);
    expect(driverVersionFrom(kv)).toBe('23.0.7');
    expect(kv['compatible_version_fw']).toBe('[7.0.0,7.1.99]');
  },
  'driver_version_info_24.1.rc1_mindcluster-doc.txt': (t) => {
    const kv = parseKeyValueFile(t);
    expect(kv['package_version']).toBeUndefined();
    expect(driverVersionFrom(kv)).toBe('24.1.rc1');
  },
  'driver_version_info_24.1.rc2.2.txt': (t) => expect(driverVersionFrom(parseKeyValueFile(t))).toBe('24.1.rc2.2'),
  'driver_version_info_25.0.rc1.1_800IA2.txt': (t) => {
    const kv = parseKeyValueFile(t);
    expect(driverVersionFrom(kv)).toBe('25.0.rc1.1');
    expect(kv['Innerversion']).toBe('V100R001C21SPC002B220');
  },
  'firmware_version_info_7.7.0.1.231_800IA2.txt': (t) => {
    const kv = parseKeyValueFile(t);
    expect(kv['Version']).toBe('7.7.0.1.231');
    expect(kv['compatible_version_drv']).toBe('[23.0.0,23.0.0.],[24.0,24.0.],[24.1,24.1.],[25.0,25.0.]');
  },
  'ascend_install_info_variant_A.txt': (t) => {
    const kv = parseKeyValueFile(t);
    expect(installPathFrom(kv)).toBe('/usr/local/Ascend');
    expect(kv['Firmware_Install_Path_Param']).toBe('/usr/local/Ascend');
    expect(kv['Driver_Install_For_All']).toBe('yes');
  },
  'ascend_install_info_variant_B.txt': (t) => {
    const kv = parseKeyValueFile(t);
    expect(installPathFrom(kv)).toBe('/usr/local/Ascend');
    expect(kv['Driver_Install_Mode']).toBe('normal');
  },
  'ascend_install_info_variant_C_dockerfile-synthesized.txt': (t) => {
    const kv = parseKeyValueFile(t);
    expect(kv).toMatchObject({ Driver_Install_Status: 'complete', Driver_Install_For_All: 'no' });
    expect(installPathFrom(kv)).toBe('/usr/local/Ascend');
  },
};

describe('fixtures/ascend coverage', () => {
  const files = readdirSync(FIXTURE_DIR).filter((f) => f.endsWith('.txt'));

  it('has a parser test for every fixture file, and every entry names an existing file', () => {
    expect(files.length).toBeGreaterThan(50);
    expect(files.filter((f) => !(f in COVERAGE))).toEqual([]);
    expect(Object.keys(COVERAGE).filter((f) => !files.includes(f))).toEqual([]);
  });

  it.each(Object.keys(COVERAGE))('%s', (file) => {
    COVERAGE[file]?.(fixture(file));
  });
});
