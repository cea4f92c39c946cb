/**
 * Every channel of a user, DMs and group messages included, on every server version: the
 * catch-up (src/services/catch-up.ts, the bot's own channels) and the visibility service
 * (src/core/permissions/visibility.ts, a caller's channels) both read them here.
 *
 * - 6.1 and later: `GET /users/{id}/channels`, one call (server/channels/api4/channel.go
 *   getChannelsForUser, 9.10).
 * - before 6.1 the route does not exist (5.37 `api4/channel.go` InitChannel registers only
 *   `/users/{user_id}/teams/{team_id}/channels`); the path falls through to `web/web.go`
 *   Handle404, 404 `api.context.404.app_error`. Team by team then:
 *   `GET /users/{id}/teams/{team_id}/channels` lists that team's channels plus every DM and
 *   group message (5.37 `store/sqlstore/channel_store.go` SqlChannelStore.GetChannels:
 *   `TeamId = :TeamId OR TeamId = ''`), so they are kept once.
 *
 * The listing is decided once (from the server version when known, else from the first
 * router 404) and then kept for every user.
 *
 * @example
 *   const channels = createUserChannels({ api, serverVersion: () => rt.serverVersion, logger });
 *   const mine = await channels.list(botUserId, {});
 */
import type { Logger } from '../log/logger.js';
import type { CallOptions, MattermostApi } from './api.js';
import { atLeast, parseServerVersion } from './compat.js';
import { isApiError } from './errors.js';
import type { Channel } from './models.js';

export type UserChannelsApi = Pick<MattermostApi, 'getChannelsForUser' | 'getChannelsForTeamForUser' | 'getTeamsForUser'>;

export interface UserChannelsOptions {
  api: UserChannelsApi;
  /** the server's version (`a.b.c`, '' while unknown): before 6.1 the channels are read team by team */
  serverVersion?: () => string;
  logger: Logger;
  /** who reads, for the log lines (e.g. "catch-up reads the bot's channels") */
  label: string;
  /** the warning logged once per user in no team before 6.1 (a default names the user) */
  noTeamWarning?: string;
}

export interface UserChannels {
  /**
   * The user's channels (archived ones too with `includeDeleted`). Throws what the server
   * answered, except a team with no channel of the user (skipped). A user in no team gets []
   * on a server before 6.1 (logged once: their DMs can only be listed through a team).
   */
  list(userId: string, q: { includeDeleted?: boolean }, o?: CallOptions): Promise<Channel[]>;
  /** how the channels are listed: decided by the first call (or the version), then kept */
  readonly listing: 'undecided' | 'user' | 'teams';
}

/** The router's 404 (web/web.go Handle404): the route does not exist on this server. */
export const isRouter404 = (err: unknown): boolean => isApiError(err) && err.status === 404 && err.serverErrorId === 'api.context.404.app_error';

/** Creates the lister (see the module comment). */
export function createUserChannels(opts: UserChannelsOptions): UserChannels {
  const { api, logger: log, label } = opts;
  let listing: 'undecided' | 'user' | 'teams' = 'undecided';
  const warnedNoTeam = new Set<string>();

  function byTeams(why: string): void {
    listing = 'teams';
    log.info({ listing: 'teams', why }, `${label} team by team (GET /users/{id}/teams/{team_id}/channels, DMs and group messages included): ${why}`);
  }

  async function byTeam(userId: string, q: { includeDeleted?: boolean }, o?: CallOptions): Promise<Channel[]> {
    const teams = (await api.getTeamsForUser(userId, o)).filter((t) => t.delete_at === 0);
    if (teams.length === 0) {
      if (!warnedNoTeam.has(userId)) {
        warnedNoTeam.add(userId);
        log.warn({ userId }, opts.noTeamWarning ?? `${label}: the user is in no team; on this server DMs can only be listed through a team, so none are read`);
      }
      return [];
    }
    warnedNoTeam.delete(userId);
    const seen = new Map<string, Channel>();
    for (const team of teams) {
      let list: Channel[];
      try {
        list = await api.getChannelsForTeamForUser(userId, team.id, q, o);
      } catch (err) {
        // no channel of the user there, and no DM at all (sqlstore GetChannels: no row → 404)
        if (isApiError(err) && err.status === 404 && err.serverErrorId === 'app.channel.get_channels.not_found.app_error') continue;
        throw err;
      }
      for (const c of list) if (!seen.has(c.id)) seen.set(c.id, c);
    }
    return [...seen.values()];
  }

  return {
    get listing() {
      return listing;
    },
    async list(userId, q, o) {
      if (listing === 'undecided') {
        const v = parseServerVersion(opts.serverVersion?.() ?? '');
        if (v && !atLeast(v, 6, 1)) byTeams(`Mattermost ${v.text} has no GET /users/{id}/channels (6.1+)`);
      }
      if (listing !== 'teams') {
        try {
          const list = await api.getChannelsForUser(userId, q, o);
          if (listing === 'undecided') {
            listing = 'user';
            log.info({ listing: 'user' }, `${label} with GET /users/{id}/channels`);
          }
          return list;
        } catch (err) {
          if (isRouter404(err)) byTeams('GET /users/{id}/channels answered 404 (a server before 6.1)');
          else throw err;
        }
      }
      return byTeam(userId, q, o);
    },
  };
}
