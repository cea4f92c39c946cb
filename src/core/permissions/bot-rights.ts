/**
 * The bot's own rights, resolved at start-up: the bot calls the API with its own token,
 * so a command whose `botNeeds` the bot account lacks cannot be carried out for anyone.
 * The result feeds the start-up log line ("available: …; unavailable: user sessions
 * (bot lacks edit_other_users at system scope)").
 *
 * @example
 *   const rights = await resolveBotRights(perms, me.id, allCommands, myTeams.map((t) => t.id));
 *   log.info({ available: rights.available, unavailable: rights.unavailable }, 'bot rights');
 */
import type { CommandDefinition, Requirement } from '../command.js';
import type { PermissionService } from '../permission-service.js';

export interface BotRights {
  /** `command` or `command subcommand` labels the bot can carry out */
  available: string[];
  /**
   * Labels the bot cannot carry out, with the first requirement it lacks; for a
   * team-scope requirement, `teamIds` lists the given teams where it is missing.
   */
  unavailable: Array<{ command: string; lacks: Requirement; teamIds?: string[] }>;
}

/** `whois` for a default subcommand, `user sessions` otherwise. */
export const commandLabel = (command: string, subcommand: string): string =>
  subcommand ? `${command} ${subcommand}` : command;

/** Thrown when the service refuses the bot for a reason other than a missing permission. */
export class BotRightsError extends Error {
  override readonly name = 'BotRightsError';
  readonly code = 'bot_refused';
}

/**
 * Checks each subcommand's `botNeeds` for `botUserId`: system-scope needs at system scope,
 * team-scope needs in each of `teamIds` (with no teams: only a system-wide grant counts).
 * Channel-scope needs depend on the channel and are left to each invocation.
 *
 * The service must have been created with `selfUserId: botUserId`, or the bot's own
 * checks are refused as "another bot" (a {@link BotRightsError} says so).
 */
export async function resolveBotRights(
  perms: PermissionService,
  botUserId: string,
  commands: readonly CommandDefinition[],
  teamIds: readonly string[],
): Promise<BotRights> {
  const memo = new Map<string, Promise<boolean>>();
  const holds = (req: Requirement, teamId?: string): Promise<boolean> => {
    const key = `${req.permission}\u0000${req.scope}\u0000${teamId ?? ''}`;
    let p = memo.get(key);
    if (!p) {
      p = perms.check(botUserId, req, teamId ? { teamId } : {}).then((d) => {
        if (d.allowed) return true;
        if (d.reason === 'missing_permission') return false;
        throw new BotRightsError(
          d.reason === 'bot'
            ? 'the permission service refuses the bot account as "another bot": create it with selfUserId set to the bot\'s id'
            : `the permission service refuses the bot account itself (${d.reason})`,
        );
      });
      memo.set(key, p);
    }
    return p;
  };

  const rows = await Promise.all(
    commands.flatMap((cmd) =>
      cmd.subcommands.map(async (sub) => {
        const label = commandLabel(cmd.name, sub.name);
        for (const need of sub.botNeeds ?? []) {
          if (need.scope === 'system') {
            if (!(await holds(need))) return { label, lacks: need };
          } else if (need.scope === 'team') {
            if (teamIds.length === 0) {
              if (!(await holds(need))) return { label, lacks: need };
              continue;
            }
            const results = await Promise.all(teamIds.map(async (t) => ({ t, ok: await holds(need, t) })));
            const missing = results.filter((r) => !r.ok).map((r) => r.t);
            if (missing.length > 0) return { label, lacks: need, teamIds: missing };
          }
        }
        return { label };
      }),
    ),
  );

  const out: BotRights = { available: [], unavailable: [] };
  for (const r of rows) {
    if ('lacks' in r && r.lacks) {
      out.unavailable.push({ command: r.label, lacks: r.lacks, ...('teamIds' in r && r.teamIds ? { teamIds: r.teamIds } : {}) });
    } else out.available.push(r.label);
  }
  return out;
}
