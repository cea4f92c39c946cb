/**
 * `/user` through the real pipeline against the fake Mattermost server (demo seed:
 * alice admin, bob, carol user manager + MFA, dave plain, heidi help desk with
 * edit_other_users, frank deactivated, the mmops bot). Every refusal is checked for
 * "no side effect" in the server's request log.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generatePassword, meetsPasswordPolicy } from '../../commands/lib/admin-users.js';
import type { RecordedRequest } from '../../src/sandbox/fake-server.js';
import { demoSeed, SeedBuilder, userIdFor } from '../../src/sandbox/seed.js';
import { createHarness, type Harness } from '../helpers/harness.js';
import { createMemoryLogger, type MemoryLogger } from '../helpers/logger.js';

/** POSTs that only read (batch lookups). */
const READ_POSTS = [/\/users\/ids$/, /\/users\/usernames$/, /\/users\/search$/, /\/roles\/names$/, /\/members\/ids$/, /\/users\/status\/ids$/];
const mutations = (h: Harness): RecordedRequest[] =>
  h.fake.requests.filter((r) => r.method !== 'GET' && !READ_POSTS.some((p) => p.test(r.path)));
const to = (h: Harness, method: string, path: RegExp): RecordedRequest[] => h.fake.requests.filter((r) => r.method === method && path.test(r.path));

const stored = (h: Harness, username: string) => {
  const u = h.fake.store.users.get(userIdFor(username));
  if (!u) throw new Error(`no seeded user ${username}`);
  return u;
};
const ZW = '\u200b';

let h: Harness;
let log: MemoryLogger;
beforeEach(async () => {
  log = createMemoryLogger();
  h = await createHarness({ logger: log });
});
afterEach(async () => {
  await h?.close();
});

describe('user deactivate / activate', () => {
  it('asks for confirmation first, changing nothing, then deactivates with --yes', async () => {
    const ask = await h.run('alice', 'user deactivate @bob');
    expect(ask.result.outcome).toBe('user_error');
    expect(ask.result.reply.tone).toBe('warning');
    expect(ask.text).toContain('This will deactivate Bob Builder');
    expect(ask.text).toContain('Nothing has been changed yet');
    expect(ask.text).toContain(`\`/user deactivate @${ZW}bob --yes\``);
    expect(mutations(h)).toEqual([]);
    expect(stored(h, 'bob').delete_at).toBe(0);
    // the audit trail says nothing was done (not "succeeded")
    expect(h.audits.filter((a) => a.ref === ask.result.ref)).toMatchObject([{ command: 'user deactivate', outcome: 'failed', detail: 'needs_confirmation' }]);

    const done = await h.run('alice', 'user deactivate @bob --yes');
    expect(done.result.outcome).toBe('ok');
    expect(done.text).toContain('Deactivated Bob Builder');
    const puts = to(h, 'PUT', new RegExp(`/users/${userIdFor('bob')}/active$`));
    expect(puts).toHaveLength(1);
    expect(puts[0]?.body).toEqual({ active: false });
    expect(stored(h, 'bob').delete_at).toBeGreaterThan(0);
    expect(h.audits.some((a) => a.command === 'user deactivate' && a.target === '@bob' && a.outcome === 'succeeded')).toBe(true);
  });

  it('reactivates a deactivated account, and does nothing for an active one', async () => {
    const done = await h.run('alice', 'user activate @frank --yes');
    expect(done.text).toContain('Reactivated Frank Former');
    expect(stored(h, 'frank').delete_at).toBe(0);
    h.fake.clearRequests();
    const again = await h.run('alice', 'user activate @frank');
    expect(again.text).toContain('already active');
    expect(mutations(h)).toEqual([]);
  });

  it('lets anyone deactivate themself (after confirming)', async () => {
    const ask = await h.run('dave', 'user deactivate @dave');
    expect(ask.text).toContain('your own account');
    expect(mutations(h)).toEqual([]);
    const done = await h.run('dave', 'user deactivate @dave --yes');
    expect(done.result.outcome).toBe('ok');
    expect(stored(h, 'dave').delete_at).toBeGreaterThan(0);
  });

  it('refuses others without sysconsole_write_user_management_users (edit_other_users is not enough), with no side effect', async () => {
    for (const who of ['dave', 'heidi']) {
      const r = await h.run(who, 'user deactivate @grace --yes');
      expect(r.result.outcome).toBe('refused');
      expect(r.text).toContain('`sysconsole_write_user_management_users`');
    }
    expect(mutations(h)).toEqual([]);
    expect(stored(h, 'grace').delete_at).toBe(0);
    expect(h.audits.filter((a) => a.outcome === 'refused' && a.command === 'user deactivate')).toHaveLength(2);
  });

  it('needs manage_system to deactivate a system admin', async () => {
    // a user manager with write access to users, but no manage_system
    const role = h.fake.store.roles.get('helpdesk');
    role?.permissions.push('sysconsole_write_user_management_users');
    const r = await h.run('heidi', 'user deactivate @alice --yes');
    expect(r.result.outcome).toBe('refused');
    expect(r.text).toContain('`manage_system`');
    const ok = await h.run('heidi', 'user deactivate @grace');
    expect(ok.text).toContain('This will deactivate Grace Hopper');
    expect(mutations(h)).toEqual([]);
  });

  it('refuses to deactivate the bot itself', async () => {
    const r = await h.run('alice', 'user deactivate @mmops --yes');
    expect(r.result.outcome).toBe('refused');
    expect(r.text).toContain('the bot account itself');
    expect(mutations(h)).toEqual([]);
    expect(stored(h, 'mmops').delete_at).toBe(0);
  });

  it('refuses to deactivate the last active system admin, checking with the server', async () => {
    const r = await h.run('alice', 'user deactivate @alice --yes');
    expect(r.result.outcome).toBe('refused');
    expect(r.text).toContain('last active system admin');
    expect(to(h, 'GET', /\/api\/v4\/users$/).map((q) => q.query)).toContainEqual(expect.objectContaining({ role: 'system_admin', active: 'true' }));
    expect(mutations(h)).toEqual([]);

    // with a second admin it only asks for confirmation
    stored(h, 'grace').roles = 'system_user system_admin';
    const ask = await h.run('alice', 'user deactivate @alice');
    expect(ask.text).toContain('your own account');
  });

  it('says when someone is already deactivated', async () => {
    const r = await h.run('alice', 'user deactivate @frank --yes');
    expect(r.text).toContain('already deactivated');
    expect(mutations(h)).toEqual([]);
  });
});

describe('user roles', () => {
  it('shows the current roles without arguments', async () => {
    const r = await h.run('alice', 'user roles @carol');
    expect(r.result.outcome).toBe('ok');
    expect(r.text).toContain('Member, User manager');
    expect(r.text).toContain('system\\_user system\\_user\\_manager');
    expect(mutations(h)).toEqual([]);
  });

  it('replaces the roles and shows before → after', async () => {
    const r = await h.run('alice', 'user roles @bob system_user system_user_manager --yes');
    expect(r.result.outcome).toBe('ok');
    expect(r.text).toContain('**Before:** Member \\(system\\_user\\)');
    expect(r.text).toContain('**After:** Member, User manager \\(system\\_user system\\_user\\_manager\\)');
    const puts = to(h, 'PUT', /\/roles$/);
    expect(puts.map((p) => p.body)).toEqual([{ roles: 'system_user system_user_manager' }]);
    expect(stored(h, 'bob').roles).toBe('system_user system_user_manager');
  });

  it('needs manage_roles, even to look', async () => {
    for (const text of ['user roles @dave', 'user roles @bob system_user system_admin']) {
      const r = await h.run('dave', text);
      expect(r.result.outcome).toBe('refused');
      expect(r.text).toContain('`manage_roles`');
    }
    expect(mutations(h)).toEqual([]);
  });

  it('rejects role lists the server would refuse, before calling it', async () => {
    const cases: Array<[string, RegExp]> = [
      ['user roles @bob system_admin', /system_admin alone|system\\_admin alone/],
      ['user roles @bob system_user team_admin', /not a system role/],
      ['user roles @bob system_user no_such_role', /No such role on this server\\: no\\_such\\_role/],
      ['user roles @bob system_user Bad-Role!', /Not a role name/],
      ['user roles @bob system_user_manager', /Include system\\_user/],
      ['user roles @bob system_guest', /guest conversion/],
    ];
    for (const [text, msg] of cases) {
      const r = await h.run('alice', text);
      expect(r.result.outcome, text).not.toBe('ok');
      expect(r.text, text).toMatch(msg);
    }
    expect(mutations(h)).toEqual([]);
    expect(stored(h, 'bob').roles).toBe('system_user');
  });

  it('refuses to take system_admin from the last admin, and to touch the bot', async () => {
    expect((await h.run('alice', 'user roles @alice system_user')).text).toContain('last active system admin');
    expect((await h.run('alice', 'user roles @mmops system_user')).text).toContain('bot account itself');
    expect(mutations(h)).toEqual([]);
  });

  it('turns the server\u2019s license error into a sentence', async () => {
    h.fake.store.config.licensed = false;
    const r = await h.run('alice', 'user roles @bob system_user system_user_manager --yes');
    expect(r.result.outcome).toBe('user_error');
    expect(r.text).toContain('Mattermost did not change the roles of Bob Builder');
    expect(r.text).toContain('Enterprise license');
    expect(stored(h, 'bob').roles).toBe('system_user');
  });
});

describe('user sessions', () => {
  it('lists your own sessions to you only, without tokens, csrf or push tokens', async () => {
    const r = await h.run('dave', 'user sessions');
    expect(r.result.outcome).toBe('ok');
    expect(r.result.reply.sensitive).toBe(true);
    expect(r.result.reply.visibility).toBe('caller');
    expect(r.text).toContain('Sessions of Dave Doe');
    expect(r.text).toContain('Android app · Android · Mobile App/2\\.18');
    expect(r.text).toContain('172\\.16\\.3\\.9');
    const secrets = h.fake.store.sessions.filter((s) => s.user_id === userIdFor('dave')).flatMap((s) => [s.token, String(s.props?.csrf ?? '')]);
    for (const secret of [...secrets, 'davephone']) expect(r.text).not.toContain(secret);
  });

  it('shows someone else\u2019s sessions with edit_other_users, refuses without it', async () => {
    expect((await h.run('heidi', 'user sessions @bob')).text).toContain('Sessions of Bob Builder');
    const refused = await h.run('dave', 'user sessions @bob');
    expect(refused.result.outcome).toBe('refused');
    expect(refused.text).toContain('`edit_other_users`');
    // a system admin's sessions also need manage_system (SessionHasPermissionToUser)
    expect((await h.run('heidi', 'user sessions @alice')).text).toContain('`manage_system`');
  });

  it('revokes all sessions only after confirmation', async () => {
    const ask = await h.run('alice', 'user sessions @bob revoke-all');
    expect(ask.text).toContain('out of all 1 session');
    expect(ask.text).toContain(`\`/user sessions @${ZW}bob revoke-all --yes\``);
    expect(mutations(h)).toEqual([]);
    expect(h.fake.store.sessions.filter((s) => s.user_id === userIdFor('bob'))).toHaveLength(1);

    const done = await h.run('alice', 'user sessions @bob revoke-all --yes');
    expect(done.text).toContain('Signed Bob Builder \\(@\u200bbob\\) out of 1 session');
    expect(to(h, 'POST', new RegExp(`/users/${userIdFor('bob')}/sessions/revoke/all$`))).toHaveLength(1);
    expect(h.fake.store.sessions.filter((s) => s.user_id === userIdFor('bob'))).toHaveLength(0);
  });

  it('lets you sign yourself out everywhere', async () => {
    const done = await h.run('grace', 'user sessions revoke-all --yes');
    expect(done.result.outcome).toBe('ok');
    expect(h.fake.store.sessions.filter((s) => s.user_id === userIdFor('grace'))).toHaveLength(0);
  });

  it('refuses to sign the bot out, and other people without edit_other_users', async () => {
    expect((await h.run('alice', 'user sessions @mmops revoke-all --yes')).text).toContain('bot account itself');
    expect((await h.run('dave', 'user sessions @bob revoke-all --yes')).result.outcome).toBe('refused');
    expect(mutations(h)).toEqual([]);
  });

  it('rejects an unknown action', async () => {
    const r = await h.run('alice', 'user sessions @bob revoke-some');
    expect(r.result.outcome).toBe('user_error');
    expect(r.text).toContain('the only action is revoke\\-all');
  });
});

describe('user audits', () => {
  it('shows recent account events, to the caller only', async () => {
    const r = await h.run('alice', 'user audits @bob');
    expect(r.result.reply.sensitive).toBe(true);
    expect(r.text).toContain('Account events of Bob Builder');
    expect(r.text).toContain('/api/v4/users/login');
    expect(r.text).toContain('10\\.0\\.0\\.33');
    expect(to(h, 'GET', /\/audits$/)[0]?.query).toMatchObject({ page: '0', per_page: '20' });
  });

  it('pages, and is self-or-edit_other_users', async () => {
    expect((await h.run('bob', 'user audits --page 2')).text).toContain('No more account events');
    expect((await h.run('dave', 'user audits')).text).toContain('Account events of Dave Doe');
    expect((await h.run('dave', 'user audits @bob')).result.outcome).toBe('refused');
  });
});

describe('a user manager whose role stores sysconsole_write_user_management_users but not edit_other_users', () => {
  // The server grants what a role stores and derives nothing at check time
  // (server/channels/app/authorization.go RolesGrantPermission; docs/mattermost-notes.md §5.9).
  let mgr: Harness;
  beforeEach(async () => {
    const seed = demoSeed();
    const b = new SeedBuilder();
    b.role('user_writer', ['sysconsole_write_user_management_users'], { display_name: 'User writer' });
    b.user({ username: 'umgr', first_name: 'Uma', last_name: 'Manager', roles: 'system_user user_writer' }, { token: null });
    b.join('acme', ['umgr'], ['town-square']);
    const extra = b.build();
    seed.roles = [...(seed.roles ?? []), ...(extra.roles ?? [])];
    seed.users = [...(seed.users ?? []), ...(extra.users ?? [])];
    seed.teamMembers = [...(seed.teamMembers ?? []), ...(extra.teamMembers ?? [])];
    seed.channelMembers = [...(seed.channelMembers ?? []), ...(extra.channelMembers ?? [])];
    mgr = await createHarness({ seed });
  });
  afterEach(async () => {
    await mgr?.close();
  });

  it('is refused sessions, audits and MFA of others (they need edit_other_users), with no privileged call', async () => {
    const bob = userIdFor('bob');
    const carol = userIdFor('carol');
    for (const text of ['user sessions @bob', 'user sessions @bob revoke-all --yes', 'user audits @bob', 'user mfa @carol off']) {
      mgr.fake.clearRequests();
      const r = await mgr.run('umgr', text);
      expect(r.result.outcome, text).toBe('refused');
      expect(r.text, text).toContain('`edit_other_users`');
      expect(mutations(mgr), text).toEqual([]);
      expect(to(mgr, 'GET', new RegExp(`/users/(${bob}|${carol})/(sessions|audits)`)), text).toEqual([]);
    }
    expect(mgr.fake.store.users.get(carol)?.mfa_active).toBe(true);
  });

  it('may still do what the stored permission itself allows: deactivate a plain user (after confirming)', async () => {
    const r = await mgr.run('umgr', 'user deactivate @dave');
    expect(r.result.outcome).toBe('user_error');
    expect(r.text).toContain('This will deactivate');
  });
});

describe('user mfa', () => {
  it('resets MFA for a locked-out user', async () => {
    const r = await h.run('alice', 'user mfa @carol off --yes');
    expect(r.result.outcome).toBe('ok');
    expect(r.text).toContain('MFA is off for Carol Manager');
    expect(to(h, 'PUT', /\/mfa$/).map((q) => q.body)).toEqual([{ activate: false }]);
    expect(stored(h, 'carol').mfa_active).toBe(false);
  });

  it('explains that turning MFA on needs a code from the person\u2019s device, calling nothing', async () => {
    const r = await h.run('alice', 'user mfa @carol on');
    expect(r.result.outcome).toBe('ok');
    expect(r.text).toContain('needs a code from Carol Manager');
    expect(mutations(h)).toEqual([]);
    expect(stored(h, 'carol').mfa_active).toBe(true);
  });

  it('does nothing when MFA is already off', async () => {
    expect((await h.run('alice', 'user mfa @bob off')).text).toContain('already off');
    expect(mutations(h)).toEqual([]);
  });

  it('follows SessionHasPermissionToUser: help desk yes, plain user no, admin target needs manage_system', async () => {
    expect((await h.run('heidi', 'user mfa @carol off --yes')).result.outcome).toBe('ok');
    const plain = await h.run('dave', 'user mfa @alice off');
    expect(plain.result.outcome).toBe('refused');
    const admin = await h.run('heidi', 'user mfa @alice off --yes');
    expect(admin.text).toContain('`manage_system`');
    expect(stored(h, 'alice').mfa_active).toBe(true);
  });
});

describe('user auth', () => {
  it('switches the sign-in method (SAML defaults to the email as identity)', async () => {
    const r = await h.run('alice', 'user auth @bob saml --yes');
    expect(r.result.outcome).toBe('ok');
    expect(r.text).toContain('now signs in with SAML (was Email and password)'.replace(/[().]/g, (c) => `\\${c}`));
    expect(stored(h, 'bob').auth_service).toBe('saml');
    expect(stored(h, 'bob').auth_data).toBe(stored(h, 'bob').email);
  });

  it('needs manage_system, as the server does (edit_other_users is not enough)', async () => {
    const r = await h.run('heidi', 'user auth @dave gitlab --auth-data 77 --yes');
    expect(r.result.outcome).toBe('refused');
    expect(r.text).toContain('`manage_system`');
    expect(mutations(h)).toEqual([]);
  });

  it('shows the server\u2019s answer for a method that is not enabled as a plain sentence (501)', async () => {
    const r = await h.run('alice', 'user auth @bob google --auth-data 12345 --yes');
    expect(r.result.outcome).toBe('unavailable');
    expect(r.text).toContain('Mattermost did not switch Bob Builder');
    expect(r.text).toContain('The google sign\\-in method is not enabled on this server');
    expect(r.text).toContain('System Console → Authentication');
    expect(stored(h, 'bob').auth_service).toBe('');
  });

  it('shows a 400 from the server as a plain sentence', async () => {
    h.fake.faults.failNext('PUT', /\/auth$/, 400, 1, 'api.user.update_user_auth.invalid_request');
    const r = await h.run('alice', 'user auth @bob ldap --auth-data bob.b --yes');
    expect(r.result.outcome).toBe('user_error');
    expect(r.text).toContain('Mattermost did not switch Bob Builder');
    expect(r.text).toContain('auth\\_data and auth\\_service are required');
    expect(r.text).toContain('Check that LDAP sign\\-in is enabled');
    expect(r.text).not.toMatch(/ref [A-Z0-9]{6}/); // not an apology for a crash
  });

  it('asks for the identity when it cannot be guessed, and explains email', async () => {
    expect((await h.run('alice', 'user auth @bob ldap')).text).toContain('add \\-\\-auth\\-data');
    expect((await h.run('alice', 'user auth @dave email')).text).toContain('cannot switch an account back to email');
    expect((await h.run('alice', 'user auth @bob kerberos')).text).toContain('Unknown sign\\-in method');
    expect(mutations(h)).toEqual([]);
  });
});

describe('user password', () => {
  it('generates a strong password, sets it, and shows it once to the caller only (never logged)', async () => {
    const r = await h.run('alice', 'user password @bob --generate --yes');
    expect(r.result.outcome).toBe('ok');
    expect(r.result.reply.sensitive).toBe(true);
    expect(r.result.reply.visibility).toBe('caller');
    const block = r.result.reply.blocks.find((b) => b.kind === 'code');
    const pw = block?.kind === 'code' ? block.text : '';
    expect(meetsPasswordPolicy(pw)).toBe(true);
    expect(pw).toHaveLength(20);
    expect(stored(h, 'bob').password).toBe(pw);
    expect(r.text).toContain(`\`\`\`\n${pw}\n\`\`\``);
    expect(log.dump()).not.toContain(pw);
    expect(JSON.stringify(h.audits)).not.toContain(pw);
    expect(JSON.stringify(h.fake.requests)).not.toContain(pw);
  });

  it('refuses any command text that carries a password, without using or repeating it', async () => {
    for (const text of ['user password @bob hunter2', 'user password @bob --generate hunter2', 'user password @bob --password hunter2', 'user password @bob --new-password=hunter2']) {
      const r = await h.run('alice', text);
      expect(r.text, text).toContain('Never type a password into chat');
      expect(r.text, text).not.toContain('hunter2');
      expect(r.result.reply.sensitive).toBe(true);
    }
    expect(mutations(h)).toEqual([]);
    expect(log.dump()).not.toContain('hunter2');
    expect(JSON.stringify(h.audits)).not.toContain('hunter2');
    expect(stored(h, 'bob').password).not.toBe('hunter2');
  });

  it('never looks up, logs, audits or repeats a word that may be a password typed where the name goes', async () => {
    h.fake.clearRequests();
    for (const text of ['user password hunter2secret', 'user password hunter2secret --generate', 'user password --generate hunter2secret']) {
      const r = await h.run('alice', text);
      expect(r.result.outcome, text).toBe('user_error');
      expect(r.text, text).toContain('Name the person as');
      expect(r.text, text).not.toContain('hunter2secret');
    }
    // a plain user is refused on permission; the word is still not used
    expect((await h.run('dave', 'user password hunter2secret --generate')).result.outcome).toBe('refused');
    expect(JSON.stringify(h.fake.requests)).not.toContain('hunter2secret');
    expect(log.dump()).not.toContain('hunter2secret');
    expect(JSON.stringify(h.audits)).not.toContain('hunter2secret');
    expect(mutations(h)).toEqual([]);
  });

  it('asks for --generate', async () => {
    const r = await h.run('alice', 'user password @bob');
    expect(r.text).toContain('Add \\-\\-generate');
    expect(mutations(h)).toEqual([]);
  });

  it('needs sysconsole_write_user_management_users, for oneself too (the bot skips the current-password check)', async () => {
    for (const text of ['user password @dave --generate', 'user password @bob --generate']) {
      const r = await h.run('dave', text);
      expect(r.result.outcome).toBe('refused');
      expect(r.text).toContain('`sysconsole_write_user_management_users`');
    }
    expect(mutations(h)).toEqual([]);
  });

  it('refuses bots', async () => {
    expect((await h.run('alice', 'user password @mmops --generate')).text).toContain('bot account itself');
    expect((await h.run('alice', 'user password @otherbot --generate')).text).toContain('bots sign in with tokens');
    expect(mutations(h)).toEqual([]);
  });

  it('notes that an SSO user does not use the password yet', async () => {
    const r = await h.run('alice', 'user password @dave --generate --yes');
    expect(r.text).toContain('signs in with SAML');
  });
});

describe('user (any source)', () => {
  it('answers the same by DM and by mention, sensitive output marked for the caller only', async () => {
    const dm = await h.run('dave', 'user sessions', { source: 'dm', teamId: '' });
    expect(dm.result.outcome).toBe('ok');
    expect(dm.result.reply.sensitive).toBe(true);
    const mention = await h.run('dave', 'user sessions', { source: 'mention' });
    expect(mention.result.reply.sensitive).toBe(true);
    expect(mention.result.reply.visibility).toBe('caller');
    expect(mention.text).toContain('Sign out everywhere: `user sessions @\u200bdave revoke-all --yes`');
  });
});

describe('generatePassword', () => {
  it('always meets every character-class rule, from node:crypto, without repeats', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 500; i++) {
      const pw = generatePassword();
      expect(meetsPasswordPolicy(pw), pw).toBe(true);
      expect(pw).toMatch(/^[A-HJ-NP-Za-km-z2-9!#%+=?^-]{20}$/);
      seen.add(pw);
    }
    expect(seen.size).toBe(500);
    expect(generatePassword(8)).toHaveLength(8);
    expect(() => generatePassword(7)).toThrow(RangeError);
    expect(() => generatePassword(73)).toThrow(RangeError);
  });
});
