/**
 * The retry layer: the loop around one call's attempts. What may be repeated is decided by
 * `decideRetry` (../retry-policy.ts), after a capped, jittered backoff; a 429 the pacing
 * layer waits out is tried again at once (the wait happens there). Everything else goes up
 * unchanged: the last response (any status) or the last AttemptError, for the client to
 * turn into its typed error.
 */
import { type AttemptFailure, backoffDelay, decideRetry } from '../retry-policy.js';
import { type Layer, type LayerLog, sleepUnlessAborted } from './layer.js';
import { type ApiRequest, type RawResponse, cancelledError, isAttemptError } from './request.js';

export interface RetryOptions {
  random: () => number;
  sleep?: (ms: number) => Promise<void>;
  log: LayerLog;
  /** one call per retry (after its backoff was chosen) */
  onRetry?: () => void;
}

/** Creates the layer (see the module comment). */
export function retry(opts: RetryOptions): Layer<ApiRequest, RawResponse> {
  const { random, sleep, log, onRetry } = opts;

  async function backoff(req: ApiRequest, attempt: number, reason: string, signal: AbortSignal | undefined): Promise<void> {
    onRetry?.();
    const delay = backoffDelay(attempt, random);
    log.debug({ endpoint: req.endpoint, attempt: attempt + 1, reason, delayMs: delay }, 'retrying Mattermost request');
    await sleepUnlessAborted(delay, signal, () => cancelledError(req, false), sleep);
  }

  return (next) => async (req, signal) => {
    let retriesUsed = 0;
    for (;;) {
      if (signal?.aborted) throw cancelledError(req, false);
      let res: RawResponse;
      try {
        res = await next(req, signal);
      } catch (err) {
        if (!isAttemptError(err)) throw err;
        const failure = err.failure;
        if (failure.type === 'rate-limited') continue;
        if (failure.type === 'cancelled' || failure.type === 'bad-json') throw err;
        if (decideRetry(req.kind, failure) === 'retry' && retriesUsed < req.retries) {
          await backoff(req, retriesUsed++, err.reason, signal);
          continue;
        }
        throw err;
      }
      if (res.status >= 200 && res.status < 300) return res;
      const failure: AttemptFailure = { type: 'status', status: res.status };
      if (decideRetry(req.kind, failure) === 'retry' && retriesUsed < req.retries) {
        await backoff(req, retriesUsed++, `HTTP ${res.status}`, signal);
        continue;
      }
      return res;
    }
  };
}
