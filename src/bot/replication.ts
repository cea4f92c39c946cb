/**
 * What makes N replicas behind a load balancer behave like one bot (docs/replicas.md).
 * Used by src/bot.ts; nothing here talks to Mattermost directly.
 *
 * - **Shared state**: with MMOPS_REDIS_URL (or a store given in BotDeps.state) every
 *   replica uses the same {@link StateStore}; without, an in-process store and today's
 *   single-replica behaviour (watches in `$MMOPS_STATE_DIR/watches.json`).
 * - **One answer per post**: the WebSocket intake claims `post:<id>` (SET NX, 60 s)
 *   before handling a DM or mention; the replica whose claim wins renews it while it
 *   works (every 20 s, so only slow commands cost more round trips), answers, and marks
 *   the post `done` (24 h); every write to a claim after the first (renew, done, give
 *   back, take over) is compare-and-set on the holder's id, so a replica that lost its
 *   claim never undoes or finishes another's; the others skip it, and look once more when the claim could
 *   have run out: if the winner died before answering (SIGKILL), one of them takes the
 *   post over. While the store is unreachable no replica can claim, so none answers
 *   (never two); the catch-up after a gap handles what was missed.
 * - **One leader** (src/bot/leader.ts) registers slash commands and runs the health
 *   watch schedule. Followers only *learn* the tokens of the registered commands (a
 *   read-only listing) so they can verify the slash requests the load balancer sends
 *   them; the leader bumps `slash:generation` after registering and followers re-learn
 *   when it changes (checked on every lease poll).
 * - **Readiness**: `state_store_down` while the store does not answer.
 *
 * @example
 *   const replication = createReplication({ config, logger, deps });
 *   const ledger = await createPostLedger({ store: replication.state, claims: replication.postClaims });
 *   intake = createWsIntake({ ..., ledger });
 *   await replication.startSlash(registration, teams);
 */
import { hostname } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Config } from '../config.js';
import type { Logger } from '../core/command.js';
import type { MattermostApi } from '../mattermost/api.js';
import type { Team } from '../mattermost/models.js';
import type { PostClaims } from '../services/post-ledger.js';
import { createHealthWatchService, type HealthWatchScheduler, type HealthWatchServiceOptions } from '../services/health-watch.js';
import { createReportWatchService, type ReportWatchScheduler, type ReportWatchServiceOptions } from '../services/report-watch.js';
import type { SlashRegistration, TeamRegistration } from '../services/slash-registration.js';
import { createRedisStateStore, redactRedisUrl } from '../state/redis-state-store.js';
import { createMemoryStateStore, type StateStore } from '../state/state-store.js';
import { createLeader, DEFAULT_LEASE_MS, type Leader } from './leader.js';

/** How long an answered post stays marked: longer than any resume or catch-up window. */
export const POST_DONE_TTL_MS = 24 * 3_600_000;
/**
 * How long a claim holds while its replica works on the post; longer than the
 * dispatcher's deadline (25 s) plus delivery. If the replica dies, the claim runs out
 * and another replica takes the post over.
 */
export const POST_CLAIM_TTL_MS = 60_000;
/** the longest a post dated ahead of the clock is kept done beyond POST_DONE_TTL_MS */
const MAX_AHEAD_KEPT_MS = 10 * 365 * 86_400_000;
/** how many times a replica looks again at a post another replica holds without answering */
const MAX_TAKEOVER_LOOKS = 5;
const GENERATION_KEY = 'slash:generation';

export interface ReplicationDeps {
  /** the shared state store (tests, the sandbox); default: Redis at MMOPS_REDIS_URL, else in-process */
  state?: StateStore;
  /** whether `state` is shared with other replicas (default true when `state` is given) */
  sharedState?: boolean;
  /** this replica's id (default hostname-pid-random) */
  replicaId?: string;
  /** leader lease (default 10 s) */
  leaseMs?: number;
  /** how long a post claim holds while its replica works on it (default 60 s) */
  postClaimMs?: number;
}

/** A store that can say whether it is reachable (the Redis one can). */
type ProbedStore = StateStore & { healthy?: () => boolean };

export interface Replication {
  /** true when other replicas share the state (Redis or a given store) */
  readonly shared: boolean;
  readonly state: StateStore;
  readonly replicaId: string;
  /** the lease loop, when shared */
  readonly leader: Leader | undefined;
  /**
   * the claims on posts (one handler per post, across replicas and restarts): used by
   * the post ledger (src/services/post-ledger.ts) for the WebSocket and the catch-up alike
   */
  postClaims: PostClaims;
  /** health watches kept in the shared store, run by the leader; undefined when not shared */
  sharedWatches(opts: Omit<HealthWatchServiceOptions, 'store' | 'canAct'>): HealthWatchScheduler | undefined;
  /**
   * `/report watch` (src/services/report-watch.ts), kept in `state`: with replicas only the
   * leader posts (started when elected, paused when deposed, fencing token confirmed before
   * each post); with one replica it runs at once
   */
  reportWatches(opts: Omit<ReportWatchServiceOptions, 'state' | 'owner' | 'canAct'>): ReportWatchScheduler;
  /** registers (leader) or learns (follower) slash commands in `teams`, then starts the lease loop */
  startSlash(registration: SlashRegistration, teams: Team[], opts?: { concurrency?: number; signal?: AbortSignal }): Promise<void>;
  /** the bot was added to a team */
  addTeam(registration: SlashRegistration, team: Team): Promise<TeamRegistration>;
  /** a short reason code when this replica cannot do its shared work, else undefined */
  problem(): 'state_store_down' | undefined;
  /**
   * Calls `listener` each time the shared store answers again after an outage (checked every
   * `everyMs`, default 1 s): DMs and mentions skipped meanwhile are then caught up over REST.
   */
  onStoreBack(listener: () => void, everyMs?: number): void;
  /** work was skipped because the store did not answer (an outage shorter than one check still counts) */
  noteOutage(): void;
  /** gives the lease up and closes a store this module opened */
  stop(): Promise<void>;
}

/** Builds the replication wiring for one bot (see the module comment). */
export function createReplication(opts: { config: Config; logger: Logger; deps?: ReplicationDeps; api?: MattermostApi }): Replication {
  // a post stays `done` longer than the catch-up looks back (MMOPS_CATCHUP_MAX_AGE)
  const doneMs = Math.max(POST_DONE_TTL_MS, (opts.config.catchupMaxAgeMs ?? 0) + 3_600_000);
  const log = opts.logger.child({ component: 'replication' });
  const deps = opts.deps ?? {};
  const replicaId = deps.replicaId ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  let owned = false;
  /** the timers of onStoreBack */
  const storeWatches: NodeJS.Timeout[] = [];
  let outageNoted = false;
  let state: ProbedStore;
  let shared: boolean;
  if (deps.state) {
    state = deps.state;
    shared = deps.sharedState ?? true;
  } else if (opts.config.redisUrl) {
    const where = redactRedisUrl(opts.config.redisUrl);
    state = createRedisStateStore({
      url: opts.config.redisUrl,
      prefix: opts.config.redisPrefix,
      onStateChange: (s) =>
        s === 'up'
          ? log.info({ redis: where }, 'state store (Redis) connected')
          : log.warn({ redis: where }, 'state store (Redis) unreachable: DMs and mentions wait until it is back; slash commands still work'),
      onError: (err) => log.warn({ err: err.message }, 'state store (Redis) error'),
    });
    shared = true;
    owned = true;
  } else {
    // one replica: kept in $MMOPS_STATE_DIR/state.json so a restart keeps its catch-up
    // mark and post claims (src/services/post-ledger.ts)
    state = createMemoryStateStore({
      persistPath: join(opts.config.stateDir, 'state.json'),
      onError: (err) => log.warn({ err }, 'state file could not be read or written'),
    });
    shared = false;
    owned = true;
  }

  let teams: Team[] = [];
  let registration: SlashRegistration | undefined;
  let seenGeneration: string | undefined;
  let watches: HealthWatchScheduler | undefined;
  let reportWatches: ReportWatchScheduler | undefined;
  const claimMs = deps.postClaimMs ?? opts.config.postClaimMs ?? POST_CLAIM_TTL_MS;
  /** posts another replica claimed: looked at again once their claim could have run out */
  const takeovers = new Map<string, NodeJS.Timeout>();
  const attempts = new Map<string, number>();
  let stopped = false;

  /**
   * claims this replica works on: renewed every claimMs / 3 so a slow command is not
   * taken over. A claim's value is this replica's id and is renewed only while it still
   * holds it (compare-and-renew); `confirmedAt` = the last time it surely did, `lost` =
   * a renewal found it taken over (this process was paused or cut off from the store
   * longer than the lease).
   */
  const working = new Map<string, { timer: NodeJS.Timeout; confirmedAt: number; lost: boolean }>();

  function stopWorking(postId: string): void {
    const w = working.get(postId);
    if (w) clearInterval(w.timer);
    working.delete(postId);
  }

  function renewWhileWorking(postId: string): void {
    if (working.has(postId)) return;
    const entry = { timer: undefined as unknown as NodeJS.Timeout, confirmedAt: Date.now(), lost: false };
    entry.timer = setInterval(() => {
      const asked = Date.now();
      state.renew(`post:${postId}`, replicaId, claimMs).then(
        (mine) => {
          if (mine) entry.confirmedAt = Math.max(entry.confirmedAt, asked);
          else if (!entry.lost) {
            entry.lost = true;
            log.warn({ postId }, 'the claim on a post ran out while this replica worked on it (paused, or cut off from the state store); another replica answers it');
          }
        },
        () => undefined, // unknown: stillHeld asks again before answering
      );
    }, Math.max(100, Math.floor(claimMs / 3)));
    entry.timer.unref();
    working.set(postId, entry);
  }

  const postClaims: PostClaims = {
    leaseMs: claimMs,
    async claim(postId) {
      const mine = await state.claim(`post:${postId}`, claimMs, replicaId);
      if (mine) renewWhileWorking(postId);
      return mine;
    },
    async takeOver(postId, from) {
      // compare-and-set on the dead holder's id: a live one that renewed meanwhile keeps it
      const mine = await state.swap(`post:${postId}`, from, replicaId, { ttlMs: claimMs });
      if (mine) renewWhileWorking(postId);
      return mine;
    },
    async stillHeld(postId) {
      const w = working.get(postId);
      if (!w) return true; // not claimed through here (nothing to check)
      if (w.lost) return false;
      if (Date.now() - w.confirmedAt < claimMs / 2) return true;
      // the last renewal is old (a slow command, a slow store): ask
      try {
        const mine = (await state.get(`post:${postId}`)) === replicaId;
        if (mine) w.confirmedAt = Date.now();
        else w.lost = true;
        return mine;
      } catch {
        // cannot tell: answer (a double answer is better than none)
        return true;
      }
    },
    forget(postId) {
      stopWorking(postId);
    },
    async done(postId, aheadMs = 0) {
      stopWorking(postId);
      attempts.delete(postId);
      // a claim that expires is taken over; "done" keeps anyone from answering twice. Only
      // over this replica's own claim (or none left): one another replica took over is its
      // to finish, and marking it answered here would cut that work's exactly-once short
      try {
        // a post dated ahead stays done past its date; bounded (10 years), since a create_at near
        // the int64 limit would give an expiry Redis refuses, and the post would never be marked
        const extraMs = Math.min(Math.max(0, aheadMs), MAX_AHEAD_KEPT_MS);
        const marked = await state.swap(`post:${postId}`, replicaId, 'done', { ttlMs: doneMs + extraMs, orAbsent: true });
        if (!marked) log.warn({ postId }, 'not marking a post answered: another replica took its claim over (or answered it) meanwhile');
      } catch (err) {
        log.warn({ err, postId }, 'could not mark a post answered; if this replica stops within a minute another may answer it again');
      }
    },
    async release(postId) {
      stopWorking(postId);
      // only this replica's own claim: giving back one another replica took over would let a
      // third (or the next catch-up) run the post again while that one still works on it
      const freed = await state.deleteIf(`post:${postId}`, replicaId);
      if (!freed) log.info({ postId }, 'claim not given back: this replica no longer holds it');
    },
    lost(postId, retry, settled) {
      if (stopped || takeovers.has(postId) || takeovers.size >= 50_000) return;
      const attempt = (attempts.get(postId) ?? 0) + 1;
      if (attempt > MAX_TAKEOVER_LOOKS) {
        attempts.delete(postId);
        log.warn({ postId }, 'a post stayed claimed by another replica without an answer; giving up on it here');
        settled?.();
        return;
      }
      attempts.set(postId, attempt);
      const t = setTimeout(() => {
        takeovers.delete(postId);
        if (stopped) return;
        // answered: forget it; still claimed or free: run it again (the claim decides)
        state.get(`post:${postId}`).then(
          (v) => {
            if (v === 'done') {
              attempts.delete(postId);
              settled?.();
            } else retry();
          },
          () => retry(), // the store is down: the retry's claim fails and is logged
        );
      }, claimMs + 250 + Math.floor(Math.random() * 500));
      t.unref();
      takeovers.set(postId, t);
    },
  };

  async function bumpGeneration(token: number): Promise<void> {
    const value = `${token}:${Date.now()}`;
    // fenced like every write of the leader: a deposed one must not tell followers to re-learn
    if (leader && !(await leader.confirm())) return;
    try {
      await state.set(GENERATION_KEY, value);
      seenGeneration = value;
    } catch (err) {
      log.warn({ err }, 'could not tell the other replicas that slash commands changed; they re-learn on the next change');
    }
  }

  /** teams worked on at once, and the signal that stops the work (set by startSlash) */
  let concurrency = 1;
  let stopSignal: AbortSignal | undefined;

  async function registerAll(token: number): Promise<void> {
    const reg = registration;
    if (!reg) return;
    // the fencing token is checked before each write (a paused leader may have been replaced)
    const mayWrite = (): Promise<boolean> => leader?.confirm() ?? Promise.resolve(true);
    await forEachLimited(teams, concurrency, stopSignal, (team) => reg.registerTeam(team, { mayWrite }));
    await bumpGeneration(token);
  }

  async function learnAll(): Promise<void> {
    const reg = registration;
    if (!reg) return;
    await forEachLimited(teams, concurrency, stopSignal, (team) => reg.learnTeam(team));
  }

  const leader: Leader | undefined = shared
    ? createLeader({
        store: state,
        owner: replicaId,
        logger: opts.logger,
        ttlMs: deps.leaseMs ?? opts.config.leaderLeaseMs ?? DEFAULT_LEASE_MS,
        async onElected(token) {
          await registerAll(token);
          await watches?.start();
          await reportWatches?.start();
        },
        async onDeposed() {
          await watches?.pause();
          await reportWatches?.pause();
        },
        async onTick(leading) {
          if (leading || !registration) return;
          const gen = await state.get(GENERATION_KEY).catch(() => seenGeneration);
          if (gen !== undefined && gen !== seenGeneration) {
            seenGeneration = gen;
            log.info({}, 'the leader changed the slash commands: learning their tokens');
            await learnAll();
          }
        },
      })
    : undefined;

  return {
    shared,
    state,
    replicaId,
    leader,
    postClaims,
    sharedWatches(watchOpts) {
      if (!shared || !leader) return undefined;
      watches = createHealthWatchService({ ...watchOpts, store: { state, owner: replicaId }, canAct: () => leader.confirm() });
      if (leader.isLeader()) void watches.start();
      return watches;
    },
    reportWatches(watchOpts) {
      reportWatches = createReportWatchService({ ...watchOpts, state, owner: replicaId, ...(leader ? { canAct: () => leader.confirm() } : {}) });
      if (!leader || leader.isLeader()) void reportWatches.start();
      return reportWatches;
    },
    async startSlash(reg, list, o = {}) {
      registration = reg;
      teams = [...list];
      concurrency = Math.max(1, o.concurrency ?? 1);
      stopSignal = o.signal;
      if (!leader) {
        await forEachLimited(teams, concurrency, stopSignal, (team) => reg.registerTeam(team));
        return;
      }
      // take the lease now if it is free (onElected registers), else learn what the leader made
      await leader.tick();
      if (!leader.isLeader()) {
        seenGeneration = await state.get(GENERATION_KEY).catch(() => undefined);
        await learnAll();
      }
      leader.start();
    },
    async addTeam(reg, team) {
      registration = reg;
      if (!teams.some((t) => t.id === team.id)) teams.push(team);
      if (!leader) return reg.registerTeam(team);
      if (leader.isLeader() && (await leader.confirm())) {
        const report = await reg.registerTeam(team, { mayWrite: () => leader.confirm() });
        const token = leader.token();
        if (token !== undefined) await bumpGeneration(token);
        return report;
      }
      return reg.learnTeam(team);
    },
    problem() {
      if (!shared || !state.healthy) return undefined;
      return state.healthy() ? undefined : 'state_store_down';
    },
    onStoreBack(listener, everyMs = 1_000) {
      const healthy = state.healthy?.bind(state);
      if (!shared || !healthy || stopped) return;
      let wasUp = healthy();
      const timer = setInterval(() => {
        const up = healthy();
        if (up && (!wasUp || outageNoted)) {
          outageNoted = false;
          log.info({}, 'the state store answers again: catching up on DMs and mentions skipped during the outage');
          listener();
        }
        wasUp = up;
      }, everyMs);
      timer.unref();
      storeWatches.push(timer);
    },
    noteOutage() {
      outageNoted = true;
    },
    async stop() {
      stopped = true;
      for (const t of storeWatches) clearInterval(t);
      for (const t of takeovers.values()) clearTimeout(t);
      attempts.clear();
      for (const w of working.values()) clearInterval(w.timer);
      working.clear();
      takeovers.clear();
      await reportWatches?.stop().catch((err: unknown) => log.warn({ err }, 'report watches did not stop cleanly'));
      await leader?.stop();
      if (owned) await state.close().catch((err: unknown) => log.warn({ err }, 'state store did not close cleanly'));
    },
  };
}

/** Runs `fn` over `items`, at most `limit` at once, in order; stops starting new ones once `signal` aborts. */
export async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  signal: AbortSignal | undefined,
  fn: (item: T) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length && !signal?.aborted) {
      const item = items[next++] as T;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, worker));
}
