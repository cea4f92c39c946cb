/**
 * Teams, team members, invitations, channels and channel members (docs/mattermost-notes.md §5.5, §5.6),
 * with the events their mutations emit (docs/mattermost-notes.md §3.8).
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
import { clientPost } from './post-actions.js';
import { canSeeUser, userParam } from './routes-users.js';
import { canSeeUserId, passes, viewRestrictions } from './visibility.js';
import { channelMemberRow, type FakeStore, type StoredChannel, type StoredScheme, type StoredTeam, type StoredTeamMember, type StoredUser } from './store.js';

/** server/channels/store/sqlstore/post_store.go GetPostsSince: `LIMIT 1000` */
export const POSTS_SINCE_LIMIT = 1_000;

function requireTeam(store: FakeStore, id: string): StoredTeam {
  const t = store.teams.get(id);
  if (!t) throw notFound('app.team.get.find.app_error');
  return t;
}

function requireChannel(store: FakeStore, id: string): StoredChannel {
  const c = store.channels.get(id);
  if (!c) throw notFound('app.channel.get.existing.app_error');
  return c;
}

function requireTeamPerm(store: FakeStore, me: StoredUser, teamId: string, perm: string): void {
  if (!store.hasTeamPermission(me, teamId, perm)) throw forbidden(me.id, perm);
}

function requireChannelPerm(store: FakeStore, me: StoredUser, channelId: string, perm: string): void {
  if (!store.hasChannelPermission(me, channelId, perm)) throw forbidden(me.id, perm);
}

/** The role names a member's scheme flags stand for: the scheme's own, else the defaults (GetSchemeRolesForTeam / GetSchemeRolesForChannel). */
function schemeRoleNames(store: FakeStore, level: 'team' | 'channel', id: string): { guest: string; user: string; admin: string } {
  let scheme: StoredScheme | undefined;
  if (level === 'team') {
    const team = store.teams.get(id);
    scheme = team?.scheme_id ? store.schemes.get(team.scheme_id) : undefined;
  } else {
    const channel = store.channels.get(id);
    scheme = channel?.scheme_id ? store.schemes.get(channel.scheme_id) : undefined;
    if (!scheme && channel?.team_id) {
      const team = store.teams.get(channel.team_id);
      scheme = team?.scheme_id ? store.schemes.get(team.scheme_id) : undefined;
    }
  }
  return {
    guest: (level === 'team' ? scheme?.default_team_guest_role : scheme?.default_channel_guest_role) || `${level}_guest`,
    user: (level === 'team' ? scheme?.default_team_user_role : scheme?.default_channel_user_role) || `${level}_user`,
    admin: (level === 'team' ? scheme?.default_team_admin_role : scheme?.default_channel_admin_role) || `${level}_admin`,
  };
}

/**
 * Splits a roles string into scheme flags and explicit roles, as 5.37 `app/team.go`
 * UpdateTeamMemberRoles and `app/channel.go` UpdateChannelMemberRoles do (the same in 9.10
 * `server/channels/app/`): a scheme-managed role is accepted only as one of the roles of the
 * scheme of that team (or channel); in a team with a scheme the default names `team_user`,
 * `team_admin` are someone else's scheme roles and are refused with 400 `…scheme_role.app_error`.
 */
function parseMemberRoles(store: FakeStore, roles: string, level: 'team' | 'channel', id: string): { user: boolean; admin: boolean; guest: boolean; explicit: string[] } {
  const out = { user: false, admin: false, guest: false, explicit: [] as string[] };
  const names = schemeRoleNames(store, level, id);
  for (const name of roles.split(/\s+/).filter(Boolean)) {
    const role = store.roles.get(name);
    if (!role) throw new AppError(400, 'api.roles.invalid_role_name.app_error', `Invalid role name: ${name}`);
    if (!role.scheme_managed) out.explicit.push(name);
    else if (name === names.admin) out.admin = true;
    else if (name === names.user) out.user = true;
    else if (name === names.guest) out.guest = true;
    else {
      const what = level === 'team' ? 'update_team_member_roles' : 'update_channel_member_roles';
      throw new AppError(400, `api.channel.${what}.scheme_role.app_error`, 'The provided role is managed by a Scheme and therefore cannot be applied directly to a Team Member.', `role_name=${name}`);
    }
  }
  if (out.guest && (out.user || out.admin)) {
    throw new AppError(400, `api.${level}.update_${level}_member_roles.guest_and_user.app_error`, 'Invalid: a member cannot be both a guest and a user.');
  }
  return out;
}

export function registerTeamRoutes(r: Router, core: SandboxCore): void {
  const store = core.store;

  const canReadTeam = (me: StoredUser, t: StoredTeam): boolean =>
    (t.allow_open_invite && t.type === 'O') || store.hasTeamPermission(me, t.id, 'view_team');

  r.add('GET', '/teams', (ctx) => {
    const me = caller(ctx);
    const p = paging(ctx);
    const all = [...store.teams.values()].filter((t) => t.delete_at === 0);
    const list = store.isAdmin(me) ? all : all.filter((t) => (t.allow_open_invite && t.type === 'O') || store.isTeamMember(t.id, me.id));
    return ok(pageOf(list, p).map((t) => store.teamView(t, me)));
  });

  r.add('GET', '/teams/name/{name}', (ctx) => {
    const me = caller(ctx);
    const t = store.teamByName(ctx.params.name ?? '');
    if (!t) throw notFound('app.team.get_by_name.missing.app_error');
    if (!canReadTeam(me, t)) throw forbidden(me.id, 'view_team');
    return ok(store.teamView(t, me));
  });

  r.add('GET', '/teams/{team_id}', (ctx) => {
    const me = caller(ctx);
    const t = requireTeam(store, idParam(ctx, 'team_id'));
    if (!canReadTeam(me, t)) throw forbidden(me.id, 'view_team');
    return ok(store.teamView(t, me));
  });

  r.add('GET', '/teams/{team_id}/members', (ctx) => {
    const me = caller(ctx);
    const teamId = idParam(ctx, 'team_id');
    requireTeamPerm(store, me, teamId, 'view_team');
    const p = paging(ctx);
    // api4/team.go getTeamMembers: the list is cut to the people the caller may see
    const restrictions = viewRestrictions(store, me);
    let members = store.teamMembers.filter((m) => m.team_id === teamId && m.delete_at === 0 && (m.user_id === me.id || passes(store, restrictions, m.user_id)));
    if (ctx.query.get('exclude_deleted_users') === 'true') members = members.filter((m) => (store.users.get(m.user_id)?.delete_at ?? 1) === 0);
    if (ctx.query.get('sort') === 'Username') {
      members = [...members].sort((a, b) => (store.users.get(a.user_id)?.username ?? '').localeCompare(store.users.get(b.user_id)?.username ?? ''));
    }
    return ok(pageOf(members, p).map((m) => store.teamMemberView(m)));
  });

  r.add('POST', '/teams/{team_id}/members/ids', (ctx) => {
    const me = caller(ctx);
    const teamId = idParam(ctx, 'team_id');
    const ids = parseBody(ctx, z.array(z.string()), 'user_ids');
    if (ids.length === 0) throw invalidBodyParam('user_ids');
    requireTeamPerm(store, me, teamId, 'view_team');
    // api4/team.go getTeamMembersByIds: restricted like the list
    const restrictions = viewRestrictions(store, me);
    const members = [...new Set(ids)]
      .map((id) => store.teamMember(teamId, id))
      .filter((m): m is StoredTeamMember => !!m && (m.user_id === me.id || passes(store, restrictions, m.user_id)));
    return ok(members.map((m) => store.teamMemberView(m)));
  });

  r.add('POST', '/teams/{team_id}/members/batch', (ctx) => {
    const me = caller(ctx);
    const teamId = idParam(ctx, 'team_id');
    const rows = parseBody(ctx, z.array(z.object({ team_id: z.string(), user_id: z.string() })), 'members');
    if (rows.length === 0 || rows.length > 256) throw invalidBodyParam('members');
    if (rows.some((m) => m.team_id !== teamId)) throw invalidBodyParam('team_id');
    requireTeam(store, teamId);
    requireTeamPerm(store, me, teamId, 'add_user_to_team');
    const graceful = ctx.query.get('graceful') === 'true';
    const results: Array<{ user_id: string; member: Record<string, unknown> | null; error: Record<string, unknown> | null }> = [];
    for (const row of rows) {
      const user = isId(row.user_id) ? store.users.get(row.user_id) : undefined;
      if (!user) {
        const err = appError(404, 'app.user.missing_account.const');
        if (!graceful) throw err;
        results.push({ user_id: row.user_id, member: null, error: { id: err.id, message: err.message, detailed_error: '', status_code: 404 } });
        continue;
      }
      core.addTeamMember(teamId, user.id);
      const m = store.teamMember(teamId, user.id);
      results.push({ user_id: user.id, member: m ? store.teamMemberView(m) : null, error: null });
    }
    return ok(graceful ? results : results.map((x) => x.member), 201);
  });

  r.add('POST', '/teams/{team_id}/members', (ctx) => {
    const me = caller(ctx);
    const teamId = idParam(ctx, 'team_id');
    const body = parseBody(ctx, z.object({ team_id: z.string(), user_id: z.string() }), 'team_member');
    if (body.team_id !== teamId) throw invalidBodyParam('team_id');
    const team = requireTeam(store, teamId);
    if (body.user_id === me.id) {
      const perm = team.type === 'O' && team.allow_open_invite ? 'join_public_teams' : 'join_private_teams';
      if (!store.hasPermission(me, perm)) throw forbidden(me.id, perm);
    } else {
      requireTeamPerm(store, me, teamId, 'add_user_to_team');
    }
    const user = store.users.get(body.user_id);
    if (!user) throw notFound('app.user.missing_account.const');
    core.addTeamMember(teamId, user.id);
    const m = store.teamMember(teamId, user.id);
    return ok(m ? store.teamMemberView(m) : null, 201);
  });

  r.add('GET', '/teams/{team_id}/members/{user_id}', (ctx) => {
    const me = caller(ctx);
    const teamId = idParam(ctx, 'team_id');
    const userId = userParam(ctx);
    requireTeamPerm(store, me, teamId, 'view_team');
    // api4/team.go getTeamMember: visibility (403, unknown ids included) before membership (404)
    if (!canSeeUserId(store, me, userId)) throw forbidden(me.id, 'view_members');
    const m = store.teamMember(teamId, userId);
    if (!m) throw notFound('app.team.get_member.missing.app_error');
    return ok(store.teamMemberView(m));
  });

  /** app/team.go LeaveTeam: out of the team's channels (not DMs/GMs), then the membership ends. */
  const leaveTeam = (teamId: string, userId: string, removerId: string, m: StoredTeamMember): void => {
    for (const ch of [...store.channels.values()].filter((c) => c.team_id === teamId)) {
      if (!store.isChannelMember(ch.id, userId)) continue;
      store.channelMembers = store.channelMembers.filter((x) => !(x.channel_id === ch.id && x.user_id === userId));
      core.hub.emit('user_removed', { user_id: userId, remover_id: removerId }, { channel_id: ch.id });
      core.hub.emit('user_removed', { channel_id: ch.id, remover_id: removerId }, { user_id: userId });
    }
    core.hub.emit('leave_team', { user_id: userId, team_id: teamId }, { team_id: teamId, omit_users: { [userId]: true } });
    m.delete_at = Date.now();
    core.hub.emit('leave_team', { user_id: userId, team_id: teamId }, { user_id: userId });
  };

  // api4/team.go removeTeamMember, app/team.go RemoveUserFromTeam → LeaveTeam, in that order:
  // someone else needs remove_user_from_team; a group-constrained team refuses removing
  // anyone but oneself or a bot; someone who never was a member is a 400
  r.add('DELETE', '/teams/{team_id}/members/{user_id}', (ctx) => {
    const me = caller(ctx);
    const teamId = idParam(ctx, 'team_id');
    const userId = userParam(ctx);
    if (me.id !== userId) requireTeamPerm(store, me, teamId, 'remove_user_from_team');
    const team = requireTeam(store, teamId);
    const user = store.users.get(userId);
    if (!user) throw notFound('app.user.missing_account.const');
    if (team.group_constrained === true && userId !== me.id && !user.is_bot) throw appError(400, 'api.team.remove_member.group_constrained.app_error');
    // store GetMember does not look at DeleteAt: someone who left before is "removed" again (200)
    const m = store.teamMembers.find((x) => x.team_id === teamId && x.user_id === userId);
    if (!m) throw appError(400, 'api.team.remove_user_from_team.missing.app_error');
    leaveTeam(teamId, userId, me.id, m);
    return statusOk();
  });

  r.add('PUT', '/teams/{team_id}/members/{user_id}/roles', (ctx) => {
    const me = caller(ctx);
    const teamId = idParam(ctx, 'team_id');
    const userId = userParam(ctx);
    const body = parseBody(ctx, z.object({ roles: z.string() }), 'team_member_roles');
    requireTeamPerm(store, me, teamId, 'manage_team_roles');
    const m = store.teamMember(teamId, userId);
    if (!m) throw notFound('app.team.get_member.missing.app_error');
    const parsed = parseMemberRoles(store, body.roles, 'team', teamId);
    if (m.scheme_guest && (parsed.user || parsed.admin)) {
      throw new AppError(400, 'api.team.update_team_member_roles.guest_and_user.app_error', 'Invalid team member update: A guest cannot be made team member or team admin, please promote as a user first.');
    }
    m.scheme_user = parsed.user;
    m.scheme_admin = parsed.admin;
    m.scheme_guest = parsed.guest || (m.scheme_guest && !parsed.user && !parsed.admin);
    m.explicit_roles = parsed.explicit.join(' ');
    core.hub.emit('memberrole_updated', { member: JSON.stringify(store.teamMemberView(m)) }, { user_id: userId });
    return statusOk();
  });

  r.add('PUT', '/teams/{team_id}/members/{user_id}/schemeRoles', (ctx) => {
    const me = caller(ctx);
    const teamId = idParam(ctx, 'team_id');
    const userId = userParam(ctx);
    const body = parseBody(ctx, z.object({ scheme_admin: z.boolean(), scheme_user: z.boolean(), scheme_guest: z.boolean().optional() }), 'scheme_member_roles');
    requireTeamPerm(store, me, teamId, 'manage_team_roles');
    const m = store.teamMember(teamId, userId);
    if (!m) throw notFound('app.team.get_member.missing.app_error');
    // 5.37 app/team.go UpdateTeamMemberSchemeRoles: any team, with or without a scheme; a
    // missing scheme_guest decodes as false (model/scheme.go SchemeRolesFromJson)
    const guest = body.scheme_guest ?? false;
    if (guest && body.scheme_user) throw new AppError(400, 'api.team.update_team_member_roles.guest_and_user.app_error', 'Invalid team member update: A guest cannot be made team member or team admin, please promote as a user first.');
    m.scheme_admin = body.scheme_admin;
    m.scheme_user = body.scheme_user;
    m.scheme_guest = guest;
    core.hub.emit('memberrole_updated', { member: JSON.stringify(store.teamMemberView(m)) }, { user_id: userId });
    return statusOk();
  });

  r.add('POST', '/teams/{team_id}/invite/email', (ctx) => {
    const me = caller(ctx);
    const teamId = idParam(ctx, 'team_id');
    const team = requireTeam(store, teamId);
    if (!store.hasTeamPermission(me, teamId, 'invite_user') || !store.hasTeamPermission(me, teamId, 'add_user_to_team')) throw forbidden(me.id, 'invite_user');
    if (!store.config.enableEmailInvitations) throw appError(501, 'api.team.invite_members.disabled.app_error');
    const body = parseBody(ctx, z.union([z.array(z.string()), z.object({ emails: z.array(z.string()), channelIds: z.array(z.string()).optional(), message: z.string().optional() })]), 'user_email');
    const emails = Array.isArray(body) ? body : body.emails;
    if (emails.length === 0) throw invalidBodyParam('user_email');
    const graceful = ctx.query.get('graceful') === 'true';
    const allowed = team.allowed_domains.split(/[\s,]+/).filter(Boolean).map((d) => d.toLowerCase());
    const rows = emails.map((email) => {
      let error: Record<string, unknown> | null = null;
      if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email)) {
        error = { id: 'api.team.invite_members.invalid_email.app_error', message: `The following email addresses are invalid: ${email}`, detailed_error: '', status_code: 400 };
      } else if (allowed.length && !allowed.includes(email.split('@')[1]?.toLowerCase() ?? '')) {
        error = { id: 'api.team.invite_members.invalid_email.app_error', message: `The following email addresses do not belong to an accepted domain: ${email}`, detailed_error: '', status_code: 400 };
      }
      return { email, error };
    });
    if (!graceful) {
      const bad = rows.find((x) => x.error);
      if (bad?.error) throw new AppError(400, 'api.team.invite_members.invalid_email.app_error', String(bad.error.message));
    }
    for (const row of rows) if (!row.error) store.invitations.push({ team_id: teamId, email: row.email, invited_by: me.id, at: Date.now() });
    return graceful ? ok(rows) : statusOk();
  });

  // ---- channels -------------------------------------------------------------
  const canReadChannel = (me: StoredUser, ch: StoredChannel): boolean =>
    ch.type === 'O'
      ? store.hasTeamPermission(me, ch.team_id, 'read_public_channel') || store.hasChannelPermission(me, ch.id, 'read_channel')
      : store.hasChannelPermission(me, ch.id, 'read_channel');

  r.add('GET', '/channels/{channel_id}', (ctx) => {
    const me = caller(ctx);
    const ch = requireChannel(store, idParam(ctx, 'channel_id'));
    if (!canReadChannel(me, ch)) throw forbidden(me.id, 'read_channel');
    return ok({ ...ch });
  });

  r.add('GET', '/teams/{team_id}/channels/name/{channel_name}', (ctx) => {
    const me = caller(ctx);
    const teamId = idParam(ctx, 'team_id');
    const ch = store.channelByName(teamId, ctx.params.channel_name ?? '');
    const includeDeleted = ctx.query.get('include_deleted') === 'true';
    // private channels the caller cannot read are reported as missing (no existence leak)
    if (!ch || (ch.delete_at > 0 && !includeDeleted) || (ch.type !== 'O' && !store.hasChannelPermission(me, ch.id, 'read_channel'))) {
      throw notFound('app.channel.get_by_name.missing.app_error');
    }
    if (!canReadChannel(me, ch)) throw forbidden(me.id, 'read_channel');
    return ok({ ...ch });
  });

  r.add('GET', '/teams/{team_id}/channels', (ctx) => {
    const me = caller(ctx);
    const teamId = idParam(ctx, 'team_id');
    requireTeamPerm(store, me, teamId, 'list_team_channels');
    const p = paging(ctx);
    const list = [...store.channels.values()].filter((c) => c.team_id === teamId && c.type === 'O' && c.delete_at === 0);
    return ok(pageOf(list, p).map((c) => ({ ...c })));
  });

  r.add('GET', '/channels/{channel_id}/members', (ctx) => {
    const me = caller(ctx);
    const channelId = idParam(ctx, 'channel_id');
    requireChannel(store, channelId);
    requireChannelPerm(store, me, channelId, 'read_channel');
    const p = paging(ctx);
    return ok(pageOf(store.channelMembers.filter((m) => m.channel_id === channelId), p).map((m) => store.channelMemberView(m)));
  });

  r.add('POST', '/channels/{channel_id}/members/ids', (ctx) => {
    const me = caller(ctx);
    const channelId = idParam(ctx, 'channel_id');
    const ids = parseBody(ctx, z.array(z.string()), 'user_ids');
    if (ids.length === 0) throw invalidBodyParam('user_ids');
    requireChannelPerm(store, me, channelId, 'read_channel');
    const rows = [...new Set(ids)].map((id) => store.channelMember(channelId, id)).filter((m) => m !== undefined);
    return ok(rows.map((m) => store.channelMemberView(m)));
  });

  r.add('GET', '/channels/{channel_id}/members/{user_id}', (ctx) => {
    const me = caller(ctx);
    const channelId = idParam(ctx, 'channel_id');
    const userId = userParam(ctx);
    requireChannelPerm(store, me, channelId, 'read_channel');
    const m = store.channelMember(channelId, userId);
    if (!m) throw notFound('app.channel.get_member.missing.app_error');
    return ok(store.channelMemberView(m));
  });

  // api4/channel.go addChannelMember, app/channel.go AddChannelMember → AddUserToChannel, in
  // that order. One user_id per call (9.10 takes no list). Joining oneself: a public channel
  // needs join_public_channels in the team, a private one manage_private_channel_members;
  // already a member: nothing to check. Someone else: manage_{public,private}_channel_members.
  // Nothing refuses an archived channel here (the server does not either).
  r.add('POST', '/channels/{channel_id}/members', (ctx) => {
    const me = caller(ctx);
    const channelId = idParam(ctx, 'channel_id');
    const body = parseBody(ctx, z.object({ user_id: z.string() }), 'user_id');
    if (!isId(body.user_id)) throw invalidBodyParam('user_id');
    const ch = requireChannel(store, channelId);
    if (ch.type === 'D' || ch.type === 'G') throw appError(400, 'api.channel.add_user_to_channel.type.app_error');
    const existing = store.channelMember(channelId, body.user_id);
    const self = body.user_id === me.id;
    if (!(self && existing)) {
      if (self && ch.type === 'O') {
        if (!store.hasTeamPermission(me, ch.team_id, 'join_public_channels')) throw forbidden(me.id, 'join_public_channels');
      } else {
        requireChannelPerm(store, me, channelId, ch.type === 'O' ? 'manage_public_channel_members' : 'manage_private_channel_members');
      }
    }
    // FilterNonGroupChannelMembers: the sandbox has no synced groups, so nobody passes
    if (ch.group_constrained === true && !existing) throw appError(400, 'api.channel.add_members.user_denied');
    if (existing) return ok(store.channelMemberView(existing), 201);
    const user = store.users.get(body.user_id);
    if (!user) throw notFound('app.user.missing_account.const');
    if (user.delete_at > 0) throw appError(403, 'app.channel.add_member.deleted_user.app_error');
    if (ch.team_id) {
      const tm = store.teamMembers.find((x) => x.team_id === ch.team_id && x.user_id === user.id);
      if (!tm) throw notFound('app.team.get_member.missing.app_error');
      if (tm.delete_at > 0) throw appError(400, 'api.channel.add_user.to.channel.failed.deleted.app_error');
    }
    const m = channelMemberRow(channelId, user.id, user.roles.includes('system_guest') ? 'guest' : 'user', Date.now());
    store.channelMembers.push(m);
    core.hub.emit('user_added', { user_id: user.id, team_id: ch.team_id }, { channel_id: channelId, omit_users: { [user.id]: true } });
    core.hub.emit('user_added', { user_id: user.id, team_id: ch.team_id }, { user_id: user.id, channel_id: channelId });
    return ok(store.channelMemberView(m), 201);
  });

  // api4/channel.go removeChannelMember, app/channel.go removeUserFromChannel, in that order:
  // only open and private channels; a group-constrained one refuses removing anyone but
  // oneself or a bot; someone else needs manage_{public,private}_channel_members; nobody but
  // a guest leaves the default channel (town-square); a guest out of their last channel of
  // the team leaves the team too
  r.add('DELETE', '/channels/{channel_id}/members/{user_id}', (ctx) => {
    const me = caller(ctx);
    const channelId = idParam(ctx, 'channel_id');
    const userId = userParam(ctx);
    const ch = requireChannel(store, channelId);
    const user = store.users.get(userId);
    if (!user) throw notFound('app.user.missing_account.const');
    if (ch.type !== 'O' && ch.type !== 'P') throw appError(400, 'api.channel.remove_channel_member.type.app_error');
    if (ch.group_constrained === true && userId !== me.id && !user.is_bot) throw appError(400, 'api.channel.remove_member.group_constrained.app_error');
    if (me.id !== userId) requireChannelPerm(store, me, channelId, ch.type === 'O' ? 'manage_public_channel_members' : 'manage_private_channel_members');
    const guest = user.roles.split(/\s+/).includes('system_guest');
    if (ch.name === 'town-square' && !guest) throw appError(400, 'api.channel.remove.default.app_error');
    if (!store.channelMember(channelId, userId)) throw notFound('app.channel.get_member.missing.app_error');
    store.channelMembers = store.channelMembers.filter((m) => !(m.channel_id === channelId && m.user_id === userId));
    core.hub.emit('user_removed', { user_id: userId, remover_id: me.id }, { channel_id: channelId });
    core.hub.emit('user_removed', { channel_id: channelId, remover_id: me.id }, { user_id: userId });
    if (guest && ch.team_id) {
      const left = store.channelMembers.some((m) => m.user_id === userId && store.channels.get(m.channel_id)?.team_id === ch.team_id);
      const tm = store.teamMember(ch.team_id, userId);
      if (!left && tm) leaveTeam(ch.team_id, userId, me.id, tm);
    }
    return statusOk();
  });

  const updateChannelMember = (ctx: RequestCtx, apply: (m: NonNullable<ReturnType<FakeStore['channelMember']>>) => void) => {
    const me = caller(ctx);
    const channelId = idParam(ctx, 'channel_id');
    const userId = userParam(ctx);
    requireChannel(store, channelId);
    requireChannelPerm(store, me, channelId, 'manage_channel_roles');
    const m = store.channelMember(channelId, userId);
    if (!m) throw notFound('app.channel.get_member.missing.app_error');
    apply(m);
    m.last_update_at = Date.now();
    core.hub.emit('channel_member_updated', { channelMember: JSON.stringify(store.channelMemberView(m)) }, { user_id: userId });
    return statusOk();
  };
  r.add('PUT', '/channels/{channel_id}/members/{user_id}/roles', (ctx) => {
    const body = parseBody(ctx, z.object({ roles: z.string() }), 'roles');
    const parsed = parseMemberRoles(store, body.roles, 'channel', idParam(ctx, 'channel_id'));
    return updateChannelMember(ctx, (m) => {
      m.scheme_user = parsed.user;
      m.scheme_admin = parsed.admin;
      m.scheme_guest = parsed.guest;
      m.explicit_roles = parsed.explicit.join(' ');
    });
  });
  r.add('PUT', '/channels/{channel_id}/members/{user_id}/schemeRoles', (ctx) => {
    const body = parseBody(ctx, z.object({ scheme_admin: z.boolean(), scheme_user: z.boolean() }), 'scheme_member_roles');
    return updateChannelMember(ctx, (m) => {
      m.scheme_admin = body.scheme_admin;
      m.scheme_user = body.scheme_user;
    });
  });

  r.add('POST', '/channels/direct', (ctx) => {
    const me = caller(ctx);
    const ids = parseBody(ctx, z.array(z.string()), 'user_ids');
    if (ids.length < 1 || ids.length > 2 || ids.some((id) => !isId(id))) throw invalidBodyParam('user_ids');
    const [a, b] = ids.length === 1 ? [ids[0] ?? '', ids[0] ?? ''] : [ids[0] ?? '', ids[1] ?? ''];
    if (!store.hasPermission(me, 'create_direct_channel')) throw forbidden(me.id, 'create_direct_channel');
    if (a !== me.id && b !== me.id && !store.isAdmin(me)) throw forbidden(me.id, 'manage_system');
    const ua = store.users.get(a);
    const ub = store.users.get(b);
    if (!ua || !ub) throw notFound('app.user.missing_account.const');
    const other = ua.id === me.id ? ub : ua;
    if (!canSeeUser(store, me, other)) throw forbidden(me.id, 'view_members');
    const { channel } = core.directChannel(ua, ub.id, me.id);
    return ok({ ...channel }, 201);
  });

  // 5.37 api4/channel.go createGroupChannel: the caller is added if missing
  r.add('POST', '/channels/group', (ctx) => {
    const me = caller(ctx);
    const ids = parseBody(ctx, z.array(z.string()), 'user_ids');
    if (ids.length === 0) throw invalidBodyParam('user_ids');
    if (ids.some((id) => !isId(id))) throw invalidBodyParam('user_id');
    if (!store.hasPermission(me, 'create_group_channel')) throw forbidden(me.id, 'create_group_channel');
    const all = ids.includes(me.id) ? ids : [...ids, me.id];
    for (const id of all) {
      const u = store.users.get(id);
      if (id !== me.id && u && !canSeeUser(store, me, u)) throw forbidden(me.id, 'view_members');
    }
    const { channel } = core.groupChannel(all, me.id);
    return ok({ ...channel }, 201);
  });

  // api4/post.go getPostsForChannel: `since` (> 0) wins over before/after/page; it goes
  // to the store's GetPostsSince, which takes at most 1,000 rows with no ORDER BY (an
  // arbitrary subset; here: the oldest stored) plus their thread roots, and does not
  // filter deleted posts. `order` lists only rows updated after `since`, newest first.
  r.add('GET', '/channels/{channel_id}/posts', (ctx) => {
    const me = caller(ctx);
    const channelId = idParam(ctx, 'channel_id');
    requireChannel(store, channelId);
    requireChannelPerm(store, me, channelId, 'read_channel_content');
    const byCreate = (x: { create_at: number }, y: { create_at: number }) => y.create_at - x.create_at;
    const sinceText = ctx.query.get('since') ?? '';
    if (sinceText !== '' && !/^-?\d+$/.test(sinceText)) throw invalidUrlParam('since');
    const since = sinceText === '' ? 0 : Number(sinceText);
    if (since > 0) {
      const rows = store.posts.filter((x) => x.channel_id === channelId && x.update_at > since).slice(0, POSTS_SINCE_LIMIT);
      const roots = new Set(rows.map((x) => x.root_id).filter((id) => id !== ''));
      const withRoots = [...rows, ...store.posts.filter((x) => roots.has(x.id) && !rows.includes(x))];
      const order = [...rows].sort(byCreate).map((x) => x.id);
      return ok({ order, posts: Object.fromEntries(withRoots.map((x) => [x.id, clientPost(x)])), next_post_id: '', prev_post_id: '', has_next: false });
    }
    const p = paging(ctx);
    const live = store.posts.filter((x) => x.channel_id === channelId && x.delete_at === 0).sort(byCreate);
    const before = ctx.query.get('before') ?? '';
    const after = ctx.query.get('after') ?? '';
    let list: typeof live;
    if (before !== '' || after !== '') {
      const anchorId = before || after;
      if (!isId(anchorId)) throw invalidUrlParam(before ? 'before' : 'after');
      const anchor = store.posts.find((x) => x.id === anchorId);
      const at = anchor?.create_at ?? 0;
      const side = before ? live.filter((x) => x.create_at < at) : live.filter((x) => x.create_at > at).reverse();
      list = side.slice(p.page * p.perPage, (p.page + 1) * p.perPage);
      if (after) list.reverse();
    } else {
      list = pageOf(live, p);
    }
    return ok({ order: list.map((x) => x.id), posts: Object.fromEntries(list.map((x) => [x.id, clientPost(x)])), next_post_id: '', prev_post_id: '', has_next: false });
  });

  // api4/channel.go getChannelsForUser: every channel of the user in every team, DMs and
  // group messages included (archived ones with include_deleted=true). The server streams
  // the list and writes `[` before its first page query: a user with no channel at all
  // gets status 200 and `[` followed by the 404 AppError body, which is not JSON.
  // Added in 6.1: older servers answer web/web.go Handle404 (versions.ts).
  if (core.profile.userChannelsRoute) r.add('GET', '/users/{user_id}/channels', (ctx) => {
    const me = caller(ctx);
    const userId = userParam(ctx);
    if (!store.hasPermissionToUser(me, userId)) throw forbidden(me.id, 'edit_other_users');
    const includeDeleted = ctx.query.get('include_deleted') === 'true';
    const list = [...store.channels.values()].filter((c) => (includeDeleted || c.delete_at === 0) && store.isChannelMember(c.id, userId));
    if (list.length === 0) {
      const body = { id: 'app.channel.get_channels.not_found.app_error', message: 'No channels were found.', detailed_error: '', request_id: ctx.requestId, status_code: 404 };
      return { status: 200, text: `[${JSON.stringify(body)}`, contentType: 'application/json' };
    }
    return ok(list.map((c) => ({ ...c })));
  });

  // api4/channel.go getChannelsForTeamForUser (5.37 and 9.10): the user's channels of that
  // team plus every DM and group message (sqlstore GetChannels: `TeamId = ? OR TeamId = ''`),
  // archived ones only with include_deleted=true; the caller needs view_team there.
  r.add('GET', '/users/{user_id}/teams/{team_id}/channels', (ctx) => {
    const me = caller(ctx);
    const userId = userParam(ctx);
    const teamId = idParam(ctx, 'team_id');
    if (!store.hasPermissionToUser(me, userId)) throw forbidden(me.id, 'edit_other_users');
    requireTeamPerm(store, me, teamId, 'view_team');
    const list = [...store.channels.values()].filter((c) => (ctx.query.get('include_deleted') === 'true' || c.delete_at === 0) && (c.team_id === teamId || c.team_id === '') && store.isChannelMember(c.id, userId));
    // sqlstore/channel_store.go GetChannels (5.37 and 9.10): no row → store.ErrNotFound →
    // app/channel.go GetChannelsForUser 404 app.channel.get_channels.not_found.app_error
    if (list.length === 0) throw notFound('app.channel.get_channels.not_found.app_error');
    return ok(list.map((c) => ({ ...c })));
  });
}
