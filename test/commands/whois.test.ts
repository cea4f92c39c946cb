/**
 * `/whois` (card, search, complete) through the real pipeline against the fake server.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import whois, { canSeePrivateFields } from '../../commands/whois.js';
import { userIdFor } from '../../src/sandbox/seed.js';
import { createTestContext, makeUser } from '../helpers/context.js';
import { createHarness, type Harness } from '../helpers/harness.js';
import { demoSeedWithUsers, expectSafeRendering, plain, requestsTo, tableRows } from './lib/fixtures.js';

let h: Harness;
beforeAll(async () => {
  h = await createHarness({ commands: [whois], seed: demoSeedWithUsers(40) });
});
afterAll(async () => {
  await h?.close();
});
beforeEach(() => h.fake.clearRequests());

const run = async (user: string, text: string) => {
  const out = await h.run(user, text);
  return { ...out, plain: plain(out.text) };
};

describe('whois card', () => {
  it('shows the full card to an admin: email, sign-in, MFA, roles, status, local time, picture, shared teams', async () => {
    const { result, plain: t } = await run('alice', 'whois @carol');
    expect(result.outcome).toBe('ok');
    expect(t).toContain('#### Carol Manager');
    expect(t).toContain('**Username:** @carol');
    expect(t).toContain('**Position:** User manager');
    expect(t).toContain('**Email:** carol@acme.example');
    expect(t).toContain('**System roles:** Member, User manager');
    expect(t).toContain('**Sign-in:** LDAP');
    expect(t).toContain('**MFA:** on');
    expect(t).toMatch(/\*\*Status:\*\* ⛔ Do not disturb \(manual\) until .*\(in 2 h\)/);
    expect(t).toMatch(/\*\*Last active:\*\* 10 min ago/);
    expect(t).toMatch(/\*\*Local time:\*\* \w{3} \d\d:\d\d \(Asia\/Tokyo\)/);
    expect(t).toContain(`[profile image](${h.fake.url}/api/v4/users/${userIdFor('carol')}/image)`);
    expect(t).toContain('**Teams in common:** Acme Corp, Operations');
  });

  it('hides email and sign-in method from a plain user looking at someone else', async () => {
    const { plain: t } = await run('dave', 'whois @carol');
    expect(t).not.toContain('carol@acme.example');
    expect(t).not.toContain('Sign-in');
    expect(t).toContain('**MFA:** on'); // the server does not sanitize mfa_active
  });

  it('shows your own email and sign-in method; the help desk (edit_other_users only) does not see others\u2019', async () => {
    const self = await run('dave', 'whois @dave');
    expect(self.plain).toContain('**Email:** dave@acme.example');
    expect(self.plain).toContain('**Sign-in:** SAML');
    expect(self.plain).toContain('**Teams:** Acme Corp, Operations');
    expect((await run('dave', 'whois')).plain).toContain('**Username:** @dave');
    const helpdesk = await run('heidi', 'whois @carol');
    expect(helpdesk.plain).not.toContain('carol@acme.example');
    expect(helpdesk.plain).not.toContain('LDAP');
  });

  it('lists only the teams shared with the caller', async () => {
    const { plain: t } = await run('erin', 'whois @bob');
    expect(t).toContain('**Teams in common:** Acme Corp');
    expect(t).not.toContain('Operations');
  });

  it('marks bots and deactivated accounts, and finds people by email, id and full name', async () => {
    expect((await run('alice', 'whois @otherbot')).plain).toContain('**Account:** Bot — Some other integration');
    const frank = await run('dave', 'whois @frank'); // dave reads dates in UTC
    expect(frank.plain).toContain('**Deactivated:** 2 Jan 2025');
    expect((await run('alice', 'whois ann@acme.example')).plain).toContain('#### Ann Lee');
    expect((await run('alice', `whois ${userIdFor('grace')}`)).plain).toContain('#### Grace Hopper');
    expect((await run('dave', 'whois "Anna Lee"')).plain).toContain('**Username:** @anna');
  });

  it('lists the candidates for ambiguous input, and says when no one matches', async () => {
    const amb = await run('dave', 'whois Lee');
    expect(amb.result.reply.tone).toBe('warning');
    expect(amb.plain).toContain('- @ann');
    expect(amb.plain).toContain('- @anna');
    expect(amb.plain).toContain('`/whois @ann`');
    const none = await run('dave', 'whois @nobody');
    expect(none.result.outcome).toBe('user_error');
    expect(none.plain).toContain('No one matches "@nobody"');
  });

  it('renders a hostile profile safely', async () => {
    const { text } = await run('alice', 'whois @mallory');
    expectSafeRendering(text);
    expect(text).not.toContain('**bold**');
    expect(text).toContain('\\*\\*bold\\*\\*');
    expect(text).toContain('\\`tick\\`');
    expect(text).toContain('\\[x\\]\\(http\\://evil\\)');
    const longest = Math.max(...text.split('\n').map((l) => Array.from(l).length));
    expect(longest).toBeLessThan(200); // the 270-character name is clipped
  });

  it('uses batch-free single calls: one status, one teams call per person', async () => {
    await run('dave', 'whois @bob');
    expect(requestsTo(h.fake.requests, 'GET', /\/users\/[^/]+\/status$/)).toHaveLength(1);
    expect(requestsTo(h.fake.requests, 'GET', /\/users\/[^/]+\/teams$/)).toHaveLength(2);
  });
});

describe('who may see private fields', () => {
  it('is the person, a system admin, or a user-management reader', async () => {
    const caller = makeUser({ username: 'x' });
    const other = makeUser({ username: 'y' });
    const ctx = (allow: string[]) => createTestContext({ caller, allow });
    expect(await canSeePrivateFields(ctx([]), caller)).toBe(true);
    expect(await canSeePrivateFields(ctx([]), other)).toBe(false);
    expect(await canSeePrivateFields(ctx(['edit_other_users']), other)).toBe(false);
    expect(await canSeePrivateFields(ctx(['manage_system']), other)).toBe(true);
    expect(await canSeePrivateFields(ctx(['sysconsole_read_user_management_users']), other)).toBe(true);
  });
});

describe('whois search', () => {
  it('finds people, optionally in a team', async () => {
    const { plain: t } = await run('dave', 'whois search lee');
    expect(tableRows(t).map((r) => r.split('|')[1]?.trim())).toEqual(['Ann Lee (@ann)', 'Anna Lee (@anna)']);
    const inOps = await run('dave', 'whois search gr --team ops');
    expect(tableRows(inOps.plain)).toHaveLength(1);
    expect(inOps.plain).toContain('Grace Hopper (@grace)');
    expect(requestsTo(h.fake.requests, 'POST', /\/users\/search$/).at(-1)?.body).toMatchObject({ term: 'gr', team_id: expect.any(String) });
  });

  it('includes deactivated people only with --inactive', async () => {
    expect((await run('alice', 'whois search frank')).plain).toContain('No one matches frank');
    const t = (await run('alice', 'whois search --inactive frank')).plain;
    expect(t).toContain('Frank Former (@frank)');
    expect(t).toContain('deactivated');
  });

  it('refuses a team or channel filter the caller cannot read, without searching', async () => {
    const team = await run('erin', 'whois search bob --team ops');
    expect(team.result.outcome).toBe('refused');
    expect(team.plain).toContain('view_team');
    const channel = await run('dave', 'whois search gr --channel ~ops:incidents');
    expect(channel.result.outcome).toBe('refused');
    expect(channel.plain).toContain('read_channel');
    expect(requestsTo(h.fake.requests, 'POST', /\/users\/search$/)).toHaveLength(0);
  });

  it('does not let a plain user find people by email address', async () => {
    expect((await run('dave', 'whois search carol@acme')).plain).toContain('No one matches');
    expect((await run('alice', 'whois search carol@acme')).plain).toContain('Carol Manager (@carol)');
  });

  it('caps the list with a hint to narrow the term', async () => {
    const t = (await run('dave', 'whois search person')).plain;
    expect(tableRows(t)).toHaveLength(25);
    expect(t).toContain('More than 25 people match');
  });

  it('explains an empty term', async () => {
    const t = await run('dave', 'whois search');
    expect(t.result.outcome).toBe('user_error');
    expect(t.plain).toContain('Give a name to search for');
  });

  it('keeps hostile results intact in the table', async () => {
    const { text } = await run('alice', 'whois search mal');
    expectSafeRendering(text);
    expect(tableRows(text)).toHaveLength(1);
  });
});

describe('whois complete', () => {
  it('suggests usernames by prefix, split by channel membership when a channel is given', async () => {
    const t = (await run('dave', 'whois complete an')).plain;
    expect(t).toContain('- Ann Lee (@ann)');
    expect(t).toContain('- Anna Lee (@anna)');
    const inChannel = (await run('alice', 'whois complete gr --channel ~ops:incidents')).plain;
    expect(inChannel).toContain('In ~incidents:');
    expect(inChannel).toContain('Grace Hopper (@grace)');
    const q = requestsTo(h.fake.requests, 'GET', /\/users\/autocomplete$/).at(-1)?.query;
    expect(q?.in_channel).toBeTruthy();
    expect(q?.in_team).toBeTruthy(); // in_channel without in_team is a server error
  });

  it('refuses a channel the caller cannot read', async () => {
    const r = await run('dave', 'whois complete gr --channel ~ops:incidents');
    expect(r.result.outcome).toBe('refused');
    expect(requestsTo(h.fake.requests, 'GET', /\/users\/autocomplete$/)).toHaveLength(0);
  });

  it('says when nothing matches', async () => {
    expect((await run('dave', 'whois complete qqq')).plain).toContain('No usernames start with qqq');
  });
});
