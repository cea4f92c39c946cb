/**
 * The server's asymmetric signing key and its signed `trigger_id`s
 * (docs/mattermost-notes.md §4.5; server source: `server/public/model/integration_action.go`
 * GenerateTriggerId / DecodeAndVerifyTriggerId, called from
 * `server/channels/app/command.go` ExecuteCommand).
 *
 * Each fake server instance has its own ECDSA P-256 key. A trigger id is
 * `base64(clientTriggerId + ":" + userId + ":" + millis + ":" + base64(DER signature))`,
 * the signature being over SHA-256 of everything before the base64 signature (trailing
 * `:` included). The public key is published as base64 DER SubjectPublicKeyInfo in
 * `GET /api/v4/config/client?format=old` (`AsymmetricSigningPublicKey`).
 *
 * The extra methods (`forge*`) exist so tests can play the attacker: sign for any user
 * (as only someone holding the server's private key could), back-date, tamper, or sign
 * with a key the server never published.
 */
import { createPrivateKey, createPublicKey, createSign, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { newId } from './ids.js';

export interface SignedTrigger {
  /** the 26-char id inside, which the server also returns to the client */
  clientTriggerId: string;
  /** what goes into the `trigger_id` form field */
  triggerId: string;
}

export interface SignOptions {
  /** issue time in ms (default now) */
  at?: number;
  clientTriggerId?: string;
}

export interface TriggerSigner {
  /** base64 DER SPKI, as in `AsymmetricSigningPublicKey` */
  readonly publicKey: string;
  /** A trigger id exactly as the server makes it for `userId`. */
  sign(userId: string, opts?: SignOptions): SignedTrigger;
  /** The same, signed with a fresh key the server never published (a forgery). */
  signWithForeignKey(userId: string, opts?: SignOptions): SignedTrigger;
  /** A valid trigger id for `signedFor` whose user id was then replaced by `claimed` (signature no longer matches). */
  tamperUser(signedFor: string, claimed: string, opts?: SignOptions): SignedTrigger;
}

function newKeyPair(): { privateKey: KeyObject; publicKey: KeyObject } {
  return generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
}

function signWith(key: KeyObject, userId: string, opts: SignOptions = {}): SignedTrigger {
  const clientTriggerId = opts.clientTriggerId ?? newId();
  const data = `${clientTriggerId}:${userId}:${opts.at ?? Date.now()}:`;
  // ECDSA over SHA-256 of the data, ASN.1 DER encoded (Go's ecdsa.SignASN1 / crypto.Signer)
  const signature = createSign('sha256').update(data, 'utf8').sign({ key, dsaEncoding: 'der' }).toString('base64');
  return { clientTriggerId, triggerId: Buffer.from(data + signature, 'utf8').toString('base64') };
}

/** A fresh P-256 private key as PKCS#8 PEM (for {@link createTriggerSigner} in another process). */
export function newSigningKeyPem(): string {
  return newKeyPair().privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}

/** A trigger id for `userId` signed with a PKCS#8 PEM key (load generators sign like the server). */
export function signTriggerId(privateKeyPem: string, userId: string, opts?: SignOptions): SignedTrigger {
  // parsing the PEM costs more than signing: keep the last key (a load generator uses one)
  if (lastKey?.pem !== privateKeyPem) lastKey = { pem: privateKeyPem, key: createPrivateKey(privateKeyPem) };
  return signWith(lastKey.key, userId, opts);
}
let lastKey: { pem: string; key: KeyObject } | undefined;

/** A signer with its own new key pair, or with the given P-256 private key (PKCS#8 PEM). */
export function createTriggerSigner(privateKeyPem?: string): TriggerSigner {
  const { privateKey, publicKey } = privateKeyPem
    ? { privateKey: createPrivateKey(privateKeyPem), publicKey: createPublicKey(createPrivateKey(privateKeyPem)) }
    : newKeyPair();
  return {
    publicKey: publicKey.export({ type: 'spki', format: 'der' }).toString('base64'),
    sign: (userId, opts) => signWith(privateKey, userId, opts),
    signWithForeignKey: (userId, opts) => signWith(newKeyPair().privateKey, userId, opts),
    tamperUser(signedFor, claimed, opts) {
      const real = signWith(privateKey, signedFor, opts);
      const decoded = Buffer.from(real.triggerId, 'base64').toString('utf8');
      const swapped = decoded.replace(`:${signedFor}:`, `:${claimed}:`);
      return { clientTriggerId: real.clientTriggerId, triggerId: Buffer.from(swapped, 'utf8').toString('base64') };
    },
  };
}
