import { describe, expect, it } from 'vitest';
import { atLeast, compatibilityPaths, degradedFeatures, parseServerVersion } from '../../src/mattermost/compat.js';

describe('server version', () => {
  it('reads a.b.c from an X-Version-Id or hello server_version', () => {
    expect(parseServerVersion('10.5.0.12345.1a2b3c4d5e6f.true')).toEqual({ major: 10, minor: 5, patch: 0, text: '10.5.0' });
    expect(parseServerVersion('6.0.2')).toMatchObject({ major: 6, minor: 0, patch: 2 });
    expect(parseServerVersion('')).toBeUndefined();
    expect(parseServerVersion('dev')).toBeUndefined();
  });

  it('compares major.minor', () => {
    const v = parseServerVersion('6.1.0')!;
    expect(atLeast(v, 6, 1)).toBe(true);
    expect(atLeast(v, 6, 2)).toBe(false);
    expect(atLeast(v, 5, 9)).toBe(true);
  });

  it('chooses the REST catch-up from 6.1 on, and says when the version is unknown', () => {
    const catchUp = (s: string) => compatibilityPaths(parseServerVersion(s)).find((p) => p.feature === 'catch-up')?.path ?? '';
    expect(catchUp('10.5.0')).toContain('re-read over REST');
    // before 6.1 the catch-up still runs, team by team (src/services/catch-up.ts)
    expect(catchUp('6.0.9')).toContain('team by team');
    expect(catchUp('6.0.9')).toContain('GET /users/{id}/teams/{team_id}/channels');
    expect(catchUp('6.0.9')).not.toContain('GET /users/{id}/channels,');
    expect(compatibilityPaths(undefined).find((p) => p.feature === 'catch-up')?.path).toContain('version unknown');
    for (const p of compatibilityPaths(undefined)) expect(p.notes).toMatch(/^§\d/);
  });

  it('names what is degraded: the team-by-team catch-up before 6.1, nothing on current or unknown servers', () => {
    expect(degradedFeatures(parseServerVersion('5.37.0'))).toEqual([expect.stringContaining('team by team')]);
    expect(degradedFeatures(parseServerVersion('6.0.9'))).toHaveLength(1);
    expect(degradedFeatures(parseServerVersion('6.1.0'))).toEqual([]);
    expect(degradedFeatures(parseServerVersion('9.10.0'))).toEqual([]);
    expect(degradedFeatures(undefined)).toEqual([]);
  });
});
