/**
 * Refusal wording: one sentence for the dispatcher and `ctx.perms.require`, naming a
 * team or channel only when the caller could see it anyway (public channel, a team they
 * may view) or typed it themselves. Checked as pure wording, then through the real
 * pipeline against the fake server with a probe command that calls `ctx.perms.require`
 * on places other than the dispatcher's.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineCommand, defineSubcommand, type Requirement } from '../../src/core/command.js';
import { placeWords, refusalSentence, refusalText } from '../../src/core/permissions/refusal.js';
import { say } from '../../src/core/reply.js';
import { channelIdFor, teamIdFor } from '../../src/sandbox/seed.js';
import { createHarness, type Harness } from '../helpers/harness.js';

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

describe('refusals never name a place the caller cannot see (fake server, demo seed)', () => {
  let h: Harness;
  let dmId: string;

  const probe = defineCommand({
    name: 'probe',
    summary: 'require a permission somewhere else',
    hint: 'team|channel <id>',
    ownTrigger: false,
    subcommands: [
      defineSubcommand({
        name: 'team',
        summary: 'view_team in a team',
        usage: 'probe team <id>',
        examples: [],
        positional: ['id'],
        args: z.object({ id: z.string() }),
        access: { self: null },
        async execute(ctx) {
          await ctx.perms.require(TEAM, { teamId: ctx.args.id });
          return say('allowed');
        },
      }),
      defineSubcommand({
        name: 'channel',
        summary: 'read_channel in a channel',
        usage: 'probe channel <id>',
        examples: [],
        positional: ['id'],
        args: z.object({ id: z.string() }),
        access: { self: null },
        async execute(ctx) {
          await ctx.perms.require(CHANNEL, { channelId: ctx.args.id });
          return say('allowed');
        },
      }),
    ],
  });

  beforeAll(async () => {
    h = await createHarness({ commands: [probe] });
    dmId = (await h.fake.postAs('dave', '@ann', 'hi ann')).channel_id;
  });
  afterAll(async () => {
    await h?.close();
  });

  const text = async (who: string, line: string): Promise<string> => {
    const { result, text: t } = await h.run(who, line);
    expect(result.outcome, t).toBe('refused');
    return t;
  };

  it('a private channel: named to nobody outside it', async () => {
    const incidents = channelIdFor('ops', 'incidents');
    expect(await text('dave', `probe channel ${incidents}`)).toBe(':no_entry: You need `read_channel` (in that channel) to do that.');
    expect((await h.run('bob', `probe channel ${incidents}`)).text).toBe('allowed');
  });

  it('a DM between others: never named (its name is two user ids)', async () => {
    const t = await text('bob', `probe channel ${dmId}`);
    expect(t).toBe(':no_entry: You need `read_channel` (in that channel) to do that.');
  });

  it('a public channel: its display name is fine', async () => {
    // erin is a guest of acme, not in off-topic
    const t = await text('erin', `probe channel ${channelIdFor('acme', 'off-topic')}`);
    expect(t).toBe(':no_entry: You need `read_channel` (in channel **Off\\-Topic**) to do that.');
  });

  it('an invite-only team: named only to those who may view it', async () => {
    expect(await text('erin', `probe team ${teamIdFor('ops')}`)).toBe(':no_entry: You need `view_team` (in that team) to do that.');
    expect(await text('erin', `probe team ${teamIdFor('ops')}`)).not.toContain('Operations');
  });
});
