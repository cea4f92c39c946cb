/**
 * Signed tokens for button clicks and dialog state.
 *
 * The server does not sign the requests it sends when someone clicks a button or submits
 * a dialog (docs/mattermost-notes.md §8.4; server/channels/app/integration_action.go
 * DoActionRequest), so anyone who can reach the bot's `/actions` route could send one.
 * What makes a click genuine is a secret only the bot and the server hold: the button's
 * `integration.context`, which clients never see (§8.2). It carries one token: the payload
 * (what to do, for whom, until when, a nonce) and an HMAC-SHA256 over it under
 * `MMOPS_ACTIONS_SECRET`. Dialog state goes to the client (§8.7), so it is signed the same
 * way (tamper-proof) but never holds a secret.
 *
 * Tokens are bound to a purpose (`action` or `dialog`): one cannot be replayed as the other.
 * Verification is a pure function with an injectable clock and a timing-safe compare (the
 * Bolt request-verification shape).
 *
 * @example
 *   const tokens = createActionTokens({ secret });
 *   const t = tokens.sign('action', payload);        // → "eyJ2Ijox….Qk9mZ…"
 *   const v = tokens.verify('action', t, schema);    // → { ok: true, payload } | { ok: false, problem }
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { z } from 'zod';

export type TokenPurpose = 'action' | 'dialog';

export type TokenCheck<T> = { ok: true; payload: T } | { ok: false; problem: 'malformed' | 'bad_signature' | 'invalid_payload' };

export interface ActionTokens {
  sign(purpose: TokenPurpose, payload: object): string;
  verify<S extends z.ZodType>(purpose: TokenPurpose, token: string, schema: S): TokenCheck<z.infer<S>>;
}

/**
 * Who a refused click or form submission is audited as when nothing proves its sender: the
 * server signs neither (docs/mattermost-notes.md §8.4, §8.7), so anyone who reaches the
 * bot's listener can put any `user_id` / `user_name` in one. One fixed identity keeps the
 * audit trail from blaming the claimed user, and lets its per-user refusal window fold a
 * flood of forgeries into one line and a summary a minute (src/core/audit.ts) instead of
 * one audit-channel post per request. Not a valid username, so it names nobody.
 */
export const UNVERIFIED_SENDER = { id: 'unverified-sender', username: '(unverified sender)' } as const;

/** Longest token accepted (a confirmation carries a command line of at most a few KiB). */
export const MAX_TOKEN_LENGTH = 16_384;

/** A fresh random nonce (URL-safe, 128 bits). */
export const newNonce = (): string => randomBytes(16).toString('base64url');

/** A fresh secret for `MMOPS_ACTIONS_SECRET` when none is configured (256 bits). */
export const newActionsSecret = (): string => randomBytes(32).toString('base64url');

/** Creates the signer/verifier over `secret` (at least 32 characters). */
export function createActionTokens(opts: { secret: string }): ActionTokens {
  if (opts.secret.length < 32) throw new Error('the actions secret must be at least 32 characters');
  const mac = (purpose: TokenPurpose, body: string): Buffer => createHmac('sha256', opts.secret).update(`mmops:${purpose}:${body}`).digest();
  return {
    sign(purpose, payload) {
      const body = Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');
      return `${body}.${mac(purpose, body).toString('base64url')}`;
    },
    verify(purpose, token, schema) {
      if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH) return { ok: false, problem: 'malformed' };
      const m = /^([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]{43})$/.exec(token);
      if (!m?.[1] || !m[2]) return { ok: false, problem: 'malformed' };
      const given = Buffer.from(m[2], 'base64url');
      const want = mac(purpose, m[1]);
      if (given.length !== want.length || !timingSafeEqual(given, want)) return { ok: false, problem: 'bad_signature' };
      let json: unknown;
      try {
        json = JSON.parse(Buffer.from(m[1], 'base64url').toString('utf8'));
      } catch {
        return { ok: false, problem: 'invalid_payload' };
      }
      const parsed = schema.safeParse(json);
      return parsed.success ? { ok: true, payload: parsed.data } : { ok: false, problem: 'invalid_payload' };
    },
  };
}
