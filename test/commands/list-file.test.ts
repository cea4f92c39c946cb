/**
 * Lists from a file (commands/lib/list-file.ts, docs/batch.md): a batch command sent by DM
 * with a .csv or .txt attached takes its people from it, only after the file is checked to
 * be the caller's, on that post, in that channel (GET /files/{id}/info, as the server allows
 * the bot to read any file of a channel it is in: api4/file.go getFileInfo, getFile).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'csv-parse/sync';
import { MAX_LIST_BYTES, parseList } from '../../commands/lib/list-file.js';
import type { Invocation } from '../../src/core/command.js';
import type { RecordedRequest } from '../../src/sandbox/fake-server.js';
import { idFor } from '../../src/sandbox/ids.js';
import { channelIdFor, SEED_EPOCH, teamIdFor, userIdFor } from '../../src/sandbox/seed.js';
import { createHarness, type Harness } from '../helpers/harness.js';

let h: Harness;
beforeEach(async () => {
  h = await createHarness();
});
afterEach(async () => {
  await h?.close();
});

const enc = new TextEncoder();

/** A file uploaded by `username` into `channelId` and attached to post `postId`; returns its id. */
function stored(username: string, name: string, data: Uint8Array, where: { channelId: string; postId: string }, extra: { size?: number } = {}): string {
  const id = idFor(`file:list:${name}:${where.postId}:${username}`);
  h.fake.store.files.set(id, {
    id,
    user_id: userIdFor(username),
    post_id: where.postId,
    channel_id: where.channelId,
    create_at: SEED_EPOCH,
    update_at: SEED_EPOCH,
    delete_at: 0,
    name,
    extension: name.split('.').pop() ?? '',
    size: extra.size ?? data.byteLength,
    mime_type: name.endsWith('.csv') ? 'text/csv' : 'text/plain',
    width: 0,
    height: 0,
    has_preview_image: false,
    data,
  });
  return id;
}

/** The caller's DM with the bot, and a post id for the message that carries the file. */
async function dmOf(username: string): Promise<{ channelId: string; postId: string }> {
  const dm = await h.api.createDirectChannel(h.botUserId, userIdFor(username));
  return { channelId: dm.id, postId: idFor(`post:${username}:${Math.random()}`) };
}

const dmInv = (where: { channelId: string; postId: string }, fileIds: string[]): Partial<Invocation> => ({ source: 'dm', teamId: '', channelId: where.channelId, postId: where.postId, fileIds });

const downloads = (id: string): RecordedRequest[] => h.fake.requests.filter((r) => r.method === 'GET' && r.path === `/api/v4/files/${id}`);
const privileged = (): RecordedRequest[] =>
  h.fake.requests.filter((r) => r.userId === h.botUserId && ((r.method === 'POST' && /\/members(\/batch)?$/.test(r.path)) || r.method === 'DELETE' || (r.method === 'PUT' && r.path.endsWith('/active'))));

const plain = (s: string): string => s.replace(/\\(.)/g, '$1').replace(/\u200b/g, '');

describe('parseList', () => {
  it('reads usernames, @usernames, emails and ids; a header picks the column; blank lines and # comments skipped; bad rows by line', () => {
    const text = ['# new hires, December', 'name,email', 'Ann Lee,ann@example.com', '', 'Bob,not an address', '"Grace, H",grace@example.com', '# done'].join('\r\n');
    expect(parseList(text)).toEqual({ refs: ['ann@example.com', 'grace@example.com'], bad: [{ line: 5, why: '"not an address" is not a username, email or user id' }] });
    expect(parseList('ann\n@bob\n\n' + 'a'.repeat(26) + '\n=cmd|calc\n').refs).toEqual(['@ann', '@bob', 'a'.repeat(26)]);
    expect(parseList('ann\n@bob\n=cmd|calc\n').bad).toEqual([{ line: 3, why: '"=cmd|calc" is not a username, email or user id' }]);
    expect(parseList('username,team\nann,ops\nbob,ops\n').refs).toEqual(['@ann', '@bob']);
  });

  it('refuses more than 10,000 rows with a sentence, and a header without a person column', () => {
    const many = Array.from({ length: 10_001 }, (_, i) => `u${i}`).join('\n');
    expect(() => parseList(many)).toThrow('The file has 10,001 rows; the limit is 10,000');
    expect(() => parseList('name,nickname\nAnn,annie\n')).toThrow('no username, email or id column');
  });
});

describe('a list file attached to a DM', () => {
  it('team remove takes its rows from the file; the preview says so and names the skipped rows by line', async () => {
    const where = await dmOf('alice');
    const id = stored('alice', 'leavers.csv', enc.encode('username\nann\ngrace\nnot a name!\n# end\n'), where);
    const r = await h.run('alice', 'team remove ops', dmInv(where, [id]));
    const text = plain(r.text);
    expect(text).toContain('Nothing has been changed yet');
    expect(text).toContain('From leavers.csv: 2 rows.');
    expect(text).toContain('Skipped rows of leavers.csv (1): line 4: "not a name!" is not a username, email or user id.');
    expect(text).toContain('Will remove (2): Ann Lee (@ann), Grace Hopper (@grace)');
    expect(privileged()).toEqual([]);
    // confirmed by --yes: the file is read again and the rows changed; the result file has the skipped row too
    const done = await h.run('alice', 'team remove ops --yes', dmInv(where, [id]));
    expect(plain(done.text)).toContain('2 removed');
    expect(h.fake.store.isTeamMember(teamIdFor('ops'), userIdFor('ann'))).toBe(false);
    const dm = h.fake.posts.filter((p) => p.channel_id === where.channelId && (p.file_ids?.length ?? 0) > 0);
    const file = h.fake.store.files.get(dm[dm.length - 1]?.file_ids?.[0] ?? '');
    const rows = parse(new TextDecoder().decode(file?.data).replace(/^\ufeff/, '')) as string[][];
    expect(rows).toContainEqual(['line 4', '', '', 'skipped', '"not a name!" is not a username, email or user id']);
    expect(rows.filter((row) => row[3] === 'removed').map((row) => row[1])).toEqual(['ann', 'grace']);
  });

  it('refuses a file someone else uploaded, one on another post, and one in another channel: no download, no privileged call', async () => {
    const where = await dmOf('alice');
    const cases = [
      stored('bob', 'bobs.csv', enc.encode('ann\n'), where),
      stored('alice', 'other-post.csv', enc.encode('ann\n'), { channelId: where.channelId, postId: idFor('post:another') }),
      stored('alice', 'other-channel.csv', enc.encode('ann\n'), { channelId: channelIdFor('acme', 'town-square'), postId: where.postId }),
    ];
    for (const id of cases) {
      const r = await h.run('alice', 'team remove ops --yes', dmInv(where, [id]));
      expect(r.result.outcome).toBe('refused');
      expect(r.text).toContain('not one you sent with this message');
      expect(downloads(id)).toEqual([]);
    }
    // a file id that does not exist (forged) is refused too, with nothing read
    const forged = idFor('file:forged');
    const r = await h.run('alice', 'user deactivate --yes', dmInv(where, [forged]));
    expect(r.result.outcome).not.toBe('ok');
    expect(downloads(forged)).toEqual([]);
    expect(privileged()).toEqual([]);
    expect(h.fake.store.isTeamMember(teamIdFor('ops'), userIdFor('ann'))).toBe(true);
  });

  it('an oversized file, a binary one and a non-UTF-8 one get a sentence; oversized is never downloaded', async () => {
    const where = await dmOf('alice');
    const big = stored('alice', 'big.csv', enc.encode('ann\n'), where, { size: MAX_LIST_BYTES + 1 });
    const r1 = await h.run('alice', 'channel add ~acme/helpdesk', dmInv(where, [big]));
    expect(plain(r1.text)).toContain('the limit is 1.0 MB');
    expect(downloads(big)).toEqual([]);
    const latin1 = stored('alice', 'latin1.txt', new Uint8Array([0x61, 0x6e, 0x6e, 0xe9, 0x0a]), where);
    expect((await h.run('alice', 'team add ops', dmInv(where, [latin1]))).text).toContain('is not UTF\\-8 text');
    const png = stored('alice', 'photo.png', new Uint8Array([0x89, 0x50, 0x4e, 0x47]), where);
    expect((await h.run('alice', 'team add ops', dmInv(where, [png]))).text).toContain('is not a \\.csv or \\.txt list');
    const empty = stored('alice', 'empty.csv', enc.encode('# nothing\n\n'), where);
    expect((await h.run('alice', 'team add ops', dmInv(where, [empty]))).text).toContain('names nobody');
    expect(privileged()).toEqual([]);
  });

  it('a 1,000-row team add from a CSV costs at most ⌈1,000 / 256⌉ + 10 API calls', async () => {
    const ivan = h.fake.store.users.get(userIdFor('ivan'));
    if (!ivan) throw new Error('no ivan in the seed');
    const names = Array.from({ length: 1000 }, (_, i) => `hire${i}`);
    for (const n of names) h.fake.store.users.set(userIdFor(n), { ...ivan, id: userIdFor(n), username: n, email: `${n}@acme.example`, first_name: 'New', last_name: `Hire ${n}` });
    const where = await dmOf('alice');
    const id = stored('alice', 'hires.csv', enc.encode(['username,email', ...names.map((n) => `${n},${n}@acme.example`)].join('\r\n')), where);
    // the same command for one person first: the bot's caches warm up (as in test/e2e/batch.test.ts)
    await h.run('alice', 'team add ops @ivan --yes', dmInv(await dmOf('alice'), []));
    h.fake.clearRequests();
    const r = await h.run('alice', 'team add ops --yes', dmInv(where, [id]));
    expect(plain(r.text)).toContain('1000 added');
    const calls = h.fake.requests.filter((q) => q.userId === h.botUserId && q.path.startsWith('/api/v4/'));
    expect(calls.filter((q) => q.path.endsWith('/members/batch'))).toHaveLength(4);
    // the batch itself (rights, the file, the lookups, the batch calls) within the budget; the
    // result file's private delivery comes on top: the DM, the upload, the post (src/render/file-answer.ts)
    const delivery = calls.filter((q) => q.method === 'POST' && ['/api/v4/channels/direct', '/api/v4/files', '/api/v4/posts'].includes(q.path));
    expect(delivery.map((q) => q.path)).toEqual(['/api/v4/channels/direct', '/api/v4/files', '/api/v4/posts']);
    expect(calls.length - delivery.length).toBeLessThanOrEqual(Math.ceil(1000 / 256) + 10);
    for (const n of names.slice(0, 3)) expect(h.fake.store.isTeamMember(teamIdFor('ops'), userIdFor(n))).toBe(true);
  });
});
