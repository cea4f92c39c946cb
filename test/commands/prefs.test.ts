/**
 * `/prefs`, `/prefs set`, `/prefs delete` through the real pipeline against the fake server.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import prefs from '../../commands/prefs.js';
import { userIdFor } from '../../src/sandbox/seed.js';
import { createHarness, type Harness } from '../helpers/harness.js';
import { expectSafeRendering, plain, requestsTo, tableRows } from './lib/fixtures.js';

let h: Harness;
beforeAll(async () => {
  h = await createHarness({ commands: [prefs] });
  // ann: 50 preferences for paging, one of them hostile
  for (let i = 0; i < 49; i++) {
    h.fake.store.preferences.push({ user_id: userIdFor('ann'), category: 'tutorial_step', name: `step_${String(i).padStart(2, '0')}`, value: String(i) });
  }
  h.fake.store.preferences.push({
    user_id: userIdFor('ann'),
    category: 'custom',
    name: 'note',
    value: `@channel | **loud** \`tick\` \u202Eevil ${'x'.repeat(500)}`,
  });
});
afterAll(async () => {
  await h?.close();
});
beforeEach(() => h.fake.clearRequests());

const run = async (user: string, text: string) => {
  const out = await h.run(user, text);
  return { ...out, plain: plain(out.text) };
};
const cells = (row: string | undefined) => (row ?? '').split('|').slice(1, -1).map((c) => c.trim());
const prefsOf = (u: string) => h.fake.store.preferences.filter((p) => p.user_id === userIdFor(u));
const reads = (u: string) => requestsTo(h.fake.requests, 'GET', new RegExp(`/users/${userIdFor(u)}/preferences`));

describe('prefs (list)', () => {
  it('lists your preferences, sorted, only to you', async () => {
    const { result, plain: t } = await run('alice', 'prefs');
    expect(result.outcome).toBe('ok');
    expect(result.reply.sensitive).toBe(true);
    expect(t).toContain('#### Your preferences');
    expect(tableRows(t).map(cells)).toEqual([
      ['display_settings', 'name_format', 'full_name'],
      ['display_settings', 'use_military_time', 'true'],
      ['theme', '', '{"type":"Onyx"}'],
    ]);
    expect(reads('alice')).toHaveLength(1);
  });

  it('lists one category', async () => {
    const { plain: t } = await run('alice', 'prefs display_settings');
    expect(tableRows(t)).toHaveLength(2);
    expect(reads('alice')[0]?.path).toMatch(/\/preferences\/display_settings$/);
  });

  it('pages, with the exact next command', async () => {
    const first = await run('ann', 'prefs');
    expect(tableRows(first.plain)).toHaveLength(40);
    expect(first.plain).toContain('1–40 of 50');
    expect(first.plain).toContain('Next page: `/prefs --page 2`');
    const second = await run('ann', 'prefs --page 2');
    expect(tableRows(second.plain)).toHaveLength(10);
    expect(second.plain).not.toContain('Next page');
    const other = await run('heidi', 'prefs @ann');
    expect(other.plain).toContain('Next page: `/prefs @ann --page 2`');
    const cat = await run('ann', 'prefs tutorial_step');
    expect(cat.plain).toContain('Next page: `/prefs tutorial_step --page 2`');
  });

  it('renders hostile values safely and clipped', async () => {
    const { text } = await run('ann', 'prefs custom');
    expectSafeRendering(text);
    expect(tableRows(text)).toHaveLength(1);
    expect(text).not.toContain('x'.repeat(100));
  });

  it('shows someone else\u2019s only with edit_other_users (and manage_system for an admin), reading nothing otherwise', async () => {
    const refused = await run('dave', 'prefs @alice');
    expect(refused.result.outcome).toBe('refused');
    expect(refused.plain).toContain('edit_other_users');
    expect(reads('alice')).toHaveLength(0);
    const helpdesk = await run('heidi', 'prefs @bob');
    expect(helpdesk.plain).toContain('#### Preferences of Bob Builder (@bob)');
    expect(tableRows(helpdesk.plain)).toHaveLength(2);
    const admin = await run('heidi', 'prefs @alice');
    expect(admin.result.outcome).toBe('refused');
    expect(admin.plain).toContain('manage_system');
    expect(reads('alice')).toHaveLength(0);
  });

  it('lists candidates for an ambiguous person (to those who may look), and says when no one matches', async () => {
    expect((await run('dave', 'prefs --user Lee')).result.outcome).toBe('refused');
    const amb = await run('heidi', 'prefs --user Lee');
    expect(amb.plain).toContain('@ann');
    expect(amb.plain).toContain('@anna');
    expect((await run('heidi', 'prefs @nobody')).result.outcome).toBe('user_error');
  });
});

describe('prefs set / delete', () => {
  it('stores one of your preferences (values may have spaces)', async () => {
    const { result, plain: t } = await run('dave', 'prefs set display_settings greeting hello there');
    expect(result.outcome).toBe('ok');
    expect(t).toContain('Saved for you');
    const put = requestsTo(h.fake.requests, 'PUT', /\/preferences$/);
    expect(put).toHaveLength(1);
    expect(put[0]?.body).toEqual([{ user_id: userIdFor('dave'), category: 'display_settings', name: 'greeting', value: 'hello there' }]);
    expect(prefsOf('dave')).toContainEqual(expect.objectContaining({ name: 'greeting', value: 'hello there' }));
  });

  it('stores someone else\u2019s with edit_other_users, and refuses without it before any write', async () => {
    const refused = await run('dave', 'prefs set display_settings x y --user @bob');
    expect(refused.result.outcome).toBe('refused');
    expect(requestsTo(h.fake.requests, 'PUT', /\/preferences$/)).toHaveLength(0);
    const ok = await run('heidi', 'prefs set display_settings x y --user @bob');
    expect(ok.plain).toContain('Saved for Bob Builder (@bob)');
    expect(prefsOf('bob')).toContainEqual(expect.objectContaining({ name: 'x', value: 'y' }));
  });

  it('rejects flagged_post and malformed keys without writing', async () => {
    expect((await run('dave', 'prefs set flagged_post abc true')).plain).toContain('Flag posts in Mattermost itself');
    expect((await run('dave', `prefs set ${'c'.repeat(33)} n v`)).plain).toContain('1 to 32 characters');
    expect((await run('dave', 'prefs set cat "bad name" v')).plain).toContain('may only hold');
    expect((await run('dave', 'prefs set cat name')).plain).toContain('Give a value');
    expect(requestsTo(h.fake.requests, 'PUT', /\/preferences$/)).toHaveLength(0);
  });

  it('deletes one preference, saying what it was, and nothing when it is not set', async () => {
    const { plain: t } = await run('dave', 'prefs delete display_settings collapsed_reply_threads');
    expect(t).toContain('Deleted `display_settings collapsed_reply_threads` for you (it was `on`)');
    const del = requestsTo(h.fake.requests, 'POST', /\/preferences\/delete$/);
    expect(del).toHaveLength(1);
    expect(prefsOf('dave').some((p) => p.name === 'collapsed_reply_threads')).toBe(false);
    h.fake.clearRequests();
    const again = await run('dave', 'prefs delete display_settings collapsed_reply_threads');
    expect(again.plain).toContain('Nothing to delete');
    expect(requestsTo(h.fake.requests, 'POST', /\/preferences\/delete$/)).toHaveLength(0);
  });

  it('refuses deleting someone else\u2019s without edit_other_users', async () => {
    const { result } = await run('dave', 'prefs delete display_settings use_military_time --user @bob');
    expect(result.outcome).toBe('refused');
    expect(requestsTo(h.fake.requests, 'POST', /\/preferences\/delete$/)).toHaveLength(0);
    expect(prefsOf('bob').some((p) => p.name === 'use_military_time')).toBe(true);
  });
});
