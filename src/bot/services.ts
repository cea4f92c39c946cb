/**
 * Start-up steps that build the bot's parts once it knows itself: commands and policy,
 * permission caches, the services commands see, the dispatcher, the slash side
 * (registration, request trust) and the WebSocket side (post ledger, intake, catch-up).
 */
import { createAuditTrail } from '../core/audit.js';
import { createDispatcher } from '../core/dispatcher.js';
import { isPolicyError, loadPolicy } from '../core/permissions/policy.js';
import { createPermissionService } from '../core/permissions/service.js';
import { createVisibilityService } from '../core/permissions/visibility.js';
import { createRegistry } from '../core/registry.js';
import { withScheduler } from '../core/scheduler.js';
import { createCatchUp } from '../services/catch-up.js';
import { createBotHealthWatches } from '../services/health-watch.js';
import { createPostLedger } from '../services/post-ledger.js';
import { createSlashRegistration } from '../services/slash-registration.js';
import { createSlashTrust } from '../services/slash-trust.js';
import { createWsIntake } from '../transports/ws-intake.js';
import { auditPoster } from './audit-channel.js';
import { renderAttachments } from '../render/attachments.js';
import { createFileResponder } from '../render/file-answer.js';
import { need, render, runInvocation, type BotRuntime } from './runtime.js';
import { StartupError } from './startup-error.js';

/** The command set (all of commands/ unless BotDeps.commands), its registry and the policy. */
export async function loadCommands(rt: BotRuntime): Promise<void> {
  // loaded here so that tests and tools can run the bot with their own command set
  if (!rt.deps.commands) rt.commands = (await import('../../commands/index.js')).allCommands;
  rt.registry = createRegistry(rt.commands, rt.log);
  try {
    rt.policy = loadPolicy(rt.config.policyPath ?? undefined, rt.commands);
  } catch (err) {
    if (isPolicyError(err)) throw new StartupError('config', `MMOPS_POLICY: ${err.message}`, 2);
    throw err;
  }
  if (rt.policy.source) rt.log.info({ policy: rt.policy.source, rules: rt.policy.rules.map((r) => r.key) }, 'policy loaded');
}

/** Permission and visibility caches for the bot's user. */
export function createPermissionCaches(rt: BotRuntime): void {
  const { api, log, now } = rt;
  const user = need(rt.me, 'the bot user');
  const perms = createPermissionService({ api, allowBots: rt.config.allowBots, selfUserId: user.id, logger: log, now });
  rt.permissions = perms;
  rt.visibility = createVisibilityService({ api, permissions: perms, logger: log, now });
  rt.metrics.setSources({ api: () => api.stats(), cache: () => perms.stats(), startedAt: now() });
}

/** Health watches, the audit trail, and the services every command sees. */
export function buildServices(rt: BotRuntime): void {
  const { api, log, now, config } = rt;
  const user = need(rt.me, 'the bot user');
  const perms = need(rt.permissions, 'the permission service');
  const registry = need(rt.registry, 'the registry');
  const botStatus = () => rt.status.snapshot();
  const makeWatches =
    rt.deps.watches ??
    ((ctx) => rt.replication.sharedWatches({ api, logger: log, botStatus, now, botUserId: user.id }) ?? createBotHealthWatches(ctx, { botStatus, now }));
  const watches = makeWatches({ api, logger: log, botUserId: user.id, config });
  rt.watches = watches;
  rt.auditPost = auditPoster(api, config.auditChannel);
  const audit = createAuditTrail(log, { ...(rt.auditPost ? { post: rt.auditPost } : {}), now });
  rt.audit = audit;
  rt.services = {
    ...(watches ? { watches } : {}),
    audit,
    botStatus,
    commands: () => registry.all(),
    policy: need(rt.policy, 'the policy'),
    siteUrl: config.mmUrl,
    triggers: { root: config.rootTrigger, prefix: config.triggerPrefix },
    botCan: async (req, where) => (await perms.check(user.id, req, where ?? {})).allowed,
  };
}

/** The dispatcher, behind the one fair admission every way in runs through (scheduler.ts). */
export function buildDispatcher(rt: BotRuntime): void {
  const { config } = rt;
  const dispatcher = createDispatcher({
    registry: need(rt.registry, 'the registry'),
    api: rt.api,
    permissions: need(rt.permissions, 'the permission service'),
    services: need(rt.services, 'the services'),
    logger: rt.log,
    botUserId: need(rt.me, 'the bot user').id,
    rootTrigger: config.rootTrigger,
    allowBots: config.allowBots,
    userCache: rt.userCache,
    visibility: need(rt.visibility, 'the visibility service'),
    ...(rt.confirmations ? { interactions: rt.confirmations } : {}),
    files: createFileResponder({ api: rt.api, botUserId: need(rt.me, 'the bot user').id, logger: rt.log }),
    now: rt.now,
    ...(rt.deps.deadlineMs !== undefined ? { deadlineMs: rt.deps.deadlineMs } : {}),
  });
  rt.dispatcher = withScheduler(dispatcher, { limits: config.limits, logger: rt.log });
}

/** Slash registration (not started yet) and the check of slash requests (started). */
export async function prepareSlash(rt: BotRuntime): Promise<void> {
  const { config, log, replication } = rt;
  rt.registration = createSlashRegistration({
    api: rt.api,
    logger: log,
    botUserId: need(rt.me, 'the bot user').id,
    commands: need(rt.registry, 'the registry').all(),
    rootTrigger: config.rootTrigger,
    triggerPrefix: config.triggerPrefix,
    slashUrl: rt.slashUrl,
    now: rt.now,
  });
  const trust = createSlashTrust({
    fetchKey: async () => (await rt.clientConfig()).AsymmetricSigningPublicKey,
    maxAgeMs: config.triggerMaxAgeMs,
    allowUnsigned: config.allowUnsignedSlash,
    logger: log,
    ...(rt.auditPost ? { alarm: rt.auditPost } : {}),
    // replicas share the claims, so a request replayed to another replica is caught too
    ...(rt.deps.replay ? { replay: rt.deps.replay } : replication.shared ? { replay: replication.state } : {}),
    now: rt.now,
  });
  await trust.start();
  rt.trust = trust;
}

/** The post ledger (from the state store), the DM/mention intake, and the REST catch-up. */
export async function prepareIntake(rt: BotRuntime): Promise<void> {
  await openLedger(rt);
  const user = need(rt.me, 'the bot user');
  const { config, metrics, ledger } = rt;
  const intake = createWsIntake({
    botUserId: user.id,
    botUsername: user.username,
    run: (inv) => runInvocation(rt, inv),
    render,
    attachments: (r) => renderAttachments(r.buttons, rt.actionsUrl),
    api: rt.api,
    canEphemeral: () => rt.canEphemeral,
    work: rt.work,
    logger: rt.log,
    onCommand: (source) => metrics.wsCommand(source),
    onStoreUnreachable: () => rt.replication.noteOutage(),
    ...(ledger ? { ledger } : {}),
    late: { runWindowMs: config.catchupRunWindowMs, maxAgeMs: config.catchupMaxAgeMs },
    // given back unanswered (the server refused the answer for a while): read again soon
    onUndelivered: () => rt.catchUp?.later('an answer could not be delivered', 5_000),
    now: rt.now,
  });
  rt.intake = intake;
  if (!ledger) return;
  rt.catchUp = createCatchUp({
    api: rt.api,
    ledger,
    botUserId: user.id,
    handle: (post, channel) => intake.handleMissed(post, channel),
    logger: rt.log,
    now: rt.now,
    maxAgeMs: config.catchupMaxAgeMs,
    recheckAfterMs: rt.replication.postClaims.leaseMs + 1_000,
  });
  // posts skipped while the shared store was down (held below the mark) are read again once it is back
  rt.replication.onStoreBack(() => rt.catchUp?.trigger('the state store is back'));
}

async function openLedger(rt: BotRuntime): Promise<void> {
  const { replication, log } = rt;
  try {
    rt.ledger = await createPostLedger({
      store: replication.state,
      now: rt.now,
      // the one claim model: the replicas' claims on post:<id> (claim, renew, done)
      claims: replication.postClaims,
      exclusive: !replication.shared,
      onError: (err, what) => log.warn({ err }, `state store: ${what} failed`),
    });
  } catch (err) {
    log.error({ err }, 'the state store cannot be read: no catch-up of posts missed while the bot was away until the next start');
  }
}
