/**
 * One leader among the replicas, for the work that must happen once: slash-command
 * registration and scheduled health watches (docs/replicas.md).
 *
 * Every replica asks for the same lease every `ttlMs / 3`; the holder renews it, the
 * others find it taken. When the holder dies its lease runs out after at most `ttlMs`,
 * and the next poll of another replica takes it: a handover within `ttlMs + ttlMs / 3`,
 * under the promised 2 × TTL. The store hands out a fencing token that grows on every
 * handover; {@link Leader.confirm} renews the lease and checks the token is still ours
 * right before acting, so a replica that was paused past its lease never acts as leader.
 *
 * A replica that cannot reach the store stops counting itself leader as soon as its
 * lease could have run out (last successful renewal + ttl), whatever the store says later.
 *
 * @example
 *   const leader = createLeader({ store, owner: replicaId, logger,
 *     onElected: (token) => registerEverywhere(), onDeposed: () => watches.stop() });
 *   leader.start();
 *   if (await leader.confirm()) await post(change); // fencing check before acting
 */
import type { Logger } from '../core/command.js';
import type { StateStore } from '../state/state-store.js';

export const DEFAULT_LEASE_MS = 10_000;
export const LEADER_LEASE = 'leader';

export interface LeaderOptions {
  store: Pick<StateStore, 'acquireLease' | 'releaseLease'>;
  /** this replica's id (unique per process) */
  owner: string;
  logger: Logger;
  /** lease time to live (default 10 s) */
  ttlMs?: number;
  /** how often to renew or try (default ttl / 3) */
  pollMs?: number;
  /** lease name (default `leader`) */
  name?: string;
  now?: () => number;
  /** this replica became the leader (with that fencing token) */
  onElected?: (token: number) => void | Promise<void>;
  /** this replica is no longer the leader */
  onDeposed?: () => void | Promise<void>;
  /** after every poll, leader or not (followers use it to notice changes) */
  onTick?: (leading: boolean) => void | Promise<void>;
}

export interface Leader {
  start(): void;
  /** gives the lease up (so another replica takes over at once) and stops polling */
  stop(): Promise<void>;
  /** whether this replica holds the lease now, as far as it can tell without asking */
  isLeader(): boolean;
  /** the fencing token while leader */
  token(): number | undefined;
  /**
   * Renews the lease and returns true only if this replica still holds it with the same
   * fencing token (one store round trip). Call it right before acting as the leader.
   */
  confirm(): Promise<boolean>;
  /** polls once now (tests; start() polls on its own) */
  tick(): Promise<void>;
}

/** Creates the lease loop (see the module comment); nothing happens before start(). */
export function createLeader(opts: LeaderOptions): Leader {
  const log = opts.logger.child({ component: 'leader' });
  const ttlMs = opts.ttlMs ?? DEFAULT_LEASE_MS;
  const pollMs = opts.pollMs ?? Math.max(50, Math.floor(ttlMs / 3));
  const name = opts.name ?? LEADER_LEASE;
  const now = opts.now ?? Date.now;
  let held: number | undefined;
  /** when the lease we hold runs out at the latest (our last successful renewal + ttl) */
  let validUntil = 0;
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let ticking: Promise<void> | undefined;
  let storeDown = false;

  async function become(token: number | undefined): Promise<void> {
    const was = held;
    held = token;
    if (token !== undefined && was !== token) {
      log.info({ owner: opts.owner, token }, was === undefined ? 'this replica is now the leader' : 'leadership renewed with a new fencing token');
      await Promise.resolve(opts.onElected?.(token)).catch((err: unknown) => log.error({ err }, 'leader start-up work failed'));
    } else if (token === undefined && was !== undefined) {
      log.info({ owner: opts.owner }, 'this replica is no longer the leader');
      await Promise.resolve(opts.onDeposed?.()).catch((err: unknown) => log.error({ err }, 'leader hand-over work failed'));
    }
  }

  async function poll(): Promise<void> {
    const askedAt = now();
    let token: number | undefined;
    try {
      token = await opts.store.acquireLease(name, opts.owner, ttlMs);
      if (storeDown) log.info({}, 'state store answers again: leader election resumed');
      storeDown = false;
    } catch (err) {
      if (!storeDown) log.warn({ err }, 'state store unreachable: cannot renew or take the leader lease');
      storeDown = true;
      // we cannot know; we are leader only while our last renewal is surely still valid
      if (held !== undefined && now() >= validUntil) await become(undefined);
      return;
    }
    if (token !== undefined) validUntil = askedAt + ttlMs;
    await become(token);
  }

  function tick(): Promise<void> {
    ticking ??= poll()
      .then(() => opts.onTick?.(held !== undefined))
      .catch((err: unknown) => log.error({ err }, 'leader tick failed'))
      .finally(() => {
        ticking = undefined;
      });
    return ticking;
  }

  function loop(): void {
    if (!running) return;
    void tick().finally(() => {
      if (!running) return;
      timer = setTimeout(loop, pollMs);
      timer.unref();
    });
  }

  return {
    start() {
      if (running) return;
      running = true;
      loop();
    },
    async stop() {
      running = false;
      clearTimeout(timer);
      await ticking;
      if (held !== undefined) {
        await opts.store.releaseLease(name, opts.owner).catch((err: unknown) => log.warn({ err }, 'could not give the leader lease up; it runs out on its own'));
        await become(undefined);
      }
    },
    isLeader: () => held !== undefined && now() < validUntil,
    token: () => held,
    async confirm() {
      if (held === undefined) return false;
      const askedAt = now();
      try {
        const token = await opts.store.acquireLease(name, opts.owner, ttlMs);
        if (token !== undefined && token === held) {
          validUntil = askedAt + ttlMs;
          return true;
        }
        log.warn({ held, now: token }, 'fencing token changed: another replica leads now; not acting');
        // not awaited: the hand-over work (onDeposed) may wait for the very caller that asked
        // (a health check pauses until its running check ends), which waits for this answer
        void become(token);
        return false;
      } catch (err) {
        log.warn({ err }, 'state store unreachable: not acting as leader');
        return false;
      }
    },
    tick,
  };
}
