/**
 * `npm run bench`: end-to-end figures for mmops against the in-repo fake Mattermost
 * server, with the targets of issue 7 marked PASS/MISS. Prints a table (stdout) and
 * the same figures as JSON; `--json` prints only the JSON. Progress goes to stderr.
 *
 *   npm run bench                 # full run (100 000 commands for the RSS figure; ~3 min)
 *   npm run bench -- --quick      # scaled down (10 000 commands, shorter windows; ~1 min)
 *   npm run bench -- --json       # JSON only on stdout
 *   npm run bench -- --profile    # also write a CPU profile of the bot (node --cpu-prof)
 *   npm run bench -- --tsx        # skip the build: run the TypeScript under tsx (slower bot)
 *
 * Processes: the fake server, the bot (scripts/bench-bot.ts: config from the
 * environment → createBot → start, as `npm start`) or the bare baseline
 * (scripts/bench-baseline.ts), and this load generator, which POSTs slash requests
 * the way the server does (form body, `Authorization: Token …`, fresh trigger_id) over
 * keep-alive connections. All three share the machine's cores.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { channelIdFor, SANDBOX_BOT_TOKEN, teamIdFor, userIdFor } from '../src/sandbox/seed.js';
import {
  BENCH_USER_COUNT,
  buildForBench,
  benchUsername,
  fmt,
  markdownTable,
  median,
  runLoad,
  startChild,
  textTable,
  waitForEvent,
  type Child,
  type LoadResult,
  type SlashTarget,
} from './bench-lib.js';

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
};
function valueOf(flag: string): string | undefined {
  const i = argv.indexOf(flag);
  return i >= 0 ? argv[i + 1] : undefined;
}
const unknownArg = argv.find((a, i) => a.startsWith('--') && !['--json', '--quick', '--profile', '--tsx', '--markdown'].includes(a) && argv[i - 1] !== '--markdown');
if (unknownArg) {
  console.error(`bench: unknown option ${unknownArg} (known: --quick, --json, --profile, --tsx, --markdown <file>)`);
  process.exit(2);
}

const scale = opts.quick
  ? { windowMs: 2_000, warmup: 300, rssCommands: 10_000, overheadCommands: 500, outages: [0, 1_000] }
  : { windowMs: 5_000, warmup: 1_000, rssCommands: 100_000, overheadCommands: 3_000, outages: [0, 1_000, 1_000, 1_000, 5_000] };

const runDir = mkdtempSync(join(tmpdir(), 'mmops-bench-'));
const progress = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

// ---------------------------------------------------------------------------
// children

const readySchema = z.object({ url: z.string() });
const commandsSchema = z.array(z.object({ trigger: z.string(), teamId: z.string(), token: z.string(), url: z.string() }));
const botInfoSchema = z.object({ url: z.string(), botId: z.string(), startToReadyMs: z.number(), processToReadyMs: z.number(), loadMs: z.number() });
const memorySchema = z.object({ rss: z.number(), heapUsed: z.number(), heapTotal: z.number(), external: z.number() });
const pctSchema = z.object({ p50: z.number(), p95: z.number(), p99: z.number() });
const samplesSchema = z.object({ count: z.number(), apiCallsPerRequest: z.number(), wall: pctSchema, api: pctSchema, overhead: pctSchema, cpuMicrosPerRequest: z.number() });
const socketStateSchema = z.object({ connected: z.boolean(), at: z.number(), reconnects: z.number() });
const anySchema = z.unknown();

interface BotRun {
  child: Child;
  info: z.infer<typeof botInfoSchema>;
  target(trigger: string, caller?: string): SlashTarget;
}

let fakeUrl = '';
/** the compiled project the children run (undefined: tsx) */
let compiled: string | undefined;
let fake: Child | undefined;
const started: Child[] = [];
let botCount = 0;

async function startFake(): Promise<Child> {
  const child = startChild('bench-fake.ts', {}, join(runDir, 'fake.log'), [], compiled);
  started.push(child);
  const ready = await waitForEvent(child, 'ready', readySchema, 60_000);
  fakeUrl = ready.url;
  return child;
}

const mentionIds: Record<string, string> = Object.fromEntries(
  ['alice', 'bob', 'carol', 'dave', 'ann', ...Array.from({ length: BENCH_USER_COUNT }, (_, i) => benchUsername(i + 1))].map((u) => [u, userIdFor(u)]),
);

async function startBot(o: { instrument?: boolean; profile?: boolean } = {}): Promise<BotRun> {
  botCount += 1;
  const env: Record<string, string> = {
    MM_URL: fakeUrl,
    MM_BOT_TOKEN: SANDBOX_BOT_TOKEN,
    MMOPS_LISTEN: '127.0.0.1:0',
    // the default level: one "command answered" line per command, as in production
    LOG_LEVEL: 'info',
    MMOPS_STATE_DIR: mkdtempSync(join(runDir, 'state-')),
    ...(o.instrument ? { BENCH_INSTRUMENT: '1' } : {}),
  };
  const execArgv = o.profile ? ['--cpu-prof', `--cpu-prof-dir=${runDir}`] : [];
  const child = startChild('bench-bot.ts', env, join(runDir, `bot-${botCount}.log`), execArgv, compiled);
  started.push(child);
  await waitForEvent(child, 'ready', readySchema, 60_000);
  const info = await child.call('info', null, botInfoSchema);
  const commands = await fakeOf().call('commands', null, commandsSchema);
  const slashUrl = `${info.url}/slash`;
  const acme = teamIdFor('acme');
  return {
    child,
    info,
    target(trigger, caller = 'alice') {
      const cmd = commands.find((c) => c.trigger === trigger && c.teamId === acme && c.url === slashUrl);
      if (!cmd) throw new Error(`no /${trigger} registered for ${slashUrl} in team acme`);
      return {
        url: info.url,
        token: cmd.token,
        trigger,
        teamId: acme,
        teamName: 'acme',
        channelId: channelIdFor('acme', 'town-square'),
        channelName: 'town-square',
        userId: userIdFor(caller),
        userName: caller,
        siteUrl: fakeUrl,
        mentionIds,
      };
    },
  };
}

function fakeOf(): Child {
  if (!fake) throw new Error('fake server not started');
  return fake;
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
  // ann lacks edit_other_users: the permission check refuses, nothing else runs
  { name: 'permission check, refused (/mmops status set online @bob by ann)', trigger: 'mmops', text: 'status set online @bob', caller: 'ann' },
  // alice has it: the check passes, then the one PUT
  { name: 'permission check, allowed (/mmops status set online @bob by alice)', trigger: 'mmops', text: 'status set online @bob' },
];

interface ApiCount {
  name: string;
  cold: number;
  warm: number;
  coldCalls: string[];
  warmCalls: string[];
  answer: string;
}

/** Runs the command once on a fresh bot (cold) and once more (warm), counting the bot's requests at the fake. */
async function countApiCalls(c: ApiCase, bot: BotRun): Promise<ApiCount> {
  const target = bot.target(c.trigger, c.caller);
  const calls: string[][] = [];
  let answer = '';
  for (let i = 0; i < 2; i++) {
    await fakeOf().call('mark', null, anySchema);
    const r = await runLoad({ target, texts: [c.text], concurrency: 1, count: 1, onAnswer: (t) => (answer = t) });
    if (r.errors) throw new Error(`${c.name}: ${r.firstError ?? 'failed'}`);
    calls.push(await fakeOf().call('apiCalls', { userId: bot.info.botId }, z.array(z.string())));
  }
  const [coldCalls = [], warmCalls = []] = calls;
  return { name: c.name, cold: coldCalls.length, warm: warmCalls.length, coldCalls: coldCalls.map(shortPath), warmCalls: warmCalls.map(shortPath), answer };
}

/** `GET /api/v4/users/abc…/status` → `GET /users/{id}/status` */
function shortPath(call: string): string {
  return call.replace('/api/v4', '').replace(/\/[a-z0-9]{26}(?=\/|$)/g, '/{id}');
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

interface Results {
  date: string;
  machine: { cpus: number; cpuModel: string; memoryGb: number; node: string; platform: string };
  mode: 'full' | 'quick';
  command: string;
  startup: { startToReadyMs: number[]; processToReadyMs: number[]; medianStartToReadyMs: number; medianProcessToReadyMs: number };
  apiCalls: ApiCount[];
  overhead: Array<{ command: string } & z.infer<typeof samplesSchema>>;
  throughput: LoadResult[];
  baseline: LoadResult[];
  rss: { commands: number; servedByBot: number; before: z.infer<typeof memorySchema>; after: z.infer<typeof memorySchema>; errors: number; slow: number; perSecond: number };
  reconnect: Reconnect[];
  targets: Array<{ target: string; measured: string; pass: boolean }>;
  notes: string[];
}

async function main(): Promise<Results> {
  const t0 = Date.now();
  progress(`bench: ${opts.quick ? 'quick' : 'full'} run; logs in ${runDir}`);
  if (!opts.tsx) {
    progress('building (tsc, incremental) …');
    compiled = await buildForBench();
  }
  fake = await startFake();
  progress(`fake server at ${fakeUrl}`);

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
  const overhead: Results['overhead'] = [];
  {
    const bot = await startBot({ instrument: true });
    for (const [command, trigger, text] of [
      ['/mmops status @bob', 'mmops', 'status @bob'],
      ['/whois @bob', 'whois', '@bob'],
    ] as const) {
      const target = bot.target(trigger);
      await runLoad({ target, texts: [text], concurrency: 1, count: Math.min(scale.warmup, 300) });
      await bot.child.call('resetSamples', null, anySchema);
      const r = await runLoad({ target, texts: [text], concurrency: 1, count: scale.overheadCommands });
      if (r.errors) throw new Error(`overhead run: ${r.firstError ?? 'errors'}`);
      overhead.push({ command, ...(await bot.child.call('samples', null, samplesSchema)) });
      progress(`overhead ${command}: p50 ${fmt(overhead.at(-1)?.overhead.p50 ?? 0)} ms`);
    }
    await stopChild(bot.child);
  }

  // 3. throughput, RSS and reconnect on one plain bot
  const command = '/mmops status @bob';
  const texts = ['status @bob'];
  const bot = await startBot({ profile: opts.profile });
  const target = bot.target('mmops');
  await runLoad({ target, texts, concurrency: 16, count: scale.warmup });
  const throughput: LoadResult[] = [];
  for (const concurrency of [1, 16, 64]) {
    const r = await runLoad({ target, texts, concurrency, durationMs: scale.windowMs, warmup: concurrency * 4 });
    throughput.push(r);
    progress(`bot c=${concurrency}: ${fmt(r.perSecond)}/s p50 ${fmt(r.p50)} p99 ${fmt(r.p99)} ms errors ${r.errors}`);
    await fakeOf().call('mark', null, anySchema);
  }

  const before = await bot.child.call('memory', null, memorySchema);
  const rssRun = await runLoad({
    target,
    texts,
    concurrency: 64,
    count: scale.rssCommands,
    onProgress: (n) => {
      progress(`rss run: ${n.toLocaleString('en-US')} commands`);
      // keep the fake's request log (not the bot) from growing through the run
      void fakeOf().call('mark', null, anySchema);
    },
  });
  const after = await bot.child.call('memory', null, memorySchema);
  const servedByBot = throughput.reduce((a, r) => a + r.count, 0) + rssRun.count + scale.warmup;
  progress(`rss after ${rssRun.count.toLocaleString('en-US')} commands: ${fmt(after.rss / 2 ** 20)} MB (${fmt(rssRun.perSecond)}/s)`);

  const reconnect: Reconnect[] = [];
  for (const outageMs of scale.outages) {
    reconnect.push(await measureReconnect(bot, outageMs));
    progress(`reconnect after ${outageMs} ms outage: ${reconnect.at(-1)?.backToConnectedMs} ms after the server came back`);
    await sleep(300);
  }
  await stopChild(bot.child);

  // 4. the baseline, same load
  const tokens = (await fakeOf().call('commands', null, commandsSchema)).map((c) => c.token);
  const baseChild = startChild(
    'bench-baseline.ts',
    { MM_URL: fakeUrl, MM_BOT_TOKEN: SANDBOX_BOT_TOKEN, BENCH_TOKENS: tokens.join(',') },
    join(runDir, 'baseline.log'),
    [],
    compiled,
  );
  started.push(baseChild);
  const base = await waitForEvent(baseChild, 'ready', readySchema, 60_000);
  const baseTarget: SlashTarget = { ...target, url: base.url };
  await runLoad({ target: baseTarget, texts, concurrency: 16, count: scale.warmup });
  const baseline: LoadResult[] = [];
  for (const concurrency of [1, 16, 64]) {
    const r = await runLoad({ target: baseTarget, texts, concurrency, durationMs: scale.windowMs, warmup: concurrency * 4 });
    baseline.push(r);
    progress(`baseline c=${concurrency}: ${fmt(r.perSecond)}/s p50 ${fmt(r.p50)} p99 ${fmt(r.p99)} ms`);
    await fakeOf().call('mark', null, anySchema);
  }
  await stopChild(baseChild);
  await stopChild(fakeOf());

  const at64 = throughput.find((r) => r.concurrency === 64);
  const base64 = baseline.find((r) => r.concurrency === 64);
  const ratio = at64 && base64 ? at64.perSecond / base64.perSecond : 0;
  const statusOne = overhead.find((o) => o.command === command);
  const hundredCase = apiCalls.find((a) => a.name.includes(`${BENCH_USER_COUNT} users`));
  const refused = apiCalls.find((a) => a.name.startsWith('permission check, refused'));
  const worstReconnect = Math.max(...reconnect.filter((r) => r.outageMs <= 1_000).map((r) => r.backToConnectedMs));
  const targets: Results['targets'] = [
    { target: '≥ 1,500 commands/s at 64 concurrent', measured: `${fmt(at64?.perSecond ?? 0)}/s`, pass: (at64?.perSecond ?? 0) >= 1_500 },
    { target: 'p99 < 50 ms at 64 concurrent', measured: `${fmt(at64?.p99 ?? 0)} ms`, pass: (at64?.p99 ?? Infinity) < 50 },
    { target: '≥ 70% of the baseline at 64 concurrent', measured: `${fmt(ratio * 100)}%`, pass: ratio >= 0.7 },
    { target: 'bot overhead < 1 ms p50', measured: `${fmt(statusOne?.overhead.p50 ?? 0)} ms`, pass: (statusOne?.overhead.p50 ?? Infinity) < 1 },
    { target: `/status for ${BENCH_USER_COUNT} users in 2 API calls (warm)`, measured: `${hundredCase?.warm ?? '?'} (cold ${hundredCase?.cold ?? '?'})`, pass: hundredCase?.warm === 2 },
    { target: 'warm permission check in 0 API calls', measured: `${refused?.warm ?? '?'}`, pass: refused?.warm === 0 },
    { target: `RSS < 150 MB after ${scale.rssCommands.toLocaleString('en-US')} commands`, measured: `${fmt(after.rss / 2 ** 20)} MB`, pass: after.rss < 150 * 2 ** 20 },
    { target: 'reconnect < 2 s after the server comes back (outage ≤ 1 s)', measured: `${fmt(worstReconnect)} ms (worst)`, pass: worstReconnect < 2_000 },
  ];
  const cpuModel = cpus()[0]?.model ?? 'unknown';
  const notes = [
    `The fake server, the bot and the load generator run on the same ${cpus().length} cores: the fake's own work (one API request per command) competes with the bot, so these are lower bounds for a bot on its own machine.`,
    'Bot overhead = time from the slash request reaching the bot\'s HTTP server to its response being written, minus the time inside Mattermost API calls (their union), measured one request at a time in an instrumented bot; the API time includes the client\'s own request building and response parsing.',
    'CPU µs per command = user + system CPU time of the whole bot process (HTTP, parsing, logging, GC, API client) divided by the commands served in the window.',
    'API calls are counted at the fake server (requests authenticated as the bot); cold = the first command after a fresh start, warm = the same command again.',
    'The baseline is a bare node:http handler that reads the form, checks the token, looks the user up once (cached) and makes the same GET /users/{id}/status call with fetch; no validation, permissions, logging or metrics.',
  ];
  progress(`bench: done in ${Math.round((Date.now() - t0) / 1000)} s`);
  return {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, cpuModel, memoryGb: Math.round(totalmem() / 2 ** 30), node: process.version, platform: `${process.platform} ${process.arch}` },
    mode: opts.quick ? 'quick' : 'full',
    command,
    startup: { startToReadyMs: startToReady, processToReadyMs: processToReady, medianStartToReadyMs: median(startToReady), medianProcessToReadyMs: median(processToReady) },
    apiCalls,
    overhead,
    throughput,
    baseline,
    rss: { commands: rssRun.count, servedByBot, before, after, errors: rssRun.errors, slow: rssRun.slow, perSecond: rssRun.perSecond },
    reconnect,
    targets,
    notes,
  };
}

// ---------------------------------------------------------------------------
// output

function report(r: Results, markdown: boolean): string {
  const table = markdown ? markdownTable : textTable;
  const mb = (b: number): string => `${fmt(b / 2 ** 20)} MB`;
  const out: string[] = [];
  const h = (s: string): void => {
    out.push('', markdown ? `### ${s}` : `== ${s} ==`, '');
  };
  out.push(
    markdown ? `Measured ${r.date.slice(0, 10)} (${r.mode} run), ${r.machine.cpus} cores (${r.machine.cpuModel}), ${r.machine.memoryGb} GB, Node ${r.machine.node}, ${r.machine.platform}.` : `mmops benchmark, ${r.date} (${r.mode} run) — ${r.machine.cpus} cores (${r.machine.cpuModel}), Node ${r.machine.node}`,
  );

  h('Targets');
  out.push(table([['Target', 'Measured', 'Result'], ...r.targets.map((t) => [t.target, t.measured, t.pass ? 'PASS' : 'MISS'])]));

  h(`Slash commands end to end (${r.command}, warm cache)`);
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

  h('Bot overhead per command (one at a time)');
  out.push(
    table([
      ['Command', 'Overhead p50 ms', 'p95 ms', 'p99 ms', 'Request p50 ms', 'API p50 ms', 'API calls', 'CPU µs/command'],
      ...r.overhead.map((o) => [o.command, fmt(o.overhead.p50), fmt(o.overhead.p95), fmt(o.overhead.p99), fmt(o.wall.p50), fmt(o.api.p50), fmt(o.apiCallsPerRequest), fmt(o.cpuMicrosPerRequest)]),
    ]),
  );

  h('API calls per command');
  out.push(
    table([
      ['Command', 'Cold', 'Warm', 'Warm calls'],
      ...r.apiCalls.map((a) => [a.name, String(a.cold), String(a.warm), a.warmCalls.join(', ') || '(none)']),
    ]),
  );

  h('Memory, start-up, reconnect');
  out.push(
    table([
      ['Figure', 'Value'],
      [`RSS after warm-up`, mb(r.rss.before.rss)],
      [`RSS after ${r.rss.commands.toLocaleString('en-US')} more commands (${r.rss.servedByBot.toLocaleString('en-US')} served in all)`, mb(r.rss.after.rss)],
      ['Heap used before → after', `${mb(r.rss.before.heapUsed)} → ${mb(r.rss.after.heapUsed)}`],
      [`Rate during that run (64 callers)`, `${fmt(r.rss.perSecond)}/s, ${r.rss.errors} errors, ${r.rss.slow} slow`],
      ['Start → ready (createBot().start(), median)', `${fmt(r.startup.medianStartToReadyMs)} ms`],
      ['Process start → ready (node + loading modules + start, median)', `${fmt(r.startup.medianProcessToReadyMs)} ms`],
      ...r.reconnect.map((c) =>
        c.outageMs === 0
          ? ['WebSocket dropped → connected again (server up)', `${c.dropToConnectedMs} ms`]
          : [`WebSocket refused for ${c.outageMs} ms: server back → connected`, `${c.backToConnectedMs} ms (drop → connected ${c.dropToConnectedMs} ms)`],
      ),
    ]),
  );

  h('Method');
  for (const n of r.notes) out.push(`- ${n}`);
  return out.join('\n');
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
