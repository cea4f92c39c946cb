/**
 * A minimal Mattermost-like WebSocket server for the client tests (loopback, port 0).
 * It follows the real server's rules (docs/mattermost-notes.md §3): a token on the
 * upgrade authenticates at once; otherwise `authentication_challenge`; hello with seq 0,
 * per-connection seq, a dead queue for resume where `sequence_number` is the first seq
 * to send again (as in web_conn.go), resume only on an upgrade that carried the token
 * (api4/websocket.go connectWebSocket), a new hello when the resume cannot be
 * satisfied, silent close on a bad token, and `ping` replies. Knobs let tests break
 * those rules.
 */
import type { AddressInfo } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';

interface Session {
  id: string;
  nextSeq: number;
  /** every event sent (or queued) on this connection id, by seq */
  queue: Array<{ seq: number; frame: string }>;
}

export interface ReceivedFrame {
  action?: string;
  seq?: number;
  data?: unknown;
}

export interface TestServer {
  /** http base URL to give the client */
  url: string;
  /** query strings of every upgrade request, in order */
  upgrades: URLSearchParams[];
  /** frames received from clients */
  received: ReceivedFrame[];
  /** close codes sent by clients */
  clientCloseCodes: number[];
  /** currently open sockets */
  openSockets(): number;
  /** resolves when `n` authenticated connections have been made in total */
  waitForAuthenticated(n: number): Promise<void>;
  /** sends an event on the live connection (assigns seq, keeps it for resume) */
  emit(event: string, data?: Record<string, unknown>): number;
  /** records an event as sent on the session but does not send it (a lost frame / disconnected client) */
  emitUndelivered(event: string, data?: Record<string, unknown>): number;
  /** writes a raw frame to the live connection */
  sendRaw(data: string | Buffer, binary?: boolean): void;
  /** drops the live connection without a close frame */
  dropClient(): void;
  /** forgets the session, so the next resume gets a new hello */
  forgetSessions(): void;
  /** replay from (sequence_number - overlap): re-sends events the client already has */
  replayOverlap: number;
  answerPings: boolean;
  /** false → the Authorization header is ignored (a proxy stripping it): challenge only */
  acceptHeaderAuth: boolean;
  /** Authorization headers of every upgrade request, in order */
  upgradeAuth: Array<string | undefined>;
  token: string;
  close(): Promise<void>;
}

let idCounter = 0;
const newId = () => `conn${String(++idCounter).padStart(22, '0')}`;

export async function startTestServer(token = 'goodtoken0000000000000000a'): Promise<TestServer> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/api/v4/websocket' });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const port = (wss.address() as AddressInfo).port;
  const sessions = new Map<string, Session>();
  let live: { ws: WebSocket; session: Session } | null = null;
  let authenticatedCount = 0;
  const authWaiters: Array<{ n: number; resolve: () => void }> = [];

  const server: TestServer = {
    url: `http://127.0.0.1:${port}`,
    upgrades: [],
    received: [],
    clientCloseCodes: [],
    replayOverlap: 0,
    answerPings: true,
    acceptHeaderAuth: true,
    upgradeAuth: [],
    token,
    openSockets: () => [...wss.clients].filter((c) => c.readyState === c.OPEN).length,
    waitForAuthenticated(n) {
      if (authenticatedCount >= n) return Promise.resolve();
      return new Promise((resolve) => authWaiters.push({ n, resolve }));
    },
    emit(event, data = {}) {
      if (!live) throw new Error('no live client');
      const seq = record(live.session, event, data);
      live.ws.send(live.session.queue[live.session.queue.length - 1]!.frame);
      return seq;
    },
    emitUndelivered(event, data = {}) {
      const session = live?.session ?? [...sessions.values()].pop();
      if (!session) throw new Error('no session');
      return record(session, event, data);
    },
    sendRaw(data, binary = false) {
      live?.ws.send(data, { binary });
    },
    dropClient() {
      live?.ws.terminate();
      live = null;
    },
    forgetSessions() {
      sessions.clear();
    },
    async close() {
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };

  function record(session: Session, event: string, data: Record<string, unknown>): number {
    const seq = session.nextSeq++;
    const frame = JSON.stringify({
      event,
      data,
      broadcast: { omit_users: null, user_id: '', channel_id: '', team_id: '', connection_id: '', omit_connection_id: '' },
      seq,
    });
    session.queue.push({ seq, frame });
    return seq;
  }

  function authenticate(ws: WebSocket, params: URLSearchParams, canResume: boolean): void {
    const resumeId = canResume ? params.get('connection_id') : null;
    const resumeFrom = Number(params.get('sequence_number'));
    const known = resumeId ? sessions.get(resumeId) : undefined;
    let session: Session;
    let replayFrom = -1;
    if (known && Number.isInteger(resumeFrom) && known.queue.some((e) => e.seq === resumeFrom)) {
      session = known;
      replayFrom = Math.max(0, resumeFrom - server.replayOverlap);
    } else if (known && resumeFrom === known.nextSeq) {
      session = known; // nothing missed
    } else {
      session = { id: newId(), nextSeq: 0, queue: [] };
      sessions.set(session.id, session);
      record(session, 'hello', { server_version: '10.5.0.1.abc.true', connection_id: session.id });
      replayFrom = session.nextSeq - 1;
    }
    live = { ws, session };
    if (replayFrom >= 0) for (const e of session.queue) if (e.seq >= replayFrom) ws.send(e.frame);
    authenticatedCount += 1;
    for (const w of authWaiters.filter((w) => authenticatedCount >= w.n)) {
      authWaiters.splice(authWaiters.indexOf(w), 1);
      w.resolve();
    }
  }

  wss.on('connection', (ws, req) => {
    const params = new URL(req.url ?? '/', 'http://x').searchParams;
    server.upgrades.push(params);
    server.upgradeAuth.push(req.headers.authorization);
    let authenticated = false;
    ws.on('close', (code) => {
      server.clientCloseCodes.push(code);
      if (live?.ws === ws) live = null;
    });
    if (server.acceptHeaderAuth && req.headers.authorization === `Bearer ${server.token}`) {
      authenticated = true;
      authenticate(ws, params, true);
    }
    ws.on('message', (raw) => {
      let frame: ReceivedFrame;
      try {
        frame = JSON.parse(raw.toString());
      } catch {
        return;
      }
      server.received.push(frame);
      if (frame.action === 'authentication_challenge') {
        if (authenticated) return; // ignored on an authenticated socket: no reply
        const data = frame.data as { token?: unknown } | undefined;
        if (data?.token !== server.token) {
          ws.close(); // bad token: silent close, no error frame
          return;
        }
        authenticated = true;
        // like the real server: hello first, then the challenge reply; never a resume
        authenticate(ws, params, false);
        ws.send(JSON.stringify({ status: 'OK', seq_reply: frame.seq }));
        return;
      }
      if (!authenticated) {
        ws.send(JSON.stringify({ status: 'FAIL', seq_reply: frame.seq, error: { id: 'api.web_socket_router.not_authenticated.app_error' } }));
        return;
      }
      if (frame.action === 'ping' && server.answerPings) {
        ws.send(JSON.stringify({ status: 'OK', seq_reply: frame.seq, data: { text: 'pong', version: '10.5.0', server_time: Date.now(), node_id: '' } }));
      }
    });
  });

  return server;
}
