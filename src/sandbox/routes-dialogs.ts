/**
 * Interactive dialogs (docs/mattermost-notes.md §8.7): POST /actions/dialogs/open, whose only
 * credential is a signed trigger id, and POST /actions/dialogs/submit, which the server
 * forwards to the dialog's URL. Server source: `server/channels/api4/integration_action.go`
 * openDialog / submitDialog, `server/channels/app/integration_action.go`
 * OpenInteractiveDialog / SubmitInteractiveDialog, `server/public/model/integration_action.go`
 * DecodeAndVerifyTriggerId, Dialog.IsValid, SubmitDialogResponse.IsValid.
 */
import { createPublicKey, verify as cryptoVerify } from 'node:crypto';
import { z } from 'zod';
import { AppError, appError, caller, forbidden, invalidBodyParam, notFound, ok, statusOk, type Router } from './http.js';
import type { SandboxCore } from './core.js';
import { callIntegration, canReadChannel } from './routes-actions.js';

/** A dialog the sandbox delivered (`open_dialog`), for tests and the console. */
export interface OpenedDialog {
  /** the user the trigger id was signed for; the event went to their sockets */
  userId: string;
  /** the 26-char id inside the trigger id (what `open_dialog` carries as `trigger_id`) */
  clientTriggerId: string;
  url: string;
  /** the dialog as clients receive it (Go's field set and defaults) */
  dialog: Dialog;
  /** Dialog.IsValid complaints: the server only logs them and still opens the dialog */
  warnings: string[];
  /** where the trigger was issued (slash command or click), what a client would submit from */
  channelId: string;
  teamId: string;
  at: number;
}

const optionSchema = z.object({ text: z.string().catch(''), value: z.string().catch('') });

/** model.DialogElement with Go's zero values for absent fields. */
const elementSchema = z.object({
  display_name: z.string().default(''),
  name: z.string().default(''),
  type: z.string().default(''),
  subtype: z.string().default(''),
  default: z.string().default(''),
  placeholder: z.string().default(''),
  help_text: z.string().default(''),
  optional: z.boolean().default(false),
  min_length: z.number().int().default(0),
  max_length: z.number().int().default(0),
  data_source: z.string().default(''),
  data_source_url: z.string().optional(),
  options: z.array(optionSchema).nullable().default(null),
  multiselect: z.boolean().default(false),
});

/** model.Dialog with Go's zero values for absent fields. */
const dialogSchema = z.object({
  callback_id: z.string().default(''),
  title: z.string().default(''),
  introduction_text: z.string().default(''),
  icon_url: z.string().default(''),
  elements: z.array(elementSchema).nullable().default(null),
  submit_label: z.string().default(''),
  notify_on_cancel: z.boolean().default(false),
  state: z.string().default(''),
});
export type Dialog = z.infer<typeof dialogSchema>;
export type DialogElement = z.infer<typeof elementSchema>;

const openSchema = z.object({ trigger_id: z.string().default(''), url: z.string().default(''), dialog: dialogSchema.default(dialogSchema.parse({})) });

const submitSchema = z.object({
  type: z.string().default(''),
  url: z.string().default(''),
  callback_id: z.string().default(''),
  state: z.string().default(''),
  user_id: z.string().default(''),
  channel_id: z.string().default(''),
  team_id: z.string().default(''),
  submission: z.record(z.string(), z.unknown()).nullable().default(null),
  cancelled: z.boolean().default(false),
});

/** model.SubmitDialogRequest as the integration receives it (no `url`), in the server's field order. */
export interface SubmitDialogBody {
  type: string;
  callback_id: string;
  state: string;
  user_id: string;
  channel_id: string;
  team_id: string;
  submission: Record<string, unknown> | null;
  cancelled: boolean;
}

/** model.SubmitDialogResponse as the client receives it (Go `omitempty`). */
export interface SubmitDialogAnswer {
  error?: string;
  errors?: Record<string, string>;
  type?: string;
  form?: unknown;
}

/** model.SubmitDialogResponse. */
const submitResponseSchema = z.object({
  error: z.string().optional(),
  errors: z.record(z.string(), z.string()).nullish(),
  type: z.string().optional(),
  form: z.unknown().optional(),
});

const bytes = (s: string): number => Buffer.byteLength(s, 'utf8');
const isHttpUrl = (s: string): boolean => /^https?:\/\/[^\s/]+/i.test(s);

/** Dialog.IsValid / DialogElement.IsValid, as a list of complaints (lengths in bytes). */
export function dialogWarnings(d: Dialog): string[] {
  const out: string[] = [];
  if (d.title === '' || bytes(d.title) > 24) out.push(`invalid dialog title "${d.title}"`);
  if (d.icon_url && !isHttpUrl(d.icon_url)) out.push('invalid icon url');
  const names = new Set<string>();
  for (const e of d.elements ?? []) {
    if (names.has(e.name)) out.push(`duplicate dialog element "${e.name}"`);
    names.add(e.name);
    const bad = (msg: string): void => {
      out.push(`"${e.name}" field is not valid: ${msg}`);
    };
    const max = (field: string, v: string, n: number): void => {
      if (bytes(v) > n) bad(`${field} cannot be longer than ${n} characters, got ${bytes(v)}`);
    };
    if (e.min_length < 0) bad(`min length cannot be a negative number, got ${e.min_length}`);
    if (e.min_length > e.max_length) bad(`min length should be less then max length, got ${e.min_length} > ${e.max_length}`);
    if (e.display_name === '') bad('DisplayName cannot be empty');
    if (e.name === '') bad('Name cannot be empty');
    max('DisplayName', e.display_name, 24);
    max('Name', e.name, 300);
    max('HelpText', e.help_text, 150);
    if (e.multiselect && e.type !== 'select') bad(`multiselect can only be used with select elements, got type "${e.type}"`);
    const inOptions = (v: string): boolean => v === '' || (e.options ?? []).some((o) => o.value === v);
    switch (e.type) {
      case 'text':
      case 'textarea': {
        const limit = e.type === 'text' ? 150 : 3000;
        max('Default', e.default, limit);
        max('Placeholder', e.placeholder, limit);
        if (!['', 'text', 'email', 'number', 'tel', 'url', 'password'].includes(e.subtype)) bad(`invalid subtype "${e.type}"`);
        break;
      }
      case 'select':
        max('Default', e.default, 3000);
        max('Placeholder', e.placeholder, 3000);
        if (!['', 'users', 'channels', 'dynamic'].includes(e.data_source)) bad(`invalid data source "${e.data_source}"`);
        if (e.data_source === 'dynamic' && !e.data_source_url) bad('dynamic data_source requires data_source_url');
        if (e.data_source === '' && !e.multiselect && !inOptions(e.default)) bad(`default value "${e.default}" doesn't exist in options`);
        break;
      case 'bool':
        if (!['', 'true', 'false'].includes(e.default)) bad('invalid default of bool');
        max('Placeholder', e.placeholder, 150);
        break;
      case 'radio':
        if (!inOptions(e.default)) bad(`default value "${e.default}" doesn't exist in options`);
        break;
      case 'date':
      case 'datetime':
        max('Default', e.default, 150);
        max('Placeholder', e.placeholder, 150);
        break;
      default:
        bad(`invalid element type: "${e.type}"`);
    }
  }
  return out;
}

const B64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const triggerError = (id: string): AppError => new AppError(400, `interactive_message.decode_trigger_id.${id}`, 'Unable to verify the trigger id.');

/**
 * DecodeAndVerifyTriggerId, in the server's order: base64, four `:` parts, age (before the
 * signature, so a stale forgery reads "expired"), signature base64, DER, ECDSA verify.
 */
export function verifyTriggerId(publicKeyB64: string, triggerId: string, maxAgeMs: number, now = Date.now()): { clientTriggerId: string; userId: string } {
  if (!B64.test(triggerId)) throw triggerError('base64_decode_failed');
  const parts = Buffer.from(triggerId, 'base64').toString('utf8').split(':');
  if (parts.length !== 4) throw triggerError('missing_data');
  const [clientTriggerId = '', userId = '', at = '', sig = ''] = parts;
  const issued = /^-?\d+$/.test(at) ? Number(at) : 0;
  if (now - issued > maxAgeMs) throw triggerError('expired');
  if (!B64.test(sig)) throw triggerError('base64_decode_failed_signature');
  const key = createPublicKey({ key: Buffer.from(publicKeyB64, 'base64'), format: 'der', type: 'spki' });
  let valid: boolean;
  try {
    valid = cryptoVerify('sha256', Buffer.from(`${clientTriggerId}:${userId}:${at}:`, 'utf8'), { key, dsaEncoding: 'der' }, Buffer.from(sig, 'base64'));
  } catch {
    throw triggerError('signature_decode_failed');
  }
  if (!valid) throw triggerError('verify_signature_failed');
  return { clientTriggerId, userId };
}

export function registerDialogRoutes(r: Router, core: SandboxCore): void {
  const store = core.store;

  // APIHandler: no session needed, the trigger id is the credential
  r.add(
    'POST',
    '/actions/dialogs/open',
    (ctx) => {
      if (!ctx.bodyIsJson) throw invalidBodyParam('dialog');
      const parsed = openSchema.safeParse(ctx.body);
      if (!parsed.success) throw invalidBodyParam('dialog');
      const req = parsed.data;
      if (!req.url) throw invalidBodyParam('url');
      const { clientTriggerId, userId } = verifyTriggerId(core.signer.publicKey, req.trigger_id, store.config.outgoingIntegrationTimeoutSec * 1000);
      const warnings = dialogWarnings(req.dialog);
      const where = core.triggerContexts.get(clientTriggerId);
      core.dialogs.push({ userId, clientTriggerId, url: req.url, dialog: req.dialog, warnings, channelId: where?.channelId ?? '', teamId: where?.teamId ?? '', at: Date.now() });
      core.hub.emit('open_dialog', { dialog: JSON.stringify({ trigger_id: clientTriggerId, url: req.url, dialog: req.dialog }) }, { user_id: userId });
      return statusOk();
    },
    { auth: false },
  );

  r.add('POST', '/actions/dialogs/submit', async (ctx) => {
    const me = caller(ctx);
    if (!ctx.bodyIsJson) throw invalidBodyParam('dialog');
    const parsed = submitSchema.safeParse(ctx.body);
    if (!parsed.success) throw invalidBodyParam('dialog');
    const submit = parsed.data;
    if (!submit.url) throw invalidBodyParam('url');
    const channel = store.channels.get(submit.channel_id);
    if (!channel) throw notFound('app.channel.get.existing.app_error');
    if (!canReadChannel(core, me, channel)) throw forbidden(me.id, 'read_channel_content');
    // SessionHasPermissionToTeam is false for an empty team id, even for admins
    if (!submit.team_id || !store.hasTeamPermission(me, submit.team_id, 'view_team')) throw forbidden(me.id, 'view_team');
    const body: SubmitDialogBody = {
      type: submit.type === 'refresh' ? 'refresh' : 'dialog_submission',
      callback_id: submit.callback_id,
      state: submit.state,
      user_id: me.id, // never the client's
      channel_id: submit.channel_id,
      team_id: submit.team_id,
      submission: submit.submission,
      cancelled: submit.cancelled,
    };
    const text = await callIntegration(core, 'dialog_submit', submit.url, body);
    if (text.length === 0) return ok({});
    let response: z.infer<typeof submitResponseSchema>;
    try {
      const r2 = submitResponseSchema.safeParse(JSON.parse(text));
      if (!r2.success) throw new Error('shape');
      response = r2.data;
    } catch {
      throw appError(500, 'app.submit_interactive_dialog.decode_json_error');
    }
    // SubmitDialogResponse.IsValid (current servers)
    const hasErrors = Boolean(response.error) || Object.keys(response.errors ?? {}).length > 0;
    const type = response.type ?? '';
    if (!hasErrors) {
      if (['', 'ok', 'navigate'].includes(type) && response.form != null) throw new AppError(400, 'app.submit_interactive_dialog.invalid_response', 'Invalid dialog response.', `form field must be nil for type "${type}"`);
      if (type === 'form' && response.form == null) throw new AppError(400, 'app.submit_interactive_dialog.invalid_response', 'Invalid dialog response.', 'form field is required for form type');
      if (!['', 'ok', 'navigate', 'form'].includes(type)) throw new AppError(400, 'app.submit_interactive_dialog.invalid_response', 'Invalid dialog response.', `invalid type "${type}"`);
    }
    const out: SubmitDialogAnswer = {};
    if (response.error) out.error = response.error;
    if (response.errors && Object.keys(response.errors).length > 0) out.errors = response.errors;
    if (type) out.type = type;
    if (response.form != null) out.form = response.form;
    return ok(out);
  });
}
