/**
 * Buttons → message attachments with actions (docs/mattermost-notes.md §8.1): one attachment
 * holding every button of a reply, each pointing at the bot's `/actions` route with its
 * signed context. The server keeps `integration` to itself (§8.2).
 *
 * @example
 *   renderAttachments(reply.buttons, 'https://mmops.example.com/actions')
 *   // [{ actions: [{ id: 'confirm', type: 'button', name: 'Confirm', style: 'danger', integration: { url, context } }] }]
 */
import type { ReplyButton } from '../core/reply.js';

export interface ActionAttachment {
  actions: Array<{
    id: string;
    type: 'button';
    name: string;
    style: ReplyButton['style'];
    integration: { url: string; context: Record<string, string> };
  }>;
}

/** Button ids the server's click route can reach (api4/integration_action.go InitAction: `[A-Za-z0-9]+`). */
export const ACTION_ID = /^[A-Za-z0-9]+$/;

/** The attachments for `buttons` (empty when there are none). Throws on an id the server could never route. */
export function renderAttachments(buttons: readonly ReplyButton[] | undefined, actionsUrl: string): ActionAttachment[] {
  if (!buttons || buttons.length === 0) return [];
  for (const b of buttons) if (!ACTION_ID.test(b.id)) throw new Error(`button id ${JSON.stringify(b.id)} has characters the server's click route refuses`);
  return [
    {
      actions: buttons.map((b) => ({ id: b.id, type: 'button' as const, name: b.name, style: b.style, integration: { url: actionsUrl, context: b.context } })),
    },
  ];
}
