/**
 * Every write to a post claim is compare-and-set on the holder's id (src/bot/replication.ts,
 * src/state/state-store.ts `swap`/`deleteIf`): a replica that lost its claim (its renewals
 * timed out and another replica took the post over) neither gives it back nor marks it
 * answered. Three replicas on one store and a 200 ms claim, on the in-process store and on a
 * real Redis.
 */
import { describe, expect, it } from 'vitest';
import { LEADER_LEASE } from '../../src/bot/leader.js';
import { createReplication, type Replication } from '../../src/bot/replication.js';
import type { Team } from '../../src/mattermost/models.js';
import type { SlashRegistration, TeamRegistration } from '../../src/services/slash-registration.js';
import type { Config } from '../../src/config.js';
import { createMemoryStateStore, type StateStore } from '../../src/state/state-store.js';
import { createMemoryLogger } from '../helpers/logger.js';
import { probeRedis, REDIS_URL, redisStores, whenConnected } from '../helpers/redis.js';

const redis = await probeRedis();
const redisMade = redisStores();
const CLAIM_MS = 200;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `inner`, except that renewals time out while `cut.on` (the replica is cut off from the store). */
function cutOff(inner: StateStore, cut: { on: boolean }): StateStore {
  return new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === 'renew') return (k: string, v: string, ms: number) => (cut.on ? Promise.reject(new Error('Redis did not answer within 1000 ms')) : target.renew(k, v, ms));
      const value: unknown = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

const replica = (state: StateStore, id: string): Replication =>
  createReplication({ config: { catchupMaxAgeMs: 86_400_000 } as Config, logger: createMemoryLogger(), deps: { state, sharedState: true, postClaimMs: CLAIM_MS, replicaId: id } });

const stores: Array<{ name: string; available: boolean; make(): Promise<StateStore> }> = [
  { name: 'in-process store', available: true, make: async () => createMemoryStateStore() },
  {
    name: 'Redis',
    available: redis.available,
    async make() {
      const s = redisMade.make();
      await whenConnected(s);
      return s;
    },
  },
];

describe.each(stores)('post claims on a shared $name', ({ name, available, make }) => {
  if (name === 'Redis' && process.env.CI) {
    it('Redis is reachable (CI requires it)', () => {
      expect(available, `Redis at ${REDIS_URL} must answer when CI is set`).toBe(true);
    });
  }

  describe.runIf(available)('three replicas, a 200 ms claim', () => {
    it('a replica whose claim was taken over cannot give it back: the third replica does not run the post a second time', async () => {
      const shared = await make();
      const cut = { on: false };
      const a = replica(cutOff(shared, cut), 'replica-a');
      const b = replica(shared, 'replica-b');
      const c = replica(shared, 'replica-c');
      try {
        expect(await a.postClaims.claim('p1')).toBe(true);
        cut.on = true; // A's renewals time out from here; its claim runs out
        await sleep(CLAIM_MS + 150);
        expect(await b.postClaims.claim('p1')).toBe(true); // B takes the post over and works on it
        expect(await a.postClaims.stillHeld('p1')).toBe(false);
        // A gives the post back (a 429/5xx storm, or its shutdown): B's live claim stays
        await a.postClaims.release('p1');
        expect(await shared.get('post:p1')).toBe('replica-b');
        expect(await c.postClaims.claim('p1')).toBe(false);
      } finally {
        await Promise.all([a.stop(), b.stop(), c.stop()]);
      }
    });

    it('a replica whose claim was taken over cannot mark the post answered while the new holder works on it', async () => {
      const shared = await make();
      const cut = { on: false };
      const a = replica(cutOff(shared, cut), 'replica-a');
      const b = replica(shared, 'replica-b');
      try {
        expect(await a.postClaims.claim('p2')).toBe(true);
        cut.on = true;
        await sleep(CLAIM_MS + 150);
        expect(await b.postClaims.claim('p2')).toBe(true);
        await a.postClaims.done('p2');
        expect(await shared.get('post:p2')).toBe('replica-b');
        // the holder still renews it and marks it answered
        await sleep(CLAIM_MS + 100);
        expect(await shared.get('post:p2')).toBe('replica-b');
        await b.postClaims.done('p2');
        expect(await shared.get('post:p2')).toBe('done');
        // and nobody gives an answered post back
        await a.postClaims.release('p2');
        await b.postClaims.release('p2');
        expect(await shared.get('post:p2')).toBe('done');
      } finally {
        await Promise.all([a.stop(), b.stop()]);
      }
    });

    it('the holder gives its own claim back and marks its own post answered', async () => {
      const shared = await make();
      const a = replica(shared, 'replica-a');
      const b = replica(shared, 'replica-b');
      try {
        expect(await a.postClaims.claim('p3')).toBe(true);
        await a.postClaims.release('p3');
        expect(await shared.get('post:p3')).toBeUndefined();
        expect(await b.postClaims.claim('p3')).toBe(true);
        await b.postClaims.done('p3');
        expect(await shared.get('post:p3')).toBe('done');
      } finally {
        await Promise.all([a.stop(), b.stop()]);
      }
    });
  });
});

describe('the leader fences its slash-command writes', () => {
  const team = (n: number): Team => ({ id: `team${n}`.padEnd(26, '0'), create_at: 0, update_at: 0, delete_at: 0, display_name: `T${n}`, name: `t${n}`, description: '', type: 'O', allow_open_invite: true });

  it('asks its fencing token before each team is written, and a leader deposed halfway writes nothing more', async () => {
    const shared = createMemoryStateStore();
    const a = createReplication({ config: { catchupMaxAgeMs: 86_400_000 } as Config, logger: createMemoryLogger(), deps: { state: shared, sharedState: true, replicaId: 'replica-a', leaseMs: 10_000 } });
    const answers: Array<{ team: string; mayWrite: boolean }> = [];
    const report = (t: Team): TeamRegistration => ({ teamId: t.id, teamName: t.name, registered: [], warnings: [] });
    const registration: SlashRegistration = {
      async registerTeam(t, o) {
        if (t.name === 't2') {
          // another replica takes the lease over while A registers (A was paused past it)
          await shared.releaseLease(LEADER_LEASE, 'replica-a');
          expect(await shared.acquireLease(LEADER_LEASE, 'replica-b', 10_000)).toBeDefined();
        }
        answers.push({ team: t.name, mayWrite: (await o?.mayWrite?.()) ?? true });
        return report(t);
      },
      learnTeam: async (t) => report(t),
      verify: () => undefined,
      authenticate: async () => undefined,
      bindings: () => [],
      reports: () => [],
    };
    try {
      await a.startSlash(registration, [team(1), team(2), team(3)]);
      expect(answers).toEqual([
        { team: 't1', mayWrite: true },
        { team: 't2', mayWrite: false },
        { team: 't3', mayWrite: false },
      ]);
      // nor does it tell the followers to re-learn
      expect(await shared.get('slash:generation')).toBeUndefined();
    } finally {
      await a.stop();
    }
  });
});
