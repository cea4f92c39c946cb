/**
 * `/whois @user|email|id|"full name"`: a profile card. `/whois search <term>` and
 * `/whois complete <prefix>` find people.
 *
 * The bot reads profiles with its own (usually admin) token, so the API does not
 * hide anything from it; the card therefore hides what the *caller* could not see
 * (email, sign-in method) unless they are the person, or hold `manage_system` or
 * `sysconsole_read_user_management_users` (docs/mattermost-notes.md §5.3 SanitizeProfile).
 */
import { z } from 'zod';
import { defineCommand, defineSubcommand, type CommandContext, type Requirement } from '../src/core/command.js';
import { invalidInput } from '../src/core/errors.js';
import { fields, hint, list, md, paragraph, raw, reply, table, title, type Block, type Markdown, type Text } from '../src/core/reply.js';
import { isApiError } from '../src/mattermost/errors.js';
import { isMattermostId, type Status, type Team, type User } from '../src/mattermost/models.js';
import { flag, word, words } from './lib/args.js';
import { commandCode, usageLine } from './lib/command-line.js';
import { orAmbiguity } from './lib/lookup.js';
import { authMethod, clip, displayName, systemRoles, userFlags, userLabel } from './lib/people.js';
import { dndUntil, manualLabel, statusLabel } from './lib/presence.js';
import { channelInScope, teamInScope } from './lib/scope.js';
import { formatClock, formatDate, relativeTime, userTimeZone } from './lib/time.js';

const CARD_USAGE = 'whois @user|email|id|"full name"';
const SEARCH_USAGE = 'whois search <term> [--team T] [--channel ~c] [--inactive]';
const COMPLETE_USAGE = 'whois complete <prefix> [--team T] [--channel ~c]';

const VIEW_TEAM: Requirement = { permission: 'view_team', scope: 'team' };
const READ_CHANNEL: Requirement = { permission: 'read_channel', scope: 'channel' };

/** How many search matches one reply lists. */
export const SEARCH_LIMIT = 25;
/** How many autocomplete suggestions one reply lists. */
export const COMPLETE_LIMIT = 10;

/**
 * Whether the caller may see another person's private profile fields (email, sign-in
 * method): themselves, or a system admin / user-management reader.
 */
export async function canSeePrivateFields(ctx: Pick<CommandContext, 'caller' | 'perms'>, user: Pick<User, 'id'>): Promise<boolean> {
  return user.id === ctx.caller.id || mayReadOthersPrivateFields(ctx);
}

/** Whether the caller may see private profile fields of anyone (admin or user-management reader). */
export async function mayReadOthersPrivateFields(ctx: Pick<CommandContext, 'perms'>): Promise<boolean> {
  if (await ctx.perms.can({ permission: 'manage_system', scope: 'system' })) return true;
  return ctx.perms.can({ permission: 'sysconsole_read_user_management_users', scope: 'system' });
}

/** `<site>/api/v4/users/{id}/image` as a link, or the path when the site URL is unknown. */
function imageLink(siteUrl: string | undefined, userId: string): Markdown | undefined {
  if (!isMattermostId(userId)) return undefined;
  const path = `api/v4/users/${userId}/image`;
  if (siteUrl) {
    try {
      const base = new URL(siteUrl.endsWith('/') ? siteUrl : `${siteUrl}/`);
      if (base.protocol === 'https:' || base.protocol === 'http:') return raw(`[profile image](${new URL(path, base).href})`);
    } catch {
      // fall through to the bare path
    }
  }
  return raw(`\`/${path}\``);
}

async function teamsOf(ctx: CommandContext, userId: string): Promise<Team[] | undefined> {
  try {
    return await ctx.api.getTeamsForUser(userId);
  } catch (e) {
    // The bot may lack sysconsole_read_user_management_users: leave the line out.
    if (isApiError(e) && (e.isForbidden || e.isNotFound)) return undefined;
    throw e;
  }
}

async function statusOf(ctx: CommandContext, userId: string): Promise<Status | undefined> {
  try {
    return await ctx.api.getStatus(userId);
  } catch (e) {
    if (isApiError(e) && e.isNotFound) return undefined;
    throw e;
  }
}

/** The profile card blocks for `user`, as `ctx.caller` may see it. */
async function profileCard(ctx: CommandContext, user: User): Promise<Block[]> {
  const self = user.id === ctx.caller.id;
  const [status, theirTeams, myTeams, privateOk] = await Promise.all([
    statusOf(ctx, user.id),
    teamsOf(ctx, user.id),
    self ? Promise.resolve(undefined) : teamsOf(ctx, ctx.caller.id),
    canSeePrivateFields(ctx, user),
  ]);
  const now = ctx.now();
  const readerTz = userTimeZone(ctx.caller);
  const theirTz = userTimeZone(user);

  const fullName = [user.first_name, user.last_name].filter(Boolean).join(' ');
  const lastActivity = status?.last_activity_at || user.last_activity_at;
  const statusText = status
    ? [statusLabel(status.status), `(${manualLabel(status)})`, dndUntil(status, now, readerTz)].filter(Boolean).join(' ')
    : undefined;

  let teamsLine: Text | undefined;
  if (theirTeams) {
    const shown = self ? theirTeams : theirTeams.filter((t) => myTeams?.some((m) => m.id === t.id));
    teamsLine = shown.length ? shown.map((t) => clip(t.display_name || t.name, 40)).join(', ') : 'none';
    if (!self && !myTeams) teamsLine = undefined;
  }

  const account = user.is_bot
    ? `Bot${user.bot_description ? ` — ${clip(user.bot_description, 80)}` : ''}`
    : 'Person';

  return [
    title(displayName(user)),
    fields([
      ['Username', `@${user.username}`],
      ['Full name', fullName ? clip(fullName) : undefined],
      ['Nickname', user.nickname ? clip(user.nickname) : undefined],
      ['Position', user.position ? clip(user.position, 128) : undefined],
      ['Email', privateOk && user.email ? clip(user.email, 128) : undefined],
      ['System roles', systemRoles(user.roles)],
      ['Account', account],
      ['Status', statusText],
      ['Last active', lastActivity ? relativeTime(lastActivity, now) : undefined],
      ['Sign-in', privateOk ? authMethod(user.auth_service) : undefined],
      ['MFA', user.mfa_active ? 'on' : 'off'],
      ['Created', user.create_at ? formatDate(user.create_at, readerTz) : undefined],
      ['Deactivated', user.delete_at > 0 ? formatDate(user.delete_at, readerTz) : undefined],
      ['Local time', theirTz ? `${formatClock(now, theirTz)} (${theirTz})` : undefined],
      ['Picture', imageLink(ctx.services.siteUrl, user.id)],
      [self ? 'Teams' : 'Teams in common', teamsLine],
    ]),
  ];
}

const card = defineSubcommand({
  name: '',
  summary: 'A profile card: names, roles, status, sign-in, local time, shared teams',
  usage: CARD_USAGE,
  examples: ['whois @ann', 'whois ann@example.com', 'whois "Ann Lee"', 'whois'],
  positional: ['target...'],
  args: z.object({ target: words }),
  // Any user may view profiles (the card hides email/sign-in as the server would).
  access: { self: null, other: null },
  async execute(ctx) {
    const ref = ctx.args.target.join(' ').trim();
    if (!ref) return reply(await profileCard(ctx, ctx.caller));
    return orAmbiguity(ctx, ref, 'whois', [], async () => {
      const user = await ctx.users.resolve(ref);
      return reply(await profileCard(ctx, user));
    });
  },
});

/** For callers who may not see emails: keep only users the term matches by a visible name. */
function matchesVisibly(user: User, term: string): boolean {
  const t = term.toLowerCase().replace(/^@/, '');
  const hay = [user.username, user.nickname, user.first_name, user.last_name, `${user.first_name} ${user.last_name}`];
  return hay.some((h) => h.toLowerCase().includes(t));
}

const search = defineSubcommand({
  name: 'search',
  summary: 'Find people by name, username or nickname',
  usage: SEARCH_USAGE,
  examples: ['whois search ann', 'whois search lee --team acme', 'whois search ann --channel ~town-square', 'whois search frank --inactive'],
  positional: ['term...'],
  args: z.object({ term: words, team: word.optional(), channel: word.optional(), inactive: flag }),
  // POST /users/search: any user; filtering by team needs view_team there and by
  // channel read_channel there, checked in execute (only when the flag is given).
  access: { self: null, other: null },
  scope: (r) => ({
    ...(typeof r['team'] === 'string' ? { team: r['team'] } : {}),
    ...(typeof r['channel'] === 'string' ? { channel: r['channel'] } : {}),
  }),
  async execute(ctx) {
    const usage = usageLine(ctx, 'whois', SEARCH_USAGE);
    const term = ctx.args.term.join(' ').trim();
    if (!term) throw invalidInput('Give a name to search for.', usage);
    if (term.length > 64) throw invalidInput('That search term is too long (64 characters at most).', usage);
    const team = ctx.args.team !== undefined ? await teamInScope(ctx, ctx.args.team, VIEW_TEAM, usage) : undefined;
    const channel = ctx.args.channel !== undefined ? await channelInScope(ctx, ctx.args.channel, READ_CHANNEL, usage) : undefined;

    let results = await ctx.api.searchUsers(
      {
        term: term.replace(/^@/, ''),
        ...(team ? { team_id: team.id } : {}),
        ...(channel ? { in_channel_id: channel.id } : {}),
        allow_inactive: ctx.args.inactive,
        limit: SEARCH_LIMIT + 1,
      },
    );
    // The bot's own search is unrestricted: keep whom the caller may see (docs/mattermost-notes.md §2.3).
    results = await ctx.users.visible(results, (u) => u.id);
    // The bot's search also matches emails; a caller who may not see emails must not
    // learn who has which address from what the search found.
    const privateOk = await mayReadOthersPrivateFields(ctx);
    if (!privateOk) results = results.filter((u) => matchesVisibly(u, term));
    if (!results.length) return reply([paragraph(md`No one matches ${term}.`)], { tone: 'info' });

    const shown = results.slice(0, SEARCH_LIMIT);
    const blocks: Block[] = [
      table(
        ['User', 'Position', 'Note'],
        shown.map((u) => [userLabel(u), clip(u.position, 48), userFlags(u).join(', ')]),
      ),
    ];
    if (results.length > SEARCH_LIMIT) blocks.push(hint(`More than ${SEARCH_LIMIT} people match; narrow the term.`));
    return reply(blocks);
  },
});

const complete = defineSubcommand({
  name: 'complete',
  summary: 'Usernames starting with a prefix (as the @-autocomplete does)',
  usage: COMPLETE_USAGE,
  examples: ['whois complete an', 'whois complete an --team acme', 'whois complete gr --channel ~incidents'],
  positional: ['prefix'],
  args: z.object({ prefix: word.optional(), team: word.optional(), channel: word.optional() }),
  // GET /users/autocomplete: any user; in_team needs view_team, in_channel read_channel.
  access: { self: null, other: null },
  scope: (r) => ({
    ...(typeof r['team'] === 'string' ? { team: r['team'] } : {}),
    ...(typeof r['channel'] === 'string' ? { channel: r['channel'] } : {}),
  }),
  async execute(ctx) {
    const usage = usageLine(ctx, 'whois', COMPLETE_USAGE);
    const prefix = (ctx.args.prefix ?? '').trim().replace(/^@/, '');
    if (!prefix) throw invalidInput('Give the start of a name.', usage);
    const channel = ctx.args.channel !== undefined ? await channelInScope(ctx, ctx.args.channel, READ_CHANNEL, usage) : undefined;
    // `in_channel` without `in_team` is a server error (docs/mattermost-notes.md §5.3), so a channel implies its team.
    if (channel && !channel.team_id) throw invalidInput('Autocomplete in a channel works for team channels only, not DMs.', usage);
    const teamRef = ctx.args.team ?? (channel ? channel.team_id : undefined);
    const team = teamRef !== undefined ? await teamInScope(ctx, teamRef, VIEW_TEAM, usage) : undefined;

    const res = await ctx.api.autocompleteUsers(
      { name: prefix, ...(team ? { teamId: team.id } : {}), ...(channel ? { channelId: channel.id } : {}), limit: COMPLETE_LIMIT },
    );
    const line = (u: User): string => userLabel(u) + (userFlags(u).length ? ` — ${userFlags(u).join(', ')}` : '');
    const blocks: Block[] = [];
    // The bot's autocomplete is unrestricted: keep whom the caller may see (docs/mattermost-notes.md §2.3).
    const users = (await ctx.users.visible(res.users, (u) => u.id)).slice(0, COMPLETE_LIMIT);
    const outside = (await ctx.users.visible(res.out_of_channel ?? [], (u) => u.id)).slice(0, COMPLETE_LIMIT);
    if (users.length) {
      if (channel) blocks.push(paragraph(md`In ${`~${channel.name}`}:`));
      blocks.push(list(users.map(line)));
    }
    if (outside.length) {
      blocks.push(paragraph(channel ? md`Not in ${`~${channel.name}`}:` : 'Others:'));
      blocks.push(list(outside.map(line)));
    }
    if (!blocks.length) return reply([paragraph(md`No usernames start with ${prefix}.`)], { tone: 'info' });
    blocks.push(hint(md`Details: ${commandCode(ctx, 'whois', [`@${(users[0] ?? outside[0])?.username ?? prefix}`])}`));
    return reply(blocks);
  },
});

export default defineCommand({
  name: 'whois',
  summary: 'Show who someone is, or find people',
  hint: '@user | email | id | "full name" | search <term> | complete <prefix>',
  ownTrigger: true,
  subcommands: [card, search, complete],
});
