/**
 * `/user`: account administration — activate/deactivate, system roles, sessions,
 * audits, MFA reset, sign-in method, password reset.
 *
 * Permissions are declared as the server checks each endpoint (docs/mattermost-notes.md §5.2, §5.4),
 * because the bot calls the API with its own (admin) token:
 *
 * | subcommand            | self                                    | someone else                                  |
 * |-----------------------|-----------------------------------------|-----------------------------------------------|
 * | activate / deactivate | anyone (self-deactivation)              | sysconsole_write_user_management_users (+ manage_system for an admin) |
 * | roles                 | manage_roles                            | manage_roles                                  |
 * | sessions [revoke-all] | anyone                                  | edit_other_users (+ manage_system for an admin) |
 * | audits                | anyone                                  | edit_other_users (+ manage_system for an admin) |
 * | mfa                   | anyone                                  | edit_other_users (+ manage_system for an admin) |
 * | auth                  | manage_system (the server: system admins only) | manage_system                          |
 * | password --generate   | sysconsole_write_user_management_users  | the same (+ manage_system for an admin)       |
 *
 * `activate` / `deactivate` take several people too: each row is checked by the rule in this
 * table before anything changes (commands/lib/batch.ts, docs/batch.md).
 *
 * The issue asked for `manage_system` on activation and password and `edit_other_users`
 * on auth; the server checks what is in the table, so that is what is enforced. A
 * password reset of oneself needs the same as of others, because through the bot it
 * skips the server's "current password" check.
 */
import { z } from 'zod';
import { defineCommand, defineSubcommand, type Access, type CommandContext } from '../src/core/command.js';
import { UserError, invalidInput } from '../src/core/errors.js';
import { fields, hint, md, paragraph, raw, reply, say, table, title, type Block, type Reply, type Text } from '../src/core/reply.js';
import { isValidRoleName } from '../src/core/permissions/resolve.js';
import type { Session, User } from '../src/mattermost/models.js';
import {
  EDIT_OTHERS,
  MANAGE_ROLES,
  MANAGE_SYSTEM,
  USERS_WRITE,
  currentUser,
  freshUser,
  generatePassword,
  meetsPasswordPolicy,
  askFirst,
  botUserId,
  otherActiveAdmins,
  refuseBotSelf,
  refuseLastAdmin,
  serverSays,
  usageFor,
  userArg,
} from './lib/admin-users.js';
import { flag, pageFlag, rawWord, rawWords, word, words } from './lib/args.js';
import { passwordForm } from './lib/forms.js';
import { commandCode, nextPageHint } from './lib/command-line.js';
import { auditRun, confirmArgs, decideRows, namesAndFile, nothingToDo, previewWhat, resolveRows, resultReply, rowPins, rowSubjects, rowsIn, runRows, type BatchWords, type Row } from './lib/batch.js';
import { actingOn } from './lib/lookup.js';
import { authMethod, clip, isSystemAdmin, systemRoles, userLabel } from './lib/people.js';
import { formatDateTime, relativeTime, userTimeZone } from './lib/time.js';

const target0 = (raw: Record<string, unknown>): string | undefined => rawWord(raw, 'target', 0);

/** Self: anyone. Others: `req`, plus manage_system when the target is a system admin. */
const selfOr = (req: typeof EDIT_OTHERS): Access => ({ self: null, other: req, adminTargetNeedsManageSystem: true });

const ACTIVE_ACCESS = selfOr(USERS_WRITE);
const EDIT_ACCESS = selfOr(EDIT_OTHERS);

const you = (ctx: Pick<CommandContext, 'caller'>, u: User): string => (u.id === ctx.caller.id ? 'you' : userLabel(u));

// ---------------------------------------------------------------------------
// activate / deactivate

/** The one person acted on, for the dispatcher's checks; several are checked per row instead (docs/batch.md). */
const oneTarget = (raw: Record<string, unknown>): string | undefined => (rawWords(raw, 'more').length ? undefined : target0(raw));

const ACTIVATE_WORDS: BatchWords = { will: 'Will reactivate', done: 'Reactivated', already: 'Active already' };
const DEACTIVATE_WORDS: BatchWords = { will: 'Will deactivate', done: 'Deactivated', already: 'Deactivated already' };

/**
 * `user activate|deactivate @a @b …`: every row checked as a single one is (anyone for
 * themself; someone else needs sysconsole_write_user_management_users, and manage_system
 * when they are a system admin; never the bot; never the last active system admin), then
 * one PUT /users/{id}/active per row.
 */
async function setActiveMany(ctx: CommandContext<{ target?: string | undefined; more: string[]; yes: boolean }>, active: boolean): Promise<Reply> {
  const words = active ? ACTIVATE_WORDS : DEACTIVATE_WORDS;
  const usage = usageFor(ctx, 'user', active ? ACTIVATE_USAGE : DEACTIVATE_USAGE);
  const list = await namesAndFile(ctx, [...(ctx.args.target ? [ctx.args.target] : []), ...ctx.args.more]);
  const found = await resolveRows(ctx, list.words, usage, list.max);
  const mayOthers = await ctx.perms.can(USERS_WRITE);
  const mayAdmins = await ctx.perms.can(MANAGE_SYSTEM);
  const bot = botUserId(ctx);
  let rows: Row[] = await decideRows(found, (u) => {
    const self = u.id === ctx.caller.id;
    if (!active && u.id === bot) return { group: 'not_allowed', why: 'the bot account itself: that would stop this bot from working' };
    if (active && self) return { group: 'already', why: 'your account is active' };
    if (!self && !mayOthers) return { group: 'not_allowed', why: `you need ${USERS_WRITE.permission}` };
    if (!self && isSystemAdmin(u) && !mayAdmins) return { group: 'not_allowed', why: 'a system admin: you need manage_system' };
    if (active ? u.delete_at === 0 : u.delete_at > 0) return { group: 'already', why: active ? 'active' : 'deactivated' };
    return { group: 'change' };
  });
  if (!active) rows = await keepOneAdmin(ctx, rows);
  // oneself last: the rest must not depend on the caller's account still being active
  const toChange = rowsIn(rows, 'change')
    .flatMap((r) => (r.user ? [r.user] : []))
    .sort((a, b) => Number(a.id === ctx.caller.id) - Number(b.id === ctx.caller.id));
  const heading = active ? 'Reactivation' : 'Deactivation';
  if (toChange.length === 0) return nothingToDo(heading, rows, words, list.file);
  const n = `${toChange.length} ${toChange.length === 1 ? 'account' : 'accounts'}`;
  const headline = active
    ? `This will reactivate ${n}: they can sign in again with their existing credentials.`
    : `This will deactivate ${n}: they are signed out everywhere and cannot sign in until reactivated (their messages stay).${toChange.some((u) => u.id === ctx.caller.id) ? ' Yours is one of them.' : ''}`;
  askFirst(ctx, ctx.args.yes, {
    what: previewWhat(headline, rows, words, list.file),
    command: 'user',
    args: confirmArgs(list.file, [active ? 'activate' : 'deactivate'], toChange.map(userArg)),
    pins: rowPins(rows),
    people: rowSubjects(rows),
  });
  const run = await runRows(toChange, (u) => ctx.api.updateUserActive(u.id, active));
  auditRun(ctx, active ? 'user activate' : 'user deactivate', 'system', rows, run);
  return resultReply(heading, rows, run, words, { name: active ? 'user-activate' : 'user-deactivate', at: ctx.now(), ...(list.file ? { list: list.file } : {}) });
}

/**
 * Never the last active system admin: when the batch would deactivate every active human
 * system admin, the last of them in the list stays (refused, with the reason).
 */
async function keepOneAdmin(ctx: Pick<CommandContext, 'api' | 'signal'>, rows: Row[]): Promise<Row[]> {
  const admins = rows.filter((r) => r.group === 'change' && r.user && !r.user.is_bot && r.user.delete_at === 0 && isSystemAdmin(r.user));
  const last = admins[admins.length - 1];
  if (!last) return rows;
  if ((await otherActiveAdmins(ctx, new Set(admins.flatMap((r) => (r.user ? [r.user.id] : []))))).length > 0) return rows;
  return rows.map((r) => (r === last ? { ...r, group: 'not_allowed', why: 'the last active system admin: nobody could administer this workspace afterwards' } : r));
}

const ACTIVATE_USAGE = 'user activate @user … [--yes]';
const activate = defineSubcommand({
  name: 'activate',
  summary: 'Reactivate deactivated accounts (one, or several with a preview per person)',
  usage: ACTIVATE_USAGE,
  examples: ['user activate @frank', 'user activate @frank --yes', 'user activate @frank @grace'],
  positional: ['target', 'more...'],
  args: z.object({ target: word.optional(), more: words, yes: flag }),
  access: ACTIVE_ACCESS,
  target: oneTarget,
  botNeeds: [USERS_WRITE],
  destructive: true,
  confirm: true,
  async execute(ctx) {
    if (ctx.args.more.length || ctx.invocation.fileIds?.length || !ctx.args.target) return setActiveMany(ctx, true);
    const user = await currentUser(ctx, await actingOn(ctx, ctx.args.target, ACTIVE_ACCESS));
    if (user.id === ctx.caller.id) return say('Your account is already active.');
    if (user.delete_at === 0) return say(`${userLabel(user)} is already active; nothing to do.`);
    askFirst(ctx, ctx.args.yes, {
      what: `This will reactivate ${userLabel(user)}: they can sign in again with their existing credentials.`,
      command: 'user',
      args: ['activate', userArg(user)],
      pins: { 'the person': user.id, 'whether they are deactivated': user.delete_at > 0 },
      people: [user.id],
    });
    await serverSays(`reactivate ${userLabel(user)}`, () => ctx.api.updateUserActive(user.id, true));
    return reply([paragraph(`Reactivated ${userLabel(user)}: they can sign in again.`)], { tone: 'ok' });
  },
});

const DEACTIVATE_USAGE = 'user deactivate @user … [--yes]';
const deactivate = defineSubcommand({
  name: 'deactivate',
  summary: 'Deactivate accounts (asks to confirm first; several with a preview per person)',
  usage: DEACTIVATE_USAGE,
  examples: ['user deactivate @frank', 'user deactivate @frank --yes', 'user deactivate @dave @grace'],
  positional: ['target', 'more...'],
  args: z.object({ target: word.optional(), more: words, yes: flag }),
  access: ACTIVE_ACCESS,
  target: oneTarget,
  botNeeds: [USERS_WRITE],
  destructive: true,
  confirm: true,
  async execute(ctx) {
    if (ctx.args.more.length || ctx.invocation.fileIds?.length || !ctx.args.target) return setActiveMany(ctx, false);
    const user = await currentUser(ctx, await actingOn(ctx, ctx.args.target, ACTIVE_ACCESS));
    const self = user.id === ctx.caller.id;
    refuseBotSelf(ctx, user, 'deactivate');
    if (user.delete_at > 0) return say(`${userLabel(user)} is already deactivated; nothing to do.`);
    await refuseLastAdmin(ctx, user, self ? 'deactivate your account' : `deactivate ${userLabel(user)}`);
    const what = self
      ? 'This will deactivate your own account: you are signed out everywhere and cannot sign in again until an admin reactivates you.'
      : `This will deactivate ${userLabel(user)}: they are signed out everywhere and cannot sign in until reactivated (their messages stay).`;
    askFirst(ctx, ctx.args.yes, { what, command: 'user', args: ['deactivate', userArg(user)], pins: { 'the person': user.id, 'whether they are active': user.delete_at === 0 }, people: [user.id] });
    await serverSays(`deactivate ${you(ctx, user)}`, () => ctx.api.updateUserActive(user.id, false));
    return reply(
      [
        paragraph(self ? 'Your account is deactivated. Goodbye!' : `Deactivated ${userLabel(user)}: their sessions are revoked and they can no longer sign in.`),
        ...(self ? [] : [hint(md`Undo with ${commandCode(ctx, 'user', ['activate', userArg(user)])}`)]),
      ],
      { tone: 'ok' },
    );
  },
});

// ---------------------------------------------------------------------------
// roles

const ROLES_USAGE = 'user roles @user [role …] [--yes]';
/** Roles only the guest-conversion flow may add or remove. */
const BASE_ROLES = ['system_user', 'system_guest'];

function roleList(roles: string): string[] {
  return roles.split(/\s+/).filter(Boolean);
}

const roles = defineSubcommand({
  name: 'roles',
  summary: 'Show someone\u2019s system roles, or replace them (before → after)',
  usage: ROLES_USAGE,
  examples: ['user roles @bob', 'user roles @bob system_user system_user_manager', 'user roles @bob system_user --yes'],
  positional: ['target', 'roles...'],
  args: z.object({ target: word, roles: words, yes: flag }),
  // PUT /users/{id}/roles: manage_roles (docs/mattermost-notes.md §5.4); showing is part of the same job
  access: { self: MANAGE_ROLES, other: MANAGE_ROLES },
  target: target0,
  botNeeds: [MANAGE_ROLES],
  destructive: true,
  confirm: true,
  async execute(ctx) {
    const user = await currentUser(ctx, await actingOn(ctx, ctx.args.target, { self: MANAGE_ROLES }));
    const before = roleList(user.roles);
    const wanted = [...new Set(ctx.args.roles.flatMap((r) => r.split(',')).map((r) => r.trim().toLowerCase()).filter(Boolean))];
    if (wanted.length === 0) {
      return reply([
        title(`System roles of ${userLabel(user)}`),
        fields([['Roles', `${systemRoles(user.roles)} (${before.join(' ') || 'none'})`]]),
        hint(md`Change them with ${commandCode(ctx, 'user', ['roles', userArg(user), ...(before.length ? before : ['system_user'])])} (the whole new list)`),
      ]);
    }
    const usage = usageFor(ctx, 'user', ROLES_USAGE);
    const bad = wanted.filter((r) => !isValidRoleName(r));
    if (bad.length) throw invalidInput(`Not a role name: ${bad.join(', ')}. Role names are lower-case letters, digits and underscores.`, usage);
    const scoped = wanted.filter((r) => /^(team|channel|playbook|run)_/.test(r));
    if (scoped.length) throw invalidInput(`${scoped.join(', ')} ${scoped.length === 1 ? 'is not a system role' : 'are not system roles'}; team roles are set with the team command (team role <team> @user team_admin).`, usage);
    if (wanted.length === 1 && wanted[0] === 'system_admin') {
      throw invalidInput('Mattermost does not accept system_admin alone: give the whole list, e.g. system_user system_admin.', usage);
    }
    const base = (list: string[]): string | undefined => list.find((r) => BASE_ROLES.includes(r));
    if (!base(wanted)) throw invalidInput('Include system_user (or system_guest for a guest): every account needs one of them.', usage);
    if (base(before) && base(wanted) !== base(before)) {
      throw new UserError('forbidden', 'Switching between member and guest is a guest conversion (it also changes team and channel memberships); do it in the System Console → Users.');
    }
    const same = wanted.length === before.length && wanted.every((r) => before.includes(r));
    if (same) return say(`${userLabel(user)} already has exactly these roles; nothing to change.`);
    refuseBotSelf(ctx, user, 'change the roles of');
    // unknown role names would be refused by the server; say which, and change nothing
    const known = new Set((await ctx.api.getRolesByNames(wanted)).filter((r) => r.delete_at === 0).map((r) => r.name));
    const unknown = wanted.filter((r) => !known.has(r));
    if (unknown.length) throw invalidInput(`No such role on this server: ${unknown.join(', ')}.`, usage);
    if (isSystemAdmin(user) && !wanted.includes('system_admin')) {
      await refuseLastAdmin(ctx, user, `remove system_admin from ${userLabel(user)}`);
    }
    askFirst(ctx, ctx.args.yes, {
      what: `This will change the system roles of ${userLabel(user)} from ${before.join(' ') || 'none'} to ${wanted.join(' ')}.`,
      command: 'user',
      args: ['roles', userArg(user), ...wanted],
      pins: { 'the person': user.id, 'their current roles': before, 'the new roles': wanted },
      people: [user.id],
    });
    await serverSays(`change the roles of ${you(ctx, user)}`, () => ctx.api.updateUserRoles(user.id, wanted.join(' ')), {
      400: 'Some roles (such as system_user_manager) need an Enterprise license.',
    });
    const after = await freshUser(ctx, user);
    return reply(
      [
        title(`System roles of ${userLabel(user)}`),
        fields([
          ['Before', `${systemRoles(user.roles)} (${before.join(' ') || 'none'})`],
          ['After', `${systemRoles(after.roles)} (${roleList(after.roles).join(' ') || 'none'})`],
        ]),
      ],
      { tone: 'ok' },
    );
  },
});

// ---------------------------------------------------------------------------
// sessions

const SESSIONS_USAGE = 'user sessions [@user] [revoke-all --yes]';
const REVOKE = 'revoke-all';
/** Most sessions one reply lists. */
export const SESSIONS_SHOWN = 50;

/** "iOS app" / "Android app" from a push device id (`apple_rn-v2:<token>`), never the token part. */
function pushDevice(deviceId: string): string | undefined {
  if (!deviceId) return undefined;
  const kind = deviceId.split(':')[0] ?? '';
  if (kind.startsWith('apple')) return 'iOS app';
  if (kind.startsWith('android')) return 'Android app';
  return 'mobile app';
}

/** Device, platform and browser in words (whitelisted props only: csrf and tokens never). */
export function sessionDevice(s: Session): string {
  const p = s.props ?? {};
  if (p.type === 'UserAccessToken') return 'Personal access token';
  if (s.is_oauth) return 'OAuth app';
  const parts = [pushDevice(s.device_id), p.platform, p.os, p.browser].filter((x): x is string => !!x);
  return parts.length ? clip([...new Set(parts)].join(' · '), 80) : 'unknown device';
}

const sessionIp = (s: Session): string => clip(s.props?.ip ?? s.props?.ip_address ?? '—', 45);

/** Positionals of `sessions`: `[@user] [revoke-all]` in either position. */
function sessionWords(raw: Record<string, unknown>): { target?: string; revoke: boolean; extra: string[] } {
  const all = [rawWord(raw, 'target'), rawWord(raw, 'action'), ...rawWords(raw, '_')].filter((w): w is string => w !== undefined);
  const revoke = all.some((w) => w.toLowerCase() === REVOKE);
  const rest = all.filter((w) => w.toLowerCase() !== REVOKE);
  return { ...(rest[0] !== undefined ? { target: rest[0] } : {}), revoke, extra: rest.slice(1) };
}

const sessions = defineSubcommand({
  name: 'sessions',
  summary: 'Where someone is signed in (never a token); revoke-all signs them out everywhere',
  usage: SESSIONS_USAGE,
  examples: ['user sessions', 'user sessions @bob', 'user sessions @bob revoke-all --yes'],
  positional: ['target', 'action'],
  args: z.object({ target: word.optional(), action: word.optional(), yes: flag }),
  // GET /users/{id}/sessions, POST …/sessions/revoke/all: SessionHasPermissionToUser (docs/mattermost-notes.md §5.2)
  access: EDIT_ACCESS,
  target: (raw) => sessionWords(raw).target,
  botNeeds: [EDIT_OTHERS],
  destructive: true,
  sensitive: true,
  confirm: true,
  async execute(ctx) {
    const w = sessionWords(ctx.args);
    if (w.extra.length || (ctx.args.action !== undefined && !w.revoke)) {
      throw invalidInput(`I don't know "${w.extra[0] ?? ctx.args.action ?? ''}" here; the only action is ${REVOKE}.`, usageFor(ctx, 'user', SESSIONS_USAGE));
    }
    const user = await actingOn(ctx, w.target, EDIT_ACCESS);
    const self = user.id === ctx.caller.id;
    const list = await serverSays(`list the sessions of ${you(ctx, user)}`, () => ctx.api.getSessions(user.id));
    if (w.revoke) {
      refuseBotSelf(ctx, user, 'sign out');
      const n = list.length;
      const what = self
        ? `This will sign you out of all ${n} ${n === 1 ? 'session' : 'sessions'}, including the app you are using now (and any opened before this runs).`
        : `This will sign ${userLabel(user)} out of all ${n} ${n === 1 ? 'session' : 'sessions'} (every device and browser, and any opened before this runs); they will have to sign in again.`;
      // "all" is what is asked, and n is how many that is now: it is not pinned, because the
      // person signed out decides it (signing in once more would refuse every approved
      // sign-out of a stolen session: "changed since you were asked")
      askFirst(ctx, ctx.args.yes, { what, command: 'user', args: ['sessions', userArg(user), REVOKE], pins: { 'the person': user.id }, people: [user.id] });
      await serverSays(`sign ${you(ctx, user)} out`, () => ctx.api.revokeAllSessions(user.id));
      return reply([paragraph(`Signed ${self ? 'you' : userLabel(user)} out of ${list.length} ${list.length === 1 ? 'session' : 'sessions'}.`)], { tone: 'ok', sensitive: true });
    }
    if (list.length === 0) return reply([paragraph(`${self ? 'You have' : `${userLabel(user)} has`} no active sessions.`)], { sensitive: true });
    const now = ctx.now();
    const tz = userTimeZone(ctx.caller);
    const shown = [...list].sort((a, b) => b.last_activity_at - a.last_activity_at).slice(0, SESSIONS_SHOWN);
    const rows: Text[][] = shown.map((s) => [
      sessionDevice(s),
      sessionIp(s),
      s.create_at ? formatDateTime(s.create_at, tz) : '—',
      relativeTime(s.last_activity_at, now),
      s.expires_at ? (s.expires_at < now ? 'expired' : formatDateTime(s.expires_at, tz)) : 'never',
    ]);
    const blocks: Block[] = [
      title(`Sessions of ${userLabel(user)} (${list.length})`),
      table(['Device', 'IP', 'Created', 'Last activity', 'Expires'], rows),
    ];
    if (list.length > shown.length) blocks.push(hint(`Showing the ${shown.length} most recently active.`));
    blocks.push(hint(md`Sign out everywhere: ${commandCode(ctx, 'user', ['sessions', userArg(user), REVOKE, '--yes'])}`));
    return reply(blocks, { sensitive: true });
  },
});

// ---------------------------------------------------------------------------
// audits

const AUDITS_USAGE = 'user audits [@user] [--page N]';
/** Audit rows per page. */
export const AUDITS_PER_PAGE = 20;

const audits = defineSubcommand({
  name: 'audits',
  summary: 'Recent account events (sign-ins, changes) of someone',
  usage: AUDITS_USAGE,
  examples: ['user audits', 'user audits @bob', 'user audits @bob --page 2'],
  positional: ['target'],
  args: z.object({ target: word.optional(), page: pageFlag }),
  // GET /users/{id}/audits: SessionHasPermissionToUser (docs/mattermost-notes.md §5.4)
  access: EDIT_ACCESS,
  target: target0,
  botNeeds: [EDIT_OTHERS],
  sensitive: true,
  async execute(ctx) {
    const user = await actingOn(ctx, ctx.args.target, EDIT_ACCESS);
    const page = ctx.args.page;
    const rows = await serverSays(`read the audits of ${you(ctx, user)}`, () =>
      ctx.api.getAudits(user.id, { page: page - 1, perPage: AUDITS_PER_PAGE }),
    );
    if (rows.length === 0) {
      return reply([paragraph(page > 1 ? `No more account events for ${userLabel(user)}.` : `No account events recorded for ${userLabel(user)}.`)], { sensitive: true });
    }
    const tz = userTimeZone(ctx.caller);
    const blocks: Block[] = [
      title(`Account events of ${userLabel(user)}${page > 1 ? ` (page ${page})` : ''}`),
      table(
        ['When', 'Action', 'Details', 'IP'],
        rows.map((a) => [formatDateTime(a.create_at, tz), clip(a.action, 60), clip(a.extra_info, 100) || '—', clip(a.ip_address, 45) || '—']),
      ),
    ];
    if (rows.length === AUDITS_PER_PAGE) blocks.push(hint(nextPageHint(ctx, 'user', ['audits', userArg(user)], page + 1)));
    return reply(blocks, { sensitive: true });
  },
});

// ---------------------------------------------------------------------------
// mfa

const MFA_USAGE = 'user mfa @user off [--yes]';
const mfaWords = (raw: Record<string, unknown>): { target?: string; state?: string } => {
  const a = rawWord(raw, 'target');
  const b = rawWord(raw, 'state');
  // `user mfa off` (oneself): the only word is the state
  if (b === undefined && a !== undefined && /^(on|off)$/i.test(a)) return { state: a.toLowerCase() };
  return { ...(a !== undefined ? { target: a } : {}), ...(b !== undefined ? { state: b.toLowerCase() } : {}) };
};

const mfa = defineSubcommand({
  name: 'mfa',
  summary: 'Reset multi-factor authentication for a locked-out user (off)',
  usage: MFA_USAGE,
  examples: ['user mfa @bob off'],
  positional: ['target', 'state'],
  args: z.object({ target: word.optional(), state: word.optional(), yes: flag }),
  // PUT /users/{id}/mfa: SessionHasPermissionToUser (docs/mattermost-notes.md §5.4)
  access: EDIT_ACCESS,
  target: (raw) => mfaWords(raw).target,
  botNeeds: [EDIT_OTHERS],
  destructive: true,
  confirm: true,
  async execute(ctx) {
    const w = mfaWords(ctx.args);
    const usage = usageFor(ctx, 'user', MFA_USAGE);
    if (w.state !== 'on' && w.state !== 'off') throw invalidInput('Say off (to reset MFA), e.g. user mfa @bob off.', usage);
    const user = await currentUser(ctx, await actingOn(ctx, w.target, EDIT_ACCESS));
    const self = user.id === ctx.caller.id;
    if (w.state === 'on') {
      return say(
        self
          ? 'Turning MFA on needs a code from your own authenticator app, so it cannot be done from chat: open Profile → Security → Multi-factor Authentication.'
          : `Turning MFA on needs a code from ${userLabel(user)}'s own authenticator app, so an admin cannot do it for them. Ask them to open Profile → Security → Multi-factor Authentication (or enforce MFA in the System Console so they are asked at their next sign-in).`,
      );
    }
    if (user.is_bot) return say(`${userLabel(user)} is a bot account; bots have no MFA.`);
    if (!user.mfa_active) return say(`MFA is already off for ${self ? 'you' : userLabel(user)}; nothing to do.`);
    askFirst(ctx, ctx.args.yes, {
      what: `This will turn multi-factor authentication off for ${self ? 'you' : userLabel(user)}: the next sign-in needs only the password.`,
      command: 'user',
      args: ['mfa', ...(self ? [] : [userArg(user)]), 'off'],
      pins: { 'the person': user.id, 'whether MFA is on': user.mfa_active },
      people: [user.id],
    });
    await serverSays(`reset MFA for ${you(ctx, user)}`, () => ctx.api.updateMfa(user.id, false));
    return reply(
      [paragraph(`MFA is off for ${self ? 'you' : userLabel(user)}: the next sign-in needs only the password. If MFA is enforced on this server, they will be asked to set it up again.`)],
      { tone: 'ok' },
    );
  },
});

// ---------------------------------------------------------------------------
// auth

const AUTH_USAGE = 'user auth @user email|ldap|saml|gitlab|google|office365|openid [--auth-data X] [--yes]';
const SSO_METHODS = ['ldap', 'saml', 'gitlab', 'google', 'office365', 'openid'] as const;
const AUTH_DATA_HELP: Record<string, string> = {
  ldap: 'the value of their LDAP ID attribute',
  gitlab: 'their numeric GitLab user id',
  google: 'their Google account id',
  office365: 'their Entra ID (Office 365) object id',
  openid: 'their OpenID subject',
};
const AUTH_ACCESS: Access = { self: MANAGE_SYSTEM, other: MANAGE_SYSTEM };

const auth = defineSubcommand({
  name: 'auth',
  summary: 'Switch someone\u2019s sign-in method (LDAP, SAML, GitLab, Google, Office 365, OpenID)',
  usage: AUTH_USAGE,
  examples: ['user auth @bob saml', 'user auth @bob ldap --auth-data bob.b', 'user auth @bob gitlab --auth-data 4242'],
  positional: ['target', 'method'],
  args: z.object({ target: word, method: word, authData: word.optional(), yes: flag }),
  // PUT /users/{id}/auth: the server lets only system admins do this (docs/mattermost-notes.md §5.4), for anyone
  access: AUTH_ACCESS,
  target: target0,
  botNeeds: [MANAGE_SYSTEM],
  destructive: true,
  confirm: true,
  async execute(ctx) {
    const usage = usageFor(ctx, 'user', AUTH_USAGE);
    const method = ctx.args.method.toLowerCase();
    const user = await currentUser(ctx, await actingOn(ctx, ctx.args.target, AUTH_ACCESS));
    if (method === 'email') {
      return say(
        `Mattermost's API cannot switch an account back to email and password. ${user.id === ctx.caller.id ? 'You can' : `${userLabel(user)} can`} do it from Profile → Security → Sign-in Method (it needs their current single sign-on login).`,
      );
    }
    if (!(SSO_METHODS as readonly string[]).includes(method)) {
      throw invalidInput(`Unknown sign-in method "${ctx.args.method}". Use one of: email, ${SSO_METHODS.join(', ')}.`, usage);
    }
    if (user.is_bot) throw new UserError('forbidden', `${userLabel(user)} is a bot account; bots sign in with tokens, not a sign-in method.`);
    if (user.auth_service === method && !ctx.args.authData) return say(`${userLabel(user)} already signs in with ${authMethod(method)}.`);
    // SAML identities are usually the email address; every other method needs the id in that system
    const authData = ctx.args.authData ?? (method === 'saml' ? user.email : undefined);
    if (!authData) {
      throw invalidInput(`Say who ${userLabel(user)} is in ${authMethod(method)}: add --auth-data with ${AUTH_DATA_HELP[method] ?? 'their id there'}.`, usage);
    }
    const methodName = authMethod(method);
    // the identity may come from the account itself (its email, for SAML): the person could
    // change it between the preview and the click, so it is pinned with the rest
    askFirst(ctx, ctx.args.yes, {
      what: `This will switch ${userLabel(user)} from ${authMethod(user.auth_service)} to ${methodName} sign-in (identity ${authData}).`,
      command: 'user',
      args: ['auth', userArg(user), method, ...(ctx.args.authData ? ['--auth-data', ctx.args.authData] : [])],
      pins: { 'the person': user.id, 'their current sign-in method': user.auth_service, 'the new sign-in method': method, 'the identity to link': authData },
      people: [user.id],
    });
    await serverSays(
      `switch ${you(ctx, user)} to ${methodName}`,
      () => ctx.api.updateAuth(user.id, { auth_service: method, auth_data: authData }),
      {
        400: `Check that ${methodName} sign-in is enabled (System Console → Authentication) and that the identity is right.`,
        501: `Enable ${methodName} in the System Console → Authentication first.`,
      },
    );
    return reply(
      [
        paragraph(`${userLabel(user)} now signs in with ${methodName} (was ${authMethod(user.auth_service)}).`),
        hint(md`Sessions that are already open stay signed in; end them with ${commandCode(ctx, 'user', ['sessions', userArg(user), REVOKE, '--yes'])}`),
      ],
      { tone: 'ok' },
    );
  },
});

// ---------------------------------------------------------------------------
// password

const PASSWORD_USAGE = 'user password @user [--generate] [--yes]';
const PASSWORD_ACCESS: Access = { self: USERS_WRITE, other: USERS_WRITE, adminTargetNeedsManageSystem: true };

/** True when the command text carries something that may be a password (extra words or a password flag). */
function carriesPassword(raw: Record<string, unknown>): boolean {
  const extra = [...rawWords(raw, 'rest'), ...(Array.isArray(raw['_']) ? raw['_'] : [])];
  return extra.length > 0 || raw['password'] !== undefined || raw['newPassword'] !== undefined || raw['new'] !== undefined;
}

/** `@name` or an email address: a word that cannot be mistaken for a password typed in the wrong place. */
const isPlainlyAPerson = (word: string): boolean => /^@[a-z0-9._-]+$/i.test(word) || /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(word);

/** The target of `password`, only when given as @name or email and no password is carried. */
function passwordTarget(raw: Record<string, unknown>): string | undefined {
  const word = target0(raw);
  if (carriesPassword(raw) || word === undefined || !isPlainlyAPerson(word)) return undefined;
  return word;
}

const password = defineSubcommand({
  name: 'password',
  summary: 'Set a strong random password shown once to you only, or type one in a form',
  usage: PASSWORD_USAGE,
  examples: ['user password @bob --generate'],
  positional: ['target', 'rest...'],
  // the extra keys exist so a typed password reaches `execute` (and is refused there)
  // instead of being echoed back by argument validation
  args: z.object({
    target: word.optional(),
    rest: words,
    generate: flag,
    yes: flag,
    password: z.unknown().optional(),
    newPassword: z.unknown().optional(),
    new: z.unknown().optional(),
  }),
  access: PASSWORD_ACCESS,
  // Nobody is looked up (nor named in a log line or the audit) unless the word is
  // plainly a person: `user password hunter2` (target forgotten) must not send, log
  // or echo "hunter2" as a name.
  target: (raw) => passwordTarget(raw),
  botNeeds: [USERS_WRITE],
  destructive: true,
  sensitive: true,
  confirm: true,
  async execute(ctx) {
    if (carriesPassword(ctx.args)) {
      ctx.log.warn({}, 'password command refused: the text may carry a password (not logged)');
      return reply(
        [
          paragraph(raw('**I did not use that.** Never type a password into chat: chat messages are stored and can be read by others.')),
          paragraph(md`Use ${commandCode(ctx, 'user', ['password', '@user', '--generate'])}: I create a strong password and show it once, only to you. If you sent the password as a message, delete that message now and choose a different password.`),
        ],
        { tone: 'refused', sensitive: true },
      );
    }
    const usage = usageFor(ctx, 'user', PASSWORD_USAGE);
    if (!ctx.args.target) throw invalidInput('Name the person whose password to reset.', usage);
    if (!isPlainlyAPerson(ctx.args.target)) {
      // never repeated: it may be a password typed where the name should be
      throw invalidInput('Name the person as @username (or their email address), e.g. user password @bob --generate. I did not use or keep what you typed.', usage);
    }
    // a password typed into the dialog (never into chat) arrives as `invocation.secret`
    const typed = ctx.invocation.secret;
    if (!ctx.args.generate && typed === undefined && !ctx.invocation.canOpenDialog) {
      throw invalidInput('Add --generate: I create a strong password and show it once, only to you. (I never accept a password typed into chat.)', usage);
    }
    const user = await currentUser(ctx, await actingOn(ctx, ctx.args.target, PASSWORD_ACCESS));
    refuseBotSelf(ctx, user, 'change the password of');
    if (user.is_bot) throw new UserError('forbidden', `${userLabel(user)} is a bot account; bots sign in with tokens, not passwords.`);
    if (user.delete_at > 0) throw new UserError('conflict', `${userLabel(user)} is deactivated; reactivate them first.`);
    if (!ctx.args.generate && typed === undefined) {
      // a second person must approve this, and a typed value cannot be kept for them: no form
      if (ctx.mustConfirm) {
        throw invalidInput(`Resetting a password needs approval by a second person here, and a password typed into a form cannot be kept for them to approve. Use --generate: I create one and show it only to you once it is approved.`, usage);
      }
      return reply([paragraph(md`Type the new password in the form, or let me make one: ${commandCode(ctx, 'user', ['password', userArg(user), '--generate'])}`)], {
        tone: 'info',
        sensitive: true,
        dialog: passwordForm(user),
      });
    }
    askFirst(ctx, ctx.args.yes, {
      what: `This will replace the password of ${userLabel(user)} with a new random one, shown once, to you only.`,
      command: 'user',
      args: ['password', userArg(user), '--generate'],
      pins: { 'the person': user.id },
      people: [user.id],
    });
    if (typed !== undefined) {
      await serverSays(`set the new password for ${you(ctx, user)}`, () => ctx.api.updatePassword(user.id, typed));
      return reply(
        [paragraph(`The password of ${userLabel(user)} is changed to the one you typed.`), hint(md`Sessions already open stay signed in; end them with ${commandCode(ctx, 'user', ['sessions', userArg(user), REVOKE, '--yes'])}`)],
        { tone: 'ok', sensitive: true },
      );
    }
    const pw = generatePassword();
    if (!meetsPasswordPolicy(pw)) throw new Error('generated password failed its own policy'); // cannot happen; never print it
    await serverSays(`set a new password for ${you(ctx, user)}`, () => ctx.api.updatePassword(user.id, pw), {
      400: 'The server\u2019s password rules may be stricter than usual; tell the bot maintainers.',
    });
    const blocks: Block[] = [
      paragraph(`New password for ${userLabel(user)} (shown once; the bot does not keep it):`),
      { kind: 'code', text: pw },
      paragraph('Give it to them privately; they should change it after signing in.'),
    ];
    if (user.auth_service) {
      blocks.push(paragraph(`Note: ${userLabel(user)} signs in with ${authMethod(user.auth_service)}, so this password is not used until their sign-in method is switched to email.`));
    }
    blocks.push(hint(md`Sessions already open stay signed in; end them with ${commandCode(ctx, 'user', ['sessions', userArg(user), REVOKE, '--yes'])}`));
    return reply(blocks, { tone: 'ok', sensitive: true });
  },
});

export default defineCommand({
  name: 'user',
  summary: 'Account administration: activation, roles, sessions, audits, MFA, sign-in, password',
  hint: 'activate|deactivate|roles|sessions|audits|mfa|auth|password @user',
  ownTrigger: true,
  subcommands: [activate, deactivate, roles, sessions, audits, mfa, auth, password],
});
