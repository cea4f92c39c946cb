/**
 * The replicas' chaos test (one answer per command, no single point of failure): three replicas of the real bot (real processes, `src/main.ts`)
 * on a real Redis (fresh key prefix) against the sandbox server, while replicas are
 * SIGKILLed (and SIGTERMed) and started again, sockets drop, the WebSocket hub restarts
 * and the server answers 429 — and 300 DMs and 100 mentions arrive. Then:
 *
 * - every command answered exactly once, or its sender told once to resend;
 * - a health watch posts exactly once per change, each change noticed by a new leader
 *   right after the old one was killed;
 * - slash registration never flaps: after the first replica registered, no command is
 *   created, re-pointed or deleted again (the sandbox records every request), and every
 *   command points at the load balancer.
 *
 * Without Redis it is skipped with one loud line, except under CI (test/helpers/redis.ts).
 * Bounded: MMOPS_CHAOS_REPLICA_SECONDS (default 30) of traffic, then the settle time.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { BOT_ID, formatReport, runChaos, type ChaosContext } from '../../scripts/chaos-lib.js';
import { answeredBy } from '../../src/services/catch-up.js';
import { channelIdFor } from '../../src/sandbox/seed.js';
import { createRedisStateStore } from '../../src/state/redis-state-store.js';
import { deleteKeys, freshPrefix, probeRedis, REDIS_URL } from '../helpers/redis.js';

const env = z.object({ MMOPS_CHAOS_REPLICA_SECONDS: z.coerce.number().positive().default(30) }).parse(process.env);
const redis = await probeRedis();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The requests that change slash commands: create, update (re-point), delete. */
const commandWrites = (ctx: ChaosContext) =>
  ctx.fake.requests.filter((r) => (r.method === 'POST' && r.path === '/api/v4/commands') || ((r.method === 'PUT' || r.method === 'DELETE') && /^\/api\/v4\/commands\/[^/]+$/.test(r.path)));

async function waitFor<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs: number): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

describe('chaos: three replicas on Redis, killed and restarted', () => {
  if (!redis.available && process.env.CI) {
    it('needs Redis under CI', () => {
      throw new Error(`Redis at ${REDIS_URL} is not reachable (${redis.why}); CI must provide one`);
    });
  }
  it.runIf(redis.available)(
    'answers each of 300 DMs and 100 mentions once, posts each health change once across leader kills, and never re-registers',
    async () => {
      const prefix = freshPrefix();
      const store = createRedisStateStore({ url: REDIS_URL, prefix });
      const incidents = channelIdFor('ops', 'incidents');
      const watchDoc = z.object({ version: z.literal(1), watches: z.array(z.object({ channelId: z.string(), last: z.unknown().optional(), nextAt: z.number().optional() }).passthrough()) });
      /** the watch's changes as posted (the bot's posts in the channel that answer no command) */
      const watchPosts = (ctx: ChaosContext) => ctx.fake.posts.filter((p) => p.user_id === BOT_ID && p.channel_id === incidents && answeredBy(p.props).length === 0);
      /** makes the watch due in `ms` (as if its interval ran out), under the watches' own lock */
      async function dueIn(ms: number): Promise<void> {
        await waitFor('the watch lock', () => store.acquireLease('health-watches:lock', 'chaos-test', 5_000), 5_000);
        try {
          const doc = watchDoc.parse(JSON.parse((await store.get('health-watches')) ?? ''));
          for (const w of doc.watches) w.nextAt = Date.now() + ms;
          await store.set('health-watches', JSON.stringify(doc));
        } finally {
          await store.releaseLease('health-watches:lock', 'chaos-test');
        }
      }
      /** kills the leader (SIGKILL) and starts it again in the background */
      async function killLeader(ctx: ChaosContext): Promise<Promise<void>> {
        const i = await waitFor('a leader', () => (ctx.leader() >= 0 ? ctx.leader() : undefined), 15_000);
        ctx.log(`health watch: killing the leader bot${i}`);
        return ctx.restart(i, 'SIGKILL');
      }
      let writesAtStart = -1;
      /** what the new watch said about the state it found (the sandbox's cluster is degraded already) */
      let baseline = -1;
      let changesPosted: string[] = [];
      let badUrls: string[] = [];
      let lateWrites: Array<{ method: string; path: string }> = [];
      try {
        const report = await runChaos({
          seconds: env.MMOPS_CHAOS_REPLICA_SECONDS,
          dms: 300,
          mentions: 100,
          replicas: 3,
          redisUrl: REDIS_URL,
          redisPrefix: prefix,
          faults: ['sigkill', 'sigkill', 'sigterm', 'wsDrop', 'hubRestart', 'rateStorm'],
          // a killed replica's claims and lease run out soon (the defaults are 60 s and 10 s)
          env: { MMOPS_POST_CLAIM_MS: '3000', MMOPS_LEADER_LEASE_MS: '3000' },
          progress: (line) => console.log(`${new Date().toISOString().slice(11, 23)} ${line}`),
          async beforeTraffic(ctx) {
            // the first registration is done once the writes stop
            let seen = -1;
            let stableSince = Date.now();
            await waitFor(
              'slash registration',
              () => {
                const n = commandWrites(ctx).length;
                if (n !== seen) {
                  seen = n;
                  stableSince = Date.now();
                }
                return n > 0 && ctx.leader() >= 0 && Date.now() - stableSince > 1_500;
              },
              30_000,
            );
            writesAtStart = commandWrites(ctx).length;
            // a watch on ops:incidents, set by a command; its first check is the quiet baseline
            await ctx.fake.postAs('alice', 'ops:incidents', '@mmops health watch');
            await waitFor('the watch baseline', async () => watchDoc.safeParse(JSON.parse((await store.get('health-watches')) ?? 'null')).data?.watches.some((w) => w.last !== undefined), 20_000);
            baseline = watchPosts(ctx).length;
          },
          async during(ctx) {
            await sleep(2_000);
            // the file store breaks; the watch is due right when its leader is killed
            ctx.fake.store.config.filestoreStatus = 'UNHEALTHY';
            await dueIn(1_000);
            ctx.log('health watch: file store UNHEALTHY, watch due in 1 s');
            const first = await killLeader(ctx);
            await waitFor('the change to be posted', () => watchPosts(ctx).length >= baseline + 1, 40_000);
            await first;
            // and back: the next leader announces the recovery, once
            ctx.fake.store.config.filestoreStatus = 'OK';
            await dueIn(1_000);
            ctx.log('health watch: file store OK, watch due in 1 s');
            const second = await killLeader(ctx);
            await waitFor('the recovery to be posted', () => watchPosts(ctx).length >= baseline + 2, 40_000);
            await second;
          },
          async afterSettle(ctx) {
            await sleep(2_000); // a doubled watch post would come now
            changesPosted = watchPosts(ctx).slice(baseline).map((p) => p.message);
            lateWrites = commandWrites(ctx).slice(writesAtStart).map((r) => ({ method: r.method, path: r.path }));
            const ours = [...ctx.fake.store.commands.values()].filter((c) => c.creator_id === BOT_ID);
            badUrls = ours.filter((c) => c.delete_at !== 0 || c.url !== `${ctx.lb.url}/slash`).map((c) => `${c.trigger} ${c.url}`);
            // and no command twice in a team
            const seenTriggers = new Set<string>();
            for (const c of ours.filter((x) => x.delete_at === 0)) {
              const key = `${c.team_id}/${c.trigger}`;
              if (seenTriggers.has(key)) badUrls.push(`duplicate ${key}`);
              seenTriggers.add(key);
            }
          },
        });
        console.log(formatReport(report));
        console.log(`health watch posts:\n${changesPosted.join('\n---\n')}`);
        expect(report.commands).toBe(400);
        expect(report.faults.sigkill).toBeGreaterThan(0);
        expect(report.lost.map((c) => c.id), formatReport(report)).toEqual([]);
        // an answer stored in the channel is never doubled; a caller-only (ephemeral) answer
        // to a mention is not stored, so one sent right before a SIGKILL, before its post was
        // recorded answered, is sent again (docs/operations.md: the window that remains), at most a
        // couple per kill
        expect(report.doubled.filter((c) => !c.ephemeral).map((c) => c.id), formatReport(report)).toEqual([]);
        expect(report.doubled.length, formatReport(report)).toBeLessThanOrEqual(2 * report.sigkills);
        expect(report.answered + report.resend + report.doubled.length).toBe(400);
        // one post per change, each by the leader that followed a killed one: the file
        // store broke, then it recovered (a new watch first says once what it found)
        expect(baseline).toBeLessThanOrEqual(1);
        expect(changesPosted, changesPosted.join('\n---\n')).toHaveLength(2);
        expect(changesPosted[0]).toMatch(/New:[\s\S]*file store is UNHEALTHY/);
        expect(changesPosted[1]).toMatch(/Resolved:[\s\S]*file store is UNHEALTHY/);
        // registration never flapped
        expect(writesAtStart).toBeGreaterThan(0);
        expect(lateWrites).toEqual([]);
        expect(badUrls).toEqual([]);
      } finally {
        await store.close();
        await deleteKeys(prefix);
      }
    },
    (env.MMOPS_CHAOS_REPLICA_SECONDS + 180) * 1000,
  );
});
