/**
 * The sandbox's file upload and posts with file_ids, as the server behaves
 * (server/channels/api4/file.go uploadFileStream / uploadFileSimple; FileInfoStore.AttachToPost):
 * upload_file in the channel, no empty body, MaxFileSize, and a post keeps only files its
 * author uploaded that are in no post yet — the rest are silently left out.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeMattermost, type FakeMattermost } from '../../src/sandbox/fake-server.js';
import { channelIdFor, tokenFor } from '../../src/sandbox/seed.js';

let mm: FakeMattermost;
beforeAll(async () => {
  mm = await startFakeMattermost();
});
afterAll(async () => {
  await mm.close();
});
beforeEach(() => mm.clearRequests());

async function upload(user: string, channelId: string, body: string, name = 'notes.csv'): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${mm.url}/api/v4/files?channel_id=${channelId}&filename=${encodeURIComponent(name)}`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${tokenFor(user)}`, 'Content-Type': 'text/csv' },
    body,
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

async function post(user: string, channelId: string, fileIds: string[]): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${mm.url}/api/v4/posts`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${tokenFor(user)}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ channel_id: channelId, message: 'here', file_ids: fileIds }),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

const idOf = (r: { json: Record<string, unknown> }): string => {
  const infos = r.json.file_infos;
  const first: unknown = Array.isArray(infos) ? infos[0] : undefined;
  return typeof first === 'object' && first !== null && 'id' in first && typeof first.id === 'string' ? first.id : '';
};

describe('POST /files', () => {
  const town = () => channelIdFor('acme', 'town-square');

  it('stores a raw-body upload for the uploader, in no post yet (201, file_infos)', async () => {
    const r = await upload('alice', town(), 'a,b\r\n1,2\r\n');
    expect(r.status).toBe(201);
    const f = mm.store.files.get(idOf(r));
    expect(f).toMatchObject({ name: 'notes.csv', size: 10, post_id: '', mime_type: 'text/csv' });
  });

  it('refuses a channel without upload_file (403), an empty body (400) and a file over MaxFileSize (413)', async () => {
    expect((await upload('dave', channelIdFor('ops', 'incidents'), 'x')).status).toBe(403);
    expect((await upload('alice', town(), '')).status).toBe(400);
    const max = mm.store.config.maxFileSize;
    mm.store.config.maxFileSize = 4;
    try {
      expect((await upload('alice', town(), 'too long')).status).toBe(413);
    } finally {
      mm.store.config.maxFileSize = max;
    }
  });

  it('answers 403 when attachments are off', async () => {
    mm.store.config.enableFileAttachments = false;
    try {
      expect((await upload('alice', town(), 'x')).status).toBe(403);
    } finally {
      mm.store.config.enableFileAttachments = true;
    }
  });
});

describe('posts with file_ids', () => {
  const town = () => channelIdFor('acme', 'town-square');

  it('attach the author\u2019s own unattached files, and silently leave out someone else\u2019s or one already posted', async () => {
    const mine = idOf(await upload('alice', town(), 'mine'));
    const theirs = idOf(await upload('bob', town(), 'theirs'));
    const first = await post('alice', town(), [mine, theirs]);
    expect(first.status).toBe(201);
    expect(first.json.file_ids).toEqual([mine]);
    expect(mm.store.files.get(theirs)?.post_id).toBe('');
    // already in a post: a second post cannot take it
    const again = await post('alice', town(), [mine]);
    expect(again.status).toBe(201);
    expect(again.json.file_ids ?? []).toEqual([]);
  });
});
