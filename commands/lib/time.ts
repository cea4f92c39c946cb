/**
 * Time helpers for replies: relative times ("3 min ago"), dates in a person's own
 * time zone, and the wall-clock arithmetic `--until tomorrow 9:00` needs.
 * Everything takes `now` explicitly so tests control the clock.
 */
import type { User } from '../../src/mattermost/models.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** "just now", "5 min ago", "3 h ago", "2 days ago", "in 20 min"; `never` for 0. */
export function relativeTime(ms: number, now: number): string {
  if (!Number.isFinite(ms) || ms <= 0) return 'never';
  const diff = now - ms;
  const future = diff < 0;
  const span = Math.abs(diff);
  if (span < 45_000) return future ? 'in a moment' : 'just now';
  const phrase = spanPhrase(span);
  return future ? `in ${phrase}` : `${phrase} ago`;
}

/** A rounded human span: "1 min", "42 min", "3 h", "2 days", "5 months", "2 years". */
export function spanPhrase(span: number): string {
  if (span < HOUR) return `${Math.max(1, Math.round(span / MINUTE))} min`;
  if (span < DAY) return `${Math.round(span / HOUR)} h`;
  const days = Math.round(span / DAY);
  if (days < 31) return days === 1 ? '1 day' : `${days} days`;
  const months = Math.round(days / 30.44);
  if (months < 12) return months === 1 ? '1 month' : `${months} months`;
  const years = Math.round(days / 365.25);
  return years === 1 ? '1 year' : `${years} years`;
}

/**
 * Building an Intl.DateTimeFormat costs around 0.1 ms, far more than formatting with
 * it, and every reply with a time in it needs one; the shapes are fixed and the zones
 * few, so formatters are kept (bounded: zone names come from user profiles).
 */
const MAX_CACHED = 500;
const formatters = new Map<string, Intl.DateTimeFormat>();
const zoneValidity = new Map<string, boolean>();

function remember<V>(map: Map<string, V>, key: string, value: V): V {
  if (map.size >= MAX_CACHED) map.clear();
  map.set(key, value);
  return value;
}

const SHAPES: Record<'dateTime' | 'date' | 'clock' | 'parts', Intl.DateTimeFormatOptions> = {
  dateTime: { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZoneName: 'short' },
  date: { year: 'numeric', month: 'short', day: 'numeric' },
  clock: { weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' },
  parts: { hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', weekday: 'short' },
};

/** The formatter for one of the fixed shapes above in `tz`; throws RangeError for an unknown zone. */
function formatterFor(shape: 'dateTime' | 'date' | 'clock' | 'parts', tz: string): Intl.DateTimeFormat {
  const key = `${shape} ${tz}`;
  return formatters.get(key) ?? remember(formatters, key, new Intl.DateTimeFormat(shape === 'parts' ? 'en-US' : 'en-GB', { ...SHAPES[shape], timeZone: tz }));
}

/** true when the runtime knows this IANA zone name. */
export function isValidTimeZone(tz: string): boolean {
  if (!tz) return false;
  const known = zoneValidity.get(tz);
  if (known !== undefined) return known;
  let valid: boolean;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    valid = true;
  } catch {
    valid = false;
  }
  return remember(zoneValidity, tz, valid);
}

/**
 * The zone a user's clients show (Mattermost's `timezone` prop: automatic when
 * `useAutomaticTimezone` is true/"true", else manual); undefined when unset or unknown.
 */
export function userTimeZone(user: Pick<User, 'timezone'>): string | undefined {
  const tz = user.timezone;
  if (!tz) return undefined;
  const auto = tz.useAutomaticTimezone === true || tz.useAutomaticTimezone === 'true';
  const candidates = auto ? [tz.automaticTimezone, tz.manualTimezone] : [tz.manualTimezone, tz.automaticTimezone];
  return candidates.find((z): z is string => typeof z === 'string' && isValidTimeZone(z));
}

/** "2 Jan 2025, 14:30 CET" in `tz` (UTC when absent). */
export function formatDateTime(ms: number, tz?: string): string {
  return formatterFor('dateTime', tz ?? 'UTC').format(ms);
}

/** "2 Jan 2025" in `tz` (UTC when absent). */
export function formatDate(ms: number, tz?: string): string {
  return formatterFor('date', tz ?? 'UTC').format(ms);
}

/** "Mon 14:30" — a short clock reading in `tz`, for "local time" lines. */
export function formatClock(ms: number, tz: string): string {
  return formatterFor('clock', tz).format(ms);
}

/** Wall-clock fields of an instant in a zone (month 1–12, weekday 0 = Sunday). */
export interface WallClock {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  weekday: number;
}

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

/** The wall clock in `tz` at instant `ms`. */
export function wallClock(ms: number, tz: string): WallClock {
  const parts = formatterFor('parts', tz).formatToParts(ms);
  const get = (type: string): string => parts.find((p) => p.type === type)?.value ?? '0';
  return {
    year: Number(get('year')),
    month: Number(get('month')),
    day: Number(get('day')),
    hour: Number(get('hour')) % 24,
    minute: Number(get('minute')),
    second: Number(get('second')),
    weekday: Math.max(0, WEEKDAYS.indexOf(get('weekday'))),
  };
}

/** Offset of `tz` from UTC at instant `ms`, in ms (positive east of Greenwich). */
function zoneOffset(ms: number, tz: string): number {
  const w = wallClock(ms, tz);
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  return asUtc - Math.floor(ms / 1000) * 1000;
}

/**
 * The instant at which the wall clock in `tz` reads the given local date and time.
 * Day overflow is allowed (`day: 32` rolls into the next month). In a DST gap the
 * result lands just after the gap; in an overlap, on one of the two readings.
 */
export function zonedTimeToEpoch(
  local: { year: number; month: number; day: number; hour: number; minute: number },
  tz: string,
): number {
  const guess = Date.UTC(local.year, local.month - 1, local.day, local.hour, local.minute);
  const firstOffset = zoneOffset(guess, tz);
  const first = guess - firstOffset;
  const secondOffset = zoneOffset(first, tz);
  if (secondOffset === firstOffset) return first;
  const second = guess - secondOffset;
  // The offset changed between the guess and the answer: either `second` is right
  // (we crossed a transition) or the local time does not exist (a DST gap).
  return zoneOffset(second, tz) === secondOffset ? second : Math.max(first, second);
}
