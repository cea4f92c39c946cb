/**
 * REST catch-up: after a WebSocket connection that did not resume (a `hello`), and at
 * every start-up, read what was posted while the bot was away and hand each post to
 * the intake, which answers it exactly once (the {@link PostLedger} claims are shared
 * with what the WebSocket delivers).
 *
 * 1. `GET /users/{bot}/channels`: every channel of the bot (DMs included) with its
 *    `last_post_at` (server/channels/api4/channel.go getChannelsForUser); only those
 *    with activity after the ledger's `since` are read. That endpoint came in 6.1: on an
 *    older server (known from its version, or from one 404 of the router) the bot's
 *    channels are read team by team instead, `GET /users/{bot}/teams/{team}/channels`,
 *    which lists the DMs and group messages with every team (5.37 api4/channel.go
 *    getChannelsForTeamForUser → store/sqlstore/channel_store.go GetChannels). The path
 *    taken is logged once; a missing endpoint is never asked again.
 * 2. `GET /channels/{id}/posts?since=`: every post updated after `since`
 *    (api4/post.go getPostsForChannel → store GetPostsSince). That query stops at 1,000
 *    rows, an arbitrary subset, with no paging; at the cap we page back with
 *    `before=` instead (docs/mattermost-notes.md §5.11).
 * 3. The bot's own replies carry `props.mmops_reply_to`; a post that already has one
 *    was answered (by a process that died before it could record it) and is only
 *    marked done.
 *
 * @example
 *   const catchUp = createCatchUp({ api, ledger, botUserId, handle: intake.handleMissed, logger });
 *   socket.onEvent((ev) => { if (ev.event === 'hello') catchUp.trigger('websocket did not resume'); });
 */
import type { Logger } from '../core/command.js';
import type { MattermostApi } from '../mattermost/api.js';
import { ProtocolError } from '../mattermost/errors.js';
import type { Channel, Post } from '../mattermost/models.js';
import { createUserChannels } from '../mattermost/user-channels.js';
import type { BeginOutcome, PostLedger } from './post-ledger.js';

/** GetPostsSince's row limit (server/channels/store/sqlstore/post_store.go GetPostsSince: LIMIT 1000). */
export const POSTS_SINCE_CAP = 1_000;
/** The largest page `before=` paging may ask for (server/channels/web/params.go PerPageMaximum). */
const PAGE_SIZE = 200;
/** The prop on every reply naming the post it answers. */
export const REPLY_TO_PROP = 'mmops_reply_to';
/** On one "busy" answer that answers several posts of one person at once: all their ids. */
export const COVERS_PROP = 'mmops_covers';

/** The ids of the posts a reply of the bot answers (`mmops_reply_to`, and `mmops_covers` on a folded "busy" answer). */
export function answeredBy(props: Record<string, unknown>): string[] {
  const out: string[] = [];
  const to = props[REPLY_TO_PROP];
  if (typeof to === 'string') out.push(to);
  const covers = props[COVERS_PROP];
  if (Array.isArray(covers)) for (const id of covers) if (typeof id === 'string' && !out.includes(id)) out.push(id);
  return out;
}

export interface CatchUpReport {
  reason: string;
  since: number;
  channels: number;
  posts: number;
  /** outcomes of the posts handed to the intake */
  outcomes: Record<string, number>;
}

export interface CatchUp {
  /** Runs a catch-up now (or right after the one running); resolves with its report. */
  run(reason: string): Promise<CatchUpReport>;
  /** Fire-and-forget {@link run}; a failed pass is retried with backoff. */
  trigger(reason: string): void;
  /** A pass in `delayMs` (unless one is scheduled already): e.g. after an answer could not be delivered. */
  later(reason: string, delayMs: number): void;
  /** Stops scheduled re-checks. */
  stop(): void;
}

export interface CatchUpOptions {
  api: Pick<MattermostApi, 'getChannelsForUser' | 'getChannelsForTeamForUser' | 'getTeamsForUser' | 'getPostsSince' | 'getPostsPage'>;
  /** the server's version (`a.b.c`, '' while unknown): before 6.1 the channels are read team by team */
  serverVersion?: () => string;
  ledger: PostLedger;
  botUserId: string;
  /** hands a missed post to the intake; resolves with what the ledger said (undefined: not addressed to the bot) */
  handle(post: Post, channel: Channel): Promise<BeginOutcome | 'ignored' | undefined>;
  logger: Logger;
  now?: () => number;
  /** nothing older than this is read (MMOPS_CATCHUP_MAX_AGE) */
  maxAgeMs: number;
  /** posts handled at once (default 4) */
  concurrency?: number;
  /** a post claimed by a handler that may have died is looked at again after this (the ledger lease) */
  recheckAfterMs: number;
  /** first retry delay after a failed pass (default 2 s, doubling to 60 s) */
  retryMinMs?: number;
}

/** Creates the catch-up (see the module comment). */
export function createCatchUp(opts: CatchUpOptions): CatchUp {
  const log = opts.logger.child({ component: 'catch-up' });
  const now = opts.now ?? Date.now;
  const concurrency = Math.max(1, opts.concurrency ?? 4);
  let current: Promise<CatchUpReport> | undefined;
  let queued: { reason: string; promise: Promise<CatchUpReport> } | undefined;
  let recheck: NodeJS.Timeout | undefined;
  let stopped = false;

  async function readChannel(channel: Channel, since: number): Promise<Post[]> {
    const list = await opts.api.getPostsSince(channel.id, since);
    const posts = list.order.map((id) => list.posts[id]).filter((p): p is Post => p !== undefined);
    if (list.order.length < POSTS_SINCE_CAP) return posts;
    // At the cap the server returned an arbitrary 1,000: page back from the newest instead.
    log.info({ channelId: channel.id, since }, 'more than 1000 posts since the mark; paging');
    const out: Post[] = [];
    let before: string | undefined;
    for (;;) {
      const page = await opts.api.getPostsPage(channel.id, { perPage: PAGE_SIZE, ...(before ? { before } : {}) });
      const batch = page.order.map((id) => page.posts[id]).filter((p): p is Post => p !== undefined);
      if (batch.length === 0) break;
      let oldest = batch[0] as Post;
      for (const p of batch) {
        if (p.create_at > since) out.push(p);
        if (p.create_at < oldest.create_at) oldest = p;
      }
      if (oldest.create_at <= since || batch.length < PAGE_SIZE) break;
      before = oldest.id;
    }
    return out;
  }

  /** How the bot's channels are listed (src/mattermost/user-channels.ts): decided on the first pass, then kept. */
  const lister = createUserChannels({
    api: opts.api,
    ...(opts.serverVersion ? { serverVersion: opts.serverVersion } : {}),
    logger: log,
    label: "catch-up reads the bot's channels",
    noTeamWarning: 'the bot is in no team: on this server its DMs can only be listed through a team, so posts sent while it was away are not read; add the bot to a team',
  });

  async function channelsOfBot(): Promise<Channel[]> {
    try {
      return await lister.list(opts.botUserId, {});
    } catch (err) {
      // a user in no channel at all gets a streamed answer that is not JSON
      // (api4/channel.go getChannelsForUser writes `[` before its first query fails)
      if (err instanceof ProtocolError) return [];
      throw err;
    }
  }

  async function pass(reason: string): Promise<CatchUpReport> {
    const since = Math.max(opts.ledger.since(), now() - opts.maxAgeMs);
    const report: CatchUpReport = { reason, since, channels: 0, posts: 0, outcomes: {} };
    const channels = (await channelsOfBot()).filter((c) => c.delete_at === 0 && (c.last_post_at ?? Infinity) > since);
    report.channels = channels.length;
    const work: Array<{ post: Post; channel: Channel }> = [];
    for (const channel of channels) {
      let posts: Post[];
      try {
        posts = await readChannel(channel, since);
      } catch (err) {
        log.warn({ err, channelId: channel.id }, 'catch-up could not read a channel; it is read again on the next catch-up');
        report.outcomes.unreadable = (report.outcomes.unreadable ?? 0) + 1;
        continue;
      }
      const answered = new Set<string>();
      for (const p of posts) if (p.user_id === opts.botUserId) for (const id of answeredBy(p.props)) answered.add(id);
      for (const post of posts) {
        if (post.user_id === opts.botUserId || post.create_at <= since) continue;
        if (answered.has(post.id)) {
          // answered by a process that stopped before recording it: record it now
          const begun = await opts.ledger.begin(post);
          if (begun.outcome === 'run') await begun.claim.answered();
          continue;
        }
        work.push({ post, channel });
      }
    }
    work.sort((a, b) => a.post.create_at - b.post.create_at);
    report.posts = work.length;
    let next = 0;
    let busy = false;
    const worker = async (): Promise<void> => {
      while (next < work.length && !stopped) {
        const item = work[next++];
        if (!item) break;
        try {
          const outcome = (await opts.handle(item.post, item.channel)) ?? 'ignored';
          report.outcomes[outcome] = (report.outcomes[outcome] ?? 0) + 1;
          if (outcome === 'busy') busy = true;
        } catch (err) {
          report.outcomes.failed = (report.outcomes.failed ?? 0) + 1;
          log.error({ err, postId: item.post.id }, 'a missed post could not be handled');
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, work.length) }, () => worker()));
    // a claim held by a handler that may have died: look again once its lease ran out
    if (busy) again('claims of an earlier process may have expired', opts.recheckAfterMs);
    if (report.outcomes.unreadable || report.outcomes.failed) again('some missed posts could not be read or handled', retryMs());
    log.info(report, 'catch-up finished');
    return report;
  }

  let failures = 0;
  const retryMs = (): number => Math.min(60_000, (opts.retryMinMs ?? 2_000) * 2 ** Math.min(failures++, 10));

  /** Schedules another pass (the earliest asked for wins). */
  function again(reason: string, delayMs: number): void {
    if (stopped || recheck) return;
    recheck = setTimeout(() => {
      recheck = undefined;
      trigger(reason);
    }, delayMs);
    recheck.unref();
  }

  function trigger(reason: string): void {
    if (stopped) return;
    run(reason).then(
      (r) => {
        if (!r.outcomes.unreadable && !r.outcomes.failed) failures = 0;
      },
      (err: unknown) => {
        log.warn({ err, reason }, 'catch-up failed; trying again shortly');
        again(reason, retryMs());
      },
    );
  }

  function run(reason: string): Promise<CatchUpReport> {
    if (!current) {
      current = pass(reason).finally(() => {
        current = undefined;
      });
      return current;
    }
    // one pass at a time; a request during a pass gets one more pass right after it
    queued ??= {
      reason,
      promise: current
        .catch(() => undefined)
        .then(() => {
          queued = undefined;
          return run(reason);
        }),
    };
    return queued.promise;
  }

  return {
    run,
    trigger,
    later: again,
    stop() {
      stopped = true;
      if (recheck) clearTimeout(recheck);
      recheck = undefined;
    },
  };
}
