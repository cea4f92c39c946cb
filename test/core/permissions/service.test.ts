import { beforeEach, describe, expect, it } from 'vitest';
import type { Logger, Requirement } from '../../../src/core/command.js';
import { freshReads, type PermissionService } from '../../../src/core/permission-service.js';
import { createPermissionService, type PermissionServiceOptions } from '../../../src/core/permissions/service.js';
import { ApiError } from '../../../src/mattermost/errors.js';
import { wsEventSchema, type WsEvent } from '../../../src/mattermost/models.js';
import {
  builtInRoles,
  createStubApi,
  mkChannel,
  mkChannelMember,
  mkRole,
  mkScheme,
  mkTeam,
  mkTeamMember,
  mkUser,
  type StubApi,
} from './stub-api.js';

const sys = (permission: string): Requirement => ({ permission, scope: 'system' });
const team = (permission: string): Requirement => ({ permission, scope: 'team' });
const chan = (permission: string): Requirement => ({ permission, scope: 'channel' });

function recordingLogger(): Logger & { warnings: Array<{ obj: object; msg?: string }> } {
  const warnings: Array<{ obj: object; msg?: string }> = [];
  const l: Logger & { warnings: typeof warnings } = {
    warnings,
    debug() {},
    info() {},
    warn(obj, msg) {
      warnings.push({ obj, ...(msg ? { msg } : {}) });
    },
    error() {},
    child: () => l,
  };
  return l;
}

/** The little workspace every test starts from. */
function world() {
  const stub = createStubApi();
  const u = {
    root: mkUser('root', 'system_user system_admin'),
    plain: mkUser('plain'),
    guest: mkUser('guest', 'system_guest'),
    helper: mkUser('helper', 'system_user helpdesk'),
    lead: mkUser('lead'),
    gone: mkUser('gone', 'system_user', { delete_at: 1_700_000_000_000 }),
    robot: mkUser('robot', 'system_user', { is_bot: true }),
    me: mkUser('mmops', 'system_user system_admin', { is_bot: true }),
    ghost: mkUser('ghost', 'system_user ghost_role Invalid-Name'),
  };
  const strictScheme = mkScheme('strict', 'st');
  const chScheme = mkScheme('chs', 'cs', 'channel');
  const t = { main: mkTeam('main'), strict: mkTeam('strict', strictScheme.id) };
  const c = {
    general: mkChannel(t.main, 'general'),
    secret: mkChannel(t.main, 'secret', null, 'P'),
    strictGeneral: mkChannel(t.strict, 'strictgeneral'),
    own: mkChannel(t.main, 'ownscheme', chScheme.id),
    strictOwn: mkChannel(t.strict, 'strictown', chScheme.id),
    dm: mkChannel(null, 'dm', null, 'D'),
  };
  stub.add(...Object.values(u), ...Object.values(t), ...Object.values(c), strictScheme, chScheme, ...builtInRoles());
  stub.add(
    mkRole('helpdesk', ['edit_other_users']),
    mkRole('st_team_user', ['view_team', 'add_user_to_team']), // no invite_user
    mkRole('st_team_admin', ['manage_team', 'manage_team_roles']),
    mkRole('st_team_guest', ['view_team']),
    mkRole('st_channel_user', ['read_channel']), // no create_post
    mkRole('st_channel_admin', ['manage_channel_roles']),
    mkRole('st_channel_guest', ['read_channel']),
    mkRole('cs_channel_user', ['read_channel', 'create_post', 'use_channel_mentions']),
    mkRole('cs_channel_admin', ['manage_channel_roles']),
    mkRole('cs_channel_guest', []),
  );
  for (const who of [u.root, u.plain, u.helper, u.robot, u.me, u.ghost]) stub.add(mkTeamMember(t.main, who));
  stub.add(mkTeamMember(t.main, u.lead, { scheme_admin: true }), mkTeamMember(t.main, u.guest, { scheme_user: false, scheme_guest: true }));
  for (const who of [u.plain, u.me]) stub.add(mkTeamMember(t.strict, who));
  stub.add(mkTeamMember(t.strict, u.lead, { scheme_admin: true }));
  for (const who of [u.root, u.plain, u.lead, u.guest, u.me]) stub.add(mkChannelMember(c.general, who));
  stub.add(mkChannelMember(c.strictGeneral, u.plain), mkChannelMember(c.own, u.plain), mkChannelMember(c.dm, u.plain));
  stub.add(mkChannelMember(c.secret, u.lead, { scheme_admin: true }), mkChannelMember(c.strictOwn, u.helper));
  return { stub, u, t, c, strictScheme, chScheme };
}

type World = ReturnType<typeof world>;

describe('createPermissionService', () => {
  let w: World;
  let stub: StubApi;
  let clock: number;
  let log: ReturnType<typeof recordingLogger>;
  const make = (o: Partial<PermissionServiceOptions> = {}): PermissionService =>
    createPermissionService({ api: stub.api, now: () => clock, logger: log, ...o });

  beforeEach(() => {
    w = world();
    stub = w.stub;
    clock = 1_000_000;
    log = recordingLogger();
  });

  describe('decisions', () => {
    it.each<[string, keyof World['u'], Requirement, 'main' | 'strict' | null, boolean]>([
      ['admin holds everything system-wide', 'root', sys('manage_system'), null, true],
      ['plain user lacks edit_other_users', 'plain', sys('edit_other_users'), null, false],
      ['custom system role grants edit_other_users', 'helper', sys('edit_other_users'), null, true],
      ['team member may invite under default roles', 'plain', team('invite_user'), 'main', true],
      ['team scheme removes invite_user', 'plain', team('invite_user'), 'strict', false],
      ['team scheme keeps add_user_to_team', 'plain', team('add_user_to_team'), 'strict', true],
      ['team admin flag → manage_team_roles', 'lead', team('manage_team_roles'), 'main', true],
      ['team admin flag through the scheme', 'lead', team('manage_team_roles'), 'strict', true],
      ['plain member is no team admin', 'plain', team('manage_team_roles'), 'main', false],
      ['guest flag → team_guest only', 'guest', team('invite_user'), 'main', false],
      ['guest still views the team', 'guest', team('view_team'), 'main', true],
      ['non-member lacks view_team', 'helper', team('view_team'), 'strict', false],
      ['system admin holds team permissions anywhere', 'root', team('manage_team_roles'), 'strict', true],
      ['a team permission with no team: only system grants count', 'plain', team('view_team'), null, false],
    ])('%s', async (_n, who, req, teamKey, allowed) => {
      const perms = make();
      const d = await perms.check(w.u[who].id, req, teamKey ? { teamId: w.t[teamKey].id } : {});
      expect(d.allowed).toBe(allowed);
      if (!allowed) expect(d).toEqual({ allowed: false, reason: 'missing_permission', requirement: req });
    });

    it.each<[string, keyof World['u'], string, keyof World['c'], boolean]>([
      ['channel member reads the channel', 'plain', 'read_channel', 'general', true],
      ['non-member of a private channel', 'plain', 'read_channel', 'secret', false],
      ['manage_system passes channel checks', 'root', 'read_channel', 'secret', true],
      ['no own scheme: the team scheme channel roles apply', 'plain', 'create_post', 'strictGeneral', false],
      ['…which still grant read_channel', 'plain', 'read_channel', 'strictGeneral', true],
      ['own channel scheme', 'plain', 'use_channel_mentions', 'own', true],
      ['team permission holds in the team channels', 'plain', 'invite_user', 'secret', true],
      ['team scheme limits team permission in its channels', 'plain', 'invite_user', 'strictGeneral', false],
      ['DM channel: channel roles, then system', 'plain', 'create_post', 'dm', true],
      ['DM channel: no team roles', 'plain', 'invite_user', 'dm', false],
      ['channel admin flag', 'lead', 'manage_channel_roles', 'secret', true],
    ])('%s', async (_n, who, perm, ch, allowed) => {
      const perms = make();
      const d = await perms.check(w.u[who].id, chan(perm), { channelId: w.c[ch].id });
      expect(d.allowed).toBe(allowed);
    });

    it('uses the channel’s own team, not a mismatching where.teamId', async () => {
      const perms = make();
      // plain may invite in main, not in strict: the channel (in strict) decides
      const d = await perms.check(w.u.plain.id, chan('invite_user'), { channelId: w.c.strictGeneral.id, teamId: w.t.main.id });
      expect(d.allowed).toBe(false);
    });

    it('finds the team from the channel when a team check has only a channel', async () => {
      const perms = make();
      expect((await perms.check(w.u.plain.id, team('invite_user'), { channelId: w.c.general.id })).allowed).toBe(true);
      expect((await perms.check(w.u.plain.id, team('invite_user'), { channelId: w.c.strictGeneral.id })).allowed).toBe(false);
    });

    it('refuses deactivated users, other bots and unknown users with their reason', async () => {
      const perms = make({ selfUserId: w.u.me.id });
      expect(await perms.check(w.u.gone.id, sys('create_team'))).toEqual({ allowed: false, reason: 'inactive' });
      expect(await perms.check(w.u.robot.id, sys('create_team'))).toEqual({ allowed: false, reason: 'bot' });
      expect(await perms.check('nosuchuser0000000000000000', sys('create_team'))).toEqual({ allowed: false, reason: 'unknown_user' });
      expect(await perms.check(w.u.me.id, sys('manage_system'))).toEqual({ allowed: true });
    });

    it('lets bots through when allowBots is set (still by their roles)', async () => {
      const perms = make({ allowBots: true });
      expect(await perms.check(w.u.robot.id, sys('create_team'))).toEqual({ allowed: true });
      expect((await perms.check(w.u.robot.id, sys('manage_system'))).allowed).toBe(false);
    });

    it('a member who left the team is not a member', async () => {
      stub.add(mkTeamMember(w.t.main, w.u.plain, { delete_at: 5 }));
      expect((await make().check(w.u.plain.id, team('view_team'), { teamId: w.t.main.id })).allowed).toBe(false);
    });

    it('treats legacy built-in names in roles as scheme flags', async () => {
      stub.add(mkTeamMember(w.t.strict, w.u.plain, { scheme_user: false, roles: 'team_user' }));
      const perms = make();
      expect((await perms.check(w.u.plain.id, team('invite_user'), { teamId: w.t.strict.id })).allowed).toBe(false);
      expect((await perms.check(w.u.plain.id, team('add_user_to_team'), { teamId: w.t.strict.id })).allowed).toBe(true);
    });

    it('unknown and invalid role names grant nothing and are not asked for twice', async () => {
      const perms = make();
      expect((await perms.check(w.u.ghost.id, sys('edit_other_users'))).allowed).toBe(false);
      expect(stub.roleBatches).toEqual([['ghost_role', 'system_user']]); // 'Invalid-Name' never sent (the server 400s on it)
      stub.resetCalls();
      await perms.check(w.u.ghost.id, sys('edit_other_users'));
      expect(stub.totalCalls()).toBe(0);
    });

    it('a deleted role grants nothing', async () => {
      stub.add(mkRole('helpdesk', ['edit_other_users'], { delete_at: 42 }));
      expect((await make().check(w.u.helper.id, sys('edit_other_users'))).allowed).toBe(false);
    });

    it('propagates API failures other than 404', async () => {
      stub.failures.set('getTeamMember', new ApiError(500, 'x', 'boom', 'r', 'GET /teams/{team_id}/members/{user_id}'));
      await expect(make().check(w.u.plain.id, team('view_team'), { teamId: w.t.main.id })).rejects.toThrow(/boom/);
    });

    it('still refuses a deactivated user when the membership read fails', async () => {
      stub.failures.set('getTeamMember', new ApiError(500, 'x', 'boom', 'r', 'GET /teams/{team_id}/members/{user_id}'));
      expect(await make().check(w.u.gone.id, team('view_team'), { teamId: w.t.main.id })).toEqual({ allowed: false, reason: 'inactive' });
    });

    it('decides on system roles alone when the bot cannot read the channel', async () => {
      const perms = make();
      const hidden = 'hiddenchannel0000000000000';
      expect((await perms.check(w.u.plain.id, chan('read_channel'), { channelId: hidden })).allowed).toBe(false);
      expect((await perms.check(w.u.root.id, chan('read_channel'), { channelId: hidden })).allowed).toBe(true);
    });
  });

  describe('API calls and the cache', () => {
    it('system check: user + one roles call cold, nothing warm', async () => {
      const perms = make();
      await perms.check(w.u.helper.id, sys('edit_other_users'));
      expect(stub.calls).toEqual({ getUser: 1, getRolesByNames: 1 });
      expect(stub.roleBatches).toEqual([['helpdesk', 'system_user']]);
      stub.resetCalls();
      expect((await perms.check(w.u.helper.id, sys('edit_other_users'))).allowed).toBe(true);
      expect(stub.totalCalls()).toBe(0);
    });

    it('team check: member, team, scheme and one roles call cold; 0 warm', async () => {
      const perms = make();
      await perms.check(w.u.plain.id, team('invite_user'), { teamId: w.t.strict.id });
      expect(stub.calls).toEqual({ getUser: 1, getTeamMember: 1, getTeam: 1, getScheme: 1, getRolesByNames: 1 });
      expect(stub.roleBatches).toEqual([['st_team_user', 'system_user']]);
      stub.resetCalls();
      await perms.check(w.u.plain.id, team('invite_user'), { teamId: w.t.strict.id });
      await perms.check(w.u.plain.id, team('add_user_to_team'), { teamId: w.t.strict.id });
      expect(stub.totalCalls()).toBe(0);
    });

    it('does not read the team when the member has no scheme flags', async () => {
      stub.add(mkTeamMember(w.t.strict, w.u.plain, { scheme_user: false, roles: 'custom_only' }));
      await make().check(w.u.plain.id, team('invite_user'), { teamId: w.t.strict.id });
      expect(stub.calls.getTeam).toBeUndefined();
      expect(stub.calls.getScheme).toBeUndefined();
    });

    it('channel check cold, then warm with 0 calls; team and scheme shared across users', async () => {
      const perms = make();
      await perms.check(w.u.plain.id, chan('create_post'), { channelId: w.c.strictGeneral.id });
      expect(stub.calls).toEqual({ getUser: 1, getChannel: 1, getChannelMember: 1, getTeamMember: 1, getTeam: 1, getScheme: 1, getRolesByNames: 1 });
      expect(stub.roleBatches).toEqual([['st_channel_user', 'st_team_user', 'system_user']]);
      stub.resetCalls();
      await perms.check(w.u.plain.id, chan('read_channel'), { channelId: w.c.strictGeneral.id });
      expect(stub.totalCalls()).toBe(0);
      await perms.check(w.u.lead.id, chan('read_channel'), { channelId: w.c.strictGeneral.id });
      // a second user: only their own user and memberships, plus the admin role name
      expect(stub.calls).toEqual({ getUser: 1, getChannelMember: 1, getTeamMember: 1, getRolesByNames: 1 });
      expect(stub.roleBatches).toEqual([['st_team_admin']]);
    });

    it('a channel with its own complete scheme does not need the team scheme', async () => {
      const perms = make();
      // helper is in the channel but not in its team (strict, which has a scheme)
      expect((await perms.check(w.u.helper.id, chan('use_channel_mentions'), { channelId: w.c.strictOwn.id })).allowed).toBe(true);
      expect(stub.calls.getScheme).toBe(1);
      expect(stub.calls.getTeam).toBeUndefined();
    });

    it('concurrent cold checks share one read of each thing', async () => {
      const perms = make();
      const release = stub.hold('getUser');
      const ps = [
        perms.check(w.u.plain.id, team('invite_user'), { teamId: w.t.main.id }),
        perms.check(w.u.plain.id, team('view_team'), { teamId: w.t.main.id }),
        perms.getUser(w.u.plain.id),
      ];
      release();
      const [a, b] = await Promise.all(ps);
      expect(a).toEqual({ allowed: true });
      expect(b).toEqual({ allowed: true });
      expect(stub.calls.getUser).toBe(1);
      expect(stub.calls.getTeamMember).toBe(1);
      expect(stub.calls.getRolesByNames).toBe(1);
    });

    it('fresh bypasses the cache and sees the server’s current state', async () => {
      const perms = make();
      await perms.check(w.u.plain.id, team('invite_user'), { teamId: w.t.main.id });
      stub.resetCalls();
      // the server changes behind the bot's back (no event: docs/mattermost-notes.md §6.24)
      stub.add(mkTeamMember(w.t.main, w.u.plain, { scheme_user: false, scheme_guest: true }));
      expect((await perms.check(w.u.plain.id, team('invite_user'), { teamId: w.t.main.id })).allowed).toBe(true); // cached
      expect(stub.totalCalls()).toBe(0);
      const d = await perms.check(w.u.plain.id, team('invite_user'), { teamId: w.t.main.id }, { fresh: true });
      expect(d.allowed).toBe(false);
      expect(stub.calls.getUser).toBe(1);
      expect(stub.calls.getTeamMember).toBe(1);
      expect(stub.calls.getRolesByNames).toBe(1);
      // and the fresh answer refreshed the cache
      stub.resetCalls();
      expect((await perms.check(w.u.plain.id, team('invite_user'), { teamId: w.t.main.id })).allowed).toBe(false);
      expect(stub.totalCalls()).toBe(0);
    });

    it('fresh re-reads role definitions and schemes too', async () => {
      const perms = make();
      await perms.check(w.u.plain.id, team('invite_user'), { teamId: w.t.strict.id });
      stub.add(mkRole('st_team_user', ['view_team', 'invite_user']));
      stub.resetCalls();
      const d = await perms.check(w.u.plain.id, team('invite_user'), { teamId: w.t.strict.id }, { fresh: true });
      expect(d.allowed).toBe(true);
      expect(stub.calls).toEqual({ getUser: 1, getTeamMember: 1, getTeam: 1, getScheme: 1, getRolesByNames: 1 });
    });

    it('one invocation’s fresh reads: each thing read from the server once, however many checks (and getUser) share them', async () => {
      const perms = make();
      await perms.check(w.u.plain.id, team('invite_user'), { teamId: w.t.strict.id }); // warm cache
      stub.add(mkRole('st_team_user', ['view_team', 'invite_user']));
      stub.resetCalls();
      const reads = freshReads();
      const [a, b] = await Promise.all([
        perms.check(w.u.plain.id, team('invite_user'), { teamId: w.t.strict.id }, { fresh: reads }),
        perms.check(w.u.plain.id, team('view_team'), { teamId: w.t.strict.id }, { fresh: reads }),
      ]);
      expect(a).toEqual({ allowed: true }); // the server's current role, not the cached one
      expect(b).toEqual({ allowed: true });
      await perms.getUser(w.u.plain.id, { fresh: reads });
      await perms.check(w.u.plain.id, sys('create_team'), {}, { fresh: reads }); // system_user: read with the team check
      expect(stub.calls).toEqual({ getUser: 1, getTeamMember: 1, getTeam: 1, getScheme: 1, getRolesByNames: 1 });
      // the next invocation reads again
      stub.resetCalls();
      await perms.check(w.u.plain.id, team('invite_user'), { teamId: w.t.strict.id }, { fresh: freshReads() });
      expect(stub.calls).toEqual({ getUser: 1, getTeamMember: 1, getTeam: 1, getScheme: 1, getRolesByNames: 1 });
    });

    it('a failed fresh read fails every check of that invocation that needs it, and is not cached', async () => {
      const perms = make();
      const reads = freshReads();
      await expect(perms.getUser('nosuchuser0000000000000000', { fresh: reads })).rejects.toBeInstanceOf(ApiError);
      expect(await perms.check('nosuchuser0000000000000000', sys('create_team'), {}, { fresh: reads })).toEqual({ allowed: false, reason: 'unknown_user' });
      expect(stub.calls.getUser).toBe(1);
    });

    it('getUser caches unless fresh, and throws the API error for unknown users', async () => {
      const perms = make();
      expect((await perms.getUser(w.u.plain.id)).username).toBe('plain');
      await perms.getUser(w.u.plain.id);
      expect(stub.calls.getUser).toBe(1);
      await perms.getUser(w.u.plain.id, { fresh: true });
      expect(stub.calls.getUser).toBe(2);
      await expect(perms.getUser('nosuchuser0000000000000000')).rejects.toBeInstanceOf(ApiError);
    });

    it('entries expire after the TTL', async () => {
      const perms = make({ ttlMs: 30_000 });
      await perms.check(w.u.plain.id, team('invite_user'), { teamId: w.t.main.id });
      stub.add(mkTeamMember(w.t.main, w.u.plain, { scheme_user: false, scheme_guest: true }));
      stub.resetCalls();
      clock += 29_999;
      expect((await perms.check(w.u.plain.id, team('invite_user'), { teamId: w.t.main.id })).allowed).toBe(true);
      expect(stub.totalCalls()).toBe(0);
      clock += 1;
      expect((await perms.check(w.u.plain.id, team('invite_user'), { teamId: w.t.main.id })).allowed).toBe(false);
      expect(stub.calls.getTeamMember).toBe(1);
    });

    it('the cache never grows beyond maxEntries', async () => {
      const perms = make({ maxEntries: 4 });
      for (const who of ['root', 'plain', 'helper', 'lead', 'guest'] as const) {
        await perms.check(w.u[who].id, sys('create_team'));
        expect(perms.stats().size).toBeLessThanOrEqual(4);
      }
      stub.resetCalls();
      await perms.check(w.u.root.id, sys('create_team')); // evicted long ago
      expect(stub.calls.getUser).toBe(1);
    });

    it('stats counts hits and misses', async () => {
      const perms = make();
      await perms.check(w.u.helper.id, sys('edit_other_users'));
      const cold = perms.stats();
      expect(cold.hits).toBe(0);
      expect(cold.misses).toBe(3); // user, helpdesk, system_user
      expect(cold.size).toBe(3);
      await perms.check(w.u.helper.id, sys('edit_other_users'));
      expect(perms.stats()).toEqual({ hits: 3, misses: 3, size: 3 });
    });

    it('a read straddling an invalidation does not store stale data', async () => {
      const perms = make();
      const release = stub.hold('getUser');
      const pending = perms.getUser(w.u.plain.id);
      await Promise.resolve();
      perms.handleEvent(ev('user_updated', { user: { id: w.u.plain.id } }));
      release();
      await pending;
      stub.resetCalls();
      await perms.getUser(w.u.plain.id);
      expect(stub.calls.getUser).toBe(1);
    });
    it('an unrelated invalidation during a read does not stop it from being cached', async () => {
      const perms = make();
      const release = stub.hold('getUser');
      const pending = perms.getUser(w.u.plain.id);
      await Promise.resolve();
      perms.handleEvent(ev('user_updated', { user: { id: w.u.lead.id } }));
      release();
      await pending;
      stub.resetCalls();
      await perms.getUser(w.u.plain.id);
      expect(stub.totalCalls()).toBe(0);
    });

    it('a role definition read straddling role_updated for that role is not stored', async () => {
      const perms = make();
      await perms.getUser(w.u.helper.id);
      const release = stub.hold('getRolesByNames');
      const pending = perms.check(w.u.helper.id, sys('edit_other_users'));
      await new Promise((r) => setTimeout(r, 0));
      perms.handleEvent(ev('role_updated', { role: JSON.stringify(mkRole('helpdesk', [])) }));
      release();
      await pending;
      stub.resetCalls();
      await perms.check(w.u.helper.id, sys('edit_other_users'));
      expect(stub.roleBatches).toEqual([['helpdesk']]); // system_user stayed cached
    });
  });

  describe('invalidation by WebSocket events', () => {
    const j = (v: unknown): string => JSON.stringify(v);

    interface Case {
      name: string;
      /** warm the cache with this check (must be true before the change) */
      req: Requirement;
      who: keyof World['u'];
      where: (w: World) => { teamId?: string; channelId?: string };
      before: boolean;
      /** change the server state (no event yet) */
      change: (w: World) => void;
      event: (w: World) => WsEvent;
    }
    const cases: Case[] = [
      {
        name: 'user_role_updated',
        req: sys('manage_roles'),
        who: 'plain',
        where: () => ({}),
        before: false,
        change: (w) => w.stub.add(mkUser('plain', 'system_user system_admin')),
        event: (w) => ev('user_role_updated', { user_id: w.u.plain.id, roles: 'system_user system_admin' }, { user_id: w.u.plain.id }),
      },
      {
        name: 'user_updated (admin copy carrying changed roles, e.g. after a profile edit)',
        req: sys('edit_other_users'),
        who: 'helper',
        where: () => ({}),
        before: true,
        change: (w) => w.stub.add(mkUser('helper', 'system_user')),
        event: (w) => ev('user_updated', { user: { ...w.u.helper, roles: 'system_user' } }),
      },
      {
        name: 'user_updated (deactivation)',
        req: sys('create_team'),
        who: 'plain',
        where: () => ({}),
        before: true,
        change: (w) => w.stub.add(mkUser('plain', 'system_user', { delete_at: 5 })),
        event: (w) => ev('user_updated', { user: { ...w.u.plain, delete_at: 5 } }),
      },
      {
        name: 'user_activation_status_change (no data: all users)',
        req: sys('create_team'),
        who: 'plain',
        where: () => ({}),
        before: true,
        change: (w) => w.stub.add(mkUser('plain', 'system_user', { delete_at: 5 })),
        event: () => ev('user_activation_status_change', {}),
      },
      {
        name: 'memberrole_updated',
        req: team('manage_team_roles'),
        who: 'plain',
        where: (w) => ({ teamId: w.t.main.id }),
        before: false,
        change: (w) => w.stub.add(mkTeamMember(w.t.main, w.u.plain, { scheme_admin: true })),
        event: (w) => ev('memberrole_updated', { member: j(mkTeamMember(w.t.main, w.u.plain, { scheme_admin: true })) }, { user_id: w.u.plain.id }),
      },
      {
        name: 'memberrole_updated with an unreadable member (falls back to the broadcast user)',
        req: team('manage_team_roles'),
        who: 'plain',
        where: (w) => ({ teamId: w.t.main.id }),
        before: false,
        change: (w) => w.stub.add(mkTeamMember(w.t.main, w.u.plain, { scheme_admin: true })),
        event: (w) => ev('memberrole_updated', { member: '{not json' }, { user_id: w.u.plain.id }),
      },
      {
        name: 'role_updated',
        req: team('invite_user'),
        who: 'plain',
        where: (w) => ({ teamId: w.t.strict.id }),
        before: false,
        change: (w) => w.stub.add(mkRole('st_team_user', ['view_team', 'invite_user'])),
        event: () => ev('role_updated', { role: j(mkRole('st_team_user', ['view_team', 'invite_user'])) }),
      },
      {
        name: 'role_updated with a bad payload drops every role',
        req: sys('edit_other_users'),
        who: 'helper',
        where: () => ({}),
        before: true,
        change: (w) => w.stub.add(mkRole('helpdesk', [])),
        event: () => ev('role_updated', { role: 42 }),
      },
      {
        name: 'channel_member_updated',
        req: chan('manage_channel_roles'),
        who: 'plain',
        where: (w) => ({ channelId: w.c.general.id }),
        before: false,
        change: (w) => w.stub.add(mkChannelMember(w.c.general, w.u.plain, { scheme_admin: true })),
        event: (w) =>
          ev('channel_member_updated', { channelMember: j(mkChannelMember(w.c.general, w.u.plain, { scheme_admin: true })) }, { user_id: w.u.plain.id }),
      },
      {
        name: 'leave_team',
        req: team('view_team'),
        who: 'plain',
        where: (w) => ({ teamId: w.t.main.id }),
        before: true,
        change: (w) => w.stub.teamMembers.delete(`${w.t.main.id}:${w.u.plain.id}`),
        event: (w) => ev('leave_team', { user_id: w.u.plain.id, team_id: w.t.main.id }, { team_id: w.t.main.id }),
      },
      {
        name: 'leave_team also ends channel memberships',
        req: chan('read_channel'),
        who: 'plain',
        where: (w) => ({ channelId: w.c.general.id }),
        before: true,
        change: (w) => {
          w.stub.teamMembers.delete(`${w.t.main.id}:${w.u.plain.id}`);
          w.stub.channelMembers.delete(`${w.c.general.id}:${w.u.plain.id}`);
        },
        event: (w) => ev('leave_team', { user_id: w.u.plain.id, team_id: w.t.main.id }, { user_id: w.u.plain.id }),
      },
      {
        name: 'added_to_team',
        req: team('view_team'),
        who: 'helper',
        where: (w) => ({ teamId: w.t.strict.id }),
        before: false,
        change: (w) => w.stub.add(mkTeamMember(w.t.strict, w.u.helper)),
        event: (w) => ev('added_to_team', { team_id: w.t.strict.id, user_id: w.u.helper.id }, { user_id: w.u.helper.id }),
      },
      {
        name: 'user_removed (channel copy)',
        req: chan('read_channel'),
        who: 'plain',
        where: (w) => ({ channelId: w.c.general.id }),
        before: true,
        change: (w) => w.stub.channelMembers.delete(`${w.c.general.id}:${w.u.plain.id}`),
        event: (w) => ev('user_removed', { user_id: w.u.plain.id, remover_id: w.u.root.id }, { channel_id: w.c.general.id }),
      },
      {
        name: 'user_removed (personal copy)',
        req: chan('read_channel'),
        who: 'plain',
        where: (w) => ({ channelId: w.c.general.id }),
        before: true,
        change: (w) => w.stub.channelMembers.delete(`${w.c.general.id}:${w.u.plain.id}`),
        event: (w) => ev('user_removed', { channel_id: w.c.general.id, remover_id: w.u.root.id }, { user_id: w.u.plain.id }),
      },
      {
        name: 'user_added',
        req: chan('read_channel'),
        who: 'plain',
        where: (w) => ({ channelId: w.c.secret.id }),
        before: false,
        change: (w) => w.stub.add(mkChannelMember(w.c.secret, w.u.plain)),
        event: (w) => ev('user_added', { user_id: w.u.plain.id, team_id: w.t.main.id }, { channel_id: w.c.secret.id }),
      },
      {
        name: 'update_team_scheme',
        req: team('invite_user'),
        who: 'plain',
        where: (w) => ({ teamId: w.t.main.id }),
        before: true,
        change: (w) => w.stub.add(mkTeam('main', w.strictScheme.id)),
        event: (w) => ev('update_team_scheme', { team: j(mkTeam('main', w.strictScheme.id)) }),
      },
      {
        name: 'channel_scheme_updated',
        req: chan('use_channel_mentions'),
        who: 'plain',
        where: (w) => ({ channelId: w.c.general.id }),
        before: false,
        change: (w) => w.stub.add(mkChannel(w.t.main, 'general', w.chScheme.id)),
        event: (w) => ev('channel_scheme_updated', {}, { channel_id: w.c.general.id }),
      },
      {
        name: 'hello (a new connection: clear all)',
        req: team('view_team'),
        who: 'plain',
        where: (w) => ({ teamId: w.t.main.id }),
        before: true,
        change: (w) => w.stub.teamMembers.delete(`${w.t.main.id}:${w.u.plain.id}`),
        event: () => ev('hello', { server_version: '10.5.0', connection_id: 'x' }),
      },
    ];

    it.each(cases)('$name takes effect on the next check without waiting for the TTL', async (c) => {
      const perms = make();
      const where = c.where(w);
      expect((await perms.check(w.u[c.who].id, c.req, where)).allowed).toBe(c.before);
      c.change(w);
      expect((await perms.check(w.u[c.who].id, c.req, where)).allowed).toBe(c.before); // still cached
      perms.handleEvent(c.event(w));
      const after = await perms.check(w.u[c.who].id, c.req, where);
      expect(after.allowed).toBe(!c.before);
    });

    it('drops only what an event concerns', async () => {
      const perms = make();
      await perms.check(w.u.plain.id, team('view_team'), { teamId: w.t.main.id });
      await perms.check(w.u.lead.id, team('view_team'), { teamId: w.t.main.id });
      stub.resetCalls();
      perms.handleEvent(ev('memberrole_updated', { member: JSON.stringify(mkTeamMember(w.t.main, w.u.plain)) }));
      await perms.check(w.u.plain.id, team('view_team'), { teamId: w.t.main.id });
      await perms.check(w.u.lead.id, team('view_team'), { teamId: w.t.main.id });
      expect(stub.calls).toEqual({ getTeamMember: 1 });
    });

    it('ignores unrelated events and never throws on odd payloads', async () => {
      const perms = make();
      await perms.check(w.u.plain.id, team('view_team'), { teamId: w.t.main.id });
      const size = perms.stats().size;
      for (const e of [ev('posted', { post: '{}' }), ev('typing', {}), ev('status_change', { status: 'online' })]) perms.handleEvent(e);
      expect(perms.stats().size).toBe(size);
      for (const name of ['user_role_updated', 'user_updated', 'memberrole_updated', 'channel_member_updated', 'role_updated', 'leave_team', 'added_to_team', 'user_removed', 'update_team_scheme', 'channel_scheme_updated']) {
        expect(() => perms.handleEvent(ev(name, { user: 'nope', member: 7, channelMember: null, role: '[]', team: '{' }))).not.toThrow();
      }
    });

    it('clear() forgets everything', async () => {
      const perms = make();
      await perms.check(w.u.plain.id, team('view_team'), { teamId: w.t.main.id });
      perms.clear();
      expect(perms.stats().size).toBe(0);
    });
  });

  describe('unreadable schemes', () => {
    it('fall back to the default role names and warn once', async () => {
      stub.failures.set('getScheme', new ApiError(403, 'api.context.permissions.app_error', 'no', 'r', 'GET /schemes/{scheme_id}'));
      const perms = make();
      // under default roles plain may invite in strict (the server would not: the log says checks may be inexact)
      expect((await perms.check(w.u.plain.id, team('invite_user'), { teamId: w.t.strict.id })).allowed).toBe(true);
      await perms.check(w.u.lead.id, team('view_team'), { teamId: w.t.strict.id });
      await perms.check(w.u.plain.id, team('view_team'), { teamId: w.t.strict.id }, { fresh: true });
      expect(log.warnings.filter((x) => x.msg?.includes('scheme'))).toHaveLength(1);
      expect(stub.roleBatches[0]).toContain('team_user');
    });

    it('use the mapped role names the server put in the member payload', async () => {
      stub.failures.set('getScheme', new ApiError(403, 'api.context.permissions.app_error', 'no', 'r', 'GET /schemes/{scheme_id}'));
      // what a real server returns: roles = scheme-implied + explicit names
      stub.add(mkTeamMember(w.t.strict, w.u.plain, { roles: 'st_team_user' }));
      stub.add(mkChannelMember(w.c.strictGeneral, w.u.plain, { roles: 'st_channel_user' }));
      const perms = make();
      expect((await perms.check(w.u.plain.id, team('invite_user'), { teamId: w.t.strict.id })).allowed).toBe(false);
      expect((await perms.check(w.u.plain.id, team('add_user_to_team'), { teamId: w.t.strict.id })).allowed).toBe(true);
      expect((await perms.check(w.u.plain.id, chan('create_post'), { channelId: w.c.strictGeneral.id })).allowed).toBe(false);
      expect((await perms.check(w.u.plain.id, chan('read_channel'), { channelId: w.c.strictGeneral.id })).allowed).toBe(true);
    });

    it('other scheme errors propagate', async () => {
      stub.failures.set('getScheme', new ApiError(500, 'x', 'boom', 'r', 'GET /schemes/{scheme_id}'));
      await expect(make().check(w.u.plain.id, team('invite_user'), { teamId: w.t.strict.id })).rejects.toThrow(/boom/);
    });
  });
});

/** A WebSocket event, parsed through the real envelope schema. */
function ev(event: string, data: Record<string, unknown>, broadcast: Record<string, unknown> = {}): WsEvent {
  return wsEventSchema.parse({ event, data, broadcast: { user_id: '', channel_id: '', team_id: '', ...broadcast }, seq: 1 });
}
