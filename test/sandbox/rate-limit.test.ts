import { describe, expect, it } from 'vitest';
import { GcraLimiter, rateLimitHeaders } from '../../src/sandbox/rate-limit.js';

/** A limiter on a hand-driven clock (ms). */
function limiter(perSec: number, burst: number) {
  const clock = { now: 1_700_000_000_000 };
  const gcra = new GcraLimiter({ perSec, burst }, () => clock.now);
  return { gcra, clock, take: () => rateLimitHeaders(gcra.take('k')) };
}

describe('GcraLimiter (throttled GCRA, as the server runs it)', () => {
  it('with the defaults allows MaxBurst + 1 at once, counting Remaining down and Reset up', () => {
    const { take } = limiter(10, 100);
    const first = take();
    expect(first).toEqual({ 'X-RateLimit-Limit': '101', 'X-RateLimit-Remaining': '100', 'X-RateLimit-Reset': '1' });
    let last = first;
    for (let i = 2; i <= 101; i++) last = take();
    // the 101st request is still allowed and empties the budget; the bucket is full again in 10.1 s
    expect(last).toEqual({ 'X-RateLimit-Limit': '101', 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': '11' });
    const refused = take();
    // 100 ms until the next request is allowed, rounded up to whole seconds
    expect(refused).toEqual({ 'X-RateLimit-Limit': '101', 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': '11', 'Retry-After': '1' });
  });

  it('allows the next request one emission interval (1/PerSec) after the budget ran out, not Reset seconds', () => {
    const { gcra, clock } = limiter(10, 100);
    for (let i = 0; i < 101; i++) expect(gcra.take('k').limited).toBe(false);
    expect(gcra.take('k').limited).toBe(true);
    clock.now += 99;
    expect(gcra.take('k').limited).toBe(true);
    clock.now += 1;
    const r = gcra.take('k');
    expect(r.limited).toBe(false);
    expect(r.remaining).toBe(0);
    // spaced at Reset / Limit (~109 ms) the requests keep passing
    for (let i = 0; i < 50; i++) {
      clock.now += 109;
      expect(gcra.take('k').limited).toBe(false);
    }
  });

  it('refills one request per interval and keeps keys apart', () => {
    const { gcra, clock } = limiter(1, 2);
    for (let i = 0; i < 3; i++) gcra.take('a');
    expect(gcra.take('a').limited).toBe(true);
    expect(gcra.take('b').limited).toBe(false);
    clock.now += 1_000;
    const r = gcra.take('a');
    expect(r.limited).toBe(false);
    expect(rateLimitHeaders(r)).toEqual({ 'X-RateLimit-Limit': '3', 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': '3' });
    clock.now += 2_500;
    expect(rateLimitHeaders(gcra.take('a'))).toEqual({ 'X-RateLimit-Limit': '3', 'X-RateLimit-Remaining': '1', 'X-RateLimit-Reset': '2' });
  });

  it('gives a Retry-After that is exactly the remaining wait, rounded up', () => {
    const { gcra, clock } = limiter(1, 0);
    expect(gcra.take('k').limited).toBe(false);
    clock.now += 200;
    const r = gcra.take('k');
    expect(r.limited).toBe(true);
    expect(r.retryAfterUs).toBe(800_000);
    expect(rateLimitHeaders(r)['Retry-After']).toBe('1');
  });
});
