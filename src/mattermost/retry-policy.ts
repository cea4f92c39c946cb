/**
 * The one place that decides whether a failed Mattermost request is tried again.
 * Pure functions (no I/O, no clock), so the rules can be read and tested in isolation.
 */

/**
 * How a request may be repeated:
 * - `read`: no side effects (GET, and POST lookups such as /users/ids) → retry freely;
 * - `idempotent`: a write the server treats as "create or return existing"
 *   (POST /channels/direct answers 201 either way) → retry like a read;
 * - `write`: never repeated when the outcome is unknown.
 */
export type RequestKind = 'read' | 'idempotent' | 'write';

/** What went wrong with one attempt. */
export type AttemptFailure =
  | { type: 'network'; /** the request certainly never reached the server (refused, DNS) */ notSent: boolean }
  | { type: 'timeout' }
  | { type: 'status'; status: number };

export type RetryDecision = 'retry' | 'rethrow';

/**
 * Retry or rethrow, for a failure that is not a 429 (429 is handled separately: the
 * server did not apply the request, so every kind waits and retries).
 */
export function decideRetry(kind: RequestKind, failure: AttemptFailure): RetryDecision {
  const repeatable = kind !== 'write';
  switch (failure.type) {
    case 'network':
      // A refused connection never carried the request: even a write is safe to repeat.
      return repeatable || failure.notSent ? 'retry' : 'rethrow';
    case 'timeout':
      return repeatable ? 'retry' : 'rethrow';
    case 'status':
      // 5xx may be transient; 501 means "not implemented / disabled" and never changes.
      // A 5xx on a write may have been half-applied, so writes are not repeated.
      return repeatable && failure.status >= 500 && failure.status !== 501 ? 'retry' : 'rethrow';
  }
}

/**
 * Capped exponential backoff with full jitter: a random delay in [0, min(cap, base·2^n)).
 * `attempt` is 0 for the first retry.
 */
export function backoffDelay(attempt: number, random: () => number, baseMs = 200, capMs = 5_000): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt));
  return Math.floor(random() * ceiling);
}

/**
 * Seconds to wait from a 429's `Retry-After` (seconds or an HTTP date); undefined when
 * absent or unusable. `X-RateLimit-Reset` is deliberately not a fallback: it is the time
 * until the whole burst is refilled, not the wait before the next request (see pacing.ts).
 */
export function retryAfterSeconds(
  headers: { get(name: string): string | null },
  nowMs: number,
): number | undefined {
  const retryAfter = headers.get('retry-after');
  if (retryAfter === null || retryAfter.trim() === '') return undefined;
  const secs = Number(retryAfter.trim());
  if (Number.isFinite(secs) && secs >= 0) return secs;
  const date = Date.parse(retryAfter);
  if (Number.isFinite(date)) return Math.max(0, Math.ceil((date - nowMs) / 1000));
  return undefined;
}
