/**
 * `npm run bench`: the parts every section of the benchmark shares. A section (the
 * flood, the `npm start` memory run, start-up at 1,000 teams, replicas on Redis, and
 * others in their own `scripts/bench-*.ts`) is one {@link BenchSection}: it starts its own
 * fake server and bots through these helpers, and returns its targets (PASS/MISS rows of
 * the Targets table) and figures (a table of its own). scripts/bench.ts lists the
 * sections and runs those asked for (`--only`, `--skip`).
 *
 * @example
 *   export const mySection: BenchSection = {
 *     name: 'mine', title: 'My figure',
 *     async run(ctx) {
 *       const fake = await startFakeChild(ctx, 'mine');
 *       const bot = await startBotChild(ctx, fake, { name: 'mine' });
 *       ...
 *       return { targets: [...], figures: [['Figure', 'value']], data: {...} };
 *     },
 *   };
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { channelIdFor, SANDBOX_BOT_TOKEN, teamIdFor, userIdFor } from '../src/sandbox/seed.js';
import { BENCH_USER_COUNT, benchUsername, startChild, waitForEvent, type Child, type SlashTarget } from './bench-lib.js';

/** One row of the Targets table. */
export interface Target {
  target: string;
  measured: string;
  pass: boolean;
}

export interface SectionResult {
  targets: Target[];
  /** `[figure, value]` rows, shown as the section's own table */
  figures: Array<[string, string]>;
  /** how it was measured, one line each (shown under the table) */
  notes?: string[];
  /** everything measured, for the JSON */
  data: unknown;
}

export interface BenchContext {
  /** `--quick`: scaled down */
  quick: boolean;
  /** where logs and state directories go */
  runDir: string;
  /** the compiled project (see buildForBench); undefined when running under tsx */
  compiled: string | undefined;
  /** the fake server's signing key (PKCS#8 PEM): slash trigger ids are signed like the server's */
  signingKeyPem: string;
  progress(line: string): void;
  /** registers a child to be stopped when the run ends, also after a failure */
  track(child: Child): Child;
  /** stops a tracked child now */
  stop(child: Child): Promise<void>;
}

export interface BenchSection {
  /** for `--only` / `--skip` */
  name: string;
  /** the heading of its figures table */
  title: string;
  run(ctx: BenchContext): Promise<SectionResult>;
}

// ---------------------------------------------------------------------------
// the fake server and the bot as child processes

const readySchema = z.object({ url: z.string() });
export const commandsSchema = z.array(z.object({ trigger: z.string(), teamId: z.string(), token: z.string(), url: z.string() }));
export const botInfoSchema = z.object({
  url: z.string(),
  botId: z.string(),
  startToReadyMs: z.number(),
  startToRegisteredMs: z.number().default(0),
  processToRegisteredMs: z.number().default(0),
  processToReadyMs: z.number(),
  loadMs: z.number(),
});
export const memorySchema = z.object({ rss: z.number(), heapUsed: z.number(), heapTotal: z.number(), external: z.number() });
export const anySchema = z.unknown();

export interface FakeRun {
  child: Child;
  url: string;
}

/** Starts the fake server (scripts/bench-fake.ts); `env` e.g. `{ BENCH_TEAMS: '1000' }`. */
export async function startFakeChild(ctx: BenchContext, name: string, env: Record<string, string> = {}): Promise<FakeRun> {
  const child = ctx.track(startChild('bench-fake.ts', { BENCH_SIGNING_KEY: ctx.signingKeyPem, ...env }, join(ctx.runDir, `fake-${name}.log`), [], ctx.compiled));
  const ready = await waitForEvent(child, 'ready', readySchema, 60_000);
  return { child, url: ready.url };
}

export interface BotRun {
  child: Child;
  info: z.infer<typeof botInfoSchema>;
  /** the slash target of `/trigger` in team acme, registered for `slashUrl` (default: this bot's) */
  target(trigger: string, caller?: string, slashUrl?: string): Promise<SlashTarget>;
}

const mentionIds: Record<string, string> = Object.fromEntries(
  ['alice', 'bob', 'carol', 'dave', 'ann', ...Array.from({ length: BENCH_USER_COUNT }, (_, i) => benchUsername(i + 1))].map((u) => [u, userIdFor(u)]),
);

let botCount = 0;

/**
 * Starts the bot (scripts/bench-bot.ts: config from the environment → createBot → start,
 * as `npm start`) against `fake`; `env` adds or overrides variables. Resolves once its
 * slash commands are registered (unless `waitRegistered: false`).
 */
export async function startBotChild(
  ctx: BenchContext,
  fake: FakeRun,
  o: { env?: Record<string, string>; nodeFlags?: string[]; instrument?: boolean; profile?: boolean; waitRegistered?: boolean } = {},
): Promise<BotRun> {
  botCount += 1;
  const env: Record<string, string> = {
    MM_URL: fake.url,
    MM_BOT_TOKEN: SANDBOX_BOT_TOKEN,
    MMOPS_LISTEN: '127.0.0.1:0',
    // the default level: one "command answered" line per command, as in production
    LOG_LEVEL: 'info',
    MMOPS_STATE_DIR: mkdtempSync(join(ctx.runDir, 'state-')),
    ...(o.instrument ? { BENCH_INSTRUMENT: '1' } : {}),
    ...o.env,
  };
  // --expose-gc only makes gc() callable (for the live-heap figure); it changes no GC behaviour
  const execArgv = ['--expose-gc', ...(o.nodeFlags ?? []), ...(o.profile ? ['--cpu-prof', `--cpu-prof-dir=${ctx.runDir}`] : [])];
  const child = ctx.track(startChild('bench-bot.ts', env, join(ctx.runDir, `bot-${botCount}.log`), execArgv, ctx.compiled));
  await waitForEvent(child, 'ready', readySchema, 120_000);
  // start() does not wait for the slash registration (src/bot/startup.ts); a slash load does
  const info =
    o.waitRegistered === false
      ? await child.call('info', null, botInfoSchema)
      : await pollUntil(
          'slash commands registered',
          async () => {
            const i = await child.call('info', null, botInfoSchema);
            return i.processToRegisteredMs > 0 ? i : undefined;
          },
          120_000,
          50,
        );
  return {
    child,
    info,
    target: async (trigger, caller = 'alice', slashUrl = `${info.url}/slash`) =>
      slashTarget(ctx, fake, await fake.child.call('commands', null, commandsSchema), trigger, caller, slashUrl),
  };
}

/** The slash request target of `/trigger` in acme:town-square, as the server would send it to `slashUrl`. */
export function slashTarget(ctx: BenchContext, fake: FakeRun, commands: z.infer<typeof commandsSchema>, trigger: string, caller: string, slashUrl: string): SlashTarget {
  const acme = teamIdFor('acme');
  const cmd = commands.find((c) => c.trigger === trigger && c.teamId === acme && c.url === slashUrl);
  if (!cmd) throw new Error(`no /${trigger} registered for ${slashUrl} in team acme`);
  return {
    url: slashUrl.replace(/\/slash$/, ''),
    token: cmd.token,
    trigger,
    teamId: acme,
    teamName: 'acme',
    channelId: channelIdFor('acme', 'town-square'),
    channelName: 'town-square',
    userId: userIdFor(caller),
    userName: caller,
    siteUrl: fake.url,
    mentionIds,
    signingKeyPem: ctx.signingKeyPem,
  };
}

// ---------------------------------------------------------------------------
// the bot's answers at the fake server

export const postedSchema = z.array(z.object({ id: z.string(), at: z.number(), user: z.string() }));
export const answersSchema = z.array(z.object({ replyTo: z.string(), at: z.number(), channelId: z.string(), message: z.string() }));

/** Polls `check` every `everyMs` until it returns a value other than undefined, or throws after `timeoutMs`. */
export async function pollUntil<T>(what: string, check: () => Promise<T | undefined>, timeoutMs: number, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${Math.round(timeoutMs / 1000)} s`);
    await sleep(everyMs);
  }
}

// ---------------------------------------------------------------------------
// processes

/** A free TCP port on loopback (for a process that cannot tell its port back). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Resident and peak resident memory of a process, in bytes, from /proc (Linux); undefined elsewhere. */
export function procMemory(pid: number): { rss: number; peak: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
    const rss = kb('VmRSS');
    return Number.isFinite(rss) ? { rss, peak: kb('VmHWM') } : undefined;
  } catch {
    return undefined;
  }
}

export const MB = (bytes: number): number => bytes / 2 ** 20;
