/**
 * Structured replies. Commands return these; `src/render/` turns them into
 * Mattermost Markdown. A plain `string` anywhere in a reply is *untrusted text*
 * (names, nicknames, positions, messages) and is always escaped by the renderer;
 * trusted Markdown is wrapped in {@link Markdown}, built with the {@link md} tag,
 * which escapes everything interpolated into it.
 *
 * @example
 *   reply([title(md`Who is ${user.username}`), fields([['Position', user.position]])])
 */
import type { ClientConfig } from '../mattermost/models.js';

/** Markdown the bot wrote itself (already escaped where needed). */
export class Markdown {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

/** A piece of reply text: untrusted (string) or trusted Markdown. */
export type Text = string | Markdown;

export type Block =
  | { kind: 'title'; text: Text }
  | { kind: 'paragraph'; text: Text }
  | { kind: 'fields'; fields: Array<{ label: string; value: Text }> }
  | { kind: 'table'; columns: string[]; rows: Text[][] }
  | { kind: 'list'; items: Text[] }
  /** A footnote such as a pagination hint ("next page: `/teams members x --page 2`"). */
  | { kind: 'hint'; text: Text }
  /** Preformatted text (never interpreted as Markdown). */
  | { kind: 'code'; text: string };

export type ReplyTone = 'ok' | 'info' | 'warning' | 'error' | 'refused';

/**
 * A button under a reply (an interactive message action, docs/mattermost-notes.md §8.1).
 * `context` goes to the server only (clients never see it, §8.2) and comes back with the
 * click; the bot signs it (src/services/action-token.ts) so a click cannot be forged.
 */
export interface ReplyButton {
  /** letters and digits only: the server's click route accepts nothing else (§8.1) */
  id: string;
  name: string;
  style: 'primary' | 'danger' | 'default' | 'good';
  context: Record<string, string>;
}

/** One field of an interactive dialog (docs/mattermost-notes.md §8.7). */
export interface DialogField {
  name: string;
  /** ≤ 24 bytes */
  label: string;
  type: 'text' | 'textarea';
  subtype?: 'email' | 'password' | 'text';
  optional?: boolean;
  /** ≤ 150 bytes */
  help?: string;
  placeholder?: string;
}

/**
 * A dialog to open for the caller instead of a reply (only where the request carries a
 * `trigger_id`: slash commands and clicks). `state` is signed by the bot and visible to the
 * client (§8.7): it never holds anything secret.
 */
export interface DialogRequest {
  /** which submission handler takes it (e.g. `team-invite`) */
  callbackId: string;
  /** ≤ 24 bytes */
  title: string;
  intro?: string;
  submitLabel: string;
  fields: DialogField[];
  /** what the submission needs to be turned back into a command (command prefix, target) */
  state: Record<string, string>;
}

/**
 * What a submission turns into: the exact command text (with --yes where the command asks to
 * confirm: the dialog was the confirmation), and the id of the person the form was opened for
 * (the command stops if the name now means someone else, as a confirmation does).
 */
export type FormOutcome = { errors: Record<string, string> } | { text: string; secret?: string; targetId?: string };

/** How a submission of the dialog with this `callbackId` becomes a command (commands/lib/forms.ts). */
export interface DialogForm {
  callbackId: string;
  submit(values: Record<string, unknown>, state: Record<string, string>, ctx: { clientConfig(): Promise<ClientConfig> }): Promise<FormOutcome>;
}

/**
 * A file that goes with a reply (an export, a chart). It is always delivered privately: a
 * post in the caller's DM with the bot, as the server's own user export is
 * (server/channels/app/report.go SendReportToUser); the reply itself then says where.
 */
export interface ReplyFile {
  /** what and when, e.g. `acme-members-2026-12-07.csv` */
  name: string;
  mimeType: string;
  /** the bytes, or a stream made when the file is sent (a large export is never held whole) */
  body: () => Uint8Array | AsyncIterable<Uint8Array>;
}

export interface Reply {
  blocks: Block[];
  /**
   * `caller`: only the person who asked sees it (ephemeral slash reply, ephemeral
   * post or DM). `channel`: meant for everyone in the channel.
   */
  visibility: 'caller' | 'channel';
  /** Sensitive output (sessions, audits, passwords): never posted in a channel. */
  sensitive?: boolean;
  tone: ReplyTone;
  /** buttons shown under the text (confirm/cancel, approve/deny) */
  buttons?: ReplyButton[];
  /** open this dialog for the caller (the text, if any, is shown where a dialog cannot open) */
  dialog?: DialogRequest;
  /** files for the caller alone (see {@link ReplyFile}); the dispatcher hands them to the file responder */
  files?: ReplyFile[];
  /**
   * buttons that start another command as the caller (`users inactive`'s **Deactivate
   * these N**): the dispatcher has them signed (src/services/confirmations.ts, kind
   * `start`); a click runs `text` without `--yes`, so its own preview, confirmation and
   * approval apply. Dropped where the bot offers no buttons.
   */
  followUps?: FollowUp[];
}

/** A button that starts a command (see {@link Reply.followUps}). */
export interface FollowUp {
  /** the button's label */
  name: string;
  /** the command to start, as typed without a trigger (at most 3,900 characters) */
  text: string;
  style?: ReplyButton['style'];
}

// ---------------------------------------------------------------------------
// Escaping (shared by md`` and the renderer)

/** Bidi overrides/isolates and other invisible controls that can disguise text. */
// eslint-disable-next-line no-control-regex
const UNSAFE_CONTROLS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g;
/** Characters with Markdown meaning in Mattermost's renderer. */
const MARKDOWN_SPECIALS = /[\\`*_{}[\]()#+\-.!|<>:]/g;
/** Zero-width space: breaks `@name`, `@channel` and `~channel` so they cannot notify. */
export const ZWSP = '\u200b';

/**
 * Escapes untrusted inline text: strips control and bidi-override characters,
 * backslash-escapes Markdown punctuation, folds newlines to spaces, and breaks
 * every `@` mention and `~` channel link with a zero-width space.
 */
export function escapeText(input: string): string {
  return input
    .replace(UNSAFE_CONTROLS, '')
    .replace(/\r\n|\r|\n|\t/g, ' ')
    .replace(MARKDOWN_SPECIALS, (c) => `\\${c}`)
    .replace(/[@~]/g, (c) => `${c}${ZWSP}`);
}

/**
 * Tagged template for trusted Markdown. Interpolated strings are escaped with
 * {@link escapeText}; interpolated {@link Markdown} is kept as is; numbers are printed.
 *
 * @example md`**${user.username}** is ${statusEmoji}` // username escaped
 */
export function md(strings: TemplateStringsArray, ...values: Array<Text | number>): Markdown {
  let out = strings[0] ?? '';
  values.forEach((v, i) => {
    out += v instanceof Markdown ? v.value : typeof v === 'number' ? String(v) : escapeText(v);
    out += strings[i + 1] ?? '';
  });
  return new Markdown(out);
}

/** Wraps already-safe Markdown the bot wrote (no user text inside). */
export const raw = (s: string): Markdown => new Markdown(s);

/** Inline code for untrusted text: backticks can't break out, mentions don't fire. */
export function code(input: string): Markdown {
  const clean = input.replace(UNSAFE_CONTROLS, '').replace(/\r\n|\r|\n|\t/g, ' ');
  const longest = Math.max(0, ...(clean.match(/`+/g) ?? []).map((r) => r.length));
  const fence = '`'.repeat(longest + 1);
  const pad = clean.startsWith('`') || clean.endsWith('`') ? ' ' : '';
  return new Markdown(`${fence}${pad}${clean.replace(/@/g, `@${ZWSP}`)}${pad}${fence}`);
}

// ---------------------------------------------------------------------------
// Builders

export const title = (text: Text): Block => ({ kind: 'title', text });
export const paragraph = (text: Text): Block => ({ kind: 'paragraph', text });
export const hint = (text: Text): Block => ({ kind: 'hint', text });
export const list = (items: Text[]): Block => ({ kind: 'list', items });
export const table = (columns: string[], rows: Text[][]): Block => ({ kind: 'table', columns, rows });
export const fields = (pairs: Array<[string, Text | undefined]>): Block => ({
  kind: 'fields',
  fields: pairs.filter((p): p is [string, Text] => p[1] !== undefined && p[1] !== '').map(([label, value]) => ({ label, value })),
});

/** A reply for the caller only (the default). */
export function reply(blocks: Block[], opts: Partial<Omit<Reply, 'blocks'>> = {}): Reply {
  return {
    blocks,
    visibility: opts.visibility ?? 'caller',
    tone: opts.tone ?? 'ok',
    ...(opts.sensitive ? { sensitive: true } : {}),
    ...(opts.buttons?.length ? { buttons: opts.buttons } : {}),
    ...(opts.dialog ? { dialog: opts.dialog } : {}),
    ...(opts.files?.length ? { files: opts.files } : {}),
    ...(opts.followUps?.length ? { followUps: opts.followUps } : {}),
  };
}

/** A one-line reply. */
export const say = (text: Text, tone: ReplyTone = 'info'): Reply => reply([paragraph(text)], { tone });
