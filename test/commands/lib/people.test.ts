import { describe, expect, it } from 'vitest';
import {
  authMethod,
  channelRoles,
  clip,
  displayName,
  isSystemAdmin,
  isTeamAdmin,
  isTeamGuest,
  systemRoles,
  teamRoles,
  userFlags,
  userLabel,
} from '../../../commands/lib/people.js';
import { channelMemberSchema, teamMemberSchema } from '../../../src/mattermost/models.js';
import { makeUser } from '../../helpers/context.js';

const tm = (p: Partial<{ scheme_user: boolean; scheme_admin: boolean; scheme_guest: boolean; roles: string; explicit_roles: string }>) =>
  teamMemberSchema.parse({ team_id: 't', user_id: 'u', ...p });
const cm = (p: Partial<{ scheme_user: boolean; scheme_admin: boolean; scheme_guest: boolean; roles: string; explicit_roles: string }>) =>
  channelMemberSchema.parse({ channel_id: 'c', user_id: 'u', ...p });

describe('names', () => {
  it('prefers the full name, then the nickname, then the username', () => {
    expect(displayName(makeUser({ username: 'ann', first_name: 'Ann', last_name: 'Lee', nickname: 'Annie' }))).toBe('Ann Lee');
    expect(displayName(makeUser({ username: 'ann', nickname: 'Annie' }))).toBe('Annie');
    expect(displayName(makeUser({ username: 'ann' }))).toBe('ann');
    expect(userLabel(makeUser({ username: 'ann', first_name: 'Ann' }))).toBe('Ann (@ann)');
    expect(userLabel(makeUser({ username: 'ann' }))).toBe('@ann');
  });

  it('clips on whole code points, never splitting an emoji', () => {
    expect(clip('short')).toBe('short');
    const long = '😀'.repeat(100);
    const out = clip(long, 10);
    expect(Array.from(out)).toHaveLength(10);
    expect(out.endsWith('…')).toBe(true);
    expect(out).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])/); // no lone high surrogate
  });
});

describe('roles', () => {
  it('names system roles, keeping custom ones as they are', () => {
    expect(systemRoles('system_admin system_user')).toBe('System admin, Member');
    expect(systemRoles('system_user helpdesk')).toBe('Member, helpdesk');
    expect(systemRoles('')).toBe('none');
    expect(isSystemAdmin(makeUser({ username: 'a', roles: 'system_user system_admin' }))).toBe(true);
    expect(isSystemAdmin(makeUser({ username: 'b', roles: 'system_user' }))).toBe(false);
  });

  it('derives team and channel roles from the scheme flags, plus explicit roles', () => {
    expect(teamRoles(tm({ scheme_user: true }))).toBe('Member');
    expect(teamRoles(tm({ scheme_user: true, scheme_admin: true }))).toBe('Admin');
    expect(teamRoles(tm({ scheme_guest: true }))).toBe('Guest');
    expect(teamRoles(tm({ roles: 'team_user team_admin' }))).toBe('Admin');
    expect(teamRoles(tm({ scheme_user: true, explicit_roles: 'release_manager' }))).toBe('Member, release_manager');
    expect(isTeamAdmin(tm({ scheme_user: true, scheme_admin: true }))).toBe(true);
    expect(isTeamGuest(tm({ scheme_guest: true }))).toBe(true);
    expect(channelRoles(cm({ scheme_user: true, scheme_admin: true }))).toBe('Admin');
    expect(channelRoles(cm({ roles: 'channel_user' }))).toBe('Member');
    // a team scheme's role names in `roles` are covered by the flags
    expect(teamRoles(tm({ scheme_user: true, scheme_admin: true, roles: 'ops_team_user ops_team_admin' }))).toBe('Admin');
  });
});

describe('accounts', () => {
  it('names sign-in methods and flags', () => {
    expect(authMethod('')).toBe('Email and password');
    expect(authMethod('ldap')).toBe('LDAP');
    expect(authMethod('gitlab')).toBe('GitLab');
    expect(authMethod('somethingnew')).toBe('somethingnew');
    expect(userFlags(makeUser({ username: 'b', is_bot: true, delete_at: 5 }))).toEqual(['bot', 'deactivated']);
    expect(userFlags(makeUser({ username: 'g', roles: 'system_guest' }))).toEqual(['guest']);
  });
});
