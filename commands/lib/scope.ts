/**
 * The team or channel a command acts on. The dispatcher resolves a subcommand's
 * `scope()` into `ctx.team` / `ctx.channel` and checks the caller's permission
 * there *before* `execute`. These helpers reuse that resolution when it matches what
 * the person named (else resolve the name themselves) and check the requirement on
 * the result again, so a command never acts where nobody checked (the repeat check
 * is a cache hit when the dispatcher already made it).
 */
import type { CommandContext, Requirement } from '../../src/core/command.js';
import { invalidInput, notFound } from '../../src/core/errors.js';
import { isApiError } from '../../src/mattermost/errors.js';
import { isMattermostId, type Channel, type Team } from '../../src/mattermost/models.js';

type Ctx = Pick<CommandContext, 'team' | 'channel' | 'api' | 'perms' | 'invocation' | 'signal'>;

const matchesTeam = (t: Team, ref: string): boolean => t.name === ref.toLowerCase() || t.id === ref;

/**
 * The team `ref` names (or the one in context when `ref` is empty), with the
 * caller's `req` checked there.
 */
export async function teamInScope(ctx: Ctx, ref: string | undefined, req: Requirement | null, usage?: string): Promise<Team> {
  const name = ref?.trim().replace(/^~/, '') ?? '';
  const team = await findTeam(ctx, name, usage);
  if (req) await ctx.perms.require(req, { teamId: team.id });
  return team;
}

async function findTeam(ctx: Ctx, name: string, usage?: string): Promise<Team> {
  if (!name) {
    if (ctx.team) return ctx.team;
    throw invalidInput('Name a team: this conversation is not in a team.', usage);
  }
  if (ctx.team && matchesTeam(ctx.team, name)) return ctx.team;
  try {
    return isMattermostId(name)
      ? await ctx.api.getTeam(name)
      : await ctx.api.getTeamByName(name.toLowerCase());
  } catch (e) {
    if (isApiError(e) && (e.isNotFound || e.isForbidden)) throw notFound(`No team named "${name}".`);
    throw e;
  }
}

/** Splits `~town-square`, `~acme:town-square` (or `~acme/town-square`) or a channel id. */
export function parseChannelRef(ref: string): { team?: string; name: string } {
  const body = ref.trim().replace(/^~/, '');
  const sep = body.search(/[:/]/);
  return sep > 0 ? { team: body.slice(0, sep), name: body.slice(sep + 1) } : { name: body };
}

const matchesChannel = (c: Channel, ref: { team?: string; name: string }): boolean =>
  c.id === ref.name || (c.name === ref.name.toLowerCase() && ref.team === undefined);

/**
 * The channel `ref` names (`~name` in the current team, `~team:name` or `~team/name`, or an id), or
 * the one in context; the caller's `req` is checked there.
 */
export async function channelInScope(ctx: Ctx, ref: string | undefined, req: Requirement | null, usage?: string): Promise<Channel> {
  const channel = await findChannel(ctx, ref, usage);
  if (req) await ctx.perms.require(req, { channelId: channel.id, teamId: channel.team_id || undefined });
  return channel;
}

async function findChannel(ctx: Ctx, ref: string | undefined, usage?: string): Promise<Channel> {
  if (!ref?.trim() || ref.trim() === '~') {
    if (ctx.channel) return ctx.channel;
    throw invalidInput('Name a channel, e.g. ~town-square.', usage);
  }
  const parsed = parseChannelRef(ref);
  if (ctx.channel && matchesChannel(ctx.channel, parsed)) return ctx.channel;
  const teamName = parsed.team;
  const teamId = teamName !== undefined ? (await findTeam(ctx, teamName, usage)).id : (ctx.team?.id ?? ctx.invocation.teamId);
  try {
    if (isMattermostId(parsed.name) && teamName === undefined) return await ctx.api.getChannel(parsed.name);
    if (!teamId) throw invalidInput(`Which team is ~${parsed.name} in? Write it as ~team:${parsed.name}.`, usage);
    return await ctx.api.getChannelByName(teamId, parsed.name.toLowerCase());
  } catch (e) {
    if (isApiError(e) && (e.isNotFound || e.isForbidden)) throw notFound(`No channel named "${ref.trim()}".`);
    throw e;
  }
}

/** "acme" / "~town-square" for hints: the name a person would type. */
export const channelArg = (c: Channel): string => `~${c.name}`;
