/**
 * `users export`, `teams members --csv`, `members --csv` and `users inactive` against the
 * sandbox: the file reaches the caller's DM with the bot, holds only people the caller may
 * see, never a runnable formula, and refusals make no privileged call.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from '../helpers/harness.js';
import { userIdFor } from '../../src/sandbox/seed.js';

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
  const bob = h.fake.store.users.get(userIdFor('bob'));
  if (!bob) throw new Error('seed changed: no bob');
  bob.nickname = '=HYPERLINK("http://evil.example","click")';
  bob.position = '@SUM(A1)';
});
afterAll(async () => {
  await h?.close();
});
beforeEach(() => h.fake.clearRequests());

/** The CSV files the bot posted to `username`'s DM with it since the last clear, parsed naively by line. */
function filesSentTo(username: string): Array<{ name: string; text: string; postChannel: string }> {
  const uid = userIdFor(username);
  const dm = [...h.fake.store.channels.values()].find((c) => c.type === 'D' && c.name.split('__').includes(uid) && c.name.split('__').includes(h.botUserId));
  if (!dm) return [];
  return h.fake.posts
    .filter((p) => p.channel_id === dm.id && p.user_id === h.botUserId && (p.file_ids?.length ?? 0) > 0)
    .flatMap((p) => (p.file_ids ?? []).map((id) => h.fake.store.files.get(id)))
    .filter((f) => f !== undefined)
    .map((f) => ({ name: f.name, text: new TextDecoder('utf-8', { ignoreBOM: true }).decode(f.data), postChannel: f.channel_id }));
}

const lines = (csv: string): string[] => csv.replace(/^\ufeff/, '').split('\r\n').filter(Boolean);

describe('users export', () => {
  it('sends an admin the whole directory as a dated CSV in their DM, with emails, and says so', async () => {
    const before = filesSentTo('alice').length;
    const { result, text } = await h.run('alice', 'users export');
    expect(result.outcome).toBe('ok');
    expect(text).toContain('direct messages with me');
    const files = filesSentTo('alice');
    expect(files.length).toBe(before + 1);
    const file = files[files.length - 1];
    if (!file) throw new Error('no file');
    expect(file.name).toMatch(/^users-\d{4}-\d{2}-\d{2}\.csv$/);
    expect(file.text.startsWith('\ufeffusername,name,nickname,email,roles,created,last activity,deactivated,sign-in method,bot\r\n')).toBe(true);
    const rows = lines(file.text);
    expect(rows.some((r) => r.startsWith('ivan,Ivan Nightly,'))).toBe(true);
    expect(rows.find((r) => r.startsWith('carol,'))).toContain('carol@');
    expect(rows.find((r) => r.startsWith('carol,'))).toContain('LDAP');
    // upload then one post with the file, both into the DM
    const upload = h.fake.requests.find((q) => q.method === 'POST' && q.path === '/api/v4/files');
    expect(upload?.status).toBe(201);
    expect(file.postChannel).toBe(upload?.query.channel_id);
  });

  it('never leaves a cell a spreadsheet would run', async () => {
    await h.run('alice', 'users export');
    const file = filesSentTo('alice').pop();
    const bob = lines(file?.text ?? '').find((r) => r.startsWith('bob,'));
    expect(bob).toContain(`"'=HYPERLINK(""http://evil.example"",""click"")"`);
    // no cell starts with a formula character
    for (const row of lines(file?.text ?? '')) {
      for (const cell of row.split(',')) expect(cell.replace(/^"/, '')).not.toMatch(/^[=+\-@\t\r]/);
    }
  });

  it('gives a restricted caller only the people they can see, without others\u2019 emails', async () => {
    const { result } = await h.run('erin', 'users export');
    expect(result.outcome).toBe('ok');
    const file = filesSentTo('erin').pop();
    const rows = lines(file?.text ?? '');
    expect(rows.length).toBeGreaterThan(1);
    expect(rows.some((r) => r.startsWith('ivan,'))).toBe(false);
    expect(rows.find((r) => r.startsWith('erin,'))).toContain('erin@');
    const other = rows.find((r) => r.startsWith('alice,'));
    expect(other).toBeDefined();
    expect(other).not.toContain('@example');
    expect(other).not.toContain('Email and password');
  });

  it('refuses a team the caller may not view, with no listing and no upload', async () => {
    const { result } = await h.run('erin', 'users export --team ops');
    expect(['refused', 'user_error']).toContain(result.outcome);
    expect(h.fake.requests.some((q) => q.path === '/api/v4/users' && q.method === 'GET')).toBe(false);
    expect(h.fake.requests.some((q) => q.path === '/api/v4/files')).toBe(false);
    expect(filesSentTo('erin').filter((f) => f.name.startsWith('ops-')).length).toBe(0);
  });

  it('exports a team\u2019s members with their team roles (teams members --csv) and a channel\u2019s (members --csv)', async () => {
    expect((await h.run('alice', 'teams members acme --csv')).result.outcome).toBe('ok');
    const team = filesSentTo('alice').pop();
    expect(team?.name).toMatch(/^acme-members-\d{4}-\d{2}-\d{2}\.csv$/);
    expect(lines(team?.text ?? '')[0]).toMatch(/,team roles$/);
    expect(lines(team?.text ?? '').some((r) => r.startsWith('ivan,'))).toBe(false); // ivan is only in ops
    expect((await h.run('alice', 'members --csv')).result.outcome).toBe('ok');
    const channel = filesSentTo('alice').pop();
    expect(channel?.name).toMatch(/^town-square-members-\d{4}-\d{2}-\d{2}\.csv$/);
    expect(lines(channel?.text ?? '')[0]).toMatch(/,channel roles$/);
  });
});

describe('files asked for in the DM with the bot', () => {
  it('are posted in that DM marked as the answer to the post, and the answer says they are above', async () => {
    const dm = await h.api.createDirectChannel(h.botUserId, userIdFor('alice'));
    const postId = 'askedpost00000000000000000';
    const { result, text } = await h.run('alice', 'users export --role guest', { source: 'dm', channelId: dm.id, teamId: '', postId });
    expect(result.outcome).toBe('ok');
    expect(text).toContain('Attached above: users\\-guest\\-');
    const filePost = [...h.fake.posts].reverse().find((p) => p.channel_id === dm.id && (p.file_ids?.length ?? 0) > 0);
    expect(filePost?.props.mmops_reply_to).toBe(postId);
    const rows = lines(filesSentTo('alice').pop()?.text ?? '');
    expect(rows.slice(1).every((r) => r.includes('system_guest'))).toBe(true);
  });
});

describe('users inactive', () => {
  it('uses the server\u2019s user report for a system admin', async () => {
    const { result, text } = await h.run('alice', 'users inactive --days 1');
    expect(result.outcome).toBe('ok');
    expect(text).toContain('user report');
    expect(h.fake.requests.some((q) => q.path === '/api/v4/reports/users' && q.status === 200)).toBe(true);
    // with the teams of each person shown (alice may read others' teams)
    expect(text).toMatch(/\| Teams \|/);
    expect(text).toMatch(/Ivan Nightly.*\| ops \|/);
  });

  it('falls back to the user list and statuses for anyone else, never calling the report', async () => {
    const { result, text } = await h.run('bob', 'users inactive --days 1');
    expect(result.outcome).toBe('ok');
    expect(text).toContain('statuses');
    expect(h.fake.requests.some((q) => q.path === '/api/v4/reports/users')).toBe(false);
    // alice was active a minute ago (seed): not listed
    expect(text).not.toContain('Alice Admin');
    // bob may not read other people's teams: no column, and no such call
    expect(text).not.toMatch(/\| Teams \|/);
    expect(h.fake.requests.some((q) => /^\/api\/v4\/users\/[a-z0-9]+\/teams$/.test(q.path) && q.path !== `/api/v4/users/${userIdFor('bob')}/teams`)).toBe(false);
  });
});
