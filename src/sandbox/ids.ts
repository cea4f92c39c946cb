/**
 * Mattermost-style ids for the fake server: 26 characters of lowercase base32 in the
 * alphabet `model.NewId()` uses. Seeded objects get ids derived from their names so
 * tests (and people reading logs) see the same ids on every run.
 */
import { createHash, randomBytes } from 'node:crypto';

const ALPHABET = 'ybndrfg8ejkmcpqxot1uwisza345h769';

function encode(bytes: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5 && out.length < 26) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= 0xff;
  }
  return out.slice(0, 26);
}

/** A stable 26-char id derived from `name` (e.g. `idFor('user:alice')`). */
export function idFor(name: string): string {
  return encode(createHash('sha256').update(`mmops-sandbox:${name}`).digest());
}

/** A fresh random 26-char id. */
export function newId(): string {
  return encode(randomBytes(20));
}
