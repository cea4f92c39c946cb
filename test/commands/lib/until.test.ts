import { describe, expect, it } from 'vitest';
import { isUserError } from '../../../src/core/errors.js';
import { isClockWord, parseUntil } from '../../../commands/lib/until.js';

const NOW = Date.UTC(2025, 0, 15, 12, 0, 0); // Wed 15 Jan 2025, 12:00 UTC = 13:00 in Berlin
const BERLIN = 'Europe/Berlin';
const iso = (text: string, tz = BERLIN, now = NOW) => new Date(parseUntil(text, now, tz)).toISOString();

function rejects(text: string, tz = BERLIN): string {
  try {
    parseUntil(text, NOW, tz);
  } catch (e) {
    if (isUserError(e) && e.code === 'invalid_input') return e.message;
    throw e;
  }
  throw new Error(`"${text}" was accepted`);
}

describe('parseUntil', () => {
  it('reads durations', () => {
    expect(iso('30m')).toBe('2025-01-15T12:30:00.000Z');
    expect(iso('2h')).toBe('2025-01-15T14:00:00.000Z');
    expect(iso('1h30m')).toBe('2025-01-15T13:30:00.000Z');
    expect(iso('90 min')).toBe('2025-01-15T13:30:00.000Z');
    expect(iso('1d')).toBe('2025-01-16T12:00:00.000Z');
    expect(iso('2 hours')).toBe('2025-01-15T14:00:00.000Z');
  });

  it('reads clock times in the person\u2019s zone, today if still ahead, else tomorrow', () => {
    expect(iso('17:00')).toBe('2025-01-15T16:00:00.000Z');
    expect(iso('5pm')).toBe('2025-01-15T16:00:00.000Z');
    expect(iso('09:00')).toBe('2025-01-16T08:00:00.000Z');
    expect(iso('17:00', 'UTC')).toBe('2025-01-15T17:00:00.000Z');
    expect(iso('today 18:30')).toBe('2025-01-15T17:30:00.000Z');
  });

  it('reads tomorrow (9:00 by default, like Mattermost), weekdays and dates', () => {
    expect(iso('tomorrow')).toBe('2025-01-16T08:00:00.000Z');
    expect(iso('tomorrow 9:00')).toBe('2025-01-16T08:00:00.000Z');
    expect(iso('Tomorrow 18:30')).toBe('2025-01-16T17:30:00.000Z');
    expect(iso('tomorrow 9:00', 'America/New_York')).toBe('2025-01-16T14:00:00.000Z');
    expect(iso('monday 9:00')).toBe('2025-01-20T08:00:00.000Z');
    expect(iso('wed')).toBe('2025-01-22T08:00:00.000Z'); // said on a Wednesday: next week
    expect(iso('2025-03-01 08:30')).toBe('2025-03-01T07:30:00.000Z');
    expect(iso('2025-03-01T08:30')).toBe('2025-03-01T07:30:00.000Z');
  });

  it('rejects unreadable, past, impossible and far-away times with a clear sentence', () => {
    expect(rejects('soon')).toMatch(/can't read "soon".*30m/);
    expect(rejects('90')).toMatch(/can't read/); // bare numbers are ambiguous
    expect(rejects('0m')).toMatch(/can't read/);
    expect(rejects('25:00')).toMatch(/can't read/);
    expect(rejects('13pm')).toMatch(/can't read/);
    expect(rejects('2025-02-30 08:00')).toMatch(/can't read/);
    expect(rejects('today 11:00')).toMatch(/in the past/);
    expect(rejects('2024-12-01 08:00')).toMatch(/in the past/);
    expect(rejects('400d')).toMatch(/more than a year/);
    expect(rejects('')).toMatch(/can't read/);
  });
});

describe('isClockWord', () => {
  it('accepts clock readings only (so `--until tomorrow 9:00` can be re-joined)', () => {
    expect(isClockWord('9:00')).toBe(true);
    expect(isClockWord('17:30')).toBe(true);
    expect(isClockWord('5pm')).toBe(true);
    expect(isClockWord('9')).toBe(false);
    expect(isClockWord('@ann')).toBe(false);
    expect(isClockWord('dnd')).toBe(false);
  });
});
