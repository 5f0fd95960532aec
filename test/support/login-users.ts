/**
 * Non-root login users for the sshd cluster tests (ssh.become: sudo). Users are made on this machine
 * (the nodes' /etc is a copy-on-write view of it, so create them before the cluster starts); what each
 * may do with sudo is written into one node's own /etc/sudoers.d, so nodes can differ.
 */
import { chmodSync, writeFileSync } from 'node:fs';
import { execa } from 'execa';

/** Creates `name` (bash login shell, no home needed) unless it exists, and sets its password. */
export async function ensureLoginUser(name: string, password: string): Promise<void> {
  const exists = (await execa('id', ['-u', name], { reject: false })).exitCode === 0;
  if (!exists) await execa('useradd', ['-M', '-d', '/tmp', '-s', '/bin/bash', name]);
  await execa('chpasswd', [], { input: `${name}:${password}\n` });
}

/** `nopasswd`: sudo anything without a password; `password`: anything with one; `none`: no rule at all. */
export function allowSudo(nodeRoot: string, user: string, rule: 'nopasswd' | 'password' | 'none'): void {
  const file = `${nodeRoot}/etc/sudoers.d/ascendctl-test-${user}`;
  const line = rule === 'nopasswd' ? `${user} ALL=(ALL) NOPASSWD: ALL\n` : rule === 'password' ? `${user} ALL=(ALL) ALL\n` : `# ${user}: no sudo\n`;
  writeFileSync(file, line);
  chmodSync(file, 0o440);
}
