/**
 * Who is who in the sandbox, for the console's banner, `users` and `channels`: read from
 * the fake server's live store (so it stays true after `/user deactivate` or
 * `/team role`), in a few words per person or channel.
 *
 * @example
 *   describeUser(fake.store, fake.store.requireUser('bob'), botId) // 'team admin of ops'
 */
import type { FakeStore } from './fake-server.js';
import type { StoredChannel, StoredUser } from './store.js';

const SYSTEM_ROLE_WORDS: Record<string, string> = {
  system_admin: 'system admin',
  system_user_manager: 'user manager',
  system_manager: 'system manager',
  system_read_only_admin: 'read-only admin',
  system_guest: 'guest',
};

const SIGN_IN: Record<string, string> = {
  ldap: 'LDAP',
  saml: 'SAML',
  gitlab: 'GitLab',
  google: 'Google',
  office365: 'Office 365',
  openid: 'OpenID',
};

/** What the demo seed means a few people to show, that their data alone does not say. */
const SEED_NOTES: Record<string, string> = {
  mallory: 'profile full of Markdown and mentions (escaping)',
  ann: 'two people named Lee (ambiguity)',
  anna: 'two people named Lee (ambiguity)',
  ivan: 'only in ops: guest erin may not see him',
};

/** `team:channel` for a team channel, `@name` for the other side of a DM. */
export function channelLabel(store: FakeStore, channel: StoredChannel, viewerId?: string): string {
  if (channel.type === 'D') {
    const other = channel.name.split('__').find((id) => id !== viewerId) ?? viewerId ?? '';
    return `@${store.users.get(other)?.username ?? '?'}`;
  }
  const team = store.teams.get(channel.team_id);
  return `${team?.name ?? '?'}:${channel.name}`;
}

/** A few words on someone's roles: "system admin", "team admin of ops", "guest in acme", "deactivated". */
export function describeUser(store: FakeStore, user: StoredUser, botId: string): string {
  if (user.id === botId) return 'this bot (system admin); you cannot act as it';
  if (user.is_bot) return 'another bot (mmops refuses bots)';
  const parts: string[] = [];
  if (user.delete_at > 0) parts.push('deactivated');
  const roles = store.systemRoles(user).filter((r) => r !== 'system_user');
  for (const r of roles) {
    if (r === 'system_guest') {
      const teams = store.teamMembers
        .filter((m) => m.user_id === user.id && m.delete_at === 0)
        .map((m) => store.teams.get(m.team_id)?.name ?? '?');
      parts.push(teams.length > 0 ? `guest in ${teams.join(', ')}` : 'guest');
      continue;
    }
    parts.push(SYSTEM_ROLE_WORDS[r] ?? `${(store.roles.get(r)?.display_name || r).toLowerCase()} role`);
  }
  for (const m of store.teamMembers) {
    if (m.user_id !== user.id || m.delete_at > 0 || !m.scheme_admin) continue;
    parts.push(`team admin of ${store.teams.get(m.team_id)?.name ?? '?'}`);
  }
  for (const m of store.channelMembers) {
    if (m.user_id !== user.id || !m.scheme_admin) continue;
    const ch = store.channels.get(m.channel_id);
    if (ch && ch.type !== 'D' && ch.type !== 'G') parts.push(`channel admin of ${channelLabel(store, ch)}`);
  }
  if (parts.length === 0) parts.push('plain user, no special role');
  const signIn = SIGN_IN[user.auth_service];
  const note = SEED_NOTES[user.username];
  return [parts.join(', '), signIn ? `${signIn} sign-in` : '', note ?? ''].filter((s) => s !== '').join('; ');
}

/** Every person and bot of the workspace, seeded order, with their description. */
export function peopleList(store: FakeStore, botId: string): Array<{ username: string; about: string; active: boolean }> {
  return [...store.users.values()]
    .filter((u) => u.id !== botId)
    .map((u) => ({ username: u.username, about: describeUser(store, u, botId), active: u.delete_at === 0 }));
}

/** Team channels, by team then name, with whether the bot and `viewerId` are members. */
export function channelList(
  store: FakeStore,
  botId: string,
  viewerId: string,
): Array<{ label: string; title: string; kind: string; botIn: boolean; youIn: boolean }> {
  return [...store.channels.values()]
    .filter((c) => c.type === 'O' || c.type === 'P')
    .filter((c) => c.delete_at === 0)
    .map((c) => ({
      label: channelLabel(store, c),
      title: c.display_name,
      kind: c.type === 'O' ? 'public' : 'private',
      botIn: store.isChannelMember(c.id, botId),
      youIn: store.isChannelMember(c.id, viewerId),
    }))
    .sort((a, b) => a.label.localeCompare(b.label));
}

/** The slash triggers registered in a team, the root trigger first: ['/mmops', '/health', …]. */
export function slashTriggers(store: FakeStore, teamId: string, root = 'mmops'): string[] {
  const first = `/${root}`;
  return [...store.commands.values()]
    .filter((c) => c.team_id === teamId && c.delete_at === 0)
    .map((c) => `/${c.trigger}`)
    .sort((a, b) => (a === first ? -1 : b === first ? 1 : a.localeCompare(b)));
}
