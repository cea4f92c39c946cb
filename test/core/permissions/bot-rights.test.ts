import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineCommand, defineSubcommand, type CommandDefinition, type Requirement } from '../../../src/core/command.js';
import { isUserError } from '../../../src/core/errors.js';
import { BotRightsError, commandLabel, resolveBotRights } from '../../../src/core/permissions/bot-rights.js';
import { createCallerPermissions } from '../../../src/core/permissions/caller.js';
import { refusalSentence, refusalText } from '../../../src/core/permissions/refusal.js';
import { createPermissionService } from '../../../src/core/permissions/service.js';
import { reply } from '../../../src/core/reply.js';
import { builtInRoles, createStubApi, mkChannel, mkChannelMember, mkRole, mkTeam, mkTeamMember, mkUser } from './stub-api.js';

const sub = (name: string, botNeeds?: Requirement[]) =>
  defineSubcommand({
    name,
    summary: name,
    usage: name,
    examples: [],
    args: z.object({}),
    access: { self: null },
    ...(botNeeds ? { botNeeds } : {}),
    async execute() {
      return reply([]);
    },
  });

const commands: CommandDefinition[] = [
  defineCommand({ name: 'whois', summary: '', hint: '', ownTrigger: true, subcommands: [sub('')] }),
  defineCommand({
    name: 'user',
    summary: '',
    hint: '',
    ownTrigger: true,
    subcommands: [
      sub('sessions', [{ permission: 'edit_other_users', scope: 'system' }]),
      sub('roles', [{ permission: 'manage_roles', scope: 'system' }]),
      sub('active', [
        { permission: 'edit_other_users', scope: 'system' },
        { permission: 'manage_system', scope: 'system' },
      ]),
    ],
  }),
  defineCommand({
    name: 'team',
    summary: '',
    hint: '',
    ownTrigger: true,
    subcommands: [
      sub('add', [{ permission: 'add_user_to_team', scope: 'team' }]),
      sub('invite', [{ permission: 'invite_user', scope: 'team' }]),
      sub('here', [{ permission: 'read_channel', scope: 'channel' }]),
    ],
  }),
];

function setup(botRoles: string) {
  const stub = createStubApi();
  const bot = mkUser('mmops', botRoles, { is_bot: true });
  const a = mkTeam('alpha');
  const b = mkTeam('beta');
  stub.add(bot, a, b, ...builtInRoles(), mkRole('bot_helper', ['edit_other_users']), mkRole('beta_no_invite', ['add_user_to_team']));
  stub.add(mkTeamMember(a, bot), mkTeamMember(b, bot, { scheme_user: false, roles: 'beta_no_invite' }));
  return { stub, bot, a, b };
}

describe('resolveBotRights', () => {
  it('lists what the bot can and cannot carry out, with the first missing requirement', async () => {
    const { stub, bot, a, b } = setup('system_user bot_helper');
    const perms = createPermissionService({ api: stub.api, selfUserId: bot.id });
    const r = await resolveBotRights(perms, bot.id, commands, [a.id, b.id]);
    expect(r.available.sort()).toEqual(['team add', 'team here', 'user sessions', 'whois']);
    expect(r.unavailable).toEqual([
      { command: 'user roles', lacks: { permission: 'manage_roles', scope: 'system' } },
      { command: 'user active', lacks: { permission: 'manage_system', scope: 'system' } },
      { command: 'team invite', lacks: { permission: 'invite_user', scope: 'team' }, teamIds: [b.id] },
    ]);
  });

  it('a system admin bot can do everything', async () => {
    const { stub, bot, a } = setup('system_user system_admin');
    const perms = createPermissionService({ api: stub.api, selfUserId: bot.id });
    const r = await resolveBotRights(perms, bot.id, commands, [a.id]);
    expect(r.unavailable).toEqual([]);
    expect(r.available).toHaveLength(7);
  });

  it('with no teams, a team requirement needs a system-wide grant', async () => {
    const { stub, bot } = setup('system_user');
    const perms = createPermissionService({ api: stub.api, selfUserId: bot.id });
    const r = await resolveBotRights(perms, bot.id, commands, []);
    expect(r.unavailable.find((u) => u.command === 'team add')).toEqual({ command: 'team add', lacks: { permission: 'add_user_to_team', scope: 'team' } });
  });

  it('says clearly when the service was not told the bot’s own id', async () => {
    const { stub, bot, a } = setup('system_user system_admin');
    const perms = createPermissionService({ api: stub.api });
    await expect(resolveBotRights(perms, bot.id, commands, [a.id])).rejects.toThrow(BotRightsError);
    await expect(resolveBotRights(perms, bot.id, commands, [a.id])).rejects.toThrow(/selfUserId/);
  });

  it('checks each distinct requirement once (warm afterwards)', async () => {
    const { stub, bot, a, b } = setup('system_user bot_helper');
    const perms = createPermissionService({ api: stub.api, selfUserId: bot.id });
    await resolveBotRights(perms, bot.id, commands, [a.id, b.id]);
    expect(stub.calls.getUser).toBe(1);
    stub.resetCalls();
    await resolveBotRights(perms, bot.id, commands, [a.id, b.id]);
    expect(stub.totalCalls()).toBe(0);
  });

  it('commandLabel', () => {
    expect(commandLabel('whois', '')).toBe('whois');
    expect(commandLabel('user', 'sessions')).toBe('user sessions');
  });
});

describe('createCallerPermissions', () => {
  it('binds the caller and the invocation place; require throws a forbidden UserError naming the requirement', async () => {
    const stub = createStubApi();
    const dave = mkUser('dave');
    const t = mkTeam('main');
    const other = mkTeam('other');
    const ch = mkChannel(t, 'general');
    stub.add(dave, t, other, ch, ...builtInRoles(), mkTeamMember(t, dave), mkChannelMember(ch, dave));
    const perms = createPermissionService({ api: stub.api });
    const caller = createCallerPermissions({ perms, userId: dave.id, where: { teamId: t.id, channelId: ch.id } });

    expect(await caller.can({ permission: 'invite_user', scope: 'team' })).toBe(true);
    expect(await caller.can({ permission: 'read_channel', scope: 'channel' })).toBe(true);
    // a call's own place overrides the default one
    expect(await caller.can({ permission: 'invite_user', scope: 'team' }, { teamId: other.id })).toBe(false);

    const req: Requirement = { permission: 'manage_team_roles', scope: 'team' };
    const err = await caller.require(req).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isUserError(err) && err.code).toBe('forbidden');
    expect(isUserError(err) && err.details.requirement).toEqual(req);
    // the dispatcher's wording; without names from the dispatcher, the place is "that team"
    expect(isUserError(err) && err.details.text?.value).toBe(refusalText(req).value);
    expect(isUserError(err) && err.details.text?.value).toBe('You need `manage_team_roles` (in that team) to do that.');
    expect(isUserError(err) && err.message).toBe(refusalSentence(req));
  });

  it('fresh callers re-read from the server each time', async () => {
    const stub = createStubApi();
    const dave = mkUser('dave');
    stub.add(dave, ...builtInRoles());
    const perms = createPermissionService({ api: stub.api });
    const caller = createCallerPermissions({ perms, userId: dave.id, fresh: true });
    await caller.can({ permission: 'create_team', scope: 'system' });
    await caller.can({ permission: 'create_team', scope: 'system' });
    expect(stub.calls.getUser).toBe(2);
  });
});
