/**
 * The chaos harness (test/chaos/chaos.test.ts, test/replicas/chaos.test.ts): the real bot, as real processes (`src/main.ts`
 * under tsx, or the built `dist/src/main.js`), against the sandbox server, while faults
 * are injected and DMs and mentions arrive from several users. Afterwards every command
 * is counted from what the sandbox stored, keyed by the command's post id: every stored
 * reply of the bot carries `props.mmops_reply_to` (src/transports/ws-intake.ts), and an
 * ephemeral answer to a mention sits in the mention's thread (`root_id`).
 *
 * Faults (each can be turned off):
 * - `wsDrop`: every socket closed abruptly (the server keeps the connection: a resume);
 * - `hubRestart`: the WebSocket hub restarts and forgets every connection and its dead
 *   queue (no resume possible: the bot must catch up over REST);
 * - `sigterm` / `sigkill`: a bot process stopped (gracefully / at once) and started again;
 * - `rateStorm`: the server's GCRA limiter at a few requests per second for a while,
 *   plus a burst of 429s with Retry-After.
 *
 * Used by test/chaos/*.test.ts and `npm run bench` (scripts/bench-chaos.ts).
 *
 * @example
 *   const report = await runChaos({ seconds: 60, dms: 500, mentions: 200 });
 *   if (report.lost.length || report.doubled.length) throw new Error(formatReport(report));
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, type WriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startFakeMattermost, type FakeMattermost, type Post } from '../src/sandbox/fake-server.js';
import { startRoundRobinProxy, type RoundRobinProxy } from '../src/sandbox/round-robin.js';
import { SANDBOX_BOT_TOKEN, userIdFor } from '../src/sandbox/seed.js';
import { answeredBy } from '../src/services/catch-up.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const BOT_ID = userIdFor('mmops');

/** Users who send commands (active, not guests). */
export const CHAOS_USERS = ['alice', 'bob', 'carol', 'dave', 'grace', 'heidi', 'ann', 'anna'] as const;
const TARGETS = ['bob', 'alice', 'carol', 'ann', 'grace'] as const;

export type FaultKind = 'wsDrop' | 'hubRestart' | 'sigterm' | 'sigkill' | 'rateStorm';
export const ALL_FAULTS: readonly FaultKind[] = ['wsDrop', 'hubRestart', 'sigterm', 'sigkill', 'rateStorm'];

export interface ChaosOptions {
  /** how long commands arrive and faults are injected (s) */
  seconds: number;
  dms: number;
  mentions: number;
  /** bot processes; more than one needs `redisUrl` (default 1) */
  replicas?: number;
  /** Redis for replicas (MMOPS_REDIS_URL) and its key prefix */
  redisUrl?: string;
  redisPrefix?: string;
  /** faults to inject (default all) */
  faults?: readonly FaultKind[];
  /** mean time between two faults (ms, default 2 500) */
  faultEveryMs?: number;
  /** seed of the random choices (default: time); printed in the report so a run can be repeated */
  seed?: number;
  /** how long to wait for the last answers once the faults stop (default 60 s) */
  settleMs?: number;
  /**
   * `dist`: the built entry (npm run build first); `{ dir }`: the entry built into dir;
   * `tsx`: the TypeScript; default `auto`: dist when it is newer than every source file
   * (CI builds first: processes start in about a second instead of several)
   */
  entry?: 'auto' | 'tsx' | 'dist' | { dir: string };
  /** extra environment for every bot process */
  env?: Record<string, string>;
  /** progress lines */
  progress?: (line: string) => void;
  /** called once the cluster is up, before traffic (the replica test sets a health watch here) */
  beforeTraffic?: (ctx: ChaosContext) => Promise<void>;
  /** runs alongside the traffic (a scenario of its own, e.g. leader kills); awaited before settling */
  during?: (ctx: ChaosContext) => Promise<void>;
  /** called after settling, before the bots stop */
  afterSettle?: (ctx: ChaosContext) => Promise<void>;
  /** keep the bots' log files (default: removed when nothing was lost or doubled) */
  keepLogs?: boolean;
}

/** What a hook sees of a running chaos cluster. */
export interface ChaosContext {
  fake: FakeMattermost;
  lb: RoundRobinProxy;
  bots: BotProcess[];
  /** restarts bot `i` (`signal` SIGKILL or SIGTERM), waiting for it to be ready again */
  restart(i: number, signal: 'SIGKILL' | 'SIGTERM', downMs?: number): Promise<void>;
  /** the index of the bot that leads now (by its log), or -1 */
  leader(): number;
  /** the bot process leading now, by its log (replicas) */
  log: (line: string) => void;
}

export interface Command {
  id: string;
  kind: 'dm' | 'mention';
  user: string;
  channelId: string;
  at: number;
}

export type Verdict = 'answered' | 'resend' | 'lost' | 'doubled';

export interface ChaosReport {
  seed: number;
  seconds: number;
  replicas: number;
  commands: number;
  dms: number;
  mentions: number;
  /** answered once (the late-answer note included) */
  answered: number;
  /** told once to send it again (restart, not run, busy) */
  resend: number;
  /** no answer at all */
  lost: Command[];
  /**
   * more than one answer; `ephemeral`: at least one of them an ephemeral post (a
   * caller-only answer to a mention), which the server does not store, so a replica that
   * takes the post over cannot see it (see docs/operations.md: the window that remains)
   */
  doubled: Array<Command & { replies: string[]; ephemeral: boolean; answeredAt: number[] }>;
  /** SIGKILLs sent (faults and the caller's own, e.g. leader kills) */
  sigkills: number;
  faults: Record<FaultKind, number>;
  /** bot starts after the first (restarts) */
  restarts: number;
  /** REST requests the server refused with 429 */
  refused429: number;
  /** ms from the end of traffic until every command had its answer (or the settle limit) */
  settleMs: number;
  /** where the bots' logs are (kept when something went wrong) */
  logDir: string;
  /** lines from the bots' logs at error level (at most 20) */
  errors: string[];
}

/** Whether dist/src/main.js was built after the last change to any source file (src/, commands/). */
export function distIsFresh(): boolean {
  const main = join(ROOT, 'dist/src/main.js');
  if (!existsSync(main)) return false;
  const built = statSync(main).mtimeMs;
  const newest = (dir: string): number => {
    let m = 0;
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) m = Math.max(m, newest(p));
      else if (e.name.endsWith('.ts')) m = Math.max(m, statSync(p).mtimeMs);
    }
    return m;
  };
  return newest(join(ROOT, 'src')) < built && newest(join(ROOT, 'commands')) < built;
}

/** A small deterministic PRNG (mulberry32), so a run can be repeated from its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** One bot process (`npm start` without the build step), restartable. */
export class BotProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private out: WriteStream | undefined;
  starts = 0;
  /** the log lines of the current process that the harness looks for */
  private lines: string[] = [];
  /** this process said it leads (and has not said otherwise since) */
  leading = false;

  constructor(
    readonly name: string,
    private readonly env: Record<string, string>,
    private readonly logPath: string,
    private readonly entry: 'tsx' | 'dist' | { dir: string },
  ) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  /** Starts the process; resolves once it logged "ready" (DMs are answered from then on). */
  async start(timeoutMs = 60_000): Promise<void> {
    if (this.child) throw new Error(`${this.name} is already running`);
    const args =
      this.entry === 'tsx' ? ['--import', 'tsx', join(ROOT, 'src/main.ts')] : [join(this.entry === 'dist' ? join(ROOT, 'dist') : this.entry.dir, 'src/main.js')];
    this.out ??= createWriteStream(this.logPath, { flags: 'a' });
    this.out.write(`--- start ${++this.starts} at ${new Date().toISOString()}\n`);
    this.lines = [];
    const child = spawn(process.execPath, args, { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...this.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    let ready: () => void = () => undefined;
    let failed: (e: Error) => void = () => undefined;
    const isReady = new Promise<void>((res, rej) => {
      ready = res;
      failed = rej;
    });
    let buffered = '';
    child.stdout?.on('data', (d: Buffer) => {
      const text = d.toString();
      this.out?.write(text);
      buffered += text;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (line.includes('"msg":"ready')) ready();
        if (line.includes('"msg":"this replica is now the leader"')) this.leading = true;
        if (line.includes('"msg":"this replica is no longer the leader"')) this.leading = false;
        if (line.includes('"level":50') || line.includes('"level":60')) this.lines.push(line);
      }
    });
    child.stderr?.on('data', (d: Buffer) => this.out?.write(d));
    this.exited = new Promise<void>((res) => {
      child.on('exit', (code, signal) => {
        this.out?.write(`--- exit code=${code} signal=${signal}\n`);
        this.leading = false;
        if (this.child === child) this.child = undefined;
        failed(new Error(`${this.name} exited (code ${code}, signal ${signal}) before it was ready; see ${this.logPath}`));
        res();
      });
    });
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        isReady,
        new Promise<never>((_, rej) => {
          timer = setTimeout(() => rej(new Error(`${this.name} not ready within ${timeoutMs} ms; see ${this.logPath}`)), timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Sends `signal` and waits for the process to exit (SIGTERM: its shutdown; after 30 s, SIGKILL). */
  async stop(signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill(signal);
    const hard = setTimeout(() => child.kill('SIGKILL'), 30_000);
    await this.exited;
    clearTimeout(hard);
  }

  errorLines(): string[] {
    return [...this.lines];
  }

  async close(): Promise<void> {
    await this.stop('SIGKILL');
    await new Promise<void>((r) => (this.out ? this.out.end(r) : r()));
    this.out = undefined;
  }
}

/** The answers of one command, from the sandbox's stored posts and ephemeral posts. */
export function repliesOf(fake: FakeMattermost, cmd: Command, index?: Map<string, Post[]>): string[] {
  const stored = index ? (index.get(cmd.id) ?? []) : fake.posts.filter((p) => p.user_id === BOT_ID && answeredBy(p.props).includes(cmd.id));
  const out = stored.map((p) => p.message);
  if (cmd.kind === 'mention') for (const e of fake.ephemeral) if (e.post.root_id === cmd.id && e.userId === userIdFor(cmd.user)) out.push(e.post.message);
  return out;
}

/**
 * The bot's stored replies by the post they answer: `mmops_reply_to`, and every id in
 * `mmops_covers` (one "busy" line answering several DMs of one person).
 */
function replyIndex(fake: FakeMattermost): Map<string, Post[]> {
  const m = new Map<string, Post[]>();
  for (const p of fake.posts) {
    if (p.user_id !== BOT_ID) continue;
    for (const to of answeredBy(p.props)) {
      const list = m.get(to) ?? [];
      list.push(p);
      m.set(to, list);
    }
  }
  return m;
}

const RESEND = /send it again|try again in a moment/;

/** Classifies one command by its answers. */
export function verdictOf(replies: readonly string[]): Verdict {
  if (replies.length === 0) return 'lost';
  if (replies.length > 1) return 'doubled';
  return RESEND.test(replies[0] ?? '') ? 'resend' : 'answered';
}

/** Runs one chaos session (see the module comment) and counts every command. */
export async function runChaos(opts: ChaosOptions): Promise<ChaosReport> {
  const seed = opts.seed ?? Date.now() % 2 ** 31;
  // traffic and faults draw from streams of their own, so a seed repeats both
  const rand = prng(seed);
  const faultRand = prng(seed ^ 0x5bd1e995);
  const say = opts.progress ?? (() => undefined);
  const replicas = Math.max(1, opts.replicas ?? 1);
  if (replicas > 1 && !opts.redisUrl) throw new Error('several replicas need redisUrl');
  const faults = new Set(opts.faults ?? ALL_FAULTS);
  const faultEveryMs = opts.faultEveryMs ?? 2_500;
  const entry = opts.entry === undefined || opts.entry === 'auto' ? (distIsFresh() ? 'dist' : 'tsx') : opts.entry;
  const built = entry === 'tsx' ? undefined : join(entry === 'dist' ? join(ROOT, 'dist') : entry.dir, 'src/main.js');
  if (built && !existsSync(built)) throw new Error(`no ${built}: build first (npm run build)`);
  const logDir = mkdtempSync(join(tmpdir(), 'mmops-chaos-'));
  const counts: Record<FaultKind, number> = { wsDrop: 0, hubRestart: 0, sigterm: 0, sigkill: 0, rateStorm: 0 };

  const fake = await startFakeMattermost({ seed: 'demo' });
  const lb = await startRoundRobinProxy();
  const stateDir = join(logDir, 'state');
  const bots: BotProcess[] = [];
  for (let i = 0; i < replicas; i++) {
    const env: Record<string, string> = {
      MM_URL: fake.url,
      MM_BOT_TOKEN: SANDBOX_BOT_TOKEN,
      MMOPS_LISTEN: '127.0.0.1:0',
      MMOPS_PUBLIC_URL: lb.url,
      LOG_LEVEL: 'info',
      // one replica keeps its state in the directory across restarts (as a deploy does)
      MMOPS_STATE_DIR: replicas === 1 ? stateDir : join(stateDir, String(i)),
      ...(opts.redisUrl ? { MMOPS_REDIS_URL: opts.redisUrl, MMOPS_REDIS_PREFIX: opts.redisPrefix ?? `mmops-chaos:${seed}:` } : {}),
      ...opts.env,
    };
    bots.push(new BotProcess(`bot${i}`, env, join(logDir, `bot${i}.log`), entry));
  }
  const restarting = new Set<number>();
  let restarts = 0;
  let sigkills = 0;
  const restart = async (i: number, signal: 'SIGKILL' | 'SIGTERM', downMs = 0): Promise<void> => {
    const bot = bots[i];
    if (!bot || restarting.has(i)) return;
    restarting.add(i);
    if (signal === 'SIGKILL') sigkills += 1;
    try {
      await bot.stop(signal);
      if (downMs > 0) await sleep(downMs);
      // a start can fail while the server refuses everything (429 storm): try again
      for (let attempt = 0; ; attempt++) {
        try {
          await bot.start();
          break;
        } catch (err) {
          if (attempt >= 3) throw err;
          say(`${bot.name} did not start (${err instanceof Error ? err.message : String(err)}); again`);
          await bot.stop('SIGKILL');
          await sleep(500);
        }
      }
      restarts += 1;
    } finally {
      restarting.delete(i);
    }
  };
  const ctx: ChaosContext = { fake, lb, bots, restart, log: say, leader: () => bots.findIndex((b) => b.running && b.leading) };

  const commands: Command[] = [];
  let report: ChaosReport | undefined;
  try {
    say(`chaos: seed ${seed}, ${replicas} bot process(es) (${typeof entry === 'string' ? entry : entry.dir}), logs in ${logDir}`);
    await Promise.all(bots.map((b) => b.start()));
    if (opts.beforeTraffic) await opts.beforeTraffic(ctx);

    // -- traffic: every command at a random moment of the window, from a random user
    const windowMs = opts.seconds * 1000;
    const plan: Array<{ at: number; kind: 'dm' | 'mention' }> = [];
    for (let i = 0; i < opts.dms; i++) plan.push({ at: rand() * windowMs, kind: 'dm' });
    for (let i = 0; i < opts.mentions; i++) plan.push({ at: rand() * windowMs, kind: 'mention' });
    plan.sort((a, b) => a.at - b.at);
    const started = Date.now();
    const traffic = (async () => {
      for (const p of plan) {
        const wait = started + p.at - Date.now();
        if (wait > 0) await sleep(wait);
        const user = CHAOS_USERS[Math.floor(rand() * CHAOS_USERS.length)] ?? 'alice';
        const target = TARGETS[Math.floor(rand() * TARGETS.length)] ?? 'bob';
        const post =
          p.kind === 'dm'
            ? await fake.postAs(user, '@mmops', `status @${target}`)
            : await fake.postAs(user, 'acme:town-square', `@mmops status @${target}`);
        commands.push({ id: post.id, kind: p.kind, user, channelId: post.channel_id, at: post.create_at });
      }
    })();

    // -- faults, one at a time, at random intervals, until the traffic is over
    let stormUntil = 0;
    const chaos = (async () => {
      const kinds = [...faults];
      const bag: FaultKind[] = [];
      const pending: Array<Promise<void>> = [];
      while (kinds.length > 0 && Date.now() - started < windowMs) {
        await sleep(faultEveryMs * (0.5 + faultRand()));
        if (Date.now() - started >= windowMs) break;
        // every kind once per round, in a random order: a short run still sees each
        if (bag.length === 0) bag.push(...[...kinds].sort(() => faultRand() - 0.5));
        const kind = bag.pop() as FaultKind;
        const i = Math.floor(faultRand() * bots.length);
        counts[kind] += 1;
        switch (kind) {
          case 'wsDrop':
            fake.dropSockets();
            say(`+${((Date.now() - started) / 1000).toFixed(1)} s: sockets dropped`);
            break;
          case 'hubRestart':
            fake.restartWebSocketHub();
            say(`+${((Date.now() - started) / 1000).toFixed(1)} s: WebSocket hub restarted (dead queues lost)`);
            break;
          case 'sigterm':
          case 'sigkill': {
            if (restarting.has(i)) {
              counts[kind] -= 1;
              bag.push(kind); // next time
              break;
            }
            const signal = kind === 'sigkill' ? 'SIGKILL' : 'SIGTERM';
            say(`+${((Date.now() - started) / 1000).toFixed(1)} s: ${bots[i]?.name} ${signal}`);
            pending.push(restart(i, signal, Math.floor(faultRand() * 1_500)));
            break;
          }
          case 'rateStorm': {
            // the server's own limiter at 2 requests/s (burst 2) for a few seconds: real
            // 429s with Retry-After, on REST and WebSocket upgrades alike
            say(`+${((Date.now() - started) / 1000).toFixed(1)} s: 429 storm`);
            stormUntil = Math.max(stormUntil, Date.now() + 1_500 + faultRand() * 2_500);
            fake.faults.rateLimit = { enabled: true, perSec: 2, burst: 2 };
            pending.push(
              (async () => {
                while (Date.now() < stormUntil) await sleep(Math.max(10, stormUntil - Date.now()));
                fake.faults.rateLimit = { enabled: false, perSec: 10, burst: 100 };
              })(),
            );
            break;
          }
        }
      }
      await Promise.all(pending);
    })();
    await Promise.all([traffic, chaos, opts.during?.(ctx)]);
    fake.faults.rateLimit = { enabled: false, perSec: 10, burst: 100 };
    // every bot is up again (a restart may still be running)
    while (restarting.size > 0) await sleep(50);
    const trafficEnded = Date.now();
    say(`traffic over: ${commands.length} commands in ${((trafficEnded - started) / 1000).toFixed(1)} s; settling`);

    // -- settle: until every command has an answer, then a little longer for doubles
    const settleMs = opts.settleMs ?? 60_000;
    let settledAt = trafficEnded + settleMs;
    for (;;) {
      const index = replyIndex(fake);
      const open = commands.filter((c) => repliesOf(fake, c, index).length === 0).length;
      if (open === 0) {
        settledAt = Date.now();
        break;
      }
      if (Date.now() - trafficEnded > settleMs) break;
      await sleep(250);
    }
    await sleep(1_500);
    if (opts.afterSettle) await opts.afterSettle(ctx);

    const index = replyIndex(fake);
    const lost: Command[] = [];
    const doubled: ChaosReport['doubled'] = [];
    let answered = 0;
    let resend = 0;
    for (const c of commands) {
      const replies = repliesOf(fake, c, index);
      const v = verdictOf(replies);
      if (v === 'answered') answered += 1;
      else if (v === 'resend') resend += 1;
      else if (v === 'lost') lost.push(c);
      else {
        const eph = c.kind === 'mention' ? fake.ephemeral.filter((e) => e.post.root_id === c.id) : [];
        const stored = index.get(c.id) ?? [];
        doubled.push({ ...c, replies: replies.map((r) => r.slice(0, 120)), ephemeral: eph.length > 0, answeredAt: [...stored, ...eph.map((e) => e.post)].map((p) => p.create_at) });
      }
    }
    report = {
      seed,
      seconds: opts.seconds,
      replicas,
      commands: commands.length,
      dms: commands.filter((c) => c.kind === 'dm').length,
      mentions: commands.filter((c) => c.kind === 'mention').length,
      answered,
      resend,
      lost,
      doubled,
      sigkills,
      faults: counts,
      restarts,
      refused429: fake.requests.filter((r) => r.status === 429).length,
      settleMs: settledAt - trafficEnded,
      logDir,
      errors: bots.flatMap((b) => b.errorLines()).slice(0, 20),
    };
    return report;
  } finally {
    for (const b of bots) await b.close();
    await lb.close();
    await fake.close();
    const clean = report !== undefined && report.lost.length === 0 && report.doubled.length === 0;
    if (clean && !opts.keepLogs) rmSync(logDir, { recursive: true, force: true });
  }
}

/** A few lines a person can read: what happened and what went wrong. */
export function formatReport(r: ChaosReport): string {
  const lines = [
    `chaos (seed ${r.seed}, ${r.seconds} s, ${r.replicas} process${r.replicas === 1 ? '' : 'es'}): ${r.commands} commands (${r.dms} DMs, ${r.mentions} mentions)`,
    `  answered once ${r.answered}, told to resend ${r.resend}, lost ${r.lost.length}, doubled ${r.doubled.length}`,
    `  faults: ${Object.entries(r.faults).map(([k, n]) => `${k} ${n}`).join(', ')}; restarts ${r.restarts} (SIGKILL ${r.sigkills}); 429s ${r.refused429}; settled in ${(r.settleMs / 1000).toFixed(1)} s`,
  ];
  for (const c of r.lost.slice(0, 10)) lines.push(`  lost: ${c.kind} ${c.id} from ${c.user} at ${new Date(c.at).toISOString()}`);
  for (const c of r.doubled.slice(0, 10)) {
    const when = c.answeredAt.map((t) => new Date(t).toISOString().slice(11, 23)).join(', ');
    lines.push(`  doubled${c.ephemeral ? ' (an ephemeral answer)' : ''}: ${c.kind} ${c.id} from ${c.user} at ${when}: ${JSON.stringify(c.replies)}`);
  }
  if (r.lost.length + r.doubled.length > 0) lines.push(`  bot logs: ${r.logDir}`);
  for (const e of r.errors.slice(0, 5)) lines.push(`  error: ${e.slice(0, 300)}`);
  return lines.join('\n');
}

/** Reads a bot log (for a post id: the lines that name it). */
export function grepLog(path: string, needle: string): string[] {
  return readFileSync(path, 'utf8').split('\n').filter((l) => l.includes(needle));
}
