/**
 * Start-up as named steps over the runtime record (issue 2, issue 11 "Large workspaces"):
 * listen (health answers from the start) → `GET /users/me` → the bot's parts → its teams
 * and rights → WebSocket → "ready" (DMs and mentions answered from here) → slash
 * registration in the background. A failed step shuts down what earlier ones started.
 */
import { compatibilityPaths, degradedFeatures, parseServerVersion } from '../mattermost/compat.js';
import { checkAuditChannel } from './audit-channel.js';
import { identify } from './identify.js';
import { buildInteractions } from './interactions.js';
import { listen } from './listen.js';
import { checkOwnRights } from './rights.js';
import { need, slashSignatures, urlOf, type BotRuntime } from './runtime.js';
import { buildDispatcher, buildServices, createPermissionCaches, loadCommands, prepareIntake, prepareSlash } from './services.js';
import { shutdown } from './shutdown.js';
import { connectSocket } from './socket.js';
import { isStartupError, StartupError } from './startup-error.js';
import { loadTeams, startRegistration } from './teams.js';

/** One start-up step; it reads what earlier steps put into the runtime record and adds its own. */
export interface StartupStep {
  readonly name: string;
  run(rt: BotRuntime): void | Promise<void>;
}

/** The steps, in order. */
export const STARTUP_STEPS: readonly StartupStep[] = [
  { name: 'commands and policy', run: loadCommands },
  { name: 'listen', run: listen },
  { name: 'identify', run: identify },
  { name: 'permission caches', run: createPermissionCaches },
  { name: 'services', run: buildServices },
  { name: 'buttons and dialogs', run: buildInteractions },
  { name: 'dispatcher', run: buildDispatcher },
  { name: 'slash', run: prepareSlash },
  { name: 'intake', run: prepareIntake },
  { name: 'teams', run: loadTeams },
  { name: 'own rights', run: checkOwnRights },
  { name: 'audit channel', run: checkAuditChannel },
  { name: 'hook URLs', run: (rt) => rt.hookUrls.load() },
  { name: 'websocket', run: connectSocket },
  { name: 'ready', run: announceReady },
  { name: 'slash registration', run: startRegistration },
];

/** Runs the start-up steps; on failure, leaves nothing running and throws a StartupError. */
export async function startBot(rt: BotRuntime): Promise<void> {
  if (rt.phase !== 'idle') throw new Error(`start() called while ${rt.phase}`);
  rt.phase = 'starting';
  try {
    for (const step of STARTUP_STEPS) await step.run(rt);
  } catch (err) {
    await shutdown(rt, 0);
    if (isStartupError(err)) throw err;
    rt.log.error({ err }, 'start-up failed');
    throw new StartupError('failed', `start-up failed: ${err instanceof Error ? err.message : String(err)}`, 1);
  }
}

/** DMs and mentions are answered from here on; slash commands follow in the background. */
function announceReady(rt: BotRuntime): void {
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
  rt.log.info(readyFields(rt), readyLine(rt));
}

function readyFields(rt: BotRuntime): Record<string, unknown> {
  const teams = need(rt.teams, 'the teams');
  return {
    serverVersion: rt.serverVersion || 'unknown',
    bot: need(rt.me, 'the bot user').username,
    teams: teams.length <= 20 ? teams.map((t) => t.name) : `${teams.length} teams`,
    slashRequests: slashSignatures(rt),
    url: urlOf(rt.bound),
    slashUrl: rt.slashUrl,
  };
}

function readyLine(rt: BotRuntime): string {
  const n = need(rt.teams, 'the teams').length;
  const signatures = slashSignatures(rt);
  return (
    `ready: @${need(rt.me, 'the bot user').username} on Mattermost ${rt.serverVersion || '(version unknown)'} answers DMs and mentions; ` +
    (n > 0 ? `registering slash commands in ${n} team${n === 1 ? '' : 's'}` : 'in no team (DMs only)') +
    `; slash requests ${signatures === 'verified' ? "verified by the server's signature" : signatures === 'unknown' ? 'not verifiable yet (signing key unread)' : 'not signed by the server'}`
  );
}
