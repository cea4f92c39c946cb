/**
 * The contract of the permission service (implemented in core/permissions/).
 * It answers "may this user do X here?" exactly as the Mattermost server would,
 * from the user's system roles, team membership roles and channel membership roles
 * (scheme flags mapped through team/channel schemes), with a short-TTL cache that
 * WebSocket events invalidate.
 */
import type { Requirement } from './command.js';
import type { User, WsEvent } from '../mattermost/models.js';

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

export interface CheckOptions {
  /** bypass every cache (destructive actions) */
  fresh?: boolean;
}

export interface PermissionService {
  /** Decides whether `userId` holds `req` at `where` (team/channel ids for those scopes). */
  check(userId: string, req: Requirement, where?: Where, opts?: CheckOptions): Promise<Decision>;
  /** The user record, cached unless `fresh`. */
  getUser(userId: string, opts?: CheckOptions): Promise<User>;
  /** Drops cache entries that an event makes stale. */
  handleEvent(ev: WsEvent): void;
  /** Forgets everything (after a WebSocket gap, when events may have been missed). */
  clear(): void;
  /** Cache counters for /metrics. */
  stats(): { hits: number; misses: number; size: number };
}
