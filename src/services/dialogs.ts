/**
 * Interactive dialogs (docs/mattermost-notes.md §8.7): a command that misses a value it
 * should not get through chat (email addresses in bulk, a password) answers with a dialog;
 * the transport that holds a `trigger_id` calls {@link Dialogs.open}; the submission comes
 * back to `POST /dialogs` (transports/callback-endpoint.ts) and {@link Dialogs.submit}
 * turns it into the command, run through the dispatcher as the submitter.
 *
 * The client sees and returns the whole dialog, `state` and `callback_id` included (§8.7),
 * so the state is signed by the bot (tamper-proof) and holds nothing secret: who asked,
 * where, until when, and the form's own non-secret state. The server replaces `user_id`
 * with the session's user, so a submission by anyone but the requester is refused.
 * A password travels only in the submission, reaches the command as `invocation.secret`,
 * and is never logged.
 */
import { z } from 'zod';
import type { AuditEntry, Invocation, Logger } from '../core/command.js';
import type { DialogForm, DialogRequest, Reply } from '../core/reply.js';
import type { MattermostApi } from '../mattermost/api.js';
import type { ClientConfig } from '../mattermost/models.js';
import type { StateStore } from '../state/state-store.js';
import { newNonce, UNVERIFIED_SENDER, type ActionTokens } from './action-token.js';
import { createPrivateAnswers } from '../render/private-answer.js';

const id26 = z.string().regex(/^[a-z0-9]{26}$/);
const optionalId = z.union([id26, z.literal('')]);

/** What the signed dialog state carries. */
export const dialogStateSchema = z
  .object({
    v: z.literal(1),
    callbackId: z.string().max(64),
    nonce: z.string().min(16).max(64),
    requester: id26,
    source: z.enum(['slash', 'dm', 'mention']),
    channelId: id26,
    teamId: optionalId,
    rootId: optionalId,
    expiresAt: z.number().int().positive(),
    form: z.record(z.string(), z.string().max(300)),
  })
  .strict();

/** What the server sends on submit (model SubmitDialogRequest). */
export const dialogSubmissionSchema = z.object({
  type: z.string().max(64).default('dialog_submission'),
  callback_id: z.string().max(256).default(''),
  state: z.string().max(16_384).default(''),
  user_id: id26,
  channel_id: z.string().max(64).default(''),
  team_id: z.string().max(64).default(''),
  submission: z.record(z.string(), z.unknown()).nullish(),
  cancelled: z.boolean().default(false),
});
export type DialogSubmission = z.infer<typeof dialogSubmissionSchema>;

/** The answer to a submission: per-field errors, one error, or nothing (the dialog closes). */
export type DialogAnswer = { errors?: Record<string, string>; error?: string };

export interface DialogsDeps {
  tokens: ActionTokens;
  /** where a submitted form's nonce is claimed, so its state cannot be submitted twice (replicas share it) */
  store: Pick<StateStore, 'claim'>;
  forms: ReadonlyMap<string, DialogForm>;
  api: Pick<MattermostApi, 'openDialog' | 'getClientConfig' | 'createEphemeralPost' | 'createPost' | 'createDirectChannel'>;
  dispatch(inv: Invocation): Promise<{ reply: Reply; ref: string; outcome: string }>;
  /** reply → post texts */
  render(reply: Reply): string[];
  /** `${MMOPS_PUBLIC_URL}/dialogs` */
  dialogsUrl: string;
  /** whether the bot may create ephemeral posts (then answers go only to the submitter) */
  canEphemeral(): boolean;
  botUserId: string;
  logger: Logger;
  /** an audit line for a refused submission (forged, someone else's) */
  audit?(entry: AuditEntry): void;
  /** how long a dialog may stay open (default 15 min) */
  ttlMs?: number;
  now?: () => number;
}

export interface Dialogs {
  /** Opens `dialog` for the invocation's caller; false when the server refused (the caller gets the text instead). */
  open(triggerId: string, dialog: DialogRequest, inv: Invocation): Promise<boolean>;
  /** Handles a submission (already parsed); never throws. */
  submit(req: DialogSubmission): Promise<DialogAnswer>;
}

/** Creates the service (see the module comment). */
export function createDialogs(deps: DialogsDeps): Dialogs {
  const log = deps.logger.child({ component: 'dialogs' });
  const now = deps.now ?? Date.now;
  const ttl = deps.ttlMs ?? 15 * 60_000;
  const answers = createPrivateAnswers({ api: deps.api, botUserId: deps.botUserId, canEphemeral: deps.canEphemeral, render: deps.render, logger: deps.logger });

  async function open(triggerId: string, dialog: DialogRequest, inv: Invocation): Promise<boolean> {
    const state = deps.tokens.sign('dialog', {
      v: 1,
      callbackId: dialog.callbackId,
      nonce: newNonce(),
      requester: inv.userId,
      source: inv.source,
      channelId: inv.channelId,
      teamId: inv.teamId,
      rootId: inv.rootId,
      expiresAt: now() + ttl,
      form: dialog.state,
    });
    const elements = dialog.fields.map((f) => ({
      display_name: f.label,
      name: f.name,
      type: f.type,
      ...(f.subtype ? { subtype: f.subtype } : {}),
      optional: f.optional === true,
      ...(f.help ? { help_text: f.help } : {}),
      ...(f.placeholder ? { placeholder: f.placeholder } : {}),
    }));
    try {
      await deps.api.openDialog({
        trigger_id: triggerId,
        url: deps.dialogsUrl,
        dialog: {
          callback_id: dialog.callbackId,
          title: dialog.title,
          ...(dialog.intro ? { introduction_text: dialog.intro } : {}),
          submit_label: dialog.submitLabel,
          notify_on_cancel: false,
          state,
          elements,
        },
      });
      log.info({ callbackId: dialog.callbackId, userId: inv.userId }, 'dialog opened');
      return true;
    } catch (err) {
      // e.g. the trigger expired (30 s on current servers, 3 s on old ones)
      log.warn({ err, callbackId: dialog.callbackId }, 'dialog could not be opened; answering with text');
      return false;
    }
  }

  async function submit(req: DialogSubmission): Promise<DialogAnswer> {
    if (req.cancelled) return {};
    // newer servers also send `refresh` requests for dynamic forms; the bot's forms are static
    if (req.type !== 'dialog_submission') {
      log.warn({ type: req.type.slice(0, 32), userId: req.user_id }, 'dialog request ignored: not a submission');
      return { error: 'This form only accepts a submission.' };
    }
    const checked = deps.tokens.verify('dialog', req.state, dialogStateSchema);
    if (!checked.ok) {
      log.warn({ problem: checked.problem, userId: req.user_id }, 'dialog submission refused: its state is missing, forged or damaged');
      refusedAudit(req, `forged or damaged form state (${checked.problem})`);
      return { error: "This form didn't come from me (or it was damaged), so I did nothing." };
    }
    const st = checked.payload;
    const form = deps.forms.get(st.callbackId);
    if (req.user_id !== st.requester || !form || req.callback_id !== st.callbackId) {
      log.warn({ userId: req.user_id, callbackId: st.callbackId }, 'dialog submission refused: not the person it was opened for');
      refusedAudit(req, `form ${st.callbackId} opened for someone else`);
      return { error: 'This form was opened for someone else, so I did nothing.' };
    }
    if (now() > st.expiresAt) return { error: 'This form expired; run the command again.' };
    let cfg: ClientConfig | undefined;
    const outcome = await form
      .submit(req.submission ?? {}, st.form, {
        clientConfig: async () => (cfg ??= await deps.api.getClientConfig()),
      })
      .catch((err: unknown) => {
        log.error({ err, callbackId: st.callbackId }, 'dialog form failed');
        return { errors: {}, failed: true } as const;
      });
    if ('failed' in outcome) return { error: "Sorry, I couldn't check that form; try again in a moment." };
    if ('errors' in outcome) {
      log.info({ callbackId: st.callbackId, fields: Object.keys(outcome.errors) }, 'dialog submission refused: invalid values');
      return { errors: outcome.errors };
    }
    // The client holds the signed state (§8.7) and /dialogs is unauthenticated: a state runs
    // once. Claimed only now, so a form refused for its values can still be corrected.
    let first: boolean;
    try {
      first = await deps.store.claim(`dialog:${st.nonce}`, Math.max(0, st.expiresAt - now()) + 60_000);
    } catch (err) {
      log.error({ err, callbackId: st.callbackId }, 'dialog submission not handled: the state store is unavailable');
      return { error: "I can't record this form right now (my state store is unavailable), so I did nothing. Try again in a moment." };
    }
    if (!first) {
      log.warn({ userId: req.user_id, callbackId: st.callbackId }, 'dialog submission refused: this form was already submitted');
      return { error: 'This form was already submitted; run the command again to do it again.' };
    }
    const inv: Invocation = {
      source: st.source,
      text: outcome.text,
      userId: st.requester,
      channelId: st.channelId,
      teamId: st.teamId,
      rootId: st.rootId,
      privateReplies: deps.canEphemeral(),
      confirmed: { by: 'dialog', ...(outcome.targetId !== undefined ? { targetId: outcome.targetId } : {}) },
      ...(outcome.secret !== undefined ? { secret: outcome.secret } : {}),
      receivedAt: now(),
    };
    const result = await deps.dispatch(inv);
    // the answer goes to the submitter alone, where the form was opened (src/render/private-answer.ts)
    await answers.send({ userId: st.requester, channelId: st.channelId, rootId: st.rootId }, result.reply, result.ref);
    return {};
  }

  function refusedAudit(req: DialogSubmission, detail: string): void {
    try {
      // a direct POST to /dialogs can claim any user_id (§8.7): never audited as that user
      deps.audit?.({ who: { ...UNVERIFIED_SENDER }, command: 'form submission', scope: 'system', outcome: 'refused', ref: '-', detail });
    } catch (err) {
      log.warn({ err }, 'audit failed');
    }
  }

  return { open, submit };
}
