/**
 * Who may see whom, as the server decides it (docs/mattermost-notes.md §2.3;
 * server/channels/app/user.go `GetViewUsersRestrictions`, `UserCanSeeOtherUser`):
 *
 * - a caller holding `view_members` in their system roles sees everyone;
 * - otherwise the caller sees themselves, the active members of every team (not
 *   archived) in which they hold `view_members` at team level, and the members of every
 *   channel they belong to — archived channels, DMs and group messages included
 *   (`GetAllChannelMembersForUser(…, includeDeleted=true)`).
 *
 * Default roles: `system_user` holds `view_members`, `system_guest` does not, and no
 * built-in team role does, so a guest sees only the people in their channels.
 */
import type { FakeStore, StoredUser } from './store.js';

/** The server's `ViewUsersRestrictions`: `null` = no restriction. */
export interface ViewRestrictions {
  teams: ReadonlySet<string>;
  channels: ReadonlySet<string>;
}

/** `GetViewUsersRestrictions` for `viewer`. */
export function viewRestrictions(store: FakeStore, viewer: StoredUser): ViewRestrictions | null {
  if (store.hasPermission(viewer, 'view_members')) return null;
  const teams = new Set<string>();
  for (const m of store.teamMembers) {
    if (m.user_id !== viewer.id || m.delete_at !== 0) continue;
    const team = store.teams.get(m.team_id);
    if (team && team.delete_at === 0 && store.hasTeamPermission(viewer, m.team_id, 'view_members')) teams.add(m.team_id);
  }
  const channels = new Set(store.channelMembers.filter((m) => m.user_id === viewer.id).map((m) => m.channel_id));
  return { teams, channels };
}

/** Whether `targetId` passes `restrictions` (`UserBelongsToTeams` / `UserBelongsToChannels`). */
export function passes(store: FakeStore, restrictions: ViewRestrictions | null, targetId: string): boolean {
  if (!restrictions) return true;
  if (store.teamMembers.some((m) => m.user_id === targetId && m.delete_at === 0 && restrictions.teams.has(m.team_id))) return true;
  return store.channelMembers.some((m) => m.user_id === targetId && restrictions.channels.has(m.channel_id));
}

/**
 * `UserCanSeeOtherUser(viewer, targetId)`. Works on ids, so an unknown id is simply
 * not visible to a restricted viewer (the server answers 403 before it looks the id up).
 */
export function canSeeUserId(store: FakeStore, viewer: StoredUser, targetId: string): boolean {
  if (viewer.id === targetId) return true;
  return passes(store, viewRestrictions(store, viewer), targetId);
}

/** Whether `viewer` may see `target` (see {@link canSeeUserId}). */
export function canSeeUser(store: FakeStore, viewer: StoredUser, target: StoredUser): boolean {
  return canSeeUserId(store, viewer, target.id);
}

/** Keeps the users `viewer` may see, computing the restrictions once. */
export function visibleTo<T extends { id: string }>(store: FakeStore, viewer: StoredUser, users: T[]): T[] {
  const r = viewRestrictions(store, viewer);
  return users.filter((u) => u.id === viewer.id || passes(store, r, u.id));
}
