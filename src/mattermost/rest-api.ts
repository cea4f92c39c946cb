/**
 * The Mattermost REST v4 client: implements {@link MattermostApi} on @mattermost/client's
 * Client4 (the only importer of that package). Everything the rest of the bot needs to
 * trust about the network lives here: zod parsing of every body, typed errors, retries
 * with an explicit retry-or-rethrow decision, rate-limit waits and pacing, timeouts,
 * a concurrency bound, a circuit breaker, and per-endpoint counters.
 *
 * @example
 *   const api = createRestApi({ url: 'https://chat.example.com', token: env.MM_BOT_TOKEN, logger });
 *   const me = await api.getMe({ signal: ctx.signal });
 */
import pkg from '@mattermost/client';
import { z } from 'zod';
import type { Logger } from '../core/command.js';
import { silentLogger } from '../core/logger.js';
import type { ApiStats, CallOptions, MattermostApi } from './api.js';
import { ApiError, NetworkError, ProtocolError, TOKEN_REJECTED_IDS } from './errors.js';
import {
  appErrorSchema,
  auditSchema,
  channelMemberSchema,
  channelSchema,
  clientConfigSchema,
  clusterInfoSchema,
  commandSchema,
  emailInviteWithErrorSchema,
  fileInfoSchema,
  pingSchema,
  postListSchema,
  postSchema,
  preferenceSchema,
  roleSchema,
  samlCertificateStatusSchema,
  schemeSchema,
  sessionSchema,
  statusOkSchema,
  statusSchema,
  teamMemberSchema,
  teamMemberWithErrorSchema,
  teamSchema,
  userAutocompleteSchema,
  userSchema,
} from './models.js';
import { createPacer, emptyBudgetIntervalMs } from './pacing.js';
import { type AttemptFailure, type RequestKind, backoffDelay, decideRetry, retryAfterSeconds } from './retry-policy.js';

// Client4 is published as CommonJS: a default import gives module.exports.
const { Client4, ClientError } = pkg;

/** Options of {@link createRestApi}. */
export interface RestApiOptions {
  /** server base URL, e.g. `https://chat.example.com` (no `/api/v4`) */
  url: string;
  /** the bot's access token (MM_BOT_TOKEN); never logged */
  token: string;
  /** per attempt, default 10 000 */
  timeoutMs?: number;
  /** requests in flight at once, default 16 */
  maxConcurrency?: number;
  /** extra attempts for reads after network errors, timeouts and 5xx; default 2 */
  readRetries?: number;
  /** 429 waits per call before giving up with the 429 ApiError; default 4 */
  maxRateLimitRetries?: number;
  /** a single rate-limit wait longer than this is not waited out (ApiError 429); default 60 000 */
  maxRateLimitWaitMs?: number;
  /** consecutive network failures that open the circuit, and how long it stays open */
  breaker?: { failures: number; cooldownMs: number };
  logger?: Logger;
  /** one call per HTTP attempt (status 0 = no response), for metrics */
  onRequest?: (info: { endpoint: string; status: number; ms: number }) => void;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** What `Client4.doFetchWithResponse` gives back (it is private in the typings). */
type DoFetchWithResponse = (
  url: string,
  options: {
    method: string;
    body?: string | FormData;
    signal?: AbortSignal;
    ignoreStatus: boolean;
    headers?: Record<string, string>;
  },
) => Promise<{ response: Response; data: unknown }>;

type ResponseBody =
  | { kind: 'json'; value: unknown }
  | { kind: 'text'; value: string }
  | { kind: 'bytes'; value: Uint8Array };

interface RawResponse {
  status: number;
  statusText: string;
  headers: Headers;
  contentType: string;
  body: ResponseBody;
}

interface RequestSpec<T> {
  method: Method;
  /** path template under /api/v4 with `{placeholders}`, e.g. `/users/{user_id}/status` */
  path: string;
  params?: Record<string, string>;
  query?: Record<string, string | number | boolean | undefined>;
  kind: RequestKind;
  /** JSON body */
  body?: unknown;
  /** multipart body, rebuilt for each attempt */
  form?: () => FormData;
  /** how the response body is read */
  transport?: 'client4' | 'bytes';
  /** overrides readRetries for this call */
  retries?: number;
  parse: (body: ResponseBody, endpoint: string) => T;
}

/** The attempt could not produce a response. */
interface AttemptError {
  failure: AttemptFailure | { type: 'cancelled' } | { type: 'bad-json' };
  reason: string;
}

const NOT_SENT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** Creates the REST client. See {@link RestApiOptions}. */
export function createRestApi(opts: RestApiOptions): MattermostApi {
  const baseUrl = opts.url.replace(/\/+$/, '');
  const token = opts.token;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const readRetries = opts.readRetries ?? 2;
  const maxRateLimitRetries = opts.maxRateLimitRetries ?? 4;
  const maxRateLimitWaitMs = opts.maxRateLimitWaitMs ?? 60_000;
  const breakerCfg = opts.breaker ?? { failures: 5, cooldownMs: 5_000 };
  const log = (opts.logger ?? silentLogger).child({ module: 'mattermost-rest' });
  const now = opts.now ?? Date.now;
  const injectedSleep = opts.sleep;
  const random = opts.random ?? Math.random;

  const client = new Client4();
  client.setUrl(baseUrl);
  client.setToken(token);
  client.setIncludeCookies(false);
  client.setUserAgent('mmops');
  const doFetch: DoFetchWithResponse = client['doFetchWithResponse'];

  const semaphore = createSemaphore(opts.maxConcurrency ?? 16);
  const stats: ApiStats = { requests: 0, byEndpoint: {}, rateLimitWaits: 0, retries: 0, lastRoundTripMs: 0 };
  const breaker = { failures: 0, openUntil: 0 };
  /** spacing while X-RateLimit-Remaining is 0, and the Retry-After of a 429 */
  const pacer = createPacer({ now, maxIntervalMs: maxRateLimitWaitMs });
  let tokenRejectionLogged = false;

  /** Never let the token reach a message, whatever the server or the runtime put in it. */
  const redact = (s: string): string => (token.length >= 4 ? s.split(token).join('[redacted]') : s);

  function record(endpoint: string, status: number, ms: number): void {
    stats.requests += 1;
    const entry = (stats.byEndpoint[endpoint] ??= { count: 0, byStatus: {}, totalMs: 0 });
    entry.count += 1;
    entry.byStatus[String(status)] = (entry.byStatus[String(status)] ?? 0) + 1;
    entry.totalMs += ms;
    if (status !== 0) stats.lastRoundTripMs = ms;
    try {
      opts.onRequest?.({ endpoint, status, ms });
    } catch (err) {
      log.warn({ err: String(err) }, 'onRequest hook threw');
    }
  }

  /** Sleeps, but gives up as soon as the caller's signal aborts (and then leaves no timer behind). */
  async function wait(ms: number, signal: AbortSignal | undefined, endpoint: string, kind: RequestKind): Promise<void> {
    if (ms <= 0) return;
    if (signal?.aborted) throw cancelled(endpoint, kind, false);
    let timer: NodeJS.Timeout | undefined;
    let onAbort: () => void = () => {};
    const slept = injectedSleep
      ? injectedSleep(ms)
      : new Promise<void>((resolve) => {
          timer = setTimeout(resolve, ms);
        });
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(cancelled(endpoint, kind, false));
      signal?.addEventListener('abort', onAbort, { once: true });
    });
    try {
      await Promise.race([slept, aborted]);
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  function cancelled(endpoint: string, kind: RequestKind, maybeSent: boolean): NetworkError {
    return new NetworkError(
      endpoint,
      'cancelled: the caller stopped waiting (deadline passed)',
      true,
      kind === 'write' && maybeSent,
    );
  }

  function buildUrl(spec: RequestSpec<unknown>): string {
    const path = spec.path.replace(/\{(\w+)\}/g, (_, name: string) => {
      const value = spec.params?.[name];
      if (value === undefined) throw new TypeError(`missing path parameter ${name} for ${spec.path}`);
      return encodeURIComponent(value);
    });
    const query = new URLSearchParams();
    for (const [k, v] of Object.entries(spec.query ?? {})) if (v !== undefined) query.set(k, String(v));
    const qs = query.toString();
    return `${client.getBaseRoute()}${path}${qs ? `?${qs}` : ''}`;
  }

  function endpointLabel(spec: RequestSpec<unknown>): string {
    return `${spec.method} ${client.getUrlVersion()}${spec.path}`;
  }

  /** One HTTP attempt: a response (any status) or an AttemptError. */
  async function attempt(
    spec: RequestSpec<unknown>,
    url: string,
    callerSignal: AbortSignal | undefined,
  ): Promise<RawResponse | AttemptError> {
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    const onCallerAbort = () => controller.abort();
    callerSignal?.addEventListener('abort', onCallerAbort, { once: true });
    try {
      return await send(spec, url, controller.signal);
    } catch (err) {
      if (callerSignal?.aborted) return { failure: { type: 'cancelled' }, reason: 'cancelled' };
      if (timedOut) return { failure: { type: 'timeout' }, reason: `no answer within ${timeoutMs} ms` };
      return classifyThrown(err);
    } finally {
      clearTimeout(timer);
      callerSignal?.removeEventListener('abort', onCallerAbort);
    }
  }

  async function send(spec: RequestSpec<unknown>, url: string, signal: AbortSignal): Promise<RawResponse> {
    const body = spec.form ? spec.form() : spec.body === undefined ? undefined : JSON.stringify(spec.body);
    if (spec.transport === 'bytes') {
      // Client4 reads every non-JSON body as text (corrupting bytes): plain fetch for files.
      const headers: Record<string, string> = client.getOptions({ method: spec.method }).headers;
      if (typeof body === 'string') headers['Content-Type'] = 'application/json';
      const response = await fetch(url, { method: spec.method, headers, body, signal });
      return readFetchResponse(response, response.ok);
    }
    const { response, data } = await doFetch(url, { method: spec.method, body, signal, ignoreStatus: true });
    const contentType = response.headers.get('content-type') ?? '';
    let parsed: ResponseBody;
    if (typeof data === 'string') {
      // Client4 parses JSON only for exactly `application/json`; accept parameters too.
      parsed = isJsonType(contentType) ? { kind: 'json', value: parseJsonText(data) } : { kind: 'text', value: data };
    } else {
      parsed = { kind: 'json', value: data };
    }
    return { status: response.status, statusText: response.statusText, headers: response.headers, contentType, body: parsed };
  }

  async function readFetchResponse(response: Response, asBytes: boolean): Promise<RawResponse> {
    const contentType = response.headers.get('content-type') ?? '';
    let body: ResponseBody;
    if (asBytes) body = { kind: 'bytes', value: new Uint8Array(await response.arrayBuffer()) };
    else {
      const text = await response.text();
      body = isJsonType(contentType) ? { kind: 'json', value: parseJsonText(text) } : { kind: 'text', value: text };
    }
    return { status: response.status, statusText: response.statusText, headers: response.headers, contentType, body };
  }

  function classifyThrown(err: unknown): AttemptError {
    // Client4 wraps body-read failures in a ClientError whose cause is the real error.
    const inner = err instanceof ClientError && err.cause !== undefined ? err.cause : err;
    if (inner instanceof BadJsonError || inner instanceof SyntaxError) {
      return { failure: { type: 'bad-json' }, reason: 'the body is not valid JSON' };
    }
    const code = errorCode(inner);
    const notSent = code !== undefined && NOT_SENT_CODES.has(code);
    return { failure: { type: 'network', notSent }, reason: redact(describeNetworkError(inner, code)) };
  }

  function toApiError(raw: RawResponse, endpoint: string): ApiError {
    let id = '';
    let message = '';
    let requestId = raw.headers.get('x-request-id') ?? '';
    const appError = raw.body.kind === 'json' ? appErrorSchema.safeParse(raw.body.value) : undefined;
    if (appError?.success) {
      id = appError.data.id;
      message = appError.data.message;
      requestId = appError.data.request_id || requestId;
    } else if (raw.body.kind === 'text') {
      message = describeTextBody(raw.status, raw.statusText, raw.contentType, raw.body.value);
    } else {
      message = `HTTP ${raw.status} ${raw.statusText}`.trim();
    }
    if (raw.status === 401 && TOKEN_REJECTED_IDS.has(id)) {
      message = `the Mattermost server rejected MM_BOT_TOKEN (${message || 'unauthorized'}); check that the bot's access token is correct and has not been revoked`;
      if (!tokenRejectionLogged) {
        tokenRejectionLogged = true;
        log.error({ endpoint, serverErrorId: id }, 'Mattermost rejected MM_BOT_TOKEN (401)');
      }
    }
    const retryAfter = raw.status === 429 ? rateLimitWaitMs(raw.headers) / 1000 : undefined;
    return new ApiError(raw.status, id, redact(message), requestId, endpoint, retryAfter);
  }

  /** How long a 429 asks to wait: its Retry-After, else one spacing interval, else 1 s. */
  function rateLimitWaitMs(headers: Headers): number {
    const secs = retryAfterSeconds(headers, now());
    if (secs !== undefined) return secs * 1000;
    return emptyBudgetIntervalMs(headers) ?? 1000;
  }

  async function execute<T>(spec: RequestSpec<T>, o?: CallOptions): Promise<T> {
    const endpoint = endpointLabel(spec);
    const url = buildUrl(spec);
    const signal = o?.signal;
    const maxRetries = spec.retries ?? readRetries;
    let retriesUsed = 0;
    let rateLimitRetries = 0;
    /** the pause set by our own 429 is already counted as a rate-limit wait */
    let pauseCounted = false;

    for (;;) {
      if (signal?.aborted) throw cancelled(endpoint, spec.kind, false);
      if (now() < breaker.openUntil) {
        const secs = Math.ceil((breaker.openUntil - now()) / 1000);
        throw new NetworkError(
          endpoint,
          `Mattermost is not answering (${breaker.failures} failed attempts in a row); next try in ${secs}s`,
        );
      }
      const pause = pacer.reserve();
      if (pause > 0) {
        if (!pauseCounted) stats.rateLimitWaits += 1;
        log.debug({ endpoint, waitMs: pause }, 'pacing: rate-limit budget used up, spacing requests');
        await wait(pause, signal, endpoint, spec.kind);
      }
      pauseCounted = false;

      const release = await semaphore.acquire(signal, () => cancelled(endpoint, spec.kind, false));
      const started = now();
      let result: RawResponse | AttemptError;
      try {
        result = await attempt(spec, url, signal);
      } finally {
        release();
      }
      const ms = now() - started;

      if ('failure' in result) {
        const failure = result.failure;
        if (failure.type === 'cancelled') {
          record(endpoint, 0, ms);
          throw cancelled(endpoint, spec.kind, true);
        }
        if (failure.type === 'bad-json') {
          // The server answered, so the connection is fine; the body is unreadable.
          record(endpoint, 0, ms);
          breaker.failures = 0;
          throw new ProtocolError(endpoint, result.reason);
        }
        record(endpoint, 0, ms);
        noteNetworkFailure(endpoint);
        const timedOut = failure.type === 'timeout';
        const notSent = failure.type === 'network' && failure.notSent;
        if (decideRetry(spec.kind, failure) === 'retry' && retriesUsed < maxRetries) {
          await backoff(retriesUsed++, endpoint, result.reason, signal, spec.kind);
          continue;
        }
        throw new NetworkError(endpoint, result.reason, timedOut, spec.kind === 'write' && !notSent);
      }

      record(endpoint, result.status, ms);
      breaker.failures = 0;
      pacer.observe(result.headers);

      if (result.status >= 200 && result.status < 300) return spec.parse(result.body, endpoint);

      if (result.status === 429) {
        const error = toApiError(result, endpoint);
        const waitMs = rateLimitWaitMs(result.headers);
        if (rateLimitRetries >= maxRateLimitRetries || waitMs > maxRateLimitWaitMs) throw error;
        rateLimitRetries += 1;
        stats.rateLimitWaits += 1;
        pacer.blockFor(waitMs);
        log.warn({ endpoint, waitMs }, 'rate limited by Mattermost (429); waiting before retrying');
        // the wait itself happens at the top of the loop, shared with concurrent requests
        pauseCounted = true;
        continue;
      }

      if (decideRetry(spec.kind, { type: 'status', status: result.status }) === 'retry' && retriesUsed < maxRetries) {
        await backoff(retriesUsed++, endpoint, `HTTP ${result.status}`, signal, spec.kind);
        continue;
      }
      throw toApiError(result, endpoint);
    }
  }

  function noteNetworkFailure(endpoint: string): void {
    breaker.failures += 1;
    if (breaker.failures >= breakerCfg.failures) {
      const wasOpen = now() < breaker.openUntil;
      breaker.openUntil = now() + breakerCfg.cooldownMs;
      if (!wasOpen) {
        log.warn(
          { endpoint, failures: breaker.failures, cooldownMs: breakerCfg.cooldownMs },
          'Mattermost is not answering; failing fast for a while',
        );
      }
    }
  }

  async function backoff(
    attemptNo: number,
    endpoint: string,
    reason: string,
    signal: AbortSignal | undefined,
    kind: RequestKind,
  ): Promise<void> {
    stats.retries += 1;
    const delay = backoffDelay(attemptNo, random);
    log.debug({ endpoint, attempt: attemptNo + 1, reason, delayMs: delay }, 'retrying Mattermost request');
    await wait(delay, signal, endpoint, kind);
  }

  // ---------------------------------------------------------------------------
  // body parsers

  const json =
    <T>(schema: z.ZodType<T>) =>
    (body: ResponseBody, endpoint: string): T => {
      if (body.kind !== 'json') {
        throw new ProtocolError(endpoint, `expected a JSON body, got ${body.kind === 'text' ? 'text' : 'bytes'}`);
      }
      const result = schema.safeParse(body.value);
      if (!result.success) throw new ProtocolError(endpoint, redact(summarizeIssues(result.error)));
      return result.data;
    };
  const statusOk = (body: ResponseBody, endpoint: string): void => {
    json(statusOkSchema)(body, endpoint);
  };
  const anyObject = (body: ResponseBody, endpoint: string): void => {
    json(z.record(z.string(), z.unknown()))(body, endpoint);
  };
  const bytes = (body: ResponseBody, endpoint: string): Uint8Array => {
    if (body.kind !== 'bytes') throw new ProtocolError(endpoint, 'expected file bytes');
    return body.value;
  };
  const users = json(z.array(userSchema));

  const page = (p: { page: number; perPage: number }) => ({ page: p.page, per_page: p.perPage });

  // ---------------------------------------------------------------------------
  // endpoints

  const api: MattermostApi = {
    getMe: (o) => execute({ method: 'GET', path: '/users/me', kind: 'read', parse: json(userSchema) }, o),
    getUser: (userId, o) =>
      execute({ method: 'GET', path: '/users/{user_id}', params: { user_id: userId }, kind: 'read', parse: json(userSchema) }, o),
    getUsersByIds: async (ids, o) =>
      ids.length === 0 ? [] : execute({ method: 'POST', path: '/users/ids', body: ids, kind: 'read', parse: users }, o),
    getUsersByUsernames: async (usernames, o) =>
      usernames.length === 0
        ? []
        : execute({ method: 'POST', path: '/users/usernames', body: usernames, kind: 'read', parse: users }, o),
    getUserByEmail: (email, o) =>
      execute({ method: 'GET', path: '/users/email/{email}', params: { email }, kind: 'read', parse: json(userSchema) }, o),
    searchUsers: (search, o) =>
      execute({ method: 'POST', path: '/users/search', body: search, kind: 'read', parse: users }, o),
    listUsers: (q, o) =>
      execute(
        {
          method: 'GET',
          path: '/users',
          query: { role: q.role, active: q.active, ...page(q) },
          kind: 'read',
          parse: users,
        },
        o,
      ),
    autocompleteUsers: (q, o) =>
      execute(
        {
          method: 'GET',
          path: '/users/autocomplete',
          query: { name: q.name, in_team: q.teamId, in_channel: q.channelId, limit: q.limit },
          kind: 'read',
          parse: json(userAutocompleteSchema),
        },
        o,
      ),
    updateUserActive: (userId, active, o) =>
      execute(
        { method: 'PUT', path: '/users/{user_id}/active', params: { user_id: userId }, body: { active }, kind: 'write', parse: statusOk },
        o,
      ),
    updateUserRoles: (userId, roles, o) =>
      execute(
        { method: 'PUT', path: '/users/{user_id}/roles', params: { user_id: userId }, body: { roles }, kind: 'write', parse: statusOk },
        o,
      ),
    getSessions: (userId, o) =>
      execute(
        // sessionSchema has no `token` field: the (normally blank) token is dropped on parse
        { method: 'GET', path: '/users/{user_id}/sessions', params: { user_id: userId }, kind: 'read', parse: json(z.array(sessionSchema)) },
        o,
      ),
    revokeAllSessions: (userId, o) =>
      execute(
        { method: 'POST', path: '/users/{user_id}/sessions/revoke/all', params: { user_id: userId }, kind: 'write', parse: statusOk },
        o,
      ),
    getAudits: (userId, p, o) =>
      execute(
        {
          method: 'GET',
          path: '/users/{user_id}/audits',
          params: { user_id: userId },
          query: page(p),
          kind: 'read',
          parse: json(z.array(auditSchema)),
        },
        o,
      ),
    updateMfa: (userId, activate, code, o) =>
      execute(
        {
          method: 'PUT',
          path: '/users/{user_id}/mfa',
          params: { user_id: userId },
          body: code === undefined ? { activate } : { activate, code },
          kind: 'write',
          parse: statusOk,
        },
        o,
      ),
    updateAuth: (userId, auth, o) =>
      execute(
        // the answer is the UserAuth (auth_data included): checked for shape, then dropped
        { method: 'PUT', path: '/users/{user_id}/auth', params: { user_id: userId }, body: auth, kind: 'write', parse: anyObject },
        o,
      ),
    updatePassword: (userId, newPassword, o) =>
      execute(
        {
          method: 'PUT',
          path: '/users/{user_id}/password',
          params: { user_id: userId },
          body: { new_password: newPassword },
          kind: 'write',
          parse: statusOk,
        },
        o,
      ),
    setProfileImage: (userId, image, o) =>
      execute(
        {
          method: 'POST',
          path: '/users/{user_id}/image',
          params: { user_id: userId },
          form: () => {
            const form = new FormData();
            form.append('image', new Blob([new Uint8Array(image.data)], { type: image.mimeType }), image.filename);
            return form;
          },
          kind: 'write',
          parse: statusOk,
        },
        o,
      ),
    getTeamsForUser: (userId, o) =>
      execute(
        { method: 'GET', path: '/users/{user_id}/teams', params: { user_id: userId }, kind: 'read', parse: json(z.array(teamSchema)) },
        o,
      ),

    getChannelsForUser: (userId, q, o) =>
      execute(
        {
          method: 'GET',
          path: '/users/{user_id}/channels',
          params: { user_id: userId },
          query: { include_deleted: q.includeDeleted },
          kind: 'read',
          parse: json(z.array(channelSchema)),
        },
        o,
      ),
    getTeamMembersForUser: (userId, o) =>
      execute(
        {
          method: 'GET',
          path: '/users/{user_id}/teams/members',
          params: { user_id: userId },
          kind: 'read',
          parse: json(z.array(teamMemberSchema)),
        },
        o,
      ),

    getStatus: (userId, o) =>
      execute(
        { method: 'GET', path: '/users/{user_id}/status', params: { user_id: userId }, kind: 'read', parse: json(statusSchema) },
        o,
      ),
    getStatusesByIds: async (userIds, o) =>
      userIds.length === 0
        ? []
        : execute(
            { method: 'POST', path: '/users/status/ids', body: userIds, kind: 'read', parse: json(z.array(statusSchema)) },
            o,
          ),
    updateStatus: (userId, status, dndEndTime, o) =>
      execute(
        {
          method: 'PUT',
          path: '/users/{user_id}/status',
          params: { user_id: userId },
          body: dndEndTime === undefined ? { user_id: userId, status } : { user_id: userId, status, dnd_end_time: dndEndTime },
          kind: 'write',
          parse: json(statusSchema),
        },
        o,
      ),

    getTeam: (teamId, o) =>
      execute({ method: 'GET', path: '/teams/{team_id}', params: { team_id: teamId }, kind: 'read', parse: json(teamSchema) }, o),
    getTeamByName: (name, o) =>
      execute({ method: 'GET', path: '/teams/name/{team_name}', params: { team_name: name }, kind: 'read', parse: json(teamSchema) }, o),
    getTeamMembers: (teamId, p, o) =>
      execute(
        {
          method: 'GET',
          path: '/teams/{team_id}/members',
          params: { team_id: teamId },
          query: page(p),
          kind: 'read',
          parse: json(z.array(teamMemberSchema)),
        },
        o,
      ),
    getTeamMembersByIds: async (teamId, userIds, o) =>
      userIds.length === 0
        ? []
        : execute(
            {
              method: 'POST',
              path: '/teams/{team_id}/members/ids',
              params: { team_id: teamId },
              body: userIds,
              kind: 'read',
              parse: json(z.array(teamMemberSchema)),
            },
            o,
          ),
    getTeamMember: (teamId, userId, o) =>
      execute(
        {
          method: 'GET',
          path: '/teams/{team_id}/members/{user_id}',
          params: { team_id: teamId, user_id: userId },
          kind: 'read',
          parse: json(teamMemberSchema),
        },
        o,
      ),
    addTeamMembers: async (teamId, userIds, o) =>
      userIds.length === 0
        ? []
        : execute(
            {
              method: 'POST',
              path: '/teams/{team_id}/members/batch',
              params: { team_id: teamId },
              query: { graceful: true },
              body: userIds.map((userId) => ({ team_id: teamId, user_id: userId })),
              kind: 'write',
              parse: json(z.array(teamMemberWithErrorSchema)),
            },
            o,
          ),
    inviteToTeamByEmail: async (teamId, emails, o) =>
      emails.length === 0
        ? []
        : execute(
            {
              method: 'POST',
              path: '/teams/{team_id}/invite/email',
              params: { team_id: teamId },
              query: { graceful: true },
              body: emails,
              kind: 'write',
              parse: json(z.array(emailInviteWithErrorSchema)),
            },
            o,
          ),
    updateTeamMemberRoles: (teamId, userId, roles, o) =>
      execute(
        {
          method: 'PUT',
          path: '/teams/{team_id}/members/{user_id}/roles',
          params: { team_id: teamId, user_id: userId },
          body: { roles },
          kind: 'write',
          parse: statusOk,
        },
        o,
      ),

    getChannel: (channelId, o) =>
      execute(
        { method: 'GET', path: '/channels/{channel_id}', params: { channel_id: channelId }, kind: 'read', parse: json(channelSchema) },
        o,
      ),
    getChannelByName: (teamId, name, o) =>
      execute(
        {
          method: 'GET',
          path: '/teams/{team_id}/channels/name/{channel_name}',
          params: { team_id: teamId, channel_name: name },
          kind: 'read',
          parse: json(channelSchema),
        },
        o,
      ),
    getChannelMembers: (channelId, p, o) =>
      execute(
        {
          method: 'GET',
          path: '/channels/{channel_id}/members',
          params: { channel_id: channelId },
          query: page(p),
          kind: 'read',
          parse: json(z.array(channelMemberSchema)),
        },
        o,
      ),
    getChannelMembersByIds: async (channelId, userIds, o) =>
      userIds.length === 0
        ? []
        : execute(
            {
              method: 'POST',
              path: '/channels/{channel_id}/members/ids',
              params: { channel_id: channelId },
              body: userIds,
              kind: 'read',
              parse: json(z.array(channelMemberSchema)),
            },
            o,
          ),
    getChannelMember: (channelId, userId, o) =>
      execute(
        {
          method: 'GET',
          path: '/channels/{channel_id}/members/{user_id}',
          params: { channel_id: channelId, user_id: userId },
          kind: 'read',
          parse: json(channelMemberSchema),
        },
        o,
      ),
    createDirectChannel: (userIdA, userIdB, o) =>
      execute(
        // 201 whether or not the DM existed: repeating it is harmless
        { method: 'POST', path: '/channels/direct', body: [userIdA, userIdB], kind: 'idempotent', parse: json(channelSchema) },
        o,
      ),

    getPostsSince: (channelId, since, o) =>
      execute(
        {
          method: 'GET',
          path: '/channels/{channel_id}/posts',
          params: { channel_id: channelId },
          query: { since },
          kind: 'read',
          parse: json(postListSchema),
        },
        o,
      ),
    getPostsPage: (channelId, q, o) =>
      execute(
        {
          method: 'GET',
          path: '/channels/{channel_id}/posts',
          params: { channel_id: channelId },
          query: { per_page: q.perPage, before: q.before },
          kind: 'read',
          parse: json(postListSchema),
        },
        o,
      ),

    getRolesByNames: async (names, o) =>
      names.length === 0
        ? []
        : execute({ method: 'POST', path: '/roles/names', body: names, kind: 'read', parse: json(z.array(roleSchema)) }, o),
    getScheme: (schemeId, o) =>
      execute({ method: 'GET', path: '/schemes/{scheme_id}', params: { scheme_id: schemeId }, kind: 'read', parse: json(schemeSchema) }, o),

    getPreferences: (userId, category, o) =>
      execute(
        category === undefined
          ? { method: 'GET', path: '/users/{user_id}/preferences', params: { user_id: userId }, kind: 'read', parse: json(z.array(preferenceSchema)) }
          : {
              method: 'GET',
              path: '/users/{user_id}/preferences/{category}',
              params: { user_id: userId, category },
              kind: 'read',
              parse: json(z.array(preferenceSchema)),
            },
        o,
      ),
    savePreferences: (userId, prefs, o) =>
      execute(
        { method: 'PUT', path: '/users/{user_id}/preferences', params: { user_id: userId }, body: prefs, kind: 'write', parse: statusOk },
        o,
      ),
    deletePreferences: (userId, prefs, o) =>
      execute(
        {
          method: 'POST',
          path: '/users/{user_id}/preferences/delete',
          params: { user_id: userId },
          body: prefs,
          kind: 'write',
          parse: statusOk,
        },
        o,
      ),

    ping: (o) =>
      execute(
        {
          method: 'GET',
          path: '/system/ping',
          query: { get_server_status: true, use_rest_semantics: true },
          kind: 'read',
          // a health probe reports what it sees; retrying would hide slowness
          retries: 0,
          parse: json(pingSchema),
        },
        o,
      ),
    getClusterStatus: (o) =>
      execute({ method: 'GET', path: '/cluster/status', kind: 'read', parse: json(z.array(clusterInfoSchema)) }, o),
    getClientConfig: (o) =>
      execute({ method: 'GET', path: '/config/client', query: { format: 'old' }, kind: 'read', parse: json(clientConfigSchema) }, o),
    getSamlCertificateStatus: (o) =>
      execute({ method: 'GET', path: '/saml/certificate/status', kind: 'read', parse: json(samlCertificateStatusSchema) }, o),

    listCustomCommands: (teamId, o) =>
      execute(
        {
          method: 'GET',
          path: '/commands',
          query: { team_id: teamId, custom_only: true },
          kind: 'read',
          parse: json(z.array(commandSchema)),
        },
        o,
      ),
    createCommand: (cmd, o) =>
      execute({ method: 'POST', path: '/commands', body: cmd, kind: 'write', parse: json(commandSchema) }, o),
    updateCommand: (cmd, o) =>
      execute(
        { method: 'PUT', path: '/commands/{command_id}', params: { command_id: cmd.id }, body: cmd, kind: 'write', parse: json(commandSchema) },
        o,
      ),

    createPost: (post, o) =>
      execute({ method: 'POST', path: '/posts', body: post, kind: 'write', parse: json(postSchema) }, o),
    createEphemeralPost: (userId, post, o) =>
      execute(
        { method: 'POST', path: '/posts/ephemeral', body: { user_id: userId, post }, kind: 'write', parse: json(postSchema) },
        o,
      ),
    openDialog: (req, o) => execute({ method: 'POST', path: '/actions/dialogs/open', body: req, kind: 'write', parse: statusOk }, o),
    getFileInfo: (fileId, o) =>
      execute({ method: 'GET', path: '/files/{file_id}/info', params: { file_id: fileId }, kind: 'read', parse: json(fileInfoSchema) }, o),
    getFile: (fileId, o) =>
      execute({ method: 'GET', path: '/files/{file_id}', params: { file_id: fileId }, kind: 'read', transport: 'bytes', parse: bytes }, o),

    stats: () => structuredClone(stats),
  };
  return api;
}

// -----------------------------------------------------------------------------
// helpers

/** A JSON-typed body that did not parse. */
class BadJsonError extends Error {}

function parseJsonText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new BadJsonError('invalid JSON');
  }
}

function isJsonType(contentType: string): boolean {
  return contentType.split(';')[0]?.trim().toLowerCase() === 'application/json';
}


function errorCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  if ('code' in err && typeof err.code === 'string') return err.code;
  if ('cause' in err) return errorCode(err.cause);
  return undefined;
}

function describeNetworkError(err: unknown, code: string | undefined): string {
  const messages: string[] = [];
  let current: unknown = err;
  for (let depth = 0; depth < 3 && typeof current === 'object' && current !== null; depth++) {
    if ('message' in current && typeof current.message === 'string' && current.message) messages.push(current.message);
    current = 'cause' in current ? current.cause : undefined;
  }
  const text = messages.join(': ') || String(err);
  const friendly =
    code === 'ECONNREFUSED'
      ? 'connection refused'
      : code === 'ENOTFOUND' || code === 'EAI_AGAIN'
        ? 'host name not found'
        : code === 'ECONNRESET' || code === 'UND_ERR_SOCKET'
          ? 'connection reset'
          : undefined;
  return truncate(friendly ? `${friendly} (${text})` : text, 300);
}

function describeTextBody(status: number, statusText: string, contentType: string, text: string): string {
  const trimmed = text.trim();
  if (contentType.toLowerCase().includes('html') || trimmed.startsWith('<')) {
    return `HTTP ${`${status} ${statusText}`.trim()}: the server (or a proxy in front of it) answered with an HTML page`;
  }
  if (!trimmed) return `HTTP ${status} ${statusText}`.trim();
  // strip control characters so a hostile body cannot forge log lines
  return truncate(trimmed.replace(/[\u0000-\u001f\u007f]+/g, ' '), 200);
}

function summarizeIssues(error: z.ZodError): string {
  const parts = error.issues.slice(0, 3).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
  const more = error.issues.length > 3 ? ` (+${error.issues.length - 3} more)` : '';
  return `${parts.join('; ')}${more}`;
}

function truncate(s: string, max: number): string {
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

/** A counting semaphore whose waiters can give up (abort). */
function createSemaphore(limit: number) {
  let active = 0;
  const waiters: Array<() => void> = [];
  const release = () => {
    const next = waiters.shift();
    if (next) next();
    else active -= 1;
  };
  return {
    async acquire(signal: AbortSignal | undefined, onAbort: () => Error): Promise<() => void> {
      if (signal?.aborted) throw onAbort();
      if (active < Math.max(1, limit)) {
        active += 1;
        return once(release);
      }
      return new Promise<() => void>((resolve, reject) => {
        const grant = () => {
          signal?.removeEventListener('abort', abort);
          resolve(once(release));
        };
        const abort = () => {
          const i = waiters.indexOf(grant);
          if (i >= 0) waiters.splice(i, 1);
          reject(onAbort());
        };
        waiters.push(grant);
        signal?.addEventListener('abort', abort, { once: true });
      });
    },
  };
}

function once(fn: () => void): () => void {
  let done = false;
  return () => {
    if (!done) {
      done = true;
      fn();
    }
  };
}
