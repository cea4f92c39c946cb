/**
 * Buttons and dialogs in the sandbox console (docs/mattermost-notes.md §8): a post's
 * attachment actions as numbered choices (`click N`), and an `open_dialog` as one prompt per
 * element, answered line by line, then submitted the way a client submits it.
 *
 * @example
 *   const set = buttonsOf(post);               // { postId, actions: [{ id: 'confirm', name: 'Confirm' }, …] }
 *   renderButtons(set, color);                 // ['[1] Confirm  [2] Cancel   (click N)']
 *   const form = new DialogForm(opened);       // then form.prompt(), form.answer(line) until form.done
 */
import { forEachAction } from './post-actions.js';
import { paint, type Style } from './console-render.js';
import type { DialogElement, OpenedDialog, Post } from './fake-server.js';

/** One clickable action as the console user sees it. */
export interface ConsoleAction {
  id: string;
  name: string;
  type: string;
  style: string;
  /** the encrypted cookie of an ephemeral post's action (what a client sends back) */
  cookie: string | undefined;
  options: Array<{ text: string; value: string }>;
}

/** The buttons of one post, for `click N`. */
export interface ButtonSet {
  postId: string;
  channelId: string;
  ephemeral: boolean;
  actions: ConsoleAction[];
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/** The actions of a post as a client shows them, or undefined when it has none. */
export function buttonsOf(post: Post): ButtonSet | undefined {
  const actions: ConsoleAction[] = [];
  forEachAction(post.props, (a) => {
    const options = Array.isArray(a.options)
      ? a.options.flatMap((o: unknown) => (typeof o === 'object' && o !== null && 'value' in o ? [{ text: 'text' in o ? str(o.text) : '', value: str(o.value) }] : []))
      : [];
    actions.push({ id: str(a.id), name: str(a.name) || str(a.id), type: str(a.type) || 'button', style: str(a.style), cookie: typeof a.cookie === 'string' ? a.cookie : undefined, options });
  });
  if (actions.length === 0) return undefined;
  return { postId: post.id, channelId: post.channel_id, ephemeral: post.type === 'system_ephemeral', actions };
}

const STYLE: Record<string, Style> = { danger: 'red', primary: 'cyan', good: 'green', success: 'green', warning: 'yellow' };

/** `[1] Confirm  [2] Cancel` (wrapped to `width`), with the hint to click. */
export function renderButtons(set: ButtonSet, color: boolean, width: number): string[] {
  const items = set.actions.map((a, i) => {
    const label = a.type === 'select' ? `${a.name} ▾ (${a.options.map((o) => o.value).join('|') || 'pick'})` : a.name;
    return { plain: `[${i + 1}] ${label}`, painted: `${paint(`[${i + 1}]`, 'bold', color)} ${paint(label, STYLE[a.style], color)}` };
  });
  const hint = set.actions.length === 1 ? '(click 1)' : `(click 1…${set.actions.length})`;
  const lines: string[] = [];
  let cur = '';
  let curPlain = '';
  for (const it of items) {
    if (curPlain && curPlain.length + 2 + it.plain.length > width) {
      lines.push(cur);
      cur = '';
      curPlain = '';
    }
    cur = cur ? `${cur}  ${it.painted}` : it.painted;
    curPlain = curPlain ? `${curPlain}  ${it.plain}` : it.plain;
  }
  if (cur) lines.push(`${cur}   ${paint(hint, 'dim', color)}`);
  return lines;
}

/** Text of a post a console shows: the message, then attachment pretext/title/text/fields. */
export function postText(post: Post): string {
  const parts = [post.message];
  const atts = post.props.attachments;
  if (Array.isArray(atts)) {
    for (const a of atts) {
      if (typeof a !== 'object' || a === null) continue;
      for (const k of ['pretext', 'title', 'text'] as const) if (k in a && typeof a[k] === 'string' && a[k] !== '') parts.push(a[k]);
      if ('fields' in a && Array.isArray(a.fields)) {
        for (const f of a.fields) if (typeof f === 'object' && f !== null) parts.push(`**${'title' in f ? str(f.title) : ''}**: ${'value' in f ? str(f.value) : ''}`);
      }
    }
  }
  return parts.filter((x) => x !== '').join('\n\n');
}

/**
 * One open dialog being filled in: one element at a time, checked like the webapp checks
 * before it submits (required fields, select and radio options, bool, min/max length);
 * field errors from the integration re-open just those fields.
 */
export class DialogForm {
  readonly values: Record<string, unknown> = {};
  private queue: DialogElement[];
  /** per-field errors the integration sent back, shown with the field's prompt */
  private readonly serverErrors = new Map<string, string>();

  constructor(readonly opened: OpenedDialog) {
    this.queue = [...(opened.dialog.elements ?? [])];
  }

  get current(): DialogElement | undefined {
    return this.queue[0];
  }

  get done(): boolean {
    return this.queue.length === 0;
  }

  /** whether the current answer must not be echoed */
  get secret(): boolean {
    const e = this.current;
    return e !== undefined && (e.type === 'text' || e.type === 'textarea') && e.subtype === 'password';
  }

  /** The header: title, introduction, how to cancel. */
  header(): string[] {
    const d = this.opened.dialog;
    return [d.title || '(dialog)', ...(d.introduction_text ? [d.introduction_text] : []), `${(d.elements ?? []).length} field(s); an empty answer keeps the default of an optional field; cancel closes the dialog`];
  }

  /** The prompt for the current element, e.g. `New password (hidden):`. */
  prompt(): string {
    const e = this.current;
    if (!e) return '';
    const bits: string[] = [];
    if (e.optional) bits.push('optional');
    if (this.secret) bits.push('hidden');
    if (e.type === 'bool') bits.push('yes/no');
    if ((e.type === 'select' || e.type === 'radio') && e.options) bits.push(e.options.map((o, i) => `${i + 1}=${o.value}`).join(' '));
    if ((e.type === 'select' || e.type === 'radio') && !e.options && e.data_source) bits.push(`a ${e.data_source.replace(/s$/, '')} id or name`);
    if (e.type === 'textarea') bits.push('one line; \\n for a new line');
    if (e.default && !this.secret) bits.push(`default ${e.default}`);
    const err = this.serverErrors.get(e.name);
    return `${e.display_name || e.name}${bits.length ? ` (${bits.join('; ')})` : ''}${err ? ` [${err}]` : ''}:`;
  }

  /** Takes an answer for the current element; a sentence when it is not acceptable (asked again). */
  answer(raw: string): string | undefined {
    const e = this.current;
    if (!e) return 'the dialog has no open field';
    const text = e.type === 'textarea' ? raw.replace(/\\n/g, '\n') : raw;
    if (text === '') {
      if (e.default !== '') this.values[e.name] = e.type === 'bool' ? e.default === 'true' : e.default;
      else if (!e.optional) return `${e.display_name || e.name} is required`;
      else this.values[e.name] = e.type === 'bool' ? false : null;
      this.next(e);
      return undefined;
    }
    switch (e.type) {
      case 'bool': {
        const yes = /^(y|yes|true|1|on)$/i.test(text);
        const no = /^(n|no|false|0|off)$/i.test(text);
        if (!yes && !no) return 'answer yes or no';
        this.values[e.name] = yes;
        break;
      }
      case 'select':
      case 'radio': {
        if (e.options && e.options.length > 0) {
          const byIndex = /^\d+$/.test(text) ? e.options[Number(text) - 1] : undefined;
          const hit = byIndex ?? e.options.find((o) => o.value === text || o.text.toLowerCase() === text.toLowerCase());
          if (!hit) return `pick one of: ${e.options.map((o, i) => `${i + 1}=${o.value}`).join(' ')}`;
          this.values[e.name] = hit.value;
        } else this.values[e.name] = text;
        break;
      }
      default: {
        if (e.min_length > 0 && text.length < e.min_length) return `at least ${e.min_length} characters`;
        if (e.max_length > 0 && text.length > e.max_length) return `at most ${e.max_length} characters`;
        this.values[e.name] = e.subtype === 'number' && /^-?\d+(\.\d+)?$/.test(text) ? Number(text) : text;
      }
    }
    this.next(e);
    return undefined;
  }

  /** The integration refused some fields: ask for just those again. */
  reopen(errors: Record<string, string>): void {
    this.serverErrors.clear();
    const all = this.opened.dialog.elements ?? [];
    this.queue = all.filter((e) => e.name in errors);
    for (const [k, v] of Object.entries(errors)) this.serverErrors.set(k, v);
    // an error for a field the dialog does not have cannot be fixed here: nothing to re-ask
  }

  private next(e: DialogElement): void {
    this.serverErrors.delete(e.name);
    this.queue.shift();
  }
}
