/**
 * The REST and WebSocket clients against the in-repo fake Mattermost server
 * (src/sandbox), which implements the protocol independently of these clients.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiError } from '../../src/mattermost/errors.js';
import { type WsEvent, parseJsonString, postSchema } from '../../src/mattermost/models.js';
import { createRestApi } from '../../src/mattermost/rest-api.js';
import { createUserChannels } from '../../src/mattermost/user-channels.js';
import { createMemoryLogger } from '../helpers/logger.js';
import { type MattermostSocket, createWebSocketClient } from '../../src/mattermost/websocket.js';
import { type FakeMattermost, startFakeMattermost } from '../../src/sandbox/fake-server.js';
import { SANDBOX_BOT_TOKEN, userIdFor } from '../../src/sandbox/seed.js';

async function eventually(check: () => void, timeoutMs = 5_000): Promise<void> {
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

let mm: FakeMattermost;
let socket: MattermostSocket | null = null;

beforeEach(async () => {
  mm = await startFakeMattermost();
});
afterEach(async () => {
  await socket?.stop();
  socket = null;
  await mm.close();
});

describe('REST against the fake server', () => {
  it('reads the bot, users and statuses', async () => {
    const api = createRestApi({ url: mm.url, token: SANDBOX_BOT_TOKEN });
    const me = await api.getMe();
    expect(me.username).toBe('mmops');
    expect(me.is_bot).toBe(true);
    const users = await api.getUsersByUsernames(['alice', 'bob', 'nobody-here']);
    expect(users.map((u) => u.username).sort()).toEqual(['alice', 'bob']);
    const statuses = await api.getStatusesByIds([userIdFor('alice')]);
    expect(statuses[0]?.user_id).toBe(userIdFor('alice'));
    expect((await api.ping()).status).toBe('OK');
  });

  it('waits out a 429 from the fake limiter and retries a 5xx read', async () => {
    let clock = Date.now();
    const api = createRestApi({
      url: mm.url,
      token: SANDBOX_BOT_TOKEN,
      now: () => clock,
      sleep: async (ms) => {
        clock += ms;
      },
      random: () => 0,
    });
    mm.faults.failNext('GET', /\/api\/v4\/users\/me$/, 429);
    mm.faults.failNext('GET', /\/api\/v4\/users\/me$/, 503);
    expect((await api.getMe()).username).toBe('mmops');
    expect(api.stats()).toMatchObject({ rateLimitWaits: 1, retries: 1 });
  });

  it("spaces requests by Reset / Limit once the server's budget is empty: no 429, no pause for Reset", async () => {
    // PerSec 2, MaxBurst 4: Limit 5, one request per 500 ms once the burst is spent, Reset 3 s
    mm.faults.rateLimit = { enabled: true, perSec: 2, burst: 4 };
    const waits: number[] = [];
    const api = createRestApi({
      url: mm.url,
      token: SANDBOX_BOT_TOKEN,
      sleep: (ms) => {
        waits.push(ms);
        return new Promise((r) => setTimeout(r, ms));
      },
    });
    for (let i = 0; i < 8; i++) await api.getMe();
    const seen = mm.requests.filter((r) => r.path === '/api/v4/users/me');
    // never refused: each request waited at least the server's interval …
    expect(seen.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200, 200, 200]);
    // … and never more than Reset / Limit = 3 s / 5 (pausing for Reset would be 3 000 ms)
    expect(waits.length).toBeGreaterThan(0);
    for (const w of waits) expect(w).toBeLessThanOrEqual(600);
  });

  it('waits exactly the Retry-After of a 429 before trying again', async () => {
    const api = createRestApi({ url: mm.url, token: SANDBOX_BOT_TOKEN });
    mm.faults.rateLimitNext('GET', /\/api\/v4\/users\/me$/, 2);
    expect((await api.getMe()).username).toBe('mmops');
    const [limited, ok] = mm.requests.filter((r) => r.path === '/api/v4/users/me');
    expect(limited?.status).toBe(429);
    expect(ok?.status).toBe(200);
    expect((ok?.at ?? 0) - (limited?.at ?? 0)).toBeGreaterThanOrEqual(2_000);
  });

  it('explains a revoked token', async () => {
    const api = createRestApi({ url: mm.url, token: SANDBOX_BOT_TOKEN });
    mm.revokeToken(SANDBOX_BOT_TOKEN);
    const err = await api.getMe().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(401);
    expect((err as ApiError).message).toContain('MM_BOT_TOKEN');
  });
});

describe('WebSocket against the fake server', () => {
  it('receives hello and a DM, and resumes without losing or repeating events after a drop', async () => {
    const events: WsEvent[] = [];
    socket = createWebSocketClient({ url: mm.url, token: SANDBOX_BOT_TOKEN, backoff: { minMs: 10, maxMs: 50 } });
    socket.onEvent((ev) => events.push(ev));
    socket.start();
    await socket.ready();
    expect(events[0]?.event).toBe('hello');

    await mm.postAs('alice', '@mmops', 'status @bob');
    await eventually(() => expect(events.some((e) => e.event === 'posted')).toBe(true));

    mm.dropSockets();
    await mm.postAs('alice', '@mmops', 'whois @ann'); // sent while the bot is disconnected
    await eventually(() => expect(events.filter((e) => e.event === 'posted')).toHaveLength(2));
    await eventually(() => expect(socket?.state()).toMatchObject({ connected: true, reconnects: 1 }));

    const messages = events
      .filter((e) => e.event === 'posted')
      .map((e) => parseJsonString(postSchema, e.data['post'])?.message);
    expect(messages).toEqual(['status @bob', 'whois @ann']);
    const seqs = events.map((e) => e.seq);
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(events.filter((e) => e.event === 'hello')).toHaveLength(1);
  });

  it('flags authRejected when the token is revoked', async () => {
    socket = createWebSocketClient({ url: mm.url, token: SANDBOX_BOT_TOKEN, backoff: { minMs: 10, maxMs: 50 } });
    socket.start();
    await socket.ready();
    mm.revokeToken(SANDBOX_BOT_TOKEN);
    await eventually(() => expect(socket?.state().authRejected).toBe(true));
    expect(socket.state().connected).toBe(false);
  });
});

describe('the router 404 of a 5.37 (sandbox version mode)', () => {
  it('is read as an AppError although labelled text/plain: the catch-up and visibility switch to team by team on it', async () => {
    const old = await startFakeMattermost({ version: '5.37' });
    try {
      const api = createRestApi({ url: old.url, token: SANDBOX_BOT_TOKEN });
      const err = await api.getChannelsForUser(userIdFor('mmops'), {}).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ApiError);
      expect(err).toMatchObject({ status: 404, serverErrorId: 'api.context.404.app_error', serverMessage: 'Sorry, we could not find the page.' });
      // the wire really was text/plain (the mapping reads the id regardless of the label)
      const raw = old.requests.filter((r) => r.path === `/api/v4/users/${userIdFor('mmops')}/channels`);
      expect(raw.map((r) => r.status)).toEqual([404]);
      const res = await fetch(`${old.url}/api/v4/users/${userIdFor('mmops')}/channels`, { headers: { Authorization: `Bearer ${SANDBOX_BOT_TOKEN}` } });
      expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
      // the version unknown: the first router 404 switches the lister to team by team
      const log = createMemoryLogger();
      const lister = createUserChannels({ api, logger: log, label: 'test reads' });
      const channels = await lister.list(userIdFor('mmops'), {});
      expect(lister.listing).toBe('teams');
      expect(channels.length).toBeGreaterThan(0);
      expect(log.entries.filter((l) => l.msg.startsWith('test reads team by team'))).toHaveLength(1);
    } finally {
      await old.close();
    }
  });
});
