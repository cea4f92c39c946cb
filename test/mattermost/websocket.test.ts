import { afterEach, describe, expect, it } from 'vitest';
import type { Logger } from '../../src/core/command.js';
import type { WsEvent } from '../../src/mattermost/models.js';
import {
  type MattermostSocket,
  type SocketState,
  type WebSocketClientOptions,
  createWebSocketClient,
  toWebSocketUrl,
} from '../../src/mattermost/websocket.js';
import { type TestServer, startTestServer } from './ws-test-server.js';

interface LogEntry {
  level: 'debug' | 'info' | 'warn' | 'error';
  obj: object;
  msg: string;
}

function captureLogger(entries: LogEntry[]): Logger {
  const make = (): Logger => ({
    debug: (obj, msg = '') => entries.push({ level: 'debug', obj, msg }),
    info: (obj, msg = '') => entries.push({ level: 'info', obj, msg }),
    warn: (obj, msg = '') => entries.push({ level: 'warn', obj, msg }),
    error: (obj, msg = '') => entries.push({ level: 'error', obj, msg }),
    child: () => make(),
  });
  return make();
}

/** polls until `check` passes (real sockets need real time) */
async function eventually(check: () => void, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      check();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

let server: TestServer | null = null;
let socket: MattermostSocket | null = null;
let logs: LogEntry[] = [];

async function setup(extra: Partial<WebSocketClientOptions> = {}, token?: string) {
  server = await startTestServer();
  logs = [];
  const events: WsEvent[] = [];
  const states: SocketState[] = [];
  socket = createWebSocketClient({
    url: server.url,
    token: token ?? server.token,
    logger: captureLogger(logs),
    backoff: { minMs: 10, maxMs: 50 },
    ...extra,
  });
  socket.onEvent((ev) => events.push(ev));
  socket.onState((s) => states.push(s));
  return { server, socket, events, states };
}

afterEach(async () => {
  await socket?.stop();
  await server?.close();
  socket = null;
  server = null;
});

const seqs = (events: WsEvent[]) => events.map((e) => `${e.event}:${e.seq}`);

describe('connecting', () => {
  it('builds the WebSocket URL from the http(s) base URL', () => {
    expect(toWebSocketUrl('https://chat.example.com')).toBe('wss://chat.example.com/api/v4/websocket');
    expect(toWebSocketUrl('http://127.0.0.1:8065/mm/')).toBe('ws://127.0.0.1:8065/mm/api/v4/websocket');
  });

  it('authenticates on the upgrade with a Bearer header, confirms with a ping at seq 1, delivers hello and becomes ready', async () => {
    const { server, socket, events } = await setup();
    socket.start();
    await socket.ready();
    expect(server.upgradeAuth[0]).toBe(`Bearer ${server.token}`);
    await eventually(() => expect(server.received[0]).toEqual({ seq: 1, action: 'ping' }));
    // no challenge needed when the header was honoured
    expect(server.received.some((f) => f.action === 'authentication_challenge')).toBe(false);
    expect(seqs(events)).toEqual(['hello:0']);
    const state = socket.state();
    expect(state.connected).toBe(true);
    expect(state.resumed).toBe(false);
    expect(state.since).not.toBeNull();
    expect(state.connectionId).toBe(events[0]?.data['connection_id']);
    expect(state.lastSeq).toBe(0);
    expect(server.upgrades[0]?.has('connection_id')).toBe(false);
    // the token never reaches a log line
    expect(JSON.stringify(logs)).not.toContain(server.token);
  });

  it('falls back to authentication_challenge when the header is not honoured', async () => {
    const { server, socket, events } = await setup();
    server.acceptHeaderAuth = false;
    socket.start();
    await socket.ready();
    expect(server.received[0]).toEqual({ seq: 1, action: 'ping' });
    expect(server.received[1]).toEqual({ seq: 2, action: 'authentication_challenge', data: { token: server.token } });
    expect(seqs(events)).toEqual(['hello:0']);
    expect(socket.state()).toMatchObject({ connected: true, resumed: false });
    expect(logs.some((l) => l.msg.includes('authentication_challenge'))).toBe(true);
    expect(JSON.stringify(logs)).not.toContain(server.token);
  });

  it('delivers events in order and tracks their seq', async () => {
    const { server, socket, events } = await setup();
    socket.start();
    await socket.ready();
    server.emit('posted', { post: '{}' });
    server.emit('status_change', { status: 'online', user_id: 'u' });
    server.emit('typing', {});
    await eventually(() => expect(events).toHaveLength(4));
    expect(seqs(events)).toEqual(['hello:0', 'posted:1', 'status_change:2', 'typing:3']);
    expect(events[1]?.data).toEqual({ post: '{}' });
    expect(socket.state().lastSeq).toBe(3);
  });
});

describe('resume', () => {
  it('resumes after a drop, replays missed events, and never delivers a seq twice', async () => {
    const { server, socket, events } = await setup();
    server.replayOverlap = 1; // the server re-sends the last event we already have
    socket.start();
    await socket.ready();
    server.emit('posted', { n: 1 });
    server.emit('posted', { n: 2 });
    await eventually(() => expect(events).toHaveLength(3));
    const connectionId = socket.state().connectionId;

    server.dropClient();
    server.emitUndelivered('posted', { n: 3 });
    server.emitUndelivered('posted', { n: 4 });
    await server.waitForAuthenticated(2);
    await eventually(() => expect(events).toHaveLength(5));

    const resume = server.upgrades[1];
    expect(resume?.get('connection_id')).toBe(connectionId);
    expect(resume?.get('sequence_number')).toBe('3');
    expect(seqs(events)).toEqual(['hello:0', 'posted:1', 'posted:2', 'posted:3', 'posted:4']);
    expect(events.map((e) => e.data['n'] ?? null)).toEqual([null, 1, 2, 3, 4]);
    await eventually(() => expect(socket.state()).toMatchObject({ connected: true, reconnects: 1, connectionId, lastSeq: 4 }));
  });

  it('delivers the new hello and restarts seq tracking when the server could not resume', async () => {
    const { server, socket, events } = await setup();
    socket.start();
    await socket.ready();
    server.emit('posted', { n: 1 });
    await eventually(() => expect(events).toHaveLength(2));
    const firstId = socket.state().connectionId;

    server.dropClient();
    server.forgetSessions();
    await server.waitForAuthenticated(2);
    await eventually(() => expect(events).toHaveLength(3));
    expect(events[2]?.event).toBe('hello');
    expect(events[2]?.seq).toBe(0);
    const secondId = socket.state().connectionId;
    expect(secondId).not.toBe(firstId);
    expect(events[2]?.data['connection_id']).toBe(secondId);

    server.emit('posted', { n: 'after' });
    await eventually(() => expect(events).toHaveLength(4));
    expect(seqs(events)).toEqual(['hello:0', 'posted:1', 'hello:0', 'posted:1']);
    expect(socket.state().lastSeq).toBe(1);
  });

  it('becomes ready on a resumed connection that sends neither hello nor a challenge reply (the ping confirms it)', async () => {
    const { server, socket, events } = await setup();
    socket.start();
    await socket.ready();
    const connectionId = socket.state().connectionId;
    server.dropClient(); // nothing missed: the resume replays nothing
    await server.waitForAuthenticated(2);
    await eventually(() => expect(socket.state()).toMatchObject({ connected: true, reconnects: 1, resumed: true, connectionId }));
    expect(seqs(events)).toEqual(['hello:0']);
    // the only thing the resumed socket got back was the reply to its first frame, a ping
    expect(server.received.at(-1)).toEqual({ seq: 1, action: 'ping' });
    expect(server.received.some((f) => f.action === 'authentication_challenge')).toBe(false);
    expect(server.upgradeAuth[1]).toBe(`Bearer ${server.token}`);
  });

  it('cannot resume through the challenge fallback: the server starts a new connection with a hello', async () => {
    const { server, socket, events } = await setup();
    server.acceptHeaderAuth = false;
    socket.start();
    await socket.ready();
    const firstId = socket.state().connectionId;
    server.dropClient();
    server.emitUndelivered('posted', { n: 1 });
    await server.waitForAuthenticated(2);
    await eventually(() => expect(events).toHaveLength(2));
    expect(seqs(events)).toEqual(['hello:0', 'hello:0']);
    expect(socket.state()).toMatchObject({ resumed: false });
    expect(socket.state().connectionId).not.toBe(firstId);
  });

  it('refuses frames over 8 MiB and reconnects', async () => {
    const { server, socket, events } = await setup();
    socket.start();
    await socket.ready();
    server.sendRaw('x'.repeat(8 * 1024 * 1024 + 1));
    await server.waitForAuthenticated(2);
    await eventually(() => expect(socket.state()).toMatchObject({ connected: true, reconnects: 1 }));
    expect(server.clientCloseCodes).toContain(1009);
    expect(seqs(events)).toEqual(['hello:0']);
  });

  it('treats a seq jump as lost events and resumes from the last good seq', async () => {
    const { server, socket, events } = await setup();
    socket.start();
    await socket.ready();
    server.emit('posted', { n: 1 });
    server.emitUndelivered('posted', { n: 2 }); // lost on the wire
    server.emit('posted', { n: 3 });
    await server.waitForAuthenticated(2);
    await eventually(() => expect(events).toHaveLength(4));
    expect(seqs(events)).toEqual(['hello:0', 'posted:1', 'posted:2', 'posted:3']);
    expect(server.upgrades[1]?.get('sequence_number')).toBe('2');
    expect(logs.some((l) => l.level === 'warn' && l.msg.includes('sequence gap'))).toBe(true);
  });
});

describe('robustness', () => {
  it('detects a half-open socket by unanswered pings and reconnects', async () => {
    const { server, socket } = await setup({ pingIntervalMs: 40, pingTimeoutMs: 250 });
    socket.start();
    await socket.ready();
    await delay(200);
    expect(server.received.filter((f) => f.action === 'ping').length).toBeGreaterThan(0);
    expect(server.upgrades).toHaveLength(1); // answered pings keep the connection

    server.answerPings = false;
    await eventually(() => expect(server.upgrades.length).toBeGreaterThanOrEqual(2));
    server.answerPings = true;
    await eventually(() => expect(socket.state()).toMatchObject({ connected: true, reconnects: 1 }));
    expect(logs.some((l) => l.msg.includes('half-open'))).toBe(true);
  });

  it('skips malformed frames with a warning and keeps going', async () => {
    const { server, socket, events } = await setup();
    socket.start();
    await socket.ready();
    server.sendRaw('this is not json');
    server.sendRaw('{"event": 5, "seq": "x"}');
    server.sendRaw('[1,2,3]');
    server.sendRaw(Buffer.from([1, 2, 3]), true);
    server.emit('posted', { ok: true });
    await eventually(() => expect(events).toHaveLength(2));
    expect(seqs(events)).toEqual(['hello:0', 'posted:1']);
    expect(logs.filter((l) => l.level === 'warn' && l.msg.startsWith('skipping'))).toHaveLength(4);
    expect(socket.state().connected).toBe(true);
  });

  it('catches handler exceptions and rejected promises; other handlers still run', async () => {
    const { server, socket, events } = await setup();
    socket.onEvent(() => {
      throw new Error('boom');
    });
    socket.onEvent(async () => {
      throw new Error('async boom');
    });
    const late: string[] = [];
    socket.onEvent((ev) => late.push(ev.event));
    socket.start();
    await socket.ready();
    server.emit('posted', {});
    await eventually(() => expect(late).toEqual(['hello', 'posted']));
    expect(events).toHaveLength(2);
    await eventually(() => expect(logs.filter((l) => l.level === 'error' && l.msg.includes('handler'))).toHaveLength(4));
  });

  it('flags authRejected after repeated silent closes on a bad token, logging it once', async () => {
    const { server, socket, events } = await setup({}, 'revokedtoken00000000000000');
    let attemptsWhenFlagged: number | null = null;
    socket.onState((s) => {
      if (s.authRejected && attemptsWhenFlagged === null) attemptsWhenFlagged = server.upgrades.length;
    });
    socket.start();
    await eventually(() => expect(socket.state().authRejected).toBe(true));
    expect(attemptsWhenFlagged).toBe(3);
    await eventually(() => expect(server.upgrades.length).toBeGreaterThanOrEqual(5));
    const errors = logs.filter((l) => l.level === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]?.msg).toContain('MM_BOT_TOKEN may be revoked');
    expect(events).toEqual([]);
    expect(socket.state().connected).toBe(false);
    expect(JSON.stringify(logs)).not.toContain('revokedtoken00000000000000');

    // the token is fixed on the server side: the next attempt succeeds and clears the flag
    server.token = 'revokedtoken00000000000000';
    await socket.ready();
    await eventually(() => expect(socket.state()).toMatchObject({ authRejected: false, connected: true }));
  });

  it('retries slowly (max backoff) once the token is flagged', async () => {
    const { server, socket } = await setup({ backoff: { minMs: 5, maxMs: 300 } }, 'badbadbadbadbadbadbadbadba');
    socket.start();
    await eventually(() => expect(socket.state().authRejected).toBe(true));
    const flaggedAt = server.upgrades.length;
    await delay(200);
    // with a 5 ms backoff we would have tried many times; at max backoff at most once more
    expect(server.upgrades.length - flaggedAt).toBeLessThanOrEqual(1);
  });
});

describe('stop', () => {
  it('closes with code 1000, resolves, and does not reconnect', async () => {
    const { server, socket, states } = await setup();
    socket.start();
    await socket.ready();
    await socket.stop();
    await eventually(() => expect(server.clientCloseCodes).toEqual([1000]));
    expect(server.openSockets()).toBe(0);
    expect(socket.state().connected).toBe(false);
    expect(states[states.length - 1]?.connected).toBe(false);
    await delay(100);
    expect(server.upgrades).toHaveLength(1);
  });

  it('rejects ready() when stopped before authenticating, and leaves no timers behind', async () => {
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const timersBefore = timers();
    const { server, socket } = await setup({ backoff: { minMs: 400, maxMs: 400 } }, 'wrongtoken0000000000000000');
    socket.start();
    const ready = socket.ready();
    // the server has closed the first socket: the client is now waiting to reconnect
    await eventually(() => expect(server.clientCloseCodes).toHaveLength(1));
    await eventually(() => expect(socket.state().lastError).not.toBeNull());
    expect(timers()).toBeGreaterThan(timersBefore);
    await socket.stop();
    expect(timers()).toBeLessThanOrEqual(timersBefore);
    await expect(ready).rejects.toThrow('stopped');
    await delay(500);
    expect(server.upgrades).toHaveLength(1);
  });

  it('clears its ping timers on stop', async () => {
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const timersBefore = timers();
    const { server, socket } = await setup({ pingIntervalMs: 30, pingTimeoutMs: 1_000 });
    server.answerPings = false;
    socket.start();
    await socket.ready();
    await eventually(() => expect(server.received.some((f) => f.action === 'ping')).toBe(true));
    // a ping is out and unanswered: the interval and the reply timeout are pending
    await socket.stop();
    expect(timers()).toBeLessThanOrEqual(timersBefore);
  });

  it('stops cleanly when never started, and ignores start() afterwards', async () => {
    const { server, socket } = await setup();
    await socket.stop();
    socket.start();
    await delay(50);
    expect(server.upgrades).toHaveLength(0);
    await expect(socket.ready()).rejects.toThrow();
  });
});
