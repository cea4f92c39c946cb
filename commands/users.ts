/**
 * `/users export [--team T] [--role R] [--inactive]`: the people the caller may see as a CSV
 * file, sent to their DM with the bot (src/render/file-answer.ts).
 * `/users inactive [--days 90] [--team T] [--include-bots] [--page N]`: active accounts with
 * no activity for N days.
 *
 * Where `inactive` reads activity: a system admin's request uses the server's user report
 * (`GET /reports/users`, server/channels/api4/report.go getUsersForReporting: system admins
 * only), where activity is the latest of last login, last status change and last post.
 * Anyone else gets the user list and `POST /users/status/ids`, where activity is the
 * status's `last_activity_at`: the last time a client of theirs was seen in use. The
 * answer says which.
 */
import { z } from 'zod';
import { defineCommand, defineSubcommand, type Requirement } from '../src/core/command.js';
import { hint, md, paragraph, raw, reply, table, type Block, type Text } from '../src/core/reply.js';
import type { User } from '../src/mattermost/models.js';
import { USERS_WRITE } from './lib/admin-users.js';
import { flag, pageFlag, rawWord, word } from './lib/args.js';
import { nextPageHint, usageLine } from './lib/command-line.js';
import { EXPORT_DEADLINE_MS, peopleFile, userListPages } from './lib/people-export.js';
import { clip, userLabel } from './lib/people.js';
import { teamInScope } from './lib/scope.js';

const VIEW_TEAM: Requirement = { permission: 'view_team', scope: 'team' };
const READ_USERS: Requirement = { permission: 'sysconsole_read_user_management_users', scope: 'system' };
const EXPORT_USAGE = 'users export [--team T] [--role admin|user|guest|ROLE] [--inactive]';
const INACTIVE_USAGE = 'users inactive [--days 90] [--team T] [--include-bots] [--page N]';
/** Rows per page of `users inactive`. */
export const INACTIVE_PER_PAGE = 40;
/** Page size of `GET /reports/users` (the server's maximum, model.ReportingMaxPageSize). */
const REPORT_PAGE = 100;
const DAY_MS = 86_400_000;

const teamScope = (r: Record<string, unknown>): { team?: string } => {
  const t = rawWord(r, 'team');
  return t ? { team: t } : {};
};

const SHORT_ROLES: Record<string, string> = { admin: 'system_admin', user: 'system_user', member: 'system_user', guest: 'system_guest' };
const roleFlag = z
  .string()
  .regex(/^[a-z0-9_]{1,64}$/i, '--role is admin, user, guest or a role name such as system_user_manager')
  .transform((r) => SHORT_ROLES[r.toLowerCase()] ?? r.toLowerCase());

const exportPeople = defineSubcommand({
  name: 'export',
  summary: 'The people you can see as a CSV file (emails where you may see them), sent to your DM with the bot',
  usage: EXPORT_USAGE,
  examples: ['users export', 'users export --team acme', 'users export --role guest', 'users export --inactive'],
  args: z.object({ team: word.optional(), role: roleFlag.optional(), inactive: flag }),
  // GET /users lists only the people the caller may see (api4/user.go getUsers with the
  // caller's view restrictions): so does this file; `--team` needs view_team there
  access: { self: null },
  scope: teamScope,
  deadlineMs: EXPORT_DEADLINE_MS,
  async execute(ctx) {
    const { role, inactive } = ctx.args;
    const team = ctx.args.team ? await teamInScope(ctx, ctx.args.team, VIEW_TEAM, usageLine(ctx, 'users', EXPORT_USAGE)) : undefined;
    const what = [team ? `${team.name}-members` : 'users', role ? role.replace(/^system_/, '') : '', inactive ? 'deactivated' : ''].filter(Boolean).join('-');
    const file = await peopleFile(ctx, what, userListPages(ctx, { ...(role ? { role } : {}), ...(inactive ? { inactive: true } : {}), ...(team ? { inTeam: team.id } : {}) }));
    const scope: Text = team ? md`the members of **${team.display_name || team.name}**` : raw('everyone');
    return reply([paragraph(md`Export of ${scope}${role ? md` with role ${role}` : raw('')}${inactive ? raw(' (deactivated accounts only)') : raw('')} that you can see.`)], { files: [file] });
  },
});

interface InactiveRow {
  user: User;
  lastActivity: number;
  lastPost?: number;
}

const inactive = defineSubcommand({
  name: 'inactive',
  summary: 'Active accounts with no activity for N days (90 by default); system admins get the server\u2019s user report (GET /reports/users), others the user list and statuses of the people they can see',
  usage: INACTIVE_USAGE,
  examples: ['users inactive', 'users inactive --days 30', 'users inactive --team acme --include-bots'],
  args: z.object({
    days: z.coerce.number({ error: '--days takes a number, e.g. --days 90' }).int('--days takes a whole number').min(1, '--days is at least 1').max(3650, '--days is at most 3650').default(90),
    team: word.optional(),
    includeBots: flag,
    page: pageFlag,
  }),
  // The server's report (GET /reports/users) only for system admins (api4/report.go); anyone
  // else: GET /users + statuses, cut to the people they may see. `--team`: view_team there.
  access: { self: null },
  scope: teamScope,
  deadlineMs: EXPORT_DEADLINE_MS,
  async execute(ctx) {
    const { days, includeBots, page } = ctx.args;
    const team = ctx.args.team ? await teamInScope(ctx, ctx.args.team, VIEW_TEAM, usageLine(ctx, 'users', INACTIVE_USAGE)) : undefined;
    const cutoff = ctx.now() - days * DAY_MS;
    const wanted = { from: (page - 1) * INACTIVE_PER_PAGE, to: page * INACTIVE_PER_PAGE };
    const shown: InactiveRow[] = [];
    let count = 0;
    const keep = (row: InactiveRow): void => {
      if (row.user.delete_at > 0 || (row.user.is_bot && !includeBots) || row.lastActivity >= cutoff) return;
      if (count >= wanted.from && count < wanted.to) shown.push(row);
      count += 1;
    };
    const useReport = await ctx.perms.can({ permission: 'manage_system', scope: 'system' });
    if (useReport) {
      let from: { value: string; id: string } | undefined;
      for (;;) {
        const batch = await ctx.api.getUsersReport({ pageSize: REPORT_PAGE, hideInactive: true, ...(team ? { teamFilter: team.id } : {}), ...(from ? { fromColumnValue: from.value, fromId: from.id } : {}) });
        for (const u of batch) keep({ user: u, lastActivity: Math.max(u.last_login, u.last_status_at ?? 0, u.last_post_date ?? 0), ...(u.last_post_date ? { lastPost: u.last_post_date } : {}) });
        const last = batch[batch.length - 1];
        if (batch.length < REPORT_PAGE || !last) break;
        from = { value: last.username, id: last.id };
      }
    } else {
      for await (const p of userListPages(ctx, { ...(team ? { inTeam: team.id } : {}) })()) {
        const users = p.users.map((e) => e.user).filter((u) => u.delete_at === 0);
        const statuses = users.length ? await ctx.api.getStatusesByIds(users.map((u) => u.id)) : [];
        const seen = new Map(statuses.map((s) => [s.user_id, s.last_activity_at]));
        for (const u of users) keep({ user: u, lastActivity: Math.max(seen.get(u.id) ?? 0, u.last_activity_at) });
      }
    }

    const where: Text = team ? md` in **${team.display_name || team.name}**` : raw('');
    const source: Block = hint(
      useReport
        ? raw('Source: the server\u2019s user report; activity = the latest of last login, last status change and last post.')
        : raw('Source: the user list and statuses (the user report is for system admins); activity = the last time a client of theirs was seen in use. Only people you can see are counted.'),
    );
    if (!count) return reply([paragraph(md`Nobody${where} has been inactive for ${days} days or more.`), source], { tone: 'info' });
    if (!shown.length) return reply([paragraph(md`${count} inactive people${where}; no rows on page ${page}.`), source], { tone: 'info' });
    const day = (ms: number | undefined): string => (ms && ms > 0 ? new Date(ms).toISOString().slice(0, 10) : 'never');
    // their teams, for the rows shown: GET /users/{id}/teams of someone else needs
    // sysconsole_read_user_management_users (as `teams @user`), so only for callers holding it
    const showTeams = await ctx.perms.can(READ_USERS);
    const teamsOf = new Map<string, string>();
    if (showTeams) {
      await Promise.all(
        shown.map(async (r) => {
          const teams = await ctx.api.getTeamsForUser(r.user.id).catch(() => undefined);
          teamsOf.set(r.user.id, teams ? teams.map((t) => t.name).sort().join(', ') || 'none' : '?');
        }),
      );
    }
    const blocks: Block[] = [
      paragraph(md`**${count}** ${count === 1 ? 'person' : 'people'}${where} with no activity for ${days} days or more (${wanted.from + 1}–${wanted.from + shown.length}):`),
      table(
        ['User', 'Last activity', ...(useReport ? ['Last post'] : []), ...(showTeams ? ['Teams'] : [])],
        shown.map((r) => [userLabel(r.user), day(r.lastActivity), ...(useReport ? [day(r.lastPost)] : []), ...(showTeams ? [clip(teamsOf.get(r.user.id) ?? '?', 80)] : [])]),
      ),
      source,
    ];
    if (count > wanted.to) {
      const args = ['inactive', ...(days !== 90 ? ['--days', days] : []), ...(team ? ['--team', team.name] : []), ...(includeBots ? ['--include-bots'] : [])];
      blocks.push(hint(nextPageHint(ctx, 'users', args, page + 1)));
    }
    // the listed people, by id (a name could mean someone else by the time of the click);
    // offered only to a caller who may deactivate others (user.ts deactivate's rule for
    // others; each row is checked again in the preview, and at Confirm)
    const mayDeactivate = await ctx.perms.can(USERS_WRITE);
    const followUps = mayDeactivate ? [{ name: `Deactivate these ${shown.length}`, text: `user deactivate ${shown.map((r) => r.user.id).join(' ')}`, style: 'danger' as const }] : [];
    return reply(blocks, { followUps });
  },
});

export default defineCommand({
  name: 'users',
  summary: 'Everyone at once: a CSV export, and who has gone quiet',
  hint: 'export [--team T] [--role R] [--inactive] | inactive [--days 90]',
  ownTrigger: true,
  subcommands: [exportPeople, inactive],
});
