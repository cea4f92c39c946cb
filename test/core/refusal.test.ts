/**
 * Refusal wording: one sentence for the dispatcher and `ctx.perms.require`, naming a
 * team or channel only when the caller could see it anyway (public channel, a team they
 * may view) or typed it themselves.
 */
import { describe, expect, it } from 'vitest';
import type { Requirement } from '../../src/core/command.js';
import { placeWords, refusalSentence, refusalText } from '../../src/core/permissions/refusal.js';

const TEAM: Requirement = { permission: 'view_team', scope: 'team' };
const CHANNEL: Requirement = { permission: 'read_channel', scope: 'channel' };
const SYSTEM: Requirement = { permission: 'edit_other_users', scope: 'system' };

describe('refusalText / refusalSentence', () => {
  it.each<[Requirement, Parameters<typeof refusalText>[1], string]>([
    [SYSTEM, {}, 'You need `edit_other_users` (system-wide) to do that.'],
    [TEAM, { team: 'Acme Corp' }, 'You need `view_team` (in team **Acme Corp**) to do that.'],
    [TEAM, {}, 'You need `view_team` (in that team) to do that.'],
    [TEAM, { here: true }, 'You need `view_team` (in this team) to do that.'],
    [TEAM, { noTeam: true }, 'You need `view_team` (in a team (run it from one of its channels)) to do that.'],
    [CHANNEL, { channel: 'Town Square' }, 'You need `read_channel` (in channel **Town Square**) to do that.'],
    [CHANNEL, {}, 'You need `read_channel` (in that channel) to do that.'],
    [CHANNEL, { here: true }, 'You need `read_channel` (in this channel) to do that.'],
  ])('%j %j', (req, place, out) => {
    expect(refusalText(req, place).value).toBe(out);
  });

  it('escapes and shortens a typed name', () => {
    const text = refusalText(CHANNEL, { channel: `~x**y** @all ${'z'.repeat(100)}` }).value;
    expect(text).toContain('~\u200bx\\*\\*y\\*\\* @\u200ball');
    expect(text).toContain('…');
    expect(text).not.toContain('z'.repeat(65));
  });

  it('has a plain-text twin with the same words', () => {
    expect(refusalSentence(TEAM, { team: 'Acme Corp' })).toBe('You need view_team (in team Acme Corp) to do that.');
    expect(placeWords(CHANNEL, {}).value).toBe('in that channel');
  });
});
