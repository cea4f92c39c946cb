/**
 * How people, roles and memberships read in replies. Every function returns plain
 * strings (untrusted text: the renderer escapes them), clipped so that a very long
 * nickname cannot blow up a table row.
 */
import type { ChannelMember, TeamMember, User } from '../../src/mattermost/models.js';

/** Cuts `text` to `max` characters (whole code points) with an ellipsis. */
export function clip(text: string, max = 64): string {
  const chars = Array.from(text);
  return chars.length <= max ? text : `${chars.slice(0, Math.max(1, max - 1)).join('')}…`;
}

/** "Ann Lee", else the nickname, else the username. */
export function displayName(user: Pick<User, 'first_name' | 'last_name' | 'nickname' | 'username'>): string {
  const full = [user.first_name, user.last_name].filter(Boolean).join(' ').trim();
  return clip(full || user.nickname || user.username);
}

/** "Ann Lee (@ann)", or "@ann" when there is no other name; clipped. */
export function userLabel(user: Pick<User, 'first_name' | 'last_name' | 'nickname' | 'username'>): string {
  const name = displayName(user);
  return name === user.username ? `@${user.username}` : `${name} (@${user.username})`;
}

/** "@ann" (escaped by the renderer so it never notifies). */
export const handle = (user: Pick<User, 'username'>): string => `@${user.username}`;

const SYSTEM_ROLE_NAMES: Record<string, string> = {
  system_admin: 'System admin',
  system_user: 'Member',
  system_guest: 'Guest',
  system_user_manager: 'User manager',
  system_manager: 'System manager',
  system_read_only_admin: 'Read-only admin',
  system_post_all: 'Post all',
  system_post_all_public: 'Post all public',
  system_user_access_token: 'Access tokens',
  system_custom_group_admin: 'Custom group admin',
};

/** "System admin, Member" from a space-separated `roles` string; custom roles as named. */
export function systemRoles(roles: string): string {
  const names = roles.split(/\s+/).filter(Boolean);
  return names.length ? names.map((r) => SYSTEM_ROLE_NAMES[r] ?? r).join(', ') : 'none';
}

/** true when `roles` includes `system_admin`. */
export const isSystemAdmin = (user: Pick<User, 'roles'>): boolean => user.roles.split(/\s+/).includes('system_admin');

function schemeRoles(
  m: { scheme_guest: boolean; scheme_user: boolean; scheme_admin: boolean; roles: string; explicit_roles: string },
  prefix: 'team' | 'channel',
): string[] {
  // Effective roles come from the scheme flags (docs/mattermost-notes.md §6.20). With flags set,
  // `roles` also lists the scheme's role names (`team_user`, or a team scheme's own
  // `ops_team_user`), so only `explicit_roles` adds anything; without flags (older
  // servers) the role names in `roles` are all there is.
  const named: Record<string, string> = {
    [`${prefix}_admin`]: 'Admin',
    [`${prefix}_user`]: 'Member',
    [`${prefix}_guest`]: 'Guest',
  };
  const found = new Set<string>();
  const custom: string[] = [];
  const flagged = m.scheme_admin || m.scheme_guest || m.scheme_user;
  if (m.scheme_admin) found.add('Admin');
  if (m.scheme_guest) found.add('Guest');
  if (m.scheme_user) found.add('Member');
  for (const r of (flagged ? m.explicit_roles : `${m.roles} ${m.explicit_roles}`).split(/\s+/).filter(Boolean)) {
    const label = named[r];
    if (label) found.add(label);
    else if (!custom.includes(r)) custom.push(r);
  }
  // An admin is also a member; saying both is noise.
  if (found.has('Admin')) found.delete('Member');
  const base = ['Admin', 'Guest', 'Member'].filter((l) => found.has(l));
  return [...(base.length ? base : ['Member']), ...custom];
}

/** "Admin", "Member", "Guest" (+ custom roles) for a team membership. */
export const teamRoles = (m: TeamMember): string => schemeRoles(m, 'team').join(', ');
/** "Admin", "Member", "Guest" (+ custom roles) for a channel membership. */
export const channelRoles = (m: ChannelMember): string => schemeRoles(m, 'channel').join(', ');
/** true when the membership makes the user an admin of the team. */
export const isTeamAdmin = (m: TeamMember): boolean => schemeRoles(m, 'team').includes('Admin');
/** true when the membership makes the user a guest of the team. */
export const isTeamGuest = (m: TeamMember): boolean => schemeRoles(m, 'team').includes('Guest');

const AUTH_NAMES: Record<string, string> = {
  '': 'Email and password',
  email: 'Email and password',
  ldap: 'LDAP',
  saml: 'SAML',
  gitlab: 'GitLab',
  google: 'Google',
  office365: 'Office 365 (Entra ID)',
  openid: 'OpenID Connect',
};

/** "LDAP", "SAML", "Email and password", … from `auth_service`. */
export const authMethod = (service: string): string => AUTH_NAMES[service] ?? service;

/** "bot", "deactivated", "guest" markers for a user, for compact rows. */
export function userFlags(user: Pick<User, 'is_bot' | 'delete_at' | 'roles'>): string[] {
  const flags: string[] = [];
  if (user.is_bot) flags.push('bot');
  if (user.delete_at > 0) flags.push('deactivated');
  if (user.roles.split(/\s+/).includes('system_guest')) flags.push('guest');
  return flags;
}
