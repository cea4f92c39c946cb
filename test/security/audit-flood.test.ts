/**
 * The audit channel cannot be flooded: 300 refusals by one user make
 * one full audit post and one "N more refusals" line, each quoting at most 60 characters
 * of what they typed; the log still has one line per refusal; nothing is changed.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { channelIdFor, userIdFor } from '../../src/sandbox/seed.js';
import { startE2E, type E2E } from '../e2e/support.js';

let e2e: E2E | undefined;
afterEach(async () => {
  await e2e?.close();
  e2e = undefined;
});

const BOT_ID = userIdFor('mmops');

describe('audit-channel flood', () => {
  it('300 refusals → one audit post, then one summary line; 300 log lines; no privileged call', async () => {
    e2e = await startE2E({ env: { MMOPS_AUDIT_CHANNEL: 'acme:off-topic' } });
    const { fake, bot, log } = e2e;
    const auditChannel = channelIdFor('acme', 'off-topic');
    const auditPosts = () => fake.posts.filter((p) => p.user_id === BOT_ID && p.channel_id === auditChannel);
    const daveBefore = fake.store.users.get(userIdFor('dave'))?.roles;
    fake.clearRequests();

    const hostile = `@channel **pwned** [x](http://evil) ${'A'.repeat(400)}`;
    const dm = fake.store.directChannel(userIdFor('dave'), BOT_ID)?.id ?? 'x'.repeat(26);
    const outcomes = new Set<string>();
    for (let i = 0; i < 300; i++) {
      const text = i === 0 ? `user roles "${hostile}" system_user system_admin` : 'user roles @dave system_user system_admin';
      const r = await bot.dispatch({ source: 'dm', text, userId: userIdFor('dave'), channelId: dm, teamId: '', rootId: '', receivedAt: Date.now() });
      outcomes.add(r.outcome);
    }
    expect([...outcomes]).toEqual(['refused']);
    await new Promise((r) => setTimeout(r, 100));
    expect(auditPosts()).toHaveLength(1);
    const first = auditPosts()[0]?.message ?? '';
    expect(first).toContain('refused');
    expect(first).not.toContain('A'.repeat(60));
    expect(first).not.toMatch(/(^|[^\\])@channel/);
    expect(first).not.toContain('[x](http');

    await bot.stop(); // shutdown posts the pending summary
    const posts = auditPosts();
    expect(posts).toHaveLength(2);
    expect(posts[1]?.message).toContain('299 more refusals by @\u200bdave in the last minute');
    expect(log.entries.filter((e) => e.msg === 'audit' && (e.fields.audit as { outcome?: string }).outcome === 'refused')).toHaveLength(300);

    // no privileged call: nobody's roles were touched, only reads and the two audit posts
    expect(fake.store.users.get(userIdFor('dave'))?.roles).toBe(daveBefore);
    const writes = fake.requests.filter((r) => r.method !== 'GET' && !(r.method === 'POST' && ['/api/v4/users/ids', '/api/v4/users/usernames', '/api/v4/roles/names', '/api/v4/users/search'].includes(r.path)));
    expect(writes.map((r) => `${r.method} ${r.path}`)).toEqual(['POST /api/v4/posts', 'POST /api/v4/posts']);
  }, 60_000);
});
