/**
 * The metrics layer: one record per HTTP attempt (status 0 when there was no response),
 * kept in the client's {@link ApiStats} and handed to `onRequest` (the bot's /metrics).
 * It sits right above the timeout layer, so the time is the attempt's own: neither the
 * wait for a concurrency slot nor a pacing pause is in it.
 */
import type { ApiStats } from '../api.js';
import type { Layer, LayerLog } from './layer.js';
import type { ApiRequest, RawResponse } from './request.js';

export interface MetricsOptions {
  /** the counters, updated in place */
  stats: ApiStats;
  onRequest?: (info: { endpoint: string; status: number; ms: number }) => void;
  now: () => number;
  log: LayerLog;
}

/** Creates the layer (see the module comment). */
export function metrics(opts: MetricsOptions): Layer<ApiRequest, RawResponse> {
  const { stats, onRequest, now, log } = opts;

  function record(endpoint: string, status: number, ms: number): void {
    stats.requests += 1;
    const entry = (stats.byEndpoint[endpoint] ??= { count: 0, byStatus: {}, totalMs: 0 });
    entry.count += 1;
    entry.byStatus[String(status)] = (entry.byStatus[String(status)] ?? 0) + 1;
    entry.totalMs += ms;
    if (status !== 0) stats.lastRoundTripMs = ms;
    try {
      onRequest?.({ endpoint, status, ms });
    } catch (err) {
      log.warn({ err: String(err) }, 'onRequest hook threw');
    }
  }

  return (next) => async (req, signal) => {
    const started = now();
    let res: RawResponse;
    try {
      res = await next(req, signal);
    } catch (err) {
      record(req.endpoint, 0, now() - started);
      throw err;
    }
    record(req.endpoint, res.status, now() - started);
    return res;
  };
}
