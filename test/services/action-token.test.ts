import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createActionTokens, newActionsSecret, newNonce } from '../../src/services/action-token.js';

const schema = z.object({ a: z.number(), b: z.string() }).strict();
const tokens = createActionTokens({ secret: 'x'.repeat(40) });

describe('action tokens', () => {
  it('verify what they signed, for the same purpose only', () => {
    const t = tokens.sign('action', { a: 1, b: 'two' });
    expect(tokens.verify('action', t, schema)).toEqual({ ok: true, payload: { a: 1, b: 'two' } });
    expect(tokens.verify('dialog', t, schema)).toEqual({ ok: false, problem: 'bad_signature' });
  });

  it('refuse another secret, a changed payload, a changed MAC, junk, and a payload of the wrong shape', () => {
    const t = tokens.sign('action', { a: 1, b: 'two' });
    const [body = '', mac = ''] = t.split('.');
    const other = createActionTokens({ secret: 'y'.repeat(40) });
    expect(other.verify('action', t, schema)).toEqual({ ok: false, problem: 'bad_signature' });
    const changedBody = `${Buffer.from(JSON.stringify({ a: 2, b: 'two' })).toString('base64url')}.${mac}`;
    expect(tokens.verify('action', changedBody, schema)).toEqual({ ok: false, problem: 'bad_signature' });
    const flipped = `${body}.${mac.startsWith('A') ? `B${mac.slice(1)}` : `A${mac.slice(1)}`}`;
    expect(tokens.verify('action', flipped, schema)).toEqual({ ok: false, problem: 'bad_signature' });
    for (const junk of ['', 'abc', 'a.b.c', `${body}.`, `${'x'.repeat(20_000)}.${mac}`]) expect(tokens.verify('action', junk, schema)).toMatchObject({ ok: false });
    const wrongShape = tokens.sign('action', { a: 'one' });
    expect(tokens.verify('action', wrongShape, schema)).toEqual({ ok: false, problem: 'invalid_payload' });
  });

  it('need a secret of at least 32 characters; generated secrets and nonces are random', () => {
    expect(() => createActionTokens({ secret: 'short' })).toThrow(/at least 32/);
    expect(newActionsSecret()).not.toBe(newActionsSecret());
    expect(newActionsSecret().length).toBeGreaterThanOrEqual(43);
    expect(newNonce()).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });
});
