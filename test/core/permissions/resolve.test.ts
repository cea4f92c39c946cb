import { describe, expect, it } from 'vitest';
import {
  effectiveChannelRoles,
  effectiveTeamRoles,
  grantedBy,
  holdsAt,
  isValidRoleName,
  roleNamesFor,
  rolesGrant,
  splitRoles,
  UNREADABLE_SCHEME,
  usesSchemeRoles,
  type EffectiveRoles,
  type GrantSource,
  type MemberRoles,
  type RoleDefinitions,
  type SchemeInput,
  type SchemeRoles,
} from '../../../src/core/permissions/resolve.js';
import type { Scope } from '../../../src/core/command.js';

const member = (m: Partial<MemberRoles> & { delete_at?: number } = {}): MemberRoles & { delete_at: number } => ({
  roles: '',
  scheme_guest: false,
  scheme_user: false,
  scheme_admin: false,
  delete_at: 0,
  ...m,
});

const teamScheme: SchemeRoles = {
  default_team_guest_role: 'ts_team_guest',
  default_team_user_role: 'ts_team_user',
  default_team_admin_role: 'ts_team_admin',
  default_channel_guest_role: 'ts_channel_guest',
  default_channel_user_role: 'ts_channel_user',
  default_channel_admin_role: 'ts_channel_admin',
};
const channelScheme: SchemeRoles = {
  default_team_guest_role: '',
  default_team_user_role: '',
  default_team_admin_role: '',
  default_channel_guest_role: 'cs_channel_guest',
  default_channel_user_role: 'cs_channel_user',
  default_channel_admin_role: 'cs_channel_admin',
};

describe('splitRoles / isValidRoleName', () => {
  it.each([
    ['system_user system_admin', ['system_user', 'system_admin']],
    ['  team_user   ', ['team_user']],
    ['', []],
    ['a\tb\nc', ['a', 'b', 'c']],
  ])('splitRoles(%j)', (input, out) => expect(splitRoles(input)).toEqual(out));

  it.each([
    ['system_user', true],
    ['helpdesk2', true],
    ['', false],
    ['Team_User', false],
    ['bad-name', false],
    ['x'.repeat(64), true],
    ['x'.repeat(65), false],
  ])('isValidRoleName(%j) = %s', (name, ok) => expect(isValidRoleName(name)).toBe(ok));
});

describe('effectiveTeamRoles', () => {
  it.each<[string, (MemberRoles & { delete_at?: number }) | null, SchemeInput, string[]]>([
    ['not a member', null, null, []],
    ['member who left', member({ scheme_user: true, delete_at: 5 }), null, []],
    ['scheme_user, no scheme', member({ scheme_user: true }), null, ['team_user']],
    ['scheme_user+admin, no scheme', member({ scheme_user: true, scheme_admin: true }), null, ['team_user', 'team_admin']],
    ['scheme_guest, no scheme', member({ scheme_guest: true }), null, ['team_guest']],
    ['scheme_user through a team scheme', member({ scheme_user: true }), teamScheme, ['ts_team_user']],
    ['scheme_admin through a team scheme', member({ scheme_user: true, scheme_admin: true }), teamScheme, ['ts_team_user', 'ts_team_admin']],
    ['guest through a team scheme', member({ scheme_guest: true }), teamScheme, ['ts_team_guest']],
    ['explicit custom role kept', member({ scheme_user: true, roles: 'team_post_all' }), teamScheme, ['team_post_all', 'ts_team_user']],
    // the server treats built-in names in `roles` as flags (not-yet-migrated rows)
    ['legacy "team_user" in roles maps through the scheme', member({ roles: 'team_user' }), teamScheme, ['ts_team_user']],
    ['legacy "team_admin" in roles, no scheme', member({ roles: 'team_user team_admin' }), null, ['team_user', 'team_admin']],
    ['mapped name already in roles is not duplicated', member({ scheme_user: true, roles: 'ts_team_user' }), teamScheme, ['ts_team_user']],
    ['scheme with an empty field falls back to default', member({ scheme_guest: true }), { ...teamScheme, default_team_guest_role: '' }, ['team_guest']],
    ['unreadable scheme: server-computed roles taken as given', member({ scheme_user: true, roles: 'ts_team_user' }), UNREADABLE_SCHEME, ['ts_team_user']],
    ['unreadable scheme, empty roles: default names', member({ scheme_user: true, scheme_admin: true }), UNREADABLE_SCHEME, ['team_user', 'team_admin']],
  ])('%s', (_name, m, scheme, out) => {
    expect(effectiveTeamRoles(m, scheme)).toEqual(out);
  });
});

describe('effectiveChannelRoles', () => {
  it.each<[string, MemberRoles | null, SchemeInput, SchemeInput, string[]]>([
    ['not a member', null, null, null, []],
    ['scheme_user, no schemes', member({ scheme_user: true }), null, null, ['channel_user']],
    ['scheme_admin, no schemes', member({ scheme_user: true, scheme_admin: true }), null, null, ['channel_user', 'channel_admin']],
    ['guest, no schemes', member({ scheme_guest: true }), null, null, ['channel_guest']],
    ['own channel scheme wins', member({ scheme_user: true }), channelScheme, teamScheme, ['cs_channel_user']],
    ['no own scheme: the team scheme channel roles', member({ scheme_user: true, scheme_admin: true }), null, teamScheme, ['ts_channel_user', 'ts_channel_admin']],
    ['legacy channel_admin in roles', member({ roles: 'channel_user channel_admin' }), null, teamScheme, ['ts_channel_user', 'ts_channel_admin']],
    ['explicit role kept', member({ scheme_user: true, roles: 'special' }), null, null, ['special', 'channel_user']],
    ['channel scheme with empty field: team scheme, then default', member({ scheme_guest: true }), { ...channelScheme, default_channel_guest_role: '' }, teamScheme, ['ts_channel_guest']],
    ['unreadable own scheme: roles as given', member({ scheme_user: true, roles: 'cs_channel_user' }), UNREADABLE_SCHEME, teamScheme, ['cs_channel_user']],
    ['no own scheme, unreadable team scheme: roles as given', member({ scheme_user: true, roles: 'ts_channel_user' }), null, UNREADABLE_SCHEME, ['ts_channel_user']],
    ['no own scheme, unreadable team scheme, empty roles: defaults', member({ scheme_guest: true }), null, UNREADABLE_SCHEME, ['channel_guest']],
    ['complete own scheme: an unreadable team scheme is not needed', member({ scheme_user: true }), channelScheme, UNREADABLE_SCHEME, ['cs_channel_user']],
  ])('%s', (_name, m, own, team, out) => {
    expect(effectiveChannelRoles(m, own, team)).toEqual(out);
  });
});

describe('usesSchemeRoles', () => {
  it.each<[MemberRoles, 'team' | 'channel', boolean]>([
    [member(), 'team', false],
    [member({ roles: 'custom' }), 'team', false],
    [member({ scheme_user: true }), 'team', true],
    [member({ scheme_guest: true }), 'channel', true],
    [member({ roles: 'team_admin' }), 'team', true],
    [member({ roles: 'team_admin' }), 'channel', false],
    [member({ roles: 'channel_user' }), 'channel', true],
  ])('%j at %s → %s', (m, level, out) => expect(usesSchemeRoles(m, level)).toBe(out));
});

const defs: RoleDefinitions = new Map([
  ['system_admin', { permissions: ['manage_system', 'edit_other_users'], delete_at: 0 }],
  ['system_user', { permissions: ['create_team'], delete_at: 0 }],
  ['sys_manage_only', { permissions: ['manage_system'], delete_at: 0 }],
  ['helpdesk', { permissions: ['edit_other_users'], delete_at: 0 }],
  ['sys_invite', { permissions: ['invite_user'], delete_at: 0 }],
  ['team_user', { permissions: ['view_team', 'invite_user'], delete_at: 0 }],
  ['ts_team_user', { permissions: ['view_team'], delete_at: 0 }],
  ['team_admin', { permissions: ['manage_team', 'read_channel'], delete_at: 0 }],
  ['channel_user', { permissions: ['read_channel'], delete_at: 0 }],
  ['deleted_role', { permissions: ['edit_other_users'], delete_at: 99 }],
  ['user_manager', { permissions: ['sysconsole_write_user_management_users'], delete_at: 0 }],
  ['team_user_manager', { permissions: ['sysconsole_write_user_management_users'], delete_at: 0 }],
  ['deleted_user_manager', { permissions: ['sysconsole_write_user_management_users'], delete_at: 5 }],
  ['unknown_role', null],
]);

describe('rolesGrant', () => {
  it.each<[string[], string, boolean]>([
    [['helpdesk'], 'edit_other_users', true],
    [['system_user'], 'edit_other_users', false],
    [['deleted_role'], 'edit_other_users', false],
    [['unknown_role', 'never_defined'], 'edit_other_users', false],
    [['system_user', 'helpdesk'], 'edit_other_users', true],
    [[], 'create_team', false],
  ])('%j grant %s → %s', (names, perm, out) => expect(rolesGrant(names, defs, perm)).toBe(out));
});

describe('grantedBy (server check order and scope inheritance)', () => {
  const R = (system: string[], team: string[] = [], channel: string[] = []): EffectiveRoles => ({ system, team, channel });
  it.each<[string, Scope, EffectiveRoles, string, GrantSource]>([
    ['system role at system scope', 'system', R(['helpdesk']), 'edit_other_users', 'system'],
    ['team role never counts at system scope', 'system', R(['system_user'], ['team_admin']), 'manage_team', null],
    ['missing at system scope', 'system', R(['system_user']), 'edit_other_users', null],
    ['deleted role grants nothing', 'system', R(['deleted_role']), 'edit_other_users', null],
    ['team role at team scope', 'team', R(['system_user'], ['team_user']), 'invite_user', 'team'],
    ['system grant holds in every team', 'team', R(['sys_invite'], []), 'invite_user', 'system'],
    ['team scheme removes invite_user', 'team', R(['system_user'], ['ts_team_user']), 'invite_user', null],
    ['manage_system passes any team check', 'team', R(['sys_manage_only']), 'manage_team', 'system:manage_system'],
    ['non-member at team scope', 'team', R(['system_user']), 'view_team', null],
    ['channel role first', 'channel', R(['system_admin'], ['team_admin'], ['channel_user']), 'read_channel', 'channel'],
    ['manage_system before team roles', 'channel', R(['sys_manage_only'], ['team_admin']), 'read_channel', 'system:manage_system'],
    ['team grant holds in its channels', 'channel', R(['system_user'], ['team_admin']), 'read_channel', 'team'],
    ['system grant holds in every channel', 'channel', R(['sys_invite']), 'invite_user', 'system'],
    ['not in the channel, no broader grant', 'channel', R(['system_user'], ['team_user']), 'read_channel', null],
    ['channel roles never count at team scope', 'team', R(['system_user'], [], ['channel_user']), 'read_channel', null],
  ])('%s', (_name, scope, roles, perm, out) => {
    expect(grantedBy(scope, roles, perm, defs)).toBe(out);
    expect(holdsAt(scope, roles, perm, defs)).toBe(out !== null);
  });
});

describe('stored permissions only: no ancillary derivation at check time (server/channels/app/authorization.go RolesGrantPermission)', () => {
  const R = (system: string[], team: string[] = [], channel: string[] = []): EffectiveRoles => ({ system, team, channel });
  // `user_manager` stores sysconsole_write_user_management_users and nothing else: the server
  // writes ancillary permissions into role definitions (model/role.go AddAncillaryPermissions)
  // and never adds them while checking, so this role does not grant edit_other_users.
  it.each<[string, Scope, EffectiveRoles, string, GrantSource]>([
    ['the sysconsole permission does not grant edit_other_users', 'system', R(['system_user', 'user_manager']), 'edit_other_users', null],
    ['nor demote_to_guest', 'system', R(['user_manager']), 'demote_to_guest', null],
    ['nor promote_guest', 'system', R(['user_manager']), 'promote_guest', null],
    ['it still holds itself', 'system', R(['user_manager']), 'sysconsole_write_user_management_users', 'system'],
    ['nor edit_other_users at team scope', 'team', R(['user_manager']), 'edit_other_users', null],
    ['nor through a team role', 'team', R(['system_user'], ['team_user_manager']), 'edit_other_users', null],
    ['edit_other_users does not grant the sysconsole permission either', 'system', R(['helpdesk']), 'sysconsole_write_user_management_users', null],
    ['a deleted role grants nothing', 'system', R(['deleted_user_manager']), 'sysconsole_write_user_management_users', null],
  ])('%s', (_name, scope, roles, perm, out) => {
    expect(grantedBy(scope, roles, perm, defs)).toBe(out);
    expect(holdsAt(scope, roles, perm, defs)).toBe(out !== null);
  });

  it('a role that stores the ancillary permission grants it (as a built-in role written by the server does)', () => {
    const stored: RoleDefinitions = new Map([
      ['user_writer_full', { permissions: ['sysconsole_write_user_management_users', 'edit_other_users', 'demote_to_guest', 'promote_guest'], delete_at: 0 }],
    ]);
    expect(grantedBy('system', R(['user_writer_full']), 'edit_other_users', stored)).toBe('system');
  });
});

describe('roleNamesFor', () => {
  const roles: EffectiveRoles = { system: ['system_user', 'Bad-Name'], team: ['team_user', 'system_user'], channel: ['channel_user'] };
  it.each<[Scope, string[]]>([
    ['system', ['system_user']],
    ['team', ['system_user', 'team_user']],
    ['channel', ['system_user', 'team_user', 'channel_user']],
  ])('%s scope reads only the levels it uses, valid names, once each', (scope, out) => {
    expect(roleNamesFor(scope, roles)).toEqual(out);
  });
});
