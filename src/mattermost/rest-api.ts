/**
 * The Mattermost REST v4 client: implements {@link MattermostApi} on @mattermost/client's
 * Client4 (the only importer of that package, in transport/http.ts). Everything the rest of
 * the bot needs to trust about the network lives here: zod parsing of every body, typed
 * errors, and a transport built as a stack of small layers (transport/: retries with an
 * explicit retry-or-rethrow decision, a circuit breaker, rate-limit pacing and 429 waits, a
 * concurrency bound, per-endpoint counters, timeouts), composed once in `createRestApi`.
 *
 * A call without its own `{ signal }` runs under the signal of the view it was made through
 * (`bindSignal`, bound-signal.ts): a command's `ctx.api` carries its invocation's deadline.
 *
 * @example
 *   const api = createRestApi({ url: 'https://chat.example.com', token: env.MM_BOT_TOKEN, logger });
 *   const me = await api.getMe({ signal: ctx.signal });
 */
import { z } from 'zod';
import { silentLogger, type Logger } from '../log/logger.js';
import type { ApiStats, CallOptions, MattermostApi } from './api.js';
import { callerSignal } from './bound-signal.js';
import { ApiError, NetworkError, ProtocolError, TOKEN_REJECTED_IDS } from './errors.js';
import {
  analyticsRowSchema,
  appErrorSchema,
  clientLicenseSchema,
  fileUploadResponseSchema,
  jobSchema,
  pluginStatusSchema,
  userReportSchema,
  usersStatsSchema,
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
import { createPacer } from './pacing.js';
import type { RequestKind } from './retry-policy.js';
import { breaker } from './transport/breaker.js';
import { concurrency } from './transport/concurrency.js';
import { type HttpTransport, createHttpTransport, truncate } from './transport/http.js';
import { type Send, compose } from './transport/layer.js';
import { metrics } from './transport/metrics.js';
import { pacing, rateLimitWaitMs } from './transport/pacing.js';
import {
  type ApiRequest,
  AttemptError,
  type Method,
  type RawResponse,
  type ResponseBody,
  cancelledError,
  isAttemptError,
} from './transport/request.js';
import { retry } from './transport/retry.js';
import { timeout } from './transport/timeout.js';

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
  /** raw body (file upload), made again for each attempt */
  upload?: ApiRequest['upload'];
  /** how the response body is read */
  transport?: 'client4' | 'bytes';
  /** overrides readRetries for this call */
  retries?: number;
  parse: (body: ResponseBody, endpoint: string) => T;
}

/** Makes one endpoint call through the transport stack and parses its answer. */
type Execute = <T>(spec: RequestSpec<T>, o?: CallOptions) => Promise<T>;

/** Creates the REST client. See {@link RestApiOptions}. */
export function createRestApi(opts: RestApiOptions): MattermostApi {
  const now = opts.now ?? Date.now;
  const log = (opts.logger ?? silentLogger).child({ module: 'mattermost-rest' });
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const maxRateLimitWaitMs = opts.maxRateLimitWaitMs ?? 60_000;
  const stats: ApiStats = { requests: 0, byEndpoint: {}, rateLimitWaits: 0, retries: 0, lastRoundTripMs: 0 };
  const http = createHttpTransport({ url: opts.url, token: opts.token });

  // The stack, outermost first: the order an attempt passes the layers on its way out.
  const send = compose(http.send, [
    retry({ random: opts.random ?? Math.random, sleep: opts.sleep, log, onRetry: () => void (stats.retries += 1) }),
    breaker({ ...(opts.breaker ?? { failures: 5, cooldownMs: 5_000 }), now, log }),
    pacing({
      // spacing while X-RateLimit-Remaining is 0, and the Retry-After of a 429
      pacer: createPacer({ now, maxIntervalMs: maxRateLimitWaitMs }),
      maxRetries: opts.maxRateLimitRetries ?? 4,
      maxWaitMs: maxRateLimitWaitMs,
      now,
      sleep: opts.sleep,
      log,
      onWait: () => void (stats.rateLimitWaits += 1),
    }),
    concurrency({ limit: opts.maxConcurrency ?? 16, cancelled: (req) => cancelledError(req, false) }),
    metrics({ stats, onRequest: opts.onRequest, now, log }),
    timeout({
      ms: timeoutMs,
      timedOut: () => new AttemptError({ type: 'timeout' }, `no answer within ${timeoutMs} ms`),
      cancelled: () => new AttemptError({ type: 'cancelled' }, 'cancelled'),
    }),
  ]);
  const execute = createExecute({ send, http, toApiError: createErrorMapper(http.redact, log, now), readRetries: opts.readRetries ?? 2 });

  const api: MattermostApi = {
    ...userEndpoints(execute),
    ...userAccountEndpoints(execute),
    ...teamEndpoints(execute),
    ...channelEndpoints(execute),
    ...systemEndpoints(execute),
    ...postEndpoints(execute),
    stats: () => structuredClone(stats),
  };
  return api;
}

/** `execute` over the composed stack: builds the request once, maps the final outcome to a typed error. */
function createExecute(deps: {
  send: Send<ApiRequest, RawResponse>;
  http: HttpTransport;
  toApiError: (raw: RawResponse, endpoint: string) => ApiError;
  readRetries: number;
}): Execute {
  const { send, http, toApiError, readRetries } = deps;
  return async (spec, o) => {
    const req: ApiRequest = {
      method: spec.method,
      url: buildUrl(http.baseRoute, spec),
      endpoint: `${spec.method} ${http.urlVersion}${spec.path}`,
      kind: spec.kind,
      json: spec.body,
      form: spec.form,
      ...(spec.upload ? { upload: spec.upload } : {}),
      read: spec.transport ?? 'client4',
      retries: spec.retries ?? readRetries,
      rateLimitRetries: 0,
      pauseCounted: false,
    };
    let res: RawResponse;
    try {
      // read synchronously, while a bound view's signal is in effect (bound-signal.ts)
      res = await send(req, callerSignal(o));
    } catch (err) {
      throw isAttemptError(err) ? finalError(req, err) : err;
    }
    if (res.status < 200 || res.status >= 300) throw toApiError(res, req.endpoint);
    try {
      return spec.parse(res.body, req.endpoint);
    } catch (err) {
      // never let the token reach a message, whatever the server put in the body
      throw err instanceof ProtocolError ? new ProtocolError(err.endpoint, http.redact(err.detail)) : err;
    }
  };
}

function buildUrl(baseRoute: string, spec: RequestSpec<unknown>): string {
  const path = spec.path.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = spec.params?.[name];
    if (value === undefined) throw new TypeError(`missing path parameter ${name} for ${spec.path}`);
    return encodeURIComponent(value);
  });
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(spec.query ?? {})) if (v !== undefined) query.set(k, String(v));
  const qs = query.toString();
  return `${baseRoute}${path}${qs ? `?${qs}` : ''}`;
}

/** The error a caller gets when the last attempt gave no usable response. */
function finalError(req: ApiRequest, err: AttemptError): Error {
  const failure = err.failure;
  if (failure.type === 'cancelled') return cancelledError(req, true);
  // the server answered, so the connection is fine; the body is unreadable
  if (failure.type === 'bad-json') return new ProtocolError(req.endpoint, err.reason);
  const notSent = failure.type === 'network' && failure.notSent;
  return new NetworkError(req.endpoint, err.reason, failure.type === 'timeout', req.kind === 'write' && !notSent);
}

/** `text` parsed as JSON, or undefined when it is none. */
function jsonOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Maps a non-2xx response to an ApiError; the first rejection of the token itself is logged. */
function createErrorMapper(redact: (s: string) => string, log: Logger, now: () => number) {
  let tokenRejectionLogged = false;
  return (raw: RawResponse, endpoint: string): ApiError => {
    let id = '';
    let message = '';
    let requestId = raw.headers.get('x-request-id') ?? '';
    // The AppError is read whatever the label: 5.37's router 404 (web/web.go Handle404) is an
    // AppError JSON body labelled `text/plain; charset=utf-8` (no content type set, Go sniffs).
    const appError = raw.body.kind === 'json' ? appErrorSchema.safeParse(raw.body.value) : raw.body.kind === 'text' ? appErrorSchema.safeParse(jsonOrUndefined(raw.body.value)) : undefined;
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
    const retryAfter = raw.status === 429 ? rateLimitWaitMs(raw.headers, now()) / 1000 : undefined;
    return new ApiError(raw.status, id, redact(message), requestId, endpoint, retryAfter);
  };
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
    if (!result.success) throw new ProtocolError(endpoint, summarizeIssues(result.error));
    return result.data;
  };
const statusOkBody = json(statusOkSchema);
const statusOk = (body: ResponseBody, endpoint: string): void => {
  statusOkBody(body, endpoint);
};
const anyObjectBody = json(z.record(z.string(), z.unknown()));
const anyObject = (body: ResponseBody, endpoint: string): void => {
  anyObjectBody(body, endpoint);
};
const bytes = (body: ResponseBody, endpoint: string): Uint8Array => {
  if (body.kind !== 'bytes') throw new ProtocolError(endpoint, 'expected file bytes');
  return body.value;
};
const users = json(z.array(userSchema));

const page = (p: { page: number; perPage: number }) => ({ page: p.page, per_page: p.perPage });

// ---------------------------------------------------------------------------
// endpoints, in groups of related routes (each group a function of `execute`)

/** users: lookups, search, activation, roles, sessions, audits */
function userEndpoints(execute: Execute) {
  return {
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
          query: { role: q.role, active: q.active, inactive: q.inactive, in_team: q.inTeam, ...page(q) },
          kind: 'read',
          parse: users,
        },
        o,
      ),
    getFilteredUserStats: (q, o) =>
      execute(
        {
          method: 'GET',
          path: '/users/stats/filtered',
          query: { roles: q.roles?.length ? q.roles.join(',') : undefined, include_bots: q.includeBots || undefined, include_deleted: q.includeDeleted || undefined },
          kind: 'read',
          parse: json(usersStatsSchema),
        },
        o,
      ),
    getUserStats: (o) => execute({ method: 'GET', path: '/users/stats', kind: 'read', parse: json(usersStatsSchema) }, o),
    getUsersReport: (q, o) =>
      execute(
        {
          method: 'GET',
          path: '/reports/users',
          query: {
            page_size: q.pageSize,
            sort_column: 'Username',
            from_column_value: q.fromColumnValue,
            from_id: q.fromId,
            team_filter: q.teamFilter,
            hide_inactive: q.hideInactive || undefined,
            hide_active: q.hideActive || undefined,
          },
          kind: 'read',
          parse: json(z.array(userReportSchema)),
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
          // `null` when the user has no audit row (api4/user.go getUserAudits encodes a nil slice)
          parse: json(z.array(auditSchema).nullable().transform((a) => a ?? [])),
        },
        o,
      ),
  } satisfies Partial<MattermostApi>;
}

/** a user's own settings, teams, channels and status */
function userAccountEndpoints(execute: Execute) {
  return {
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

    getChannelsForTeamForUser: (userId, teamId, q, o) =>
      execute(
        {
          method: 'GET',
          path: '/users/{user_id}/teams/{team_id}/channels',
          params: { user_id: userId, team_id: teamId },
          query: { include_deleted: q?.includeDeleted },
          kind: 'read',
          parse: json(z.array(channelSchema)),
        },
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

  } satisfies Partial<MattermostApi>;
}

/** teams and team members */
function teamEndpoints(execute: Execute) {
  return {
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
    updateTeamMemberSchemeRoles: (teamId, userId, roles, o) =>
      execute(
        {
          method: 'PUT',
          path: '/teams/{team_id}/members/{user_id}/schemeRoles',
          params: { team_id: teamId, user_id: userId },
          // scheme_guest false: the bot never makes guests (9.10 refuses true with 400)
          body: { scheme_admin: roles.scheme_admin, scheme_user: roles.scheme_user, scheme_guest: false },
          kind: 'write',
          parse: statusOk,
        },
        o,
      ),
    removeTeamMember: (teamId, userId, o) =>
      execute(
        {
          method: 'DELETE',
          path: '/teams/{team_id}/members/{user_id}',
          params: { team_id: teamId, user_id: userId },
          kind: 'write',
          parse: statusOk,
        },
        o,
      ),

  } satisfies Partial<MattermostApi>;
}

/** channels, channel members and their posts */
function channelEndpoints(execute: Execute) {
  return {
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
    addChannelMember: (channelId, userId, o) =>
      execute(
        {
          method: 'POST',
          path: '/channels/{channel_id}/members',
          params: { channel_id: channelId },
          body: { user_id: userId },
          kind: 'write',
          parse: json(channelMemberSchema),
        },
        o,
      ),
    removeChannelMember: (channelId, userId, o) =>
      execute(
        {
          method: 'DELETE',
          path: '/channels/{channel_id}/members/{user_id}',
          params: { channel_id: channelId, user_id: userId },
          kind: 'write',
          parse: statusOk,
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

  } satisfies Partial<MattermostApi>;
}

/** roles, schemes, preferences and the server itself */
function systemEndpoints(execute: Execute) {
  return {
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

  } satisfies Partial<MattermostApi>;
}

/** slash commands, posts, dialogs and files */
function postEndpoints(execute: Execute) {
  return {
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
    uploadFile: async (channelId, file, o) => {
      const res = await execute(
        {
          method: 'POST',
          path: '/files',
          query: { channel_id: channelId, filename: file.name },
          upload: { contentType: file.mimeType, body: file.body },
          kind: 'write',
          parse: json(fileUploadResponseSchema),
        },
        o,
      );
      const [info] = res.file_infos;
      if (!info) throw new ProtocolError('POST /api/v4/files', 'no file info in the answer');
      return info;
    },
    getAnalytics: (name, teamId, o) =>
      execute(
        { method: 'GET', path: '/analytics/old', query: { name, team_id: teamId }, kind: 'read', parse: json(z.array(analyticsRowSchema)) },
        o,
      ),
    getJobs: (p, o) => execute({ method: 'GET', path: '/jobs', query: page(p), kind: 'read', parse: json(z.array(jobSchema)) }, o),
    getPluginStatuses: (o) =>
      execute({ method: 'GET', path: '/plugins/statuses', kind: 'read', parse: json(z.array(pluginStatusSchema)) }, o),
    getClientLicense: (o) =>
      execute({ method: 'GET', path: '/license/client', query: { format: 'old' }, kind: 'read', parse: json(clientLicenseSchema) }, o),

  } satisfies Partial<MattermostApi>;
}

// -----------------------------------------------------------------------------
// helpers

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
