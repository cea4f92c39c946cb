/**
 * Operations endpoints on the bot's HTTP server (or on MMOPS_OPS_LISTEN):
 * - `GET /healthz`: the process is alive (always 200 while it can answer);
 * - `GET /readyz`: 200 only while the WebSocket is authenticated and the API answers,
 *   503 otherwise; 200 with `status: degraded` and a reason code (`state_store_down`)
 *   while the replica still answers slash commands but cannot do its shared work
 *   (taking it out of the load balancer would stop those too);
 * - `GET /metrics`: Prometheus text.
 *
 * They answer a status and a short reason code only (`{"status":"unready","reason":
 * "websocket_down"}`): these routes are often reachable from outside, and an error text
 * can carry the Mattermost server's internal address or the token's fate. The details
 * go to the log, once each time they change.
 *
 * @example
 *   routes.push(...createOpsRoutes({ readiness: () => checkReady(), metrics: () => metrics.render(), logger }));
 */
import type { Logger } from '../core/command.js';
import type { Route } from './http-server.js';
import { sendJson, sendText } from './http-server.js';
import { METRICS_CONTENT_TYPE } from '../services/metrics.js';

/** Why the bot is not ready, as a stable code (what monitoring may match on). */
export type UnreadyReason = 'starting' | 'stopping' | 'websocket_down' | 'token_rejected' | 'api_unreachable';

/** Why a ready replica cannot do all of its work (docs/replicas.md). */
export type DegradedReason = 'state_store_down';

export type Readiness = { ready: true; degraded?: DegradedReason } | { ready: false; reason: UnreadyReason; /** for the log only, never answered */ detail?: string };

export interface OpsRoutesOptions {
  readiness(): Promise<Readiness>;
  metrics(): string;
  logger: Logger;
}

export const HEALTHZ_PATH = '/healthz';
export const READYZ_PATH = '/readyz';
export const METRICS_PATH = '/metrics';
export const OPS_PATHS: readonly string[] = [HEALTHZ_PATH, READYZ_PATH, METRICS_PATH];

/** The three routes (see the module comment). */
export function createOpsRoutes(opts: OpsRoutesOptions): Route[] {
  const log = opts.logger.child({ component: 'ops' });
  let lastLogged = '';
  return [
    { method: 'GET', path: HEALTHZ_PATH, handle: (_req, res) => sendJson(res, 200, { status: 'ok' }) },
    {
      method: 'GET',
      path: READYZ_PATH,
      handle: async (_req, res) => {
        const r = await opts.readiness();
        if (r.ready) {
          if (lastLogged) log.info({}, 'ready again');
          lastLogged = '';
          sendJson(res, 200, r.degraded ? { status: 'degraded', reason: r.degraded } : { status: 'ready' });
          return;
        }
        const key = `${r.reason}|${r.detail ?? ''}`;
        if (key !== lastLogged) {
          lastLogged = key;
          log.warn({ reason: r.reason, ...(r.detail ? { detail: r.detail } : {}) }, `not ready: ${r.reason}`);
        }
        sendJson(res, 503, { status: 'unready', reason: r.reason });
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
  /** a short reason code when ready but unable to do part of the work (e.g. `state_store_down`) */
  degraded?: () => DegradedReason | undefined;
  probeTimeoutMs?: number;
  cacheMs?: number;
  now?: () => number;
}): () => Promise<Readiness> {
  const now = opts.now ?? Date.now;
  const timeoutMs = opts.probeTimeoutMs ?? 2_000;
  const cacheMs = opts.cacheMs ?? 5_000;
  let okAt = -Infinity;
  const ready = (): Readiness => {
    const degraded = opts.degraded?.();
    return degraded ? { ready: true, degraded } : { ready: true };
  };
  return async () => {
    const phase = opts.phase();
    if (phase === 'starting') return { ready: false, reason: 'starting' };
    if (phase === 'stopping') return { ready: false, reason: 'stopping' };
    const ws = opts.socket();
    if (!ws?.connected) {
      if (ws?.authRejected) return { ready: false, reason: 'token_rejected', detail: 'the server keeps rejecting the token on the WebSocket' };
      return { ready: false, reason: 'websocket_down', ...(ws?.lastError ? { detail: ws.lastError } : {}) };
    }
    if (now() - okAt < cacheMs) return ready();
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    try {
      await opts.probe(controller.signal);
      okAt = now();
      return ready();
    } catch (err) {
      return { ready: false, reason: 'api_unreachable', detail: err instanceof Error ? err.message : String(err) };
    } finally {
      clearTimeout(timer);
    }
  };
}
