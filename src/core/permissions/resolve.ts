/**
 * Pure permission resolution, mirroring the Mattermost server
 * (`app/authorization.go` and the store's member → roles mapping).
 *
 * A user's *effective roles* come from three places:
 * - system roles: `user.roles`, split on spaces;
 * - team roles: the team member's explicit roles plus the roles its scheme flags
 *   (`scheme_guest` / `scheme_user` / `scheme_admin`) stand for, mapped through the
 *   team's scheme (defaults `team_guest` / `team_user` / `team_admin`);
 * - channel roles: the same for the channel member, mapped through the channel's scheme,
 *   else its team's scheme's channel roles, else `channel_guest` / `channel_user` /
 *   `channel_admin`.
 *
 * A permission holds when any effective role at an applicable level lists it. The server's
 * order (channel roles, then `manage_system`, then team roles, then system roles) only
 * matters for which level answers first; the outcome is the union, reported by
 * {@link grantedBy} for logs.
 *
 * A role grants exactly the permissions its stored definition lists (what
 * `POST /roles/names` returns): nothing is derived at check time. The server's sysconsole
 * "ancillary" permissions (`sysconsole_write_user_management_users` → `edit_other_users`, …)
 * are written into role definitions when a role is created or saved
 * (`server/public/model/role.go` `AddAncillaryPermissions`; `server/channels/app/authorization.go`
 * `RolesGrantPermission` reads only the stored list), so a role patched without them does
 * not grant them (docs/mattermost-notes.md §5.9).
 *
 * @example
 *   const roles = { system: ['system_user'], team: effectiveTeamRoles(member, scheme), channel: [] };
 *   holdsAt('team', roles, 'invite_user', defs); // true for a plain team member under default roles
 */
import type { PermissionId, Scope } from '../command.js';
import type { ChannelMember, Role, Scheme, TeamMember } from '../../mattermost/models.js';

/** The permission that passes every team and channel check (the server's shortcut). */
export const MANAGE_SYSTEM = 'manage_system';

/** The role names a member's scheme flags stand for when no scheme overrides them. */
export const DEFAULT_SCHEME_ROLES = {
  teamGuest: 'team_guest',
  teamUser: 'team_user',
  teamAdmin: 'team_admin',
  channelGuest: 'channel_guest',
  channelUser: 'channel_user',
  channelAdmin: 'channel_admin',
} as const;

/** The scheme fields resolution reads (a `Scheme` fits). */
export type SchemeRoles = Pick<
  Scheme,
  | 'default_team_guest_role'
  | 'default_team_user_role'
  | 'default_team_admin_role'
  | 'default_channel_guest_role'
  | 'default_channel_user_role'
  | 'default_channel_admin_role'
>;

/**
 * A scheme that exists but the bot may not read (`GET /schemes/{id}` refused). Its role
 * names are unknown; see {@link effectiveTeamRoles} for what is done then.
 */
export const UNREADABLE_SCHEME = 'unreadable' as const;
export type SchemeInput = SchemeRoles | typeof UNREADABLE_SCHEME | null | undefined;

/** The member fields resolution reads (a `TeamMember` or `ChannelMember` fits). */
export type MemberRoles = Pick<TeamMember | ChannelMember, 'roles' | 'scheme_guest' | 'scheme_user' | 'scheme_admin'>;

/** Role definitions by name; `null` / absent = unknown to the server (grants nothing). */
export type RoleDefinitions = ReadonlyMap<string, Pick<Role, 'permissions' | 'delete_at'> | null>;

/** A user's effective role names at each level (empty when not a member there). */
export interface EffectiveRoles {
  system: readonly string[];
  team: readonly string[];
  channel: readonly string[];
}

/** Which check granted a permission (for logs), or `null` when none did. */
export type GrantSource = 'channel' | 'system:manage_system' | 'team' | 'system' | null;

/** Splits a space-separated role string (the wire format) into names, dropping blanks. */
export function splitRoles(roles: string): string[] {
  return roles.split(/\s+/).filter((r) => r.length > 0);
}

/**
 * Mirrors the server's `IsValidRoleName`: 1–64 characters of `a-z0-9_`. Names failing it
 * cannot exist on the server, and sending one to `POST /roles/names` is a 400.
 */
export function isValidRoleName(name: string): boolean {
  return /^[a-z0-9_]{1,64}$/.test(name);
}

function pick(...names: Array<string | undefined | null>): string {
  for (const n of names) if (n) return n;
  return '';
}

/**
 * Member roles as the server computes them: the built-in scheme role names found in
 * `roles` are treated as flags (the server does the same for not-yet-migrated rows), the
 * flags are mapped through the scheme(s), and every other name is an explicit role.
 */
function memberRoles(
  member: MemberRoles,
  builtIn: { guest: string; user: string; admin: string },
  mapped: { guest: string; user: string; admin: string },
): string[] {
  let guest = member.scheme_guest;
  let user = member.scheme_user;
  let admin = member.scheme_admin;
  const explicit: string[] = [];
  for (const role of splitRoles(member.roles)) {
    if (role === builtIn.guest) guest = true;
    else if (role === builtIn.user) user = true;
    else if (role === builtIn.admin) admin = true;
    else explicit.push(role);
  }
  const out = [...explicit];
  if (guest) out.push(mapped.guest);
  if (user) out.push(mapped.user);
  if (admin) out.push(mapped.admin);
  return [...new Set(out)];
}

/**
 * Roles of a member whose scheme is unreadable. The server's member payloads already carry
 * the scheme-mapped names in `roles` (explicit + implied), so when `roles` is non-empty it
 * is taken as the server computed it; only an empty `roles` falls back to the default
 * names for the flags (inexact under a custom scheme; the service logs a warning).
 */
function rolesWithUnreadableScheme(member: MemberRoles, defaults: { guest: string; user: string; admin: string }): string[] {
  const given = splitRoles(member.roles);
  if (given.length > 0) return [...new Set(given)];
  const out: string[] = [];
  if (member.scheme_guest) out.push(defaults.guest);
  if (member.scheme_user) out.push(defaults.user);
  if (member.scheme_admin) out.push(defaults.admin);
  return out;
}

/**
 * Effective team roles of a member (`null` = not a member, or a member who left).
 * `teamScheme`: the team's scheme, `null` when it has none, or {@link UNREADABLE_SCHEME}.
 */
export function effectiveTeamRoles(
  member: (MemberRoles & { delete_at?: number }) | null | undefined,
  teamScheme: SchemeInput,
): string[] {
  if (!member || (member.delete_at ?? 0) > 0) return [];
  const d = DEFAULT_SCHEME_ROLES;
  if (teamScheme === UNREADABLE_SCHEME) {
    return rolesWithUnreadableScheme(member, { guest: d.teamGuest, user: d.teamUser, admin: d.teamAdmin });
  }
  return memberRoles(
    member,
    { guest: d.teamGuest, user: d.teamUser, admin: d.teamAdmin },
    {
      guest: pick(teamScheme?.default_team_guest_role, d.teamGuest),
      user: pick(teamScheme?.default_team_user_role, d.teamUser),
      admin: pick(teamScheme?.default_team_admin_role, d.teamAdmin),
    },
  );
}

const hasAllChannelRoles = (s: SchemeInput): s is SchemeRoles =>
  !!s && s !== UNREADABLE_SCHEME && !!s.default_channel_guest_role && !!s.default_channel_user_role && !!s.default_channel_admin_role;

/**
 * Effective channel roles of a member (`null` = not a member). A channel without its own
 * scheme uses its team's scheme's channel roles. Either scheme may be
 * {@link UNREADABLE_SCHEME} (handled as in {@link effectiveTeamRoles}).
 */
export function effectiveChannelRoles(
  member: MemberRoles | null | undefined,
  channelScheme: SchemeInput,
  teamScheme: SchemeInput,
): string[] {
  if (!member) return [];
  const d = DEFAULT_SCHEME_ROLES;
  if (channelScheme === UNREADABLE_SCHEME || (!hasAllChannelRoles(channelScheme) && teamScheme === UNREADABLE_SCHEME)) {
    return rolesWithUnreadableScheme(member, { guest: d.channelGuest, user: d.channelUser, admin: d.channelAdmin });
  }
  // here an unreadable team scheme is never consulted: the channel's own scheme is complete
  const team = teamScheme === UNREADABLE_SCHEME ? null : teamScheme;
  return memberRoles(
    member,
    { guest: d.channelGuest, user: d.channelUser, admin: d.channelAdmin },
    {
      guest: pick(channelScheme?.default_channel_guest_role, team?.default_channel_guest_role, d.channelGuest),
      user: pick(channelScheme?.default_channel_user_role, team?.default_channel_user_role, d.channelUser),
      admin: pick(channelScheme?.default_channel_admin_role, team?.default_channel_admin_role, d.channelAdmin),
    },
  );
}

/** Whether a member's roles depend on a scheme (any flag set, or a built-in name in `roles`). */
export function usesSchemeRoles(member: MemberRoles, level: 'team' | 'channel'): boolean {
  if (member.scheme_guest || member.scheme_user || member.scheme_admin) return true;
  const d = DEFAULT_SCHEME_ROLES;
  const builtIn: readonly string[] =
    level === 'team' ? [d.teamGuest, d.teamUser, d.teamAdmin] : [d.channelGuest, d.channelUser, d.channelAdmin];
  return splitRoles(member.roles).some((r) => builtIn.includes(r));
}

/** The server's `RolesGrantPermission`: any non-deleted role among `names` lists `permission`. */
export function rolesGrant(names: readonly string[], defs: RoleDefinitions, permission: PermissionId): boolean {
  for (const name of names) {
    const role = defs.get(name);
    if (!role || role.delete_at !== 0) continue;
    if (role.permissions.includes(permission)) return true;
  }
  return false;
}

/**
 * Which check grants `permission` at `scope`, in the server's order, or `null`:
 * - system: system roles;
 * - team: team roles, system roles (and `manage_system` always passes);
 * - channel: channel roles, `manage_system`, team roles (of the channel's team), system roles.
 */
export function grantedBy(
  scope: Scope,
  roles: EffectiveRoles,
  permission: PermissionId,
  defs: RoleDefinitions,
): GrantSource {
  if (scope === 'system') return rolesGrant(roles.system, defs, permission) ? 'system' : null;
  if (scope === 'channel' && rolesGrant(roles.channel, defs, permission)) return 'channel';
  if (scope === 'channel' && rolesGrant(roles.system, defs, MANAGE_SYSTEM)) return 'system:manage_system';
  if (rolesGrant(roles.team, defs, permission)) return 'team';
  if (rolesGrant(roles.system, defs, permission)) return 'system';
  if (rolesGrant(roles.system, defs, MANAGE_SYSTEM)) return 'system:manage_system';
  return null;
}

/** Whether `permission` holds at `scope` for a user with these effective roles. */
export function holdsAt(scope: Scope, roles: EffectiveRoles, permission: PermissionId, defs: RoleDefinitions): boolean {
  return grantedBy(scope, roles, permission, defs) !== null;
}

/** Every role name whose definition a decision at `scope` may read (valid names only, unique). */
export function roleNamesFor(scope: Scope, roles: EffectiveRoles): string[] {
  const names = [...roles.system];
  if (scope !== 'system') names.push(...roles.team);
  if (scope === 'channel') names.push(...roles.channel);
  return [...new Set(names)].filter(isValidRoleName);
}
