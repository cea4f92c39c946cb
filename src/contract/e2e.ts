/**
 * The end-to-end part of the contract (`npm run contract -- --e2e`): the real bot, started
 * as its own process (`npm start`'s entry) against the given server with the given bot
 * token, used by an ordinary user through the server exactly as a person would: a DM, a
 * mention, a slash command through `POST /commands/execute`, a refusal that changes nothing,
 * a **Confirm** click through `POST /posts/{id}/actions/{id}`, and a DM sent while the bot
 * is stopped, answered once after it starts again. One row per step, like the wire checks;
 * everything it made is removed at the end, also after Ctrl-C (the signal given in `opts`).
 *
 * What it needs on a real server: the bot's token (a system admin: it writes back the
 * user's team role), an ordinary user's token, a scratch team both are members of (the bot
 * registers its slash commands only there, under triggers of its own), and a bot address
 * the server can reach (`botUrl`, for slash commands and clicks; allow it in
 * AllowedUntrustedInternalConnections when it is on a private network).
 *
 * @example
 *   const report = await runEndToEnd({ name: url, url, botToken, userToken, scratchTeam: 'scratch' }, { signal });
 *   console.log(renderTable(E2E_STEPS, report));
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, statSync, type Dirent } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { channelSchema, postSchema, teamSchema, userSchema, type Post } from '../mattermost/models.js';
import { createHttpClient, statusLine, type Frame, type RawAnswer, type Socket } from './http.js';
import type { SuiteReport } from './runner.js';
import type { CheckResult, Status } from './types.js';
import { packageRoot } from '../package-info.js';

/** Where and as whom the end-to-end part runs. Tokens stay inside the clients and the bot's environment. */
export interface E2ETarget {
  /** how the report names the server */
  name: string;
  url: string;
  /** the bot's access token (a system admin) */
  botToken: string;
  /** an ordinary user's token: the person who talks to the bot */
  userToken: string;
  /** a team both accounts are members of */
  scratchTeam: string;
  /** `host:port` the bot listens on (default 127.0.0.1 and a free port) */
  botListen?: string;
  /** the bot's address as the server reaches it (default http://<botListen>) */
  botUrl?: string;
}

export interface E2EOptions {
  signal?: AbortSignal;
  /** called after each step (progress output) */
  onResult?: (r: CheckResult) => void;
  /** how the bot is started (default {@link defaultBotCommand}: this checkout's build, or its source) */
  botCommand?: readonly string[];
  /** the longest one step may take (default 30 s) */
  stepTimeoutMs?: number;
  /** how long to wait after an answer for a second one (default 700 ms) */
  settleMs?: number;
  /** extra environment for the bot (tests) */
  botEnv?: Record<string, string>;
}

/** One row of the end-to-end table (the shape renderTable and differences read). */
export interface E2EStep {
  id: string;
  what: string;
  dependsOn: string;
  notes: string;
}

/** The steps, in order. */
export const E2E_STEPS: readonly E2EStep[] = [
  { id: 'e2e.start', what: 'the bot starts as a process against the server and registers its slash commands in the scratch team', dependsOn: 'everything', notes: '§0' },
  { id: 'e2e.dm', what: 'a DM from the user is answered once, in the DM', dependsOn: 'DM commands', notes: '§3.8' },
  { id: 'e2e.mention', what: 'a mention in a channel of the scratch team is answered once, in its thread', dependsOn: 'mentions', notes: '§3.8' },
  { id: 'e2e.slash', what: 'a slash command through POST /commands/execute gets its ephemeral answer', dependsOn: 'slash commands', notes: '§4.1' },
  { id: 'e2e.refusal', what: 'something the user may not do (make themself a team admin of the scratch team) is refused, and nothing changed', dependsOn: 'permissions', notes: '§5.9' },
  { id: 'e2e.confirm', what: 'a Confirm click through POST /posts/{id}/actions/{id} runs the confirmed change once (the user, made team admin of the scratch team for this step, becomes a plain member again; the roles are written back after)', dependsOn: 'Confirm / Cancel buttons', notes: '§8.3' },
  { id: 'e2e.restart', what: 'a DM sent while the bot is stopped is answered once after it starts again', dependsOn: 'catch-up after a restart', notes: '§5.11' },
];

const ROOT = packageRoot();
/** This file's folder: src/contract in a clone under tsx, dist/src/contract in the built code. */
const HERE = dirname(fileURLToPath(import.meta.url));

/** The newest modification time of the files under `dir` (0 when there is none). */
function newestUnder(dir: string): number {
  let newest = 0;
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestUnder(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/**
 * `npm start`'s entry from this checkout: the build (`npm run build`, as `npm start` runs
 * it) when it is newer than every source file, else the source through tsx (slower to start).
 */
export function defaultBotCommand(): string[] {
  // running the built code (an installed package has no sources): the bot of the same build
  if (HERE.startsWith(join(ROOT, 'dist') + sep)) return [process.execPath, join(HERE, '..', 'main.js')];
  const built = join(ROOT, 'dist/src/main.js');
  try {
    const at = statSync(built).mtimeMs;
    if (at >= Math.max(newestUnder(join(ROOT, 'src')), newestUnder(join(ROOT, 'commands')))) return [process.execPath, built];
  } catch {
    // not built
  }
  return [process.execPath, '--import', 'tsx', join(ROOT, 'src/main.ts')];
}

const WAIT_MS = 15_000;
const REPLY_TO = 'mmops_reply_to';

class StepFailure extends Error {}
function ensure(cond: unknown, message: string): asserts cond {
  if (!cond) throw new StepFailure(message);
}

const postListSchema = z.object({ order: z.array(z.string()), posts: z.record(z.string(), postSchema) });
const memberSchema = z.object({ roles: z.string(), scheme_admin: z.boolean().optional(), scheme_guest: z.boolean().optional() });
const commandSchema = z.object({ id: z.string(), trigger: z.string(), url: z.string(), team_id: z.string() });

/** A free TCP port on `host` (listen on 0, read it, close). */
async function freePort(host: string): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, host, () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => res(port));
    });
  });
}

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((res) => {
    const done = (): void => {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      res();
    };
    const t = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });

/** The bot as a child process: its log lines (pino JSON on stdout), start, stop. */
interface BotProcess {
  waitForLog(pred: (line: { msg: string; level: number }) => boolean, ms: number): Promise<{ msg: string } | undefined>;
  stop(): Promise<void>;
  readonly exited: boolean;
  /** the last lines it wrote, for a failure message */
  tail(): string;
}

function startBotProcess(command: readonly string[], env: Record<string, string>): BotProcess {
  const [cmd, ...args] = command;
  if (!cmd) throw new Error('no bot command');
  // the bot's settings are this run's only: none of the operator's own MM_* / MMOPS_* / LOG_LEVEL
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(MM_|MMOPS_|LOG_LEVEL$)/.test(k)));
  const child: ChildProcess = spawn(cmd, args, { cwd: ROOT, env: { ...inherited, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: Array<{ msg: string; level: number }> = [];
  const raw: string[] = [];
  const waiters = new Set<() => void>();
  let exited = false;
  let buf = '';
  const take = (chunk: Buffer): void => {
    buf += chunk.toString('utf8');
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      raw.push(line);
      if (raw.length > 40) raw.shift();
      try {
        const j: unknown = JSON.parse(line);
        const p = z.object({ msg: z.string(), level: z.number() }).safeParse(j);
        if (p.success) lines.push(p.data);
      } catch {
        // not a log line
      }
    }
    for (const w of [...waiters]) w();
  };
  child.stdout?.on('data', take);
  child.stderr?.on('data', (c: Buffer) => {
    raw.push(c.toString('utf8').trimEnd());
    if (raw.length > 40) raw.shift();
  });
  const exit = new Promise<void>((res) => {
    child.once('exit', () => {
      exited = true;
      for (const w of [...waiters]) w();
      res();
    });
  });
  return {
    get exited() {
      return exited;
    },
    waitForLog(pred, ms) {
      const found = lines.find(pred);
      if (found) return Promise.resolve(found);
      return new Promise((res) => {
        const check = (): void => {
          const hit = lines.find(pred);
          if (hit || exited) done(hit);
        };
        const done = (v: { msg: string } | undefined): void => {
          clearTimeout(timer);
          waiters.delete(check);
          res(v);
        };
        const timer = setTimeout(() => done(undefined), ms);
        waiters.add(check);
      });
    },
    async stop() {
      if (exited) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exit;
      clearTimeout(timer);
    },
    tail: () => raw.slice(-8).join('\n'),
  };
}

/** Runs the end-to-end steps; the report has one result per step (a step that cannot run is skipped). */
export async function runEndToEnd(target: E2ETarget, opts: E2EOptions = {}): Promise<SuiteReport> {
  const outer = opts.signal ?? new AbortController().signal;
  const report: SuiteReport = { target: target.name, version: '', results: [], cleanupFailures: [] };
  const holder = { signal: outer };
  const signalOf = (): AbortSignal => holder.signal;
  const bot = createHttpClient(target.url, target.botToken, 'bot', signalOf);
  const user = createHttpClient(target.url, target.userToken, 'user', signalOf);
  const undo: Array<{ label: string; fn: () => Promise<void> }> = [];
  const onCleanup = (label: string, fn: () => Promise<void>): void => {
    undo.push({ label, fn });
  };
  const settleMs = opts.settleMs ?? 700;
  const stateDir = mkdtempSync(join(tmpdir(), 'mmops-contract-e2e-'));
  let proc: BotProcess | undefined;
  let sock: Socket | undefined;

  const record = (id: string, status: Status, detail: string, started: number): void => {
    const r: CheckResult = { id, status, detail, ms: Date.now() - started };
    report.results.push(r);
    opts.onResult?.(r);
  };

  try {
    // set-up: both accounts, the scratch team, a channel both are in
    const meAnswer = await bot.get('/users/me');
    report.version = meAnswer.headers.get('x-version-id') ?? '';
    const me = parse(meAnswer, userSchema, 'bot token: GET /users/me');
    const caller = parse(await user.get('/users/me'), userSchema, 'user token: GET /users/me');
    if (caller.id === me.id) throw new Error('the bot token and --user-token belong to the same account');
    const team = parse(await bot.get(`/teams/name/${encodeURIComponent(target.scratchTeam)}`), teamSchema, `--scratch-team ${target.scratchTeam}`);
    const callerMember = parse(await bot.get(`/teams/${team.id}/members/${caller.id}`), memberSchema, `the user in team ${target.scratchTeam}`);
    const channels = parse(await user.get(`/users/${caller.id}/teams/${team.id}/channels`), z.array(channelSchema), "the user's channels in the scratch team");
    let channelId = '';
    for (const c of [...channels].sort((a, b) => Number(b.name === 'town-square') - Number(a.name === 'town-square'))) {
      if (c.type !== 'O' && c.type !== 'P') continue;
      if ((await bot.get(`/channels/${c.id}/members/${me.id}`)).status === 200) {
        channelId = c.id;
        break;
      }
    }
    sock = await user.socket({ withToken: true });
    const isGuest = callerMember.scheme_guest === true || /\bteam_guest\b/.test(callerMember.roles);
    const wasAdmin = isAdminMember(callerMember);
    // the user's team roles as they were, written back (idempotent) by the cleanup of the steps that may change them
    const restoreRoles = async (): Promise<void> => {
      const now = memberSchema.safeParse((await bot.get(`/teams/${team.id}/members/${caller.id}`)).json);
      if (now.success && isAdminMember(now.data) === wasAdmin) return;
      // the scheme flags: the role names are refused in a team with a permission scheme (5.37 app/team.go UpdateTeamMemberRoles)
      await bot.put(`/teams/${team.id}/members/${caller.id}/schemeRoles`, { scheme_admin: wasAdmin, scheme_user: true, scheme_guest: false });
    };

    // the bot process, with triggers of its own in the scratch team only
    const listen = target.botListen ?? `127.0.0.1:${await freePort('127.0.0.1')}`;
    const botUrl = (target.botUrl ?? `http://${listen}`).replace(/\/+$/, '');
    const rootTrigger = `mmopse2e${randomBytes(3).toString('hex')}`;
    const env: Record<string, string> = {
      MM_URL: target.url,
      MM_BOT_TOKEN: target.botToken,
      MMOPS_LISTEN: listen,
      MMOPS_PUBLIC_URL: botUrl,
      MMOPS_STATE_DIR: stateDir,
      MMOPS_TEAMS: team.name,
      MMOPS_ROOT_TRIGGER: rootTrigger,
      MMOPS_TRIGGER_PREFIX: `${rootTrigger}-`,
      MMOPS_ACTIONS_SECRET: randomBytes(24).toString('hex'),
      LOG_LEVEL: 'info',
      ...opts.botEnv,
    };
    // the slash commands it registers go when the run ends (registered before they exist: idempotent)
    onCleanup('slash commands of this run', async () => {
      const list = z.array(commandSchema).safeParse((await bot.get('/commands', { team_id: team.id, custom_only: true })).json);
      for (const c of list.success ? list.data : []) if (c.url.startsWith(botUrl) && c.trigger.startsWith(rootTrigger)) await bot.del(`/commands/${c.id}`);
    });
    const command = opts.botCommand ?? defaultBotCommand();
    const start = async (): Promise<BotProcess> => {
      const p = startBotProcess(command, env);
      proc = p;
      const ready = await p.waitForLog((l) => l.msg.startsWith('ready:'), 30_000);
      ensure(ready, `the bot did not get ready: ${p.exited ? 'it exited' : 'no "ready" line in 30 s'}\n${p.tail()}`);
      return p;
    };

    const myPosts: string[] = [];
    const botPosts = new Set<string>();
    onCleanup('posts of this run', async () => {
      for (const id of botPosts) await bot.del(`/posts/${id}`);
      for (const id of myPosts) await user.del(`/posts/${id}`);
    });
    const postAsUser = async (channel: string, message: string, rootId = ''): Promise<Post> => {
      const p = parse(await user.post('/posts', { channel_id: channel, message, root_id: rootId }), postSchema, 'POST /posts as the user');
      myPosts.push(p.id);
      return p;
    };
    /** The bot's stored answers to `post` (its `mmops_reply_to`), read as the user. */
    const answersTo = async (post: Post): Promise<Post[]> => {
      const list = postListSchema.safeParse((await user.get(`/channels/${post.channel_id}/posts`, { since: post.create_at - 1 })).json);
      const out = list.success ? Object.values(list.data.posts).filter((p) => p.user_id === me.id && p.props[REPLY_TO] === post.id && p.delete_at === 0) : [];
      for (const p of out) botPosts.add(p.id);
      return out;
    };
    /** An `ephemeral_message` to the user whose post (a JSON string, §3.8) matches. */
    const ephemeralFor = (pred: (p: Post) => boolean) => (f: Frame): boolean => {
      const text = f.event === 'ephemeral_message' ? f.data?.post : undefined;
      if (typeof text !== 'string') return false;
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        return false;
      }
      const p = postSchema.safeParse(json);
      return p.success && pred(p.data);
    };
    const until = async <T>(get: () => Promise<T | undefined>, ms = WAIT_MS): Promise<T | undefined> => {
      const deadline = Date.now() + ms;
      for (;;) {
        const v = await get();
        if (v !== undefined || outer.aborted || Date.now() > deadline) return v;
        await sleep(100, outer);
      }
    };
    /** Exactly one stored answer to `post`, after a moment for a second one to show up. */
    const answeredOnce = async (post: Post, what: string): Promise<Post> => {
      const first = await until(async () => ((await answersTo(post)).length > 0 ? true : undefined));
      ensure(first, `${what}: no answer in ${WAIT_MS / 1000} s`);
      await sleep(settleMs, outer);
      const all = await answersTo(post);
      ensure(all.length === 1, `${what}: ${all.length} answers`);
      return all[0] as Post;
    };
    const dmChannel = async (): Promise<string> => {
      const a = await user.post('/channels/direct', [caller.id, me.id]);
      return parse(a, channelSchema, 'POST /channels/direct').id;
    };

    const steps: Record<string, () => Promise<{ status: Status; detail: string }>> = {
      'e2e.start': async () => {
        const p = await start();
        const reg = await p.waitForLog((l) => l.msg.startsWith('slash commands registered'), 30_000);
        ensure(reg, 'ready, but the slash commands were not registered in 30 s');
        ensure(reg.msg.includes(`${team.name}: `) && reg.msg.includes(rootTrigger), `slash commands: ${reg.msg.slice(0, 200)}`);
        return { status: 'pass', detail: 'ready; slash commands registered in the scratch team' };
      },
      'e2e.dm': async () => {
        const dm = await dmChannel();
        const asked = await postAsUser(dm, `whois @${caller.username}`);
        const answer = await answeredOnce(asked, 'DM');
        ensure(answer.channel_id === dm, 'the answer is not in the DM');
        return { status: 'pass', detail: 'answered once in the DM' };
      },
      'e2e.mention': async () => {
        if (!channelId) return { status: 'skip', detail: 'no channel of the scratch team has both the user and the bot' };
        const asked = await postAsUser(channelId, `@${me.username} whois @${caller.username}`);
        // a public answer is a reply in the thread; a private one an ephemeral post there
        const stored = await until(async () => {
          const thread = postListSchema.safeParse((await user.get(`/posts/${asked.id}/thread`)).json);
          const mine = thread.success ? Object.values(thread.data.posts).filter((p) => p.user_id === me.id && p.root_id === asked.id) : [];
          for (const p of mine) botPosts.add(p.id);
          const eph = sock?.frames.filter(ephemeralFor((p) => p.root_id === asked.id)) ?? [];
          return mine.length + eph.length > 0 ? mine.length + eph.length : undefined;
        });
        ensure(stored, `no answer to the mention in ${WAIT_MS / 1000} s`);
        await sleep(settleMs, outer);
        const thread = postListSchema.safeParse((await user.get(`/posts/${asked.id}/thread`)).json);
        const mine = thread.success ? Object.values(thread.data.posts).filter((p) => p.user_id === me.id && p.root_id === asked.id) : [];
        for (const p of mine) botPosts.add(p.id);
        const eph = sock?.frames.filter(ephemeralFor((p) => p.root_id === asked.id)) ?? [];
        ensure(mine.length + eph.length === 1, `${mine.length + eph.length} answers to one mention`);
        return { status: 'pass', detail: `answered once in the thread (${mine.length ? 'a reply' : 'privately, an ephemeral post'})` };
      },
      'e2e.slash': async () => {
        if (!channelId) return { status: 'skip', detail: 'no channel of the scratch team has both the user and the bot' };
        const from = sock?.frames.length ?? 0;
        const r = await user.post('/commands/execute', { channel_id: channelId, team_id: team.id, command: `/${rootTrigger} whois @${caller.username}` });
        ensure(r.status === 200, `POST /commands/execute → ${statusLine(r)}`);
        const got = await until(async () => sock?.frames.slice(from).find(ephemeralFor((p) => p.channel_id === channelId && p.message.length > 0)));
        ensure(got, `no ephemeral answer in ${WAIT_MS / 1000} s`);
        return { status: 'pass', detail: 'POST /commands/execute 200; ephemeral answer received' };
      },
      'e2e.refusal': async () => {
        // a plain member asks to make themself a team admin: manage_team_roles is missing
        if (wasAdmin || isGuest) return { status: 'skip', detail: 'the user is not a plain member of the scratch team' };
        onCleanup("the user's team roles", restoreRoles);
        const dm = await dmChannel();
        const asked = await postAsUser(dm, `team role ${team.name} @${caller.username} team_admin`);
        const answer = await answeredOnce(asked, 'refusal');
        ensure(answer.message.includes('manage_team_roles'), `not the refusal: ${answer.message.slice(0, 120)}`);
        const after = parse(await bot.get(`/teams/${team.id}/members/${caller.id}`), memberSchema, 'the user in the scratch team');
        ensure(!isAdminMember(after), 'the user became a team admin');
        return { status: 'pass', detail: 'refused (manage_team_roles); the team roles are unchanged' };
      },
      'e2e.confirm': async () => {
        if (isGuest) return { status: 'skip', detail: 'the user is a guest in the scratch team' };
        onCleanup("the user's team roles", restoreRoles);
        const promoted = await bot.put(`/teams/${team.id}/members/${caller.id}/schemeRoles`, { scheme_admin: true, scheme_user: true, scheme_guest: false });
        ensure(promoted.status === 200, `making the user a team admin of the scratch team: ${statusLine(promoted)}`);
        const dm = await dmChannel();
        const asked = await postAsUser(dm, `team role ${team.name} @${caller.username} team_user`);
        const preview = await answeredOnce(asked, 'the confirmation');
        const ids = actionIds(preview);
        ensure(ids.includes('confirm'), `no Confirm button (answer: ${preview.message.slice(0, 120)})`);
        const click = await user.post(`/posts/${preview.id}/actions/confirm`, {});
        ensure(click.status === 200, `the Confirm click → ${statusLine(click)}`);
        const done = await until(async () => {
          const m = memberSchema.safeParse((await bot.get(`/teams/${team.id}/members/${caller.id}`)).json);
          return m.success && !isAdminMember(m.data) ? true : undefined;
        });
        ensure(done, 'the confirmed change did not happen');
        return { status: 'pass', detail: 'Confirm click 200; the change ran; roles written back after the run' };
      },
      'e2e.restart': async () => {
        ensure(proc, 'the bot is not running');
        await proc.stop();
        const dm = await dmChannel();
        const asked = await postAsUser(dm, `whois @${caller.username}`);
        await start();
        await answeredOnce(asked, 'the DM sent while the bot was stopped');
        return { status: 'pass', detail: 'stopped; the DM sent meanwhile was answered once after the start' };
      },
    };

    let broken = '';
    for (const step of E2E_STEPS) {
      const started = Date.now();
      if (outer.aborted) break;
      if (broken) {
        record(step.id, 'skip', broken, started);
        continue;
      }
      const fn = steps[step.id];
      if (!fn) continue;
      try {
        const timeoutMs = opts.stepTimeoutMs ?? 30_000;
        let timer: NodeJS.Timeout | undefined;
        const out = await Promise.race([
          fn(),
          new Promise<never>((_, rej) => {
            timer = setTimeout(() => rej(new StepFailure(`took longer than ${timeoutMs / 1000} s`)), timeoutMs);
          }),
        ]).finally(() => clearTimeout(timer));
        record(step.id, out.status, out.detail, started);
      } catch (err) {
        record(step.id, 'fail', err instanceof Error ? err.message : String(err), started);
        // without a running bot the later steps cannot say anything
        if (step.id === 'e2e.start' || !proc || proc.exited) broken = 'the bot is not running';
      }
    }
  } catch (err) {
    report.aborted = err instanceof Error ? err.message : String(err);
  } finally {
    await proc?.stop().catch(() => undefined);
    await sock?.close().catch(() => undefined);
    holder.signal = AbortSignal.timeout(30_000);
    while (undo.length > 0) {
      const step = undo.pop()!;
      try {
        await step.fn();
      } catch (err) {
        report.cleanupFailures.push(`${step.label}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    holder.signal = outer;
    rmSync(stateDir, { recursive: true, force: true });
  }
  return report;
}

function parse<T>(a: RawAnswer, schema: z.ZodType<T>, what: string): T {
  const r = schema.safeParse(a.json);
  if (!r.success) throw new Error(`${what} → ${statusLine(a)}`);
  return r.data;
}

/** Team admin by the scheme flag or an explicit role. */
function isAdminMember(m: z.infer<typeof memberSchema>): boolean {
  return m.scheme_admin === true || /\bteam_admin\b/.test(m.roles);
}

/** The ids of a post's buttons. */
function actionIds(post: Post): string[] {
  const p = z.object({ attachments: z.array(z.object({ actions: z.array(z.object({ id: z.string() })).optional() })) }).safeParse(post.props);
  return p.success ? p.data.attachments.flatMap((a) => (a.actions ?? []).map((x) => x.id)) : [];
}

