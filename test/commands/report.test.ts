/**
 * `report` against the sandbox: who may run it (refusal with no analytics call), each part
 * behind its own permission, and the chart a valid PNG of the stated size in the caller's DM.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { dailySeries } from '../../commands/report.js';
import { activityChartPng, CHART_SIZE, pngSize } from '../../src/render/chart.js';
import { createHarness, type Harness } from '../helpers/harness.js';
import { userIdFor } from '../../src/sandbox/seed.js';

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
  // grace gets a custom role with get_analytics only (no licence details, no user management)
  const base = h.fake.store.roles.get('system_user');
  if (!base) throw new Error('no system_user role');
  h.fake.store.roles.set('analyst', { ...base, id: 'analystroleid0000000000000', name: 'analyst', display_name: 'Analyst', built_in: false, scheme_managed: false, permissions: ['get_analytics'] });
  const grace = h.fake.store.users.get(userIdFor('grace'));
  if (!grace) throw new Error('no grace');
  grace.roles = 'system_user analyst';
});
afterAll(async () => {
  await h?.close();
});
beforeEach(() => h.fake.clearRequests());

const asked = (path: string): boolean => h.fake.requests.some((q) => q.path === `/api/v4${path}`);

function pngsSentTo(username: string): Uint8Array[] {
  const uid = userIdFor(username);
  return h.fake.posts
    .filter((p) => p.user_id === h.botUserId && h.fake.store.channels.get(p.channel_id)?.name.split('__').includes(uid))
    .flatMap((p) => (p.file_ids ?? []).map((id) => h.fake.store.files.get(id)))
    .filter((f) => f !== undefined && f.mime_type === 'image/png')
    .map((f) => f?.data ?? new Uint8Array());
}

describe('report', () => {
  it('gives an admin the workspace at a glance and a PNG chart of the stated size in their DM', async () => {
    const { result, text } = await h.run('alice', 'report');
    expect(result.outcome).toBe('ok');
    expect(text).toContain('Active people');
    expect(text).toMatch(/Seats.*used of 25/);
    expect(text).toMatch(/Expires.*in (19|20) days/);
    expect(text).toContain('licence expires in');
    expect(text).toContain('Guests');
    expect(text).toContain('direct messages with me');
    const png = pngsSentTo('alice').pop();
    expect(png).toBeDefined();
    expect(pngSize(png ?? new Uint8Array())).toEqual(CHART_SIZE);
    const file = [...h.fake.store.files.values()].find((f) => f.mime_type === 'image/png' && f.user_id === h.botUserId);
    expect(file?.name).toMatch(/^activity-\d{4}-\d{2}-\d{2}\.png$/);
  });

  it('refuses a caller without get_analytics and reads nothing for them', async () => {
    const { result, text } = await h.run('bob', 'report');
    expect(result.outcome).toBe('refused');
    expect(text).toContain('get_analytics');
    expect(asked('/analytics/old')).toBe(false);
    expect(asked('/license/client')).toBe(false);
    expect(asked('/files')).toBe(false);
  });

  it('leaves out what the caller may not read: licence expiry and guest counts, with no call for them', async () => {
    const { result, text } = await h.run('grace', 'report');
    expect(result.outcome).toBe('ok');
    expect(text).toMatch(/Expires.*needs `read_license_information`/);
    expect(text).toMatch(/Guests.*needs `sysconsole_read_user_management_users`/);
    expect(asked('/users/stats/filtered')).toBe(false);
    expect(text).toMatch(/Seats.*used of 25/);
  });
});

describe('the chart', () => {
  it('is a PNG with an IHDR of the size asked for', async () => {
    const series = dailySeries([{ name: '2026-12-06', value: 5 }], [{ name: '2026-12-06', value: 2 }], Date.UTC(2026, 11, 7, 12));
    const png = await activityChartPng(series, 'test', { width: 320, height: 200 });
    expect(pngSize(png)).toEqual({ width: 320, height: 200 });
    expect(pngSize(new TextEncoder().encode('not a png at all, not at all'))).toBeUndefined();
  });

  it('fills 30 days oldest first, with zeros where the server has no row', () => {
    const s = dailySeries([{ name: '2026-12-07', value: 9 }, { name: '2026-11-08', value: 1 }], [], Date.UTC(2026, 11, 7, 12));
    expect(s.days).toHaveLength(30);
    expect(s.days[0]).toBe('2026-11-08');
    expect(s.days[29]).toBe('2026-12-07');
    expect(s.posts[0]).toBe(1);
    expect(s.posts[29]).toBe(9);
    expect(s.posts.slice(1, 29).every((n) => n === 0)).toBe(true);
    expect(s.people.every((n) => n === 0)).toBe(true);
  });
});
