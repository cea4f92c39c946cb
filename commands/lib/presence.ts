/**
 * How a Mattermost status reads in a reply: emoji + label, manual/automatic, the
 * DND end time (the API gives `dnd_end_time` in **seconds**), last activity.
 */
import type { Status } from '../../src/mattermost/models.js';
import { formatDateTime, relativeTime } from './time.js';

/** The statuses a person (or an admin for them) can set with `PUT /users/{id}/status`. */
export const SETTABLE_STATUSES = ['online', 'away', 'dnd', 'offline'] as const;
export type SettableStatus = (typeof SETTABLE_STATUSES)[number];
export const isSettableStatus = (s: string): s is SettableStatus => (SETTABLE_STATUSES as readonly string[]).includes(s);

const LABELS: Record<string, string> = {
  online: '🟢 Online',
  away: '🟡 Away',
  dnd: '⛔ Do not disturb',
  offline: '⚪ Offline',
  ooo: '🌴 Out of office',
};

/** "🟢 Online"; an unknown wire value is shown as is (the renderer escapes it). */
export function statusLabel(status: string): string {
  return LABELS[status] ?? `❔ ${status}`;
}

/** "manual" (set by the person) or "automatic" (set by activity). */
export const manualLabel = (s: Pick<Status, 'manual'>): string => (s.manual ? 'manual' : 'automatic');

/**
 * "until 2 Jan 2025, 14:30 CET (in 3 h)" for a timed DND; '' when not timed or not dnd.
 * `dnd_end_time` is in seconds (docs/mattermost-notes.md §5.1).
 */
export function dndUntil(s: Pick<Status, 'status' | 'dnd_end_time'>, now: number, tz?: string): string {
  if (s.status !== 'dnd' || !s.dnd_end_time || s.dnd_end_time <= 0) return '';
  const ms = s.dnd_end_time * 1000;
  return `until ${formatDateTime(ms, tz)} (${relativeTime(ms, now)})`;
}

/** "5 min ago" from a status's `last_activity_at` (ms), "never" when 0. */
export const lastActive = (s: Pick<Status, 'last_activity_at'>, now: number): string => relativeTime(s.last_activity_at, now);
