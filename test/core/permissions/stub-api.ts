/**
 * A stub `MattermostApi` for permission tests: in-memory users, teams, channels,
 * memberships, schemes and roles, answering like the server (404 ApiErrors, unknown role
 * names dropped), and counting calls per method.
 */
import type { MattermostApi } from '../../../src/mattermost/api.js';
import { ApiError } from '../../../src/mattermost/errors.js';
import {
  channelMemberSchema,
  channelSchema,
  roleSchema,
  schemeSchema,
  teamMemberSchema,
  teamSchema,
  userSchema,
  type Channel,
  type ChannelMember,
  type Role,
  type Scheme,
  type Team,
  type TeamMember,
  type User,
} from '../../../src/mattermost/models.js';

/** 26-character id derived from a name (padded, lowercase). */
export const sid = (name: string): string => name.toLowerCase().replace(/[^a-z0-9]/g, '').padEnd(26, '0').slice(0, 26);

export const mkUser = (username: string, roles = 'system_user', extra: Partial<User> = {}): User =>
  userSchema.parse({ id: sid(username), username, roles, ...extra });
export const mkTeam = (name: string, scheme_id: string | null = null): Team =>
  teamSchema.parse({ id: sid(`t${name}`), name, scheme_id });
export const mkChannel = (team: Team | null, name: string, scheme_id: string | null = null, type = 'O'): Channel =>
  channelSchema.parse({ id: sid(`c${name}`), team_id: team?.id ?? '', name, type, scheme_id });
export const mkTeamMember = (team: Team, user: User, flags: Partial<TeamMember> = {}): TeamMember =>
  teamMemberSchema.parse({ team_id: team.id, user_id: user.id, scheme_user: true, ...flags });
export const mkChannelMember = (channel: Channel, user: User, flags: Partial<ChannelMember> = {}): ChannelMember =>
  channelMemberSchema.parse({ channel_id: channel.id, user_id: user.id, scheme_user: true, ...flags });
export const mkRole = (name: string, permissions: string[], extra: Partial<Role> = {}): Role =>
  roleSchema.parse({ id: sid(`r${name}`), name, permissions, ...extra });
export const mkScheme = (name: string, prefix: string, scope: 'team' | 'channel' = 'team'): Scheme =>
  schemeSchema.parse({
    id: sid(`s${name}`),
    name,
    scope,
    default_team_admin_role: scope === 'team' ? `${prefix}_team_admin` : '',
    default_team_user_role: scope === 'team' ? `${prefix}_team_user` : '',
    default_team_guest_role: scope === 'team' ? `${prefix}_team_guest` : '',
    default_channel_admin_role: `${prefix}_channel_admin`,
    default_channel_user_role: `${prefix}_channel_user`,
    default_channel_guest_role: `${prefix}_channel_guest`,
  });

/** Default-ish built-in roles, enough for the unit tests. */
export function builtInRoles(): Role[] {
  return [
    mkRole('system_admin', ['manage_system', 'edit_other_users', 'manage_roles', 'view_team', 'invite_user', 'read_channel', 'manage_team']),
    mkRole('system_user', ['create_team', 'view_members', 'join_public_teams']),
    mkRole('system_guest', ['create_direct_channel']),
    mkRole('team_user', ['view_team', 'invite_user', 'add_user_to_team', 'read_public_channel']),
    mkRole('team_admin', ['manage_team', 'manage_team_roles', 'remove_user_from_team']),
    mkRole('team_guest', ['view_team']),
    mkRole('channel_user', ['read_channel', 'create_post']),
    mkRole('channel_admin', ['manage_channel_roles']),
    mkRole('channel_guest', ['read_channel']),
  ];
}

const notFound = (endpoint: string): ApiError => new ApiError(404, 'store.sql.not_found', 'Not found.', 'req', endpoint);

export interface StubApi {
  api: MattermostApi;
  users: Map<string, User>;
  teams: Map<string, Team>;
  channels: Map<string, Channel>;
  /** key `${teamId}:${userId}` */
  teamMembers: Map<string, TeamMember>;
  /** key `${channelId}:${userId}` */
  channelMembers: Map<string, ChannelMember>;
  schemes: Map<string, Scheme>;
  roles: Map<string, Role>;
  calls: Record<string, number>;
  /** role-name batches sent to POST /roles/names */
  roleBatches: string[][];
  totalCalls(): number;
  resetCalls(): void;
  /** make a method fail with this error until cleared */
  failures: Map<string, Error>;
  /** hold a method's answers until the returned release() is called */
  hold(method: string): () => void;
  add(...items: Array<User | Team | Channel | TeamMember | ChannelMember | Scheme | Role>): void;
}

/** Creates a stub API over in-memory data (see the module comment). */
export function createStubApi(): StubApi {
  const s: Omit<StubApi, 'api'> = {
    users: new Map(),
    teams: new Map(),
    channels: new Map(),
    teamMembers: new Map(),
    channelMembers: new Map(),
    schemes: new Map(),
    roles: new Map(),
    calls: {},
    roleBatches: [],
    failures: new Map(),
    totalCalls: () => Object.values(s.calls).reduce((a, b) => a + b, 0),
    resetCalls: () => {
      for (const k of Object.keys(s.calls)) delete s.calls[k];
      s.roleBatches.length = 0;
    },
    hold(method) {
      let release!: () => void;
      holds.set(method, new Promise<void>((r) => (release = r)));
      return () => {
        holds.delete(method);
        release();
      };
    },
    add(...items) {
      for (const it of items) {
        if ('username' in it) s.users.set(it.id, it);
        else if ('permissions' in it) s.roles.set(it.name, it);
        else if ('default_team_user_role' in it) s.schemes.set(it.id, it);
        else if ('channel_id' in it) s.channelMembers.set(`${it.channel_id}:${it.user_id}`, it);
        else if ('team_id' in it && 'user_id' in it) s.teamMembers.set(`${it.team_id}:${it.user_id}`, it);
        else if ('type' in it && 'header' in it) s.channels.set(it.id, it);
        else s.teams.set(it.id, it);
      }
    },
  };
  const holds = new Map<string, Promise<void>>();

  async function enter(method: string): Promise<void> {
    s.calls[method] = (s.calls[method] ?? 0) + 1;
    const h = holds.get(method);
    if (h) await h;
    const f = s.failures.get(method);
    if (f) throw f;
  }

  const impl: Partial<MattermostApi> = {
    async getUser(id) {
      await enter('getUser');
      const u = s.users.get(id);
      if (!u) throw notFound('GET /users/{user_id}');
      return structuredClone(u);
    },
    async getTeam(id) {
      await enter('getTeam');
      const t = s.teams.get(id);
      if (!t) throw notFound('GET /teams/{team_id}');
      return structuredClone(t);
    },
    async getTeamMember(teamId, userId) {
      await enter('getTeamMember');
      const m = s.teamMembers.get(`${teamId}:${userId}`);
      if (!m) throw notFound('GET /teams/{team_id}/members/{user_id}');
      return structuredClone(m);
    },
    async getChannel(id) {
      await enter('getChannel');
      const c = s.channels.get(id);
      if (!c) throw notFound('GET /channels/{channel_id}');
      return structuredClone(c);
    },
    async getChannelMember(channelId, userId) {
      await enter('getChannelMember');
      const m = s.channelMembers.get(`${channelId}:${userId}`);
      if (!m) throw notFound('GET /channels/{channel_id}/members/{user_id}');
      return structuredClone(m);
    },
    async getScheme(id) {
      await enter('getScheme');
      const sc = s.schemes.get(id);
      if (!sc) throw notFound('GET /schemes/{scheme_id}');
      return structuredClone(sc);
    },
    async getRolesByNames(names) {
      await enter('getRolesByNames');
      s.roleBatches.push([...names].sort());
      if (names.length === 0) throw new ApiError(400, 'api.context.invalid_body_param.app_error', 'rolenames', 'req', 'POST /roles/names');
      return names.flatMap((n) => {
        const r = s.roles.get(n);
        return r ? [structuredClone(r)] : [];
      });
    },
  };

  const api = new Proxy(impl, {
    get(target, prop) {
      if (typeof prop === 'string' && prop in target) return target[prop as keyof MattermostApi];
      return () => {
        throw new Error(`stub api: ${String(prop)} not implemented`);
      };
    },
  }) as MattermostApi;

  return Object.assign(s, { api });
}
