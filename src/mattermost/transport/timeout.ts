/**
 * The timeout layer: each attempt gets its own deadline, on top of the caller's signal.
 * Used by the REST client (per HTTP attempt) and by the response_url client.
 *
 * The attempt below sees one signal that aborts at whichever comes first; when the attempt
 * then fails, the layer says why: the deadline passed (`timedOut`), or the caller stopped
 * waiting (`cancelled`, or the attempt's own error when not given).
 *
 * @example
 *   timeout({ ms: 10_000, timedOut: () => new Error('no answer within 10 s') })
 */
import type { Layer } from './layer.js';

export interface TimeoutOptions<Req> {
  /** per attempt */
  ms: number;
  /** what to throw when the attempt failed after its deadline passed */
  timedOut: (req: Req, cause: unknown) => unknown;
  /** what to throw when it failed after the caller's signal aborted; default: its own error */
  cancelled?: (req: Req, cause: unknown) => unknown;
}

/** Creates the layer (see the module comment). */
export function timeout<Req, Res>(opts: TimeoutOptions<Req>): Layer<Req, Res> {
  const { ms, timedOut, cancelled } = opts;
  return (next) => async (req, signal) => {
    const controller = new AbortController();
    let expired = false;
    const timer = setTimeout(() => {
      expired = true;
      controller.abort();
    }, ms);
    const onCallerAbort = (): void => controller.abort();
    if (signal?.aborted) controller.abort();
    else signal?.addEventListener('abort', onCallerAbort, { once: true });
    try {
      return await next(req, controller.signal);
    } catch (err) {
      if (signal?.aborted) throw cancelled ? cancelled(req, err) : err;
      if (expired) throw timedOut(req, err);
      throw err;
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onCallerAbort);
    }
  };
}
