/**
 * The sandbox console (`npm run demo`): type as someone in the sandbox workspace and see
 * what mmops answers, rendered for a terminal, with the API calls it made for it.
 *
 * Lines (see `help` and docs/walkthrough.txt):
 *
 *   /whois @bob          a slash command, run the way the server runs it
 *   status @alice        a direct message to the bot (same as `dm status @alice`)
 *   @mmops whois ann     a post in the current channel mentioning the bot; answered in its thread
 *   as dave              act as another person          users      who is who
 *   in ops:incidents     another channel (or `in @bob`) channels   the channels
 *   attach avatar.png    a file for the next message    logs [N]   the bot's log
 *   help                 this list                      quit       leave (also Ctrl-D)
 *
 * In scripts (`--script FILE`, or lines on a non-terminal stdin) `#` lines are comments
 * and a leading `!` marks a line expected to be refused or to warn. A script fails
 * (exit 1) when any line is not as expected: an error (crash apology, slash HTTP error,
 * unknown command, no answer in time) always; a refusal or warning unless marked `!`;
 * a normal answer to a line marked `!`.
 *
 * How a verdict is known: the bot's own `mmops_commands_total` counter (what `/metrics`
 * serves) says which command ran and with which outcome; the fake server says what was
 * posted and which API calls the bot made.
 *
 * @example
 *   const sandbox = await startSandbox();
 *   const con = createConsole({ sandbox, output: process.stdout, color: true });
 *   const report = await con.runScript(readFileSync('docs/walkthrough.txt', 'utf8'));
 *   await sandbox.close();
 *   process.exitCode = report.exitCode;
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, extname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { Writable as WritableStream, type Readable, type Writable } from 'node:stream';
import { z } from 'zod';
import type { Post, SlashResult } from './fake-server.js';
import { newId } from './ids.js';
import { channelLabel, channelList, describeUser, peopleList, slashTriggers } from './console-people.js';
import { displayWidth, paint, renderMarkdown, summarizeCalls, toneOf, wrapSegs, type Style } from './console-render.js';
import type { Sandbox } from './console-sandbox.js';
import { describeFiles } from './console-files.js';
import { buttonsOf, DialogForm, postText, renderButtons, type ButtonSet } from './console-interactive.js';
import type { StoredChannel, StoredFile, StoredUser } from './store.js';

export interface ConsoleOptions {
  sandbox: Sandbox;
  output: Writable;
  /** ANSI colours (default false; the demo turns them on for a TTY without NO_COLOR) */
  color?: boolean;
  /** terminal width (default: the output's columns, else 100) */
  width?: number;
  /** who you are at first (default alice) */
  user?: string;
  /** where you are at first (default acme:town-square) */
  channel?: string;
  /** how long to wait for an answer (default 10 000 ms) */
  replyTimeoutMs?: number;
  /** an answer is complete once the bot was quiet this long (default 150 ms) */
  quietMs?: number;
  /** where pictures attached to answers are saved (default: mmops-sandbox-files in the temp directory) */
  filesDir?: string;
}

/** What a line did, for scripts and tests. */
export interface LineResult {
  line: string;
  kind: 'slash' | 'dm' | 'mention' | 'console' | 'blank' | 'click' | 'dialog';
  /** marked with `!`: expected to be refused or to warn */
  expectRefusal: boolean;
  /** ok = answered; refused = refused or warned; error = crash, HTTP error, unknown command, no answer */
  verdict: 'ok' | 'refused' | 'error' | 'none';
  /** the command and outcome the bot counted (mmops_commands_total) */
  command?: string;
  outcome?: string;
  /** why the verdict is error (or why the line is not as expected) */
  problem?: string;
  /** whether the line counts against a script */
  failed: boolean;
  /** the replies as the bot sent them (Markdown) */
  replies: Array<{ where: string; text: string }>;
  /** the bot's API calls, ids collapsed (`GET /users/{id}`) */
  apiCalls: string[];
  /** `quit` / `exit` */
  quit?: boolean;
}

export interface ScriptReport {
  /** 0 when every line was as expected, else 1 */
  exitCode: number;
  /** lines run (comments and blanks not counted) */
  ran: number;
  expectedRefusals: number;
  failures: Array<{ lineNo: number; line: string; reason: string }>;
}

export interface SandboxConsole {
  /** the current person and channel */
  readonly user: string;
  readonly channel: string;
  /** runs one console line and prints its result */
  run(line: string): Promise<LineResult>;
  /** runs a script (text of lines), echoing each line; prints a summary */
  runScript(text: string, opts?: { name?: string }): Promise<ScriptReport>;
  /** the interactive loop (node:readline) until quit, EOF or Ctrl-C; lines are echoed when `input` is no terminal */
  interact(input: Readable & { isTTY?: boolean }): Promise<void>;
  /** prints the start-up banner */
  banner(): void;
}

/** Words the console itself answers; anything else that is not a slash or a mention is a DM. */
const CONSOLE_WORDS = ['as', 'in', 'users', 'channels', 'attach', 'logs', 'click', 'help', 'quit', 'exit'] as const;

/** The immediate answer of the slash endpoint to a slow command (its result comes by response_url). */
const WORKING = /^Working on it/;

const commandCounter = z.object({ command: z.string(), outcome: z.string() });
const logLine = z.looseObject({ time: z.union([z.number(), z.string()]).optional(), level: z.number().optional(), msg: z.string().optional() });
const LEVELS: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };

/** Parses `mmops_commands_total{command="x",outcome="y"} n` lines of the exposition text. */
export function commandCounts(metricsText: string): Map<string, { command: string; outcome: string; count: number }> {
  const out = new Map<string, { command: string; outcome: string; count: number }>();
  for (const line of metricsText.split('\n')) {
    const m = /^mmops_commands_total\{(.*)\} ([0-9.e+]+)$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[1] ?? '').matchAll(/([a-z_]+)="((?:[^"\\]|\\.)*)"/g)) {
      labels[l[1] ?? ''] = (l[2] ?? '').replace(/\\n/g, '\n').replace(/\\(.)/g, '$1');
    }
    const parsed = commandCounter.safeParse(labels);
    if (!parsed.success) continue;
    out.set(`${parsed.data.command}\u0000${parsed.data.outcome}`, { ...parsed.data, count: Number(m[2]) });
  }
  return out;
}

/** Dispatcher outcomes → console verdicts. */
const VERDICT: Record<string, LineResult['verdict']> = {
  ok: 'ok',
  // a confirmation or an approval request: a normal answer (the next line may click)
  asked: 'ok',
  refused: 'refused',
  user_error: 'refused',
  unavailable: 'refused',
  crash: 'error',
  unknown_command: 'error',
  timeout: 'error',
};

/** EIO/EPIPE/EBADF: the terminal or pipe on the other side is gone. */
function isTerminalGone(err: unknown): boolean {
  const code = typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : '';
  return code === 'EIO' || code === 'EPIPE' || code === 'EBADF' || code === 'ENOTCONN';
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const MIME: Record<string, string> = {
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.bmp': 'image/bmp',
  '.webp': 'image/webp',
  '.txt': 'text/plain',
};

/** Creates a console on a started sandbox (see the module comment). */
export function createConsole(opts: ConsoleOptions): SandboxConsole {
  const { sandbox, output } = opts;
  const { fake } = sandbox;
  const store = fake.store;
  const color = opts.color ?? false;
  const columns = (): number => opts.width ?? (('columns' in output && typeof output.columns === 'number' && output.columns > 0 ? output.columns : 0) || 100);
  const replyTimeoutMs = opts.replyTimeoutMs ?? 10_000;
  const quietMs = opts.quietMs ?? 150;
  const me = sandbox.bot.user;
  if (!me) throw new Error('createConsole: the sandbox bot has not started');
  const bot: { id: string; username: string } = { id: me.id, username: me.username };
  const root = sandbox.config.rootTrigger;
  const filesDir = opts.filesDir ?? join(tmpdir(), 'mmops-sandbox-files');

  let user = (opts.user ?? 'alice').replace(/^@/, '');
  let channel = opts.channel ?? 'acme:town-square';
  let attachment: { file: StoredFile; from: string } | undefined;
  /** the last post with buttons shown (any user's): what `click N` clicks */
  let lastButtons: ButtonSet | undefined;
  /** a dialog the current user is filling in: lines answer its fields until it is submitted */
  let form: DialogForm | undefined;
  let dialogsSeen = fake.dialogs.length;
  /** posts by the bot already shown as answers; others are shown as "meanwhile" posts */
  const shown = new Set<string>();
  let scannedPosts = fake.posts.length;

  const print = (text = ''): void => {
    output.write(`${text}\n`);
  };
  const p = (text: string, style?: Style): string => paint(text, style, color);

  // ---------------------------------------------------------------------------
  // where we are

  const currentUser = (): StoredUser => store.requireUser(user);

  /** The channel spec resolved (`team:name` or `@user`), or a sentence saying why not. */
  function findChannel(spec: string): { channel: StoredChannel } | { error: string } | { dmWith: StoredUser } {
    if (spec.startsWith('@')) {
      const other = store.userByUsername(spec.slice(1));
      if (!other) return { error: `there is nobody called ${spec} (users lists everyone)` };
      return { dmWith: other };
    }
    const m = /^([a-z0-9][a-z0-9_-]*):([a-z0-9][a-z0-9_.-]*)$/.exec(spec);
    if (!m) return { error: `"${spec}" is not team:channel (e.g. acme:town-square) or @user` };
    const team = store.teamByName(m[1] ?? '');
    if (!team) return { error: `there is no team "${m[1]}" (teams: ${[...store.teams.values()].map((t) => t.name).join(', ')})` };
    const ch = store.channelByName(team.id, m[2] ?? '');
    if (!ch) return { error: `team ${team.name} has no channel "${m[2]}" (channels lists them)` };
    return { channel: ch };
  }

  /** The team the current channel belongs to (for DMs: the user's first team). */
  function currentTeamId(): string {
    const found = findChannel(channel);
    if ('channel' in found && found.channel.team_id) return found.channel.team_id;
    const u = currentUser();
    return store.teamMembers.find((m) => m.user_id === u.id && m.delete_at === 0)?.team_id ?? '';
  }

  const where = (): string => (channel.startsWith('@') ? `(dm ${channel.slice(1)})` : channel);
  const promptText = (): string =>
    form ? `  ${p('▸', 'cyan')} ${form.prompt()} ` : `${p(user, 'bold')}${p('@', 'dim')}${where()}${p('>', 'dim')} `;

  // ---------------------------------------------------------------------------
  // observing the bot

  interface Mark {
    requests: number;
    posts: number;
    ephemeral: number;
    counts: ReturnType<typeof commandCounts>;
    at: number;
  }
  const mark = (): Mark => ({
    requests: fake.requests.length,
    posts: fake.posts.length,
    ephemeral: fake.ephemeral.length,
    counts: commandCounts(sandbox.bot.metrics.render()),
    at: Date.now(),
  });
  const activity = (): number => fake.requests.length + fake.posts.length + fake.ephemeral.length;

  /** The commands the bot counted since `m` (normally one). */
  function servedSince(m: Mark): Array<{ command: string; outcome: string }> {
    const now = commandCounts(sandbox.bot.metrics.render());
    const out: Array<{ command: string; outcome: string }> = [];
    for (const [key, v] of now) if (v.count > (m.counts.get(key)?.count ?? 0)) out.push({ command: v.command, outcome: v.outcome });
    return out;
  }

  function callsSince(m: Mark): string[] {
    return summarizeCalls(fake.requests.slice(m.requests).filter((r) => r.userId === bot.id || r.path.startsWith('/hooks/')));
  }

  /** Waits until `done()` holds and nothing happened for quietMs; false on timeout. */
  async function settle(done: () => boolean, timeoutMs = replyTimeoutMs): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    let last = activity();
    let lastChange = Date.now();
    for (;;) {
      const a = activity();
      if (a !== last) {
        last = a;
        lastChange = Date.now();
      }
      if (done() && Date.now() - lastChange >= quietMs) return true;
      if (Date.now() > deadline) return false;
      await sleep(15);
    }
  }

  // ---------------------------------------------------------------------------
  // printing replies

  const width = (): number => Math.max(30, columns() - 4);

  function printReply(header: string, text: string): void {
    const tone = toneOf(text);
    const edge = tone === 'refused' || tone === 'error' ? 'red' : tone === 'warning' ? 'yellow' : 'dim';
    print(`  ${p('┌', edge)} ${p(header, 'dim')}`);
    for (const l of renderMarkdown(text, { color, width: width() })) print(`  ${p('│', edge)} ${l}`);
  }

  /** A post with its attachments, and its buttons (numbered; they become what `click N` clicks). */
  function printPost(header: string, post: Post): void {
    printReply(header, postText(post));
    for (const l of describeFiles(store, post, { dir: filesDir })) print(`  ${p('│', 'dim')} ${l}`);
    printButtons(post);
  }

  function printButtons(post: Post): void {
    const set = buttonsOf(post);
    if (!set) return;
    lastButtons = set;
    for (const l of renderButtons(set, color, width() - 2)) print(`  ${p('│', 'dim')} ${l}`);
  }

  /** Prints `first` then `items` joined by ` · `, wrapped between items, in `style`. */
  function printWrapped(lead: string, items: string[], style: Style): void {
    const max = width();
    const lines: string[] = [];
    let cur = '';
    for (const item of items) {
      if (cur === '') cur = item;
      else if (displayWidth(`${cur} · ${item}`) <= max) cur = `${cur} · ${item}`;
      else {
        lines.push(`${cur} ·`);
        cur = item;
      }
    }
    if (cur !== '') lines.push(cur);
    lines.forEach((l, i) => print(`  ${i === 0 ? lead : ' '} ${i === 0 ? '' : '  '}${p(l, style)}`));
  }

  function printFooter(served: Array<{ command: string; outcome: string }>, calls: string[]): void {
    const s = served[0];
    const head = !s ? [] : s.outcome === 'unknown_command' ? ['unknown command'] : [`${s.command}: ${s.outcome}`];
    const api = calls.length === 0 ? ['no API calls'] : calls.map((c, i) => (i === 0 ? `API: ${c}` : c));
    printWrapped(p('└', 'dim'), [...head, ...api], 'dim');
  }

  function printProblem(text: string): void {
    const lines = wrapSegs([{ text }], width() - 2, false, '');
    lines.forEach((segs, i) => print(`  ${i === 0 ? p('✖', 'boldRed') : ' '} ${segs.map((x) => x.text).join('').trimStart()}`));
  }
  function printNote(text: string): void {
    for (const segs of wrapSegs([{ text }], width(), false, '')) print(`  ${p(segs.map((x) => x.text).join('').trimStart(), 'dim')}`);
  }

  // ---------------------------------------------------------------------------
  // the three ways to reach the bot

  function finish(
    base: Pick<LineResult, 'line' | 'kind' | 'expectRefusal'>,
    m: Mark,
    replies: LineResult['replies'],
    problem?: string,
    verdictHint?: LineResult['verdict'],
  ): LineResult {
    const served = servedSince(m);
    const calls = callsSince(m);
    const s = served[0];
    let verdict: LineResult['verdict'] = verdictHint ?? (s ? (VERDICT[s.outcome] ?? 'error') : 'none');
    let why = problem;
    if (!why && s && verdict === 'error') why = s.outcome === 'unknown_command' ? 'the bot does not know this command' : `the bot answered with an error (${s.outcome})`;
    const crash = replies.find((r) => /Sorry, something went wrong/.test(r.text));
    if (crash) {
      verdict = 'error';
      why = 'the bot crashed (“Sorry, something went wrong”)';
    }
    if (!s && !why && replies.length > 0) {
      // no counter moved (e.g. a refusal before dispatch): judge by the tone marker
      const tone = toneOf(replies[0]?.text ?? '');
      verdict = tone === 'error' ? 'error' : tone === 'refused' || tone === 'warning' ? 'refused' : 'ok';
    }
    // a dialog opened for the user is the answer (the slash reply itself is empty then)
    const dialogOpened = fake.dialogs.slice(dialogsSeen).some((d) => d.userId === currentUser().id);
    if (!why && replies.length === 0 && verdict !== 'refused' && !dialogOpened) {
      verdict = 'error';
      why = `no answer within ${Math.round(replyTimeoutMs / 1000)} s`;
    }
    if (replies.length > 0 || served.length > 0 || calls.length > 0) printFooter(served, calls);
    if (why) printProblem(why);
    return {
      ...base,
      verdict,
      ...(s ? { command: s.command, outcome: s.outcome } : {}),
      ...(why ? { problem: why } : {}),
      failed: false,
      replies,
      apiCalls: calls,
    };
  }

  async function runSlash(base: Pick<LineResult, 'line' | 'kind' | 'expectRefusal'>, text: string): Promise<LineResult> {
    const m = mark();
    let res: SlashResult;
    try {
      res = await fake.executeSlash(user, channel, text);
    } catch (err) {
      return finish(base, m, [], `the sandbox could not run it: ${err instanceof Error ? err.message : String(err)}`, 'error');
    }
    if (res.error) {
      let why = `Mattermost answered ${res.error.status_code}: ${res.error.message}`;
      if (res.error.id === 'api.command.execute_command.not_found.app_error') {
        const triggers = slashTriggers(store, res.request?.form.get('team_id') ?? currentTeamId(), root);
        why += triggers.length > 0 ? ` Slash commands here: ${triggers.join(' ')} (built-in triggers like /status and /help are the server's own; use /${root} status, /${root} help).` : ' No slash command of mmops is registered in this team.';
      }
      return finish(base, m, [], why, 'error');
    }
    const replies: LineResult['replies'] = [];
    const response = res.response;
    const parts = response ? [response, ...(response.extra_responses ?? [])] : [];
    const seen = new Set([...res.posts, ...res.ephemeral].map((x) => x.id));
    const label = (type: string | undefined, i: number, n: number, later?: string): string => {
      const vis = type === 'in_channel' ? `in ${where()}, for everyone` : `only ${user} sees this`;
      return [`mmops${later ? `, ${later}` : ''}`, vis, n > 1 ? `part ${i + 1} of ${n}` : ''].filter((x) => x !== '').join(' · ');
    };
    parts.forEach((part, i) => {
      const t = part.text ?? '';
      // an empty answer (e.g. when the bot opened a dialog instead) shows nothing, as in a client
      if (t === '' && !part.attachments?.length) return;
      replies.push({ where: part.response_type === 'in_channel' ? 'channel' : 'ephemeral', text: t });
      printReply(label(part.response_type, i, parts.length), t);
    });
    for (const made of [...res.posts, ...res.ephemeral]) printButtons(made);
    if (parts.length === 1 && WORKING.test(parts[0]?.text ?? '')) {
      // a slow command: its answer arrives later through response_url
      const channelId = res.request?.form.get('channel_id') ?? '';
      const u = currentUser();
      const delivered = (): Post[] => [
        ...fake.posts.slice(m.posts).filter((x) => x.user_id === u.id && x.channel_id === channelId && x.props.from_webhook === 'true'),
        ...fake.ephemeral.slice(m.ephemeral).filter((e) => e.userId === u.id && e.post.channel_id === channelId).map((e) => e.post),
      ].filter((x) => !seen.has(x.id));
      const ok = await settle(() => delivered().length > 0 && servedSince(m).length > 0);
      const later = delivered();
      const secs = ((Date.now() - m.at) / 1000).toFixed(1);
      later.forEach((x, i) => {
        const type = x.type === 'system_ephemeral' ? 'ephemeral' : 'in_channel';
        replies.push({ where: type === 'in_channel' ? 'channel' : 'ephemeral', text: x.message });
        printPost(label(type, i, later.length, `${secs} s later, by response_url`), x);
      });
      if (!ok && later.length === 0) return finish(base, m, [], `the answer did not follow within ${Math.round(replyTimeoutMs / 1000)} s`, 'error');
      return finish(base, m, replies);
    }
    return finish(base, m, replies);
  }

  /** Takes the pending attachment (if any) for a post. */
  function takeAttachment(): string[] {
    if (!attachment) return [];
    const id = attachment.file.id;
    printNote(`(with ${attachment.file.name} attached)`);
    attachment = undefined;
    return [id];
  }

  async function runPost(base: Pick<LineResult, 'line' | 'kind' | 'expectRefusal'>, target: string, text: string): Promise<LineResult> {
    const u = currentUser();
    const m = mark();
    if (u.is_bot) {
      // the WebSocket intake drops posts by bots (unless MMOPS_ALLOW_BOTS): nothing to wait for
      const why = `@${bot.username} ignores posts by bots; ${user} can still try a slash command`;
      printNote(why);
      return { ...base, verdict: 'refused', problem: why, failed: false, replies: [], apiCalls: [] };
    }
    let post: Post;
    try {
      post = await fake.postAs(user, target, text, { fileIds: takeAttachment() });
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      return finish(base, m, [], `Mattermost did not accept the post: ${msg}`, 'error');
    }
    const direct = base.kind === 'dm' || store.channels.get(post.channel_id)?.type === 'D';
    const replies = (): Array<{ where: string; post: Post }> => {
      const dm = store.directChannel(bot.id, u.id)?.id;
      const posts = fake.posts.slice(m.posts).filter((x) => x.user_id === bot.id);
      const out: Array<{ where: string; post: Post }> = [];
      for (const x of posts) {
        if (direct ? x.channel_id === post.channel_id : x.root_id === post.id) out.push({ where: direct ? 'dm' : 'thread', post: x });
        else if (!direct && x.channel_id === dm) out.push({ where: 'dm', post: x });
      }
      for (const e of fake.ephemeral.slice(m.ephemeral)) {
        if (e.userId === u.id && (e.post.root_id === post.id || e.post.channel_id === post.channel_id)) out.push({ where: 'ephemeral', post: e.post });
      }
      return out;
    };
    await settle(() => replies().length > 0 && servedSince(m).length > 0);
    const got = replies();
    const labels: Record<string, string> = {
      dm: direct ? `mmops, in your DM with @${bot.username}` : `mmops, by direct message to ${user}`,
      thread: `mmops, in the thread in ${where()}, for everyone`,
      ephemeral: `mmops, in the thread, only ${user} sees this`,
    };
    for (const r of got) shown.add(r.post.id);
    got.forEach((r, i) => printPost(`${labels[r.where] ?? 'mmops'}${got.length > 1 ? ` · part ${i + 1} of ${got.length}` : ''}`, r.post));
    return finish(base, m, got.map((r) => ({ where: r.where, text: r.post.message })));
  }

  /**
   * Posts the bot made on its own since the last line (a health watch noticing a change,
   * an audit summary): not answers to anything typed, but part of what it does.
   */
  function printMeanwhile(): void {
    const fresh = fake.posts.slice(scannedPosts).filter((x) => x.user_id === bot.id && !shown.has(x.id));
    scannedPosts = fake.posts.length;
    for (const x of fresh) {
      shown.add(x.id);
      const ch = store.channels.get(x.channel_id);
      const place = ch ? (ch.type === 'D' ? `a DM with ${channelLabel(store, ch, bot.id)}` : channelLabel(store, ch)) : 'a channel';
      printPost(`meanwhile, mmops posted in ${place}${x.root_id ? ' (in a thread)' : ''}`, x);
    }
  }

  // ---------------------------------------------------------------------------
  // buttons and dialogs (docs/mattermost-notes.md §8)

  const errorText = (body: unknown): string =>
    typeof body === 'object' && body !== null && 'message' in body && typeof body.message === 'string' ? body.message : JSON.stringify(body).slice(0, 200);

  /** What the bot did in answer to a click or a submission: edited posts, ephemeral replies to `user`. */
  function answersSince(m: Mark, edited: Map<string, number>): Array<{ where: string; post: Post }> {
    const u = currentUser();
    const out: Array<{ where: string; post: Post }> = [];
    for (const [id, updateAt] of edited) {
      const stored = fake.posts.find((x) => x.id === id);
      if (stored && stored.update_at !== updateAt) out.push({ where: 'updated', post: stored });
      const eph = fake.ephemeral.find((e) => e.post.id === id);
      if (eph && eph.post.update_at !== updateAt) out.push({ where: 'updated', post: eph.post });
    }
    for (const e of fake.ephemeral.slice(m.ephemeral)) if (e.userId === u.id && !edited.has(e.post.id)) out.push({ where: 'ephemeral', post: e.post });
    return out;
  }

  /** `click N [option]`: the Nth button of the last post with buttons, as the current user. */
  async function runClick(base: Pick<LineResult, 'line' | 'kind' | 'expectRefusal'>, arg: string): Promise<LineResult> {
    const fail = (problem: string): LineResult => {
      printProblem(problem);
      return { ...base, verdict: 'error', problem, failed: false, replies: [], apiCalls: [] };
    };
    const set = lastButtons;
    if (!set) return fail('there are no buttons to click yet; a confirmation shows them (e.g. /mmops user deactivate @bob)');
    const [nText = '', ...optionWords] = arg.split(/\s+/);
    const n = Number(nText);
    if (!Number.isInteger(n) || n < 1 || n > set.actions.length) return fail(`click which? 1…${set.actions.length} (${set.actions.map((a, i) => `${i + 1}=${a.name}`).join(', ')})`);
    const action = set.actions[n - 1];
    if (!action) return fail('no such button');
    const option = optionWords.join(' ');
    if (action.type === 'select' && !option) return fail(`${action.name} is a menu: click ${n} VALUE (${action.options.map((o) => o.value).join(', ') || 'any value'})`);
    const m = mark();
    const edited = new Map<string, number>();
    const before = fake.posts.find((x) => x.id === set.postId) ?? fake.ephemeral.find((e) => e.post.id === set.postId)?.post;
    edited.set(set.postId, before?.update_at ?? 0);
    printNote(`${user} clicks “${action.name}”${option ? ` (${option})` : ''}`);
    let res: { status: number; body: unknown };
    try {
      res = await fake.clickAction(user, set.postId, action.id, { ...(option ? { selectedOption: option } : {}), ...(set.ephemeral ? { cookie: action.cookie ?? '' } : {}) });
    } catch (err) {
      return finish(base, m, [], `the sandbox could not click: ${err instanceof Error ? err.message : String(err)}`, 'error');
    }
    await settle(() => true);
    if (res.status !== 200) return finish(base, m, [], `Mattermost answered the click with ${res.status}: ${errorText(res.body)}`, 'error');
    const got = answersSince(m, edited);
    for (const r of got) shown.add(r.post.id);
    const labels: Record<string, string> = { updated: 'mmops updated the message', ephemeral: `mmops, only ${user} sees this` };
    got.forEach((r) => printPost(labels[r.where] ?? 'mmops', r.post));
    const opened = openDialogs();
    if (got.length === 0 && !opened) {
      printNote('the click went through; mmops changed nothing');
      return { ...base, verdict: 'ok', failed: false, replies: [], apiCalls: callsSince(m) };
    }
    return finish(base, m, got.map((r) => ({ where: r.where, text: postText(r.post) })), undefined, got.length === 0 ? 'ok' : undefined);
  }

  /** Dialogs opened since the last look: the current user's becomes the form being filled in. */
  function openDialogs(): boolean {
    const fresh = fake.dialogs.slice(dialogsSeen);
    dialogsSeen = fake.dialogs.length;
    let mine = false;
    for (const d of fresh) {
      const owner = store.users.get(d.userId)?.username ?? d.userId;
      if (owner !== user) {
        printNote(`(a dialog “${d.dialog.title}” opened for ${owner}; as ${owner} to fill it in)`);
        continue;
      }
      form = new DialogForm(d);
      mine = true;
      const [title = '', ...rest] = form.header();
      print(`  ${p('┌', 'cyan')} ${p(`dialog: ${title}`, 'bold')}`);
      for (const l of rest) print(`  ${p('│', 'cyan')} ${l}`);
      if (d.warnings.length > 0) printNote(`(Mattermost logged: ${d.warnings.join('; ')})`);
    }
    return mine;
  }

  /** A line while a dialog is open: the answer to its current field, or `cancel`. */
  async function runDialogLine(line: string, expectRefusal: boolean): Promise<LineResult> {
    const f = form;
    const base = { line: f?.secret ? '••••' : line, kind: 'console' as const, expectRefusal };
    const quiet: LineResult = { ...base, verdict: 'none', failed: false, replies: [], apiCalls: [] };
    if (!f) return quiet;
    if (line === 'cancel') {
      form = undefined;
      if (f.opened.dialog.notify_on_cancel) {
        const r = await fake.submitDialog(user, {}, { dialog: f.opened, cancelled: true });
        printNote(`dialog cancelled; mmops was told (${r.status})`);
      } else printNote('dialog closed; nothing was sent');
      return quiet;
    }
    const problem = f.answer(line);
    if (problem) {
      printNote(problem);
      return quiet;
    }
    if (!f.done) return quiet;
    // every field answered: submit like a client
    const m = mark();
    const submitted = { ...base, kind: 'dialog' as const };
    const res = await fake.submitDialog(user, f.values, { dialog: f.opened });
    await settle(() => true);
    if (res.status !== 200) {
      form = undefined;
      return finish(submitted, m, [], `Mattermost answered the submission with ${res.status}: ${errorText(res.body)}`, 'error');
    }
    const body = typeof res.body === 'object' && res.body !== null ? res.body : {};
    const errors = 'errors' in body && typeof body.errors === 'object' && body.errors !== null ? Object.entries(body.errors).map(([k, v]) => [k, String(v)] as const) : [];
    if (errors.length > 0) {
      f.reopen(Object.fromEntries(errors));
      for (const [k, v] of errors) printReply(`mmops refused “${k}”`, `:no_entry: ${v}`);
      if (f.done) form = undefined;
      return { ...submitted, verdict: 'refused', problem: `mmops refused the form: ${errors.map(([k, v]) => `${k}: ${v}`).join('; ')}`, failed: false, replies: [], apiCalls: callsSince(m) };
    }
    form = undefined;
    if ('error' in body && typeof body.error === 'string' && body.error) {
      printReply('mmops refused the form', `:no_entry: ${body.error}`);
      return { ...submitted, verdict: 'refused', problem: body.error, failed: false, replies: [{ where: 'dialog', text: body.error }], apiCalls: callsSince(m) };
    }
    printNote('submitted');
    const got = answersSince(m, new Map());
    for (const r of got) shown.add(r.post.id);
    got.forEach((r) => printPost(`mmops, only ${user} sees this`, r.post));
    return finish(submitted, m, got.map((r) => ({ where: r.where, text: postText(r.post) })), undefined, got.length === 0 ? 'ok' : undefined);
  }

  // ---------------------------------------------------------------------------
  // console words

  function printUsers(): void {
    const people = peopleList(store, bot.id);
    const w = Math.max(...people.map((x) => x.username.length));
    for (const x of people) {
      const you = x.username === user ? p('  ← you', 'green') : '';
      print(`  ${p(x.username.padEnd(w), x.active ? 'bold' : 'dim')}  ${x.about}${you}`);
    }
  }

  function printChannels(): void {
    const list = channelList(store, bot.id, currentUser().id);
    const w = Math.max(...list.map((c) => c.label.length));
    const tw = Math.max(...list.map((c) => displayWidth(c.title)));
    for (const c of list) {
      const notes = [c.kind, c.botIn ? '' : `@${bot.username} not in it`, c.youIn ? '' : `${user} not in it`].filter((x) => x !== '').join(', ');
      print(`  ${p(c.label.padEnd(w), 'bold')}  ${c.title.padEnd(tw)}  ${p(notes, 'dim')}`);
    }
    print(p(`  plus DMs: in @name (e.g. in @${bot.username} for slash commands in your DM with the bot)`, 'dim'));
  }

  function printHelp(): void {
    const rows: Array<[string, string]> = [
      ['/whois @bob', 'a slash command, run the way Mattermost runs it'],
      ['status @alice', `a direct message to @${bot.username} (the same as: dm status @alice)`],
      [`@${bot.username} whois ann`, `a post in this channel mentioning @${bot.username}; it answers in the thread`],
      ['as dave', 'act as someone else (users: who is who)'],
      ['in ops:incidents', 'go to another channel, or a DM: in @bob (channels: the list)'],
      ['attach avatar.png', 'attach a file to your next message (seeded: avatar.png, notes.txt; or a path)'],
      ['click 1', 'click the first button of the last message with buttons (as you); a menu: click 1 VALUE'],
      ['logs [N]', "the bot's last N log lines (default 15)"],
      ['help / quit', 'this help / leave (also exit or Ctrl-D)'],
    ];
    const w = Math.max(...rows.map((r) => r[0].length));
    for (const [a, b] of rows) print(`  ${p(a.padEnd(w), 'cyan')}  ${b}`);
    const triggers = slashTriggers(store, currentTeamId(), root);
    // the help pointer first: a long trigger list is cut at the terminal width
    printNote(`/${root} help lists what each does. Slash commands here: ${triggers.join(' ') || '(none)'}`);
    printNote('"help" alone is this list; to ask the bot, type dm help (or help whois).');
  }

  function printLogs(n: number): void {
    const lines = sandbox.logTail(n);
    printNote(`the last ${lines.length} lines of ${sandbox.logFile}:`);
    if (lines.length === 0) {
      printNote(`(the log at ${sandbox.logFile} is empty)`);
      return;
    }
    for (const l of lines) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(l);
      } catch {
        print(`  ${l}`);
        continue;
      }
      const r = logLine.safeParse(parsed);
      if (!r.success) {
        print(`  ${l}`);
        continue;
      }
      const { time, level, msg, pid: _pid, hostname: _host, app: _app, ...rest } = r.data;
      const at = time === undefined ? undefined : new Date(time);
      const t = at && !Number.isNaN(at.getTime()) ? at.toTimeString().slice(0, 8) : '';
      const lv = LEVELS[level ?? 30] ?? String(level);
      const extra = Object.keys(rest).length > 0 ? ` ${JSON.stringify(rest)}` : '';
      const style: Style | undefined = (level ?? 30) >= 50 ? 'red' : (level ?? 30) >= 40 ? 'yellow' : undefined;
      // one line per entry, cut to the terminal (the whole entry is in the file)
      const head = `${t} ${lv.padEnd(5)} ${msg ?? ''}`;
      const room = Math.max(0, columns() - 2 - displayWidth(head));
      const tail = extra.length > room ? `${extra.slice(0, Math.max(0, room - 1))}…` : extra;
      print(`  ${p(t, 'dim')} ${p(lv.padEnd(5), style)} ${msg ?? ''}${p(tail, 'dim')}`);
    }
  }

  function attach(arg: string): string | undefined {
    if (arg === '' ) {
      printNote(attachment ? `${attachment.file.name} is attached to your next message` : 'nothing attached; attach NAME (avatar.png, notes.txt) or a file path');
      return undefined;
    }
    if (arg === 'none') {
      attachment = undefined;
      printNote('attachment removed');
      return undefined;
    }
    const u = currentUser();
    const seeded = [...store.files.values()].find((f) => f.name === arg && f.delete_at === 0);
    let data: Uint8Array;
    let name: string;
    let mime: string;
    if (seeded) {
      data = seeded.data;
      name = seeded.name;
      mime = seeded.mime_type;
    } else {
      if (!existsSync(arg) || !statSync(arg).isFile()) {
        const names = [...store.files.values()].map((f) => f.name).join(', ');
        return `no file "${arg}": give a seeded file (${names}) or the path of a file on this machine`;
      }
      if (statSync(arg).size > 10 * 1024 * 1024) return `${arg} is larger than 10 MB`;
      data = new Uint8Array(readFileSync(arg));
      name = basename(arg);
      mime = MIME[extname(arg).toLowerCase()] ?? 'application/octet-stream';
    }
    // like uploading it in a client: the file belongs to whoever attaches it
    const now = Date.now();
    const file: StoredFile = {
      id: newId(),
      user_id: u.id,
      post_id: '',
      channel_id: '',
      create_at: now,
      update_at: now,
      delete_at: 0,
      name,
      extension: extname(name).slice(1).toLowerCase(),
      size: data.byteLength,
      mime_type: mime,
      width: seeded?.width ?? 0,
      height: seeded?.height ?? 0,
      has_preview_image: mime.startsWith('image/'),
      data,
    };
    store.files.set(file.id, file);
    attachment = { file, from: arg };
    printNote(`${name} (${data.byteLength} bytes) uploaded as ${user}; it goes with your next message (dm or @${bot.username})`);
    return undefined;
  }

  function consoleWord(base: Pick<LineResult, 'line' | 'kind' | 'expectRefusal'>, word: string, arg: string): LineResult {
    const done = (problem?: string, quit?: boolean): LineResult => {
      if (problem) printProblem(problem);
      return { ...base, verdict: problem ? 'error' : 'none', ...(problem ? { problem } : {}), failed: false, replies: [], apiCalls: [], ...(quit ? { quit } : {}) };
    };
    switch (word) {
      case 'as': {
        const name = arg.replace(/^@/, '').toLowerCase();
        if (!name) return done('as whom? e.g. as dave (users lists everyone)');
        const u = store.userByUsername(name);
        if (!u) return done(`there is nobody called "${name}" (users lists everyone)`);
        if (u.id === bot.id) return done(`@${bot.username} is the bot itself; act as a person (users lists them)`);
        user = u.username;
        printNote(`you are now ${user}: ${describeUser(store, u, bot.id)}`);
        const found = findChannel(channel);
        if ('channel' in found && !store.isChannelMember(found.channel.id, u.id)) {
          printNote(`(${user} is not a member of ${channel}; Mattermost may refuse their posts there)`);
        }
        return done();
      }
      case 'in': {
        if (!arg) return done('in which channel? e.g. in ops:town-square, or in @bob for a DM (channels lists them)');
        const found = findChannel(arg);
        if ('error' in found) return done(found.error);
        if ('dmWith' in found) {
          if (found.dmWith.username === user) return done('that is yourself; pick someone else for a DM');
          channel = `@${found.dmWith.username}`;
          printNote(`now in your DM with ${channel}`);
          return done();
        }
        channel = channelLabel(store, found.channel);
        const notes = [
          store.isChannelMember(found.channel.id, currentUser().id) ? '' : `${user} is not a member`,
          store.isChannelMember(found.channel.id, bot.id) ? '' : `@${bot.username} is not in it, so it cannot see mentions here`,
        ].filter((x) => x !== '');
        printNote(`now in ${channel} (${found.channel.display_name})${notes.length > 0 ? `; ${notes.join('; ')}` : ''}`);
        return done();
      }
      case 'users':
        printUsers();
        return done();
      case 'channels':
        printChannels();
        return done();
      case 'attach':
        return done(attach(arg));
      case 'logs': {
        const n = arg === '' ? 15 : Number(arg);
        if (!Number.isInteger(n) || n <= 0) return done('logs takes a number of lines, e.g. logs 30');
        printLogs(n);
        return done();
      }
      case 'help':
        printHelp();
        return done();
      case 'quit':
      case 'exit':
        return done(undefined, true);
      default:
        return done(`unknown console word ${word}`);
    }
  }

  // ---------------------------------------------------------------------------
  // one line

  async function run(input: string): Promise<LineResult> {
    let line = input.trim();
    if (form && !form.secret && line.startsWith('#')) line = '';
    if (!form && (line === '' || line.startsWith('#'))) return { line, kind: 'blank', expectRefusal: false, verdict: 'none', failed: false, replies: [], apiCalls: [] };
    const expectRefusal = !form?.secret && line.startsWith('!');
    if (expectRefusal) line = line.slice(1).trim();
    if (form) {
      const r = await runDialogLine(line, expectRefusal);
      printMeanwhile();
      return judge(r, expectRefusal);
    }
    const [first = '', ...rest] = line.split(/\s+/);
    const word = first.toLowerCase();
    const arg = rest.join(' ').trim();
    const mention = new RegExp(`^@${bot.username.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![\\w.-])`, 'i');

    let result: LineResult;
    if (line.startsWith('/')) {
      result = await runSlash({ line, kind: 'slash', expectRefusal }, line);
    } else if (mention.test(line)) {
      const found = findChannel(channel);
      const channelId = 'channel' in found ? found.channel.id : undefined;
      const base = { line, kind: 'mention' as const, expectRefusal };
      if (channel.startsWith('@') && channel.slice(1) !== bot.username) {
        printProblem(`@${bot.username} is not in your DM with ${channel}, so it would not see the mention; go to a channel (channels) or DM it`);
        result = { ...base, verdict: 'error', problem: 'the bot is not in this DM', failed: false, replies: [], apiCalls: [] };
      } else if (channelId && !store.isChannelMember(channelId, bot.id)) {
        printProblem(`@${bot.username} is not a member of ${channel}, so it would not see the mention; try a channel it is in (channels)`);
        result = { ...base, verdict: 'error', problem: 'the bot is not in this channel', failed: false, replies: [], apiCalls: [] };
      } else {
        result = await runPost(base, channel, line);
      }
    } else if (word === 'dm') {
      if (!arg) {
        printProblem('dm what? e.g. dm status @alice');
        result = { line, kind: 'dm', expectRefusal, verdict: 'error', problem: 'empty message', failed: false, replies: [], apiCalls: [] };
      } else result = await runPost({ line, kind: 'dm', expectRefusal }, `@${bot.username}`, arg);
    } else if (word === 'click') {
      result = await runClick({ line, kind: 'click', expectRefusal }, arg);
    } else if ((CONSOLE_WORDS as readonly string[]).includes(word) && !((word === 'help' || word === 'users') && arg !== '')) {
      result = consoleWord({ line, kind: 'console', expectRefusal }, word, arg);
    } else {
      result = await runPost({ line, kind: 'dm', expectRefusal }, `@${bot.username}`, line);
    }

    printMeanwhile();
    if (result.kind !== 'click' && openDialogs() && result.verdict === 'none') result.verdict = 'ok';
    return judge(result, expectRefusal);
  }

  /** Is it what the script expected? */
  function judge(result: LineResult, expectRefusal: boolean): LineResult {
    if (result.kind === 'console') {
      result.failed = result.verdict === 'error' || expectRefusal;
      if (expectRefusal && !result.problem) result.problem = '! marks lines for the bot, not console words';
    } else if (result.verdict === 'error') {
      result.failed = true;
    } else if (expectRefusal) {
      result.failed = result.verdict !== 'refused';
      if (result.failed) result.problem = 'marked ! (expected a refusal or warning), but the bot answered normally';
    } else {
      result.failed = result.verdict === 'refused';
      if (result.failed) result.problem = `${result.problem ?? `refused or warned (${result.outcome ?? 'see above'})`}; mark the line with ! if that is expected`;
    }
    return result;
  }

  async function runScript(text: string, o: { name?: string } = {}): Promise<ScriptReport> {
    const failures: ScriptReport['failures'] = [];
    let ran = 0;
    let expectedRefusals = 0;
    const lines = text.split(/\r?\n/);
    for (const [i, raw] of lines.entries()) {
      const line = raw.trim();
      if (!form && (line === '' || line.startsWith('#'))) continue;
      if (form && line.startsWith('#')) continue;
      // a dialog's password field is not echoed
      print(`${promptText()}${form?.secret ? '••••' : line}`);
      const r = await run(line);
      ran += 1;
      if (r.failed) {
        const reason = r.problem ?? 'not as expected';
        failures.push({ lineNo: i + 1, line, reason });
        if (r.verdict !== 'error' || r.kind === 'console') print(`  ${p('✖', 'boldRed')} ${p(`not as expected: ${reason}`, 'red')}`);
      } else if (r.expectRefusal && r.verdict === 'refused') {
        expectedRefusals += 1;
        print(`  ${p('✓ refused, as expected (!)', 'green')}`);
      }
      // fields of an open dialog follow each other without a blank line
      if (!form) print();
      if (r.quit) break;
    }
    const name = o.name ? `${o.name}: ` : '';
    if (failures.length === 0) {
      const refusals = expectedRefusals > 0 ? ` (${expectedRefusals} refused or warned, as marked with !)` : '';
      print(p(`${name}${ran} ${ran === 1 ? 'line' : 'lines'}, all as expected${refusals}.`, 'green'));
    } else {
      print(p(`${name}${failures.length} of ${ran} ${ran === 1 ? 'line' : 'lines'} not as expected:`, 'boldRed'));
      for (const f of failures) print(`  line ${f.lineNo}: ${f.line}\n    ${f.reason}`);
    }
    return { exitCode: failures.length === 0 ? 0 : 1, ran, expectedRefusals, failures };
  }

  function completer(line: string): [string[], string] {
    const words = line.split(/\s+/);
    const pick = (options: string[], partial: string): string[] => options.filter((o) => o.startsWith(partial));
    if (words.length === 2 && words[0] === 'as') {
      const hits = pick(peopleList(store, bot.id).map((x) => x.username), words[1] ?? '');
      return [hits.map((h) => `as ${h}`), line];
    }
    if (words.length === 2 && words[0] === 'in') {
      const options = [...channelList(store, bot.id, currentUser().id).map((c) => c.label), ...peopleList(store, bot.id).map((x) => `@${x.username}`)];
      return [pick(options, words[1] ?? '').map((h) => `in ${h}`), line];
    }
    if (words.length === 1) {
      const options = [...CONSOLE_WORDS, 'dm', `@${bot.username}`, ...slashTriggers(store, currentTeamId(), root)];
      return [pick(options, words[0] ?? ''), line];
    }
    return [[], line];
  }

  async function interact(input: Readable & { isTTY?: boolean }): Promise<void> {
    const terminal = Boolean(input.isTTY) && 'isTTY' in output && output.isTTY === true;
    // readline echoes what is typed; while a dialog asks for a password nothing but line ends gets through
    let muted = false;
    const echo = new WritableStream({
      write(chunk: Buffer | string, _enc, cb) {
        const text = String(chunk);
        if (!muted) output.write(text);
        else if (text.includes('\n')) output.write('\n');
        cb();
      },
    });
    const rl = createInterface({ input, output: echo, terminal, completer, historySize: 500, prompt: promptText() });
    let closed = false;
    rl.on('close', () => {
      closed = true;
    });
    // Ctrl-C at the prompt leaves, like Ctrl-D
    rl.on('SIGINT', () => rl.close());
    if (terminal) rl.prompt();
    try {
      for await (const raw of rl) {
        const line = raw.trim();
        muted = false;
        if (!terminal) {
          if (!form && (line === '' || line.startsWith('#'))) continue;
          print(`${promptText()}${form?.secret ? '••••' : line}`);
        }
        const r = await run(line);
        if (r.quit) break;
        // a blank line between one answer and the next prompt (not between a dialog's fields)
        if (line !== '' && r.kind !== 'blank' && !form) print();
        if (closed) break;
        rl.setPrompt(promptText());
        if (terminal) rl.prompt();
        muted = terminal && Boolean(form?.secret);
      }
    } catch (err) {
      // the terminal went away (a closed window: EIO): that is the end of the input
      if (!isTerminalGone(err)) throw err;
    } finally {
      try {
        rl.close();
      } catch (err) {
        if (!isTerminalGone(err)) throw err;
      }
    }
  }

  function banner(): void {
    const u = currentUser();
    const triggers = slashTriggers(store, currentTeamId(), root);
    print(p('mmops sandbox', 'bold') + ' · a fake Mattermost server with a small workspace, and the real bot running against it');
    const rows: Array<[string, string]> = [
      ['Mattermost', `${fake.url}  (sandbox: REST + WebSocket, like the real server)`],
      ['mmops', `${sandbox.bot.url}  (slash commands; /healthz /readyz /metrics)`],
      ['bot log', `${sandbox.logFile}  (logs shows the end)`],
      ['slash commands', triggers.join(' ')],
    ];
    for (const [a, b] of rows) print(`  ${p(a.padEnd(14), 'dim')}  ${b}`);
    print();
    print(`People (${p('as NAME', 'cyan')} to switch; ${p('users', 'cyan')} shows this again):`);
    printUsers();
    print();
    print(`You are ${p(u.username, 'bold')} in ${p(channel, 'bold')}. Try:`);
    const tries: Array<[string, string]> = [
      ['/whois @bob', 'a slash command'],
      ['status @alice', `a direct message to @${bot.username}`],
      [`@${bot.username} teams`, 'a mention in this channel, answered in its thread'],
      ['as dave', 'then /user deactivate @bob: refused, dave is no admin'],
    ];
    const w = Math.max(...tries.map((t) => t[0].length));
    for (const [a, b] of tries) print(`  ${p(a.padEnd(w), 'cyan')}  ${b}`);
    print(`${p('help', 'cyan')} lists everything; ${p('quit', 'cyan')} or Ctrl-D leaves.`);
    print();
  }

  return {
    get user() {
      return user;
    },
    get channel() {
      return channel;
    },
    run,
    runScript,
    interact,
    banner,
  };
}
