import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  formatDate,
  formatDateTime,
  isValidTimeZone,
  relativeTime,
  userTimeZone,
  wallClock,
  zonedTimeToEpoch,
} from '../../../commands/lib/time.js';

const NOW = Date.UTC(2025, 0, 15, 12, 0, 0); // Wed 15 Jan 2025 12:00 UTC
const MIN = 60_000;

describe('relativeTime', () => {
  it('reads past and future spans in rounded units', () => {
    expect(relativeTime(0, NOW)).toBe('never');
    expect(relativeTime(NOW - 10_000, NOW)).toBe('just now');
    expect(relativeTime(NOW - 5 * MIN, NOW)).toBe('5 min ago');
    expect(relativeTime(NOW - 61_000, NOW)).toBe('1 min ago');
    expect(relativeTime(NOW - 3 * 60 * MIN, NOW)).toBe('3 h ago');
    expect(relativeTime(NOW - 24 * 60 * MIN, NOW)).toBe('1 day ago');
    expect(relativeTime(NOW - 2 * 24 * 60 * MIN, NOW)).toBe('2 days ago');
    expect(relativeTime(NOW - 90 * 24 * 60 * MIN, NOW)).toBe('3 months ago');
    expect(relativeTime(NOW - 800 * 24 * 60 * MIN, NOW)).toBe('2 years ago');
    expect(relativeTime(NOW + 20 * MIN, NOW)).toBe('in 20 min');
    expect(relativeTime(NOW + 5_000, NOW)).toBe('in a moment');
  });
});

describe('userTimeZone', () => {
  it('uses the automatic zone when automatic is on (string or boolean), else the manual one', () => {
    expect(userTimeZone({ timezone: { useAutomaticTimezone: 'true', automaticTimezone: 'Asia/Tokyo', manualTimezone: 'Europe/Paris' } })).toBe(
      'Asia/Tokyo',
    );
    expect(userTimeZone({ timezone: { useAutomaticTimezone: true, automaticTimezone: 'Asia/Tokyo', manualTimezone: '' } })).toBe('Asia/Tokyo');
    expect(userTimeZone({ timezone: { useAutomaticTimezone: 'false', automaticTimezone: 'Asia/Tokyo', manualTimezone: 'Europe/Paris' } })).toBe(
      'Europe/Paris',
    );
  });

  it('ignores unknown zone names and missing settings', () => {
    expect(userTimeZone({ timezone: { useAutomaticTimezone: 'true', automaticTimezone: 'Mars/Olympus', manualTimezone: '' } })).toBeUndefined();
    expect(userTimeZone({ timezone: undefined })).toBeUndefined();
    expect(userTimeZone({ timezone: { useAutomaticTimezone: 'true', automaticTimezone: '', manualTimezone: '' } })).toBeUndefined();
    expect(isValidTimeZone('')).toBe(false);
    expect(isValidTimeZone('Europe/Berlin')).toBe(true);
  });
});

describe('formatting', () => {
  it('prints dates in the reader zone, UTC by default', () => {
    expect(formatDateTime(NOW)).toBe('15 Jan 2025, 12:00 UTC');
    expect(formatDateTime(NOW, 'Asia/Kolkata')).toBe('15 Jan 2025, 17:30 GMT+5:30');
    expect(formatDate(Date.UTC(2025, 0, 15, 23, 30), 'Asia/Tokyo')).toBe('16 Jan 2025');
  });
});

describe('formatter and zone caches', () => {
  it('answer the same on repeated and interleaved calls, also past the cache bound', () => {
    const zones = Intl.supportedValuesOf('timeZone');
    // three shapes per zone: far more formatters than the cache keeps (500)
    expect(zones.length * 3).toBeGreaterThan(1_000);
    const first = new Map(zones.map((tz) => [tz, [formatDateTime(NOW, tz), formatDate(NOW, tz), wallClock(NOW, tz).hour]]));
    for (const tz of [...zones].reverse()) {
      expect([formatDateTime(NOW, tz), formatDate(NOW, tz), wallClock(NOW, tz).hour]).toEqual(first.get(tz));
    }
    expect(formatDateTime(NOW, 'Asia/Kolkata')).toBe('15 Jan 2025, 17:30 GMT+5:30');
    expect(wallClock(NOW, 'Asia/Tokyo')).toMatchObject({ day: 15, hour: 21, minute: 0, weekday: 3 });
  });

  it('remember unknown zones as unknown, and an unknown zone still throws when formatting', () => {
    for (let i = 0; i < 3; i++) {
      expect(isValidTimeZone('Mars/Olympus')).toBe(false);
      expect(isValidTimeZone('Europe/Berlin')).toBe(true);
    }
    for (let i = 0; i < 600; i++) expect(isValidTimeZone(`Nowhere/Zone${i}`)).toBe(false);
    expect(isValidTimeZone('Asia/Tokyo')).toBe(true);
    expect(() => formatDate(NOW, 'Mars/Olympus')).toThrow(RangeError);
  });
});

describe('zonedTimeToEpoch', () => {
  it('converts a wall-clock reading in a zone to an instant', () => {
    const at = (y: number, mo: number, d: number, h: number, mi: number, tz: string) =>
      new Date(zonedTimeToEpoch({ year: y, month: mo, day: d, hour: h, minute: mi }, tz)).toISOString();
    expect(at(2025, 1, 15, 9, 0, 'Europe/Berlin')).toBe('2025-01-15T08:00:00.000Z');
    expect(at(2025, 7, 15, 9, 0, 'Europe/Berlin')).toBe('2025-07-15T07:00:00.000Z');
    expect(at(2025, 1, 15, 9, 0, 'America/New_York')).toBe('2025-01-15T14:00:00.000Z');
    expect(at(2025, 1, 32, 9, 0, 'UTC')).toBe('2025-02-01T09:00:00.000Z'); // day overflow rolls over
    // 02:30 does not exist in Berlin on 30 March 2025: lands just after the gap (03:30 CEST)
    expect(at(2025, 3, 30, 2, 30, 'Europe/Berlin')).toBe('2025-03-30T01:30:00.000Z');
  });

  it('round-trips any instant through its wall clock (to the minute)', () => {
    const zones = ['UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Kolkata', 'Australia/Lord_Howe', 'Pacific/Chatham', 'America/Sao_Paulo'];
    fc.assert(
      fc.property(fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2040, 0, 1) }), fc.constantFrom(...zones), (ms, tz) => {
        const minute = Math.floor(ms / MIN) * MIN;
        const w = wallClock(minute, tz);
        const back = zonedTimeToEpoch(w, tz);
        const w2 = wallClock(back, tz);
        expect([w2.year, w2.month, w2.day, w2.hour, w2.minute]).toEqual([w.year, w.month, w.day, w.hour, w.minute]);
      }),
      { numRuns: 300 },
    );
  });
});
