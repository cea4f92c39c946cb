/**
 * The server's rate limiter, for the fake: GCRA exactly as Mattermost runs it
 * (`server/channels/app/ratelimit.go` NewRateLimiter / RateLimitWriter /
 * setRateLimitHeaders over github.com/throttled/throttled `rate.go`
 * GCRARateLimiter.RateLimit, with `RateQuota{MaxRate: PerSec(perSec), MaxBurst: burst}`).
 * See docs/mattermost-notes.md §1.3.
 *
 * - emission interval T = 1 s / PerSec; tolerance = T × (MaxBurst + 1); Limit = MaxBurst + 1;
 * - per key one "theoretical arrival time" (TAT); a request is refused when
 *   max(now, TAT) + T − tolerance is still in the future;
 * - `X-RateLimit-Remaining` = ⌊(tolerance − ttl) / T⌋, `X-RateLimit-Reset` = ⌈ttl⌉ seconds
 *   (ttl = how far the TAT is ahead of now: the time until the bucket is full again);
 * - `Retry-After` = ⌈time until the request would be allowed⌉ seconds, on a 429 only.
 *
 * Times are kept in whole microseconds so the integer divisions match Go's Durations.
 */

export interface GcraQuota {
  /** RateLimitSettings.PerSec (default 10) */
  perSec: number;
  /** RateLimitSettings.MaxBurst (default 100) */
  burst: number;
}

export interface GcraResult {
  limited: boolean;
  limit: number;
  remaining: number;
  /** µs until the key is back to its initial state */
  resetAfterUs: number;
  /** µs until the request would be allowed; -1 when it was allowed */
  retryAfterUs: number;
}

const US_PER_SECOND = 1_000_000;

/** A GCRA limiter over keys (the server's memstore is an LRU of MemoryStoreSize keys). */
export class GcraLimiter {
  private readonly tats = new Map<string, number>();
  private readonly intervalUs: number;
  private readonly toleranceUs: number;
  readonly limit: number;

  constructor(
    readonly quota: GcraQuota,
    private readonly nowMs: () => number = Date.now,
    private readonly maxKeys = 10_000,
  ) {
    // throttled PerSec: time.Second / n (integer nanoseconds; µs here)
    this.intervalUs = Math.floor(US_PER_SECOND / Math.max(1, quota.perSec));
    this.toleranceUs = this.intervalUs * (Math.max(0, quota.burst) + 1);
    this.limit = Math.max(0, quota.burst) + 1;
  }

  /** Counts one request for `key` (quantity 1, as RateLimitWriter does). */
  take(key: string, quantity = 1): GcraResult {
    const now = Math.round(this.nowMs() * 1000);
    const stored = this.tats.get(key);
    // an expired memstore entry and a missing one are the same: TAT = now
    const tat = stored !== undefined && stored > now ? stored : now;
    const increment = quantity * this.intervalUs;
    const newTat = (now > tat ? now : tat) + increment;
    const allowAt = newTat - this.toleranceUs;
    const diff = now - allowAt;
    let limited = false;
    let retryAfterUs = -1;
    let ttl: number;
    if (diff < 0) {
      if (increment <= this.toleranceUs) retryAfterUs = -diff;
      ttl = tat - now;
      limited = true;
    } else {
      ttl = newTat - now;
      this.tats.delete(key); // re-insert: most recently used last
      this.tats.set(key, newTat);
      if (this.tats.size > this.maxKeys) {
        const oldest = this.tats.keys().next().value;
        if (oldest !== undefined) this.tats.delete(oldest);
      }
    }
    const next = this.toleranceUs - ttl;
    // Go: int(next / emissionInterval), Duration division truncating toward zero
    const remaining = next > -this.intervalUs ? Math.trunc(next / this.intervalUs) : 0;
    return { limited, limit: this.limit, remaining: Math.max(0, remaining), resetAfterUs: ttl, retryAfterUs };
  }
}

/** The response headers of setRateLimitHeaders for one result. */
export function rateLimitHeaders(r: GcraResult): Record<string, string> {
  const h: Record<string, string> = {};
  if (r.limit >= 0) h['X-RateLimit-Limit'] = String(r.limit);
  if (r.remaining >= 0) h['X-RateLimit-Remaining'] = String(r.remaining);
  if (r.resetAfterUs >= 0) h['X-RateLimit-Reset'] = String(Math.ceil(r.resetAfterUs / US_PER_SECOND));
  if (r.retryAfterUs >= 0) h['Retry-After'] = String(Math.ceil(r.retryAfterUs / US_PER_SECOND));
  return h;
}

/** The body of the refusal: Go's `http.Error(w, "limit exceeded", 429)`. */
export const LIMIT_EXCEEDED_BODY = 'limit exceeded\n';
