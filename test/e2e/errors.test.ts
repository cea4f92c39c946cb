/**
 * End to end: errors by meaning and rate limits as the server means them, with the
 * real bot against the fake server (which answers the way the server's source says).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { channelIdFor, userIdFor } from '../../src/sandbox/seed.js';
import { startE2E, waitFor, type E2E } from './support.js';

const BOT_ID = userIdFor('mmops');
/** The id of the DM channel between two users (its name is the two user ids). */
const dmChannelId = (x: E2E, a: string, b: string): string | undefined => {
  const name = [userIdFor(a), userIdFor(b)].sort().join('__');
  return [...x.fake.store.channels.values()].find((c) => c.name === name)?.id;
};

let e2e: E2E | undefined;
afterEach(async () => {
  await e2e?.close();
  e2e = undefined;
});

/** The bot's answers in alice's DM, oldest first. */
const dmAnswers = (x: E2E, user = 'alice'): string[] =>
  x.fake.posts.filter((p) => p.channel_id === dmChannelId(x, user, 'mmops') && p.user_id === BOT_ID).map((p) => p.message);

describe('errors by meaning', () => {
  it('shows a 401 with another error id as a refusal and keeps working (not "bad token")', async () => {
    e2e = await startE2E();
    const { fake, log } = e2e;
    fake.faults.failNext('GET', /\/api\/v4\/users\/[a-z0-9]{26}$/, 401, 1, 'api.user.update_active.not_enable.app_error');
    await fake.postAs('alice', '@mmops', 'whois @bob');
    const [answer] = await waitFor(() => dmAnswers(e2e!).length > 0 && dmAnswers(e2e!), 'the refusal');
    expect(answer).toContain('Mattermost refused that');
    expect(answer).not.toContain('MM_BOT_TOKEN');
    expect(log.find('bot token rejected')).toBeUndefined();
    expect(log.dump()).not.toContain('rejected MM_BOT_TOKEN');
    // the next command works as usual
    await fake.postAs('alice', '@mmops', 'whois @bob');
    const answers = await waitFor(() => dmAnswers(e2e!).length > 1 && dmAnswers(e2e!), 'the second answer');
    expect(answers[1]).toMatch(/Bob/);
  });

  it('answers "I can\'t see that channel" when the bot may not read the channel\'s members', async () => {
    e2e = await startE2E();
    const { fake } = e2e;
    const helpdesk = channelIdFor('acme', 'helpdesk');
    // a bot account without admin rights leaves the public channel: it can still read the
    // channel (read_public_channel), not its members (read_channel)
    const botUser = fake.store.users.get(BOT_ID);
    if (!botUser) throw new Error('seed changed: no bot user');
    botUser.roles = 'system_user';
    fake.store.channelMembers = fake.store.channelMembers.filter((m) => !(m.channel_id === helpdesk && m.user_id === BOT_ID));
    fake.clearRequests();
    const result = await fake.executeSlash('alice', 'acme:helpdesk', '/members');
    expect(result.error).toBeUndefined();
    const text = [...result.ephemeral, ...result.posts].map((p) => p.message).join('\n');
    expect(text).toContain("I can't see that channel; add me to it or ask in a DM.");
    const denied = fake.requests.find((r) => r.path === `/api/v4/channels/${helpdesk}/members/${userIdFor('alice')}`);
    expect(denied?.status).toBe(403);
    // nothing was listed
    expect(fake.requests.some((r) => r.method === 'GET' && r.path === `/api/v4/channels/${helpdesk}/members`)).toBe(false);
  });
});

describe('rate limits', () => {
  it('waits the Retry-After of a 429 before posting the answer', async () => {
    e2e = await startE2E();
    const { fake } = e2e;
    fake.faults.rateLimitNext('POST', /^\/api\/v4\/posts$/, 2);
    await fake.postAs('alice', '@mmops', 'whois @bob');
    await waitFor(() => dmAnswers(e2e!).length > 0, 'the answer');
    const posts = fake.requests.filter((r) => r.method === 'POST' && r.path === '/api/v4/posts');
    expect(posts.map((r) => r.status)).toEqual([429, 201]);
    expect((posts[1]?.at ?? 0) - (posts[0]?.at ?? 0)).toBeGreaterThanOrEqual(2_000);
  });
});
