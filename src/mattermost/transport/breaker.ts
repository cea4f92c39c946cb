/**
 * The circuit breaker: after `failures` attempts in a row that got no answer (network
 * errors, timeouts), every call fails fast for `cooldownMs`, instead of piling up on a server
 * that is down. Any answer from the server (any status, even an unreadable body or a 429)
 * closes it again; a cancelled attempt says nothing either way.
 */
import { NetworkError } from '../errors.js';
import type { Layer, LayerLog } from './layer.js';
import { type ApiRequest, type RawResponse, isAttemptError } from './request.js';

export interface BreakerOptions {
  /** consecutive failed attempts that open the circuit */
  failures: number;
  /** how long it stays open */
  cooldownMs: number;
  now: () => number;
  log: LayerLog;
}

/** Creates the layer (see the module comment). */
export function breaker(opts: BreakerOptions): Layer<ApiRequest, RawResponse> {
  const { now, log } = opts;
  let failures = 0;
  let openUntil = 0;

  function noteFailure(endpoint: string): void {
    failures += 1;
    if (failures < opts.failures) return;
    const wasOpen = now() < openUntil;
    openUntil = now() + opts.cooldownMs;
    if (!wasOpen) {
      log.warn({ endpoint, failures, cooldownMs: opts.cooldownMs }, 'Mattermost is not answering; failing fast for a while');
    }
  }

  return (next) => async (req, signal) => {
    if (now() < openUntil) {
      const secs = Math.ceil((openUntil - now()) / 1000);
      throw new NetworkError(req.endpoint, `Mattermost is not answering (${failures} failed attempts in a row); next try in ${secs}s`);
    }
    let res: RawResponse;
    try {
      res = await next(req, signal);
    } catch (err) {
      if (isAttemptError(err)) {
        const type = err.failure.type;
        if (type === 'network' || type === 'timeout') noteFailure(req.endpoint);
        else if (type !== 'cancelled') failures = 0; // the server answered
      }
      throw err;
    }
    failures = 0;
    return res;
  };
}
