/**
 * The WebSocket transport: turns `posted` events (docs/mattermost-notes.md §3.8) into invocations and
 * delivers the replies as posts.
 *
 * - a post in a direct channel with the bot is a command (`whois @ann`, `/whois @ann`);
 * - a post elsewhere that mentions the bot (`mentions` holds the bot's id, or the text
 *   says `@botname`) carries a command after the mention; the answer goes in the
 *   post's thread;
 * - the bot's own posts, other bots', webhooks' (slash-command replies are authored by
 *   the human, flagged `from_webhook`), system messages and edits are ignored;
 * - each post is handled at most once, also when a resumed socket replays it;
 * - with several replicas each post is claimed in the shared state first (`claim`),
 *   so exactly one replica answers it; while the claim cannot be made (state store
 *   down) the post is not handled here and is logged (src/bot/replication.ts).
 *
 * Where a reply goes: a DM answer goes to the DM. In a channel, a reply for the channel
 * is a thread post; a reply for the caller only is an ephemeral post where the bot may
 * create them, else a DM to the caller with a one-line pointer in the thread.
 *
 * A sensitive reply (a generated password, sessions, audits) is never a stored post,
 * not even in the DM: posts are kept in the database, search, exports and
 * notifications. It goes as an ephemeral post (`POST /posts/ephemeral`, docs/mattermost-notes.md
 * docs/mattermost-notes.md §5.10), in the DM or the thread. The invocation says whether that is possible
 * (`privateReplies`), so the dispatcher refuses a sensitive command up front rather
 * than produce a secret it cannot hand over; if the ephemeral post still fails, only a
 * stored notice without the content is left.
 *
 * @example
 *   const intake = createWsIntake({ botUserId: me.id, botUsername: me.username, run, render, api, logger, work,
 *     canEphemeral: () => rights.ephemeral });
 *   socket.onEvent((ev) => void intake.handleEvent(ev));
 */
import { z } from 'zod';
import type { Invocation, Logger } from '../core/command.js';
import { createLruTtlCache } from '../core/permissions/cache.js';
import type { Reply } from '../core/reply.js';
import type { MattermostApi } from '../mattermost/api.js';
import { parseJsonString, postedDataSchema, postSchema, type Post, type WsEvent } from '../mattermost/models.js';
import type { InFlight } from './in-flight.js';

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
  api: Pick<MattermostApi, 'createPost' | 'createEphemeralPost' | 'createDirectChannel'>;
  /** whether the bot may create ephemeral posts (`create_post_ephemeral`) */
  canEphemeral(): boolean;
  work: InFlight;
  logger: Logger;
  /** how many post ids are remembered against duplicates (default 5 000) */
  seenPosts?: number;
  /** claims across replicas (src/bot/replication.ts); default: the in-process duplicate check only */
  claims?: PostClaims;
  /** called once per post turned into a command (metrics) */
  onCommand?: (source: Invocation['source']) => void;
  now?: () => number;
  /** the pointer left in the thread when a private answer went to the DM */
  dmPointerText?: string;
  /** "busy" answers posted at once (default 2): they never take the API slots real work needs */
  busyConcurrency?: number;
  /** threads with a "busy" answer waiting to be posted (default 1 000) */
  busyMaxPending?: number;
}

/** How replicas share out posts: exactly one handles each. */
export interface PostClaims {
  /** true = this replica handles the post; throws when it cannot tell (store down) */
  claim(postId: string): Promise<boolean>;
  /** the post was answered (or failed for good): nobody should take it over */
  done(postId: string): void;
  /**
   * another replica holds the post (or answered it); `retry` runs the post through the
   * intake once more (the claim runs out if that replica died before answering, and the
   * retry takes it). The claims decide whether and when to retry.
   */
  lost(postId: string, retry: () => void): void;
}

export interface WsIntake {
  /** Handles one WebSocket event; resolves when its reply was delivered (or it was ignored). */
  handleEvent(ev: WsEvent): Promise<void>;
}

/** A "busy" answer waiting to be posted; `covers` = the refused posts it answers. */
interface BusyNotice {
  post: Post;
  direct: boolean;
  rootId: string;
  reply: Reply;
  ref: string;
  covers: number;
}

export type IgnoreReason = 'own' | 'bot' | 'webhook' | 'system' | 'edited' | 'duplicate' | 'claimed' | 'not_addressed' | 'empty' | 'malformed';

const mentionsSchema = z.array(z.string());

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * The command text of a post addressed to the bot, or undefined when the post is not
 * for the bot. `direct` = a DM with the bot (no mention needed).
 */
export function commandText(message: string, botUsername: string, opts: { direct: boolean; mentioned: boolean }): string | undefined {
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
  if (opts.direct || opts.mentioned) return clean(message);
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
   * pending_post_id for 30 s (server/channels/app/post.go deduplicateCreatePost).
   */
  const pendingId = (source: Post, what: string): string => `${opts.botUserId}:${source.id}:${what}`;

  async function postAll(channelId: string, rootId: string, posts: string[], source: Post): Promise<void> {
    let i = 0;
    for (const message of posts) {
      await opts.api.createPost({ channel_id: channelId, message, ...(rootId ? { root_id: rootId } : {}), pending_post_id: pendingId(source, String(i++)) });
    }
  }

  async function deliver(post: Post, direct: boolean, rootId: string, reply: Reply, ref: string): Promise<void> {
    const posts = opts.render(reply);
    if (posts.length === 0) return;
    if (reply.sensitive) {
      try {
        for (const message of posts) {
          await opts.api.createEphemeralPost(post.user_id, { channel_id: post.channel_id, message, root_id: rootId });
        }
      } catch (err) {
        // never fall back to a stored post: say where the answer went (nowhere), not what it was
        log.error({ err, ref }, 'sensitive answer could not be shown privately; not sent');
        await opts.api.createPost({ channel_id: post.channel_id, message: secretNotice(ref), ...(rootId ? { root_id: rootId } : {}), pending_post_id: pendingId(post, 'notice') });
      }
      return;
    }
    if (direct) {
      await postAll(post.channel_id, rootId, posts, post);
      return;
    }
    if (reply.visibility === 'channel' && !reply.sensitive) {
      await postAll(post.channel_id, rootId, posts, post);
      return;
    }
    if (opts.canEphemeral()) {
      try {
        for (const message of posts) {
          await opts.api.createEphemeralPost(post.user_id, { channel_id: post.channel_id, message, root_id: rootId });
        }
        return;
      } catch (err) {
        // e.g. the right was taken away since start-up: the DM still reaches the caller
        log.warn({ err, ref }, 'ephemeral answer failed; sending it by direct message');
      }
    }
    const dm = await dmChannelWith(post.user_id);
    await postAll(dm, '', posts, post);
    await opts.api.createPost({ channel_id: post.channel_id, message: pointer, root_id: rootId, pending_post_id: pendingId(post, 'pointer') });
  }

  // "Busy" answers: a flood of refused commands must not become a flood of posts that
  // crowds out everyone's real work toward the API. They go out a few at a time, and
  // several waiting for one person in one thread become one post answering all of them.
  const busyConcurrency = Math.max(1, opts.busyConcurrency ?? 2);
  const busyMaxPending = Math.max(1, opts.busyMaxPending ?? 1_000);
  const busyPending = new Map<string, BusyNotice>();
  let busyPosting = 0;

  function queueBusy(n: BusyNotice): void {
    const key = `${n.post.user_id}:${n.post.channel_id}:${n.rootId}`;
    const waiting = busyPending.get(key);
    if (waiting) {
      waiting.covers += 1;
      log.debug({ ref: n.ref, postId: n.post.id, covers: waiting.covers }, 'busy answer folded into the one waiting for this thread');
      return;
    }
    if (busyPending.size >= busyMaxPending) {
      log.warn({ ref: n.ref, postId: n.post.id, userId: n.post.user_id }, 'busy answer not posted: too many threads are waiting for one');
      return;
    }
    busyPending.set(key, n);
    drainBusy();
  }

  function drainBusy(): void {
    while (busyPosting < busyConcurrency && busyPending.size > 0) {
      const first = busyPending.entries().next().value;
      if (!first) return;
      const [key, n] = first;
      busyPending.delete(key);
      busyPosting += 1;
      void opts.work.track(
        deliver(n.post, n.direct, n.rootId, n.reply, n.ref)
          .catch((err: unknown) => log.error({ err, ref: n.ref, postId: n.post.id }, 'busy answer could not be posted'))
          .finally(() => {
            busyPosting -= 1;
            drainBusy();
          }),
      );
    }
  }

  async function handlePosted(ev: WsEvent, retried = false): Promise<void> {
    const data = postedDataSchema.safeParse(ev.data);
    const post = data.success ? parseJsonString(postSchema, data.data.post) : undefined;
    if (!data.success || !post) {
      log.warn({ seq: ev.seq }, 'posted event with a malformed payload skipped');
      return;
    }
    const ignore = (reason: IgnoreReason): void => log.debug({ postId: post.id, reason }, 'post ignored');

    if (post.user_id === opts.botUserId) return ignore('own');
    if (post.props.from_bot === 'true') return ignore('bot');
    if (post.props.from_webhook === 'true' || post.props.from_oauth_app === 'true') return ignore('webhook');
    // any non-empty type is a system message (system_*) or a plugin's custom post
    if (post.type !== '') return ignore('system');
    if (post.edit_at > 0 || post.delete_at > 0) return ignore('edited');

    const direct = data.data.channel_type === 'D';
    const mentionIds = data.data.mentions !== undefined ? parseJsonString(mentionsSchema, data.data.mentions) : undefined;
    const mentioned = mentionIds?.includes(opts.botUserId) ?? false;
    const text = commandText(post.message, opts.botUsername, { direct, mentioned });
    if (text === undefined) return ignore('not_addressed');

    if (seen.get(post.id)) return ignore('duplicate');
    seen.set(post.id, true);
    if (text === '') return ignore('empty');
    const claims = opts.claims;
    if (claims) {
      let mine: boolean;
      try {
        mine = await claims.claim(post.id);
      } catch (err) {
        // answering without a claim could answer twice; the catch-up handles it once the store is back
        seen.delete(post.id);
        log.warn({ err, postId: post.id }, 'post not handled: the shared state store cannot be reached to claim it');
        return;
      }
      if (!mine) {
        claims.lost(post.id, () => {
          seen.delete(post.id);
          if (opts.work.accepting) void opts.work.track(handlePosted(ev, true)).catch((err: unknown) => log.error({ err, postId: post.id }, 'posted event could not be handled'));
        });
        return ignore('claimed');
      }
      if (retried) log.warn({ postId: post.id }, 'another replica claimed this post and did not answer it (it stopped?): answering it here');
    }

    const source: Invocation['source'] = direct ? 'dm' : 'mention';
    // In a channel, answer in the post's thread; in a DM, only if the post was in one.
    const rootId = direct ? post.root_id : post.root_id || post.id;
    const inv: Invocation = {
      source,
      // an ephemeral post is the only way to show something to the caller alone unstored
      privateReplies: opts.canEphemeral(),
      text,
      userId: post.user_id,
      channelId: post.channel_id,
      teamId: data.data.team_id,
      rootId,
      postId: post.id,
      ...(post.file_ids.length > 0 ? { fileIds: post.file_ids } : {}),
      receivedAt: now(),
    };
    opts.onCommand?.(source);
    try {
      const { reply, ref, outcome } = await opts.run(inv);
      if (outcome === 'busy') {
        queueBusy({ post, direct, rootId, reply, ref, covers: 1 });
        return;
      }
      try {
        await deliver(post, direct, rootId, reply, ref);
      } catch (err) {
        log.error({ err, ref, postId: post.id }, 'answer could not be posted');
      }
    } finally {
      claims?.done(post.id);
    }
  }

  return {
    async handleEvent(ev) {
      if (ev.event !== 'posted') return;
      if (!opts.work.accepting) {
        log.info({ seq: ev.seq }, 'posted event arrived during shutdown; not handled');
        return;
      }
      try {
        await opts.work.track(handlePosted(ev));
      } catch (err) {
        log.error({ err, seq: ev.seq }, 'posted event could not be handled');
      }
    },
  };
}
