/**
 * Fair admission of commands, in front of the dispatcher, for every transport (slash,
 * DM, mention, and whatever else calls the bot's one `run`): one user's flood must not
 * delay anyone else, and nothing waits unboundedly.
 *
 * - each user runs at most `perUserRunning` commands at once and has at most
 *   `perUserQueued` waiting;
 * - at most `maxRunning` commands run at once (each makes its API calls in turn, so this
 *   also bounds the calls the commands make toward the server), and at most `maxQueued`
 *   wait in all;
 * - a free slot goes to the waiting user with the fewest commands running (a fair share),
 *   not to whoever queued most, so a newcomer gets the next free slot;
 * - beyond the limits the answer comes at once: a "busy, try again in a moment" reply
 *   with outcome `busy` (never a silent drop, never a wait that ends in a timeout).
 *
 * @example
 *   const dispatcher = withScheduler(createDispatcher(deps), { limits: config.limits, logger });
 *   const { reply, outcome } = await dispatcher.dispatch(inv); // outcome 'busy' when refused
 */
import type { Invocation, Logger } from './command.js';
import { newReference, type DispatchResult, type Dispatcher } from './dispatcher.js';
import { paragraph, raw, reply, type Reply } from './reply.js';

/** The limits (env: MMOPS_USER_RUNNING, MMOPS_USER_QUEUED, MMOPS_MAX_RUNNING, MMOPS_MAX_QUEUED). */
export interface SchedulerLimits {
  perUserRunning: number;
  perUserQueued: number;
  maxRunning: number;
  maxQueued: number;
}

export const DEFAULT_LIMITS: SchedulerLimits = { perUserRunning: 2, perUserQueued: 5, maxRunning: 16, maxQueued: 256 };

/** Why a command was not admitted. */
export type BusyReason = 'user' | 'global';

export interface SchedulerStats {
  running: number;
  queued: number;
  /** users with work running or waiting */
  users: number;
  admitted: number;
  refused: Record<BusyReason, number>;
}

export type Admission<T> = { ok: true; result: Promise<T> } | { ok: false; reason: BusyReason };

export interface Scheduler {
  /** Runs `task` for `key` now or when its turn comes; refuses at once beyond the limits. */
  submit<T>(key: string, task: () => Promise<T>): Admission<T>;
  stats(): SchedulerStats;
}

interface Lane {
  key: string;
  running: number;
  waiting: Array<() => void>;
}

/** Creates the admission scheduler (see the module comment). */
export function createScheduler(limits: Partial<SchedulerLimits> = {}): Scheduler {
  const lim: SchedulerLimits = { ...DEFAULT_LIMITS, ...limits };
  const lanes = new Map<string, Lane>();
  /** lanes with work waiting, in turn order */
  const turn: Lane[] = [];
  let running = 0;
  let queued = 0;
  const counters = { admitted: 0, refused: { user: 0, global: 0 } as Record<BusyReason, number> };

  const laneOf = (key: string): Lane => {
    let lane = lanes.get(key);
    if (!lane) {
      lane = { key, running: 0, waiting: [] };
      lanes.set(key, lane);
    }
    return lane;
  };

  const forget = (lane: Lane): void => {
    if (lane.running === 0 && lane.waiting.length === 0) lanes.delete(lane.key);
  };

  /**
   * Starts waiting work while there are free slots. Each slot goes to the waiting user with
   * the fewest commands running (ties: who has waited longest for a turn), who then goes to
   * the back of the turn order: a fair share, whoever queued most.
   */
  function pump(): void {
    while (running < lim.maxRunning) {
      let best = -1;
      for (let i = 0; i < turn.length; i++) {
        const lane = turn[i];
        if (!lane || lane.waiting.length === 0 || lane.running >= lim.perUserRunning) continue;
        if (best < 0 || lane.running < (turn[best]?.running ?? Infinity)) best = i;
      }
      if (best < 0) return;
      const [lane] = turn.splice(best, 1);
      if (!lane) return;
      const start = lane.waiting.shift();
      queued -= 1;
      if (lane.waiting.length > 0) turn.push(lane);
      start?.();
    }
  }

  function submit<T>(key: string, task: () => Promise<T>): Admission<T> {
    const lane = laneOf(key);
    const canRunNow = lane.waiting.length === 0 && lane.running < lim.perUserRunning && running < lim.maxRunning;
    if (!canRunNow) {
      if (lane.waiting.length >= lim.perUserQueued) {
        counters.refused.user += 1;
        forget(lane);
        return { ok: false, reason: 'user' };
      }
      if (queued >= lim.maxQueued) {
        counters.refused.global += 1;
        forget(lane);
        return { ok: false, reason: 'global' };
      }
    }
    counters.admitted += 1;
    const result = new Promise<T>((resolve, reject) => {
      const start = (): void => {
        lane.running += 1;
        running += 1;
        let p: Promise<T>;
        try {
          p = task();
        } catch (err) {
          p = Promise.reject(err);
        }
        p.then(resolve, reject).finally(() => {
          lane.running -= 1;
          running -= 1;
          forget(lane);
          pump();
        });
      };
      if (canRunNow) start();
      else {
        lane.waiting.push(start);
        queued += 1;
        if (!turn.includes(lane)) turn.push(lane);
        pump();
      }
    });
    return { ok: true, result };
  }

  return {
    submit,
    stats: () => ({ running, queued, users: lanes.size, admitted: counters.admitted, refused: { ...counters.refused } }),
  };
}

/** The answer when a command was not admitted. */
export function busyReply(reason: BusyReason): Reply {
  const text =
    reason === 'user'
      ? "I'm busy with your earlier commands: try again in a moment."
      : "I'm busy right now: try again in a moment.";
  return reply([paragraph(raw(text))], { tone: 'warning' });
}

export interface ScheduledDispatcher extends Dispatcher {
  /** admission counters (metrics, health) */
  load(): SchedulerStats;
}

/** Puts `dispatcher` behind a {@link Scheduler} keyed by the calling user. */
export function withScheduler(
  dispatcher: Dispatcher,
  opts: { limits?: Partial<SchedulerLimits>; logger: Logger; newRef?: () => string },
): ScheduledDispatcher {
  const scheduler = createScheduler(opts.limits);
  const newRef = opts.newRef ?? newReference;
  const log = opts.logger.child({ component: 'scheduler' });
  return {
    dispatch(inv: Invocation, o?: { signal?: AbortSignal }): Promise<DispatchResult> {
      const admission = scheduler.submit(inv.userId, () => dispatcher.dispatch(inv, o));
      if (admission.ok) return admission.result;
      const ref = newRef();
      const s = scheduler.stats();
      log.info(
        { ref, source: inv.source, userId: inv.userId, reason: admission.reason, running: s.running, queued: s.queued },
        admission.reason === 'user' ? 'command refused: this user has too many commands running and waiting' : 'command refused: the queue is full',
      );
      return Promise.resolve({ reply: busyReply(admission.reason), ref, outcome: 'busy', durationMs: 0 });
    },
    stats: () => dispatcher.stats(),
    load: () => scheduler.stats(),
  };
}
