/**
 * Catch-up end to end: the real bot against the sandbox server, across reconnects that
 * do not resume, restarts, and shutdown.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Post } from '../../src/sandbox/fake-server.js';
import { tokenFor, userIdFor } from '../../src/sandbox/seed.js';
import { REPLY_TO_PROP } from '../../src/services/catch-up.js';
import { FUTURE_SKEW_MS } from '../../src/services/post-ledger.js';
import { createMemoryStateStore } from '../../src/state/state-store.js';
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

const repliesTo = (fake: E2E['fake'], postId: string): Post[] =>
  fake.posts.filter((p) => p.user_id === BOT_ID && p.props[REPLY_TO_PROP] === postId);

/** Makes a stored post look `ms` older (the bot was away that long). */
function age(fake: E2E['fake'], post: Post, ms: number): void {
  const stored = fake.posts.find((p) => p.id === post.id);
  if (!stored) throw new Error('no such post');
  stored.create_at -= ms;
  stored.update_at -= ms;
}

describe('catch-up over REST', () => {
  it('answers exactly once what was posted while the WebSocket was away and the hub lost its dead queue', async () => {
    e2e = await startE2E();
    const { fake, bot } = e2e;
    const before = bot.socket()?.state().connectionId;
    fake.setWebSocketAccepting(false);
    fake.restartWebSocketHub();
    await waitFor(() => bot.socket()?.state().connected === false, 'the socket to drop');
    const dms = [await fake.postAs('alice', '@mmops', 'status @bob'), await fake.postAs('bob', '@mmops', 'help')];
    const mention = await fake.postAs('alice', 'acme:town-square', '@mmops status @bob');
    fake.clearRequests();
    fake.setWebSocketAccepting(true);
    for (const p of dms) await waitFor(() => repliesTo(fake, p.id).length > 0, `the answer to ${p.message}`);
    await waitFor(() => answersInThread(fake, mention.id, BOT_ID).length > 0, 'the answer to the mention');
    await new Promise((r) => setTimeout(r, 300));
    for (const p of dms) expect(repliesTo(fake, p.id)).toHaveLength(1);
    expect(answersInThread(fake, mention.id, BOT_ID)).toHaveLength(1);
    expect(bot.socket()?.state()).toMatchObject({ resumed: false });
    expect(bot.socket()?.state().connectionId).not.toBe(before);
    // found through the bot's channels and their posts since the mark
    expect(fake.requests.some((r) => r.method === 'GET' && r.path === `/api/v4/users/${BOT_ID}/channels`)).toBe(true);
    expect(fake.requests.some((r) => r.method === 'GET' && r.path.startsWith('/api/v4/channels/') && r.path.includes('/posts'))).toBe(true);
    // the answers say they are late
    expect(repliesTo(fake, dms[0]?.id ?? '')[0]?.message).toMatch(/while I was reconnecting/);
  });

  it('does not read over REST after a resumed reconnect, and answers the replayed post once', async () => {
    e2e = await startE2E();
    const { fake, bot } = e2e;
    await waitFor(() => fake.requests.some((r) => r.path === `/api/v4/users/${BOT_ID}/channels`), 'the start-up catch-up');
    const id = bot.socket()?.state().connectionId;
    fake.dropSockets();
    const dm = await fake.postAs('alice', '@mmops', 'status @bob');
    fake.clearRequests();
    await waitFor(() => repliesTo(fake, dm.id).length > 0, 'the answer');
    await waitFor(() => bot.socket()?.state().connected, 'the socket');
    expect(bot.socket()?.state()).toMatchObject({ resumed: true, connectionId: id });
    expect(repliesTo(fake, dm.id)).toHaveLength(1);
    expect(repliesTo(fake, dm.id)[0]?.message).not.toMatch(/reconnecting/);
    expect(fake.requests.some((r) => r.path === `/api/v4/users/${BOT_ID}/channels`)).toBe(false);
  });

  it('after a restart: runs young missed commands, answers older ones "not run", ignores what predates the first start', async () => {
    // the bot's clock: an hour behind on its first start, so its floor (first start) is an hour ago
    let offset = -3_600_000;
    e2e = await startE2E({ start: false, deps: { now: () => Date.now() + offset } });
    const { fake } = e2e;
    const ancient = await fake.postAs('carol', '@mmops', 'status @bob');
    age(fake, ancient, 2 * 3_600_000);
    await e2e.bot.start();
    await e2e.bot.stop();
    offset = 0;
    const young = await fake.postAs('alice', '@mmops', 'status @bob');
    const old = await fake.postAs('bob', '@mmops', 'status @alice');
    age(fake, old, 10 * 60_000);
    await e2e.restart();
    await waitFor(() => repliesTo(fake, young.id).length > 0 && repliesTo(fake, old.id).length > 0, 'the catch-up answers');
    await new Promise((r) => setTimeout(r, 300));
    expect(repliesTo(fake, young.id)).toHaveLength(1);
    expect(repliesTo(fake, young.id)[0]?.message).toMatch(/while I was reconnecting/);
    expect(repliesTo(fake, old.id).map((p) => p.message)).toEqual([
      'Not run: you sent this 10 min ago while I was offline; send it again if you still need it.',
    ]);
    expect(repliesTo(fake, ancient.id)).toEqual([]);
  });

  it('pages back with before= when more than 1,000 posts arrived since the mark', { timeout: 60_000 }, async () => {
    e2e = await startE2E();
    const { fake, bot } = e2e;
    await bot.stop();
    for (let i = 0; i < 1_010; i++) await fake.postAs('bob', 'acme:town-square', `chatter ${i}`);
    // the sandbox's since= answer keeps the oldest 1,000 rows: these come after them
    const mention = await fake.postAs('alice', 'acme:town-square', '@mmops status @bob');
    fake.clearRequests();
    await e2e.restart();
    await waitFor(() => answersInThread(fake, mention.id, BOT_ID).length > 0, 'the answer to the mention', 30_000);
    expect(answersInThread(fake, mention.id, BOT_ID)).toHaveLength(1);
    expect(fake.requests.some((r) => r.path.includes('/posts') && 'before' in r.query)).toBe(true);
  });
});

describe('one age rule for every way a post arrives', () => {
  it('a resumed socket replaying an old destructive DM does not run it: the sender is told to send it again, and no privileged call is made', async () => {
    e2e = await startE2E({ env: { MMOPS_CATCHUP_RUN_WINDOW: '1s' } });
    const { fake, bot } = e2e;
    const GRACE = userIdFor('grace');
    await waitFor(() => fake.requests.some((r) => r.path === `/api/v4/users/${BOT_ID}/channels`), 'the start-up catch-up');
    const id = bot.socket()?.state().connectionId;
    // the sockets drop and upgrades are refused for a while: the connection stays resumable
    fake.setWebSocketAccepting(false);
    fake.dropSockets();
    await waitFor(() => bot.socket()?.state().connected === false, 'the socket to drop');
    const dm = await fake.postAs('alice', '@mmops', 'user deactivate @grace --yes');
    await new Promise((r) => setTimeout(r, 3_000));
    fake.clearRequests();
    fake.setWebSocketAccepting(true);
    await waitFor(() => repliesTo(fake, dm.id).length > 0, 'the answer to the replayed DM', 15_000);
    // it came back as a replay of the resumed connection, not over REST
    expect(bot.socket()?.state()).toMatchObject({ resumed: true, connectionId: id });
    expect(repliesTo(fake, dm.id).map((p) => p.message)).toEqual([expect.stringMatching(/^Not run: you sent this \d+ s ago .*send it again/)]);
    expect(fake.store.users.get(GRACE)?.delete_at).toBe(0);
    expect(fake.requests.filter((r) => r.userId === BOT_ID && r.method === 'PUT' && r.path === `/api/v4/users/${GRACE}/active`)).toEqual([]);
  }, 30_000);
});

describe('a post dated ahead of the bot\u2019s clock', () => {
  it('is not run (its age is unknown), its sender is told, no privileged call is made, and the catch-up mark stays at the clock', async () => {
    // a system admin may give POST /posts a create_at (server/channels/api4/post.go createPost keeps it)
    e2e = await startE2E();
    const { fake, bot } = e2e;
    const GRACE = userIdFor('grace');
    const ping = await fake.postAs('alice', '@mmops', 'help');
    await waitFor(() => repliesTo(fake, ping.id).length > 0, 'the answer to a first DM');
    fake.clearRequests();
    const res = await fetch(`${fake.url}/api/v4/posts`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${tokenFor('alice')}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ channel_id: ping.channel_id, message: 'user deactivate @grace --yes', create_at: Date.now() + 30 * 86_400_000 }),
    });
    expect(res.status).toBe(201);
    const ahead = (await res.json()) as Post;
    await waitFor(() => repliesTo(fake, ahead.id).length > 0, 'the answer to the post dated ahead');
    expect(repliesTo(fake, ahead.id).map((p) => p.message)).toEqual([expect.stringMatching(/^Not run: this message is dated \d+ h ahead of my clock.*send it again/)]);
    expect(fake.store.users.get(GRACE)?.delete_at).toBe(0);
    expect(fake.requests.filter((r) => r.userId === BOT_ID && r.method === 'PUT' && r.path === `/api/v4/users/${GRACE}/active`)).toEqual([]);
    await bot.stop();
    // what the next start reads its catch-up from: not the post's date
    const kept = createMemoryStateStore({ persistPath: join(e2e.config.stateDir, 'state.json') });
    expect(Number(await kept.get('catchup:mark'))).toBeLessThanOrEqual(Date.now() + FUTURE_SKEW_MS);
    await kept.close();
  }, 30_000);
});

describe('shutdown hands over', () => {
  it('answers "send it again" for what could not finish, and the next start answers DMs that arrived during shutdown', async () => {
    e2e = await startE2E({ deps: { shutdownGraceMs: 200 } });
    const { fake, bot } = e2e;
    // a command stuck on a slow server: it cannot finish within the grace period
    fake.faults.latencyMs = 1_500;
    const slow = await fake.postAs('alice', '@mmops', 'status @bob');
    await new Promise((r) => setTimeout(r, 400)); // the event is in; its API calls take 1.5 s each
    const stopping = bot.stop();
    await new Promise((r) => setTimeout(r, 50));
    const during = await fake.postAs('bob', '@mmops', 'help');
    await stopping;
    fake.faults.latencyMs = 0;
    await waitFor(() => repliesTo(fake, slow.id).length > 0, 'the resend line');
    expect(repliesTo(fake, slow.id).map((p) => p.message)).toEqual(['I am restarting and could not finish this; please send it again in a moment.']);
    expect(repliesTo(fake, during.id)).toEqual([]);
    await e2e.restart();
    await waitFor(() => repliesTo(fake, during.id).length > 0, 'the DM sent during shutdown');
    await new Promise((r) => setTimeout(r, 300));
    expect(repliesTo(fake, during.id)).toHaveLength(1);
    expect(repliesTo(fake, slow.id)).toHaveLength(1);
  });
});
