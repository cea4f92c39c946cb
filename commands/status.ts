/**
 * `/mmops status [@user …]` shows presence; `/mmops status set …` sets it.
 * (`/status` itself is a Mattermost built-in, so there is no own trigger.)
 *
 * One user: `GET /users/{id}/status`. Several (up to 200): one batch resolution
 * (`POST /users/usernames` / `POST /users/ids`) and one `POST /users/status/ids`.
 */
import { z } from 'zod';
import { defineCommand, defineSubcommand, type Access, type CommandContext } from '../src/core/command.js';
import { invalidInput } from '../src/core/errors.js';
import { fields, md, paragraph, raw, reply, table, title, type Block, type Text } from '../src/core/reply.js';
import { isApiError } from '../src/mattermost/errors.js';
import type { Status, User } from '../src/mattermost/models.js';
import { usageLine } from './lib/command-line.js';
import { rawWords, word, words } from './lib/args.js';
import { actingOn, orAmbiguity, resolveBatch, uniqueRefs, unresolvedBlocks } from './lib/lookup.js';
import { userLabel } from './lib/people.js';
import { dndUntil, isSettableStatus, lastActive, manualLabel, statusLabel, type SettableStatus } from './lib/presence.js';
import { userTimeZone } from './lib/time.js';
import { isClockWord, parseUntil, UNTIL_FORMATS } from './lib/until.js';

/** The most users one `/status` answers (one batch call each way). */
export const MAX_STATUS_USERS = 200;

const SHOW_USAGE = 'status [@user|email|id ...]';
const SET_USAGE = 'status set online|away|dnd|offline [--until 30m|2h|tomorrow 9:00] [@user]';

/** The server's own status for a user with no status row yet (docs/mattermost-notes.md §5.1). */
const offlineStatus = (userId: string): Status => ({ user_id: userId, status: 'offline', manual: false, last_activity_at: 0, dnd_end_time: 0 });

async function statusOf(ctx: CommandContext, userId: string): Promise<Status> {
  try {
    return await ctx.api.getStatus(userId);
  } catch (e) {
    if (isApiError(e) && e.isNotFound) return offlineStatus(userId);
    throw e;
  }
}

function statusCard(ctx: CommandContext, s: Status, heading: Text): Block[] {
  const tz = userTimeZone(ctx.caller);
  return [
    title(heading),
    fields([
      ['Status', statusLabel(s.status)],
      ['Set', manualLabel(s)],
      ['Last active', lastActive(s, ctx.now())],
      ['Do not disturb', dndUntil(s, ctx.now(), tz)],
    ]),
  ];
}

const show = defineSubcommand({
  name: '',
  summary: 'Your status, or the status of up to 200 people',
  usage: SHOW_USAGE,
  examples: ['status', 'status @ann', 'status @ann @bob carol@example.com'],
  positional: ['users...'],
  args: z.object({ users: words }),
  // GET /users/{id}/status and POST /users/status/ids: any logged-in user.
  access: { self: null, other: null },
  async execute(ctx) {
    const refs = uniqueRefs(ctx.args.users);
    if (refs.length > MAX_STATUS_USERS) {
      const usage = usageLine(ctx, 'status', SHOW_USAGE);
      throw invalidInput(`That is ${refs.length} people; status answers at most ${MAX_STATUS_USERS} at a time.`, usage);
    }
    if (refs.length === 0) {
      const s = await statusOf(ctx, ctx.caller.id);
      return reply(statusCard(ctx, s, 'Your status'));
    }
    const [only] = refs;
    if (refs.length === 1 && only !== undefined) {
      return orAmbiguity(ctx, only, 'status', [], async () => {
        const user = await ctx.users.resolve(only);
        const s = await statusOf(ctx, user.id);
        return reply(statusCard(ctx, s, user.id === ctx.caller.id ? 'Your status' : userLabel(user)));
      });
    }

    const resolved = await resolveBatch(ctx, refs);
    const users = resolved.found.map((f) => f.user);
    const byId = new Map<string, Status>();
    if (users.length) {
      const statuses = await ctx.api.getStatusesByIds(
        users.map((u) => u.id),
      );
      for (const s of statuses) byId.set(s.user_id, s);
    }
    const now = ctx.now();
    const tz = userTimeZone(ctx.caller);
    const rows = users.map((u) => {
      const s = byId.get(u.id) ?? offlineStatus(u.id);
      return { u, s, dnd: dndUntil(s, now, tz).replace(/^until /, '') };
    });
    const withDnd = rows.some((r) => r.dnd);
    const blocks: Block[] = [];
    if (rows.length) {
      blocks.push(
        table(
          ['User', 'Status', 'Set', 'Last active', ...(withDnd ? ['DND until'] : [])],
          rows.map(({ u, s, dnd }) => [userLabel(u), statusLabel(s.status), manualLabel(s), lastActive(s, now), ...(withDnd ? [dnd] : [])]),
        ),
      );
    }
    const unresolved = unresolvedBlocks(resolved);
    blocks.push(...unresolved);
    return reply(blocks, { tone: unresolved.length ? 'warning' : 'ok' });
  },
});

/** Splits `set` words into the status, the user, and clock words that belong to `--until`. */
export function splitSetWords(all: string[], untilGiven: boolean): { state?: string; user?: string; others: string[]; clock: string[] } {
  let state: string | undefined;
  const clock: string[] = [];
  const others: string[] = [];
  for (const w of all) {
    const lower = w.toLowerCase();
    if (state === undefined && isSettableStatus(lower)) state = lower;
    // `--until tomorrow 9:00` arrives as until=tomorrow plus a stray `9:00` word.
    else if (untilGiven && clock.length === 0 && isClockWord(w)) clock.push(w);
    else others.push(w);
  }
  return { state, user: others[0], others, clock };
}

const SET_ACCESS: Access = {
  self: null,
  other: { permission: 'edit_other_users', scope: 'system' },
  adminTargetNeedsManageSystem: true,
};

const set = defineSubcommand({
  name: 'set',
  summary: 'Set your status (do not disturb with an end time), or someone else\u2019s',
  usage: SET_USAGE,
  examples: ['status set dnd --until 2h', 'status set away', 'status set dnd --until "tomorrow 9:00"', 'status set online @ann'],
  positional: ['words...'],
  args: z.object({ words, until: word.optional() }),
  // PUT /users/{id}/status: SessionHasPermissionToUser (docs/mattermost-notes.md §5.1).
  access: SET_ACCESS,
  target: (raw) => splitSetWords(rawWords(raw, 'words'), raw['until'] !== undefined).user,
  // The bot sets the status with its own token, so even the caller's own is "another user's" to the server.
  botNeeds: [{ permission: 'edit_other_users', scope: 'system' }],
  // sets someone's status: decided on current roles, never the cache
  fresh: true,
  async execute(ctx) {
    const usage = usageLine(ctx, 'status', SET_USAGE);
    const { state, user: ref, others, clock } = splitSetWords(ctx.args.words, ctx.args.until !== undefined);
    if (!state) throw invalidInput('Say which status: online, away, dnd or offline.', usage);
    if (others.length > 1) throw invalidInput('Set one person\u2019s status at a time.', usage);
    const status: SettableStatus = isSettableStatus(state) ? state : 'online';
    const untilText = [ctx.args.until, ...clock].filter(Boolean).join(' ');
    if (untilText && status !== 'dnd') throw invalidInput('--until only works with dnd.', usage);

    let dndEndSeconds: number | undefined;
    if (untilText) {
      const at = parseUntil(untilText, ctx.now(), userTimeZone(ctx.caller) ?? 'UTC');
      dndEndSeconds = Math.floor(at / 1000); // the API takes seconds (docs/mattermost-notes.md §5.1)
    }

    return orAmbiguity(ctx, ref ?? '', 'status', ['set', state], async () => {
      const user = await actingOn(ctx, ref, SET_ACCESS);
      const result = await ctx.api.updateStatus(user.id, status, dndEndSeconds);
      const self = user.id === ctx.caller.id;
      const tz = userTimeZone(ctx.caller);
      // An end time asked for but not in the answer was dropped: servers before 6.1 keep it
      // only with the TimedDND feature flag, off by default (5.37 api4/status.go
      // updateUserStatus; src/sandbox/versions.ts timedDnd). Say so rather than imply one.
      const endDropped = dndEndSeconds !== undefined && result.status === 'dnd' && !(result.dnd_end_time > 0);
      return reply(
        [
          paragraph(self ? md`You are now ${statusLabel(result.status)}.` : md`${userLabel(user)} is now ${statusLabel(result.status)}.`),
          fields([
            ['Set', manualLabel(result)],
            ['Do not disturb', endDropped ? 'until changed' : dndUntil(result, ctx.now(), tz)],
          ]),
          ...(endDropped
            ? [
                paragraph(
                  raw(`Mattermost did not keep the end time you asked for: this server sets do-not-disturb without one (before 6.1 an end time needs the TimedDND feature flag). It stays on until ${self ? 'you change' : 'someone changes'} it.`),
                ),
              ]
            : []),
        ],
        { tone: endDropped ? 'warning' : 'ok' },
      );
    });
  },
});

export default defineCommand({
  name: 'status',
  summary: 'See or set presence (online, away, do not disturb, offline)',
  hint: `[@user ...] | set online|away|dnd|offline [--until ${UNTIL_FORMATS.split(', ').slice(0, 3).join('|')}] [@user]`,
  ownTrigger: false,
  subcommands: [show, set],
});
