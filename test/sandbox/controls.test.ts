import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeMattermost, type FakeMattermost } from '../../src/sandbox/fake-server.js';
import { SANDBOX_BOT_TOKEN, SeedBuilder, teamIdFor, tokenFor, userIdFor } from '../../src/sandbox/seed.js';
import { WsProbe, apiAs } from './helpers.js';

const servers: FakeMattermost[] = [];
const start = async (opts: Parameters<typeof startFakeMattermost>[0] = {}): Promise<FakeMattermost> => {
  const mm = await startFakeMattermost(opts);
  servers.push(mm);
  return mm;
};
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

describe('seeds', () => {
  it('the empty seed has only the bot, which is a system admin', async () => {
    const mm = await start({ seed: 'empty' });
    const users = await apiAs(mm, SANDBOX_BOT_TOKEN)('GET', '/users');
    expect(users.json.map((u: { username: string }) => u.username)).toEqual(['mmops']);
    expect((await apiAs(mm, SANDBOX_BOT_TOKEN)('GET', '/cluster/status')).json).toEqual([]);
    expect((await apiAs(mm, tokenFor('alice'))('GET', '/users/me')).status).toBe(401);
  });

  it('accepts a custom seed built with SeedBuilder and a custom version', async () => {
    const b = new SeedBuilder();
    b.user({ username: 'mmops', is_bot: true, roles: 'system_user' }, { token: SANDBOX_BOT_TOKEN });
    b.user({ username: 'zed', first_name: 'Zed' });
    b.team('tiny', 'Tiny');
    b.channel('tiny', 'town-square', 'Town Square');
    b.join('tiny', ['mmops', 'zed'], ['town-square']);
    const mm = await start({ seed: b.build(), version: '9.11.3' });
    const api = apiAs(mm, SANDBOX_BOT_TOKEN);
    const me = await api('GET', '/users/me');
    expect(me.headers.get('x-version-id')).toMatch(/^9\.11\.3\./);
    expect((await api('GET', `/teams/${teamIdFor('tiny')}/members`)).json).toHaveLength(2);
    // a plain bot is not an admin: cluster status is refused
    expect((await api('GET', '/cluster/status')).status).toBe(403);
  });
});

describe('faults', () => {
  it('down destroys connections; latency delays answers', async () => {
    const mm = await start();
    mm.faults.down = true;
    await expect(fetch(`${mm.url}/api/v4/system/ping`)).rejects.toThrow();
    mm.faults.down = false;
    mm.faults.latencyMs = 120;
    const t0 = Date.now();
    expect((await fetch(`${mm.url}/api/v4/system/ping`)).status).toBe(200);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(100);
  });

  it('failNext can answer with a plain-text 429 a given number of times', async () => {
    const mm = await start();
    mm.faults.failNext('*', /\/users\/me$/, 429, 2);
    const api = apiAs(mm, SANDBOX_BOT_TOKEN);
    const a = await api('GET', '/users/me');
    expect([a.status, a.text, a.headers.get('retry-after')]).toEqual([429, 'limit exceeded\n', '1']);
    expect((await api('GET', '/users/me')).status).toBe(429);
    expect((await api('GET', '/users/me')).status).toBe(200);
  });

  it('deactivation ends the user’s REST access and sockets', async () => {
    const mm = await start();
    const probe = new WsProbe(mm, { token: tokenFor('ann') });
    await probe.event('hello');
    const r = await apiAs(mm, SANDBOX_BOT_TOKEN)('PUT', `/users/${userIdFor('ann')}/active`, { active: false });
    expect(r.json).toEqual({ status: 'OK' });
    expect((await apiAs(mm, tokenFor('ann'))('GET', '/users/me')).status).toBe(401);
    await probe.waitClosed();
    expect(mm.store.users.get(userIdFor('ann'))?.delete_at).toBeGreaterThan(0);
  });
});

describe('websocket keepalive', () => {
  it('sends ping frames at the configured interval', async () => {
    const mm = await start({ wsPingIntervalMs: 40 });
    const probe = new WsProbe(mm, { token: SANDBOX_BOT_TOKEN });
    await probe.event('hello');
    await new Promise<void>((resolve) => probe.ws.once('ping', () => resolve()));
    probe.close();
  });
});

describe('slash commands: GET method and timeout', () => {
  it('appends the fields to the query for method G and times out slow integrations', async () => {
    const mm = await start();
    let lastUrl = '';
    let hang = false;
    const integration: Server = createServer((req, res) => {
      lastUrl = req.url ?? '';
      if (hang) return; // never answer
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{"text":"got it"}');
    });
    await new Promise<void>((r) => integration.listen(0, '127.0.0.1', r));
    try {
      const port = (integration.address() as AddressInfo).port;
      const created = await apiAs(mm, SANDBOX_BOT_TOKEN)('POST', '/commands', { team_id: teamIdFor('acme'), trigger: 'getter', method: 'G', url: `http://127.0.0.1:${port}/hook?keep=1`, auto_complete: false });
      expect(created.status).toBe(201);
      const r = await mm.executeSlash('ann', 'acme:town-square', '/getter hello world');
      expect(r.ephemeral[0]?.message).toBe('got it');
      const q = new URL(lastUrl, 'http://x').searchParams;
      expect(q.get('keep')).toBe('1');
      expect(q.get('text')).toBe('hello world');
      expect(q.get('token')).toBe(created.json.token);

      hang = true;
      mm.store.config.outgoingIntegrationTimeoutSec = 0.2;
      const slow = await mm.executeSlash('ann', 'acme:town-square', '/getter again');
      expect(slow.error?.id).toBe('api.command.execute_command.failed.app_error');
    } finally {
      integration.closeAllConnections();
      await new Promise<void>((r) => integration.close(() => r()));
    }
  });
});

describe('guests', () => {
  it('erin only receives user_updated for people she shares a channel with', async () => {
    const mm = await start();
    const erin = new WsProbe(mm, { token: tokenFor('erin') });
    await erin.event('hello');
    const bot = apiAs(mm, SANDBOX_BOT_TOKEN);
    await bot('PUT', `/users/${userIdFor('grace')}/mfa`, { activate: false }); // grace shares acme town-square with erin
    await bot('PUT', `/users/${userIdFor('frank')}/mfa`, { activate: false }); // frank shares nothing with erin
    const ev = await erin.event('user_updated');
    expect(ev.data.user.id).toBe(userIdFor('grace'));
    await new Promise((r) => setTimeout(r, 50));
    expect(erin.frames.filter((f) => f.event === 'user_updated').map((f) => f.data.user.id)).toEqual([userIdFor('grace')]);
    erin.close();
  });
});
