/**
 * The Mattermost WebSocket client (on `ws`): authenticates on the upgrade request
 * (`Authorization: Bearer`), delivers every server event exactly once and in order,
 * keeps the connection alive with application pings, and reconnects with backoff,
 * resuming the previous connection so that missed events are replayed.
 *
 * Why the token goes on the upgrade: the server honours `connection_id` only when the
 * upgrade request itself carries a session (server/channels/api4/websocket.go
 * connectWebSocket); a socket authenticated by `authentication_challenge` always starts
 * a fresh connection and loses what was sent in the gap. The challenge is kept as a
 * fallback for when the header does not reach the server (a proxy stripping it): the
 * first frame on every socket is a `ping`; a `not_authenticated` refusal means the
 * header was not honoured, and the challenge follows.
 *
 * Readiness: a fresh connection sends `hello`; a resumed one sends neither `hello` nor
 * a challenge reply (docs/mattermost-notes.md §3.6), so the `ping` reply is what
 * confirms it is up.
 *
 * @example
 *   const socket = createWebSocketClient({ url: env.MM_URL, token: env.MM_BOT_TOKEN, logger });
 *   socket.onEvent((ev) => { if (ev.event === 'posted') intake(ev); });
 *   socket.start();
 *   await socket.ready();
 *   ...
 *   await socket.stop();
 *
 * Sequence numbers (docs/mattermost-notes.md §3.3, §3.6): each connection numbers its events from 0
 * (`hello`). On reconnect we ask to resume with `connection_id` and `sequence_number`;
 * the server replays what we missed with the original numbers (duplicates are dropped
 * here), or, when it lost events, sends a new `hello` with a new `connection_id`.
 * That `hello` is delivered to handlers, which treat it as "state may be stale".
 */
import WebSocket from 'ws';
import { silentLogger, type Logger } from '../log/logger.js';
import { type WsEvent, type WsReply, wsEventSchema, wsReplySchema } from './models.js';

/** A snapshot of the connection, for /health and logs. */
export interface SocketState {
  /** open and authenticated */
  connected: boolean;
  /** when the current connection was authenticated (ms), null while disconnected */
  since: number | null;
  /** successful reconnections after the first connection */
  reconnects: number;
  /** the server's id for this connection ('' before the first hello) */
  connectionId: string;
  /** seq of the last event delivered on connectionId (-1 before the first event) */
  lastSeq: number;
  /** the last connection problem, in words (never contains the token) */
  lastError: string | null;
  /** the server keeps closing the socket right after authentication: the token is probably bad */
  authRejected: boolean;
  /** the current (or last) connection resumed the previous one: nothing was missed */
  resumed: boolean;
}

/** A long-lived, self-healing WebSocket connection to Mattermost. */
export interface MattermostSocket {
  /** connect, and keep connected until stop() */
  start(): void;
  /** clean close with code 1000, no reconnect; resolves once the socket is closed */
  stop(): Promise<void>;
  /** every server event exactly once, in order (including `hello`); returns an unsubscribe function */
  onEvent(h: (ev: WsEvent) => void): () => void;
  onState(h: (s: SocketState) => void): () => void;
  state(): SocketState;
  /** resolves when authenticated (hello received), rejects on stop */
  ready(): Promise<void>;
}

/** Options of {@link createWebSocketClient}. */
export interface WebSocketClientOptions {
  /** http(s) base URL of the server, e.g. `https://chat.example.com` */
  url: string;
  /** the bot's access token; sent in the challenge frame, never logged */
  token: string;
  logger?: Logger;
  /** application `ping` every this many ms once authenticated (default 30 000) */
  pingIntervalMs?: number;
  /** no reply to a ping (or no hello after connecting) within this → reconnect (default 10 000) */
  pingTimeoutMs?: number;
  /** reconnect delay bounds (default 500 … 30 000) */
  backoff?: { minMs: number; maxMs: number };
  now?: () => number;
  random?: () => number;
}

/** closes before authentication in a row that make us call the token rejected */
const AUTH_REJECTIONS_BEFORE_FLAG = 3;
/** gap recoveries in a row (resume did not fill the gap) before starting a fresh connection */
const MAX_GAP_RESUMES = 2;
const STOP_GRACE_MS = 2_000;

/** One physical socket and what we know about it. */
interface Conn {
  ws: WebSocket;
  nextActionSeq: number;
  authSeq: number;
  /** seq of the `ping` sent first on every socket (confirms a header-authenticated socket) */
  probeSeq: number;
  challengeSent: boolean;
  authenticated: boolean;
  resumed: boolean;
  /** we closed/terminated it ourselves, and why */
  closedByUs: string | null;
  /** the server rejected the upgrade or the challenge */
  authFailed: boolean;
  pingInterval: NodeJS.Timeout | null;
  pendingPing: { seq: number; timer: NodeJS.Timeout } | null;
  authTimer: NodeJS.Timeout | null;
}

/** Largest frame accepted from the server; the server's own limit on what it reads is far smaller. */
export const MAX_PAYLOAD_BYTES = 8 * 1024 * 1024;
const NOT_AUTHENTICATED = 'api.web_socket_router.not_authenticated.app_error';

/** Creates the client; nothing happens until start(). */
export function createWebSocketClient(opts: WebSocketClientOptions): MattermostSocket {
  const log = (opts.logger ?? silentLogger).child({ module: 'mattermost-ws' });
  const token = opts.token;
  const pingIntervalMs = opts.pingIntervalMs ?? 30_000;
  const pingTimeoutMs = opts.pingTimeoutMs ?? 10_000;
  const minBackoff = opts.backoff?.minMs ?? 500;
  const maxBackoff = Math.max(minBackoff, opts.backoff?.maxMs ?? 30_000);
  const now = opts.now ?? Date.now;
  const random = opts.random ?? Math.random;
  const baseUrl = toWebSocketUrl(opts.url);

  const eventHandlers = new Set<(ev: WsEvent) => void>();
  const stateHandlers = new Set<(s: SocketState) => void>();

  let started = false;
  let stopped = false;
  let current: Conn | null = null;
  let reconnectTimer: NodeJS.Timeout | null = null;
  let stopWaiters: Array<() => void> = [];

  let connectionId = '';
  let lastSeq = -1;
  let connectedSince: number | null = null;
  let everConnected = false;
  let reconnects = 0;
  let failedAttempts = 0;
  let authRejections = 0;
  let authRejected = false;
  let gapResumes = 0;
  let forceFresh = false;
  let lastError: string | null = null;
  let lastResumed = false;

  let resolveReady: () => void = () => {};
  let rejectReady: (e: Error) => void = () => {};
  const readyPromise = new Promise<void>((resolve, reject) => {
    resolveReady = resolve;
    rejectReady = reject;
  });
  // ready() may never be called; a rejection on stop must not surface as unhandled
  readyPromise.catch(() => {});

  const redact = (s: string): string => (token.length >= 4 ? s.split(token).join('[redacted]') : s);

  function snapshot(): SocketState {
    return {
      connected: connectedSince !== null,
      since: connectedSince,
      reconnects,
      connectionId,
      lastSeq,
      lastError,
      authRejected,
      resumed: lastResumed,
    };
  }

  function emitState(): void {
    const s = snapshot();
    for (const h of [...stateHandlers]) {
      try {
        h(s);
      } catch (err) {
        log.error({ err: describe(err) }, 'WebSocket state handler threw');
      }
    }
  }

  function deliver(ev: WsEvent): void {
    for (const h of [...eventHandlers]) {
      try {
        const result: unknown = h(ev);
        if (isThenable(result)) {
          result.then(undefined, (err: unknown) =>
            log.error({ err: describe(err), event: ev.event, seq: ev.seq }, 'WebSocket event handler failed'),
          );
        }
      } catch (err) {
        log.error({ err: describe(err), event: ev.event, seq: ev.seq }, 'WebSocket event handler threw');
      }
    }
  }

  function send(conn: Conn, frame: object): boolean {
    if (conn.ws.readyState !== WebSocket.OPEN) return false;
    conn.ws.send(JSON.stringify(frame), (err) => {
      if (err) log.debug({ err: redact(err.message) }, 'WebSocket send failed');
    });
    return true;
  }

  function connect(): void {
    reconnectTimer = null;
    if (stopped) return;
    const resume = !forceFresh && connectionId !== '' && lastSeq >= 0;
    forceFresh = false;
    // The server treats sequence_number as the first seq it should send again
    // (web_conn.go: isInDeadQueue(wc.Sequence)); the official client sends last + 1.
    const url = resume
      ? `${baseUrl}?connection_id=${encodeURIComponent(connectionId)}&sequence_number=${lastSeq + 1}`
      : baseUrl;
    let ws: WebSocket;
    try {
      ws = new WebSocket(url, {
        handshakeTimeout: Math.max(pingTimeoutMs, 1_000),
        headers: { Authorization: `Bearer ${token}` },
        maxPayload: MAX_PAYLOAD_BYTES,
      });
    } catch (err) {
      lastError = redact(describe(err));
      log.error({ err: lastError }, 'cannot open the Mattermost WebSocket');
      scheduleReconnect();
      return;
    }
    const conn: Conn = {
      ws,
      nextActionSeq: 1,
      authSeq: 0,
      probeSeq: 0,
      challengeSent: false,
      authenticated: false,
      resumed: resume,
      closedByUs: null,
      authFailed: false,
      pingInterval: null,
      pendingPing: null,
      authTimer: null,
    };
    current = conn;
    log.debug({ resume, connectionId: resume ? connectionId : '', fromSeq: resume ? lastSeq + 1 : 0 }, 'connecting WebSocket');

    ws.on('open', () => {
      if (conn !== current) return;
      // The upgrade carried the token: a ping tells whether the server took it (a
      // resumed connection sends no hello, so nothing else would confirm it).
      conn.probeSeq = conn.nextActionSeq++;
      send(conn, { seq: conn.probeSeq, action: 'ping' });
      // No hello / ping reply at all: the socket is useless (half-open or hung server).
      conn.authTimer = setTimeout(() => {
        conn.authTimer = null;
        lastError = `no answer to authentication within ${pingTimeoutMs} ms`;
        log.warn({}, 'Mattermost did not answer the WebSocket authentication; reconnecting');
        kill(conn, 'auth-timeout');
      }, pingTimeoutMs);
    });
    ws.on('message', (data, isBinary) => {
      if (conn !== current || conn.closedByUs) return;
      handleFrame(conn, data, isBinary);
    });
    ws.on('error', (err) => {
      const message = redact(err.message);
      if (/Unexpected server response: 401\b/.test(message)) conn.authFailed = true;
      if (!stopped) {
        lastError = message;
        log.warn({ err: message }, 'WebSocket error');
      }
    });
    ws.on('close', (code, reason) => handleClose(conn, code, reason.toString('utf8')));
  }

  function handleFrame(conn: Conn, data: WebSocket.RawData, isBinary: boolean): void {
    if (isBinary) {
      log.warn({}, 'skipping a binary WebSocket frame (expected JSON text)');
      return;
    }
    const text = rawToString(data);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      log.warn({ frame: excerpt(text) }, 'skipping a WebSocket frame that is not JSON');
      return;
    }
    if (isObject(value) && 'event' in value) {
      const parsed = wsEventSchema.safeParse(value);
      if (parsed.success) onServerEvent(conn, parsed.data);
      else log.warn({ frame: excerpt(text), issue: parsed.error.issues[0]?.message }, 'skipping a malformed WebSocket event');
      return;
    }
    if (isObject(value) && 'seq_reply' in value) {
      const parsed = wsReplySchema.safeParse(value);
      if (parsed.success) onReply(conn, parsed.data);
      else log.warn({ frame: excerpt(text) }, 'skipping a malformed WebSocket reply');
      return;
    }
    log.warn({ frame: excerpt(text) }, 'skipping a WebSocket frame that is neither an event nor a reply');
  }

  function onReply(conn: Conn, reply: WsReply): void {
    if (conn.probeSeq !== 0 && reply.seq_reply === conn.probeSeq) {
      conn.probeSeq = 0;
      if (reply.status === 'OK') {
        markAuthenticated(conn);
      } else if (reply.error?.id === NOT_AUTHENTICATED && !conn.challengeSent) {
        // the header did not authenticate the socket: fall back to the challenge
        // (no resume possible on this socket: a hello with a new id will follow)
        log.info({}, 'the WebSocket upgrade was not authenticated by its Authorization header; using authentication_challenge');
        conn.authSeq = conn.nextActionSeq++;
        send(conn, { seq: conn.authSeq, action: 'authentication_challenge', data: { token } });
        conn.challengeSent = true;
      } else {
        log.warn({ serverErrorId: reply.error?.id ?? '' }, 'Mattermost refused the first ping on the WebSocket; reconnecting');
        lastError = `first ping refused: ${reply.error?.id ?? reply.status}`;
        kill(conn, 'probe-refused');
      }
      return;
    }
    if (conn.authSeq !== 0 && reply.seq_reply === conn.authSeq) {
      if (reply.status === 'OK') {
        markAuthenticated(conn);
      } else {
        conn.authFailed = true;
        lastError = `authentication_challenge refused: ${reply.error?.id ?? reply.status}`;
        log.warn({ serverErrorId: reply.error?.id ?? '' }, 'Mattermost refused the WebSocket authentication');
        kill(conn, 'auth-refused');
      }
      return;
    }
    if (conn.pendingPing && reply.seq_reply === conn.pendingPing.seq) {
      clearTimeout(conn.pendingPing.timer);
      conn.pendingPing = null;
      return;
    }
    if (reply.status !== 'OK') {
      log.debug({ seqReply: reply.seq_reply, serverErrorId: reply.error?.id ?? '' }, 'WebSocket action failed');
    }
  }

  function onServerEvent(conn: Conn, ev: WsEvent): void {
    if (ev.event === 'hello') {
      const newId = typeof ev.data['connection_id'] === 'string' ? ev.data['connection_id'] : '';
      if (newId !== '' && newId === connectionId && ev.seq <= lastSeq) {
        // a replayed hello of the connection we are resuming: already delivered
        log.debug({ seq: ev.seq }, 'dropping a replayed hello');
        return;
      }
      if (connectionId !== '' && newId !== connectionId) {
        log.info(
          { previous: connectionId, next: newId, lastSeq },
          'Mattermost could not resume the WebSocket (events may have been missed); starting a new sequence',
        );
      }
      connectionId = newId;
      lastSeq = ev.seq;
      gapResumes = 0;
      conn.resumed = false;
      markAuthenticated(conn);
      deliver(ev);
      emitState();
      return;
    }
    // the server only sends events to authenticated connections (a resume sends no hello)
    markAuthenticated(conn);
    if (lastSeq >= 0 && ev.seq <= lastSeq) {
      log.debug({ seq: ev.seq, lastSeq }, 'dropping an already delivered WebSocket event');
      return;
    }
    if (lastSeq >= 0 && ev.seq > lastSeq + 1) {
      gapResumes += 1;
      lastError = `missed WebSocket events ${lastSeq + 1}..${ev.seq - 1}`;
      if (gapResumes > MAX_GAP_RESUMES) {
        // resuming keeps not filling the gap: take a fresh connection (new hello = resync)
        forceFresh = true;
        log.warn({ expected: lastSeq + 1, got: ev.seq }, 'WebSocket sequence gap persists; reconnecting without resume');
      } else {
        log.warn({ expected: lastSeq + 1, got: ev.seq }, 'WebSocket sequence gap; reconnecting to resume');
      }
      kill(conn, 'sequence-gap');
      return;
    }
    lastSeq = ev.seq;
    gapResumes = 0;
    deliver(ev);
  }

  function markAuthenticated(conn: Conn): void {
    if (conn.authenticated) return;
    conn.authenticated = true;
    if (conn.authTimer) {
      clearTimeout(conn.authTimer);
      conn.authTimer = null;
    }
    failedAttempts = 0;
    authRejections = 0;
    if (authRejected) {
      authRejected = false;
      log.info({}, 'Mattermost accepted the WebSocket authentication again');
    }
    lastResumed = conn.resumed;
    if (everConnected) reconnects += 1;
    everConnected = true;
    connectedSince = now();
    lastError = null;
    conn.pingInterval = setInterval(() => sendPing(conn), pingIntervalMs);
    log.info({ resumed: conn.resumed, reconnects }, 'WebSocket connected');
    resolveReady();
    emitState();
  }

  function sendPing(conn: Conn): void {
    if (conn !== current || conn.pendingPing || conn.closedByUs) return;
    const seq = conn.nextActionSeq++;
    if (!send(conn, { seq, action: 'ping' })) return;
    const timer = setTimeout(() => {
      lastError = `no reply to ping within ${pingTimeoutMs} ms`;
      log.warn({}, 'Mattermost WebSocket is not answering pings (half-open); reconnecting');
      kill(conn, 'ping-timeout');
    }, pingTimeoutMs);
    conn.pendingPing = { seq, timer };
  }

  /** Drops a socket without a close handshake (it is presumed dead or unusable). */
  function kill(conn: Conn, why: string): void {
    if (conn.closedByUs) return;
    conn.closedByUs = why;
    clearConnTimers(conn);
    conn.ws.terminate();
  }

  function clearConnTimers(conn: Conn): void {
    if (conn.pingInterval) clearInterval(conn.pingInterval);
    if (conn.pendingPing) clearTimeout(conn.pendingPing.timer);
    if (conn.authTimer) clearTimeout(conn.authTimer);
    conn.pingInterval = null;
    conn.pendingPing = null;
    conn.authTimer = null;
  }

  function handleClose(conn: Conn, code: number, reason: string): void {
    clearConnTimers(conn);
    if (conn !== current) return;
    current = null;
    connectedSince = null;
    if (stopped) {
      const waiters = stopWaiters;
      stopWaiters = [];
      for (const w of waiters) w();
      emitState();
      return;
    }
    if (!conn.closedByUs) {
      lastError ??= `closed by the server (code ${code}${reason ? `, ${excerpt(reason)}` : ''})`;
      log.warn({ code }, 'Mattermost closed the WebSocket');
    }
    // A bad token is not reported: the server just closes the socket after the challenge.
    const closedRightAfterAuth = conn.challengeSent && !conn.closedByUs;
    if (!conn.authenticated && (conn.authFailed || closedRightAfterAuth)) {
      authRejections += 1;
      if (authRejections >= AUTH_REJECTIONS_BEFORE_FLAG && !authRejected) {
        authRejected = true;
        log.error(
          { attempts: authRejections },
          'the server closed the WebSocket right after authentication: MM_BOT_TOKEN may be revoked',
        );
      }
    } else if (conn.authenticated) {
      authRejections = 0;
    }
    emitState();
    scheduleReconnect();
  }

  function scheduleReconnect(): void {
    if (stopped || reconnectTimer) return;
    let delay: number;
    if (authRejected) {
      delay = maxBackoff;
    } else {
      // capped exponential backoff with "equal jitter": never zero, never above the cap
      const cap = Math.min(maxBackoff, minBackoff * 2 ** failedAttempts);
      delay = Math.round(cap / 2 + (random() * cap) / 2);
    }
    failedAttempts += 1;
    log.debug({ delayMs: delay, attempt: failedAttempts }, 'WebSocket reconnect scheduled');
    reconnectTimer = setTimeout(connect, delay);
  }

  return {
    start() {
      if (stopped) {
        log.warn({}, 'start() after stop() is ignored');
        return;
      }
      if (started) return;
      started = true;
      connect();
    },

    stop() {
      if (!stopped) {
        stopped = true;
        rejectReady(new Error('the WebSocket client was stopped'));
        if (reconnectTimer) {
          clearTimeout(reconnectTimer);
          reconnectTimer = null;
        }
      }
      const conn = current;
      if (!conn) {
        connectedSince = null;
        return Promise.resolve();
      }
      clearConnTimers(conn);
      return new Promise<void>((resolve) => {
        // if the server does not answer our close frame, do not hang shutdown
        const grace = setTimeout(() => conn.ws.terminate(), STOP_GRACE_MS);
        stopWaiters.push(() => {
          clearTimeout(grace);
          resolve();
        });
        if (conn.ws.readyState === WebSocket.OPEN) conn.ws.close(1000, 'bot stopping');
        else if (conn.ws.readyState === WebSocket.CONNECTING) conn.ws.terminate();
      });
    },

    onEvent(h) {
      eventHandlers.add(h);
      return () => {
        eventHandlers.delete(h);
      };
    },

    onState(h) {
      stateHandlers.add(h);
      return () => {
        stateHandlers.delete(h);
      };
    },

    state: snapshot,

    ready() {
      return readyPromise;
    },
  };

  function excerpt(s: string): string {
    const clean = redact(s).replace(/[\u0000-\u001f\u007f]+/g, ' ');
    return clean.length > 160 ? `${clean.slice(0, 160)}…` : clean;
  }
}

/** `https://host/base/` → `wss://host/base/api/v4/websocket` */
export function toWebSocketUrl(httpUrl: string): string {
  const u = new URL(httpUrl);
  if (u.protocol === 'https:') u.protocol = 'wss:';
  else if (u.protocol === 'http:') u.protocol = 'ws:';
  else if (u.protocol !== 'ws:' && u.protocol !== 'wss:') throw new TypeError(`not an http(s) URL: ${u.protocol}`);
  u.pathname = `${u.pathname.replace(/\/+$/, '')}/api/v4/websocket`;
  u.search = '';
  u.hash = '';
  return u.toString();
}

function rawToString(data: WebSocket.RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return isObject(v) && 'then' in v && typeof v.then === 'function';
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
