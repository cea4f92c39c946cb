/**
 * Parses the `--until` of `/status set dnd --until …` into an instant, in the
 * caller's own time zone: durations (`30m`, `2h`, `1h30m`, `1d`), clock times
 * (`17:00`, `5pm` — the next time the clock shows it), `today 17:00`,
 * `tomorrow` (9:00, like Mattermost's own "Tomorrow" choice), `tomorrow 9:00`,
 * weekdays (`monday 9:00`) and dates (`2025-03-01 08:30`).
 *
 * @example parseUntil('tomorrow 9:00', Date.now(), 'Europe/Berlin') // → ms epoch
 */
import { invalidInput } from '../../src/core/errors.js';
import { wallClock, zonedTimeToEpoch } from './time.js';

/** What `--until` accepts, for error messages and help. */
export const UNTIL_FORMATS = '30m, 2h, 1h30m, 1d, 17:00, 5pm, today 17:00, tomorrow, tomorrow 9:00, monday 9:00, 2025-03-01 08:30';

const DURATION = /^(?:(\d+)\s*d(?:ays?)?)?\s*(?:(\d+)\s*h(?:ours?|rs?)?)?\s*(?:(\d+)\s*m(?:in(?:utes?|s)?)?)?$/i;
const CLOCK = /^(\d{1,2})(?::(\d{2}))?\s*(am|pm)?$/i;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DAY_NAMES = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];

/** The longest DND we accept (Mattermost has no limit; a year catches typos). */
const MAX_AHEAD_MS = 366 * 24 * 3_600_000;

/** true when `word` reads as a clock time (`9:00`, `17:30`, `5pm`), used to re-join `--until tomorrow 9:00`. */
export function isClockWord(word: string): boolean {
  const m = CLOCK.exec(word.trim());
  return !!m && (m[2] !== undefined || m[3] !== undefined);
}

function parseClock(text: string): { hour: number; minute: number } | undefined {
  const m = CLOCK.exec(text.trim());
  if (!m) return undefined;
  let hour = Number(m[1]);
  const minute = m[2] === undefined ? 0 : Number(m[2]);
  const ampm = m[3]?.toLowerCase();
  if (ampm) {
    if (hour < 1 || hour > 12) return undefined;
    hour = (hour % 12) + (ampm === 'pm' ? 12 : 0);
  }
  if (hour > 23 || minute > 59) return undefined;
  return { hour, minute };
}

function bad(input: string): never {
  throw invalidInput(`I can't read "${input}" as a time. Try one of: ${UNTIL_FORMATS}.`);
}

/**
 * The instant (ms epoch) `input` names, relative to `now` in zone `tz`.
 * Throws UserError `invalid_input` for unreadable or past times.
 */
export function parseUntil(input: string, now: number, tz: string): number {
  const text = input.trim().toLowerCase().replace(/\s+/g, ' ');
  if (!text) bad(input);
  const at = parseAt(text, now, tz) ?? bad(input);
  if (at <= now) throw invalidInput(`"${input}" is in the past; give a time in the future.`);
  if (at - now > MAX_AHEAD_MS) throw invalidInput(`"${input}" is more than a year away.`);
  return at;
}

function parseAt(text: string, now: number, tz: string): number | undefined {
  // Durations: digits with units, all parts optional but at least one present.
  if (/\d/.test(text) && /[a-z]/.test(text) && !/(am|pm)$/.test(text)) {
    const d = DURATION.exec(text);
    if (d && (d[1] || d[2] || d[3])) {
      const ms = (Number(d[1] ?? 0) * 24 * 60 + Number(d[2] ?? 0) * 60 + Number(d[3] ?? 0)) * 60_000;
      return ms > 0 ? now + ms : undefined;
    }
  }

  const [head = '', ...restWords] = text.split(' ');
  const rest = restWords.join(' ');
  const today = wallClock(now, tz);
  const onDay = (dayOffset: number, clock: { hour: number; minute: number }, base = today): number =>
    zonedTimeToEpoch({ year: base.year, month: base.month, day: base.day + dayOffset, ...clock }, tz);

  if (head === 'today' || head === 'tonight') {
    const clock = rest ? parseClock(rest) : undefined;
    return clock ? onDay(0, clock) : undefined;
  }
  if (head === 'tomorrow') {
    const clock = rest ? parseClock(rest) : { hour: 9, minute: 0 };
    return clock ? onDay(1, clock) : undefined;
  }
  const dayIndex = DAY_NAMES.findIndex((d) => d === head || d.slice(0, 3) === head);
  if (dayIndex >= 0) {
    const clock = rest ? parseClock(rest) : { hour: 9, minute: 0 };
    if (!clock) return undefined;
    // The next such weekday, never today (`monday` said on a Monday means next week).
    const ahead = ((dayIndex - today.weekday + 7) % 7) || 7;
    return onDay(ahead, clock);
  }
  const date = DATE.exec(head.replace(/t.*$/, ''));
  if (date) {
    const timePart = head.includes('t') ? head.slice(head.indexOf('t') + 1) : rest;
    const clock = timePart ? parseClock(timePart) : { hour: 9, minute: 0 };
    const [, y, mo, d] = date;
    const year = Number(y);
    const month = Number(mo);
    const day = Number(d);
    if (!clock || month < 1 || month > 12 || day < 1 || day > 31) return undefined;
    const probe = new Date(Date.UTC(year, month - 1, day));
    if (probe.getUTCMonth() !== month - 1) return undefined; // 2025-02-30
    return zonedTimeToEpoch({ year, month, day, ...clock }, tz);
  }
  if (!rest) {
    const clock = parseClock(head);
    // A bare number is too ambiguous (minutes? an hour?); a clock needs ':' or am/pm.
    if (!clock || !isClockWord(head)) return undefined;
    const todayAt = onDay(0, clock);
    return todayAt > now ? todayAt : onDay(1, clock);
  }
  if (restWords.length === 1 && /^(am|pm)$/.test(rest)) return parseAt(`${head}${rest}`, now, tz);
  return undefined;
}
