/**
 * Shared pieces of the admin commands (`user`, `team`, `avatar`): the permissions
 * the server checks, the guards that keep the bot and the workspace usable (never
 * act on the bot itself, never remove the last active system admin), confirmation
 * replies, server errors as plain sentences, and password generation.
 */
import { createHash, randomInt } from 'node:crypto';
import type { CommandContext, Requirement } from '../../src/core/command.js';
import { UserError } from '../../src/core/errors.js';
import { usageText } from '../../src/core/usage.js';
import { isApiError } from '../../src/mattermost/errors.js';
import type { User } from '../../src/mattermost/models.js';
import { commandLine } from './command-line.js';
import { isSystemAdmin, userLabel } from './people.js';

// Permissions as the server checks them (docs/mattermost-notes.md §5.2–5.5).
/** PUT /users/{id}/active (others), PUT /users/{id}/password (others). */
export const USERS_WRITE: Requirement = { permission: 'sysconsole_write_user_management_users', scope: 'system' };
/** SessionHasPermissionToUser for someone else. */
export const EDIT_OTHERS: Requirement = { permission: 'edit_other_users', scope: 'system' };
export const MANAGE_SYSTEM: Requirement = { permission: 'manage_system', scope: 'system' };
export const MANAGE_ROLES: Requirement = { permission: 'manage_roles', scope: 'system' };
export const ADD_TO_TEAM: Requirement = { permission: 'add_user_to_team', scope: 'team' };
export const INVITE_TO_TEAM: Requirement = { permission: 'invite_user', scope: 'team' };
export const MANAGE_TEAM_ROLES: Requirement = { permission: 'manage_team_roles', scope: 'team' };

/** The bot's own user id. */
export const botUserId = (ctx: Pick<CommandContext, 'services'>): string => ctx.services.botStatus().user.id;

/** Throws when `user` is the bot account itself (acting on it would break the bot). */
export function refuseBotSelf(ctx: Pick<CommandContext, 'services'>, user: Pick<User, 'id'>, what: string): void {
  if (user.id === botUserId(ctx)) {
    throw new UserError('forbidden', `I won't ${what} the bot account itself: that would stop this bot from working. Use the System Console if you really mean it.`);
  }
}

/** The user as the server has it now (never the directory cache), e.g. after a change. */
export async function freshUser(ctx: Pick<CommandContext, 'api' | 'signal'>, user: Pick<User, 'id'>): Promise<User> {
  return ctx.api.getUser(user.id);
}

/**
 * The user as the server has it at the start of this invocation, before acting: the
 * caller or target the dispatcher already read from the server for a privileged
 * subcommand (`ctx.fresh`), else a new read. Never the directory cache.
 */
export async function currentUser(ctx: Pick<CommandContext, 'api' | 'signal' | 'fresh' | 'caller' | 'target'>, user: Pick<User, 'id'>): Promise<User> {
  if (ctx.fresh && ctx.target?.id === user.id) return ctx.target;
  if (ctx.fresh && ctx.caller.id === user.id) return ctx.caller;
  return freshUser(ctx, user);
}

const ADMIN_PAGE = 200;
const ADMIN_PAGES = 10;

/**
 * Active human system admins other than `excludeId` (`GET /users?role=system_admin&active=true`).
 * Stops at the first page that has one, since callers only ask "is there another?".
 */
export async function otherActiveAdmins(ctx: Pick<CommandContext, 'api' | 'signal'>, excludeId: string): Promise<User[]> {
  for (let page = 0; page < ADMIN_PAGES; page++) {
    const batch = await ctx.api.listUsers({ role: 'system_admin', active: true, page, perPage: ADMIN_PAGE });
    const others = batch.filter((u) => u.id !== excludeId && !u.is_bot && u.delete_at === 0 && isSystemAdmin(u));
    if (others.length > 0 || batch.length < ADMIN_PAGE) return others;
  }
  return [];
}

/** Throws when `user` is an active human system admin and no other one exists. */
export async function refuseLastAdmin(ctx: Pick<CommandContext, 'api' | 'signal'>, user: User, what: string): Promise<void> {
  if (user.is_bot || user.delete_at > 0 || !isSystemAdmin(user)) return;
  if ((await otherActiveAdmins(ctx, user.id)).length > 0) return;
  throw new UserError(
    'forbidden',
    `I won't ${what}: ${userLabel(user)} is the last active system admin, and nobody could administer this workspace afterwards. Make someone else a system admin first.`,
  );
}

/**
 * What a confirmable change was shown as: the sentence, the command that confirms it, and
 * everything the sentence showed or derived.
 */
export interface Preview {
  /** what will change, one paragraph of plain text */
  what: string;
  /** the command and its arguments that confirm it (without --yes) */
  command: string;
  args: string[];
  /**
   * every value the preview showed or derived (identities, an email used as the SSO
   * identity, roles, the team, the people), keyed by what it is in words ("the identity to
   * link"): each is pinned by digest in the buttons' signed payload, and the confirmed run
   * compares them with what it finds then
   */
  pins: Record<string, unknown>;
  /** the ids of everyone the change is done to: none of them may approve it */
  people: readonly string[];
}

/** The pin whose refusal says that names now mean other people. */
export const WHO_THE_NAMES_ARE = 'who those names are';

const pinDigest = (value: unknown): string => createHash('sha256').update(JSON.stringify(value ?? null)).digest('base64url').slice(0, 22);

/** Each value of `pins` as a short digest (what the signed payload carries). */
export function pinDigests(pins: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(pins).map(([what, value]) => [what, pinDigest(value)]));
}

/**
 * The one gate of every confirmable change, called right before its first privileged call.
 * Not confirmed yet (no --yes, or a two-person rule applies): stops and shows `preview`,
 * with the command that confirms it; the dispatcher turns that into Confirm/Cancel or an
 * approval request whose signed payload carries the pins. Confirmed by a click or an
 * approval (not one a two-person rule now sends for approval): refuses unless every pinned value is still what the preview showed ("changed
 * since you were asked; ask again") and the approver is none of `people`. `needed: false`:
 * a change small enough to run without asking (it is still checked when confirmed).
 * Thrown as a UserError `needs_confirmation` (not returned as a normal reply) so that the
 * audit trail records that nothing was done, rather than a success.
 */
export function askFirst(ctx: Pick<CommandContext, 'invocation' | 'services' | 'mustConfirm'>, yes: boolean, preview: Preview, opts: { needed?: boolean } = {}): void {
  const pins = pinDigests(preview.pins);
  const confirmed = ctx.invocation.confirmed;
  // a dialog is its own preview (it names the person, pinned by id in its signed state); a
  // Confirm click on a change that now needs a second person (the policy changed since the
  // buttons were made) is asked again, and so goes for approval
  if (confirmed && confirmed.by !== 'dialog' && ctx.mustConfirm !== true) {
    if (confirmed.approver && preview.people.includes(confirmed.approver.id)) {
      throw new UserError('forbidden', 'Nothing was done: the person who approved this is one of the people it is done to, and the second person must be someone else.');
    }
    if (confirmed.pins === undefined) {
      // asked by a bot version that pinned less (a token from before an upgrade): nothing to compare with
      throw new UserError('conflict', 'Nothing was done: this was asked before the bot was upgraded, so what you were shown cannot be checked against what is true now; ask again.');
    }
    const shown = confirmed.pins;
    const changed = Object.keys(pins).filter((what) => shown[what] !== pins[what]);
    if (changed.length > 0) {
      const names = changed.includes(WHO_THE_NAMES_ARE);
      const what = changed.filter((w) => w !== WHO_THE_NAMES_ARE);
      const list = what.length ? what.join(', ') : 'what you were shown';
      throw new UserError(
        'conflict',
        names
          ? `Nothing was done: some of those names now belong to other people than when you were asked (${list} changed since you were asked; ask again).`
          : `Nothing was done: ${list} changed since you were asked; ask again.`,
      );
    }
    return;
  }
  if (yes || opts.needed === false) return;
  throw new UserError('needs_confirmation', `${preview.what} Nothing has been changed yet. To go ahead, run it again with --yes:`, {
    usage: commandLine(ctx, preview.command, [...preview.args, '--yes']),
    pins,
    subjects: [...new Set(preview.people)],
  });
}

/** `@username` for command hints (ids never appear in what people retype). */
export const userArg = (u: Pick<User, 'username'>): string => `@${u.username}`;

/** A subcommand's usage line as this person types it. */
export function usageFor(ctx: Pick<CommandContext, 'invocation' | 'services'>, command: string, usage: string): string {
  const def = ctx.services.commands().find((c) => c.name === command);
  return usageText({ name: command, ownTrigger: def?.ownTrigger ?? true }, usage, ctx.invocation.source, ctx.services.triggers);
}

/**
 * Runs a server call; the server's expected refusals become one plain sentence
 * (`doing` completes "Mattermost did not …"). Anything else is rethrown for the
 * dispatcher (network errors, 401, 5xx).
 */
export async function serverSays<T>(doing: string, call: () => Promise<T>, hints: Partial<Record<400 | 403 | 404 | 413 | 501, string>> = {}): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (!isApiError(err)) throw err;
    const said = err.serverMessage ? ` Mattermost said: "${err.serverMessage.replace(/\s+/g, ' ').slice(0, 300)}"` : '';
    const hint = (s: number): string => {
      const h = hints[s as 400 | 403 | 404 | 413 | 501];
      return h ? ` ${h}` : '';
    };
    switch (err.status) {
      case 400:
        throw new UserError('server_error', `Mattermost did not ${doing}.${said}${hint(400)}`);
      case 403:
        throw new UserError('unavailable', `Mattermost refused to ${doing}: the bot account is not allowed to.${hint(403)}`);
      case 404:
        throw new UserError('not_found', `Mattermost did not ${doing}: it could not find what was asked for.${hint(404)}`);
      case 413:
        throw new UserError('invalid_input', `Mattermost did not ${doing}: it is too large for the server.${hint(413)}`);
      case 501:
        throw new UserError('unavailable', `Mattermost did not ${doing}: that feature is not enabled on this server.${said}${hint(501)}`);
      default:
        throw err;
    }
  }
}

// ---------------------------------------------------------------------------
// Passwords

// No look-alikes (I/l/1, O/0) and no characters with Markdown or shell meaning that
// make copying awkward; shown in a code block anyway.
const UPPER = 'ABCDEFGHJKLMNPQRSTUVWXYZ';
const LOWER = 'abcdefghijkmnopqrstuvwxyz';
const DIGITS = '23456789';
const SYMBOLS = '!#%+=?^-';
const ALL = UPPER + LOWER + DIGITS + SYMBOLS;

/** Length of generated passwords (the server accepts 8–72; longer is stronger). */
export const GENERATED_PASSWORD_LENGTH = 20;

/**
 * A random password from node:crypto with at least one upper-case letter, one
 * lower-case letter, one digit and one symbol, so any server password policy is met.
 */
export function generatePassword(length = GENERATED_PASSWORD_LENGTH): string {
  if (length < 8 || length > 72) throw new RangeError('password length must be 8–72');
  const pick = (set: string): string => set.charAt(randomInt(set.length));
  const chars = [pick(UPPER), pick(LOWER), pick(DIGITS), pick(SYMBOLS)];
  while (chars.length < length) chars.push(pick(ALL));
  for (let i = chars.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [chars[i], chars[j]] = [chars[j] ?? '', chars[i] ?? ''];
  }
  return chars.join('');
}

/** Whether a generated password meets every character-class rule (for tests and a last check). */
export function meetsPasswordPolicy(pw: string): boolean {
  return pw.length >= 8 && pw.length <= 72 && /[A-Z]/.test(pw) && /[a-z]/.test(pw) && /\d/.test(pw) && /[^A-Za-z0-9]/.test(pw);
}
