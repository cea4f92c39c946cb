/**
 * The fake server's WebSocket hub (docs/mattermost-notes.md §3): authentication by
 * header or `authentication_challenge`, `hello`, per-connection `seq`, action replies,
 * server pings, the delivery filter of docs/mattermost-notes.md §3.5, and resumption as the real server does it
 * (server/channels/api4/websocket.go connectWebSocket, app/platform/web_hub.go,
 * app/platform/web_conn.go):
 * - `connection_id` is honoured only on an upgrade that carries a valid token; a
 *   challenge-authenticated socket always starts a fresh connection;
 * - only an *inactive* connection (its socket gone) can be resumed: while the old
 *   socket is still open the server opens a fresh connection instead;
 * - the last 128 events written are kept (the dead queue) for replay; events for an
 *   inactive connection wait in its send queue (256), and an overflow removes the
 *   connection (the resume then gets a new id and a hello);
 * - {@link Hub.restart} forgets every connection, as a server restart does.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket, type RawData } from 'ws';
import { z } from 'zod';
import { newId } from './ids.js';
import { appError } from './http.js';
import type { FakeStore, StoredUser } from './store.js';

/** The broadcast part of an event (docs/mattermost-notes.md §3.3), plus the two optional flags. */
export interface Broadcast {
  omit_users: Record<string, boolean> | null;
  user_id: string;
  channel_id: string;
  team_id: string;
  connection_id: string;
  omit_connection_id: string;
  /** only delivered to admins (and then serialized) */
  contains_sensitive_data?: boolean;
  /** only delivered to non-admins (and then serialized) */
  contains_sanitized_data?: boolean;
}

/** Adjusts an event's data for one recipient (e.g. per-recipient `mentions`). */
export type PerRecipient = (userId: string, data: Record<string, unknown>, conn: { postedAck: boolean }) => Record<string, unknown>;

/** web_conn.go deadQueueSize */
const DEAD_QUEUE_SIZE = 128;
/** web_conn.go sendQueueSize */
const SEND_QUEUE_SIZE = 256;
/** model.IsValidId: 26 lowercase letters and digits */
const VALID_ID = /^[a-z0-9]{26}$/;

interface QueuedEvent {
  event: string;
  data: Record<string, unknown>;
  wire: Record<string, unknown>;
}

/** One logical connection (survives socket drops until reaped, for resumption). */
interface Conn {
  id: string;
  ws: WebSocket | undefined;
  userId: string;
  token: string;
  authenticated: boolean;
  /** the seq the next written event gets */
  seq: number;
  /** the last events written to a socket, for replay (web_conn.go deadQueue) */
  queue: Array<{ seq: number; frame: string }>;
  /** events for this connection while it has no socket (web_conn.go send channel) */
  pending: QueuedEvent[];
  postedAck: boolean;
  lastSeenAt: number;
  authTimer?: NodeJS.Timeout;
  pingTimer?: NodeJS.Timeout;
}

export interface HubOptions {
  /** server ping frame interval (default 60 s) */
  pingIntervalMs: number;
  /** close a socket that sent nothing (no pong, no message) for this long (default 100 s) */
  readTimeoutMs: number;
  /** unauthenticated sockets are closed after this (default 5 s) */
  authTimeoutMs: number;
  /** the `server_version` in hello (same format as X-Version-Id) */
  serverVersion: () => string;
  /** `version` in the ping reply */
  version: string;
}

const requestSchema = z.object({
  seq: z.number(),
  action: z.string(),
  data: z.record(z.string(), z.unknown()).nullish(),
});

/** Resolves a token to an active user, or undefined. */
export type TokenResolver = (token: string) => StoredUser | undefined;

export class Hub {
  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly conns = new Map<string, Conn>();
  accepting = true;

  constructor(
    private readonly store: FakeStore,
    private readonly resolveToken: TokenResolver,
    private readonly opts: HubOptions,
  ) {}

  /** Number of sockets currently open (authenticated or not). */
  get openSockets(): number {
    return this.wss.clients.size;
  }

  /** Logical connections of a user that currently have an open, authenticated socket. */
  activeConnectionIds(userId?: string): string[] {
    return [...this.conns.values()].filter((c) => c.ws && c.authenticated && (!userId || c.userId === userId)).map((c) => c.id);
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, headerToken: string): void {
    if (!this.accepting) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const url = new URL(req.url ?? '/', 'http://x');
    const connectionId = url.searchParams.get('connection_id') ?? '';
    const seqParam = url.searchParams.get('sequence_number') ?? '';
    const postedAck = url.searchParams.get('posted_ack') === 'true';
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const user = headerToken ? this.resolveToken(headerToken) : undefined;
      if (!user) {
        // No session on the upgrade: connection_id and sequence_number are not even
        // looked at; whatever the challenge brings is a fresh connection
        // (api4/websocket.go connectWebSocket).
        this.awaitChallenge(ws, postedAck);
        return;
      }
      if (connectionId === '') {
        this.attach(ws, user, headerToken, postedAck, undefined);
        return;
      }
      // The upgrade has already succeeded: a malformed id or sequence number closes the
      // socket without a word (platform.PopulateWebConnConfig returns an error).
      if (!VALID_ID.test(connectionId) || !/^\d+$/.test(seqParam)) {
        ws.close();
        return;
      }
      this.attach(ws, user, headerToken, postedAck, { id: connectionId, seq: Number(seqParam) });
    });
  }

  private awaitChallenge(ws: WebSocket, postedAck: boolean): void {
    const timer = setTimeout(() => ws.terminate(), this.opts.authTimeoutMs);
    const onMessage = (raw: RawData): void => {
      const req = this.parseRequest(raw);
      if (!req) return;
      if (req.action !== 'authentication_challenge') {
        this.reply(ws, req.seq, appError(401, 'api.web_socket_router.not_authenticated.app_error'));
        return;
      }
      const token = typeof req.data?.token === 'string' ? req.data.token : '';
      const user = token ? this.resolveToken(token) : undefined;
      if (!user) {
        // bad token: silent close, no error frame (docs/mattermost-notes.md §3.1)
        clearTimeout(timer);
        ws.terminate();
        return;
      }
      clearTimeout(timer);
      ws.off('message', onMessage);
      this.attach(ws, user, token, postedAck, undefined);
      // hello (sent by attach) comes before the OK reply
      this.send(ws, JSON.stringify({ status: 'OK', seq_reply: req.seq }));
    };
    ws.on('message', onMessage);
    ws.on('close', () => clearTimeout(timer));
    ws.on('error', () => undefined);
  }

  private attach(ws: WebSocket, user: StoredUser, token: string, postedAck: boolean, resume: { id: string; seq: number } | undefined): void {
    this.reap();
    let conn: Conn | undefined;
    let replay: string[] = [];
    let lost = false;
    if (resume) {
      const old = this.conns.get(resume.id);
      // Only an inactive connection can be taken over (web_hub.go checkConn →
      // RemoveInactiveByConnectionID); an active one means a fresh connection.
      if (old && old.userId === user.id && !old.ws) {
        conn = old;
        // `sequence_number` is the next seq the client wants (web_conn.go writePump)
        const next = resume.seq;
        const last = old.queue[old.queue.length - 1];
        if (next !== 0) {
          const at = old.queue.findIndex((e) => e.seq === next);
          if (at >= 0) {
            replay = old.queue.slice(at).map((e) => e.frame);
            old.seq = (last?.seq ?? next - 1) + 1;
          } else if (last && last.seq !== next - 1) {
            lost = true; // hasMsgLoss: new id, seq 0, hello; the send queue still follows
          } else {
            old.seq = next;
          }
        }
      }
    }
    const fresh = !conn;
    if (!conn) {
      conn = { id: newId(), ws: undefined, userId: user.id, token, authenticated: true, seq: 0, queue: [], pending: [], postedAck, lastSeenAt: Date.now() };
      this.conns.set(conn.id, conn);
    }
    if (lost) {
      this.conns.delete(conn.id);
      conn.id = newId();
      conn.seq = 0;
      conn.queue = [];
      this.conns.set(conn.id, conn);
    }
    conn.ws = ws;
    conn.token = token;
    conn.postedAck = postedAck;
    conn.lastSeenAt = Date.now();
    const c = conn;
    ws.on('message', (raw) => this.onMessage(c, ws, raw));
    ws.on('pong', () => {
      c.lastSeenAt = Date.now();
    });
    ws.on('close', () => this.detach(c, ws));
    ws.on('error', () => undefined);
    c.pingTimer = setInterval(() => {
      if (c.ws !== ws) return;
      if (Date.now() - c.lastSeenAt > this.opts.readTimeoutMs) {
        ws.terminate();
        return;
      }
      try {
        ws.ping();
      } catch {
        /* socket already closing */
      }
    }, this.opts.pingIntervalMs);
    c.pingTimer.unref();
    if (fresh || lost) {
      this.write(c, { event: 'hello', data: { server_version: this.opts.serverVersion(), connection_id: c.id }, wire: wireOf({ ...emptyBroadcast(), user_id: user.id }) });
    } else {
      for (const frame of replay) this.send(ws, frame);
    }
    for (const q of c.pending.splice(0)) this.write(c, q);
  }

  private detach(c: Conn, ws: WebSocket): void {
    if (c.pingTimer) clearInterval(c.pingTimer);
    if (c.ws === ws) {
      c.ws = undefined;
      c.lastSeenAt = Date.now();
    }
  }

  /** Forgets disconnected connection records older than 5 minutes (as the server's reaper). */
  private reap(): void {
    const cutoff = Date.now() - 5 * 60_000;
    for (const [id, c] of this.conns) if (!c.ws && c.lastSeenAt < cutoff) this.conns.delete(id);
  }

  private parseRequest(raw: RawData): z.infer<typeof requestSchema> | undefined {
    try {
      const r = requestSchema.safeParse(JSON.parse(raw.toString()));
      return r.success ? r.data : undefined;
    } catch {
      return undefined;
    }
  }

  private onMessage(c: Conn, ws: WebSocket, raw: RawData): void {
    c.lastSeenAt = Date.now();
    const req = this.parseRequest(raw);
    if (!req) return;
    if (req.seq <= 0) {
      this.reply(ws, req.seq, appError(400, 'api.web_socket_router.bad_seq.app_error'));
      return;
    }
    switch (req.action) {
      case 'authentication_challenge':
        return; // already authenticated: ignored, no reply
      case 'ping':
        this.reply(ws, req.seq, undefined, { text: 'pong', version: this.opts.version, server_time: Date.now(), node_id: '' });
        return;
      case 'user_typing': {
        const channelId = typeof req.data?.channel_id === 'string' ? req.data.channel_id : '';
        const parentId = typeof req.data?.parent_id === 'string' ? req.data.parent_id : '';
        this.reply(ws, req.seq);
        if (channelId) this.emit('typing', { parent_id: parentId, user_id: c.userId }, { channel_id: channelId, omit_users: { [c.userId]: true } });
        return;
      }
      case 'get_statuses': {
        const data: Record<string, unknown> = {};
        for (const s of this.store.statuses.values()) data[s.user_id] = s.status;
        this.reply(ws, req.seq, undefined, data);
        return;
      }
      case 'get_statuses_by_ids': {
        const ids = Array.isArray(req.data?.user_ids) ? req.data.user_ids.filter((x): x is string => typeof x === 'string') : [];
        const data: Record<string, unknown> = {};
        for (const id of ids) data[id] = this.store.statusOf(id).status;
        this.reply(ws, req.seq, undefined, data);
        return;
      }
      case 'user_update_active_status':
      case 'posted_notify_ack':
        this.reply(ws, req.seq);
        return;
      default:
        this.reply(ws, req.seq, appError(500, 'api.web_socket_router.bad_action.app_error'));
    }
  }

  private reply(ws: WebSocket, seq: number, err?: { status: number; id: string; message: string }, data?: Record<string, unknown>): void {
    const body: Record<string, unknown> = { status: err ? 'FAIL' : 'OK', seq_reply: seq };
    if (data && !err) body.data = data;
    if (err) body.error = { id: err.id, message: err.message, detailed_error: '', status_code: err.status };
    this.send(ws, JSON.stringify(body));
  }

  private send(ws: WebSocket, frame: string): void {
    if (ws.readyState === ws.OPEN) ws.send(frame);
  }

  /** Writes now (seq assigned at write time, as web_conn.go writePump does) or queues while the socket is down. */
  private deliver(c: Conn, event: string, data: Record<string, unknown>, broadcast: Broadcast): void {
    const q: QueuedEvent = { event, data, wire: wireOf(broadcast) };
    if (c.ws) {
      this.write(c, q);
      return;
    }
    c.pending.push(q);
    // a full send queue closes and removes the connection (web_hub.go closeAndRemoveConn)
    if (c.pending.length > SEND_QUEUE_SIZE) this.conns.delete(c.id);
  }

  private write(c: Conn, q: QueuedEvent): void {
    const frame = JSON.stringify({ event: q.event, data: q.data, broadcast: q.wire, seq: c.seq });
    c.queue.push({ seq: c.seq, frame });
    if (c.queue.length > DEAD_QUEUE_SIZE) c.queue.shift();
    c.seq += 1;
    if (c.ws) this.send(c.ws, frame);
  }

  /** Pushes an event through the delivery filter (docs/mattermost-notes.md §3.5) to every matching connection. */
  emit(event: string, data: Record<string, unknown>, broadcast: Partial<Broadcast> = {}, perRecipient?: PerRecipient): void {
    const b: Broadcast = { ...emptyBroadcast(), ...broadcast };
    for (const c of [...this.conns.values()]) {
      if (!c.authenticated) continue;
      if (b.connection_id && c.id !== b.connection_id) continue;
      if (b.omit_connection_id && c.id === b.omit_connection_id) continue;
      if (b.user_id && c.userId !== b.user_id) continue;
      if (b.omit_users?.[c.userId]) continue;
      if (b.channel_id && !b.user_id && !this.store.isChannelMember(b.channel_id, c.userId)) continue;
      if (b.team_id && !b.user_id && !b.channel_id && !this.store.isTeamMember(b.team_id, c.userId)) continue;
      const user = this.store.users.get(c.userId);
      if (!user) continue;
      const admin = this.store.isAdmin(user);
      if (b.contains_sensitive_data && !admin) continue;
      if (b.contains_sanitized_data && admin) continue;
      if ((event === 'user_updated' || event === 'new_user') && this.isGuest(user)) {
        const subject = extractUserId(data);
        if (subject && subject !== user.id && !this.sharesChannel(user.id, subject)) continue;
      }
      const d = perRecipient ? perRecipient(c.userId, { ...data }, { postedAck: c.postedAck }) : data;
      this.deliver(c, event, d, b);
    }
  }

  private isGuest(u: StoredUser): boolean {
    return u.roles.split(/\s+/).includes('system_guest');
  }

  private sharesChannel(a: string, b: string): boolean {
    const mine = new Set(this.store.channelMembers.filter((m) => m.user_id === a).map((m) => m.channel_id));
    return this.store.channelMembers.some((m) => m.user_id === b && mine.has(m.channel_id));
  }

  /**
   * A server restart as the WebSocket layer sees it: every socket closes and every
   * connection record (dead queue, send queue) is forgotten, so no resume can succeed.
   */
  restart(): void {
    for (const c of this.conns.values()) if (c.pingTimer) clearInterval(c.pingTimer);
    const sockets = [...this.wss.clients];
    this.conns.clear();
    for (const ws of sockets) ws.terminate();
  }

  /** Closes every socket abruptly; the logical connections stay resumable. */
  dropSockets(code?: number): void {
    for (const c of this.conns.values()) {
      const ws = c.ws;
      if (!ws) continue;
      this.detach(c, ws);
      if (code === undefined) ws.terminate();
      else ws.close(code);
    }
    for (const ws of this.wss.clients) {
      if (code === undefined) ws.terminate();
      else ws.close(code);
    }
  }

  /** Silently closes the sockets that authenticated with `token`. */
  closeToken(token: string): void {
    for (const c of this.conns.values()) {
      if (c.token === token && c.ws) {
        const ws = c.ws;
        this.detach(c, ws);
        ws.terminate();
        this.conns.delete(c.id);
      }
    }
  }

  /** Closes the sockets of a user (deactivation, session revocation). */
  closeUser(userId: string, exceptTokens: Set<string> = new Set()): void {
    for (const c of [...this.conns.values()]) if (c.userId === userId && !exceptTokens.has(c.token)) this.closeToken(c.token);
  }

  close(): void {
    for (const c of this.conns.values()) {
      if (c.pingTimer) clearInterval(c.pingTimer);
      if (c.authTimer) clearTimeout(c.authTimer);
    }
    for (const ws of this.wss.clients) ws.terminate();
    this.conns.clear();
    this.wss.close();
  }
}

function wireOf(broadcast: Broadcast): Record<string, unknown> {
  const wire: Record<string, unknown> = {
    omit_users: broadcast.omit_users,
    user_id: broadcast.user_id,
    channel_id: broadcast.channel_id,
    team_id: broadcast.team_id,
    connection_id: broadcast.connection_id,
    omit_connection_id: broadcast.omit_connection_id,
  };
  if (broadcast.contains_sanitized_data) wire.contains_sanitized_data = true;
  if (broadcast.contains_sensitive_data) wire.contains_sensitive_data = true;
  return wire;
}

export function emptyBroadcast(): Broadcast {
  return { omit_users: null, user_id: '', channel_id: '', team_id: '', connection_id: '', omit_connection_id: '' };
}

function extractUserId(data: Record<string, unknown>): string | undefined {
  const u = data.user;
  if (u && typeof u === 'object' && 'id' in u && typeof u.id === 'string') return u.id;
  return undefined;
}
