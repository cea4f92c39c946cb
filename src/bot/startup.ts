/**
 * Start-up as typed steps (in 1,000 teams too: docs/benchmark.md): each takes the parts it
 * needs and returns the parts it makes, so a step moved before the one that makes its
 * input does not compile. listen (health answers from the start) → `GET /users/me` → the
 * bot's parts → its teams and rights → WebSocket → "ready" (DMs and mentions answered from
 * here) → slash registration in the background. What each step returns is published on
 * the runtime record (`rt.published`) for the readers outside the steps: the HTTP routes,
 * the status, the Bot's getters, and shutdown, which closes what a failed step left.
 */
import type { Team, User } from '../mattermost/models.js';
import { compatibilityPaths, degradedFeatures, parseServerVersion } from '../mattermost/compat.js';
import { checkAuditChannel } from './audit-channel.js';
import { identify } from './identify.js';
import { buildInteractions } from './interactions.js';
import { listen, type Listening } from './listen.js';
import { checkOwnRights } from './rights.js';
import { slashSignatures, urlOf, type BotRuntime, type Published } from './runtime.js';
import { buildDispatcher, buildServices, createPermissionCaches, loadCommands, prepareIntake, prepareSlash } from './services.js';
import { shutdown } from './shutdown.js';
import { connectSocket } from './socket.js';
import { isStartupError, StartupError } from './startup-error.js';
import { loadTeams, startRegistration } from './teams.js';

/** Runs the start-up steps; on failure, leaves nothing running and throws a StartupError. */
export async function startBot(rt: BotRuntime): Promise<void> {
  if (rt.phase !== 'idle') throw new Error(`start() called while ${rt.phase}`);
  rt.phase = 'starting';
  try {
    await runSteps(rt);
  } catch (err) {
    await shutdown(rt, 0);
    if (isStartupError(err)) throw err;
    rt.log.error({ err }, 'start-up failed');
    throw new StartupError('failed', `start-up failed: ${err instanceof Error ? err.message : String(err)}`, 1);
  }
}

/** The steps, in order; what a step makes for readers outside the steps is published before the next runs. */
async function runSteps(rt: BotRuntime): Promise<void> {
  const { registry, policy } = await loadCommands(rt);
  const listening = publish(rt, await listen(rt));
  const { urls } = listening;
  const me = publish(rt, { me: await identify(rt) }).me;
  const { permissions, visibility } = createPermissionCaches(rt, me);
  const { services, audit, auditPost, watches } = buildServices(rt, { me, permissions, visibility, registry, policy });
  publish(rt, { audit, watches });
  const { confirmations } = publish(rt, await buildInteractions(rt, { me, policy, permissions, audit, urls }));
  publish(rt, { dispatcher: buildDispatcher(rt, { registry, permissions, visibility, services, me, confirmations }) });
  const { registration } = publish(rt, await prepareSlash(rt, { me, registry, urls, auditPost }));
  const { intake, catchUp } = publish(rt, await prepareIntake(rt, { me, urls }));
  const teams = await loadTeams(rt, { me, permissions });
  publish(rt, { rights: await checkOwnRights(rt, { permissions, me, teams, registry }) });
  await checkAuditChannel(rt);
  await rt.hookUrls.load();
  publish(rt, { socket: await connectSocket(rt, { me, permissions, visibility, intake, catchUp, registration }) });
  announceReady(rt, { me, teams, listening });
  startRegistration(rt, { registration, teams });
}

/** Puts a step's parts on the runtime record (see {@link Published}; nothing else) and hands them on. */
function publish<T extends Partial<Published> & Record<Exclude<keyof T, keyof Published>, never>>(rt: BotRuntime, parts: T): T {
  Object.assign(rt.published, parts);
  return parts;
}

/** What the "ready" lines name. */
interface ReadyFacts {
  me: User;
  teams: readonly Team[];
  listening: Listening;
}

/** DMs and mentions are answered from here on; slash commands follow in the background. */
function announceReady(rt: BotRuntime, facts: ReadyFacts): void {
  rt.phase = 'running';
  const version = rt.serverVersion;
  // which version-dependent behaviour the bot assumes (docs/mattermost-notes.md §0)
  const parsed = parseServerVersion(version);
  const compat = compatibilityPaths(parsed);
  rt.log.info(
    { serverVersion: version || 'unknown', compatibility: Object.fromEntries(compat.map((c) => [c.feature, c.path])) },
    `compatibility paths for Mattermost ${version || '(version unknown)'}: ${compat.map((c) => c.feature).join(', ')}`,
  );
  // one line for the operator: what works less well on this version (docs/compatibility.md)
  const degraded = degradedFeatures(parsed);
  const on = `Mattermost ${version || '(version unknown)'}`;
  if (degraded.length > 0) rt.log.warn({ serverVersion: version || 'unknown', degraded }, `degraded on ${on}: ${degraded.join('; ')} (see docs/compatibility.md)`);
  else rt.log.info({ serverVersion: version || 'unknown', degraded }, parsed ? `every feature works on ${on}` : `${on}: assuming a current server, every feature on (see docs/compatibility.md)`);
  rt.log.info(readyFields(rt, facts), readyLine(rt, facts));
}

function readyFields(rt: BotRuntime, { me, teams, listening }: ReadyFacts): Record<string, unknown> {
  return {
    serverVersion: rt.serverVersion || 'unknown',
    bot: me.username,
    teams: teams.length <= 20 ? teams.map((t) => t.name) : `${teams.length} teams`,
    slashRequests: slashSignatures(rt),
    url: urlOf(listening.bound),
    slashUrl: listening.urls.slash,
  };
}

function readyLine(rt: BotRuntime, { me, teams }: ReadyFacts): string {
  const n = teams.length;
  const signatures = slashSignatures(rt);
  return (
    `ready: @${me.username} on Mattermost ${rt.serverVersion || '(version unknown)'} answers DMs and mentions; ` +
    (n > 0 ? `registering slash commands in ${n} team${n === 1 ? '' : 's'}` : 'in no team (DMs only)') +
    `; slash requests ${signatures === 'verified' ? "verified by the server's signature" : signatures === 'unknown' ? 'not verifiable yet (signing key unread)' : 'not signed by the server'}`
  );
}
