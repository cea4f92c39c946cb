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
import type { PermissionService, Where } from '../permission-service.js';

/** One plain sentence naming a missing permission and its scope (the renderer escapes it). */
export function describeMissing(req: Requirement): string {
  const where = req.scope === 'system' ? 'system-wide' : req.scope === 'team' ? 'in this team' : 'in this channel';
  return `You need the ${req.permission} permission ${where} to do that.`;
}

/**
 * Binds `perms` to a caller. `where` is the default place (the invocation's team and
 * channel); a call's own `where` fields override it. `fresh` re-checks from the server
 * (destructive subcommands).
 */
export function createCallerPermissions(opts: {
  perms: PermissionService;
  userId: string;
  where?: Where;
  fresh?: boolean;
}): CallerPermissions {
  const { perms, userId, where: base = {}, fresh = false } = opts;
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
      const d = await perms.check(userId, req, at(where), { fresh });
      if (!d.allowed) throw new UserError('forbidden', describeMissing(req), { requirement: req });
    },
  };
}
