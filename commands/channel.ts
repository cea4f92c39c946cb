/**
 * `/channel add|remove ~channel @user …`: channel membership for several people at once,
 * each row checked by the server's own rule (docs/batch.md):
 * - someone else: `manage_public_channel_members` on a public channel,
 *   `manage_private_channel_members` on a private one (api4/channel.go addChannelMember,
 *   removeChannelMember);
 * - oneself: joining a public channel needs `join_public_channels` in its team, a private one
 *   `manage_private_channel_members`; leaving needs nothing;
 * - nobody but a guest leaves the default channel (town-square), and a group-synced channel
 *   takes no one by hand and lets go of no one but oneself or a bot (app/channel.go
 *   addUserToChannel, removeUserFromChannel);
 * - only team members can be added, deactivated accounts cannot (app/channel.go
 *   AddUserToChannel, AddChannelMember).
 * Archived channels, direct and group messages are refused before any row. One call per
 * row: 9.10 takes one `user_id` per POST /channels/{id}/members.
 */
import { z } from 'zod';
import { defineCommand, defineSubcommand, type CommandContext, type Requirement } from '../src/core/command.js';
import { UserError, invalidInput, notFound } from '../src/core/errors.js';
import { code, md } from '../src/core/reply.js';
import type { Channel } from '../src/mattermost/models.js';
import { askFirst, botUserId, usageFor, userArg } from './lib/admin-users.js';
import { flag, word, words } from './lib/args.js';
import { auditRun, confirmArgs, decideRows, namesAndFile, nothingToDo, previewWhat, resolveRows, resultReply, rowPins, rowSubjects, rowsIn, runRows, type BatchWords, type Row } from './lib/batch.js';
import { clip } from './lib/people.js';
import { channelInScope } from './lib/scope.js';
import { CONFIRM_ADD_OVER } from './team.js';

const PUBLIC_MEMBERS: Requirement = { permission: 'manage_public_channel_members', scope: 'channel' };
const PRIVATE_MEMBERS: Requirement = { permission: 'manage_private_channel_members', scope: 'channel' };
const JOIN_PUBLIC: Requirement = { permission: 'join_public_channels', scope: 'team' };
const READ_CHANNEL: Requirement = { permission: 'read_channel', scope: 'channel' };

const membersRight = (c: Channel): Requirement => (c.type === 'O' ? PUBLIC_MEMBERS : PRIVATE_MEMBERS);
const channelLabel = (c: Channel): string => `~${clip(c.name, 64)}`;
const isGuest = (u: { roles: string }): boolean => u.roles.split(/\s+/).includes('system_guest');

type Ctx = CommandContext<{ channel: string; users: string[]; yes: boolean }>;

/**
 * The channel named, with what every row needs: only open and private channels that are not
 * archived, a private one only for someone who can read it or manage its members (else it is
 * "no channel named …", as for one that does not exist), and the bot able to do the change.
 */
async function targetChannel(ctx: Ctx, usage: string): Promise<{ channel: Channel; where: { channelId: string; teamId?: string } }> {
  const ref = ctx.args.channel.trim();
  if (ref.startsWith('@')) throw invalidInput(`Name the channel first, e.g. ~town-square ${ref}.`, usage);
  const channel = await channelInScope(ctx, ref.startsWith('~') ? ref : `~${ref}`, null, usage);
  const where = { channelId: channel.id, ...(channel.team_id ? { teamId: channel.team_id } : {}) };
  if (channel.type === 'D' || channel.type === 'G') throw invalidInput('Direct and group messages have no members to add or remove; name a public or private channel.', usage);
  if (channel.type === 'P' && !(await ctx.perms.can(READ_CHANNEL, where)) && !(await ctx.perms.can(PRIVATE_MEMBERS, where))) {
    throw notFound(`No channel named "${ref}".`);
  }
  if (channel.delete_at > 0) throw new UserError('conflict', `${channelLabel(channel)} is archived; unarchive it first (System Console → Channels) to change its members.`);
  const need = membersRight(channel);
  if (ctx.services.botCan && !(await ctx.services.botCan(need, where))) {
    throw new UserError('unavailable', `Not available: the bot account lacks ${need.permission} on ${channelLabel(channel)}. An admin can grant it.`, {
      text: md`Not available: the bot account lacks ${code(need.permission)} on ${channelLabel(channel)}. An admin can grant it.`,
    });
  }
  return { channel, where };
}

// ---------------------------------------------------------------------------
// add

const ADD_USAGE = 'channel add ~channel @user … [--yes]';
const ADD_WORDS: BatchWords = { will: 'Will add', done: 'Added', already: 'Members already' };

const add = defineSubcommand({
  name: 'add',
  summary: 'Add people to a channel: a preview per person (members already, not allowed), then Confirm',
  usage: ADD_USAGE,
  examples: ['channel add ~helpdesk @ann @bob', 'channel add ~ops/incidents @ivan'],
  positional: ['channel', 'users...'],
  args: z.object({ channel: word, users: words, yes: flag }),
  // POST /channels/{id}/members: manage_public_channel_members (manage_private_channel_members
  // on a private channel) for others, join rights for oneself; checked per row in execute
  access: { self: null, other: PUBLIC_MEMBERS },
  fresh: true,
  confirm: true,
  async execute(ctx) {
    const usage = usageFor(ctx, 'channel', ADD_USAGE);
    const { channel, where } = await targetChannel(ctx, usage);
    const list = await namesAndFile(ctx, ctx.args.users);
    const found = await resolveRows(ctx, list.words, usage, list.max);
    const ids = found.flatMap((r) => (r.user ? [r.user.id] : []));
    const members = new Set((await ctx.api.getChannelMembersByIds(channel.id, ids)).map((m) => m.user_id));
    const inTeam = new Set(channel.team_id ? (await ctx.api.getTeamMembersByIds(channel.team_id, ids)).filter((m) => m.delete_at === 0).map((m) => m.user_id) : ids);
    const need = membersRight(channel);
    const mayManage = await ctx.perms.can(need, where);
    const joinNeed = channel.type === 'O' ? JOIN_PUBLIC : PRIVATE_MEMBERS;
    const mayJoin = channel.type === 'O' ? await ctx.perms.can(JOIN_PUBLIC, where) : mayManage;
    // the server's order (api4/channel.go addChannelMember, app/channel.go AddChannelMember)
    const rows = await decideRows(found, (u) => {
      const self = u.id === ctx.caller.id;
      if (self && members.has(u.id)) return { group: 'already', why: 'already a member' };
      if (!self && !mayManage) return { group: 'not_allowed', why: `you need ${need.permission} on ${channelLabel(channel)}` };
      if (self && !mayJoin) return { group: 'not_allowed', why: `you need ${joinNeed.permission} to join ${channelLabel(channel)}` };
      if (members.has(u.id)) return { group: 'already', why: 'already a member' };
      if (channel.group_constrained === true) return { group: 'not_allowed', why: 'the channel\u2019s members come from synced groups' };
      if (u.delete_at > 0) return { group: 'not_allowed', why: 'deactivated' };
      if (!inTeam.has(u.id)) return { group: 'not_allowed', why: 'not in the channel\u2019s team (add them with team add first)' };
      return { group: 'change' };
    });
    const toAdd = rowsIn(rows, 'change').flatMap((r) => (r.user ? [r.user] : []));
    const heading = `Channel ${channelLabel(channel)}`;
    if (toAdd.length === 0) return nothingToDo(heading, rows, ADD_WORDS, list.file);
    askFirst(
      ctx,
      ctx.args.yes,
      {
        what: previewWhat(`This will add ${toAdd.length} ${toAdd.length === 1 ? 'person' : 'people'} to ${channelLabel(channel)}.`, rows, ADD_WORDS, list.file),
        command: 'channel',
        args: confirmArgs(list.file, ['add', channelArgOf(ctx, channel)], toAdd.map(userArg)),
        pins: { 'the channel': channel.id, ...rowPins(rows) },
        people: rowSubjects(rows),
      },
      // adding a few people is easy to undo: asked only for more (as team add), or when a second person must approve
      { needed: toAdd.length > CONFIRM_ADD_OVER || ctx.mustConfirm === true },
    );
    const run = await runRows(toAdd, (u) => ctx.api.addChannelMember(channel.id, u.id));
    auditRun(ctx, 'channel add', scopeOf(channel), rows, run);
    return resultReply(heading, rows, run, ADD_WORDS, { name: `${channel.name}-channel-add`, at: ctx.now(), ...(list.file ? { list: list.file } : {}) });
  },
});

// ---------------------------------------------------------------------------
// remove

const REMOVE_USAGE = 'channel remove ~channel @user … [--yes]';
const REMOVE_WORDS: BatchWords = { will: 'Will remove', done: 'Removed', already: 'Not members anyway' };

const remove = defineSubcommand({
  name: 'remove',
  summary: 'Remove people from a channel: a preview per person (not members, not allowed), then Confirm',
  usage: REMOVE_USAGE,
  examples: ['channel remove ~helpdesk @ann @bob', 'channel remove ~ops/incidents @ivan --yes'],
  positional: ['channel', 'users...'],
  args: z.object({ channel: word, users: words, yes: flag }),
  // DELETE /channels/{id}/members/{user_id}: manage_public_channel_members
  // (manage_private_channel_members on a private channel) for others; checked per row in execute
  access: { self: null, other: PUBLIC_MEMBERS },
  fresh: true,
  destructive: true,
  confirm: true,
  async execute(ctx) {
    const usage = usageFor(ctx, 'channel', REMOVE_USAGE);
    const { channel, where } = await targetChannel(ctx, usage);
    const list = await namesAndFile(ctx, ctx.args.users);
    const found = await resolveRows(ctx, list.words, usage, list.max);
    const ids = found.flatMap((r) => (r.user ? [r.user.id] : []));
    const members = new Set((await ctx.api.getChannelMembersByIds(channel.id, ids)).map((m) => m.user_id));
    const need = membersRight(channel);
    const mayManage = await ctx.perms.can(need, where);
    const bot = botUserId(ctx);
    // the server's order (api4/channel.go removeChannelMember, app/channel.go removeUserFromChannel)
    const rows: Row[] = await decideRows(found, (u) => {
      const self = u.id === ctx.caller.id;
      if (u.id === bot) return { group: 'not_allowed', why: 'the bot account itself: it may need this channel to work' };
      if (channel.group_constrained === true && !self && !u.is_bot) return { group: 'not_allowed', why: 'the channel\u2019s members come from synced groups' };
      if (!self && !mayManage) return { group: 'not_allowed', why: `you need ${need.permission} on ${channelLabel(channel)}` };
      if (channel.name === 'town-square' && !isGuest(u)) return { group: 'not_allowed', why: 'nobody but a guest leaves the default channel (remove them from the team instead)' };
      if (!members.has(u.id)) return { group: 'already', why: 'not a member' };
      return { group: 'change' };
    });
    const toRemove = rowsIn(rows, 'change').flatMap((r) => (r.user ? [r.user] : []));
    const heading = `Channel ${channelLabel(channel)}`;
    if (toRemove.length === 0) return nothingToDo(heading, rows, REMOVE_WORDS, list.file);
    const guests = toRemove.filter(isGuest).length;
    const headline = `This will remove ${toRemove.length} ${toRemove.length === 1 ? 'person' : 'people'} from ${channelLabel(channel)}.${guests ? ' A guest removed from their last channel of the team leaves the team too.' : ''}`;
    askFirst(ctx, ctx.args.yes, {
      what: previewWhat(headline, rows, REMOVE_WORDS, list.file),
      command: 'channel',
      args: confirmArgs(list.file, ['remove', channelArgOf(ctx, channel)], toRemove.map(userArg)),
      pins: { 'the channel': channel.id, ...rowPins(rows) },
      people: rowSubjects(rows),
    });
    const run = await runRows(toRemove, (u) => ctx.api.removeChannelMember(channel.id, u.id));
    auditRun(ctx, 'channel remove', scopeOf(channel), rows, run);
    return resultReply(heading, rows, run, REMOVE_WORDS, { name: `${channel.name}-channel-remove`, at: ctx.now(), ...(list.file ? { list: list.file } : {}) });
  },
});

/** `~name` in the team the command was typed in, else the channel's id (unambiguous from anywhere). */
function channelArgOf(ctx: Pick<CommandContext, 'invocation'>, c: Channel): string {
  if (c.team_id && c.team_id === ctx.invocation.teamId) return `~${c.name}`;
  return `~${c.id}`;
}

const scopeOf = (c: Channel): string => `channel:${c.id}`;

export default defineCommand({
  name: 'channel',
  summary: 'Channel membership for several people at once: add, remove',
  hint: 'add|remove ~channel @user …',
  ownTrigger: true,
  subcommands: [add, remove],
});
