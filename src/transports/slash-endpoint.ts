/**
 * The slash-command transport (docs/mattermost-notes.md §4.1, §4.2, §4.4): Mattermost POSTs a
 * form-encoded body; this handler verifies the command token (constant time, via
 * `verify`), turns the form into one {@link Invocation}, runs it, and answers with a
 * CommandResponse. It decides nothing about commands: which command a trigger means
 * comes from the registration binding, the reply and its Markdown from the dispatcher
 * and the renderer.
 *
 * - no `Authorization: Token` header of the right shape → 401 at once, before the body is
 *   read; a header token no team of ours knows gets a small body budget only (enough to
 *   learn its team for the regenerated-token refresh); a form token that differs from the
 *   header, or a token of another team → 401, nothing runs; a
 *   `trigger_id` the server did not sign for this `user_id`, too old, or seen before →
 *   401 (checked by `checkCaller`); body too large → 413; not a form or not a valid
 *   one → 400; the same `trigger_id` twice → 409 for the second, nothing runs;
 * - replies are ephemeral unless meant for the channel and not sensitive; a long reply
 *   is split into `extra_responses`, never cut;
 * - a command still running after `slowAfterMs` (~2 s) gets an immediate ephemeral
 *   "working" answer and its result is delivered later by `respondLater`, which gets
 *   the form's `response_url` (unchecked: the bot decides whether it may be used,
 *   `src/mattermost/response-url.ts`) and who and where to answer otherwise.
 *
 * @example
 *   const handle = createSlashEndpoint({ authenticate: slash.authenticate, checkCaller: trust.check, run, render: renderPosts,
 *     respondLater: (url, body, to) => delayed.deliver(url, body, to), work, logger });
 *   routes.push({ method: 'POST', path: SLASH_PATH, handle });
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { Invocation, Logger } from '../core/command.js';
import { createLruTtlCache } from '../core/permissions/cache.js';
import type { DialogRequest, Reply } from '../core/reply.js';
import type { ActionAttachment } from '../render/attachments.js';
import type { SlashTrustResult } from '../services/slash-trust.js';
import { BodyTooLargeError, readBody, sendJson } from './http-server.js';
import type { InFlight } from './in-flight.js';

/** The Mattermost CommandResponse subset the bot sends (docs/mattermost-notes.md §4.2). */
export interface CommandResponse {
  response_type: 'ephemeral' | 'in_channel';
  text: string;
  skip_slack_parsing?: boolean;
  /** buttons: top-level attachments become the ephemeral post's props.attachments (docs/mattermost-notes.md §8.1 (d)) */
  attachments?: ActionAttachment[];
  extra_responses?: Array<Omit<CommandResponse, 'extra_responses'>>;
}

/** Whom a delayed answer is for, when it cannot go through `response_url`. */
export interface DelayedAnswerTarget {
  userId: string;
  channelId: string;
  rootId: string;
}

export interface SlashRun {
  reply: Reply;
  /** reference id of the invocation (logs) */
  ref: string;
}

export interface SlashEndpointOptions {
  /**
   * the registered trigger a token belongs to *in the request's team* (a token of
   * another team never matches); `command: null` = the root trigger
   */
  authenticate(token: string, teamId: string): Promise<{ command: string | null; trigger: string; teamId: string } | undefined>;
  /** whether any team of ours has this token registered now (sync; decides the body budget) */
  knownToken?(token: string): boolean;
  /** body budget for a token no team knows yet (default 16 KiB) */
  unknownTokenBodyBytes?: number;
  /**
   * checks the server's signature on `trigger_id` (services/slash-trust.ts); absent =
   * not checked (unit tests of the transport alone)
   */
  checkCaller?(req: { triggerId: string; userId: string; source: string }): Promise<SlashTrustResult>;
  /** runs the invocation (the dispatcher); must not throw for expected failures */
  run(inv: Invocation): Promise<SlashRun>;
  /** reply → post texts, each within one post's limit */
  render(reply: Reply): string[];
  /** reply buttons → attachments (absent: buttons are not shown) */
  attachments?(reply: Reply): ActionAttachment[];
  /**
   * opens the reply's dialog with the request's trigger_id (src/services/dialogs.ts); false
   * when it could not (the reply's text is shown instead). Absent: no dialogs.
   */
  openDialog?(triggerId: string, dialog: DialogRequest, inv: Invocation): Promise<boolean>;
  /** delivers a slow command's answer: through `responseUrl` ('' when none) if allowed, else to `to` by other means */
  respondLater(responseUrl: string, body: CommandResponse, to: DelayedAnswerTarget): Promise<void>;
  work: InFlight;
  logger: Logger;
  /** called with every HTTP status answered (metrics) */
  onStatus?: (status: number) => void;
  /** answer "working" after this long (default 2 000 ms; 0: every answer is delayed) */
  slowAfterMs?: number;
  /** largest accepted body (default 256 KiB: a 16k-character message fully escaped fits) */
  maxBodyBytes?: number;
  /** how long a trigger_id is remembered against replays (default 30 min, the response_url lifetime) */
  replayTtlMs?: number;
  replayMaxEntries?: number;
  now?: () => number;
  /** the immediate answer for slow commands */
  workingText?: string;
}

const FORM_TYPE = 'application/x-www-form-urlencoded';
const id = z.string().regex(/^[a-z0-9]{26}$/, 'not a Mattermost id');
/** A command token is a 26-character id (model.NewId); anything far off that shape is refused unread. */
const COMMAND_TOKEN = /^[A-Za-z0-9]{1,64}$/;

/** The form fields of docs/mattermost-notes.md §4.1 the bot uses. Unknown fields are ignored. */
export const slashFormSchema = z.object({
  token: z.string().default(''),
  team_id: id,
  team_domain: z.string().default(''),
  channel_id: id,
  channel_name: z.string().default(''),
  user_id: id,
  user_name: z.string().default(''),
  command: z.string().regex(/^\/\S+$/, 'command must be "/" followed by the trigger'),
  text: z.string().max(65_536).default(''),
  trigger_id: z.string().max(1024).default(''),
  response_url: z.string().max(2048).default(''),
  root_id: z.union([id, z.literal('')]).default(''),
  user_mentions: z.array(z.string()).default([]),
  user_mentions_ids: z.array(z.string()).default([]),
  channel_mentions: z.array(z.string()).default([]),
  channel_mentions_ids: z.array(z.string()).default([]),
});
export type SlashForm = z.infer<typeof slashFormSchema>;

const REPEATED = new Set(['user_mentions', 'user_mentions_ids', 'channel_mentions', 'channel_mentions_ids']);

/** URLSearchParams → plain object (repeated mention fields as arrays, others: last value). */
function formObject(params: URLSearchParams): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const key of new Set(params.keys())) out[key] = REPEATED.has(key) ? params.getAll(key) : (params.getAll(key).at(-1) ?? '');
  return out;
}

/** name → id from order-aligned repeated pairs (mismatched lengths: the common prefix). */
function pairs(names: string[], ids: string[]): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  names.slice(0, ids.length).forEach((n, i) => {
    const v = ids[i];
    if (v) out[n.replace(/^[@~]/, '').toLowerCase()] = v;
  });
  return Object.keys(out).length > 0 ? out : undefined;
}

/** The token in `Authorization: Token <t>` (what the server sends), or undefined. */
function headerToken(req: IncomingMessage): string | undefined {
  const m = /^token\s+(\S+)$/i.exec((req.headers.authorization ?? '').trim());
  return m?.[1];
}

/** Constant-time equality of two tokens (their digests, so the lengths leak nothing either). */
function tokensEqual(a: string, b: string): boolean {
  const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();
  return timingSafeEqual(digest(a), digest(b));
}

/** Reply + rendered posts → CommandResponse. Exported for tests and the console. */
export function toCommandResponse(reply: Reply, posts: string[], attachments: ActionAttachment[] = []): CommandResponse {
  // buttons are for the caller alone: a stored channel post would show them to everyone
  const response_type = reply.visibility === 'channel' && !reply.sensitive && attachments.length === 0 ? 'in_channel' : 'ephemeral';
  const [first = '', ...rest] = posts;
  return {
    response_type,
    text: first,
    // our Markdown is already escaped; Slack-style link parsing would rewrite it
    skip_slack_parsing: true,
    ...(attachments.length > 0 ? { attachments } : {}),
    ...(rest.length > 0 ? { extra_responses: rest.map((text) => ({ response_type, text, skip_slack_parsing: true })) } : {}),
  };
}

/** Creates the request handler (see the module comment). */
export function createSlashEndpoint(opts: SlashEndpointOptions): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const log = opts.logger.child({ component: 'slash-endpoint' });
  const now = opts.now ?? Date.now;
  const slowAfterMs = opts.slowAfterMs ?? 2_000;
  const maxBodyBytes = opts.maxBodyBytes ?? 256 * 1024;
  const seenTriggers = createLruTtlCache<true>({
    ttlMs: opts.replayTtlMs ?? 30 * 60_000,
    maxEntries: opts.replayMaxEntries ?? 10_000,
    now,
  });
  const workingText = opts.workingText ?? 'Working on it… the answer will follow here.';

  function answer(res: ServerResponse, status: number, body: unknown): void {
    opts.onStatus?.(status);
    if (status === 413 || status === 400 || status === 401) res.setHeader('Connection', 'close');
    sendJson(res, status, body);
  }

  return async function handleSlash(req, res) {
    if (!opts.work.accepting) {
      answer(res, 503, { error: 'shutting down' });
      req.resume();
      return;
    }
    // Authenticate on the header before reading a byte of the body: the server always sends
    // `Authorization: Token <command token>` (server/channels/app/command.go
    // DoCommandRequest), so a caller without a known token costs no buffer at all.
    const hdrToken = headerToken(req);
    if (!hdrToken || !COMMAND_TOKEN.test(hdrToken)) {
      log.warn({ hasToken: hdrToken !== undefined }, 'slash request refused: no command token in the Authorization header');
      answer(res, 401, { error: 'invalid or missing command token' });
      return;
    }
    // A token we do not know may be one an admin just regenerated: its team (in the body)
    // is re-read once a minute at most. Until then such a request may cost only a small
    // buffer, so unknown tokens cannot make the bot hold large bodies.
    const knownToken = opts.knownToken ? opts.knownToken(hdrToken) : true;
    const bodyLimit = knownToken ? maxBodyBytes : Math.min(maxBodyBytes, opts.unknownTokenBodyBytes ?? 16 * 1024);

    const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
    if (type !== FORM_TYPE) {
      log.warn({ contentType: type ?? '' }, 'slash request refused: not a form body');
      answer(res, 400, { error: `expected ${FORM_TYPE}` });
      req.resume();
      return;
    }

    let body: Buffer;
    try {
      body = await readBody(req, bodyLimit);
    } catch (err) {
      if (err instanceof BodyTooLargeError && !knownToken) {
        log.warn({ limit: bodyLimit }, 'slash request refused: unknown command token with a body over the unknown-token budget');
        answer(res, 401, { error: 'invalid or missing command token' });
        return;
      }
      if (err instanceof BodyTooLargeError) {
        log.warn({ limit: bodyLimit }, 'slash request refused: body too large');
        answer(res, 413, { error: 'request body too large' });
        return;
      }
      log.warn({ err }, 'slash request body could not be read');
      if (!res.headersSent) answer(res, 400, { error: 'unreadable body' });
      return;
    }

    let params: URLSearchParams;
    try {
      params = new URLSearchParams(body.toString('utf8'));
    } catch {
      answer(res, 400, { error: 'malformed form body' });
      return;
    }
    const fields = formObject(params);

    // The form carries the same token (docs/mattermost-notes.md §4.1): one that differs is not the server's request.
    const formToken = typeof fields.token === 'string' ? fields.token : '';
    const formTeam = typeof fields.team_id === 'string' ? fields.team_id : '';
    if (!tokensEqual(formToken, hdrToken)) {
      log.warn({ hasFormToken: formToken !== '' }, 'slash request refused: the form token does not match the Authorization header');
      answer(res, 401, { error: 'invalid or missing command token' });
      return;
    }
    const binding = await opts.authenticate(hdrToken, formTeam);
    if (!binding) {
      log.warn({ knownToken }, 'slash request refused: unknown command token (or a token of another team)');
      answer(res, 401, { error: 'invalid or missing command token' });
      return;
    }

    const parsed = slashFormSchema.safeParse(fields);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue?.path.join('.') ?? '';
      log.warn({ field: where, problem: issue?.message }, 'slash request refused: malformed form');
      answer(res, 400, { error: `malformed request: ${where} ${issue?.message ?? ''}`.trim() });
      return;
    }
    const form = parsed.data;

    // Who is asking: the token says "for our command", only the server's signature says who.
    let unverifiedCaller = false;
    if (opts.checkCaller) {
      const trust = await opts.checkCaller({ triggerId: form.trigger_id, userId: form.user_id, source: req.socket.remoteAddress ?? '' });
      if (trust.verdict === 'refused') {
        // logged (once) and alarmed by the checker
        answer(res, 401, { error: 'the request could not be verified' });
        return;
      }
      unverifiedCaller = trust.verdict === 'unsigned' && !trust.allowed;
    }

    if (form.trigger_id) {
      if (seenTriggers.get(form.trigger_id)) {
        log.warn({ trigger: binding.trigger }, 'slash request ignored: trigger_id already handled (replay)');
        answer(res, 409, { error: 'already handled' });
        return;
      }
      seenTriggers.set(form.trigger_id, true);
    }

    const userMentions = pairs(form.user_mentions, form.user_mentions_ids);
    const channelMentions = pairs(form.channel_mentions, form.channel_mentions_ids);
    const inv: Invocation = {
      source: 'slash',
      // `/whois @ann` arrives as text `@ann`; the binding says which command the trigger is
      text: binding.command ? `${binding.command} ${form.text}`.trim() : form.text,
      userId: form.user_id,
      channelId: form.channel_id,
      teamId: form.team_id,
      rootId: form.root_id,
      ...(userMentions ? { userMentions } : {}),
      ...(channelMentions ? { channelMentions } : {}),
      ...(unverifiedCaller ? { unverifiedCaller: true } : {}),
      ...(form.trigger_id && opts.openDialog ? { canOpenDialog: true } : {}),
      receivedAt: now(),
    };
    const respond = async (r: Reply): Promise<CommandResponse> => {
      if (r.dialog && form.trigger_id && opts.openDialog && (await opts.openDialog(form.trigger_id, r.dialog, inv))) {
        // the dialog is the answer: an empty text posts nothing (app/command.go HandleCommandResponsePost)
        return { response_type: 'ephemeral', text: '' };
      }
      return toCommandResponse(r, opts.render(r), opts.attachments?.(r) ?? []);
    };

    const running = opts.work.track(opts.run(inv));
    let timer: NodeJS.Timeout | undefined;
    // slowAfterMs 0 means every answer goes the delayed way: no race with a zero-delay
    // timer, which a command answered from caches (microtasks only) would win
    const slow = new Promise<'slow'>((resolve) => {
      if (slowAfterMs <= 0) resolve('slow');
      else timer = setTimeout(() => resolve('slow'), slowAfterMs);
    });
    let first: SlashRun | 'slow';
    try {
      first = slowAfterMs <= 0 ? await slow : await Promise.race([running, slow]);
    } catch (err) {
      clearTimeout(timer);
      log.error({ err, trigger: binding.trigger }, 'slash command failed outside the dispatcher');
      answer(res, 200, { response_type: 'ephemeral', text: 'Sorry, something went wrong while running that command.' });
      return;
    }
    clearTimeout(timer);

    if (first !== 'slow') {
      answer(res, 200, await respond(first.reply));
      return;
    }

    answer(res, 200, { response_type: 'ephemeral', text: workingText });
    const responseUrl = form.response_url;
    const to: DelayedAnswerTarget = { userId: form.user_id, channelId: form.channel_id, rootId: form.root_id };
    // Delivery is tracked too, so shutdown waits for it.
    void opts.work.track(
      running
        .then(async (result) => {
          await opts.respondLater(responseUrl, toCommandResponse(result.reply, opts.render(result.reply), opts.attachments?.(result.reply) ?? []), to);
          log.debug({ ref: result.ref }, 'delayed slash answer delivered');
        })
        .catch((err: unknown) => {
          log.error({ err, trigger: binding.trigger }, 'delayed slash answer could not be delivered');
        }),
    );
  };
}
