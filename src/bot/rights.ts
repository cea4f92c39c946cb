/** Start-up step: what the bot account itself may do (logged; never fails start-up). */
import { resolveBotRights, type BotRights } from '../core/permissions/bot-rights.js';
import { need, type BotRuntime } from './runtime.js';

const EPHEMERAL_RIGHT = { permission: 'create_post_ephemeral', scope: 'system' } as const;

/** Resolves the bot's rights per command, and whether it may post ephemeral answers. */
export async function checkOwnRights(rt: BotRuntime): Promise<void> {
  const { log } = rt;
  const perms = need(rt.permissions, 'the permission service');
  const user = need(rt.me, 'the bot user');
  const teamIds = need(rt.teams, 'the teams').map((t) => t.id);
  rt.rights = await resolveBotRights(perms, user.id, need(rt.registry, 'the registry').all(), teamIds).catch((err: unknown) => {
    log.warn({ err }, "could not resolve the bot account's own rights");
    return undefined;
  });
  if (rt.rights) logRights(rt, rt.rights);
  rt.canEphemeral = await perms
    .check(user.id, EPHEMERAL_RIGHT)
    .then((d) => d.allowed)
    .catch(() => false);
  if (!rt.canEphemeral) {
    log.info({}, 'the bot lacks create_post_ephemeral: private answers to mentions go by direct message');
  }
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
