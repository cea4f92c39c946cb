/**
 * `/members` through the real pipeline against the fake server (demo seed plus 60
 * extra members of acme's town-square: 72 members in all).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import members from '../../commands/members.js';
import { channelIdFor, teamIdFor, userIdFor } from '../../src/sandbox/seed.js';
import { createHarness, type Harness } from '../helpers/harness.js';
import { demoSeedWithUsers, expectSafeRendering, plain, requestsTo, tableRows } from './lib/fixtures.js';

let h: Harness;
beforeAll(async () => {
  h = await createHarness({ commands: [members], seed: demoSeedWithUsers(60) });
});
afterAll(async () => {
  await h?.close();
});
beforeEach(() => h.fake.clearRequests());

const run = async (user: string, text: string, inv = {}) => {
  const out = await h.run(user, text, inv);
  return { ...out, plain: plain(out.text) };
};
const cells = (row: string | undefined) => (row ?? '').split('|').slice(1, -1).map((c) => c.trim());
const incidents = channelIdFor('ops', 'incidents');
const inOps = { teamId: teamIdFor('ops'), channelId: channelIdFor('ops', 'town-square') };

describe('members (list)', () => {
  it('pages through the current channel: one members call and one profile batch per page', async () => {
    await run('dave', 'members ~off-topic'); // warm the caller's permission cache
    h.fake.clearRequests();
    const first = await run('dave', 'members');
    expect(first.result.outcome).toBe('ok');
    expect(first.plain).toContain('**Town Square** — members 1–40');
    expect(tableRows(first.plain)).toHaveLength(40);
    expect(first.plain).toContain('Next page: `/members --page 2`');
    expect(requestsTo(h.fake.requests, 'GET', /\/channels\/[^/]+\/members$/)).toHaveLength(1);
    expect(requestsTo(h.fake.requests, 'POST', /\/users\/ids$/).length).toBeLessThanOrEqual(1);
    expect(requestsTo(h.fake.requests, 'GET', /^\/api\/v4\/users\/[^/]+$/)).toHaveLength(0);
    const second = await run('dave', 'members --page 2');
    expect(tableRows(second.plain)).toHaveLength(32);
    expect(second.plain).not.toContain('Next page');
  });

  it('lists another channel with channel roles, naming it in the next-page hint', async () => {
    const { plain: t } = await run('alice', 'members ~ops:incidents');
    expect(t).toContain('**Incidents** — members 1–4');
    expect(tableRows(t).map(cells)).toContainEqual(['Grace Hopper (@grace)', 'Admin', '']);
    expect(tableRows(t).map(cells)).toContainEqual(['Bob Builder (@bob)', 'Member', '']);
    const fromOps = await run('bob', 'members ~incidents', inOps);
    expect(fromOps.result.outcome).toBe('ok');
    expect(tableRows(fromOps.plain)).toHaveLength(4);
    const here = await run('dave', 'members ~town-square');
    expect(here.plain).toContain('Next page: `/members --page 2`'); // the channel it was typed in
    const elsewhere = await run('dave', 'members ~acme:town-square', inOps);
    expect(elsewhere.plain).toContain('Next page: `/members ~acme:town-square --page 2`');
  });

  it('refuses a private channel the caller is not in, without listing it', async () => {
    const { result, plain: t } = await run('dave', 'members ~ops:incidents');
    expect(result.outcome).toBe('refused');
    expect(t).toContain('read_channel');
    // named only as dave typed it: the private channel's display name is not revealed
    expect(t).toBe(':no_entry: You need `read_channel` (in channel **~ops:incidents**) to do that.');
    expect(t).not.toContain('Incidents');
    expect(requestsTo(h.fake.requests, 'GET', new RegExp(`/channels/${incidents}/members$`))).toHaveLength(0);
  });

  it('names a private channel by its id when that is what was typed, and a public one by its display name', async () => {
    const byId = await run('dave', `members ~${incidents}`, inOps);
    expect(byId.result.outcome).toBe('refused');
    expect(byId.plain).toBe(`:no_entry: You need \`read_channel\` (in channel **~${incidents}**) to do that.`);
    // a member of the private channel may be told its name
    const bob = await run('bob', 'members ~ops:incidents');
    expect(bob.result.outcome).toBe('ok');
    expect(bob.plain).toContain('**Incidents**');
  });

  it('says when a channel does not exist, and explains bad input', async () => {
    const none = await run('dave', 'members ~nope');
    expect(none.result.outcome).toBe('user_error');
    expect(none.plain).toMatch(/No channel named "~nope"/);
    expect((await run('dave', 'members ~town-square ~off-topic')).plain).toContain('Name one channel at a time');
    expect((await run('dave', 'members ~town-square @bob --page 2')).plain).toContain('--page is for listing members');
  });

  it('keeps hostile names inside their table rows', async () => {
    const { text } = await run('dave', 'members');
    expectSafeRendering(text);
  });
});

describe('members (check people)', () => {
  it('checks several people with one batch call', async () => {
    const { result, plain: t } = await run('alice', 'members ~ops:incidents @grace @dave @bob');
    expect(result.outcome).toBe('ok');
    expect(tableRows(t).map(cells)).toEqual([
      ['Grace Hopper (@grace)', 'yes', 'Admin'],
      ['Dave Doe (@dave)', 'no', ''],
      ['Bob Builder (@bob)', 'yes', 'Member'],
    ]);
    expect(requestsTo(h.fake.requests, 'POST', new RegExp(`/channels/${incidents}/members/ids$`))).toHaveLength(1);
    expect(requestsTo(h.fake.requests, 'GET', /\/channels\/[^/]+\/members\/[^/]+$/)).toHaveLength(0);
  });

  it('checks one person with one GET', async () => {
    const { plain: t } = await run('alice', 'members ~ops:incidents @dave');
    expect(tableRows(t).map(cells)).toEqual([['Dave Doe (@dave)', 'no', '']]);
    expect(requestsTo(h.fake.requests, 'GET', /\/channels\/[^/]+\/members\/[^/]+$/)).toHaveLength(1);
  });

  it('reports unknown and ambiguous names while answering the rest', async () => {
    const { result, plain: t } = await run('dave', 'members ~town-square @bob @nobody Lee');
    expect(result.reply.tone).toBe('warning');
    expect(tableRows(t)).toHaveLength(1);
    expect(t).toContain('Not found: @nobody');
    expect(t).toContain('Lee matches several people: @ann, @anna');
  });

  it('refuses checks in a channel the caller cannot read', async () => {
    const { result, plain: t } = await run('dave', 'members ~ops:incidents @grace');
    expect(result.outcome).toBe('refused');
    expect(t).not.toContain('Incidents');
    // (the permission check itself reads dave's own membership; nothing about grace is read)
    expect(requestsTo(h.fake.requests, 'POST', new RegExp(`/channels/${incidents}/members/ids$`))).toHaveLength(0);
    expect(h.fake.requests.filter((r) => r.path.includes(channelIdFor('ops', 'incidents')) && r.path.endsWith(userIdFor('grace')))).toHaveLength(0);
  });
});
