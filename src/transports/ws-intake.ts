/**
 * The WebSocket transport: turns `posted` events (docs/mattermost-notes.md §3.8) into invocations and
 * delivers the replies as posts.
 *
 * - a post in a direct channel with the bot is a command (`whois @ann`, `/whois @ann`);
 * - a post elsewhere (a channel, a group message) is for the bot only when its text says
 *   `@botname` (case-insensitive, a whole username); the command is after the mention
 *   (or before it) and the answer goes in the post's thread. The `mentions` list of the
 *   `posted` event is not used: it also holds the bot for `@channel`, `@all`, `@here`
 *   (server/channels/app/notification.go getExplicitMentions), and in a group message
 *   every member, on every post, from 9.1 on (getExplicitMentionsAndKeywords adds a
 *   `GMMention`: commit 88d043a971 "Make GM behave as DM"), so ordinary chat would run as
 *   commands; src/sandbox/versions.ts gmMentionsEveryone;
 * - the bot's own posts, other bots', webhooks' (slash-command replies are authored by
 *   the human, flagged `from_webhook`), system messages and edits are ignored;
 * - each post is handled at most once, also when a resumed socket replays it;
 * - each post is claimed in the state store first (the `ledger`, on the replicas'
 *   claims: src/bot/replication.ts), so exactly one replica answers it; while the claim
 *   cannot be made (state store down) the post is not handled here and is logged; a
 *   post another replica holds is looked at again once that claim could have run out.
 *
 * Where a reply goes: a DM answer goes to the DM. In a channel, a reply for the channel
 * is a thread post; a reply for the caller only is an ephemeral post where the bot may
 * create them, else a DM to the caller with a one-line pointer in the thread.
 *
 * A sensitive reply (a generated password, sessions, audits) is never a stored post,
 * not even in the DM: posts are kept in the database, search, exports and
 * notifications. It goes as an ephemeral post (`POST /posts/ephemeral`, docs/mattermost-notes.md
 * §5.10), in the DM or the thread. The invocation says whether that is possible
 * (`privateReplies`), so the dispatcher refuses a sensitive command up front rather
 * than produce a secret it cannot hand over; if the ephemeral post still fails, only a
 * stored notice without the content is left.
 *
 * Exactly once, across reconnects, restarts and replicas: with a `ledger`
 * (src/services/post-ledger.ts) every post is claimed in the state store before it
 * runs, and marked done once answered; the REST catch-up (src/services/catch-up.ts)
 * hands missed posts in through {@link WsIntake.handleMissed}, claimed the same way.
 * Every post, however it arrived (the WebSocket, a resumed socket's replay, the REST
 * catch-up, a takeover after another replica's claim ran out), is judged by its
 * `create_at`: younger than `late.runWindowMs` it runs (a missed or late one with a note
 * saying it was sent while the bot was reconnecting); older, it gets one "not run" line;
 * older than `late.maxAgeMs`, nothing. During
 * shutdown, posts are not taken (the ledger holds the catch-up mark below them) and
 * {@link WsIntake.abandon} answers what could not finish "please send it again".
 * Every stored reply carries `props.mmops_reply_to` = the post it answers, so a
 * catch-up after a crash can see that a post was answered.
 *
 * @example
 *   const intake = createWsIntake({ botUserId: me.id, botUsername: me.username, run, render, api, logger, work,
 *     canEphemeral: () => rights.ephemeral, ledger });
 *   socket.onEvent((ev) => void intake.handleEvent(ev));
 */
import { z } from 'zod';
import type { Invocation, Logger } from '../core/command.js';
import { createLruTtlCache } from '../core/permissions/cache.js';
import type { Reply } from '../core/reply.js';
import type { MattermostApi } from '../mattermost/api.js';
import { parseJsonString, postedDataSchema, postSchema, type Post, type WsEvent } from '../mattermost/models.js';
import { aheadNotice, lateAnswerNote, notRunNotice, restartingNotice } from '../render/notices.js';
import { isApiError, isNetworkError } from '../mattermost/errors.js';
import { answeredBy, COVERS_PROP, REPLY_TO_PROP } from '../services/catch-up.js';
import { FUTURE_SKEW_MS, type BeginOutcome, type Begun, type Claim, type PostLedger } from '../services/post-ledger.js';
import type { Channel } from '../mattermost/models.js';
import type { InFlight } from './in-flight.js';
import type { ActionAttachment } from '../render/attachments.js';

export type { PostClaims } from '../services/post-ledger.js';

export interface WsRun {
  reply: Reply;
  ref: string;
  /** `busy`: not admitted (src/core/scheduler.ts); its answer goes through the notice lane */
  outcome?: string;
}

export interface WsIntakeOptions {
  botUserId: string;
  botUsername: string;
  run(inv: Invocation): Promise<WsRun>;
  render(reply: Reply): string[];
  /** reply buttons → attachments on the last post (absent: buttons are not shown) */
  attachments?(reply: Reply): ActionAttachment[];
  api: Pick<MattermostApi, 'createPost' | 'createEphemeralPost' | 'createDirectChannel'> & Partial<Pick<MattermostApi, 'getPostsSince'>>;
  /** whether the bot may create ephemeral posts (`create_post_ephemeral`) */
  canEphemeral(): boolean;
  work: InFlight;
  logger: Logger;
  /** how many post ids are remembered against duplicates (default 5 000) */
  seenPosts?: number;
  /** claims posts in the state store (exactly once across restarts and replicas); default: the in-process duplicate check only */
  ledger?: PostLedger;
  /** how missed posts (catch-up) are treated by age (defaults: run under 2 min, "not run" line up to 24 h) */
  late?: { runWindowMs: number; maxAgeMs: number };
  /** a post could not be claimed because the state store did not answer (the catch-up follows once it is back) */
  onStoreUnreachable?: () => void;
  /** called once per post turned into a command (metrics) */
  onCommand?: (source: Invocation['source']) => void;
  now?: () => number;
  /** the pointer left in the thread when a private answer went to the DM */
  dmPointerText?: string;
  /** "busy" answers posted at once (default 2): they never take the API slots real work needs */
  busyConcurrency?: number;
  /** threads with a "busy" answer waiting to be posted (default 1 000) */
  busyMaxPending?: number;
  /**
   * waits between tries of an answer the server refused for a while (429, 5xx, no
   * connection); default 1, 2, 4, 8 s: under the server's 30 s pending_post_id window
   */
  deliveryRetryMs?: readonly number[];
  /**
   * an answer could not be delivered even after those tries: the post was given back
   * unanswered (its claim released, the catch-up mark held below it); the caller should
   * run a catch-up later, which handles it again
   */
  onUndelivered?: (post: Post) => void;
}

export interface WsIntake {
  /** Handles one WebSocket event; resolves when its reply was delivered (or it was ignored). */
  handleEvent(ev: WsEvent): Promise<void>;
  /** Handles a post the WebSocket missed (read over REST); resolves with the ledger's decision, or 'ignored'. */
  handleMissed(post: Post, channel: Channel): Promise<BeginOutcome | 'ignored'>;
  /**
   * Shutdown after the grace period: every command still running (not yet delivering its
   * answer) gets one "please send it again" answer, and its late result is dropped.
   * Resolves with how many.
   */
  abandon(): Promise<number>;
}

/** A "busy" answer waiting to be posted; `covers` = the refused posts it answers. */
interface BusyNotice {
  post: Post;
  direct: boolean;
  rootId: string;
  reply: Reply;
  ref: string;
  covers: Post[];
  /** told whether the notice was posted, once per covered post */
  settle: Array<(posted: boolean) => void>;
}

/** A post being handled here. */
interface ActiveEntry {
  post: Post;
  /** its claim (src/services/post-ledger.ts): the one handle to it */
  claim: Claim;
  direct: boolean;
  rootId: string;
  /** cut short by a restart: its sender was told to resend */
  abandoned: boolean;
  /** its answer is on its way */
  delivering: boolean;
  /** another replica took the post over while it ran here: that one answers */
  handedOver: boolean;
}

/** An answer that could not be delivered for now (the server refused it for a while). */
class UndeliveredError extends Error {
  override readonly name = 'UndeliveredError';
}

/** A failure worth trying again: the server said "not now" or could not be reached. */
function isTransient(err: unknown): boolean {
  if (err instanceof UndeliveredError) return true;
  if (isApiError(err)) return err.status === 429 || err.status === 502 || err.status === 503 || err.status === 504;
  return isNetworkError(err);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A post this old when it is run (a replay after a resume, a takeover) is answered with a note saying so. */
const LATE_NOTE_AFTER_MS = 10_000;

export type IgnoreReason = 'own' | 'bot' | 'webhook' | 'system' | 'edited' | 'duplicate' | 'claimed' | 'not_addressed' | 'empty' | 'malformed';

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * The command text of a post addressed to the bot, or undefined when the post is not
 * for the bot. `direct` = a DM with the bot (no mention needed); anywhere else the text
 * must mention the bot by name (see the module comment for why not the `mentions` list).
 */
export function commandText(message: string, botUsername: string, opts: { direct: boolean }): string | undefined {
  // `@name` ends at a character that cannot continue a username (a trailing "." is punctuation)
  const mention = new RegExp(`(^|[^\\w@.-])@${escapeRegExp(botUsername)}(?![\\w-]|\\.[\\w-])`, 'i');
  const clean = (s: string): string => s.replace(/^[\s:,]+/, '').replace(/^\//, '').trim();
  const m = mention.exec(message);
  if (m) {
    const start = m.index + (m[1]?.length ?? 0);
    const after = clean(message.slice(start + 1 + botUsername.length));
    if (after) return after;
    // "whois @ann @mmops": the command is before the mention
    return clean(message.slice(0, start)) || (opts.direct ? '' : undefined);
  }
  if (opts.direct) return clean(message);
  return undefined;
}

/** The stored notice left when a sensitive answer could not be shown privately. */
export const secretNotice = (ref: string): string =>
  `I could not show that answer privately, so I did not send it (ref ${ref}). Run it again as a slash command; its answer is only shown to you.`;

/** Creates the intake (see the module comment). */
export function createWsIntake(opts: WsIntakeOptions): WsIntake {
  const log = opts.logger.child({ component: 'ws-intake' });
  const now = opts.now ?? Date.now;
  // A day is far longer than any resume window; the size bound is what really limits it.
  const seen = createLruTtlCache<true>({ ttlMs: 24 * 3_600_000, maxEntries: opts.seenPosts ?? 5_000, now });
  const pointer = opts.dmPointerText ?? 'I sent you the answer in a direct message.';
  let dmChannelByUser = new Map<string, string>();

  async function dmChannelWith(userId: string): Promise<string> {
    const cached = dmChannelByUser.get(userId);
    if (cached) return cached;
    const ch = await opts.api.createDirectChannel(opts.botUserId, userId);
    if (dmChannelByUser.size > 1_000) dmChannelByUser = new Map();
    dmChannelByUser.set(userId, ch.id);
    return ch.id;
  }

  /**
   * The same answer posted twice (a replica took a post over from one that died after
   * posting but before marking it done) is one post: the server dedupes a repeated
   * pending_post_id for 30 s (server/channels/app/post.go deduplicateCreatePost). Every
   * stored reply also names the post it answers (`props.mmops_reply_to`), so a catch-up
   * after a crash sees that a post was answered.
   */
  const pendingId = (source: Post, what: string): string => `${opts.botUserId}:${source.id}:${what}`;

  async function postAll(
    channelId: string,
    rootId: string,
    posts: string[],
    source: Post,
    what = '',
    attachments: ActionAttachment[] = [],
    extra: Record<string, unknown> = {},
  ): Promise<void> {
    let i = 0;
    for (const message of posts) {
      const last = i === posts.length - 1;
      await opts.api.createPost({
        channel_id: channelId,
        message,
        ...(rootId ? { root_id: rootId } : {}),
        pending_post_id: pendingId(source, `${what}${i++}`),
        props: { ...extra, [REPLY_TO_PROP]: source.id, ...(last && attachments.length ? { attachments } : {}) },
      });
    }
  }

  async function ephemeralAll(userId: string, channelId: string, rootId: string, posts: string[], attachments: ActionAttachment[]): Promise<void> {
    let i = 0;
    for (const message of posts) {
      const last = ++i === posts.length;
      await opts.api.createEphemeralPost(userId, { channel_id: channelId, message, root_id: rootId, ...(last && attachments.length ? { props: { attachments } } : {}) });
    }
  }

  const retryWaits = opts.deliveryRetryMs ?? [1_000, 2_000, 4_000, 8_000];
  /**
   * Tries a delivery again while the server refuses it for a while (a 429 storm outlasting
   * the REST client's own retries, a restart of the server). Repeating is safe: every
   * stored post carries a pending_post_id the server dedupes for 30 s
   * (server/channels/app/post.go deduplicateCreatePost), and the waits add up to 15 s.
   */
  async function persistently(what: () => Promise<void>, postId: string): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await what();
        return;
      } catch (err) {
        const wait = retryWaits[attempt];
        if (wait === undefined || !isTransient(err)) throw err;
        const asked = isApiError(err) && err.retryAfterSeconds !== undefined ? err.retryAfterSeconds * 1000 : 0;
        log.warn({ err, postId, attempt: attempt + 1, waitMs: Math.max(wait, asked) }, 'answer not delivered yet: the server refused it; trying again');
        await sleep(Math.min(10_000, Math.max(wait, asked)));
      }
    }
  }

  async function deliver(post: Post, direct: boolean, rootId: string, reply: Reply, ref: string, note?: string, extra: Record<string, unknown> = {}): Promise<void> {
    const posts = opts.render(reply);
    const attachments = opts.attachments?.(reply) ?? [];
    if (note !== undefined) posts.splice(0, 1, posts.length > 0 ? `${note}\n\n${posts[0] ?? ''}` : note);
    if (posts.length === 0) return;
    if (reply.sensitive) {
      try {
        await ephemeralAll(post.user_id, post.channel_id, rootId, posts, attachments);
      } catch (err) {
        // never fall back to a stored post: say where the answer went (nowhere), not what it was
        log.error({ err, ref }, 'sensitive answer could not be shown privately; not sent');
        await opts.api.createPost({ channel_id: post.channel_id, message: secretNotice(ref), ...(rootId ? { root_id: rootId } : {}), pending_post_id: pendingId(post, 'notice'), props: { [REPLY_TO_PROP]: post.id } });
      }
      return;
    }
    if (direct) {
      await postAll(post.channel_id, rootId, posts, post, '', attachments, extra);
      return;
    }
    // buttons are for the caller alone, never in a channel post everyone sees
    if (reply.visibility === 'channel' && !reply.sensitive && attachments.length === 0) {
      await postAll(post.channel_id, rootId, posts, post, '', [], extra);
      return;
    }
    if (opts.canEphemeral()) {
      try {
        await ephemeralAll(post.user_id, post.channel_id, rootId, posts, attachments);
        return;
      } catch (err) {
        // e.g. the right was taken away since start-up: the DM still reaches the caller
        log.warn({ err, ref }, 'ephemeral answer failed; sending it by direct message');
      }
    }
    const dm = await dmChannelWith(post.user_id);
    await postAll(dm, '', posts, post, '', attachments, extra);
    await opts.api.createPost({ channel_id: post.channel_id, message: pointer, root_id: rootId, pending_post_id: pendingId(post, 'pointer'), props: { [REPLY_TO_PROP]: post.id } });
  }

  // "Busy" answers: a flood of refused commands must not become a flood of posts that
  // crowds out everyone's real work toward the API. They go out a few at a time, and
  // several waiting for one person in one thread become one post answering all of them.
  const busyConcurrency = Math.max(1, opts.busyConcurrency ?? 2);
  const busyMaxPending = Math.max(1, opts.busyMaxPending ?? 1_000);
  const busyPending = new Map<string, BusyNotice>();
  let busyPosting = 0;

  /**
   * Queues a "busy" answer; resolves once it was posted (true) or could not be (false).
   * Several for one person in one thread become one post, which names every post it
   * answers (`mmops_covers`), so a catch-up after a crash sees all of them answered.
   */
  function queueBusy(n: Omit<BusyNotice, 'covers' | 'settle'>): Promise<boolean> {
    return new Promise((settle) => {
      const key = `${n.post.user_id}:${n.post.channel_id}:${n.rootId}`;
      const waiting = busyPending.get(key);
      if (waiting) {
        waiting.covers.push(n.post);
        waiting.settle.push(settle);
        log.debug({ ref: n.ref, postId: n.post.id, covers: waiting.covers.length }, 'busy answer folded into the one waiting for this thread');
        return;
      }
      if (busyPending.size >= busyMaxPending) {
        log.warn({ ref: n.ref, postId: n.post.id, userId: n.post.user_id }, 'busy answer not posted: too many threads are waiting for one');
        settle(false);
        return;
      }
      busyPending.set(key, { ...n, covers: [n.post], settle: [settle] });
      drainBusy();
    });
  }

  function drainBusy(): void {
    while (busyPosting < busyConcurrency && busyPending.size > 0) {
      const first = busyPending.entries().next().value;
      if (!first) return;
      const [key, n] = first;
      busyPending.delete(key);
      busyPosting += 1;
      const extra = n.covers.length > 1 ? { [COVERS_PROP]: n.covers.map((p) => p.id) } : {};
      void opts.work.track(
        persistently(() => deliver(n.post, n.direct, n.rootId, n.reply, n.ref, undefined, extra), n.post.id)
          .then(
            () => true,
            (err: unknown) => {
              log.error({ err, ref: n.ref, postId: n.post.id }, 'busy answer could not be posted');
              return false;
            },
          )
          .then((posted) => {
            for (const s of n.settle) s(posted);
          })
          .finally(() => {
            busyPosting -= 1;
            drainBusy();
          }),
      );
    }
  }

  /** Posts being handled here, for {@link WsIntake.abandon}. */
  const active = new Map<string, ActiveEntry>();
  const runWindowMs = opts.late?.runWindowMs ?? 2 * 60_000;
  const maxAgeMs = opts.late?.maxAgeMs ?? 24 * 3_600_000;

  function parsePosted(ev: WsEvent): { post: Post; direct: boolean; teamId: string } | undefined {
    const data = postedDataSchema.safeParse(ev.data);
    const post = data.success ? parseJsonString(postSchema, data.data.post) : undefined;
    if (!data.success || !post) {
      log.warn({ seq: ev.seq }, 'posted event with a malformed payload skipped');
      return undefined;
    }
    return { post, direct: data.data.channel_type === 'D', teamId: data.data.team_id };
  }

  /** The command text when the post is a command for the bot, else undefined (logged). */
  function addressed(post: Post, direct: boolean): string | undefined {
    const ignore = (reason: IgnoreReason): undefined => {
      log.debug({ postId: post.id, reason }, 'post ignored');
      return undefined;
    };
    if (post.user_id === opts.botUserId) return ignore('own');
    if (post.props.from_bot === 'true') return ignore('bot');
    if (post.props.from_webhook === 'true' || post.props.from_oauth_app === 'true') return ignore('webhook');
    // any non-empty type is a system message (system_*) or a plugin's custom post
    if (post.type !== '') return ignore('system');
    if (post.edit_at > 0 || post.delete_at > 0) return ignore('edited');
    const text = commandText(post.message, opts.botUsername, { direct });
    if (text === undefined) return ignore('not_addressed');
    if (text === '') return ignore('empty');
    return text;
  }

  /**
   * The post's channel as it is now (unknown: nothing found): whether a stored reply of the
   * bot answers the post, and whether its sender deleted or edited it since. The list of
   * posts updated after `create_at` holds the post itself only when it changed, deleted
   * ones included (server/channels/store/sqlstore/post_store.go `GetPostsSince`).
   */
  async function channelNow(post: Post): Promise<{ answered: boolean; changed?: 'deleted' | 'edited' }> {
    if (!opts.api.getPostsSince) return { answered: false };
    try {
      const list = await opts.api.getPostsSince(post.channel_id, post.create_at);
      const answered = Object.values(list.posts).some((p) => p.user_id === opts.botUserId && answeredBy(p.props).includes(post.id));
      const now = list.posts[post.id];
      const changed = now && now.delete_at > 0 ? 'deleted' : now && now.edit_at > 0 ? 'edited' : undefined;
      return { answered, ...(changed ? { changed } : {}) };
    } catch (err) {
      log.warn({ err, postId: post.id }, 'could not read the channel to see whether the post was answered or changed; answering it');
      return { answered: false };
    }
  }

  /** Claims the post: through the ledger (the one claim model), else the in-process check. */
  async function claim(post: Post): Promise<Begun> {
    if (opts.ledger) return opts.ledger.begin(post);
    if (seen.get(post.id)) return { outcome: 'done' };
    seen.set(post.id, true);
    return { outcome: 'run', claim: localClaim(post) };
  }

  /** Without a ledger (one process, nothing stored): a claim that is always this process's. */
  const localClaim = (post: Post): Claim => ({
    post,
    stillOurs: async () => true,
    answered: async () => {},
    giveBack: async () => {},
    onLost: () => {},
  });

  async function handlePost(post: Post, direct: boolean, teamId: string, missed: boolean, retried = false): Promise<BeginOutcome | 'ignored'> {
    const text = addressed(post, direct);
    if (text === undefined) return 'ignored';
    let begun: Begun;
    try {
      begun = await claim(post);
    } catch (err) {
      // answering without a claim could answer twice; the catch-up handles it once the store is back
      opts.ledger?.hold(post);
      opts.onStoreUnreachable?.();
      log.warn({ err, postId: post.id }, 'post not handled: the state store cannot be reached to claim it');
      return 'busy';
    }
    if (begun.outcome !== 'run') {
      const { outcome } = begun;
      log.debug({ postId: post.id, reason: outcome === 'busy' ? 'claimed' : 'duplicate', outcome }, 'post ignored');
      // held elsewhere: the mark this process shares stays below it until it is answered
      if (outcome === 'busy' && missed) opts.ledger?.hold(post);
      if (outcome === 'done') opts.ledger?.unhold(post);
      // held elsewhere (another replica): looked at again once that claim could have run
      // out; the catch-up re-checks the posts it read itself
      if (outcome === 'busy' && !missed && opts.ledger) {
        opts.ledger.lost(post, () => {
          if (opts.work.accepting) {
            void opts.work.track(handlePost(post, direct, teamId, false, true)).catch((err: unknown) => log.error({ err, postId: post.id }, 'posted event could not be handled'));
          }
        });
      }
      return outcome;
    }
    const { claim: held } = begun;
    // A post that comes late from a copy taken earlier (a takeover after another replica's
    // claim ran out, a resumed socket's replay) may have been deleted or edited since: its
    // sender took it back, as the REST catch-up (which reads posts as they are now) sees.
    const late = retried || (!missed && now() - post.create_at > LATE_NOTE_AFTER_MS);
    const seen = late ? await channelNow(post) : { answered: false };
    if (seen.changed) {
      log.info({ postId: post.id, changed: seen.changed, how: retried ? 'taken over' : 'posted' }, `command not run: its sender ${seen.changed} the post before it came to run`);
      await held.answered();
      return 'done';
    }
    if (retried) {
      // the replica that died may have posted the answer and not recorded it; after 30 s
      // the server no longer dedupes a repeat (and a folded "busy" line has another
      // pending id), so look in the channel first
      if (seen.answered) {
        log.info({ postId: post.id }, 'another replica answered this post but did not record it (it stopped?); recorded now');
        await held.answered();
        return 'done';
      }
      log.warn({ postId: post.id }, 'another replica claimed this post and did not answer it (it stopped?): answering it here');
    }
    // In a channel, answer in the post's thread; in a DM, only if the post was in one.
    const rootId = direct ? post.root_id : post.root_id || post.id;
    const entry: ActiveEntry = { post, claim: held, direct, rootId, abandoned: false, delivering: false, handedOver: false };
    active.set(post.id, entry);
    let undelivered = false;
    try {
      // One age rule by create_at, however the post arrived: read over REST (missed), replayed
      // by a resumed socket as an ordinary `posted` event, or retried after another replica's
      // claim ran out. A command older than the run window is not run (a `--yes` DM replayed
      // minutes later must not act); its sender is told to send it again.
      // A post dated ahead of this clock (beyond a little skew) has no age to judge: the
      // server's clock ran ahead, or a system admin set its create_at (POST /posts keeps it,
      // server/channels/api4/post.go createPost). It is not run, and stays answered until
      // well after its date (src/services/post-ledger.ts), so it never runs "on time" later.
      const aheadMs = post.create_at - now();
      const ageMs = Math.max(0, -aheadMs);
      const how = missed ? 'missed' : retried ? 'taken over' : 'posted';
      if (aheadMs > FUTURE_SKEW_MS) {
        log.warn({ postId: post.id, aheadMs, how }, 'command not run: dated ahead of this clock (clock skew, or a create_at set by an admin); its sender is told to resend');
        await persistently(() => postAll(post.channel_id, rootId, [aheadNotice(aheadMs)], post, 'notrun'), post.id);
      } else if (ageMs > maxAgeMs) {
        log.info({ postId: post.id, ageMs, how }, 'post too old to answer; ignored');
      } else if (ageMs > runWindowMs) {
        log.info({ postId: post.id, ageMs, how }, 'command not run (older than the run window); its sender is told to resend');
        await persistently(() => postAll(post.channel_id, rootId, [notRunNotice(ageMs)], post, 'notrun'), post.id);
      } else {
        const late = missed || ageMs > LATE_NOTE_AFTER_MS;
        await runCommand(post, direct, rootId, teamId, text, entry, late ? lateAnswerNote(ageMs) : undefined);
      }
    } catch (err) {
      // still refused after the retries: give the post back rather than mark it answered
      undelivered = isTransient(err) && opts.ledger !== undefined;
      log.error({ err, postId: post.id, givenBack: undelivered }, undelivered ? 'answer could not be posted yet; the post is handled again by a later catch-up' : 'answer could not be posted');
    } finally {
      active.delete(post.id);
    }
    if (entry.abandoned) return 'run';
    if (entry.handedOver) {
      held.onLost();
      return 'run';
    }
    if (undelivered && opts.ledger) {
      await held.giveBack();
      opts.onUndelivered?.(post);
    } else {
      await held.answered();
    }
    return 'run';
  }

  async function runCommand(
    post: Post,
    direct: boolean,
    rootId: string,
    teamId: string,
    text: string,
    entry: ActiveEntry,
    note: string | undefined,
  ): Promise<void> {
    const source: Invocation['source'] = direct ? 'dm' : 'mention';
    const inv: Invocation = {
      source,
      // an ephemeral post is the only way to show something to the caller alone unstored
      privateReplies: opts.canEphemeral(),
      text,
      userId: post.user_id,
      channelId: post.channel_id,
      teamId,
      rootId,
      postId: post.id,
      ...(post.file_ids.length > 0 ? { fileIds: post.file_ids } : {}),
      receivedAt: now(),
    };
    opts.onCommand?.(source);
    const { reply, ref, outcome } = await opts.run(inv);
    // cut short by a restart: its sender was already told to send it again
    if (entry.abandoned) return;
    // this process was paused (or cut off from the store) past its claim and another
    // replica took the post over: answering too would answer twice
    if (!(await entry.claim.stillOurs())) {
      entry.handedOver = true;
      log.warn({ postId: post.id, ref }, 'another replica took this post over while it ran here; that one answers it');
      return;
    }
    // from here the answer is on its way: a restart lets it finish rather than say "resend"
    entry.delivering = true;
    if (outcome === 'busy') {
      // the post is marked answered only once its "busy" line was posted
      if (!(await queueBusy({ post, direct, rootId, reply, ref }))) throw new UndeliveredError('busy answer not posted');
      return;
    }
    await persistently(() => deliver(post, direct, rootId, reply, ref, note), post.id);
  }

  return {
    async handleEvent(ev) {
      if (ev.event !== 'posted') return;
      const parsed = parsePosted(ev);
      if (!parsed) return;
      if (!opts.work.accepting) {
        // not taken: the catch-up mark stays below it, so the next start answers it
        if (addressed(parsed.post, parsed.direct) !== undefined) opts.ledger?.hold(parsed.post);
        log.info({ seq: ev.seq, postId: parsed.post.id }, 'posted event arrived during shutdown; left for the next start');
        return;
      }
      try {
        await opts.work.track(handlePost(parsed.post, parsed.direct, parsed.teamId, false));
      } catch (err) {
        log.error({ err, seq: ev.seq }, 'posted event could not be handled');
      }
    },
    async handleMissed(post, channel) {
      if (!opts.work.accepting) {
        opts.ledger?.hold(post);
        return 'busy';
      }
      const direct = channel.type === 'D';
      return opts.work.track(handlePost(post, direct, channel.team_id, true));
    },
    async abandon() {
      const cut = [...active.values()].filter((e) => !e.abandoned && !e.delivering);
      for (const e of cut) e.abandoned = true;
      await Promise.all(
        cut.map(async (e) => {
          try {
            await postAll(e.post.channel_id, e.rootId, [restartingNotice()], e.post, 'restart');
          } catch (err) {
            log.warn({ err, postId: e.post.id }, 'could not tell the sender to resend a command cut short by the restart');
          }
          await e.claim.answered();
        }),
      );
      return cut.length;
    },
  };
}
