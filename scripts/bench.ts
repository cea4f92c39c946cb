/**
 * `npm run bench`: end-to-end figures for mmops against the in-repo fake Mattermost
 * server, with the targets of docs/benchmark.md marked PASS/MISS. Prints a table
 * (stdout) and the same figures as JSON; `--json` prints only the JSON. Progress goes to
 * stderr.
 *
 *   npm run bench                 # full run (see docs/benchmark.md for how long)
 *   npm run bench -- --quick      # scaled down (10 000 commands, shorter windows)
 *   npm run bench -- --only flood,startup   # some sections only (--skip core: all but)
 *   npm run -s bench -- --json    # JSON only on stdout (-s: without npm's banner)
 *   npm run bench -- --profile    # also write a CPU profile of the bot (node --cpu-prof)
 *   npm run bench -- --tsx        # skip the build: run the TypeScript under tsx (slower bot)
 *
 * Sections: `core` (this file: API calls, overhead, throughput against the baseline,
 * memory without a cap, reconnect) and the {@link SECTIONS} below, each in its own
 * `scripts/bench-*.ts` (a {@link BenchSection}: it starts its own fake server and bots).
 *
 * Processes: the fake server, the bot (scripts/bench-bot.ts: config from the
 * environment → createBot → start, as `npm start`) or the bare baseline
 * (scripts/bench-baseline.ts), and this load generator, which POSTs slash requests
 * the way the server does (form body, `Authorization: Token …`, fresh trigger_id) over
 * keep-alive connections. All three share the machine's cores.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { newSigningKeyPem } from '../src/sandbox/signing.js';
import { SANDBOX_BOT_TOKEN } from '../src/sandbox/seed.js';
import { BENCH_USER_COUNT, buildForBench, benchUsername, fmt, markdownTable, median, runLoad, startChild, textTable, waitForEvent, type Child, type LoadResult, type SlashTarget } from './bench-lib.js';
import { floodSection } from './bench-flood.js';
import { npmStartSection } from './bench-npm-start.js';
import { replicasSection } from './bench-replicas.js';
import {
  anySchema,
  botInfoSchema,
  commandsSchema,
  memorySchema,
  startBotChild,
  startFakeChild,
  type BenchContext,
  type BenchSection,
  type BotRun,
  type FakeRun,
  type SectionResult,
  type Target,
} from './bench-section.js';
import { startupSection } from './bench-startup.js';
import { chaosSection } from './bench-chaos.js';

/**
 * The sections after `core`, in the order they run. Another section is one import and one
 * entry here (scripts/bench-<name>.ts exporting a BenchSection).
 */
const SECTIONS: readonly BenchSection[] = [floodSection, npmStartSection, startupSection, replicasSection, chaosSection];
const SECTION_NAMES = ['core', ...SECTIONS.map((x) => x.name)];

// ---------------------------------------------------------------------------
// options

const argv = process.argv.slice(2);
const opts = {
  json: argv.includes('--json'),
  quick: argv.includes('--quick'),
  profile: argv.includes('--profile'),
  /** run the TypeScript under tsx instead of building first */
  tsx: argv.includes('--tsx'),
  /** write docs-ready Markdown to this file */
  markdown: valueOf('--markdown'),
  /** run only these sections (comma-separated names) */
  only: listOf('--only'),
  /** run all sections but these */
  skip: listOf('--skip'),
};
function valueOf(flag: string): string | undefined {
  const i = argv.indexOf(flag);
  return i >= 0 ? argv[i + 1] : undefined;
}
function listOf(flag: string): string[] | undefined {
  return valueOf(flag)
    ?.split(',')
    .map((x) => x.trim())
    .filter(Boolean);
}
const WITH_VALUE = ['--markdown', '--only', '--skip'];
const unknownArg = argv.find((a, i) => a.startsWith('--') && !['--json', '--quick', '--profile', '--tsx', ...WITH_VALUE].includes(a) && !WITH_VALUE.includes(argv[i - 1] ?? ''));
if (unknownArg) {
  console.error(`bench: unknown option ${unknownArg} (known: --quick, --json, --profile, --tsx, --markdown <file>, --only <sections>, --skip <sections>)`);
  process.exit(2);
}
const unknownSection = [...(opts.only ?? []), ...(opts.skip ?? [])].find((x) => !SECTION_NAMES.includes(x));
if (unknownSection) {
  console.error(`bench: unknown section ${unknownSection} (known: ${SECTION_NAMES.join(', ')})`);
  process.exit(2);
}
const wanted = (name: string): boolean => (opts.only ? opts.only.includes(name) : !(opts.skip ?? []).includes(name));

const scale = opts.quick
  ? { windowMs: 2_000, rounds: 2, warmup: 300, rssCommands: 10_000, overheadCommands: 500, outages: [0, 1_000] }
  : { windowMs: 4_000, rounds: 3, warmup: 1_000, rssCommands: 100_000, overheadCommands: 3_000, outages: [0, ...Array<number>(8).fill(1_000), 5_000] };

const runDir = mkdtempSync(join(tmpdir(), 'mmops-bench-'));
const progress = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

// ---------------------------------------------------------------------------
// children

const readySchema = z.object({ url: z.string() });
const pctSchema = z.object({ p50: z.number(), p95: z.number(), p99: z.number() });
const samplesSchema = z.object({ count: z.number(), apiCallsPerRequest: z.number(), wall: pctSchema, api: pctSchema, overhead: pctSchema, cpuMicrosPerRequest: z.number() });
const socketStateSchema = z.object({ connected: z.boolean(), at: z.number(), reconnects: z.number() });
const cpuSchema = z.object({ micros: z.number() });

/** CPU time (user + system, all threads) per command of each process, in µs. */
interface CpuPerCommand {
  /** the bot or the baseline */
  server: number;
  fake: number;
  loadGenerator: number;
}

/** the fake server's signing key: the load generator signs trigger ids like the server */
const signingKeyPem = newSigningKeyPem();
const started: Child[] = [];

/** What every section gets (scripts/bench-section.ts). */
const ctx: BenchContext = {
  quick: opts.quick,
  runDir,
  compiled: undefined,
  signingKeyPem,
  progress,
  track(child) {
    started.push(child);
    return child;
  },
  stop: stopChild,
};

/** the core section's fake server */
let fake: FakeRun | undefined;

function fakeOf(): Child {
  if (!fake) throw new Error('fake server not started');
  return fake.child;
}

const startBot = (o: { instrument?: boolean; profile?: boolean } = {}): Promise<BotRun> => startBotChild(ctx, fake ?? noFake(), o);
function noFake(): never {
  throw new Error('fake server not started');
}

async function stopChild(child: Child): Promise<void> {
  await child.stop();
  const i = started.indexOf(child);
  if (i >= 0) started.splice(i, 1);
}

// ---------------------------------------------------------------------------
// measurements

interface ApiCase {
  name: string;
  trigger: string;
  text: string;
  caller?: string;
}

const hundred = Array.from({ length: BENCH_USER_COUNT }, (_, i) => `@${benchUsername(i + 1)}`).join(' ');
const API_CASES: ApiCase[] = [
  { name: '/mmops status @bob', trigger: 'mmops', text: 'status @bob' },
  { name: `/mmops status (${BENCH_USER_COUNT} users)`, trigger: 'mmops', text: `status ${hundred}` },
  { name: '/whois @bob', trigger: 'whois', text: '@bob' },
  { name: '/teams', trigger: 'teams', text: '' },
  { name: '/health', trigger: 'health', text: '' },
  // ann lacks manage_system: the permission check refuses, nothing else runs (a cached
  // check; `status set` and other privileged subcommands declared fresh re-read the roles)
  { name: 'permission check, refused (/health by ann)', trigger: 'health', text: '', caller: 'ann' },
  // alice has edit_other_users; `status set` is fresh: both users' roles are read again each time, then the one PUT
  { name: 'fresh permission check, allowed (/mmops status set online @bob by alice)', trigger: 'mmops', text: 'status set online @bob' },
];

interface ApiCount {
  name: string;
  cold: number;
  /** cold calls other than the caller, team and channel lookups every first command makes */
  coldOwn: number;
  warm: number;
  coldCalls: string[];
  warmCalls: string[];
  answer: string;
}

/** Runs the command once on a fresh bot (cold) and once more (warm), counting the bot's requests at the fake. */
async function countApiCalls(c: ApiCase, bot: BotRun): Promise<ApiCount> {
  const target = await bot.target(c.trigger, c.caller);
  const calls: string[][] = [];
  let answer = '';
  for (let i = 0; i < 2; i++) {
    await fakeOf().call('mark', null, anySchema);
    const r = await runLoad({ target, texts: [c.text], concurrency: 1, count: 1, onAnswer: (t) => (answer = t) });
    if (r.errors) throw new Error(`${c.name}: ${r.firstError ?? 'failed'}`);
    calls.push(await fakeOf().call('apiCalls', { userId: bot.info.botId }, z.array(z.string())));
  }
  const [coldCalls = [], warmCalls = []] = calls;
  const context = new Set([`GET /api/v4/users/${target.userId}`, `GET /api/v4/teams/${target.teamId}`, `GET /api/v4/channels/${target.channelId}`]);
  return {
    name: c.name,
    cold: coldCalls.length,
    coldOwn: coldCalls.filter((x) => !context.has(x)).length,
    warm: warmCalls.length,
    coldCalls: coldCalls.map(shortPath),
    warmCalls: warmCalls.map(shortPath),
    answer: answer.length > 160 ? `${answer.slice(0, 160)}…` : answer,
  };
}

/** `GET /api/v4/users/abc…/status` → `GET /users/{id}/status` */
function shortPath(call: string): string {
  return call.replace('/api/v4', '').replace(/\/[a-z0-9]{26}(?=\/|$)/g, '/{id}');
}

interface RssRun {
  /** node flags of the bot for this run */
  nodeFlags: string[];
  commands: number;
  before: z.infer<typeof memorySchema>;
  after: z.infer<typeof memorySchema>;
  /** after a full GC at the end: the live heap */
  afterGc: z.infer<typeof memorySchema>;
  errors: number;
  slow: number;
  perSecond: number;
}

/** `count` light commands from 64 callers, with memory before and after. */
async function measureRss(bot: BotRun, count: number, nodeFlags: string[]): Promise<RssRun> {
  const target = await bot.target('mmops');
  const before = await bot.child.call('memory', null, memorySchema);
  const run = await runLoad({
    target,
    texts: ['status @bob'],
    concurrency: 64,
    count,
    onProgress: (n) => {
      if (n % 50_000 === 0) progress(`rss run${nodeFlags.length ? ` (${nodeFlags.join(' ')})` : ''}: ${n.toLocaleString('en-US')} commands`);
      // keep the fake's request log (not the bot) from growing through the run
      void fakeOf().call('mark', null, anySchema);
    },
  });
  const after = await bot.child.call('memory', null, memorySchema);
  const afterGc = await bot.child.call('memoryAfterGc', null, memorySchema);
  return { nodeFlags, commands: run.count, before, after, afterGc, errors: run.errors, slow: run.slow, perSecond: run.perSecond };
}

interface Reconnect {
  outageMs: number;
  /** drop → connected again */
  dropToConnectedMs: number;
  /** server accepting again → connected (the target) */
  backToConnectedMs: number;
}

async function measureReconnect(bot: BotRun, outageMs: number): Promise<Reconnect> {
  const states: Array<z.infer<typeof socketStateSchema>> = [];
  bot.child.onEvent((event, data) => {
    if (event !== 'socketState') return;
    const s = socketStateSchema.safeParse(data);
    if (s.success) states.push(s.data);
  });
  const waitState = async (connected: boolean, after: number, timeoutMs: number): Promise<number> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = states.find((s) => s.connected === connected && s.at >= after);
      if (hit) return hit.at;
      if (Date.now() > deadline) throw new Error(`the bot's WebSocket did not become ${connected ? 'connected' : 'disconnected'} within ${timeoutMs} ms`);
      await sleep(5);
    }
  };
  const sock = await bot.child.call('socket', null, z.object({ connected: z.boolean() }));
  if (!sock.connected) throw new Error('the WebSocket is not connected before the drop');
  const t0 = Date.now();
  if (outageMs > 0) await fakeOf().call('accept', { on: false }, anySchema);
  await fakeOf().call('drop', null, anySchema);
  await waitState(false, t0, 10_000);
  if (outageMs > 0) {
    await sleep(outageMs);
    const back = Date.now();
    await fakeOf().call('accept', { on: true }, anySchema);
    const at = await waitState(true, t0, 60_000);
    return { outageMs, dropToConnectedMs: at - t0, backToConnectedMs: Math.max(0, at - back) };
  }
  const at = await waitState(true, t0, 60_000);
  return { outageMs, dropToConnectedMs: at - t0, backToConnectedMs: at - t0 };
}

// ---------------------------------------------------------------------------
// the run

/** Per concurrency: the median window (by rate) and the median of each latency figure. */
function summarize(ws: LoadResult[]): LoadResult[] {
  const out: LoadResult[] = [];
  for (const c of [...new Set(ws.map((w) => w.concurrency))]) {
    const mine = ws.filter((w) => w.concurrency === c);
    const pick = (f: (w: LoadResult) => number): number => median(mine.map(f));
    const errors = mine.reduce((a, w) => a + w.errors, 0);
    const first = mine.find((w) => w.firstError)?.firstError;
    out.push({
      concurrency: c,
      count: mine.reduce((a, w) => a + w.count, 0),
      errors,
      slow: mine.reduce((a, w) => a + w.slow, 0),
      elapsedMs: mine.reduce((a, w) => a + w.elapsedMs, 0),
      perSecond: pick((w) => w.perSecond),
      p50: pick((w) => w.p50),
      p95: pick((w) => w.p95),
      p99: pick((w) => w.p99),
      max: Math.max(...mine.map((w) => w.max)),
      ...(first ? { firstError: first } : {}),
    });
  }
  return out;
}

/** What the core section measured (the core figures of docs/benchmark.md). */
interface CoreResults {
  command: string;
  startup: { startToReadyMs: number[]; processToReadyMs: number[]; medianStartToReadyMs: number; medianProcessToReadyMs: number };
  apiCalls: ApiCount[];
  overhead: Array<{ command: string } & z.infer<typeof samplesSchema>>;
  /** medians over the windows below */
  throughput: LoadResult[];
  baseline: LoadResult[];
  windows: Array<LoadResult & { who: 'bot' | 'baseline'; round: number; cpu: CpuPerCommand }>;
  rss: RssRun & { servedByBot: number };
  reconnect: Reconnect[];
  targets: Target[];
  notes: string[];
}

interface Results {
  date: string;
  machine: { cpus: number; cpuModel: string; memoryGb: number; node: string; platform: string };
  mode: 'full' | 'quick';
  /** 1-minute load average at the start and the end (other work on the machine skews everything) */
  loadAverage: { start: number; end: number };
  /** how long the whole run took */
  durationS: number;
  core?: CoreResults;
  sections: Array<{ name: string; title: string; durationS: number } & SectionResult>;
  /** every target: the core's, then each section's */
  targets: Target[];
}

async function runCore(): Promise<CoreResults> {
  fake = await startFakeChild(ctx, 'core');
  progress(`fake server at ${fake.url}`);

  // 1. API calls per command, cold and warm: a fresh bot per case (its caches empty)
  const startToReady: number[] = [];
  const processToReady: number[] = [];
  const apiCalls: ApiCount[] = [];
  for (const c of API_CASES) {
    const bot = await startBot();
    startToReady.push(bot.info.startToReadyMs);
    processToReady.push(bot.info.processToReadyMs);
    apiCalls.push(await countApiCalls(c, bot));
    await stopChild(bot.child);
    progress(`api calls: ${c.name}: cold ${apiCalls.at(-1)?.cold}, warm ${apiCalls.at(-1)?.warm}`);
  }

  // 2. the bot's own time per command (instrumented bot, one request at a time)
  const overhead: CoreResults['overhead'] = [];
  {
    const bot = await startBot({ instrument: true });
    for (const [command, trigger, text] of [
      ['/mmops status @bob', 'mmops', 'status @bob'],
      ['/whois @bob', 'whois', '@bob'],
    ] as const) {
      const target = await bot.target(trigger);
      await runLoad({ target, texts: [text], concurrency: 1, count: Math.min(scale.warmup, 300) });
      await bot.child.call('resetSamples', null, anySchema);
      const r = await runLoad({ target, texts: [text], concurrency: 1, count: scale.overheadCommands });
      if (r.errors) throw new Error(`overhead run: ${r.firstError ?? 'errors'}`);
      overhead.push({ command, ...(await bot.child.call('samples', null, samplesSchema)) });
      progress(`overhead ${command}: p50 ${fmt(overhead.at(-1)?.overhead.p50 ?? 0)} ms`);
    }
    await stopChild(bot.child);
  }

  // 3. throughput: the bot and the baseline side by side, windows interleaved
  // (bot, baseline, bot, …) so that both see the same conditions on a shared machine
  const command = '/mmops status @bob';
  const texts = ['status @bob'];
  const bot = await startBot({ profile: opts.profile });
  const target = await bot.target('mmops');
  const tokens = (await fakeOf().call('commands', null, commandsSchema)).map((c) => c.token);
  const baseChild = ctx.track(
    startChild('bench-baseline.ts', { MM_URL: fake.url, MM_BOT_TOKEN: SANDBOX_BOT_TOKEN, BENCH_TOKENS: tokens.join(',') }, join(runDir, 'baseline.log'), [], ctx.compiled),
  );
  const base = await waitForEvent(baseChild, 'ready', readySchema, 60_000);
  const baseTarget: SlashTarget = { ...target, url: base.url };
  await runLoad({ target, texts, concurrency: 16, count: scale.warmup });
  await runLoad({ target: baseTarget, texts, concurrency: 16, count: scale.warmup });
  const windows: CoreResults['windows'] = [];
  for (const concurrency of [1, 16, 64]) {
    for (let round = 0; round < scale.rounds; round++) {
      for (const [who, t, child] of [
        ['bot', target, bot.child],
        ['baseline', baseTarget, baseChild],
      ] as const) {
        // CPU time of each process over the measured part (the warm-up inside runLoad is included; it is short)
        await Promise.all([child.call('resetSamples', null, anySchema), fakeOf().call('resetSamples', null, anySchema)]);
        const own = process.cpuUsage();
        const r = await runLoad({ target: t, texts, concurrency, durationMs: scale.windowMs, warmup: concurrency * 4 });
        const ownCpu = process.cpuUsage(own);
        const [serverCpu, fakeCpu] = await Promise.all([child.call('cpu', null, cpuSchema), fakeOf().call('cpu', null, cpuSchema)]);
        const n = r.count + concurrency * 4;
        const cpu = { server: serverCpu.micros / n, fake: fakeCpu.micros / n, loadGenerator: (ownCpu.user + ownCpu.system) / n };
        windows.push({ who, round, ...r, cpu });
        progress(`${who} c=${concurrency} (${round + 1}/${scale.rounds}): ${fmt(r.perSecond)}/s p50 ${fmt(r.p50)} p99 ${fmt(r.p99)} ms errors ${r.errors}`);
        await fakeOf().call('mark', null, anySchema);
      }
    }
  }
  await stopChild(baseChild);
  const throughput = summarize(windows.filter((w) => w.who === 'bot'));
  const baseline = summarize(windows.filter((w) => w.who === 'baseline'));

  // 4. memory after many commands without a cap (node's default old space), then
  // reconnects, on the same bot; the `npm start` figure is the npm-start section's
  const rss = await measureRss(bot, scale.rssCommands, []);
  const servedByBot = windows.filter((w) => w.who === 'bot').reduce((a, r) => a + r.count, 0) + rss.commands + scale.warmup;
  progress(`rss (no cap) after ${rss.commands.toLocaleString('en-US')} commands: ${fmt(rss.after.rss / 2 ** 20)} MB (${fmt(rss.perSecond)}/s); live heap ${fmt(rss.afterGc.heapUsed / 2 ** 20)} MB`);

  const reconnect: Reconnect[] = [];
  for (const outageMs of scale.outages) {
    reconnect.push(await measureReconnect(bot, outageMs));
    progress(`reconnect after ${outageMs} ms outage: ${reconnect.at(-1)?.backToConnectedMs} ms after the server came back`);
    await sleep(300);
  }
  await stopChild(bot.child);
  await stopChild(fakeOf());

  const at64 = throughput.find((r) => r.concurrency === 64);
  const base64 = baseline.find((r) => r.concurrency === 64);
  const ratio = at64 && base64 ? at64.perSecond / base64.perSecond : 0;
  const statusOne = overhead.find((o) => o.command === command);
  const hundredCase = apiCalls.find((a) => a.name.includes(`${BENCH_USER_COUNT} users`));
  const refused = apiCalls.find((a) => a.name.startsWith('permission check, refused'));
  const worstReconnect = Math.max(...reconnect.filter((r) => r.outageMs <= 1_000).map((r) => r.backToConnectedMs));
  const targets: Target[] = [
    { target: '≥ 1,500 commands/s at 64 concurrent', measured: `${fmt(at64?.perSecond ?? 0)}/s`, pass: (at64?.perSecond ?? 0) >= 1_500 },
    { target: 'p99 < 50 ms at 64 concurrent', measured: `${fmt(at64?.p99 ?? 0)} ms`, pass: (at64?.p99 ?? Infinity) < 50 },
    { target: '≥ 70% of the baseline at 64 concurrent', measured: `${fmt(ratio * 100)}%`, pass: ratio >= 0.7 },
    { target: 'bot overhead < 1 ms p50', measured: `${fmt(statusOne?.overhead.p50 ?? 0)} ms`, pass: (statusOne?.overhead.p50 ?? Infinity) < 1 },
    {
      target: `/status for ${BENCH_USER_COUNT} users in 2 API calls`,
      measured: `${hundredCase?.coldOwn ?? '?'} cold (+${(hundredCase?.cold ?? 0) - (hundredCase?.coldOwn ?? 0)} caller/team/channel lookups), ${hundredCase?.warm ?? '?'} warm`,
      pass: hundredCase !== undefined && hundredCase.coldOwn <= 2 && hundredCase.warm <= 2,
    },
    { target: 'warm permission check in 0 API calls', measured: `${refused?.warm ?? '?'}`, pass: refused?.warm === 0 },
    { target: 'reconnect < 2 s after the server comes back (outage ≤ 1 s)', measured: `${fmt(worstReconnect)} ms (worst)`, pass: worstReconnect < 2_000 },
  ];
  const notes = [
    `The bot runs as \`npm start\` runs it: compiled by tsc, configured from the environment (LOG_LEVEL=info: one log line per command), started with createBot().start(), in its own process. The load generator POSTs slash requests the way the server does (form body, Authorization: Token, a fresh trigger_id) over keep-alive connections, closed loop (each caller sends its next request when the answer arrives).`,
    `Throughput: ${scale.rounds} windows of ${scale.windowMs / 1000} s per concurrency for the bot and for the baseline, interleaved (bot, baseline, bot, …); the tables show the medians.`,
    `The fake server, the bot and the load generator run on the same ${cpus().length} cores: the fake's own work (one API request per command) competes with the bot, so these are lower bounds for a bot on its own machine.`,
    'Bot overhead = time from the slash request reaching the bot\'s HTTP server to its response being written, minus the time inside Mattermost API calls (their union), measured one request at a time in an instrumented bot; the API time includes the client\'s own request building and response parsing.',
    'Memory here is without a cap on V8\'s old space (node\'s default, a share of the machine\'s memory): RSS is what the process holds; the live heap is what remains after a full GC. The figure with `npm start`\'s cap is the npm-start section\'s.',
    'API calls are counted at the fake server (requests authenticated as the bot); cold = the first command after a fresh start, warm = the same command again.',
    'The baseline is a bare node:http handler that reads the form, checks the token, looks the user up once (cached) and makes the same GET /users/{id}/status call with fetch; no validation, permissions, logging or metrics.',
  ];
  return {
    command,
    startup: { startToReadyMs: startToReady, processToReadyMs: processToReady, medianStartToReadyMs: median(startToReady), medianProcessToReadyMs: median(processToReady) },
    apiCalls,
    overhead,
    throughput,
    baseline,
    windows,
    rss: { ...rss, servedByBot },
    reconnect,
    targets,
    notes,
  };
}

async function main(): Promise<Results> {
  const t0 = Date.now();
  const loadStart = loadavg()[0] ?? 0;
  progress(`bench: ${opts.quick ? 'quick' : 'full'} run (${SECTION_NAMES.filter(wanted).join(', ')}); logs in ${runDir}; load average ${loadStart.toFixed(2)}`);
  if (loadStart > 0.5) progress('bench: the machine is busy (load average above 0.5); figures will be lower and noisier');
  if (!opts.tsx) {
    progress('building (tsc, incremental) …');
    ctx.compiled = await buildForBench();
  }
  const core = wanted('core') ? await runCore() : undefined;
  const sections: Results['sections'] = [];
  for (const section of SECTIONS) {
    if (!wanted(section.name)) continue;
    const s0 = Date.now();
    progress(`section ${section.name}: ${section.title}`);
    const result = await section.run(ctx);
    sections.push({ name: section.name, title: section.title, durationS: Math.round((Date.now() - s0) / 1000), ...result });
  }
  const durationS = Math.round((Date.now() - t0) / 1000);
  progress(`bench: done in ${durationS} s`);
  const cpuModel = cpus()[0]?.model ?? 'unknown';
  return {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, cpuModel, memoryGb: Math.round(totalmem() / 2 ** 30), node: process.version, platform: `${process.platform} ${process.arch}` },
    mode: opts.quick ? 'quick' : 'full',
    loadAverage: { start: loadStart, end: loadavg()[0] ?? 0 },
    durationS,
    ...(core ? { core } : {}),
    sections,
    targets: [...(core?.targets ?? []), ...sections.flatMap((x) => x.targets)],
  };
}

// ---------------------------------------------------------------------------
// output

type TableFn = (rows: string[][]) => string;

function report(r: Results, markdown: boolean): string {
  const table = markdown ? markdownTable : textTable;
  const out: string[] = [];
  const h = (s: string): void => {
    out.push('', markdown ? `### ${s}` : `== ${s} ==`, '');
  };
  out.push(
    markdown
      ? `Measured ${r.date.slice(0, 10)} (${r.mode} run, ${r.durationS} s), ${r.machine.cpus} cores (${r.machine.cpuModel}), ${r.machine.memoryGb} GB, Node ${r.machine.node}, ${r.machine.platform}; load average ${r.loadAverage.start.toFixed(2)} at the start, ${r.loadAverage.end.toFixed(2)} at the end.`
      : `mmops benchmark, ${r.date} (${r.mode} run, ${r.durationS} s) — ${r.machine.cpus} cores (${r.machine.cpuModel}), Node ${r.machine.node}; load average ${r.loadAverage.start.toFixed(2)} → ${r.loadAverage.end.toFixed(2)}`,
  );

  h('Targets');
  out.push(table([['Target', 'Measured', 'Result'], ...r.targets.map((t) => [t.target, t.measured, t.pass ? 'PASS' : 'MISS'])]));
  if (r.core) reportCore(r.core, table, h, out);
  for (const x of r.sections) {
    h(`${x.title} (${x.durationS} s)`);
    out.push(table([['Figure', 'Value'], ...x.figures]));
    if (x.notes?.length) out.push('', ...x.notes.map((n) => `- ${n}`));
  }
  return out.join('\n');
}

function reportCore(r: CoreResults, table: TableFn, h: (s: string) => void, out: string[]): void {
  const mb = (b: number): string => `${fmt(b / 2 ** 20)} MB`;
  h(`Slash commands end to end (${r.command}, warm cache; median of ${r.windows.filter((w) => w.who === 'bot' && w.concurrency === 1).length} interleaved windows each)`);
  const byC = new Map(r.baseline.map((b) => [b.concurrency, b]));
  out.push(
    table([
      ['Concurrent callers', 'Commands/s', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'Errors', 'Baseline/s', 'Baseline p99 ms', 'Ratio'],
      ...r.throughput.map((t) => {
        const b = byC.get(t.concurrency);
        return [String(t.concurrency), fmt(t.perSecond), fmt(t.p50), fmt(t.p95), fmt(t.p99), fmt(t.max), String(t.errors), b ? fmt(b.perSecond) : '-', b ? fmt(b.p99) : '-', b ? `${fmt((t.perSecond / b.perSecond) * 100)}%` : '-'];
      }),
    ]),
  );

  h('CPU time per command (µs, user + system, all threads; median over the windows)');
  const cpuRow = (who: 'bot' | 'baseline', c: number): number[] => {
    const ws = r.windows.filter((w) => w.who === who && w.concurrency === c);
    return [median(ws.map((w) => w.cpu.server)), median(ws.map((w) => w.cpu.fake)), median(ws.map((w) => w.cpu.loadGenerator))];
  };
  out.push(
    table([
      ['Concurrent callers', 'Bot', 'Baseline', 'Fake server (bot run)', 'Load generator (bot run)', 'All three, bot run', 'All three, baseline run'],
      ...[...new Set(r.windows.map((w) => w.concurrency))].map((c) => {
        const [bot = 0, fakeB = 0, genB = 0] = cpuRow('bot', c);
        const [base = 0, fakeBase = 0, genBase = 0] = cpuRow('baseline', c);
        return [String(c), fmt(bot), fmt(base), fmt(fakeB), fmt(genB), fmt(bot + fakeB + genB), fmt(base + fakeBase + genBase)];
      }),
    ]),
  );

  h('Bot overhead per command (one at a time)');
  out.push(
    table([
      ['Command', 'Overhead p50 ms', 'p95 ms', 'p99 ms', 'Request p50 ms', 'API p50 ms', 'API calls'],
      ...r.overhead.map((o) => [o.command, fmt(o.overhead.p50), fmt(o.overhead.p95), fmt(o.overhead.p99), fmt(o.wall.p50), fmt(o.api.p50), fmt(o.apiCallsPerRequest)]),
    ]),
  );

  h('API calls per command');
  out.push(
    table([
      ['Command', 'Cold', 'Cold, without caller/team/channel lookups', 'Warm', 'Warm calls'],
      ...r.apiCalls.map((a) => [a.name, String(a.cold), String(a.coldOwn), String(a.warm), a.warmCalls.join(', ') || '(none)']),
    ]),
  );

  h('Memory (no cap on the old space), start-up, reconnect');
  out.push(
    table([
      ['Figure', 'Value'],
      [`RSS before the memory run`, mb(r.rss.before.rss)],
      [`RSS after ${r.rss.commands.toLocaleString('en-US')} more commands (${r.rss.servedByBot.toLocaleString('en-US')} served in all)`, mb(r.rss.after.rss)],
      ['V8 heap: used / reserved at the end', `${mb(r.rss.after.heapUsed)} / ${mb(r.rss.after.heapTotal)}`],
      ['Live heap at the end (after a full GC)', mb(r.rss.afterGc.heapUsed)],
      [`Rate during that run (64 callers)`, `${fmt(r.rss.perSecond)}/s, ${r.rss.errors} errors, ${r.rss.slow} slow`],
      ['Start → ready (createBot().start(), median)', `${fmt(r.startup.medianStartToReadyMs)} ms`],
      ['Process start → ready (node + loading modules + start, median)', `${fmt(r.startup.medianProcessToReadyMs)} ms`],
      ...[...new Set(r.reconnect.map((c) => c.outageMs))].map((outage) => {
        const trials = r.reconnect.filter((c) => c.outageMs === outage);
        const back = trials.map((c) => c.backToConnectedMs);
        const spread = trials.length > 1 ? `median ${fmt(median(back))} ms, max ${fmt(Math.max(...back))} ms over ${trials.length} drops` : `${fmt(back[0] ?? 0)} ms`;
        return outage === 0
          ? ['WebSocket dropped → connected again (server up)', spread]
          : [`WebSocket refused for ${outage / 1000} s: server back → connected`, spread];
      }),
    ]),
  );

  h('Method (core)');
  for (const n of r.notes) out.push(`- ${n}`);
}

async function cleanup(): Promise<void> {
  for (const c of [...started].reverse()) await c.stop().catch(() => {});
}

try {
  const results = await main();
  if (opts.json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
  else {
    process.stdout.write(`${report(results, false)}\n\n`);
    process.stdout.write(`${JSON.stringify(results)}\n`);
  }
  const jsonPath = join(runDir, 'results.json');
  writeFileSync(jsonPath, JSON.stringify(results, null, 2));
  if (opts.markdown) writeFileSync(opts.markdown, `${report(results, true)}\n`);
  progress(`results: ${jsonPath}${opts.profile ? `; CPU profile (.cpuprofile) of the bot in ${runDir}` : ''}`);
  const missed = results.targets.filter((t) => !t.pass).length;
  if (missed) progress(`${missed} target(s) missed`);
} catch (err) {
  progress(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  progress(`logs: ${runDir}`);
  process.exitCode = 1;
} finally {
  await cleanup();
}
