/**
 * `/teams [@user]`: someone's teams with their team roles. `/teams members <team>`:
 * a team's members (one members page + one profile batch). `/teams member <team>
 * @user`: one membership.
 */
import { z } from 'zod';
import { defineCommand, defineSubcommand, type Access, type CommandContext, type Requirement } from '../src/core/command.js';
import { UserError } from '../src/core/errors.js';
import { fields, hint, md, paragraph, raw, reply, table, title, type Block, type Text } from '../src/core/reply.js';
import { isApiError } from '../src/mattermost/errors.js';
import type { Team, TeamMember, User } from '../src/mattermost/models.js';
import { flag, pageFlag, rawWord, word } from './lib/args.js';
import { EXPORT_PAGE, exportDeadlineWithCsv, memberPages, peopleFile } from './lib/people-export.js';
import { nextPageHint, usageLine } from './lib/command-line.js';
import { actingOn, orAmbiguity } from './lib/lookup.js';
import { clip, isTeamAdmin, isTeamGuest, teamRoles, userFlags, userLabel } from './lib/people.js';
import { teamInScope } from './lib/scope.js';

/** Members per page of `/teams members`. */
export const TEAM_MEMBERS_PER_PAGE = 40;
/** Page size used when scanning a team for `--role` (the server's maximum is 200). */
const SCAN_PAGE = 200;
/** How many scan pages `--role` reads at most (10 × 200 = 2000 members). */
const SCAN_MAX_PAGES = 10;

const VIEW_TEAM: Requirement = { permission: 'view_team', scope: 'team' };
const LIST_USAGE = 'teams [@user]';
const MEMBERS_USAGE = 'teams members [team] [--page N] [--role admin|member|guest]';
const MEMBER_USAGE = 'teams member <team> @user';

const teamScope = (r: Record<string, unknown>): { team?: string } => {
  const t = rawWord(r, 'team');
  return t ? { team: t } : {};
};

const teamName = (t: Team): string => clip(t.display_name || t.name, 48);
const teamType = (t: Team): string => (t.type === 'O' ? 'open' : t.type === 'I' ? 'invite only' : t.type);

const LIST_ACCESS: Access = {
  self: null,
  // GET /users/{id}/teams of someone else (docs/mattermost-notes.md §5.4)
  other: { permission: 'sysconsole_read_user_management_users', scope: 'system' },
};

const list = defineSubcommand({
  name: '',
  summary: 'Your teams (or someone else\u2019s) with the team roles held in each',
  usage: LIST_USAGE,
  examples: ['teams', 'teams @ann'],
  positional: ['user'],
  args: z.object({ user: word.optional() }),
  access: LIST_ACCESS,
  target: (r) => rawWord(r, 'user'),
  // The bot reads GET /users/{id}/teams for the caller too, which is "another user" to the server.
  botNeeds: [{ permission: 'sysconsole_read_user_management_users', scope: 'system' }],
  async execute(ctx) {
    const ref = ctx.args.user;
    return orAmbiguity(ctx, ref ?? '', 'teams', [], async () => {
      const user = await actingOn(ctx, ref, LIST_ACCESS);
      const self = user.id === ctx.caller.id;
      const teams = (await ctx.api.getTeamsForUser(user.id)).sort((a, b) =>
        teamName(a).localeCompare(teamName(b)),
      );
      if (!teams.length) {
        return reply([paragraph(self ? 'You are not in any team.' : md`${userLabel(user)} is not in any team.`)], { tone: 'info' });
      }
      // One call per team: the API has no cross-team batch for a user's memberships here.
      const members = await Promise.all(teams.map((t) => membershipOf(ctx, t.id, user.id)));
      const rows: Text[][] = teams.map((t, i) => {
        const m = members[i];
        return [teamName(t), t.name, teamType(t), m ? teamRoles(m) : '?', t.delete_at > 0 ? 'archived' : ''];
      });
      const anyNote = rows.some((r) => r[4]);
      return reply([
        title(self ? 'Your teams' : md`Teams of ${userLabel(user)}`),
        table(
          ['Team', 'Name', 'Type', 'Role', ...(anyNote ? ['Note'] : [])],
          rows.map((r) => (anyNote ? r : r.slice(0, 4))),
        ),
      ]);
    });
  },
});

async function membershipOf(ctx: CommandContext, teamId: string, userId: string): Promise<TeamMember | undefined> {
  try {
    const [m] = await ctx.api.getTeamMembersByIds(teamId, [userId]);
    return m;
  } catch (e) {
    // The bot may not see every team; the row then shows "?" instead of failing the list.
    if (isApiError(e) && (e.isForbidden || e.isNotFound)) return undefined;
    throw e;
  }
}

const ROLE_FILTERS = {
  admin: isTeamAdmin,
  member: (m: TeamMember) => !isTeamAdmin(m) && !isTeamGuest(m),
  guest: isTeamGuest,
} as const;

const roleFlag = z
  .string()
  .transform((s) => s.toLowerCase().replace(/s$/, ''))
  .pipe(z.enum(['admin', 'member', 'user', 'guest'], { error: '--role is admin, member or guest' }))
  .transform((r) => (r === 'user' ? 'member' : r));

const members = defineSubcommand({
  name: 'members',
  summary: 'A team\u2019s members with their team roles (--csv: all of them as a file)',
  usage: MEMBERS_USAGE,
  examples: ['teams members acme', 'teams members acme --page 2', 'teams members ops --role admin', 'teams members acme --csv'],
  positional: ['team'],
  args: z.object({ team: word.optional(), page: pageFlag, role: roleFlag.optional(), csv: flag }),
  // GET /teams/{id}/members: view_team on that team (docs/mattermost-notes.md §5.5); the server leaves out
  // members the caller may not see (api4/team.go getTeamMembers), and so does this list
  access: { self: VIEW_TEAM },
  scope: teamScope,
  botNeeds: [VIEW_TEAM],
  deadlineMs: exportDeadlineWithCsv,
  async execute(ctx) {
    const team = await teamInScope(ctx, ctx.args.team, VIEW_TEAM, usageLine(ctx, 'teams', MEMBERS_USAGE));
    const { page, role } = ctx.args;
    if (ctx.args.csv) {
      // every member the caller may see, as a file (commands/lib/people-export.ts)
      const pages = memberPages(ctx, (p) => ctx.api.getTeamMembers(team.id, { page: p, perPage: EXPORT_PAGE }), (m) => m.delete_at === 0 && (!role || ROLE_FILTERS[role](m)));
      const file = await peopleFile(ctx, `${team.name}-${role ? `${role}s` : 'members'}`, pages, { name: 'team roles', value: (m) => (m ? teamRoles(m) : '') });
      return reply([paragraph(md`Members of **${teamName(team)}**${role ? md` (${role}s)` : raw('')} that you can see, as a CSV file.`)], { files: [file] });
    }
    const per = TEAM_MEMBERS_PER_PAGE;
    let shown: TeamMember[];
    let hasMore: boolean;
    let scanCapped = false;
    if (role) {
      // The members endpoint cannot filter by role: scan (200 per call) and filter here.
      const matching: TeamMember[] = [];
      let p = 0;
      for (; p < SCAN_MAX_PAGES; p++) {
        const batch = await ctx.api.getTeamMembers(team.id, { page: p, perPage: SCAN_PAGE });
        matching.push(...(await ctx.users.visible(batch, (m) => m.user_id)).filter((m) => m.delete_at === 0 && ROLE_FILTERS[role](m)));
        if (batch.length < SCAN_PAGE) break;
      }
      scanCapped = p === SCAN_MAX_PAGES;
      shown = matching.slice((page - 1) * per, page * per);
      hasMore = matching.length > page * per;
    } else {
      const batch = await ctx.api.getTeamMembers(team.id, { page: page - 1, perPage: per });
      shown = (await ctx.users.visible(batch, (m) => m.user_id)).filter((m) => m.delete_at === 0);
      hasMore = batch.length === per;
    }

    const label = md`**${teamName(team)}**`;
    if (!shown.length) {
      const what = role ? md`No ${role}s` : raw('No members');
      return reply([paragraph(page > 1 ? md`${label}: no members on page ${page}.` : md`${what} in ${label}.`)], { tone: 'info' });
    }
    const profiles = await ctx.users.byIds(shown.map((m) => m.user_id));
    const from = (page - 1) * per + 1;
    const blocks: Block[] = [
      paragraph(md`${label} — ${role ? md`${role}s ` : raw('')}${from}–${from + shown.length - 1}`),
      table(
        ['User', 'Team role', 'Note'],
        shown.map((m) => {
          const u = profiles.get(m.user_id);
          return [u ? userLabel(u) : m.user_id, teamRoles(m), u ? userFlags(u).join(', ') : 'unknown user'];
        }),
      ),
    ];
    if (hasMore) blocks.push(hint(nextPageHint(ctx, 'teams', ['members', team.name, ...(role ? ['--role', role] : [])], page + 1)));
    if (scanCapped) blocks.push(hint(`Only the first ${SCAN_PAGE * SCAN_MAX_PAGES} members were scanned for --role.`));
    return reply(blocks);
  },
});

const member = defineSubcommand({
  name: 'member',
  summary: 'One person\u2019s membership of a team',
  usage: MEMBER_USAGE,
  examples: ['teams member acme @ann', 'teams member ops bob@example.com'],
  positional: ['team', 'user'],
  args: z.object({ team: word, user: word }),
  // GET /teams/{id}/members/{user_id}: view_team on that team (docs/mattermost-notes.md §5.5)
  access: { self: VIEW_TEAM },
  scope: teamScope,
  botNeeds: [VIEW_TEAM],
  async execute(ctx) {
    const team = await teamInScope(ctx, ctx.args.team, VIEW_TEAM, usageLine(ctx, 'teams', MEMBER_USAGE));
    const ref = ctx.args.user;
    return orAmbiguity(ctx, ref, 'teams', ['member', team.name], async () => {
      const user: User = await ctx.users.resolve(ref);
      let m: TeamMember;
      try {
        m = await ctx.api.getTeamMember(team.id, user.id);
      } catch (e) {
        if (isApiError(e) && e.isNotFound) {
          throw new UserError('not_found', `${userLabel(user)} is not a member of ${teamName(team)}.`);
        }
        throw e;
      }
      const left = m.delete_at > 0;
      return reply([
        title(md`${userLabel(user)} in ${teamName(team)}`),
        fields([
          ['Team role', left ? 'left the team' : teamRoles(m)],
          ['Explicit roles', m.explicit_roles ? clip(m.explicit_roles, 120) : undefined],
          ['Account', userFlags(user).join(', ') || undefined],
        ]),
      ]);
    });
  },
});

export default defineCommand({
  name: 'teams',
  summary: 'Teams of a person, and members of a team',
  hint: '[@user] | members <team> [--page N] [--role admin] | member <team> @user',
  ownTrigger: true,
  subcommands: [list, members, member],
});
