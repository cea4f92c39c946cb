/**
 * `npm run bench`, section `startup`: the bot in 1,000 teams.
 * A first start (no slash command registered anywhere yet) and a restart (every command
 * already there): time to the first DM answer, time until the commands are registered in
 * every team, and the API calls each start makes (target for the restart: ≤ teams + 5).
 *
 * The DM is posted as soon as the bot says it is ready; its own API calls are left out of
 * the start-up's count as test/e2e/startup.test.ts does: the start-up's calls are those
 * made before the DM was posted plus every `/commands` call.
 */
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { fmt } from './bench-lib.js';
import { answersSchema, anySchema, botInfoSchema, pollUntil, postedSchema, startBotChild, startFakeChild, type BenchContext, type BenchSection, type FakeRun } from './bench-section.js';

const callsSchema = z.array(z.object({ call: z.string(), at: z.number() }));
/** the catch-up's reads at start-up (src/services/catch-up.ts) */
const CATCH_UP = /^GET \/api\/v4\/(users\/[^/]+\/channels|channels\/[^/]+\/posts)$/;

interface StartFigures {
  /** process spawned → start() resolved ("ready") */
  spawnToReadyMs: number;
  /** process spawned → the DM's answer posted */
  spawnToFirstAnswerMs: number;
  /** DM posted → its answer posted */
  dmToAnswerMs: number;
  /** process spawned → slash commands registered in every team */
  spawnToRegisteredMs: number;
  /** the start-up's API calls (the DM's own left out) */
  apiCalls: number;
  /** of which the REST catch-up's reads (the bot's channels, posts since the mark; src/services/catch-up.ts) */
  catchUp: number;
  /** of which `GET /commands`, and writes (POST/PUT) to /commands */
  commandReads: number;
  commandWrites: number;
  /** the other start-up calls, by `METHOD /path` */
  others: string[];
}

/** Starts the bot, DMs it once ready, waits for the answer and for the registration. */
async function oneStart(ctx: BenchContext, fake: FakeRun, stateDir: string): Promise<StartFigures> {
  await fake.child.call('mark', null, anySchema);
  const spawned = Date.now();
  const bot = await startBotChild(ctx, fake, { env: { MMOPS_PUBLIC_URL: 'http://mmops.bench.internal:3978', MMOPS_STATE_DIR: stateDir }, waitRegistered: false });
  try {
    const readyAt = bot.child.spawnedAt + bot.info.processToReadyMs;
    const [dm] = await fake.child.call('postDms', { users: ['alice'], count: 1, text: 'whois @bob' }, postedSchema);
    if (!dm) throw new Error('the DM was not posted');
    const answer = await pollUntil(
      'the DM answered',
      async () => (await fake.child.call('botAnswers', { since: dm.at }, answersSchema)).find((a) => a.replyTo === dm.id),
      120_000,
      20,
    );
    const info = await pollUntil(
      'slash commands registered in every team',
      async () => {
        const i = await bot.child.call('info', null, botInfoSchema);
        return i.processToRegisteredMs > 0 ? i : undefined;
      },
      600_000,
      250,
    );
    const calls = (await fake.child.call('apiCallsTimed', { userId: bot.info.botId }, callsSchema));
    const startup = calls.filter((c) => c.at < dm.at || / \/api\/v4\/commands(\/|$)/.test(c.call));
    const commandCalls = startup.filter((c) => / \/api\/v4\/commands(\/|$)/.test(c.call));
    return {
      spawnToReadyMs: readyAt - spawned,
      spawnToFirstAnswerMs: answer.at - spawned,
      dmToAnswerMs: answer.at - dm.at,
      spawnToRegisteredMs: bot.child.spawnedAt + info.processToRegisteredMs - spawned,
      apiCalls: startup.length,
      catchUp: startup.filter((c) => CATCH_UP.test(c.call)).length,
      commandReads: commandCalls.filter((c) => c.call.startsWith('GET ')).length,
      commandWrites: commandCalls.filter((c) => !c.call.startsWith('GET ')).length,
      others: startup.filter((c) => !commandCalls.includes(c)).map((c) => c.call.replace('/api/v4', '').replace(/\/[a-z0-9]{26}(?=\/|$)/g, '/{id}')),
    };
  } finally {
    await ctx.stop(bot.child);
  }
}

export const startupSection: BenchSection = {
  name: 'startup',
  title: 'Start-up in 1,000 teams',
  async run(ctx) {
    const teams = 1_000;
    const fake = await startFakeChild(ctx, 'startup', { BENCH_TEAMS: String(teams) });
    try {
      const stateDir = mkdtempSync(join(ctx.runDir, 'state-startup-'));
      const first = await oneStart(ctx, fake, stateDir);
      ctx.progress(`startup: first start in ${teams} teams: first DM answer after ${fmt(first.spawnToFirstAnswerMs)} ms, all registered after ${fmt(first.spawnToRegisteredMs)} ms, ${first.apiCalls} API calls`);
      const again = await oneStart(ctx, fake, stateDir);
      ctx.progress(`startup: restart: first DM answer after ${fmt(again.spawnToFirstAnswerMs)} ms, all registered after ${fmt(again.spawnToRegisteredMs)} ms, ${again.apiCalls} API calls`);
      const row = (label: string, f: (s: StartFigures) => string): [string, string] => [`${label} (first start / restart)`, `${f(first)} / ${f(again)}`];
      const uniqueOthers = (s: StartFigures): string => [...new Map(s.others.map((o) => [o, s.others.filter((x) => x === o).length])).entries()].map(([o, n]) => (n > 1 ? `${o} ×${n}` : o)).join(', ');
      return {
        targets: [
          {
            target: `restart in ${teams.toLocaleString('en-US')} teams in ≤ teams + 5 API calls`,
            measured: `${again.apiCalls}, of which ${again.catchUp} catch-up reads (first start ${first.apiCalls})`,
            pass: again.apiCalls <= teams + 5,
          },
          {
            target: `DMs answered before the slash registration in ${teams.toLocaleString('en-US')} teams is done`,
            measured: `first answer ${fmt(again.spawnToFirstAnswerMs / 1000)} s, registered ${fmt(again.spawnToRegisteredMs / 1000)} s after the process started (restart; first start ${fmt(first.spawnToFirstAnswerMs / 1000)} s / ${fmt(first.spawnToRegisteredMs / 1000)} s)`,
            pass: first.spawnToFirstAnswerMs < first.spawnToRegisteredMs && again.spawnToFirstAnswerMs < again.spawnToRegisteredMs,
          },
        ],
        figures: [
          row('Process start → ready', (s) => `${fmt(s.spawnToReadyMs)} ms`),
          row('Process start → first DM answered (DM posted at ready)', (s) => `${fmt(s.spawnToFirstAnswerMs)} ms`),
          row('DM posted → answered', (s) => `${fmt(s.dmToAnswerMs)} ms`),
          row(`Process start → slash commands registered in all ${teams.toLocaleString('en-US')} teams`, (s) => `${fmt(s.spawnToRegisteredMs)} ms`),
          row('API calls of the start-up', (s) => String(s.apiCalls)),
          row('… of which the catch-up\'s reads (channels, posts since the mark)', (s) => String(s.catchUp)),
          row('… of which GET /commands / writes to /commands', (s) => `${s.commandReads} / ${s.commandWrites}`),
          ['Other start-up calls, first start', uniqueOthers(first)],
          ['Other start-up calls, restart', uniqueOthers(again)],
        ],
        notes: [
          `The fake server holds ${teams.toLocaleString('en-US')} teams with the bot in each (copies of acme; no team with its own permission scheme, which would cost one GET /schemes/{id} each). The first start registers every command in every team; the restart (same state directory, same MMOPS_PUBLIC_URL) finds them unchanged. alice DMs "whois @bob" as soon as the bot reports ready; times are from spawning the process to the answer being posted at the fake.`,
        ],
        data: { teams, first, restart: again },
      };
    } finally {
      await ctx.stop(fake.child);
    }
  },
};
