/**
 * End to end: the real bot (createBot, the same path as `npm start`) against the fake
 * Mattermost server on loopback.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { allCommands } from '../../commands/index.js';
import { createBot } from '../../src/bot.js';
import { startFakeMattermost } from '../../src/sandbox/fake-server.js';
import { channelIdFor, SANDBOX_BOT_TOKEN, teamIdFor, tokenFor, userIdFor } from '../../src/sandbox/seed.js';
import { createMemoryLogger } from '../helpers/logger.js';
import { parseExposition } from '../transports/prometheus.js';
import { answersInThread, configFor, envFor, FAST, startE2E, startRecordingProxy, waitFor, type E2E } from './support.js';

const BOT_ID = userIdFor('mmops');
const ownTriggers = allCommands.filter((c) => c.ownTrigger).map((c) => `/${c.name}`);
const expectedTriggers = ['/mmops', ...ownTriggers];

let e2e: E2E | undefined;
afterEach(async () => {
  await e2e?.close();
  e2e = undefined;
});

const dmChannel = (a: string, b: string): string => [userIdFor(a), userIdFor(b)].sort().join('__');

describe('start-up and registration', () => {
  it('identifies itself, registers the slash commands in every team and logs one ready line', async () => {
    e2e = await startE2E();
    const { fake, bot, log } = e2e;
    expect(bot.user?.username).toBe('mmops');
    const byTeam = Object.fromEntries(bot.registrations().map((r) => [r.teamName, r]));
    expect(Object.keys(byTeam).sort()).toEqual(['acme', 'ops']);
    for (const r of Object.values(byTeam)) {
      expect(r.registered).toEqual(expectedTriggers);
      expect(r.error).toBeUndefined();
    }
    const stored = [...fake.store.commands.values()];
    expect(stored).toHaveLength(expectedTriggers.length * 2);
    for (const c of stored) {
      expect(c.creator_id).toBe(BOT_ID);
      expect(c.url).toBe(`${bot.url}/slash`);
      expect(c.method).toBe('P');
      expect(c.auto_complete).toBe(true);
    }

    const ready = log.entries.filter((e) => e.msg.startsWith('ready'));
    expect(ready).toHaveLength(1);
    expect(ready[0]?.fields).toMatchObject({ serverVersion: '10.5.0', bot: 'mmops', teams: ['acme', 'ops'] });
    // slash registration follows in the background, with its own line
    const registeredLine = log.entries.find((e) => e.msg.startsWith('slash commands registered'));
    expect(registeredLine?.fields.registered).toEqual({ acme: expectedTriggers, ops: expectedTriggers });
    // the version-dependent paths are logged once, for the version the server reported
    const compat = log.entries.filter((e) => e.msg.startsWith('compatibility paths for Mattermost 10.5.0'));
    expect(compat).toHaveLength(1);
    expect(compat[0]?.fields.compatibility).toMatchObject({ 'catch-up': expect.stringContaining('re-read over REST') });
    // the bot's own rights are logged at start-up
    expect(log.entries.some((e) => Array.isArray(e.fields.available))).toBe(true);
    expect(log.dump()).not.toContain(SANDBOX_BOT_TOKEN);
  });

  it('re-registers on restart without creating duplicates', async () => {
    e2e = await startE2E();
    const before = [...e2e.fake.store.commands.values()].map((c) => `${c.team_id}/${c.trigger}/${c.token}`).sort();
    e2e.fake.clearRequests();
    await e2e.bot.stop();
    const second = await e2e.restart();
    const after = [...e2e.fake.store.commands.values()].map((c) => `${c.team_id}/${c.trigger}/${c.token}`).sort();
    // a new port means a new URL: the commands are updated in place, tokens kept
    expect(after).toEqual(before);
    expect(e2e.fake.requests.filter((r) => r.method === 'POST' && r.path === '/api/v4/commands')).toHaveLength(0);
    for (const c of e2e.fake.store.commands.values()) expect(c.url).toBe(`${second.url}/slash`);
    const result = await e2e.fake.executeSlash('alice', 'acme:town-square', '/mmops status @bob');
    expect(result.error).toBeUndefined();
    expect(result.status).toBe(200);
  });

  it('registers in a team the bot is added to later (added_to_team)', async () => {
    e2e = await startE2E({ start: false });
    const { fake, bot } = e2e;
    const ops = teamIdFor('ops');
    const membership = fake.store.teamMembers.find((m) => m.team_id === ops && m.user_id === BOT_ID);
    if (!membership) throw new Error('seed changed: the bot is not in ops');
    membership.delete_at = Date.now(); // the bot starts outside `ops`
    await bot.start();
    await bot.registered();
    expect(bot.registrations().map((r) => r.teamName)).toEqual(['acme']);

    // an admin adds the bot to `ops` through the API, as in the System Console
    const res = await fetch(`${fake.url}/api/v4/teams/${ops}/members`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${tokenFor('alice')}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ team_id: ops, user_id: BOT_ID }),
    });
    expect(res.status).toBe(201);
    await waitFor(() => bot.registrations().find((r) => r.teamName === 'ops'), 'registration in ops');
    const opsTriggers = [...fake.store.commands.values()].filter((c) => c.team_id === ops).map((c) => `/${c.trigger}`);
    expect(opsTriggers).toEqual(expectedTriggers);
  });
});

describe('slash commands', () => {
  it('answers a slash command through the endpoint (good token)', async () => {
    e2e = await startE2E();
    const result = await e2e.fake.executeSlash('alice', 'acme:town-square', '/mmops status @bob');
    expect(result.error).toBeUndefined();
    expect(result.status).toBe(200);
    expect(result.response?.response_type).toBe('ephemeral');
    expect(result.ephemeral.map((p) => p.message).join('\n')).toMatch(/bob/i);
    expect(result.request?.headers.Authorization).toMatch(/^Token /);
  });

  it('answers an own trigger (/whois) with the command it stands for', async () => {
    e2e = await startE2E();
    const result = await e2e.fake.executeSlash('alice', 'acme:town-square', '/whois @bob');
    expect(result.error).toBeUndefined();
    const text = [...result.ephemeral, ...result.posts].map((p) => p.message).join('\n');
    expect(text).toMatch(/Bob/);
  });

  it('refuses a request with a wrong token (401) and runs nothing', async () => {
    e2e = await startE2E();
    // a request exactly as the server would send it (signed trigger_id), but with a token
    // the server never issued
    const form = new URLSearchParams({
      token: 'wrongtokenwrongtokenwrong1',
      team_id: teamIdFor('acme'),
      channel_id: channelIdFor('acme', 'town-square'),
      user_id: userIdFor('alice'),
      command: '/mmops',
      text: 'status @bob',
      trigger_id: e2e.fake.signer.sign(userIdFor('alice')).triggerId,
    });
    e2e.fake.clearRequests();
    const res = await fetch(`${e2e.bot.url}/slash`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Authorization: 'Token wrongtokenwrongtokenwrong1' },
      body: form.toString(),
    });
    expect(res.status).toBe(401);
    // nothing ran: the bot's only API call was one re-read of the team's command tokens
    // (an unknown token may have been regenerated)
    expect(e2e.fake.requests.filter((r) => r.userId === BOT_ID).map((r) => `${r.method} ${r.path}`)).toEqual(['GET /api/v4/commands']);
    expect(e2e.fake.ephemeral).toHaveLength(0);
    expect(e2e.log.dump()).not.toContain('wrongtokenwrongtoken');
  });

  it('refuses a forged request sent straight to the endpoint', async () => {
    e2e = await startE2E();
    const res = await fetch(`${e2e.bot.url}/slash`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: 'x', command: '/mmops', text: 'status', user_id: userIdFor('alice'), channel_id: channelIdFor('acme', 'town-square'), team_id: 'x' }).toString(),
    });
    expect(res.status).toBe(401);
  });
});

describe('DMs and mentions', () => {
  it('answers a DM in the DM', async () => {
    e2e = await startE2E();
    const dm = await e2e.fake.postAs('alice', '@mmops', 'status @bob');
    const answer = await waitFor(() => e2e?.fake.posts.find((p) => p.user_id === BOT_ID && p.channel_id === dm.channel_id), 'the DM answer');
    expect(answer.message).toMatch(/bob/i);
    expect(answer.root_id).toBe('');
    const channel = e2e.fake.store.channels.get(dm.channel_id);
    expect(channel?.name).toBe(dmChannel('alice', 'mmops'));
  });

  it('help marks what the bot account itself cannot carry out (Services.botCan wired)', async () => {
    e2e = await startE2E({ start: false });
    const me = e2e.fake.store.users.get(BOT_ID);
    if (!me) throw new Error('no bot user');
    me.roles = 'system_user'; // no edit_other_users: `status set` and `prefs` are out of reach
    await e2e.bot.start();
    const dm = await e2e.fake.postAs('dave', '@mmops', 'help status set');
    const answer = await waitFor(() => e2e?.fake.posts.find((p) => p.user_id === BOT_ID && p.channel_id === dm.channel_id), 'the DM answer');
    expect(answer.message).toContain('(not available: the bot account lacks `edit_other_users`)');
  });

  it('answers a mention in a channel in its thread', async () => {
    e2e = await startE2E();
    const mention = await e2e.fake.postAs('alice', 'acme:town-square', '@mmops status @bob');
    const answers = await waitFor(() => {
      const a = e2e ? answersInThread(e2e.fake, mention.id, BOT_ID) : [];
      return a.length > 0 ? a : undefined;
    }, 'the answer in the thread');
    expect(answers.map((p) => p.message).join('\n')).toMatch(/bob/i);
    expect(answers.every((p) => p.channel_id === mention.channel_id)).toBe(true);
    // nothing of it went to the channel's top level
    expect(e2e.fake.posts.filter((p) => p.user_id === BOT_ID && p.root_id === '')).toHaveLength(0);
  });

  it('in a group message or a channel, answers only a post that names it (9.10 mentions every GM member; @channel everyone)', async () => {
    e2e = await startE2E({ version: '9.10' });
    const fake = e2e.fake;
    const made = await fetch(`${fake.url}/api/v4/channels/group`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokenFor('alice')}`, 'content-type': 'application/json' },
      body: JSON.stringify([userIdFor('bob'), BOT_ID]),
    });
    expect(made.status).toBe(201);
    const gm = (await made.json()) as { id: string };
    // what the bot posts or changes about posts (answers, ephemeral answers, reactions)
    const botPostWrites = () => fake.requests.filter((r) => r.userId === BOT_ID && r.method !== 'GET' && /^\/api\/v4\/(posts|reactions)/.test(r.path));
    const writesBefore = botPostWrites().length;
    await fake.postAs('alice', gm.id, 'hello everyone, lunch at noon');
    await fake.postAs('alice', 'acme:town-square', '@channel hello');
    await fake.postAs('alice', 'acme:town-square', '@all standup in 5 minutes');
    const asked = await fake.postAs('bob', gm.id, '@MMOPS whois @alice');
    const answers = await waitFor(() => {
      const a = e2e ? answersInThread(fake, asked.id, BOT_ID) : [];
      const eph = fake.ephemeral.map((x) => x.post).filter((x) => x.root_id === asked.id);
      return a.length + eph.length > 0 ? [...a, ...eph] : undefined;
    }, 'the answer to the named post');
    expect(answers.map((p) => p.message).join('\n')).toMatch(/alice/i);
    // the three others got nothing: no post, no ephemeral, no other write of the bot
    await new Promise((r) => setTimeout(r, 200));
    const replies = [...fake.posts, ...fake.ephemeral.map((x) => x.post)].filter((p) => p.user_id === BOT_ID);
    expect(replies.length).toBeGreaterThan(0);
    expect(replies.every((p) => p.root_id === asked.id)).toBe(true);
    const writes = botPostWrites().slice(writesBefore);
    expect(writes.length).toBeGreaterThan(0);
    expect(writes.every((r) => JSON.stringify(r.body ?? '').includes(asked.id))).toBe(true);
  });

  it('ignores posts not addressed to it and its own posts', async () => {
    e2e = await startE2E();
    await e2e.fake.postAs('alice', 'acme:town-square', 'status @bob, no mention');
    const dm = await e2e.fake.postAs('alice', '@mmops', 'status');
    await waitFor(() => e2e?.fake.posts.find((p) => p.user_id === BOT_ID && p.channel_id === dm.channel_id), 'the DM answer');
    // the bot's own answer came back as a `posted` event and did not trigger another run
    await new Promise((r) => setTimeout(r, 200));
    expect(e2e.fake.posts.filter((p) => p.user_id === BOT_ID)).toHaveLength(1);
  });
});

describe('reconnects and readiness', () => {
  it('turns /readyz 503 while the WebSocket is down, delivers a DM missed meanwhile, then 200', async () => {
    e2e = await startE2E();
    const { fake, bot } = e2e;
    expect((await fetch(`${bot.url}/readyz`)).status).toBe(200);

    fake.setWebSocketAccepting(false);
    fake.dropSockets();
    await waitFor(() => bot.socket()?.state().connected === false, 'the socket to drop');
    const down = await fetch(`${bot.url}/readyz`);
    expect(down.status).toBe(503);
    expect(await down.json()).toEqual({ status: 'unready', reason: 'websocket_down' });
    expect((await fetch(`${bot.url}/healthz`)).status).toBe(200);

    const dm = await fake.postAs('alice', '@mmops', 'status @bob');
    await new Promise((r) => setTimeout(r, 100));
    expect(fake.posts.find((p) => p.user_id === BOT_ID && p.channel_id === dm.channel_id)).toBeUndefined();

    fake.setWebSocketAccepting(true);
    const answer = await waitFor(() => fake.posts.find((p) => p.user_id === BOT_ID && p.channel_id === dm.channel_id), 'the missed DM to be answered');
    expect(answer.message).toMatch(/bob/i);
    await waitFor(async () => (await fetch(`${bot.url}/readyz`)).status === 200, '/readyz 200 again');
    expect(bot.socket()?.state().reconnects).toBeGreaterThanOrEqual(1);
    // answered once, even if the event was replayed
    await new Promise((r) => setTimeout(r, 200));
    expect(fake.posts.filter((p) => p.user_id === BOT_ID && p.channel_id === dm.channel_id)).toHaveLength(1);
  });
});

describe('metrics', () => {
  it('serves Prometheus text whose counters move with the commands run', async () => {
    e2e = await startE2E();
    const scrape = async () => parseExposition(await (await fetch(`${e2e?.bot.url}/metrics`)).text()).samples;
    const count = (samples: Awaited<ReturnType<typeof scrape>>, name: string, labels: Record<string, string>) =>
      samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).reduce((n, s) => n + s.value, 0);

    const before = await scrape();
    await e2e.fake.executeSlash('alice', 'acme:town-square', '/mmops status @bob');
    await e2e.fake.executeSlash('alice', 'acme:town-square', '/mmops status @bob');
    const after = await scrape();
    expect(count(after, 'mmops_commands_total', { command: 'status' }) - count(before, 'mmops_commands_total', { command: 'status' })).toBe(2);
    expect(count(after, 'mmops_command_duration_seconds_count', { command: 'status' })).toBe(2);
    expect(count(after, 'mmops_api_requests_total', { endpoint: 'GET /api/v4/users/me' })).toBeGreaterThanOrEqual(1);
    expect(count(after, 'mmops_websocket_connected', {})).toBe(1);
    expect(count(after, 'mmops_slash_requests_total', { status: '200' })).toBe(2);
    const res = await fetch(`${e2e.bot.url}/metrics`);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  });
});

describe('shutdown', () => {
  it('closes the WebSocket with 1000 and stops answering', async () => {
    // MM_URL goes through a proxy that records the close code the bot sends
    const fake = await startFakeMattermost({ seed: 'demo' });
    const proxy = await startRecordingProxy(fake.url);
    const bot = createBot(configFor(envFor(proxy.url)), { ...FAST, logger: createMemoryLogger() });
    try {
      await bot.start();
      await waitFor(() => bot.socket()?.state().connected, 'the socket');
      const url = bot.url;
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      await bot.stop();
      expect(proxy.clientCloseCodes).toEqual([1000]);
      await expect(fetch(`${url}/healthz`)).rejects.toThrow();
    } finally {
      await bot.stop();
      await proxy.close();
      await fake.close();
    }
  });

  it('finishes a command in flight before stopping', async () => {
    e2e = await startE2E();
    e2e.fake.faults.latencyMs = 300;
    const running = e2e.fake.executeSlash('alice', 'acme:town-square', '/mmops status @bob');
    // the request reaches the bot at once; its API calls then take 300 ms each
    await new Promise((r) => setTimeout(r, 100));
    await e2e.bot.stop();
    e2e.fake.faults.latencyMs = 0;
    const result = await running;
    expect(result.status).toBe(200);
    expect(result.error).toBeUndefined();
  });
});
