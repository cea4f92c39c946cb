/**
 * The visibility module (src/core/permissions/visibility.ts) and the user directory cut
 * to a caller's view (src/core/users.ts): the server's "who may see whom" rule
 * (docs/mattermost-notes.md §2.3), its cache, its failure policy, and "an invisible
 * person is answered exactly like an unknown one, with the same API calls".
 */
import { describe, expect, it } from 'vitest';
import type { Requirement } from '../../../src/core/command.js';
import { isUserError } from '../../../src/core/errors.js';
import type { Decision, Where } from '../../../src/core/permission-service.js';
import { createVisibilityService, viewerSeeing, type Viewer } from '../../../src/core/permissions/visibility.js';
import { createUserCache, createUserDirectory } from '../../../src/core/users.js';
import { ApiError, NetworkError, ProtocolError } from '../../../src/mattermost/errors.js';
import { channelMemberSchema, teamMemberSchema, type ChannelMember, type TeamMember, type WsEvent } from '../../../src/mattermost/models.js';
import { makeChannel, makeTeam, makeUser, stubApi } from '../../helpers/context.js';

const guest = makeUser({ username: 'guest', roles: 'system_guest' });
const member = makeUser({ username: 'member' });
const ann = makeUser({ username: 'ann', first_name: 'Ann', last_name: 'Lee', email: 'ann@example.com' });
const anna = makeUser({ username: 'anna', first_name: 'Anna', last_name: 'Lee', email: 'anna@example.com' });
const ivan = makeUser({ username: 'ivan', first_name: 'Ivan', email: 'ivan@example.com' });
const left = makeUser({ username: 'left' });
const people = [guest, member, ann, anna, ivan, left];

const acme = makeTeam({ name: 'acme' });
const ops = makeTeam({ name: 'ops' });
const gone = makeTeam({ name: 'gone', delete_at: 5 });
const lobby = makeChannel({ name: 'lobby', team_id: acme.id });
const dm = makeChannel({ name: 'dm', type: 'D', team_id: '' });

const cm = (channelId: string, userId: string): ChannelMember => channelMemberSchema.parse({ channel_id: channelId, user_id: userId, scheme_user: true });
const tm = (teamId: string, userId: string, deleteAt = 0): TeamMember => teamMemberSchema.parse({ team_id: teamId, user_id: userId, scheme_user: true, delete_at: deleteAt });

interface World {
  /** `permission` (system) or `permission@teamId` held, per user id */
  grants: Record<string, string[]>;
  teams: Record<string, typeof acme[]>;
  channels: Record<string, Array<typeof lobby>>;
  channelMembers: Record<string, ChannelMember[]>;
  teamMembers: Record<string, TeamMember[]>;
}

function world(over: Partial<World> = {}): World {
  return {
    grants: { [member.id]: ['view_members'] },
    teams: { [guest.id]: [acme, ops, gone] },
    channels: { [guest.id]: [lobby, dm] },
    channelMembers: { [lobby.id]: [cm(lobby.id, guest.id), cm(lobby.id, ann.id)], [dm.id]: [cm(dm.id, guest.id), cm(dm.id, anna.id)] },
    teamMembers: { [ops.id]: [tm(ops.id, ivan.id), tm(ops.id, left.id, 9)], [acme.id]: [tm(acme.id, member.id)] },
    ...over,
  };
}

const page = <T,>(all: T[], p: { page: number; perPage: number }): T[] => all.slice(p.page * p.perPage, (p.page + 1) * p.perPage);

function setup(w: World = world(), opts: { now?: () => number; maxVisible?: number } = {}) {
  const checks: Array<{ userId: string; req: Requirement; where?: Where }> = [];
  const permissions = {
    async check(userId: string, req: Requirement, where?: Where): Promise<Decision> {
      checks.push({ userId, req, ...(where ? { where } : {}) });
      const held = w.grants[userId] ?? [];
      const ok = req.scope === 'system' ? held.includes(req.permission) : held.includes(req.permission) || held.includes(`${req.permission}@${where?.teamId ?? ''}`);
      return ok ? { allowed: true } : { allowed: false, reason: 'missing_permission', requirement: req };
    },
  };
  const api = stubApi({
    getTeamsForUser: async (id) => w.teams[id] ?? [],
    getChannelsForUser: async (id) => w.channels[id] ?? [],
    getTeamMembers: async (teamId, p) => page(w.teamMembers[teamId] ?? [], p),
    getChannelMembers: async (channelId, p) => page(w.channelMembers[channelId] ?? [], p),
  });
  const visibility = createVisibilityService({ api, permissions, ...(opts.now ? { now: opts.now } : {}), ...(opts.maxVisible ? { maxVisible: opts.maxVisible } : {}) });
  return { api, visibility, checks, w };
}

const seen = (v: Viewer): string[] => people.filter((p) => v.sees(p.id)).map((p) => p.username);
const ev = (event: string): WsEvent => ({ event, data: {}, broadcast: { omit_users: null, user_id: '', channel_id: '', team_id: '' }, seq: 1 });

describe('the rule', () => {
  it('someone holding view_members system-wide sees everyone, without reading any membership', async () => {
    const { api, visibility } = setup();
    const v = await visibility.viewer(member.id);
    expect(v.everyone).toBe(true);
    expect(v.sees(ivan.id)).toBe(true);
    expect(v.sees('no-such-id-at-all-xxxxxxxxx')).toBe(true);
    expect(api.calls).toEqual([]);
  });

  it('a guest sees themself and the members of their channels (DMs included), nobody else', async () => {
    const { visibility } = setup();
    const v = await visibility.viewer(guest.id);
    expect(v.everyone).toBe(false);
    expect(seen(v)).toEqual(['guest', 'ann', 'anna']);
  });

  it('view_members at team level adds the active members of that team (live teams only)', async () => {
    const w = world({ grants: { [guest.id]: [`view_members@${ops.id}`, `view_members@${gone.id}`] } });
    const { api, visibility, checks } = setup(w);
    const v = await visibility.viewer(guest.id);
    expect(seen(v)).toEqual(['guest', 'ann', 'anna', 'ivan']); // `left` left ops
    // asked about view_members system-wide, then in each live team
    expect(checks.map((c) => `${c.req.scope}:${c.where?.teamId ?? ''}`)).toEqual(['system:', `team:${acme.id}`, `team:${ops.id}`]);
    // only ops' members were listed (the guest holds no view_members in acme)
    expect(api.calls.filter((c) => c.method === 'getTeamMembers').map((c) => c.args[0])).toEqual([ops.id]);
    expect(api.calls.find((c) => c.method === 'getChannelsForUser')?.args[1]).toEqual({ includeDeleted: true });
  });

  it('pages through big channels (200 at a time) and stops at maxVisible', async () => {
    const crowd = Array.from({ length: 450 }, (_, i) => cm(lobby.id, `crowd${String(i).padStart(21, '0')}`));
    const w = world({ channelMembers: { [lobby.id]: crowd, [dm.id]: [] } });
    const { api, visibility } = setup(w);
    const v = await visibility.viewer(guest.id);
    expect(v.sees(crowd[449]?.user_id ?? '')).toBe(true);
    const lobbyPages = api.calls.filter((c) => c.method === 'getChannelMembers' && c.args[0] === lobby.id);
    expect(lobbyPages.map((c) => c.args[1])).toEqual([0, 1, 2].map((p) => ({ page: p, perPage: 200 })));
    const capped = await setup(w, { maxVisible: 100 }).visibility.viewer(guest.id);
    expect(capped.sees(crowd[50]?.user_id ?? '')).toBe(true);
    expect(capped.sees(crowd[300]?.user_id ?? '')).toBe(false);
  });
});

describe('cache', () => {
  it('is reused until the TTL, shared by concurrent callers, and dropped on membership events only', async () => {
    let t = 0;
    const { api, visibility } = setup(world(), { now: () => t });
    const [a, b] = await Promise.all([visibility.viewer(guest.id), visibility.viewer(guest.id)]);
    expect(a).toBe(b);
    const calls = api.calls.length;
    expect(calls).toBeGreaterThan(0);
    await visibility.viewer(guest.id);
    expect(api.calls.length).toBe(calls);
    visibility.handleEvent(ev('posted'));
    await visibility.viewer(guest.id);
    expect(api.calls.length).toBe(calls);
    visibility.handleEvent(ev('user_added'));
    await visibility.viewer(guest.id);
    expect(api.calls.length).toBe(2 * calls);
    t += 31_000;
    await visibility.viewer(guest.id);
    expect(api.calls.length).toBe(3 * calls);
  });

  it('a membership change seen while computing is not stored', async () => {
    const w = world();
    const { visibility } = setup(w);
    const first = visibility.viewer(guest.id);
    visibility.handleEvent(ev('user_added')); // ivan joins the lobby meanwhile
    w.channelMembers[lobby.id]?.push(cm(lobby.id, ivan.id));
    await first;
    expect((await visibility.viewer(guest.id)).sees(ivan.id)).toBe(true);
  });
});

describe('failure policy', () => {
  it('what the bot may not read counts as empty (fewer people, never more)', async () => {
    const w = world({ grants: { [guest.id]: [`view_members@${ops.id}`] } });
    const { visibility, api } = setup(w);
    const forbidden = new ApiError(403, 'api.context.permissions.app_error', 'no', 'r', 'GET /users/{user_id}/channels');
    api.getChannelsForUser = async () => {
      throw forbidden;
    };
    const v = await visibility.viewer(guest.id);
    expect(seen(v)).toEqual(['guest', 'ivan']);
  });

  it("the server's unreadable answer for someone in no channel counts as no channel", async () => {
    const { visibility, api } = setup();
    api.getChannelsForUser = async () => {
      throw new ProtocolError('GET /users/{user_id}/channels', 'the body is not valid JSON');
    };
    expect(seen(await visibility.viewer(guest.id))).toEqual(['guest']);
  });

  it('network trouble fails the lookup and caches nothing', async () => {
    const { visibility, api } = setup();
    let down = true;
    const real = api.getChannelsForUser;
    api.getChannelsForUser = async (...args) => {
      if (down) throw new NetworkError('GET /users/{user_id}/channels', 'ECONNRESET');
      return real(...args);
    };
    await expect(visibility.viewer(guest.id)).rejects.toBeInstanceOf(NetworkError);
    down = false;
    expect(seen(await visibility.viewer(guest.id))).toEqual(['guest', 'ann', 'anna']);
  });
});

describe('the user directory, cut to the caller’s view', () => {
  function directoryFor(viewer: Viewer, cache = createUserCache()) {
    const api = stubApi({
      getUsersByUsernames: async (names) => people.filter((u) => names.includes(u.username)),
      getUsersByIds: async (ids) => people.filter((u) => ids.includes(u.id)),
      getUserByEmail: async (email) => {
        const u = people.find((p) => p.email === email);
        if (!u) throw new ApiError(404, 'app.user.missing_account.const', 'not found', 'r', 'GET /users/email/{email}');
        return u;
      },
      searchUsers: async ({ term }) => people.filter((u) => `${u.username} ${u.first_name} ${u.last_name}`.toLowerCase().includes(term.toLowerCase())),
    });
    return { api, users: createUserDirectory(api, { cache, viewer: async () => viewer }) };
  }
  const guestView = viewerSeeing(guest.id, [ann.id]);

  async function failure(p: Promise<unknown>): Promise<string> {
    try {
      await p;
      return 'resolved';
    } catch (e) {
      return isUserError(e) ? `${e.code}: ${e.message}` : String(e);
    }
  }

  it('answers an invisible person exactly like an unknown one, with the same calls', async () => {
    for (const [hidden, unknown] of [
      ['@ivan', '@ivanx'],
      ['ivan', 'ivanx'],
      ['ivan@example.com', 'ivanx@example.com'],
      [ivan.id, 'x'.repeat(26)],
    ] as const) {
      const a = directoryFor(guestView);
      const b = directoryFor(guestView);
      const ra = await failure(a.users.resolve(hidden));
      const rb = await failure(b.users.resolve(unknown));
      expect(ra).toBe(rb.replace(unknown, hidden));
      expect(ra).toMatch(/^not_found: No one matches/);
      expect(a.api.calls.map((c) => c.method)).toEqual(b.api.calls.map((c) => c.method));
    }
    // someone visible still resolves
    expect((await directoryFor(guestView).users.resolve('@ann')).id).toBe(ann.id);
  });

  it('does not use a cached record of someone invisible (the lookup goes to the server, as for a stranger)', async () => {
    const cache = createUserCache();
    cache.put(ivan);
    const { api, users } = directoryFor(guestView, cache);
    expect((await users.resolveMany(['@ivan'])).notFound).toEqual(['@ivan']);
    expect(api.calls.map((c) => c.method)).toEqual(['getUsersByUsernames']);
    const everyone = directoryFor(viewerSeeing(member.id, people.map((p) => p.id)), cache);
    expect((await everyone.users.resolve('@ivan')).id).toBe(ivan.id);
    expect(everyone.api.calls).toEqual([]);
  });

  it('drops invisible people from a name search before deciding it is ambiguous', async () => {
    // "Lee" matches ann and anna; the guest sees only ann, so it is no ambiguity for them
    expect((await directoryFor(guestView).users.resolve('Lee')).id).toBe(ann.id);
    const all = await failure(directoryFor(viewerSeeing(member.id, people.map((p) => p.id))).users.resolve('Lee'));
    expect(all).toMatch(/^ambiguous/);
  });

  it('byIds and visible() keep only people the caller may see', async () => {
    const { users } = directoryFor(guestView);
    expect([...(await users.byIds([ann.id, ivan.id])).keys()]).toEqual([ann.id]);
    expect(await users.visible([{ user_id: ivan.id }, { user_id: ann.id }, { user_id: guest.id }], (m) => m.user_id)).toEqual([{ user_id: ann.id }, { user_id: guest.id }]);
  });
});
