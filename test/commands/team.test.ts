/**
 * `/team add|invite|role` through the real pipeline against the fake server. The demo
 * `ops` team has a scheme that takes `invite_user` away from its members; bob is its
 * team admin, erin a guest of `acme`, frank deactivated.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RecordedRequest } from '../../src/sandbox/fake-server.js';
import { teamIdFor, userIdFor } from '../../src/sandbox/seed.js';
import { createHarness, type Harness } from '../helpers/harness.js';

const READ_POSTS = [/\/users\/ids$/, /\/users\/usernames$/, /\/users\/search$/, /\/roles\/names$/, /\/members\/ids$/, /\/users\/status\/ids$/];
const mutations = (h: Harness): RecordedRequest[] =>
  h.fake.requests.filter((r) => r.method !== 'GET' && !READ_POSTS.some((p) => p.test(r.path)));
const to = (h: Harness, method: string, path: RegExp): RecordedRequest[] => h.fake.requests.filter((r) => r.method === method && path.test(r.path));
const member = (h: Harness, team: string, user: string) =>
  h.fake.store.teamMembers.find((m) => m.team_id === teamIdFor(team) && m.user_id === userIdFor(user) && m.delete_at === 0);

let h: Harness;
beforeEach(async () => {
  h = await createHarness();
});
afterEach(async () => {
  await h?.close();
});

describe('team add', () => {
  it('adds in one batch call and lists added, already members, deactivated and not found', async () => {
    const r = await h.run('alice', 'team add ops @bob @erin @frank @nobody erin');
    expect(r.result.outcome).toBe('ok');
    expect(r.result.reply.tone).toBe('warning');
    expect(r.text).toContain('Team Operations: 1 added');
    expect(r.text).toContain('Added\\: Erin Guest');
    expect(r.text).toContain('Already members\\: Bob Builder');
    expect(r.text).toContain('Deactivated, not added\\: Frank Former');
    expect(r.text).toContain('Not found: @\u200bnobody');
    const batches = to(h, 'POST', /\/members\/batch$/);
    expect(batches).toHaveLength(1);
    expect(batches[0]?.body).toEqual([{ team_id: teamIdFor('ops'), user_id: userIdFor('erin') }]);
    expect(member(h, 'ops', 'erin')).toBeDefined();
  });

  it('makes no call when everyone is already a member', async () => {
    const r = await h.run('alice', 'team add acme @bob @dave');
    expect(r.text).toContain('0 added');
    expect(r.text).toContain('Already members');
    expect(mutations(h)).toEqual([]);
  });

  it('follows add_user_to_team in that team, with no side effect when refused', async () => {
    // a plain member holds add_user_to_team in acme (default team_user role)…
    expect((await h.run('dave', 'team add acme @frank')).result.outcome).toBe('ok');
    // …but a guest does not
    const guest = await h.run('erin', 'team add acme @bob');
    expect(guest.result.outcome).toBe('refused');
    expect(guest.text).toContain('`add_user_to_team` (in team **Acme Corp**)');
    expect(to(h, 'POST', /\/members\/batch$/)).toEqual([]);
  });

  it('says so for an unknown team', async () => {
    const r = await h.run('alice', 'team add nosuchteam @bob');
    expect(r.result.outcome).toBe('user_error');
    expect(mutations(h)).toEqual([]);
  });

  it('reports per-person errors the server returns in the batch', async () => {
    h.fake.faults.failNext('POST', /\/members\/batch$/, 403);
    const r = await h.run('alice', 'team add ops @erin');
    expect(r.text).toContain('Mattermost refused to add people to Operations');
  });
});

describe('team invite', () => {
  it('checks addresses first, sends only valid ones in one call, and reports per address', async () => {
    const r = await h.run('alice', 'team invite acme ann@example.com not-an-address bo@b ann@example.com');
    expect(r.result.outcome).toBe('ok');
    expect(r.text).toContain('Team Acme Corp: 1 of 3 invited');
    expect(r.text).toMatch(/ann@\u200bexample\\\.com \| ✅ invitation sent/);
    expect(r.text).toMatch(/not\\-an\\-address \| ⚠️ not a valid email address/);
    const posts = to(h, 'POST', /\/invite\/email$/);
    expect(posts).toHaveLength(1);
    expect(posts[0]?.body).toEqual(['ann@example.com']);
    expect(posts[0]?.query).toMatchObject({ graceful: 'true' });
    expect(h.fake.store.invitations.map((i) => i.email)).toEqual(['ann@example.com']);
  });

  it('sends nothing when no address is valid', async () => {
    const r = await h.run('alice', 'team invite acme nope');
    expect(r.text).toContain('0 of 1 invited');
    expect(mutations(h)).toEqual([]);
  });

  it('uses the permission as the server checks it: the ops scheme takes invite_user from members', async () => {
    expect((await h.run('dave', 'team invite acme x@example.com')).result.outcome).toBe('ok');
    const refused = await h.run('dave', 'team invite ops x@example.com');
    expect(refused.result.outcome).toBe('refused');
    expect(refused.text).toContain('`invite_user` (in team **Operations**)');
    expect(to(h, 'POST', /\/invite\/email$/)).toHaveLength(1);
    // neither ops scheme role has it, so not even its team admin may; a system admin may
    expect((await h.run('bob', 'team invite ops y@example.com')).result.outcome).toBe('refused');
    expect((await h.run('alice', 'team invite ops y@example.com')).text).toContain('1 of 1 invited');
  });

  it('also needs add_user_to_team (the server checks both)', async () => {
    const role = h.fake.store.roles.get('team_user');
    if (role) role.permissions = role.permissions.filter((p) => p !== 'add_user_to_team');
    const r = await h.run('dave', 'team invite acme x@example.com');
    expect(r.result.outcome).toBe('refused');
    // refused inside the command (ctx.perms.require), in the dispatcher's wording
    expect(r.text).toBe(':no_entry: You need `add_user_to_team` (in team **Acme Corp**) to do that.');
    expect(mutations(h)).toEqual([]);
  });

  it('explains when email invitations are turned off', async () => {
    h.fake.store.config.enableEmailInvitations = false;
    const r = await h.run('alice', 'team invite acme x@example.com');
    expect(r.result.outcome).toBe('unavailable');
    expect(r.text).toContain('Email invitations are turned off');
  });

  it('shows the server\u2019s per-address errors (allowed domains)', async () => {
    const team = h.fake.store.teams.get(teamIdFor('acme'));
    if (team) team.allowed_domains = 'example.com';
    const r = await h.run('alice', 'team invite acme ok@example.com bad@elsewhere.org');
    expect(r.text).toContain('1 of 2 invited');
    expect(r.text).toContain('do not belong to an accepted domain');
  });
});

describe('team role', () => {
  it('promotes and demotes with before → after', async () => {
    const up = await h.run('bob', 'team role ops @grace team_admin --yes');
    expect(up.result.outcome).toBe('ok');
    expect(up.text).toContain('**Before:** Member');
    expect(up.text).toContain('**After:** Admin');
    // ops has a permission scheme: the role names are refused there, the scheme flags are not
    expect(to(h, 'PUT', /\/roles$/)).toEqual([]);
    expect(to(h, 'PUT', /\/schemeRoles$/).map((q) => q.body)).toEqual([{ scheme_admin: true, scheme_user: true, scheme_guest: false }]);
    expect(member(h, 'ops', 'grace')?.scheme_admin).toBe(true);
    const down = await h.run('bob', 'team role ops @grace member --yes');
    expect(down.text).toContain('**After:** Member');
    expect(member(h, 'ops', 'grace')?.scheme_admin).toBe(false);
  });

  it('works in a team without a scheme too, through the same route', async () => {
    const r = await h.run('alice', 'team role acme @dave team_admin --yes');
    expect(r.result.outcome).toBe('ok');
    expect(r.text).toContain('**After:** Admin');
    expect(to(h, 'PUT', /\/schemeRoles$/).map((q) => q.path)).toEqual([`/api/v4/teams/${teamIdFor('acme')}/members/${userIdFor('dave')}/schemeRoles`]);
    expect(member(h, 'acme', 'dave')?.scheme_admin).toBe(true);
  });

  it('needs manage_team_roles in that team', async () => {
    const r = await h.run('dave', 'team role ops @grace team_admin');
    expect(r.result.outcome).toBe('refused');
    expect(r.text).toContain('`manage_team_roles` (in team **Operations**)');
    // bob is team admin of ops, not of acme
    expect((await h.run('bob', 'team role acme @grace team_admin')).result.outcome).toBe('refused');
    expect(mutations(h)).toEqual([]);
  });

  it('explains guests, non-members, no-ops and unknown roles without calling the server', async () => {
    expect((await h.run('alice', 'team role acme @erin team_admin')).text).toContain('is a guest in Acme Corp');
    expect((await h.run('alice', 'team role acme @frank team_admin')).text).toContain('is not a member of Acme Corp');
    expect((await h.run('alice', 'team role ops @bob admin')).text).toContain('already an admin');
    expect((await h.run('alice', 'team role ops @bob owner')).text).toContain('not a team role');
    expect(mutations(h)).toEqual([]);
  });
});
