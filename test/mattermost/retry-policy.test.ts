import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  backoffDelay,
  decideRetry,
  retryAfterSeconds,
} from '../../src/mattermost/retry-policy.js';

const headers = (h: Record<string, string>) => new Headers(h);

describe('decideRetry', () => {
  it.each([
    ['read', { type: 'network', notSent: false }, 'retry'],
    ['read', { type: 'timeout' }, 'retry'],
    ['read', { type: 'status', status: 502 }, 'retry'],
    ['read', { type: 'status', status: 501 }, 'rethrow'],
    ['read', { type: 'status', status: 404 }, 'rethrow'],
    ['idempotent', { type: 'timeout' }, 'retry'],
    ['write', { type: 'network', notSent: true }, 'retry'],
    ['write', { type: 'network', notSent: false }, 'rethrow'],
    ['write', { type: 'timeout' }, 'rethrow'],
    ['write', { type: 'status', status: 503 }, 'rethrow'],
  ] as const)('%s after %j → %s', (kind, failure, expected) => {
    expect(decideRetry(kind, failure)).toBe(expected);
  });
});

describe('backoffDelay', () => {
  it('stays within [0, min(cap, base·2^n))', () => {
    fc.assert(
      fc.property(fc.nat(40), fc.double({ min: 0, max: 0.999999, noNaN: true }), (attempt, r) => {
        const d = backoffDelay(attempt, () => r, 200, 5_000);
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeLessThan(Math.min(5_000, 200 * 2 ** attempt));
      }),
    );
  });

  it('grows with the attempt number until the cap', () => {
    const r = () => 0.999;
    expect(backoffDelay(0, r)).toBe(199);
    expect(backoffDelay(2, r)).toBe(799);
    expect(backoffDelay(30, r)).toBe(4995);
  });
});

describe('rate-limit headers', () => {
  it('reads Retry-After as seconds or an HTTP date, and never falls back to X-RateLimit-Reset', () => {
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(retryAfterSeconds(headers({ 'Retry-After': '7', 'X-RateLimit-Reset': '3' }), now)).toBe(7);
    expect(retryAfterSeconds(headers({ 'Retry-After': 'Wed, 01 Jan 2025 00:00:05 GMT' }), now)).toBe(5);
    // Reset is the time to refill the whole burst, not a wait (pacing.ts)
    expect(retryAfterSeconds(headers({ 'X-RateLimit-Reset': '3' }), now)).toBeUndefined();
    expect(retryAfterSeconds(headers({ 'Retry-After': 'soon' }), now)).toBeUndefined();
    expect(retryAfterSeconds(headers({}), now)).toBeUndefined();
  });
});
