/**
 * `npx tsx scripts/bench-cpu.ts [--profile] [--baseline] [--count N] [--concurrency C] [--log-level L] [--tsx] [text…]`:
 * the bot's CPU time per slash command (user + system time of the bot process divided
 * by the commands it served), for finding and checking hot-path changes. CPU time is
 * far less sensitive than throughput to other work on the machine.
 *
 * With `--profile` the bot runs under `node --cpu-prof`; the profile's path is printed
 * (open it in Chrome DevTools, or summarise it by self time).
 */
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { newSigningKeyPem } from '../src/sandbox/signing.js';
import { channelIdFor, SANDBOX_BOT_TOKEN, teamIdFor, userIdFor } from '../src/sandbox/seed.js';
import { buildForBench, fmt, runLoad, startChild, waitForEvent } from './bench-lib.js';

const argv = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const profile = argv.includes('--profile');
/** measure the bare baseline handler instead of the bot */
const baseline = argv.includes('--baseline');
const count = Number(flag('--count') ?? 5_000);
const concurrency = Number(flag('--concurrency') ?? 16);
const logLevel = flag('--log-level') ?? 'info';
const texts = argv.filter((a, i) => !a.startsWith('--') && !['--count', '--concurrency', '--log-level'].includes(argv[i - 1] ?? ''));
const commands = texts.length > 0 ? texts : ['status @bob'];

const dir = mkdtempSync(join(tmpdir(), 'mmops-cpu-'));
// `--tsx` runs the TypeScript directly (no build step), at some cost in speed
const compiled = argv.includes('--tsx') ? undefined : await buildForBench();
const ready = z.object({ url: z.string() });
const signingKeyPem = newSigningKeyPem();
const fake = startChild('bench-fake.ts', { BENCH_SIGNING_KEY: signingKeyPem }, join(dir, 'fake.log'), [], compiled);
const { url: fakeUrl } = await waitForEvent(fake, 'ready', ready, 60_000);
const env = { MM_URL: fakeUrl, MM_BOT_TOKEN: SANDBOX_BOT_TOKEN, MMOPS_LISTEN: '127.0.0.1:0', LOG_LEVEL: logLevel, MMOPS_STATE_DIR: mkdtempSync(join(dir, 'state-')) };
const cpuProf = profile ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : [];
// the baseline accepts any token it is given; the bot registers its own
const bot = baseline ? startChild('bench-baseline.ts', { ...env, BENCH_TOKENS: 'baseline-token' }, join(dir, 'baseline.log'), cpuProf, compiled) : startChild('bench-bot.ts', env, join(dir, 'bot.log'), cpuProf, compiled);
try {
  const { url } = await waitForEvent(bot, 'ready', ready, 60_000);
  // the bot registers its slash commands after "ready", in the background: wait for /mmops in acme
  const mmopsToken = async (): Promise<string> => {
    const cmds = await fake.call('commands', null, z.array(z.object({ trigger: z.string(), teamId: z.string(), token: z.string(), url: z.string() })));
    return cmds.find((c) => c.trigger === 'mmops' && c.teamId === teamIdFor('acme') && c.url === `${url}/slash`)?.token ?? '';
  };
  let token = baseline ? 'baseline-token' : await mmopsToken();
  for (let i = 0; i < 100 && token === ''; i++) {
    await new Promise((r) => setTimeout(r, 100));
    token = await mmopsToken();
  }
  const target = {
    url,
    token,
    trigger: 'mmops',
    teamId: teamIdFor('acme'),
    teamName: 'acme',
    channelId: channelIdFor('acme', 'town-square'),
    channelName: 'town-square',
    userId: userIdFor('alice'),
    userName: 'alice',
    siteUrl: fakeUrl,
    signingKeyPem,
  };
  await runLoad({ target, texts: commands, concurrency, count: 1_000 });
  await bot.call('resetSamples', null, z.unknown());
  await fake.call('resetSamples', null, z.unknown());
  await fake.call('mark', null, z.unknown());
  const own = process.cpuUsage();
  const r = await runLoad({ target, texts: commands, concurrency, count });
  const ownCpu = process.cpuUsage(own);
  const cpu = await bot.call('cpu', null, z.object({ micros: z.number() }));
  const fakeCpu = await fake.call('cpu', null, z.object({ micros: z.number() }));
  const calls = await fake.call('apiCalls', { userId: userIdFor('mmops') }, z.array(z.string()));
  const byCall = new Map<string, number>();
  for (const c of calls) byCall.set(c.replace(/[a-z0-9]{26}/g, '{id}'), (byCall.get(c.replace(/[a-z0-9]{26}/g, '{id}')) ?? 0) + 1);
  console.log(
    `${baseline ? 'baseline ' : ''}${commands.join(' | ')}: ${fmt(cpu.micros / r.count)} µs CPU per command (${r.count} commands, c=${concurrency}, ${fmt(r.perSecond)}/s, p99 ${fmt(r.p99)} ms, errors ${r.errors}); fake server ${fmt(fakeCpu.micros / r.count)} µs, load generator ${fmt((ownCpu.user + ownCpu.system) / r.count)} µs`,
  );
  if (!baseline) console.log(`API calls by the bot per command: ${fmt(calls.length / r.count)} (${[...byCall].map(([k, n]) => `${k} ${n}`).join(', ')})`);
} finally {
  await bot.stop();
  await fake.stop();
}
if (profile) console.log(`profile: ${readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(dir, f)).join(', ')}`);
