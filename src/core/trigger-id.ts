/**
 * Verifies the signed `trigger_id` of a slash request: the proof, made by the Mattermost
 * server, of who typed the command (docs/mattermost-notes.md §4.5; server source:
 * `server/public/model/integration_action.go` GenerateTriggerId and
 * DecodeAndVerifyTriggerId). A pure function: the key, the clock and the expected user
 * are passed in, nothing is remembered (replays are the caller's job).
 *
 * Format: `base64( clientTriggerId ":" userId ":" millis ":" base64(signature) )`, the
 * signature being ECDSA P-256 over SHA-256 of everything before it (trailing `:`
 * included), ASN.1 DER encoded.
 *
 * @example
 *   const key = parseSigningKey(clientConfig.AsymmetricSigningPublicKey);
 *   const r = verifyTriggerId(form.trigger_id, { key, userId: form.user_id, maxAgeMs: 60_000, now: Date.now() });
 *   if (!r.ok) refuse(r.reason);
 */
import { createHash, createPublicKey, timingSafeEqual, verify, type KeyObject } from 'node:crypto';

/** Why a trigger id was not accepted (log and metric labels; never shown to the sender). */
export type TriggerRejection =
  /** no trigger id although the server signs them */
  | 'missing'
  /** not base64, not four parts, not an id, not a time */
  | 'malformed'
  /** the signature does not verify with the server's key (forged or tampered) */
  | 'bad_signature'
  /** validly signed, but for another user than the form's `user_id` */
  | 'user_mismatch'
  /** issued longer ago than the allowed age */
  | 'stale'
  /** issued in the future (beyond the allowed clock skew) */
  | 'future';

export type TriggerVerdict =
  | { ok: true; clientTriggerId: string; userId: string; issuedAt: number }
  | { ok: false; reason: TriggerRejection };

export interface VerifyTriggerOptions {
  /** the server's public key (see {@link parseSigningKey}) */
  key: KeyObject;
  /** the form's `user_id`: the signed user id must equal it */
  userId: string;
  /** oldest acceptable issue time, relative to `now` */
  maxAgeMs: number;
  /** ms since epoch */
  now: number;
  /** how far in the future an issue time may lie (clock skew between server and bot; default 5 000) */
  skewMs?: number;
}

const ID = /^[a-z0-9]{26}$/;
const MILLIS = /^[0-9]{1,16}$/;
// standard base64 with padding, as Go's base64.StdEncoding writes it
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
/** A trigger id is ~190 characters; anything far longer is not one. */
const MAX_LENGTH = 1024;

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** Constant-time string equality (through fixed-length digests, so lengths leak nothing either). */
export function safeEqual(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

/**
 * The server's `AsymmetricSigningPublicKey` (base64 DER SubjectPublicKeyInfo) as a key
 * object, or undefined when it is absent, unreadable or not a P-256 EC key.
 */
export function parseSigningKey(spkiBase64: string | undefined): KeyObject | undefined {
  if (!spkiBase64 || !BASE64.test(spkiBase64)) return undefined;
  try {
    const key = createPublicKey({ key: Buffer.from(spkiBase64, 'base64'), format: 'der', type: 'spki' });
    if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') return undefined;
    return key;
  } catch {
    return undefined;
  }
}

/** Checks one trigger id (see the module comment); never throws. */
export function verifyTriggerId(triggerId: string, opts: VerifyTriggerOptions): TriggerVerdict {
  if (triggerId === '') return { ok: false, reason: 'missing' };
  if (triggerId.length > MAX_LENGTH || !BASE64.test(triggerId)) return { ok: false, reason: 'malformed' };
  const decoded = Buffer.from(triggerId, 'base64').toString('utf8');
  const parts = decoded.split(':');
  if (parts.length !== 4) return { ok: false, reason: 'malformed' };
  const [clientTriggerId = '', signedUser = '', millis = '', signatureB64 = ''] = parts;
  if (!ID.test(clientTriggerId) || !ID.test(signedUser) || !MILLIS.test(millis) || !BASE64.test(signatureB64) || signatureB64 === '') {
    return { ok: false, reason: 'malformed' };
  }
  // The signature first: an unsigned claim says nothing, so nothing else is judged on it.
  const data = Buffer.from(`${clientTriggerId}:${signedUser}:${millis}:`, 'utf8');
  let valid = false;
  try {
    valid = verify('sha256', data, { key: opts.key, dsaEncoding: 'der' }, Buffer.from(signatureB64, 'base64'));
  } catch {
    valid = false;
  }
  if (!valid) return { ok: false, reason: 'bad_signature' };
  if (!safeEqual(signedUser, opts.userId)) return { ok: false, reason: 'user_mismatch' };
  const issuedAt = Number(millis);
  if (opts.now - issuedAt > opts.maxAgeMs) return { ok: false, reason: 'stale' };
  if (issuedAt - opts.now > (opts.skewMs ?? 5_000)) return { ok: false, reason: 'future' };
  return { ok: true, clientTriggerId, userId: signedUser, issuedAt };
}
