/**
 * Forged slash requests, played against the real bot and the
 * sandbox server. Every test asserts the refusal AND that the bot made no privileged
 * API call (the sandbox records every request: `fake.requests`).
 *
 * The attacker's tools are what the server really gives them: a team admin can read the
 * command tokens of their team (`GET /commands?custom_only=true`), anyone can see their
 * own genuine trigger ids (any integration they run receives one), and the public key.
 * Only the server's private key (`fake.signer`) signs for someone else, and tests use it
 * only to make requests the server itself would make.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { channelIdFor, tokenFor, userIdFor } from '../../src/sandbox/seed.js';
import type { FakeMattermost } from '../../src/sandbox/fake-server.js';
import { startE2E, waitFor, type E2E } from '../e2e/support.js';

const BOT_ID = userIdFor('mmops');
const ACME = (): string => channelIdFor('acme', 'town-square');
let e2e: E2E | undefined;

afterEach(async () => {
  await e2e?.close();
  e2e = undefined;
});

/** Calls the sandbox REST API as a user. */
async function api(fake: FakeMattermost, user: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${fake.url}/api/v4${path}`, {
    method,
    headers: { Authorization: `Bearer ${tokenFor(user)}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

/** The /mmops token of a team, as someone who may manage its commands reads it. */
async function stolenToken(fake: FakeMattermost, reader: string, teamId: string): Promise<string> {
  const list = await api(fake, reader, 'GET', `/commands?team_id=${teamId}&custom_only=true`);
  expect(list.status).toBe(200);
  const cmd = (list.json as Array<{ trigger: string; token: string; creator_id: string }>).find((c) => c.trigger === 'mmops' && c.creator_id === BOT_ID);
  expect(cmd?.token).toMatch(/^[a-z0-9]{26}$/);
  return cmd?.token ?? '';
}

/** POSTs a slash form straight to the bot, the way the server (or an attacker) would. */
async function postSlash(bot: E2E['bot'], form: Record<string, string>, token = form.token ?? ''): Promise<Response> {
  return fetch(`${bot.url}/slash`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json', Authorization: `Token ${token}` },
    body: new URLSearchParams(form).toString(),
  });
}

function slashForm(over: { token: string; teamId: string; channelId: string; userId: string; text: string; triggerId: string }): Record<string, string> {
  return {
    token: over.token,
    team_id: over.teamId,
    channel_id: over.channelId,
    user_id: over.userId,
    command: '/mmops',
    text: over.text,
    trigger_id: over.triggerId,
    response_url: '',
  };
}

/** `METHOD /path` of every request the bot made since the last clearRequests(). */
const botCalls = (fake: FakeMattermost): string[] => fake.requests.filter((r) => r.userId === BOT_ID).map((r) => `${r.method} ${r.path}`);
const rolesOf = (fake: FakeMattermost, username: string): string => fake.store.requireUser(username).roles;
const teamId = (fake: FakeMattermost, name: string): string => {
  const t = fake.store.teamByName(name);
  if (!t) throw new Error(`no team ${name}`);
  return t.id;
};

describe('forged user_id with a real command token', () => {
  it('a team admin who reads the token cannot act as a system admin, whatever trigger_id they send', async () => {
    e2e = await startE2E();
    const { fake, bot } = e2e;
    const ops = teamId(fake, 'ops');
    // bob is team admin of ops: the server hands him the bot's token there
    const token = await stolenToken(fake, 'bob', ops);
    const alice = userIdFor('alice');
    const bobId = userIdFor('bob');
    const attempts: Array<[string, string]> = [
      ['no trigger_id', ''],
      ["bob's own genuine trigger_id", fake.signer.sign(bobId).triggerId],
      ["bob's trigger_id with alice's id written in", fake.signer.tamperUser(bobId, alice).triggerId],
      ['a trigger_id signed with another key', fake.signer.signWithForeignKey(alice).triggerId],
      ['garbage', 'bm90IGEgdHJpZ2dlciBpZA=='],
    ];
    fake.clearRequests();
    for (const [what, triggerId] of attempts) {
      for (const text of ['user roles @dave system_user system_admin', 'user password @bob --generate']) {
        const res = await postSlash(bot, slashForm({ token, teamId: ops, channelId: channelIdFor('ops', 'town-square'), userId: alice, text, triggerId }));
        expect(res.status, what).toBe(401);
      }
    }
    // refused, and nothing reached the server on alice's behalf
    expect(rolesOf(fake, 'dave')).toBe('system_user');
    expect(botCalls(fake)).toEqual([]);
    expect(fake.ephemeral).toHaveLength(0);
    // the same command, really typed by alice, works: the refusals above were the signature's doing
    const real = await fake.executeSlash('alice', 'ops:town-square', '/mmops user roles @dave system_user system_admin --yes');
    expect(real.error).toBeUndefined();
    expect(rolesOf(fake, 'dave')).toBe('system_user system_admin');
  });

  it('logs one line per refusal and never runs the command', async () => {
    e2e = await startE2E();
    const { fake, bot, log } = e2e;
    const acme = teamId(fake, 'acme');
    const token = await stolenToken(fake, 'alice', acme);
    fake.clearRequests();
    const before = log.entries.length;
    const res = await postSlash(bot, slashForm({ token, teamId: acme, channelId: ACME(), userId: userIdFor('alice'), text: 'user deactivate @dave', triggerId: fake.signer.sign(userIdFor('bob')).triggerId }));
    expect(res.status).toBe(401);
    const lines = log.entries.slice(before).filter((e) => e.msg.startsWith('slash request refused'));
    expect(lines).toHaveLength(1);
    expect(lines[0]?.fields.reason).toBe('user_mismatch');
    expect(log.entries.slice(before).some((e) => e.msg === 'command answered')).toBe(false);
    expect(fake.store.requireUser('dave').delete_at).toBe(0);
    expect(botCalls(fake)).toEqual([]);
  });
});

describe("another team's token", () => {
  it('a token registered for team A never runs a request for team B', async () => {
    e2e = await startE2E();
    const { fake, bot } = e2e;
    const acme = teamId(fake, 'acme');
    const ops = teamId(fake, 'ops');
    const acmeToken = await stolenToken(fake, 'alice', acme);
    fake.clearRequests();
    // genuinely signed for alice, but carried with acme's token into ops
    const res = await postSlash(bot, slashForm({ token: acmeToken, teamId: ops, channelId: channelIdFor('ops', 'town-square'), userId: userIdFor('alice'), text: 'user roles @dave system_user system_admin', triggerId: fake.signer.sign(userIdFor('alice')).triggerId }));
    expect(res.status).toBe(401);
    expect(rolesOf(fake, 'dave')).toBe('system_user');
    // the only call: one re-read of ops' own tokens (the token might have been regenerated there)
    expect(botCalls(fake)).toEqual(['GET /api/v4/commands']);
    expect(fake.requests.find((r) => r.userId === BOT_ID)?.query.team_id).toBe(ops);
  });
});

describe('replayed, stale and tampered trigger_id', () => {
  it('a captured request replayed as is is refused: a trigger_id works once', async () => {
    e2e = await startE2E();
    const { fake, bot } = e2e;
    const first = await fake.executeSlash('alice', 'acme:town-square', '/mmops user roles @dave system_user system_admin --yes');
    expect(first.error).toBeUndefined();
    expect(rolesOf(fake, 'dave')).toBe('system_user system_admin');
    const captured = first.request;
    if (!captured) throw new Error('the sandbox records the request it sent');
    // an admin demotes dave again; the attacker replays alice's request
    fake.store.requireUser('dave').roles = 'system_user';
    fake.clearRequests();
    const res = await postSlash(bot, Object.fromEntries(captured.form), captured.form.get('token') ?? '');
    expect(res.status).toBe(401);
    expect(rolesOf(fake, 'dave')).toBe('system_user');
    expect(botCalls(fake)).toEqual([]);
  });

  it('a trigger_id older than MMOPS_TRIGGER_MAX_AGE is refused', async () => {
    e2e = await startE2E({ env: { MMOPS_TRIGGER_MAX_AGE: '30' } });
    const { fake, bot } = e2e;
    const acme = teamId(fake, 'acme');
    const token = await stolenToken(fake, 'alice', acme);
    fake.clearRequests();
    const stale = fake.signer.sign(userIdFor('alice'), { at: Date.now() - 31_000 }).triggerId;
    const res = await postSlash(bot, slashForm({ token, teamId: acme, channelId: ACME(), userId: userIdFor('alice'), text: 'user roles @dave system_user system_admin', triggerId: stale }));
    expect(res.status).toBe(401);
    expect(rolesOf(fake, 'dave')).toBe('system_user');
    expect(botCalls(fake)).toEqual([]);
    // within the age it is accepted (same token, same text)
    const fresh = fake.signer.sign(userIdFor('alice'), { at: Date.now() - 20_000 }).triggerId;
    expect((await postSlash(bot, slashForm({ token, teamId: acme, channelId: ACME(), userId: userIdFor('alice'), text: 'whois @bob', triggerId: fresh }))).status).toBe(200);
  });

  it('a tampered trigger_id (user id swapped, time moved) is refused', async () => {
    e2e = await startE2E();
    const { fake, bot } = e2e;
    const acme = teamId(fake, 'acme');
    const token = await stolenToken(fake, 'alice', acme);
    const old = fake.signer.sign(userIdFor('alice'), { at: Date.now() - 120_000 }).triggerId;
    const moved = Buffer.from(Buffer.from(old, 'base64').toString().replace(/:(\d+):/, `:${Date.now()}:`)).toString('base64');
    fake.clearRequests();
    for (const triggerId of [moved, fake.signer.tamperUser(userIdFor('dave'), userIdFor('alice')).triggerId]) {
      const res = await postSlash(bot, slashForm({ token, teamId: acme, channelId: ACME(), userId: userIdFor('alice'), text: 'user roles @dave system_user system_admin', triggerId }));
      expect(res.status).toBe(401);
    }
    expect(rolesOf(fake, 'dave')).toBe('system_user');
    expect(botCalls(fake)).toEqual([]);
  });

  it('a flood of forgeries from one source gives one audit-channel line a minute, not one each', async () => {
    e2e = await startE2E({ env: { MMOPS_AUDIT_CHANNEL: 'acme:off-topic' } });
    const { fake, bot } = e2e;
    const acme = teamId(fake, 'acme');
    const token = await stolenToken(fake, 'alice', acme);
    const offTopic = channelIdFor('acme', 'off-topic');
    const auditPosts = () => fake.posts.filter((p) => p.channel_id === offTopic && p.user_id === BOT_ID);
    fake.clearRequests();
    for (let i = 0; i < 50; i++) {
      const res = await postSlash(bot, slashForm({ token, teamId: acme, channelId: ACME(), userId: userIdFor('alice'), text: `user roles @dave system_user system_admin ${'@channel'.repeat(i % 2)}`, triggerId: fake.signer.signWithForeignKey(userIdFor('alice')).triggerId }));
      expect(res.status).toBe(401);
    }
    const lines = await waitFor(() => (auditPosts().length > 0 ? auditPosts() : undefined), 'the audit line');
    await new Promise((r) => setTimeout(r, 200));
    expect(auditPosts()).toHaveLength(1);
    expect(lines[0]?.message).toMatch(/^:warning: 1 forged or stale slash request refused from `(::ffff:)?127\.0\.0\.1` \(signature does not verify ×1\)$/);
    // the only bot calls: the audit post (and resolving its channel); nothing privileged, no attacker text
    expect(botCalls(fake).every((c) => /^(POST \/api\/v4\/posts|GET \/api\/v4\/teams\/name\/|GET \/api\/v4\/teams\/[a-z0-9]+\/channels\/name\/)/.test(c))).toBe(true);
    expect(rolesOf(fake, 'dave')).toBe('system_user');
    expect(fake.posts.some((p) => p.message.includes('@channel'))).toBe(false);
  });
});

describe('regenerated token', () => {
  it('is accepted after exactly one re-read of the team; the old token is refused from then on', async () => {
    e2e = await startE2E();
    const { fake, bot } = e2e;
    const acme = teamId(fake, 'acme');
    const oldToken = await stolenToken(fake, 'alice', acme);
    const cmd = [...fake.store.commands.values()].find((c) => c.team_id === acme && c.trigger === 'mmops');
    const regen = await api(fake, 'alice', 'PUT', `/commands/${cmd?.id}/regen_token`);
    expect(regen.status).toBe(200);
    fake.clearRequests();
    const first = await fake.executeSlash('alice', 'acme:town-square', '/mmops whois @bob');
    expect(first.error).toBeUndefined();
    expect(first.ephemeral.map((p) => p.message).join('\n')).toMatch(/Bob/);
    const reads = () => fake.requests.filter((r) => r.userId === BOT_ID && r.method === 'GET' && r.path === '/api/v4/commands');
    expect(reads()).toHaveLength(1);
    expect(reads()[0]?.query).toMatchObject({ team_id: acme, custom_only: 'true' });
    expect((await fake.executeSlash('alice', 'acme:town-square', '/mmops whois @bob')).error).toBeUndefined();
    expect(reads()).toHaveLength(1);
    // someone who kept the old token gets nothing, even with a genuine signature, and causes no re-read within the minute
    fake.clearRequests();
    const res = await postSlash(bot, slashForm({ token: oldToken, teamId: acme, channelId: ACME(), userId: userIdFor('alice'), text: 'user roles @dave system_user system_admin', triggerId: fake.signer.sign(userIdFor('alice')).triggerId }));
    expect(res.status).toBe(401);
    expect(rolesOf(fake, 'dave')).toBe('system_user');
    expect(botCalls(fake)).toEqual([]);
  });
});

describe('registration only where allowed', () => {
  it('a team not named in MMOPS_TEAMS gets no command (no token to steal) when the bot is added to it', async () => {
    e2e = await startE2E({ start: false, env: { MMOPS_TEAMS: 'acme' } });
    const { fake, bot, log } = e2e;
    const ops = teamId(fake, 'ops');
    const membership = fake.store.teamMembers.find((m) => m.team_id === ops && m.user_id === BOT_ID);
    if (!membership) throw new Error('seed changed: the bot is not in ops');
    membership.delete_at = Date.now();
    await bot.start();
    await bot.registered();
    // bob, team admin of ops, adds the bot to his team
    fake.clearRequests();
    expect((await api(fake, 'bob', 'POST', `/teams/${ops}/members`, { team_id: ops, user_id: BOT_ID })).status).toBe(201);
    await waitFor(() => log.entries.find((e) => e.msg.includes('not listed in MMOPS_TEAMS')), 'the "not listed" line');
    expect(botCalls(fake).filter((c) => c.startsWith('POST /api/v4/commands') || c.startsWith('PUT /api/v4/commands'))).toEqual([]);
    expect((await api(fake, 'bob', 'GET', `/commands?team_id=${ops}&custom_only=true`)).json).toEqual([]);
    // a request made up for ops is refused without a single call
    fake.clearRequests();
    const res = await postSlash(bot, slashForm({ token: 'madeupmadeupmadeupmadeup01', teamId: ops, channelId: channelIdFor('ops', 'town-square'), userId: userIdFor('alice'), text: 'user roles @dave system_user system_admin', triggerId: fake.signer.sign(userIdFor('bob')).triggerId }));
    expect(res.status).toBe(401);
    expect(botCalls(fake)).toEqual([]);
    expect(rolesOf(fake, 'dave')).toBe('system_user');
    // the ready line and /health name only acme
    const ready = log.entries.find((e) => e.msg.startsWith('ready'));
    expect(ready?.fields.teams).toEqual(['acme']);
    const registered = log.entries.find((e) => e.msg.startsWith('slash commands registered'));
    expect(Object.keys((registered?.fields.registered ?? {}) as object)).toEqual(['acme']);
    const health = await fake.executeSlash('alice', 'acme:town-square', '/mmops health');
    expect(health.ephemeral.map((p) => p.message).join('\n')).toMatch(/Slash commands in:\*\* acme\b/);
  });
});

describe('a server that signs no trigger_id', () => {
  it('privileged commands over slash are refused with "use a DM"; open ones still run', async () => {
    e2e = await startE2E({ start: false });
    const { fake, bot } = e2e;
    fake.store.config.signingKey = false;
    await bot.start();
    await bot.registered();
    fake.clearRequests();
    const refused = await fake.executeSlash('alice', 'acme:town-square', '/mmops user roles @dave system_user system_admin');
    expect(refused.error).toBeUndefined();
    const text = refused.ephemeral.map((p) => p.message).join('\n');
    expect(text).toMatch(/can't verify who sent this slash command/);
    expect(text).toMatch(/direct message/);
    expect(rolesOf(fake, 'dave')).toBe('system_user');
    expect(botCalls(fake).filter((c) => !c.startsWith('GET /api/v4/config/client'))).toEqual([]);
    const open = await fake.executeSlash('dave', 'acme:town-square', '/mmops whois @bob');
    expect(open.ephemeral.map((p) => p.message).join('\n')).toMatch(/Bob/);
    // by DM the same command runs (the WebSocket event proves who posted)
    await fake.postAs('alice', '@mmops', 'user roles @dave system_user system_admin --yes');
    await waitFor(() => rolesOf(fake, 'dave') === 'system_user system_admin', 'the DM command');
  });

  it('MMOPS_ALLOW_UNSIGNED_SLASH=true lets them run, but tokens stay bound to their team', async () => {
    e2e = await startE2E({ start: false, env: { MMOPS_ALLOW_UNSIGNED_SLASH: 'true' } });
    const { fake, bot, log } = e2e;
    fake.store.config.signingKey = false;
    await bot.start();
    await bot.registered();
    expect(log.entries.some((e) => e.level === 'warn' && e.msg.includes('MMOPS_ALLOW_UNSIGNED_SLASH=true'))).toBe(true);
    const ran = await fake.executeSlash('alice', 'acme:town-square', '/mmops user roles @dave system_user system_admin --yes');
    expect(ran.error).toBeUndefined();
    expect(rolesOf(fake, 'dave')).toBe('system_user system_admin');
    // still refused: acme's token carried into ops
    fake.store.requireUser('dave').roles = 'system_user';
    const acmeToken = await stolenToken(fake, 'alice', teamId(fake, 'acme'));
    const ops = teamId(fake, 'ops');
    fake.clearRequests();
    const res = await postSlash(bot, slashForm({ token: acmeToken, teamId: ops, channelId: channelIdFor('ops', 'town-square'), userId: userIdFor('alice'), text: 'user roles @dave system_user system_admin', triggerId: '' }));
    expect(res.status).toBe(401);
    expect(rolesOf(fake, 'dave')).toBe('system_user');
    expect(botCalls(fake).filter((c) => c !== 'GET /api/v4/commands')).toEqual([]);
  });
});
