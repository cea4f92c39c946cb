import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeMattermost, type FakeMattermost } from '../../src/sandbox/fake-server.js';
import { SANDBOX_BOT_TOKEN, channelIdFor, passwordFor, schemeIdFor, teamIdFor, tokenFor, userIdFor, DEMO_FILE_IDS, TINY_PNG } from '../../src/sandbox/seed.js';
import { apiAs, WsProbe, type Api } from './helpers.js';

let mm: FakeMattermost;
let bot: Api;
let alice: Api;
let dave: Api;
let carol: Api;
let heidi: Api;

beforeAll(async () => {
  mm = await startFakeMattermost();
  bot = apiAs(mm, SANDBOX_BOT_TOKEN);
  alice = apiAs(mm, tokenFor('alice'));
  dave = apiAs(mm, tokenFor('dave'));
  carol = apiAs(mm, tokenFor('carol'));
  heidi = apiAs(mm, tokenFor('heidi'));
});
afterAll(async () => {
  await mm.close();
});
beforeEach(() => mm.clearRequests());

describe('authentication and errors', () => {
  it('answers the caller with exact JSON content type and version headers', async () => {
    const r = await bot('GET', '/users/me');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/json');
    expect(r.headers.get('x-request-id')).toMatch(/^[a-z0-9]{26}$/);
    expect(r.headers.get('x-version-id')).toBe('10.5.0.12345.1a2b3c4d5e6f.true');
    expect(r.headers.get('expires')).toBe('0');
    expect(r.json.username).toBe('mmops');
    expect(r.json.is_bot).toBe(true);
    expect(r.json).not.toHaveProperty('password');
    expect(r.json.notify_props).toBeDefined();
  });

  it('accepts the legacy Token scheme and rejects missing, unknown and query tokens with 401 AppErrors', async () => {
    const legacy = await fetch(`${mm.url}/api/v4/users/me`, { headers: { Authorization: `token ${tokenFor('bob')}` } });
    expect(((await legacy.json()) as { username: string }).username).toBe('bob');

    const none = await apiAs(mm, '')('GET', '/users/me');
    expect(none.status).toBe(401);
    expect(none.json).toEqual({
      id: 'api.context.session_expired.app_error',
      message: expect.any(String),
      detailed_error: '',
      request_id: none.headers.get('x-request-id'),
      status_code: 401,
    });
    expect((await apiAs(mm, 'nottherighttokenxxxxxxxxxx')('GET', '/users/me')).status).toBe(401);
    const q = await fetch(`${mm.url}/api/v4/users/me?access_token=${SANDBOX_BOT_TOKEN}`);
    expect(q.status).toBe(401);
    expect(((await q.json()) as { id: string }).id).toBe('api.context.token_provided.app_error');
  });

  it('answers unknown routes with api.context.404 and bad ids with invalid_url_param', async () => {
    const r = await bot('GET', '/no/such/route');
    expect(r.status).toBe(404);
    expect(r.json.id).toBe('api.context.404.app_error');
    const bad = await bot('GET', '/teams/short');
    expect(bad.status).toBe(400);
    expect(bad.json.id).toBe('api.context.invalid_url_param.app_error');
  });

  it('records requests without secrets and with the caller', async () => {
    await bot('PUT', `/users/${userIdFor('dave')}/password`, { new_password: 'Sup3rSecret!!' });
    const rec = mm.requests.find((x) => x.path.endsWith('/password'));
    expect(rec).toMatchObject({ method: 'PUT', status: 200, userId: userIdFor('mmops'), body: { new_password: '[redacted]' } });
    expect(JSON.stringify(mm.requests)).not.toContain('Sup3rSecret');
  });

  it('revokeToken makes the token fail with 401', async () => {
    const api = apiAs(mm, tokenFor('otherbot'));
    expect((await api('GET', '/users/me')).status).toBe(200);
    mm.revokeToken(tokenFor('otherbot'));
    expect((await api('GET', '/users/me')).status).toBe(401);
  });

  it('injects failures and latency', async () => {
    mm.faults.failNext('GET', /\/users\/me$/, 503);
    const r = await bot('GET', '/users/me');
    expect(r.status).toBe(503);
    expect(r.json.id).toBe('api.context.server_busy.app_error');
    expect((await bot('GET', '/users/me')).status).toBe(200);
  });
});

describe('rate limiting', () => {
  it('answers 429 in plain text with rate-limit headers once the burst is spent', async () => {
    mm.faults.rateLimit = { enabled: true, perSec: 1, burst: 2 };
    try {
      const statuses: number[] = [];
      let limited: Awaited<ReturnType<Api>> | undefined;
      for (let i = 0; i < 5; i++) {
        const r = await bot('GET', '/users/me');
        statuses.push(r.status);
        if (r.status === 429) limited ??= r;
      }
      expect(statuses.slice(0, 3)).toEqual([200, 200, 200]);
      expect(statuses).toContain(429);
      expect(limited?.text).toBe('limit exceeded\n');
      expect(limited?.headers.get('content-type')).toBe('text/plain; charset=utf-8');
      expect(limited?.headers.get('x-ratelimit-limit')).toBe('3');
      expect(limited?.headers.get('x-ratelimit-remaining')).toBe('0');
      expect(Number(limited?.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    } finally {
      mm.faults.rateLimit = { enabled: false, perSec: 10, burst: 100 };
    }
  });
});

describe('users and sanitization', () => {
  it('sanitizes other users: no secrets, auth_service only for admins, no notify_props', async () => {
    const asDave = await dave('GET', `/users/${userIdFor('carol')}`);
    expect(asDave.status).toBe(200);
    expect(asDave.json.auth_service).toBe('');
    expect(asDave.json.email).toBe('carol@acme.example');
    expect(asDave.json.first_name).toBe('Carol');
    for (const k of ['password', 'mfa_secret', 'auth_data', 'notify_props', 'last_login']) expect(asDave.json).not.toHaveProperty(k);
    const asAlice = await alice('GET', `/users/${userIdFor('carol')}`);
    expect(asAlice.json.auth_service).toBe('ldap');
    expect(asAlice.json).not.toHaveProperty('auth_data');
  });

  it('hides emails and names from non-admins when privacy settings say so', async () => {
    mm.store.config.showEmailAddress = false;
    mm.store.config.showFullName = false;
    try {
      const r = await dave('GET', `/users/username/ann`);
      expect(r.json.email).toBe('');
      expect(r.json.first_name).toBe('');
      expect((await alice('GET', '/users/username/ann')).json.email).toBe('ann@acme.example');
      expect((await dave('GET', '/users/email/ann@acme.example')).status).toBe(403);
    } finally {
      mm.store.config.showEmailAddress = true;
      mm.store.config.showFullName = true;
    }
  });

  it('drops unknown usernames and ids silently and returns deactivated users', async () => {
    const r = await bot('POST', '/users/usernames', ['ann', 'nobody', 'frank']);
    expect(r.json.map((u: { username: string }) => u.username).sort()).toEqual(['ann', 'frank']);
    expect(r.json.find((u: { username: string }) => u.username === 'frank').delete_at).toBeGreaterThan(0);
    const ids = await bot('POST', '/users/ids', [userIdFor('anna'), 'x'.repeat(26)]);
    expect(ids.json).toHaveLength(1);
    expect((await bot('POST', '/users/ids', [])).status).toBe(400);
  });

  it('searches names and autocompletes with the 500 quirk for in_channel without in_team', async () => {
    const lee = await bot('POST', '/users/search', { term: 'lee' });
    expect(lee.json.map((u: { username: string }) => u.username)).toEqual(['ann', 'anna']);
    const ac = await bot('GET', `/users/autocomplete?name=an&in_team=${teamIdFor('acme')}&in_channel=${channelIdFor('acme', 'helpdesk')}`);
    expect(ac.json.users.map((u: { username: string }) => u.username)).toEqual(['ann']);
    expect(ac.json.out_of_channel.map((u: { username: string }) => u.username)).toEqual(['anna']);
    const quirk = await bot('GET', `/users/autocomplete?name=an&in_channel=${channelIdFor('acme', 'helpdesk')}`);
    expect(quirk.status).toBe(500);
    expect(quirk.json.id).toBe('api.user.autocomplete_users.missing_team_id.app_error');
  });

  it('pages with per_page clamped to 200', async () => {
    const first = await bot('GET', '/users?per_page=5&page=0');
    const second = await bot('GET', '/users?per_page=5&page=1');
    expect(first.json).toHaveLength(5);
    expect(second.json[0].id).not.toBe(first.json[0].id);
    expect((await bot('GET', '/users?per_page=1000')).json).toHaveLength(14);
  });

  it('returns sessions without tokens and audits newest first', async () => {
    const s = await alice('GET', `/users/${userIdFor('alice')}/sessions`);
    expect(s.json).toHaveLength(2);
    expect(s.json.every((x: { token: string }) => x.token === '')).toBe(true);
    expect(s.json[0].props.platform).toBe('Macintosh');
    const a = await alice('GET', `/users/${userIdFor('bob')}/audits`);
    expect(a.json[0].create_at).toBeGreaterThanOrEqual(a.json[a.json.length - 1].create_at);
  });
});

describe('permissions', () => {
  it('refuses a plain user what an admin may do', async () => {
    const target = userIdFor('ann');
    const plain = await dave('GET', `/users/${target}/sessions`);
    expect(plain.status).toBe(403);
    expect(plain.json.id).toBe('api.context.permissions.app_error');
    expect((await alice('GET', `/users/${target}/sessions`)).status).toBe(200);

    expect((await dave('GET', '/cluster/status')).status).toBe(403);
    const cluster = await alice('GET', '/cluster/status');
    expect(cluster.json.map((n: { hostname: string; version: string }) => `${n.hostname}@${n.version}`)).toEqual(['app-1@10.5.0', 'app-2@10.5.0', 'app-3@10.4.2']);

    expect((await dave('PUT', `/users/${target}/active`, { active: false })).json.id).toBe('api.user.update_active.permissions.app_error');
  });

  it('applies custom system roles and protects admins from edit_other_users holders', async () => {
    expect((await heidi('GET', `/users/${userIdFor('ann')}/sessions`)).status).toBe(200);
    expect((await heidi('GET', `/users/${userIdFor('alice')}/sessions`)).status).toBe(403);
  });

  it('maps team scheme roles: ops members cannot invite, acme members can', async () => {
    const ops = await dave('POST', `/teams/${teamIdFor('ops')}/invite/email?graceful=true`, ['new@acme.example']);
    expect(ops.status).toBe(403);
    const acme = await dave('POST', `/teams/${teamIdFor('acme')}/invite/email?graceful=true`, ['new@acme.example', 'bad-email']);
    expect(acme.status).toBe(200);
    expect(acme.json[0]).toEqual({ email: 'new@acme.example', error: null });
    expect(acme.json[1].error.id).toBe('api.team.invite_members.invalid_email.app_error');
    const member = await bot('GET', `/teams/${teamIdFor('ops')}/members/${userIdFor('bob')}`);
    expect(member.json).toMatchObject({ scheme_user: true, scheme_admin: true, roles: 'ops_team_user ops_team_admin' });
  });

  it('reads schemes only with permissions-read rights and channels only as a member', async () => {
    expect((await dave('GET', `/schemes/${schemeIdFor('ops-scheme')}`)).status).toBe(403);
    const s = await bot('GET', `/schemes/${schemeIdFor('ops-scheme')}`);
    expect(s.json).toMatchObject({ name: 'ops-scheme', scope: 'team', default_team_user_role: 'ops_team_user', default_team_admin_role: 'ops_team_admin' });
    expect((await dave('GET', `/channels/${channelIdFor('ops', 'incidents')}`)).status).toBe(403);
    expect((await dave('GET', `/teams/${teamIdFor('ops')}/channels/name/incidents`)).status).toBe(404);
    const grace = await apiAs(mm, tokenFor('grace'))('GET', `/channels/${channelIdFor('ops', 'incidents')}/members/${userIdFor('grace')}`);
    expect(grace.json.roles).toBe('ops_channel_user ops_channel_admin');
  });

  it('gates the SAML certificate status and answers 501 when SAML is off', async () => {
    expect((await dave('GET', '/saml/certificate/status')).status).toBe(403);
    expect((await alice('GET', '/saml/certificate/status')).json).toEqual({ idp_certificate_file: true, private_key_file: false, public_certificate_file: true });
    mm.store.saml.enabled = false;
    try {
      expect((await alice('GET', '/saml/certificate/status')).status).toBe(501);
    } finally {
      mm.store.saml.enabled = true;
    }
  });
});

describe('statuses', () => {
  it('sets manual flags, rounds dnd_end_time to the minute and tells only the user', async () => {
    const bobWs = new WsProbe(mm, { token: tokenFor('bob') });
    const annWs = new WsProbe(mm, { token: tokenFor('ann') });
    await bobWs.event('hello');
    await annWs.event('hello');
    const me = userIdFor('bob');
    const r = await apiAs(mm, tokenFor('bob'))('PUT', `/users/${me}/status`, { user_id: me, status: 'dnd', dnd_end_time: 1_900_000_059 });
    expect(r.json).toMatchObject({ user_id: me, status: 'dnd', manual: true, dnd_end_time: 1_900_000_020 });
    const ev = await bobWs.event('status_change');
    expect(ev.data).toEqual({ status: 'dnd', user_id: me });
    expect(ev.broadcast.user_id).toBe(me);
    const online = await apiAs(mm, tokenFor('bob'))('PUT', `/users/${me}/status`, { user_id: me, status: 'online' });
    expect(online.json).toMatchObject({ status: 'online', manual: false, dnd_end_time: 0 });
    expect(annWs.frames.some((f) => f.event === 'status_change')).toBe(false);
    bobWs.close();
    annWs.close();
  });

  it('validates the body and the caller', async () => {
    const me = userIdFor('dave');
    expect((await dave('PUT', `/users/${me}/status`, { user_id: userIdFor('ann'), status: 'away' })).status).toBe(400);
    expect((await dave('PUT', `/users/${me}/status`, { user_id: me, status: 'busy' })).status).toBe(400);
    expect((await dave('PUT', `/users/${userIdFor('ann')}/status`, { user_id: userIdFor('ann'), status: 'away' })).status).toBe(403);
  });

  it('returns offline rows for unknown ids and 400 for malformed ones', async () => {
    const unknown = 'a'.repeat(26);
    const r = await dave('POST', '/users/status/ids', [userIdFor('carol'), unknown]);
    expect(r.json[0]).toMatchObject({ status: 'dnd', manual: true });
    expect(r.json[0].dnd_end_time % 60).toBe(0);
    expect(r.json[1]).toEqual({ user_id: unknown, status: 'offline', manual: false, last_activity_at: 0, dnd_end_time: 0 });
    expect((await dave('POST', '/users/status/ids', ['short'])).status).toBe(400);
  });
});

describe('roles', () => {
  it('drops unknown names and rejects bad ones', async () => {
    const r = await dave('POST', '/roles/names', ['system_user', 'no_such_role', 'helpdesk']);
    expect(r.json.map((x: { name: string }) => x.name)).toEqual(['system_user', 'helpdesk']);
    expect(r.json[1].permissions).toEqual(['edit_other_users']);
    expect((await dave('POST', '/roles/names', [])).status).toBe(400);
    expect((await dave('POST', '/roles/names', ['Bad Name'])).status).toBe(400);
    const admin = await dave('GET', '/roles/name/system_admin');
    expect(admin.json.permissions).toContain('manage_system');
  });

  it('patches a role and broadcasts role_updated as a JSON string', async () => {
    const probe = new WsProbe(mm, { token: tokenFor('dave') });
    await probe.event('hello');
    const role = (await bot('GET', '/roles/name/helpdesk')).json;
    expect((await dave('PATCH', `/roles/${role.id}/patch`, { permissions: [] })).status).toBe(403);
    const r = await alice('PATCH', `/roles/${role.id}/patch`, { permissions: ['edit_other_users', 'manage_system'] });
    expect(r.json.permissions).toContain('manage_system');
    const ev = await probe.event('role_updated');
    expect(JSON.parse(ev.data.role).name).toBe('helpdesk');
    await alice('PATCH', `/roles/${role.id}/patch`, { permissions: ['edit_other_users'] });
    probe.close();
  });

  it('updates system roles (user_role_updated) and team member roles (memberrole_updated)', async () => {
    const probe = new WsProbe(mm, { token: tokenFor('ann') });
    await probe.event('hello');
    const ann = userIdFor('ann');
    expect((await bot('PUT', `/users/${ann}/roles`, { roles: 'system_admin' })).status).toBe(400);
    expect((await bot('PUT', `/users/${ann}/roles`, { roles: 'system_user system_post_all' })).json).toEqual({ status: 'OK' });
    expect((await probe.event('user_role_updated')).data).toEqual({ user_id: ann, roles: 'system_user system_post_all' });
    expect((await bot('PUT', `/teams/${teamIdFor('acme')}/members/${ann}/roles`, { roles: 'team_user team_admin' })).status).toBe(200);
    const ev = await probe.event('memberrole_updated');
    expect(JSON.parse(ev.data.member)).toMatchObject({ user_id: ann, scheme_admin: true, scheme_user: true });
    expect((await dave('PUT', `/teams/${teamIdFor('acme')}/members/${ann}/roles`, { roles: 'team_user' })).status).toBe(403);
    probe.close();
  });
});

describe('member roles in a team with a permission scheme (5.37 app/team.go UpdateTeamMemberRoles, UpdateTeamMemberSchemeRoles)', () => {
  it('refuses the default role names there, takes the scheme\'s own names and the scheme flags', async () => {
    const ops = teamIdFor('ops');
    const grace = userIdFor('grace');
    const refused = await bot('PUT', `/teams/${ops}/members/${grace}/roles`, { roles: 'team_user team_admin' });
    expect(refused.status).toBe(400);
    expect(refused.json.id).toBe('api.channel.update_team_member_roles.scheme_role.app_error');
    const row = () => mm.store.teamMembers.find((m) => m.team_id === ops && m.user_id === grace && m.delete_at === 0);
    expect(row()?.scheme_admin).toBe(false);
    expect((await bot('PUT', `/teams/${ops}/members/${grace}/roles`, { roles: 'ops_team_user ops_team_admin' })).status).toBe(200);
    expect(row()?.scheme_admin).toBe(true);
    expect((await bot('PUT', `/teams/${ops}/members/${grace}/schemeRoles`, { scheme_admin: false, scheme_user: true, scheme_guest: false })).status).toBe(200);
    expect(row()?.scheme_admin).toBe(false);
    const both = await bot('PUT', `/teams/${ops}/members/${grace}/schemeRoles`, { scheme_admin: false, scheme_user: true, scheme_guest: true });
    expect(both.status).toBe(400);
    expect(both.json.id).toBe('api.team.update_team_member_roles.guest_and_user.app_error');
    // a channel of that team: its channel roles come from the team's scheme as well
    const refusedCh = await bot('PUT', `/channels/${channelIdFor('ops', 'incidents')}/members/${grace}/roles`, { roles: 'channel_user' });
    expect(refusedCh.status).toBe(400);
    expect(refusedCh.json.id).toBe('api.channel.update_channel_member_roles.scheme_role.app_error');
  });
});

describe('role changes publish to the affected user only (server/channels/app/user.go UpdateUserRolesWithUser, app/team.go sendUpdatedMemberRoleEvent, app/channel.go updateChannelMember)', () => {
  it('a system-role change sends user_role_updated to that user and nothing to admins or the bot; member-role changes likewise', async () => {
    const self = new WsProbe(mm, { token: tokenFor('dave') });
    const admin = new WsProbe(mm, { token: tokenFor('alice') });
    const botWs = new WsProbe(mm, { token: SANDBOX_BOT_TOKEN });
    for (const p of [self, admin, botWs]) await p.event('hello');
    const dave = userIdFor('dave');
    expect((await bot('PUT', `/users/${dave}/roles`, { roles: 'system_user system_admin' })).status).toBe(200);
    expect((await bot('PUT', `/teams/${teamIdFor('acme')}/members/${dave}/roles`, { roles: 'team_user team_admin' })).status).toBe(200);
    expect((await bot('PUT', `/channels/${channelIdFor('acme', 'town-square')}/members/${dave}/schemeRoles`, { scheme_admin: true, scheme_user: true })).status).toBe(200);
    // a marker to everyone: the hub keeps order, so whatever the changes published came before it
    mm.emit('role_updated', { role: '{}' });
    for (const p of [self, admin, botWs]) await p.event('role_updated');
    const names = (p: WsProbe) => p.frames.map((f) => f.event).filter((e) => e && e !== 'hello' && e !== 'role_updated');
    expect(names(self)).toEqual(['user_role_updated', 'memberrole_updated', 'channel_member_updated']);
    expect(names(admin)).toEqual([]);
    expect(names(botWs)).toEqual([]);
    for (const p of [self, admin, botWs]) p.close();
    await bot('PUT', `/users/${dave}/roles`, { roles: 'system_user' });
    await bot('PUT', `/teams/${teamIdFor('acme')}/members/${dave}/roles`, { roles: 'team_user' });
    await bot('PUT', `/channels/${channelIdFor('acme', 'town-square')}/members/${dave}/schemeRoles`, { scheme_admin: false, scheme_user: true });
  });
});

describe('teams, channels, preferences, misc', () => {
  it('adds members gracefully and emits added_to_team', async () => {
    const probe = new WsProbe(mm, { token: tokenFor('erin') });
    await probe.event('hello');
    const r = await bot('POST', `/teams/${teamIdFor('ops')}/members/batch?graceful=true`, [
      { team_id: teamIdFor('ops'), user_id: userIdFor('erin') },
      { team_id: teamIdFor('ops'), user_id: 'z'.repeat(26) },
    ]);
    expect(r.status).toBe(201);
    expect(r.json[0]).toMatchObject({ user_id: userIdFor('erin'), error: null });
    expect(r.json[1].error.id).toBe('app.user.missing_account.const');
    expect((await probe.event('added_to_team')).data).toEqual({ team_id: teamIdFor('ops'), user_id: userIdFor('erin') });
    probe.close();
  });

  it('creates DMs with 201 every time and direct_added only once', async () => {
    const probe = new WsProbe(mm, { token: tokenFor('anna') });
    await probe.event('hello');
    const body = [userIdFor('dave'), userIdFor('anna')];
    const first = await dave('POST', '/channels/direct', body);
    const second = await dave('POST', '/channels/direct', body);
    expect([first.status, second.status]).toEqual([201, 201]);
    expect(first.json.id).toBe(second.json.id);
    expect(first.json.name).toBe([userIdFor('dave'), userIdFor('anna')].sort().join('__'));
    await probe.event('direct_added');
    expect(probe.frames.filter((f) => f.event === 'direct_added')).toHaveLength(1);
    probe.close();
  });

  it('saves and deletes preferences', async () => {
    const me = userIdFor('dave');
    const pref = { user_id: me, category: 'display_settings', name: 'use_military_time', value: 'true' };
    expect((await dave('PUT', `/users/${me}/preferences`, [pref])).json).toEqual({ status: 'OK' });
    expect((await dave('GET', `/users/${me}/preferences/display_settings`)).json).toContainEqual(pref);
    expect((await dave('PUT', `/users/${userIdFor('ann')}/preferences`, [{ ...pref, user_id: userIdFor('ann') }])).status).toBe(403);
    await dave('POST', `/users/${me}/preferences/delete`, [pref]);
    expect((await dave('GET', `/users/${me}/preferences/display_settings`)).json).not.toContainEqual(pref);
  });

  it('pings with server status and REST semantics', async () => {
    const p = await apiAs(mm, '')('GET', '/system/ping?get_server_status=true');
    expect(p.json).toMatchObject({ status: 'OK', database_status: 'OK', filestore_status: 'OK', ActiveSearchBackend: 'database' });
    mm.store.config.databaseStatus = 'UNHEALTHY';
    try {
      expect((await apiAs(mm, '')('GET', '/system/ping?get_server_status=true')).status).toBe(500);
      const rest = await apiAs(mm, '')('GET', '/system/ping?get_server_status=true&use_rest_semantics=true');
      expect(rest.status).toBe(200);
      expect(rest.json.status).toBe('UNHEALTHY');
    } finally {
      mm.store.config.databaseStatus = 'OK';
    }
  });

  it('handles MFA, auth and password rules', async () => {
    const ann = userIdFor('ann');
    expect((await bot('PUT', `/users/${ann}/mfa`, { activate: true })).status).toBe(400);
    expect((await bot('PUT', `/users/${ann}/mfa`, { activate: true, code: '123456' })).status).toBe(200);
    expect((await bot('GET', `/users/${ann}`)).json.mfa_active).toBe(true);
    expect((await bot('PUT', `/users/${ann}/mfa`, { activate: false })).status).toBe(200);

    const missing = await bot('PUT', `/users/${ann}/auth`, { auth_service: 'ldap' });
    expect(missing.json.id).toBe('api.user.update_user_auth.invalid_request');
    expect((await bot('PUT', `/users/${ann}/auth`, { auth_service: 'google', auth_data: 'x' })).status).toBe(501);
    expect((await bot('PUT', `/users/${ann}/auth`, { auth_service: 'ldap', auth_data: 'ann.lee' })).json).toEqual({ auth_data: 'ann.lee', auth_service: 'ldap' });
    expect((await dave('PUT', `/users/${ann}/auth`, { auth_service: 'ldap', auth_data: 'x' })).status).toBe(403);

    const self = userIdFor('anna');
    const annaApi = apiAs(mm, tokenFor('anna'));
    expect((await annaApi('PUT', `/users/${self}/password`, { current_password: 'wrong', new_password: 'NewPassw0rd!' })).status).toBe(400);
    expect((await annaApi('PUT', `/users/${self}/password`, { current_password: passwordFor('anna'), new_password: 'NewPassw0rd!' })).status).toBe(200);
  });

  it('uploads profile images (multipart `image`) with 400/413 errors', async () => {
    const target = userIdFor('mmops');
    const upload = async (form: FormData) =>
      fetch(`${mm.url}/api/v4/users/${target}/image`, { method: 'POST', headers: { Authorization: `Bearer ${SANDBOX_BOT_TOKEN}` }, body: form });
    const good = new FormData();
    good.append('image', new Blob([TINY_PNG], { type: 'image/png' }), 'a.png');
    expect((await upload(good)).status).toBe(200);
    expect(mm.store.users.get(target)?.last_picture_update).toBeGreaterThan(0);
    const none = new FormData();
    none.append('other', 'x');
    expect(((await (await upload(none)).json()) as { id: string }).id).toBe('api.user.upload_profile_user.no_file.app_error');
    mm.store.config.maxFileSize = 10;
    try {
      expect((await upload(good)).status).toBe(413);
    } finally {
      mm.store.config.maxFileSize = 5 * 1024 * 1024;
    }
    const img = await fetch(`${mm.url}/api/v4/users/${target}/image`, { headers: { Authorization: `Bearer ${SANDBOX_BOT_TOKEN}` } });
    expect(img.headers.get('content-type')).toBe('image/png');
  });

  it('serves seeded files', async () => {
    const info = await bot('GET', `/files/${DEMO_FILE_IDS.avatarPng}/info`);
    expect(info.json).toMatchObject({ name: 'avatar.png', mime_type: 'image/png', size: TINY_PNG.byteLength });
    const bytes = await fetch(`${mm.url}/api/v4/files/${DEMO_FILE_IDS.avatarPng}`, { headers: { Authorization: `Bearer ${SANDBOX_BOT_TOKEN}` } });
    expect(new Uint8Array(await bytes.arrayBuffer())).toEqual(TINY_PNG);
    expect((await dave('GET', `/files/${'q'.repeat(26)}/info`)).status).toBe(404);
  });

  it('manages slash commands with duplicate and built-in trigger checks', async () => {
    const team = teamIdFor('acme');
    const base = { team_id: team, trigger: 'Whois', method: 'P', url: 'http://127.0.0.1:9/cmd', auto_complete: true, auto_complete_desc: '', auto_complete_hint: '', display_name: 'whois', description: '' };
    const created = await bot('POST', '/commands', base);
    expect(created.status).toBe(201);
    expect(created.json.trigger).toBe('whois');
    expect(created.json.token).toMatch(/^[a-z0-9]{26}$/);
    expect((await bot('POST', '/commands', base)).json.id).toBe('api.command.duplicate_trigger.app_error');
    expect((await bot('POST', '/commands', { ...base, trigger: 'echo' })).json.id).toBe('api.command.duplicate_trigger.app_error');
    expect((await dave('POST', '/commands', { ...base, trigger: 'mine' })).status).toBe(403);
    const list = await bot('GET', `/commands?team_id=${team}&custom_only=true`);
    expect(list.json.map((c: { trigger: string }) => c.trigger)).toContain('whois');
    expect((await dave('GET', `/commands?team_id=${team}&custom_only=true`)).status).toBe(403);
    const regen = await bot('PUT', `/commands/${created.json.id}/regen_token`);
    expect(regen.json.token).not.toBe(created.json.token);
    const upd = await bot('PUT', `/commands/${created.json.id}`, { ...created.json, description: 'who is it' });
    expect(upd.json.description).toBe('who is it');
    expect((await dave('GET', `/commands/${created.json.id}`)).status).toBe(404);
    expect((await bot('DELETE', `/commands/${created.json.id}`)).json).toEqual({ status: 'OK' });
  });

  it('creates posts with from_bot and refuses ephemeral posts without the permission', async () => {
    const ch = channelIdFor('acme', 'off-topic');
    const p = await bot('POST', '/posts', { channel_id: ch, message: 'hi' });
    expect(p.status).toBe(201);
    expect(p.json.props.from_bot).toBe('true');
    expect((await dave('POST', '/posts', { channel_id: channelIdFor('ops', 'incidents'), message: 'x' })).status).toBe(403);
    expect((await dave('POST', '/posts/ephemeral', { user_id: userIdFor('ann'), post: { channel_id: ch, message: 'x' } })).status).toBe(403);
    const e = await bot('POST', '/posts/ephemeral', { user_id: userIdFor('ann'), post: { channel_id: ch, message: 'only you' } });
    expect(e.status).toBe(201);
    expect(e.json.type).toBe('system_ephemeral');
    expect(mm.ephemeral.at(-1)).toMatchObject({ userId: userIdFor('ann'), post: { message: 'only you' } });
    expect((await bot('POST', '/posts/ephemeral', { post: { channel_id: ch, message: 'x' } })).status).toBe(400);
  });
});

describe('carol the user manager', () => {
  it('may manage team roles but not read other users’ teams', async () => {
    expect((await carol('GET', `/users/${userIdFor('ann')}/teams`)).status).toBe(403);
    expect((await carol('GET', `/users/${userIdFor('carol')}/teams`)).json.map((t: { name: string }) => t.name).sort()).toEqual(['acme', 'ops']);
    expect((await carol('PUT', `/teams/${teamIdFor('acme')}/members/${userIdFor('anna')}/roles`, { roles: 'team_user' })).status).toBe(200);
  });
});
