/**
 * The pacing layer: requests keep to the server's rate limit (the pacer of ../pacing.ts:
 * spacing while `X-RateLimit-Remaining` is 0, nothing before a 429's `Retry-After`).
 *
 * Before an attempt it waits for the attempt's start slot; after one it learns from the
 * headers. A 429 it can wait out (within `maxRetries` per call and `maxWaitMs` per wait)
 * blocks the pacer for everyone and throws a `rate-limited` AttemptError, which the retry
 * layer answers by trying again at once: the wait itself then happens here, shared with
 * concurrent requests. A 429 it cannot wait out goes up as the response it is.
 */
import { emptyBudgetIntervalMs, type Pacer } from '../pacing.js';
import { retryAfterSeconds } from '../retry-policy.js';
import { type Layer, type LayerLog, sleepUnlessAborted } from './layer.js';
import { type ApiRequest, AttemptError, type RawResponse, cancelledError } from './request.js';

export interface PacingOptions {
  pacer: Pacer;
  /** 429 waits per call before the 429 goes up */
  maxRetries: number;
  /** a single wait longer than this is not waited out */
  maxWaitMs: number;
  now: () => number;
  sleep?: (ms: number) => Promise<void>;
  log: LayerLog;
  /** one call per wait: a pacing pause, or a 429 waited out (not both for the same wait) */
  onWait?: () => void;
}

/** How long a 429 asks to wait: its Retry-After, else one spacing interval, else 1 s. */
export function rateLimitWaitMs(headers: Headers, nowMs: number): number {
  const secs = retryAfterSeconds(headers, nowMs);
  if (secs !== undefined) return secs * 1000;
  return emptyBudgetIntervalMs(headers) ?? 1000;
}

/** Creates the layer (see the module comment). */
export function pacing(opts: PacingOptions): Layer<ApiRequest, RawResponse> {
  const { pacer, now, sleep, log, onWait } = opts;

  return (next) => async (req, signal) => {
    const pause = pacer.reserve();
    if (pause > 0) {
      if (!req.pauseCounted) onWait?.();
      log.debug({ endpoint: req.endpoint, waitMs: pause }, 'pacing: rate-limit budget used up, spacing requests');
      await sleepUnlessAborted(pause, signal, () => cancelledError(req, false), sleep);
    }
    req.pauseCounted = false;

    const res = await next(req, signal);
    pacer.observe(res.headers);
    if (res.status !== 429) return res;

    const waitMs = rateLimitWaitMs(res.headers, now());
    if (req.rateLimitRetries >= opts.maxRetries || waitMs > opts.maxWaitMs) return res;
    req.rateLimitRetries += 1;
    onWait?.();
    pacer.blockFor(waitMs);
    log.warn({ endpoint: req.endpoint, waitMs }, 'rate limited by Mattermost (429); waiting before retrying');
    req.pauseCounted = true;
    throw new AttemptError({ type: 'rate-limited' }, `HTTP 429, waiting ${waitMs} ms`);
  };
}
