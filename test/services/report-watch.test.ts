/**
 * The `/report watch` scheduler (src/services/report-watch.ts): schedules, once per slot
 * across a restart (fake clock and timers; the memory store persisted to a real file),
 * and three replicas on one real Redis store posting one report per slot.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createReportWatchService, describeSchedule, LATE_GRACE_MS, nextSlot, parseSchedule, type ReportWatch, type ReportWatchTimers } from '../../src/services/report-watch.js';
import { createMemoryStateStore, type StateStore } from '../../src/state/state-store.js';
import { createMemoryLogger } from '../helpers/logger.js';
import { freshPrefix, probeRedis, redisStores, whenConnected } from '../helpers/redis.js';

const redis = await probeRedis();
const redisMade = redisStores();
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A fake clock with timers that fire when the clock is advanced. */
function fakeClock(start: number) {
  let t = start;
  let seq = 0;
  const pending = new Map<number, { at: number; fn: () => void }>();
  const timers: ReportWatchTimers = {
    set(fn, ms) {
      const id = ++seq;
      pending.set(id, { at: t + ms, fn });
      return id;
    },
    clear(handle) {
      if (typeof handle === 'number') pending.delete(handle);
    },
  };
  return {
    now: () => t,
    timers,
    set(at: number): void {
      t = at;
    },
  };
}

// Monday 7 December 2026, 08:00 UTC
const MON_8 = Date.UTC(2026, 11, 7, 8, 0);
const MON_9 = Date.UTC(2026, 11, 7, 9, 0);
const WEEK = 7 * 86_400_000;
const MONDAY_9 = { day: 1, hour: 9, minute: 0 } as const;

function service(state: StateStore, clock: ReturnType<typeof fakeClock>, posts: Array<{ watch: ReportWatch; tag: string; by: string }>, owner = 'r1', canAct?: () => Promise<boolean>) {
  return createReportWatchService({
    state,
    owner,
    logger: createMemoryLogger(),
    now: clock.now,
    timers: clock.timers,
    post: async (watch, tag) => {
      posts.push({ watch, tag, by: owner });
    },
    ...(canAct ? { canAct } : {}),
  });
}

describe('schedules', () => {
  it('reads a weekday or daily and a time in UTC, and refuses anything else', () => {
    expect(parseSchedule('monday 9:00')).toEqual({ day: 1, hour: 9, minute: 0 });
    expect(parseSchedule('Fri 17:30')).toEqual({ day: 5, hour: 17, minute: 30 });
    expect(parseSchedule('daily 7:05')).toEqual({ day: 'daily', hour: 7, minute: 5 });
    expect(parseSchedule('sunday')).toEqual({ day: 0, hour: 9, minute: 0 });
    for (const bad of ['', 'someday 9:00', 'monday 25:00', 'monday 9:75', 'mo 9:00', 'monday tuesday', '9:00 10:00', 'monday 9:00 extra']) expect(parseSchedule(bad)).toBeUndefined();
    expect(describeSchedule({ day: 1, hour: 9, minute: 0 })).toBe('Mondays at 09:00 UTC');
    expect(describeSchedule({ day: 'daily', hour: 7, minute: 5 })).toBe('every day at 07:05 UTC');
  });

  it('finds the next slot strictly after a time', () => {
    expect(nextSlot(MONDAY_9, MON_8)).toBe(MON_9);
    expect(nextSlot(MONDAY_9, MON_9)).toBe(MON_9 + WEEK);
    expect(nextSlot({ day: 'daily', hour: 9, minute: 0 }, MON_9)).toBe(MON_9 + 86_400_000);
    expect(new Date(nextSlot({ day: 0, hour: 0, minute: 0 }, MON_9)).toISOString()).toBe('2026-12-13T00:00:00.000Z');
  });
});

describe('a report watch', () => {
  it('posts once per slot, and after a restart neither posts that slot again nor misses the next', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'report-watch-'));
    dirs.push(dir);
    const file = join(dir, 'state.json');
    const clock = fakeClock(MON_8);
    const posts: Array<{ watch: ReportWatch; tag: string; by: string }> = [];
    const store1 = createMemoryStateStore({ persistPath: file });
    const first = service(store1, clock, posts);
    await first.start();
    await first.add({ channelId: 'ch1', teamId: 't1', schedule: MONDAY_9, createdBy: 'alice' });
    expect(await first.nextRunAt('ch1')).toBe(MON_9);
    await first.runDue();
    expect(posts).toHaveLength(0); // not 9:00 yet
    clock.set(MON_9 + 1_000);
    await first.runDue();
    await first.runDue();
    expect(posts).toHaveLength(1);
    expect(posts[0]?.watch.channelId).toBe('ch1');
    expect(await first.nextRunAt('ch1')).toBe(MON_9 + WEEK);
    await first.stop();
    await store1.close();

    // a restart a few minutes later, from the file
    clock.set(MON_9 + 5 * 60_000);
    const store2 = createMemoryStateStore({ persistPath: file });
    const second = service(store2, clock, posts);
    await second.start();
    expect((await second.list()).map((w) => w.channelId)).toEqual(['ch1']);
    await second.runDue();
    expect(posts).toHaveLength(1);
    clock.set(MON_9 + WEEK);
    await second.runDue();
    expect(posts).toHaveLength(2);
    expect(posts[1]?.tag).not.toBe(posts[0]?.tag);
    await second.stop();
    await store2.close();
  });

  it('does not post a slot again when the bot stopped after posting but before moving on', async () => {
    const clock = fakeClock(MON_8);
    const store = createMemoryStateStore();
    const posts: Array<{ watch: ReportWatch; tag: string; by: string }> = [];
    const first = service(store, clock, posts);
    await first.add({ channelId: 'ch1', teamId: 't1', schedule: MONDAY_9, createdBy: 'alice' });
    const [w] = await first.list();
    if (!w) throw new Error('no watch');
    // the first bot claimed and posted the 9:00 slot, then died before recording the next slot
    expect(await store.claim(`report-watches:${w.id}:${MON_9}`, 86_400_000, 'r1')).toBe(true);
    posts.push({ watch: w, tag: `${w.id}:${MON_9}`, by: 'r1' });
    clock.set(MON_9 + 60_000);
    const second = service(store, clock, posts, 'r2');
    await second.runDue();
    expect(posts).toHaveLength(1);
    expect(await second.nextRunAt('ch1')).toBe(MON_9 + WEEK);
  });

  it('skips a slot missed by more than the grace period (no bot ran), and posts one missed by less', async () => {
    const clock = fakeClock(MON_8);
    const store = createMemoryStateStore();
    const posts: Array<{ watch: ReportWatch; tag: string; by: string }> = [];
    const s = service(store, clock, posts);
    await s.add({ channelId: 'late', teamId: 't1', schedule: MONDAY_9, createdBy: 'alice' });
    clock.set(MON_9 + LATE_GRACE_MS + 60_000);
    await s.runDue();
    expect(posts).toHaveLength(0);
    expect(await s.nextRunAt('late')).toBe(MON_9 + WEEK);
    clock.set(MON_9 + WEEK + LATE_GRACE_MS - 60_000);
    await s.runDue();
    expect(posts).toHaveLength(1);
  });

  it('gives the slot back when the post fails, and posts it on the next try', async () => {
    const clock = fakeClock(MON_8);
    const store = createMemoryStateStore();
    let fail = true;
    let posted = 0;
    const s = createReportWatchService({
      state: store,
      owner: 'r1',
      logger: createMemoryLogger(),
      now: clock.now,
      timers: clock.timers,
      post: async () => {
        if (fail) throw new Error('server down');
        posted++;
      },
    });
    await s.add({ channelId: 'ch1', teamId: 't1', schedule: MONDAY_9, createdBy: 'alice' });
    clock.set(MON_9);
    await s.runDue();
    expect(posted).toBe(0);
    expect(await s.nextRunAt('ch1')).toBe(MON_9);
    fail = false;
    clock.set(MON_9 + 61_000);
    await s.runDue();
    expect(posted).toBe(1);
    expect(await s.nextRunAt('ch1')).toBe(MON_9 + WEEK);
  });

  it('posts nothing when the fencing check says this replica is not the leader', async () => {
    const clock = fakeClock(MON_8);
    const store = createMemoryStateStore();
    const posts: Array<{ watch: ReportWatch; tag: string; by: string }> = [];
    const s = service(store, clock, posts, 'r1', async () => false);
    await s.add({ channelId: 'ch1', teamId: 't1', schedule: MONDAY_9, createdBy: 'alice' });
    clock.set(MON_9);
    await s.runDue();
    expect(posts).toHaveLength(0);
    expect(await s.nextRunAt('ch1')).toBe(MON_9); // left for the leader
  });

  it('a watch set again in the same channel replaces the first; unwatch removes it', async () => {
    const clock = fakeClock(MON_8);
    const s = service(createMemoryStateStore(), clock, []);
    await s.add({ channelId: 'ch1', teamId: 't1', schedule: MONDAY_9, createdBy: 'alice' });
    await s.add({ channelId: 'ch1', teamId: 't1', schedule: { day: 'daily', hour: 8, minute: 30 }, createdBy: 'alice' });
    expect((await s.list()).map((w) => w.schedule)).toEqual([{ day: 'daily', hour: 8, minute: 30 }]);
    expect((await s.remove('ch1'))?.channelId).toBe('ch1');
    expect(await s.remove('ch1')).toBeUndefined();
    expect(await s.list()).toEqual([]);
  });
});

describe.runIf(redis.available)('three replicas on one Redis store', () => {
  it('post one report per slot between them, even when all three think they lead', async () => {
    const clock = fakeClock(MON_8);
    const posts: Array<{ watch: ReportWatch; tag: string; by: string }> = [];
    // one prefix: the same keys for every replica, each over its own connection
    const prefix = freshPrefix();
    const stores = [redisMade.make(prefix), redisMade.make(prefix), redisMade.make(prefix)];
    for (const s of stores) await whenConnected(s);
    const replicas = stores.map((store, i) => service(store, clock, posts, `r${i + 1}`));
    await replicas[0]?.add({ channelId: 'ch1', teamId: 't1', schedule: MONDAY_9, createdBy: 'alice' });
    for (const r of replicas) expect((await r.list()).length).toBe(1);
    for (let week = 0; week < 3; week++) {
      clock.set(MON_9 + week * WEEK + 1_000);
      await Promise.all(replicas.map((r) => r.runDue()));
      await Promise.all(replicas.map((r) => r.runDue()));
      expect(posts).toHaveLength(week + 1);
    }
    expect(new Set(posts.map((p) => p.tag)).size).toBe(3);
  });
});
