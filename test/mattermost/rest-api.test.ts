import nock from 'nock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ApiError, NetworkError, ProtocolError } from '../../src/mattermost/errors.js';
import { type RestApiOptions, createRestApi } from '../../src/mattermost/rest-api.js';

const BASE = 'http://mm.test';
const TOKEN = 'bottoken8xk3t1s5rjbqmr1ywn6e';
const U1 = 'u1u1u1u1u1u1u1u1u1u1u1u1u1';
const U2 = 'u2u2u2u2u2u2u2u2u2u2u2u2u2';
const T1 = 't1t1t1t1t1t1t1t1t1t1t1t1t1';
const C1 = 'c1c1c1c1c1c1c1c1c1c1c1c1c1';

const user = (id: string, username: string) => ({ id, username, email: `${username}@example.com`, roles: 'system_user' });
const appError = (status: number, id: string, message: string) => ({
  id,
  message,
  detailed_error: '',
  request_id: 'req00000000000000000000000',
  status_code: status,
});

let clock: number;
let sleeps: number[];

/** a client on a fake clock: sleeping advances time instantly */
function makeApi(extra: Partial<RestApiOptions> = {}) {
  return createRestApi({
    url: BASE,
    token: TOKEN,
    now: () => clock,
    sleep: async (ms) => {
      sleeps.push(ms);
      clock += ms;
    },
    random: () => 0.5,
    ...extra,
  });
}

async function caught(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected the call to fail');
}

beforeAll(() => nock.disableNetConnect());
afterAll(() => nock.enableNetConnect());
beforeEach(() => {
  clock = 1_700_000_000_000;
  sleeps = [];
});
afterEach(() => {
  nock.abortPendingRequests();
  nock.cleanAll();
});

describe('requests', () => {
  it('sends the bot token as a bearer header and parses the body with defaults', async () => {
    nock(BASE, { reqheaders: { authorization: (v) => v.toLowerCase() === `bearer ${TOKEN}` } })
      .get('/api/v4/users/me')
      .reply(200, user(U1, 'mmops'), { 'Content-Type': 'application/json' });
    const me = await makeApi().getMe();
    expect(me.username).toBe('mmops');
    expect(me.delete_at).toBe(0);
    expect(me.is_bot).toBe(false);
  });

  it('accepts application/json with a charset parameter', async () => {
    nock(BASE)
      .get(`/api/v4/users/${U1}`)
      .reply(200, JSON.stringify(user(U1, 'ann')), { 'Content-Type': 'application/json; charset=utf-8' });
    expect((await makeApi().getUser(U1)).username).toBe('ann');
  });

  it('hits the right method, path, query and body for a representative set of endpoints', async () => {
    const api = makeApi();
    const scope = nock(BASE)
      .post('/api/v4/users/ids', [U1, U2])
      .reply(200, [user(U1, 'ann')])
      .post('/api/v4/users/usernames', ['ann', 'bob'])
      .reply(200, [user(U1, 'ann')])
      .get('/api/v4/users/email/a%2Bb%40example.com')
      .reply(200, user(U1, 'ann'))
      .post('/api/v4/users/search', { term: 'an', team_id: T1, limit: 5 })
      .reply(200, [])
      .get('/api/v4/users/autocomplete')
      .query({ name: 'an', in_team: T1, limit: '10' })
      .reply(200, { users: [user(U1, 'ann')] })
      .put(`/api/v4/users/${U1}/active`, { active: false })
      .reply(200, { status: 'OK' })
      .put(`/api/v4/users/${U1}/roles`, { roles: 'system_user system_admin' })
      .reply(200, { status: 'OK' })
      .post(`/api/v4/users/${U1}/sessions/revoke/all`)
      .reply(200, { status: 'OK' })
      .get(`/api/v4/users/${U1}/audits`)
      .query({ page: '1', per_page: '20' })
      .reply(200, [{ id: 'a1', create_at: 5, user_id: U1, action: '/api/v4/users/login' }])
      .put(`/api/v4/users/${U1}/mfa`, { activate: false })
      .reply(200, { status: 'OK' })
      .put(`/api/v4/users/${U1}/password`, { new_password: 'N3w-pass!' })
      .reply(200, { status: 'OK' })
      .put(`/api/v4/users/${U1}/status`, { user_id: U1, status: 'dnd', dnd_end_time: 1730003600 })
      .reply(200, { user_id: U1, status: 'dnd', manual: true, last_activity_at: 0, dnd_end_time: 1730003600 })
      .post('/api/v4/users/status/ids', [U1])
      .reply(200, [{ user_id: U1, status: 'offline', manual: false, last_activity_at: 0, dnd_end_time: 0 }])
      .post(`/api/v4/teams/${T1}/members/batch`, [
        { team_id: T1, user_id: U1 },
        { team_id: T1, user_id: U2 },
      ])
      .query({ graceful: 'true' })
      .reply(201, [
        { user_id: U1, member: { team_id: T1, user_id: U1, scheme_user: true } },
        { user_id: U2, error: { id: 'app.team.join_user_to_team.max_accounts.app_error', message: 'full' } },
      ])
      .post(`/api/v4/teams/${T1}/invite/email`, ['x@example.com'])
      .query({ graceful: 'true' })
      .reply(200, [{ email: 'x@example.com', error: null }])
      .put(`/api/v4/teams/${T1}/members/${U1}/schemeRoles`, { scheme_admin: true, scheme_user: true, scheme_guest: false })
      .reply(200, { status: 'OK' })
      .get(`/api/v4/teams/${T1}/channels/name/town-square`)
      .reply(200, { id: C1, team_id: T1, type: 'O', name: 'town-square' })
      .post('/api/v4/channels/direct', [U1, U2])
      .reply(201, { id: C1, type: 'D', name: `${U1}__${U2}` })
      .post('/api/v4/roles/names', ['system_user'])
      .reply(200, [{ id: 'r1', name: 'system_user', permissions: ['view_members'] }])
      .get('/api/v4/system/ping')
      .query({ get_server_status: 'true', use_rest_semantics: 'true' })
      .reply(200, { status: 'OK', database_status: 'OK', filestore_status: 'OK' })
      .get('/api/v4/commands')
      .query({ team_id: T1, custom_only: 'true' })
      .reply(200, [{ id: 'cmd1', team_id: T1, trigger: 'mmops' }])
      .post('/api/v4/posts/ephemeral', { user_id: U1, post: { channel_id: C1, message: 'hi' } })
      .reply(201, { id: 'p1', user_id: U2, channel_id: C1, message: 'hi', type: 'system_ephemeral' })
      .post(`/api/v4/users/${U1}/preferences/delete`, [{ user_id: U1, category: 'c', name: 'n', value: 'v' }])
      .reply(200, { status: 'OK' });

    expect((await api.getUsersByIds([U1, U2])).map((u) => u.id)).toEqual([U1]);
    expect(await api.getUsersByUsernames(['ann', 'bob'])).toHaveLength(1);
    expect((await api.getUserByEmail('a+b@example.com')).id).toBe(U1);
    expect(await api.searchUsers({ term: 'an', team_id: T1, limit: 5 })).toEqual([]);
    expect((await api.autocompleteUsers({ name: 'an', teamId: T1, limit: 10 })).users).toHaveLength(1);
    await api.updateUserActive(U1, false);
    await api.updateUserRoles(U1, 'system_user system_admin');
    await api.revokeAllSessions(U1);
    expect((await api.getAudits(U1, { page: 1, perPage: 20 }))[0]?.action).toBe('/api/v4/users/login');
    await api.updateMfa(U1, false);
    await api.updatePassword(U1, 'N3w-pass!');
    expect((await api.updateStatus(U1, 'dnd', 1730003600)).dnd_end_time).toBe(1730003600);
    expect((await api.getStatusesByIds([U1]))[0]?.status).toBe('offline');
    const added = await api.addTeamMembers(T1, [U1, U2]);
    expect(added[0]?.member?.scheme_user).toBe(true);
    expect(added[1]?.error?.message).toBe('full');
    expect(await api.inviteToTeamByEmail(T1, ['x@example.com'])).toEqual([{ email: 'x@example.com', error: null }]);
    await api.updateTeamMemberSchemeRoles(T1, U1, { scheme_admin: true, scheme_user: true });
    expect((await api.getChannelByName(T1, 'town-square')).id).toBe(C1);
    expect((await api.createDirectChannel(U1, U2)).type).toBe('D');
    expect((await api.getRolesByNames(['system_user']))[0]?.permissions).toEqual(['view_members']);
    expect((await api.ping()).database_status).toBe('OK');
    expect((await api.listCustomCommands(T1))[0]?.trigger).toBe('mmops');
    expect((await api.createEphemeralPost(U1, { channel_id: C1, message: 'hi' })).type).toBe('system_ephemeral');
    await api.deletePreferences(U1, [{ user_id: U1, category: 'c', name: 'n', value: 'v' }]);
    expect(scope.isDone()).toBe(true);
  });

  it('skips the request for empty batch lookups (the server would answer 400)', async () => {
    const api = makeApi();
    expect(await api.getUsersByIds([])).toEqual([]);
    expect(await api.getStatusesByIds([])).toEqual([]);
    expect(await api.getRolesByNames([])).toEqual([]);
    expect(api.stats().requests).toBe(0);
  });

  it('uploads a profile image as multipart with the field `image`', async () => {
    let contentType = '';
    let body = '';
    nock(BASE)
      .post(`/api/v4/users/${U1}/image`)
      .reply(function (_uri, requestBody) {
        contentType = String(this.req.headers['content-type']);
        // nock hands over binary bodies hex-encoded
        body = Buffer.from(String(requestBody), 'hex').toString('latin1');
        return [200, { status: 'OK' }];
      });
    await makeApi().setProfileImage(U1, { data: new Uint8Array([0x89, 0x50, 0x4e, 0x47]), filename: 'a.png', mimeType: 'image/png' });
    expect(contentType).toMatch(/^multipart\/form-data; boundary=/);
    expect(body).toContain('name="image"; filename="a.png"');
    expect(body).toContain('Content-Type: image/png');
  });

  it('downloads file bytes unchanged', async () => {
    const bytes = new Uint8Array([0, 255, 128, 10, 13, 0x89]);
    nock(BASE, { reqheaders: { authorization: (v) => v.toLowerCase() === `bearer ${TOKEN}` } })
      .get('/api/v4/files/f1f1f1f1f1f1f1f1f1f1f1f1f1')
      .reply(200, Buffer.from(bytes), { 'Content-Type': 'image/png' });
    expect(Array.from(await makeApi().getFile('f1f1f1f1f1f1f1f1f1f1f1f1f1'))).toEqual(Array.from(bytes));
  });

  it('reads the client configuration (format=old)', async () => {
    nock(BASE)
      .get('/api/v4/config/client')
      .query({ format: 'old' })
      .reply(200, { SiteURL: 'https://chat.example.com', AsymmetricSigningPublicKey: 'MFkw', Version: '10.5.0' });
    expect(await makeApi().getClientConfig()).toMatchObject({ SiteURL: 'https://chat.example.com', AsymmetricSigningPublicKey: 'MFkw' });
  });

  it('never returns session tokens', async () => {
    nock(BASE)
      .get(`/api/v4/users/${U1}/sessions`)
      .reply(200, [
        { id: 's1', token: 'sessiontoken-should-not-leak', user_id: U1, props: { type: 'UserAccessToken', is_bot: 'true' } },
      ]);
    const sessions = await makeApi().getSessions(U1);
    expect(sessions).toHaveLength(1);
    expect(sessions[0]?.props?.type).toBe('UserAccessToken');
    expect(JSON.stringify(sessions)).not.toContain('sessiontoken-should-not-leak');
    expect(sessions[0]).not.toHaveProperty('token');
  });
});

describe('error mapping', () => {
  it('maps an AppError body to ApiError with id, message, request id and a placeholder endpoint', async () => {
    nock(BASE)
      .get(`/api/v4/users/${U1}/status`)
      .reply(404, appError(404, 'api.status.user_not_found.app_error', 'Unable to find the user.'), {
        'Content-Type': 'application/json',
      });
    const err = await caught(makeApi().getStatus(U1));
    expect(err).toBeInstanceOf(ApiError);
    const e = err as ApiError;
    expect(e.status).toBe(404);
    expect(e.isNotFound).toBe(true);
    expect(e.serverErrorId).toBe('api.status.user_not_found.app_error');
    expect(e.serverMessage).toBe('Unable to find the user.');
    expect(e.requestId).toBe('req00000000000000000000000');
    expect(e.endpoint).toBe('GET /api/v4/users/{user_id}/status');
    expect(e.message).not.toContain(U1);
  });

  it('takes the request id from X-Request-ID when the body has none', async () => {
    nock(BASE)
      .get(`/api/v4/teams/${T1}`)
      .reply(403, { id: 'api.context.permissions.app_error', message: 'You do not have the appropriate permissions.' }, {
        'X-Request-ID': 'hdrreq',
      });
    const e = (await caught(makeApi().getTeam(T1))) as ApiError;
    expect(e.isForbidden).toBe(true);
    expect(e.requestId).toBe('hdrreq');
  });

  it('maps the plain-text 429 body and reports Retry-After when it gives up', async () => {
    nock(BASE)
      .get('/api/v4/users/me')
      .times(3)
      .reply(429, 'limit exceeded\n', { 'Content-Type': 'text/plain; charset=utf-8', 'Retry-After': '2' });
    const e = (await caught(makeApi({ maxRateLimitRetries: 2 }).getMe())) as ApiError;
    expect(e).toBeInstanceOf(ApiError);
    expect(e.status).toBe(429);
    expect(e.serverErrorId).toBe('');
    expect(e.serverMessage).toBe('limit exceeded');
    expect(e.retryAfterSeconds).toBe(2);
    expect(sleeps).toEqual([2000, 2000]);
  });

  it('maps an HTML 502 from a proxy without copying the page', async () => {
    nock(BASE)
      .post('/api/v4/posts')
      .reply(502, '<html><body><h1>502 Bad Gateway</h1><p>nginx</p></body></html>', { 'Content-Type': 'text/html' });
    const e = (await caught(makeApi().createPost({ channel_id: C1, message: 'x' }))) as ApiError;
    expect(e).toBeInstanceOf(ApiError);
    expect(e.status).toBe(502);
    expect(e.serverMessage).toContain('HTML page');
    expect(e.serverMessage).not.toContain('<');
  });

  it('turns invalid JSON into a ProtocolError', async () => {
    nock(BASE).get('/api/v4/users/me').reply(200, '{"id": "u1", "username": ', { 'Content-Type': 'application/json' });
    const e = await caught(makeApi().getMe());
    expect(e).toBeInstanceOf(ProtocolError);
    expect((e as ProtocolError).endpoint).toBe('GET /api/v4/users/me');
  });

  it('turns a body that does not match the schema into a ProtocolError naming the field', async () => {
    nock(BASE).get(`/api/v4/users/${U1}`).reply(200, { id: U1, username: 42 });
    const e = await caught(makeApi().getUser(U1));
    expect(e).toBeInstanceOf(ProtocolError);
    expect((e as ProtocolError).detail).toContain('username');
  });

  it('turns a text body where JSON was expected into a ProtocolError', async () => {
    nock(BASE).get(`/api/v4/channels/${C1}`).reply(200, 'hello', { 'Content-Type': 'text/plain' });
    expect(await caught(makeApi().getChannel(C1))).toBeInstanceOf(ProtocolError);
  });

  it('explains a 401 in terms of MM_BOT_TOKEN and never prints the token', async () => {
    nock(BASE)
      .get('/api/v4/users/me')
      .reply(401, appError(401, 'api.context.session_expired.app_error', `Invalid or expired session, please login again. ${TOKEN}`));
    const e = (await caught(makeApi().getMe())) as ApiError;
    expect(e.isUnauthorized).toBe(true);
    expect(e.isTokenRejected).toBe(true);
    expect(e.message).toContain('MM_BOT_TOKEN');
    expect(e.message).not.toContain(TOKEN);
    expect(e.serverMessage).not.toContain(TOKEN);
  });

  it('treats a 401 with another error id as a refusal, not as a bad token', async () => {
    nock(BASE)
      .put(`/api/v4/users/${U2}/active`)
      .reply(
        401,
        appError(401, 'api.user.update_active.not_enable.app_error', 'You cannot deactivate yourself because this feature is not enabled.'),
      );
    const e = (await caught(makeApi().updateUserActive(U2, false))) as ApiError;
    expect(e.status).toBe(401);
    expect(e.isTokenRejected).toBe(false);
    expect(e.serverErrorId).toBe('api.user.update_active.not_enable.app_error');
    expect(e.serverMessage).toBe('You cannot deactivate yourself because this feature is not enabled.');
    expect(e.message).not.toContain('MM_BOT_TOKEN');
  });

  it('names MM_BOT_TOKEN for token_provided too', async () => {
    nock(BASE)
      .get('/api/v4/users/me')
      .reply(401, appError(401, 'api.context.token_provided.app_error', 'Session is not OAuth but token was provided in the query string.'));
    const e = (await caught(makeApi().getMe())) as ApiError;
    expect(e.isTokenRejected).toBe(true);
    expect(e.message).toContain('MM_BOT_TOKEN');
  });

  it('keeps the token out of network error messages', async () => {
    nock(BASE)
      .get('/api/v4/users/me')
      .replyWithError({ code: 'ECONNRESET', message: `socket hang up while sending Bearer ${TOKEN}` });
    const e = (await caught(makeApi({ readRetries: 0 }).getMe())) as NetworkError;
    expect(e).toBeInstanceOf(NetworkError);
    expect(e.message).toContain('connection reset');
    expect(e.message).not.toContain(TOKEN);
  });
});

describe('retries', () => {
  it('retries a read after a 5xx, with backoff, and counts it', async () => {
    nock(BASE)
      .get(`/api/v4/teams/${T1}`)
      .reply(503, appError(503, 'api.context.server_busy.app_error', 'busy'))
      .get(`/api/v4/teams/${T1}`)
      .reply(200, { id: T1, name: 'eng' });
    const api = makeApi();
    expect((await api.getTeam(T1)).name).toBe('eng');
    expect(api.stats().retries).toBe(1);
    // full jitter with random()=0.5 over the first step (200 ms)
    expect(sleeps).toEqual([100]);
  });

  it('retries POST lookups that are reads', async () => {
    nock(BASE)
      .post(`/api/v4/channels/${C1}/members/ids`, [U1])
      .reply(500, appError(500, 'x', 'boom'))
      .post(`/api/v4/channels/${C1}/members/ids`, [U1])
      .reply(200, [{ channel_id: C1, user_id: U1 }]);
    expect(await makeApi().getChannelMembersByIds(C1, [U1])).toHaveLength(1);
  });

  it('gives up on a read after readRetries', async () => {
    const scope = nock(BASE).get('/api/v4/users/me').times(3).reply(500, appError(500, 'x', 'boom'));
    const api = makeApi({ readRetries: 2 });
    const e = (await caught(api.getMe())) as ApiError;
    expect(e.status).toBe(500);
    expect(scope.isDone()).toBe(true);
    expect(api.stats().retries).toBe(2);
  });

  it('does not retry a 501', async () => {
    nock(BASE).get('/api/v4/saml/certificate/status').reply(501, appError(501, 'api.license_error', 'no license'));
    const api = makeApi();
    expect(((await caught(api.getSamlCertificateStatus())) as ApiError).status).toBe(501);
    expect(api.stats().retries).toBe(0);
  });

  it('does not retry a write after a 5xx', async () => {
    nock(BASE).post('/api/v4/posts').reply(500, appError(500, 'x', 'boom'));
    const api = makeApi();
    expect(((await caught(api.createPost({ channel_id: C1, message: 'x' }))) as ApiError).status).toBe(500);
    expect(api.stats().requests).toBe(1);
  });

  it('reports outcomeUnknown when a write times out, and does not repeat it', async () => {
    nock(BASE).post('/api/v4/posts').delay(2_000).reply(201, { id: 'p1', user_id: U1, channel_id: C1 });
    const api = makeApi({ timeoutMs: 50 });
    const e = (await caught(api.createPost({ channel_id: C1, message: 'x' }))) as NetworkError;
    expect(e).toBeInstanceOf(NetworkError);
    expect(e.timedOut).toBe(true);
    expect(e.outcomeUnknown).toBe(true);
    expect(api.stats().requests).toBe(1);
  });

  it('reports outcomeUnknown when the connection drops under a write', async () => {
    nock(BASE).put(`/api/v4/users/${U1}/roles`).replyWithError({ code: 'ECONNRESET', message: 'socket hang up' });
    const api = makeApi();
    const e = (await caught(api.updateUserRoles(U1, 'system_user'))) as NetworkError;
    expect(e.outcomeUnknown).toBe(true);
    expect(e.timedOut).toBe(false);
    expect(api.stats().requests).toBe(1);
    expect(api.stats().retries).toBe(0);
  });

  it('repeats a write whose connection was refused (it never reached the server)', async () => {
    nock(BASE)
      .post('/api/v4/posts')
      .replyWithError({ code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:8065' })
      .post('/api/v4/posts')
      .reply(201, { id: 'p1', user_id: U1, channel_id: C1, message: 'x' });
    expect((await makeApi().createPost({ channel_id: C1, message: 'x' })).id).toBe('p1');
  });

  it('retries a read that timed out', async () => {
    nock(BASE)
      .get(`/api/v4/channels/${C1}`)
      .delay(2_000)
      .reply(200, { id: C1, type: 'O', name: 'x' })
      .get(`/api/v4/channels/${C1}`)
      .reply(200, { id: C1, type: 'O', name: 'town-square' });
    expect((await makeApi({ timeoutMs: 50 }).getChannel(C1)).name).toBe('town-square');
  });

  it('retries an idempotent write (direct channel) after a timeout', async () => {
    nock(BASE)
      .post('/api/v4/channels/direct')
      .delay(2_000)
      .reply(201, {})
      .post('/api/v4/channels/direct')
      .reply(201, { id: C1, type: 'D', name: `${U1}__${U2}` });
    expect((await makeApi({ timeoutMs: 50 }).createDirectChannel(U1, U2)).id).toBe(C1);
  });

  it('stops waiting when the caller aborts', async () => {
    nock(BASE).get('/api/v4/users/me').delay(5_000).reply(200, user(U1, 'x'));
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 30);
    const started = Date.now();
    const e = (await caught(makeApi().getMe({ signal: controller.signal }))) as NetworkError;
    expect(e).toBeInstanceOf(NetworkError);
    expect(e.reason).toContain('cancelled');
    expect(Date.now() - started).toBeLessThan(4_000);
  });
});

describe('rate limits', () => {
  it('waits Retry-After on a 429 and then succeeds, for writes too', async () => {
    nock(BASE)
      .post('/api/v4/posts')
      .reply(429, 'limit exceeded\n', { 'Content-Type': 'text/plain', 'Retry-After': '3' })
      .post('/api/v4/posts')
      .reply(201, { id: 'p1', user_id: U1, channel_id: C1, message: 'x' });
    const api = makeApi();
    expect((await api.createPost({ channel_id: C1, message: 'x' })).id).toBe('p1');
    expect(sleeps).toEqual([3000]);
    expect(api.stats().rateLimitWaits).toBe(1);
  });

  it('without Retry-After waits one spacing interval (Reset / Limit), never Reset', async () => {
    nock(BASE)
      .get('/api/v4/users/me')
      .reply(429, 'limit exceeded\n', { 'Content-Type': 'text/plain', 'X-RateLimit-Limit': '101', 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': '11' })
      .get('/api/v4/users/me')
      .reply(200, user(U1, 'x'));
    await makeApi().getMe();
    expect(sleeps).toEqual([109]);
  });

  it('does not wait out an absurd Retry-After', async () => {
    nock(BASE).get('/api/v4/users/me').reply(429, 'limit exceeded\n', { 'Retry-After': '3600' });
    const e = (await caught(makeApi().getMe())) as ApiError;
    expect(e.status).toBe(429);
    expect(e.retryAfterSeconds).toBe(3600);
    expect(sleeps).toEqual([]);
  });

  it('with X-RateLimit-Remaining 0 spaces requests by Reset / Limit, and stops spacing when room returns', async () => {
    const empty = { 'X-RateLimit-Limit': '101', 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': '11' };
    nock(BASE)
      .get('/api/v4/users/me')
      .reply(200, user(U1, 'x'), { 'X-RateLimit-Limit': '101', 'X-RateLimit-Remaining': '1', 'X-RateLimit-Reset': '10' })
      .get('/api/v4/users/me')
      .reply(200, user(U1, 'x'), empty)
      .get('/api/v4/users/me')
      .reply(200, user(U1, 'x'), empty)
      .get('/api/v4/users/me')
      .reply(200, user(U1, 'x'), { 'X-RateLimit-Limit': '101', 'X-RateLimit-Remaining': '2', 'X-RateLimit-Reset': '10' })
      .get('/api/v4/users/me')
      .reply(200, user(U1, 'x'), { 'X-RateLimit-Limit': '101', 'X-RateLimit-Remaining': '1', 'X-RateLimit-Reset': '10' });
    const api = makeApi();
    await api.getMe();
    await api.getMe();
    expect(sleeps).toEqual([]);
    await api.getMe();
    await api.getMe();
    // 11 s / 101 ≈ 109 ms before each request while the budget is empty — not 11 s
    expect(sleeps).toEqual([109, 109]);
    await api.getMe();
    expect(sleeps).toEqual([109, 109]);
    expect(api.stats().rateLimitWaits).toBe(2);
  });

  it('spaces concurrent requests one interval apart instead of releasing them together', async () => {
    const empty = { 'X-RateLimit-Limit': '3', 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': '3' };
    nock(BASE).get('/api/v4/users/me').times(4).reply(200, user(U1, 'x'), empty);
    const waits: number[] = [];
    const api = makeApi({
      // real waiting would serialize nothing here: record each wait without advancing the clock
      sleep: async (ms) => {
        waits.push(ms);
      },
    });
    await api.getMe();
    await Promise.all([api.getMe(), api.getMe(), api.getMe()]);
    expect(waits).toEqual([1000, 2000, 3000]);
  });
});

describe('concurrency, circuit breaker, stats', () => {
  it('keeps at most maxConcurrency requests in flight', async () => {
    let inFlight = 0;
    let maxSeen = 0;
    nock(BASE)
      .get(/\/api\/v4\/users\/u\d+$/)
      .times(8)
      .reply((uri, _body, cb) => {
        inFlight += 1;
        maxSeen = Math.max(maxSeen, inFlight);
        setTimeout(() => {
          inFlight -= 1;
          cb(null, [200, user(uri.split('/').pop() ?? '', 'x')]);
        }, 20);
      });
    const api = makeApi({ maxConcurrency: 3 });
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => api.getUser(`u${i}`)));
    expect(results.map((u) => u.id)).toEqual(Array.from({ length: 8 }, (_, i) => `u${i}`));
    expect(maxSeen).toBe(3);
  });

  it('fails fast while Mattermost is not answering, then tries again after the cool-down', async () => {
    nock(BASE)
      .get('/api/v4/users/me')
      .times(2)
      .replyWithError({ code: 'ECONNRESET', message: 'socket hang up' });
    const api = makeApi({ readRetries: 0, breaker: { failures: 2, cooldownMs: 10_000 } });
    await caught(api.getMe());
    await caught(api.getMe());
    const fast = (await caught(api.getMe())) as NetworkError;
    expect(fast).toBeInstanceOf(NetworkError);
    expect(fast.message).toContain('Mattermost is not answering');
    expect(api.stats().requests).toBe(2);

    clock += 10_000;
    nock(BASE).get('/api/v4/users/me').reply(200, user(U1, 'back'));
    expect((await api.getMe()).username).toBe('back');
  });

  it('counts requests per endpoint label and status, and reports each to onRequest', async () => {
    const seen: Array<{ endpoint: string; status: number }> = [];
    nock(BASE)
      .get(`/api/v4/users/${U1}/status`)
      .reply(200, { user_id: U1, status: 'online' })
      .get(`/api/v4/users/${U2}/status`)
      .reply(404, appError(404, 'api.status.user_not_found.app_error', 'nope'));
    const api = makeApi({ onRequest: ({ endpoint, status }) => seen.push({ endpoint, status }) });
    await api.getStatus(U1);
    await caught(api.getStatus(U2));
    const stats = api.stats();
    expect(stats.requests).toBe(2);
    expect(stats.byEndpoint['GET /api/v4/users/{user_id}/status']).toMatchObject({
      count: 2,
      byStatus: { '200': 1, '404': 1 },
    });
    expect(Object.keys(stats.byEndpoint).join()).not.toContain(U1);
    expect(seen).toEqual([
      { endpoint: 'GET /api/v4/users/{user_id}/status', status: 200 },
      { endpoint: 'GET /api/v4/users/{user_id}/status', status: 404 },
    ]);
  });
});

describe('waiting', () => {
  it('abandons a rate-limit wait when the caller aborts, leaving no timer behind', async () => {
    nock(BASE).get('/api/v4/users/me').reply(429, 'limit exceeded\n', { 'Retry-After': '30' });
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    // real clock and real sleep: the 30 s wait must be cut short by the abort
    const api = createRestApi({ url: BASE, token: TOKEN });
    const controller = new AbortController();
    const call = api.getMe({ signal: controller.signal });
    await new Promise((r) => setTimeout(r, 30));
    controller.abort();
    const e = (await caught(call)) as NetworkError;
    expect(e).toBeInstanceOf(NetworkError);
    expect(e.reason).toContain('cancelled');
    expect(timers()).toBeLessThanOrEqual(before);
  });
});
