/**
 * `CallerPermissions` (the `ctx.perms` a command gets): the permission service bound to
 * the person who typed the command and to where they typed it.
 *
 * @example
 *   ctx.perms = createCallerPermissions({ perms, userId: inv.userId, where: { teamId: inv.teamId, channelId: inv.channelId } });
 *   await ctx.perms.require({ permission: 'manage_team_roles', scope: 'team' }, { teamId: team.id });
 */
import type { CallerPermissions, Requirement } from '../command.js';
import { UserError } from '../errors.js';
import { freshReads, type FreshReads, type PermissionService, type Where } from '../permission-service.js';
import { refusalSentence, refusalText, type RefusalPlace } from './refusal.js';

/**
 * Binds `perms` to a caller. `where` is the default place (the invocation's team and
 * channel); a call's own `where` fields override it. `fresh` checks against the server's
 * current state (privileged subcommands: the invocation's {@link FreshReads}, so each thing
 * is read once however many checks there are). `describe` says how a refusal may name the place (the
 * dispatcher passes names the caller may see); without it the refusal says "that team"
 * / "that channel". Refusals use the dispatcher's wording ({@link refusalText}). A `require`
 * refused from cached roles is checked once more with the current ones before it throws.
 */
export function createCallerPermissions(opts: {
  perms: PermissionService;
  userId: string;
  where?: Where;
  fresh?: boolean | FreshReads;
  describe?: (req: Requirement, where: Where) => Promise<RefusalPlace> | RefusalPlace;
}): CallerPermissions {
  const { perms, userId, where: base = {}, fresh = false, describe } = opts;
  const at = (where?: Where): Where => {
    const teamId = where?.teamId || base.teamId;
    const channelId = where?.channelId || base.channelId;
    return { ...(teamId ? { teamId } : {}), ...(channelId ? { channelId } : {}) };
  };
  return {
    async can(req, where) {
      return (await perms.check(userId, req, at(where), { fresh })).allowed;
    },
    async require(req, where) {
      const place = at(where);
      let d = await perms.check(userId, req, place, { fresh });
      // a refusal from cached roles is confirmed with the current ones first (as the dispatcher does)
      if (!d.allowed && fresh === false && d.reason === 'missing_permission') d = await perms.check(userId, req, place, { fresh: freshReads() });
      if (d.allowed) return;
      const named = describe ? await describe(req, place) : {};
      throw new UserError('forbidden', refusalSentence(req, named), { requirement: req, text: refusalText(req, named) });
    },
  };
}
