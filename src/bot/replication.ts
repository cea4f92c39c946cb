/**
 * What makes N replicas behind a load balancer behave like one bot (README "Running
 * several replicas"). Used by src/bot.ts; nothing here talks to Mattermost directly.
 *
 * - **Shared state**: with MMOPS_REDIS_URL (or a store given in BotDeps.state) every
 *   replica uses the same {@link StateStore}; without, an in-process store and today's
 *   single-replica behaviour (watches in `$MMOPS_STATE_DIR/watches.json`).
 * - **One answer per post**: the WebSocket intake claims `post:<id>` (SET NX) before
 *   handling a DM or mention; the replica whose claim wins answers, the others skip it.
 *   While the store is unreachable no replica can claim, so none answers (never two);
 *   the catch-up after a gap handles what was missed.
 * - **One leader** (src/bot/leader.ts) registers slash commands and runs the health
 *   watch schedule. Followers only *learn* the tokens of the registered commands (a
 *   read-only listing) so they can verify the slash requests the load balancer sends
 *   them; the leader bumps `slash:generation` after registering and followers re-learn
 *   when it changes (checked on every lease poll).
 * - **Readiness**: `state_store_down` while the store does not answer.
 *
 * @example
 *   const replication = createReplication({ config, logger, deps });
 *   intake = createWsIntake({ ..., claim: replication.claimPost });
 *   await replication.startSlash(registration, teams);
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Config } from '../config.js';
import type { Logger } from '../core/command.js';
import type { MattermostApi } from '../mattermost/api.js';
import type { Team } from '../mattermost/models.js';
import { createHealthWatchService, type HealthWatchScheduler, type HealthWatchServiceOptions } from '../services/health-watch.js';
import type { SlashRegistration, TeamRegistration } from '../services/slash-registration.js';
import { createRedisStateStore, redactRedisUrl } from '../state/redis-state-store.js';
import { createMemoryStateStore, type StateStore } from '../state/state-store.js';
import { createLeader, DEFAULT_LEASE_MS, type Leader } from './leader.js';

/** How long a post claim lives: longer than any resume or catch-up window. */
export const POST_CLAIM_TTL_MS = 24 * 3_600_000;
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
  /** the WebSocket intake's claim: true = this replica handles the post (throws while the store is down) */
  claimPost: ((postId: string) => Promise<boolean>) | undefined;
  /** health watches kept in the shared store, run by the leader; undefined when not shared */
  sharedWatches(opts: Omit<HealthWatchServiceOptions, 'store' | 'canAct'>): HealthWatchScheduler | undefined;
  /** registers (leader) or learns (follower) slash commands in `teams`, then starts the lease loop */
  startSlash(registration: SlashRegistration, teams: Team[]): Promise<void>;
  /** the bot was added to a team */
  addTeam(registration: SlashRegistration, team: Team): Promise<TeamRegistration>;
  /** a short reason code when this replica cannot do its shared work, else undefined */
  problem(): 'state_store_down' | undefined;
  /** gives the lease up and closes a store this module opened */
  stop(): Promise<void>;
}

/** Builds the replication wiring for one bot (see the module comment). */
export function createReplication(opts: { config: Config; logger: Logger; deps?: ReplicationDeps; api?: MattermostApi }): Replication {
  const log = opts.logger.child({ component: 'replication' });
  const deps = opts.deps ?? {};
  const replicaId = deps.replicaId ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  let owned = false;
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
    state = createMemoryStateStore();
    shared = false;
    owned = true;
  }

  let teams: Team[] = [];
  let registration: SlashRegistration | undefined;
  let seenGeneration: string | undefined;
  let watches: HealthWatchScheduler | undefined;

  async function bumpGeneration(token: number): Promise<void> {
    const value = `${token}:${Date.now()}`;
    try {
      await state.set(GENERATION_KEY, value);
      seenGeneration = value;
    } catch (err) {
      log.warn({ err }, 'could not tell the other replicas that slash commands changed; they re-learn on the next change');
    }
  }

  async function registerAll(token: number): Promise<void> {
    if (!registration) return;
    for (const team of teams) await registration.registerTeam(team);
    await bumpGeneration(token);
  }

  async function learnAll(): Promise<void> {
    if (!registration) return;
    for (const team of teams) await registration.learnTeam(team);
  }

  const leader: Leader | undefined = shared
    ? createLeader({
        store: state,
        owner: replicaId,
        logger: opts.logger,
        ttlMs: deps.leaseMs ?? DEFAULT_LEASE_MS,
        async onElected(token) {
          await registerAll(token);
          await watches?.start();
        },
        async onDeposed() {
          await watches?.pause();
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
    claimPost: shared ? (postId) => state.claim(`post:${postId}`, POST_CLAIM_TTL_MS) : undefined,
    sharedWatches(watchOpts) {
      if (!shared || !leader) return undefined;
      watches = createHealthWatchService({ ...watchOpts, store: { state, owner: replicaId }, canAct: () => leader.confirm() });
      if (leader.isLeader()) void watches.start();
      return watches;
    },
    async startSlash(reg, list) {
      registration = reg;
      teams = [...list];
      if (!leader) {
        for (const team of teams) await reg.registerTeam(team);
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
        const report = await reg.registerTeam(team);
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
    async stop() {
      await leader?.stop();
      if (owned) await state.close().catch((err: unknown) => log.warn({ err }, 'state store did not close cleanly'));
    },
  };
}
