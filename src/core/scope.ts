/**
 * Team and channel lookups for the dispatcher's scope step: a subcommand's
 * `scope(raw)` names a team (name or id) and/or a channel (`~name`, `~team:name`,
 * or id); otherwise the invocation's own team and channel apply. Lookups are cached
 * briefly, since nearly every invocation asks for the same few.
 *
 * @example
 *   const scopes = createScopeResolver(api);
 *   const team = await scopes.team('acme', { signal });
 */
import type { CallOptions, MattermostApi } from '../mattermost/api.js';
import { isApiError } from '../mattermost/errors.js';
import { isMattermostId, type Channel, type Team } from '../mattermost/models.js';
import { UserError } from './errors.js';

export interface ScopeResolverOptions {
  /** how long a team/channel record is trusted (default 60 000 ms) */
  ttlMs?: number;
  maxSize?: number;
  now?: () => number;
}

export interface ScopeResolver {
  /** A team by name or id; UserError `not_found` when absent or invisible to the bot. */
  team(ref: string, o?: CallOptions): Promise<Team>;
  /**
   * A channel by `~name` / `name` (in `team`), `~team:name`, or id; `mentions` maps
   * names to ids the server already resolved (slash `channel_mentions`).
   */
  channel(ref: string, ctx: { team?: Team; mentions?: Record<string, string> }, o?: CallOptions): Promise<Channel>;
  /** A team by id, cached; undefined when it cannot be read. */
  teamById(id: string, o?: CallOptions): Promise<Team | undefined>;
  /** A channel by id, cached; undefined when it cannot be read. */
  channelById(id: string, o?: CallOptions): Promise<Channel | undefined>;
  clear(): void;
}

const hidden = (e: unknown): boolean => isApiError(e) && (e.status === 404 || e.status === 403);

/** Creates a scope resolver over the bot's API client. */
export function createScopeResolver(api: MattermostApi, opts: ScopeResolverOptions = {}): ScopeResolver {
  const ttl = opts.ttlMs ?? 60_000;
  const maxSize = opts.maxSize ?? 1000;
  const now = opts.now ?? Date.now;
  const cache = new Map<string, { value: Team | Channel; at: number }>();

  function cached<T extends Team | Channel>(key: string, load: () => Promise<T>, guard: (v: Team | Channel) => v is T): Promise<T> {
    const hit = cache.get(key);
    if (hit && now() - hit.at <= ttl && guard(hit.value)) return Promise.resolve(hit.value);
    return load().then((value) => {
      if (cache.size >= maxSize) cache.delete(cache.keys().next().value ?? '');
      cache.set(key, { value, at: now() });
      return value;
    });
  }
  const isTeam = (v: Team | Channel): v is Team => !('type' in v && 'team_id' in v);
  const isChannel = (v: Team | Channel): v is Channel => 'team_id' in v;

  const teamByIdStrict = (id: string, o?: CallOptions): Promise<Team> => cached(`team:${id}`, () => api.getTeam(id, o), isTeam);
  const channelByIdStrict = (id: string, o?: CallOptions): Promise<Channel> =>
    cached(`channel:${id}`, () => api.getChannel(id, o), isChannel);

  async function team(ref: string, o?: CallOptions): Promise<Team> {
    const name = ref.trim().replace(/^~/, '');
    if (name === '') throw new UserError('invalid_input', 'An empty team name was given.');
    try {
      if (isMattermostId(name)) {
        try {
          return await teamByIdStrict(name, o);
        } catch (e) {
          if (!hidden(e)) throw e; // a 26-letter team *name* is legal too
        }
      }
      return await cached(`teamname:${name.toLowerCase()}`, () => api.getTeamByName(name.toLowerCase(), o), isTeam);
    } catch (e) {
      if (hidden(e)) throw new UserError('not_found', `No team named "${name}" (or the bot is not in it).`);
      throw e;
    }
  }

  async function channel(ref: string, ctx: { team?: Team; mentions?: Record<string, string> }, o?: CallOptions): Promise<Channel> {
    const body = ref.trim().replace(/^~/, '');
    if (body === '') throw new UserError('invalid_input', 'An empty channel name was given; write it as ~channel-name.');
    const colon = body.indexOf(':');
    const teamRef = colon > 0 ? body.slice(0, colon) : undefined;
    const name = colon > 0 ? body.slice(colon + 1) : body;
    try {
      if (teamRef === undefined) {
        const mentioned = ctx.mentions?.[name] ?? ctx.mentions?.[name.toLowerCase()];
        if (mentioned) return await channelByIdStrict(mentioned, o);
        if (isMattermostId(name)) {
          try {
            return await channelByIdStrict(name, o);
          } catch (e) {
            if (!hidden(e)) throw e;
          }
        }
      }
      const inTeam = teamRef !== undefined ? await team(teamRef, o) : ctx.team;
      if (!inTeam) {
        throw new UserError('invalid_input', `Which team is ~${name} in? Write it as ~team:${name}.`);
      }
      const key = `channelname:${inTeam.id}:${name.toLowerCase()}`;
      return await cached(key, () => api.getChannelByName(inTeam.id, name.toLowerCase(), o), isChannel);
    } catch (e) {
      if (hidden(e)) throw new UserError('not_found', `No channel named "~${body}" (or the bot cannot see it).`);
      throw e;
    }
  }

  const soft = async <T>(p: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await p();
    } catch (e) {
      if (hidden(e)) return undefined;
      throw e;
    }
  };

  return {
    team,
    channel,
    teamById: (id, o) => soft(() => teamByIdStrict(id, o)),
    channelById: (id, o) => soft(() => channelByIdStrict(id, o)),
    clear: () => cache.clear(),
  };
}
