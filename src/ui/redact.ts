/**
 * Secrets a user puts in a deployment's `env:` (registry or hub tokens, passwords) reach the nodes in
 * the mode-640 env file, and `render --out` writes them to files; nothing ascendctl prints shows them.
 * A variable counts as secret by its name, as CI systems mask them.
 */
const SECRET_NAME = /(^|_)(TOKEN|SECRET|PASSWORD|PASSWD|PWD|PASS|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|CREDENTIALS?|AUTH)(_|$)/i;

export const REDACTED = '<redacted>';

export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name);
}

/** An env file (docker --env-file: NAME=value per line) with the values of secret names hidden. */
export function redactEnvFile(text: string): string {
  return text.replace(/^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/gm, (line, name: string, value: string) =>
    isSecretName(name) && value !== '' ? `${name}=${REDACTED}` : line);
}
