/**
 * `npm run bench`, section `flood` (issue 11 "Fair under load"): another user's `/whois`
 * while four users flood the bot with 1,500 DMs, every API request taking 200 ms longer
 * (the fake's simulated latency). The bot runs with its default limits (2 running + 5
 * queued per user, global queue 256, 16 API requests at once).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { fmt, runLoad, type LoadResult } from './bench-lib.js';
import { answersSchema, anySchema, MB, memorySchema, pollUntil, postedSchema, startBotChild, startFakeChild, type BenchSection } from './bench-section.js';

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
      const since = Date.now();
      const posting = fake.child.call('postDms', { users: FLOODERS, count: dms, text: `whois @${OTHER}` }, postedSchema);
      // ann's /whois, one after another, from the first DM until the bot has answered the flood
      let flooding = true;
      const settling = posting.then(() => settle(fake.child, since, 90_000)).finally(() => (flooding = false));
      const during = await runLoad({ target, texts, concurrency: 1, durationMs: 120_000, stop: () => !flooding });
      const posted = await posting;
      const settled = await settling;
      const postedMs = (posted.at(-1)?.at ?? since) - since;
      ctx.progress(`flood: ${OTHER}'s /whois during ${dms} DMs: p50 ${fmt(during.p50)} p99 ${fmt(during.p99)} max ${fmt(during.max)} ms (${during.count} commands)`);

      const memAfter = await bot.child.call('memory', null, memorySchema);
      const answers = settled.answers;
      const postIds = new Set(posted.map((p) => p.id));
      const mine = answers.filter((a) => postIds.has(a.replyTo));
      const busy = mine.filter((a) => BUSY.test(a.message));
      const tooLong = mine.filter((a) => TOO_LONG.test(a.message));
      const real = mine.filter((a) => !BUSY.test(a.message) && !TOO_LONG.test(a.message));
      const answeredIds = new Set(mine.map((a) => a.replyTo));
      const firstReal = real.reduce((m, a) => Math.min(m, a.at), Infinity);
      ctx.progress(`flood: ${real.length} answered, ${busy.length} "busy" posts, ${tooLong.length} "took too long", ${dms - answeredIds.size} without a post of their own; quiet after ${fmt(settled.lastAt - since)} ms`);
      return {
        targets: [
          {
            target: `another user's p99 < 1 s during a ${dms.toLocaleString('en-US')}-DM flood (${LATENCY_MS} ms API latency)`,
            measured: `${fmt(during.p99)} ms (${fmt(quiet.p99)} ms without the flood)`,
            pass: during.count > 0 && during.errors === 0 && during.p99 < P99_TARGET_MS,
          },
        ],
        figures: [
          [`${OTHER}'s /whois @bob without a flood (${quiet.count} one at a time)`, latencies(quiet)],
          [`${OTHER}'s /whois @bob during the flood (${during.count} one after another, from the first DM until the bot fell quiet)`, `${latencies(during)}; ${during.errors} errors, ${during.slow} "working…"`],
          [`Flood: ${dms.toLocaleString('en-US')} DMs "whois @${OTHER}" from ${FLOODERS.length} users`, `posted in ${fmt(postedMs)} ms`],
          ['DMs answered with a result', `${real.length}${Number.isFinite(firstReal) ? ` (first after ${fmt(firstReal - since)} ms)` : ''}`],
          ['"busy, try again" posts (several refused DMs of one person share one)', `${busy.length}, covering the ${dms - real.length - tooLong.length} refused`],
          ['"took too long" answers', String(tooLong.length)],
          ['Last answer after', `${fmt(settled.lastAt - since)} ms`],
          ['Bot RSS before → after the flood', `${fmt(MB(memBefore.rss))} → ${fmt(MB(memAfter.rss))} MB`],
        ],
        notes: [
          `The fake server adds ${LATENCY_MS} ms to every API request. ${FLOODERS.join(', ')} post ${dms.toLocaleString('en-US')} DMs to the bot round-robin as fast as the fake takes them, while ${OTHER} sends /whois @bob (slash, closed loop, one at a time) from the first DM until the bot has posted nothing new for 2 s; the latency is from the slash request to its HTTP answer. Answers are matched to DMs by the bot's reply-to property; "busy" answers for one person's DM channel are folded into one post.`,
        ],
        data: { dms, quiet, during, postedMs, answered: real.length, busyPosts: busy.length, tooLong: tooLong.length, withoutOwnPost: dms - answeredIds.size, lastAnswerMs: settled.lastAt - since, memBefore, memAfter },
      };
    } finally {
      await ctx.stop(bot.child);
      await ctx.stop(fake.child);
    }
  },
};

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
