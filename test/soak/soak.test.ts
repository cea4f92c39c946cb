/**
 * Soak: the real bot (createBot, as `npm start`) against the fake server for a bounded
 * time, with a steady mix of slash commands (through the server's own slash runner),
 * DMs and @mentions, while the WebSocket is dropped over and over (sometimes with the
 * server refusing to reconnect for a moment). Then:
 *
 * - every command got exactly one answer: each command hangs off its own thread root,
 *   so answers are counted per root (slash "working…" placeholders aside);
 * - memory stayed bounded: heap after the run vs after warm-up, both after a full GC;
 * - nothing was left running after stop: timers and sockets back to the baseline.
 *
 * Length and pace come from the environment, for longer runs:
 *   MMOPS_SOAK_SECONDS (default 10), MMOPS_SOAK_DROP_MS (default 700: a drop this often),
 *   MMOPS_SOAK_VERBOSE=1 prints what was done (commands, drops, reconnects, heap).
 * Nothing here asserts on timing: the deadlines only stop a stuck run.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createBot, type Bot } from '../../src/bot.js';
import type { Logger } from '../../src/core/command.js';
import { startFakeMattermost, type FakeMattermost, type Post } from '../../src/sandbox/fake-server.js';
import { userIdFor } from '../../src/sandbox/seed.js';
import { configFor, envFor, FAST, waitFor } from '../e2e/support.js';

const env = z
  .object({
    MMOPS_SOAK_SECONDS: z.coerce.number().positive().default(10),
    MMOPS_SOAK_DROP_MS: z.coerce.number().int().min(50).default(700),
  })
  .parse(process.env);
const SOAK_MS = env.MMOPS_SOAK_SECONDS * 1000;
const DROP_EVERY_MS = env.MMOPS_SOAK_DROP_MS;
/** how long to wait, after the load stops, for the last answers (a loaded CI machine is slow) */
const SETTLE_MS = 60_000;
/** heap growth allowed between warm-up and the end (after GC); generous, it is a leak guard */
const HEAP_GROWTH_BYTES = 64 * 2 ** 20;

const BOT_ID = userIdFor('mmops');
const WORKING = 'Working on it';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A full GC when the runtime allows it (the flag can be set at run time; `gc` then exists in a new context). */
function collectGarbage(): boolean {
  setFlagsFromString('--expose-gc');
  const gc: unknown = runInNewContext('typeof gc === "function" ? gc : undefined');
  if (typeof gc !== 'function') return false;
  gc();
  gc();
  return true;
}

/**
 * Counts of the active handles and requests that a leak would leave behind. Node lists
 * only what keeps the process alive (an unref'd timer is not listed).
 */
function resources(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of process.getActiveResourcesInfo()) counts.set(r, (counts.get(r) ?? 0) + 1);
  return counts;
}

/** Types whose count is above the baseline, e.g. `Timeout +2`. */
function leaked(baseline: Map<string, number>): string[] {
  const now = resources();
  return [...now].filter(([type, n]) => n > (baseline.get(type) ?? 0)).map(([type, n]) => `${type} +${n - (baseline.get(type) ?? 0)}`);
}

/** A logger that keeps only warnings and errors (a soak writes far too many lines to keep). */
function problemLogger(): Logger & { errors: Array<{ msg: string; fields: object }> } {
  const errors: Array<{ msg: string; fields: object }> = [];
  const make = (bindings: object): Logger => ({
    debug: () => {},
    info: () => {},
    warn: () => {},
    error: (obj, msg = '') => {
      if (errors.length < 100) errors.push({ msg, fields: { ...bindings, ...obj } });
    },
    child: (b) => make({ ...bindings, ...b }),
  });
  return Object.assign(make({}), { errors });
}

type Source = 'slash' | 'dm' | 'mention';

interface Command {
  /** the thread root the answer must hang off */
  root: string;
  source: Source;
  text: string;
}

/**
 * Tallies answers per thread root as they appear, and prunes what it has counted
 * (older than a minute) from the fake's lists, so a long soak does not grow the heap
 * through the fake server's records.
 */
function createTally(fake: FakeMattermost) {
  const answers = new Map<string, number>();
  const placeholders = new Map<string, number>();
  let postsSeen = 0;
  let ephemeralSeen = 0;
  const count = (root: string, message: string): void => {
    const map = message.startsWith(WORKING) ? placeholders : answers;
    map.set(root, (map.get(root) ?? 0) + 1);
  };
  // the bot's own thread replies, and slash answers for the channel (posted as the caller, from_webhook)
  const isAnswer = (p: Post): boolean => p.root_id !== '' && (p.user_id === BOT_ID || p.props.from_webhook === 'true');
  return {
    answers,
    placeholders,
    scan(): void {
      const posts = fake.posts;
      for (; postsSeen < posts.length; postsSeen++) {
        const p = posts[postsSeen];
        if (p && isAnswer(p)) count(p.root_id, p.message);
      }
      for (; ephemeralSeen < fake.ephemeral.length; ephemeralSeen++) {
        const e = fake.ephemeral[ephemeralSeen];
        if (e && e.post.root_id !== '') count(e.post.root_id, e.post.message);
      }
      // drop counted records older than a minute (late answers to them would still be seen: roots stay known)
      const cutoff = Date.now() - 60_000;
      let oldPosts = 0;
      while (oldPosts < postsSeen && (posts[oldPosts]?.create_at ?? Infinity) < cutoff) oldPosts++;
      if (oldPosts > 0) {
        posts.splice(0, oldPosts);
        postsSeen -= oldPosts;
      }
      let oldEphemeral = 0;
      while (oldEphemeral < ephemeralSeen && (fake.ephemeral[oldEphemeral]?.post.create_at ?? Infinity) < cutoff) oldEphemeral++;
      if (oldEphemeral > 0) {
        fake.ephemeral.splice(0, oldEphemeral);
        ephemeralSeen -= oldEphemeral;
      }
      fake.clearRequests();
    },
  };
}

describe('soak', () => {
  let fake: FakeMattermost | undefined;
  let bot: Bot | undefined;
  afterAll(async () => {
    // only when the test failed half-way; the test itself stops both
    await bot?.stop();
    await fake?.close();
  });

  it(
    'answers every command exactly once under steady load and repeated socket drops; memory bounded; nothing left running',
    async () => {
      const baseline = resources();
      fake = await startFakeMattermost({ seed: 'demo' });
      const log = problemLogger();
      const config = configFor(envFor(fake.url, { LOG_LEVEL: 'info' }));
      bot = createBot(config, { ...FAST, logger: log });
      await bot.start();
      await bot.registered();
      const f = fake;
      const b = bot;

      const commands: Command[] = [];
      const tally = createTally(f);
      const deadline = Date.now() + SOAK_MS;
      let drops = 0;
      let refusals = 0;
      let heapAfterWarmup = 0;
      let roots = 0;
      const rootPost = async (author: string, channel: string): Promise<string> => (await f.postAs(author, channel, `soak thread ${++roots}`)).id;
      /** waits (bounded) for a command's answer before the next, so the load follows the bot's pace */
      const answered = (root: string): Promise<unknown> =>
        waitFor(() => {
          tally.scan();
          return tally.answers.has(root);
        }, 'an answer', 15_000).catch(() => undefined); // a lost answer is reported at the end, with all of them

      const slashWorker = async (texts: string[]): Promise<void> => {
        for (let i = 0; Date.now() < deadline; i++) {
          const text = texts[i % texts.length] ?? '/teams';
          const root = await rootPost('alice', 'acme:town-square');
          commands.push({ root, source: 'slash', text });
          const r = await f.executeSlash('alice', 'acme:town-square', text, { rootId: root });
          if (r.error) throw new Error(`slash ${text} failed at the server: ${r.error.message}`);
          await answered(root);
        }
      };
      const dmWorker = async (texts: string[]): Promise<void> => {
        for (let i = 0; Date.now() < deadline; i++) {
          const text = texts[i % texts.length] ?? 'teams';
          // the bot starts the thread, so the command is a reply in it and so is the answer
          const root = await rootPost('mmops', '@alice');
          commands.push({ root, source: 'dm', text });
          await f.postAs('alice', '@mmops', text, { rootId: root });
          await answered(root);
        }
      };
      const mentionWorker = async (texts: string[]): Promise<void> => {
        for (let i = 0; Date.now() < deadline; i++) {
          const text = texts[i % texts.length] ?? '@mmops teams';
          const post = await f.postAs('alice', 'acme:town-square', text);
          commands.push({ root: post.id, source: 'mention', text });
          await answered(post.id);
        }
      };
      const dropper = async (): Promise<void> => {
        for (let i = 0; Date.now() < deadline; i++) {
          await sleep(DROP_EVERY_MS);
          if (Date.now() >= deadline) break;
          if (i % 3 === 2) {
            // the server refuses new sockets for a moment: the bot backs off, then resumes
            f.setWebSocketAccepting(false);
            f.dropSockets();
            refusals += 1;
            await sleep(150);
            f.setWebSocketAccepting(true);
          } else {
            f.dropSockets(i % 3 === 1 ? 1001 : undefined);
          }
          drops += 1;
        }
      };
      const warmup = (async () => {
        await sleep(Math.min(2_000, SOAK_MS / 4));
        tally.scan();
        if (collectGarbage()) heapAfterWarmup = process.memoryUsage().heapUsed;
      })();

      await Promise.all([
        slashWorker(['/mmops status @bob', '/whois @ann', '/teams']),
        slashWorker(['/whois @bob', '/mmops status', '/teams']),
        dmWorker(['status @bob', 'whois @ann', 'teams']),
        dmWorker(['teams', 'status @carol']),
        mentionWorker(['@mmops status @bob', '@mmops whois @ann']),
        dropper(),
        warmup,
      ]);
      f.setWebSocketAccepting(true);

      // the last answers (a DM sent while the socket was down arrives on resume)
      await waitFor(
        () => {
          tally.scan();
          return commands.every((c) => tally.answers.has(c.root));
        },
        'every command to be answered',
        SETTLE_MS,
      ).catch(() => undefined);
      await sleep(1_000); // a duplicate would show up now
      tally.scan();

      const wrong = commands
        .map((c) => ({ ...c, answers: tally.answers.get(c.root) ?? 0 }))
        .filter((c) => c.answers !== 1);
      const bySource = (s: Source): number => commands.filter((c) => c.source === s).length;
      const summary = `${commands.length} commands (slash ${bySource('slash')}, dm ${bySource('dm')}, mention ${bySource('mention')}), ${drops} socket drops (${refusals} with reconnects refused), ${b.socket()?.state().reconnects ?? 0} reconnects`;
      if (process.env.MMOPS_SOAK_VERBOSE) console.info(`soak: ${summary}; placeholders ${tally.placeholders.size}; heap after warm-up ${Math.round(heapAfterWarmup / 2 ** 20)} MB`);
      expect(wrong, `${summary}; commands without exactly one answer (first 10): ${JSON.stringify(wrong.slice(0, 10))}`).toEqual([]);
      expect(bySource('slash')).toBeGreaterThan(0);
      expect(bySource('dm')).toBeGreaterThan(0);
      expect(bySource('mention')).toBeGreaterThan(0);
      expect(drops).toBeGreaterThan(0);
      // a placeholder is only ever sent for a slow slash command, at most once
      for (const [root, n] of tally.placeholders) {
        expect(n, `placeholders for ${root}`).toBe(1);
        expect(commands.find((c) => c.root === root)?.source).toBe('slash');
      }
      expect(log.errors, 'error lines logged during the soak').toEqual([]);

      // memory: after a full GC, the heap did not grow by more than the bound since warm-up
      if (heapAfterWarmup > 0 && collectGarbage()) {
        const growth = process.memoryUsage().heapUsed - heapAfterWarmup;
        if (process.env.MMOPS_SOAK_VERBOSE) console.info(`soak: heap growth ${Math.round(growth / 2 ** 10)} KiB`);
        expect(growth, `heap growth after ${summary}`).toBeLessThan(HEAP_GROWTH_BYTES);
      }

      // nothing left running: timers and sockets back to where they were before the run
      await b.stop();
      await f.close();
      bot = undefined;
      fake = undefined;
      const left = await waitFor(() => leaked(baseline).length === 0 || undefined, 'timers and sockets to close', 15_000).catch(() => leaked(baseline));
      if (process.env.MMOPS_SOAK_VERBOSE) console.info(`soak: active resources before ${JSON.stringify([...baseline])}, after stop ${JSON.stringify([...resources()])}`);
      expect(left === true ? [] : left, 'resources still active after stop').toEqual([]);
    },
    SOAK_MS + SETTLE_MS + 60_000,
  );
});
