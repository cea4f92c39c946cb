/**
 * Operations endpoints on the bot's HTTP server:
 * - `GET /healthz`: the process is alive (always 200 while it can answer);
 * - `GET /readyz`: 200 only while the WebSocket is authenticated and the API answers,
 *   503 with the reason otherwise;
 * - `GET /metrics`: Prometheus text.
 *
 * @example
 *   routes.push(...createOpsRoutes({ readiness: () => checkReady(), metrics: () => metrics.render() }));
 */
import type { Route } from './http-server.js';
import { sendJson, sendText } from './http-server.js';
import { METRICS_CONTENT_TYPE } from '../services/metrics.js';

export type Readiness = { ready: true } | { ready: false; reason: string };

export interface OpsRoutesOptions {
  readiness(): Promise<Readiness>;
  metrics(): string;
}

export const HEALTHZ_PATH = '/healthz';
export const READYZ_PATH = '/readyz';
export const METRICS_PATH = '/metrics';

/** The three routes (see the module comment). */
export function createOpsRoutes(opts: OpsRoutesOptions): Route[] {
  return [
    { method: 'GET', path: HEALTHZ_PATH, handle: (_req, res) => sendJson(res, 200, { status: 'ok' }) },
    {
      method: 'GET',
      path: READYZ_PATH,
      handle: async (_req, res) => {
        const r = await opts.readiness();
        if (r.ready) sendJson(res, 200, { status: 'ready' });
        else sendJson(res, 503, { status: 'not ready', reason: r.reason });
      },
    },
    { method: 'GET', path: METRICS_PATH, handle: (_req, res) => sendText(res, 200, opts.metrics(), METRICS_CONTENT_TYPE) },
  ];
}

/**
 * A readiness check over a WebSocket state and an API probe; a successful probe is
 * trusted for `cacheMs` so a busy scraper does not hammer the server.
 */
export function createReadinessCheck(opts: {
  phase: () => 'starting' | 'running' | 'stopping';
  socket: () => { connected: boolean; lastError: string | null; authRejected: boolean } | undefined;
  probe: (signal: AbortSignal) => Promise<unknown>;
  probeTimeoutMs?: number;
  cacheMs?: number;
  now?: () => number;
}): () => Promise<Readiness> {
  const now = opts.now ?? Date.now;
  const timeoutMs = opts.probeTimeoutMs ?? 2_000;
  const cacheMs = opts.cacheMs ?? 5_000;
  let okAt = -Infinity;
  return async () => {
    const phase = opts.phase();
    if (phase === 'starting') return { ready: false, reason: 'starting up' };
    if (phase === 'stopping') return { ready: false, reason: 'shutting down' };
    const ws = opts.socket();
    if (!ws?.connected) {
      const why = ws?.authRejected ? 'the server keeps rejecting the token' : ws?.lastError;
      return { ready: false, reason: `WebSocket not connected${why ? ` (${why})` : ''}` };
    }
    if (now() - okAt < cacheMs) return { ready: true };
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    try {
      await opts.probe(controller.signal);
      okAt = now();
      return { ready: true };
    } catch (err) {
      const detail = err instanceof Error ? err.message : String(err);
      return { ready: false, reason: `Mattermost API not answering (${detail})` };
    } finally {
      clearTimeout(timer);
    }
  };
}
