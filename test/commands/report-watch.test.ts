/**
 * `report watch|unwatch|watches` against the sandbox: who may set one (refusal with no
 * privileged call, nothing stored), the schedule as typed, and what a slot posts — the
 * report run as the watch's owner, its chart attached in the channel — or, once the owner
 * lost the right, nothing (src/bot/report-watches.ts).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createPermissionService } from '../../src/core/permissions/service.js';
import { createVisibilityService } from '../../src/core/permissions/visibility.js';
import { reportWatchPoster } from '../../src/bot/report-watches.js';
import { pngSize, CHART_SIZE } from '../../src/render/chart.js';
import { channelIdFor, teamIdFor, userIdFor } from '../../src/sandbox/seed.js';
import { createReportWatchService, REPORT_WATCH_PROP, type ReportWatchScheduler } from '../../src/services/report-watch.js';
import { createMemoryStateStore } from '../../src/state/state-store.js';
import { createHarness, type Harness } from '../helpers/harness.js';
import { createMemoryLogger } from '../helpers/logger.js';

let h: Harness;
let watches: ReportWatchScheduler;
const posted: string[] = [];
beforeAll(async () => {
  h = await createHarness();
  // grace gets a custom role with get_analytics only, as in report.test.ts
  const base = h.fake.store.roles.get('system_user');
  const grace = h.fake.store.users.get(userIdFor('grace'));
  if (!base || !grace) throw new Error('seed changed');
  h.fake.store.roles.set('analyst', { ...base, id: 'analystroleid0000000000000', name: 'analyst', display_name: 'Analyst', built_in: false, scheme_managed: false, permissions: ['get_analytics'] });
  grace.roles = 'system_user analyst';
  watches = createReportWatchService({ state: createMemoryStateStore(), owner: 'test', logger: createMemoryLogger(), post: async (_w, tag) => void posted.push(tag) });
  h.services.reportWatches = watches;
});
afterAll(async () => {
  await watches?.stop();
  await h?.close();
});
beforeEach(() => h.fake.clearRequests());

const townSquare = channelIdFor('acme', 'town-square');
const asked = (path: string): boolean => h.fake.requests.some((q) => q.path.startsWith(`/api/v4${path}`));
/** the rendered answer without Markdown's escapes (`17\\:30` reads 17:30) */
const plain = (t: string): string => t.replace(/\\(.)/g, '$1');
// POST /roles/names is a read
const wrote = (): string[] => h.fake.requests.filter((q) => q.method !== 'GET' && q.path !== '/api/v4/roles/names').map((q) => `${q.method} ${q.path}`);

describe('report watch', () => {
  it('sets a weekly report for an admin, as typed, and lists it', async () => {
    const { result, text } = await h.run('alice', 'report watch ~town-square --every friday 17:30');
    expect(result.outcome).toBe('ok');
    expect(plain(text)).toContain('Fridays at 17:30 UTC');
    const [w] = await watches.list();
    expect(w).toMatchObject({ channelId: townSquare, createdBy: userIdFor('alice'), schedule: { day: 5, hour: 17, minute: 30 } });
    const listed = await h.run('alice', 'report watches');
    expect(plain(listed.text)).toContain('~town-square');
    expect(plain(listed.text)).toContain('Fridays at 17:30 UTC');
    const again = await h.run('alice', 'report watch ~town-square');
    expect(plain(again.text)).toContain('now Mondays at 09:00 UTC (was Fridays at 17:30 UTC)');
    const stop = await h.run('alice', 'report unwatch ~town-square');
    expect(stop.result.outcome).toBe('ok');
    expect(await watches.list()).toEqual([]);
  });

  it('refuses a schedule it cannot read, and words it does not know, with the usage', async () => {
    for (const [typed, says] of [
      ['report watch ~town-square --every someday', 'monday 9:00'],
      ['report watch ~town-square --every monday 25:00', 'monday 9:00'],
      ['report watch ~town-square bogus', '"bogus"'],
      ['report watch ~town-square --every monday bogus', '"bogus"'],
      ['report watch ~town-square 9:00', 'A time goes after --every'],
    ] as const) {
      const { result, text } = await h.run('alice', typed);
      expect(result.outcome, typed).toBe('user_error');
      expect(plain(text), typed).toContain(says);
    }
    expect(await watches.list()).toEqual([]);
  });

  it('takes --every with no channel as this channel', async () => {
    const { result, text } = await h.run('alice', 'report watch --every daily 8:00');
    expect(result.outcome).toBe('ok');
    expect(plain(text)).toContain('every day at 08:00 UTC');
    expect((await watches.list()).map((w) => w.channelId)).toEqual([townSquare]);
    await h.run('alice', 'report unwatch');
    expect(await watches.list()).toEqual([]);
  });

  it('refuses a caller without get_analytics: nothing stored, no privileged call', async () => {
    const { result, text } = await h.run('bob', 'report watch ~town-square --every monday 9:00');
    expect(result.outcome).toBe('refused');
    expect(text).toContain('get_analytics');
    expect(await watches.list()).toEqual([]);
    expect(asked('/analytics')).toBe(false);
    expect(wrote()).toEqual([]);
    const list = await h.run('bob', 'report watches');
    expect(list.result.outcome).toBe('refused');
  });

  it('refuses a caller with get_analytics who may not post in that channel: nothing stored', async () => {
    // grace is no member of ~helpdesk (seed)
    const { result, text } = await h.run('grace', 'report watch ~helpdesk');
    expect(result.outcome).toBe('refused');
    expect(text).toContain('create_post');
    expect(await watches.list()).toEqual([]);
    expect(wrote()).toEqual([]);
  });
});

describe('what a slot posts', () => {
  function poster() {
    const logger = createMemoryLogger();
    const permissions = createPermissionService({ api: h.api, selfUserId: h.me.id, logger });
    const visibility = createVisibilityService({ api: h.api, permissions, logger, now: Date.now });
    return { logger, post: reportWatchPoster({ api: h.api, logger, registry: h.registry, permissions, visibility, services: () => h.services, me: h.me, now: Date.now }) };
  }
  const watch = (who: string) => ({ id: `w-${who}`, channelId: townSquare, teamId: teamIdFor('acme'), schedule: { day: 1, hour: 9, minute: 0 }, createdBy: userIdFor(who), createdAt: Date.now() });

  it('posts the report in the channel with the chart attached, tagged with the slot', async () => {
    const { post } = poster();
    await post(watch('alice'), 'w-alice:1');
    const p = h.fake.posts.filter((x) => x.channel_id === townSquare && x.props[REPORT_WATCH_PROP] === 'w-alice:1');
    expect(p).toHaveLength(1);
    expect(p[0]?.user_id).toBe(h.botUserId);
    expect(p[0]?.message).toContain('Workspace report');
    expect(p[0]?.message).not.toContain('direct messages with me');
    const files = (p[0]?.file_ids ?? []).map((id) => h.fake.store.files.get(id));
    expect(files).toHaveLength(1);
    expect(files[0]?.mime_type).toBe('image/png');
    expect(files[0]?.channel_id).toBe(townSquare);
    expect(pngSize(files[0]?.data ?? new Uint8Array())).toEqual(CHART_SIZE);
  });

  it('posts nothing, and reads nothing privileged, once the owner lacks get_analytics', async () => {
    const { post, logger } = poster();
    const before = h.fake.posts.length;
    await post(watch('bob'), 'w-bob:1');
    expect(h.fake.posts.length).toBe(before);
    expect(asked('/analytics')).toBe(false);
    expect(asked('/files')).toBe(false);
    expect(logger.find('scheduled report not posted: the report was refused or failed for the person who set it up')).toBeDefined();
  });
});
