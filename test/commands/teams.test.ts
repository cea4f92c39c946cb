/**
 * `/teams`, `/teams members`, `/teams member` through the real pipeline against the
 * fake server (demo seed plus 60 extra members of `acme`: 72 members in all).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import teams from '../../commands/teams.js';
import { teamIdFor, userIdFor } from '../../src/sandbox/seed.js';
import { createHarness, type Harness } from '../helpers/harness.js';
import { demoSeedWithUsers, expectSafeRendering, plain, requestsTo, tableRows } from './lib/fixtures.js';

let h: Harness;
beforeAll(async () => {
  h = await createHarness({ commands: [teams], seed: demoSeedWithUsers(60) });
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

describe('teams (list)', () => {
  it('lists your teams with your role in each: one teams call and one membership call per team', async () => {
    const { result, plain: t } = await run('dave', 'teams');
    expect(result.outcome).toBe('ok');
    expect(t).toContain('#### Your teams');
    expect(tableRows(t).map(cells)).toEqual([
      ['Acme Corp', 'acme', 'open', 'Member'],
      ['Operations', 'ops', 'invite only', 'Member'],
    ]);
    expect(requestsTo(h.fake.requests, 'GET', /\/users\/[^/]+\/teams$/)).toHaveLength(1);
    expect(requestsTo(h.fake.requests, 'POST', /\/teams\/[^/]+\/members\/ids$/)).toHaveLength(2);
  });

  it('shows someone else\u2019s teams to an admin, with team admin roles', async () => {
    const { plain: t } = await run('alice', 'teams @bob');
    expect(t).toContain('#### Teams of Bob Builder (@bob)');
    expect(tableRows(t).map(cells)).toContainEqual(['Operations', 'ops', 'invite only', 'Admin']);
  });

  it('refuses someone else\u2019s teams without sysconsole_read_user_management_users, reading nothing about them', async () => {
    const { result, plain: t } = await run('dave', 'teams @bob');
    expect(result.outcome).toBe('refused');
    expect(t).toContain('sysconsole_read_user_management_users');
    expect(requestsTo(h.fake.requests, 'GET', new RegExp(`/users/${userIdFor('bob')}/teams$`))).toHaveLength(0);
    expect(requestsTo(h.fake.requests, 'POST', /\/members\/ids$/)).toHaveLength(0);
  });

  it('lists candidates for ambiguous input and reports unknown people', async () => {
    const amb = await run('alice', 'teams Lee');
    expect(amb.plain).toContain('@ann');
    expect(amb.plain).toContain('@anna');
    const none = await run('alice', 'teams @nobody');
    expect(none.result.outcome).toBe('user_error');
  });
});

describe('teams members', () => {
  it('pages through a team: one members call and one profile batch per page, with the exact next command', async () => {
    const first = await run('dave', 'teams members acme');
    expect(first.result.outcome).toBe('ok');
    expect(first.plain).toContain('**Acme Corp** — 1–40');
    expect(tableRows(first.plain)).toHaveLength(40);
    expect(first.plain).toContain('Next page: `/teams members acme --page 2`');
    expect(requestsTo(h.fake.requests, 'GET', /\/teams\/[^/]+\/members$/)).toHaveLength(1);
    expect(requestsTo(h.fake.requests, 'POST', /\/users\/ids$/).length).toBeLessThanOrEqual(1);
    expect(requestsTo(h.fake.requests, 'GET', /^\/api\/v4\/users\/[^/]+$/)).toHaveLength(0);

    const second = await run('dave', 'teams members acme --page 2');
    expect(second.plain).toContain('**Acme Corp** — 41–72');
    expect(tableRows(second.plain)).toHaveLength(32);
    expect(second.plain).not.toContain('Next page');
    const beyond = await run('dave', 'teams members acme --page 3');
    expect(beyond.plain).toContain('no members on page 3');
  });

  it('defaults to the team the command was typed in, and writes the hint for a DM without a slash', async () => {
    const here = await run('dave', 'teams members');
    expect(here.plain).toContain('**Acme Corp**');
    const dm = await run('dave', 'teams members acme', { source: 'dm' });
    expect(dm.plain).toContain('Next page: `teams members acme --page 2`');
  });

  it('filters by team role', async () => {
    const admins = await run('dave', 'teams members ops --role admin');
    expect(tableRows(admins.plain).map(cells)).toEqual([['Bob Builder (@bob)', 'Admin', '']]);
    const guests = await run('dave', 'teams members acme --role guests');
    expect(tableRows(guests.plain).map(cells)).toEqual([['Erin Guest (@erin)', 'Guest', 'guest']]);
    const bad = await run('dave', 'teams members acme --role owner');
    expect(bad.result.outcome).toBe('user_error');
  });

  it('refuses a team the caller cannot view, without listing it', async () => {
    const { result, plain: t } = await run('erin', 'teams members ops');
    expect(result.outcome).toBe('refused');
    expect(t).toContain('view_team');
    expect(requestsTo(h.fake.requests, 'GET', new RegExp(`/teams/${teamIdFor('ops')}/members$`))).toHaveLength(0);
  });

  it('says when a team does not exist', async () => {
    const { result, plain: t } = await run('dave', 'teams members nosuch');
    expect(result.outcome).toBe('user_error');
    expect(t).toContain('No team named "nosuch"');
  });

  it('keeps hostile names inside their table rows', async () => {
    const { text } = await run('dave', 'teams members acme');
    expectSafeRendering(text);
    expect(text).toContain('Mallor');
  });
});

describe('teams member', () => {
  it('shows one membership', async () => {
    const { plain: t } = await run('dave', 'teams member ops @bob');
    expect(t).toContain('#### Bob Builder (@bob) in Operations');
    expect(t).toContain('**Team role:** Admin');
    expect(requestsTo(h.fake.requests, 'GET', new RegExp(`/teams/${teamIdFor('ops')}/members/${userIdFor('bob')}$`))).toHaveLength(1);
  });

  it('says when someone is not a member, and lists candidates for ambiguous names', async () => {
    const not = await run('dave', 'teams member ops @erin');
    expect(not.result.outcome).toBe('user_error');
    expect(not.plain).toContain('Erin Guest (@erin) is not a member of Operations');
    const amb = await run('dave', 'teams member ops Lee');
    expect(amb.plain).toContain('`/teams member ops @ann`');
  });

  it('refuses without view_team in that team', async () => {
    const { result, plain: t } = await run('erin', 'teams member ops @bob');
    expect(result.outcome).toBe('refused');
    // ops is invite-only and erin is not in it: named as she typed it, not "Operations"
    expect(t).toBe(':no_entry: You need `view_team` (in team **ops**) to do that.');
    // no member was looked up but erin's own membership, read once more to confirm the refusal
    // made from cached roles (src/core/dispatcher.ts): bob's was never read
    const memberReads = requestsTo(h.fake.requests, 'GET', /\/teams\/[^/]+\/members\/[^/]+$/);
    expect(memberReads.map((r) => r.path)).toEqual([`/api/v4/teams/${teamIdFor('ops')}/members/${userIdFor('erin')}`]);
  });
});
