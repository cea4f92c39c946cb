/**
 * The real bot (createBot, as `npm start`) against the sandbox playing Mattermost 5.37
 * (src/sandbox/versions.ts): everything that differs from a current server, as a real 5.37
 * showed it and its source reads (docs/compatibility.md).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { FakeMattermost, Post } from '../../src/sandbox/fake-server.js';
import { teamIdFor, userIdFor } from '../../src/sandbox/seed.js';
import { REPLY_TO_PROP } from '../../src/services/catch-up.js';
import { SECRET } from '../security/interactions-support.js';
import { answersInThread, startE2E, waitFor, type E2E } from './support.js';

const BOT_ID = userIdFor('mmops');
let e2e: E2E | undefined;

afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail' && e2e) {
    for (const l of e2e.log.entries.filter((x) => x.level !== 'debug').slice(-40)) console.log(l.level, l.msg, JSON.stringify(l.fields).slice(0, 300));
  }
  await e2e?.close();
  e2e = undefined;
});

const repliesTo = (fake: FakeMattermost, postId: string): Post[] => fake.posts.filter((p) => p.user_id === BOT_ID && p.props[REPLY_TO_PROP] === postId);
const userChannelsCalls = (fake: FakeMattermost) => fake.requests.filter((r) => r.path === `/api/v4/users/${BOT_ID}/channels`);
const teamChannelsCalls = (fake: FakeMattermost) => fake.requests.filter((r) => r.userId === BOT_ID && new RegExp(`^/api/v4/users/${BOT_ID}/teams/[a-z0-9]+/channels$`).test(r.path));
const teamByTeamLines = (e: E2E) => e.log.entries.filter((l) => l.msg.startsWith("catch-up reads the bot's channels team by team"));

describe('Mattermost 5.37 (sandbox version mode)', () => {
  it('answers with X-Version-Id 5.37 and has no GET /users/{id}/channels (the router 404)', async () => {
    e2e = await startE2E({ version: '5.37' });
    const { fake } = e2e;
    const me = await fetch(`${fake.url}/api/v4/users/me`, { headers: { Authorization: `Bearer ${e2e.config.botToken}` } });
    expect(me.headers.get('x-version-id')).toMatch(/^5\.37\.0\./);
    const res = await fetch(`${fake.url}/api/v4/users/${BOT_ID}/channels`, { headers: { Authorization: `Bearer ${e2e.config.botToken}` } });
    expect(res.status).toBe(404);
    // web/web.go Handle404 on 5.37: AppError JSON labelled text/plain, without the API headers
    expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(res.headers.get('x-version-id')).toBeNull();
    expect(JSON.parse(await res.text())).toMatchObject({ id: 'api.context.404.app_error', status_code: 404 });
    // the start-up line names what is degraded on this version
    const degraded = e2e.log.entries.filter((l) => l.msg.startsWith('degraded on Mattermost 5.37.0'));
    expect(degraded).toHaveLength(1);
    expect(degraded[0]?.msg).toContain('team by team');
  });

  it('a DM sent while the bot was down is answered exactly once after the restart, read team by team', async () => {
    e2e = await startE2E({ version: '5.37' });
    const { fake, bot } = e2e;
    await waitFor(() => teamChannelsCalls(fake).length > 0, 'the start-up catch-up');
    await bot.stop();
    const dm = await fake.postAs('alice', '@mmops', 'status @bob');
    fake.clearRequests();
    await e2e.restart();
    await waitFor(() => repliesTo(fake, dm.id).length > 0, 'the answer to the DM sent while the bot was down');
    await new Promise((r) => setTimeout(r, 300));
    expect(repliesTo(fake, dm.id)).toHaveLength(1);
    expect(repliesTo(fake, dm.id)[0]?.message).toMatch(/while I was reconnecting/);
    // decided by the version: the missing endpoint was never asked; each of the bot's teams once
    expect(userChannelsCalls(fake)).toEqual([]);
    const teams = new Set(teamChannelsCalls(fake).map((r) => r.path.split('/')[6]));
    expect(teams).toEqual(new Set([teamIdFor('acme'), teamIdFor('ops')]));
    // the path taken is logged once per process (two processes here)
    expect(teamByTeamLines(e2e)).toHaveLength(2);
  });

  it('after a WebSocket gap the DM and the mention are answered once, without a retry loop on the missing endpoint', async () => {
    e2e = await startE2E({ version: '5.37' });
    const { fake, bot } = e2e;
    await waitFor(() => teamChannelsCalls(fake).length > 0, 'the start-up catch-up');
    fake.setWebSocketAccepting(false);
    fake.restartWebSocketHub();
    await waitFor(() => bot.socket()?.state().connected === false, 'the socket to drop');
    const dm = await fake.postAs('bob', '@mmops', 'help');
    const mention = await fake.postAs('alice', 'acme:town-square', '@mmops status @bob');
    fake.clearRequests();
    fake.setWebSocketAccepting(true);
    await waitFor(() => repliesTo(fake, dm.id).length > 0, 'the answer to the DM');
    await waitFor(() => answersInThread(fake, mention.id, BOT_ID).length > 0, 'the answer to the mention');
    await new Promise((r) => setTimeout(r, 300));
    expect(repliesTo(fake, dm.id)).toHaveLength(1);
    expect(answersInThread(fake, mention.id, BOT_ID)).toHaveLength(1);
    expect(userChannelsCalls(fake)).toEqual([]);
    expect(teamByTeamLines(e2e)).toHaveLength(1);
    // no failed pass was scheduled again
    expect(e2e.log.entries.filter((l) => l.msg === 'catch-up failed; trying again shortly')).toEqual([]);
  });

  it('posted carries the whole mention list: a post naming the bot among others is answered once, one naming only others is not', async () => {
    e2e = await startE2E({ version: '5.37' });
    const { fake } = e2e;
    const both = await fake.postAs('alice', 'acme:town-square', '@bob @mmops status @bob');
    const other = await fake.postAs('alice', 'acme:town-square', '@bob status please');
    await waitFor(() => answersInThread(fake, both.id, BOT_ID).length > 0, 'the answer to the mention');
    await new Promise((r) => setTimeout(r, 300));
    expect(answersInThread(fake, both.id, BOT_ID)).toHaveLength(1);
    expect(answersInThread(fake, other.id, BOT_ID)).toEqual([]);
  });

  it("a guest's whois of someone they share a channel with answers the card: their channels read team by team (no GET /users/{id}/channels on 5.37)", async () => {
    e2e = await startE2E({ version: '5.37' });
    const { fake } = e2e;
    const erin = userIdFor('erin');
    fake.clearRequests();
    // erin (a guest, acme:town-square only) shares town-square with dave
    const seen = await fake.executeSlash('erin', 'acme:town-square', '/whois @dave');
    expect(seen.error).toBeUndefined();
    const text = (seen.response?.text ?? '').replace(/\u200b/g, '');
    expect(text).not.toMatch(/No one matches/);
    expect(text).toContain('@dave');
    // the caller's channels came team by team; the missing route was never asked
    expect(fake.requests.filter((r) => r.path === `/api/v4/users/${erin}/channels`)).toEqual([]);
    expect(fake.requests.filter((r) => r.path === `/api/v4/users/${erin}/teams/${teamIdFor('acme')}/channels`).length).toBeGreaterThan(0);
    // ivan (ops only) stays hidden from her
    const hidden = await fake.executeSlash('erin', 'acme:town-square', '/whois @ivan');
    expect((hidden.response?.text ?? '').replace(/\u200b/g, '')).toMatch(/No one matches/);
  }, 30_000);

  it('a Confirm click goes through 5.37 (the bot answers the click with JSON, never an empty body)', async () => {
    e2e = await startE2E({ version: '5.37', env: { MMOPS_ACTIONS_SECRET: SECRET } });
    const { fake } = e2e;
    const grace = userIdFor('grace');
    const r = await fake.executeSlash('alice', 'acme:town-square', '/user deactivate @grace');
    expect(r.error).toBeUndefined();
    const post = r.ephemeral.find((p) => Array.isArray((p.props as { attachments?: unknown[] } | undefined)?.attachments));
    if (!post) throw new Error('no confirmation buttons');
    expect(fake.store.users.get(grace)?.delete_at).toBe(0);
    const click = await fake.clickAction('alice', post.id, 'confirm');
    expect(click).toMatchObject({ status: 200, body: { status: 'OK' } });
    expect(fake.store.users.get(grace)?.delete_at).toBeGreaterThan(0);
    const call = fake.integrationCalls.at(-1);
    expect(call?.status).toBe(200);
    expect(call?.response.length).toBeGreaterThan(0);
    expect(() => JSON.parse(call?.response ?? '')).not.toThrow();
  }, 30_000);
});
