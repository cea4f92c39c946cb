/**
 * The permission service: decides whether a user may do something exactly as the
 * Mattermost server would for the same API call made with that user's session.
 *
 * It loads the user, their team/channel memberships, the team/channel (for `scheme_id`),
 * the schemes and the role definitions it needs, caches all of them (LRU, short TTL, size
 * bound), and drops entries on the WebSocket events that change them. A warm check makes
 * no API calls; `{ fresh: freshReads() }` (privileged subcommands) reads each thing from
 * the server once for the invocation, `{ fresh: true }` on every check.
 *
 * The bot is told nothing when someone else's system, team or channel roles change: the
 * server addresses `user_role_updated`, `memberrole_updated` and `channel_member_updated`
 * to that user only (docs/mattermost-notes.md §6 item 24). The TTL bounds staleness for
 * cheap reads; privileged actions never rely on it.
 *
 * @example
 *   const perms = createPermissionService({ api, selfUserId: me.id, logger });
 *   const d = await perms.check(userId, { permission: 'invite_user', scope: 'team' }, { teamId });
 *   if (!d.allowed) ... // d.reason, d.requirement
 *   ws.on('event', (ev) => perms.handleEvent(ev));
 */
import { silentLogger } from '../../log/logger.js';
import { z } from 'zod';
import type { Logger, Requirement } from '../command.js';
import type { CheckOptions, Decision, FreshReads, PermissionService, Where } from '../permission-service.js';
import type { MattermostApi } from '../../mattermost/api.js';
import { isApiError } from '../../mattermost/errors.js';
import {
  channelMemberSchema,
  channelSchema,
  parseJsonString,
  roleSchema,
  teamMemberSchema,
  teamSchema,
  type Channel,
  type ChannelMember,
  type Role,
  type Scheme,
  type Team,
  type TeamMember,
  type User,
  type WsEvent,
} from '../../mattermost/models.js';
import { createLruTtlCache } from './cache.js';
import {
  effectiveChannelRoles,
  effectiveTeamRoles,
  grantedBy,
  roleNamesFor,
  splitRoles,
  UNREADABLE_SCHEME,
  usesSchemeRoles,
  type EffectiveRoles,
  type SchemeInput,
} from './resolve.js';

export interface PermissionServiceOptions {
  /** the bot's own API client (all reads are made with the bot's token) */
  api: MattermostApi;
  /** how long a cached user / membership / role / scheme is trusted (default 30 s) */
  ttlMs?: number;
  /** bound on cached entries, all kinds together (default 5 000) */
  maxEntries?: number;
  /** whether other bot accounts may run commands (default false) */
  allowBots?: boolean;
  /** the bot's own user id: never refused for being a bot (needed by resolveBotRights) */
  selfUserId?: string;
  /** clock, injectable for tests */
  now?: () => number;
  logger?: Logger;
}

type CachedValue =
  | { kind: 'user'; value: User }
  | { kind: 'teamMember'; value: TeamMember | null }
  | { kind: 'channelMember'; value: ChannelMember | null }
  | { kind: 'team'; value: Team }
  | { kind: 'channel'; value: Channel | null }
  | { kind: 'scheme'; value: Scheme | null }
  | { kind: 'role'; value: Role | null };

interface Kind<T> {
  prefix: string;
  wrap(v: T): CachedValue;
  unwrap(c: CachedValue): T | undefined;
}

// Cache keys: `<prefix>:<id>` (memberships: `<prefix>:<team or channel id>:<user id>`).
const USER: Kind<User> = {
  prefix: 'user',
  wrap: (value) => ({ kind: 'user', value }),
  unwrap: (c) => (c.kind === 'user' ? c.value : undefined),
};
const TEAM_MEMBER: Kind<TeamMember | null> = {
  prefix: 'tm',
  wrap: (value) => ({ kind: 'teamMember', value }),
  unwrap: (c) => (c.kind === 'teamMember' ? c.value : undefined),
};
const CHANNEL_MEMBER: Kind<ChannelMember | null> = {
  prefix: 'cm',
  wrap: (value) => ({ kind: 'channelMember', value }),
  unwrap: (c) => (c.kind === 'channelMember' ? c.value : undefined),
};
const TEAM: Kind<Team> = {
  prefix: 'team',
  wrap: (value) => ({ kind: 'team', value }),
  unwrap: (c) => (c.kind === 'team' ? c.value : undefined),
};
const CHANNEL: Kind<Channel | null> = {
  prefix: 'channel',
  wrap: (value) => ({ kind: 'channel', value }),
  unwrap: (c) => (c.kind === 'channel' ? c.value : undefined),
};
const SCHEME: Kind<Scheme | null> = {
  prefix: 'scheme',
  wrap: (value) => ({ kind: 'scheme', value }),
  unwrap: (c) => (c.kind === 'scheme' ? c.value : undefined),
};
const ROLE: Kind<Role | null> = {
  prefix: 'role',
  wrap: (value) => ({ kind: 'role', value }),
  unwrap: (c) => (c.kind === 'role' ? c.value : undefined),
};


const isNotFound = (e: unknown): boolean => isApiError(e) && e.status === 404;

/** How a read treats the cache: `false` use it, `true` bypass it, {@link FreshReads} once per invocation. */
type Fresh = boolean | FreshReads;

// WebSocket payload shapes (docs/mattermost-notes.md §3.8); JSON-string fields go through parseJsonString.
const userIdData = z.object({ user_id: z.string().min(1) });
const teamUserData = z.object({ user_id: z.string().min(1), team_id: z.string().min(1) });
const userUpdatedData = z.object({ user: z.object({ id: z.string().min(1) }) });
const optionalIds = z.object({ user_id: z.string().optional(), channel_id: z.string().optional() });
const channelIdData = z.object({ channel_id: z.string().min(1) });
const roleNameOnly = roleSchema.pick({ name: true });
const teamIdOnly = teamSchema.pick({ id: true });
const channelIdOnly = channelSchema.pick({ id: true });
const teamMemberKeys = teamMemberSchema.pick({ team_id: true, user_id: true });
const channelMemberKeys = channelMemberSchema.pick({ channel_id: true, user_id: true });

/** Creates the permission service (see the module comment). */
export function createPermissionService(opts: PermissionServiceOptions): PermissionService {
  const { api, allowBots = false, selfUserId } = opts;
  const now = opts.now ?? Date.now;
  const log = (opts.logger ?? silentLogger).child({ component: 'permissions' });
  const cache = createLruTtlCache<CachedValue>({
    ttlMs: opts.ttlMs ?? 30_000,
    maxEntries: opts.maxEntries ?? 5_000,
    now,
  });
  const inflight = new Map<string, Promise<CachedValue>>();
  /** reads under way; an invalidation marks the matching ones stale so they do not store */
  const loading = new Set<{ key: string; stale: boolean }>();
  const startLoad = (key: string): { key: string; stale: boolean } => {
    const ticket = { key, stale: false };
    loading.add(ticket);
    return ticket;
  };
  const warnedSchemes = new Set<string>();

  async function load<T>(kind: Kind<T>, id: string, fresh: Fresh, fetch: () => Promise<T>): Promise<T> {
    const key = `${kind.prefix}:${id}`;
    if (fresh === false) {
      const hit = cache.get(key);
      const v = hit ? kind.unwrap(hit.value) : undefined;
      if (v !== undefined) return v;
      const pending = inflight.get(key);
      if (pending) {
        const shared = kind.unwrap(await pending);
        if (shared !== undefined) return shared;
      }
    } else if (fresh !== true) {
      // already read (or being read) from the server for this invocation
      const mine = fresh.loads.get(key) as Promise<CachedValue> | undefined;
      if (mine) {
        const v = kind.unwrap(await mine);
        if (v !== undefined) return v;
      }
    }
    const ticket = startLoad(key);
    const p = fetch().then((value) => {
      const boxed = kind.wrap(value);
      if (!ticket.stale) cache.set(key, boxed);
      return boxed;
    });
    if (fresh === false) inflight.set(key, p);
    else if (fresh !== true) {
      p.catch(() => {}); // rethrown below to this caller, and to later ones through the map
      fresh.loads.set(key, p);
    }
    try {
      const v = kind.unwrap(await p);
      if (v === undefined) throw new Error(`permission cache: wrong kind under ${key}`);
      return v;
    } finally {
      loading.delete(ticket);
      if (inflight.get(key) === p) inflight.delete(key);
    }
  }

  const loadUser = (userId: string, fresh: Fresh): Promise<User> =>
    load(USER, userId, fresh, () => api.getUser(userId));

  const loadTeam = (teamId: string, fresh: Fresh): Promise<Team> =>
    load(TEAM, teamId, fresh, () => api.getTeam(teamId));

  const loadTeamMember = (teamId: string, userId: string, fresh: Fresh): Promise<TeamMember | null> =>
    load(TEAM_MEMBER, `${teamId}:${userId}`, fresh, async () => {
      try {
        return await api.getTeamMember(teamId, userId);
      } catch (e) {
        if (isNotFound(e)) return null; // not a member
        throw e;
      }
    });

  const loadChannelMember = (channelId: string, userId: string, fresh: Fresh): Promise<ChannelMember | null> =>
    load(CHANNEL_MEMBER, `${channelId}:${userId}`, fresh, async () => {
      try {
        return await api.getChannelMember(channelId, userId);
      } catch (e) {
        if (isNotFound(e)) return null;
        throw e;
      }
    });

  const loadChannel = (channelId: string, fresh: Fresh): Promise<Channel | null> =>
    load(CHANNEL, channelId, fresh, async () => {
      try {
        return await api.getChannel(channelId);
      } catch (e) {
        // Unknown, or hidden from the bot: decide on system roles alone (only ever stricter).
        if (isApiError(e) && (e.status === 404 || e.status === 403)) {
          log.warn({ channelId, status: e.status }, 'channel unreadable by the bot; using system roles only');
          return null;
        }
        throw e;
      }
    });

  const loadScheme = (schemeId: string, fresh: Fresh): Promise<Scheme | null> =>
    load(SCHEME, schemeId, fresh, async () => {
      try {
        return await api.getScheme(schemeId);
      } catch (e) {
        // Reading schemes needs rights the bot may lack. The server's member payloads carry
        // the mapped role names in `roles`, which are used instead (see resolve.ts).
        if (isApiError(e) && (e.status === 403 || e.status === 404 || e.status === 501)) {
          if (!warnedSchemes.has(schemeId)) {
            warnedSchemes.add(schemeId);
            log.warn(
              { schemeId, status: e.status },
              'cannot read permission scheme; using the role names in member payloads (default names when empty): checks may be inexact',
            );
          }
          return null;
        }
        throw e;
      }
    });

  /** A scheme by id: `UNREADABLE_SCHEME` when it exists but the bot may not read it. */
  async function schemeById(schemeId: string | null | undefined, fresh: Fresh): Promise<SchemeInput> {
    if (!schemeId) return null;
    return (await loadScheme(schemeId, fresh)) ?? UNREADABLE_SCHEME;
  }

  async function loadTeamScheme(teamId: string, fresh: Fresh): Promise<SchemeInput> {
    const team = await loadTeam(teamId, fresh);
    return schemeById(team.scheme_id, fresh);
  }

  /** Effective team roles; the team (and its scheme) is read only when the member's flags need it. */
  async function teamRoles(teamId: string, userId: string, fresh: Fresh): Promise<string[]> {
    const member = await loadTeamMember(teamId, userId, fresh);
    if (!member || member.delete_at > 0) return [];
    const scheme = usesSchemeRoles(member, 'team') ? await loadTeamScheme(teamId, fresh) : null;
    return effectiveTeamRoles(member, scheme);
  }

  async function channelRoles(channel: Channel, userId: string, fresh: Fresh): Promise<string[]> {
    const member = await loadChannelMember(channel.id, userId, fresh);
    if (!member) return [];
    if (!usesSchemeRoles(member, 'channel')) return effectiveChannelRoles(member, null, null);
    const own = await schemeById(channel.scheme_id, fresh);
    // a channel scheme missing a channel role (or none at all) defers to the team's scheme
    const complete =
      own != null && own !== UNREADABLE_SCHEME && !!own.default_channel_guest_role && !!own.default_channel_user_role && !!own.default_channel_admin_role;
    const teamScheme = !complete && own !== UNREADABLE_SCHEME && channel.team_id ? await loadTeamScheme(channel.team_id, fresh) : null;
    return effectiveChannelRoles(member, own, teamScheme);
  }

  /** Team and channel roles for a check at `scope` (system roles come from the user). */
  async function scopeRoles(
    userId: string,
    scope: Requirement['scope'],
    where: Where,
    fresh: Fresh,
  ): Promise<{ team: string[]; channel: string[] }> {
    if (scope === 'system') return { team: [], channel: [] };
    if (scope === 'channel' && where.channelId) {
      const channel = await loadChannel(where.channelId, fresh);
      if (!channel) return { team: [], channel: [] };
      // the channel's own team is authoritative, whatever `where.teamId` says
      const [team, chan] = await Promise.all([
        channel.team_id ? teamRoles(channel.team_id, userId, fresh) : Promise.resolve([]),
        channelRoles(channel, userId, fresh),
      ]);
      return { team, channel: chan };
    }
    // team scope (or channel scope without a channel: as a non-member of any channel)
    let teamId = where.teamId ?? '';
    if (!teamId && where.channelId) teamId = (await loadChannel(where.channelId, fresh))?.team_id ?? '';
    // No team (a DM): only a system-scope grant can hold "in every team".
    if (!teamId) return { team: [], channel: [] };
    return { team: await teamRoles(teamId, userId, fresh), channel: [] };
  }

  /**
   * Role definitions for `names`, with one `POST /roles/names` for all that are missing
   * (from the cache, or, when fresh, from this invocation's reads).
   */
  async function loadRoles(names: string[], fresh: Fresh): Promise<Map<string, Role | null>> {
    const out = new Map<string, Role | null>();
    const waits: Array<Promise<void>> = [];
    const missing: string[] = [];
    const mine = fresh !== false && fresh !== true ? fresh : undefined;
    for (const name of names) {
      const key = `${ROLE.prefix}:${name}`;
      const pending = fresh === false ? inflight.get(key) : (mine?.loads.get(key) as Promise<CachedValue> | undefined);
      if (fresh === false) {
        const hit = cache.get(key);
        const v = hit ? ROLE.unwrap(hit.value) : undefined;
        if (v !== undefined) {
          out.set(name, v);
          continue;
        }
      }
      if (pending) {
        waits.push(pending.then((c) => void out.set(name, ROLE.unwrap(c) ?? null)));
        continue;
      }
      missing.push(name);
    }
    const waitAll = Promise.all(waits);
    waitAll.catch(() => {}); // rethrown by the await below; avoids an unhandled rejection if the batch fails first
    if (missing.length > 0) {
      const tickets = missing.map((name) => startLoad(`${ROLE.prefix}:${name}`));
      const batch = api.getRolesByNames(missing).then((roles) => {
        const byName = new Map(roles.map((r) => [r.name, r]));
        // unknown names are silently dropped by the server: remember them as "grants nothing"
        for (const t of tickets) {
          if (!t.stale) cache.set(t.key, ROLE.wrap(byName.get(t.key.slice(ROLE.prefix.length + 1)) ?? null));
        }
        return byName;
      });
      const perName = missing.map((name) => {
        const p = batch.then((byName) => ROLE.wrap(byName.get(name) ?? null));
        p.catch(() => {}); // the error is reported once, through `batch`
        if (fresh === false) inflight.set(`${ROLE.prefix}:${name}`, p);
        else mine?.loads.set(`${ROLE.prefix}:${name}`, p);
        return { name, p };
      });
      try {
        const byName = await batch;
        for (const name of missing) out.set(name, byName.get(name) ?? null);
      } finally {
        for (const t of tickets) loading.delete(t);
        for (const { name, p } of perName) {
          const key = `${ROLE.prefix}:${name}`;
          if (inflight.get(key) === p) inflight.delete(key);
        }
      }
    }
    await waitAll;
    return out;
  }

  const refuse = (reason: 'inactive' | 'bot' | 'unknown_user'): Decision => ({ allowed: false, reason });

  async function check(userId: string, req: Requirement, where: Where = {}, o: CheckOptions = {}): Promise<Decision> {
    const fresh: Fresh = o.fresh ?? false;
    // user and memberships in parallel; allSettled so a refusal never leaves a rejection unhandled
    const [userR, scopeR] = await Promise.allSettled([
      loadUser(userId, fresh),
      scopeRoles(userId, req.scope, where, fresh),
    ]);
    if (userR.status === 'rejected') {
      if (isNotFound(userR.reason)) return refuse('unknown_user');
      throw userR.reason;
    }
    const user = userR.value;
    if (user.delete_at > 0) return refuse('inactive');
    if (user.is_bot && !allowBots && user.id !== selfUserId) return refuse('bot');
    if (scopeR.status === 'rejected') throw scopeR.reason;

    const roles: EffectiveRoles = { system: splitRoles(user.roles), ...scopeR.value };
    const defs = await loadRoles(roleNamesFor(req.scope, roles), fresh);
    const source = grantedBy(req.scope, roles, req.permission, defs);
    log.debug({ userId, permission: req.permission, scope: req.scope, where, fresh, grantedBy: source, roles }, 'permission check');
    return source ? { allowed: true } : { allowed: false, reason: 'missing_permission', requirement: req };
  }

  function invalidate(pred: (key: string) => boolean): void {
    for (const t of loading) if (pred(t.key)) t.stale = true;
    cache.deleteWhere((key) => pred(key));
    for (const key of [...inflight.keys()]) if (pred(key)) inflight.delete(key);
  }
  const dropKey = (key: string): void => invalidate((k) => k === key);
  const dropPrefix = (prefix: string): void => invalidate((k) => k.startsWith(`${prefix}:`));
  /** every membership (team and channel) of one user */
  const dropMemberships = (userId: string, which: 'tm' | 'cm' | 'both' = 'both'): void =>
    invalidate(
      (k) => (which !== 'cm' && k.startsWith('tm:') && k.endsWith(`:${userId}`)) || (which !== 'tm' && k.startsWith('cm:') && k.endsWith(`:${userId}`)),
    );

  function clear(): void {
    for (const t of loading) t.stale = true;
    cache.clear();
    inflight.clear();
  }

  function handleEvent(ev: WsEvent): void {
    const d = ev.data;
    const b = ev.broadcast;
    switch (ev.event) {
      case 'hello':
        // A new connection (fresh, or a resume that lost events): anything may have changed.
        clear();
        return;
      case 'user_role_updated': {
        const p = userIdData.safeParse(d);
        const id = p.success ? p.data.user_id : b.user_id;
        if (id) dropKey(`user:${id}`);
        else dropPrefix('user');
        return;
      }
      case 'user_updated': {
        const p = userUpdatedData.safeParse(d);
        if (p.success) dropKey(`user:${p.data.user.id}`);
        else dropPrefix('user');
        return;
      }
      case 'user_activation_status_change':
        // broadcast to everyone with empty data: we cannot tell whose
        dropPrefix('user');
        return;
      case 'memberrole_updated': {
        const m = parseJsonString(teamMemberKeys, d.member);
        if (m) dropKey(`tm:${m.team_id}:${m.user_id}`);
        else if (b.user_id) dropMemberships(b.user_id, 'tm');
        else dropPrefix('tm');
        return;
      }
      case 'channel_member_updated': {
        const m = parseJsonString(channelMemberKeys, d.channelMember);
        if (m) dropKey(`cm:${m.channel_id}:${m.user_id}`);
        else if (b.user_id) dropMemberships(b.user_id, 'cm');
        else dropPrefix('cm');
        return;
      }
      case 'role_updated': {
        const r = parseJsonString(roleNameOnly, d.role);
        if (r) dropKey(`role:${r.name}`);
        else dropPrefix('role');
        return;
      }
      case 'added_to_team':
      case 'leave_team': {
        const p = teamUserData.safeParse(d);
        if (!p.success) {
          if (b.user_id) dropMemberships(b.user_id);
          else dropPrefix('tm');
          return;
        }
        dropKey(`tm:${p.data.team_id}:${p.data.user_id}`);
        // leaving a team also ends its channel memberships
        if (ev.event === 'leave_team') dropMemberships(p.data.user_id, 'cm');
        return;
      }
      case 'user_added':
      case 'user_removed': {
        // channel copy: data.user_id + broadcast.channel_id; personal copy: data.channel_id + broadcast.user_id
        const p = optionalIds.safeParse(d);
        const userId = (p.success ? p.data.user_id : undefined) || b.user_id;
        const channelId = (p.success ? p.data.channel_id : undefined) || b.channel_id;
        if (userId && channelId) dropKey(`cm:${channelId}:${userId}`);
        else if (userId) dropMemberships(userId, 'cm');
        else dropPrefix('cm');
        return;
      }
      case 'update_team_scheme': {
        const t = parseJsonString(teamIdOnly, d.team);
        if (t) dropKey(`team:${t.id}`);
        else if (b.team_id) dropKey(`team:${b.team_id}`);
        else dropPrefix('team');
        return;
      }
      case 'channel_scheme_updated':
      case 'channel_updated':
      case 'channel_converted': {
        const c = parseJsonString(channelIdOnly, d.channel);
        const p = channelIdData.safeParse(d);
        const target = c?.id || (p.success ? p.data.channel_id : '') || b.channel_id;
        if (target) dropKey(`channel:${target}`);
        else dropPrefix('channel');
        return;
      }
      default:
        return;
    }
  }

  return {
    check,
    getUser: (userId, o = {}) => loadUser(userId, o.fresh ?? false),
    handleEvent,
    clear,
    prime(facts) {
      for (const u of facts.users ?? []) cache.set(`${USER.prefix}:${u.id}`, USER.wrap(u));
      for (const t of facts.teams ?? []) cache.set(`${TEAM.prefix}:${t.id}`, TEAM.wrap(t));
      for (const m of facts.teamMembers ?? []) cache.set(`${TEAM_MEMBER.prefix}:${m.teamId}:${m.userId}`, TEAM_MEMBER.wrap(m.member));
      for (const r of facts.roles ?? []) cache.set(`${ROLE.prefix}:${r.name}`, ROLE.wrap(r.role));
    },
    stats: () => cache.stats(),
  };
}
