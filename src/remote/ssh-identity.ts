/**
 * Turns an endpoint's identity settings into the list of ssh2 authentication attempts, in the
 * order OpenSSH would try them: each identity file, then the agent. Problems that no server can fix
 * (missing file, passphrase-protected key with no agent) are reported before any packet is sent.
 */
import { readFile } from 'node:fs/promises';
import ssh2 from 'ssh2';
import type { AnyAuthMethod, ParsedKey } from 'ssh2';
import { configFileOf, type SshEndpoint } from './endpoint.js';
import { fileStamp } from './file-stamp.js';
import { RemoteError } from './transport.js';

export type AuthSettings = Pick<SshEndpoint, 'user' | 'identityFiles' | 'useAgent' | 'agentSocket' | 'configFile'>;

export interface AuthPlan {
  methods: AnyAuthMethod[];
  /** Human-readable list for the "authentication failed" message ("publickey /root/.ssh/id_ed25519", "agent"). */
  tried: string[];
}

/**
 * Keys read without a passphrase, by file, with the file's identity when read: every node of a run
 * usually names the same key, and parsing it once per connection is CPU on the path to the first
 * packet. A file that changed on disk (inode, size, times) is read again.
 */
const parsedKeys = new Map<string, { stamp: string; key: ParsedKey }>();

function isEncryptedKeyError(err: Error): boolean {
  return /encrypted|passphrase/i.test(err.message);
}

export async function loadAuthMethods(
  settings: AuthSettings,
  node: string,
  label: string,
  env: NodeJS.ProcessEnv,
  askPassphrase?: (file: string) => Promise<string>,
): Promise<AuthPlan> {
  const methods: AnyAuthMethod[] = [];
  const tried: string[] = [];
  const agent = settings.useAgent ? settings.agentSocket ?? env.SSH_AUTH_SOCK : undefined;

  for (const file of settings.identityFiles) {
    const stamp = await fileStamp(file);
    const known = parsedKeys.get(file);
    if (stamp !== undefined && known?.stamp === stamp) {
      methods.push({ type: 'publickey', username: settings.user, key: known.key });
      tried.push(`publickey ${file}`);
      continue;
    }
    let data: Buffer;
    try {
      data = await readFile(file);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const what = code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? String(err)})`;
      throw new RemoteError(
        'config',
        node,
        `identity file ${file} for ${label} ${what}`,
        `set ssh.identityFile in ${configFileOf(settings)} to an existing private key, or remove it to use ssh-agent`,
        err,
      );
    }
    let parsed = ssh2.utils.parseKey(data);
    let askedPassphrase = false;
    if (parsed instanceof Error && isEncryptedKeyError(parsed)) {
      // The agent most likely holds the decrypted key (ssh-add): let it answer instead of asking.
      if (agent !== undefined) continue;
      if (!askPassphrase) {
        throw new RemoteError(
          'config',
          node,
          `identity file ${file} for ${label} is protected by a passphrase, and there is no terminal to ask for it`,
          `load it into ssh-agent (ssh-add ${file}) and make sure $SSH_AUTH_SOCK is set, run ascendctl on a terminal, or use a key without a passphrase`,
          parsed,
        );
      }
      askedPassphrase = true;
      parsed = ssh2.utils.parseKey(data, await askPassphrase(file));
      if (parsed instanceof Error) {
        throw new RemoteError(
          'config',
          node,
          `the passphrase given for identity file ${file} (${label}) does not decrypt it`,
          `run again and type the key's passphrase, or load the key into ssh-agent (ssh-add ${file})`,
          parsed,
        );
      }
    }
    if (parsed instanceof Error) {
      throw new RemoteError(
        'config',
        node,
        `identity file ${file} for ${label} is not a private key ssh2 can read: ${parsed.message}`,
        'point ssh.identityFile at an OpenSSH or PEM private key (not the .pub file)',
        parsed,
      );
    }
    const key: ParsedKey | undefined = Array.isArray(parsed) ? parsed[0] : parsed;
    if (key === undefined || !key.isPrivateKey()) {
      throw new RemoteError(
        'config',
        node,
        `identity file ${file} for ${label} holds no private key`,
        'point ssh.identityFile at the private key, not the .pub file',
      );
    }
    if (!askedPassphrase && stamp !== undefined) parsedKeys.set(file, { stamp, key });
    methods.push({ type: 'publickey', username: settings.user, key });
    tried.push(`publickey ${file}`);
  }

  if (agent !== undefined && agent !== '') {
    methods.push({ type: 'agent', username: settings.user, agent });
    tried.push(`ssh-agent (${agent})`);
  }

  if (methods.length === 0) {
    throw new RemoteError(
      'config',
      node,
      `no way to authenticate to ${label}: no identity file${settings.useAgent ? ' and $SSH_AUTH_SOCK is not set' : ' and ssh-agent is not used'}`,
      `set ssh.identityFile in ${configFileOf(settings)}, or start ssh-agent and ssh-add your key`,
    );
  }
  return { methods, tried };
}
