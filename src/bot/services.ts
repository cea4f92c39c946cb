/**
 * Start-up steps that build the bot's parts once it knows itself: commands and policy,
 * permission caches, the services commands see, the dispatcher, the slash side
 * (registration, request trust) and the WebSocket side (post ledger, intake, catch-up).
 * Each takes the parts it needs and returns the parts it makes (startup.ts runs them).
 */
import type { CommandDefinition, Services } from '../core/command.js';
import { createAuditTrail, type AuditTrail } from '../core/audit.js';
import { createDispatcher } from '../core/dispatcher.js';
import type { PermissionService } from '../core/permission-service.js';
import { isPolicyError, loadPolicy, type LoadedPolicy } from '../core/permissions/policy.js';
import { createPermissionService } from '../core/permissions/service.js';
import { createVisibilityService, type VisibilityService } from '../core/permissions/visibility.js';
import { createRegistry, type Registry } from '../core/registry.js';
import { withScheduler, type ScheduledDispatcher } from '../core/scheduler.js';
import type { User } from '../mattermost/models.js';
import { createCatchUp, type CatchUp } from '../services/catch-up.js';
import type { Confirmations } from '../services/confirmations.js';
import { createBotHealthWatches } from '../services/health-watch.js';
import { createPostLedger, type PostLedger } from '../services/post-ledger.js';
import { createSlashRegistration, type SlashRegistration } from '../services/slash-registration.js';
import { createSlashTrust, type SlashTrust } from '../services/slash-trust.js';
import { createWsIntake, type WsIntake } from '../transports/ws-intake.js';
import { auditPoster } from './audit-channel.js';
import { reportWatchPoster } from './report-watches.js';
import { renderAttachments } from '../render/attachments.js';
import { createFileResponder } from '../render/file-answer.js';
import { render, runInvocation, type BotRuntime, type BotUrls } from './runtime.js';
import { StartupError } from './startup-error.js';
import type { WatchService } from './types.js';

/** The command set, its registry and the operator's policy. */
export interface LoadedCommands {
  commands: readonly CommandDefinition[];
  registry: Registry;
  policy: LoadedPolicy;
}

/** The command set (all of commands/ unless BotDeps.commands), its registry and the policy. */
export async function loadCommands(rt: BotRuntime): Promise<LoadedCommands> {
  // loaded here so that tests and tools can run the bot with their own command set
  const commands = rt.deps.commands ?? (await import('../../commands/index.js')).allCommands;
  const registry = createRegistry(commands, rt.log);
  let policy: LoadedPolicy;
  try {
    policy = loadPolicy(rt.config.policyPath ?? undefined, commands);
  } catch (err) {
    if (isPolicyError(err)) throw new StartupError('config', `MMOPS_POLICY: ${err.message}`, 2);
    throw err;
  }
  if (policy.source) rt.log.info({ policy: policy.source, rules: policy.rules.map((r) => r.key) }, 'policy loaded');
  return { commands, registry, policy };
}

/** The permission and visibility caches. */
export interface PermissionCaches {
  permissions: PermissionService;
  visibility: VisibilityService;
}

/** Permission and visibility caches for the bot's user. */
export function createPermissionCaches(rt: BotRuntime, me: User): PermissionCaches {
  const { api, log, now } = rt;
  const perms = createPermissionService({ api, allowBots: rt.config.allowBots, selfUserId: me.id, logger: log, now });
  const visibility = createVisibilityService({ api, permissions: perms, logger: log, now, serverVersion: () => rt.serverVersion });
  rt.metrics.setSources({ api: () => api.stats(), cache: () => perms.stats(), startedAt: now() });
  return { permissions: perms, visibility };
}

/** The services every command sees, and the parts behind them that other steps use too. */
export interface BuiltServices {
  services: Services;
  audit: AuditTrail;
  /** posts a line to MMOPS_AUDIT_CHANNEL (undefined without one) */
  auditPost: ((line: string) => Promise<void>) | undefined;
  watches: WatchService | undefined;
}

/** Health watches, the audit trail, and the services every command sees. */
export function buildServices(
  rt: BotRuntime,
  parts: { me: User; permissions: PermissionService; visibility: VisibilityService; registry: Registry; policy: LoadedPolicy },
): BuiltServices {
  const { api, log, now, config } = rt;
  const { me: user, permissions: perms, registry } = parts;
  const botStatus = () => rt.status.snapshot();
  const makeWatches =
    rt.deps.watches ??
    ((ctx) => rt.replication.sharedWatches({ api, logger: log, botStatus, now, botUserId: user.id }) ?? createBotHealthWatches(ctx, { botStatus, now }));
  const watches = makeWatches({ api, logger: log, botUserId: user.id, config });
  const auditPost = auditPoster(api, config.auditChannel);
  const audit = createAuditTrail(log, { ...(auditPost ? { post: auditPost } : {}), now });
  const reportWatches = rt.replication.reportWatches({
    logger: log,
    now,
    // reads `services` when a report is due (it is complete by then)
    post: reportWatchPoster({ api, logger: log, registry, permissions: perms, visibility: parts.visibility, services: () => services, me: user, now }),
  });
  const services: Services = {
    ...(watches ? { watches } : {}),
    reportWatches,
    audit,
    botStatus,
    commands: () => registry.all(),
    policy: parts.policy,
    siteUrl: config.mmUrl,
    triggers: { root: config.rootTrigger, prefix: config.triggerPrefix },
    botCan: async (req, where) => (await perms.check(user.id, req, where ?? {})).allowed,
  };
  return { services, audit, auditPost, watches };
}

/** The dispatcher, behind the one fair admission every way in runs through (scheduler.ts). */
export function buildDispatcher(
  rt: BotRuntime,
  parts: { registry: Registry; permissions: PermissionService; visibility: VisibilityService; services: Services; me: User; confirmations: Confirmations },
): ScheduledDispatcher {
  const { config } = rt;
  const dispatcher = createDispatcher({
    registry: parts.registry,
    api: rt.api,
    permissions: parts.permissions,
    services: parts.services,
    logger: rt.log,
    botUserId: parts.me.id,
    rootTrigger: config.rootTrigger,
    allowBots: config.allowBots,
    userCache: rt.userCache,
    visibility: parts.visibility,
    interactions: parts.confirmations,
    files: createFileResponder({ api: rt.api, botUserId: parts.me.id, logger: rt.log }),
    now: rt.now,
    ...(rt.deps.deadlineMs !== undefined ? { deadlineMs: rt.deps.deadlineMs } : {}),
  });
  return withScheduler(dispatcher, { limits: config.limits, logger: rt.log });
}

/** The slash side: registration (not started yet) and the check of slash requests (started). */
export interface SlashParts {
  registration: SlashRegistration;
  trust: SlashTrust;
}

/** Slash registration (not started yet) and the check of slash requests (started). */
export async function prepareSlash(
  rt: BotRuntime,
  parts: { me: User; registry: Registry; urls: BotUrls; auditPost: ((line: string) => Promise<void>) | undefined },
): Promise<SlashParts> {
  const { config, log, replication } = rt;
  const registration = createSlashRegistration({
    api: rt.api,
    logger: log,
    botUserId: parts.me.id,
    commands: parts.registry.all(),
    rootTrigger: config.rootTrigger,
    triggerPrefix: config.triggerPrefix,
    slashUrl: parts.urls.slash,
    now: rt.now,
  });
  const trust = createSlashTrust({
    fetchKey: async () => (await rt.clientConfig()).AsymmetricSigningPublicKey,
    maxAgeMs: config.triggerMaxAgeMs,
    allowUnsigned: config.allowUnsignedSlash,
    logger: log,
    ...(parts.auditPost ? { alarm: parts.auditPost } : {}),
    // replicas share the claims, so a request replayed to another replica is caught too
    ...(rt.deps.replay ? { replay: rt.deps.replay } : replication.shared ? { replay: replication.state } : {}),
    now: rt.now,
  });
  await trust.start();
  return { registration, trust };
}

/** The WebSocket side: the post ledger (absent when the state store cannot be read), the intake, the catch-up. */
export interface IntakeParts {
  ledger: PostLedger | undefined;
  intake: WsIntake;
  /** absent without a ledger */
  catchUp: CatchUp | undefined;
}

/** The post ledger (from the state store), the DM/mention intake, and the REST catch-up. */
export async function prepareIntake(rt: BotRuntime, parts: { me: User; urls: BotUrls }): Promise<IntakeParts> {
  const ledger = await openLedger(rt);
  const user = parts.me;
  const { config, metrics } = rt;
  // made right after the intake, which asks it again for posts it gave back
  let catchUp: CatchUp | undefined;
  const intake = createWsIntake({
    botUserId: user.id,
    botUsername: user.username,
    run: (inv) => runInvocation(rt, inv),
    render,
    attachments: (r) => renderAttachments(r.buttons, parts.urls.actions),
    api: rt.api,
    canEphemeral: () => rt.canEphemeral,
    work: rt.work,
    logger: rt.log,
    onCommand: (source) => metrics.wsCommand(source),
    onStoreUnreachable: () => rt.replication.noteOutage(),
    ...(ledger ? { ledger } : {}),
    late: { runWindowMs: config.catchupRunWindowMs, maxAgeMs: config.catchupMaxAgeMs },
    // given back unanswered (the server refused the answer for a while): read again soon
    onUndelivered: () => catchUp?.later('an answer could not be delivered', 5_000),
    now: rt.now,
  });
  if (!ledger) return { ledger, intake, catchUp };
  const made = createCatchUp({
    api: rt.api,
    ledger,
    botUserId: user.id,
    serverVersion: () => rt.serverVersion,
    handle: (post, channel) => intake.handleMissed(post, channel),
    logger: rt.log,
    now: rt.now,
    maxAgeMs: config.catchupMaxAgeMs,
    recheckAfterMs: rt.replication.postClaims.leaseMs + 1_000,
  });
  catchUp = made;
  // posts skipped while the shared store was down (held below the mark) are read again once it is back
  rt.replication.onStoreBack(() => made.trigger('the state store is back'));
  return { ledger, intake, catchUp: made };
}

async function openLedger(rt: BotRuntime): Promise<PostLedger | undefined> {
  const { replication, log } = rt;
  try {
    return await createPostLedger({
      store: replication.state,
      now: rt.now,
      // the one claim model: the replicas' claims on post:<id> (claim, renew, done)
      claims: replication.postClaims,
      exclusive: !replication.shared,
      onError: (err, what) => log.warn({ err }, `state store: ${what} failed`),
    });
  } catch (err) {
    log.error({ err }, 'the state store cannot be read: no catch-up of posts missed while the bot was away until the next start');
    return undefined;
  }
}
