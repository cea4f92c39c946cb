/**
 * `/report watch`: the workspace report (with its chart) posted to a channel on a weekly
 * or daily schedule (`--every monday 9:00`, times in UTC).
 *
 * **Where watches live.** One JSON document in the {@link StateStore} (key
 * `report-watches`): with one replica that store is `$MMOPS_STATE_DIR/state.json`
 * (src/bot/replication.ts), with several it is the shared Redis. Each watch keeps the
 * schedule slot it waits for (`nextAt`), so after a restart, or on a new leader, the
 * schedule resumes where it was: a slot already posted is not posted again, a slot missed
 * while no bot ran is posted late if it is less than {@link LATE_GRACE_MS} old, else skipped.
 *
 * **Once per slot.** Before posting, the leader confirms its fencing token (`canAct`, the
 * same check as the health watch posts: src/bot/leader.ts `confirm`) and then claims the
 * slot in the store (`claim`, set-if-absent: `report-watch:<id>:<slot>`). Only the replica
 * whose claim created the key posts; a paused leader that was replaced, or two replicas
 * racing, find the key taken. A post that fails gives the claim back and is tried again
 * a minute later, until the slot is {@link LATE_GRACE_MS} old.
 *
 * What is posted is produced by `post` (the bot runs the `report` command as the person who
 * set the watch up, so a watch whose owner lost the right posts nothing: src/bot/report-watches.ts).
 *
 * @example
 *   const watches = createReportWatchService({ state, owner: replicaId, logger, post, canAct });
 *   await watches.start();
 *   await watches.add({ channelId, teamId, schedule: { day: 1, hour: 9, minute: 0 }, createdBy });
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Logger } from '../core/command.js';
import { serializeError } from '../log/logger.js';
import type { StateStore } from '../state/state-store.js';

/** When a watch posts: a weekday (0 = Sunday … 6 = Saturday) or every day, at hour:minute UTC. */
export interface ReportSchedule {
  day: number | 'daily';
  hour: number;
  minute: number;
}

export interface ReportWatch {
  id: string;
  channelId: string;
  teamId: string;
  schedule: ReportSchedule;
  createdBy: string;
  createdAt: number;
}

export interface ReportWatchService {
  add(w: Omit<ReportWatch, 'id' | 'createdAt'>): Promise<ReportWatch>;
  remove(channelId: string): Promise<ReportWatch | undefined>;
  list(): Promise<ReportWatch[]>;
  /** the next slot of the watch in that channel (ms since epoch) */
  nextRunAt(channelId: string): Promise<number | undefined>;
}

declare module '../core/command.js' {
  interface Services {
    /** the `/report watch` service (absent: this bot keeps no report watches) */
    reportWatches?: ReportWatchService;
  }
}

/** A slot missed by longer than this (no bot ran) is skipped, not posted late. */
export const LATE_GRACE_MS = 6 * 3_600_000;
/** How long a slot's claim is kept (longer than any schedule's period). */
const SLOT_CLAIM_MS = 8 * 86_400_000;
const RETRY_MS = 60_000;
const DAY_MS = 86_400_000;
/** The prop on every scheduled report post: `<watch id>:<slot>`. */
export const REPORT_WATCH_PROP = 'mmops_report_watch';

export const DAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'] as const;

/**
 * `monday 9:00`, `mon 09:30`, `daily 8:00`, `friday` (9:00), `10:00` (every day): the
 * schedule, or undefined when the words are not one.
 */
export function parseSchedule(text: string): ReportSchedule | undefined {
  const words = text.trim().toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0 || words.length > 2) return undefined;
  let day: ReportSchedule['day'] | undefined;
  let time: string | undefined;
  for (const w of words) {
    if (/^\d{1,2}(:\d{2})?$/.test(w)) {
      if (time !== undefined) return undefined;
      time = w;
    } else {
      if (day !== undefined) return undefined;
      if (w === 'daily' || w === 'day' || w === 'everyday') day = 'daily';
      else {
        const i = w.length >= 3 ? DAYS.findIndex((d) => d.startsWith(w)) : -1;
        if (i < 0) return undefined;
        day = i;
      }
    }
  }
  const [h, m] = (time ?? '9:00').split(':');
  const hour = Number(h);
  const minute = Number(m ?? '0');
  if (!Number.isInteger(hour) || hour > 23 || !Number.isInteger(minute) || minute > 59) return undefined;
  return { day: day ?? 'daily', hour, minute };
}

/** `Mondays at 09:00 UTC`, `every day at 08:30 UTC` */
export function describeSchedule(s: ReportSchedule): string {
  const at = `${String(s.hour).padStart(2, '0')}:${String(s.minute).padStart(2, '0')} UTC`;
  if (s.day === 'daily') return `every day at ${at}`;
  const name = DAYS[s.day] ?? 'monday';
  return `${name[0]!.toUpperCase()}${name.slice(1)}s at ${at}`;
}

/** The first slot of the schedule strictly after `after` (ms since epoch, UTC). */
export function nextSlot(s: ReportSchedule, after: number): number {
  const d = new Date(after);
  let t = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), s.hour, s.minute);
  for (let i = 0; i < 9; i++, t += DAY_MS) {
    if (t <= after) continue;
    if (s.day === 'daily' || new Date(t).getUTCDay() === s.day) return t;
  }
  throw new Error('no slot within 9 days'); // unreachable for a valid schedule
}

const scheduleSchema = z.object({
  day: z.union([z.literal('daily'), z.number().int().min(0).max(6)]),
  hour: z.number().int().min(0).max(23),
  minute: z.number().int().min(0).max(59),
});
const watchSchema = z.object({
  id: z.string().min(1),
  channelId: z.string().min(1),
  teamId: z.string(),
  schedule: scheduleSchema,
  createdBy: z.string(),
  createdAt: z.number(),
  /** the slot this watch waits for */
  nextAt: z.number(),
});
const docSchema = z.object({ version: z.literal(1), watches: z.array(watchSchema) });
type StoredWatch = z.infer<typeof watchSchema>;

/** Timers the scheduler uses (injectable for tests). */
export interface ReportWatchTimers {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

const realTimers: ReportWatchTimers = {
  set(fn, ms) {
    // setTimeout takes at most 2^31-1 ms; a far slot is reached by waking up on the way
    const t = setTimeout(fn, Math.min(ms, 3_600_000));
    t.unref();
    return t;
  },
  clear(handle) {
    clearTimeout(handle as NodeJS.Timeout); // only ever a handle `set` returned
  },
};

export interface ReportWatchServiceOptions {
  state: StateStore;
  /** this replica's id (holds the short lock while changing the document) */
  owner: string;
  logger: Logger;
  /** posts the report for `watch` (tagged with `tag`, {@link REPORT_WATCH_PROP}); throws when it could not */
  post(watch: ReportWatch, tag: string): Promise<void>;
  /** asked right before each post; false = do not post (the leader's fencing check). Default: always. */
  canAct?: () => Promise<boolean>;
  key?: string;
  now?: () => number;
  timers?: ReportWatchTimers;
  newId?: () => string;
}

export interface ReportWatchScheduler extends ReportWatchService {
  start(): Promise<void>;
  /** stops running (no longer the leader) but keeps the watches readable */
  pause(): Promise<void>;
  stop(): Promise<void>;
  /** posts every watch whose slot has come (the scheduler calls it; tests may too) */
  runDue(): Promise<void>;
}

const publicWatch = (w: StoredWatch): ReportWatch => ({
  id: w.id,
  channelId: w.channelId,
  teamId: w.teamId,
  schedule: w.schedule,
  createdBy: w.createdBy,
  createdAt: w.createdAt,
});

/** Creates the service; nothing runs before `start()`. */
export function createReportWatchService(opts: ReportWatchServiceOptions): ReportWatchScheduler {
  const log = opts.logger.child({ component: 'report-watch' });
  const now = opts.now ?? Date.now;
  const timers = opts.timers ?? realTimers;
  const newId = opts.newId ?? (() => randomBytes(8).toString('hex'));
  const key = opts.key ?? 'report-watches';
  const state = opts.state;
  let started = false;
  let timer: unknown;
  let running: Promise<void> | undefined;
  /** watch id → when to try again after a failed post */
  const retryAt = new Map<string, number>();

  async function read(): Promise<Map<string, StoredWatch>> {
    const out = new Map<string, StoredWatch>();
    const text = await state.get(key);
    if (text === undefined) return out;
    try {
      const parsed = docSchema.safeParse(JSON.parse(text));
      if (parsed.success) for (const w of parsed.data.watches) out.set(w.channelId, w);
      else log.error({ key, issues: parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.')}: ${i.message}`) }, 'stored report watches are not valid; treated as none');
    } catch (err) {
      log.error({ key, err: serializeError(err) }, 'stored report watches could not be read; treated as none');
    }
    return out;
  }

  const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

  /** Applies `fn` to a fresh copy of the document under a short lock, and stores it. */
  async function mutate<T>(fn: (m: Map<string, StoredWatch>) => T): Promise<T> {
    const lock = `${key}:lock`;
    const deadline = Date.now() + 6_000;
    while ((await state.acquireLease(lock, opts.owner, 5_000)) === undefined) {
      if (Date.now() > deadline) throw new Error('the report watches are being changed by another replica; try again');
      await sleep(20);
    }
    try {
      const fresh = await read();
      const out = fn(fresh);
      await state.set(key, JSON.stringify({ version: 1, watches: [...fresh.values()] }));
      return out;
    } finally {
      await state.releaseLease(lock, opts.owner).catch(() => undefined); // it expires on its own
    }
  }

  async function schedule(): Promise<void> {
    if (timer !== undefined) {
      timers.clear(timer);
      timer = undefined;
    }
    if (!started || running) return;
    let next = Infinity;
    try {
      for (const w of (await read()).values()) next = Math.min(next, retryAt.get(w.id) ?? w.nextAt);
    } catch (err) {
      log.warn({ err: serializeError(err) }, 'report watches could not be read; trying again in a minute');
      next = now() + RETRY_MS;
    }
    // another replica may add a watch: look again at least every 5 minutes
    next = Math.min(next, now() + 5 * 60_000);
    if (!started || running) return;
    timer = timers.set(() => {
      timer = undefined;
      void runDue();
    }, Math.max(0, next - now()));
  }

  async function postDue(): Promise<void> {
    const t = now();
    const due = [...(await read()).values()].filter((w) => w.nextAt <= t && (retryAt.get(w.id) ?? 0) <= t);
    for (const w of due) {
      const slot = w.nextAt;
      let done = true;
      if (t - slot > LATE_GRACE_MS) {
        log.warn({ watch: w.id, channelId: w.channelId, slot: new Date(slot).toISOString() }, 'a scheduled report was missed by more than 6 h (no bot ran); skipped');
      } else {
        if (opts.canAct && !(await opts.canAct())) {
          log.info({ watch: w.id }, 'not the leader any more: the new leader posts this report');
          return;
        }
        const claim = `${key}:${w.id}:${slot}`;
        if (!(await state.claim(claim, SLOT_CLAIM_MS, opts.owner))) {
          log.info({ watch: w.id, slot: new Date(slot).toISOString() }, 'this report was posted (or is being posted) already');
        } else {
          try {
            await opts.post(publicWatch(w), `${w.id}:${slot}`);
            log.info({ watch: w.id, channelId: w.channelId, slot: new Date(slot).toISOString() }, 'scheduled report posted');
          } catch (err) {
            await state.deleteIf(claim, opts.owner).catch(() => undefined);
            done = now() + RETRY_MS - slot > LATE_GRACE_MS;
            log.warn({ watch: w.id, channelId: w.channelId, err: serializeError(err), retry: !done }, 'scheduled report could not be posted');
            if (!done) retryAt.set(w.id, now() + RETRY_MS);
          }
        }
      }
      if (!done) continue;
      retryAt.delete(w.id);
      await mutate((m) => {
        for (const stored of m.values()) if (stored.id === w.id && stored.nextAt === slot) stored.nextAt = nextSlot(stored.schedule, Math.max(slot, now()));
      });
    }
  }

  function runDue(): Promise<void> {
    if (running) return running;
    running = postDue()
      .catch((err: unknown) => log.error({ err: serializeError(err) }, 'report watch tick failed'))
      .finally(() => {
        running = undefined;
        void schedule();
      });
    return running;
  }

  return {
    async add(w) {
      const stored: StoredWatch = { ...w, id: newId(), createdAt: now(), nextAt: nextSlot(w.schedule, now()) };
      await mutate((m) => m.set(w.channelId, stored));
      void schedule();
      return publicWatch(stored);
    },
    async remove(channelId) {
      const removed = await mutate((m) => {
        const r = m.get(channelId);
        m.delete(channelId);
        return r;
      });
      void schedule();
      return removed && publicWatch(removed);
    },
    async list() {
      return [...(await read()).values()].map(publicWatch);
    },
    async nextRunAt(channelId) {
      return (await read()).get(channelId)?.nextAt;
    },
    async start() {
      if (started) return;
      started = true;
      log.info({}, 'report watches started');
      await schedule();
    },
    async pause() {
      started = false;
      await schedule();
      await running;
    },
    async stop() {
      started = false;
      await schedule();
      await running;
    },
    runDue,
  };
}
