/**
 * Resolves the ways people name each other in chat to User records, in as few API
 * calls as possible:
 *
 * - `@ann` / `ann`          → POST /users/usernames (batched)
 * - `ann@example.com`       → GET /users/email/{email}
 * - 26-character id         → POST /users/ids (batched; also tried as a username)
 * - `"Ann Lee"`, other text → POST /users/search (several matches → `ambiguous`)
 *
 * A bare word that is no username falls back to a search, so `whois ann` finds
 * "Ann Lee" (username `alee`) when she is the only match. Users are cached briefly
 * (default 30 s) by id and username.
 *
 * Everything it returns is cut to the people the caller may see (`viewer`, see
 * core/permissions/visibility.ts): someone the caller may not see is answered exactly
 * like someone unknown, with the same API calls (a cached record of an invisible
 * person is not used: the lookup goes to the server as it would for a stranger).
 *
 * @example
 *   const users = createUserDirectory(api);
 *   const ann = await users.resolve('@ann');
 *   const { found, notFound } = await users.resolveMany(['@ann', 'bob', 'x@y.z']);
 */
import type { CallOptions, MattermostApi } from '../mattermost/api.js';
import { isApiError } from '../mattermost/errors.js';
import { isMattermostId, type User } from '../mattermost/models.js';
import type { UserDirectory } from './command.js';
import { UserError } from './errors.js';

export interface UserCacheOptions {
  /** how long a user record is trusted (default 30 000 ms) */
  ttlMs?: number;
  /** most cached users (default 5000) */
  maxSize?: number;
  now?: () => number;
}

/** A shared TTL cache of users, keyed by id and by username. */
export interface UserCache {
  get(id: string): User | undefined;
  getByUsername(username: string): User | undefined;
  put(user: User): void;
  /** drops one user (after an event says it changed) */
  forget(id: string): void;
  clear(): void;
  size(): number;
}

/** Creates a user cache (one per process; directories per invocation share it). */
export function createUserCache(opts: UserCacheOptions = {}): UserCache {
  const ttl = opts.ttlMs ?? 30_000;
  const maxSize = opts.maxSize ?? 5000;
  const now = opts.now ?? Date.now;
  const byId = new Map<string, { user: User; at: number }>();
  const idByName = new Map<string, string>();
  const fresh = (id: string): User | undefined => {
    const e = byId.get(id);
    if (!e) return undefined;
    if (now() - e.at > ttl) {
      byId.delete(id);
      idByName.delete(e.user.username);
      return undefined;
    }
    return e.user;
  };
  return {
    get: fresh,
    getByUsername(username) {
      const id = idByName.get(username.toLowerCase());
      return id ? fresh(id) : undefined;
    },
    put(user) {
      if (byId.size >= maxSize && !byId.has(user.id)) {
        const oldest = byId.keys().next().value; // Map keeps insertion order
        if (oldest !== undefined) this.forget(oldest);
      }
      const prior = byId.get(user.id);
      if (prior && prior.user.username !== user.username) idByName.delete(prior.user.username);
      byId.delete(user.id);
      byId.set(user.id, { user, at: now() });
      idByName.set(user.username.toLowerCase(), user.id);
    },
    forget(id) {
      const e = byId.get(id);
      if (e) idByName.delete(e.user.username);
      byId.delete(id);
    },
    clear() {
      byId.clear();
      idByName.clear();
    },
    size: () => byId.size,
  };
}

export interface UserDirectoryOptions {
  /** share a cache across directories (default: a private one) */
  cache?: UserCache;
  /** aborts API calls (the invocation deadline) */
  signal?: AbortSignal;
  /** most full-text searches one resolveMany may run (default 10) */
  maxSearches?: number;
  /** how many candidates an `ambiguous` error lists (default 8) */
  maxCandidates?: number;
  /**
   * Who the caller may see (core/permissions/visibility.ts `Viewer`). Default: everyone
   * (tools and tests); the dispatcher always passes the caller's.
   */
  viewer?: () => Promise<Seer>;
}

/** The part of a `Viewer` the directory needs. */
export interface Seer {
  readonly everyone: boolean;
  sees(userId: string): boolean;
}

const SEES_EVERYONE: Seer = { everyone: true, sees: () => true };

/** What a reference looks like, decided from its text alone. */
export type UserRefKind = 'username' | 'email' | 'id' | 'text';

const USERNAME = /^[a-z0-9.\-_]{1,64}$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** Classifies a reference: `@ann`/`ann` username, email, 26-char id, or free text. */
export function classifyUserRef(ref: string): { kind: UserRefKind; value: string; explicit: boolean } {
  const r = ref.trim();
  if (r.startsWith('@') && USERNAME.test(r.slice(1).toLowerCase())) {
    return { kind: 'username', value: r.slice(1).toLowerCase(), explicit: true };
  }
  if (EMAIL.test(r)) return { kind: 'email', value: r, explicit: true };
  if (isMattermostId(r)) return { kind: 'id', value: r, explicit: true };
  if (USERNAME.test(r.toLowerCase())) return { kind: 'username', value: r.toLowerCase(), explicit: false };
  return { kind: 'text', value: r, explicit: false };
}

/** Creates a UserDirectory over the bot's API client. */
export function createUserDirectory(api: MattermostApi, opts: UserDirectoryOptions = {}): UserDirectory {
  const cache = opts.cache ?? createUserCache();
  const call: CallOptions = opts.signal ? { signal: opts.signal } : {};
  const maxSearches = opts.maxSearches ?? 10;
  const maxCandidates = opts.maxCandidates ?? 8;
  const viewer = opts.viewer ?? (async () => SEES_EVERYONE);

  async function byIds(ids: string[]): Promise<Map<string, User>> {
    const v = await viewer();
    const out = new Map<string, User>();
    const misses: string[] = [];
    for (const id of new Set(ids)) {
      const hit = cache.get(id);
      if (hit && v.sees(hit.id)) out.set(id, hit);
      else misses.push(id);
    }
    if (misses.length > 0) {
      for (const u of await api.getUsersByIds(misses, call)) {
        cache.put(u);
        if (v.sees(u.id)) out.set(u.id, u);
      }
    }
    return out;
  }

  async function byUsernames(names: string[]): Promise<Map<string, User>> {
    const v = await viewer();
    const out = new Map<string, User>();
    const misses: string[] = [];
    for (const n of new Set(names)) {
      const hit = cache.getByUsername(n);
      if (hit && v.sees(hit.id)) out.set(n, hit);
      else misses.push(n);
    }
    if (misses.length > 0) {
      for (const u of await api.getUsersByUsernames(misses, call)) {
        cache.put(u);
        if (v.sees(u.id)) out.set(u.username.toLowerCase(), u);
      }
    }
    return out;
  }

  async function byEmail(email: string): Promise<User | undefined> {
    const v = await viewer();
    try {
      const u = await api.getUserByEmail(email, call);
      cache.put(u);
      return v.sees(u.id) ? u : undefined;
    } catch (e) {
      if (isApiError(e) && e.status === 404) return undefined;
      if (isApiError(e) && e.status === 403) {
        throw new UserError('forbidden', 'Looking people up by email is turned off on this server; use their username.');
      }
      throw e;
    }
  }

  /** Full-text search; one exact match wins, else one result, else ambiguous. */
  async function bySearch(ref: string, term: string): Promise<User | undefined> {
    const v = await viewer();
    const all = await api.searchUsers({ term, allow_inactive: true, limit: 50 }, call);
    all.forEach((u) => cache.put(u));
    const results = all.filter((u) => v.sees(u.id));
    if (results.length === 0) return undefined;
    if (results.length === 1) return results[0];
    const t = term.toLowerCase();
    const exact = results.filter(
      (u) =>
        u.username.toLowerCase() === t ||
        u.nickname.toLowerCase() === t ||
        `${u.first_name} ${u.last_name}`.trim().toLowerCase() === t ||
        u.email.toLowerCase() === t,
    );
    if (exact.length === 1) return exact[0];
    const candidates = (exact.length > 1 ? exact : results).map((u) => `@${u.username}`);
    throw new UserError(
      'ambiguous',
      `"${ref}" matches ${candidates.length} people. Say which one by username.`,
      { items: candidates.slice(0, maxCandidates) },
    );
  }

  async function resolveMany(refs: string[]): Promise<{ found: Array<{ ref: string; user: User }>; notFound: string[] }> {
    const classified = refs.map((ref) => ({ ref, ...classifyUserRef(ref) }));
    const empty = classified.find((c) => c.value === '');
    if (empty) throw new UserError('invalid_input', 'An empty name was given where a person was expected.');

    // Ids are also tried as usernames: a 26-letter username is legal, if unlikely.
    const ids = classified.filter((c) => c.kind === 'id').map((c) => c.value);
    const names = classified.filter((c) => c.kind === 'username' || c.kind === 'id').map((c) => c.value.toLowerCase());
    const [idHits, nameHits] = await Promise.all([
      ids.length > 0 ? byIds(ids) : Promise.resolve(new Map<string, User>()),
      names.length > 0 ? byUsernames(names) : Promise.resolve(new Map<string, User>()),
    ]);

    const found: Array<{ ref: string; user: User }> = [];
    const notFound: string[] = [];
    let searches = 0;
    for (const c of classified) {
      let user: User | undefined;
      if (c.kind === 'id') user = idHits.get(c.value) ?? nameHits.get(c.value);
      else if (c.kind === 'username') user = nameHits.get(c.value);
      else if (c.kind === 'email') user = await byEmail(c.value);
      // a bare word that is no username, or free text: search by name
      if (!user && !c.explicit && searches < maxSearches) {
        searches++;
        user = await bySearch(c.ref.trim(), c.value);
      }
      if (user) found.push({ ref: c.ref, user });
      else notFound.push(c.ref);
    }
    return { found, notFound };
  }

  return {
    byIds,
    async visible(items, idOf) {
      const v = await viewer();
      return v.everyone ? [...items] : items.filter((item) => v.sees(idOf(item)));
    },
    resolveMany,
    async resolve(ref) {
      const { found } = await resolveMany([ref]);
      const hit = found[0];
      if (!hit) throw new UserError('not_found', `No one matches "${ref.trim()}".`);
      return hit.user;
    },
  };
}
