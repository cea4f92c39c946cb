import { describe, expect, it } from 'vitest';
import { renderAttachments } from '../../src/render/attachments.js';

describe('buttons → attachments (docs/mattermost-notes.md §8.1)', () => {
  it('puts every button in one attachment, pointing at the actions URL with its context', () => {
    const a = renderAttachments(
      [
        { id: 'confirm', name: 'Confirm', style: 'danger', context: { token: 't1' } },
        { id: 'cancel', name: 'Cancel', style: 'default', context: { token: 't2' } },
      ],
      'https://bot.example/actions',
    );
    expect(a).toEqual([
      {
        actions: [
          { id: 'confirm', type: 'button', name: 'Confirm', style: 'danger', integration: { url: 'https://bot.example/actions', context: { token: 't1' } } },
          { id: 'cancel', type: 'button', name: 'Cancel', style: 'default', integration: { url: 'https://bot.example/actions', context: { token: 't2' } } },
        ],
      },
    ]);
    expect(renderAttachments(undefined, 'x')).toEqual([]);
    expect(renderAttachments([], 'x')).toEqual([]);
  });

  it('refuses an id the server could never route a click to (only letters and digits)', () => {
    for (const id of ['btn_ok', 'btn-ok', 'ok!', '']) {
      expect(() => renderAttachments([{ id, name: 'x', style: 'default', context: {} }], 'u')).toThrow(/click route/);
    }
  });
});
