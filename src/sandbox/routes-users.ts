/**
 * Users, statuses, sessions, audits, MFA, auth, password, profile images, preferences
 * and bots (docs/mattermost-notes.md §2, §5.1–5.4, §5.7), with the server's permission checks.
 */
import { z } from 'zod';
import {
  AppError,
  appError,
  caller,
  forbidden,
  idParam,
  invalidBodyParam,
  invalidUrlParam,
  isId,
  notFound,
  ok,
  pageOf,
  paging,
  parseBody,
  statusOk,
  type RequestCtx,
  type Router,
} from './http.js';
import type { SandboxCore } from './core.js';
import { isValidRoleName } from './role-catalog.js';
import { TINY_PNG } from './seed.js';
import type { FakeStore, StoredUser } from './store.js';
import { canSeeUser, canSeeUserId, viewRestrictions, visibleTo } from './visibility.js';

const KNOWN_AUTH_SERVICES = ['gitlab', 'ldap', 'saml', 'google', 'office365', 'openid'];
const LICENSED_ROLES = ['system_user_manager', 'system_manager', 'system_read_only_admin'];

/** The path user id, resolving `me` to the caller (400 when malformed). */
export function userParam(ctx: RequestCtx, name = 'user_id'): string {
  const v = ctx.params[name];
  if (v === 'me') return caller(ctx).id;
  if (!isId(v)) throw invalidUrlParam(name);
  return v;
}

function requireUser(store: FakeStore, id: string): StoredUser {
  const u = store.users.get(id);
  if (!u) throw notFound('app.user.missing_account.const');
  return u;
}

export { canSeeUser, canSeeUserId } from './visibility.js';

/**
 * A lookup by username or email that found nobody: a caller whose view is restricted
 * gets 403 `view_members` (as for someone they may not see), others 404
 * (server/channels/api4/user.go getUserByUsername, getUserByEmail).
 */
function unknownFor(store: FakeStore, me: StoredUser): AppError {
  return viewRestrictions(store, me) ? forbidden(me.id, 'view_members') : notFound('app.user.missing_account.const');
}

function requirePermissionToUser(store: FakeStore, me: StoredUser, targetId: string): void {
  if (!store.hasPermissionToUser(me, targetId)) throw forbidden(me.id, 'edit_other_users');
}

const idList = z.array(z.string());

function matchesTerm(store: FakeStore, viewer: StoredUser, u: StoredUser, term: string, withEmail: boolean): boolean {
  const t = term.toLowerCase().replace(/^@/, '');
  if (!t) return true;
  const admin = store.isAdmin(viewer);
  const fields = [u.username, u.nickname];
  if (store.config.showFullName || admin) fields.push(u.first_name, u.last_name, `${u.first_name} ${u.last_name}`);
  if (withEmail && (store.config.showEmailAddress || admin)) fields.push(u.email);
  return fields.some((f) => {
    const lf = f.toLowerCase();
    return lf.startsWith(t) || lf.split(/[\s._-]+/).some((w) => w.startsWith(t));
  });
}

export function registerUserRoutes(r: Router, core: SandboxCore): void {
  const store = core.store;
  const view = (u: StoredUser, ctx: RequestCtx): Record<string, unknown> => store.userView(u, ctx.user);
  const visible = (ctx: RequestCtx, list: StoredUser[]): StoredUser[] => visibleTo(store, caller(ctx), list);

  // ---- lookups --------------------------------------------------------------
  r.add('GET', '/users/autocomplete', (ctx) => {
    const me = caller(ctx);
    const teamId = ctx.query.get('in_team') ?? '';
    const channelId = ctx.query.get('in_channel') ?? '';
    const name = ctx.query.get('name') ?? '';
    let limit = Number(ctx.query.get('limit') ?? '100');
    if (!Number.isInteger(limit) || limit <= 0) limit = 100;
    limit = Math.min(limit, 1000);
    if (channelId && !teamId) throw appError(500, 'api.user.autocomplete_users.missing_team_id.app_error');
    if (teamId && !store.hasTeamPermission(me, teamId, 'view_team')) throw forbidden(me.id, 'view_team');
    if (channelId && !store.hasChannelPermission(me, channelId, 'read_channel')) throw forbidden(me.id, 'read_channel');
    const pool = visible(ctx, [...store.users.values()]).filter((u) => u.delete_at === 0 && matchesTerm(store, me, u, name, false));
    if (channelId) {
      const inCh = pool.filter((u) => store.isChannelMember(channelId, u.id)).slice(0, limit);
      const out = pool.filter((u) => !store.isChannelMember(channelId, u.id) && store.isTeamMember(teamId, u.id)).slice(0, limit);
      return ok({ users: inCh.map((u) => view(u, ctx)), out_of_channel: out.map((u) => view(u, ctx)) });
    }
    const users = (teamId ? pool.filter((u) => store.isTeamMember(teamId, u.id)) : pool).slice(0, limit);
    return ok({ users: users.map((u) => view(u, ctx)) });
  });

  r.add('POST', '/users/ids', (ctx) => {
    const ids = parseBody(ctx, idList, 'user_ids');
    if (ids.length === 0) throw invalidBodyParam('user_ids');
    const since = Number(ctx.query.get('since') ?? '0');
    const users = [...new Set(ids)]
      .map((id) => store.users.get(id))
      .filter((u): u is StoredUser => !!u && (!since || u.update_at > since));
    return ok(visible(ctx, users).map((u) => view(u, ctx)));
  });

  r.add('POST', '/users/usernames', (ctx) => {
    const names = parseBody(ctx, idList, 'usernames');
    if (names.length === 0) throw invalidBodyParam('usernames');
    const users = [...new Set(names)].map((n) => store.userByUsername(n)).filter((u): u is StoredUser => !!u);
    return ok(visible(ctx, users).map((u) => view(u, ctx)));
  });

  r.add('POST', '/users/search', (ctx) => {
    const me = caller(ctx);
    const body = parseBody(
      ctx,
      z.object({
        term: z.string(),
        team_id: z.string().optional(),
        not_in_team_id: z.string().optional(),
        in_channel_id: z.string().optional(),
        not_in_channel_id: z.string().optional(),
        allow_inactive: z.boolean().optional(),
        without_team: z.boolean().optional(),
        limit: z.number().int().optional(),
        role: z.string().optional(),
      }),
      'term',
    );
    const limit = body.limit ?? 0;
    if (limit < 0 || limit > 1000) throw invalidBodyParam('limit');
    if (body.not_in_channel_id && !body.team_id) throw invalidBodyParam('team_id');
    for (const t of [body.team_id, body.not_in_team_id]) if (t && !store.hasTeamPermission(me, t, 'view_team')) throw forbidden(me.id, 'view_team');
    for (const c of [body.in_channel_id, body.not_in_channel_id]) if (c && !store.hasChannelPermission(me, c, 'read_channel')) throw forbidden(me.id, 'read_channel');
    let users = visible(ctx, [...store.users.values()]).filter((u) => matchesTerm(store, me, u, body.term, true));
    if (!body.allow_inactive) users = users.filter((u) => u.delete_at === 0);
    if (body.team_id) users = users.filter((u) => store.isTeamMember(body.team_id ?? '', u.id));
    if (body.not_in_team_id) users = users.filter((u) => !store.isTeamMember(body.not_in_team_id ?? '', u.id));
    if (body.in_channel_id) users = users.filter((u) => store.isChannelMember(body.in_channel_id ?? '', u.id));
    if (body.not_in_channel_id) users = users.filter((u) => !store.isChannelMember(body.not_in_channel_id ?? '', u.id));
    if (body.without_team) users = users.filter((u) => !store.teamMembers.some((m) => m.user_id === u.id && m.delete_at === 0));
    if (body.role) users = users.filter((u) => u.roles.split(/\s+/).includes(body.role ?? ''));
    users.sort((a, b) => a.username.localeCompare(b.username));
    return ok(users.slice(0, limit || 100).map((u) => view(u, ctx)));
  });

  r.add('GET', '/users/email/{email}', (ctx) => {
    const me = caller(ctx);
    if (!store.config.showEmailAddress && !store.isAdmin(me)) throw appError(403, 'api.user.get_user_by_email.permissions.app_error');
    const u = store.userByEmail(ctx.params.email ?? '');
    if (!u) throw unknownFor(store, me);
    if (!canSeeUser(store, me, u)) throw forbidden(me.id, 'view_members');
    return ok(view(u, ctx));
  });

  r.add('GET', '/users/username/{username}', (ctx) => {
    const me = caller(ctx);
    const u = store.userByUsername(ctx.params.username ?? '');
    if (!u) throw unknownFor(store, me);
    if (!canSeeUser(store, me, u)) throw forbidden(me.id, 'view_members');
    return ok(view(u, ctx));
  });

  // api4/status.go getUserStatusesByIds: no permission or visibility check; ids without a
  // status row (unknown ids too) come back offline (platform GetUserStatusesByIds); none
  // at all when statuses are disabled
  r.add('POST', '/users/status/ids', (ctx) => {
    const ids = parseBody(ctx, idList, 'user_ids');
    if (ids.length === 0 || ids.some((id) => !isId(id))) throw invalidBodyParam('user_ids');
    if (!store.config.enableUserStatuses) return ok([]);
    return ok(ids.map((id) => store.statusView(store.statusOf(id))));
  });

  r.add('GET', '/users', (ctx) => {
    const me = caller(ctx);
    const q = ctx.query;
    const p = paging(ctx);
    const inTeam = q.get('in_team') ?? '';
    const notInTeam = q.get('not_in_team') ?? '';
    const inChannel = q.get('in_channel') ?? '';
    const notInChannel = q.get('not_in_channel') ?? '';
    if (notInChannel && !inTeam) throw invalidUrlParam('team_id');
    if (q.get('active') === 'true' && q.get('inactive') === 'true') throw invalidUrlParam('inactive');
    for (const t of [inTeam, notInTeam]) if (t && !store.hasTeamPermission(me, t, 'view_team')) throw forbidden(me.id, 'view_team');
    for (const c of [inChannel, notInChannel]) if (c && !store.hasChannelPermission(me, c, 'read_channel')) throw forbidden(me.id, 'read_channel');
    if (q.get('without_team') === 'true' && !store.hasPermission(me, 'list_users_without_team')) throw forbidden(me.id, 'list_users_without_team');
    let users = visible(ctx, [...store.users.values()]);
    if (inTeam) users = users.filter((u) => store.isTeamMember(inTeam, u.id));
    if (notInTeam) users = users.filter((u) => !store.isTeamMember(notInTeam, u.id));
    if (inChannel) users = users.filter((u) => store.isChannelMember(inChannel, u.id));
    if (notInChannel) users = users.filter((u) => !store.isChannelMember(notInChannel, u.id));
    if (q.get('active') === 'true') users = users.filter((u) => u.delete_at === 0);
    if (q.get('inactive') === 'true') users = users.filter((u) => u.delete_at > 0);
    if (q.get('without_team') === 'true') users = users.filter((u) => !store.teamMembers.some((m) => m.user_id === u.id && m.delete_at === 0));
    const role = q.get('role');
    if (role) users = users.filter((u) => u.roles.split(/\s+/).includes(role));
    users.sort((a, b) => a.username.localeCompare(b.username));
    return ok(pageOf(users, p).map((u) => view(u, ctx)));
  });

  r.add('GET', '/users/{user_id}', (ctx) => {
    const me = caller(ctx);
    const id = userParam(ctx);
    // visibility first: a restricted caller gets 403 for an unknown id too (api4/user.go getUser)
    if (!canSeeUserId(store, me, id)) throw forbidden(me.id, 'view_members');
    return ok(view(requireUser(store, id), ctx));
  });

  r.add('GET', '/bots/{bot_user_id}', (ctx) => {
    const me = caller(ctx);
    const id = idParam(ctx, 'bot_user_id');
    const u = store.users.get(id);
    const allowed = store.hasPermission(me, 'read_others_bots') || (u?.bot_owner_id === me.id && store.hasPermission(me, 'read_bots'));
    const includeDeleted = ctx.query.get('include_deleted') === 'true';
    if (!u || !u.is_bot || !allowed || (u.delete_at > 0 && !includeDeleted)) throw notFound('store.sql_bot.get.missing.app_error');
    const bot: Record<string, unknown> = { user_id: u.id, username: u.username, owner_id: u.bot_owner_id, create_at: u.create_at, update_at: u.update_at, delete_at: u.delete_at };
    if (u.first_name) bot.display_name = u.first_name;
    if (u.bot_description) bot.description = u.bot_description;
    return ok(bot);
  });

  // ---- mutations ------------------------------------------------------------
  r.add('PUT', '/users/{user_id}/active', (ctx) => {
    const me = caller(ctx);
    const id = userParam(ctx);
    const body = parseBody(ctx, z.object({ active: z.boolean() }), 'active');
    const canEdit = store.hasPermission(me, 'sysconsole_write_user_management_users');
    if (me.id !== id && !canEdit) throw appError(403, 'api.user.update_active.permissions.app_error', `userId=${me.id}, permission=sysconsole_write_user_management_users`);
    if (me.id === id && !body.active && !store.config.enableUserDeactivation && !canEdit) throw appError(401, 'api.user.update_active.not_enable.app_error');
    const u = requireUser(store, id);
    if (store.isAdmin(u) && !store.isAdmin(me)) throw forbidden(me.id, 'manage_system');
    const now = Date.now();
    if (body.active) {
      u.delete_at = 0;
    } else if (u.delete_at === 0) {
      u.delete_at = now;
      revokeSessions(core, u.id, true);
      store.statuses.set(u.id, { ...store.statusOf(u.id), status: 'offline', manual: false });
    }
    u.update_at = now;
    core.hub.emit('user_activation_status_change', {}, {});
    core.emitUserUpdated(u);
    return statusOk();
  });

  r.add('PUT', '/users/{user_id}/roles', (ctx) => {
    const me = caller(ctx);
    const id = userParam(ctx);
    const body = parseBody(ctx, z.object({ roles: z.string() }), 'roles');
    if (!store.hasPermission(me, 'manage_roles')) throw forbidden(me.id, 'manage_roles');
    const names = body.roles.split(/\s+/).filter(Boolean);
    if (body.roles.trim() === 'system_admin' || names.some((n) => !isValidRoleName(n))) throw invalidBodyParam('roles');
    if (!store.config.licensed && names.some((n) => LICENSED_ROLES.includes(n))) {
      throw new AppError(400, 'api.user.update_user_roles.license.app_error', 'Custom permission schemes are not supported by the current license.');
    }
    const u = requireUser(store, id);
    u.roles = names.join(' ');
    u.update_at = Date.now();
    // Only `user_role_updated`, only to that user: no `user_updated`, nothing to admins or bots
    // (server/channels/app/user.go UpdateUserRolesWithUser; docs/mattermost-notes.md §6 item 24).
    core.hub.emit('user_role_updated', { user_id: u.id, roles: u.roles }, { user_id: u.id });
    return statusOk();
  });

  r.add('GET', '/users/{user_id}/sessions', (ctx) => {
    const me = caller(ctx);
    const id = userParam(ctx);
    requirePermissionToUser(store, me, id);
    const list = store.sessions.filter((s) => s.user_id === id).sort((a, b) => b.last_activity_at - a.last_activity_at);
    return ok(list.map((s) => store.sessionView(s)));
  });

  r.add('POST', '/users/{user_id}/sessions/revoke/all', (ctx) => {
    const me = caller(ctx);
    const id = userParam(ctx);
    requirePermissionToUser(store, me, id);
    revokeSessions(core, id, false);
    return statusOk();
  });

  r.add('GET', '/users/{user_id}/audits', (ctx) => {
    const me = caller(ctx);
    const id = userParam(ctx);
    requirePermissionToUser(store, me, id);
    const p = paging(ctx);
    const list = store.audits.filter((a) => a.user_id === id).sort((a, b) => b.create_at - a.create_at);
    const page = pageOf(list, p);
    // api4/user.go getUserAudits encodes the store's nil slice when there is no row (9.10:
    // json.NewEncoder(w).Encode(audits), seen on a real 9.10): the answer is `null`; 5.37's
    // gorp Select gives `[]` (seen on a real 5.37; versions.ts emptyAuditsNull)
    return ok(page.length > 0 ? page : core.profile.emptyAuditsNull ? null : []);
  });

  r.add('PUT', '/users/{user_id}/mfa', (ctx) => {
    const me = caller(ctx);
    const id = userParam(ctx);
    const body = parseBody(ctx, z.object({ activate: z.boolean(), code: z.string().optional() }), 'activate');
    requirePermissionToUser(store, me, id);
    const u = requireUser(store, id);
    if (body.activate) {
      if (!body.code) throw invalidBodyParam('code');
      if (!/^\d{6}$/.test(body.code)) throw appError(401, 'api.user.check_user_mfa.bad_code.app_error');
      u.mfa_active = true;
      u.mfa_secret = u.mfa_secret || 'SANDBOXMFASECRET';
    } else {
      u.mfa_active = false;
      u.mfa_secret = '';
    }
    u.update_at = Date.now();
    core.emitUserUpdated(u);
    return statusOk();
  });

  r.add('PUT', '/users/{user_id}/auth', (ctx) => {
    const me = caller(ctx);
    const id = userParam(ctx);
    if (!store.isAdmin(me)) throw forbidden(me.id, 'edit_other_users');
    if (!ctx.bodyIsJson || typeof ctx.body !== 'object' || ctx.body === null || Array.isArray(ctx.body)) throw invalidBodyParam('user');
    const body = z.object({ auth_data: z.string().nullish(), auth_service: z.string().nullish() }).safeParse(ctx.body);
    if (!body.success) throw invalidBodyParam('user');
    const service = body.data.auth_service ?? '';
    const data = body.data.auth_data ?? '';
    if (!data || !service || !KNOWN_AUTH_SERVICES.includes(service)) throw appError(400, 'api.user.update_user_auth.invalid_request');
    if (!store.config.enabledAuthServices.includes(service)) {
      // fake-only guard (the real server does not check this): mimics "feature disabled"
      throw new AppError(501, 'api.user.update_user_auth.service_disabled.app_error', `The ${service} sign-in method is not enabled on this server.`);
    }
    const u = requireUser(store, id);
    if ([...store.users.values()].some((o) => o.id !== u.id && o.auth_service === service && o.auth_data === data)) {
      throw new AppError(400, 'app.user.update_auth_data.email_exists.app_error', 'Switching to this sign-in method failed: an account with this identity already exists.');
    }
    u.auth_service = service;
    u.auth_data = data;
    u.update_at = Date.now();
    core.emitUserUpdated(u);
    return ok({ auth_data: data, auth_service: service });
  });

  r.add('PUT', '/users/{user_id}/password', (ctx) => {
    const me = caller(ctx);
    const id = userParam(ctx);
    const body = parseBody(ctx, z.object({ current_password: z.string().optional(), new_password: z.string() }), 'new_password');
    const u = requireUser(store, id);
    if (me.id === id) {
      if (!body.current_password) throw invalidBodyParam('current_password');
      if (u.auth_service) throw new AppError(400, 'api.user.update_password.oauth.app_error', 'Update password failed because the user is logged in through an OAuth service.');
      if (body.current_password !== u.password) throw appError(400, 'api.user.update_password.incorrect.app_error');
    } else {
      if (!store.hasPermission(me, 'sysconsole_write_user_management_users')) throw forbidden(me.id, 'sysconsole_write_user_management_users');
      if (store.isAdmin(u) && !store.isAdmin(me)) throw forbidden(me.id, 'manage_system');
    }
    if (body.new_password.length < 8 || body.new_password.length > 72) {
      throw new AppError(400, 'model.user.is_valid.pwd.app_error', 'Your password must contain at least 8 characters.');
    }
    u.password = body.new_password;
    u.last_password_update = Date.now();
    u.update_at = u.last_password_update;
    return statusOk();
  });

  const imageReply = (u: StoredUser | undefined, isDefault: boolean) => {
    const img = !isDefault && u ? store.images.get(u.id) : undefined;
    return { status: 200, bytes: img?.data ?? TINY_PNG, contentType: img?.mime ?? 'image/png', headers: { ETag: `${u?.id ?? ''}${u?.last_picture_update ?? 0}` } };
  };
  // api4/user.go getProfileImage / getDefaultProfileImage: visibility (403) before existence (404)
  const visibleImageOwner = (ctx: RequestCtx): StoredUser => {
    const me = caller(ctx);
    const id = userParam(ctx);
    if (!canSeeUserId(store, me, id)) throw forbidden(me.id, 'view_members');
    return requireUser(store, id);
  };
  r.add('GET', '/users/{user_id}/image/default', (ctx) => imageReply(visibleImageOwner(ctx), true));
  r.add('GET', '/users/{user_id}/image', (ctx) => imageReply(visibleImageOwner(ctx), false));

  r.add('POST', '/users/{user_id}/image', async (ctx) => {
    const me = caller(ctx);
    const id = userParam(ctx);
    const target = requireUser(store, id);
    const botOk = target.is_bot && (store.hasPermission(me, 'manage_others_bots') || (target.bot_owner_id === me.id && store.hasPermission(me, 'manage_bots')));
    if (!botOk) requirePermissionToUser(store, me, id);
    if (!store.config.fileDriver) throw new AppError(501, 'api.user.upload_profile_user.storage.app_error', 'Unable to upload file. Image storage is not configured.');
    if (ctx.rawBody.byteLength > store.config.maxFileSize) throw appError(413, 'api.user.upload_profile_user.too_large.app_error');
    const ct = ctx.req.headers['content-type'] ?? '';
    if (!ct.toLowerCase().startsWith('multipart/form-data')) {
      throw new AppError(400, 'api.user.upload_profile_user.parse.app_error', 'Could not parse multipart form.');
    }
    let form: FormData;
    try {
      form = await new Response(new Uint8Array(ctx.rawBody), { headers: { 'content-type': ct } }).formData();
    } catch {
      throw new AppError(400, 'api.user.upload_profile_user.parse.app_error', 'Could not parse multipart form.');
    }
    const file = form.get('image');
    if (!file || typeof file === 'string') throw appError(400, 'api.user.upload_profile_user.no_file.app_error');
    const data = new Uint8Array(await file.arrayBuffer());
    if (data.byteLength > store.config.maxFileSize) throw appError(413, 'api.user.upload_profile_user.too_large.app_error');
    const mime = sniffImage(data);
    if (!mime) throw new AppError(400, 'api.user.upload_profile_user.decode.app_error', 'Could not decode profile image.');
    store.images.set(id, { data, mime });
    target.last_picture_update = Date.now();
    target.update_at = target.last_picture_update;
    core.emitUserUpdated(target);
    return statusOk();
  });

  r.add('DELETE', '/users/{user_id}/image', (ctx) => {
    const me = caller(ctx);
    const id = userParam(ctx);
    requirePermissionToUser(store, me, id);
    const u = requireUser(store, id);
    store.images.delete(id);
    u.last_picture_update = 0;
    core.emitUserUpdated(u);
    return statusOk();
  });

  r.add('GET', '/users/{user_id}/teams', (ctx) => {
    const me = caller(ctx);
    const id = userParam(ctx);
    if (me.id !== id && !store.hasPermission(me, 'sysconsole_read_user_management_users')) throw forbidden(me.id, 'sysconsole_read_user_management_users');
    const teams = store.teamMembers
      .filter((m) => m.user_id === id && m.delete_at === 0)
      .map((m) => store.teams.get(m.team_id))
      .filter((t) => t !== undefined && t.delete_at === 0);
    return ok(teams.map((t) => t && store.teamView(t, me)));
  });

  r.add('GET', '/users/{user_id}/teams/members', (ctx) => {
    const me = caller(ctx);
    const id = userParam(ctx);
    requirePermissionToUser(store, me, id);
    return ok(store.teamMembers.filter((m) => m.user_id === id && m.delete_at === 0).map((m) => store.teamMemberView(m)));
  });

  // ---- status ---------------------------------------------------------------
  // api4/status.go getUserStatus: the same lookup for one id, so an unknown id is "offline";
  // 404 only when statuses are disabled (the list comes back empty)
  r.add('GET', '/users/{user_id}/status', (ctx) => {
    const id = userParam(ctx);
    if (!store.config.enableUserStatuses) throw notFound('api.status.user_not_found.app_error');
    return ok(store.statusView(store.statusOf(id)));
  });

  r.add('PUT', '/users/{user_id}/status', (ctx) => {
    const me = caller(ctx);
    const id = userParam(ctx);
    const body = parseBody(ctx, z.object({ user_id: z.string(), status: z.string(), dnd_end_time: z.number().optional() }), 'status');
    if (body.user_id !== id) throw invalidBodyParam('user_id');
    requirePermissionToUser(store, me, id);
    if (!['online', 'away', 'dnd', 'offline'].includes(body.status)) throw invalidBodyParam('status');
    requireUser(store, id);
    const current = store.statusOf(id);
    if (!store.config.enableUserStatuses) return ok(store.statusView(current));
    const now = Date.now();
    // before 6.1 the end time is dropped (versions.ts timedDnd)
    const timed = core.profile.timedDnd && body.status === 'dnd' && body.dnd_end_time && body.dnd_end_time > 0;
    const dndEnd = timed && body.dnd_end_time ? Math.floor(body.dnd_end_time / 60) * 60 : 0;
    const next = {
      user_id: id,
      status: body.status,
      manual: body.status !== 'online',
      last_activity_at: now,
      dnd_end_time: dndEnd,
      prev_status: body.status === 'dnd' ? current.status : undefined,
    };
    store.statuses.set(id, next);
    core.hub.emit('status_change', { status: next.status, user_id: id }, { user_id: id });
    return ok(store.statusView(next));
  });

  // ---- preferences ----------------------------------------------------------
  const prefSchema = z.array(z.object({ user_id: z.string(), category: z.string().min(1).max(32), name: z.string().max(32), value: z.string().max(20000) }));
  r.add('GET', '/users/{user_id}/preferences', (ctx) => {
    const me = caller(ctx);
    const id = userParam(ctx);
    requirePermissionToUser(store, me, id);
    return ok(store.preferences.filter((p) => p.user_id === id));
  });
  r.add('GET', '/users/{user_id}/preferences/{category}', (ctx) => {
    const me = caller(ctx);
    const id = userParam(ctx);
    requirePermissionToUser(store, me, id);
    return ok(store.preferences.filter((p) => p.user_id === id && p.category === ctx.params.category));
  });
  r.add('GET', '/users/{user_id}/preferences/{category}/name/{name}', (ctx) => {
    const me = caller(ctx);
    const id = userParam(ctx);
    requirePermissionToUser(store, me, id);
    const p = store.preferences.find((x) => x.user_id === id && x.category === ctx.params.category && x.name === ctx.params.name);
    if (!p) throw notFound('app.preference.get.app_error');
    return ok(p);
  });
  r.add('PUT', '/users/{user_id}/preferences', (ctx) => {
    const me = caller(ctx);
    const id = userParam(ctx);
    requirePermissionToUser(store, me, id);
    const prefs = parseBody(ctx, prefSchema, 'preferences');
    if (prefs.some((p) => p.user_id !== id)) throw forbidden(me.id, 'edit_other_users');
    for (const p of prefs) {
      const existing = store.preferences.find((x) => x.user_id === id && x.category === p.category && x.name === p.name);
      if (existing) existing.value = p.value;
      else store.preferences.push({ ...p });
    }
    core.hub.emit('preferences_changed', { preferences: JSON.stringify(prefs) }, { user_id: id });
    return statusOk();
  });
  r.add('POST', '/users/{user_id}/preferences/delete', (ctx) => {
    const me = caller(ctx);
    const id = userParam(ctx);
    requirePermissionToUser(store, me, id);
    const prefs = parseBody(ctx, prefSchema, 'preferences');
    if (prefs.some((p) => p.user_id !== id)) throw forbidden(me.id, 'edit_other_users');
    store.preferences = store.preferences.filter((x) => !prefs.some((p) => p.user_id === x.user_id && p.category === x.category && p.name === x.name));
    core.hub.emit('preferences_deleted', { preferences: JSON.stringify(prefs) }, { user_id: id });
    return statusOk();
  });
}

/** Deletes a user's login sessions (and, on deactivation, closes all their sockets). */
export function revokeSessions(core: SandboxCore, userId: string, everything: boolean): void {
  const store = core.store;
  store.sessions = store.sessions.filter((s) => s.user_id !== userId);
  for (const [token, rec] of store.tokens) {
    if (rec.user_id === userId && rec.kind === 'session') {
      store.tokens.delete(token);
      core.hub.closeToken(token);
    }
  }
  if (everything) core.hub.closeUser(userId);
}

function sniffImage(b: Uint8Array): string | undefined {
  if (b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) return 'image/png';
  if (b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'image/jpeg';
  if (b[0] === 0x47 && b[1] === 0x49 && b[2] === 0x46) return 'image/gif';
  if (b[0] === 0x42 && b[1] === 0x4d) return 'image/bmp';
  if (b[0] === 0x52 && b[1] === 0x49 && b[2] === 0x46 && b[3] === 0x46 && b[8] === 0x57 && b[9] === 0x45) return 'image/webp';
  return undefined;
}
