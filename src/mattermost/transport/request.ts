/**
 * What travels through the REST client's layers: one {@link ApiRequest} per call (built once,
 * whatever the number of attempts), and per attempt either a {@link RawResponse} (any status)
 * or a thrown {@link AttemptError} (no usable response). The layers decide on these; only
 * `createRestApi` (rest-api.ts) turns the final outcome into an ApiError, NetworkError or
 * ProtocolError for the caller.
 */
import { NetworkError } from '../errors.js';
import type { AttemptFailure, RequestKind } from '../retry-policy.js';

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** One call of an endpoint, as the layers see it. */
export interface ApiRequest {
  readonly method: Method;
  /** full URL, query included */
  readonly url: string;
  /** `METHOD /api/v4/route/{placeholder}`: the metrics label and error endpoint (never ids or the query) */
  readonly endpoint: string;
  readonly kind: RequestKind;
  /** JSON body (serialized for each attempt) */
  readonly json?: unknown;
  /** multipart body, rebuilt for each attempt */
  readonly form?: () => FormData;
  /**
   * a raw body (a file upload), made again for each attempt: bytes, or a stream sent as it
   * is produced (chunked), so a large export never sits in memory whole
   */
  readonly upload?: { contentType: string; body: () => Uint8Array | AsyncIterable<Uint8Array> };
  /** how the response body is read: by Client4 (JSON or text), or as bytes */
  readonly read: 'client4' | 'bytes';
  /** extra attempts after a failure the retry policy calls retryable */
  readonly retries: number;
  /** the pacing layer's per-call state: 429 waits so far */
  rateLimitRetries: number;
  /** the pacing layer's per-call state: the next pause is a 429's, already counted */
  pauseCounted: boolean;
}

export type ResponseBody =
  | { kind: 'json'; value: unknown }
  | { kind: 'text'; value: string }
  | { kind: 'bytes'; value: Uint8Array };

/** What the server answered, whatever the status. */
export interface RawResponse {
  status: number;
  statusText: string;
  headers: Headers;
  contentType: string;
  body: ResponseBody;
}

/** Why an attempt gave no usable response. */
export type AttemptOutcome =
  | AttemptFailure
  /** the caller's signal aborted the attempt */
  | { type: 'cancelled' }
  /** the server answered, but a JSON-typed body did not parse */
  | { type: 'bad-json' }
  /** a 429 the pacing layer waits out: the retry layer tries again at once */
  | { type: 'rate-limited' };

/** Thrown by a layer or the transport for one attempt; the retry layer decides what follows. */
export class AttemptError extends Error {
  override readonly name = 'AttemptError';
  constructor(
    readonly failure: AttemptOutcome,
    /** safe to show: never carries the token */
    readonly reason: string,
  ) {
    super(reason);
  }
}

export const isAttemptError = (e: unknown): e is AttemptError => e instanceof AttemptError;

/** The caller stopped waiting (its deadline passed); `maybeSent`: the request may have reached the server. */
export function cancelledError(req: Pick<ApiRequest, 'endpoint' | 'kind'>, maybeSent: boolean): NetworkError {
  return new NetworkError(
    req.endpoint,
    'cancelled: the caller stopped waiting (deadline passed)',
    true,
    req.kind === 'write' && maybeSent,
  );
}
