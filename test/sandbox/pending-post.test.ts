import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeMattermost, type FakeMattermost } from '../../src/sandbox/fake-server.js';
import { channelIdFor, SANDBOX_BOT_TOKEN } from '../../src/sandbox/seed.js';

// server/channels/app/post.go deduplicateCreatePost: a repeated pending_post_id within
// 30 s returns the first post instead of creating another.
describe('POST /posts with pending_post_id', () => {
  let fake: FakeMattermost;
  beforeAll(async () => {
    fake = await startFakeMattermost({ seed: 'demo' });
  });
  afterAll(async () => {
    await fake.close();
  });
  const create = async (body: Record<string, unknown>) => {
    const res = await fetch(`${fake.url}/api/v4/posts`, {
      method: 'POST',
      headers: { authorization: `Bearer ${SANDBOX_BOT_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, post: (await res.json()) as { id: string; pending_post_id: string } };
  };

  it('creates once and answers a repeat with the first post; without one, every call creates', async () => {
    const channel_id = channelIdFor('acme', 'town-square');
    const before = fake.posts.length;
    const a = await create({ channel_id, message: 'hello', pending_post_id: 'bot:post1:0' });
    const b = await create({ channel_id, message: 'hello', pending_post_id: 'bot:post1:0' });
    expect(a.status).toBe(201);
    expect(b.status).toBe(201);
    expect(b.post.id).toBe(a.post.id);
    expect(b.post.pending_post_id).toBe('bot:post1:0');
    expect(fake.posts.length - before).toBe(1);
    await create({ channel_id, message: 'hello' });
    await create({ channel_id, message: 'hello' });
    expect(fake.posts.length - before).toBe(3);
  });
});
