/**
 * Who a caller may see, decided as the Mattermost server decides it for their own token
 * (docs/mattermost-notes.md §2.3; server/channels/app/user.go `GetViewUsersRestrictions`,
 * `UserCanSeeOtherUser`):
 *
 * - holding `view_members` in one's system roles → everyone;
 * - otherwise: oneself, the active members of each team in which one holds
 *   `view_members` at team level, and the members of every channel one belongs to
 *   (archived channels, DMs and group messages included).
 *
 * The bot reads people with its own (admin) token, which the server never restricts,
 * so every command that names or lists people asks a {@link Viewer} first. Default roles
 * give `view_members` to `system_user` and to no guest or team role, so in practice the
 * restricted callers are guests, and the visible set is small: it is computed once
 * (the caller's teams and channels, then each one's members) and cached like other
 * permission data — a short TTL, dropped on the WebSocket events that change
 * memberships or roles. Events about channels the bot is not in never reach it, so
 * the TTL bounds how stale the set can be.
 *
 * The caller's channels come from src/mattermost/user-channels.ts (the catch-up's lister):
 * before 6.1 there is no GET /users/{id}/channels, so they are read team by team.
 *
 * Failure policy: when the bot may not read what the rule needs (403/404, or the
 * server's unreadable empty channel list), that part counts as empty: the caller sees
 * fewer people, never more. Network and server errors are thrown (nothing is cached).
 *
 * @example
 *   const visibility = createVisibilityService({ api, permissions });
 *   const viewer = await visibility.viewer(callerId);
 *   if (!viewer.sees(target.id)) throw notFoundFor(ref); // exactly like an unknown person
 */
import { silentLogger } from '../../log/logger.js';
import type { Logger, Requirement } from '../command.js';
import type { CallOptions, MattermostApi } from '../../mattermost/api.js';
import { isApiError, ProtocolError } from '../../mattermost/errors.js';
import type { WsEvent } from '../../mattermost/models.js';
import { createUserChannels } from '../../mattermost/user-channels.js';
import type { PermissionService } from '../permission-service.js';
import { createLruTtlCache } from './cache.js';

/** What one caller may see. */
export interface Viewer {
  readonly userId: string;
  /** holds `view_members` system-wide: sees everyone */
  readonly everyone: boolean;
  /** whether the caller may see the person with this id (unknown ids: only when `everyone`) */
  sees(userId: string): boolean;
}

export interface VisibilityService {
  /** The caller's viewer, cached. */
  viewer(userId: string, o?: CallOptions): Promise<Viewer>;
  /** Drops cached viewers that an event makes stale. */
  handleEvent(ev: WsEvent): void;
  /** Forgets everything (after a WebSocket gap). */
  clear(): void;
  stats(): { hits: number; misses: number; size: number };
}

export interface VisibilityServiceOptions {
  /** the bot's API client */
  api: Pick<MattermostApi, 'getTeamsForUser' | 'getChannelsForUser' | 'getChannelsForTeamForUser' | 'getTeamMembers' | 'getChannelMembers'>;
  /** the server's version (`a.b.c`, '' while unknown): before 6.1 a caller's channels are read team by team */
  serverVersion?: () => string;
  /** decides `view_members` (system, then per team) */
  permissions: Pick<PermissionService, 'check'>;
  /** how long a computed viewer is trusted (default 30 s, like the permission cache) */
  ttlMs?: number;
  /** most cached viewers (default 1 000) */
  maxEntries?: number;
  /** most people one restricted viewer may see; beyond it the rest count as invisible (default 50 000) */
  maxVisible?: number;
  now?: () => number;
  logger?: Logger;
}

const VIEW_MEMBERS_SYSTEM: Requirement = { permission: 'view_members', scope: 'system' };
const VIEW_MEMBERS_TEAM: Requirement = { permission: 'view_members', scope: 'team' };
/** the server's largest page */
const PAGE = 200;
/** membership lists read at once */
const PARALLEL = 4;

/**
 * WebSocket events after which a cached viewer may be wrong: memberships (teams,
 * channels, DMs, group messages), archived or restored channels and teams, and roles.
 */
export const VISIBILITY_EVENTS: ReadonlySet<string> = new Set([
  'hello',
  'added_to_team',
  'leave_team',
  'update_team',
  'delete_team',
  'restore_team',
  'user_added',
  'user_removed',
  'direct_added',
  'group_added',
  'channel_created',
  'channel_deleted',
  'channel_restored',
  'memberrole_updated',
  'channel_member_updated',
  'user_role_updated',
  'role_updated',
  'update_team_scheme',
  'channel_scheme_updated',
]);

/** A viewer who sees everyone. */
export function viewerSeeingEveryone(userId: string): Viewer {
  return { userId, everyone: true, sees: () => true };
}

/** A viewer who sees exactly `ids` (and always themselves). */
export function viewerSeeing(userId: string, ids: Iterable<string>): Viewer {
  const set = new Set(ids);
  set.add(userId);
  return { userId, everyone: false, sees: (id) => set.has(id) };
}


/** 403 or 404: the bot may not read it (or it is gone). Counted as empty. */
const unreadable = (e: unknown): boolean => isApiError(e) && (e.status === 403 || e.status === 404);

/** Creates the visibility service. */
export function createVisibilityService(opts: VisibilityServiceOptions): VisibilityService {
  const { api, permissions } = opts;
  const now = opts.now ?? Date.now;
  const maxVisible = opts.maxVisible ?? 50_000;
  const log = (opts.logger ?? silentLogger).child({ component: 'visibility' });
  const cache = createLruTtlCache<Viewer>({ ttlMs: opts.ttlMs ?? 30_000, maxEntries: opts.maxEntries ?? 1_000, now });
  const inflight = new Map<string, Promise<Viewer>>();
  // the caller's channels on every version (src/mattermost/user-channels.ts; before 6.1 team by team)
  const channelsOf = createUserChannels({
    api,
    ...(opts.serverVersion ? { serverVersion: opts.serverVersion } : {}),
    logger: log,
    label: "visibility reads a caller's channels",
  });
  /** bumped by every invalidation: a computation started before it is not stored */
  let generation = 0;

  async function pages<T>(read: (page: number) => Promise<T[]>, each: (item: T) => void, full: () => boolean): Promise<void> {
    for (let page = 0; !full(); page++) {
      const batch = await read(page);
      batch.forEach(each);
      if (batch.length < PAGE) return;
    }
  }

  async function inBatches<T>(items: T[], fn: (item: T) => Promise<void>): Promise<void> {
    for (let i = 0; i < items.length; i += PARALLEL) await Promise.all(items.slice(i, i + PARALLEL).map(fn));
  }

  async function compute(userId: string): Promise<Viewer> {
    if ((await permissions.check(userId, VIEW_MEMBERS_SYSTEM)).allowed) return viewerSeeingEveryone(userId);

    const seen = new Set<string>([userId]);
    let capped = false;
    const full = (): boolean => {
      if (seen.size < maxVisible) return false;
      capped = true;
      return true;
    };
    const add = (id: string): void => {
      if (!full()) seen.add(id);
    };

    // teams (active memberships in live teams) where the caller holds view_members there
    let teamIds: string[] = [];
    try {
      teamIds = (await api.getTeamsForUser(userId)).filter((t) => t.delete_at === 0).map((t) => t.id);
    } catch (e) {
      if (!unreadable(e)) throw e;
      log.warn({ userId, status: isApiError(e) ? e.status : undefined }, 'cannot read the caller\u2019s teams; counting none (they see fewer people)');
    }
    const viewTeams: string[] = [];
    for (const teamId of teamIds) {
      if ((await permissions.check(userId, VIEW_MEMBERS_TEAM, { teamId })).allowed) viewTeams.push(teamId);
    }

    // every channel the caller belongs to, archived ones, DMs and group messages included
    let channelIds: string[] = [];
    try {
      channelIds = (await channelsOf.list(userId, { includeDeleted: true })).map((c) => c.id);
    } catch (e) {
      if (e instanceof ProtocolError) {
        // api4/channel.go getChannelsForUser streams: for someone in no channel it answers
        // 200 with `[` and an AppError, which is no JSON. No channel, then.
        log.debug({ userId, err: e.message }, 'channel list unreadable: counting no channel');
      } else if (unreadable(e)) {
        log.warn({ userId, status: isApiError(e) ? e.status : undefined }, 'cannot read the caller\u2019s channels; counting none (they see fewer people)');
      } else throw e;
    }

    await inBatches(viewTeams, async (teamId) => {
      try {
        await pages(
          (page) => api.getTeamMembers(teamId, { page, perPage: PAGE }),
          (m) => {
            if (m.delete_at === 0) add(m.user_id);
          },
          full,
        );
      } catch (e) {
        if (!unreadable(e)) throw e;
        log.warn({ userId, teamId }, 'cannot list a team\u2019s members; counting none of them');
      }
    });
    await inBatches(channelIds, async (channelId) => {
      try {
        await pages(
          (page) => api.getChannelMembers(channelId, { page, perPage: PAGE }),
          (m) => add(m.user_id),
          full,
        );
      } catch (e) {
        if (!unreadable(e)) throw e;
        log.warn({ userId, channelId }, 'cannot list a channel\u2019s members; counting none of them');
      }
    });
    if (capped) log.warn({ userId, maxVisible }, 'the caller may see more people than the bot keeps track of; the rest count as invisible');
    log.debug({ userId, teams: viewTeams.length, channels: channelIds.length, visible: seen.size }, 'restricted viewer computed');
    return viewerSeeing(userId, seen);
  }

  async function viewer(userId: string, o: CallOptions = {}): Promise<Viewer> {
    const hit = cache.get(userId);
    if (hit) return hit.value;
    let p = inflight.get(userId);
    if (!p) {
      const started = generation;
      // no caller signal: other invocations may share this computation
      const computing: Promise<Viewer> = compute(userId)
        .then((v) => {
          if (generation === started) cache.set(userId, v);
          return v;
        })
        .finally(() => {
          if (inflight.get(userId) === computing) inflight.delete(userId);
        });
      computing.catch(() => {}); // observed by whoever awaits it; never unhandled
      inflight.set(userId, computing);
      p = computing;
    }
    return o.signal ? raceAbort(p, o.signal) : p;
  }

  function clear(): void {
    generation++;
    cache.clear();
    inflight.clear();
  }

  return {
    viewer,
    handleEvent(ev) {
      if (VISIBILITY_EVENTS.has(ev.event)) clear();
    },
    clear,
    stats: () => cache.stats(),
  };
}

/** `p`, or a rejection when `signal` aborts first. */
function raceAbort<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}
