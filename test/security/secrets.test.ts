/**
 * Secrets only ephemeral: a password generated over DM, and session or
 * audit details asked for by DM, reach the caller as an ephemeral post in the DM and never
 * as a stored post (database, search, exports, notifications) nor a log line. Without
 * `create_post_ephemeral` the bot refuses to generate a password over DM (and changes
 * nothing) and points to the slash command. Against the real bot and the sandbox.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { userIdFor } from '../../src/sandbox/seed.js';
import { startE2E, waitFor, type E2E } from '../e2e/support.js';

let e2e: E2E | undefined;
afterEach(async () => {
  await e2e?.close();
  e2e = undefined;
});

const BOT_ID = userIdFor('mmops');
const BOB = userIdFor('bob');
const passwordCalls = (e: E2E): string[] => e.fake.requests.filter((r) => r.method === 'PUT' && r.path.endsWith('/password')).map((r) => r.path);

describe('password generated over DM', () => {
  it('arrives as an ephemeral post in the DM; it is in no stored post and no log line', async () => {
    e2e = await startE2E();
    const { fake, log } = e2e;
    const before = fake.store.users.get(BOB)?.password;
    const dm = await fake.postAs('alice', '@mmops', 'user password @bob --generate --yes');
    const eph = await waitFor(() => fake.ephemeral.find((e) => e.userId === userIdFor('alice') && e.post.channel_id === dm.channel_id), 'the ephemeral answer');
    const pw = /```\n(\S+)\n```/.exec(eph.post.message)?.[1] ?? '';
    expect(pw).toHaveLength(20);
    expect(eph.post.user_id).toBe(BOT_ID);
    expect(eph.post.type).toBe('system_ephemeral');
    const stored = fake.store.users.get(BOB)?.password;
    expect(stored).toBe(pw);
    expect(stored).not.toBe(before);
    // nowhere stored, nowhere logged
    expect(fake.posts.filter((p) => p.message.includes(pw))).toEqual([]);
    expect(fake.posts.filter((p) => p.user_id === BOT_ID && p.channel_id === dm.channel_id)).toEqual([]);
    expect(log.dump()).not.toContain(pw);
  });

  it('session details asked by DM are ephemeral too', async () => {
    e2e = await startE2E();
    const { fake } = e2e;
    const dm = await fake.postAs('alice', '@mmops', 'user sessions @bob');
    const eph = await waitFor(() => fake.ephemeral.find((e) => e.post.channel_id === dm.channel_id), 'the ephemeral answer');
    expect(eph.post.message).toMatch(/Sessions of|no active sessions/);
    expect(fake.posts.filter((p) => p.user_id === BOT_ID && p.channel_id === dm.channel_id)).toEqual([]);
  });
});

describe('a bot account without create_post_ephemeral', () => {
  async function startWithoutEphemeral(): Promise<E2E> {
    const e = await startE2E({ start: false });
    const admin = e.fake.store.roles.get('system_admin');
    if (!admin) throw new Error('seed changed: no system_admin role');
    admin.permissions = admin.permissions.filter((p) => p !== 'create_post_ephemeral');
    await e.bot.start();
    await e.bot.registered();
    return e;
  }

  it('refuses to generate a password over DM, changes nothing, and points to the slash command', async () => {
    e2e = await startWithoutEphemeral();
    const { fake, log } = e2e;
    const before = fake.store.users.get(BOB)?.password;
    fake.clearRequests();
    const dm = await fake.postAs('alice', '@mmops', 'user password @bob --generate');
    const answer = await waitFor(() => fake.posts.find((p) => p.user_id === BOT_ID && p.channel_id === dm.channel_id), 'the refusal');
    expect(answer.message).toContain('`create_post_ephemeral`');
    expect(answer.message).toContain('/user password @\u200buser [--generate]');
    // the refusal, and no privileged call: the password is untouched, nothing was generated
    expect(fake.store.users.get(BOB)?.password).toBe(before);
    expect(passwordCalls(e2e)).toEqual([]);
    expect(fake.ephemeral).toEqual([]);
    expect(log.entries.some((e) => e.msg === 'sensitive command refused: no private way to answer here')).toBe(true);
  });

  it('refuses session details over DM and by mention the same way; the slash command still answers privately', async () => {
    e2e = await startWithoutEphemeral();
    const { fake } = e2e;
    fake.clearRequests();
    const dm = await fake.postAs('alice', '@mmops', 'user sessions @bob');
    const answer = await waitFor(() => fake.posts.find((p) => p.user_id === BOT_ID && p.channel_id === dm.channel_id), 'the refusal');
    expect(answer.message).toContain('/user sessions');
    const seen = fake.posts.length;
    await fake.postAs('alice', 'acme:town-square', '@mmops user sessions @bob');
    // the refusal (no secret in it) goes to the DM, with a pointer in the thread
    const refusal = await waitFor(() => fake.posts.slice(seen).find((p) => p.user_id === BOT_ID && p.channel_id === dm.channel_id), 'the refusal by DM');
    expect(refusal.message).toContain('`create_post_ephemeral`');
    // never read: no sessions were fetched for either
    expect(fake.requests.filter((r) => r.path.endsWith('/sessions'))).toEqual([]);

    const slash = await fake.executeSlash('alice', 'acme:town-square', '/user sessions @bob');
    expect(slash.error).toBeUndefined();
    expect(slash.posts).toEqual([]);
    expect(slash.ephemeral[0]?.message).toMatch(/Sessions of|no active sessions/);
  });
});

describe('user password with the target forgotten', () => {
  it('logs, stores and repeats nothing of what was typed, over DM and slash', async () => {
    e2e = await startE2E();
    const { fake, log } = e2e;
    fake.clearRequests();
    const dm = await fake.postAs('alice', '@mmops', 'user password hunter2secret');
    const answer = await waitFor(() => fake.posts.find((p) => p.user_id === BOT_ID && p.channel_id === dm.channel_id), 'the answer');
    expect(answer.message).toContain('Name the person as');
    const slash = await fake.executeSlash('alice', 'acme:town-square', '/user password hunter2secret --generate');
    expect(slash.error).toBeUndefined();
    expect(JSON.stringify(slash.ephemeral)).not.toContain('hunter2secret');
    expect(slash.ephemeral[0]?.message).toContain('Name the person as');

    expect(log.dump()).not.toContain('hunter2secret');
    expect(fake.posts.filter((p) => p.user_id === BOT_ID && p.message.includes('hunter2secret'))).toEqual([]);
    // nothing was looked up by that word, and no password was set
    expect(JSON.stringify(fake.requests.filter((r) => r.userId === BOT_ID))).not.toContain('hunter2secret');
    expect(passwordCalls(e2e)).toEqual([]);
  });
});
