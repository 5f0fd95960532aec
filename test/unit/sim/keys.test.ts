import ssh2 from 'ssh2';
import { describe, expect, it } from 'vitest';
import { generateEd25519, generateHostKey } from '../../../src/sim/ssh-server.js';

// ssh2's generator drops the leading zero bytes of an ed25519 public key, so about one key in 256
// is 31 bytes and unusable; CI once failed on such a demo client key. 3,000 keys make it all but
// certain that the bad case comes up at least once (1 - (255/256)^3000 > 99.99 %).
describe('simulator key generation', () => {
  it('every generated ed25519 key pair parses, public and private, and carries a 32-byte key', () => {
    for (let i = 0; i < 3000; i++) {
      const k = i % 2 ? generateEd25519() : generateHostKey();
      const pub = ssh2.utils.parseKey(k.public);
      const priv = ssh2.utils.parseKey(k.private);
      if (pub instanceof Error || priv instanceof Error) throw new Error(`key ${i} does not parse: ${k.public}`);
      const blob = (Array.isArray(pub) ? pub[0]! : pub).getPublicSSH();
      expect(blob.length).toBe(51);
      expect((Array.isArray(priv) ? priv[0]! : priv).getPublicSSH().equals(blob)).toBe(true);
    }
  });
});
