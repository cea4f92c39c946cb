/** The bot's teams: which ones, its facts in them, and slash registration there. */
import type { PermissionService } from '../core/permission-service.js';
import type { Team, TeamMember, User } from '../mattermost/models.js';
import type { SlashRegistration } from '../services/slash-registration.js';
import type { BotRuntime } from './runtime.js';

/** The default team and channel roles (server/public/model/role.go), read with the bot's own. */
const BASE_ROLE_NAMES = ['team_user', 'team_admin', 'team_guest', 'channel_user', 'channel_admin', 'channel_guest'];

/** Teams whose slash commands are registered at once, in the background after start-up. */
const SLASH_REGISTRATION_CONCURRENCY = 4;

/** Start-up step: the teams slash commands go into, and the bot's own facts in them. */
export async function loadTeams(rt: BotRuntime, parts: { me: User; permissions: PermissionService }): Promise<Team[]> {
  const teams = await chooseTeams(rt, parts.me.id);
  await primeBotFacts(rt, parts.permissions, parts.me, teams);
  return teams;
}

/** Every team of the bot, or those named in MMOPS_TEAMS. */
async function chooseTeams(rt: BotRuntime, botId: string): Promise<Team[]> {
  const { log, teamFilter } = rt;
  let mine: Team[];
  try {
    mine = await rt.api.getTeamsForUser(botId);
  } catch (err) {
    log.warn({ err }, 'could not list the teams of the bot; no slash command is registered');
    return [];
  }
  const active = mine.filter((t) => t.delete_at === 0);
  if (!teamFilter) return active;
  const names = new Set(active.map((t) => t.name));
  for (const wanted of teamFilter) {
    if (!names.has(wanted)) {
      log.warn({ team: wanted }, `MMOPS_TEAMS names "${wanted}", but the bot is not a member of such a team: add the bot to it, or fix the name`);
    }
  }
  return active.filter((t) => teamFilter.has(t.name));
}

/**
 * One call each for the bot's teams (done by chooseTeams) and its memberships in them
 * (`GET /users/{id}/teams/members`): the bot's own permission checks then need no
 * call per team, so a restart costs about (teams + 5) calls, the teams' `GET /commands`
 * included.
 */
async function primeBotFacts(rt: BotRuntime, perms: PermissionService, user: User, teams: Team[]): Promise<void> {
  if (!perms.prime) return;
  perms.prime({ users: [user], teams });
  let members: TeamMember[];
  try {
    members = await rt.api.getTeamMembersForUser(user.id, { signal: rt.stopping.signal });
  } catch (err) {
    rt.log.warn({ err }, "could not list the bot's team memberships at once; they are read per team instead");
    return;
  }
  const byTeam = new Map(members.map((m) => [m.team_id, m]));
  perms.prime({ teamMembers: teams.map((t) => ({ teamId: t.id, userId: user.id, member: byTeam.get(t.id) ?? null })) });
  await primeRoles(rt, perms, [user.roles, ...members.map((m) => m.roles)]);
}

/** Every role the bot's own checks read, in one call (else one batch per kind of check). */
async function primeRoles(rt: BotRuntime, perms: PermissionService, roleLists: string[]): Promise<void> {
  if (!perms.prime) return;
  const names = new Set([...BASE_ROLE_NAMES, ...roleLists.flatMap((r) => r.split(/\s+/))]);
  names.delete('');
  try {
    const roles = await rt.api.getRolesByNames([...names], { signal: rt.stopping.signal });
    const byName = new Map(roles.map((r) => [r.name, r]));
    perms.prime({ roles: [...names].map((name) => ({ name, role: byName.get(name) ?? null })) });
  } catch (err) {
    rt.log.warn({ err }, 'could not read the roles at once; they are read as needed');
  }
}

/** Start-up step (the last): slash registration goes on in the background; Bot.registered() waits for it. */
export function startRegistration(rt: BotRuntime, parts: { registration: SlashRegistration; teams: Team[] }): void {
  rt.registrationDone = registerInBackground(rt, parts.registration, parts.teams);
}

/** Registers the slash commands of every team, a few teams at a time, paced by the REST client. */
async function registerInBackground(rt: BotRuntime, reg: SlashRegistration, teams: Team[]): Promise<void> {
  const { log, stopping } = rt;
  const started = rt.now();
  try {
    await rt.replication.startSlash(reg, teams, { concurrency: SLASH_REGISTRATION_CONCURRENCY, signal: stopping.signal });
  } catch (err) {
    if (!stopping.signal.aborted) log.warn({ err }, 'slash command registration stopped early');
    return;
  }
  if (stopping.signal.aborted) return;
  const reports = reg.reports();
  const registered = Object.fromEntries(reports.map((r) => [r.teamName, r.error ? [] : r.registered]));
  const failed = reports.filter((r) => r.error).length;
  const few = teams.length <= 20;
  log.info(
    { teams: teams.length, failed, ms: rt.now() - started, ...(few ? { registered } : {}) },
    few
      ? `slash commands registered: ${teams.map((t) => `${t.name}: ${(registered[t.name] ?? []).join(' ') || 'no slash commands'}`).join('; ') || 'no team'}`
      : `slash commands registered in ${teams.length - failed} of ${teams.length} teams`,
  );
}

/** The bot was added to a team while running: register the slash commands there. */
export async function registerNewTeam(rt: BotRuntime, registration: SlashRegistration, teamId: string): Promise<void> {
  const { log } = rt;
  if (rt.phase !== 'running') return;
  try {
    const team = await rt.api.getTeam(teamId);
    if (rt.teamFilter && !rt.teamFilter.has(team.name)) {
      log.info({ team: team.name }, 'the bot was added to a team not listed in MMOPS_TEAMS; no slash command registered there');
      return;
    }
    const report = await rt.work.track(rt.replication.addTeam(registration, team));
    log.info({ team: team.name, registered: report.registered }, `the bot was added to team ${team.name}: slash commands registered`);
  } catch (err) {
    log.warn({ err, teamId }, 'could not register slash commands in a new team');
  }
}
