/**
 * Request pacing under the server's rate limit, as the server means its headers
 * (docs/mattermost-notes.md §1.3; `server/channels/app/ratelimit.go` setRateLimitHeaders
 * over the GCRA limiter of github.com/throttled/throttled `rate.go` RateLimit):
 *
 * - `X-RateLimit-Limit` is MaxBurst + 1, `X-RateLimit-Remaining` the requests still
 *   allowed at once, `X-RateLimit-Reset` the seconds until the bucket is completely full.
 *   With `Remaining: 0` the next request is allowed one emission interval (1/PerSec)
 *   later, about `Reset / Limit` seconds — never `Reset` seconds, which is the time to
 *   refill the whole burst (~10 s with the defaults).
 * - `Retry-After` only comes with a 429 and is the real wait (rounded up to whole seconds).
 *
 * So: while the budget is empty, each request gets its own slot, `Reset / Limit` after the
 * previous one; after a 429 nothing starts before its `Retry-After`. A response with
 * `Remaining > 0` (or without rate-limit headers: the limiter is off) ends the spacing.
 *
 * @example
 *   const pacer = createPacer({ now: Date.now });
 *   await sleep(pacer.reserve());   // before each request
 *   pacer.observe(response.headers); // after each response
 */

/** Header access as `Headers` offers it. */
export interface HeaderSource {
  get(name: string): string | null;
}

export interface PacerOptions {
  now: () => number;
  /** the longest spacing ever applied between two requests (default 60 000 ms) */
  maxIntervalMs?: number;
}

export interface Pacer {
  /** Reserves a start slot for one request; returns how many ms to wait before sending it. */
  reserve(): number;
  /** Learns from a response's rate-limit headers (any status). */
  observe(headers: HeaderSource): void;
  /** A 429 asked to wait `ms` before any further request. */
  blockFor(ms: number): void;
  /** ms between requests while the budget is empty; 0 when not spacing */
  readonly intervalMs: number;
}

const num = (headers: HeaderSource, name: string): number | undefined => {
  const raw = headers.get(name);
  if (raw === null || raw.trim() === '') return undefined;
  const n = Number(raw.trim());
  return Number.isFinite(n) && n >= 0 ? n : undefined;
};

/**
 * The spacing the headers ask for when `X-RateLimit-Remaining` is 0: `Reset / Limit`
 * seconds, in ms. undefined when the budget is not empty (or the headers are absent).
 * Without a usable Limit the wait is at most one second (still never the full Reset).
 */
export function emptyBudgetIntervalMs(headers: HeaderSource): number | undefined {
  const remaining = num(headers, 'x-ratelimit-remaining');
  if (remaining !== 0) return undefined;
  const reset = num(headers, 'x-ratelimit-reset');
  const limit = num(headers, 'x-ratelimit-limit');
  if (reset === undefined) return 1_000;
  if (limit === undefined || limit < 1) return Math.min(reset, 1) * 1_000;
  return Math.ceil((reset / limit) * 1_000);
}

/** Creates a pacer (see the module comment). */
export function createPacer(opts: PacerOptions): Pacer {
  const maxIntervalMs = opts.maxIntervalMs ?? 60_000;
  let intervalMs = 0;
  /** earliest start of the next request while spacing */
  let nextAt = 0;
  /** nothing starts before this (a 429's Retry-After) */
  let blockedUntil = 0;

  return {
    reserve() {
      const now = opts.now();
      const start = Math.max(now, blockedUntil, intervalMs > 0 ? nextAt : 0);
      if (intervalMs > 0) nextAt = start + intervalMs;
      return start - now;
    },
    observe(headers) {
      const interval = emptyBudgetIntervalMs(headers);
      if (interval !== undefined) {
        intervalMs = Math.min(interval, maxIntervalMs);
        // the budget is empty now: the next request is one interval away
        nextAt = Math.max(nextAt, opts.now() + intervalMs);
        return;
      }
      // room in the burst again (or a response that says nothing of a limit): requests go at once
      intervalMs = 0;
      nextAt = 0;
    },
    blockFor(ms) {
      blockedUntil = Math.max(blockedUntil, opts.now() + Math.max(0, ms));
    },
    get intervalMs() {
      return intervalMs;
    },
  };
}
