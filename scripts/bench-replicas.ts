/**
 * `npm run bench`, section `replicas`: 1 and 3 replicas of the bot on one
 * Redis (REDIS_URL, default redis://127.0.0.1:6379; a fresh key prefix per run, deleted
 * afterwards) behind the sandbox's round-robin proxy (MMOPS_PUBLIC_URL): slash commands/s
 * and p99 through the proxy, DMs (WebSocket commands) answered per second and their p99,
 * and the Redis round trips each kind of command adds.
 *
 * Round trips are counted inside each replica (scripts/bench-bot.ts, BENCH_COUNT_REDIS=1:
 * the Redis store the bot would build, passed in through BotDeps.state, with its own
 * round-trip counter and a count per StateStore method), summed over the replicas. The
 * background rate (leader lease renewals, followers' lease polls) is measured over an idle
 * window first and subtracted. `INFO commandstats` is not used: other work shares the Redis.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient } from '@redis/client';
import { z } from 'zod';
import { startRoundRobinProxy } from '../src/sandbox/round-robin.js';
import { benchUsername, fmt, percentile, runLoad, type LoadResult, type SlashTarget } from './bench-lib.js';
import {
  answersSchema,
  commandsSchema,
  pollUntil,
  postedSchema,
  slashTarget,
  startBotChild,
  startFakeChild,
  type BenchContext,
  type BenchSection,
  type BotRun,
  type FakeRun,
} from './bench-section.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const redisSchema = z.object({ roundTrips: z.number(), calls: z.record(z.string(), z.number()) });
type RedisCount = z.infer<typeof redisSchema>;

interface Counted {
  roundTrips: number;
  calls: Record<string, number>;
}

/** Round trips and calls by method, summed over the replicas. */
async function countAll(bots: BotRun[]): Promise<Counted> {
  const each: RedisCount[] = await Promise.all(bots.map((b) => b.child.call('redis', null, redisSchema)));
  const calls: Record<string, number> = {};
  for (const c of each) for (const [k, v] of Object.entries(c.calls)) calls[k] = (calls[k] ?? 0) + v;
  return { roundTrips: each.reduce((a, c) => a + c.roundTrips, 0), calls };
}

function minus(a: Counted, b: Counted): Counted {
  const calls: Record<string, number> = {};
  for (const k of new Set([...Object.keys(a.calls), ...Object.keys(b.calls)])) calls[k] = (a.calls[k] ?? 0) - (b.calls[k] ?? 0);
  return { roundTrips: a.roundTrips - b.roundTrips, calls };
}

/** Round trips of a window above the idle background, per command, and the calls by method per command. */
function perCommand(delta: Counted, idlePerMs: number, elapsedMs: number, commands: number): { extra: number; calls: Record<string, number> } {
  const extra = commands > 0 ? Math.max(0, delta.roundTrips - idlePerMs * elapsedMs) / commands : 0;
  const calls: Record<string, number> = {};
  for (const [k, v] of Object.entries(delta.calls)) if (v > 0 && k !== 'acquireLease') calls[k] = commands > 0 ? v / commands : 0;
  return { extra, calls };
}

const callsText = (calls: Record<string, number>): string =>
  Object.entries(calls)
    .sort()
    .map(([k, v]) => `${k} ${fmt(v)}`)
    .join(', ') || 'none';

interface ReplicaRun {
  replicas: number;
  slash: LoadResult & { extraRoundTrips: number; calls: Record<string, number> };
  ws: { commands: number; perSecond: number; p50: number; p99: number; answered: number; doubled: number; extraRoundTrips: number; calls: Record<string, number> };
  idleRoundTripsPerSecond: number;
}

async function runReplicas(ctx: BenchContext, n: number): Promise<ReplicaRun> {
  const prefix = `mmops-bench:${randomUUID()}:`;
  const fake = await startFakeChild(ctx, `replicas-${n}`);
  const lb = await startRoundRobinProxy();
  const bots: BotRun[] = [];
  try {
    for (let i = 0; i < n; i++) {
      bots.push(
        await startBotChild(ctx, fake, {
          env: { MMOPS_REDIS_URL: REDIS_URL, MMOPS_REDIS_PREFIX: prefix, MMOPS_PUBLIC_URL: lb.url, BENCH_COUNT_REDIS: '1' },
        }),
      );
    }
    lb.setTargets(bots.map((b) => b.info.url));
    const target = await waitForSlash(ctx, fake, lb.url);
    // followers learn the registered tokens on their lease poll: wait until every replica verifies
    await pollUntil('every replica verifying slash requests', async () => ((await runLoad({ target, texts: ['status @bob'], concurrency: 1, count: n * 3 })).errors === 0 ? true : undefined), 30_000, 500);
    await runLoad({ target, texts: ['status @bob'], concurrency: 16, count: ctx.quick ? 300 : 1_000 });

    const idleMs = ctx.quick ? 2_000 : 4_000;
    const i0 = await countAll(bots);
    await sleep(idleMs);
    const idle = minus(await countAll(bots), i0);
    const idlePerMs = idle.roundTrips / idleMs;

    const s0 = await countAll(bots);
    const t0 = performance.now();
    const slash = await runLoad({ target, texts: ['status @bob'], concurrency: 32, durationMs: ctx.quick ? 3_000 : 6_000 });
    const slashCounts = perCommand(minus(await countAll(bots), s0), idlePerMs, performance.now() - t0, slash.count);
    ctx.progress(`replicas ${n}: slash ${fmt(slash.perSecond)}/s p99 ${fmt(slash.p99)} ms; Redis round trips per slash command ${fmt(slashCounts.extra)} (${callsText(slashCounts.calls)})`);

    const ws = await wsWindow(ctx, fake, bots, idlePerMs);
    ctx.progress(`replicas ${n}: DMs ${fmt(ws.perSecond)}/s p99 ${fmt(ws.p99)} ms; Redis round trips per DM ${fmt(ws.extraRoundTrips)} (${callsText(ws.calls)})`);
    return { replicas: n, slash: { ...slash, extraRoundTrips: slashCounts.extra, calls: slashCounts.calls }, ws, idleRoundTripsPerSecond: idlePerMs * 1000 };
  } finally {
    for (const b of bots) await ctx.stop(b.child);
    await lb.close();
    await ctx.stop(fake.child);
    await deleteKeys(prefix).catch((err: unknown) => ctx.progress(`replicas: could not delete the keys under ${prefix}: ${String(err)}`));
  }
}

async function waitForSlash(ctx: BenchContext, fake: FakeRun, lbUrl: string): Promise<SlashTarget> {
  return pollUntil(
    'slash commands registered for the proxy',
    async () => {
      try {
        return slashTarget(ctx, fake, await fake.child.call('commands', null, commandsSchema), 'mmops', 'alice', `${lbUrl}/slash`);
      } catch {
        return undefined;
      }
    },
    60_000,
    200,
  );
}

/** DMs from 100 users (3 each: within the per-user limits), all at once; until each is answered. */
async function wsWindow(ctx: BenchContext, fake: FakeRun, bots: BotRun[], idlePerMs: number): Promise<ReplicaRun['ws']> {
  const users = Array.from({ length: 100 }, (_, i) => benchUsername(i + 1));
  const count = ctx.quick ? 150 : 300;
  const c0 = await countAll(bots);
  const t0 = performance.now();
  const since = Date.now();
  const posted = await fake.child.call('postDms', { users, count, text: 'status @bob' }, postedSchema);
  const ids = new Set(posted.map((p) => p.id));
  const answers = await pollUntil(
    'every DM answered',
    async () => {
      const a = (await fake.child.call('botAnswers', { since }, answersSchema)).filter((x) => ids.has(x.replyTo));
      return new Set(a.map((x) => x.replyTo)).size >= ids.size ? a : undefined;
    },
    120_000,
    100,
  );
  await sleep(500); // the `done` marks follow the answers
  const elapsed = performance.now() - t0;
  await sleep(1_000); // a second answer would come about now
  const all = (await fake.child.call('botAnswers', { since }, answersSchema)).filter((x) => ids.has(x.replyTo));
  const counts = perCommand(minus(await countAll(bots), c0), idlePerMs, elapsed + 1_000, count);
  const postedAt = new Map(posted.map((p) => [p.id, p.at]));
  const first = new Map<string, number>();
  for (const a of answers) if (!first.has(a.replyTo)) first.set(a.replyTo, a.at);
  const lat = Float64Array.from([...first].map(([id, at]) => at - (postedAt.get(id) ?? at))).sort();
  const lastAt = Math.max(...first.values());
  const firstPost = Math.min(...postedAt.values());
  return {
    commands: count,
    perSecond: (count / Math.max(1, lastAt - firstPost)) * 1000,
    p50: percentile(lat, 0.5),
    p99: percentile(lat, 0.99),
    answered: first.size,
    doubled: all.length - new Set(all.map((a) => a.replyTo)).size,
    extraRoundTrips: counts.extra,
    calls: counts.calls,
  };
}

async function redisReachable(): Promise<string | undefined> {
  const client = createClient({ url: REDIS_URL, socket: { connectTimeout: 1_000, reconnectStrategy: false } });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.ping();
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  } finally {
    if (client.isOpen) await client.close().catch(() => undefined);
  }
}

async function deleteKeys(prefix: string): Promise<void> {
  const client = createClient({ url: REDIS_URL, socket: { connectTimeout: 1_000, reconnectStrategy: false } });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const keys: string[] = [];
    for await (const batch of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 1_000 })) keys.push(...batch);
    for (let i = 0; i < keys.length; i += 500) await client.del(keys.slice(i, i + 500));
  } finally {
    await client.close();
  }
}

export const replicasSection: BenchSection = {
  name: 'replicas',
  title: 'Replicas on Redis (1 and 3, behind a round-robin proxy)',
  async run(ctx) {
    const unreachable = await redisReachable();
    if (unreachable) {
      ctx.progress(`replicas: Redis at ${REDIS_URL} is not reachable (${unreachable}); section not measured`);
      return {
        targets: [{ target: 'replicas on Redis: one claim per WebSocket command, none per slash command', measured: `not measured: Redis at ${REDIS_URL} unreachable`, pass: false }],
        figures: [['Redis', `${REDIS_URL} unreachable (${unreachable})`]],
        data: { unreachable },
      };
    }
    const runs: ReplicaRun[] = [];
    for (const n of [1, 3]) runs.push(await runReplicas(ctx, n));
    const figures: Array<[string, string]> = [];
    for (const r of runs) {
      const k = `${r.replicas} replica${r.replicas === 1 ? '' : 's'}`;
      figures.push(
        [`${k}: slash commands (32 callers through the proxy)`, `${fmt(r.slash.perSecond)}/s, p50 ${fmt(r.slash.p50)} ms, p99 ${fmt(r.slash.p99)} ms, ${r.slash.errors} errors`],
        [`${k}: Redis round trips per slash command`, `${fmt(r.slash.extraRoundTrips)} (${callsText(r.slash.calls)})`],
        [`${k}: DMs (${r.ws.commands} from 100 users at once)`, `${fmt(r.ws.perSecond)}/s, p50 ${fmt(r.ws.p50)} ms, p99 ${fmt(r.ws.p99)} ms; ${r.ws.answered} answered, ${r.ws.doubled} doubled`],
        [`${k}: Redis round trips per DM, all replicas`, `${fmt(r.ws.extraRoundTrips)} (${callsText(r.ws.calls)})`],
        [`${k}: background (lease) round trips`, `${fmt(r.idleRoundTripsPerSecond)}/s`],
      );
    }
    const worstClaims = Math.max(...runs.map((r) => (r.ws.calls.claim ?? 0) / r.replicas));
    const slashTrips = Math.max(...runs.map((r) => r.slash.extraRoundTrips));
    return {
      targets: [
        {
          target: 'replicas on Redis: one claim per WebSocket command (per replica)',
          measured: runs.map((r) => `${r.replicas}: ${fmt((r.ws.calls.claim ?? 0) / r.replicas)} claims, ${fmt(r.ws.extraRoundTrips / r.replicas)} round trips per replica`).join('; '),
          pass: worstClaims <= 1.05,
        },
        {
          target: 'replicas on Redis: no Redis round trip per slash command',
          measured: runs.map((r) => `${r.replicas}: ${fmt(r.slash.extraRoundTrips)}`).join('; '),
          pass: slashTrips < 0.05,
        },
        {
          target: 'replicas on Redis: every DM answered exactly once',
          measured: runs.map((r) => `${r.replicas}: ${r.ws.answered}/${r.ws.commands}, ${r.ws.doubled} doubled`).join('; '),
          pass: runs.every((r) => r.ws.answered === r.ws.commands && r.ws.doubled === 0),
        },
      ],
      figures,
      notes: [
        'Each replica is scripts/bench-bot.ts with MMOPS_REDIS_URL, one fresh MMOPS_REDIS_PREFIX per run and MMOPS_PUBLIC_URL pointing at the sandbox round-robin proxy, which runs in the load generator\'s process. Slash load: /mmops status @bob, 32 callers, closed loop, through the proxy. DMs: "status @bob" from 100 users, 3 each, posted at once; each replica sees each post on its own WebSocket. Round trips are per command over all replicas, the idle background subtracted.',
      ],
      data: runs,
    };
  },
};
