/**
 * Confirm with a button, approve with a second person.
 *
 * A destructive subcommand called without `--yes` previews the change (core/dispatcher.ts,
 * step 10). This service turns that preview into **Confirm** / **Cancel** buttons for the
 * requester alone, or, when the operator's policy names the subcommand (`approvals` in
 * MMOPS_POLICY), into a request with **Approve** / **Deny** buttons in the approvals channel.
 *
 * A click reaches `POST /actions` (src/transports/callback-endpoint.ts) with the button's
 * `context`, which only the server and the bot see (docs/mattermost-notes.md §8.2). The
 * server signs nothing (§8.4), so the context carries a token signed by the bot
 * (action-token.ts): what to run, for whom, until when, and a nonce. A click is honoured
 * only when
 * - the token's signature and shape are right (else: refused, logged, nothing runs);
 * - it has not expired (MMOPS_CONFIRM_TTL, MMOPS_APPROVAL_TTL);
 * - Confirm/Cancel: the clicker (`user_id`, which the server fills from the session) is the
 *   requester; Approve/Deny: the clicker is someone else who holds the approver right now
 *   (fresh read) and is none of the people the change is done to (the target, a list
 *   command's people) — the requester may only withdraw (Deny) their own request;
 * - Run now (an approved request with a secret answer, run later by the requester): the
 *   approver still holds the approver right (fresh read again);
 * - its nonce is claimed for the first time in the state store (a second click, on any
 *   replica, does nothing).
 * Then the command runs again through the dispatcher **as the requester**, with `--yes`,
 * so every permission of the requester and of the target is checked fresh at click time,
 * a name that now means someone else stops it, and so does any value the preview showed
 * or derived that is no longer true (its digest is pinned in the token: `pins`).
 *
 * The outcome replaces the buttons where the server can update the post (stored posts:
 * DMs, the approvals channel); on ephemeral posts it comes as `ephemeral_text`, which every
 * server version supports (§8.5). A sensitive outcome is never written into a stored post.
 */
import { z } from 'zod';
import type { AuditEntry, Invocation, Logger } from '../core/command.js';
import type { ApprovalPolicy, ApproverRule } from '../core/permissions/policy.js';
import type { ConfirmationRequest, DispatchInteractions } from '../core/interactions.js';
import { freshReads, type PermissionService } from '../core/permission-service.js';
import { code, md, paragraph, raw, reply, type FollowUp, type Reply, type ReplyButton, type Text } from '../core/reply.js';
import { createPrivateAnswers } from '../render/private-answer.js';
import type { MattermostApi } from '../mattermost/api.js';
import type { Channel } from '../mattermost/models.js';
import type { StateStore } from '../state/state-store.js';
import { newNonce, UNVERIFIED_SENDER, type ActionTokens } from './action-token.js';


const id26 = z.string().regex(/^[a-z0-9]{26}$/);
const optionalId = z.union([id26, z.literal('')]);

/** What a button's token carries. */
export const actionPayloadSchema = z
  .object({
    v: z.literal(1),
    /**
     * `run`: an approved request whose answer holds a secret, run when the requester clicks (online);
     * `start`: a follow-up an answer offered (Reply.followUps): `text` runs without --yes, so its
     * preview asks for Confirm (or approval) as if the requester had typed it
     */
    kind: z.enum(['confirm', 'cancel', 'approve', 'deny', 'run', 'start']),
    nonce: z.string().min(16).max(64),
    requester: id26,
    requesterName: z.string().max(64),
    /** the command text as dispatched, without --yes */
    text: z.string().min(1).max(4000),
    label: z.string().max(100),
    source: z.enum(['slash', 'dm', 'mention']),
    channelId: id26,
    teamId: optionalId,
    rootId: optionalId,
    /** the post that carried the command (DM/mention), kept on an updated reply */
    replyTo: optionalId,
    targetId: id26.optional(),
    /**
     * the list file attached to the command's post (commands/lib/list-file.ts): the confirmed
     * run reads it again, with the same checks (the caller's, in `replyTo`, in `channelId`)
     */
    fileIds: z.array(id26).min(1).max(5).optional(),
    /**
     * what the preview showed or derived, by what it is: a digest of each value
     * (commands/lib/admin-users.ts `askFirst`); the run is refused if one no longer matches
     */
    pins: z
      .record(z.string().min(1).max(40), z.string().regex(/^[A-Za-z0-9_-]{22}$/))
      .refine((r) => Object.keys(r).length <= 16, 'too many pins')
      .optional(),
    /** a digest of a team add's people, from before `pins` (a token made before an upgrade); not used */
    people: z.string().regex(/^[A-Za-z0-9_-]{43}$/).optional(),
    /** everyone the change is done to (a list command's people): none of them may approve it */
    subjects: z.array(id26).max(256).optional(),
    /** the subcommand's answer holds a secret (sessions, a password) */
    sensitive: z.boolean().optional(),
    /** who approved (kind `run` only) */
    approverId: id26.optional(),
    approverName: z.string().max(64).optional(),
    expiresAt: z.number().int().positive(),
    /** whether the post with the buttons is stored (then it can be updated, §8.5) */
    stored: z.boolean(),
  })
  .strict();
export type ActionPayload = z.infer<typeof actionPayloadSchema>;

/** The request the server sends on a click (docs/mattermost-notes.md §8.4, model PostActionIntegrationRequest). */
export const actionRequestSchema = z.object({
  user_id: id26,
  user_name: z.string().max(64).default(''),
  channel_id: z.string().max(64).default(''),
  team_id: z.string().max(64).default(''),
  post_id: z.string().max(64).default(''),
  trigger_id: z.string().max(1024).default(''),
  type: z.string().max(32).default(''),
  context: z.record(z.string(), z.unknown()).default({}),
});
export type ActionRequest = z.infer<typeof actionRequestSchema>;

/** What the bot answers a click with (§8.5, model PostActionIntegrationResponse). */
export interface ActionResponse {
  update?: { message: string; props: Record<string, unknown> };
  ephemeral_text?: string;
  skip_slack_parsing?: boolean;
}

export interface ConfirmationsDeps {
  tokens: ActionTokens;
  store: Pick<StateStore, 'claim'>;
  /** runs an invocation through the dispatcher (set after the dispatcher exists) */
  dispatch(inv: Invocation): Promise<{ reply: Reply; ref: string; outcome: string }>;
  /** a reply as post text and props (buttons become attachments) */
  renderPost(reply: Reply): { message: string; props?: Record<string, unknown> };
  api: Pick<MattermostApi, 'createPost' | 'createEphemeralPost' | 'createDirectChannel' | 'getChannel' | 'getTeamByName' | 'getChannelByName'>;
  permissions: Pick<PermissionService, 'check' | 'getUser'>;
  audit(entry: AuditEntry): void;
  logger: Logger;
  botUserId: string;
  /** whether the bot may create ephemeral posts (a sensitive outcome for the requester needs one) */
  canEphemeral?(): boolean;
  /** whether a caller-only reply to `inv` becomes a stored post (a DM), so its buttons can be replaced */
  repliesStored(inv: Invocation): boolean;
  approvals?: ApprovalPolicy;
  /** how long Confirm works (default 5 min) */
  confirmTtlMs?: number;
  /** how long an approval request stays open (default 1 h) */
  approvalTtlMs?: number;
  now?: () => number;
}

export interface Confirmations extends DispatchInteractions {
  /** Handles one click (already parsed); never throws. */
  click(req: ActionRequest): Promise<ActionResponse>;
}

/** The reply-to prop every stored answer carries (src/services/catch-up.ts REPLY_TO_PROP). */
const REPLY_TO_PROP = 'mmops_reply_to';

const minutes = (ms: number): string => {
  const m = Math.round(ms / 60_000);
  return m >= 120 && m % 60 === 0 ? `${m / 60} h` : `${Math.max(1, m)} min`;
};

/** Creates the service (see the module comment). */
export function createConfirmations(deps: ConfirmationsDeps): Confirmations {
  const log = deps.logger.child({ component: 'confirmations' });
  const now = deps.now ?? Date.now;
  const confirmTtl = deps.confirmTtlMs ?? 5 * 60_000;
  const approvalTtl = deps.approvalTtlMs ?? 60 * 60_000;
  const answers = createPrivateAnswers({
    api: deps.api,
    botUserId: deps.botUserId,
    canEphemeral: () => deps.canEphemeral?.() ?? false,
    render: (r) => [deps.renderPost(r).message],
    logger: deps.logger,
  });
  let approvalsChannel: Promise<Channel> | undefined;

  const base = (req: ConfirmationRequest, ttl: number, stored: boolean): Omit<ActionPayload, 'kind'> => ({
    v: 1,
    nonce: newNonce(),
    requester: req.caller.id,
    requesterName: req.caller.username,
    text: req.inv.text,
    label: req.label,
    source: req.inv.source,
    channelId: req.inv.channelId,
    teamId: req.inv.teamId,
    rootId: req.inv.rootId,
    replyTo: req.inv.postId ?? '',
    ...(req.target ? { targetId: req.target.id } : {}),
    ...(req.inv.fileIds?.length && req.inv.postId ? { fileIds: req.inv.fileIds.slice(0, 5) } : {}),
    ...(req.pins ? { pins: req.pins } : {}),
    // a list from a file may name thousands: the token keeps the first 256 for the early
    // check at Approve, and the confirmed run checks the approver against every one of them
    // again (commands/lib/admin-users.ts askFirst, `people`)
    ...(req.subjects?.length ? { subjects: req.subjects.slice(0, 256) } : {}),
    ...(req.sensitive ? { sensitive: true } : {}),
    expiresAt: now() + ttl,
    stored,
  });

  const button = (id: string, name: string, style: ReplyButton['style'], payload: ActionPayload): ReplyButton => ({
    id,
    name,
    style,
    context: { token: deps.tokens.sign('action', payload) },
  });

  async function confirmButtons(req: ConfirmationRequest): Promise<ReplyButton[]> {
    const p = base(req, confirmTtl, deps.repliesStored(req.inv));
    return [button('confirm', 'Confirm', 'danger', { ...p, kind: 'confirm' }), button('cancel', 'Cancel', 'default', { ...p, kind: 'cancel' })];
  }

  async function followUpButtons(req: { inv: Invocation; caller: { id: string; username: string }; followUps: FollowUp[] }): Promise<ReplyButton[]> {
    const stored = deps.repliesStored(req.inv);
    return req.followUps
      .filter((f) => f.text.length <= 3_900)
      .map((f, i) =>
        button(`start${i}`, f.name, f.style ?? 'default', {
          v: 1,
          kind: 'start',
          nonce: newNonce(),
          requester: req.caller.id,
          requesterName: req.caller.username,
          text: f.text,
          label: f.text.split(/\s+/).slice(0, 2).join(' ').slice(0, 100),
          source: req.inv.source,
          channelId: req.inv.channelId,
          teamId: req.inv.teamId,
          rootId: req.inv.rootId,
          replyTo: req.inv.postId ?? '',
          // a list is read for a while: the button works as long as an approval request
          expiresAt: now() + approvalTtl,
          stored,
        }),
      );
  }

  /**
   * A follow-up clicked: `p.text` runs as the requester without --yes (rights read at the
   * click, the preview and Confirm of the command itself); the answer with its buttons is
   * posted where the list was: in the DM when it was stored, else as an ephemeral post
   * (or, without that right, in the DM with the bot).
   */
  async function startFollowUp(p: ActionPayload): Promise<ActionResponse> {
    const inv: Invocation = { source: p.source, text: p.text, userId: p.requester, channelId: p.channelId, teamId: p.teamId, rootId: p.rootId, privateReplies: true, receivedAt: now() };
    let result: { reply: Reply; ref: string; outcome: string };
    try {
      result = await deps.dispatch(inv);
    } catch (err) {
      log.error({ err }, 'follow-up failed outside the dispatcher');
      return ephemeral('Sorry, something went wrong while starting that.');
    }
    log.info({ command: p.label, requester: p.requester, outcome: result.outcome, ref: result.ref }, 'follow-up started by click');
    if (!result.reply.buttons?.length || result.reply.sensitive) return ephemeral(rendered(result.reply));
    const post = deps.renderPost(result.reply);
    const body = { message: post.message, ...(post.props ? { props: post.props } : {}) };
    try {
      if (p.stored) await deps.api.createPost({ channel_id: p.channelId, ...body });
      else if (deps.canEphemeral?.()) await deps.api.createEphemeralPost(p.requester, { channel_id: p.channelId, ...body });
      else {
        const dm = await deps.api.createDirectChannel(deps.botUserId, p.requester);
        await deps.api.createPost({ channel_id: dm.id, ...body });
        return ephemeral('The preview, with its Confirm button, is in your direct messages with me.');
      }
    } catch (err) {
      log.error({ err, ref: result.ref }, 'follow-up preview could not be posted');
      return ephemeral(`I couldn't post the preview (ref ${result.ref}); nothing was changed.`);
    }
    return {};
  }

  const needsApproval = (command: string, sub: string): boolean => deps.approvals?.commands.has(sub ? `${command} ${sub}` : command) === true;

  function resolveApprovalsChannel(policy: ApprovalPolicy): Promise<Channel> {
    approvalsChannel ??= (async () => {
      const ref = policy.channel.trim();
      if (/^[a-z0-9]{26}$/.test(ref)) return deps.api.getChannel(ref);
      const [teamName = '', channelName = ''] = ref.split('/');
      const team = await deps.api.getTeamByName(teamName.trim());
      return deps.api.getChannelByName(team.id, channelName.trim().replace(/^~/, ''));
    })();
    approvalsChannel.catch(() => {
      approvalsChannel = undefined; // look again next time
    });
    return approvalsChannel;
  }

  function approverWords(rule: ApproverRule): string {
    return 'role' in rule ? `the ${rule.role} role` : `${rule.permission} (${rule.scope})`;
  }

  async function requestApproval(req: ConfirmationRequest): Promise<Reply> {
    const policy = deps.approvals;
    if (!policy) return reply([paragraph(raw('Approvals are not configured.'))], { tone: 'error' });
    let channel: Channel;
    try {
      channel = await resolveApprovalsChannel(policy);
    } catch (err) {
      log.error({ err, channel: policy.channel }, 'approvals channel not found; request not sent');
      return reply([paragraph(md`This needs approval, but I can't reach the approvals channel (an admin must check MMOPS_POLICY and add me to it). Nothing was done (ref ${req.ref}).`)], { tone: 'error' });
    }
    // the request lives in another channel: it answers no post there
    const p = { ...base(req, approvalTtl, true), replyTo: '' };
    const request = reply(
      [
        // names escaped: the request must not notify anyone by @-mention
        paragraph(md`**Approval needed:** ${`@${req.caller.username}`} asks to run ${code(req.label)}${req.target ? md` on ${`@${req.target.username}`}` : raw('')}.`),
        paragraph(req.preview.replace(/ Nothing has been changed yet\..*$/, '')),
        paragraph(md`Who may approve: anyone with ${approverWords(policy.approvers)} other than the requester and the people it is done to. Expires in ${minutes(approvalTtl)}. (ref ${req.ref})`),
      ],
      { tone: 'info', visibility: 'channel' },
    );
    const withButtons: Reply = {
      ...request,
      buttons: [button('approve', 'Approve', 'primary', { ...p, kind: 'approve' }), button('deny', 'Deny', 'danger', { ...p, kind: 'deny' })],
    };
    try {
      const post = deps.renderPost(withButtons);
      await deps.api.createPost({ channel_id: channel.id, message: post.message, ...(post.props ? { props: post.props } : {}) });
    } catch (err) {
      log.error({ err, ref: req.ref }, 'approval request could not be posted');
      return reply([paragraph(md`This needs approval, but I couldn't post the request to the approvals channel. Nothing was done (ref ${req.ref}).`)], { tone: 'error' });
    }
    log.info({ ref: req.ref, command: req.label, requester: req.caller.id }, 'approval requested');
    return reply(
      [
        paragraph(
          // a private channel's name is not told to someone who may not be in it
          md`Sent for approval to ${channel.type === 'O' ? md`~${channel.name}` : raw('the approvals channel')}: someone with ${approverWords(policy.approvers)} (not you) must approve it within ${minutes(approvalTtl)}. Nothing has been changed yet; I'll send you the result in a direct message.`,
        ),
      ],
      { tone: 'info' },
    );
  }

  // ---------------------------------------------------------------------------
  // clicks

  const ephemeral = (text: string): ActionResponse => ({ ephemeral_text: text, skip_slack_parsing: true });

  /** The buttons' post becomes `message` where it can be updated; else `message` goes to the clicker. */
  function finish(p: ActionPayload, message: string, opts: { sensitive?: boolean; privateNote?: string } = {}): ActionResponse {
    if (!p.stored) return ephemeral(message);
    const props: Record<string, unknown> = p.replyTo ? { [REPLY_TO_PROP]: p.replyTo } : {};
    if (opts.sensitive) {
      return { update: { message: opts.privateNote ?? 'Done; the answer was shown only to you.', props }, ephemeral_text: message, skip_slack_parsing: true };
    }
    return { update: { message, props }, skip_slack_parsing: true };
  }

  function safeAudit(entry: AuditEntry): void {
    try {
      deps.audit(entry);
    } catch (err) {
      log.warn({ err }, 'audit failed');
    }
  }

  const rendered = (r: Reply): string => deps.renderPost({ ...r, buttons: [] }).message;

  async function click(req: ActionRequest): Promise<ActionResponse> {
    const token = req.context['token'];
    const checked = typeof token === 'string' ? deps.tokens.verify('action', token, actionPayloadSchema) : ({ ok: false, problem: 'malformed' } as const);
    if (!checked.ok) {
      log.warn({ problem: checked.problem, userId: req.user_id, postId: req.post_id }, 'click refused: its token is missing, forged or damaged');
      safeAudit({ who: { ...UNVERIFIED_SENDER }, command: 'button click', scope: 'system', outcome: 'refused', ref: '-', detail: `forged or damaged token (${checked.problem})` });
      return ephemeral("That button didn't come from me (or it was damaged), so I did nothing.");
    }
    const p = checked.payload;
    const clog = log.child({ kind: p.kind, command: p.label, requester: p.requester, clicker: req.user_id });
    const auditAs = (outcome: AuditEntry['outcome'], detail: string): void =>
      safeAudit({ who: { id: p.requester, username: p.requesterName }, command: p.label, scope: p.teamId ? 'team' : 'system', outcome, ref: p.nonce.slice(0, 6), detail });

    if (now() > p.expiresAt) {
      clog.info({}, 'click refused: expired');
      auditAs('refused', `${p.kind} clicked after it expired`);
      const what = p.kind === 'approve' || p.kind === 'deny' ? 'This approval request expired' : 'This confirmation expired';
      return finish(p, `${what}; nothing was changed. Run the command again if it is still needed.`);
    }

    if (p.kind === 'confirm' || p.kind === 'cancel' || p.kind === 'run' || p.kind === 'start') {
      if (req.user_id !== p.requester) {
        clog.info({}, 'click refused: not the requester');
        auditAs('refused', `${p.kind} clicked by someone else (${req.user_name || req.user_id})`);
        return ephemeral(`Only @\u200b${p.requesterName} can ${p.kind} this.`);
      }
      // Run now comes up to an hour after the approval: it stands only while the approver
      // still holds the approver right (read fresh, as at the approval)
      if (p.kind === 'run') {
        const refusal = await approverRefusal({ ...p, kind: 'approve' }, p.approverId ?? '');
        if (refusal) {
          const who = p.approverName ?? 'the approver';
          clog.info({ why: refusal.code, approver: p.approverId }, 'run refused: the approval no longer stands');
          auditAs('refused', `run after approval by @${who}: the approver ${refusal.code === 'check_failed' ? 'could not be checked' : 'may no longer approve it'}`);
          return ephemeral(
            refusal.code === 'check_failed'
              ? refusal.text
              : `@\u200b${who} may no longer approve this (they lost the approver right since approving), so nothing was done. Ask again to have it approved.`,
          );
        }
      }
    } else {
      const refusal = await approverRefusal(p, req.user_id);
      if (refusal) {
        clog.info({ why: refusal.code }, 'approval click refused');
        auditAs('refused', `${p.kind} by ${req.user_id}: ${refusal.code}`);
        return ephemeral(refusal.text);
      }
    }

    let first: boolean;
    try {
      first = await deps.store.claim(`action:${p.nonce}`, Math.max(0, p.expiresAt - now()) + 60_000);
    } catch (err) {
      clog.error({ err }, 'click not handled: the state store is unavailable');
      return ephemeral("I can't record this click right now (my state store is unavailable), so I did nothing. Try again in a moment.");
    }
    if (!first) {
      clog.info({}, 'click ignored: already handled');
      auditAs('refused', `${p.kind} clicked again (already handled)`);
      return ephemeral('That was already handled; I did nothing more.');
    }

    switch (p.kind) {
      case 'start':
        return startFollowUp(p);
      case 'cancel':
        clog.info({}, 'cancelled by click');
        auditAs('cancelled', 'by click');
        return finish(p, `Cancelled: nothing was changed (${p.label}).`);
      case 'confirm':
        return runConfirmed(p, { by: 'click' });
      case 'run':
        return runConfirmed(p, { by: 'approval', approver: { id: p.approverId ?? '', username: p.approverName ?? 'an approver' } }, { requesterClicked: true });
      case 'deny': {
        const who = await usernameOf(req.user_id, req.user_name);
        const withdrawn = req.user_id === p.requester;
        clog.info({ withdrawn }, 'approval request denied');
        auditAs('refused', withdrawn ? 'request withdrawn' : `denied by @${who}`);
        await tellRequester(p, withdrawn ? md`You withdrew your request to run ${code(p.label)}; nothing was changed.` : md`${`@${who}`} denied your request to run ${code(p.label)}; nothing was changed.`);
        return finish(p, withdrawn ? `Withdrawn by the requester: ${p.label} was not run.` : `Denied by @\u200b${who}: ${p.label} was not run.`);
      }
      case 'approve': {
        const who = await usernameOf(req.user_id, req.user_name);
        // a secret answer can only be shown to someone online: the requester runs it with a click
        if (p.sensitive) return handOver(p, { id: req.user_id, username: who });
        return runConfirmed(p, { by: 'approval', approver: { id: req.user_id, username: who } });
      }
    }
  }

  async function usernameOf(userId: string, given: string): Promise<string> {
    try {
      return (await deps.permissions.getUser(userId)).username;
    } catch {
      return given || userId;
    }
  }

  /** Why `clickerId` may not approve or deny (undefined: they may). */
  async function approverRefusal(p: ActionPayload, clickerId: string): Promise<{ code: string; text: string } | undefined> {
    const policy = deps.approvals;
    if (!policy) return { code: 'not_configured', text: 'Approvals are not configured any more; nothing was done.' };
    if (clickerId === p.requester) {
      if (p.kind === 'deny') return undefined; // withdrawing one's own request is fine
      return { code: 'own_request', text: "You can't approve your own request: someone else must." };
    }
    // the second person is nobody the change is done to: a target approving (or blocking) a
    // change to their own account is one person deciding, not two
    if (clickerId === p.targetId || p.subjects?.includes(clickerId)) {
      return {
        code: 'target',
        text: `You can't ${p.kind} this: it is done to you. Someone else with the approver right must decide; the request stays open for them.`,
      };
    }
    try {
      const fresh = freshReads();
      const user = await deps.permissions.getUser(clickerId, { fresh });
      if (user.delete_at > 0 || user.is_bot) return { code: 'not_approver', text: 'Only an approver can do that.' };
      const rule = policy.approvers;
      let ok: boolean;
      if ('role' in rule) ok = user.roles.split(/\s+/).includes(rule.role);
      else {
        const channel = await resolveApprovalsChannel(policy);
        const d = await deps.permissions.check(clickerId, { permission: rule.permission, scope: rule.scope }, { channelId: channel.id, ...(channel.team_id ? { teamId: channel.team_id } : {}) }, { fresh });
        ok = d.allowed;
      }
      return ok ? undefined : { code: 'not_approver', text: `Only someone with ${approverWords(rule)} can ${p.kind} this; nothing was done.` };
    } catch (err) {
      log.warn({ err }, 'approver check failed');
      return { code: 'check_failed', text: "I couldn't check whether you may approve this, so I did nothing. Try again in a moment." };
    }
  }

  /**
   * An approved request whose answer holds a secret (a generated password, sessions): an
   * ephemeral post reaches only clients online at that moment, and an approval may come an
   * hour later, so running it now could change a password nobody ever sees. The requester
   * gets a stored DM with a **Run now** button instead; their click runs it (rights read
   * fresh again) and the answer comes back in the click's response, to them alone.
   */
  async function handOver(p: ActionPayload, approver: { id: string; username: string }): Promise<ActionResponse> {
    const run: ActionPayload = { ...p, kind: 'run', nonce: newNonce(), expiresAt: now() + approvalTtl, stored: true, approverId: approver.id, approverName: approver.username, replyTo: '' };
    const note = reply(
      [paragraph(md`${`@${approver.username}`} approved your request to run ${code(p.label)}. Its answer holds a secret, so it runs when you click **Run now** (within ${minutes(approvalTtl)}); the answer is shown only to you.`)],
      { tone: 'info' },
    );
    try {
      const dm = await deps.api.createDirectChannel(deps.botUserId, p.requester);
      const post = deps.renderPost({ ...note, buttons: [button('run', 'Run now', 'primary', run)] });
      await deps.api.createPost({ channel_id: dm.id, message: post.message, ...(post.props ? { props: post.props } : {}) });
    } catch (err) {
      log.error({ err, requester: p.requester }, 'approved request could not be handed to the requester');
      return finish(p, `Approved by @\u200b${approver.username}, but I could not reach the requester to run it; nothing was changed (ask them to request it again).`);
    }
    log.info({ command: p.label, requester: p.requester, approver: approver.id }, 'approved; the requester runs it');
    return finish(p, `Approved by @\u200b${approver.username}: the requester runs ${p.label} from their direct message with me (its answer is private).`);
  }

  async function runConfirmed(p: ActionPayload, confirmed: NonNullable<Invocation['confirmed']>, opts: { requesterClicked?: boolean } = {}): Promise<ActionResponse> {
    const inv: Invocation = {
      source: p.source,
      text: `${p.text} --yes`,
      userId: p.requester,
      channelId: p.channelId,
      teamId: p.teamId,
      rootId: p.rootId,
      ...(p.fileIds && p.replyTo ? { fileIds: p.fileIds, postId: p.replyTo } : {}),
      // a click's answer goes back to the clicker in the action response (private on every
      // server, §8.5); an approval's reaches the requester later, privately only as an
      // ephemeral post: without that right a sensitive command must not run (nobody would see
      // e.g. the new password it set)
      privateReplies: confirmed.by === 'click' || opts.requesterClicked === true || (deps.canEphemeral?.() ?? false),
      confirmed: { ...confirmed, ...(p.targetId ? { targetId: p.targetId } : {}), ...(p.pins ? { pins: p.pins } : {}) },
      receivedAt: now(),
    };
    let result: { reply: Reply; ref: string; outcome: string };
    try {
      result = await deps.dispatch(inv);
    } catch (err) {
      log.error({ err }, 'confirmed command failed outside the dispatcher');
      return ephemeral('Sorry, something went wrong while running that.');
    }
    const done = result.outcome === 'ok';
    if (confirmed.by === 'click' || opts.requesterClicked) return finish(p, rendered(result.reply), { sensitive: result.reply.sensitive === true });
    // approval: the channel sees who approved and whether it ran; the requester gets the answer
    const who = confirmed.approver?.username ?? 'an approver';
    const status = done ? 'carried out' : result.outcome === 'refused' ? 'not carried out: the requester may no longer do this' : 'not carried out';
    await tellRequester(p, md`${`@${who}`} approved your request to run ${code(p.label)}.`, result.reply, result.ref);
    return finish(p, `Approved by @\u200b${who}: ${p.label} was ${status}. The requester has the details (ref ${result.ref}).`);
  }

  /** Tells the requester in their DM with the bot (a sensitive answer only ephemerally, src/render/private-answer.ts). */
  async function tellRequester(p: ActionPayload, header: Text, outcome?: Reply, ref = p.nonce.slice(0, 6)): Promise<void> {
    const message: Reply = outcome ? { ...outcome, buttons: [], blocks: [paragraph(header), ...outcome.blocks] } : reply([paragraph(header)], { tone: 'info' });
    await answers.send({ userId: p.requester }, message, ref, { preferDm: true });
  }

  return { confirmButtons, needsApproval, requestApproval, followUpButtons, click };
}
