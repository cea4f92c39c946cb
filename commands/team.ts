/**
 * `/team`: membership administration — add people (one batch call), remove people,
 * invite by email, set someone's team role.
 *
 * Permissions as the server checks them (docs/mattermost-notes.md §5.5), in the named team:
 * - `team add`: `add_user_to_team`;
 * - `team remove`: `remove_user_from_team` for anyone but oneself, row by row (docs/batch.md);
 * - `team invite`: `invite_user` **and** `add_user_to_team` (the server checks both);
 * - `team role`: `manage_team_roles`.
 * Team schemes apply (the demo's `ops` team takes `invite_user` away from members).
 */
import { z } from 'zod';
import { defineCommand, defineSubcommand, type CommandContext } from '../src/core/command.js';
import { UserError, invalidInput } from '../src/core/errors.js';
import { code, fields, hint, list, md, paragraph, reply, say, table, title, type Block, type Text } from '../src/core/reply.js';
import { inviteForm } from './lib/forms.js';
import { isApiError } from '../src/mattermost/errors.js';
import type { Team, TeamMember, User } from '../src/mattermost/models.js';
import { ADD_TO_TEAM, INVITE_TO_TEAM, MANAGE_TEAM_ROLES, REMOVE_FROM_TEAM, askFirst, botUserId, serverSays, WHO_THE_NAMES_ARE, usageFor, userArg } from './lib/admin-users.js';
import { flag, rawWord, word, words } from './lib/args.js';
import { auditRun, confirmArgs, decideRows, fileLines, namesAndFile, resultFile, skippedRecords, nothingToDo, previewWhat, resolveRows, resultReply, rowPins, rowSubjects, rowsIn, runRows, type BatchWords } from './lib/batch.js';
import { resolveBatch, uniqueRefs, unresolvedBlocks } from './lib/lookup.js';
import { clip, isTeamGuest, teamRoles, userLabel } from './lib/people.js';
import { teamInScope } from './lib/scope.js';

const teamScope = (raw: Record<string, unknown>): { team?: string } => {
  const t = rawWord(raw, 'team', 0);
  return t ? { team: t } : {};
};

const teamLabel = (t: Team): string => clip(t.display_name || t.name, 48);

// ---------------------------------------------------------------------------
// add

const ADD_USAGE = 'team add <team> @user … [--yes]';
/** The server takes 1–256 members per batch call. */
export const MAX_BATCH = 256;
/** Adding more people than this at once asks to confirm first (a mistyped list is costly to undo). */
export const CONFIRM_ADD_OVER = 5;

/** People named in an answer: all of a few, the first 20 of many ("… and 980 more"; the result file has every one). */
function named(us: readonly User[]): string {
  const shown = us.slice(0, 20).map(userLabel).join(', ');
  return us.length > 20 ? `${shown} … and ${us.length - 20} more` : shown;
}

/** The first 20 names not found and ambiguous, for the answer (the result file has every one). */
const clipped = (r: Awaited<ReturnType<typeof resolveBatch>>): Awaited<ReturnType<typeof resolveBatch>> => ({ ...r, notFound: r.notFound.slice(0, 20), ambiguous: r.ambiguous.slice(0, 20) });

/** Every name of a `team add` as result-file records (commands/lib/batch.ts RESULT_HEADER), in the order given. */
function addRecords(
  refs: readonly string[],
  resolved: Awaited<ReturnType<typeof resolveBatch>>,
  out: { added: User[]; already: User[]; deactivated: User[]; failed: Array<{ user: User; why: string }> },
): string[][] {
  const byRef = new Map(resolved.found.map((f) => [f.ref, f.user]));
  const ambiguous = new Map(resolved.ambiguous.map((a) => [a.ref, a.candidates]));
  const notFound = new Set(resolved.notFound);
  const ids = (us: User[]): Set<string> => new Set(us.map((u) => u.id));
  const added = ids(out.added);
  const already = ids(out.already);
  const deactivated = ids(out.deactivated);
  const failed = new Map(out.failed.map((f) => [f.user.id, f.why]));
  return refs.map((ref) => {
    const u = byRef.get(ref);
    if (!u) {
      if (ambiguous.has(ref)) return [ref, '', '', 'ambiguous', `matches ${(ambiguous.get(ref) ?? []).map((c) => `@${c}`).join(', ')}`];
      return notFound.has(ref) ? [ref, '', '', 'not found', ''] : [ref, '', '', 'already so', 'the same person as another row'];
    }
    const who = [ref, u.username, u.id];
    if (added.has(u.id)) return [...who, 'added', ''];
    if (already.has(u.id)) return [...who, 'already so', 'already a member'];
    if (deactivated.has(u.id)) return [...who, 'not allowed', 'deactivated'];
    return [...who, 'failed', failed.get(u.id) ?? 'not added'];
  });
}

const add = defineSubcommand({
  name: 'add',
  summary: 'Add people to a team (batch calls): added, already members, not found; by DM, from an attached .csv or .txt list',
  usage: ADD_USAGE,
  examples: ['team add acme @ann @bob', 'team add ops dave@example.com "Grace Hopper"'],
  positional: ['team', 'users...'],
  args: z.object({ team: word, users: words, yes: flag }),
  // POST /teams/{id}/members/batch: add_user_to_team in that team (docs/mattermost-notes.md §5.5)
  access: { self: ADD_TO_TEAM },
  // changes membership: decided on current roles, never the cache
  fresh: true,
  scope: teamScope,
  botNeeds: [ADD_TO_TEAM],
  confirm: true,
  async execute(ctx) {
    const usage = usageFor(ctx, 'team', ADD_USAGE);
    const team = await teamInScope(ctx, ctx.args.team, ADD_TO_TEAM, usage);
    const given = await namesAndFile(ctx, ctx.args.users);
    const refs = uniqueRefs(given.words);
    if (refs.length === 0) throw invalidInput('Name the people to add, e.g. @ann @bob (or attach a .csv or .txt list in a DM).', usage);
    if (refs.length > given.max) throw invalidInput(`That is ${refs.length} people; add at most ${given.max} at a time${given.file ? '' : ' (or attach them as a list file in a DM)'}.`, usage);

    const resolved = await resolveBatch(ctx, refs);
    // every name as it resolves now (members too): a confirmed run must find the same people
    const people = resolved.found.map((f) => f.user.id).sort();
    const deactivated = resolved.found.filter((f) => f.user.delete_at > 0).map((f) => f.user);
    const active = resolved.found.filter((f) => f.user.delete_at === 0).map((f) => f.user);
    const current = active.length
      ? await ctx.api.getTeamMembersByIds(team.id, active.map((u) => u.id))
      : [];
    const isMember = new Set(current.filter((m) => m.delete_at === 0).map((m) => m.user_id));
    const already = active.filter((u) => isMember.has(u.id));
    const toAdd = active.filter((u) => !isMember.has(u.id));

    if (toAdd.length > 0 || ctx.invocation.confirmed) {
      askFirst(
        ctx,
        ctx.args.yes,
        {
          what: [`This will add ${toAdd.length} people to ${teamLabel(team)}: ${named(toAdd)}.`, ...fileLines(given.file)].join('\n'),
          command: 'team',
          args: confirmArgs(given.file, ['add', team.name], toAdd.map(userArg)),
          pins: { [WHO_THE_NAMES_ARE]: people, 'the team': team.id, 'the people to add': toAdd.map((u) => u.id).sort() },
          people: toAdd.map((u) => u.id),
        },
        { needed: toAdd.length > CONFIRM_ADD_OVER || ctx.mustConfirm === true },
      );
    }
    const added: User[] = [];
    const failed: Array<{ user: User; why: string }> = [];
    if (toAdd.length) {
      // the server takes at most MAX_BATCH per call (api4/team.go addTeamMembers)
      const rows = [];
      for (let i = 0; i < toAdd.length; i += MAX_BATCH) {
        const chunk = toAdd.slice(i, i + MAX_BATCH);
        rows.push(...(await serverSays(`add people to ${teamLabel(team)}`, () => ctx.api.addTeamMembers(team.id, chunk.map((u) => u.id)))));
      }
      const byId = new Map(rows.map((r) => [r.user_id, r]));
      for (const u of toAdd) {
        const row = byId.get(u.id);
        if (row && !row.error && row.member) added.push(u);
        else failed.push({ user: u, why: row?.error?.message || 'not added (no answer for them)' });
      }
    }

    const blocks: Block[] = [title(md`Team ${teamLabel(team)}: ${added.length} added`)];
    const fromFile = fileLines(given.file);
    if (fromFile.length) blocks.push(paragraph(fromFile.join('\n')));
    if (added.length) blocks.push(paragraph(`Added: ${named(added)}`));
    if (already.length) blocks.push(paragraph(`Already members: ${named(already)}`));
    if (deactivated.length) blocks.push(paragraph(`Deactivated, not added: ${named(deactivated)}`));
    if (failed.length) blocks.push(paragraph('Not added:'), list(failed.slice(0, 20).map((f) => `${userLabel(f.user)}: ${clip(f.why, 200)}`)));
    const unresolved = unresolvedBlocks(clipped(resolved));
    blocks.push(...unresolved);
    const clean = !failed.length && !unresolved.length && !deactivated.length && !given.file?.bad.length;
    const files = toAdd.length ? [resultFile(`${team.name}-team-add`, [...addRecords(refs, resolved, { added, already, deactivated, failed }), ...skippedRecords(given.file)], ctx.now())] : [];
    return reply(blocks, { tone: clean ? 'ok' : 'warning', files });
  },
});

// ---------------------------------------------------------------------------
// remove

const REMOVE_USAGE = 'team remove <team> @user … [--yes]';
const REMOVE_WORDS: BatchWords = { will: 'Will remove', done: 'Removed', already: 'Not members anyway' };

const remove = defineSubcommand({
  name: 'remove',
  summary: 'Remove people from a team (out of its channels too): a preview per person, then Confirm',
  usage: REMOVE_USAGE,
  examples: ['team remove acme @ann @bob', 'team remove ops @grace --yes'],
  positional: ['team', 'users...'],
  args: z.object({ team: word, users: words, yes: flag }),
  // DELETE /teams/{id}/members/{user_id}, one per person (the server has no batch form):
  // remove_user_from_team in that team for anyone but oneself (api4/team.go removeTeamMember),
  // checked per row in execute
  access: { self: null, other: REMOVE_FROM_TEAM },
  fresh: true,
  destructive: true,
  scope: teamScope,
  botNeeds: [REMOVE_FROM_TEAM],
  confirm: true,
  async execute(ctx) {
    const usage = usageFor(ctx, 'team', REMOVE_USAGE);
    const team = await teamInScope(ctx, ctx.args.team, null, usage);
    const list = await namesAndFile(ctx, ctx.args.users);
    const found = await resolveRows(ctx, list.words, usage, list.max);
    const ids = found.flatMap((r) => (r.user ? [r.user.id] : []));
    const members = new Set((ids.length ? await ctx.api.getTeamMembersByIds(team.id, ids) : []).filter((m) => m.delete_at === 0).map((m) => m.user_id));
    const mayRemoveOthers = await ctx.perms.can(REMOVE_FROM_TEAM, { teamId: team.id });
    const bot = botUserId(ctx);
    // the server's order (api4/team.go removeTeamMember, app/team.go LeaveTeam)
    const rows = await decideRows(found, (u) => {
      const self = u.id === ctx.caller.id;
      if (u.id === bot) return { group: 'not_allowed', why: 'the bot account itself: removing it would stop this bot from working in that team' };
      if (!self && !mayRemoveOthers) return { group: 'not_allowed', why: `you need remove_user_from_team in ${teamLabel(team)}` };
      if (team.group_constrained === true && !self && !u.is_bot) return { group: 'not_allowed', why: 'the team\u2019s members come from synced groups (change the group instead)' };
      if (!members.has(u.id)) return { group: 'already', why: 'not a member' };
      return { group: 'change' };
    });
    const toRemove = rowsIn(rows, 'change').flatMap((r) => (r.user ? [r.user] : []));
    const heading = `Team ${teamLabel(team)}`;
    if (toRemove.length === 0) return nothingToDo(heading, rows, REMOVE_WORDS, list.file);
    const what = `This will remove ${toRemove.length} ${toRemove.length === 1 ? 'person' : 'people'} from ${teamLabel(team)} and all its channels (their messages stay).`;
    askFirst(ctx, ctx.args.yes, {
      what: previewWhat(what, rows, REMOVE_WORDS, list.file),
      command: 'team',
      args: confirmArgs(list.file, ['remove', team.name], toRemove.map(userArg)),
      pins: { 'the team': team.id, ...rowPins(rows) },
      people: rowSubjects(rows),
    });
    const run = await runRows(toRemove, (u) => ctx.api.removeTeamMember(team.id, u.id));
    auditRun(ctx, 'team remove', `team:${team.name}`, rows, run);
    return resultReply(heading, rows, run, REMOVE_WORDS, { name: `${team.name}-team-remove`, at: ctx.now(), ...(list.file ? { list: list.file } : {}) });
  },
});

// ---------------------------------------------------------------------------
// invite

const INVITE_USAGE = 'team invite <team> [name@example.com …]';
/** Most addresses one command invites (invitations send email: keep bursts small). */
export const MAX_INVITES = 50;
const EMAIL = /^[^\s@<>()[\]\\,;:"]+@[^\s@<>()[\]\\,;:"]+\.[^\s@<>()[\]\\,;:"]{2,}$/;

/** Whether `s` looks like a deliverable address (what the server would accept). */
export const isEmailAddress = (s: string): boolean => s.length <= 254 && EMAIL.test(s);

const invite = defineSubcommand({
  name: 'invite',
  summary: 'Invite people to a team by email (addresses are checked first, results per address)',
  usage: INVITE_USAGE,
  examples: ['team invite acme ann@example.com bob@example.org'],
  positional: ['team', 'emails...'],
  args: z.object({ team: word, emails: words }),
  // POST /teams/{id}/invite/email: invite_user and add_user_to_team in that team (docs/mattermost-notes.md §5.5);
  // the second one is checked in execute, before anything is sent
  access: { self: INVITE_TO_TEAM },
  // changes membership: decided on current roles, never the cache
  fresh: true,
  scope: teamScope,
  botNeeds: [INVITE_TO_TEAM, ADD_TO_TEAM],
  async execute(ctx) {
    const usage = usageFor(ctx, 'team', INVITE_USAGE);
    const team = await teamInScope(ctx, ctx.args.team, INVITE_TO_TEAM, usage);
    await ctx.perms.require(ADD_TO_TEAM, { teamId: team.id });
    const seen = new Set<string>();
    const addresses: string[] = [];
    for (const raw of ctx.args.emails.flatMap((e) => e.split(','))) {
      const e = raw.trim().replace(/^<|>$/g, '');
      if (!e || seen.has(e.toLowerCase())) continue;
      seen.add(e.toLowerCase());
      addresses.push(e);
    }
    if (addresses.length === 0) {
      // a form with one address per line, where the request can open one (slash, clicks)
      if (ctx.invocation.canOpenDialog) return reply([paragraph(md`Give the addresses, e.g. ${code(usage)}.`)], { tone: 'info', dialog: inviteForm(team) });
      throw invalidInput('Give at least one email address.', usage);
    }
    if (addresses.length > MAX_INVITES) throw invalidInput(`That is ${addresses.length} addresses; invite at most ${MAX_INVITES} at a time.`, usage);
    const valid = addresses.filter(isEmailAddress);
    const invalid = addresses.filter((a) => !isEmailAddress(a));

    const results = new Map<string, { ok: boolean; why: string }>();
    for (const a of invalid) results.set(a, { ok: false, why: 'not a valid email address (not sent)' });
    if (valid.length) {
      const rows = await serverSays(`send the invitations to ${teamLabel(team)}`, () => ctx.api.inviteToTeamByEmail(team.id, valid), {
        501: 'Email invitations are turned off (System Console → Authentication → Signup → Enable Email Invitations).',
        403: 'The bot needs invite_user and add_user_to_team in that team.',
      });
      const byEmail = new Map(rows.map((r) => [r.email.toLowerCase(), r]));
      for (const a of valid) {
        const row = byEmail.get(a.toLowerCase());
        if (row?.error) results.set(a, { ok: false, why: clip(row.error.message || 'refused by the server', 200) });
        else results.set(a, { ok: true, why: 'invitation sent' });
      }
    }
    const sent = addresses.filter((a) => results.get(a)?.ok).length;
    const rows: Text[][] = addresses.map((a) => {
      const r = results.get(a);
      return [clip(a, 120), r?.ok ? `✅ ${r.why}` : `⚠️ ${r?.why ?? 'unknown'}`];
    });
    return reply([title(md`Team ${teamLabel(team)}: ${sent} of ${addresses.length} invited`), table(['Address', 'Result'], rows)], {
      tone: sent === addresses.length ? 'ok' : 'warning',
    });
  },
});

// ---------------------------------------------------------------------------
// role

const ROLE_USAGE = 'team role <team> @user team_user|team_admin [--yes]';
const ROLE_ALIASES: Record<string, 'team_user' | 'team_admin'> = {
  team_user: 'team_user',
  user: 'team_user',
  member: 'team_user',
  team_admin: 'team_admin',
  admin: 'team_admin',
};

async function memberOrNull(ctx: Pick<CommandContext, 'api' | 'signal'>, team: Team, user: User): Promise<TeamMember | null> {
  try {
    const m = await ctx.api.getTeamMember(team.id, user.id);
    return m.delete_at > 0 ? null : m;
  } catch (e) {
    if (isApiError(e) && e.isNotFound) return null;
    throw e;
  }
}

const role = defineSubcommand({
  name: 'role',
  summary: 'Make someone a team member or team admin (before → after)',
  usage: ROLE_USAGE,
  examples: ['team role ops @grace team_admin', 'team role ops @grace team_user'],
  positional: ['team', 'target', 'role'],
  args: z.object({ team: word, target: word, role: word, yes: flag }),
  // PUT /teams/{id}/members/{user_id}/schemeRoles: manage_team_roles in that team (docs/mattermost-notes.md §5.5)
  access: { self: MANAGE_TEAM_ROLES, other: MANAGE_TEAM_ROLES },
  scope: teamScope,
  target: (raw) => rawWord(raw, 'target', 1),
  botNeeds: [MANAGE_TEAM_ROLES],
  destructive: true,
  confirm: true,
  async execute(ctx) {
    const usage = usageFor(ctx, 'team', ROLE_USAGE);
    const wanted = ROLE_ALIASES[ctx.args.role.toLowerCase()];
    if (!wanted) throw invalidInput(`"${ctx.args.role}" is not a team role here; say team_user or team_admin.`, usage);
    const team = await teamInScope(ctx, ctx.args.team, MANAGE_TEAM_ROLES, usage);
    const user = ctx.target ?? (await ctx.users.resolve(ctx.args.target));
    const before = await memberOrNull(ctx, team, user);
    if (!before) {
      throw new UserError('not_found', `${userLabel(user)} is not a member of ${teamLabel(team)}. Add them first: team add ${team.name} ${userArg(user)}`);
    }
    if (isTeamGuest(before)) {
      throw new UserError('forbidden', `${userLabel(user)} is a guest in ${teamLabel(team)}; a guest cannot be made a team member or admin. Promote the guest to a member in the System Console → Users first.`);
    }
    const isAdmin = teamRoles(before).split(', ').includes('Admin');
    if ((wanted === 'team_admin') === isAdmin) {
      return say(`${userLabel(user)} is already ${wanted === 'team_admin' ? 'an admin' : 'a member (not an admin)'} of ${teamLabel(team)}; nothing to change.`);
    }
    askFirst(ctx, ctx.args.yes, {
      what: `This will make ${userLabel(user)} ${wanted === 'team_admin' ? 'an admin' : 'a member (not an admin)'} of ${teamLabel(team)} (now: ${teamRoles(before)}).`,
      command: 'team',
      args: ['role', team.name, userArg(user), wanted],
      pins: { 'the team': team.id, 'the person': user.id, 'their current team roles': before.roles, 'the new team role': wanted },
      people: [user.id],
    });
    // the scheme flags, not role names: in a team with a permission scheme the names
    // team_user/team_admin are refused (see updateTeamMemberSchemeRoles in src/mattermost/api.ts)
    const roles = { scheme_user: true, scheme_admin: wanted === 'team_admin' };
    await serverSays(`change the team role of ${userLabel(user)}`, () => ctx.api.updateTeamMemberSchemeRoles(team.id, user.id, roles));
    const after = await memberOrNull(ctx, team, user);
    return reply(
      [
        title(md`${userLabel(user)} in ${teamLabel(team)}`),
        fields([
          ['Before', teamRoles(before)],
          ['After', after ? teamRoles(after) : 'not a member any more'],
        ]),
        // unless a system role covers it, only another team admin can undo this now
        ...(wanted === 'team_user' && user.id === ctx.caller.id ? [hint('You are no longer an admin of this team.')] : []),
      ],
      { tone: 'ok' },
    );
  },
});

export default defineCommand({
  name: 'team',
  summary: 'Team membership administration: add, remove, invite by email, team roles',
  hint: 'add|remove|invite|role <team> …',
  ownTrigger: true,
  subcommands: [add, remove, invite, role],
});
