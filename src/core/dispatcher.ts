/**
 * The dispatcher: one Invocation in, one Reply out, whatever the transport.
 *
 * Order matters: rights before arguments (a refused caller learns nothing from validation),
 * typed refusals kept apart from crashes (caught once, here), a deadline on every step:
 *  1. words        tokenize (bad quoting → a clear message)
 *  2. command      unknown → "did you mean …" naming close matches and `help`
 *  3. subcommand   first word naming one, else the default; none → the usage list
 *  4. caller       active human (or allowed bot)
 *  5. scope        `sub.scope(raw)` team/channel, else where the command was typed
 *  6. target       `sub.target(raw)` resolved; a miss is hidden from callers who
 *                  could not act on others anyway (they get the permission message)
 *  7. permissions  self/other requirement (+ manage_system on admin targets) + policy;
 *                  refusal = one line naming what is missing, audited, nothing runs.
 *                  Privileged subcommands (`fresh`, `destructive`, `sensitive`) first
 *                  read the caller and the target again from the server (once each per
 *                  invocation) and decide on those, never on the cache
 *  8. bot rights   `sub.botNeeds` against the bot account → "not available"
 *  9. arguments    zod (only now, so a refused caller learns nothing from validation)
 * 10. execute      under a deadline AbortSignal; privileged actions audited
 *
 * Expected failures (UserError, API 403/404, network) become plain sentences;
 * anything else is logged with a reference id and answered with that id.
 *
 * @example
 *   const dispatcher = createDispatcher({ registry, api, permissions, services, logger, botUserId: me.id });
 *   const { reply } = await dispatcher.dispatch(invocation);
 */
import { randomInt } from 'node:crypto';
import type { MattermostApi } from '../mattermost/api.js';
import { bindSignal } from '../mattermost/bound-signal.js';
import { isApiError, isNetworkError, ProtocolError } from '../mattermost/errors.js';
import type { Channel, Team, User } from '../mattermost/models.js';
import type {
  AuditEntry,
  CommandContext,
  CommandDefinition,
  Invocation,
  Logger,
  RawArgs,
  Requirement,
  Services,
  SubcommandDefinition,
  UserDirectory,
} from './command.js';
import { isUserError, UserError } from './errors.js';
import { mergingChild, serializeError } from '../log/logger.js';
import { parseArgs, tokenize, validateArgs } from './parse.js';
import { freshReads, type Decision, type FreshReads, type PermissionService, type Where } from './permission-service.js';
import { createCallerPermissions } from './permissions/caller.js';
import { placeWords, refusalText, type RefusalPlace } from './permissions/refusal.js';
import type { Registry } from './registry.js';
import { code, list, md, paragraph, raw, reply, title, type Block, type Markdown, type Reply, type ReplyTone, type Text } from './reply.js';
import { createScopeResolver, type ScopeResolver } from './scope.js';
import { DEFAULT_TRIGGERS, usageText, type Triggers } from './usage.js';
import { createUserCache, createUserDirectory, type UserCache } from './users.js';
import { createVisibilityService, type VisibilityService } from './permissions/visibility.js';
import type { DispatchInteractions } from './interactions.js';
import type { FileDelivery } from './files.js';

export interface DispatcherDeps {
  registry: Registry;
  api: MattermostApi;
  permissions: PermissionService;
  /** a fixed directory (tests); default: one per invocation over a shared cache */
  users?: UserDirectory;
  services: Services;
  logger: Logger;
  botUserId: string;
  /** the root slash trigger, stripped when typed (default 'mmops') */
  rootTrigger?: string;
  /** time allowed per invocation (default 25 000 ms) */
  deadlineMs?: number;
  now?: () => number;
  newRef?: () => string;
  /** let other bot accounts run commands (MMOPS_ALLOW_BOTS; default false) */
  allowBots?: boolean;
  /** share a user cache (its `forget` can follow `user_updated` events) */
  userCache?: UserCache;
  /** share a team/channel resolver */
  scopes?: ScopeResolver;
  /**
   * who each caller may see (the server's rule); default: one over `api` and
   * `permissions`. Every user lookup of an invocation is cut to the caller's view.
   */
  visibility?: VisibilityService;
  /** Confirm/Cancel buttons and approvals (src/services/confirmations.ts); absent: "run it again with --yes" */
  interactions?: DispatchInteractions;
  /**
   * Delivers a reply's files to the caller's DM with the bot (src/render/file-answer.ts);
   * absent: a reply with files says they cannot be sent
   */
  files?: FileDelivery;
}

/**
 * How an invocation ended; `busy` = not admitted (src/core/scheduler.ts), nothing ran;
 * `asked` = it stopped to ask (Confirm/Cancel, or sent for approval), nothing changed yet.
 */
export type DispatchOutcome = 'ok' | 'user_error' | 'refused' | 'unavailable' | 'crash' | 'unknown_command' | 'timeout' | 'busy' | 'asked';

export interface DispatchResult {
  reply: Reply;
  ref: string;
  command?: string;
  subcommand?: string;
  outcome: DispatchOutcome;
  durationMs: number;
}

export interface DispatcherStats {
  /** invocations answered, all outcomes */
  served: number;
  byOutcome: Record<string, number>;
  /** command name (`?` for unknown) → outcome → count */
  byCommand: Record<string, Record<string, number>>;
}

export interface Dispatcher {
  dispatch(inv: Invocation, opts?: { signal?: AbortSignal }): Promise<DispatchResult>;
  /** counters for /metrics and /health */
  stats(): DispatcherStats;
}

const REF_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';

/** A short reference id people can quote (no 0/O/1/I confusion). */
export function newReference(): string {
  let out = '';
  for (let i = 0; i < 6; i++) out += REF_ALPHABET[randomInt(REF_ALPHABET.length)];
  return out;
}

/** Thrown (as an abort reason) when an invocation's deadline passes. */
export class DeadlineError extends Error {
  override readonly name = 'DeadlineError';
  readonly code = 'deadline';
}

/** A finished dispatch before timing is added; thrown inside the pipeline to stop early. */
class Stop {
  constructor(
    readonly reply: Reply,
    readonly outcome: DispatchOutcome,
  ) {}
}

const toneFor: Record<string, ReplyTone> = {
  not_found: 'warning',
  invalid_input: 'warning',
  ambiguous: 'warning',
  conflict: 'warning',
  needs_confirmation: 'warning',
  rate_limited: 'warning',
  unavailable: 'warning',
  forbidden: 'refused',
  server_error: 'error',
};

/** What the pipeline learned so far (for logs, audit and the error answer). */
interface PipelineState {
  command?: CommandDefinition;
  sub?: SubcommandDefinition;
  caller?: User;
  targetLabel?: string;
  scopeLabel: string;
  privileged: boolean;
  /** the outcome was audited already (sent for approval) */
  audited?: boolean;
  /** moves the invocation's deadline to `ms` after it started (a subcommand's `deadlineMs`) */
  extendDeadline?: (ms: number) => void;
  /** the deadline in force, for the "took too long" answer */
  deadlineMs?: number;
}

const hasRole = (u: User, role: string): boolean => u.roles.split(/\s+/).includes(role);

/** Creates the dispatcher. */
export function createDispatcher(deps: DispatcherDeps): Dispatcher {
  const now = deps.now ?? Date.now;
  const newRef = deps.newRef ?? newReference;
  const deadlineMs = deps.deadlineMs ?? 25_000;
  const rootTrigger = deps.rootTrigger ?? deps.services.triggers?.root ?? 'mmops';
  const triggers: Triggers = { ...DEFAULT_TRIGGERS, ...deps.services.triggers, root: rootTrigger };
  const userCache = deps.userCache ?? createUserCache({ now });
  const scopes = deps.scopes ?? createScopeResolver(deps.api, { now });
  const visibility = deps.visibility ?? createVisibilityService({ api: deps.api, permissions: deps.permissions, now, logger: deps.logger });
  const counters: DispatcherStats = { served: 0, byOutcome: {}, byCommand: {} };

  function count(command: string | undefined, outcome: DispatchOutcome): void {
    counters.served++;
    counters.byOutcome[outcome] = (counters.byOutcome[outcome] ?? 0) + 1;
    const key = command ?? '?';
    const row = (counters.byCommand[key] ??= {});
    row[outcome] = (row[outcome] ?? 0) + 1;
  }

  async function dispatch(inv: Invocation, opts: { signal?: AbortSignal } = {}): Promise<DispatchResult> {
    const started = now();
    const ref = newRef();
    // bindings merged into each line: a pino child per invocation cost more than its one line
    const log = mergingChild(deps.logger, { ref, source: inv.source, userId: inv.userId });
    const controller = new AbortController();
    const expire = (ms: number) => setTimeout(() => controller.abort(new DeadlineError(`deadline of ${ms} ms passed`)), Math.max(0, ms - (now() - started)));
    let timer = expire(deadlineMs);
    const onOuterAbort = (): void => controller.abort(opts.signal?.reason ?? new Error('aborted'));
    if (opts.signal?.aborted) onOuterAbort();
    else opts.signal?.addEventListener('abort', onOuterAbort, { once: true });
    const signal = controller.signal;

    const state: PipelineState = {
      scopeLabel: 'system',
      privileged: false,
      deadlineMs,
      extendDeadline: (ms) => {
        if (ms <= (state.deadlineMs ?? deadlineMs) || signal.aborted) return;
        clearTimeout(timer);
        timer = expire(ms);
        state.deadlineMs = ms;
      },
    };
    const confirmedBy = inv.confirmed ? (inv.confirmed.approver ? `approval by @${inv.confirmed.approver.username}` : inv.confirmed.by) : undefined;

    const audit = (outcome: AuditEntry['outcome'], detail?: string): void => {
      if (outcome === 'requested') state.audited = true;
      if (!state.privileged || !state.command || !state.caller) return;
      try {
        deps.services.audit({
          who: { id: state.caller.id, username: state.caller.username },
          command: label(state.command, state.sub),
          ...(state.targetLabel ? { target: state.targetLabel } : {}),
          scope: state.scopeLabel,
          outcome,
          ref,
          ...(detail ? { detail } : {}),
          ...(confirmedBy ? { confirmedBy } : {}),
        });
      } catch (err) {
        log.warn({ err: serializeError(err) }, 'audit failed');
      }
    };

    let result: { reply: Reply; outcome: DispatchOutcome };
    try {
      const aborted = new Promise<never>((_, reject) => {
        const fail = (): void => reject(signal.reason instanceof Error ? signal.reason : new DeadlineError('aborted'));
        if (signal.aborted) fail();
        else signal.addEventListener('abort', fail, { once: true });
      });
      aborted.catch(() => {}); // only observed through the race below
      const work = pipeline(inv, ref, log, signal, state, audit);
      work.catch(() => {}); // a late failure after the deadline is already answered
      const reply = await Promise.race([work, aborted]);
      result = { reply, outcome: 'ok' };
      if (state.privileged && !state.audited) audit('succeeded');
    } catch (err) {
      if (err instanceof Stop) result = { reply: err.reply, outcome: err.outcome };
      else {
        result = explain(err, ref, log, signal, opts.signal, state.command, state.sub, state.deadlineMs);
        if (result.outcome !== 'refused' || !isUserError(err)) audit('failed', errorDetail(err));
        else audit('refused', err.message);
      }
    } finally {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onOuterAbort);
    }

    const durationMs = Math.max(0, now() - started);
    count(state.command?.name, result.outcome);
    log.info(
      {
        command: state.command?.name,
        subcommand: state.sub?.name,
        outcome: result.outcome,
        durationMs,
      },
      'command answered',
    );
    return {
      reply: result.reply,
      ref,
      ...(state.command ? { command: state.command.name } : {}),
      ...(state.sub ? { subcommand: state.sub.name } : {}),
      outcome: result.outcome,
      durationMs,
    };
  }

  async function pipeline(
    inv: Invocation,
    ref: string,
    log: Logger,
    signal: AbortSignal,
    state: PipelineState,
    audit: (outcome: AuditEntry['outcome'], detail?: string) => void,
  ): Promise<Reply> {
    const call = { signal };

    // 1. words
    let words: string[];
    try {
      words = tokenize(inv.text, { rootTrigger });
    } catch (e) {
      if (isUserError(e)) throw new Stop(userErrorReplyPlain(e), 'user_error');
      throw e;
    }
    if (words.length === 0) {
      throw new Stop(reply([paragraph(md`Tell me what to do, e.g. ${code(usageText({ name: 'help', ownTrigger: false }, 'help', inv.source, triggers))}.`)], { tone: 'info' }), 'unknown_command');
    }

    // 2. command
    const name = (words[0] ?? '').toLowerCase();
    const command = deps.registry.get(name);
    if (!command) throw new Stop(unknownCommandReply(name, inv), 'unknown_command');
    state.command = command;

    // 3. subcommand
    let rest = words.slice(1);
    const named = rest[0] !== undefined ? command.subcommands.find((s) => s.name !== '' && s.name === rest[0]?.toLowerCase()) : undefined;
    const sub = named ?? command.subcommands.find((s) => s.name === '');
    if (named) rest = rest.slice(1);
    if (!sub) throw new Stop(usageReply(command, command.subcommands, inv, 'info'), 'user_error');
    state.sub = sub;
    const longer = typeof sub.deadlineMs === 'function' ? sub.deadlineMs(rest) : sub.deadlineMs;
    if (longer !== undefined) state.extendDeadline?.(longer);
    if (rest.includes('--help') || (rest.length === 1 && rest[0] === '-h')) {
      throw new Stop(usageReply(command, named ? [sub] : command.subcommands, inv, 'info'), 'ok');
    }
    // A secret (a new password, sessions, audits) must never land in a stored post: when
    // the transport cannot answer privately, nothing runs (so no password is changed).
    if (sub.sensitive && inv.privateReplies === false) {
      log.info({ command: command.name, subcommand: sub.name }, 'sensitive command refused: no private way to answer here');
      const slash = code(usageText(command, sub.usage, 'slash', triggers));
      throw new Stop(
        reply(
          [paragraph(md`I can only show that privately, and here I can't: the bot account may not send ephemeral messages (${code('create_post_ephemeral')}), and a message here would be stored. Use the slash command instead: ${slash}`)],
          { tone: 'warning' },
        ),
        'unavailable',
      );
    }

    // 3b. a slash request the server signed nobody for: its user_id is only a claim, and
    // anyone who can read the command token can make it (docs/mattermost-notes.md §4.5)
    if (inv.unverifiedCaller && needsProvenCaller(sub, deps.services.policy.extraRequirements(command.name, sub.name))) {
      log.warn({ command: command.name, subcommand: sub.name }, 'privileged command over an unsigned slash request refused');
      throw new Stop(
        refusedReply(
          md`I can't verify who sent this slash command (this Mattermost server doesn't sign slash requests), so I won't run ${code(label(command, sub))} this way. Send it to me in a direct message instead.`,
        ),
        'refused',
      );
    }

    // 4. caller
    let caller: User;
    try {
      caller = await deps.permissions.getUser(inv.userId);
    } catch (e) {
      if (isApiError(e) && e.status === 404) throw new Stop(refusedReply(raw("I couldn't find your account.")), 'refused');
      throw e;
    }
    const mayRun = (u: User): void => {
      if (u.delete_at > 0) throw new Stop(refusedReply(raw('Your account is deactivated.')), 'refused');
      if (u.is_bot && !deps.allowBots) throw new Stop(refusedReply(raw("Bots can't run commands here.")), 'refused');
    };
    mayRun(caller);

    const rawArgs: RawArgs = parseArgs(rest, { positional: sub.positional ?? [], schema: sub.args });

    // 5. scope
    const scopeRef = sub.scope?.(rawArgs) ?? {};
    let team: Team | undefined;
    let channel: Channel | undefined;
    if (scopeRef.team) team = await scopes.team(scopeRef.team, call);
    if (scopeRef.channel) {
      // `~name` is looked up in the named team, else in the team the command was typed in
      const inTeam = team ?? (inv.teamId ? await scopes.teamById(inv.teamId, call) : undefined);
      channel = await scopes.channel(
        scopeRef.channel,
        { ...(inTeam ? { team: inTeam } : {}), ...(inv.channelMentions ? { mentions: inv.channelMentions } : {}) },
        call,
      );
      if (!team && channel.team_id) team = await scopes.teamById(channel.team_id, call);
    }
    if (!team && !scopeRef.team && !scopeRef.channel && inv.teamId) team = await scopes.teamById(inv.teamId, call);
    if (!channel && !scopeRef.channel && inv.channelId) channel = await scopes.channelById(inv.channelId, call);
    const where: Where = {
      ...(team ? { teamId: team.id } : !scopeRef.team && !scopeRef.channel && inv.teamId ? { teamId: inv.teamId } : {}),
      ...(channel ? { channelId: channel.id } : !scopeRef.channel && !scopeRef.team && inv.channelId ? { channelId: inv.channelId } : {}),
    };

    // someone the caller may not see is answered exactly like someone unknown (core/users.ts)
    const users = deps.users ?? createUserDirectory(deps.api, { cache: userCache, signal, viewer: () => visibility.viewer(caller.id, { signal }) });
    const access = sub.access;
    const otherReq = access.other === undefined ? access.self : access.other;
    const extras = deps.services.policy.extraRequirements(command.name, sub.name);
    // Privileged subcommands (destructive ones and sensitive reads) decide on the server's
    // current roles of the caller and of the target, never on the cache: the server tells the
    // bot nothing when someone else's system, team or channel roles change
    // (docs/mattermost-notes.md §6 item 24). Each thing is read once per invocation.
    const readsFresh = sub.fresh === true || sub.destructive === true || sub.sensitive === true;
    const reads = freshReads();
    let fresh: false | FreshReads = false;

    // A refusal decided from cached roles is confirmed with the caller's current ones before it
    // is sent (one more read, only on refusals): someone promoted a moment ago is not refused
    // for the cache's lifetime. A grant from the cache stands only for cheap reads: privileged
    // subcommands read fresh from the start (above).
    const check = async (req: Requirement): Promise<Decision> => {
      const d = await deps.permissions.check(caller.id, req, where, { fresh });
      if (d.allowed || fresh !== false || d.reason !== 'missing_permission') return d;
      const again = await deps.permissions.check(caller.id, req, where, { fresh: freshReads() });
      if (again.allowed) {
        log.info({ command: command.name, subcommand: sub.name, permission: req.permission, scope: req.scope }, "refusal from cached roles withdrawn: the caller's current roles allow it");
        // the re-read refreshed the cache: the command sees the caller as the server does now
        caller = await deps.permissions.getUser(caller.id);
        state.caller = caller;
      }
      return again;
    };

    // How a refusal may name a place: only names the caller could see anyway, else what
    // they typed, else "that team" / "that channel" (never a private channel's name).
    const typed = { team: scopeRef.team?.trim() || undefined, channel: scopeRef.channel?.trim() || undefined };
    const canSee = async (req: Requirement, at: Where): Promise<boolean> => {
      try {
        return (await deps.permissions.check(caller.id, req, at)).allowed;
      } catch {
        return false;
      }
    };
    const describePlace = async (req: Requirement, at: Where = where): Promise<RefusalPlace> => {
      if (req.scope === 'system') return {};
      if (req.scope === 'team') {
        const id = at.teamId;
        if (!id) return { noTeam: true };
        const known = team?.id === id;
        const t = known ? team : await scopes.teamById(id, call).catch(() => undefined);
        const here = id === inv.teamId;
        if (t && (t.type !== 'I' || (await canSee({ permission: 'view_team', scope: 'team' }, { teamId: id })))) return { team: t.display_name || t.name, here };
        return known && typed.team ? { team: typed.team, here } : { here };
      }
      const id = at.channelId;
      if (!id) return { here: true };
      const known = channel?.id === id;
      const c = known ? channel : await scopes.channelById(id, call).catch(() => undefined);
      const here = id === inv.channelId;
      // a DM's name is two user ids and a group's lists its members: never shown
      const visible =
        c !== undefined &&
        c.type !== 'D' &&
        c.type !== 'G' &&
        (c.type === 'O' || (await canSee({ permission: 'read_channel', scope: 'channel' }, { channelId: id, ...(c.team_id ? { teamId: c.team_id } : {}) })));
      if (c && visible) return { channel: c.display_name || c.name, here };
      return known && typed.channel ? { channel: typed.channel, here } : { here };
    };

    const refuse = async (req: Requirement, decision?: Decision): Promise<never> => {
      const text =
        decision && !decision.allowed && decision.reason !== 'missing_permission'
          ? raw(decision.reason === 'inactive' ? 'Your account is deactivated.' : decision.reason === 'bot' ? "Bots can't run commands here." : "I couldn't find your account.")
          : refusalText(req, await describePlace(req));
      state.scopeLabel = scopeLabel(req, team, channel);
      audit('refused', `missing ${req.permission} (${req.scope})`);
      throw new Stop(refusedReply(text), 'refused');
    };
    state.caller = caller;
    state.scopeLabel = team ? `team:${team.name}` : 'system';

    // 6. target
    const targetRef = sub.target?.(rawArgs);
    let target: User | undefined;
    if (targetRef !== undefined && targetRef.trim() !== '') {
      state.targetLabel = targetRef.slice(0, 100);
      try {
        target = await users.resolve(targetRef);
      } catch (e) {
        if (isUserError(e) && (e.code === 'not_found' || e.code === 'ambiguous') && otherReq) {
          // Do not reveal who exists to someone who could not act on others anyway.
          state.privileged = true;
          if (readsFresh) fresh = reads;
          const d = await check(otherReq);
          if (!d.allowed) await refuse(otherReq, d);
        }
        throw e;
      }
      state.targetLabel = `@${target.username}`;
    }
    // A confirmation was shown for one person: if the name now means someone else (renamed
    // in between), nothing runs.
    if (inv.confirmed?.targetId && target?.id !== inv.confirmed.targetId) {
      log.warn({ command: command.name, subcommand: sub.name }, 'confirmed command refused: its target is no longer the person shown');
      throw new Stop(say(raw('Nothing was done: that name now belongs to someone else than when you were asked. Run the command again.'), 'warning'), 'user_error');
    }
    const isOther = target !== undefined && target.id !== caller.id;
    if (readsFresh) {
      fresh = reads;
      caller = await deps.permissions.getUser(caller.id, { fresh });
      mayRun(caller);
      state.caller = caller;
      if (target) {
        target = target.id === caller.id ? caller : await deps.permissions.getUser(target.id, { fresh });
        userCache.put(target);
      }
    }

    // 7. caller's permissions
    const reqs: Requirement[] = [];
    const base = isOther ? otherReq : access.self;
    if (base) reqs.push(base);
    if (isOther && target && access.adminTargetNeedsManageSystem && hasRole(target, 'system_admin')) {
      reqs.push({ permission: 'manage_system', scope: 'system' });
    }
    reqs.push(...extras);
    state.privileged = reqs.length > 0;
    if (reqs[0]) state.scopeLabel = scopeLabel(reqs[0], team, channel);
    for (const req of reqs) {
      const d = await check(req);
      if (!d.allowed) await refuse(req, d);
    }

    // 8. the bot's own rights
    for (const need of sub.botNeeds ?? []) {
      const d = await deps.permissions.check(deps.botUserId, need, where);
      if (!d.allowed) {
        const place = await describePlace(need);
        audit('failed', `bot lacks ${need.permission} (${need.scope})`);
        throw new Stop(
          reply([paragraph(md`Not available: the bot account lacks ${code(need.permission)} (${placeWords(need, place)}). An admin can grant it.`)], { tone: 'warning' }),
          'unavailable',
        );
      }
    }

    // 9. arguments
    const args: unknown = validateArgs(rawArgs, sub.args, usageText(command, sub.usage, inv.source, triggers));

    // 10. execute
    const ctx: CommandContext = {
      args,
      invocation: inv,
      caller,
      ...(target ? { target } : {}),
      ...(team ? { team } : {}),
      ...(channel ? { channel } : {}),
      // the command's calls stop at its deadline without passing { signal } (bound-signal.ts)
      api: bindSignal(deps.api, signal),
      users,
      perms: createCallerPermissions({ perms: deps.permissions, userId: caller.id, where, fresh, describe: describePlace }),
      ...(fresh ? { fresh: true } : {}),
      services: deps.services,
      log: log.child({ command: command.name, subcommand: sub.name }),
      ref,
      signal,
      now,
    };
    // 10b. a second person must approve: the command only previews (no --yes) and the
    // request goes to the approvals channel; the approval re-runs it as the requester
    const interactions = deps.interactions;
    const needsApproval = interactions !== undefined && sub.confirm === true && !inv.confirmed?.approver && interactions.needsApproval(command.name, sub.name);
    if (needsApproval && inv.secret !== undefined) {
      throw new Stop(say(raw('This needs approval by a second person, and a typed value cannot be kept for them to approve. Use the option that generates it instead.'), 'warning'), 'user_error');
    }
    const runCtx = needsApproval && typeof args === 'object' && args !== null ? { ...ctx, args: { ...args, yes: false }, mustConfirm: true } : ctx;
    let out: Reply;
    try {
      out = await sub.execute(runCtx);
    } catch (e) {
      if (!interactions || !sub.confirm || !isUserError(e) || e.code !== 'needs_confirmation') throw e;
      const request = { inv, caller, ...(target ? { target } : {}), ...(e.details.pins ? { pins: e.details.pins } : {}), ...(e.details.subjects ? { subjects: e.details.subjects } : {}), preview: e.message, label: label(command, sub), ref, ...(sub.sensitive ? { sensitive: true } : {}) };
      if (needsApproval) {
        const answer = await interactions.requestApproval(request);
        if (answer.tone === 'ok' || answer.tone === 'info') audit('requested');
        throw new Stop(answer, answer.tone === 'ok' || answer.tone === 'info' ? 'asked' : 'unavailable');
      }
      const buttons = await interactions.confirmButtons(request);
      audit('failed', 'needs_confirmation');
      const typed = e.details.usage ? [{ kind: 'hint' as const, text: md`Or type: ${code(e.details.usage)}` }] : [];
      // a question, not a problem: no warning mark
      // one paragraph per line of the preview (a batch lists its groups line by line, commands/lib/batch.ts)
      const lines = e.message.replace(/ To go ahead, run it again with --yes:$/, '').split('\n').map((l) => paragraph(l));
      throw new Stop({ ...reply([...lines, ...typed], { tone: 'info' }), buttons }, 'asked');
    }
    if (out.files?.length) out = await handOverFiles(out, inv, caller, ref, label(command, sub));
    if (out.followUps) {
      const { followUps, ...rest } = out;
      const made = followUps.length && deps.interactions?.followUpButtons ? await deps.interactions.followUpButtons({ inv, caller, followUps }) : [];
      out = made.length ? { ...rest, buttons: [...(rest.buttons ?? []), ...made] } : rest;
    }
    return sub.sensitive || out.sensitive ? { ...out, sensitive: true, visibility: 'caller' } : out;
  }

  /**
   * A reply's files go to the caller alone, in their DM with the bot, whatever the way in;
   * the answer keeps its text and says where they went (src/render/file-answer.ts).
   */
  async function handOverFiles(out: Reply, inv: Invocation, caller: User, ref: string, what: string): Promise<Reply> {
    const { files = [], ...rest } = out;
    if (!deps.files) {
      return { ...rest, tone: 'warning', blocks: [...rest.blocks, paragraph(raw('The file could not be sent: this bot is set up without file delivery.'))] };
    }
    const where = await deps.files.deliver({ userId: caller.id, files, ref, label: what, ...(inv.postId ? { replyTo: inv.postId } : {}) });
    const inThatDm = inv.source === 'dm' && inv.channelId === where.channelId;
    return { ...rest, blocks: [...rest.blocks, deps.files.pointer(where, inThatDm)] };
  }

  function usageReply(command: CommandDefinition, subs: SubcommandDefinition[], inv: Invocation, tone: ReplyTone): Reply {
    const items: Text[] = subs.map((s) => md`${code(usageText(command, s.usage, inv.source, triggers))} ${s.summary ? md`— ${s.summary}` : ''}`);
    return reply([title(md`${command.name}: ${command.summary}`), list(items), helpHint(command.name, inv)], { tone });
  }

  function helpHint(topic: string | undefined, inv: Invocation): Block {
    const line = usageText({ name: 'help', ownTrigger: false }, topic ? `help ${topic}` : 'help', inv.source, triggers);
    return { kind: 'hint', text: md`More: ${code(line)}` };
  }

  function unknownCommandReply(name: string, inv: Invocation): Reply {
    const shown = name.length > 40 ? `${name.slice(0, 40)}…` : name;
    const close = deps.registry.closest(name);
    const suggestion = close.length > 0 ? md` Did you mean ${joinCodes(close)}?` : raw('');
    const help = code(usageText({ name: 'help', ownTrigger: false }, 'help', inv.source, triggers));
    return reply([paragraph(md`I don't know ${code(shown)}.${suggestion} Type ${help} to see every command.`)], { tone: 'warning' });
  }

  /** Turns a thrown error into an answer; crashes are logged with the ref. */
  function explain(
    err: unknown,
    ref: string,
    log: Logger,
    signal: AbortSignal,
    outer: AbortSignal | undefined,
    command: CommandDefinition | undefined,
    sub: SubcommandDefinition | undefined,
    inForceMs = deadlineMs,
  ): { reply: Reply; outcome: DispatchOutcome } {
    const ctxFields = { command: command?.name, subcommand: sub?.name };
    if (signal.aborted && !isUserError(err)) {
      if (outer?.aborted) {
        log.warn({ ...ctxFields, err: serializeError(err) }, 'invocation aborted');
        return { reply: reply([paragraph(md`Stopped before finishing: the bot is shutting down (ref ${ref}).`)], { tone: 'error' }), outcome: 'unavailable' };
      }
      log.error({ ...ctxFields, err: serializeError(err), deadlineMs: inForceMs }, 'invocation deadline passed');
      const maybe = sub ? md` If it was changing something, check before trying again.` : raw('');
      return {
        reply: reply([paragraph(md`That took too long (over ${Math.round(inForceMs / 1000)} s) and was stopped.${maybe} (ref ${ref})`)], { tone: 'error' }),
        outcome: 'timeout',
      };
    }
    if (isUserError(err)) {
      const outcome: DispatchOutcome = err.code === 'forbidden' ? 'refused' : err.code === 'unavailable' ? 'unavailable' : 'user_error';
      log.info({ ...ctxFields, code: err.code }, 'user error');
      return { reply: userErrorReplyPlain(err), outcome };
    }
    if (isApiError(err)) {
      const base = { ...ctxFields, err: serializeError(err) };
      if (err.isTokenRejected) {
        log.error({ ...base, hint: 'check MM_BOT_TOKEN' }, 'bot token rejected');
        return {
          reply: say(md`The Mattermost server rejected the bot's access token (${code('MM_BOT_TOKEN')}); an admin must fix it. (ref ${ref})`, 'error'),
          outcome: 'unavailable',
        };
      }
      if (err.status === 403 && CHANNEL_MEMBER_READS.has(err.endpoint)) {
        // the bot cannot read the channel (not a member of a private one): not the caller's fault
        log.info(base, 'channel membership unreadable by the bot');
        return { reply: say(raw("I can't see that channel; add me to it or ask in a DM."), 'warning'), outcome: 'unavailable' };
      }
      if (err.status === 403 || err.status === 401) {
        // an ordinary refusal (a 401 only means a bad token with the ids above): say what the server said
        log.warn(base, 'server refused');
        const why = err.serverMessage || 'it did not say why';
        return { reply: say(md`Mattermost refused that: ${why}`, 'refused'), outcome: 'unavailable' };
      }
      if (err.status === 404) {
        log.info(base, 'server: not found');
        return { reply: say(raw("Mattermost couldn't find that (it may have been deleted, or the bot can't see it)."), 'warning'), outcome: 'user_error' };
      }
      if (err.status === 429) {
        log.warn(base, 'rate limited');
        const wait = err.retryAfterSeconds ? md` Try again in ${Math.ceil(err.retryAfterSeconds)} s.` : raw(' Try again shortly.');
        return { reply: say(md`Mattermost is rate-limiting the bot.${wait}`, 'warning'), outcome: 'unavailable' };
      }
      if (err.status === 501) {
        log.info(base, 'feature disabled');
        return { reply: say(raw('That feature is turned off on this Mattermost server.'), 'warning'), outcome: 'unavailable' };
      }
      if (err.status === 400 && err.serverMessage) {
        log.info(base, 'server rejected input');
        return { reply: say(md`Mattermost rejected that: ${err.serverMessage}`, 'warning'), outcome: 'user_error' };
      }
      log.error(base, 'server error');
      return { reply: sorry(ref), outcome: 'crash' };
    }
    if (isNetworkError(err)) {
      log.warn({ ...ctxFields, err: serializeError(err) }, 'network error');
      const unknown = err.outcomeUnknown ? raw(' The change may or may not have been applied; check before retrying.') : raw('');
      return { reply: say(md`I couldn't reach Mattermost.${unknown} (ref ${ref})`, 'error'), outcome: 'unavailable' };
    }
    if (err instanceof ProtocolError) log.error({ ...ctxFields, err: serializeError(err) }, 'unexpected server response');
    else log.error({ ...ctxFields, err: serializeError(err) }, 'command crashed');
    return { reply: sorry(ref), outcome: 'crash' };
  }

  function userErrorReplyPlain(e: UserError): Reply {
    const blocks: Block[] = [paragraph(e.details.text ?? e.message)];
    if (e.details.items?.length) blocks.push(list(e.details.items.slice(0, 20)));
    if (e.details.usage) blocks.push({ kind: 'hint', text: md`Usage: ${code(e.details.usage)}` });
    return reply(blocks, { tone: toneFor[e.code] ?? 'warning' });
  }

  return {
    dispatch,
    stats: () => ({
      served: counters.served,
      byOutcome: { ...counters.byOutcome },
      byCommand: Object.fromEntries(Object.entries(counters.byCommand).map(([k, v]) => [k, { ...v }])),
    }),
  };
}

// ---------------------------------------------------------------------------

/** Reads of a channel's members; a 403 there means the bot cannot read the channel. */
const CHANNEL_MEMBER_READS: ReadonlySet<string> = new Set([
  'GET /api/v4/channels/{channel_id}/members/{user_id}',
  'POST /api/v4/channels/{channel_id}/members/ids',
  'GET /api/v4/channels/{channel_id}/members',
]);

const label = (cmd: CommandDefinition, sub?: SubcommandDefinition): string => (sub?.name ? `${cmd.name} ${sub.name}` : cmd.name);

const scopeLabel = (req: Requirement, team?: Team, channel?: Channel): string =>
  req.scope === 'system' ? 'system' : req.scope === 'team' ? `team:${team?.name ?? '?'}` : `channel:${channel?.name ?? '?'}`;

const say = (text: Text, tone: ReplyTone): Reply => reply([paragraph(text)], { tone });

const refusedReply = (text: Text): Reply => say(text, 'refused');

/**
 * Whether running `sub` for someone depends on who they are: any permission (for self or
 * others), a policy requirement, or a destructive or sensitive action. Only the rest
 * (help, whois, viewing a status) may run for a caller nothing proves.
 */
function needsProvenCaller(sub: SubcommandDefinition, extras: readonly Requirement[]): boolean {
  const other = sub.access.other === undefined ? sub.access.self : sub.access.other;
  return sub.access.self !== null || other !== null || extras.length > 0 || sub.destructive === true || sub.sensitive === true;
}

const sorry = (ref: string): Reply => say(md`Sorry, something went wrong (ref ${ref}).`, 'error');

const joinCodes = (names: string[]): Markdown => {
  const parts = names.map((n) => code(n).value);
  const text = parts.length <= 1 ? (parts[0] ?? '') : `${parts.slice(0, -1).join(', ')} or ${parts[parts.length - 1] ?? ''}`;
  return raw(text);
};

function errorDetail(err: unknown): string {
  if (isUserError(err)) return err.code;
  if (isApiError(err)) return `api ${err.status}${err.serverErrorId ? ` ${err.serverErrorId}` : ''}`;
  if (isNetworkError(err)) return 'network';
  if (err instanceof DeadlineError) return 'deadline';
  return 'crash';
}
