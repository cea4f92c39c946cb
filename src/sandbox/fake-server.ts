/**
 * An in-repo fake Mattermost server: real HTTP + WebSocket on loopback speaking REST v4
 * and the WebSocket protocol for every endpoint mmops uses (see
 * docs/mattermost-notes.md). Used by the test suite and by `npm run demo`.
 *
 * ```ts
 * import { startFakeMattermost } from '../../src/sandbox/fake-server.js';
 * import { SANDBOX_BOT_TOKEN, tokenFor } from '../../src/sandbox/seed.js';
 *
 * const mm = await startFakeMattermost();                       // demo seed, 127.0.0.1:<ephemeral>
 * await fetch(`${mm.url}/api/v4/users/me`, { headers: { Authorization: `Bearer ${SANDBOX_BOT_TOKEN}` } });
 * await mm.postAs('alice', '@mmops', 'status @bob');            // a DM to the bot → `posted` on its socket
 * const r = await mm.executeSlash('alice', 'acme:town-square', '/whois @ann');
 * await mm.close();
 * ```
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { newId } from './ids.js';
import { AppError, appError, appErrorBody, Router, sessionExpired, type Reply, type RequestCtx } from './http.js';
import { Hub, type Broadcast } from './hub.js';
import { SandboxCore } from './core.js';
import { registerUserRoutes } from './routes-users.js';
import { registerReportRoutes } from './routes-reports.js';
import { registerTeamRoutes } from './routes-teams.js';
import { registerSystemRoutes } from './routes-system.js';
import { registerIntegrationRoutes, requirePostPermission } from './routes-integrations.js';
import { registerActionRoutes, type IntegrationCall } from './routes-actions.js';
import { registerDialogRoutes, type OpenedDialog } from './routes-dialogs.js';
import { forEachAction } from './post-actions.js';
import { SlashRunner, type SlashResult } from './slash.js';
import { demoSeed, emptySeed } from './seed.js';
import type { TriggerSigner } from './signing.js';
import { FakeStore, type Post, type SeedData, type StoredUser } from './store.js';
import { GcraLimiter, LIMIT_EXCEEDED_BODY, rateLimitHeaders } from './rate-limit.js';
import { CURRENT_PROFILE, serverProfile, type ServerProfile } from './versions.js';

export type { Broadcast } from './hub.js';
export type { SlashResult, CommandResponse } from './slash.js';
export type { Post, SeedData } from './store.js';
export type { SignedTrigger, TriggerSigner } from './signing.js';
export type { IntegrationCall } from './routes-actions.js';
export type { ServerProfile } from './versions.js';
export type { OpenedDialog, Dialog, DialogElement } from './routes-dialogs.js';
export { FakeStore } from './store.js';

/** One REST request as the fake saw it. */
export interface RecordedRequest {
  method: string;
  /** full path without the query, e.g. `/api/v4/users/me` */
  path: string;
  query: Record<string, string>;
  status: number;
  /** the authenticated caller, '' if none */
  userId: string;
  /** parsed JSON body (secret fields replaced by `[redacted]`), undefined when none */
  body: unknown;
  /** ms since epoch */
  at: number;
}

export interface StartOptions {
  host?: string;
  port?: number;
  seed?: 'demo' | 'empty' | SeedData;
  /**
   * The server version to behave as (`5.37`, `9.10.0`…; default 10.5.0): X-Version-Id,
   * the hello, and every difference of src/sandbox/versions.ts (missing endpoints, click
   * answers, event shapes)
   */
  version?: string;
  /** WebSocket ping interval (default 60 000 ms) */
  wsPingIntervalMs?: number;
  /** WebSocket read deadline (default 100 000 ms) */
  wsReadTimeoutMs?: number;
  /** unauthenticated WebSocket auth deadline (default 5 000 ms) */
  wsAuthTimeoutMs?: number;
  /** the server's signing key (P-256, PKCS#8 PEM); default: a new key for this instance */
  signingKeyPem?: string;
}

export interface Faults {
  /** delay added before answering each REST request */
  latencyMs: number;
  /** true → every REST request and WebSocket upgrade has its socket destroyed (server unreachable) */
  down: boolean;
  /**
   * The next `times` (default 1) requests matching `method` (or `*`) and `pathPattern`
   * (tested against the full path, e.g. `/api/v4/users/me`) get `status` with a matching
   * AppError (429 → the plain-text rate-limit answer). `errorId` overrides the AppError id.
   */
  failNext(method: string, pathPattern: RegExp, status: number, times?: number, errorId?: string): void;
  /** The next `times` (default 1) matching requests get a 429 whose Retry-After is `retryAfterSeconds`. */
  rateLimitNext(method: string, pathPattern: RegExp, retryAfterSeconds: number, times?: number): void;
  /**
   * The server's GCRA limiter (RateLimitSettings, docs/mattermost-notes.md §1.3) over every request and WebSocket
   * upgrade: `perSec` (PerSec), `burst` (MaxBurst), keyed by remote address, or by token
   * with `varyByUser` (VaryByUser)
   */
  rateLimit: { enabled: boolean; perSec: number; burst: number; varyByUser?: boolean };
}

export interface FakeMattermost {
  /** http://127.0.0.1:PORT (also the SiteURL) */
  url: string;
  /** live data; tests may mutate it */
  store: FakeStore;
  /** the version this server behaves as (src/sandbox/versions.ts) */
  readonly profile: ServerProfile;
  /** every REST request (and hook call), oldest first */
  requests: RecordedRequest[];
  clearRequests(): void;
  /** push a WS event through the hub, applying the delivery filter of docs/mattermost-notes.md §3.5 */
  emit(event: string, data: Record<string, unknown>, broadcast?: Partial<Broadcast>): void;
  /** create a post exactly like POST /posts by that user (emits `posted` with per-recipient `mentions`) */
  postAs(username: string, channel: string, message: string, opts?: { rootId?: string; fileIds?: string[] }): Promise<Post>;
  /**
   * Run a slash command as that user like POST /commands/execute (docs/mattermost-notes.md §4.1/4.2). `channel` is an
   * id, `team:channel-name` or `@user` (DM). For DMs pass `opts.team` (team name) or the first
   * team of the user that has the trigger is used. Failures are in `result.error`.
   */
  executeSlash(username: string, channel: string, text: string, opts?: { rootId?: string; team?: string; forgedResponseUrl?: string }): Promise<SlashResult>;
  /**
   * This server's signing key (one per instance; its public half is in
   * `GET /config/client?format=old`). Tests use it to play attackers: sign a trigger id
   * for any user, back-date one, tamper with one, or sign with a foreign key.
   */
  readonly signer: TriggerSigner;
  /** stored posts (normal posts, including those made from command replies and response_url) */
  readonly posts: Post[];
  /**
   * ephemeral posts sent to users (not stored on the server), as each user received them:
   * actions carry their cookie and no `integration`; an action `update` replaces the entry
   */
  ephemeral: Array<{ userId: string; post: Post }>;
  /** every request the server sent to an integration for a click or a dialog submission, oldest first */
  readonly integrationCalls: IntegrationCall[];
  /**
   * Clicks a button (or picks a menu option) as that user exactly like a client:
   * POST /posts/{post_id}/actions/{action_id} with the user's token (recorded in
   * `requests`). For an ephemeral post the user received, the action's cookie is sent
   * unless `opts.cookie` is given ('' sends none). Resolves with the HTTP answer.
   */
  clickAction(username: string, postId: string, actionId: string, opts?: { selectedOption?: string; cookie?: string }): Promise<{ status: number; body: unknown }>;
  /** dialogs delivered by POST /actions/dialogs/open (to whom, what, IsValid warnings), oldest first */
  readonly dialogs: OpenedDialog[];
  /**
   * Submits the dialog last opened for that user, like a client: POST
   * /actions/dialogs/submit with the user's token, the dialog's url, callback_id and
   * state, and the channel/team where its trigger id was issued. `opts` overrides any
   * field (e.g. a forged `user_id`, which the server replaces). Resolves with the HTTP answer.
   */
  submitDialog(username: string, submission: Record<string, unknown>, opts?: { cancelled?: boolean; dialog?: OpenedDialog; override?: Record<string, unknown> }): Promise<{ status: number; body: unknown }>;
  /** close every WS connection abruptly (terminate, or close with `code`); connections stay resumable */
  dropSockets(code?: number): void;
  /**
   * restart the WebSocket hub as a server restart does: every socket closes and every
   * connection's dead queue is lost, so the next reconnect gets a new id and a hello
   */
  restartWebSocketHub(): void;
  /** refuse WebSocket upgrades (503) while false */
  setWebSocketAccepting(on: boolean): void;
  /** the token stops working on REST (401) and WS (silent close, open sockets closed) */
  revokeToken(token: string): void;
  faults: Faults;
  /** make a response_url (full URL or hook id) look `ms` older, to test the 30-minute expiry */
  ageResponseUrl(urlOrId: string, ms: number): void;
  /** ids of the open, authenticated WebSocket connections (optionally of one user) */
  wsConnections(username?: string): string[];
  /** wait until `n` authenticated sockets are open (optionally for one user) */
  waitForSockets(n: number, username?: string, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

const SECRET_KEYS = new Set(['token', 'password', 'current_password', 'new_password', 'mfa_secret', 'code', 'auth_data']);

function redact(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redact);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEYS.has(k) && typeof v === 'string' ? '[redacted]' : redact(v);
    return out;
  }
  return value;
}

function tokenFromRequest(req: IncomingMessage): { token: string; queryToken: boolean } {
  const auth = req.headers.authorization ?? '';
  const m = /^(bearer|token)\s+(\S+)$/i.exec(auth.trim());
  if (m?.[2]) return { token: m[2], queryToken: false };
  const cookie = req.headers.cookie ?? '';
  const c = /(?:^|;\s*)MMAUTHTOKEN=([^;]+)/.exec(cookie);
  if (c?.[1]) return { token: c[1], queryToken: false };
  const url = new URL(req.url ?? '/', 'http://x');
  const q = url.searchParams.get('access_token');
  if (q) return { token: q, queryToken: true };
  return { token: '', queryToken: false };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Starts the fake server; resolves once it listens. */
export async function startFakeMattermost(opts: StartOptions = {}): Promise<FakeMattermost> {
  const seed = opts.seed === undefined || opts.seed === 'demo' ? demoSeed() : opts.seed === 'empty' ? emptySeed() : opts.seed;
  const store = new FakeStore(seed);
  const profile = serverProfile(opts.version ?? CURRENT_PROFILE.version);
  const version = profile.version;
  // the version decides how clicks on ephemeral posts are handled, unless the seed says otherwise
  if (seed.config?.actionsCompat === undefined) store.config.actionsCompat = profile.actionsCompat;
  const seededSiteUrl = Boolean(seed.config?.siteUrl);

  const resolveToken = (token: string): StoredUser | undefined => {
    const rec = store.tokens.get(token);
    if (!rec) return undefined;
    const user = store.users.get(rec.user_id);
    if (!user || user.delete_at > 0) return undefined;
    return user;
  };

  // eslint-disable-next-line prefer-const
  let core: SandboxCore;
  const hub = new Hub(store, resolveToken, {
    pingIntervalMs: opts.wsPingIntervalMs ?? 60_000,
    readTimeoutMs: opts.wsReadTimeoutMs ?? 100_000,
    authTimeoutMs: opts.wsAuthTimeoutMs ?? 5_000,
    serverVersion: () => core.versionId(),
    version,
  });
  core = new SandboxCore(store, hub, profile, opts.signingKeyPem);
  const slash = new SlashRunner(core);
  const router = new Router();
  // before the user routes: `/users/stats` would otherwise be taken for `/users/{user_id}`
  registerReportRoutes(router, core);
  registerUserRoutes(router, core);
  registerTeamRoutes(router, core);
  registerSystemRoutes(router, core);
  registerIntegrationRoutes(router, core, slash);
  registerActionRoutes(router, core);
  registerDialogRoutes(router, core);

  const requests: RecordedRequest[] = [];
  const failures: Array<{ method: string; pattern: RegExp; status: number; left: number; errorId?: string; retryAfterSeconds?: number }> = [];
  const limiter: { gcra: GcraLimiter | undefined; key: string } = { gcra: undefined, key: '' };
  const faults: Faults = {
    latencyMs: 0,
    down: false,
    failNext(method, pathPattern, status, times = 1, errorId) {
      failures.push({ method: method.toUpperCase(), pattern: pathPattern, status, left: times, errorId });
    },
    rateLimitNext(method, pathPattern, retryAfterSeconds, times = 1) {
      failures.push({ method: method.toUpperCase(), pattern: pathPattern, status: 429, left: times, retryAfterSeconds });
    },
    rateLimit: { enabled: false, perSec: 10, burst: 100 },
  };

  const versionHeader = (): string => core.versionId();

  /**
   * The server's limiter (rate-limit.ts): it wraps the whole router, so every request —
   * REST, hooks and WebSocket upgrades — counts, keyed by the remote address (or the
   * token, with `varyByUser`), as RateLimitSettings.VaryByRemoteAddr / VaryByUser do.
   */
  const rateCheck = (req: IncomingMessage): { allowed: boolean; headers: Record<string, string> } => {
    const rl = faults.rateLimit;
    const quotaKey = `${rl.perSec}/${rl.burst}`;
    if (!limiter.gcra || limiter.key !== quotaKey) {
      limiter.gcra = new GcraLimiter({ perSec: rl.perSec, burst: rl.burst });
      limiter.key = quotaKey;
    }
    const key = rl.varyByUser ? tokenFromRequest(req).token || (req.socket.remoteAddress ?? '') : (req.socket.remoteAddress ?? '');
    const result = limiter.gcra.take(key);
    return { allowed: !result.limited, headers: rateLimitHeaders(result) };
  };

  const errorFor = (status: number, errorId?: string): AppError => {
    if (errorId) return appError(status, errorId);
    switch (status) {
      case 400:
        return new AppError(400, 'api.context.invalid_body_param.app_error', 'Invalid or missing body in request body.');
      case 401:
        return sessionExpired();
      case 403:
        return appError(403, 'api.context.permissions.app_error');
      case 404:
        return appError(404, 'api.context.404.app_error');
      case 503:
        return appError(503, 'api.context.server_busy.app_error');
      default:
        return new AppError(status, 'app.sandbox.injected_fault.app_error', 'An error occurred (injected by the sandbox).');
    }
  };

  const readBody = (req: IncomingMessage, limit: number): Promise<Buffer | 'too_large'> =>
    new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let tooLarge = false;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size > limit) tooLarge = true;
        else chunks.push(c);
      });
      req.on('end', () => resolve(tooLarge ? 'too_large' : Buffer.concat(chunks)));
      req.on('error', reject);
    });

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (faults.down) {
      req.socket.destroy();
      return;
    }
    const at = Date.now();
    const url = new URL(req.url ?? '/', 'http://x');
    const method = (req.method ?? 'GET').toUpperCase();
    const fullPath = url.pathname;
    const requestId = newId();
    const record: RecordedRequest = { method, path: fullPath, query: Object.fromEntries(url.searchParams), status: 0, userId: '', body: undefined, at };
    requests.push(record);

    const headers: Record<string, string> = { 'X-Request-ID': requestId, 'X-Version-Id': versionHeader() };
    if (method === 'GET') headers.Expires = '0';

    const send = (reply: Reply): void => {
      const status = reply.status ?? 200;
      record.status = status;
      const h: Record<string, string> = { ...headers, ...(reply.headers ?? {}) };
      let payload: Buffer;
      if ('json' in reply) {
        h['Content-Type'] = 'application/json';
        payload = Buffer.from(JSON.stringify(reply.json));
      } else if ('text' in reply) {
        h['Content-Type'] = reply.contentType ?? 'text/plain';
        payload = Buffer.from(reply.text);
      } else {
        h['Content-Type'] = reply.contentType;
        payload = Buffer.from(reply.bytes);
      }
      h['Content-Length'] = String(payload.byteLength);
      res.writeHead(status, h);
      res.end(payload);
    };
    const sendError = (err: AppError): void => send({ status: err.status, json: appErrorBody(err, requestId, store.config.enableDeveloper) });

    try {
      const raw = await readBody(req, Math.max(store.config.maxFileSize * 2, 10 * 1024 * 1024));
      if (faults.latencyMs > 0) await sleep(faults.latencyMs);
      if (faults.down) {
        req.socket.destroy();
        return;
      }
      if (raw === 'too_large') {
        sendError(appError(413, 'api.context.request_body_too_large.app_error'));
        return;
      }
      let body: unknown;
      let bodyIsJson = false;
      const ct = (req.headers['content-type'] ?? '').toLowerCase();
      if (raw.length > 0 && !ct.startsWith('multipart/') && !ct.startsWith('application/x-www-form-urlencoded')) {
        try {
          body = JSON.parse(raw.toString('utf8'));
          bodyIsJson = true;
        } catch {
          body = undefined;
        }
      }
      record.body = redact(body);

      if (faults.rateLimit.enabled) {
        const rl = rateCheck(req);
        Object.assign(headers, rl.headers);
        if (!rl.allowed) {
          send({ status: 429, text: LIMIT_EXCEEDED_BODY, contentType: 'text/plain; charset=utf-8', headers: { 'X-Content-Type-Options': 'nosniff' } });
          return;
        }
      }

      const failure = failures.find((f) => f.left > 0 && (f.method === '*' || f.method === method) && f.pattern.test(fullPath));
      if (failure) {
        failure.left -= 1;
        if (failure.status === 429) {
          // what the default limiter (PerSec 10, MaxBurst 100) answers with its burst spent
          const retryAfter = String(failure.retryAfterSeconds ?? 1);
          send({
            status: 429,
            text: LIMIT_EXCEEDED_BODY,
            contentType: 'text/plain; charset=utf-8',
            headers: { 'X-Content-Type-Options': 'nosniff', 'Retry-After': retryAfter, 'X-RateLimit-Limit': '101', 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': '11' },
          });
        } else {
          sendError(errorFor(failure.status, failure.errorId));
        }
        return;
      }

      const hookMatch = /^\/hooks\/commands\/([A-Za-z0-9]+)\/?$/.exec(fullPath);
      if (hookMatch && method === 'POST') {
        await slash.useHook(hookMatch[1] ?? '', req.headers['content-type'], raw.toString('utf8'));
        send({ status: 200, text: 'ok', contentType: 'text/plain' });
        return;
      }
      if (!fullPath.startsWith('/api/v4/')) {
        sendError(appError(404, 'api.context.404.app_error'));
        return;
      }
      const path = fullPath.slice('/api/v4'.length);
      const match = router.match(method, path);
      if (!('route' in match)) {
        if (match.methodMismatch) {
          sendError(new AppError(405, 'api.context.405.app_error', 'Method not allowed.'));
          return;
        }
        // web/web.go Handle404 (5.37 and 9.10) writes its AppError itself: detailed_error always
        // set, no request_id in the body, and — never passing the API handler that sets them —
        // no X-Request-Id, X-Version-Id or Expires (measured on both). 5.37 sets no content type
        // (Go sniffs text/plain; charset=utf-8); 9.10 says application/json (versions.ts).
        const missing = appError(404, 'api.context.404.app_error');
        const text = JSON.stringify({
          id: missing.id,
          message: missing.message,
          detailed_error: `There doesn't appear to be an api call for the url='${fullPath}'.  Typo? are you missing a team_id or user_id as part of the url?`,
          status_code: 404,
        });
        delete headers['X-Request-ID'];
        delete headers['X-Version-Id'];
        delete headers.Expires;
        send({ status: 404, text, contentType: core.profile.router404Json ? 'application/json' : 'text/plain; charset=utf-8' });
        return;
      }
      const { token, queryToken } = tokenFromRequest(req);
      let user: StoredUser | undefined;
      if (token) {
        if (queryToken) {
          // only OAuth tokens may travel in the query string; the fake has none
          sendError(appError(401, 'api.context.token_provided.app_error'));
          return;
        }
        user = resolveToken(token);
        if (!user && match.route.auth) {
          sendError(sessionExpired());
          return;
        }
      }
      if (match.route.auth && !user) {
        sendError(sessionExpired());
        return;
      }
      record.userId = user?.id ?? '';
      if (user && user.last_activity_at < at - 1000) user.last_activity_at = at;
      const ctx: RequestCtx = {
        req,
        res,
        method,
        path,
        query: url.searchParams,
        params: match.params,
        rawBody: raw,
        body,
        bodyIsJson,
        requestId,
        user,
        token,
        store,
      };
      send(await match.route.handler(ctx));
    } catch (e) {
      if (e instanceof AppError) {
        sendError(e);
        return;
      }
      // an unexpected bug in the fake: answer like the server's 500 and keep serving
      console.error('[fake-mattermost] handler crashed:', e);
      if (!res.headersSent) sendError(new AppError(500, 'app.sandbox.internal.app_error', 'An internal error occurred in the sandbox server.', String(e)));
    }
  };

  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    void handle(req, res);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('upgrade', (req, socket, head) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (faults.down) {
      socket.destroy();
      return;
    }
    if (path !== '/api/v4/websocket' && path !== '/api/v4/websocket/') {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    if (faults.rateLimit.enabled) {
      const rl = rateCheck(req);
      if (!rl.allowed) {
        const hdrs = Object.entries(rl.headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
        socket.end(
          `HTTP/1.1 429 Too Many Requests\r\nContent-Type: text/plain; charset=utf-8\r\n${hdrs}Content-Length: ${LIMIT_EXCEEDED_BODY.length}\r\nConnection: close\r\n\r\n${LIMIT_EXCEEDED_BODY}`,
        );
        return;
      }
    }
    const { token, queryToken } = tokenFromRequest(req);
    hub.handleUpgrade(req, socket, head, queryToken ? '' : token);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const host = addr.address.includes(':') ? `[${addr.address}]` : addr.address;
  const url = `http://${host}:${addr.port}`;
  if (!seededSiteUrl) store.config.siteUrl = url;

  const userOrThrow = (username: string): StoredUser => store.requireUser(username);
  /** POST /api/v4`path` as that user, like a client; the answer's status and parsed body */
  const clientCall = async (user: StoredUser, path: string, body: unknown): Promise<{ status: number; body: unknown }> => {
    const res = await fetch(`${url}/api/v4${path}`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${tokenOf(user)}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    try {
      return { status: res.status, body: JSON.parse(text) };
    } catch {
      return { status: res.status, body: text };
    }
  };
  /** a token of the user (a new access token when the seed gave none), for the client controls */
  const tokenOf = (user: StoredUser): string => {
    for (const t of store.tokens.values()) if (t.user_id === user.id) return t.token;
    const token = newId();
    store.tokens.set(token, { token, user_id: user.id, session_id: '', kind: 'access_token' });
    return token;
  };

  const mm: FakeMattermost = {
    url,
    store,
    profile,
    requests,
    clearRequests() {
      requests.length = 0;
    },
    emit(event, data, broadcast) {
      hub.emit(event, data, broadcast);
    },
    async postAs(username, channel, message, o = {}) {
      const user = userOrThrow(username);
      const ch = core.resolveChannel(channel, user);
      requirePostPermission(core, user, ch.id);
      return core.createPost(user, ch, { message, rootId: o.rootId ?? '', fileIds: o.fileIds ?? [] });
    },
    async executeSlash(username, channel, text, o = {}) {
      const user = userOrThrow(username);
      const ch = core.resolveChannel(channel, user);
      let teamId = ch.team_id;
      if (!teamId) {
        const trigger = text.startsWith('/') ? (text.slice(1).split(/\s/)[0] ?? '').toLowerCase() : '';
        const wanted = o.team ? store.teamByName(o.team) : undefined;
        const teams = store.teamMembers.filter((m) => m.user_id === user.id && m.delete_at === 0).map((m) => m.team_id);
        teamId = wanted?.id ?? teams.find((t) => slash.findCommand(t, trigger)) ?? teams[0] ?? '';
      }
      if (!store.hasChannelPermission(user, ch.id, 'create_post')) {
        const err = appError(403, 'api.context.permissions.app_error');
        return { status: 0, posts: [], ephemeral: [], responseUrl: '', triggerId: '', error: { id: err.id, message: err.message, detailed_error: '', status_code: 403 } };
      }
      return slash.run({ user, channel: ch, teamId, command: text, rootId: o.rootId ?? '', ...(o.forgedResponseUrl !== undefined ? { forgedResponseUrl: o.forgedResponseUrl } : {}) });
    },
    signer: core.signer,
    integrationCalls: core.integrationCalls,
    dialogs: core.dialogs,
    async submitDialog(username, submission, o = {}) {
      const user = userOrThrow(username);
      const d = o.dialog ?? [...core.dialogs].reverse().find((x) => x.userId === user.id);
      if (!d) throw new Error(`fake server: no dialog was opened for ${username}`);
      const body = {
        url: d.url,
        callback_id: d.dialog.callback_id,
        state: d.dialog.state,
        channel_id: d.channelId,
        team_id: d.teamId,
        submission,
        cancelled: o.cancelled ?? false,
        ...(o.override ?? {}),
      };
      return clientCall(user, '/actions/dialogs/submit', body);
    },
    async clickAction(username, postId, actionId, o = {}) {
      const user = userOrThrow(username);
      let cookie = o.cookie;
      if (cookie === undefined) {
        const seen = [...core.ephemeral].reverse().find((e) => e.userId === user.id && e.post.id === postId);
        if (seen) forEachAction(seen.post.props, (a) => {
          if (cookie === undefined && a.id === actionId && typeof a.cookie === 'string') cookie = a.cookie;
        });
      }
      const body: Record<string, string> = {};
      if (o.selectedOption !== undefined) body.selected_option = o.selectedOption;
      if (cookie) body.cookie = cookie;
      return clientCall(user, `/posts/${postId}/actions/${actionId}`, body);
    },
    get posts() {
      return store.posts;
    },
    ephemeral: core.ephemeral,
    dropSockets(code) {
      hub.dropSockets(code);
    },
    restartWebSocketHub() {
      hub.restart();
    },
    setWebSocketAccepting(on) {
      hub.accepting = on;
    },
    revokeToken(token) {
      const rec = store.tokens.get(token);
      store.tokens.delete(token);
      if (rec?.session_id) store.sessions = store.sessions.filter((s) => s.id !== rec.session_id);
      hub.closeToken(token);
    },
    faults,
    ageResponseUrl(urlOrId, ms) {
      const hook = core.hooks.get(urlOrId.split('/').pop() ?? '');
      if (!hook) throw new Error(`fake server: no response_url ${urlOrId}`);
      hook.createAt -= ms;
    },
    wsConnections(username) {
      return hub.activeConnectionIds(username ? userOrThrow(username).id : undefined);
    },
    async waitForSockets(n, username, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      while (mm.wsConnections(username).length < n) {
        if (Date.now() > deadline) throw new Error(`fake server: expected ${n} sockets, have ${mm.wsConnections(username).length}`);
        await sleep(10);
      }
    },
    async close() {
      hub.close();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return mm;
}
