/**
 * The concurrency layer: at most `limit` requests below it at once. Used by the REST client
 * (callers queue for a slot, and may stop waiting) and by the response_url client (no queue:
 * a request beyond the cap is refused at once).
 *
 * A finished request hands its slot straight to the longest waiter, so a burst cannot
 * overtake the queue. The fast path (a free slot) allocates nothing.
 *
 * @example
 *   const slots = concurrency({ limit: 16, cancelled: () => new Error('gave up waiting') });
 *   slots.inFlight(); // requests below the layer right now
 */
import type { Layer } from './layer.js';

export interface ConcurrencyOptions<Req> {
  /** requests in flight at once */
  limit: number;
  /** when given, a request finding every slot taken throws this at once instead of queueing */
  whenFull?: (req: Req) => unknown;
  /** what a caller whose signal aborts (before or while it queues) gets; unset: the signal is not watched */
  cancelled?: (req: Req) => unknown;
}

/** A concurrency layer, which also tells how many requests it holds. */
export interface ConcurrencyLayer<Req, Res> extends Layer<Req, Res> {
  inFlight(): number;
}

/** Creates the layer (see the module comment). */
export function concurrency<Req, Res>(opts: ConcurrencyOptions<Req>): ConcurrencyLayer<Req, Res> {
  const { whenFull, cancelled } = opts;
  // a queue of limit 0 would never move
  const max = whenFull ? opts.limit : Math.max(1, opts.limit);
  let active = 0;
  const waiters: Array<() => void> = [];

  const release = (): void => {
    const next = waiters.shift();
    if (next) next();
    else active -= 1;
  };

  const queue = (req: Req, signal: AbortSignal | undefined): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const watch = cancelled !== undefined && signal !== undefined;
      const grant = (): void => {
        if (watch) signal.removeEventListener('abort', abort);
        resolve();
      };
      const abort = (): void => {
        const i = waiters.indexOf(grant);
        if (i >= 0) waiters.splice(i, 1);
        reject(cancelled?.(req));
      };
      waiters.push(grant);
      if (watch) signal.addEventListener('abort', abort, { once: true });
    });

  const layer: Layer<Req, Res> = (next) => async (req, signal) => {
    if (cancelled && signal?.aborted) throw cancelled(req);
    if (active < max) active += 1;
    else if (whenFull) throw whenFull(req);
    else await queue(req, signal);
    try {
      return await next(req, signal);
    } finally {
      release();
    }
  };
  return Object.assign(layer, { inFlight: () => active });
}
