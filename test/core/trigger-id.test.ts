import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseSigningKey, safeEqual, verifyTriggerId } from '../../src/core/trigger-id.js';
import { createTriggerSigner } from '../../src/sandbox/signing.js';

const signer = createTriggerSigner();
const key = parseSigningKey(signer.publicKey);
if (!key) throw new Error('the sandbox key must parse');
const ALICE = 'aliceidaliceidaliceidalic1';
const MALLORY = 'malloryidmalloryidmallory1';
const T0 = 1_750_000_000_000;
const opts = (over: Partial<Parameters<typeof verifyTriggerId>[1]> = {}) => ({ key, userId: ALICE, maxAgeMs: 60_000, now: T0, ...over });

describe('verifyTriggerId', () => {
  it('accepts a trigger id signed by the server for the form user, within the age', () => {
    const t = signer.sign(ALICE, { at: T0 - 59_000, clientTriggerId: 'clientclientclientclient01' });
    expect(verifyTriggerId(t.triggerId, opts())).toEqual({ ok: true, clientTriggerId: 'clientclientclientclient01', userId: ALICE, issuedAt: T0 - 59_000 });
  });

  it('refuses one signed for another user than the form names', () => {
    expect(verifyTriggerId(signer.sign(MALLORY, { at: T0 }).triggerId, opts())).toEqual({ ok: false, reason: 'user_mismatch' });
  });

  it('refuses a user id swapped after signing, and a foreign key', () => {
    expect(verifyTriggerId(signer.tamperUser(MALLORY, ALICE, { at: T0 }).triggerId, opts())).toEqual({ ok: false, reason: 'bad_signature' });
    expect(verifyTriggerId(signer.signWithForeignKey(ALICE, { at: T0 }).triggerId, opts())).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('refuses a back-dated time even though only the time changed (the signature covers it)', () => {
    const real = Buffer.from(signer.sign(ALICE, { at: T0 - 120_000 }).triggerId, 'base64').toString();
    const moved = real.replace(`:${T0 - 120_000}:`, `:${T0}:`);
    expect(verifyTriggerId(Buffer.from(moved).toString('base64'), opts())).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('refuses stale and future issue times at the edges', () => {
    expect(verifyTriggerId(signer.sign(ALICE, { at: T0 - 60_000 }).triggerId, opts()).ok).toBe(true);
    expect(verifyTriggerId(signer.sign(ALICE, { at: T0 - 60_001 }).triggerId, opts())).toEqual({ ok: false, reason: 'stale' });
    expect(verifyTriggerId(signer.sign(ALICE, { at: T0 + 5_000 }).triggerId, opts()).ok).toBe(true);
    expect(verifyTriggerId(signer.sign(ALICE, { at: T0 + 5_001 }).triggerId, opts())).toEqual({ ok: false, reason: 'future' });
    expect(verifyTriggerId(signer.sign(ALICE, { at: T0 - 10_001 }).triggerId, opts({ maxAgeMs: 10_000 }))).toEqual({ ok: false, reason: 'stale' });
  });

  it('says missing for an empty one and malformed for every shape that is not a trigger id', () => {
    expect(verifyTriggerId('', opts())).toEqual({ ok: false, reason: 'missing' });
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    for (const bad of ['not base64 !', b64('a:b:c'), b64(`x:${ALICE}:1:c2ln`), b64(`clientclientclientclient01:${ALICE}:soon:c2ln`), b64(`clientclientclientclient01:${ALICE}:1:`), b64(`clientclientclientclient01:${ALICE}:1:c2ln:extra`), 'A'.repeat(2000)]) {
      expect(verifyTriggerId(bad, opts())).toEqual({ ok: false, reason: 'malformed' });
    }
  });

  it('never throws and never accepts arbitrary input', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 400 }), (s) => {
        const r = verifyTriggerId(s, opts());
        return r.ok === false;
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => verifyTriggerId(Buffer.from(bytes).toString('base64'), opts()).ok === false),
      { numRuns: 300 },
    );
  });
});

describe('parseSigningKey', () => {
  it('reads the published base64 DER SPKI of a P-256 key', () => {
    expect(parseSigningKey(signer.publicKey)?.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
  });

  it('refuses absent, garbage and other key types', () => {
    expect(parseSigningKey(undefined)).toBeUndefined();
    expect(parseSigningKey('')).toBeUndefined();
    expect(parseSigningKey('%%%')).toBeUndefined();
    expect(parseSigningKey(Buffer.from('not a key').toString('base64'))).toBeUndefined();
    const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
    expect(parseSigningKey(p384)).toBeUndefined();
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
    expect(parseSigningKey(rsa)).toBeUndefined();
  });
});

describe('safeEqual', () => {
  it('compares strings of any length', () => {
    expect(safeEqual(ALICE, ALICE)).toBe(true);
    expect(safeEqual(ALICE, MALLORY)).toBe(false);
    expect(safeEqual(ALICE, `${ALICE}x`)).toBe(false);
    expect(safeEqual('', '')).toBe(true);
  });
});
