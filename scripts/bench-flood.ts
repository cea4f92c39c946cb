/**
 * `npm run bench`, section `flood` ("Fair under load" in README.md): another user's `/whois`
 * while four users flood the bot with 1,500 DMs, every API request taking 200 ms longer
 * (the fake's simulated latency). The bot runs with its default limits (2 running + 5
 * queued per user, global queue 256, 16 API requests at once).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { fmt, percentile, runLoad, type LoadResult, type SlashTarget } from './bench-lib.js';
import { answersSchema, anySchema, MB, memorySchema, pollUntil, postedSchema, startBotChild, startFakeChild, type BenchSection, type BotRun, type FakeRun } from './bench-section.js';

const FLOODERS = ['alice', 'bob', 'carol', 'dave'];
/** the other user, and the command the issue names */
const OTHER = 'ann';
const LATENCY_MS = 200;
const P99_TARGET_MS = 1_000;

const BUSY = /try again in a moment/;
const TOO_LONG = /took too long/;

export const floodSection: BenchSection = {
  name: 'flood',
  title: `Another user's /whois during a DM flood (${LATENCY_MS} ms API latency)`,
  async run(ctx) {
    const dms = ctx.quick ? 500 : 1_500;
    const waveCount = ctx.quick ? 1 : 3;
    const fake = await startFakeChild(ctx, 'flood');
    const bot = await startBotChild(ctx, fake);
    try {
      const target = await bot.target('whois', OTHER);
      const texts = ['@bob'];
      await runLoad({ target, texts, concurrency: 1, count: 20 }); // warm: caches, connections
      await fake.child.call('latency', { ms: LATENCY_MS }, anySchema);
      const quiet = await runLoad({ target, texts, concurrency: 1, count: ctx.quick ? 10 : 20 });
      ctx.progress(`flood: ${OTHER}'s /whois without a flood: p50 ${fmt(quiet.p50)} p99 ${fmt(quiet.p99)} ms`);

      const memBefore = await bot.child.call('memory', null, memorySchema);
      const waves: Wave[] = [];
      for (let i = 0; i < waveCount; i++) {
        waves.push(await floodWave(fake, bot, target, dms));
        const w = waves.at(-1);
        if (w) ctx.progress(`flood ${i + 1}/${waveCount}: ${OTHER}'s /whois p50 ${fmt(w.during.p50)} p99 ${fmt(w.during.p99)} max ${fmt(w.during.max)} ms (${w.during.count}); ${w.answered} answered, ${w.busyPosts} busy posts, ${w.tooLong} took too long; quiet after ${fmt(w.lastAnswerMs)} ms; bot CPU ${fmt(w.botCpuMs)} ms`);
      }
      const memAfter = await bot.child.call('memory', null, memorySchema);
      const all = Float64Array.from(waves.flatMap((w) => w.during.latencies ?? [])).sort();
      const pooled = { count: all.length, p50: percentile(all, 0.5), p99: percentile(all, 0.99), max: all.length ? (all[all.length - 1] ?? 0) : 0 };
      const errors = waves.reduce((a, w) => a + w.during.errors, 0);
      const slow = waves.reduce((a, w) => a + w.during.slow, 0);
      const per = (f: (w: Wave) => number): string => waves.map((w) => fmt(f(w))).join(' / ');
      return {
        targets: [
          {
            target: `another user's p99 < 1 s during a ${dms.toLocaleString('en-US')}-DM flood (${LATENCY_MS} ms API latency)`,
            measured: `${fmt(pooled.p99)} ms over ${waveCount} flood${waveCount === 1 ? '' : 's'} (${fmt(quiet.p99)} ms without a flood)`,
            pass: pooled.count > 0 && errors === 0 && pooled.p99 < P99_TARGET_MS,
          },
        ],
        figures: [
          [`${OTHER}'s /whois @bob without a flood (${quiet.count} one at a time)`, latencies(quiet)],
          [
            `${OTHER}'s /whois @bob during the floods (${pooled.count} in all, one after another, from the first DM until the bot fell quiet)`,
            `p50 ${fmt(pooled.p50)} ms, p99 ${fmt(pooled.p99)} ms, max ${fmt(pooled.max)} ms; ${errors} errors, ${slow} "working…"`,
          ],
          [`… the first /whois of each flood (it meets the burst)`, `${per((w) => w.during.latencies?.[0] ?? 0)} ms`],
          [`Each flood: ${dms.toLocaleString('en-US')} DMs "whois @${OTHER}" from ${FLOODERS.length} users, posted in`, `${per((w) => w.postedMs)} ms`],
          ['DMs answered with a result (2 running + 5 queued per user)', per((w) => w.answered)],
          ['"busy, try again" posts (the refused DMs of one person share one)', per((w) => w.busyPosts)],
          ['"took too long" answers', per((w) => w.tooLong)],
          ['Last answer after', `${per((w) => w.lastAnswerMs)} ms`],
          ['Bot CPU time for the flood (user + system)', `${per((w) => w.botCpuMs)} ms (${per((w) => (w.botCpuMs * 1000) / dms)} µs per DM)`],
          ['Bot RSS before → after the floods', `${fmt(MB(memBefore.rss))} → ${fmt(MB(memAfter.rss))} MB`],
        ],
        notes: [
          `The fake server adds ${LATENCY_MS} ms to every API request. ${FLOODERS.join(', ')} post ${dms.toLocaleString('en-US')} DMs to the bot round-robin as fast as the fake takes them, while ${OTHER} sends /whois @bob (slash, closed loop, one at a time) from the first DM until the bot has posted nothing new for 2 s; ${waveCount === 1 ? 'one flood' : `${waveCount} floods, one after another, pooled`}. The latency is from the slash request to its HTTP answer. Answers are matched to DMs by the bot's reply-to property; "busy" answers for one person's DM channel are folded into one post. Bot CPU time is the bot process's own (user + system) from the first DM of a flood until it fell quiet: on a machine shared with other work, the wall time of that burst is this CPU time stretched by the share of a core the bot gets.`,
        ],
        data: { dms, quiet, pooled, errors, slow, waves: waves.map((w) => ({ ...w, during: { ...w.during, latencies: undefined } })), memBefore, memAfter },
      };
    } finally {
      await ctx.stop(bot.child);
      await ctx.stop(fake.child);
    }
  },
};

interface Wave {
  during: LoadResult;
  postedMs: number;
  answered: number;
  busyPosts: number;
  tooLong: number;
  lastAnswerMs: number;
  botCpuMs: number;
}

/** One flood: the DMs posted at once, ann's /whois until the bot falls quiet, what the flood got back. */
async function floodWave(fake: FakeRun, bot: BotRun, target: SlashTarget, dms: number): Promise<Wave> {
  await bot.child.call('resetSamples', null, anySchema);
  const since = Date.now();
  const posting = fake.child.call('postDms', { users: FLOODERS, count: dms, text: `whois @${OTHER}` }, postedSchema);
  let flooding = true;
  const settling = posting.then(() => settle(fake.child, since, 90_000)).finally(() => (flooding = false));
  const during = await runLoad({ target, texts: ['@bob'], concurrency: 1, durationMs: 120_000, stop: () => !flooding, keepLatencies: true });
  const posted = await posting;
  const settled = await settling;
  // the bot's CPU time up to the end of the settle wait (2 s idle included: a few ms)
  const cpu = await bot.child.call('cpu', null, z.object({ micros: z.number() }));
  const postIds = new Set(posted.map((p) => p.id));
  const mine = settled.answers.filter((a) => postIds.has(a.replyTo));
  const busy = mine.filter((a) => BUSY.test(a.message)).length;
  const tooLong = mine.filter((a) => TOO_LONG.test(a.message)).length;
  return {
    during,
    postedMs: (posted.at(-1)?.at ?? since) - since,
    answered: mine.length - busy - tooLong,
    busyPosts: busy,
    tooLong,
    lastAnswerMs: settled.lastAt - since,
    botCpuMs: cpu.micros / 1000,
  };
}

function latencies(r: LoadResult): string {
  return `p50 ${fmt(r.p50)} ms, p99 ${fmt(r.p99)} ms, max ${fmt(r.max)} ms`;
}

/** Waits until the bot has posted nothing new for 2 s (or `timeoutMs`); its answers since `since`. */
async function settle(fake: { call<T>(type: string, args: unknown, schema: z.ZodType<T>): Promise<T> }, since: number, timeoutMs: number): Promise<{ answers: z.infer<typeof answersSchema>; lastAt: number }> {
  let last = -1;
  let stableSince = Date.now();
  const deadline = Date.now() + timeoutMs;
  await pollUntil(
    'the flood answered',
    async () => {
      const n = await fake.call('botPostCount', { since }, z.number());
      if (n !== last) {
        last = n;
        stableSince = Date.now();
        return undefined;
      }
      return Date.now() - stableSince >= 2_000 || Date.now() > deadline ? true : undefined;
    },
    timeoutMs + 5_000,
    250,
  );
  await sleep(0);
  const answers = await fake.call('botAnswers', { since }, answersSchema);
  return { answers, lastAt: answers.reduce((m, a) => Math.max(m, a.at), since) };
}
