/**
 * Stale and over-granted rights, against the real bot (createBot,
 * as `npm start`) and the sandbox server.
 *
 * The server tells the bot nothing when someone else's roles change: a system-role change
 * publishes only `user_role_updated`, to that user (server/channels/app/user.go
 * UpdateUserRolesWithUser; docs/mattermost-notes.md §6 item 24). So every privileged
 * subcommand reads the caller's and the target's current roles from the server before
 * acting, whatever the cache holds. And a role grants exactly what it stores
 * (server/channels/app/authorization.go RolesGrantPermission; docs/mattermost-notes.md §5.9): holding
 * `sysconsole_write_user_management_users` does not grant `edit_other_users`.
 *
 * Every refusal is checked twice: the answer, and that the privileged API call never
 * happened (the sandbox records every REST request).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Invocation } from '../../src/core/command.js';
import type { FakeMattermost, RecordedRequest } from '../../src/sandbox/fake-server.js';
import { DEMO_FILE_IDS, SeedBuilder, teamIdFor, tokenFor, userIdFor } from '../../src/sandbox/seed.js';
import { renderReply } from '../../src/render/markdown.js';
import { startE2E, type E2E } from '../e2e/support.js';

let e2e: E2E | undefined;
afterEach(async () => {
  await e2e?.close();
  e2e = undefined;
});

const BOT_ID = userIdFor('mmops');

/** Types `text` to the bot in a DM as `who`, through the real bot's pipeline. */
async function run(e: E2E, who: string, text: string, extra: Partial<Invocation> = {}): Promise<{ outcome: string; text: string }> {
  const dm = e.fake.store.directChannel(userIdFor(who), BOT_ID)?.id ?? 'x'.repeat(26);
  const r = await e.bot.dispatch({ source: 'dm', text, userId: userIdFor(who), channelId: dm, teamId: '', rootId: '', receivedAt: Date.now(), ...extra });
  return { outcome: r.outcome, text: renderReply(r.reply) };
}

/** A REST call as alice (system admin), the way an admin changes roles in the System Console. */
async function asAlice(fake: FakeMattermost, method: string, path: string, body: unknown): Promise<number> {
  const res = await fetch(`${fake.url}/api/v4${path}`, {
    method,
    headers: { Authorization: `Bearer ${tokenFor('alice')}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  await res.arrayBuffer();
  return res.status;
}

/** Gives `username` a custom system role storing exactly `permissions` (no event: as if it had always been so). */
function giveRole(fake: FakeMattermost, username: string, role: string, permissions: string[]): void {
  const r = new SeedBuilder().role(role, permissions, { display_name: role });
  fake.store.roles.set(r.name, r);
  const u = fake.store.users.get(userIdFor(username));
  if (!u) throw new Error(`no ${username}`);
  u.roles = `system_user ${role}`;
}

/** Requests the bot made (with its own token) matching `method` and `path`. */
const botCalls = (fake: FakeMattermost, method: string, path: RegExp): RecordedRequest[] =>
  fake.requests.filter((r) => r.userId === BOT_ID && r.method === method && path.test(r.path));

describe('stale rights after a role change: read fresh before acting', () => {
  it("a demoted admin's sensitive reads (audits, another's preferences) are refused at once, not after the cache expires", async () => {
    e2e = await startE2E();
    const { fake } = e2e;
    const dave = userIdFor('dave');
    const bob = userIdFor('bob');
    expect(await asAlice(fake, 'PUT', `/users/${dave}/roles`, { roles: 'system_user system_admin' })).toBe(200);

    // as an admin dave may; this also fills every cache with "dave is an admin"
    const audits = await run(e2e, 'dave', 'user audits @bob');
    expect(audits.outcome).toBe('ok');
    expect(audits.text).toContain('Account events of Bob Builder');
    expect((await run(e2e, 'dave', 'prefs @bob')).outcome).toBe('ok');
    expect(botCalls(fake, 'GET', new RegExp(`^/api/v4/users/${bob}/audits$`))).toHaveLength(1);

    // demoted: the bot is told nothing (user_role_updated goes to dave only)
    expect(await asAlice(fake, 'PUT', `/users/${dave}/roles`, { roles: 'system_user' })).toBe(200);
    const demotedAt = Date.now();
    fake.clearRequests();

    const results = [
      await run(e2e, 'dave', 'user audits @bob'),
      await run(e2e, 'dave', 'prefs @bob'),
      await run(e2e, 'dave', 'prefs display_settings @bob'),
      await run(e2e, 'dave', 'prefs set display_settings use_military_time true --user @bob'),
      await run(e2e, 'dave', 'status set away @bob'),
    ];
    const elapsed = Date.now() - demotedAt;
    for (const r of results) {
      expect(r.outcome).toBe('refused');
      expect(r.text).toContain('`edit_other_users`');
    }
    expect(elapsed).toBeLessThan(1_000);

    // no privileged call: neither bob's audits nor his preferences were read or written, his status untouched
    expect(botCalls(fake, 'GET', new RegExp(`^/api/v4/users/${bob}/(audits|preferences)`))).toEqual([]);
    expect(botCalls(fake, 'PUT', new RegExp(`^/api/v4/users/${bob}/(preferences|status)$`))).toEqual([]);
    // what made the difference: dave's account was read again after the demotion
    expect(botCalls(fake, 'GET', new RegExp(`^/api/v4/users/${dave}$`)).length).toBeGreaterThan(0);
  }, 30_000);

  it('a user manager cannot reset the MFA (or revoke the sessions) of someone promoted to system admin 0.1 s earlier', async () => {
    e2e = await startE2E();
    const { fake } = e2e;
    const carol = userIdFor('carol');
    // a user manager as the System Console saves one: the ancillary permissions stored with it
    giveRole(fake, 'dave', 'user_manager_console', ['sysconsole_write_user_management_users', 'edit_other_users', 'demote_to_guest', 'promote_guest']);

    // dave looks at carol first: every cache now holds "carol is no admin"
    expect((await run(e2e, 'dave', 'user audits @carol')).outcome).toBe('ok');
    expect(fake.store.users.get(carol)?.mfa_active).toBe(true);

    expect(await asAlice(fake, 'PUT', `/users/${carol}/roles`, { roles: 'system_user system_admin' })).toBe(200);
    await new Promise((r) => setTimeout(r, 100));
    fake.clearRequests();

    const mfa = await run(e2e, 'dave', 'user mfa @carol off');
    expect(mfa.outcome).toBe('refused');
    expect(mfa.text).toContain('`manage_system`');
    const revoke = await run(e2e, 'dave', 'user sessions @carol revoke-all --yes');
    expect(revoke.outcome).toBe('refused');
    expect(revoke.text).toContain('`manage_system`');

    expect(fake.store.users.get(carol)?.mfa_active).toBe(true);
    expect(botCalls(fake, 'PUT', new RegExp(`^/api/v4/users/${carol}/mfa$`))).toEqual([]);
    expect(botCalls(fake, 'POST', new RegExp(`^/api/v4/users/${carol}/sessions/revoke`))).toEqual([]);
    expect(botCalls(fake, 'GET', new RegExp(`^/api/v4/users/${carol}/sessions$`))).toEqual([]);
    // carol was read fresh: that is how the bot knew
    expect(botCalls(fake, 'GET', new RegExp(`^/api/v4/users/${carol}$`)).length).toBeGreaterThan(0);
  }, 30_000);

  it('a demoted team admin may no longer change team roles (team roles are read fresh too)', async () => {
    e2e = await startE2E();
    const { fake } = e2e;
    const dave = userIdFor('dave');
    const ann = userIdFor('ann');
    const acme = teamIdFor('acme');
    expect(await asAlice(fake, 'PUT', `/teams/${acme}/members/${dave}/roles`, { roles: 'team_user team_admin' })).toBe(200);
    const first = await run(e2e, 'dave', 'team role acme @ann team_user');
    expect(first.outcome).not.toBe('refused');

    expect(await asAlice(fake, 'PUT', `/teams/${acme}/members/${dave}/roles`, { roles: 'team_user' })).toBe(200);
    fake.clearRequests();
    const r = await run(e2e, 'dave', 'team role acme @ann team_admin');
    expect(r.outcome).toBe('refused');
    expect(r.text).toContain('`manage_team_roles`');
    expect(botCalls(fake, 'PUT', new RegExp(`^/api/v4/teams/${acme}/members/${ann}/(roles|schemeRoles)$`))).toEqual([]);
    expect(fake.store.teamMember(acme, ann)?.scheme_admin).toBe(false);
  }, 30_000);
});

describe('refusals from cached roles are confirmed with the current ones', () => {
  // `health` is a cheap read (not `fresh`): its grant may come from the cache; a refusal may not
  const healthCalls = (fake: FakeMattermost): RecordedRequest[] => botCalls(fake, 'GET', /^\/api\/v4\/(system\/ping|cluster\/status|saml\/certificate\/status)$/);

  it('someone promoted a moment ago is answered, not refused for the life of the cache', async () => {
    e2e = await startE2E();
    const { fake } = e2e;
    const dave = userIdFor('dave');
    // refused, and the cache now holds "dave is a plain user"
    const before = await run(e2e, 'dave', 'health');
    expect(before.outcome).toBe('refused');
    expect(before.text).toContain('`manage_system`');

    expect(await asAlice(fake, 'PUT', `/users/${dave}/roles`, { roles: 'system_user system_admin' })).toBe(200);
    fake.clearRequests();
    const after = await run(e2e, 'dave', 'health');
    expect(after.outcome).toBe('ok');
    expect(after.text).not.toContain('`manage_system`');
    // how: dave's account was read again once the cache said no, and the report was made
    expect(botCalls(fake, 'GET', new RegExp(`^/api/v4/users/${dave}$`))).toHaveLength(1);
    expect(healthCalls(fake).length).toBeGreaterThan(0);
    expect(e2e.log.entries.some((l) => l.msg === "refusal from cached roles withdrawn: the caller's current roles allow it")).toBe(true);

    // granted from the now fresh cache: no further read of dave
    fake.clearRequests();
    expect((await run(e2e, 'dave', 'health')).outcome).toBe('ok');
    expect(botCalls(fake, 'GET', new RegExp(`^/api/v4/users/${dave}$`))).toEqual([]);
  }, 30_000);

  it('someone still unprivileged is refused after the one extra read, and nothing privileged is called', async () => {
    e2e = await startE2E();
    const { fake } = e2e;
    const bob = userIdFor('bob');
    expect((await run(e2e, 'bob', 'health')).outcome).toBe('refused');
    fake.clearRequests();
    const again = await run(e2e, 'bob', 'health');
    expect(again.outcome).toBe('refused');
    expect(again.text).toContain('`manage_system`');
    // one confirming read of bob (his roles were cached), and no health probe at all
    expect(botCalls(fake, 'GET', new RegExp(`^/api/v4/users/${bob}$`))).toHaveLength(1);
    expect(healthCalls(fake)).toEqual([]);
    expect(e2e.log.entries.some((l) => l.msg === "refusal from cached roles withdrawn: the caller's current roles allow it")).toBe(false);
  }, 30_000);
});

describe('over-granted permissions: a role grants what it stores, nothing derived', () => {
  it('sysconsole_write_user_management_users without edit_other_users: sessions revoke, audits, MFA, preferences, avatar of others all refused', async () => {
    e2e = await startE2E();
    const { fake } = e2e;
    const bob = userIdFor('bob');
    const carol = userIdFor('carol');
    // a role patched through the API with the sysconsole permission only
    giveRole(fake, 'dave', 'user_writer', ['sysconsole_write_user_management_users']);
    fake.clearRequests();

    const cases: Array<[string, Partial<Invocation>?]> = [
      ['user sessions @bob revoke-all --yes'],
      ['user sessions @bob'],
      ['user audits @bob'],
      ['user mfa @carol off'],
      ['prefs @bob'],
      ['prefs set display_settings use_military_time true --user @bob'],
      ['prefs delete display_settings use_military_time --user @bob'],
      ['avatar @bob', { fileIds: [DEMO_FILE_IDS.avatarPng] }],
    ];
    for (const [text, extra] of cases) {
      const r = await run(e2e, 'dave', text, extra);
      expect(r.outcome, text).toBe('refused');
      expect(r.text, text).toContain('`edit_other_users`');
    }

    // nothing privileged happened
    expect(botCalls(fake, 'POST', new RegExp(`^/api/v4/users/${bob}/sessions/revoke`))).toEqual([]);
    expect(botCalls(fake, 'GET', new RegExp(`^/api/v4/users/${bob}/(sessions|audits|preferences)`))).toEqual([]);
    expect(botCalls(fake, 'PUT', new RegExp(`^/api/v4/users/${carol}/mfa$`))).toEqual([]);
    expect(botCalls(fake, 'PUT', new RegExp(`^/api/v4/users/${bob}/preferences$`))).toEqual([]);
    expect(botCalls(fake, 'POST', new RegExp(`^/api/v4/users/${bob}/(preferences/delete|image)$`))).toEqual([]);
    expect(botCalls(fake, 'GET', /^\/api\/v4\/files\//)).toEqual([]);
    expect(fake.store.users.get(carol)?.mfa_active).toBe(true);

    // the role is in force for what it does store: deactivating a user is offered (confirmation first)
    const deactivate = await run(e2e, 'dave', 'user deactivate @bob');
    expect(deactivate.outcome).toBe('asked');
    expect(deactivate.text).toContain('This will deactivate Bob Builder');
  }, 30_000);
});
