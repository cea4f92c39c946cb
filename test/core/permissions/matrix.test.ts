/**
 * The permission matrix of the issue, against the fake Mattermost server (demo seed, real
 * role definitions, the `ops-scheme` team scheme) through the real REST client with the
 * bot's token: every (user × requirement) cell is allowed or refused as written in the
 * table, and the fake server's own permission logic (which implements the server's
 * checks independently) agrees with every cell.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineCommand, defineSubcommand, type Requirement, type Scope } from '../../../src/core/command.js';
import type { PermissionService } from '../../../src/core/permission-service.js';
import { resolveBotRights } from '../../../src/core/permissions/bot-rights.js';
import { createPermissionService } from '../../../src/core/permissions/service.js';
import { reply } from '../../../src/core/reply.js';
import { roleSchema, type WsEvent } from '../../../src/mattermost/models.js';
import { createRestApi } from '../../../src/mattermost/rest-api.js';
import { createWebSocketClient, type MattermostSocket } from '../../../src/mattermost/websocket.js';
import { startFakeMattermost, type FakeMattermost } from '../../../src/sandbox/fake-server.js';
import { channelIdFor, SANDBOX_BOT_TOKEN, SeedBuilder, teamIdFor, tokenFor, userIdFor } from '../../../src/sandbox/seed.js';

type Place = 'acme' | 'ops' | 'incidents' | 'helpdesk' | 'dm' | 'square';

/** The requirements the commands use, in table column order. */
const COLUMNS: Array<{ label: string; permission: string; scope: Scope; place?: Place }> = [
  { label: 'edit_other_users', permission: 'edit_other_users', scope: 'system' },
  { label: 'manage_system', permission: 'manage_system', scope: 'system' },
  { label: 'manage_roles', permission: 'manage_roles', scope: 'system' },
  { label: 'sysconsole_write_users', permission: 'sysconsole_write_user_management_users', scope: 'system' },
  { label: 'view_team@acme', permission: 'view_team', scope: 'team', place: 'acme' },
  { label: 'view_team@ops', permission: 'view_team', scope: 'team', place: 'ops' },
  { label: 'manage_team_roles@acme', permission: 'manage_team_roles', scope: 'team', place: 'acme' },
  { label: 'manage_team_roles@ops', permission: 'manage_team_roles', scope: 'team', place: 'ops' },
  { label: 'add_user_to_team@acme', permission: 'add_user_to_team', scope: 'team', place: 'acme' },
  { label: 'add_user_to_team@ops', permission: 'add_user_to_team', scope: 'team', place: 'ops' },
  { label: 'invite_user@acme', permission: 'invite_user', scope: 'team', place: 'acme' },
  { label: 'invite_user@ops', permission: 'invite_user', scope: 'team', place: 'ops' },
  // members: alice bob grace mmops (private)
  { label: 'read_channel@ops:incidents', permission: 'read_channel', scope: 'channel', place: 'incidents' },
  // members: alice carol heidi ann mmops
  { label: 'read_channel@acme:helpdesk', permission: 'read_channel', scope: 'channel', place: 'helpdesk' },
  // the DM between dave and ann (no team)
  { label: 'read_channel@dm(dave,ann)', permission: 'read_channel', scope: 'channel', place: 'dm' },
  // every acme member, guest erin included
  { label: 'read_channel@acme:town-square', permission: 'read_channel', scope: 'channel', place: 'square' },
];

/**
 * Y = allowed, n = refused for a missing permission, I = refused: inactive, B = refused: bot.
 *
 *            system: eou msys mrol swu | view acme ops | mtr acme ops | add acme ops | inv acme ops | read inc help dm square
 */
const MATRIX: Record<string, string> = {
  // system admin: everything, in channels she is not in too (the DM)
  alice: '   Y Y Y Y | Y Y | Y Y | Y Y | Y Y | Y Y Y Y',
  // system_user_manager: team powers system-wide and read_channel everywhere, but not
  // edit_other_users / invite_user; and invite_user in ops is removed by ops-scheme
  carol: '   n n n n | Y Y | Y Y | Y Y | Y n | Y Y Y Y',
  // plain user: team user in acme and ops (ops-scheme: no invite); only his own channels
  dave: '    n n n n | Y Y | n n | Y Y | Y n | n n Y Y',
  // guest: team_guest in acme only, channel_guest in town-square
  erin: '    n n n n | Y n | n n | n n | n n | n n n Y',
  // team admin in ops (ops_team_admin has manage_team_roles but, like ops_team_user, no invite_user)
  bob: '     n n n n | Y Y | n Y | Y Y | Y n | Y n n Y',
  // channel admin in ops:incidents
  grace: '   n n n n | Y Y | n n | Y Y | Y n | Y n n Y',
  // custom system role helpdesk = edit_other_users
  heidi: '   Y n n n | Y Y | n n | Y Y | Y n | n Y n Y',
  // deactivated
  frank: '   I I I I | I I | I I | I I | I I | I I I I',
  // another bot
  otherbot: 'B B B B | B B | B B | B B | B B | B B B B',
  // the bot itself (system admin, selfUserId): never refused for being a bot
  mmops: '   Y Y Y Y | Y Y | Y Y | Y Y | Y Y | Y Y Y Y',
};

const cellsOf = (row: string): string[] => row.replace(/\|/g, ' ').trim().split(/\s+/);

let mm: FakeMattermost;
let perms: PermissionService;
let where: Record<Place, { teamId?: string; channelId?: string }>;
let dmId: string;

beforeAll(async () => {
  mm = await startFakeMattermost({ seed: 'demo' });
  const post = await mm.postAs('dave', '@ann', 'hi ann');
  dmId = post.channel_id;
  where = {
    acme: { teamId: teamIdFor('acme') },
    ops: { teamId: teamIdFor('ops') },
    incidents: { channelId: channelIdFor('ops', 'incidents') },
    helpdesk: { channelId: channelIdFor('acme', 'helpdesk') },
    dm: { channelId: dmId },
    square: { channelId: channelIdFor('acme', 'town-square') },
  };
  const api = createRestApi({ url: mm.url, token: SANDBOX_BOT_TOKEN });
  perms = createPermissionService({ api, selfUserId: userIdFor('mmops'), ttlMs: 3_600_000 });
});
afterAll(async () => {
  await mm?.close();
});

describe('the permission matrix (fake server, demo seed)', () => {
  it('the table is well-formed', () => {
    for (const [user, row] of Object.entries(MATRIX)) expect(cellsOf(row), user).toHaveLength(COLUMNS.length);
  });

  describe.each(Object.keys(MATRIX))('%s', (username) => {
    it.each(COLUMNS.map((c, i) => ({ ...c, i })))('$label', async (col) => {
      const expected = cellsOf(MATRIX[username] ?? '')[col.i];
      const req: Requirement = { permission: col.permission, scope: col.scope };
      const at = col.place ? where[col.place] : {};
      const d = await perms.check(userIdFor(username), req, at);

      switch (expected) {
        case 'Y':
          expect(d).toEqual({ allowed: true });
          break;
        case 'n':
          expect(d).toEqual({ allowed: false, reason: 'missing_permission', requirement: req });
          break;
        case 'I':
          expect(d).toEqual({ allowed: false, reason: 'inactive' });
          break;
        case 'B':
          expect(d).toEqual({ allowed: false, reason: 'bot' });
          break;
        default:
          throw new Error(`bad cell ${String(expected)}`);
      }

      // The fake server's own checks (SessionHasPermissionTo / ToTeam / ToChannel) agree.
      if (expected === 'Y' || expected === 'n') {
        const user = mm.store.users.get(userIdFor(username));
        if (!user) throw new Error(`no ${username} in the seed`);
        const server =
          col.scope === 'system'
            ? mm.store.hasPermission(user, col.permission)
            : col.scope === 'team'
              ? mm.store.hasTeamPermission(user, at.teamId ?? '', col.permission)
              : mm.store.hasChannelPermission(user, at.channelId ?? '', col.permission);
        expect(server).toBe(expected === 'Y');
      }
    });
  });

  it('a second pass over the whole matrix is served from the cache (0 API calls)', async () => {
    mm.clearRequests();
    for (const username of Object.keys(MATRIX)) {
      for (const col of COLUMNS) {
        await perms.check(userIdFor(username), { permission: col.permission, scope: col.scope }, col.place ? where[col.place] : {});
      }
    }
    expect(mm.requests).toEqual([]);
  });

  it('a fresh check goes back to the server', async () => {
    mm.clearRequests();
    const d = await perms.check(userIdFor('dave'), { permission: 'invite_user', scope: 'team' }, where.ops, { fresh: true });
    expect(d.allowed).toBe(false);
    const paths = mm.requests.map((r) => `${r.method} ${r.path}`);
    expect(paths).toContain(`GET /api/v4/users/${userIdFor('dave')}`);
    expect(paths).toContain(`GET /api/v4/teams/${teamIdFor('ops')}/members/${userIdFor('dave')}`);
    expect(paths).toContain('POST /api/v4/roles/names');
  });
});

describe('stored permissions only: custom roles with and without the ancillary permissions written in (docs/mattermost-notes.md §5.9)', () => {
  let fake: FakeMattermost;
  let service: PermissionService;

  /** Columns: the ancillary permissions of sysconsole_write_user_management_users, the key itself, manage_system; system and team scope. */
  const COLS: Array<{ permission: string; scope: Scope }> = [
    { permission: 'edit_other_users', scope: 'system' },
    { permission: 'demote_to_guest', scope: 'system' },
    { permission: 'promote_guest', scope: 'system' },
    { permission: 'sysconsole_write_user_management_users', scope: 'system' },
    { permission: 'manage_system', scope: 'system' },
    { permission: 'edit_other_users', scope: 'team' },
  ];
  const ROWS: Record<string, string> = {
    // the role stores only the sysconsole permission (a role patched through the API): nothing else
    usermgr: 'n n n Y n n',
    // the role stores the ancillary permissions too (as the System Console writes it): exactly those
    fullmgr: 'Y Y Y Y n Y',
    // edit_other_users grants neither the sysconsole permission nor the guest ones
    helper: ' Y n n n n Y',
    plain: '  n n n n n n',
  };

  beforeAll(async () => {
    const b = new SeedBuilder();
    b.user({ username: 'mmops', is_bot: true, roles: 'system_user system_admin' }, { token: SANDBOX_BOT_TOKEN });
    b.role('user_writer', ['sysconsole_write_user_management_users'], { display_name: 'User writer' });
    b.role('user_writer_full', ['sysconsole_write_user_management_users', 'edit_other_users', 'demote_to_guest', 'promote_guest'], {
      display_name: 'User writer (with ancillary permissions)',
    });
    b.role('helper', ['edit_other_users']);
    b.user({ username: 'usermgr', roles: 'system_user user_writer' });
    b.user({ username: 'fullmgr', roles: 'system_user user_writer_full' });
    b.user({ username: 'helper', roles: 'system_user helper' });
    b.user({ username: 'plain' });
    b.team('acme', 'Acme Corp');
    b.channel('acme', 'town-square', 'Town Square');
    b.join('acme', ['mmops', 'usermgr', 'fullmgr', 'helper', 'plain'], ['town-square']);
    fake = await startFakeMattermost({ seed: b.build() });
    service = createPermissionService({ api: createRestApi({ url: fake.url, token: SANDBOX_BOT_TOKEN }), selfUserId: userIdFor('mmops') });
  });
  afterAll(async () => {
    await fake?.close();
  });

  describe.each(Object.keys(ROWS))('%s', (username) => {
    it.each(COLS.map((c, i) => ({ ...c, i, label: `${c.permission}@${c.scope}` })))('$label', async (col) => {
      const expected = cellsOf(ROWS[username] ?? '')[col.i] === 'Y';
      const where = col.scope === 'team' ? { teamId: teamIdFor('acme') } : {};
      const d = await service.check(userIdFor(username), { permission: col.permission, scope: col.scope }, where);
      expect(d.allowed).toBe(expected);
      const user = fake.store.users.get(userIdFor(username));
      if (!user) throw new Error(`no ${username}`);
      const server = col.scope === 'system' ? fake.store.hasPermission(user, col.permission) : fake.store.hasTeamPermission(user, teamIdFor('acme'), col.permission);
      expect(server).toBe(expected);
    });
  });

  it('the sandbox server refuses the usermgr the endpoints the bot refuses (GET /users/{id}/audits, PUT /users/{id}/mfa)', async () => {
    // usermgr has no token in this seed: check through the fake's own permission logic
    const usermgr = fake.store.users.get(userIdFor('usermgr'));
    if (!usermgr) throw new Error('no usermgr');
    expect(fake.store.hasPermissionToUser(usermgr, userIdFor('plain'))).toBe(false);
    const fullmgr = fake.store.users.get(userIdFor('fullmgr'));
    if (!fullmgr) throw new Error('no fullmgr');
    expect(fake.store.hasPermissionToUser(fullmgr, userIdFor('plain'))).toBe(true);
  });
});

describe('role changes pushed over the WebSocket take effect on the next check', () => {
  let fake: FakeMattermost;
  let socket: MattermostSocket;
  let service: PermissionService;
  const seen: WsEvent[] = [];

  const nextEvent = (name: string, timeoutMs = 5_000): Promise<WsEvent> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new Error(`no ${name} event within ${timeoutMs} ms`));
      }, timeoutMs);
      const off = socket.onEvent((ev) => {
        if (ev.event !== name) return;
        clearTimeout(timer);
        off();
        resolve(ev);
      });
    });

  beforeAll(async () => {
    fake = await startFakeMattermost({ seed: 'demo' });
    const api = createRestApi({ url: fake.url, token: SANDBOX_BOT_TOKEN });
    // an hour-long TTL: only the events can explain a changed answer
    service = createPermissionService({ api, selfUserId: userIdFor('mmops'), ttlMs: 3_600_000 });
    socket = createWebSocketClient({ url: fake.url, token: SANDBOX_BOT_TOKEN });
    socket.onEvent((ev) => {
      seen.push(ev);
      service.handleEvent(ev);
    });
    socket.start();
    await socket.ready();
  });
  afterAll(async () => {
    await socket?.stop();
    await fake?.close();
  });

  it('a system-role change reaches the bot by no event at all (user_role_updated goes to that user only): only a fresh read sees it', async () => {
    const dave = userIdFor('dave');
    const req: Requirement = { permission: 'manage_roles', scope: 'system' };
    expect((await service.check(dave, req)).allowed).toBe(false);
    const before = seen.length;
    // the change goes through the real endpoint with the bot's (admin) token
    await createRestApi({ url: fake.url, token: SANDBOX_BOT_TOKEN }).updateUserRoles(dave, 'system_user system_admin');
    // a marker broadcast to everyone after the change: the hub keeps order, so anything the
    // role change published to the bot would have arrived before it
    const marker = nextEvent('role_updated');
    fake.emit('role_updated', { role: JSON.stringify(roleSchema.parse(fake.store.roles.get('system_user'))) });
    await marker;
    const during = seen.slice(before).map((e) => e.event);
    expect(during).toEqual(['role_updated']); // no user_role_updated, no user_updated
    // hour-long TTL, no event: the cached answer is stale
    expect((await service.check(dave, req)).allowed).toBe(false);
    // a fresh read (what privileged subcommands do) sees the promotion at once
    expect(await service.check(dave, req, {}, { fresh: true })).toEqual({ allowed: true });
    await createRestApi({ url: fake.url, token: SANDBOX_BOT_TOKEN }).updateUserRoles(dave, 'system_user');
  });

  it('role_updated after a role’s permissions change', async () => {
    const heidi = userIdFor('heidi');
    const req: Requirement = { permission: 'edit_other_users', scope: 'system' };
    expect((await service.check(heidi, req)).allowed).toBe(true);
    const role = fake.store.roles.get('helpdesk');
    if (!role) throw new Error('no helpdesk role in the seed');
    role.permissions = [];
    // without an event the cached definition still answers
    expect((await service.check(heidi, req)).allowed).toBe(true);
    const arrived = nextEvent('role_updated');
    fake.emit('role_updated', { role: JSON.stringify(roleSchema.parse(role)) });
    await arrived;
    expect(await service.check(heidi, req)).toEqual({ allowed: false, reason: 'missing_permission', requirement: req });
  });

  it('user_updated emitted for a deactivation', async () => {
    const grace = userIdFor('grace');
    const req: Requirement = { permission: 'view_team', scope: 'team' };
    expect((await service.check(grace, req, { teamId: teamIdFor('acme') })).allowed).toBe(true);
    const user = fake.store.users.get(grace);
    if (!user) throw new Error('no grace');
    user.delete_at = Date.now();
    const arrived = nextEvent('user_updated');
    fake.emit('user_updated', { user: fake.store.userView(user, undefined) });
    await arrived;
    expect(await service.check(grace, req, { teamId: teamIdFor('acme') })).toEqual({ allowed: false, reason: 'inactive' });
  });
});

describe('resolveBotRights against the fake server', () => {
  const sub = (name: string, botNeeds: Requirement[]) =>
    defineSubcommand({
      name,
      summary: name,
      usage: name,
      examples: [],
      args: z.object({}),
      access: { self: null },
      botNeeds,
      async execute() {
        return reply([]);
      },
    });
  const commands = [
    defineCommand({
      name: 'user',
      summary: '',
      hint: '',
      ownTrigger: true,
      subcommands: [
        sub('sessions', [{ permission: 'edit_other_users', scope: 'system' }]),
        sub('roles', [{ permission: 'manage_roles', scope: 'system' }]),
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
      ],
    }),
  ];

  it('a non-admin bot (otherbot, team user in acme and ops) is told what it cannot do', async () => {
    const fake = await startFakeMattermost({ seed: 'demo' });
    try {
      const api = createRestApi({ url: fake.url, token: tokenFor('otherbot') });
      const me = await api.getMe();
      const service = createPermissionService({ api, selfUserId: me.id });
      const teams = (await api.getTeamsForUser(me.id)).map((t) => t.id).sort();
      expect(teams).toEqual([teamIdFor('acme'), teamIdFor('ops')].sort());
      const rights = await resolveBotRights(service, me.id, commands, teams);
      expect(rights.available).toEqual(['team add']);
      expect(rights.unavailable).toEqual([
        { command: 'user sessions', lacks: { permission: 'edit_other_users', scope: 'system' } },
        { command: 'user roles', lacks: { permission: 'manage_roles', scope: 'system' } },
        { command: 'team invite', lacks: { permission: 'invite_user', scope: 'team' }, teamIds: [teamIdFor('ops')] },
      ]);
    } finally {
      await fake.close();
    }
  });

  it('the admin bot (mmops) can carry out everything', async () => {
    const api = createRestApi({ url: mm.url, token: SANDBOX_BOT_TOKEN });
    const rights = await resolveBotRights(perms, userIdFor('mmops'), commands, [teamIdFor('acme'), teamIdFor('ops')]);
    expect(rights.unavailable).toEqual([]);
    expect(rights.available).toEqual(['user sessions', 'user roles', 'team add', 'team invite']);
    expect((await api.getMe()).id).toBe(userIdFor('mmops'));
  });
});
