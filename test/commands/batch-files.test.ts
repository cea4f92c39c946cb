/**
 * Batch commands and files (docs/batch.md): the result CSV of a run, delivered privately in
 * the caller's DM with the bot (src/render/file-answer.ts), every row with its outcome, and
 * no cell a spreadsheet would run (src/render/csv.ts).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'csv-parse/sync';
import { userIdFor } from '../../src/sandbox/seed.js';
import { createHarness, type Harness } from '../helpers/harness.js';

let h: Harness;
beforeEach(async () => {
  h = await createHarness();
});
afterEach(async () => {
  await h?.close();
});

/** The files the bot posted to `username`'s DM with it, with their text. */
function filesSentTo(username: string): Array<{ name: string; text: string }> {
  const uid = userIdFor(username);
  const dm = [...h.fake.store.channels.values()].find((c) => c.type === 'D' && c.name.split('__').includes(uid) && c.name.split('__').includes(h.botUserId));
  if (!dm) return [];
  return h.fake.posts
    .filter((p) => p.channel_id === dm.id && p.user_id === h.botUserId)
    .flatMap((p) => (p.file_ids ?? []).map((id) => h.fake.store.files.get(id)))
    .filter((f) => f !== undefined)
    .map((f) => ({ name: f.name, text: new TextDecoder('utf-8', { ignoreBOM: true }).decode(f.data) }));
}

const records = (text: string): string[][] => parse(text.replace(/^\ufeff/, ''), { relax_column_count: false }) as string[][];

describe('the result file of a batch', () => {
  it('team remove: every row with its outcome and reason, in the caller\u2019s DM, named after the team, the command and the day', async () => {
    const r = await h.run('alice', 'team remove ops @ann @erin @mmops =HYPERLINK("http://evil.example") --yes');
    expect(r.text).toContain('direct messages with me');
    const files = filesSentTo('alice');
    expect(files).toHaveLength(1);
    const file = files[0];
    if (!file) throw new Error('no file');
    expect(file.name).toMatch(/^ops-team-remove-\d{4}-\d{2}-\d{2}\.csv$/);
    expect(file.name).toContain(new Date().toISOString().slice(0, 10));
    const rows = records(file.text);
    expect(rows[0]).toEqual(['input', 'user', 'user id', 'outcome', 'reason']);
    const byUser = new Map(rows.slice(1).map((row) => [row[1], row]));
    expect(byUser.get('ann')?.slice(1, 4)).toEqual(['ann', userIdFor('ann'), 'removed']);
    expect(byUser.get('erin')?.[3]).toBe('already so');
    expect(byUser.get('erin')?.[4]).toBe('not a member');
    expect(byUser.get('mmops')?.[3]).toBe('not allowed');
    expect(byUser.get('mmops')?.[4]).toContain('the bot account itself');
    // what was typed, guarded: a leading ' keeps =HYPERLINK and @name as text
    const hostile = rows.find((row) => row[0]?.includes('HYPERLINK'));
    expect(hostile?.[0]?.startsWith("'=")).toBe(true);
    expect(hostile?.[3]).toBe('not found');
    expect(byUser.get('ann')?.[0]).toBe("'@ann");
    expect(rows.slice(1).every((row) => !/^[=+\-@\t\r]/.test(row[0] ?? ''))).toBe(true);
    expect(rows).toHaveLength(5);
    // uploaded into the DM, not where the command was typed
    const upload = h.fake.requests.find((q) => q.method === 'POST' && q.path === '/api/v4/files');
    const dm = [...h.fake.store.channels.values()].find((c) => c.type === 'D' && c.name.split('__').includes(userIdFor('alice')) && c.name.split('__').includes(h.botUserId));
    expect(upload?.query.channel_id).toBe(dm?.id);
  });

  it('user deactivate of several: one record per person, done or already so', async () => {
    await h.run('alice', 'user deactivate @dave @frank --yes');
    const file = filesSentTo('alice').find((f) => /^user-deactivate-\d{4}-\d{2}-\d{2}\.csv$/.test(f.name));
    if (!file) throw new Error('no result file');
    const rows = records(file.text);
    expect(rows.map((row) => row[1])).toEqual(['user', 'dave', 'frank']);
    expect(rows[1]?.[3]).toBe('deactivated');
    expect(rows[2]?.slice(3)).toEqual(['already so', 'deactivated']);
    expect(h.fake.store.users.get(userIdFor('dave'))?.delete_at).toBeGreaterThan(0);
  });

  it('team add: one record per name (added, already so, not found), and none when nothing was to be added', async () => {
    await h.run('alice', 'team add ops @erin @frank @ann @nobody-here --yes');
    const file = filesSentTo('alice').find((f) => f.name.startsWith('ops-team-add-'));
    if (!file) throw new Error('no result file');
    const rows = records(file.text).slice(1);
    expect(rows.map((row) => [row[0], row[3]])).toEqual([
      ["'@erin", 'added'],
      ["'@frank", 'not allowed'],
      ["'@ann", 'already so'],
      ["'@nobody-here", 'not found'],
    ]);
    const before = filesSentTo('alice').length;
    await h.run('alice', 'team add ops @ann');
    expect(filesSentTo('alice').length).toBe(before);
  });
});
