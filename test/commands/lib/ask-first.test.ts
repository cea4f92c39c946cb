/**
 * The one gate of every confirmable change (commands/lib/admin-users.ts `askFirst`): it
 * previews with pins, and a confirmed run goes ahead only when everything pinned is
 * unchanged and the approver is none of the people the change is done to.
 */
import { describe, expect, it } from 'vitest';
import { askFirst, pinDigests, type Preview } from '../../../commands/lib/admin-users.js';
import type { Invocation } from '../../../src/core/command.js';
import { isUserError, type UserError } from '../../../src/core/errors.js';
import { createTestContext, testId } from '../../helpers/context.js';

const BOB = testId('bob');
const HEIDI = testId('heidi');
const preview = (identity: string): Preview => ({
  what: 'This will switch Bob to SAML sign-in.',
  command: 'user',
  args: ['auth', '@bob', 'saml'],
  pins: { 'the person': BOB, 'the identity to link': identity },
  people: [BOB],
});

/** What `askFirst` threw (undefined: it let the change go ahead). */
function outcome(confirmed: Invocation['confirmed'] | undefined, yes: boolean, p: Preview, opts?: { needed?: boolean; mustConfirm?: boolean }): UserError | undefined {
  const ctx = { ...createTestContext({ invocation: confirmed ? { confirmed } : {} }), ...(opts?.mustConfirm ? { mustConfirm: true } : {}) };
  try {
    askFirst(ctx, yes, p, opts);
    return undefined;
  } catch (e) {
    if (!isUserError(e)) throw e;
    return e;
  }
}

describe('askFirst', () => {
  it('without --yes it previews, carrying a digest per pinned value and the people it is done to', () => {
    const e = outcome(undefined, false, preview('bob@acme.example'));
    expect(e?.code).toBe('needs_confirmation');
    expect(e?.details.pins).toEqual(pinDigests(preview('bob@acme.example').pins));
    expect(Object.keys(e?.details.pins ?? {})).toEqual(['the person', 'the identity to link']);
    expect(JSON.stringify(e?.details)).not.toContain('bob@acme.example'); // digests, not the values
    expect(e?.details.subjects).toEqual([BOB]);
    expect(e?.details.usage).toContain('--yes');
  });

  it('with --yes typed (no preview was shown) it goes ahead; a small change that needs no question too', () => {
    expect(outcome(undefined, true, preview('x'))).toBeUndefined();
    expect(outcome(undefined, false, preview('x'), { needed: false })).toBeUndefined();
  });

  it('a confirmed run goes ahead when every pinned value is the same', () => {
    const pins = pinDigests(preview('bob@acme.example').pins);
    expect(outcome({ by: 'click', pins }, true, preview('bob@acme.example'))).toBeUndefined();
  });

  it('a confirmed run whose value changed, or that carries no pins, is refused', () => {
    const pins = pinDigests(preview('bob@acme.example').pins);
    const changed = outcome({ by: 'click', pins }, true, preview('alice@evil.example'));
    expect(changed?.code).toBe('conflict');
    expect(changed?.message).toBe('Nothing was done: the identity to link changed since you were asked; ask again.');
    const unpinned = outcome({ by: 'approval', approver: { id: testId('carol'), username: 'carol' } }, true, preview('bob@acme.example'));
    expect(unpinned?.code).toBe('conflict');
    expect(unpinned?.message).toMatch(/before the bot was upgraded.*ask again/);
    // even when not asking would do (a small team add), a confirmed run is checked
    expect(outcome({ by: 'click', pins }, true, preview('alice@evil.example'), { needed: false })?.code).toBe('conflict');
  });

  it('an approval by one of the people it is done to is refused at run time too', () => {
    const p = { ...preview('h'), people: [HEIDI] };
    const e = outcome({ by: 'approval', approver: { id: HEIDI, username: 'heidi' }, pins: pinDigests(p.pins) }, true, p);
    expect(e?.code).toBe('forbidden');
  });

  it('a Confirm click on a change a two-person rule now covers is asked again (and so sent for approval)', () => {
    const pins = pinDigests(preview('bob@acme.example').pins);
    expect(outcome({ by: 'click', pins }, false, preview('bob@acme.example'), { mustConfirm: true })?.code).toBe('needs_confirmation');
  });

  it('a dialog is its own preview: pins are not asked of it', () => {
    expect(outcome({ by: 'dialog', targetId: BOB }, true, preview('x'))).toBeUndefined();
  });
});
