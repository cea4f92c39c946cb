import { describe, expect, it } from 'vitest';
import { dndUntil, isSettableStatus, lastActive, manualLabel, statusLabel } from '../../../commands/lib/presence.js';

const NOW = Date.UTC(2025, 0, 15, 12, 0, 0);

describe('presence', () => {
  it('labels every status with an emoji, unknown values as they are', () => {
    expect(statusLabel('online')).toBe('🟢 Online');
    expect(statusLabel('away')).toBe('🟡 Away');
    expect(statusLabel('dnd')).toBe('⛔ Do not disturb');
    expect(statusLabel('offline')).toBe('⚪ Offline');
    expect(statusLabel('ooo')).toBe('🌴 Out of office');
    expect(statusLabel('weird')).toBe('❔ weird');
  });

  it('reads dnd_end_time as seconds, in the reader zone', () => {
    const inTwoHours = NOW / 1000 + 2 * 3600;
    expect(dndUntil({ status: 'dnd', dnd_end_time: inTwoHours }, NOW)).toBe('until 15 Jan 2025, 14:00 UTC (in 2 h)');
    expect(dndUntil({ status: 'dnd', dnd_end_time: inTwoHours }, NOW, 'Europe/Berlin')).toBe('until 15 Jan 2025, 15:00 CET (in 2 h)');
    expect(dndUntil({ status: 'dnd', dnd_end_time: 0 }, NOW)).toBe('');
    expect(dndUntil({ status: 'away', dnd_end_time: inTwoHours }, NOW)).toBe('');
  });

  it('says manual or automatic and when someone was last active', () => {
    expect(manualLabel({ manual: true })).toBe('manual');
    expect(manualLabel({ manual: false })).toBe('automatic');
    expect(lastActive({ last_activity_at: NOW - 5 * 60_000 }, NOW)).toBe('5 min ago');
    expect(lastActive({ last_activity_at: 0 }, NOW)).toBe('never');
    expect(isSettableStatus('dnd')).toBe(true);
    expect(isSettableStatus('ooo')).toBe(false);
  });
});
