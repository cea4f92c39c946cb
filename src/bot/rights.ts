/** Start-up step: what the bot account itself may do (logged; never fails start-up). */
import { resolveBotRights, type BotRights } from '../core/permissions/bot-rights.js';
import type { PermissionService } from '../core/permission-service.js';
import type { Registry } from '../core/registry.js';
import type { Team, User } from '../mattermost/models.js';
import type { BotRuntime } from './runtime.js';

const EPHEMERAL_RIGHT = { permission: 'create_post_ephemeral', scope: 'system' } as const;

/** Resolves the bot's rights per command, and whether it may post ephemeral answers (`rt.canEphemeral`). */
export async function checkOwnRights(
  rt: BotRuntime,
  parts: { permissions: PermissionService; me: User; teams: readonly Team[]; registry: Registry },
): Promise<BotRights | undefined> {
  const { log } = rt;
  const { permissions: perms, me: user } = parts;
  const teamIds = parts.teams.map((t) => t.id);
  const rights = await resolveBotRights(perms, user.id, parts.registry.all(), teamIds).catch((err: unknown) => {
    log.warn({ err }, "could not resolve the bot account's own rights");
    return undefined;
  });
  if (rights) logRights(rt, rights);
  rt.canEphemeral = await perms
    .check(user.id, EPHEMERAL_RIGHT)
    .then((d) => d.allowed)
    .catch(() => false);
  if (!rt.canEphemeral) {
    log.info({}, 'the bot lacks create_post_ephemeral: private answers to mentions go by direct message');
  }
  return rights;
}

function logRights(rt: BotRuntime, rights: BotRights): void {
  rt.log.info(
    {
      available: rights.available,
      unavailable: rights.unavailable.map((u) => ({ command: u.command, lacks: `${u.lacks.permission} (${u.lacks.scope})`, ...(u.teamIds ? { teamIds: u.teamIds } : {}) })),
    },
    rights.unavailable.length === 0
      ? 'the bot account can carry out every command'
      : `the bot account cannot carry out: ${rights.unavailable.map((u) => `${u.command} (lacks ${u.lacks.permission})`).join(', ')}`,
  );
}
