/**
 * `/members [~channel] [--page N]`: a channel's members with their channel roles
 * (one members page + one profile batch). `/members ~channel @u1 @u2`: whether those
 * people are members (`POST /channels/{id}/members/ids`, or one GET for one person).
 */
import { z } from 'zod';
import { defineCommand, defineSubcommand, type CommandContext, type Requirement } from '../src/core/command.js';
import { invalidInput } from '../src/core/errors.js';
import { hint, md, paragraph, raw, reply, table, type Block, type Markdown } from '../src/core/reply.js';
import { isApiError } from '../src/mattermost/errors.js';
import type { Channel, ChannelMember } from '../src/mattermost/models.js';
import { flag, isChannelRef, pageFlag, rawWords, words } from './lib/args.js';
import { EXPORT_PAGE, exportDeadlineWithCsv, memberPages, peopleFile } from './lib/people-export.js';
import { nextPageHint, usageLine } from './lib/command-line.js';
import { resolveBatch, uniqueRefs, unresolvedBlocks } from './lib/lookup.js';
import { channelRoles, clip, userFlags, userLabel } from './lib/people.js';
import { channelInScope } from './lib/scope.js';

/** Members per page of `/members`. */
export const CHANNEL_MEMBERS_PER_PAGE = 40;
/** The most people one `/members ~c @a @b …` checks (one batch call). */
export const MAX_CHECKED_USERS = 200;

const READ_CHANNEL: Requirement = { permission: 'read_channel', scope: 'channel' };
const USAGE = 'members [~channel] [--page N] | members ~channel @user1 @user2 ...';

/** The first `~channel` among the words (the rest are people). */
const channelWord = (all: string[]): string | undefined => all.find(isChannelRef);

/** "**Town Square**" / "this conversation" for DMs and group messages. */
function channelTitle(c: Channel): Markdown {
  if (c.type === 'D' || c.type === 'G') return raw('this conversation');
  return md`**${clip(c.display_name || c.name, 48)}**`;
}

/** How to name `c` again in a hint, from where the person is typing. */
function channelArgs(ctx: CommandContext, c: Channel): string[] {
  if (c.id === ctx.invocation.channelId) return [];
  if (c.type === 'D' || c.type === 'G' || !c.team_id) return [`~${c.id}`];
  if (c.team_id === ctx.invocation.teamId) return [`~${c.name}`];
  return ctx.team && ctx.team.id === c.team_id ? [`~${ctx.team.name}:${c.name}`] : [`~${c.id}`];
}

async function listMembers(ctx: CommandContext, channel: Channel, page: number) {
  const per = CHANNEL_MEMBERS_PER_PAGE;
  const batch = await ctx.api.getChannelMembers(channel.id, { page: page - 1, perPage: per });
  if (!batch.length) {
    return reply([paragraph(page > 1 ? md`${channelTitle(channel)}: no members on page ${page}.` : md`No members in ${channelTitle(channel)}.`)], {
      tone: 'info',
    });
  }
  const profiles = await ctx.users.byIds(batch.map((m) => m.user_id));
  const from = (page - 1) * per + 1;
  const blocks: Block[] = [
    paragraph(md`${channelTitle(channel)} — members ${from}–${from + batch.length - 1}`),
    table(
      ['User', 'Channel role', 'Note'],
      batch.map((m) => {
        const u = profiles.get(m.user_id);
        return [u ? userLabel(u) : m.user_id, channelRoles(m), u ? userFlags(u).join(', ') : 'unknown user'];
      }),
    ),
  ];
  if (batch.length === per) blocks.push(hint(nextPageHint(ctx, 'members', channelArgs(ctx, channel), page + 1)));
  return reply(blocks);
}

async function checkMembers(ctx: CommandContext, channel: Channel, refs: string[]) {
  if (refs.length > MAX_CHECKED_USERS) throw invalidInput(`Check at most ${MAX_CHECKED_USERS} people at a time.`, usageLine(ctx, 'members', USAGE));
  const resolved = await resolveBatch(ctx, refs);
  const users = resolved.found.map((f) => f.user);
  const byUser = new Map<string, ChannelMember>();
  const [only] = users;
  if (users.length === 1 && only) {
    try {
      byUser.set(only.id, await ctx.api.getChannelMember(channel.id, only.id));
    } catch (e) {
      if (!(isApiError(e) && e.isNotFound)) throw e; // 404 = not a member
    }
  } else if (users.length > 1) {
    const rows = await ctx.api.getChannelMembersByIds(
      channel.id,
      users.map((u) => u.id),
    );
    for (const m of rows) byUser.set(m.user_id, m);
  }
  const blocks: Block[] = [];
  if (users.length) {
    blocks.push(paragraph(md`Membership of ${channelTitle(channel)}:`));
    blocks.push(
      table(
        ['User', 'Member', 'Channel role'],
        users.map((u) => {
          const m = byUser.get(u.id);
          return [userLabel(u), m ? 'yes' : 'no', m ? channelRoles(m) : ''];
        }),
      ),
    );
  }
  const unresolved = unresolvedBlocks(resolved);
  blocks.push(...unresolved);
  return reply(blocks, { tone: unresolved.length ? 'warning' : 'ok' });
}

const members = defineSubcommand({
  name: '',
  summary: 'Members of this or another channel with their channel roles (--csv: all of them as a file), or whether given people are members',
  usage: USAGE,
  examples: ['members', 'members ~incidents', 'members ~town-square --page 2', 'members ~incidents @ann @bob', 'members ~incidents --csv'],
  positional: ['refs...'],
  args: z.object({ refs: words, page: pageFlag, csv: flag }),
  // GET /channels/{id}/members, POST …/members/ids, GET …/members/{user_id}: read_channel (docs/mattermost-notes.md §5.6)
  access: { self: READ_CHANNEL },
  scope: (r) => {
    const c = channelWord(rawWords(r, 'refs'));
    return c ? { channel: c } : {};
  },
  botNeeds: [READ_CHANNEL],
  deadlineMs: exportDeadlineWithCsv,
  async execute(ctx) {
    const all = ctx.args.refs;
    const channels = all.filter(isChannelRef);
    const usage = usageLine(ctx, 'members', USAGE);
    if (channels.length > 1) throw invalidInput('Name one channel at a time.', usage);
    const channel = await channelInScope(ctx, channels[0], READ_CHANNEL, usage);
    const people = uniqueRefs(all.filter((w) => !isChannelRef(w)));
    if (ctx.args.csv) {
      if (people.length) throw invalidInput('--csv is for listing members, not for checking people.', usage);
      // every member the caller may see, as a file (commands/lib/people-export.ts)
      const pages = memberPages(ctx, (p) => ctx.api.getChannelMembers(channel.id, { page: p, perPage: EXPORT_PAGE }));
      const file = await peopleFile(ctx, `${channel.name || 'channel'}-members`, pages, { name: 'channel roles', value: (m) => (m ? channelRoles(m) : '') });
      return reply([paragraph(md`Members of ${channelTitle(channel)} that you can see, as a CSV file.`)], { files: [file] });
    }
    if (people.length) {
      if (ctx.args.page !== 1) throw invalidInput('--page is for listing members, not for checking people.', usage);
      return checkMembers(ctx, channel, people);
    }
    return listMembers(ctx, channel, ctx.args.page);
  },
});

export default defineCommand({
  name: 'members',
  summary: 'Who is in a channel, and with which role',
  hint: '[~channel] [--page N] | ~channel @user ...',
  ownTrigger: true,
  subcommands: [members],
});
