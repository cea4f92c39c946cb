/**
 * Typed errors from the Mattermost API. Three meanings, as in grammY:
 * the server said no ({@link ApiError}), the network failed ({@link NetworkError}),
 * or the server answered with something we cannot read ({@link ProtocolError}).
 */

/**
 * The AppError ids that mean "this token is no good": every session-required route answers
 * an unknown, revoked or expired token with `session_expired`, and a non-OAuth token in the
 * query string with `token_provided` (`server/channels/web/handlers.go` ServeHTTP; the
 * finer `api.context.invalid_token.error` of `server/channels/app/session.go` GetSession
 * is replaced by `session_expired` there). Other 401s are ordinary refusals
 * (docs/mattermost-notes.md §1.2).
 */
export const TOKEN_REJECTED_IDS: ReadonlySet<string> = new Set([
  'api.context.session_expired.app_error',
  'api.context.token_provided.app_error',
]);

/** The server answered with a non-2xx status. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    /** HTTP status */
    readonly status: number,
    /** the AppError `id` (i18n key), '' when the body was not an AppError (e.g. 429) */
    readonly serverErrorId: string,
    /** the server's human text, safe to show */
    readonly serverMessage: string,
    /** `X-Request-ID` / `request_id` */
    readonly requestId: string,
    /** method and path (never the query string, which may carry secrets) */
    readonly endpoint: string,
    /** seconds to wait before retrying, from Retry-After / X-RateLimit-Reset (429) */
    readonly retryAfterSeconds?: number,
  ) {
    super(`${endpoint} → ${status}${serverErrorId ? ` ${serverErrorId}` : ''}: ${serverMessage}`);
  }
  get isNotFound(): boolean {
    return this.status === 404;
  }
  get isForbidden(): boolean {
    return this.status === 403;
  }
  get isUnauthorized(): boolean {
    return this.status === 401;
  }
  /** the server rejected the bot's token itself (decided on the error id, not the status) */
  get isTokenRejected(): boolean {
    return this.status === 401 && TOKEN_REJECTED_IDS.has(this.serverErrorId);
  }
}

/** The request never got an answer (connection refused, DNS, reset, timeout). */
export class NetworkError extends Error {
  override readonly name = 'NetworkError';
  constructor(
    readonly endpoint: string,
    readonly reason: string,
    readonly timedOut = false,
    /** true when a write may or may not have been applied by the server */
    readonly outcomeUnknown = false,
  ) {
    super(`${endpoint}: ${reason}`);
  }
}

/** The server answered 2xx but the body does not match what the protocol says. */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  constructor(
    readonly endpoint: string,
    readonly detail: string,
  ) {
    super(`${endpoint}: unexpected response (${detail})`);
  }
}

export const isApiError = (e: unknown): e is ApiError => e instanceof ApiError;
export const isNetworkError = (e: unknown): e is NetworkError => e instanceof NetworkError;
