/**
 * The contract of the permission service (implemented in core/permissions/).
 * It answers "may this user do X here?" exactly as the Mattermost server would,
 * from the user's system roles, team membership roles and channel membership roles
 * (scheme flags mapped through team/channel schemes), with a short-TTL cache that
 * WebSocket events invalidate.
 */
import type { Requirement } from './command.js';
import type { Role, Team, TeamMember, User, WsEvent } from '../mattermost/models.js';

export type Decision =
  | { allowed: true }
  | {
      allowed: false;
      reason: 'missing_permission' | 'inactive' | 'bot' | 'unknown_user';
      requirement?: Requirement;
    };

export interface Where {
  teamId?: string;
  channelId?: string;
}

/**
 * The reads of one invocation that must see the server's current state: with it, each
 * user, membership, team, channel, scheme and role is read from the server once (the
 * first time a check needs it) and that read is reused by every later check of the same
 * invocation. Make one per invocation with {@link freshReads}.
 */
export interface FreshReads {
  /** cache key → the read made for this invocation */
  readonly loads: Map<string, Promise<unknown>>;
}

/** A new, empty set of fresh reads (one per privileged invocation). */
export function freshReads(): FreshReads {
  return { loads: new Map() };
}

export interface CheckOptions {
  /**
   * Bypass the cache: `true` re-reads everything on this check; a {@link FreshReads}
   * re-reads each thing once per invocation (privileged subcommands: the server tells
   * the bot nothing when someone else's roles change, docs/mattermost-notes.md §6 item 24).
   */
  fresh?: boolean | FreshReads;
}

export interface PermissionService {
  /** Decides whether `userId` holds `req` at `where` (team/channel ids for those scopes). */
  check(userId: string, req: Requirement, where?: Where, opts?: CheckOptions): Promise<Decision>;
  /** The user record, cached unless `fresh` (with a {@link FreshReads}: read once per invocation). */
  getUser(userId: string, opts?: CheckOptions): Promise<User>;
  /** Drops cache entries that an event makes stale. */
  handleEvent(ev: WsEvent): void;
  /** Forgets everything (after a WebSocket gap, when events may have been missed). */
  clear(): void;
  /**
   * Seeds the cache with facts already fetched in bulk (start-up: the bot's teams and its
   * memberships from one call each), so checks need no call per team.
   */
  prime?(facts: {
    users?: User[];
    teams?: Team[];
    teamMembers?: Array<{ teamId: string; userId: string; member: TeamMember | null }>;
    /** role definitions by name (null = no such role) */
    roles?: Array<{ name: string; role: Role | null }>;
  }): void;
  /** Cache counters for /metrics. */
  stats(): { hits: number; misses: number; size: number };
}
