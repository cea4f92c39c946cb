/**
 * The dialogs commands open when a value is missing (docs/mattermost-notes.md §8.7): each
 * form says how it looks and how a submission becomes the command to run, or per-field
 * errors. The dialog service (src/services/dialogs.ts) signs the state and checks who
 * submits; these functions only read values.
 *
 * Nothing secret goes into a form's `state` (the client sees and returns it, §8.7); a
 * password travels only in the submission and reaches the command as `invocation.secret`.
 */
import type { DialogForm, DialogRequest, FormOutcome } from '../../src/core/reply.js';
import type { ClientConfig } from '../../src/mattermost/models.js';

const EMAIL = /^[^\s@<>()[\]\\,;:"]+@[^\s@<>()[\]\\,;:"]+\.[^\s@<>()[\]\\,;:"]{2,}$/;
/** Most addresses one form invites (the same cap as the typed command). */
export const FORM_MAX_INVITES = 50;

// ---------------------------------------------------------------------------
// team invite

/** The form `team invite <team>` opens when no address is given. */
export function inviteForm(team: { id: string; display_name: string; name: string }): DialogRequest {
  return {
    callbackId: 'team-invite',
    title: 'Invite by email',
    intro: `Invitations to ${team.display_name || team.name}. One address per line.`,
    submitLabel: 'Invite',
    fields: [{ name: 'emails', label: 'Email addresses', type: 'textarea', help: `One per line, at most ${FORM_MAX_INVITES}.`, placeholder: 'ann@example.com' }],
    state: { team: team.name },
  };
}

const teamInvite: DialogForm = {
  callbackId: 'team-invite',
  async submit(values, state): Promise<FormOutcome> {
    const text = typeof values['emails'] === 'string' ? values['emails'] : '';
    const lines = text.split(/\r?\n/).map((l) => l.trim());
    const errors: string[] = [];
    const seen = new Set<string>();
    const emails: string[] = [];
    lines.forEach((line, i) => {
      for (const part of line.split(/[,;\s]+/).map((p) => p.replace(/^<|>$/g, '')).filter(Boolean)) {
        if (part.length > 254 || !EMAIL.test(part)) errors.push(`line ${i + 1}: "${part.slice(0, 60)}" is not an email address`);
        else if (!seen.has(part.toLowerCase())) {
          seen.add(part.toLowerCase());
          emails.push(part);
        }
      }
    });
    if (errors.length) return { errors: { emails: `${errors.slice(0, 3).join('; ')}${errors.length > 3 ? ` (and ${errors.length - 3} more)` : ''}` } };
    if (emails.length === 0) return { errors: { emails: 'Give at least one email address.' } };
    if (emails.length > FORM_MAX_INVITES) return { errors: { emails: `That is ${emails.length} addresses; at most ${FORM_MAX_INVITES} at a time.` } };
    if (!/^[a-z0-9][a-z0-9_-]*$/i.test(state['team'] ?? '')) return { errors: { emails: 'This form lost its team; run the command again.' } };
    return { text: `team invite ${state['team']} ${emails.join(' ')}` };
  },
};

// ---------------------------------------------------------------------------
// user password

/** The form `user password @x` opens without --generate. */
export function passwordForm(user: { id: string; username: string }): DialogRequest {
  return {
    callbackId: 'user-password',
    title: 'Set a new password',
    intro: `A new password for @${user.username}. It is sent to Mattermost once and not kept by the bot.`,
    submitLabel: 'Set password',
    fields: [
      { name: 'password', label: 'New password', type: 'text', subtype: 'password' },
      { name: 'confirm', label: 'Repeat it', type: 'text', subtype: 'password' },
    ],
    // the id too: a name can pass to someone else while the form is open
    state: { target: `@${user.username}`, targetId: user.id },
  };
}

/** The server's password rules as the client config tells them (server/config/client.go; length 5–72 by default). */
export function passwordProblems(pw: string, cfg: ClientConfig): string[] {
  const n = (k: string): number => {
    const v = Number(cfg[k]);
    return Number.isFinite(v) && v > 0 ? v : 0;
  };
  const on = (k: string): boolean => cfg[k] === 'true' || cfg[k] === true;
  const min = Math.max(n('PasswordMinimumLength'), 5);
  const out: string[] = [];
  if (pw.length < min) out.push(`at least ${min} characters`);
  if (pw.length > 72) out.push('at most 72 characters');
  if (on('PasswordRequireLowercase') && !/[a-z]/.test(pw)) out.push('a lower-case letter');
  if (on('PasswordRequireUppercase') && !/[A-Z]/.test(pw)) out.push('an upper-case letter');
  if (on('PasswordRequireNumber') && !/[0-9]/.test(pw)) out.push('a digit');
  if (on('PasswordRequireSymbol') && !/[ !"\\#$%&'()*+,\-./:;<=>?@[\]^_`|~]/.test(pw)) out.push('a symbol');
  return out;
}

const userPassword: DialogForm = {
  callbackId: 'user-password',
  async submit(values, state, ctx): Promise<FormOutcome> {
    const pw = typeof values['password'] === 'string' ? values['password'] : '';
    const again = typeof values['confirm'] === 'string' ? values['confirm'] : '';
    if (!pw) return { errors: { password: 'Type the new password.' } };
    if (pw !== again) return { errors: { confirm: 'The two passwords differ.' } };
    const problems = passwordProblems(pw, await ctx.clientConfig());
    if (problems.length) return { errors: { password: `This server needs ${problems.join(', ')}.` } };
    const target = state['target'] ?? '';
    const targetId = state['targetId'] ?? '';
    if (!/^@[a-z0-9._-]+$/i.test(target) || !/^[a-z0-9]{26}$/.test(targetId)) return { errors: { password: 'This form lost its person; run the command again.' } };
    return { text: `user password ${target} --yes`, secret: pw, targetId };
  },
};

/** Every form, by callback id. */
export const FORMS: ReadonlyMap<string, DialogForm> = new Map([teamInvite, userPassword].map((f) => [f.callbackId, f]));
