/**
 * DM `avatar [@user]` with an attached image, through the real pipeline against the
 * fake server: the attachment is read with the files API and checked before upload.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sniffImageType } from '../../commands/avatar.js';
import type { Invocation } from '../../src/core/command.js';
import type { RecordedRequest } from '../../src/sandbox/fake-server.js';
import { idFor } from '../../src/sandbox/ids.js';
import { channelIdFor, DEMO_FILE_IDS, SEED_EPOCH, TINY_PNG, userIdFor } from '../../src/sandbox/seed.js';
import { createHarness, type Harness } from '../helpers/harness.js';

const uploads = (h: Harness): RecordedRequest[] => h.fake.requests.filter((r) => r.method === 'POST' && /\/users\/[^/]+\/image$/.test(r.path));

let h: Harness;
beforeEach(async () => {
  h = await createHarness();
});
afterEach(async () => {
  await h?.close();
});

/** Stores a file uploaded by `username` and returns its id. */
function attach(username: string, name: string, mime: string, data: Uint8Array, extra: { size?: number; width?: number; height?: number } = {}): string {
  const id = idFor(`file:test:${name}`);
  h.fake.store.files.set(id, {
    id,
    user_id: userIdFor(username),
    post_id: '',
    channel_id: channelIdFor('acme', 'town-square'),
    create_at: SEED_EPOCH,
    update_at: SEED_EPOCH,
    delete_at: 0,
    name,
    extension: name.split('.').pop() ?? '',
    size: extra.size ?? data.byteLength,
    mime_type: mime,
    width: extra.width ?? 1,
    height: extra.height ?? 1,
    has_preview_image: false,
    data,
  });
  return id;
}

const dm = (fileIds: string[]): Partial<Invocation> => ({ source: 'dm', teamId: '', fileIds });

describe('avatar', () => {
  it('sets your own picture from the attached image', async () => {
    const r = await h.run('alice', 'avatar', dm([DEMO_FILE_IDS.avatarPng]));
    expect(r.result.outcome).toBe('ok');
    expect(r.text).toContain('Your profile picture is updated');
    expect(uploads(h).map((u) => u.path)).toEqual([`/api/v4/users/${userIdFor('alice')}/image`]);
    expect(h.fake.store.images.get(userIdFor('alice'))?.mime).toBe('image/png');
    expect(h.fake.requests.some((q) => q.method === 'GET' && q.path.endsWith(`/files/${DEMO_FILE_IDS.avatarPng}/info`))).toBe(true);
  });

  it('sets someone else\u2019s picture with edit_other_users, and refuses without it (no upload)', async () => {
    const heidiPng = attach('heidi', 'me.png', 'image/png', TINY_PNG);
    const ok = await h.run('heidi', 'avatar @dave', dm([heidiPng]));
    expect(ok.text).toContain('The profile picture of Dave Doe');
    expect(h.fake.store.images.has(userIdFor('dave'))).toBe(true);

    const davePng = attach('dave', 'x.png', 'image/png', TINY_PNG);
    const refused = await h.run('dave', 'avatar @grace', dm([davePng]));
    expect(refused.result.outcome).toBe('refused');
    expect(refused.text).toContain('`edit_other_users`');
    expect(uploads(h)).toHaveLength(1);
  });

  it('explains how to do it when there is no attachment or it came as a slash command', async () => {
    const none = await h.run('dave', 'avatar', dm([]));
    expect(none.text).toContain('Send me a direct message');
    const slash = await h.run('dave', 'avatar', { fileIds: [DEMO_FILE_IDS.avatarPng] });
    expect(slash.text).toContain('Send me a direct message');
    expect(uploads(h)).toEqual([]);
  });

  it('rejects a file that is not an image, with the reason', async () => {
    const r = await h.run('bob', 'avatar', dm([DEMO_FILE_IDS.notesTxt]));
    expect(r.result.outcome).toBe('user_error');
    expect(r.text).toContain('notes\\.txt is not an image I can use \\(text/plain\\)');
    expect(uploads(h)).toEqual([]);
  });

  it('rejects a file whose bytes are no image, whatever its name and type say', async () => {
    const fake = attach('dave', 'cat.png', 'image/png', new TextEncoder().encode('#!/bin/sh\necho hi\n'));
    const r = await h.run('dave', 'avatar', dm([fake]));
    expect(r.text).toContain('does not contain a PNG, JPEG, GIF, BMP or WebP image');
    expect(uploads(h)).toEqual([]);
  });

  it('rejects oversize files (bytes and pixels) before downloading them', async () => {
    const big = attach('dave', 'big.png', 'image/png', TINY_PNG, { size: 12 * 1024 * 1024 });
    const r = await h.run('dave', 'avatar', dm([big]));
    expect(r.text).toContain('The image is 12\\.0 MB; the limit is 5\\.0 MB');
    const huge = attach('dave', 'huge.png', 'image/png', TINY_PNG, { width: 20_000, height: 20_000 });
    expect((await h.run('dave', 'avatar', dm([huge]))).text).toContain('20000 × 20000 pixels');
    expect(h.fake.requests.some((q) => q.method === 'GET' && /\/files\/[^/]+$/.test(q.path))).toBe(false);
    expect(uploads(h)).toEqual([]);
  });

  it('refuses someone else\u2019s upload and more than one file', async () => {
    const notMine = await h.run('dave', 'avatar', dm([DEMO_FILE_IDS.avatarPng]));
    expect(notMine.result.outcome).toBe('refused');
    expect(notMine.text).toContain('not one you sent');
    const two = await h.run('alice', 'avatar', dm([DEMO_FILE_IDS.avatarPng, DEMO_FILE_IDS.notesTxt]));
    expect(two.text).toContain('Attach exactly one image');
    expect(uploads(h)).toEqual([]);
  });

  it('turns the server\u2019s refusal into a sentence (no image storage → 501)', async () => {
    h.fake.store.config.fileDriver = false;
    const r = await h.run('alice', 'avatar', dm([DEMO_FILE_IDS.avatarPng]));
    expect(r.result.outcome).toBe('unavailable');
    expect(r.text).toContain('Image storage is not configured');
  });

  it('refuses to change the bot\u2019s own picture', async () => {
    const r = await h.run('alice', 'avatar @mmops', dm([DEMO_FILE_IDS.avatarPng]));
    expect(r.text).toContain('bot account itself');
    expect(uploads(h)).toEqual([]);
  });
});

describe('sniffImageType', () => {
  it('knows the formats by their magic bytes', () => {
    expect(sniffImageType(TINY_PNG)).toBe('image/png');
    expect(sniffImageType(Uint8Array.from([0xff, 0xd8, 0xff, 0xe0]))).toBe('image/jpeg');
    expect(sniffImageType(new TextEncoder().encode('GIF89a'))).toBe('image/gif');
    expect(sniffImageType(new TextEncoder().encode('RIFF\0\0\0\0WEBP'))).toBe('image/webp');
    expect(sniffImageType(new TextEncoder().encode('hello'))).toBeUndefined();
    expect(sniffImageType(new Uint8Array())).toBeUndefined();
  });
});
