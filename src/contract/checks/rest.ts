/**
 * One check per REST call the bot makes (src/mattermost/api.ts): same method, path, query and
 * body, the answer parsed with the bot's own zod schema (src/mattermost/models.ts), plus the
 * status codes and error ids the bot branches on. All read-only.
 */
import { z } from 'zod';
import {
  auditSchema,
  channelMemberSchema,
  channelSchema,
  clusterInfoSchema,
  commandSchema,
  pingSchema,
  preferenceSchema,
  roleSchema,
  samlCertificateStatusSchema,
  schemeSchema,
  sessionSchema,
  statusSchema,
  teamMemberSchema,
  teamSchema,
  userAutocompleteSchema,
  userSchema,
} from '../../mattermost/models.js';
import { errorId, statusLine, type RawAnswer } from '../http.js';
import { ensure, pass, skip, type Check, type CheckContext } from '../types.js';

/** A well-formed id no server has issued (all ids are random base32). */
export const UNKNOWN_ID = 'mmopscontract0unknown00000';

/** Asserts a 2xx (or `status`) and parses the body with the bot's schema. */
export function expectJson<T>(a: RawAnswer, schema: z.ZodType<T>, what: string, status?: number): T {
  if (status !== undefined) ensure(a.status === status, `${what}: expected ${status}, got ${statusLine(a)}`);
  else ensure(a.status >= 200 && a.status < 300, `${what}: expected 2xx, got ${statusLine(a)}`);
  ensure(a.json !== undefined, `${what}: body is not JSON (${a.contentType || 'no content type'})`);
  const parsed = schema.safeParse(a.json);
  ensure(parsed.success, `${what}: the bot's schema rejects the answer: ${parsed.success ? '' : summarize(parsed.error)}`);
  return parsed.data;
}

function summarize(e: z.ZodError): string {
  return e.issues
    .slice(0, 2)
    .map((i) => `${i.path.join('.') || '(root)'} ${i.message}`)
    .join('; ');
}

function needTeam(ctx: CheckContext) {
  return ctx.team ? undefined : skip('the two accounts share no team');
}

const STATUS_OK = z.object({ status: z.literal('OK') });
export { STATUS_OK };

export const restChecks: Check[] = [
  {
    id: 'rest.me',
    what: 'GET /users/me answers the caller itself in the shape the bot parses',
    dependsOn: 'start-up (bot identity), every caller lookup',
    notes: '§2.3',
    kind: 'read',
    async run(ctx) {
      const me = expectJson(await ctx.admin.get('/users/me'), userSchema, 'GET /users/me');
      ensure(me.id === ctx.adminUser.id, 'GET /users/me answered another user');
      return pass('200; user parsed');
    },
  },
  {
    id: 'rest.version-header',
    what: 'every answer carries X-Version-Id (a.b.c…) and X-Request-ID',
    dependsOn: 'start-up version log and compatibility paths (src/mattermost/compat.ts), error reports',
    notes: '§0, §1.1',
    kind: 'read',
    async run(ctx) {
      const a = await ctx.admin.get('/users/me');
      const v = a.headers.get('x-version-id') ?? '';
      ensure(/^\d+\.\d+\.\d+/.test(v), `X-Version-Id missing or not a version: "${v.slice(0, 40)}"`);
      ensure((a.headers.get('x-request-id') ?? '').length > 0, 'X-Request-ID missing');
      return pass('X-Version-Id a.b.c form; X-Request-ID present');
    },
  },
  {
    id: 'rest.errors.401',
    what: 'no token and an unknown token both give 401 api.context.session_expired.app_error',
    dependsOn: 'token-rejection handling in src/mattermost/rest-api.ts (decides on the id, §1.2)',
    notes: '§1.2',
    kind: 'read',
    async run(ctx) {
      const none = await ctx.anon.get('/users/me');
      ensure(none.status === 401 && errorId(none) === 'api.context.session_expired.app_error', `no token: ${statusLine(none)}`);
      const bad = await ctx.anon.request('GET', '/users/me', { token: 'mmopscontractbadtoken00000' });
      ensure(bad.status === 401 && errorId(bad) === 'api.context.session_expired.app_error', `unknown token: ${statusLine(bad)}`);
      return pass('401 api.context.session_expired.app_error (both)');
    },
  },
  {
    id: 'rest.errors.403',
    what: "a missing permission is 403 api.context.permissions.app_error (caller reading another user's sessions)",
    dependsOn: 'refusal handling: ApiError 403 → UserError forbidden',
    notes: '§1.2',
    kind: 'read',
    async run(ctx) {
      if (ctx.callerUser.roles.split(' ').includes('system_admin')) return skip('the --user-token account is a system admin');
      const a = await ctx.user.get(`/users/${ctx.adminUser.id}/sessions`);
      ensure(a.status === 403 && errorId(a) === 'api.context.permissions.app_error', `got ${statusLine(a)}`);
      return pass('403 api.context.permissions.app_error');
    },
  },
  {
    id: 'rest.errors.404',
    what: 'an unknown user id is 404 (the bot answers "not found")',
    dependsOn: 'user lookup (src/core/users.ts): 404 → not found',
    notes: '§1.2, §2.3',
    kind: 'read',
    async run(ctx) {
      const a = await ctx.admin.get(`/users/${UNKNOWN_ID}`);
      ensure(a.status === 404, `got ${statusLine(a)}`);
      return pass(`404 ${errorId(a) || '(no id)'}`);
    },
  },
  {
    id: 'rest.users.get',
    what: 'GET /users/{id} parses; the caller can read itself',
    dependsOn: 'user lookup, whois',
    notes: '§2.3, §5.3',
    kind: 'read',
    async run(ctx) {
      const u = expectJson(await ctx.admin.get(`/users/${ctx.callerUser.id}`), userSchema, 'GET /users/{id}');
      ensure(u.id === ctx.callerUser.id, 'wrong user');
      expectJson(await ctx.user.get(`/users/${ctx.callerUser.id}`), userSchema, 'GET /users/{own id} as the caller');
      return pass('200; user parsed (admin and self)');
    },
  },
  {
    id: 'rest.users.lookup',
    what: 'POST /users/ids and /users/usernames drop unknown entries without an error',
    dependsOn: 'bulk user resolution (members, teams, status lists)',
    notes: '§5.3',
    kind: 'read',
    async run(ctx) {
      const byId = expectJson(await ctx.admin.post('/users/ids', [ctx.callerUser.id, UNKNOWN_ID]), z.array(userSchema), 'POST /users/ids');
      ensure(byId.length === 1 && byId[0]?.id === ctx.callerUser.id, `POST /users/ids returned ${byId.length} users`);
      const byName = expectJson(
        await ctx.admin.post('/users/usernames', [ctx.callerUser.username, 'mmops-contract-nobody']),
        z.array(userSchema),
        'POST /users/usernames',
      );
      ensure(byName.length === 1 && byName[0]?.id === ctx.callerUser.id, `POST /users/usernames returned ${byName.length} users`);
      return pass('unknown entries dropped (ids, usernames)');
    },
  },
  {
    id: 'rest.users.email',
    what: 'GET /users/email/{email} finds the user',
    dependsOn: 'user references given as an e-mail address',
    notes: '§5.3',
    kind: 'read',
    async run(ctx) {
      if (!ctx.callerUser.email) return skip('the caller has no e-mail visible to the bot');
      const u = expectJson(await ctx.admin.get(`/users/email/${encodeURIComponent(ctx.callerUser.email)}`), userSchema, 'GET /users/email/{email}');
      ensure(u.id === ctx.callerUser.id, 'another user came back');
      return pass('200; user parsed');
    },
  },
  {
    id: 'rest.users.search',
    what: 'POST /users/search {term, limit} finds a user by username',
    dependsOn: 'fuzzy user references ("did you mean")',
    notes: '§5.3',
    kind: 'read',
    async run(ctx) {
      const found = expectJson(
        await ctx.admin.post('/users/search', { term: ctx.callerUser.username, limit: 10, allow_inactive: true }),
        z.array(userSchema),
        'POST /users/search',
      );
      ensure(found.some((u) => u.id === ctx.callerUser.id), 'the caller is not among the results');
      return pass('200; caller found');
    },
  },
  {
    id: 'rest.users.list',
    what: 'GET /users?role=system_admin&active=true&page&per_page filters by role',
    dependsOn: 'health: "who are the admins", bot-rights report',
    notes: '§5.3',
    kind: 'read',
    async run(ctx) {
      const list = expectJson(
        await ctx.admin.get('/users', { role: 'system_admin', active: true, page: 0, per_page: 20 }),
        z.array(userSchema),
        'GET /users?role=',
      );
      ensure(list.length > 0, 'no system admin listed');
      ensure(list.every((u) => u.roles.split(' ').includes('system_admin')), 'a listed user lacks the role');
      ensure(list.every((u) => u.delete_at === 0), 'an inactive user was listed');
      return pass('200; only active system admins');
    },
  },
  {
    id: 'rest.users.autocomplete',
    what: 'GET /users/autocomplete?name&in_team&limit answers {users:[…]}',
    dependsOn: 'user completion in team scope',
    notes: '§5.3',
    kind: 'read',
    async run(ctx) {
      const s = needTeam(ctx);
      if (s) return s;
      const ac = expectJson(
        await ctx.admin.get('/users/autocomplete', { name: ctx.callerUser.username, in_team: ctx.team?.id, limit: 10 }),
        userAutocompleteSchema,
        'GET /users/autocomplete',
      );
      ensure(ac.users.some((u) => u.id === ctx.callerUser.id), 'the caller is not among the results');
      return pass('200; {users} parsed, caller found');
    },
  },
  {
    id: 'rest.users.sessions',
    what: 'GET /users/{id}/sessions parses and never carries a token',
    dependsOn: '/user sessions (tokens must never reach a reply)',
    notes: '§5.2',
    kind: 'read',
    async run(ctx) {
      const a = await ctx.admin.get(`/users/${ctx.callerUser.id}/sessions`);
      expectJson(a, z.array(sessionSchema), 'GET /users/{id}/sessions');
      const raw = z.array(z.object({ token: z.string().optional() }).passthrough()).parse(a.json);
      ensure(raw.every((s) => !s.token), 'a session came back with a token');
      return pass('200; sessions parsed, tokens blank');
    },
  },
  {
    id: 'rest.users.audits',
    what: 'GET /users/{id}/audits?page&per_page parses',
    dependsOn: '/user audit',
    notes: '§5.4',
    kind: 'read',
    async run(ctx) {
      // a user without audit rows gets `null` (api4/user.go getUserAudits encodes a nil slice)
      const audits = expectJson(await ctx.admin.get(`/users/${ctx.callerUser.id}/audits`, { page: 0, per_page: 5 }), z.array(auditSchema).nullable(), 'GET /users/{id}/audits');
      return pass(audits === null ? '200; null (no audit rows), read as none' : '200; audits parsed');
    },
  },
  {
    id: 'rest.users.teams',
    what: 'GET /users/{id}/teams parses',
    dependsOn: 'whois (teams of a user), scope resolution',
    notes: '§5.4',
    kind: 'read',
    async run(ctx) {
      const teams = expectJson(await ctx.admin.get(`/users/${ctx.callerUser.id}/teams`), z.array(teamSchema), 'GET /users/{id}/teams');
      if (ctx.team) ensure(teams.some((t) => t.id === ctx.team?.id), 'the shared team is missing');
      return pass('200; teams parsed');
    },
  },
  {
    id: 'rest.status',
    what: 'GET /users/{id}/status parses; POST /users/status/ids answers unknown ids as offline rows',
    dependsOn: '/status, presence in /members',
    notes: '§5.1',
    kind: 'read',
    async run(ctx) {
      expectJson(await ctx.admin.get(`/users/${ctx.callerUser.id}/status`), statusSchema, 'GET /users/{id}/status');
      const rows = expectJson(
        await ctx.admin.post('/users/status/ids', [ctx.callerUser.id, UNKNOWN_ID]),
        z.array(statusSchema),
        'POST /users/status/ids',
      );
      const unknown = rows.find((r) => r.user_id === UNKNOWN_ID);
      ensure(rows.length === 2 && unknown?.status === 'offline', `rows: ${rows.length}, unknown → ${unknown?.status ?? 'missing'}`);
      return pass('200; unknown id → offline row');
    },
  },
  {
    id: 'rest.teams',
    what: 'team by id and name, members (page, by ids dropping unknown, one) parse with scheme flags',
    dependsOn: 'team scope, permission resolver (team roles)',
    notes: '§5.5, §6.20',
    kind: 'read',
    async run(ctx) {
      const s = needTeam(ctx);
      if (s) return s;
      const team = ctx.team!;
      expectJson(await ctx.admin.get(`/teams/${team.id}`), teamSchema, 'GET /teams/{id}');
      const byName = expectJson(await ctx.admin.get(`/teams/name/${encodeURIComponent(team.name)}`), teamSchema, 'GET /teams/name/{name}');
      ensure(byName.id === team.id, 'GET /teams/name returned another team');
      expectJson(await ctx.admin.get(`/teams/${team.id}/members`, { page: 0, per_page: 5 }), z.array(teamMemberSchema), 'GET /teams/{id}/members');
      const ids = expectJson(
        await ctx.admin.post(`/teams/${team.id}/members/ids`, [ctx.callerUser.id, UNKNOWN_ID]),
        z.array(teamMemberSchema),
        'POST /teams/{id}/members/ids',
      );
      ensure(ids.length === 1, `members/ids returned ${ids.length} rows for one member and one unknown id`);
      const raw = z.object({ scheme_user: z.boolean(), scheme_admin: z.boolean() }).safeParse(
        (await ctx.admin.get(`/teams/${team.id}/members/${ctx.callerUser.id}`)).json,
      );
      ensure(raw.success, 'the team member lacks the scheme_user/scheme_admin flags');
      return pass('200; team, members and scheme flags parsed');
    },
  },
  {
    id: 'rest.channels',
    what: 'channel by id and name, members (page, by ids, one) parse',
    dependsOn: 'channel scope, permission resolver (channel roles), /members',
    notes: '§5.6',
    kind: 'read',
    async run(ctx) {
      if (!ctx.team || !ctx.channel) return skip('no shared channel');
      const ch = ctx.channel;
      expectJson(await ctx.admin.get(`/channels/${ch.id}`), channelSchema, 'GET /channels/{id}');
      const byName = expectJson(
        await ctx.admin.get(`/teams/${ctx.team.id}/channels/name/${encodeURIComponent(ch.name)}`),
        channelSchema,
        'GET /teams/{t}/channels/name/{name}',
      );
      ensure(byName.id === ch.id, 'another channel came back');
      expectJson(await ctx.admin.get(`/channels/${ch.id}/members`, { page: 0, per_page: 5 }), z.array(channelMemberSchema), 'GET /channels/{id}/members');
      const ids = expectJson(
        await ctx.admin.post(`/channels/${ch.id}/members/ids`, [ctx.callerUser.id, UNKNOWN_ID]),
        z.array(channelMemberSchema),
        'POST /channels/{id}/members/ids',
      );
      ensure(ids.length === 1, `members/ids returned ${ids.length} rows for one member and one unknown id`);
      expectJson(await ctx.admin.get(`/channels/${ch.id}/members/${ctx.callerUser.id}`), channelMemberSchema, 'GET /channels/{id}/members/{user}');
      return pass('200; channel and members parsed');
    },
  },
  {
    id: 'rest.roles',
    what: 'POST /roles/names returns stored permission lists and drops unknown names',
    dependsOn: 'permission resolver (src/core/permissions)',
    notes: '§5.9',
    kind: 'read',
    async run(ctx) {
      const roles = expectJson(
        await ctx.admin.post('/roles/names', ['system_user', 'team_user', 'channel_user', 'mmops_contract_nope']),
        z.array(roleSchema),
        'POST /roles/names',
      );
      ensure(roles.length === 3, `expected 3 roles, got ${roles.length}`);
      ensure(roles.every((r) => r.permissions.length > 0), 'a role has no permissions');
      return pass('200; 3 roles with permissions, unknown dropped');
    },
  },
  {
    id: 'rest.schemes',
    what: "GET /schemes/{id} maps a team's scheme to role names",
    dependsOn: 'permission resolver for teams with a permission scheme',
    notes: '§5.9',
    kind: 'read',
    async run(ctx) {
      const teams = expectJson(await ctx.admin.get(`/users/${ctx.adminUser.id}/teams`), z.array(teamSchema), 'GET /users/{id}/teams');
      const withScheme = teams.find((t) => t.scheme_id);
      if (!withScheme?.scheme_id) return skip('no team of the bot uses a permission scheme');
      const a = await ctx.admin.get(`/schemes/${withScheme.scheme_id}`);
      if (a.status === 501 || a.status === 403) return skip(`schemes unavailable here (${statusLine(a)})`);
      const scheme = expectJson(a, schemeSchema, 'GET /schemes/{id}');
      ensure(scheme.default_team_user_role !== '', 'default_team_user_role is empty');
      return pass('200; scheme role names parsed');
    },
  },
  {
    id: 'rest.prefs.read',
    what: 'GET /users/{id}/preferences and …/{category} parse',
    dependsOn: '/prefs',
    notes: '§5.7',
    kind: 'read',
    async run(ctx) {
      const all = expectJson(await ctx.admin.get(`/users/${ctx.callerUser.id}/preferences`), z.array(preferenceSchema), 'GET …/preferences');
      const category = all[0]?.category ?? 'display_settings';
      expectJson(await ctx.admin.get(`/users/${ctx.callerUser.id}/preferences/${encodeURIComponent(category)}`), z.array(preferenceSchema), 'GET …/preferences/{category}');
      return pass('200; preferences parsed');
    },
  },
  {
    id: 'rest.ping',
    what: 'GET /system/ping?get_server_status=true&use_rest_semantics=true parses',
    dependsOn: '/health, health watch',
    notes: '§5.8',
    kind: 'read',
    async run(ctx) {
      const p = expectJson(await ctx.admin.get('/system/ping', { get_server_status: true, use_rest_semantics: true }), pingSchema, 'GET /system/ping');
      ensure(p.status === 'OK' || p.status === 'UNHEALTHY', `status "${p.status}"`);
      return pass('200; status field present');
    },
  },
  {
    id: 'rest.cluster',
    what: 'GET /cluster/status parses (array of nodes)',
    dependsOn: '/health cluster section',
    notes: '§5.8',
    kind: 'read',
    async run(ctx) {
      const a = await ctx.admin.get('/cluster/status');
      if (a.status === 403) return skip('the bot lacks sysconsole_read_environment_high_availability');
      expectJson(a, z.array(clusterInfoSchema), 'GET /cluster/status');
      return pass('200; nodes parsed');
    },
  },
  {
    id: 'rest.saml',
    what: 'GET /saml/certificate/status parses, or 501 when SAML is unavailable',
    dependsOn: '/health SAML section',
    notes: '§5.8',
    kind: 'read',
    async run(ctx) {
      const a = await ctx.admin.get('/saml/certificate/status');
      if (a.status === 501) return pass('501 (SAML not available)');
      if (a.status === 403) return skip('the bot lacks get_saml_cert_status');
      expectJson(a, samlCertificateStatusSchema, 'GET /saml/certificate/status');
      return pass('200; certificate flags parsed');
    },
  },
  {
    id: 'rest.commands.list',
    what: 'GET /commands?team_id&custom_only=true parses (the bot finds its own registration there)',
    dependsOn: 'slash registration at start-up (src/services/slash-registration.ts)',
    notes: '§4.3',
    kind: 'read',
    async run(ctx) {
      const s = needTeam(ctx);
      if (s) return s;
      const a = await ctx.admin.get('/commands', { team_id: ctx.team?.id, custom_only: true });
      if (a.status === 501) return skip('slash commands are disabled on this server (501)');
      expectJson(a, z.array(commandSchema), 'GET /commands?custom_only=true');
      return pass('200; commands parsed');
    },
  },
  {
    id: 'rest.ratelimit.headers',
    what: 'with rate limiting on, X-RateLimit-Limit/Remaining/Reset are integers and Retry-After only comes with a 429',
    dependsOn: 'request pacing in src/mattermost/rest-api.ts and retry-policy.ts',
    notes: '§1.3',
    kind: 'read',
    async run(ctx) {
      const a = await ctx.admin.get('/users/me');
      const limit = a.headers.get('x-ratelimit-limit');
      if (limit === null) return skip('rate limiting is off on this server');
      const remaining = a.headers.get('x-ratelimit-remaining');
      const reset = a.headers.get('x-ratelimit-reset');
      const int = (v: string | null) => v !== null && /^\d+$/.test(v);
      ensure(int(limit) && int(remaining) && int(reset), `headers not integers: ${limit}/${remaining}/${reset}`);
      ensure(Number(remaining) < Number(limit), 'Remaining is not below Limit');
      ensure(a.headers.get('retry-after') === null, 'Retry-After on an allowed request');
      return pass('integers; Remaining < Limit; no Retry-After on 2xx');
    },
  },
];
