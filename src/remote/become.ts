/**
 * Privilege escalation for a login user that is not root (inventory `ssh.become: sudo`). One place
 * decides which remote calls need root and how sudo is asked: callers keep writing plain argv.
 *
 * sudo is run non-interactively: `sudo -n` when the user may run commands without a password, else
 * `sudo -S -p '' -k` with the password as the first line of the command's standard input (never in
 * argv, an environment variable or a log). `-k` makes sudo ask (and so read that line) every time,
 * even when it still remembers an earlier authentication, so the line never reaches the command.
 */

/**
 * Reads that work as any user. Everything else runs as root: the Ascend tools and the container
 * runtime need it, and so do files under /etc, /var/lib/ascendctl and root-owned model directories.
 */
const UNPRIVILEGED = new Set(['date', 'ss', 'ip', 'uname', 'hostname', 'nproc', 'true', 'sleep', 'echo']);

export type BecomeMode = 'nopasswd' | 'password';

/** Whether this call runs as root when the node's login user is not root. */
export function needsRoot(argv: readonly string[]): boolean {
  const cmd = argv[0] ?? '';
  return !UNPRIVILEGED.has(cmd);
}

/** The sudo words put before a call's argv (the `timeout` wrapper included, so it runs as root too). */
export function sudoPrefix(mode: BecomeMode): string[] {
  return mode === 'nopasswd' ? ['sudo', '-n', '--'] : ['sudo', '-S', '-p', '', '-k', '--'];
}

/** The password line a `password`-mode call sends ahead of its own standard input. */
export function passwordLine(password: string): Buffer {
  return Buffer.from(`${password}\n`, 'utf8');
}

export type SudoRefusal =
  | { kind: 'needs-password' }
  | { kind: 'wrong-password' }
  | { kind: 'not-allowed'; detail: string }
  | { kind: 'needs-tty' }
  | { kind: 'missing' };

/**
 * What sudo's own complaint on stderr means, or undefined when the text is not sudo's (the command
 * ran and said something). Exit status 1 is both sudo's and many commands' failure, so the text decides.
 */
export function sudoRefusal(code: number | null, stderr: string): SudoRefusal | undefined {
  if (code === 0) return undefined;
  if (code === 127 && /sudo: (command )?not found|sudo: No such file/i.test(stderr)) return { kind: 'missing' };
  if (code !== 1) return undefined;
  const text = stderr.trim();
  if (/^sudo: a password is required$/m.test(text)) return { kind: 'needs-password' };
  if (/incorrect password attempt|^sudo: no password was provided$/m.test(text)) return { kind: 'wrong-password' };
  if (/sudo: sorry, you must have a tty|a terminal is required to read the password/i.test(text)) return { kind: 'needs-tty' };
  const denied = /^(?:sudo: )?(?:Sorry, )?(?:user )?\S+ (?:is not allowed to execute .*|is not in the sudoers file.*|may not run sudo on .*)$/m.exec(text);
  if (denied) return { kind: 'not-allowed', detail: denied[0].replace(/^sudo: /, '').replace(/\s*This incident .*$/, '') };
  return undefined;
}

/**
 * Each root call runs as `sudo -n -- timeout -k 5 N <tool> …`, so that the bound is enforced as root and
 * a hung tool is killed: a sudoers rule that lists only the tools does not match it.
 */
const SUDOERS_NOTE = 'every root call runs as `sudo -- timeout -k 5 N <tool> …`, so a rule listing only the Ascend tools does not match: the rule must allow timeout, which in effect means ALL';

/** The message and next step of a refusal, naming the node and the user. */
export function describeRefusal(r: SudoRefusal, node: string, user: string, what: string): { message: string; hint: string } {
  switch (r.kind) {
    case 'needs-password':
      return {
        message: `sudo on ${node} needs a password for ${user} (to run ${what})`,
        hint: `rerun with --ask-become-pass, or allow NOPASSWD for ${user} on ${node} (/etc/sudoers.d); ${SUDOERS_NOTE}; if ${user} may not use sudo at all, give it the right or log in as root`,
      };
    case 'wrong-password':
      return { message: `sudo on ${node} rejected the password given for ${user}`, hint: 'rerun with --ask-become-pass and type the sudo password of that user' };
    case 'not-allowed':
      return {
        message: `sudo: user ${user} is not allowed to run ${what} on ${node} (${r.detail})`,
        hint: `allow ${user} to run it as root on ${node} (/etc/sudoers.d; ${SUDOERS_NOTE}), or log in as root (ssh.user)`,
      };
    case 'needs-tty':
      return {
        message: `sudo on ${node} insists on a terminal (requiretty) for ${user}`,
        hint: `add "Defaults:${user} !requiretty" to /etc/sudoers.d on ${node}`,
      };
    case 'missing':
      return { message: `sudo is not installed on ${node}, and ssh.become is sudo`, hint: `install sudo on ${node}, or log in as root (ssh.user: root, no ssh.become)` };
  }
}
